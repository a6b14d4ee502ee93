//! Reading experiment files for the commands: the one a user gives (its warnings
//! printed, its run count capped) and the copy a dataset keeps.

use super::failure::{print_warning, Failure};
use crate::experiment::{self, plan};
use std::path::Path;

/// The plan of the experiment file a user gave, and the file's text; warnings are
/// printed.
pub fn load_plan(path: &Path, max_runs: u64) -> Result<(plan::Plan, String), Failure> {
    let (raw, text) = experiment::load(path)?;
    let plan = plan::plan_with_cap(&raw, max_runs).map_err(|e| e.in_file(path))?;
    for w in &plan.warnings {
        print_warning(&w.clone().in_file(path));
    }
    Ok((plan, text))
}

/// The plan of a dataset's experiment.yaml: uncapped, since the dataset exists, and
/// quiet, since its warnings were printed when it was run.
pub fn recorded_plan(path: &Path) -> Result<plan::Plan, Failure> {
    let (raw, _) = experiment::load(path)?;
    Ok(plan::plan_with_cap(&raw, u64::MAX).map_err(|e| e.in_file(path))?)
}
