//! What `neurodyn check` compares of a dataset: each run's status and parameters, the
//! per-neuron summary statistics, the F-I curve and (from a results folder only) the
//! spike times. A snapshot is read from a finished results folder or from a golden
//! file, the same snapshot without spike times as JSON, small enough to commit.
//!
//! From a results folder the statistics and the F-I curve are recomputed from
//! spikes/: summary.parquet and fi_curve.parquet are only checked against the
//! recomputation (a stale one is refused), because a check that trusted them would
//! pass a dataset whose spikes changed after its analysis.

use super::Tolerances;
use crate::analysis::{self, fi, AnalysisError, SummaryRow};
use crate::store::layout::{self, is_fi_value, RUNS};
use crate::store::parquet::write_atomic;
use crate::store::reader::{self as table, Runs};
use crate::store::{ReadError, Reader};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, UInt32Type, UInt64Type};
use arrow::util::display::array_value_to_string;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Version of the golden file layout; a file of another version is refused.
pub const GOLDEN_FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{0}: no such file or folder")]
    Missing(PathBuf),

    #[error(transparent)]
    Read(#[from] AnalysisError),
    #[error("{path}: not a neurodyn golden file ({message})")]
    Golden { path: PathBuf, message: String },
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
    /// summary.parquet or fi_curve.parquet disagrees with what spikes/ gives now.
    #[error(
        "{path} is stale: {detail}; it was not computed from the spikes the dataset holds now"
    )]
    Stale {
        root: PathBuf,
        path: PathBuf,
        detail: String,
    },
}

