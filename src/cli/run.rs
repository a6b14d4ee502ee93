//! `neurodyn run`: run an experiment into its dataset, with Ctrl-C handling, the
//! progress bar and the closing summary.

use super::experiment::load_plan;
use super::failure::Failure;
use super::output_size;
use super::progress::Bar;
use super::shard;
use crate::experiment::plan;
use crate::runner::{self, Cancel, RunOptions};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The experiment file (YAML)
    experiment: PathBuf,
    /// Output folder
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads (default: all cores)
    #[arg(long)]
    threads: Option<usize>,
    /// Replace an existing dataset in the output folder
    #[arg(long, conflicts_with = "resume")]
    force: bool,
    /// Continue an unfinished dataset: skip committed runs, run the rest
    #[arg(long)]
    resume: bool,
    /// Run only shard I of N (0-based), e.g. --shard 2/8; shards share one dataset
    #[arg(long, value_name = "I/N", conflicts_with = "shard_from_env")]
    shard: Option<String>,
    /// Take the shard from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, or from
    /// JOB_COMPLETION_INDEX (Kubernetes) with --shards
    #[arg(long)]
    shard_from_env: bool,
    /// Shard count for --shard-from-env with JOB_COMPLETION_INDEX
    #[arg(long, value_name = "N")]
    shards: Option<u32>,
    /// Stop at the first failed run
    #[arg(long)]
    fail_fast: bool,
    /// Refuse plans with more runs than this
    #[arg(long, default_value_t = plan::DEFAULT_MAX_RUNS)]
    max_runs: u64,
    /// Print nothing but errors (no progress bar)
    #[arg(long, short)]
    quiet: bool,
    /// Do not write summary.parquet and fi_curve.parquet when the dataset completes
    #[arg(long)]
    no_analyze: bool,
}

/// Most worker threads: 4 per core this process may use (the cores of its cgroup or
/// CPU set, so a scheduler's CPU count always fits). Runs are CPU-bound, so threads
/// past the cores only add memory (a trace block and a Parquet writer each); 8000
/// threads on 2 cores hung and did not stop on SIGTERM.
fn max_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .saturating_mul(4)
}

/// The worker threads for `--threads` (or the Python `threads=`): every core when
/// none is asked for.
pub fn threads(asked: Option<usize>) -> Result<usize, Failure> {
    match asked {
        Some(0) => Err(Failure::usage(
            "--threads must be at least 1",
            "leave it out to use every core",
        )),
        Some(n) if n > max_threads() => Err(Failure::usage(
            format!(
                "--threads {n} is more than the cap of {} (4 per core of the {} this process may use)",
                max_threads(),
                max_threads() / 4
            ),
            "leave --threads out to use every core; more threads than cores do not run faster",
        )),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// What `run` checks before it starts, for callers that build their own
/// `RunOptions` (the Python package): the estimated output against the free space.
pub fn preflight(plan: &plan::Plan, opts: &RunOptions) -> Result<(), Failure> {
    output_size::check(plan, opts)
}

pub fn execute(args: Args, command_line: Vec<String>) -> Result<u8, Failure> {
    let shard = shard::chosen(args.shard, args.shard_from_env, args.shards)?;
    if args.force && shard.count > 1 {
        return Err(Failure::usage(
            "--force cannot be combined with sharding: every shard would replace the others' work",
            "replace the dataset with one unsharded run, or give the shards a new folder with --out",
        ));
    }
    let path = &args.experiment;
    let quiet = args.quiet;
    let (plan, text) = load_plan(path, args.max_runs)?;
    let threads = threads(args.threads)?;
    let bar = (!quiet && std::io::stderr().is_terminal()).then(Bar::new);
    let opts = RunOptions {
        out: args.out.unwrap_or_else(|| runner::default_out(&plan.name)),
        threads,
        force: args.force,
        resume: args.resume,
        shard,
        fail_fast: args.fail_fast,
        cancel: Cancel::new(),
        on_progress: bar.as_ref().map(Bar::on_progress),
        experiment_text: text,
        experiment_path: path.to_path_buf(),
        command_line,
        analyze: !args.no_analyze,
    };
    output_size::check(&plan, &opts)?;
    // Ctrl-C or SIGTERM (scancel) lets the runs under way finish and commit; a second
    // signal exits at once. Committed batches stay valid either way.
    // The handler runs on its own thread (not in signal context), so it may print.
    let cancel = opts.cancel.clone();
    let _ = ctrlc::set_handler(move || {
        if cancel.cancel() {
            std::process::exit(130);
        }
        eprintln!("stopping after the runs under way; Ctrl-C again to quit at once");
    });
    let outcome = runner::run(&plan, &opts);
    if let Some(bar) = &bar {
        bar.clear();
    }
    let summary = outcome?;
    for r in &summary.failed {
        eprintln!("error: {}", r.error.as_deref().unwrap_or("run failed"));
    }
    if !quiet {
        let spikes: u64 = summary.ran.iter().map(|r| r.n_spikes).sum();
        let shard_note = if shard.count > 1 {
            format!(" (shard {}/{})", shard.index, shard.count)
        } else {
            String::new()
        };
        eprintln!(
            "{}: ran {} runs{shard_note}, {} failed, {} spikes in {:.2} s; {} of {} runs committed{}",
            summary.out.display(),
            summary.ran.len(),
            summary.ran.iter().filter(|r| !r.ok).count(),
            spikes,
            summary.wall_s,
            summary.committed,
            summary.total,
            if summary.complete { ", dataset complete" } else { "" },
        );
    }
    if let (Some(a), false) = (&summary.analysis, quiet) {
        eprintln!(
            "analyzed: summary.parquet ({} rows), fi_curve.parquet ({} rows)",
            a.summary_rows, a.fi_rows
        );
    }
    if summary.stopped {
        eprintln!(
            "error: stopped before every run was done ({} of {} committed)",
            summary.committed, summary.total
        );
        eprintln!("hint: run the same command with --resume to continue");
        return Ok(1);
    }
    if !summary.failed.is_empty() {
        eprintln!("hint: runs.parquet holds each failed run's status and message");
        return Ok(1);
    }
    Ok(0)
}
