//! `neurodyn analyze`: write a dataset's summary and F-I curve and list its firing
//! patterns.

use super::failure::Failure;
use crate::analysis;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The dataset folder
    results: PathBuf,
}

/// Patterns are listed up to this many runs; a sweep's are read from summary.parquet.
const MAX_LISTED: usize = 50;

pub fn execute(args: Args) -> Result<u8, Failure> {
    let root = &args.results;
    let a = analysis::analyze(root)?;
    println!(
        "{}: summary.parquet ({} rows), fi_curve.parquet ({} rows)",
        root.display(),
        a.summary_rows,
        a.fi_rows
    );
    if a.patterns.len() <= MAX_LISTED {
        println!("run_id\tlabel\tpattern");
        for (id, label, pattern) in &a.patterns {
            println!("{id}\t{label}\t{pattern}");
        }
    }
    Ok(0)
}
