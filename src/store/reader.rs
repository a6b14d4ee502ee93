//! Reading a finished dataset back: what analysis, check, plot and report all go
//! through. A `Reader` is opened once (the dataset verified against its manifests,
//! runs.parquet read) and serves the runs, the spike trains part file by part file,
//! one run's spikes or traces, any table's rows (whole or for chosen runs, for the
//! Python package), and the tables the analysis wrote. Only the part files
//! the manifests name are read, never whatever else lies in a table folder, and what
//! is held at a time is one part's spike trains or one run's rows, so memory does
//! not grow with the recording. A `Scan` is the same dataset without the runs table
//! held: a pass over every run reads runs.parquet and the spikes a chunk of run ids at
//! a time, so memory does not grow with the number of runs either (beyond each
//! batch's run ids, 4 bytes a run).

use super::layout::{self, param, Storage, Table};
use super::{Dataset, Manifest, Meta, StoreError};
use arrow::array::{
    Array, AsArray, BooleanArray, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use arrow::compute::{concat_batches, filter_record_batch};
use arrow::datatypes::{Float32Type, Float64Type, SchemaRef, UInt32Type, UInt64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The dataset is unfinished, damaged or not a dataset.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A table whose content is not what neurodyn writes.
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    /// The file system refused: a missing or unreadable file.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ReadError {
    pub fn format(path: &Path, e: impl std::fmt::Display) -> Self {
        ReadError::Format {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }

    pub fn io(path: &Path, source: std::io::Error) -> Self {
        ReadError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

fn open_file(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<std::fs::File>, ReadError> {
    let file = std::fs::File::open(path).map_err(|e| ReadError::io(path, e))?;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| ReadError::format(path, e))
}

/// Every record batch of one Parquet file.
pub fn read_batches(path: &Path) -> Result<Vec<RecordBatch>, ReadError> {
    let mut out = Vec::new();
    for_each_batch(path, |b| {
        out.push(b);
        Ok::<_, ReadError>(())
    })?;
    Ok(out)
}

/// The record batches of one Parquet file, handed over one at a time, their schema
/// holding the file's key-value metadata (which experiment, which neurodyn), which
/// the Parquet reader's batches leave out, so that a table handed on (to Python)
/// still says where it came from.
pub fn for_each_batch<E: From<ReadError>>(
    path: &Path,
    mut f: impl FnMut(RecordBatch) -> Result<(), E>,
) -> Result<(), E> {
    let builder = open_file(path)?;
    let metadata = builder.schema().metadata().clone();
    let reader = builder.build().map_err(|e| ReadError::format(path, e))?;
    let mut tagged: Option<SchemaRef> = None;
    for b in reader {
        let b = b.map_err(|e| ReadError::format(path, e))?;
        let schema = tagged
            .get_or_insert_with(|| {
                Arc::new(b.schema().as_ref().clone().with_metadata(metadata.clone()))
            })
            .clone();
        f(b.with_schema(schema)
            .map_err(|e| ReadError::format(path, e))?)?;
    }
    Ok(())
}

/// A column of the expected type, or an error naming the file and column.
pub fn u32_column<'a>(
    b: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a UInt32Array, ReadError> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<UInt32Type>())
        .ok_or_else(|| ReadError::format(path, format!("no UInt32 column '{name}'")))
}

pub fn u64_column<'a>(
    b: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a UInt64Array, ReadError> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<UInt64Type>())
        .ok_or_else(|| ReadError::format(path, format!("no UInt64 column '{name}'")))
}

pub fn string_column<'a>(
    b: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a StringArray, ReadError> {
    b.column_by_name(name)
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| ReadError::format(path, format!("no text column '{name}'")))
}

pub fn f64_column<'a>(
    b: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a Float64Array, ReadError> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<Float64Type>())
        .ok_or_else(|| ReadError::format(path, format!("no Float64 column '{name}'")))
}

/// A trace value column as f64, whether recorded as f64 or f32 (`record.precision`;
/// widening is exact); None when the traces lack it.
pub fn trace_values(b: &RecordBatch, name: &str) -> Option<Float64Array> {
    let c = b.column_by_name(name)?;
    if let Some(f32s) = c.as_primitive_opt::<Float32Type>() {
        return Some(f32s.iter().map(|x| x.map(f64::from)).collect());
    }
    c.as_primitive_opt::<Float64Type>().cloned()
}

