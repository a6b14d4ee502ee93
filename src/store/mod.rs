//! The output dataset (DESIGN §7): folder layout, creation rules (never overwrite
//! without --force), part files, runs table, provenance and the `_SUCCESS` marker
//! written last. Nothing here knows about YAML.

pub mod parquet;
pub mod parts;
pub mod provenance;
pub mod runs;

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
    #[error("{0} exists and is not a neurodyn dataset")]
    Foreign(PathBuf),
}

impl StoreError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Files and folders a dataset consists of; `--force` removes only these.
const DATASET_ENTRIES: &[&str] = &[
    "experiment.yaml",
    "provenance.json",
    "runs.parquet",
    "spikes",
    "traces",
    "summary.parquet",
    "fi_curve.parquet",
    "plots",
    "_SUCCESS",
];

/// A dataset folder being written.
pub struct Dataset {
    pub root: PathBuf,
}

impl Dataset {
    /// Prepare `root` for a new dataset. An existing dataset is replaced only with
    /// `force`; a non-empty folder that is not a dataset is never touched.
    pub fn create(root: &Path, force: bool) -> Result<Dataset, StoreError> {
        if root.exists() {
            let entries: Vec<String> = std::fs::read_dir(root)
                .map_err(|e| StoreError::io(root, e))?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            let ours = |n: &String| DATASET_ENTRIES.contains(&n.as_str()) || n.starts_with('.');
            if !entries.is_empty() {
                if !entries.iter().all(ours) {
                    return Err(StoreError::Foreign(root.to_path_buf()));
                }
                if !force {
                    return Err(StoreError::Exists(root.to_path_buf()));
                }
                for name in entries {
                    let p = root.join(&name);
                    let r = if p.is_dir() {
                        std::fs::remove_dir_all(&p)
                    } else {
                        std::fs::remove_file(&p)
                    };
                    r.map_err(|e| StoreError::io(&p, e))?;
                }
            }
        }
        for dir in [root.to_path_buf(), root.join("spikes"), root.join("traces")] {
            std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        }
        Ok(Dataset {
            root: root.to_path_buf(),
        })
    }

    pub fn part_path(&self, table: &str, index: usize) -> PathBuf {
        self.root
            .join(table)
            .join(format!("part-{index:05}.parquet"))
    }

    /// Mark the dataset complete; readers may trust it from here on.
    pub fn finish(&self) -> Result<(), StoreError> {
        parquet::write_atomic(&self.root.join("_SUCCESS"), b"")
    }
}
