//! The HTML report: one self-contained page (figures inlined as SVG, no scripts, no
//! network) that follows the experiment's structure (`plot::Structure`):
//!
//! 1. a header of what ran (`facts`);
//! 2. an overview of small multiples, one panel per label (V with its spikes, the
//!    input below, w for a model with one), laid out as the labels' factor matrix
//!    when they form one;
//! 3. the F-I curves, only when some curve sweeps a current, rheobases marked;
//! 4. one row per run: its label, swept values and statistics, rounded;
//! 5. per-run figures titled by label and swept values, for every run up to
//!    [`RUN_FIGURES`] (beyond, the first replicate of each, then an even spread),
//!    with an index linking to each;
//! 6. the experiment file and provenance, collapsed.
//!
//! All data comes through `store::Reader` and the analysis tables.

mod facts;
mod html;

use crate::analysis::{self, AnalysisError};
use crate::plot::structure::Titles;
use crate::plot::{format, Figures, Kind};
use crate::store::layout::{self, FI_CURVE, RUNS, SUMMARY};
use crate::store::reader::{self as table, Reader};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, UInt32Type};
use html::{escape, swatch, Cell, Table};
use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Runs with figures at most when none are named. A run's three figures take up to
/// about 0.55 MB of SVG (brette_gerstner: 1 s at 0.1 ms, 100 neurons, 13.5 MB for 24
/// runs with the overview), so 48 keep a page under about 30 MB.
pub const RUN_FIGURES: usize = 48;
/// Table rows shown at most; the Parquet files hold the rest.
const MAX_ROWS: usize = 300;

fn read_text(path: &Path) -> Result<String, AnalysisError> {
    std::fs::read_to_string(path).map_err(|e| AnalysisError::io(path, e))
}

/// An inline SVG figure, without the XML prolog.
fn inline(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |i| &svg[i..])
}

/// Tables longer than this are collapsed, so that they do not push what follows
/// out of sight.
const OPEN_ROWS: usize = 40;

/// `body` under a summary line, open when it has few rows.
fn collapsible(summary: &str, body: &str, rows: usize) -> String {
    let open = if rows <= OPEN_ROWS { " open" } else { "" };
    format!(
        "<details{open}><summary>{}</summary>{body}</details>",
        escape(summary)
    )
}

