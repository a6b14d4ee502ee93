//! Analysis of a finished dataset (DESIGN §8): spike-train statistics and firing
//! patterns per run and neuron (summary.parquet), and F-I curves per parameter group
//! (fi_curve.parquet). Spikes are streamed part file by part file (a run's spikes all
//! sit in one part), and traces are never read, so memory does not grow with the
//! recording's size.

pub mod fi;
pub mod patterns;
pub mod table;
pub mod train;

use crate::store::parquet::{field, schema, TableWriter};
use crate::store::{Dataset, StoreError};
use arrow::array::{ArrayRef, Float64Array, StringArray, UInt32Array, UInt64Array};
use arrow::datatypes::DataType;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use table::Runs;
use train::{TrainStats, Window};

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("{0} is not a finished neurodyn dataset (no _SUCCESS)")]
    Unfinished(PathBuf),
    /// A table or file whose content is not what neurodyn writes.
    #[error("{path}: {message}")]
    Read { path: PathBuf, message: String },
    /// The file system refused: a missing or unreadable file, a folder that cannot be
    /// written, a full disk.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("run {run} ({label}) has status '{status}': it has nothing to draw")]
    RunFailed {
        run: u32,
        label: String,
        status: String,
    },
    #[error("F-I aggregation: {0}")]
    Polars(String),
    #[error("the dataset has no run {run} (it has runs 0 to {last})")]
    NoRun { run: u32, last: usize },
}

/// One row of summary.parquet.
#[derive(Clone, Debug)]
pub struct SummaryRow {
    pub run_id: u32,
    pub neuron: u32,
    pub stats: TrainStats,
}

/// What `analyze` wrote.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub summary_rows: usize,
    pub fi_rows: usize,
    /// Firing-pattern class per run label (the most common over the run's neurons).
    pub patterns: Vec<(u32, String, String)>,
}

/// Analyze the dataset at `root`: write summary.parquet and fi_curve.parquet.
pub fn analyze(root: &Path) -> Result<Analysis, AnalysisError> {
    open_verified(root)?;
    let runs = Runs::read(&root.join("runs.parquet"))?;
    let rows = summarize(root, &runs)?;
    write_summary(&root.join("summary.parquet"), &rows)?;
    let fi_rows = fi::write(&root.join("fi_curve.parquet"), &runs, &rows)?;
    Ok(Analysis {
        summary_rows: rows.len(),
        fi_rows,
        patterns: dominant_patterns(&runs, &rows),
    })
}

/// The dataset at `root` once it is finished and verified against its manifests:
/// what every reader calls before it trusts a table.
pub fn open_verified(root: &Path) -> Result<Dataset, AnalysisError> {
    Dataset::verified(root).map_err(|e| match e {
        StoreError::NotComplete(p) => AnalysisError::Unfinished(p),
        e => AnalysisError::Store(e),
    })
}

/// Statistics of every neuron of every successful run, in (run_id, neuron) order.
pub fn summarize(root: &Path, runs: &Runs) -> Result<Vec<SummaryRow>, AnalysisError> {
    let mut per_run: HashMap<u32, Vec<SummaryRow>> = HashMap::new();
    // The parts the manifests name, not whatever lies in the folder.
    for file in Dataset::read(root)?.parts("spikes")? {
        // All spikes of a run are in one part, sorted by neuron then time.
        let mut trains: HashMap<(u32, u32), Vec<f64>> = HashMap::new();
        for batch in table::read(&file)? {
            let id = table::u32_column(&batch, "run_id", &file)?;
            let neuron = table::u32_column(&batch, "neuron", &file)?;
            let t = table::f64_column(&batch, "t_ms", &file)?;
            for k in 0..batch.num_rows() {
                trains
                    .entry((id.value(k), neuron.value(k)))
                    .or_default()
                    .push(t.value(k));
            }
        }
        let ids: std::collections::BTreeSet<u32> = trains.keys().map(|(r, _)| *r).collect();
        for id in ids {
            if let Some(run) = runs.get(id) {
                per_run.insert(id, run_rows(run, &trains));
            }
        }
    }
    let mut rows = Vec::new();
    let empty = HashMap::new();
    for run in runs.iter().filter(|r| r.ok) {
        match per_run.remove(&run.run_id) {
            Some(r) => rows.extend(r),
            // A run without a single spike still has a row per neuron: rate 0.
            None => rows.extend(run_rows(run, &empty)),
        }
    }
    Ok(rows)
}

fn run_rows(run: &table::RunInfo, trains: &HashMap<(u32, u32), Vec<f64>>) -> Vec<SummaryRow> {
    let w = Window {
        start: run.window.0,
        stop: run.window.1,
        onset: run.onset,
    };
    (0..run.neurons)
        .map(|n| SummaryRow {
            run_id: run.run_id,
            neuron: n,
            stats: train::stats(
                trains
                    .get(&(run.run_id, n))
                    .map_or(&[][..], |v| v.as_slice()),
                w,
            ),
        })
        .collect()
}

fn write_summary(path: &Path, rows: &[SummaryRow]) -> Result<(), AnalysisError> {
    let f = |name: &str, unit: &str| field(name, DataType::Float64, true, Some(unit));
    let s = schema(vec![
        field("run_id", DataType::UInt32, false, None),
        field("neuron", DataType::UInt32, false, None),
        field("n_spikes", DataType::UInt64, false, None),
        field("rate_Hz", DataType::Float64, false, Some("Hz")),
        f("mean_isi_ms", "ms"),
        f("median_isi_ms", "ms"),
        field("isi_cv", DataType::Float64, true, None),
        f("first_spike_latency_ms", "ms"),
        f("onset_rate_Hz", "Hz"),
        f("steady_state_rate_Hz", "Hz"),
        field("adaptation_index", DataType::Float64, true, None),
        field("pattern", DataType::Utf8, false, None),
    ]);
    let opt = |get: fn(&TrainStats) -> Option<f64>| -> ArrayRef {
        Arc::new(Float64Array::from_iter(rows.iter().map(|r| get(&r.stats))))
    };
    let cols: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.run_id))),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.neuron))),
        Arc::new(UInt64Array::from_iter_values(
            rows.iter().map(|r| r.stats.n_spikes),
        )),
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.stats.rate_hz),
        )),
        opt(|s| s.mean_isi_ms),
        opt(|s| s.median_isi_ms),
        opt(|s| s.isi_cv),
        opt(|s| s.first_spike_latency_ms),
        opt(|s| s.onset_rate_hz),
        opt(|s| s.steady_state_rate_hz),
        opt(|s| s.adaptation_index),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.stats.pattern.name()),
        )),
    ];
    let mut w = TableWriter::create(path, s)?;
    if !rows.is_empty() {
        w.write(cols)?;
    }
    w.commit()?;
    Ok(())
}

/// The most common pattern over each run's neurons: (run_id, label, pattern).
fn dominant_patterns(runs: &Runs, rows: &[SummaryRow]) -> Vec<(u32, String, String)> {
    let mut counts: HashMap<u32, HashMap<&'static str, usize>> = HashMap::new();
    for r in rows {
        *counts
            .entry(r.run_id)
            .or_default()
            .entry(r.stats.pattern.name())
            .or_default() += 1;
    }
    runs.iter()
        .filter_map(|run| {
            let c = counts.get(&run.run_id)?;
            let (best, _) = c
                .iter()
                .max_by_key(|(name, n)| (**n, std::cmp::Reverse(**name)))?;
            Some((run.run_id, run.label.clone(), best.to_string()))
        })
        .collect()
}
