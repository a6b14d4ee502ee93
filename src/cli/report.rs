//! `neurodyn report`: write a dataset's self-contained HTML report.

use super::failure::Failure;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The dataset folder
    results: PathBuf,
    /// Runs with figures in the report (default: every run, in the experiment's order,
    /// up to 48; beyond, the first replicate of each spread over the experiment)
    #[arg(long = "run", value_name = "ID")]
    runs: Vec<u32>,
}

pub fn execute(args: Args) -> Result<u8, Failure> {
    let path = crate::report::write(&args.results, &args.runs)?;
    println!("{}", path.display());
    Ok(0)
}
