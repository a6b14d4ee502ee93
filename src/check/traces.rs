//! The traces of two results folders, compared row by row: for every paired run, the
//! rows of each neuron (t_ms and each value column within atol + rtol·|base|, null
//! only against null). The part files are streamed in record batches: what is held is
//! one batch per side and, per run, where its rows sit, so memory does not grow with
//! the recording.

use super::snapshot::{RunSnap, SnapshotError};
use super::{score, show, Ctx, Kind};
use crate::store::layout;
use crate::store::ReadError;
use arrow::array::{Array, AsArray, Float64Array, RecordBatch, UInt32Array};
use arrow::datatypes::UInt32Type;
use parquet::arrow::arrow_reader::{
    ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
};
use parquet::arrow::ProjectionMask;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The value columns a trace part may have, in the order differences are listed.
const VALUES: [&str; 3] = [layout::V.name, layout::I.name, layout::W.name];

/// Rows per record batch read (about 2.5 MB per side).
const BATCH_ROWS: usize = 1 << 16;

/// Where the rows of one run are: a part file (index into `TraceIndex::files`) and
/// the rows [start, start + len) of it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Span {
    file: usize,
    start: usize,
    len: usize,
}

/// The trace part files of a dataset and where each run's rows sit in them.
struct TraceIndex {
    files: Vec<PathBuf>,
    /// Which of VALUES the parts have.
    columns: [bool; 3],
    spans: HashMap<u32, Span>,
}

fn bad(path: &Path, e: impl std::fmt::Display) -> SnapshotError {
    ReadError::format(path, e).into()
}

fn open(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>, SnapshotError> {
    let file = File::open(path).map_err(|e| bad(path, e))?;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| bad(path, e))
}

impl TraceIndex {
    /// The index of a dataset's trace parts (as its manifests name them); None when
    /// it recorded no traces.
    fn read(parts: &[PathBuf]) -> Result<Option<TraceIndex>, SnapshotError> {
        if parts.is_empty() {
            return Ok(None);
        }
        let mut files = parts.to_vec();
        files.sort();
        TraceIndex::of_files(files).map(Some)
    }

    /// Scans the run_id column of each part: rows of a run are contiguous in one part.
    fn of_files(files: Vec<PathBuf>) -> Result<TraceIndex, SnapshotError> {
        let mut spans: HashMap<u32, Span> = HashMap::new();
        let mut columns = None;
        for (file, path) in files.iter().enumerate() {
            let builder = open(path)?;
            let schema = builder.schema().clone();
            let has = VALUES.map(|c| schema.index_of(c).is_ok());
            if columns.is_some_and(|c| c != has) {
                return Err(bad(path, "its columns differ from the other trace parts'"));
            }
            columns = Some(has);
            let id = schema
                .index_of(layout::RUN_ID.name)
                .map_err(|_| bad(path, format!("no column '{}'", layout::RUN_ID.name)))?;
            let mask = ProjectionMask::roots(builder.parquet_schema(), [id]);
            let reader = builder
                .with_projection(mask)
                .with_batch_size(BATCH_ROWS)
                .build()
                .map_err(|e| bad(path, e))?;
            let mut close = |run: u32, start: usize, end: usize| {
                let span = Span {
                    file,
                    start,
                    len: end - start,
                };
                match spans.insert(run, span) {
                    None => Ok(()),
                    Some(_) => Err(bad(
                        path,
                        format!("the trace rows of run {run} are not in one piece"),
                    )),
                }
            };
            let mut row = 0;
            let mut current: Option<(u32, usize)> = None;
            for b in reader {
                let b = b.map_err(|e| bad(path, e))?;
                let ids = b
                    .column(0)
                    .as_primitive_opt::<UInt32Type>()
                    .ok_or_else(|| {
                        bad(
                            path,
                            format!("column '{}' is not UInt32", layout::RUN_ID.name),
                        )
                    })?;
                for &run in ids.values() {
                    match current {
                        Some((r, _)) if r == run => {}
                        Some((r, start)) => {
                            close(r, start, row)?;
                            current = Some((run, row));
                        }
                        None => current = Some((run, row)),
                    }
                    row += 1;
                }
            }
            if let Some((r, start)) = current {
                close(r, start, row)?;
            }
        }
        Ok(TraceIndex {
            files,
            columns: columns.unwrap_or_default(),
            spans,
        })
    }
}

