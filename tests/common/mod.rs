//! Helpers shared by the integration tests: running the real binary, and reading
//! dataset tables back with the parquet crate (no pyarrow) in a canonical order.
#![allow(dead_code)]

use arrow::array::{Array, AsArray, PrimitiveArray, RecordBatch};
use arrow::compute::{concat_batches, lexsort_to_indices, take_record_batch, SortColumn};
use arrow::datatypes::ArrowPrimitiveType;
use arrow::datatypes::{Float64Type, UInt32Type};
use neurodyn::engine::{simulate, MemorySink};
use neurodyn::experiment::{parse, plan::plan, spec::RunSpec};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

/// The single run of an experiment given as YAML text, planned.
pub fn spec(yaml: &str) -> RunSpec {
    let raw = parse(yaml).unwrap_or_else(|e| panic!("{e}"));
    let p = plan(&raw).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.len(), 1);
    p.spec(0).into_owned()
}

/// Simulate a run through the library, keeping its output in memory.
pub fn run(spec: &RunSpec) -> MemorySink {
    let mut sink = MemorySink::default();
    simulate(spec, &mut sink).unwrap_or_else(|e| panic!("{e}"));
    sink
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn neurodyn(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_neurodyn"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run neurodyn")
}

/// A sweep of five LIF runs of which one fails (tests/data/failing.yaml).
pub const FAILING: &str = include_str!("../data/failing.yaml");

/// Write `text` to `dir/name`; returns the path as a string, for arguments.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// Run neurodyn, assert it succeeded, return its standard output.
pub fn run_ok(dir: &Path, args: &[&str]) -> String {
    let o = neurodyn(dir, args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// neurodyn with `args` in `dir`, the scheduler's shard variables (SLURM's array task
/// variables, Kubernetes' completion index) set to exactly `vars`.
pub fn neurodyn_with_scheduler(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_neurodyn"));
    c.args(args).current_dir(dir);
    for v in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_COUNT",
        "SLURM_ARRAY_TASK_MIN",
        "JOB_COMPLETION_INDEX",
    ] {
        c.env_remove(v);
    }
    c.envs(vars.iter().copied()).output().expect("run neurodyn")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The Parquet files of a table: all parts of a folder (by name), or one file.
pub fn files(path: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = if path.is_dir() {
        std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .collect()
    } else {
        vec![path.to_path_buf()]
    };
    files.sort();
    files
}

/// Every row of a table, file by file.
pub fn read(path: &Path) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    for f in files(path) {
        let file = std::fs::File::open(&f).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        out.extend(reader.map(|b| b.unwrap()));
    }
    out
}

/// A typed column of a batch; panics with its name if absent or of another type.
pub fn col<'a, T: ArrowPrimitiveType>(b: &'a RecordBatch, name: &str) -> &'a PrimitiveArray<T> {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_primitive_opt::<T>()
        .unwrap_or_else(|| panic!("column {name} has another type"))
}

pub fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

pub fn u32s(batches: &[RecordBatch], col: &str) -> Vec<u32> {
    batches
        .iter()
        .flat_map(|b| {
            b.column_by_name(col)
                .unwrap()
                .as_primitive::<UInt32Type>()
                .values()
                .to_vec()
        })
        .collect()
}

pub fn f64s(batches: &[RecordBatch], col: &str) -> Vec<f64> {
    batches
        .iter()
        .flat_map(|b| {
            b.column_by_name(col)
                .unwrap()
                .as_primitive::<Float64Type>()
                .values()
                .to_vec()
        })
        .collect()
}

/// A table as one batch, rows sorted by (run_id, neuron, t_ms) where present, the
/// wall-time column (which measures, not computes) dropped, and without the file's
/// key-value metadata (it holds the hash of the experiment's text, which differs
/// between two texts of the same runs): equal contents compare equal however the
/// rows were split into part files.
pub fn canonical(path: &Path) -> RecordBatch {
    let batches = read(path);
    let schema = Arc::new(
        batches[0]
            .schema()
            .as_ref()
            .clone()
            .with_metadata(HashMap::new()),
    );
    let batches: Vec<RecordBatch> = batches
        .into_iter()
        .map(|b| b.with_schema(schema.clone()).unwrap())
        .collect();
    let all = concat_batches(&schema, &batches).unwrap();
    let keep: Vec<usize> = (0..all.num_columns())
        .filter(|&i| schema.field(i).name() != "wall_s")
        .collect();
    let all = all.project(&keep).unwrap();
    let keys: Vec<SortColumn> = ["run_id", "neuron", "t_ms"]
        .iter()
        .filter_map(|c| all.column_by_name(c))
        .map(|a| SortColumn {
            values: a.clone(),
            options: None,
        })
        .collect();
    let order = lexsort_to_indices(&keys, None).unwrap();
    assert_eq!(order.len(), all.num_rows());
    take_record_batch(&all, &order).unwrap()
}

/// Assert two datasets hold the same runs, spikes and traces.
pub fn assert_same_dataset(a: &Path, b: &Path) {
    for table in ["runs.parquet", "spikes", "traces"] {
        if a.join(table).exists() || b.join(table).exists() {
            let (x, y) = (canonical(&a.join(table)), canonical(&b.join(table)));
            assert_eq!(x.num_rows(), y.num_rows(), "{table}: row counts differ");
            assert!(
                x == y,
                "{table} differs between {} and {}",
                a.display(),
                b.display()
            );
        }
    }
    let null_count = |p: &Path| read(&p.join("runs.parquet"))[0].column(0).null_count();
    assert_eq!(null_count(a), 0);
}
