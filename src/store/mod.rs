//! The output dataset and the protocol that keeps it consistent when runs are
//! interrupted, resumed, sharded across processes or replaced:
//!
//! - `_neurodyn.json` (written first) is the marker: a folder is a neurodyn dataset only
//!   if it holds one, and neurodyn deletes or rewrites nothing in a folder without it;
//! - a writer holds the dataset's advisory lock (`lock`) for as long as it writes;
//! - each batch of runs is written into `.staging/<batch>/`, then committed by writing
//!   `_manifest/<batch>.json` (the commit point, recording each part's size and row
//!   count) and renaming its part files into `spikes/` and `traces/`; a manifest whose
//!   parts are still staged is rolled forward on the next start, a staging folder
//!   without a manifest is discarded;
//! - when every run has a manifest, `runs.parquet`, `provenance.json` and `_SUCCESS`
//!   (last) are written;
//! - `--force` builds the new dataset in a hidden sibling folder and swaps it in only
//!   once it is complete, so a rerun that fails or is stopped leaves the old one whole;
//! - readers verify the dataset against its manifests first (`verify`).
//!
//! Nothing here knows about YAML.

pub(crate) mod encode;
pub mod layout;
pub(crate) mod lock;
pub(crate) mod neurons;
pub mod outcomes;
pub(crate) mod parquet;
pub(crate) mod parts;
pub(crate) mod provenance;
pub(crate) mod reader;
pub(crate) mod runs;
pub(crate) mod verify;

use lock::{Scope, WriterLock};
use parquet::write_atomic;
pub use reader::{ReadError, Reader};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use verify::Fix;

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
    #[error("{path} is not a neurodyn dataset (it holds {})", list(entries))]
    Foreign { path: PathBuf, entries: Vec<String> },
    #[error(
        "{path} holds files neurodyn did not write ({}), so --force will not replace it",
        list(entries)
    )]
    NotOnlyOurs { path: PathBuf, entries: Vec<String> },
    #[error("{path}: unreadable dataset record: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("{path}: {what} is being written by another neurodyn process{}", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Busy {
        path: PathBuf,
        what: String,
        pid: Option<u32>,
        lock: PathBuf,
    },
    #[error("{path} is damaged: {}", summary(problems))]
    Damaged {
        path: PathBuf,
        problems: Vec<String>,
    },
    #[error("{0} is not a finished neurodyn dataset (no _SUCCESS)")]
    NotComplete(PathBuf),
    #[error(
        "{path} holds a dataset of format {format}; this neurodyn ({}) reads and resumes format {} only",
        env!("CARGO_PKG_VERSION"),
        layout::FORMAT
    )]
    OtherFormat { path: PathBuf, format: u32 },
}

fn list(entries: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = entries
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if entries.len() > SHOWN {
        s.push_str(&format!(" and {} more", entries.len() - SHOWN));
    }
    s
}

fn summary(problems: &[String]) -> String {
    match problems {
        [] => "no details".into(),
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} (and {} more problems)", rest.len()),
    }
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
    /// The layout version (`layout::FORMAT` when this neurodyn wrote it).
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

/// One part file of a committed batch, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartRecord {
    pub table: String,
    pub bytes: u64,
    pub rows: u64,
}

/// A committed batch: its runs and the part files it wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub batch: String,
    pub shard: u32,
    pub shards: u32,
    pub parts: Vec<PartRecord>,
    pub runs: Vec<RunRecord>,
}

/// How to treat an existing dataset in the output folder.
#[derive(Debug, Clone, Copy)]
pub struct OpenMode {
    /// Replace an existing dataset (built beside it, swapped in when complete).
    pub force: bool,
    /// Continue an unfinished dataset of the same experiment (also a finished one:
    /// then there is nothing to do).
    pub resume: bool,
    /// Which share this process writes; shards of one sweep join one dataset.
    pub scope: Scope,
}

use layout::{MANIFESTS, META, STAGING, SUCCESS};

/// Hidden entries neurodyn itself makes in a dataset folder: locks, staging, and
/// files under their temporary names (`.NAME.PID.tmp`).
fn is_bookkeeping(name: &str) -> bool {
    lock::is_lock_file(name) || name == STAGING || (name.starts_with('.') && name.ends_with(".tmp"))
}

