//! What `neurodyn check` compares of a dataset: each run's status and parameters, the
//! per-neuron summary statistics, the F-I curve and (from a results folder only) the
//! spike times. A snapshot is read from a finished results folder or from a golden
//! file, the same snapshot without spike times as JSON, small enough to commit.

use crate::analysis::table::{self, Runs};
use crate::analysis::AnalysisError;
use crate::store::{parquet::write_atomic, Dataset};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, UInt32Type, UInt64Type};
use arrow::util::display::array_value_to_string;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Version of the golden file layout; a file of another version is refused.
pub const GOLDEN_FORMAT: u32 = 1;

/// Columns of runs.parquet that are not parameters: identity, outcome and timing.
const NOT_PARAMS: &[&str] = &[
    "run_id", "run_key", "label", "seed", "status", "error", "n_spikes", "wall_s",
];

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{0}: no such file or folder")]
    Missing(PathBuf),
    #[error("{0} has no summary.parquet (it was run with --no-analyze)")]
    NotAnalyzed(PathBuf),
    #[error(transparent)]
    Read(#[from] AnalysisError),
    #[error("{path}: not a neurodyn golden file ({message})")]
    Golden { path: PathBuf, message: String },
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
}

/// One neuron of one run: its spike count, firing pattern and the numeric columns of
/// summary.parquet (null where the train is too short for the statistic).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NeuronSnap {
    pub neuron: u32,
    pub n_spikes: u64,
    pub pattern: String,
    pub stats: BTreeMap<String, Option<f64>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSnap {
    pub run_id: u32,
    pub label: String,
    pub status: String,
    /// Every parameter column of runs.parquet as text: pairs up runs whose key changed
    /// and names what changed.
    pub params: BTreeMap<String, String>,
    pub neurons: Vec<NeuronSnap>,
}

/// One row of fi_curve.parquet: the columns that identify it, and its values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FiPoint {
    pub key: BTreeMap<String, String>,
    pub values: BTreeMap<String, Option<f64>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub format: u32,
    pub experiment: String,
    /// Runs by run key.
    pub runs: BTreeMap<String, RunSnap>,
    pub fi_curve: Vec<FiPoint>,
    /// Spike times by (run key, neuron); None for a golden file.
    #[serde(skip)]
    pub spikes: Option<HashMap<(String, u32), Vec<f64>>>,
}

impl Snapshot {
    /// A results folder or a golden file, whichever `path` is.
    pub fn read(path: &Path) -> Result<Snapshot, SnapshotError> {
        if !path.exists() {
            return Err(SnapshotError::Missing(path.to_path_buf()));
        }
        if path.is_dir() {
            Snapshot::from_dataset(path)
        } else {
            Snapshot::from_golden(path)
        }
    }

    pub fn from_dataset(root: &Path) -> Result<Snapshot, SnapshotError> {
        if !root.join("_SUCCESS").exists() {
            return Err(AnalysisError::Unfinished(root.to_path_buf()).into());
        }
        let summary = root.join("summary.parquet");
        if !summary.exists() {
            return Err(SnapshotError::NotAnalyzed(root.to_path_buf()));
        }
        let experiment = Dataset::read(root)
            .map(|d| d.meta.name)
            .map_err(AnalysisError::from)?;
        let runs = Runs::read(&root.join("runs.parquet"))?;
        let mut snaps = run_snaps(&runs, &root.join("runs.parquet"))?;
        let key_of: HashMap<u32, String> =
            snaps.iter().map(|(k, r)| (r.run_id, k.clone())).collect();
        for batch in table::read(&summary)? {
            for (run_id, n) in neuron_snaps(&batch, &summary)? {
                if let Some(run) = key_of.get(&run_id).and_then(|k| snaps.get_mut(k)) {
                    run.neurons.push(n);
                }
            }
        }
        let mut spikes: HashMap<(String, u32), Vec<f64>> = HashMap::new();
        for file in table::parquet_files(&root.join("spikes"))? {
            for b in table::read(&file)? {
                let id = table::u32_column(&b, "run_id", &file)?;
                let neuron = table::u32_column(&b, "neuron", &file)?;
                let t = table::f64_column(&b, "t_ms", &file)?;
                for k in 0..b.num_rows() {
                    if let Some(key) = key_of.get(&id.value(k)) {
                        spikes
                            .entry((key.clone(), neuron.value(k)))
                            .or_default()
                            .push(t.value(k));
                    }
                }
            }
        }
        let fi_path = root.join("fi_curve.parquet");
        let fi_curve = if fi_path.exists() {
            fi_points(&fi_path)?
        } else {
            Vec::new()
        };
        Ok(Snapshot {
            format: GOLDEN_FORMAT,
            experiment,
            runs: snaps,
            fi_curve,
            spikes: Some(spikes),
        })
    }