/// What the readers need of one run.
#[derive(Clone, Debug)]
pub struct RunInfo {
    pub run_id: u32,
    pub label: String,
    pub ok: bool,
    pub neurons: u32,
    /// Analysis window [start, stop) in ms.
    pub window: (f64, f64),
    /// Stimulus onset in ms (0 without one).
    pub onset: f64,
}

/// The runs table: one batch with every column, and each run's essentials.
pub struct Runs {
    pub table: RecordBatch,
    infos: Vec<RunInfo>,
}

impl Runs {
    pub fn read(path: &Path) -> Result<Runs, ReadError> {
        let batches = read_batches(path)?;
        let schema = batches
            .first()
            .map(|b| b.schema())
            .ok_or_else(|| ReadError::format(path, "empty runs table"))?;
        let table = concat_batches(&schema, &batches).map_err(|e| ReadError::format(path, e))?;
        let infos = run_infos(&table, path, 0)?;
        Ok(Runs { table, infos })
    }

    pub fn get(&self, run_id: u32) -> Option<&RunInfo> {
        self.infos.get(run_id as usize)
    }

    pub fn iter(&self) -> impl Iterator<Item = &RunInfo> {
        self.infos.iter()
    }

    pub fn len(&self) -> usize {
        self.infos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.infos.is_empty()
    }
}

/// The essentials of each run of `table`, a slice of runs.parquet whose first row is
/// run `first`: rows must be in run_id order, one per run.
pub fn run_infos(
    table: &RecordBatch,
    path: &Path,
    first: usize,
) -> Result<Vec<RunInfo>, ReadError> {
    let ids = u32_column(table, layout::RUN_ID.name, path)?;
    let labels = string_column(table, layout::LABEL.name, path)?;
    let status = string_column(table, layout::STATUS.name, path)?;
    let neurons = u64_column(table, param::NEURONS, path)?;
    let (w0, w1) = (
        f64_column(table, param::WINDOW_START_MS, path)?,
        f64_column(table, param::WINDOW_STOP_MS, path)?,
    );
    let onset = f64_column(table, param::STIMULUS_ONSET_MS, path)?;
    let mut infos = Vec::with_capacity(table.num_rows());
    for k in 0..table.num_rows() {
        if ids.value(k) as usize != first + k {
            return Err(ReadError::format(path, "runs are not in run_id order"));
        }
        infos.push(RunInfo {
            run_id: ids.value(k),
            label: labels.value(k).to_string(),
            ok: status.value(k) == layout::STATUS_OK,
            neurons: u32::try_from(neurons.value(k)).unwrap_or(u32::MAX),
            window: (w0.value(k), w1.value(k)),
            onset: if onset.is_null(k) {
                0.0
            } else {
                onset.value(k)
            },
        });
    }
    Ok(infos)
}

/// The spike trains of one part file: each (run_id, neuron)'s spike times in the
/// order written (ascending).
pub type SpikeTrains = HashMap<(u32, u32), Vec<f64>>;

/// One run's trace rows in (neuron, t_ms) order. A value the dataset did not record
/// is empty; so is w for a model without an adaptation current (its cells are null).
#[derive(Clone, Debug, Default)]
pub struct Traces {
    pub neuron: Vec<u32>,
    pub t: Vec<f64>,
    pub v: Vec<f64>,
    pub i: Vec<f64>,
    pub w: Vec<f64>,
}

/// A finished, verified dataset, open for reading.
pub struct Reader {
    scan: Scan,
    runs: Runs,
}

/// A finished, verified dataset open for passes over all its runs in run-id order, a
/// chunk of runs at a time: runs.parquet is read a chunk of rows at a time and never
/// held whole, so a pass holds one chunk's runs and spikes. What the analysis of a
/// large dataset goes through; a `Reader` holds one (`Reader::scan`).
pub struct Scan {
    dataset: Dataset,
    batches: Vec<Batch>,
}

/// What the reader keeps of a committed batch's manifest: its name, the tables it
/// wrote parts of and its runs' ids, sorted (4 bytes a run, where a parsed manifest
/// takes about 110).
struct Batch {
    name: String,
    tables: Vec<String>,
    runs: Vec<u32>,
}

impl Batch {
    fn of(m: Manifest) -> Batch {
        let mut runs: Vec<u32> = m.runs.iter().map(|r| r.run_id).collect();
        runs.sort_unstable();
        Batch {
            name: m.batch,
            tables: m.parts.into_iter().map(|p| p.table).collect(),
            runs,
        }
    }

