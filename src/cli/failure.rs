//! How errors reach the user: every library error becomes a [`Failure`] here, with its
//! message, the hints that get past it and its exit code, and [`exit_code`] prints it.
//! Commands that finish but did not fully succeed (a failed run, a dataset with
//! missing runs, a check with differences) return exit code 1 themselves.

use crate::analysis::AnalysisError;
use crate::check::snapshot::SnapshotError;
use crate::error::InputError;
use crate::runner::RunError;
use crate::store::StoreError;
use std::path::Path;

/// An error on its way to the user, with its exit code.
pub struct Failure {
    code: u8,
    message: String,
    /// The source line under an input error, with a caret under the value.
    snippet: Option<String>,
    hints: Vec<String>,
}

impl Failure {
    /// Bad usage, bad input or an environment the command cannot work in (exit 2).
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Failure {
        Failure::with_hints(message, vec![hint.into()])
    }

    /// As [`Failure::usage`], with several hints or none.
    pub fn with_hints(message: impl Into<String>, hints: Vec<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
            snippet: None,
            hints,
        }
    }
}

impl Failure {
    /// What the command line prints after `error: `.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What it prints between the error and the hints: the offending line of the
    /// input file with a caret under the value, when there is one.
    pub fn snippet(&self) -> Option<&str> {
        self.snippet.as_deref()
    }

    /// What it prints after `hint: `, one line each.
    pub fn hints(&self) -> &[String] {
        &self.hints
    }

    /// The exit code the command line returns.
    pub fn code(&self) -> u8 {
        self.code
    }
}

/// The exit code of a command's outcome; a failure is printed first.
pub fn exit_code(outcome: Result<u8, Failure>) -> u8 {
    match outcome {
        Ok(code) => code,
        Err(f) => {
            eprintln!("error: {}", f.message);
            if let Some(s) = &f.snippet {
                eprintln!("{s}");
            }
            for h in &f.hints {
                eprintln!("hint: {h}");
            }
            f.code
        }
    }
}

/// Print a problem that does not stop the command, with its hints.
pub fn print_warning(w: &InputError) {
    eprintln!("warning: {w}");
    if let Some(s) = snippet_of(w) {
        eprintln!("{s}");
    }
    for h in &w.hints {
        eprintln!("hint: {h}");
    }
}

/// The snippet of an input error that names a place in a file.
fn snippet_of(e: &InputError) -> Option<String> {
    super::snippet::render(e.file.as_deref()?, e.location?)
}

impl From<InputError> for Failure {
    fn from(e: InputError) -> Self {
        Failure {
            code: 2,
            message: e.to_string(),
            snippet: snippet_of(&e),
            hints: e.hints,
        }
    }
}

impl From<RunError> for Failure {
    fn from(e: RunError) -> Self {
        match e {
            RunError::Store(e) => Failure::from(e),
            RunError::Analysis(e) => Failure::from(e),
        }
    }
}

impl From<AnalysisError> for Failure {
    fn from(e: AnalysisError) -> Self {
        Failure::from(&e)
    }
}

impl From<&AnalysisError> for Failure {
    fn from(e: &AnalysisError) -> Self {
        let hint = match e {
            AnalysisError::Unfinished(_) => {
                "finish the dataset first: neurodyn run EXP --out DIR --resume".into()
            }
            AnalysisError::Io { path, source } | AnalysisError::Store(StoreError::Io { path, source }) => {
                io_hint(path, source)
            }
            AnalysisError::Store(StoreError::Parquet(_)) => {
                "check the free space of the dataset's disk and that its folder is writable".into()
            }
            AnalysisError::Store(s @ (StoreError::Damaged { .. } | StoreError::NotComplete(_) | StoreError::Corrupt { .. } | StoreError::OtherFormat { .. })) => {
                store_hint(s)
            }
            AnalysisError::Store(_) | AnalysisError::Read { .. } => {
                "give the folder `neurodyn run` wrote, e.g. results/<name>; `neurodyn status DIR` checks it".into()
            }
            AnalysisError::Polars(_) => {
                "this is a bug in neurodyn; please report it with the dataset".into()
            }
            AnalysisError::NoRun { .. } => {
                "runs.parquet lists every run_id with its parameters".into()
            }
            AnalysisError::RunFailed { .. } => {
                "runs.parquet holds the run's error message (its `error` column); choose a successful run with --run ID".into()
            }
        };
        Failure::with_hints(e.to_string(), vec![hint])
    }
}

/// The hint for a file-system error while reading or writing a dataset's files.
fn io_hint(path: &Path, source: &std::io::Error) -> String {
    if source.kind() == std::io::ErrorKind::NotFound {
        return "give the folder `neurodyn run` wrote, e.g. results/<name>; `neurodyn status DIR` checks that nothing is missing".into();
    }
    let folder = if path.is_dir() {
        path
    } else {
        path.parent().unwrap_or(path)
    };
    format!(
        "check that you may read and write {} and that its disk has free space",
        folder.display()
    )
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::with_hints(e.to_string(), vec![store_hint(&e)])
    }
}

/// How to get past a dataset error.
fn store_hint(e: &StoreError) -> String {
    match e {
            StoreError::Exists(_) => {
                "add --force to replace it, or choose another folder with --out".to_string()
            }
            StoreError::Unfinished { .. } => {
                "add --resume to run the missing runs, or --force to start over".to_string()
            }
            StoreError::Changed(_) => {
                "the experiment changed since the dataset was started: use --force to start over, or --out for a new folder".to_string()
            }
            StoreError::Foreign { .. } => {
                "neurodyn writes only into a new or empty folder or one of its own datasets (a folder with _neurodyn.json): choose another with --out".to_string()
            }
            StoreError::NotOnlyOurs { path, .. } => format!(
                "move those files out of {} first, or choose another folder with --out",
                path.display()
            ),
            StoreError::Busy { lock, .. } => format!(
                "wait for it to finish (neurodyn status DIR shows progress); the lock is {} and is released when that process ends",
                lock.display()
            ),
            StoreError::Damaged { .. } => {
                "`neurodyn status DIR` lists the damage; `neurodyn run EXP --out DIR --resume` re-runs the affected runs".to_string()
            }
            StoreError::NotComplete(_) => {
                "finish the dataset first: neurodyn run EXP --out DIR --resume".to_string()
            }
            StoreError::Io { .. } => {
                "check that the output folder is writable, or choose another with --out".to_string()
            }
            StoreError::Parquet(_) => "check free disk space and the output folder".to_string(),
        StoreError::Corrupt { .. } => {
            "the dataset's own records are damaged: start over in a new folder with --out".to_string()
        }
        StoreError::OtherFormat { path, .. } => format!(
            "run the experiment again with this neurodyn (`neurodyn run EXP --out {} --force` replaces the dataset), or read it with the neurodyn version that wrote it (its provenance.json names it)",
            path.display()
        ),
    }
}

impl From<SnapshotError> for Failure {
    fn from(e: SnapshotError) -> Self {
        let hint = match &e {
            SnapshotError::Read(a) => return Failure::from(a),
            SnapshotError::Missing(_) => "give a results folder or a golden file (.json)",
            SnapshotError::Golden { .. } => {
                "write golden files with `neurodyn check RESULTS --write-golden FILE`"
            }
            SnapshotError::Write { .. } => "check that the folder exists and is writable",
            SnapshotError::Stale { root, .. } => {
                return Failure::usage(
                    e.to_string(),
                    format!(
                        "recompute it with `neurodyn analyze {}`, then check again",
                        root.display()
                    ),
                )
            }
        };
        Failure::usage(e.to_string(), hint)
    }
}
