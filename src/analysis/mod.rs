//! Analysis of a finished dataset: spike-train statistics and firing patterns per
//! run and neuron (the summary table, with the Fano factor of the run's spike counts
//! on each of its rows), and F-I curves per parameter group (the fi_curve table). Spikes are streamed part file by part file through the dataset's
//! `Reader` (a run's spikes all sit in one part), and traces are never read, so
//! memory does not grow with the recording's size.

pub(crate) mod fi;
pub(crate) mod intervals;
pub(crate) mod patterns;
pub(crate) mod train;

use crate::store::layout::{self, FI_CURVE, SUMMARY};
use crate::store::parquet::TableWriter;
use crate::store::reader::{RunInfo, Runs, SpikeTrains};
use crate::store::{ReadError, Reader, StoreError};
use arrow::array::{ArrayRef, Float64Array, StringArray, UInt32Array, UInt64Array};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
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

impl AnalysisError {
    /// A file the analysis, a figure or the report could not read or write.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        AnalysisError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<ReadError> for AnalysisError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Store(StoreError::NotComplete(p)) => AnalysisError::Unfinished(p),
            ReadError::Store(e) => AnalysisError::Store(e),
            ReadError::Format { path, message } => AnalysisError::Read { path, message },
            ReadError::Io { path, source } => AnalysisError::Io { path, source },
        }
    }
}

/// One row of summary.parquet.
#[derive(Clone, Debug)]
pub struct SummaryRow {
    pub run_id: u32,
    pub neuron: u32,
    pub stats: TrainStats,
    /// Fano factor of the window spike counts over all neurons of the run (the same
    /// on each of its rows; `intervals::fano_factor`).
    pub fano_factor_run: Option<f64>,
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
    analyze_with(&Reader::open(root)?)
}

/// Analyze an open dataset: write summary.parquet and fi_curve.parquet.
pub fn analyze_with(reader: &Reader) -> Result<Analysis, AnalysisError> {
    let runs = reader.runs();
    let rows = summarize(reader)?;
    write_summary(&reader.file(&SUMMARY.entry()), &rows)?;
    let fi_rows = fi::write(&reader.file(&FI_CURVE.entry()), runs, &rows)?;
    Ok(Analysis {
        summary_rows: rows.len(),
        fi_rows,
        patterns: dominant_patterns(runs, &rows),
    })
}

/// Statistics of every neuron of every successful run, in (run_id, neuron) order.
pub fn summarize(reader: &Reader) -> Result<Vec<SummaryRow>, AnalysisError> {
    summarize_keeping(reader, |_| {})
}

/// `summarize`, handing each part's spike trains to `keep` once they are summarized,
/// for a caller that needs the spike times too: the spikes are read once.
pub fn summarize_keeping(
    reader: &Reader,
    mut keep: impl FnMut(SpikeTrains),
) -> Result<Vec<SummaryRow>, AnalysisError> {
    let runs = reader.runs();
    let mut per_run: HashMap<u32, Vec<SummaryRow>> = HashMap::new();
    reader.for_each_spike_part(|trains| {
        let ids: std::collections::BTreeSet<u32> = trains.keys().map(|(r, _)| *r).collect();
        for id in ids {
            if let Some(run) = runs.get(id) {
                per_run.insert(id, run_rows(run, &trains));
            }
        }
        keep(trains);
        Ok::<_, AnalysisError>(())
    })?;
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

fn run_rows(run: &RunInfo, trains: &SpikeTrains) -> Vec<SummaryRow> {
    let w = Window {
        start: run.window.0,
        stop: run.window.1,
        onset: run.onset,
    };
    let stats: Vec<TrainStats> = (0..run.neurons)
        .map(|n| {
            let spikes = trains.get(&(run.run_id, n));
            train::stats(spikes.map_or(&[][..], |v| v.as_slice()), w)
        })
        .collect();
    // Across the run's neurons, which differ only in their noise, initial state and
    // per-neuron values: the count's spread over those.
    let counts: Vec<f64> = stats.iter().map(|s| s.n_spikes as f64).collect();
    let fano_factor_run = intervals::fano_factor(&counts);
    stats
        .into_iter()
        .zip(0..)
        .map(|(stats, neuron)| SummaryRow {
            run_id: run.run_id,
            neuron,
            stats,
            fano_factor_run,
        })
        .collect()
}

/// A summary row's statistics in the order of `layout::STATISTICS`.
pub fn statistics(r: &SummaryRow) -> [Option<f64>; layout::STATISTICS.len()] {
    let s = &r.stats;
    [
        Some(s.rate_hz),
        s.mean_isi_ms,
        s.median_isi_ms,
        s.isi_cv_sample,
        s.cv,
        s.cv2,
        s.lv,
        s.lvr,
        s.first_spike_latency_ms,
        s.onset_rate_hz,
        s.steady_state_rate_hz,
        s.adaptation_index,
        r.fano_factor_run,
    ]
}

fn write_summary(path: &Path, rows: &[SummaryRow]) -> Result<(), AnalysisError> {
    let schema = SUMMARY.schema(Vec::new());
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.run_id))),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.neuron))),
        Arc::new(UInt64Array::from_iter_values(
            rows.iter().map(|r| r.stats.n_spikes),
        )),
    ];
    for (k, column) in layout::STATISTICS.iter().enumerate() {
        let values = rows.iter().map(|r| statistics(r)[k]);
        // A statistic is null where a train is too short for it; the rate never is.
        let a: ArrayRef = if column.nullable {
            Arc::new(Float64Array::from_iter(values))
        } else {
            Arc::new(Float64Array::from_iter_values(
                values.map(Option::unwrap_or_default),
            ))
        };
        cols.push(a);
    }
    cols.push(Arc::new(StringArray::from_iter_values(
        rows.iter().map(|r| r.stats.pattern.name()),
    )));
    let mut w = TableWriter::create(path, schema)?;
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