/// One record batch's columns.
struct Rows {
    neuron: UInt32Array,
    t: Float64Array,
    values: [Option<Float64Array>; 3],
}

/// A reader over the rows of one run after another; reads on without reopening the
/// file when the next run follows the last one in the same part.
struct Cursor<'a> {
    index: &'a TraceIndex,
    reader: Option<ParquetRecordBatchReader>,
    /// The file and absolute row of the current row.
    file: usize,
    pos: usize,
    rows: Option<Rows>,
    at: usize,
    /// Rows of the current run not yet consumed.
    left: usize,
}

impl<'a> Cursor<'a> {
    fn new(index: &'a TraceIndex) -> Self {
        Cursor {
            index,
            reader: None,
            file: 0,
            pos: 0,
            rows: None,
            at: 0,
            left: 0,
        }
    }

    /// Position on the rows of a run (none when it has no trace rows).
    fn start(&mut self, span: Option<Span>) -> Result<(), SnapshotError> {
        self.left = span.map_or(0, |s| s.len);
        let Some(s) = span.filter(|s| s.len > 0) else {
            return Ok(());
        };
        if self.reader.is_some() && self.file == s.file && self.pos == s.start {
            return Ok(());
        }
        let path = &self.index.files[s.file];
        let builder = open(path)?;
        let total = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
        let selection = RowSelection::from(vec![
            RowSelector::skip(s.start),
            RowSelector::select(total.saturating_sub(s.start)),
        ]);
        let reader = builder
            .with_row_selection(selection)
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| bad(path, e))?;
        self.reader = Some(reader);
        self.file = s.file;
        self.pos = s.start;
        self.rows = None;
        self.at = 0;
        Ok(())
    }

    /// The neuron of the current row; None once the run's rows are consumed.
    fn neuron(&mut self) -> Result<Option<u32>, SnapshotError> {
        if self.left == 0 {
            return Ok(None);
        }
        if self.rows.as_ref().is_none_or(|r| self.at >= r.t.len()) {
            let path = &self.index.files[self.file];
            let batch = self
                .reader
                .as_mut()
                .and_then(|r| r.next())
                .ok_or_else(|| bad(path, "the file ends inside a run's trace rows"))?
                .map_err(|e| bad(path, e))?;
            self.rows = Some(rows(&batch, path)?);
            self.at = 0;
        }
        Ok(self.rows.as_ref().map(|r| r.neuron.value(self.at)))
    }

    /// t_ms and the values of the current row (call after `neuron` gave Some).
    fn row(&self) -> (f64, [Option<f64>; 3]) {
        let (r, k) = (self.rows.as_ref().expect("a current row"), self.at);
        let value =
            |a: &Option<Float64Array>| a.as_ref().and_then(|a| (!a.is_null(k)).then(|| a.value(k)));
        (r.t.value(k), [0, 1, 2].map(|c| value(&r.values[c])))
    }

    fn advance(&mut self) {
        self.at += 1;
        self.pos += 1;
        self.left -= 1;
    }
}

fn rows(b: &RecordBatch, path: &Path) -> Result<Rows, SnapshotError> {
    let f64s = |name: &str| crate::store::reader::trace_values(b, name);
    Ok(Rows {
        neuron: crate::store::reader::u32_column(b, layout::NEURON.name, path)?.clone(),
        t: crate::store::reader::f64_column(b, layout::T.name, path)?.clone(),
        values: VALUES.map(f64s),
    })
}

/// The worst difference of one column of one neuron.
struct Worst {
    score: f64,
    row: usize,
    t: f64,
    base: Option<f64>,
    new: Option<f64>,
}

fn note(
    worst: &mut Option<Worst>,
    s: f64,
    row: usize,
    t: f64,
    base: Option<f64>,
    new: Option<f64>,
) {
    if s > 1.0 && worst.as_ref().is_none_or(|w| s > w.score) {
        *worst = Some(Worst {
            score: s,
            row,
            t,
            base,
            new,
        });
    }
}