    pub fn from_golden(path: &Path) -> Result<Snapshot, SnapshotError> {
        let bad = |message: String| SnapshotError::Golden {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let snap: Snapshot = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if snap.format != GOLDEN_FORMAT {
            return Err(bad(format!(
                "format {} where this version reads {GOLDEN_FORMAT}",
                snap.format
            )));
        }
        Ok(snap)
    }

    /// Write the golden file (everything but spike times), atomically: one run or F-I
    /// point per line, so a change of results reads as a short diff.
    pub fn write_golden(&self, path: &Path) -> Result<(), SnapshotError> {
        let fail = |e: &dyn std::fmt::Display| SnapshotError::Write {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let json = |v: &dyn erased::Json| v.compact().map_err(|e| fail(&e));
        let mut text = format!(
            "{{\n\"format\": {},\n\"experiment\": {},\n\"runs\": {{",
            self.format,
            json(&self.experiment)?
        );
        for (k, (key, run)) in self.runs.iter().enumerate() {
            let sep = if k == 0 { "" } else { "," };
            text.push_str(&format!("{sep}\n{}: {}", json(key)?, json(run)?));
        }
        text.push_str("\n},\n\"fi_curve\": [");
        for (k, p) in self.fi_curve.iter().enumerate() {
            let sep = if k == 0 { "" } else { "," };
            text.push_str(&format!("{sep}\n{}", json(p)?));
        }
        text.push_str("\n]\n}\n");
        write_atomic(path, text.as_bytes()).map_err(|e| fail(&e))
    }
}

/// Compact JSON of any serializable value, behind one object-safe trait.
mod erased {
    pub trait Json {
        fn compact(&self) -> serde_json::Result<String>;
    }
    impl<T: serde::Serialize> Json for T {
        fn compact(&self) -> serde_json::Result<String> {
            serde_json::to_string(self)
        }
    }
}

/// Text of one cell, "null" for a null.
fn cell(a: &dyn Array, k: usize) -> String {
    if a.is_null(k) {
        "null".into()
    } else {
        array_value_to_string(a, k).unwrap_or_default()
    }
}

fn run_snaps(runs: &Runs, path: &Path) -> Result<BTreeMap<String, RunSnap>, SnapshotError> {
    let t = &runs.table;
    let keys = table::string_column(t, "run_key", path)?;
    let status = table::string_column(t, "status", path)?;
    let params: Vec<(String, &dyn Array)> = t
        .schema()
        .fields()
        .iter()
        .filter(|f| !NOT_PARAMS.contains(&f.name().as_str()))
        .filter_map(|f| Some((f.name().clone(), t.column_by_name(f.name())?.as_ref())))
        .collect();
    let mut out = BTreeMap::new();
    for (k, info) in runs.iter().enumerate() {
        out.insert(
            keys.value(k).to_string(),
            RunSnap {
                run_id: info.run_id,
                label: info.label.clone(),
                status: status.value(k).to_string(),
                params: params
                    .iter()
                    .map(|(name, a)| (name.clone(), cell(*a, k)))
                    .collect(),
                neurons: Vec::new(),
            },
        );
    }
    Ok(out)
}

fn neuron_snaps(b: &RecordBatch, path: &Path) -> Result<Vec<(u32, NeuronSnap)>, SnapshotError> {
    let ids = table::u32_column(b, "run_id", path)?;
    let neurons = table::u32_column(b, "neuron", path)?;
    let counts = table::u64_column(b, "n_spikes", path)?;
    let patterns = table::string_column(b, "pattern", path)?;
    let floats: Vec<(&str, &arrow::array::Float64Array)> = b
        .schema_ref()
        .fields()
        .iter()
        .filter(|f| f.data_type() == &DataType::Float64)
        .filter_map(|f| {
            let a = b
                .column_by_name(f.name())?
                .as_primitive_opt::<Float64Type>()?;
            Some((f.name().as_str(), a))
        })
        .collect();
    Ok((0..b.num_rows())
        .map(|k| {
            let stats = floats
                .iter()
                .map(|(name, a)| (name.to_string(), (!a.is_null(k)).then(|| a.value(k))))
                .collect();
            (
                ids.value(k),
                NeuronSnap {
                    neuron: neurons.value(k),
                    n_spikes: counts.value(k),
                    pattern: patterns.value(k).to_string(),
                    stats,
                },
            )
        })
        .collect())
}

/// Whether a column of fi_curve.parquet is a result rather than part of a row's
/// identity.
fn is_fi_value(name: &str) -> bool {
    name.ends_with("_mean")
        || name.ends_with("_sd")
        || name.ends_with("_count")
        || name == "rheobase_pA"
}

fn fi_points(path: &Path) -> Result<Vec<FiPoint>, SnapshotError> {
    let mut out = Vec::new();
    for b in table::read(path)? {
        let schema = b.schema();
        for k in 0..b.num_rows() {
            let mut point = FiPoint {
                key: BTreeMap::new(),
                values: BTreeMap::new(),
            };
            for (f, a) in schema.fields().iter().zip(b.columns()) {
                let name = f.name().clone();
                // Group numbers follow run-key order, so they are not an identity.
                if name == "group" {
                    continue;
                }
                if !is_fi_value(&name) {
                    point.key.insert(name, cell(a.as_ref(), k));
                    continue;
                }
                let value = if a.is_null(k) {
                    None
                } else if let Some(x) = a.as_primitive_opt::<Float64Type>() {
                    Some(x.value(k))
                } else if let Some(x) = a.as_primitive_opt::<UInt64Type>() {
                    Some(x.value(k) as f64)
                } else if let Some(x) = a.as_primitive_opt::<UInt32Type>() {
                    Some(f64::from(x.value(k)))
                } else {
                    let e = table::read_error(path, format!("column '{name}' is not numeric"));
                    return Err(e.into());
                };
                point.values.insert(name, value);
            }
            out.push(point);
        }
    }
    Ok(out)
}
