//! The output dataset (DESIGN §7) and the protocol that keeps it consistent when runs
//! are interrupted, resumed or sharded across processes:
//!
//! - `_neurodyn.json` (written first) names the experiment and its config hash;
//! - each batch of runs is written into `.staging/<batch>/`, then committed by writing
//!   `_manifest/<batch>.json` (the commit point) and renaming its part files into
//!   `spikes/` and `traces/`; a manifest whose parts are still staged is rolled
//!   forward on the next start, a staging folder without a manifest is discarded;
//! - when every run has a manifest, `runs.parquet`, `provenance.json` and `_SUCCESS`
//!   (last) are written.
//!
//! Nothing here knows about YAML.

pub mod parquet;
pub mod parts;
pub mod provenance;
pub mod runs;

use parquet::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing Parquet: {0}")]
    Parquet(String),
    #[error("{0} already holds a dataset")]
    Exists(PathBuf),
    #[error("{path} holds an unfinished dataset ({committed} of {total} runs committed)")]
    Unfinished {
        path: PathBuf,
        committed: usize,
        total: usize,
    },
    #[error("{0} holds a dataset of a different experiment (its config hash differs)")]
    Changed(PathBuf),
    #[error("{0} exists and is not a neurodyn dataset")]
    Foreign(PathBuf),
    #[error("{path}: unreadable dataset record: {message}")]
    Corrupt { path: PathBuf, message: String },
}

impl StoreError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What a dataset is of; written when the dataset is created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub format: u32,
    pub name: String,
    /// SHA-256 of the experiment file's text.
    pub config_sha256: String,
    pub runs: usize,
    pub created_utc: String,
}

/// How one run ended, as recorded in its batch's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: u32,
    pub run_key: String,
    pub ok: bool,
    pub error: Option<String>,
    pub n_spikes: u64,
    pub wall_s: f64,
}

/// A committed batch: its runs and the tables it wrote a part file to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub batch: String,
    pub shard: u32,
    pub shards: u32,
    pub tables: Vec<String>,
    pub runs: Vec<RunRecord>,
}

/// How to treat an existing dataset in the output folder.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenMode {
    /// Replace an existing dataset.
    pub force: bool,
    /// Continue an unfinished dataset of the same experiment (also a finished one:
    /// then there is nothing to do).
    pub resume: bool,
}

/// Files and folders a dataset consists of; `--force` removes only these.
const DATASET_ENTRIES: &[&str] = &[
    "_neurodyn.json",
    "experiment.yaml",
    "provenance.json",
    "runs.parquet",
    "spikes",
    "traces",
    "summary.parquet",
    "fi_curve.parquet",
    "plots",
    "report",
    "_manifest",
    "_SUCCESS",
];

const META: &str = "_neurodyn.json";

/// A dataset folder.
pub struct Dataset {
    pub root: PathBuf,
    pub meta: Meta,
}

