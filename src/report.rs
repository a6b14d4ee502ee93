//! The HTML report: one self-contained page (figures inlined as SVG, no scripts, no
//! network) with the experiment, its provenance, the F-I curves, the firing-pattern
//! table, the summary table and per-run figures.

use crate::analysis::{self, AnalysisError};
use crate::plot::{self, Format, Kind};
use crate::store::layout::{self, FI_CURVE, RUNS, SUMMARY};
use crate::store::Reader;
use arrow::array::{Array, RecordBatch};
use arrow::util::display::array_value_to_string;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Table rows shown at most; the Parquet files hold the rest.
const MAX_ROWS: usize = 200;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn read_text(path: &Path) -> Result<String, AnalysisError> {
    std::fs::read_to_string(path).map_err(|e| AnalysisError::io(path, e))
}

/// An inline SVG figure, without the XML prolog.
fn inline_svg(path: &Path) -> Result<String, AnalysisError> {
    let svg = read_text(path)?;
    Ok(match svg.find("<svg") {
        Some(i) => svg[i..].to_string(),
        None => svg,
    })
}

/// A table as HTML, first MAX_ROWS rows; `file` is where the rest is.
fn html_table(
    batches: &[RecordBatch],
    file: &str,
    only: Option<&[&str]>,
) -> Result<String, AnalysisError> {
    let Some(schema) = batches.first().map(|b| b.schema()) else {
        return Ok("<p>(empty)</p>".into());
    };
    let cols: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| only.is_none_or(|o| o.contains(&schema.field(i).name().as_str())))
        .collect();
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut h = String::from("<table><thead><tr>");
    for &c in &cols {
        let _ = write!(h, "<th>{}</th>", escape(schema.field(c).name()));
    }
    h.push_str("</tr></thead><tbody>");
    let mut shown = 0;
    'outer: for b in batches {
        for k in 0..b.num_rows() {
            if shown == MAX_ROWS {
                break 'outer;
            }
            h.push_str("<tr>");
            for &c in &cols {
                let a = b.column(c);
                let v = if a.is_null(k) {
                    String::new()
                } else {
                    array_value_to_string(a, k).unwrap_or_default()
                };
                let v = match v.parse::<f64>() {
                    Ok(x) if v.contains('.') => format!("{x:.4}"),
                    _ => v,
                };
                let _ = write!(h, "<td>{}</td>", escape(&v));
            }
            h.push_str("</tr>");
            shown += 1;
        }
    }
    h.push_str("</tbody></table>");
    if total > shown {
        let _ = write!(
            h,
            "<p class=\"note\">{shown} of {total} rows shown; {} holds them all.</p>",
            escape(file)
        );
    }
    Ok(h)
}

/// Write RESULTS/report/index.html (analyzing and plotting first where needed) for
/// the given runs; returns the page's path.
pub fn write(root: &Path, runs: &[u32]) -> Result<PathBuf, AnalysisError> {
    let reader = Reader::open(root)?;
    let analysis = analysis::analyze_with(&reader)?;
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>neurodyn report: {n}</title><style>\
         body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse;font-size:12px;margin:1em 0}}\
         td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}\
         th{{background:#eee}} pre{{background:#f6f6f6;padding:1em;overflow:auto}}\
         svg{{max-width:100%;height:auto;border:1px solid #ddd}} .note{{color:#666}}\
         </style></head><body><h1>neurodyn report: {n}</h1>",
        n = escape(&name)
    );
    let _ = write!(
        page,
        "<h2>Experiment</h2><pre>{}</pre>",
        escape(&read_text(&reader.file(layout::EXPERIMENT))?)
    );
    let _ = write!(
        page,
        "<h2>Provenance</h2><pre>{}</pre>",
        escape(&read_text(&reader.file(layout::PROVENANCE))?)
    );
    page.push_str("<h2>F-I curves</h2>");
    for p in plot::draw(&reader, Kind::Fi, None, &[Format::Svg])? {
        page.push_str(&inline_svg(&p)?);
    }
    page.push_str(&html_table(&reader.fi_curve()?, &FI_CURVE.entry(), None)?);
    page.push_str("<h2>Firing patterns</h2><p class=\"note\">Classes after Naud et al. (2008); the most common class over each run's neurons.</p><table><thead><tr><th>run_id</th><th>label</th><th>pattern</th></tr></thead><tbody>");
    for (id, label, pattern) in analysis.patterns.iter().take(MAX_ROWS) {
        let _ = write!(
            page,
            "<tr><td>{id}</td><td>{}</td><td>{}</td></tr>",
            escape(label),
            escape(pattern)
        );
    }
    page.push_str("</tbody></table><h2>Summary</h2>");
    page.push_str(&html_table(&reader.summary()?, &SUMMARY.entry(), None)?);
    page.push_str("<h2>Runs</h2>");
    page.push_str(&html_table(
        std::slice::from_ref(&reader.runs().table),
        &RUNS.entry(),
        Some(&[
            layout::RUN_ID.name,
            layout::LABEL.name,
            layout::param::MODEL,
            layout::STATUS.name,
            layout::N_SPIKES.name,
        ]),
    )?);
    for &id in runs {
        let mut figures = String::new();
        for kind in [Kind::Traces, Kind::Isi, Kind::Phase] {
            for p in plot::draw(&reader, kind, Some(id), &[Format::Svg])? {
                figures.push_str(&inline_svg(&p)?);
            }
        }
        if !figures.is_empty() {
            let _ = write!(page, "<h3>Run {id}</h3>{figures}");
        }
    }
    page.push_str("</body></html>\n");
    let dir = reader.file(layout::REPORT);
    std::fs::create_dir_all(&dir).map_err(|e| AnalysisError::io(&dir, e))?;
    let path = dir.join(layout::REPORT_PAGE);
    crate::store::parquet::write_atomic(&path, page.as_bytes())?;
    Ok(path)
}
