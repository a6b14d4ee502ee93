//! The report's header: what ran, in a few lines — the experiment, its models and
//! inputs, runs, neurons, duration and step, method, wall time and failures — from
//! the runs table, the dataset's marker and provenance.json.

use super::html::escape;
use crate::analysis::AnalysisError;
use crate::plot::{format, Structure};
use crate::store::layout::{self, param};
use crate::store::Reader;
use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, UInt64Type};
use std::fmt::Write;

/// Seconds since 1970 of an RFC 3339 UTC time as provenance writes it
/// ("2026-01-31T12:00:00Z"); None for anything else.
fn epoch_seconds(s: &str) -> Option<i64> {
    let (date, time) = s.strip_suffix('Z')?.split_once('T')?;
    let d: Vec<i64> = date
        .split('-')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let t: Vec<i64> = time
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let ([y, m, day], [hh, mm, ss]) = (d[..].try_into().ok()?, t[..].try_into().ok()?);
    // Days from the civil date (H. Hinnant's algorithm, the inverse of provenance's).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// "a, b and c".
fn list(items: &[String]) -> String {
    match items {
        [] => "—".into(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The header as an HTML table of facts.
pub fn header(reader: &Reader, s: &Structure) -> Result<String, AnalysisError> {
    let runs = reader.runs();
    let t = &runs.table;
    let n = runs.len();
    let mut rows: Vec<(&str, String)> = Vec::new();
    let meta = reader.meta();
    rows.push((
        "experiment",
        format!(
            "{} (config sha256 {})",
            escape(&meta.name),
            escape(meta.config_sha256.get(..12).unwrap_or(&meta.config_sha256))
        ),
    ));
    rows.push(("models", escape(&list(&s.distinct(param::MODEL)))));
    rows.push(("inputs", escape(&list(&s.inputs()))));
    let mut runs_text = format!("{n}");
    let factors = s.factors();
    if s.is_matrix() {
        let parts: Vec<String> = factors
            .iter()
            .map(|f| format!("{} {}", f.levels.len(), f.name))
            .collect();
        let _ = write!(runs_text, " ({})", parts.join(" × "));
    } else if s.labels().len() > 1 {
        let _ = write!(runs_text, " in {} labels", s.labels().len());
    }
    let swept = s.swept();
    if !swept.is_empty() {
        let _ = write!(runs_text, "; swept within labels: {}", swept.join(", "));
    }
    if s.replicated() {
        let reps = (0..n as u32).map(|r| s.replicate(r)).max().unwrap_or(0) + 1;
        let _ = write!(runs_text, "; {reps} replicates");
    }
    rows.push(("runs", escape(&runs_text)));
    let neurons: Vec<u32> = runs.iter().map(|r| r.neurons).collect();
    let total: u64 = neurons.iter().map(|&x| x as u64).sum();
    let mut per: Vec<u32> = neurons.clone();
    per.sort_unstable();
    per.dedup();
    let per_run = match per.as_slice() {
        [one] => format!("{one} per run"),
        _ => format!(
            "{} to {} per run",
            per.first().copied().unwrap_or(0),
            per.last().copied().unwrap_or(0)
        ),
    };
    rows.push(("neurons", format!("{per_run}, {total} in all")));
    let durations = s.distinct(param::DURATION_MS);
    let steps = s.distinct("dt_ms");
    rows.push((
        "duration",
        escape(&format!("{} at dt = {}", list(&durations), list(&steps))),
    ));
    rows.push(("method", escape(&list(&s.distinct("method")))));
    let windows: Vec<String> = {
        let mut w: Vec<String> = runs
            .iter()
            .map(|r| {
                format!(
                    "{} to {}",
                    format::quantity(r.window.0, "ms"),
                    format::quantity(r.window.1, "ms")
                )
            })
            .collect();
        w.sort();
        w.dedup();
        w
    };
    rows.push(("analysis window", escape(&list(&windows))));
    // Wall time: the whole run from provenance (to the second), and the runs' own.
    let prov: serde_json::Value = std::fs::read_to_string(reader.file(layout::PROVENANCE))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    let elapsed = prov["start_utc"]
        .as_str()
        .and_then(epoch_seconds)
        .zip(prov["end_utc"].as_str().and_then(epoch_seconds))
        .map(|(a, b)| b - a);
    let summed: f64 = t
        .column_by_name(layout::WALL_S.name)
        .and_then(|c| c.as_primitive_opt::<Float64Type>())
        .map_or(0.0, |c| c.iter().flatten().sum());
    let mut wall = match elapsed {
        Some(e) if e >= 1 => format!("{e} s"),
        Some(_) => "under 1 s".into(),
        None => "unknown".into(),
    };
    let _ = write!(
        wall,
        " (runs' own time summed: {} s",
        format::number(summed, 3)
    );
    if let Some(threads) = prov["threads"].as_u64() {
        let _ = write!(wall, ", on {threads} threads");
    }
    wall.push(')');
    rows.push(("wall time", escape(&wall)));
    let spikes: u64 = t
        .column_by_name(layout::N_SPIKES.name)
        .and_then(|c| c.as_primitive_opt::<UInt64Type>())
        .map_or(0, |c| c.iter().flatten().sum());
    rows.push(("spikes", format!("{spikes}")));
    let failed: Vec<_> = runs.iter().filter(|r| !r.ok).collect();
    let failures = if failed.is_empty() {
        "none".to_string()
    } else {
        let errors = t
            .column_by_name(layout::ERROR.name)
            .and_then(|c| c.as_string_opt::<i32>());
        let mut text = format!("{} of {n}:", failed.len());
        for r in failed.iter().take(10) {
            let e = errors
                .filter(|e| !e.is_null(r.run_id as usize))
                .map_or("", |e| e.value(r.run_id as usize));
            let _ = write!(text, " run {} ({}) {};", r.run_id, r.label, e);
        }
        if failed.len() > 10 {
            text.push_str(" …");
        }
        text
    };
    rows.push((
        "failures",
        if failed.is_empty() {
            failures
        } else {
            format!("<b>{}</b>", escape(&failures))
        },
    ));
    let mut h = String::from("<table class=\"facts\">");
    for (k, v) in rows {
        let _ = write!(h, "<tr><th>{k}</th><td>{v}</td></tr>");
    }
    h.push_str("</table>");
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_times_read_back() {
        assert_eq!(epoch_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(epoch_seconds("2000-03-01T00:00:01Z"), Some(951_868_801));
        assert_eq!(epoch_seconds("2000-03-01 00:00:01"), None);
        assert_eq!(list(&["a".into(), "b".into(), "c".into()]), "a, b and c");
    }
}