    fn has(&self, table: &Table) -> bool {
        self.tables.iter().any(|t| t == table.name)
    }

    /// Whether the batch holds a run in `first..=last`.
    fn holds_any(&self, first: u32, last: u32) -> bool {
        let k = self.runs.partition_point(|&r| r < first);
        self.runs.get(k).is_some_and(|&r| r <= last)
    }
}

/// A spike part file and the range of run ids its batch holds, for finding the parts
/// of a chunk of runs without going through every run of every manifest.
pub struct PartSpan {
    /// The smallest and largest run id of the batch.
    pub first: u32,
    pub last: u32,
    batch: usize,
}

impl Scan {
    /// Open the dataset at `root`: refuse it unless it is finished and sound.
    pub fn open(root: &Path) -> Result<Scan, ReadError> {
        let dataset = Dataset::verified(root)?;
        // One manifest parsed at a time: those of millions of runs are large.
        let dir = dataset.root.join(layout::MANIFESTS);
        let mut batches = Vec::new();
        dataset.each_manifest(|name, m| {
            let m = m.map_err(|message| StoreError::Corrupt {
                path: dir.join(format!("{name}.json")),
                message,
            })?;
            batches.push(Batch::of(m));
            Ok(())
        })?;
        Ok(Scan { dataset, batches })
    }

    pub fn root(&self) -> &Path {
        &self.dataset.root
    }

    /// A file or folder of the dataset, by its name in `layout`.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dataset.root.join(name)
    }

    pub fn meta(&self) -> &Meta {
        &self.dataset.meta
    }

    /// Hand `f` runs.parquet `chunk` rows at a time, in run-id order (the last
    /// chunk may be shorter), with those runs' essentials. `columns` limits the
    /// columns read (None: all); the columns `run_infos` needs are then still read.
    pub fn for_each_run_chunk<E: From<ReadError>>(
        &self,
        chunk: usize,
        columns: Option<&dyn Fn(&str) -> bool>,
        mut f: impl FnMut(&RecordBatch, &[RunInfo]) -> Result<(), E>,
    ) -> Result<(), E> {
        let path = self.file(&layout::RUNS.entry());
        let builder = open_file(&path)?.with_batch_size(chunk.max(1));
        let builder = match columns {
            None => builder,
            Some(keep) => {
                let needed = [
                    layout::RUN_ID.name,
                    layout::LABEL.name,
                    layout::STATUS.name,
                    param::NEURONS,
                    param::WINDOW_START_MS,
                    param::WINDOW_STOP_MS,
                    param::STIMULUS_ONSET_MS,
                ];
                let roots: Vec<usize> = builder
                    .schema()
                    .fields()
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| needed.contains(&c.name().as_str()) || keep(c.name()))
                    .map(|(k, _)| k)
                    .collect();
                let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
                builder.with_projection(mask)
            }
        };
        let reader = builder.build().map_err(|e| ReadError::format(&path, e))?;
        let mut first = 0;
        for b in reader {
            let b = b.map_err(|e| ReadError::format(&path, e))?;
            let infos = run_infos(&b, &path, first)?;
            first += b.num_rows();
            f(&b, &infos)?;
        }
        if first == 0 {
            return Err(ReadError::format(&path, "empty runs table").into());
        }
        Ok(())
    }

    /// Each spike part file with the range of run ids its batch holds, in batch order.
    pub fn spike_spans(&self) -> Vec<PartSpan> {
        self.batches
            .iter()
            .enumerate()
            .filter(|(_, b)| b.has(&layout::SPIKES))
            .filter_map(|(batch, b)| {
                Some(PartSpan {
                    first: *b.runs.first()?,
                    last: *b.runs.last()?,
                    batch,
                })
            })
            .collect()
    }

    /// The spike trains of runs `first..=last`, read from the part files that hold
    /// any of them (`spans` from `spike_spans`).
    pub fn spikes_of_runs(
        &self,
        spans: &[PartSpan],
        first: u32,
        last: u32,
    ) -> Result<SpikeTrains, ReadError> {
        let mut trains = SpikeTrains::new();
        let inside = |id: u32| first <= id && id <= last;
        for s in spans.iter().filter(|s| s.first <= last && first <= s.last) {
            let b = &self.batches[s.batch];
            // Runs of several batches may interleave: skip a batch with no run here.
            if !b.holds_any(first, last) {
                continue;
            }
            let path = self.dataset.final_part(&b.name, layout::SPIKES.name);
            for_each_batch(&path, |b| {
                let ids = u32_column(&b, layout::RUN_ID.name, &path)?;
                let keep: BooleanArray = ids.iter().map(|id| id.map(inside)).collect();
                let b = filter_record_batch(&b, &keep).map_err(|e| ReadError::format(&path, e))?;
                add_trains(&b, &path, &mut trains)
            })?;
        }
        Ok(trains)
    }

    /// The part files of `table`, in batch order, as the manifests name them.
    pub fn parts(&self, table: &Table) -> Vec<PathBuf> {
        self.batches
            .iter()
            .filter(|b| b.has(table))
            .map(|b| self.dataset.final_part(&b.name, table.name))
            .collect()
    }

    /// The part files of `table` that hold rows of any of `runs`, in batch order.
    pub fn parts_holding(&self, table: &Table, runs: &HashSet<u32>) -> Vec<PathBuf> {
        self.batches
            .iter()
            .filter(|b| b.has(table))
            .filter(|b| {
                // The smaller side is searched in the other.
                if runs.len() < b.runs.len() {
                    runs.iter().any(|r| b.runs.binary_search(r).is_ok())
                } else {
                    b.runs.iter().any(|r| runs.contains(r))
                }
            })
            .map(|b| self.dataset.final_part(&b.name, table.name))
            .collect()
    }
}

