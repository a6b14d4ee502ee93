//! Reading a dataset's tables back (parquet crate): the runs table with what the
//! analysis needs of each run, and typed column access with clear errors.

use super::AnalysisError;
use arrow::array::{
    Array, AsArray, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use arrow::compute::concat_batches;
use arrow::datatypes::{Float64Type, UInt32Type, UInt64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::{Path, PathBuf};

pub fn read_error(path: &Path, e: impl std::fmt::Display) -> AnalysisError {
    AnalysisError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

pub fn io_error(path: &Path, source: std::io::Error) -> AnalysisError {
    AnalysisError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The Parquet files of a table folder, by name (empty if the folder is missing).
pub fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io_error(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "parquet")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Every batch of one Parquet file.
pub fn read(path: &Path) -> Result<Vec<RecordBatch>, AnalysisError> {
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| read_error(path, e))?;
    reader.map(|b| b.map_err(|e| read_error(path, e))).collect()
}

/// A column of the expected type, or an error naming the file and column.
pub fn u32_column<'a>(
    b: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a UInt32Array, AnalysisError> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<UInt32Type>())
        .ok_or_else(|| read_error(path, format!("no UInt32 column '{name}'")))
}

pub fn u64_column<'a>(
    b: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a UInt64Array, AnalysisError> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<UInt64Type>())
        .ok_or_else(|| read_error(path, format!("no UInt64 column '{name}'")))
}

pub fn string_column<'a>(
    b: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a StringArray, AnalysisError> {
    b.column_by_name(name)
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| read_error(path, format!("no text column '{name}'")))
}

pub fn f64_column<'a>(
    b: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a Float64Array, AnalysisError> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<Float64Type>())
        .ok_or_else(|| read_error(path, format!("no Float64 column '{name}'")))
}

/// What the analysis needs of one run.
#[derive(Clone, Debug)]
pub struct RunInfo {
    pub run_id: u32,
    pub label: String,
    pub ok: bool,
    pub neurons: u32,
    pub window: (f64, f64),
    pub onset: f64,
}

/// The runs table: one batch with every column, and each run's essentials.
pub struct Runs {
    pub table: RecordBatch,
    infos: Vec<RunInfo>,
}

impl Runs {
    pub fn read(path: &Path) -> Result<Runs, AnalysisError> {
        let batches = read(path)?;
        let schema = batches
            .first()
            .map(|b| b.schema())
            .ok_or_else(|| read_error(path, "empty runs table"))?;
        let table = concat_batches(&schema, &batches).map_err(|e| read_error(path, e))?;
        let ids = u32_column(&table, "run_id", path)?;
        let labels = string_column(&table, "label", path)?;
        let status = string_column(&table, "status", path)?;
        let neurons = u64_column(&table, "neurons", path)?;
        let (w0, w1) = (
            f64_column(&table, "window_start_ms", path)?,
            f64_column(&table, "window_stop_ms", path)?,
        );
        let onset = f64_column(&table, "stimulus_onset_ms", path)?;
        let mut infos = Vec::with_capacity(table.num_rows());
        for k in 0..table.num_rows() {
            if ids.value(k) as usize != k {
                return Err(read_error(path, "runs are not in run_id order"));
            }
            infos.push(RunInfo {
                run_id: ids.value(k),
                label: labels.value(k).to_string(),
                ok: status.value(k) == "ok",
                neurons: u32::try_from(neurons.value(k)).unwrap_or(u32::MAX),
                window: (w0.value(k), w1.value(k)),
                onset: if onset.is_null(k) {
                    0.0
                } else {
                    onset.value(k)
                },
            });
        }
        Ok(Runs { table, infos })
    }

    pub fn get(&self, run_id: u32) -> Option<&RunInfo> {
        self.infos.get(run_id as usize)
    }

    pub fn iter(&self) -> impl Iterator<Item = &RunInfo> {
        self.infos.iter()
    }
}