/// A dataset folder.
pub struct Dataset {
    pub root: PathBuf,
    pub meta: Meta,
    /// Held while this process writes; None for readers.
    lock: Option<WriterLock>,
    /// When this dataset is being built to replace another (`--force`).
    replaces: Option<Replace>,
    /// Whether this process created the folder and is its only writer (then an
    /// error may remove it).
    sole_creator: bool,
}

/// A dataset built beside `target`, swapped in when complete.
struct Replace {
    target: PathBuf,
    /// The old dataset's writer lock, held until the swap.
    _old: WriterLock,
}

fn entries(root: &Path) -> Result<Vec<String>, StoreError> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .map_err(|e| StoreError::io(root, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
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

/// What an output folder holds before a writer opens it.
enum Folder {
    /// Missing, empty, or holding only another writer's bookkeeping (shards creating
    /// one dataset at the same moment).
    Free,
    /// A dataset: its record, and what it holds that neurodyn did not write.
    Dataset { meta: Meta, extra: Vec<String> },
    /// Anything else: never written into, never deleted.
    Foreign(Vec<String>),
}

fn inspect(root: &Path) -> Result<Folder, StoreError> {
    if !root.exists() {
        return Ok(Folder::Free);
    }
    if !root.is_dir() {
        return Ok(Folder::Foreign(vec!["(it is a file)".into()]));
    }
    let names = entries(root)?;
    let others: Vec<String> = names
        .iter()
        .filter(|n| !is_bookkeeping(n))
        .cloned()
        .collect();
    if !names.iter().any(|n| n == META) {
        return Ok(if others.is_empty() {
            Folder::Free
        } else {
            Folder::Foreign(others)
        });
    }
    let meta = read_json(&root.join(META))?;
    let extra = others
        .into_iter()
        .filter(|n| !layout::entries().contains(n))
        .collect();
    Ok(Folder::Dataset { meta, extra })
}

/// Refuse a dataset of another layout version: its tables name and hold values
/// otherwise (frequencies in kHz and a numeric seed before format 3), so reading or
/// resuming it would mix two formats. `--force` still replaces it.
fn check_format(path: &Path, meta: &Meta) -> Result<(), StoreError> {
    if meta.format == layout::FORMAT {
        return Ok(());
    }
    Err(StoreError::OtherFormat {
        path: path.to_path_buf(),
        format: meta.format,
    })
}

/// The hidden sibling a replacement of `root` is built in.
fn sibling(root: &Path) -> Result<PathBuf, StoreError> {
    let name = root
        .file_name()
        .ok_or_else(|| StoreError::Foreign {
            path: root.to_path_buf(),
            entries: vec!["(no folder name)".into()],
        })?
        .to_string_lossy()
        .into_owned();
    Ok(root.with_file_name(format!(".{name}.neurodyn-new")))
}

/// `path` made absolute and free of `.`/`..`, so that `--out .` has a name and a
/// parent for the replacement to be built beside.
fn absolute(path: &Path) -> Result<PathBuf, StoreError> {
    let abs = std::path::absolute(path).map_err(|e| StoreError::io(path, e))?;
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

impl Dataset {
    /// Open `root` for writing the dataset `meta` describes: create it, join or resume
    /// it, replace it, or refuse, by the rules of `mode`. `experiment` is the file's
    /// text. The returned dataset holds the writer lock until dropped.
    pub fn open(
        root: &Path,
        meta: Meta,
        experiment: &str,
        mode: OpenMode,
    ) -> Result<Dataset, StoreError> {
        let shown = root.to_path_buf();
        let root = absolute(root)?;
        match inspect(&root)? {
            Folder::Free => Dataset::create(&root, &shown, meta, experiment, mode.scope, None),
            Folder::Foreign(entries) => Err(StoreError::Foreign {
                path: shown,
                entries,
            }),
            Folder::Dataset { meta: old, extra } => {
                let same = old.config_sha256 == meta.config_sha256;
                if mode.force {
                    if !extra.is_empty() {
                        return Err(StoreError::NotOnlyOurs {
                            path: shown,
                            entries: extra,
                        });
                    }
                    return Dataset::replace(&root, &shown, meta, experiment, mode.scope, false);
                }
                if mode.resume {
                    check_format(&shown, &old)?;
                    if same {
                        return Dataset::create(&root, &shown, meta, experiment, mode.scope, None);
                    }
                    // A --force that was stopped left its replacement half-built beside.
                    if let Ok(Folder::Dataset { meta: pending, .. }) = inspect(&sibling(&root)?) {
                        if pending.config_sha256 == meta.config_sha256 && extra.is_empty() {
                            return Dataset::replace(
                                &root, &shown, meta, experiment, mode.scope, true,
                            );
                        }
                    }
                    return Err(StoreError::Changed(shown));
                }
                if root.join(SUCCESS).exists() {
                    return Err(StoreError::Exists(shown));
                }
                let existing = Dataset {
                    root: root.clone(),
                    meta: old,
                    lock: None,
                    replaces: None,
                    sole_creator: false,
                };
                Err(StoreError::Unfinished {
                    path: shown,
                    committed: existing.outcomes().map(|o| o.committed()).unwrap_or(0),
                    total: meta.runs,
                })
            }
        }
    }

    /// Build a replacement of the dataset at `target` in its hidden sibling, holding
    /// the old dataset's lock so nobody writes it meanwhile. `resume` continues a
    /// replacement a stopped `--force` left; otherwise it starts afresh.
    fn replace(
        target: &Path,
        shown: &Path,
        meta: Meta,
        experiment: &str,
        scope: Scope,
        resume: bool,
    ) -> Result<Dataset, StoreError> {
        let old = lock::acquire(target, Scope::Whole)?;
        let new = sibling(target)?;
        match inspect(&new)? {
            Folder::Foreign(entries) => return Err(StoreError::Foreign { path: new, entries }),
            Folder::Dataset { .. } if !resume => {
                // Our own earlier, abandoned replacement; nobody may be writing it.
                let _busy = lock::acquire(&new, Scope::Whole)?;
                remove(&new)?;
            }
            _ => {}
        }
        let replaces = Replace {
            target: target.to_path_buf(),
            _old: old,
        };
        Dataset::create(&new, shown, meta, experiment, scope, Some(replaces))
    }

    /// Create or join the dataset at `root` (a free folder or one of the same
    /// experiment) and take its writer lock.
    fn create(
        root: &Path,
        shown: &Path,
        meta: Meta,
        experiment: &str,
        scope: Scope,
        replaces: Option<Replace>,
    ) -> Result<Dataset, StoreError> {
        let created = !root.exists();
        std::fs::create_dir_all(root).map_err(|e| StoreError::io(shown, e))?;
        let lock = match lock::acquire(root, scope) {
            Ok(l) => l,
            Err(e) => {
                if created {
                    let _ = remove(root);
                }
                return Err(e);
            }
        };
        // The record first: shards creating the dataset at the same moment then see
        // either only bookkeeping (and join) or the record. Both write the same record
        // when they run the same experiment; a different one is caught just below.
        let meta_path = root.join(META);
        if !meta_path.exists() {
            write_json(&meta_path, &meta)?;
        }
        let mut ds = Dataset::read(root)?;
        ds.lock = Some(lock);
        ds.replaces = replaces;
        // Shards share a folder: only a whole-dataset writer may remove it on error.
        ds.sole_creator = created && scope == Scope::Whole;
        if ds.meta.config_sha256 != meta.config_sha256 {
            return Err(StoreError::Changed(shown.to_path_buf()));
        }
        for dir in [root.join(MANIFESTS), root.join(STAGING)] {
            std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        }
        let exp = root.join(layout::EXPERIMENT);
        if !exp.exists() {
            write_atomic(&exp, experiment.as_bytes())?;
        }
        Ok(ds)
    }

    /// An existing dataset of this neurodyn's format, for reading its state.
    pub fn read(root: &Path) -> Result<Dataset, StoreError> {
        let meta = read_json(&root.join(META))?;
        check_format(root, &meta)?;
        Ok(Dataset {
            root: root.to_path_buf(),
            meta,
            lock: None,
            replaces: None,
            sole_creator: false,
        })
    }

    pub fn is_complete(&self) -> bool {
        self.root.join(SUCCESS).exists()
    }

    fn staging(&self, batch: &str) -> PathBuf {
        self.root.join(STAGING).join(batch)
    }

    fn manifest_path(&self, batch: &str) -> PathBuf {
        self.root.join(MANIFESTS).join(format!("{batch}.json"))
    }

    /// A fresh staging folder for a batch.
    pub fn stage(&self, batch: &str) -> Result<PathBuf, StoreError> {
        let dir = self.staging(batch);
        remove(&dir)?;
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        Ok(dir)
    }

    pub fn staged_part(&self, batch: &str, table: &str) -> PathBuf {
        self.staging(batch).join(layout::staged_file(table))
    }

    /// Where a committed batch's part of `table` lives.
    pub fn final_part(&self, batch: &str, table: &str) -> PathBuf {
        self.root.join(table).join(layout::part_file(batch))
    }

    /// Commit a staged batch: manifest first (the commit point), then its parts.
    pub fn commit(&self, manifest: &Manifest) -> Result<(), StoreError> {
        write_json(&self.manifest_path(&manifest.batch), manifest)?;
        self.publish(manifest)
    }

    /// Move a committed batch's staged parts into place (idempotent).
    fn publish(&self, manifest: &Manifest) -> Result<(), StoreError> {
        for part in &manifest.parts {
            let from = self.staged_part(&manifest.batch, &part.table);
            if from.exists() {
                let dir = self.root.join(&part.table);
                std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
                let to = self.final_part(&manifest.batch, &part.table);
                match std::fs::rename(&from, &to) {
                    Ok(()) => {}
                    // Another shard's `recover` published it between our check and
                    // the rename: the part is in place all the same.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && to.exists() => {}
                    Err(e) => return Err(StoreError::io(&to, e)),
                }
            }
        }
        remove(&self.staging(&manifest.batch))
    }

    /// Throw away a staged batch that will not be committed.
    pub fn discard(&self, batch: &str) -> Result<(), StoreError> {
        remove(&self.staging(batch))
    }

    /// Undo a committed batch: its manifest (first, so that its runs are missing
    /// rather than pointing at absent parts), then its part files.
    pub fn drop_batch(&self, batch: &str) -> Result<(), StoreError> {
        remove(&self.manifest_path(batch))?;
        for table in layout::part_tables() {
            remove(&self.final_part(batch, table.name))?;
        }
        remove(&self.staging(batch))
    }

    /// Finish what an interrupted process left: roll committed batches forward and
    /// drop uncommitted staging folders of `shard` (other shards may be running).
    pub fn recover(&self, shard: u32) -> Result<(), StoreError> {
        let staging = self.root.join(STAGING);
        let names = if staging.exists() {
            entries(&staging)?
        } else {
            Vec::new()
        };
        let mine = shard_prefix(shard);
        for batch in names {
            let manifest = self.manifest_path(&batch);
            if manifest.exists() {
                if let Ok(m) = read_json::<Manifest>(&manifest) {
                    self.publish(&m)?;
                }
            } else if batch.starts_with(&mine) {
                remove(&self.staging(&batch))?;
            }
        }
        Ok(())
    }

    /// Call `f` with each manifest file's batch name and the manifest parsed (or the
    /// reason it does not parse), one at a time in name order: a dataset of millions
    /// of runs has manifests too large to hold parsed all at once.
    pub(crate) fn each_manifest(
        &self,
        mut f: impl FnMut(String, Result<Manifest, String>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let dir = self.root.join(MANIFESTS);
        for batch in self.manifest_names()? {
            let m = read_json(&dir.join(format!("{batch}.json"))).map_err(|e| e.to_string());
            f(batch, m)?;
        }
        Ok(())
    }

    /// The batch names of the manifest files, in name order (none without the folder).
    fn manifest_names(&self) -> Result<Vec<String>, StoreError> {
        let dir = self.root.join(MANIFESTS);
        if !dir.exists() {
            return Ok(Vec::new());
        }
        Ok(entries(&dir)?
            .into_iter()
            .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
            .map(|n| n.trim_end_matches(".json").to_string())
            .collect())
    }

    /// How every committed run ended, read one manifest at a time. A manifest that
    /// does not parse is an error.
    pub fn outcomes(&self) -> Result<outcomes::Outcomes, StoreError> {
        let mut out = outcomes::Outcomes::new(self.meta.runs);
        let dir = self.root.join(MANIFESTS);
        self.each_manifest(|batch, m| {
            let m = m.map_err(|message| StoreError::Corrupt {
                path: dir.join(format!("{batch}.json")),
                message,
            })?;
            out.add_batch(m);
            Ok(())
        })?;
        Ok(out)
    }

    /// Repair what `verify` finds in the batches of `shard` (or every batch when
    /// `shard` is None): drop damaged batches so that their runs run again, remove
    /// part files no manifest names, and unmark a complete dataset so that its tables
    /// are rewritten. Returns the problems it could not repair.
    pub fn repair(&self, shard: Option<u32>) -> Result<Vec<verify::Problem>, StoreError> {
        let problems = self.verify()?;
        if problems.is_empty() {
            return Ok(problems);
        }
        let mine = |batch: &str| shard.is_none_or(|s| batch.starts_with(&shard_prefix(s)));
        let mut left = Vec::new();
        let mut dropped = std::collections::BTreeSet::new();
        for p in problems {
            match &p.fix {
                Fix::Rerun(b) if mine(b) => {
                    if dropped.insert(b.clone()) {
                        self.drop_batch(b)?;
                    }
                }
                Fix::Remove(file) => remove(file)?,
                Fix::Refinish => {}
                Fix::Rerun(_) | Fix::Manual => left.push(p),
            }
        }
        // Whatever was dropped or found wrong globally, the finished tables no longer
        // describe the dataset: the end of the run writes them again.
        remove(&self.root.join(SUCCESS))?;
        for table in layout::file_tables() {
            remove(&self.root.join(table.entry()))?;
        }
        Ok(left)
    }

    /// Mark the dataset complete; readers may trust it from here on. A replacement
    /// is swapped into place now, and the dataset it replaces removed.
    pub fn finish(&mut self) -> Result<(), StoreError> {
        remove(&self.root.join(STAGING))?;
        write_atomic(&self.root.join(SUCCESS), b"")?;
        if let Some(r) = self.replaces.take() {
            swap(&self.root, &r.target)?;
            // The old dataset now sits where the replacement was built.
            remove(&self.root)?;
            self.root = r.target.clone();
        }
        Ok(())
    }

    /// Leave no trace of a write that failed: an empty staging folder goes, and a
    /// folder this process created (or a replacement it was building) goes whole while
    /// nothing in it is committed.
    pub fn abandon(self) {
        let committed = self.manifest_names().map(|m| !m.is_empty()).unwrap_or(true);
        if !committed && (self.sole_creator || self.replaces.is_some()) {
            let _ = remove(&self.root);
        } else {
            let _ = std::fs::remove_dir(self.root.join(STAGING));
        }
    }
}

/// Put the folder `new` in the place of `old`, leaving `old`'s content at `new`. One
/// atomic exchange where the filesystem supports it, so that no moment (and no kill)
/// leaves `old`'s path empty; otherwise two renames.
fn swap(new: &Path, old: &Path) -> Result<(), StoreError> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes());
        if let (Ok(a), Ok(b)) = (c(new), c(old)) {
            // SAFETY: both are valid NUL-terminated paths that live across the call.
            let r = unsafe {
                libc::renameat2(
                    libc::AT_FDCWD,
                    a.as_ptr(),
                    libc::AT_FDCWD,
                    b.as_ptr(),
                    libc::RENAME_EXCHANGE,
                )
            };
            if r == 0 {
                return Ok(());
            }
        }
    }
    let parked = new.with_extension("neurodyn-old");
    remove(&parked)?;
    std::fs::rename(old, &parked).map_err(|e| StoreError::io(old, e))?;
    std::fs::rename(new, old).map_err(|e| StoreError::io(old, e))?;
    std::fs::rename(&parked, new).map_err(|e| StoreError::io(new, e))
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