impl Reader {
    /// Open the dataset at `root`: refuse it unless it is finished and sound, then
    /// read its runs.
    pub fn open(root: &Path) -> Result<Reader, ReadError> {
        let scan = Scan::open(root)?;
        let runs = Runs::read(&scan.file(&layout::RUNS.entry()))?;
        Ok(Reader { scan, runs })
    }

    /// The dataset without its runs table, for passes over all runs.
    pub fn scan(&self) -> &Scan {
        &self.scan
    }

    pub fn root(&self) -> &Path {
        self.scan.root()
    }

    /// A file or folder of the dataset, by its name in `layout`.
    pub fn file(&self, name: &str) -> PathBuf {
        self.scan.file(name)
    }

    pub fn meta(&self) -> &Meta {
        self.scan.meta()
    }

    pub fn runs(&self) -> &Runs {
        &self.runs
    }

    /// The part files of `table`, in batch order, as the manifests name them.
    pub fn parts(&self, table: &Table) -> Vec<PathBuf> {
        self.scan.parts(table)
    }

    /// The part files of `table` that hold rows of any of `runs`, in batch order.
    pub fn parts_holding(&self, table: &Table, runs: &HashSet<u32>) -> Vec<PathBuf> {
        self.scan.parts_holding(table, runs)
    }

    /// The part file of `table` that holds `run_id`'s rows, if any (all of a run's
    /// rows sit in one part).
    fn part_of(&self, table: &Table, run_id: u32) -> Option<PathBuf> {
        self.parts_holding(table, &HashSet::from([run_id]))
            .into_iter()
            .next()
    }

    /// Hand `f` the spike trains of one part file after another. A run's spikes all
    /// sit in one part, so each call holds whole runs.
    pub fn for_each_spike_part<E: From<ReadError>>(
        &self,
        mut f: impl FnMut(SpikeTrains) -> Result<(), E>,
    ) -> Result<(), E> {
        for path in self.parts(&layout::SPIKES) {
            let mut trains = SpikeTrains::new();
            for_each_batch(&path, |b| add_trains(&b, &path, &mut trains))?;
            f(trains)?;
        }
        Ok(())
    }

    /// One run's spikes as (neuron, t_ms), in (neuron, t_ms) order.
    pub fn run_spikes(&self, run_id: u32) -> Result<Vec<(u32, f64)>, ReadError> {
        let mut out = Vec::new();
        let Some(path) = self.part_of(&layout::SPIKES, run_id) else {
            return Ok(out);
        };
        for_each_batch(&path, |b| {
            let rid = u32_column(&b, layout::RUN_ID.name, &path)?;
            let n = u32_column(&b, layout::NEURON.name, &path)?;
            let t = f64_column(&b, layout::T.name, &path)?;
            for k in (0..b.num_rows()).filter(|&k| rid.value(k) == run_id) {
                out.push((n.value(k), t.value(k)));
            }
            Ok::<_, ReadError>(())
        })?;
        Ok(out)
    }