impl From<ReadError> for SnapshotError {
    fn from(e: ReadError) -> Self {
        SnapshotError::Read(e.into())
    }
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
    /// In a golden file, the tolerances of the dataset it was written from, which a
    /// check against it uses; None in golden files written before they were recorded
    /// and in snapshots of results folders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerances: Option<Tolerances>,
    /// Runs by run key.
    pub runs: BTreeMap<String, RunSnap>,
    pub fi_curve: Vec<FiPoint>,
    /// Spike times by (run key, neuron); None for a golden file.
    #[serde(skip)]
    pub spikes: Option<HashMap<(String, u32), Vec<f64>>>,
    /// SHA-256 of the experiment file a results folder was run from.
    #[serde(skip)]
    pub config_sha256: Option<String>,
    /// The results folder; None for a golden file.
    #[serde(skip)]
    pub root: Option<PathBuf>,
    /// The results folder's trace part files (as its manifests name them), streamed
    /// when compared; empty when it records no traces and for a golden file.
    #[serde(skip)]
    pub trace_parts: Vec<PathBuf>,
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
        // A damaged dataset is refused before anything in it is trusted.
        let reader = Reader::open(root).map_err(AnalysisError::from)?;
        let runs = reader.runs();
        let mut snaps = run_snaps(runs, &reader.file(&RUNS.entry()))?;
        let key_of: HashMap<u32, String> =
            snaps.iter().map(|(k, r)| (r.run_id, k.clone())).collect();
        // The spike times are kept as the statistics are recomputed from them.
        let mut spikes: HashMap<(String, u32), Vec<f64>> = HashMap::new();
        let rows = analysis::summarize_keeping(&reader, |trains| {
            for ((run_id, neuron), times) in trains {
                if let Some(key) = key_of.get(&run_id) {
                    spikes
                        .entry((key.clone(), neuron))
                        .or_default()
                        .extend(times);
                }
            }
        })?;
        let neurons: Vec<(u32, NeuronSnap)> = rows.iter().map(neuron_of_row).collect();
        if reader.has(&layout::SUMMARY) {
            let summary = reader.file(&layout::SUMMARY.entry());
            let mut stored = Vec::new();
            for batch in reader.summary()? {
                stored.extend(neuron_snaps(&batch, &summary)?);
            }
            verify_summary(root, &summary, &stored, &neurons)?;
        }
        let fi_curve = fi_points_of(&fi::curves(runs, &rows)?)?;
        if reader.has(&layout::FI_CURVE) {
            let fi_path = reader.file(&layout::FI_CURVE.entry());
            let mut stored = Vec::new();
            for b in reader.fi_curve()? {
                batch_points(&b, &fi_path, &mut stored)?;
            }
            verify_fi(root, &fi_path, &stored, &fi_curve)?;
        }
        for (run_id, n) in neurons {
            if let Some(run) = key_of.get(&run_id).and_then(|k| snaps.get_mut(k)) {
                run.neurons.push(n);
            }
        }
        let meta = reader.meta();
        Ok(Snapshot {
            format: GOLDEN_FORMAT,
            experiment: meta.name.clone(),
            tolerances: None,
            runs: snaps,
            fi_curve,
            spikes: Some(spikes),
            config_sha256: Some(meta.config_sha256.clone()),
            root: Some(root.to_path_buf()),
            trace_parts: reader.parts(&layout::TRACES),
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
            "{{\n\"format\": {},\n\"experiment\": {},\n",
            self.format,
            json(&self.experiment)?
        );
        if let Some(t) = &self.tolerances {
            text.push_str(&format!("\"tolerances\": {},\n", json(t)?));
        }
        text.push_str("\"runs\": {");
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
    let keys = table::string_column(t, layout::RUN_KEY.name, path)?;
    let status = table::string_column(t, layout::STATUS.name, path)?;
    let params: Vec<(String, &dyn Array)> = t
        .schema()
        .fields()
        .iter()
        .filter(|f| !RUNS.has(f.name()))
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
    let ids = table::u32_column(b, layout::RUN_ID.name, path)?;
    let neurons = table::u32_column(b, layout::NEURON.name, path)?;
    let counts = table::u64_column(b, layout::N_SPIKES.name, path)?;
    let patterns = table::string_column(b, layout::PATTERN.name, path)?;
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

/// The F-I table computed in memory, typed as fi_curve.parquet holds it, so cells
/// print the same as the file's.
fn fi_points_of(table: &RecordBatch) -> Result<Vec<FiPoint>, SnapshotError> {
    let entry = layout::FI_CURVE.entry();
    let mut out = Vec::new();
    batch_points(table, Path::new(&entry), &mut out)?;
    Ok(out)
}

fn batch_points(b: &RecordBatch, path: &Path, out: &mut Vec<FiPoint>) -> Result<(), SnapshotError> {
    let schema = b.schema();
    for k in 0..b.num_rows() {
        let mut point = FiPoint {
            key: BTreeMap::new(),
            values: BTreeMap::new(),
        };
        for (f, a) in schema.fields().iter().zip(b.columns()) {
            let name = f.name().clone();
            // Group numbers follow run-key order, so they are not an identity.
            if name == layout::GROUP.name {
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
                let e = ReadError::format(path, format!("column '{name}' is not numeric"));
                return Err(e.into());
            };
            point.values.insert(name, value);
        }
        out.push(point);
    }
    Ok(())
}

/// The statistics columns of summary.parquet, as a neuron's snapshot names them.
fn neuron_of_row(r: &SummaryRow) -> (u32, NeuronSnap) {
    let s = &r.stats;
    let stats = layout::STATISTICS
        .iter()
        .zip(analysis::statistics(r))
        .map(|(c, v)| (c.name.to_string(), v))
        .collect();
    (
        r.run_id,
        NeuronSnap {
            neuron: r.neuron,
            n_spikes: s.n_spikes,
            pattern: s.pattern.name().to_string(),
            stats,
        },
    )
}

/// Equal up to the last bits: an aggregation may sum in another order, while a file
/// computed from other spikes differs by far more. The recomputed values are what is
/// compared either way.
fn same(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
        (None, None) => true,
        _ => false,
    }
}

fn show(x: Option<f64>) -> String {
    x.map_or_else(|| "null".to_string(), |v| format!("{v}"))
}

fn stale(root: &Path, path: &Path, detail: String) -> SnapshotError {
    SnapshotError::Stale {
        root: root.to_path_buf(),
        path: path.to_path_buf(),
        detail,
    }
}

/// The first disagreement of summary.parquet's rows with the recomputed ones.
fn verify_summary(
    root: &Path,
    path: &Path,
    stored: &[(u32, NeuronSnap)],
    fresh: &[(u32, NeuronSnap)],
) -> Result<(), SnapshotError> {
    let bad = |detail: String| Err(stale(root, path, detail));
    let by_id: HashMap<(u32, u32), &NeuronSnap> =
        stored.iter().map(|(r, n)| ((*r, n.neuron), n)).collect();
    for (run, f) in fresh {
        let at = format!("run {run} neuron {}", f.neuron);
        let Some(s) = by_id.get(&(*run, f.neuron)) else {
            return bad(format!("it has no row for {at}"));
        };
        if s.n_spikes != f.n_spikes {
            return bad(format!(
                "{at}: n_spikes {} there, {} from spikes/",
                s.n_spikes, f.n_spikes
            ));
        }
        if s.pattern != f.pattern {
            return bad(format!(
                "{at}: pattern {} there, {} from spikes/",
                s.pattern, f.pattern
            ));
        }
        for (name, v) in &f.stats {
            let there = s.stats.get(name).copied().flatten();
            if !same(there, *v) {
                return bad(format!(
                    "{at}: {name} {} there, {} from spikes/",
                    show(there),
                    show(*v)
                ));
            }
        }
    }
    if stored.len() != fresh.len() {
        return bad(format!(
            "{} rows where the successful runs have {} neurons",
            stored.len(),
            fresh.len()
        ));
    }
    Ok(())
}

/// The first disagreement of fi_curve.parquet's points with the recomputed ones.
fn verify_fi(
    root: &Path,
    path: &Path,
    stored: &[FiPoint],
    fresh: &[FiPoint],
) -> Result<(), SnapshotError> {
    let bad = |detail: String| Err(stale(root, path, detail));
    if stored.len() != fresh.len() {
        return bad(format!(
            "{} points where spikes/ gives {}",
            stored.len(),
            fresh.len()
        ));
    }
    for (k, (s, f)) in stored.iter().zip(fresh).enumerate() {
        if s.key != f.key {
            return bad(format!("point {} is of other parameters", k + 1));
        }
        for (name, v) in &f.values {
            let there = s.values.get(name).copied().flatten();
            if !same(there, *v) {
                return bad(format!(
                    "point {}: {name} {} there, {} from spikes/",
                    k + 1,
                    show(there),
                    show(*v)
                ));
            }
        }
    }
    Ok(())
}
