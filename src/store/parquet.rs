//! Parquet writing shared by every table: writer settings chosen by measurement, and
//! files that become visible only when complete (written
//! under a dot-prefixed name, then renamed). Schemas come from `layout`.

use super::encode::Encoder;
use super::layout::{kv, FORMAT};
use super::{Meta, StoreError};
use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows per row group: about 1 Mi rows, large enough for fast scans in pandas,
/// polars and DuckDB, small enough to read a row group at a time.
pub const ROW_GROUP_ROWS: usize = 1 << 20;

/// ZSTD level 1 (level 3 gains ~1 % in size) and BYTE_STREAM_SPLIT on floats: 5.7
/// bytes/row at 2.1e7 rows/s against 8.6 and 1.1e7 with the defaults (measured on AdEx
/// traces when the writer was chosen). Dictionaries only on text columns; integers
/// plain: ids (run_id, neuron) come sorted in long runs that ZSTD packs as small as a
/// dictionary or delta encoding does, and on W2 (10⁸ trace rows, 575 MB either way)
/// dictionaries cost 14 % of the run's CPU time and delta encoding 10 %.
fn properties(schema: &Schema, meta: &Meta) -> Result<WriterProperties, StoreError> {
    let zstd = ZstdLevel::try_new(1).map_err(|e| StoreError::Parquet(e.to_string()))?;
    let mut b = WriterProperties::builder()
        .set_key_value_metadata(Some(
            key_values(meta)
                .into_iter()
                .map(|(k, v)| KeyValue::new(k.to_string(), v))
                .collect(),
        ))
        .set_compression(Compression::ZSTD(zstd))
        .set_dictionary_enabled(false)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("neurodyn {}", env!("CARGO_PKG_VERSION")));
    for f in schema.fields() {
        let path = ColumnPath::from(f.name().as_str());
        match f.data_type() {
            DataType::Float64 | DataType::Float32 => {
                b = b.set_column_encoding(path, Encoding::BYTE_STREAM_SPLIT)
            }
            DataType::Utf8 => b = b.set_column_dictionary_enabled(path, true),
            _ => {}
        }
    }
    Ok(b.build())
}