    /// One run's trace rows (none when the dataset records no traces).
    pub fn run_traces(&self, run_id: u32) -> Result<Traces, ReadError> {
        let mut d = Traces::default();
        let Some(path) = self.part_of(&layout::TRACES, run_id) else {
            return Ok(d);
        };
        for_each_batch(&path, |b| {
            let rid = u32_column(&b, layout::RUN_ID.name, &path)?;
            let n = u32_column(&b, layout::NEURON.name, &path)?;
            let t = f64_column(&b, layout::T.name, &path)?;
            let col = |c: &layout::Column| trace_values(&b, c.name);
            let (v, i, w) = (col(&layout::V), col(&layout::I), col(&layout::W));
            for k in (0..b.num_rows()).filter(|&k| rid.value(k) == run_id) {
                d.neuron.push(n.value(k));
                d.t.push(t.value(k));
                if let Some(v) = &v {
                    d.v.push(v.value(k));
                }
                if let Some(i) = &i {
                    d.i.push(i.value(k));
                }
                if let Some(w) = w.as_ref().filter(|w| !w.is_null(k)) {
                    d.w.push(w.value(k));
                }
            }
            Ok::<_, ReadError>(())
        })?;
        Ok(d)
    }

    /// The rows of `table`, each file's batches apart (a file's batches share one
    /// schema; files of a part table may differ, e.g. in the values traced): all of
    /// them, or the rows of `runs` only. A file table the dataset lacks gives none.
    pub fn rows(
        &self,
        table: &Table,
        runs: Option<&HashSet<u32>>,
    ) -> Result<Vec<Vec<RecordBatch>>, ReadError> {
        let files = match (table.storage, runs) {
            (Storage::Parts, Some(runs)) => self.parts_holding(table, runs),
            (Storage::Parts, None) => self.parts(table),
            (Storage::File, _) if self.has(table) => vec![self.file(&table.entry())],
            (Storage::File, _) => Vec::new(),
        };
        let mut out = Vec::with_capacity(files.len());
        for path in &files {
            let mut batches = Vec::new();
            for_each_batch(path, |b| {
                batches.push(match runs {
                    None => b,
                    Some(runs) => {
                        let ids = u32_column(&b, layout::RUN_ID.name, path)?;
                        let keep: BooleanArray = ids
                            .iter()
                            .map(|id| id.map(|id| runs.contains(&id)))
                            .collect();
                        filter_record_batch(&b, &keep).map_err(|e| ReadError::format(path, e))?
                    }
                });
                Ok::<_, ReadError>(())
            })?;
            out.push(batches);
        }
        Ok(out)
    }

    /// Whether the dataset holds `table` (the analysis tables exist once analyzed).
    pub fn has(&self, table: &Table) -> bool {
        self.file(&table.entry()).exists()
    }

    /// Every batch of a table stored as one file.
    pub fn table(&self, table: &Table) -> Result<Vec<RecordBatch>, ReadError> {
        read_batches(&self.file(&table.entry()))
    }

    /// summary.parquet (written by the analysis).
    pub fn summary(&self) -> Result<Vec<RecordBatch>, ReadError> {
        self.table(&layout::SUMMARY)
    }

    /// fi_curve.parquet (written by the analysis).
    pub fn fi_curve(&self) -> Result<Vec<RecordBatch>, ReadError> {
        self.table(&layout::FI_CURVE)
    }
}

/// Add a batch of spike rows to the trains. Rows of one train are contiguous, so
/// they are appended a run of rows at a time.
fn add_trains(b: &RecordBatch, path: &Path, trains: &mut SpikeTrains) -> Result<(), ReadError> {
    let id = u32_column(b, layout::RUN_ID.name, path)?;
    let neuron = u32_column(b, layout::NEURON.name, path)?;
    let t = f64_column(b, layout::T.name, path)?.values();
    let key = |k: usize| (id.value(k), neuron.value(k));
    let mut k = 0;
    while k < b.num_rows() {
        let train = key(k);
        let end = (k + 1..b.num_rows())
            .find(|&e| key(e) != train)
            .unwrap_or(b.num_rows());
        trains
            .entry(train)
            .or_default()
            .extend_from_slice(&t[k..end]);
        k = end;
    }
    Ok(())
}
