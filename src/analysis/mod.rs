//! Analysis of a finished dataset: spike-train statistics and firing patterns per
//! run and neuron (the summary table, with the Fano factor of the run's spike counts
//! on each of its rows), and F-I curves per parameter group (the fi_curve table).
//! The analysis is one pass over the runs in run-id order, a chunk of runs at a time
//! (`store::reader::Scan`): a chunk's runs-table rows and spikes are read, its summary
//! rows computed, written and added to the F-I accumulators, then dropped. Traces are
//! never read. So memory grows neither with the recording's size nor with the number
//! of runs; what is held throughout is one accumulator per F-I row.

pub(crate) mod fi;
pub(crate) mod intervals;
pub(crate) mod patterns;
pub(crate) mod train;

use crate::store::layout::{self, FI_CURVE, SUMMARY};
use crate::store::parquet::TableWriter;
use crate::store::reader::{for_each_batch, string_column, u32_column, RunInfo, Scan, SpikeTrains};
use crate::store::{Meta, ReadError, Reader, StoreError};
use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use std::collections::{HashMap, HashSet};
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
    /// Firing-pattern class per run (the most common over the run's neurons), as
    /// (run_id, label, pattern): every successful run's when there are at most
    /// PATTERNS_KEPT of them, else the first PATTERNS_KEPT in run-id order.
    pub patterns: Vec<(u32, String, String)>,
}

/// Runs whose patterns `Analysis` lists: more than the command line prints (50) and
/// the report shows (200), few enough that a sweep of millions of runs holds little.
pub const PATTERNS_KEPT: usize = 1000;

/// How much of a dataset one step of a pass over it holds: its runs-table rows,
/// spike trains and summary rows, so memory does not grow with the number of runs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Chunk {
    /// Runs-table rows read at a time.
    pub runs: usize,
    /// Neurons (summary rows) summarized at a time: fewer runs when runs are large,
    /// though never less than one run.
    pub neurons: u64,
}

/// About 5 MB of runs-table rows and 16 MB of summary rows at a time: large enough
/// that a part file holding many small runs is read a few times at most.
const CHUNK: Chunk = Chunk {
    runs: 4096,
    neurons: 1 << 16,
};

/// Analyze the dataset at `root`: write summary.parquet and fi_curve.parquet. The
/// runs table is read a chunk at a time, never whole.
pub fn analyze(root: &Path) -> Result<Analysis, AnalysisError> {
    analyze_scan(&Scan::open(root)?, CHUNK)
}

/// Analyze an open dataset: write summary.parquet and fi_curve.parquet.
pub fn analyze_with(reader: &Reader) -> Result<Analysis, AnalysisError> {
    analyze_scan(reader.scan(), CHUNK)
}

/// The analysis in one pass over the runs, a `chunk` at a time in run-id order: each
/// chunk's summary rows are written, added to the F-I curves and dropped.
pub(crate) fn analyze_scan(scan: &Scan, chunk: Chunk) -> Result<Analysis, AnalysisError> {
    // The current the curves are drawn against depends on all runs (the first input
    // current that varies), so it is found first, reading only those columns.
    let mut finder = fi::CurrentFinder::default();
    scan.for_each_run_chunk(chunk.runs, Some(&fi::is_current_candidate), |runs, _| {
        finder.add(runs);
        Ok::<_, AnalysisError>(())
    })?;
    let current = finder.finish();
    let mut summary = SummaryWriter::create(&scan.file(&SUMMARY.entry()), scan.meta())?;
    let mut curves: Option<fi::Curves> = None;
    let mut patterns = Vec::new();
    for_each_chunk(scan, chunk, |runs, infos, rows, _| {
        let c = curves.get_or_insert_with(|| fi::Curves::new(runs.schema(), current.clone()));
        let places = c.add_runs(runs)?;
        let first = infos.first().map_or(0, |r| r.run_id);
        for r in &rows {
            c.add(places[(r.run_id - first) as usize], r);
        }
        summary.write(&rows)?;
        for of_run in rows.chunk_by(|a, b| a.run_id == b.run_id) {
            if patterns.len() >= PATTERNS_KEPT {
                break;
            }
            let run = &infos[(of_run[0].run_id - first) as usize];
            if let Some(p) = dominant_pattern(of_run.iter().map(|r| r.stats.pattern.name())) {
                patterns.push((run.run_id, run.label.clone(), p.to_string()));
            }
        }
        Ok(())
    })?;
    let summary_rows = summary.commit()?;
    let table = match curves {
        Some(c) => c.finish()?,
        // No runs at all: `for_each_run_chunk` refuses an empty runs table.
        None => return Err(AnalysisError::Unfinished(scan.root().to_path_buf())),
    };
    let fi_rows = fi::write(&scan.file(&FI_CURVE.entry()), &table, scan.meta())?;
    Ok(Analysis {
        summary_rows,
        fi_rows,
        patterns,
    })
}

