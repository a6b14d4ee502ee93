//! `neurodyn run`: run an experiment into its dataset, with Ctrl-C handling, the
//! progress bar or progress lines and the closing summary.

use super::experiment::{load_plan_unprinted, source_name};
use super::failure::Failure;
use super::json;
use super::log::Log;
use super::output_size;
use super::progress::{Bar, Lines};
use super::shard;
use crate::experiment::plan;
use crate::runner::{self, Cancel, RunOptions};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// The experiment file (YAML), or - to read it from standard input
    experiment: PathBuf,
    /// Change a value of the experiment, e.g. --set model.C=200 pF or
    /// --set 'grid.input[0].amplitude={linspace: [0 pA, 1 nA, 5]}'; repeatable, applied
    /// in order
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
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
    /// Print only errors and the closing summary line (no progress, no warnings)
    #[arg(long, short)]
    quiet: bool,
    /// Without a terminal: a progress line every this many seconds; 0: one as the
    /// runs start and one as each finishes
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    log_interval: u64,
    /// text: lines for people; json: every line on stderr a JSON object
    /// (docs/JSON.md)
    #[arg(long, value_enum, default_value_t = json::Format::Text)]
    log_format: json::Format,
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
    let log = Log::new(args.log_format, args.quiet);
    match execute_logged(args, command_line, log) {
        // A JSON log stays JSON to its end; `cli::main` prints text.
        Err(f) if log.is_json() => {
            log.error(f.message(), f.hints());
            Ok(f.code())
        }
        outcome => outcome,
    }
}

fn execute_logged(args: Args, command_line: Vec<String>, log: Log) -> Result<u8, Failure> {
    let shard = shard::chosen(args.shard, args.shard_from_env, args.shards)?;
    if args.force && shard.count > 1 {
        return Err(Failure::usage(
            "--force cannot be combined with sharding: every shard would replace the others' work",
            "replace the dataset with one unsharded run, or give the shards a new folder with --out",
        ));
    }
    let path = &args.experiment;
    let (plan, text) = load_plan_unprinted(path, &args.set, args.max_runs)?;
    for w in &plan.warnings {
        log.input_warning(w);
    }
    let threads = threads(args.threads)?;
    // A bar is redrawn in place: in a file it is noise, among JSON lines it breaks them.
    let bar =
        (log.shows_progress() && !log.is_json() && std::io::stderr().is_terminal()).then(Bar::new);
    let lines = (log.shows_progress() && bar.is_none())
        .then(|| Lines::new(log, Duration::from_secs(args.log_interval)));
    let opts = RunOptions {
        out: args.out.unwrap_or_else(|| runner::default_out(&plan.name)),
        threads,
        force: args.force,
        resume: args.resume,
        shard,
        fail_fast: args.fail_fast,
        cancel: Cancel::new(),
        on_progress: bar
            .as_ref()
            .map(Bar::on_progress)
            .or_else(|| lines.as_ref().map(Lines::on_progress)),
        experiment_text: text,
        experiment_path: source_name(path),
        command_line,
        analyze: !args.no_analyze,
    };
    if let Some(w) = output_size::assess(&plan, &opts)? {
        log.warning(&w);
    }
    // Ctrl-C or SIGTERM (scancel) lets the runs under way finish and commit; a second
    // signal exits at once. Committed batches stay valid either way.
    // The handler runs on its own thread (not in signal context), so it may print.
    let cancel = opts.cancel.clone();
    let _ = ctrlc::set_handler(move || {
        if cancel.cancel() {
            std::process::exit(130);
        }
        log.stopping();
    });
    let outcome = runner::run(&plan, &opts);
    if let Some(bar) = &bar {
        bar.clear();
    }
    // No progress line may follow the summary.
    drop(lines);
    let summary = outcome?;
    let runs_hint = ["runs.parquet holds each failed run's status and message".to_string()];
    for (k, r) in summary.failed.iter().enumerate() {
        let last = k + 1 == summary.failed.len();
        log.run_failed(r, if last { &runs_hint } else { &[] });
    }
    if summary.stopped {
        log.error(
            &format!(
                "stopped before every run was done ({} of {} committed)",
                summary.committed, summary.total
            ),
            &["run the same command with --resume to continue".into()],
        );
    }
    // Last, so that a log's final line says how the run ended.
    log.summary(&summary, shard);
    Ok(if summary.stopped || !summary.failed.is_empty() {
        1
    } else {
        0
    })
}