fn entries(root: &Path) -> Result<Vec<String>, StoreError> {
    Ok(std::fs::read_dir(root)
        .map_err(|e| StoreError::io(root, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect())
}

fn remove(p: &Path) -> Result<(), StoreError> {
    let r = if p.is_dir() {
        std::fs::remove_dir_all(p)
    } else {
        std::fs::remove_file(p)
    };
    match r {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::io(p, e)),
        _ => Ok(()),
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, StoreError> {
    let text = std::fs::read_to_string(path).map_err(|e| StoreError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), StoreError> {
    let text = serde_json::to_vec_pretty(value).map_err(|e| StoreError::Corrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    write_atomic(path, &text)
}

impl Dataset {
    /// Open `root` for writing the dataset `meta` describes: create it, join or resume
    /// it, or refuse, by the rules of `mode`. `experiment` is the file's text.
    pub fn open(
        root: &Path,
        meta: Meta,
        experiment: &str,
        mode: OpenMode,
    ) -> Result<Dataset, StoreError> {
        if root.exists() {
            let names = entries(root)?;
            let ours = |n: &String| DATASET_ENTRIES.contains(&n.as_str()) || n.starts_with('.');
            if !names.iter().all(ours) {
                return Err(StoreError::Foreign(root.to_path_buf()));
            }
            if !names.is_empty() {
                let existing = Dataset::read(root).ok();
                let same = existing
                    .as_ref()
                    .is_some_and(|d| d.meta.config_sha256 == meta.config_sha256);
                let done = root.join("_SUCCESS").exists();
                if mode.force {
                    for name in names {
                        remove(&root.join(name))?;
                    }
                } else if !same && existing.is_some() && mode.resume {
                    return Err(StoreError::Changed(root.to_path_buf()));
                } else if done && !mode.resume {
                    return Err(StoreError::Exists(root.to_path_buf()));
                } else if !mode.resume {
                    let committed = existing
                        .map(|d| d.records().map(|r| r.len()).unwrap_or(0))
                        .unwrap_or(0);
                    return Err(StoreError::Unfinished {
                        path: root.to_path_buf(),
                        committed,
                        total: meta.runs,
                    });
                } else if existing.is_none() && names.iter().any(|n| !n.starts_with('.')) {
                    // Files of ours but no record of what they are: do not guess.
                    return Err(StoreError::Changed(root.to_path_buf()));
                }
            }
        }
        // The record first: shards creating the dataset at the same moment then see
        // either only hidden temporary files (and join) or the record.
        std::fs::create_dir_all(root).map_err(|e| StoreError::io(root, e))?;
        let meta_path = root.join(META);
        if !meta_path.exists() {
            write_json(&meta_path, &meta)?;
        }
        for dir in [root.join("_manifest"), root.join(".staging")] {
            std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        }
        let exp = root.join("experiment.yaml");
        if !exp.exists() {
            write_atomic(&exp, experiment.as_bytes())?;
        }
        Dataset::read(root)
    }

    /// An existing dataset, for reading its state.
    pub fn read(root: &Path) -> Result<Dataset, StoreError> {
        let meta = read_json(&root.join(META))?;
        Ok(Dataset {
            root: root.to_path_buf(),
            meta,
        })
    }

    pub fn is_complete(&self) -> bool {
        self.root.join("_SUCCESS").exists()
    }

    fn staging(&self, batch: &str) -> PathBuf {
        self.root.join(".staging").join(batch)
    }

    fn manifest_path(&self, batch: &str) -> PathBuf {
        self.root.join("_manifest").join(format!("{batch}.json"))
    }

    /// A fresh staging folder for a batch; returns the path of its part for `table`.
    pub fn stage(&self, batch: &str) -> Result<PathBuf, StoreError> {
        let dir = self.staging(batch);
        remove(&dir)?;
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        Ok(dir)
    }

    pub fn staged_part(&self, batch: &str, table: &str) -> PathBuf {
        self.staging(batch).join(format!("{table}.parquet"))
    }

    fn final_part(&self, batch: &str, table: &str) -> PathBuf {
        self.root.join(table).join(format!("part-{batch}.parquet"))
    }

    /// Commit a staged batch: manifest first (the commit point), then its parts.
    pub fn commit(&self, manifest: &Manifest) -> Result<(), StoreError> {
        write_json(&self.manifest_path(&manifest.batch), manifest)?;
        self.publish(manifest)
    }

    /// Move a committed batch's staged parts into place (idempotent).
    fn publish(&self, manifest: &Manifest) -> Result<(), StoreError> {
        for table in &manifest.tables {
            let from = self.staged_part(&manifest.batch, table);
            if from.exists() {
                let dir = self.root.join(table);
                std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
                let to = self.final_part(&manifest.batch, table);
                std::fs::rename(&from, &to).map_err(|e| StoreError::io(&to, e))?;
            }
        }
        remove(&self.staging(&manifest.batch))
    }

    /// Throw away a staged batch that will not be committed.
    pub fn discard(&self, batch: &str) -> Result<(), StoreError> {
        remove(&self.staging(batch))
    }

    /// Finish what an interrupted process left: roll committed batches forward and
    /// drop uncommitted staging folders of `shard` (other shards may be running).
    pub fn recover(&self, shard: u32) -> Result<(), StoreError> {
        let staging = self.root.join(".staging");
        let names = if staging.exists() {
            entries(&staging)?
        } else {
            Vec::new()
        };
        let mine = shard_prefix(shard);
        for batch in names {
            let manifest = self.manifest_path(&batch);
            if manifest.exists() {
                self.publish(&read_json(&manifest)?)?;
            } else if batch.starts_with(&mine) {
                remove(&self.staging(&batch))?;
            }
        }
        Ok(())
    }

    /// Every committed batch.
    pub fn manifests(&self) -> Result<Vec<Manifest>, StoreError> {
        let dir = self.root.join("_manifest");
        if !dir.exists() {
            return Ok(Vec::new());
        }
        let mut names: Vec<String> = entries(&dir)?
            .into_iter()
            .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
            .collect();
        names.sort();
        names.iter().map(|n| read_json(&dir.join(n))).collect()
    }

    /// Every committed run's record.
    pub fn records(&self) -> Result<Vec<RunRecord>, StoreError> {
        Ok(self.manifests()?.into_iter().flat_map(|m| m.runs).collect())
    }

    /// Mark the dataset complete; readers may trust it from here on.
    pub fn finish(&self) -> Result<(), StoreError> {
        remove(&self.root.join(".staging"))?;
        write_atomic(&self.root.join("_SUCCESS"), b"")
    }
}

/// Batch names start with their shard, so a shard recovers only its own batches.
pub fn shard_prefix(shard: u32) -> String {
    format!("s{shard:04}-")
}

/// The name of a batch: its shard and its first and last run ids. Unique, because a
/// batch holds only runs without a manifest.
pub fn batch_name(shard: u32, first: u32, last: u32) -> String {
    format!("{}{first:08}-{last:08}", shard_prefix(shard))
}
