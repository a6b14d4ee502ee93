//! `neurodyn plan`: validate an experiment and describe its runs without running them.

use super::experiment::load_plan;
use super::failure::Failure;
use crate::experiment::{plan, tsv};
use crate::units::bytes;
use clap::ValueEnum;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    experiment: PathBuf,
    /// text: summary and axes; tsv: one row per run with every parameter
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Refuse plans with more runs than this
    #[arg(long, default_value_t = plan::DEFAULT_MAX_RUNS)]
    max_runs: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Tsv,
}

pub fn execute(args: Args) -> Result<u8, Failure> {
    let (plan, _) = load_plan(&args.experiment, args.max_runs)?;
    match args.format {
        Format::Text => {
            println!(
                "experiment {}: {} runs, {} neuron-steps",
                plan.name,
                plan.runs.len(),
                plan.neuron_steps()
            );
            for a in &plan.axes {
                println!("  axis {a}");
            }
            let e = plan.output_estimate();
            println!(
                "  output: about {}: {} trace rows ({}) and spikes ({} if the neurons fire at {} Hz)",
                bytes(e.bytes()),
                e.trace_rows,
                bytes(e.trace_bytes),
                bytes(e.spike_bytes),
                plan::NOMINAL_RATE_HZ
            );
        }
        Format::Tsv => {
            for line in tsv::lines(&plan) {
                println!("{line}");
            }
        }
    }
    Ok(0)
}