/// Statistics of every neuron of every successful run, in (run_id, neuron) order.
pub fn summarize(reader: &Reader) -> Result<Vec<SummaryRow>, AnalysisError> {
    summarize_keeping(reader, |_| {})
}

/// `summarize`, handing the spike trains of each chunk of runs to `keep` once they
/// are summarized, for a caller that needs the spike times too: the spikes are read
/// once. Every row is held: this is for datasets that fit in memory (`check`).
pub fn summarize_keeping(
    reader: &Reader,
    mut keep: impl FnMut(SpikeTrains),
) -> Result<Vec<SummaryRow>, AnalysisError> {
    let mut out = Vec::new();
    for_each_chunk(reader.scan(), CHUNK, |_, _, rows, trains| {
        out.extend(rows);
        keep(trains);
        Ok(())
    })?;
    Ok(out)
}

/// Hand `f` the runs a `chunk` at a time in run-id order: their slice of the runs
/// table, their essentials, the summary rows of the successful ones (in (run_id,
/// neuron) order) and their spike trains.
fn for_each_chunk(
    scan: &Scan,
    chunk: Chunk,
    mut f: impl FnMut(
        &RecordBatch,
        &[RunInfo],
        Vec<SummaryRow>,
        SpikeTrains,
    ) -> Result<(), AnalysisError>,
) -> Result<(), AnalysisError> {
    let spans = scan.spike_spans();
    scan.for_each_run_chunk(chunk.runs, None, |runs, infos| {
        let mut start = 0;
        while start < infos.len() {
            let mut end = start + 1;
            let mut neurons = u64::from(infos[start].neurons);
            while end < infos.len() && neurons + u64::from(infos[end].neurons) <= chunk.neurons {
                neurons += u64::from(infos[end].neurons);
                end += 1;
            }
            let these = &infos[start..end];
            let (first, last) = (these[0].run_id, these[these.len() - 1].run_id);
            let trains = scan.spikes_of_runs(&spans, first, last)?;
            // A run without a single spike still has a row per neuron: rate 0.
            let rows = these
                .iter()
                .filter(|r| r.ok)
                .flat_map(|run| run_rows(run, &trains))
                .collect();
            f(&runs.slice(start, end - start), these, rows, trains)?;
            start = end;
        }
        Ok(())
    })
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

/// summary.parquet being written, a chunk of rows at a time.
struct SummaryWriter {
    table: TableWriter,
    rows: usize,
}

impl SummaryWriter {
    fn create(path: &Path, meta: &Meta) -> Result<SummaryWriter, AnalysisError> {
        Ok(SummaryWriter {
            table: TableWriter::create(path, SUMMARY.schema(Vec::new()), meta)?,
            rows: 0,
        })
    }

    fn write(&mut self, rows: &[SummaryRow]) -> Result<(), AnalysisError> {
        if rows.is_empty() {
            return Ok(());
        }
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
        self.table.write(cols)?;
        self.rows += rows.len();
        Ok(())
    }

    /// Finish the file; returns its row count.
    fn commit(self) -> Result<usize, AnalysisError> {
        self.table.commit()?;
        Ok(self.rows)
    }
}

/// The firing pattern of each of `runs` (the most common over its neurons), read
/// from summary.parquet a batch at a time: for runs past the first PATTERNS_KEPT,
/// which `Analysis::patterns` leaves out. A run without rows gets none.
pub fn patterns_of(
    reader: &Reader,
    runs: &HashSet<u32>,
) -> Result<HashMap<u32, String>, AnalysisError> {
    let path = reader.file(&SUMMARY.entry());
    let mut names: HashMap<u32, Vec<String>> = HashMap::new();
    for_each_batch(&path, |b| {
        let ids = u32_column(&b, layout::RUN_ID.name, &path)?;
        let patterns = string_column(&b, layout::PATTERN.name, &path)?;
        for k in (0..b.num_rows()).filter(|&k| runs.contains(&ids.value(k))) {
            names
                .entry(ids.value(k))
                .or_default()
                .push(patterns.value(k).to_string());
        }
        Ok::<_, AnalysisError>(())
    })?;
    Ok(names
        .into_iter()
        .filter_map(|(id, n)| {
            Some((
                id,
                dominant_pattern(n.iter().map(String::as_str))?.to_string(),
            ))
        })
        .collect())
}

/// The most common of one run's neurons' patterns (ties to the first name in
/// alphabetical order); None for a run without rows.
fn dominant_pattern<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for name in names {
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => *c += 1,
            None => counts.push((name, 1)),
        }
    }
    counts
        .into_iter()
        .max_by_key(|(name, n)| (*n, std::cmp::Reverse(*name)))
        .map(|(name, _)| name)
}

#[cfg(test)]
mod tests;
