//! Reading experiment files for the commands: the one a user gives (a file or `-` for
//! standard input, with its `--set` overrides applied, its warnings printed, its run
//! count capped) and the copy a dataset keeps.

use super::failure::{print_warning, Failure};
use crate::error::InputError;
use crate::experiment::overrides::{self, Blame, Override};
use crate::experiment::{self, plan};
use std::path::{Path, PathBuf};

/// The plan of the experiment file a user gave, and the file's text; warnings are
/// printed.
pub fn load_plan(
    path: &Path,
    sets: &[String],
    max_runs: u64,
) -> Result<(plan::Plan, String), Failure> {
    let (plan, text) = load_plan_unprinted(path, sets, max_runs)?;
    for w in &plan.warnings {
        print_warning(w);
    }
    Ok((plan, text))
}

/// As [`load_plan`], with the warnings (placed in the file) left in the plan for a
/// caller that prints them its own way (`run --log-format json`).
///
/// `path` `-` reads standard input. `sets` are the `--set PATH=VALUE` flags: without
/// any, the text returned is the file's, byte for byte; with some, it is the
/// effective experiment, and each problem is placed on the flag that caused it or at
/// the file's line (`overrides::Blame`).
pub fn load_plan_unprinted(
    path: &Path,
    sets: &[String],
    max_runs: u64,
) -> Result<(plan::Plan, String), Failure> {
    let name = source_name(path);
    let text = if path == Path::new("-") {
        experiment::read_stdin()?
    } else {
        experiment::read(path)?
    };
    let overrides = sets
        .iter()
        .map(|s| Override::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let plan_of =
        |t: &str| experiment::parse(t).and_then(|raw| plan::plan_with_cap(&raw, max_runs));
    // Problems placed on a flag name it in place of a file.
    let here = |e: InputError| {
        if e.file.is_some() {
            e
        } else {
            e.in_file(&name)
        }
    };
    if overrides.is_empty() {
        let mut plan = plan_of(&text).map_err(here)?;
        plan.warnings = plan.warnings.into_iter().map(here).collect();
        return Ok((plan, text));
    }
    let effective = overrides::apply(&text, &overrides).map_err(here)?;
    let mut plan = plan_of(&effective).map_err(|e| {
        let mut blame = Blame::new(&text, &overrides, |t: &str| {
            plan_of(t).err().into_iter().collect()
        });
        here(blame.place(e))
    })?;
    let mut blame = Blame::new(&text, &overrides, |t: &str| {
        plan_of(t).map(|p| p.warnings).unwrap_or_default()
    });
    plan.warnings = std::mem::take(&mut plan.warnings)
        .into_iter()
        .map(|w| here(blame.place(w)))
        .collect();
    Ok((plan, effective))
}

/// How messages and provenance name the experiment at `path` (`-` is standard input).
pub fn source_name(path: &Path) -> PathBuf {
    if path == Path::new("-") {
        PathBuf::from(experiment::STDIN)
    } else {
        path.to_path_buf()
    }
}

/// The plan of a dataset's experiment.yaml: uncapped, since the dataset exists, and
/// quiet, since its warnings were printed when it was run.
pub fn recorded_plan(path: &Path) -> Result<plan::Plan, Failure> {
    let (raw, _) = experiment::load(path)?;
    Ok(plan::plan_with_cap(&raw, u64::MAX).map_err(|e| e.in_file(path))?)
}