/// Per run: the mean and SD of the rate over its neurons and the mean of each ISI
/// statistic over the neurons that have it, and the run's Fano factor.
#[derive(Default)]
struct RunStats {
    rates: Vec<f64>,
    cv: Vec<f64>,
    cv2: Vec<f64>,
    lv: Vec<f64>,
    lvr: Vec<f64>,
    fano: Option<f64>,
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn sd(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return f64::NAN;
    }
    let m = mean(v);
    (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

fn run_stats(reader: &Reader) -> Result<HashMap<u32, RunStats>, AnalysisError> {
    let path = reader.file(&SUMMARY.entry());
    let mut out: HashMap<u32, RunStats> = HashMap::new();
    for b in reader.summary()? {
        let ids = table::u32_column(&b, layout::RUN_ID.name, &path)?;
        let col = |c: &layout::Column| {
            b.column_by_name(c.name)
                .and_then(|a| a.as_primitive_opt::<Float64Type>().cloned())
        };
        let (rate, cv, cv2, lv, lvr, fano) = (
            col(&layout::RATE_HZ),
            col(&layout::CV),
            col(&layout::CV2),
            col(&layout::LV),
            col(&layout::LVR),
            col(&layout::FANO_FACTOR_RUN),
        );
        let get = |a: &Option<arrow::array::Float64Array>, k: usize| {
            a.as_ref()
                .filter(|a| !a.is_null(k) && a.value(k).is_finite())
                .map(|a| a.value(k))
        };
        for k in 0..b.num_rows() {
            let s = out.entry(ids.value(k)).or_default();
            for (dst, src) in [
                (&mut s.rates, &rate),
                (&mut s.cv, &cv),
                (&mut s.cv2, &cv2),
                (&mut s.lv, &lv),
                (&mut s.lvr, &lvr),
            ] {
                if let Some(x) = get(src, k) {
                    dst.push(x);
                }
            }
            if s.fano.is_none() {
                s.fano = get(&fano, k);
            }
        }
    }
    Ok(out)
}

/// The runs table: one row per run in the experiment's order.
fn runs_table(
    reader: &Reader,
    figs: &Figures,
    patterns: &HashMap<u32, String>,
    with_figures: &[u32],
) -> Result<String, AnalysisError> {
    let s = &figs.structure;
    let stats = run_stats(reader)?;
    let runs = reader.runs();
    let n_spikes = runs
        .table
        .column_by_name(layout::N_SPIKES.name)
        .and_then(|c| {
            c.as_primitive_opt::<arrow::datatypes::UInt64Type>()
                .cloned()
        });
    let swept = !s.swept().is_empty() || s.replicated();
    let mut headers: Vec<String> = vec!["run".into(), "label".into()];
    if swept {
        headers.push("swept values".into());
    }
    headers.extend(
        [
            "status",
            "neurons",
            "spikes",
            "rate mean (Hz)",
            "rate SD (Hz)",
            "CV",
            "CV2",
            "LV",
            "LvR",
            "Fano factor",
            "pattern",
        ]
        .map(String::from),
    );
    let mut rows = Vec::new();
    for &id in s.order().iter().take(MAX_ROWS) {
        let Some(info) = runs.get(id) else { continue };
        let st = stats.get(&id);
        let pick = |f: fn(&RunStats) -> f64| st.map_or(f64::NAN, f);
        let run = if with_figures.contains(&id) {
            Cell::Html(format!("<a href=\"#run-{id}\">{id}</a>"))
        } else {
            Cell::Text(id.to_string())
        };
        let mut row = vec![
            run,
            Cell::Html(format!("{}{}", swatch(s.color(id)), escape(&info.label))),
        ];
        if swept {
            row.push(Cell::Text(s.swept_values(id)));
        }
        row.extend([
            Cell::Text(if info.ok { "ok" } else { "failed" }.into()),
            Cell::Num(info.neurons as f64),
            Cell::Num(
                n_spikes
                    .as_ref()
                    .map_or(f64::NAN, |c| c.value(id as usize) as f64),
            ),
            Cell::Num(pick(|s| mean(&s.rates))),
            Cell::Num(pick(|s| sd(&s.rates))),
            Cell::Num(pick(|s| mean(&s.cv))),
            Cell::Num(pick(|s| mean(&s.cv2))),
            Cell::Num(pick(|s| mean(&s.lv))),
            Cell::Num(pick(|s| mean(&s.lvr))),
            Cell::Num(pick(|s| s.fano.unwrap_or(f64::NAN))),
            Cell::Text(patterns.get(&id).cloned().unwrap_or_default()),
        ]);
        rows.push(row);
    }
    let mut h = String::from(
        "<p class=\"note\">Rates over the analysis window; CV, CV2, LV and LvR (R = 5 ms) \
         in Elephant's definitions, averaged over the neurons that have them; the Fano \
         factor of the run's spike counts across its neurons; the firing pattern after \
         Naud et al. (2008), the most common over the run's neurons. Per-neuron values \
         are in summary.parquet.</p>",
    );
    let n = rows.len();
    h.push_str(&collapsible(
        &format!("runs table ({n} {})", if n == 1 { "row" } else { "rows" }),
        &Table { headers, rows }.html(),
        n,
    ));
    if runs.len() > MAX_ROWS {
        let _ = write!(
            h,
            "<p class=\"note\">{MAX_ROWS} of {} runs shown; {} holds them all.</p>",
            runs.len(),
            RUNS.entry()
        );
    }
    Ok(h)
}

/// The F-I table: per curve and current, the rate's mean, SD and count, the Fano
/// factor and the curve's rheobase, currents in the unit that fits them.
fn fi_table(reader: &Reader, figs: &Figures) -> Result<String, AnalysisError> {
    let path = reader.file(&FI_CURVE.entry());
    let batches: Vec<RecordBatch> = reader.fi_curve()?;
    let Some(schema) = batches.first().map(|b| b.schema()) else {
        return Ok(String::new());
    };
    let all = arrow::compute::concat_batches(&schema, &batches)
        .map_err(|e| table::ReadError::format(&path, e))?;
    let current = table::f64_column(&all, layout::CURRENT.name, &path)?;
    let rate = |suffix: &str| format!("{}{suffix}", layout::RATE_HZ.name);
    let mean = table::f64_column(&all, &rate(layout::FI_MEAN), &path)?;
    let sdev = table::f64_column(&all, &rate(layout::FI_SD), &path)?;
    let fano = table::f64_column(&all, layout::FANO_FACTOR.name, &path)?;
    let rheobase = table::f64_column(&all, layout::RHEOBASE.name, &path)?;
    let group = all
        .column_by_name(layout::GROUP.name)
        .and_then(|c| c.as_primitive_opt::<UInt32Type>().cloned());
    let label = all
        .column_by_name(layout::LABEL.name)
        .and_then(|c| c.as_string_opt::<i32>().cloned());
    let max = current.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    let sc = format::scale("pA", max);
    let v = |a: &arrow::array::Float64Array, k: usize| {
        if a.is_null(k) {
            f64::NAN
        } else {
            a.value(k)
        }
    };
    let headers = vec![
        "curve".into(),
        "label".into(),
        format!("current ({})", sc.unit),
        "rate mean (Hz)".into(),
        "rate SD (Hz)".into(),
        "Fano factor".into(),
        format!("rheobase ({})", sc.unit),
    ];
    let mut rows = Vec::new();
    for k in 0..all.num_rows().min(MAX_ROWS) {
        let lab = label
            .as_ref()
            .map_or(String::new(), |l| l.value(k).to_string());
        rows.push(vec![
            Cell::Num(group.as_ref().map_or(f64::NAN, |g| g.value(k) as f64)),
            Cell::Html(format!(
                "{}{}",
                swatch(figs.structure.color_of_label(&lab)),
                escape(&lab)
            )),
            Cell::Num(v(current, k) * sc.factor),
            Cell::Num(v(mean, k)),
            Cell::Num(v(sdev, k)),
            Cell::Num(v(fano, k)),
            Cell::Num(v(rheobase, k) * sc.factor),
        ]);
    }
    let n = rows.len();
    let mut h = collapsible(
        &format!("F-I table ({n} rows)"),
        &Table { headers, rows }.html(),
        n,
    );
    if all.num_rows() > MAX_ROWS {
        let _ = write!(
            h,
            "<p class=\"note\">{MAX_ROWS} of {} rows shown; {} holds them all, with every \
             parameter that tells the curves apart.</p>",
            all.num_rows(),
            FI_CURVE.entry()
        );
    }
    Ok(h)
}

/// The overview: small multiples laid out as `Structure::overview` says.
fn overview(figs: &Figures, with_figures: &[u32]) -> Result<Option<String>, AnalysisError> {
    let grid = figs.structure.overview();
    let mut h = String::from("<table class=\"grid\">");
    let corner = if grid.row_headers.is_empty() {
        ""
    } else {
        "<th class=\"row\"></th>"
    };
    if !grid.column_headers.is_empty() {
        h.push_str("<thead>");
        for row in &grid.column_headers {
            let _ = write!(h, "<tr>{corner}");
            for (text, span) in row {
                let _ = write!(h, "<th colspan=\"{span}\">{}</th>", escape(text));
            }
            h.push_str("</tr>");
        }
        h.push_str("</thead>");
    }
    h.push_str("<tbody>");
    let mut panels = 0;
    for (i, row) in grid.cells.iter().enumerate() {
        h.push_str("<tr>");
        if let Some(head) = grid.row_headers.get(i) {
            let _ = write!(h, "<th class=\"row\">{}</th>", escape(head));
        }
        for cell in row {
            let Some(id) = *cell else {
                h.push_str("<td></td>");
                continue;
            };
            let title = match grid.titles {
                Titles::None => None,
                Titles::Swept => Some(figs.structure.swept_values(id)),
                Titles::Full => Some(figs.structure.title(id)),
            };
            let Some(svg) = figs.panel(id, title.as_deref())? else {
                h.push_str("<td></td>");
                continue;
            };
            panels += 1;
            let svg = inline(&svg);
            if with_figures.contains(&id) {
                let _ = write!(
                    h,
                    "<td class=\"panel\"><a href=\"#run-{id}\">{svg}</a></td>"
                );
            } else {
                let _ = write!(h, "<td class=\"panel\">{svg}</td>");
            }
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
    if panels == 0 {
        return Ok(None);
    }
    let mut note = String::from(
        "<p class=\"note\">Each panel: V of the run's first recorded neuron (spikes marked \
         ▲ at the spike voltage), the input current below it, and w below that for a \
         model with one; each label in its own colour throughout the report.",
    );
    if figs.structure.replicated() {
        note.push_str(" Replicate 0 of each.");
    }
    if grid.left_out > 0 {
        let _ = write!(
            note,
            " {} more labels are not shown (at most {} panels); the run index lists them.",
            grid.left_out,
            crate::plot::structure::OVERVIEW_PANELS
        );
    }
    note.push_str("</p>");
    Ok(Some(note + &h))
}

/// Write RESULTS/report/index.html (analyzing first) with figures of `runs`, or when
/// none are named of every run up to [`RUN_FIGURES`]; returns the page's path.
pub fn write(root: &Path, runs: &[u32]) -> Result<PathBuf, AnalysisError> {
    let reader = Reader::open(root)?;
    analysis::analyze_with(&reader)?;
    let figs = Figures::new(&reader);
    let s = &figs.structure;
    let picked: Vec<u32> = if runs.is_empty() {
        s.pick(RUN_FIGURES)
    } else {
        // Named runs in the experiment's order.
        s.order()
            .iter()
            .copied()
            .filter(|r| runs.contains(r))
            .collect()
    };
    if let Some(&missing) = runs.iter().find(|r| !s.order().contains(r)) {
        return Err(AnalysisError::NoRun {
            run: missing,
            last: reader.runs().len().saturating_sub(1),
        });
    }
    // Read back from summary.parquet: the analysis keeps the patterns of its first
    // runs only, and the table lists every run.
    let listed: HashSet<u32> = s.order().iter().copied().collect();
    let patterns = analysis::patterns_of(&reader, &listed)?;
    // Titled by the dataset's folder, as the user named it (`run --out`); the header
    // gives the experiment's own name.
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| reader.meta().name.clone());
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>neurodyn report: {n}</title><style>{style}</style></head><body>\
         <h1>neurodyn report: {n}</h1>",
        n = escape(&name),
        style = html::STYLE
    );
    page.push_str(&facts::header(&reader, s)?);
    let overview = overview(&figs, &picked)?;
    let fi = figs.svg(Kind::Fi, None)?;
    let mut nav = String::from("<nav>");
    if overview.is_some() {
        nav.push_str("<a href=\"#overview\">Overview</a>");
    }
    if fi.is_some() {
        nav.push_str("<a href=\"#fi\">F-I curves</a>");
    }
    nav.push_str("<a href=\"#runs\">Runs</a>");
    if !picked.is_empty() {
        nav.push_str("<a href=\"#figures\">Run figures</a>");
    }
    nav.push_str("<a href=\"#experiment\">Experiment file</a></nav>");
    page.push_str(&nav);
    if let Some(o) = overview {
        let _ = write!(page, "<h2 id=\"overview\">Overview</h2>{o}");
    }
    if let Some(svg) = fi {
        let _ = write!(
            page,
            "<h2 id=\"fi\">F-I curves</h2><p class=\"note\">One curve per group of runs \
             that share every parameter but the swept current and the replicate; ▲ on \
             the current axis marks a curve's rheobase, midway between its largest \
             silent and its smallest firing current.</p><div class=\"fig\">{}</div>{}",
            inline(&svg),
            fi_table(&reader, &figs)?
        );
    }
    let _ = write!(
        page,
        "<h2 id=\"runs\">Runs</h2>{}",
        runs_table(&reader, &figs, &patterns, &picked)?
    );
    if !picked.is_empty() {
        let _ = write!(page, "<h2 id=\"figures\">Run figures</h2>");
        if runs.is_empty() && picked.len() < s.order().len() {
            let _ = write!(
                page,
                "<p class=\"note\">Figures of {} of {} runs (at most {RUN_FIGURES}: the \
                 first replicate of each, spread over the experiment); \
                 <code>neurodyn report --run ID</code> or <code>neurodyn plot --run ID</code> \
                 draws any other.</p>",
                picked.len(),
                s.order().len()
            );
        }
        page.push_str("<ol class=\"index\">");
        for &id in &picked {
            let _ = write!(
                page,
                "<li><a href=\"#run-{id}\">{}{}</a></li>",
                swatch(s.color(id)),
                escape(&s.title(id))
            );
        }
        page.push_str("</ol>");
        for &id in &picked {
            let mut figures = String::new();
            for kind in [Kind::Traces, Kind::Isi, Kind::Phase] {
                if let Some(svg) = figs.svg(kind, Some(id))? {
                    figures.push_str(inline(&svg));
                }
            }
            if figures.is_empty() {
                figures = "<p class=\"note\">Nothing to draw: the run recorded no traces \
                           and has too few spikes.</p>"
                    .into();
            }
            let _ = write!(
                page,
                "<section id=\"run-{id}\"><h3>{}{} <small class=\"note\">run {id}</small></h3>\
                 <div class=\"fig\">{figures}</div></section>",
                swatch(s.color(id)),
                escape(&s.title(id))
            );
        }
    }
    let yaml = read_text(&reader.file(layout::EXPERIMENT))?;
    let provenance = read_text(&reader.file(layout::PROVENANCE))?;
    let _ = write!(
        page,
        "<h2 id=\"experiment\">Experiment file</h2>\
         <details><summary>experiment.yaml ({} lines)</summary><pre>{}</pre></details>\
         <details><summary>provenance.json</summary><pre>{}</pre></details>",
        yaml.lines().count(),
        escape(&yaml),
        escape(&provenance)
    );
    page.push_str("</body></html>\n");
    let dir = reader.file(layout::REPORT);
    std::fs::create_dir_all(&dir).map_err(|e| AnalysisError::io(&dir, e))?;
    let path = dir.join(layout::REPORT_PAGE);
    crate::store::parquet::write_atomic(&path, page.as_bytes())?;
    Ok(path)
}
