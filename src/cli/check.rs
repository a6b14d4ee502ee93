//! `neurodyn check`: compare a dataset with a baseline run by run, or write its golden
//! file.

use super::experiment::recorded_plan;
use super::failure::Failure;
use super::json::{self, Versioned};
use crate::check::{self, snapshot::Snapshot, Tolerances};
use crate::store::layout;
use clap::ValueEnum;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// The new dataset folder
    results: PathBuf,
    /// The baseline: a results folder or a golden file written by --write-golden
    #[arg(long, required_unless_present = "write_golden")]
    baseline: Option<PathBuf>,
    /// Relative tolerance of statistics, trace values and F-I values. A flag wins
    /// over the baseline's own tolerances (its experiment's `check:` section, or
    /// those recorded in its golden file), which win over the default 1e-6; the
    /// dataset under test never sets them. With --write-golden: recorded in the file
    #[arg(long)]
    rtol: Option<f64>,
    /// Absolute tolerance, in each column's unit (same precedence; default 1e-9)
    #[arg(long)]
    atol: Option<f64>,
    /// Spike-time coincidence window in ms (same precedence; default 0.001)
    #[arg(long, value_name = "MS")]
    spike_tol: Option<f64>,
    /// text: the differences worst first; json: the whole report
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Rows of the text table
    #[arg(long, default_value_t = 40)]
    limit: usize,
    /// Write RESULTS' golden file (summary, spike counts, F-I curve, and the
    /// tolerances a check against it uses) to this path
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    write_golden: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Tolerances: command-line flags over the baseline's own over the defaults. The
/// baseline's own are its experiment's `check:` section when it is a results folder,
/// the ones recorded in it when it is a golden file. Never the dataset under test's:
/// its copied experiment.yaml could otherwise loosen its own check. `source` is the
/// folder or file `snap` was read from.
fn tolerances(source: &Path, snap: &Snapshot, args: &Args) -> Result<Tolerances, Failure> {
    let file = source.join(layout::EXPERIMENT);
    let mut tol = if snap.root.is_none() {
        snap.tolerances.unwrap_or_default()
    } else if file.exists() {
        recorded_plan(&file)?.tolerances
    } else {
        Tolerances::default()
    };
    for (flag, value, slot) in [
        ("--rtol", args.rtol, &mut tol.rtol),
        ("--atol", args.atol, &mut tol.atol),
        ("--spike-tol", args.spike_tol, &mut tol.spike_tol_ms),
    ] {
        if let Some(v) = value {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Failure::usage(
                    format!("{flag} {v}: a tolerance is a finite number >= 0"),
                    format!("e.g. {flag} 0.001"),
                ));
            }
            *slot = v;
        }
    }
    Ok(tol)
}

pub fn execute(args: Args) -> Result<u8, Failure> {
    let results = &args.results;
    let mut new = Snapshot::read(results)?;
    if let Some(path) = &args.write_golden {
        if new.root.is_none() {
            return Err(Failure::usage(
                format!("{} is a golden file already", results.display()),
                "write a golden file from a results folder",
            ));
        }
        // A check against the golden file uses these, not those of the dataset
        // under test.
        new.tolerances = Some(tolerances(results, &new, &args)?);
        new.write_golden(path)?;
        println!(
            "{}: golden file of {} runs ({} bytes)",
            path.display(),
            new.runs.len(),
            std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
        );
        return Ok(0);
    }
    let Some(baseline) = &args.baseline else {
        return Err(Failure::usage(
            "check needs --baseline (or --write-golden)",
            "neurodyn check NEW --baseline BASE",
        ));
    };
    let base = Snapshot::read(baseline)?;
    let tol = tolerances(baseline, &base, &args)?;
    let report = check::compare(&base, &new, &tol)?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    match args.format {
        Format::Text => print!("{}", check::render_text(&report, args.limit)),
        Format::Json => json::print(&Versioned::new(&report))?,
    }
    Ok(if report.passed() { 0 } else { 1 })
}
