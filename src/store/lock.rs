//! One writer per dataset: advisory file locks held for as long as a process writes.
//!
//! A single-process run holds `.lock` exclusively. The shards of one sweep write side
//! by side, so each holds `.lock` shared and its own `.lock-sNNNN` exclusively: two
//! shards coexist, a second process for the same shard or an unsharded writer is
//! refused. The kernel drops these locks when the process ends, however it ends, so a
//! `kill -9` never leaves a dataset locked. They are advisory and, like every flock,
//! may not hold across machines on some network filesystems.

use super::StoreError;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The dataset-wide lock file.
const DATASET_LOCK: &str = ".lock";

/// Whether a hidden entry of a dataset folder is one of the lock files.
pub fn is_lock_file(name: &str) -> bool {
    name == DATASET_LOCK || name.starts_with(".lock-s")
}

/// Locks held by this process; released when dropped.
#[derive(Debug)]
pub struct WriterLock {
    _files: Vec<File>,
}

/// Which share of a dataset a writer writes: everything, or one shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Whole,
    Shard(u32),
}

fn open(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| StoreError::io(path, e))
}

/// The process id a lock holder wrote into its lock file, for the message.
fn holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

fn busy(root: &Path, path: &Path, file: &mut File, scope: Scope) -> StoreError {
    StoreError::Busy {
        path: root.to_path_buf(),
        what: match scope {
            Scope::Whole => "the dataset".into(),
            Scope::Shard(s) => format!("shard {s}"),
        },
        pid: holder(file),
        lock: path.to_path_buf(),
    }
}

fn try_lock(root: &Path, path: PathBuf, shared: bool, scope: Scope) -> Result<File, StoreError> {
    let mut file = open(&path)?;
    let r = if shared {
        file.try_lock_shared()
    } else {
        file.try_lock()
    };
    match r {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Err(busy(root, &path, &mut file, scope)),
        Err(TryLockError::Error(e)) => return Err(StoreError::io(&path, e)),
    }
    if !shared {
        // Best effort: the pid only improves the message another process prints.
        let _ = file.set_len(0);
        let _ = write!(file, "{}", std::process::id());
    }
    Ok(file)
}

/// Take the locks a writer of `scope` needs in the dataset folder `root` (which must
/// exist), or say who holds them.
pub fn acquire(root: &Path, scope: Scope) -> Result<WriterLock, StoreError> {
    let mut files = Vec::new();
    match scope {
        Scope::Whole => files.push(try_lock(root, root.join(DATASET_LOCK), false, scope)?),
        Scope::Shard(s) => {
            files.push(try_lock(root, root.join(DATASET_LOCK), true, Scope::Whole)?);
            files.push(try_lock(
                root,
                root.join(format!(".lock-s{s:04}")),
                false,
                scope,
            )?);
        }
    }
    Ok(WriterLock { _files: files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_whole_writer_or_many_distinct_shards() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let whole = acquire(root, Scope::Whole).unwrap();
        assert!(matches!(
            acquire(root, Scope::Whole),
            Err(StoreError::Busy { pid: Some(p), .. }) if p == std::process::id()
        ));
        assert!(matches!(
            acquire(root, Scope::Shard(0)),
            Err(StoreError::Busy { .. })
        ));
        drop(whole);
        let s0 = acquire(root, Scope::Shard(0)).unwrap();
        let s1 = acquire(root, Scope::Shard(1)).unwrap();
        assert!(matches!(
            acquire(root, Scope::Shard(1)),
            Err(StoreError::Busy { what, .. }) if what == "shard 1"
        ));
        assert!(matches!(
            acquire(root, Scope::Whole),
            Err(StoreError::Busy { .. })
        ));
        drop((s0, s1));
        acquire(root, Scope::Whole).unwrap();
    }
}
