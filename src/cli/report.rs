//! `neurodyn report`: write a dataset's self-contained HTML report.

use super::failure::Failure;
use super::plot::default_runs;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The dataset folder
    results: PathBuf,
    /// Runs with figures in the report (default: the first 8)
    #[arg(long = "run", value_name = "ID")]
    runs: Vec<u32>,
}

pub fn execute(args: Args) -> Result<u8, Failure> {
    let runs = default_runs(&args.results, args.runs)?;
    let path = crate::report::write(&args.results, &runs)?;
    println!("{}", path.display());
    Ok(0)
}
