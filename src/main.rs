//! The neurodyn command line: parses the arguments and hands each subcommand to its
//! module in `cli`. Exit codes: 0 success; 1 some runs failed, a run was stopped early
//! (one Ctrl-C or SIGTERM, --fail-fast), a dataset is incomplete or damaged
//! (`status`), or a check found differences (`check`); 2 bad usage, bad input or an
//! environment error (a folder that cannot be read or written, too little free
//! space); 130 a second Ctrl-C or SIGTERM quit at once, leaving the runs under way
//! uncommitted.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
    Run(cli::run::Args),
    /// Write summary.parquet (spike-train statistics, firing patterns) and fi_curve.parquet
    Analyze(cli::analyze::Args),
    /// Draw figures (PNG and SVG) into RESULTS/plots/
    Plot(cli::plot::Args),
    /// Write a self-contained HTML report to RESULTS/report/index.html
    Report(cli::report::Args),
    /// Compare a dataset with a baseline (results folder or golden file), run by run;
    /// exit 0 when within tolerance, 1 when not
    Check(cli::check::Args),
    /// Validate an experiment and describe its runs without running them
    Plan(cli::plan::Args),
    /// Show committed, failed and missing runs of a dataset, per shard
    Status(cli::status::Args),
    /// Print every model's parameters with default, unit and meaning
    Models(cli::models::Args),
}

fn main() -> ExitCode {
    let outcome = match Cli::parse().command {
        Command::Run(args) => cli::run::execute(args),
        Command::Analyze(args) => cli::analyze::execute(args),
        Command::Plot(args) => cli::plot::execute(args),
        Command::Report(args) => cli::report::execute(args),
        Command::Check(args) => cli::check::execute(args),
        Command::Plan(args) => cli::plan::execute(args),
        Command::Status(args) => cli::status::execute(args),
        Command::Models(args) => cli::models::execute(args),
    };
    cli::failure::exit_code(outcome)
}
