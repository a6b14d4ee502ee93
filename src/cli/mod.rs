//! The command line: clap parsing and one module per subcommand, plus what they
//! share: the error-to-exit-code mapping (`failure`), shard selection, experiment
//! loading, the output-size check and the progress bar. It lives in the library so
//! that the binary and the Python package's `neurodyn` command run the same code.
//!
//! Exit codes: 0 success; 1 some runs failed, a run was stopped early (one Ctrl-C or
//! SIGTERM, --fail-fast), a dataset is incomplete or damaged (`status`), or a check
//! found differences (`check`); 2 bad usage, bad input or an environment error (a
//! folder that cannot be read or written, too little free space); 130 a second Ctrl-C
//! or SIGTERM quit at once, leaving the runs under way uncommitted.

pub mod analyze;
pub mod check;
pub mod completions;
pub mod failure;
pub mod models;
pub mod plan;
pub mod plot;
pub mod report;
pub mod run;
pub mod status;

mod experiment;
mod json;
mod log;
mod output_size;
mod progress;
mod shard;
mod snippet;

pub use failure::Failure;

use clap::{Parser, Subcommand};
use std::ffi::OsString;

#[derive(Parser)]
#[command(
    name = "neurodyn",
    version,
    about = "Single-neuron dynamics (LIF, EIF, AdEx) to Parquet"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an experiment and write its dataset (default: results/<name>/)
    Run(run::Args),
    /// Write summary.parquet (spike-train statistics, firing patterns) and fi_curve.parquet
    Analyze(analyze::Args),
    /// Draw figures (PNG and SVG) into RESULTS/plots/
    Plot(plot::Args),
    /// Write a self-contained HTML report to RESULTS/report/index.html
    Report(report::Args),
    /// Compare a dataset with a baseline (results folder or golden file), run by run;
    /// exit 0 when within tolerance, 1 when not
    Check(check::Args),
    /// Validate an experiment and describe its runs without running them
    Plan(plan::Args),
    /// Show committed, failed and missing runs of a dataset, per shard
    Status(status::Args),
    /// Print every model's parameters with default, unit and meaning
    Models(models::Args),
    /// Print a shell completion script, e.g. `neurodyn completions bash > ~/.local/share/bash-completion/completions/neurodyn`
    Completions(completions::Args),
}

/// Run the command line `args` (the program name first) and return its exit code.
/// Usage errors, `--help` and `--version` print and return as clap decides.
pub fn main(args: Vec<OsString>) -> u8 {
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return u8::try_from(e.exit_code()).unwrap_or(2);
        }
    };
    let command_line = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let outcome = match cli.command {
        Command::Run(a) => run::execute(a, command_line),
        Command::Analyze(a) => analyze::execute(a),
        Command::Plot(a) => plot::execute(a),
        Command::Report(a) => report::execute(a),
        Command::Check(a) => check::execute(a),
        Command::Plan(a) => plan::execute(a),
        Command::Status(a) => status::execute(a),
        Command::Models(a) => models::execute(a),
        Command::Completions(a) => completions::execute(a),
    };
    failure::exit_code(outcome)
}
