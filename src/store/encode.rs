//! Encoding a table's rows into Parquet row groups on all cores.
//!
//! Encoding (byte-stream split, statistics, ZSTD) costs far more than computing the
//! rows: a recording of 10⁸ samples spent nearly all its time in one writer thread
//! while the other core waited. Rows are therefore held until several whole row groups
//! are ready; every column of every one of them is encoded as its own task on the
//! thread pool, and the row groups are appended to the file in order. Row-group
//! boundaries fall at fixed row counts, so the file does not depend on the number of
//! threads; memory stays bounded by the row groups held at once.

use super::parquet::ROW_GROUP_ROWS;
use super::StoreError;
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory,
};
use parquet::arrow::ArrowWriter;
use parquet::file::writer::SerializedFileWriter;
use rayon::prelude::*;
use std::collections::VecDeque;
use std::fs::File;

/// Whole row groups encoded together at most: enough for both cores (and the columns
/// of each group add more tasks), few enough that a wide recording on a many-core
/// node holds at most 4 × 2²⁰ rows before they are encoded.
const MAX_GROUPS_AT_ONCE: usize = 4;

fn parquet_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Parquet(e.to_string())
}

/// Rows waiting to be encoded, and the file they go to.
pub(super) struct Encoder {
    file: SerializedFileWriter<File>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    held: VecDeque<RecordBatch>,
    held_rows: usize,
}

impl Encoder {
    /// Take over a writer that has written nothing yet: it has already turned the
    /// schema and writer settings into the file's header and metadata.
    pub(super) fn new(writer: ArrowWriter<File>, schema: SchemaRef) -> Result<Self, StoreError> {
        let (file, factory) = writer.into_serialized_writer().map_err(parquet_error)?;
        Ok(Encoder {
            file,
            factory,
            schema,
            held: VecDeque::new(),
            held_rows: 0,
        })
    }

