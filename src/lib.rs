//! neurodyn: single-neuron dynamics (LIF, EIF, AdEx) under parameter sweeps, written
//! to Parquet. An experiment is loaded, planned into runs, run into a dataset (the
//! engine integrates, the store commits batch by batch), then analyzed and checked.
//! The items at the crate root are that pipeline; the modules hold the rest.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::{path::Path, sync::Arc};
//! let (raw, text) = neurodyn::load(Path::new("experiments/seed_scenarios.yaml"))?;
//! let plan = neurodyn::plan(&raw)?;
//! let mut opts = neurodyn::RunOptions::new("results/seed_scenarios", text);
//! opts.on_progress = Some(Arc::new(|p: &neurodyn::Progress| eprintln!("{} runs", p.runs_done)));
//! // Another thread may stop the run: opts.cancel.clone().cancel()
//! let summary = neurodyn::run(&plan, &opts)?;
//! let dataset = neurodyn::open_dataset(&summary.out)?;
//! let tol = neurodyn::Tolerances::default();
//! let report = neurodyn::check(Path::new("results/baseline"), dataset.root(), &tol)?;
//! assert!(report.passed());
//! # Ok(()) }
//! ```

pub mod analysis;
pub mod check;
pub mod cli;
pub mod engine;
pub mod error;
pub mod experiment;
pub mod model;
pub mod plot;
pub mod report;
pub mod runner;
pub(crate) mod seed;
pub(crate) mod stimulus;
pub mod store;
pub mod units;

pub use analysis::{analyze, Analysis, AnalysisError};
pub use check::snapshot::{Snapshot, SnapshotError};
pub use check::Tolerances;
pub use error::InputError;
/// Read an experiment file ([`parse`] reads its text), for [`plan`].
pub use experiment::load;
pub use experiment::parse;
pub use experiment::plan::{plan, Plan};
pub use runner::{run, Cancel, OnProgress, Progress, Ran, RunError, RunOptions, Shard, Summary};
pub use store::{Dataset, Reader};

use std::path::Path;

/// A finished dataset, verified against its manifests, open for reading its tables.
pub fn open_dataset(root: &Path) -> Result<Reader, AnalysisError> {
    Ok(Reader::open(root)?)
}

/// Compare the dataset at `new` with `baseline` (a dataset or a golden file) run by
/// run; the report lists the differences beyond `tol`.
pub fn check(
    baseline: &Path,
    new: &Path,
    tol: &Tolerances,
) -> Result<check::Report, SnapshotError> {
    check::compare(&Snapshot::read(baseline)?, &Snapshot::read(new)?, tol)
}