/// The rows of one run on both sides, neuron by neuron; returns the row pairs compared.
fn compare_run(
    ctx: &mut Ctx,
    run: &RunSnap,
    base: &mut Cursor,
    new: &mut Cursor,
    shared: [bool; 3],
) -> Result<usize, SnapshotError> {
    let tol = *ctx.tol;
    let pair_score = |b: Option<f64>, n: Option<f64>| match (b, n) {
        (Some(b), Some(n)) => score(b, n, &tol),
        (None, None) => 0.0,
        _ => f64::INFINITY,
    };
    let mut compared = 0;
    // Rows are ordered by neuron on both sides, so the lower current neuron is the
    // one that either side may have fewer rows of.
    while let Some(neuron) = base.neuron()?.into_iter().chain(new.neuron()?).min() {
        let mut worst: [Option<Worst>; 4] = Default::default();
        let (mut nb, mut nn) = (0usize, 0usize);
        while base.neuron()? == Some(neuron) && new.neuron()? == Some(neuron) {
            let ((bt, bv), (nt, nv)) = (base.row(), new.row());
            note(
                &mut worst[0],
                score(bt, nt, &tol),
                nb,
                bt,
                Some(bt),
                Some(nt),
            );
            for c in (0..3).filter(|&c| shared[c]) {
                note(
                    &mut worst[c + 1],
                    pair_score(bv[c], nv[c]),
                    nb,
                    bt,
                    bv[c],
                    nv[c],
                );
            }
            base.advance();
            new.advance();
            (nb, nn) = (nb + 1, nn + 1);
        }
        compared += nb;
        while base.neuron()? == Some(neuron) {
            base.advance();
            nb += 1;
        }
        while new.neuron()? == Some(neuron) {
            new.advance();
            nn += 1;
        }
        if nb != nn {
            ctx.push(
                Kind::Trace,
                Some(run),
                Some(neuron),
                "trace rows",
                nb.to_string(),
                nn.to_string(),
                f64::INFINITY,
            );
        }
        for (c, w) in worst.into_iter().enumerate() {
            let Some(w) = w else { continue };
            let quantity = match c {
                0 => format!("trace t_ms of row {}", w.row + 1),
                _ => format!("trace {} at t_ms {}", VALUES[c - 1], w.t),
            };
            ctx.push(
                Kind::Trace,
                Some(run),
                Some(neuron),
                quantity,
                show(w.base),
                show(w.new),
                w.score,
            );
        }
    }
    Ok(compared)
}

/// Compare the traces of the paired runs (baseline, new) of two results folders,
/// given their trace parts; returns the row pairs compared, None when neither
/// recorded traces.
pub(super) fn compare(
    ctx: &mut Ctx,
    base_parts: &[PathBuf],
    new_parts: &[PathBuf],
    pairs: &[(&RunSnap, &RunSnap)],
) -> Result<Option<usize>, SnapshotError> {
    let (base, new) = match (TraceIndex::read(base_parts)?, TraceIndex::read(new_parts)?) {
        (Some(b), Some(n)) => (b, n),
        (None, None) => return Ok(None),
        (b, _) => {
            let [recorded, not] = ["recorded", "not recorded"];
            let (bs, ns) = if b.is_some() {
                (recorded, not)
            } else {
                (not, recorded)
            };
            ctx.push(Kind::Trace, None, None, "traces", bs, ns, f64::INFINITY);
            return Ok(None);
        }
    };
    let present = |has: bool| if has { "present" } else { "absent" };
    for c in (0..3).filter(|&c| base.columns[c] != new.columns[c]) {
        ctx.push(
            Kind::Trace,
            None,
            None,
            format!("trace column {}", VALUES[c]),
            present(base.columns[c]),
            present(new.columns[c]),
            f64::INFINITY,
        );
    }
    let shared = [0, 1, 2].map(|c| base.columns[c] && new.columns[c]);
    // In the baseline's file order, so that each side mostly reads on; the new side
    // follows along when both were written in the same batches.
    let mut order: Vec<(Option<Span>, Option<Span>, &RunSnap)> = pairs
        .iter()
        .map(|(b, n)| {
            (
                base.spans.get(&b.run_id).copied(),
                new.spans.get(&n.run_id).copied(),
                *n,
            )
        })
        .collect();
    order.sort_by_key(|(b, n, _)| (b.map(|s| (s.file, s.start)), n.map(|s| (s.file, s.start))));
    let (mut bc, mut nc) = (Cursor::new(&base), Cursor::new(&new));
    let mut rows = 0;
    for (bs, ns, run) in order {
        bc.start(bs)?;
        nc.start(ns)?;
        rows += compare_run(ctx, run, &mut bc, &mut nc, shared)?;
    }
    Ok(Some(rows))
}