    /// Hold the rows; encode once enough whole row groups are held.
    pub(super) fn write(&mut self, batch: RecordBatch) -> Result<(), StoreError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.held_rows += batch.num_rows();
        self.held.push_back(batch);
        let at_once = rayon::current_num_threads().clamp(1, MAX_GROUPS_AT_ONCE);
        if self.held_rows >= at_once * ROW_GROUP_ROWS {
            let groups = self.whole_groups();
            self.encode(groups)?;
        }
        Ok(())
    }

    /// Encode every row held: whole row groups, then the rest as one smaller group.
    pub(super) fn end_row_group(&mut self) -> Result<(), StoreError> {
        let mut groups = self.whole_groups();
        if self.held_rows > 0 {
            groups.push(std::mem::take(&mut self.held).into());
            self.held_rows = 0;
        }
        self.encode(groups)
    }

    /// Encode what is held and write the footer; the file is returned for syncing.
    pub(super) fn finish(mut self) -> Result<File, StoreError> {
        self.end_row_group()?;
        self.file.into_inner().map_err(parquet_error)
    }

    /// Cut the held rows into as many whole row groups as they fill; the remainder
    /// stays held. Slicing a batch shares its buffers, so nothing is copied.
    fn whole_groups(&mut self) -> Vec<Vec<RecordBatch>> {
        let mut groups = Vec::new();
        while self.held_rows >= ROW_GROUP_ROWS {
            let mut group = Vec::new();
            let mut need = ROW_GROUP_ROWS;
            while let Some(batch) = self.held.pop_front() {
                let n = batch.num_rows();
                if n < need {
                    need -= n;
                    group.push(batch);
                    continue;
                }
                if n > need {
                    self.held.push_front(batch.slice(need, n - need));
                }
                group.push(batch.slice(0, need));
                break;
            }
            self.held_rows -= ROW_GROUP_ROWS;
            groups.push(group);
        }
        groups
    }

    /// Encode each column of each group as its own task, then append the groups in
    /// order.
    fn encode(&mut self, groups: Vec<Vec<RecordBatch>>) -> Result<(), StoreError> {
        if groups.is_empty() {
            return Ok(());
        }
        let first = self.file.flushed_row_groups().len();
        let mut tasks: Vec<(usize, usize, Vec<ArrowColumnWriter>)> = Vec::new();
        for (g, group) in groups.iter().enumerate() {
            let mut writers = self
                .factory
                .create_column_writers(first + g)
                .map_err(parquet_error)?
                .into_iter();
            // A flat schema has one leaf per field; a nested field has several, and
            // its task takes that many writers, in schema order.
            for (f, field) in self.schema.fields().iter().enumerate() {
                let leaves = compute_leaves(field, group[0].column(f))
                    .map_err(parquet_error)?
                    .len();
                tasks.push((g, f, writers.by_ref().take(leaves).collect()));
            }
        }
        let schema = &self.schema;
        let groups = &groups;
        let chunks: Vec<Vec<ArrowColumnChunk>> = tasks
            .into_par_iter()
            .map(|(g, f, mut writers)| {
                let field = &schema.fields()[f];
                for batch in &groups[g] {
                    let leaves = compute_leaves(field, batch.column(f))?;
                    for (writer, leaf) in writers.iter_mut().zip(&leaves) {
                        writer.write(leaf)?;
                    }
                }
                writers.into_iter().map(|w| w.close()).collect()
            })
            .collect::<Result<_, parquet::errors::ParquetError>>()
            .map_err(parquet_error)?;
        let fields = self.schema.fields().len();
        let mut chunks = chunks.into_iter();
        for _ in 0..groups.len() {
            let mut row_group = self.file.next_row_group().map_err(parquet_error)?;
            for chunk in chunks.by_ref().take(fields).flatten() {
                chunk
                    .append_to_row_group(&mut row_group)
                    .map_err(parquet_error)?;
            }
            row_group.close().map_err(parquet_error)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::parquet::{test_meta, TableWriter};
    use arrow::array::{ArrayRef, Float64Array, UInt32Array};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::sync::Arc;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("neuron", DataType::UInt32, false),
            Field::new("V_mV", DataType::Float64, true),
        ]))
    }

    /// 2.5 row groups of rows, handed over in batches whose size divides nothing.
    const ROWS: usize = ROW_GROUP_ROWS * 5 / 2;
    const BATCH: usize = 77_777;

    fn columns(first: usize, n: usize) -> Vec<ArrayRef> {
        let neuron = (first..first + n).map(|k| (k / 1000) as u32);
        let v = (first..first + n).map(|k| (k % 7 != 0).then(|| (k as f64 * 0.37).sin()));
        vec![
            Arc::new(UInt32Array::from_iter_values(neuron)),
            Arc::new(Float64Array::from_iter(v)),
        ]
    }

    /// Write the rows with a pool of `threads` threads; the file's bytes.
    fn written(dir: &std::path::Path, threads: usize) -> Vec<u8> {
        let path = dir.join(format!("t{threads}.parquet"));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut t = TableWriter::create(&path, schema(), &test_meta()).unwrap();
            for first in (0..ROWS).step_by(BATCH) {
                t.write(columns(first, BATCH.min(ROWS - first))).unwrap();
            }
            t.commit().unwrap();
        });
        std::fs::read(path).unwrap()
    }

    /// The row count of each row group of a file.
    fn group_sizes(path: &std::path::Path) -> Vec<i64> {
        let file = std::fs::File::open(path).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        reader
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect()
    }

    #[test]
    fn row_groups_encoded_together_give_the_same_file_whatever_the_threads() {
        let dir = tempfile::tempdir().unwrap();
        let one = written(dir.path(), 1);
        assert_eq!(one, written(dir.path(), 2));
        assert_eq!(one, written(dir.path(), 3));

        let path = dir.path().join("read.parquet");
        std::fs::write(&path, one).unwrap();
        let whole = ROW_GROUP_ROWS as i64;
        assert_eq!(
            group_sizes(&path),
            vec![whole, whole, whole / 2],
            "groups at fixed row counts"
        );
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap()).unwrap();
        let mut at = 0;
        for batch in reader.build().unwrap() {
            let batch = batch.unwrap();
            let expected = columns(at, batch.num_rows());
            assert_eq!(batch.column(0), &expected[0]);
            assert_eq!(batch.column(1), &expected[1]);
            at += batch.num_rows();
        }
        assert_eq!(at, ROWS);
    }

    #[test]
    fn a_closed_row_group_keeps_its_size_and_an_empty_table_is_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.parquet");
        let mut t = TableWriter::create(&path, schema(), &test_meta()).unwrap();
        t.write(columns(0, 10)).unwrap();
        t.end_row_group().unwrap();
        t.write(columns(10, 5)).unwrap();
        t.commit().unwrap();
        assert_eq!(group_sizes(&path), vec![10, 5]);

        let empty = dir.path().join("empty.parquet");
        TableWriter::create(&empty, schema(), &test_meta())
            .unwrap()
            .commit()
            .unwrap();
        let file = std::fs::File::open(&empty).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), 0);
        assert_eq!(reader.schema().fields(), schema().fields());
    }
}