/// The key-value metadata of every table of the dataset `meta` describes: which
/// experiment (name and config hash), which neurodyn, which format.
fn key_values(meta: &Meta) -> [(&'static str, String); 4] {
    [
        (kv::EXPERIMENT, meta.name.clone()),
        (kv::CONFIG_SHA256, meta.config_sha256.clone()),
        (kv::VERSION, env!("CARGO_PKG_VERSION").to_string()),
        (kv::FORMAT, FORMAT.to_string()),
    ]
}

/// A Parquet file being written under a temporary name. Dropped without a successful
/// `commit` (an error anywhere, a panic, an early return), it removes the temporary
/// file, so failures leave no `.NAME.PID.tmp` behind.
pub struct TableWriter {
    /// None once `commit` has taken it.
    writer: Option<Encoder>,
    schema: SchemaRef,
    tmp: PathBuf,
    path: PathBuf,
}

/// The dot-prefixed name a file is written under before it is complete; unique per
/// process, so shards finishing together never write the same temporary file.
pub fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

impl TableWriter {
    /// A table of the dataset `meta` describes, which its key-value metadata names:
    /// in the footer (what DuckDB's `parquet_kv_metadata` and polars list) and in the
    /// Arrow schema stored there (what pyarrow and R's arrow give as the schema's
    /// metadata; they do not show the footer's other keys).
    pub fn create(path: &Path, schema: SchemaRef, meta: &Meta) -> Result<Self, StoreError> {
        let mut tagged = schema.metadata().clone();
        tagged.extend(key_values(meta).map(|(k, v)| (k.to_string(), v)));
        let schema = Arc::new(schema.as_ref().clone().with_metadata(tagged));
        let tmp = temp_name(path);
        let props = properties(&schema, meta)?;
        let file = File::create(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
        let mut table = TableWriter {
            writer: None,
            schema: schema.clone(),
            tmp,
            path: path.to_path_buf(),
        };
        // From here on an error drops `table`, which removes the file just created.
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|e| StoreError::Parquet(e.to_string()))?;
        table.writer = Some(Encoder::new(writer, schema)?);
        Ok(table)
    }

    pub fn write(&mut self, columns: Vec<ArrayRef>) -> Result<(), StoreError> {
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| StoreError::Parquet(e.to_string()))?;
        self.writer
            .as_mut()
            .ok_or_else(|| StoreError::Parquet("write after commit".into()))?
            .write(batch)
    }

    /// Close the row group being written: a table whose rows are wide (runs.parquet's
    /// keys and labels) holds a whole row group encoded in memory until it closes.
    pub fn end_row_group(&mut self) -> Result<(), StoreError> {
        self.writer
            .as_mut()
            .ok_or_else(|| StoreError::Parquet("write after commit".into()))?
            .end_row_group()
    }

    /// Finish the file and make it visible under its real name. On an error the
    /// temporary file is removed (by drop) and nothing appears under the real name.
    pub fn commit(mut self) -> Result<(), StoreError> {
        let writer = self
            .writer
            .take()
            .ok_or_else(|| StoreError::Parquet("commit after commit".into()))?;
        let file = writer.finish()?;
        file.sync_all().map_err(|e| StoreError::io(&self.tmp, e))?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path).map_err(|e| StoreError::io(&self.path, e))?;
        // Renamed: nothing left for drop to remove.
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Drop for TableWriter {
    fn drop(&mut self) {
        // Close the file before removing it.
        drop(self.writer.take());
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Write a whole file atomically; on an error the temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = temp_name(path);
    let written = std::fs::write(&tmp, bytes)
        .map_err(|e| StoreError::io(&tmp, e))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| StoreError::io(path, e)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The record of a dataset named "exp", for tests that write tables outside one.
#[cfg(test)]
pub(crate) fn test_meta() -> Meta {
    Meta {
        format: FORMAT,
        name: "exp".into(),
        config_sha256: "ab12".into(),
        runs: 1,
        created_utc: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::layout::{schema, RUN_ID};
    use arrow::array::UInt32Array;
    use std::sync::Arc;

    fn one_column() -> SchemaRef {
        schema(vec![RUN_ID.field()])
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn a_table_dropped_without_commit_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.parquet");
        let mut t = TableWriter::create(&path, one_column(), &test_meta()).unwrap();
        t.write(vec![Arc::new(UInt32Array::from(vec![1, 2]))])
            .unwrap();
        assert_eq!(
            leftovers(dir.path()).len(),
            1,
            "written under a temporary name"
        );
        drop(t);
        assert!(leftovers(dir.path()).is_empty());
        assert!(!path.exists());
    }

    #[test]
    fn a_failed_commit_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty folder where the file should go: the final rename fails.
        let path = dir.path().join("runs.parquet");
        std::fs::create_dir_all(path.join("x")).unwrap();
        let mut t = TableWriter::create(&path, one_column(), &test_meta()).unwrap();
        t.write(vec![Arc::new(UInt32Array::from(vec![1]))]).unwrap();
        assert!(matches!(t.commit(), Err(StoreError::Io { .. })));
        assert!(leftovers(dir.path()).is_empty());
        // A write of the wrong shape fails too; the writer still cleans up.
        let other = dir.path().join("other.parquet");
        let mut t = TableWriter::create(&other, one_column(), &test_meta()).unwrap();
        assert!(t.write(vec![]).is_err());
        drop(t);
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn every_table_says_what_wrote_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let mut t = TableWriter::create(&path, one_column(), &test_meta()).unwrap();
        t.write(vec![Arc::new(UInt32Array::from(vec![7]))]).unwrap();
        t.commit().unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
        let found: std::collections::HashMap<String, Option<String>> =
            parquet::file::reader::FileReader::metadata(&reader)
                .file_metadata()
                .key_value_metadata()
                .unwrap()
                .iter()
                .map(|k| (k.key.clone(), k.value.clone()))
                .collect();
        let get = |k: &str| found.get(k).cloned().flatten();
        assert_eq!(get(kv::EXPERIMENT).as_deref(), Some("exp"));
        assert_eq!(get(kv::CONFIG_SHA256).as_deref(), Some("ab12"));
        assert_eq!(get(kv::FORMAT), Some(FORMAT.to_string()));
        assert_eq!(get(kv::VERSION).as_deref(), Some(env!("CARGO_PKG_VERSION")));
    }

    #[test]
    fn a_committed_table_is_renamed_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let mut t = TableWriter::create(&path, one_column(), &test_meta()).unwrap();
        t.write(vec![Arc::new(UInt32Array::from(vec![7]))]).unwrap();
        t.commit().unwrap();
        assert!(path.is_file());
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_failed_atomic_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.html");
        std::fs::create_dir_all(path.join("x")).unwrap();
        assert!(write_atomic(&path, b"<html>").is_err());
        assert!(leftovers(dir.path()).is_empty());
        let ok = dir.path().join("ok.json");
        write_atomic(&ok, b"{}").unwrap();
        assert_eq!(std::fs::read(&ok).unwrap(), b"{}");
        assert!(leftovers(dir.path()).is_empty());
    }
}
