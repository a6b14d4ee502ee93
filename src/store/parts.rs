//! The spikes/ and traces/ part files: one pair per batch of runs, rows appended in
//! (run_id, neuron, t_ms) order as the engine produces them, flushed in record
//! batches so memory stays bounded whatever the recording's length.

pub use super::layout::TraceColumns;
use super::layout::{self, Table};
use super::parquet::TableWriter;
use super::{Dataset, Meta, PartRecord, StoreError};
use crate::engine::{Sink, SinkError, TraceChunk};
use arrow::array::{ArrayRef, Float32Array, Float64Array, UInt32Array};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows buffered before they are handed to the Parquet writer.
const FLUSH_ROWS: usize = 1 << 16;

/// The (run_id, neuron, t_ms) columns every part file starts with, buffered.
#[derive(Default)]
struct Keys {
    run_id: Vec<u32>,
    neuron: Vec<u32>,
    t: Vec<f64>,
    /// Rows handed over so far, for the manifest.
    written: u64,
}

impl Keys {
    fn push(&mut self, run_id: u32, neuron: u32, t: &[f64]) {
        self.run_id.extend(std::iter::repeat_n(run_id, t.len()));
        self.neuron.extend(std::iter::repeat_n(neuron, t.len()));
        self.t.extend_from_slice(t);
    }

    fn len(&self) -> usize {
        self.t.len()
    }

    fn take(&mut self) -> Vec<ArrayRef> {
        self.written += self.t.len() as u64;
        vec![
            Arc::new(UInt32Array::from(taken(&mut self.run_id))),
            Arc::new(UInt32Array::from(taken(&mut self.neuron))),
            Arc::new(Float64Array::from(taken(&mut self.t))),
        ]
    }
}

/// The buffer's rows, leaving it empty with room for as many again: a buffer grown
/// from nothing by doubling copies its rows at every step, and a long recording spent
/// a tenth of its time in those copies and the new allocations' page faults.
fn taken<T>(buffer: &mut Vec<T>) -> Vec<T> {
    let room = buffer.len();
    std::mem::replace(buffer, Vec::with_capacity(room))
}

/// A finished part file's record: its size is read back once it is in place.
fn record(table: &Table, path: &Path, rows: u64) -> Result<PartRecord, StoreError> {
    let bytes = std::fs::metadata(path)
        .map_err(|e| StoreError::io(path, e))?
        .len();
    Ok(PartRecord {
        table: table.name.to_string(),
        bytes,
        rows,
    })
}

pub struct SpikeWriter {
    table: TableWriter,
    path: PathBuf,
    keys: Keys,
}

impl SpikeWriter {
    pub fn create(path: &Path, meta: &Meta) -> Result<Self, StoreError> {
        Ok(SpikeWriter {
            table: TableWriter::create(path, layout::SPIKES.schema(Vec::new()), meta)?,
            path: path.to_path_buf(),
            keys: Keys::default(),
        })
    }

    fn push(&mut self, run_id: u32, neuron: u32, times: &[f64]) -> Result<(), StoreError> {
        self.keys.push(run_id, neuron, times);
        if self.keys.len() >= FLUSH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        if self.keys.len() == 0 {
            return Ok(());
        }
        let cols = self.keys.take();
        self.table.write(cols)
    }

    pub fn commit(mut self) -> Result<PartRecord, StoreError> {
        self.flush()?;
        self.table.commit()?;
        record(&layout::SPIKES, &self.path, self.keys.written)
    }
}

pub struct TraceWriter {
    table: TableWriter,
    path: PathBuf,
    columns: TraceColumns,
    keys: Keys,
    v: Vec<f64>,
    i: Vec<f64>,
    w: Vec<Option<f64>>,
}

impl TraceWriter {
    pub fn create(path: &Path, columns: TraceColumns, meta: &Meta) -> Result<Self, StoreError> {
        Ok(TraceWriter {
            table: TableWriter::create(path, layout::traces_schema(columns), meta)?,
            path: path.to_path_buf(),
            columns,
            keys: Keys::default(),
            v: Vec::new(),
            i: Vec::new(),
            w: Vec::new(),
        })
    }

    fn push(&mut self, run_id: u32, neuron: u32, c: &TraceChunk) -> Result<(), StoreError> {
        let n = c.len();
        self.keys.push(run_id, neuron, &c.t);
        if self.columns.v {
            self.v.extend_from_slice(&c.v);
        }
        if self.columns.i {
            self.i.extend_from_slice(&c.i);
        }
        if self.columns.w {
            if c.w.len() == n {
                self.w.extend(c.w.iter().map(|&x| Some(x)));
            } else {
                self.w.extend(std::iter::repeat_n(None, n));
            }
        }
        if self.keys.len() >= FLUSH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        if self.keys.len() == 0 {
            return Ok(());
        }
        let mut cols = self.keys.take();
        let f32 = self.columns.f32;
        if self.columns.v {
            cols.push(values(taken(&mut self.v), f32));
        }
        if self.columns.i {
            cols.push(values(taken(&mut self.i), f32));
        }
        if self.columns.w {
            let w = taken(&mut self.w);
            cols.push(if f32 {
                Arc::new(
                    w.into_iter()
                        .map(|x| x.map(|x| x as f32))
                        .collect::<Float32Array>(),
                )
            } else {
                Arc::new(Float64Array::from(w))
            });
        }
        self.table.write(cols)
    }

    pub fn commit(mut self) -> Result<PartRecord, StoreError> {
        self.flush()?;
        self.table.commit()?;
        record(&layout::TRACES, &self.path, self.keys.written)
    }
}

/// A column of recorded values, rounded to nearest f32 when so recorded.
fn values(v: Vec<f64>, f32: bool) -> ArrayRef {
    if f32 {
        Arc::new(Float32Array::from_iter_values(
            v.into_iter().map(|x| x as f32),
        ))
    } else {
        Arc::new(Float64Array::from(v))
    }
}

/// The part files of one batch of runs.
pub struct PartWriters {
    pub spikes: SpikeWriter,
    pub traces: Option<TraceWriter>,
}

impl PartWriters {
    /// The part files of a batch, in its staging folder (`Dataset::stage`); traces
    /// only when the experiment records some.
    pub fn create(
        dataset: &Dataset,
        batch: &str,
        traces: Option<TraceColumns>,
    ) -> Result<Self, StoreError> {
        let staged = |table: &Table| dataset.staged_part(batch, table.name);
        Ok(PartWriters {
            spikes: SpikeWriter::create(&staged(&layout::SPIKES), &dataset.meta)?,
            traces: match traces {
                Some(c) => Some(TraceWriter::create(
                    &staged(&layout::TRACES),
                    c,
                    &dataset.meta,
                )?),
                None => None,
            },
        })
    }

    /// Finish every part file; their records go into the batch's manifest.
    pub fn commit(self) -> Result<Vec<PartRecord>, StoreError> {
        let mut parts = vec![self.spikes.commit()?];
        if let Some(t) = self.traces {
            parts.push(t.commit()?);
        }
        Ok(parts)
    }
}

/// The engine's rows go straight into the part files, tagged with their run.
impl Sink for PartWriters {
    fn spikes(&mut self, run_id: u32, neuron: u32, times: &[f64]) -> Result<(), SinkError> {
        Ok(self.spikes.push(run_id, neuron, times)?)
    }
    fn trace(&mut self, run_id: u32, neuron: u32, chunk: &TraceChunk) -> Result<(), SinkError> {
        match &mut self.traces {
            Some(t) => Ok(t.push(run_id, neuron, chunk)?),
            None => Ok(()),
        }
    }
}
