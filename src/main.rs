//! The neurodyn command line: argument parsing, one function per subcommand, and the
//! mapping of errors to messages and exit codes: 0 success; 1 some runs failed, a run
//! was stopped early (one Ctrl-C or SIGTERM, --fail-fast), a dataset is incomplete or
//! damaged (`status`), or a check found differences (`check`); 2 bad usage, bad input
//! or an environment error (a folder that cannot be read or written, too little free
//! space); 130 a second Ctrl-C or SIGTERM quit at once, leaving the runs under way
//! uncommitted.

use clap::{Parser, Subcommand, ValueEnum};
use neurodyn::analysis::{self, AnalysisError};
use neurodyn::check::{self, snapshot::Snapshot, snapshot::SnapshotError, Tolerances};
use neurodyn::error::InputError;
use neurodyn::experiment::{self, plan};
use neurodyn::model::ModelKind;
use neurodyn::runner::{self, RunOptions, Shard};
use neurodyn::store::{self, Dataset, StoreError};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
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
    Run {
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
    },
    /// Write summary.parquet (spike-train statistics, firing patterns) and fi_curve.parquet
    Analyze {
        /// The dataset folder
        results: PathBuf,
    },
    /// Draw figures (PNG and SVG) into RESULTS/plots/
    Plot {
        /// The dataset folder
        results: PathBuf,
        /// Runs to draw (default: the first 8)
        #[arg(long = "run", value_name = "ID")]
        runs: Vec<u32>,
        /// Figure kinds (default: all)
        #[arg(long = "kind", value_enum)]
        kinds: Vec<PlotKind>,
        /// Image formats (default: png and svg)
        #[arg(long = "format", value_enum)]
        formats: Vec<ImageFormat>,
    },
    /// Write a self-contained HTML report to RESULTS/report/index.html
    Report {
        /// The dataset folder
        results: PathBuf,
        /// Runs with figures in the report (default: the first 8)
        #[arg(long = "run", value_name = "ID")]
        runs: Vec<u32>,
    },
    /// Compare a dataset with a baseline (results folder or golden file), run by run;
    /// exit 0 when within tolerance, 1 when not
    Check {
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
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
        /// Rows of the text table
        #[arg(long, default_value_t = 40)]
        limit: usize,
        /// Write RESULTS' golden file (summary, spike counts, F-I curve, and the
        /// tolerances a check against it uses) to this path
        #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
        write_golden: Option<PathBuf>,
    },
    /// Validate an experiment and describe its runs without running them
    Plan {
        experiment: PathBuf,
        /// text: summary and axes; tsv: one row per run with every parameter
        #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
        format: PlanFormat,
        /// Refuse plans with more runs than this
        #[arg(long, default_value_t = plan::DEFAULT_MAX_RUNS)]
        max_runs: u64,
    },
    /// Show committed, failed and missing runs of a dataset, per shard
    Status {
        /// The dataset folder
        results: PathBuf,
        /// Shard count to report by (default: the one the dataset was written with)
        #[arg(long)]
        shards: Option<u32>,
    },
    /// Print every model's parameters with default, unit and meaning
    Models {
        /// Only this model (lif, eif, adex)
        model: Option<String>,
    },
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum PlotKind {
    Traces,
    Fi,
    Isi,
    Phase,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum ImageFormat {
    Png,
    Svg,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum PlanFormat {
    Text,
    Tsv,
}

/// An error on its way to the user, with its exit code.
struct Failure {
    code: u8,
    message: String,
    hints: Vec<String>,
}

impl Failure {
    fn usage(message: impl Into<String>, hint: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
            hints: vec![hint.into()],
        }
    }
}

impl From<InputError> for Failure {
    fn from(e: InputError) -> Self {
        Failure {
            code: 2,
            message: e.to_string(),
            hints: e.hints,
        }
    }
}

impl From<AnalysisError> for Failure {
    fn from(e: AnalysisError) -> Self {
        Failure::from(&e)
    }
}

impl From<&AnalysisError> for Failure {
    fn from(e: &AnalysisError) -> Self {
        let hint = match e {
            AnalysisError::Unfinished(_) => {
                "finish the dataset first: neurodyn run EXP --out DIR --resume".into()
            }
            AnalysisError::Io { path, source } | AnalysisError::Store(StoreError::Io { path, source }) => {
                io_hint(path, source)
            }
            AnalysisError::Store(StoreError::Parquet(_)) => {
                "check the free space of the dataset's disk and that its folder is writable".into()
            }
            AnalysisError::Store(s @ (StoreError::Damaged { .. } | StoreError::NotComplete(_) | StoreError::Corrupt { .. })) => {
                store_hint(s)
            }
            AnalysisError::Store(_) | AnalysisError::Read { .. } => {
                "give the folder `neurodyn run` wrote, e.g. results/<name>; `neurodyn status DIR` checks it".into()
            }
            AnalysisError::Polars(_) => {
                "this is a bug in neurodyn; please report it with the dataset".into()
            }
            AnalysisError::NoRun { .. } => {
                "runs.parquet lists every run_id with its parameters".into()
            }
            AnalysisError::RunFailed { .. } => {
                "runs.parquet holds the run's error message (its `error` column); choose a successful run with --run ID".into()
            }
        };
        Failure {
            code: 2,
            message: e.to_string(),
            hints: vec![hint],
        }
    }
}

/// The hint for a file-system error while reading or writing a dataset's files.
fn io_hint(path: &Path, source: &std::io::Error) -> String {
    if source.kind() == std::io::ErrorKind::NotFound {
        return "give the folder `neurodyn run` wrote, e.g. results/<name>; `neurodyn status DIR` checks that nothing is missing".into();
    }
    let folder = if path.is_dir() {
        path
    } else {
        path.parent().unwrap_or(path)
    };
    format!(
        "check that you may read and write {} and that its disk has free space",
        folder.display()
    )
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure {
            code: 2,
            message: e.to_string(),
            hints: vec![store_hint(&e)],
        }
    }
}

/// How to get past a dataset error.
fn store_hint(e: &StoreError) -> String {
    match e {
            StoreError::Exists(_) => {
                "add --force to replace it, or choose another folder with --out".to_string()
            }
            StoreError::Unfinished { .. } => {
                "add --resume to run the missing runs, or --force to start over".to_string()
            }
            StoreError::Changed(_) => {
                "the experiment changed since the dataset was started: use --force to start over, or --out for a new folder".to_string()
            }
            StoreError::Foreign { .. } => {
                "neurodyn writes only into a new or empty folder or one of its own datasets (a folder with _neurodyn.json): choose another with --out".to_string()
            }
            StoreError::NotOnlyOurs { path, .. } => format!(
                "move those files out of {} first, or choose another folder with --out",
                path.display()
            ),
            StoreError::Busy { lock, .. } => format!(
                "wait for it to finish (neurodyn status DIR shows progress); the lock is {} and is released when that process ends",
                lock.display()
            ),
            StoreError::Damaged { .. } => {
                "`neurodyn status DIR` lists the damage; `neurodyn run EXP --out DIR --resume` re-runs the affected runs".to_string()
            }
            StoreError::NotComplete(_) => {
                "finish the dataset first: neurodyn run EXP --out DIR --resume".to_string()
            }
            StoreError::Io { .. } => {
                "check that the output folder is writable, or choose another with --out".to_string()
            }
            StoreError::Parquet(_) => "check free disk space and the output folder".to_string(),
        StoreError::Corrupt { .. } => {
            "the dataset's own records are damaged: start over in a new folder with --out".to_string()
        }
    }
}

fn print_warning(w: &InputError) {
    eprintln!("warning: {w}");
    for h in &w.hints {
        eprintln!("hint: {h}");
    }
}

fn load_plan(path: &Path, max_runs: u64) -> Result<(plan::Plan, String), Failure> {
    let (raw, text) = experiment::load(path)?;
    let plan = plan::plan_with_cap(&raw, max_runs).map_err(|e| e.in_file(path))?;
    for w in &plan.warnings {
        print_warning(&w.clone().in_file(path));
    }
    Ok((plan, text))
}

/// Most shards a sweep may be split into (for `run` and `status`): far more than any
/// job array, and small enough that the per-shard bookkeeping (a load per shard, a
/// status row per shard) stays small; 4294967295 shards ran out of memory.
const MAX_SHARDS: u32 = 65_536;

/// Most worker threads: 4 per core this process may use (the cores of its cgroup or
/// CPU set, so a scheduler's CPU count always fits). Runs are CPU-bound, so threads
/// past the cores only add memory (a trace block and a Parquet writer each); 8000
/// threads on 2 cores hung and did not stop on SIGTERM.
fn max_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .saturating_mul(4)
}

fn parse_shard(text: &str) -> Result<Shard, Failure> {
    let bad = || {
        Failure::usage(
            format!("--shard '{text}' is not of the form I/N with 0 <= I < N"),
            "shards are numbered from 0: --shard 0/4 ... --shard 3/4",
        )
    };
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (index, count): (u32, u32) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if count == 0 || index >= count {
        return Err(bad());
    }
    check_shard_count(count, &format!("--shard {text}"))?;
    Ok(Shard { index, count })
}

/// Refuse a shard count above MAX_SHARDS; `given` names where it came from.
fn check_shard_count(count: u32, given: &str) -> Result<(), Failure> {
    if count > MAX_SHARDS {
        return Err(Failure::usage(
            format!("{given}: {count} shards, more than the cap of {MAX_SHARDS}"),
            format!("split the sweep into at most {MAX_SHARDS} shards; each shard runs many runs"),
        ));
    }
    Ok(())
}

fn env_u32(name: &str) -> Result<Option<u32>, Failure> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(v) => v.trim().parse().map(Some).map_err(|_| {
            Failure::usage(
                format!("{name}='{v}' is not a whole number"),
                "check the scheduler's environment",
            )
        }),
    }
}

/// The shard from SLURM's array variables or Kubernetes' completion index.
fn shard_from_env(shards: Option<u32>) -> Result<Shard, Failure> {
    if let (Some(id), Some(count)) = (
        env_u32("SLURM_ARRAY_TASK_ID")?,
        env_u32("SLURM_ARRAY_TASK_COUNT")?,
    ) {
        check_shard_count(count, &format!("SLURM_ARRAY_TASK_COUNT={count}"))?;
        // Arrays may start anywhere (--array=1-4): count from the lowest task id.
        let min = env_u32("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        return parse_shard(&format!("{}/{count}", id.saturating_sub(min)));
    }
    if let Some(index) = env_u32("JOB_COMPLETION_INDEX")? {
        let Some(count) = shards else {
            return Err(Failure::usage(
                "JOB_COMPLETION_INDEX is set but the shard count is unknown",
                "add --shards N (the Job's completions)",
            ));
        };
        check_shard_count(count, &format!("--shards {count}"))?;
        return parse_shard(&format!("{index}/{count}"));
    }
    Err(Failure::usage(
        "--shard-from-env: neither SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT nor JOB_COMPLETION_INDEX is set",
        "submit as a SLURM job array (sbatch --array=0-3) or an indexed Kubernetes Job, or use --shard I/N",
    ))
}

/// Warn before writing more than plan::WARN_BYTES, and refuse to start what would not
/// fit on the output folder's file system. Counted: every run not yet committed (all
/// shards of a sweep write to the one dataset, so each checks for all of it).
fn check_output_size(plan: &plan::Plan, opts: &RunOptions) -> Result<(), Failure> {
    let committed: std::collections::HashSet<u32> = if opts.resume || opts.shard.count > 1 {
        Dataset::read(&opts.out)
            .and_then(|d| d.records())
            .map(|records| records.iter().map(|r| r.run_id).collect())
            .unwrap_or_default()
    } else {
        Default::default()
    };
    let todo = plan.runs.iter().filter(|r| !committed.contains(&r.run_id));
    let estimate = plan::OutputEstimate::of(todo);
    let bytes = neurodyn::units::bytes;
    let size = format!(
        "about {} ({} of traces, {} of spikes if the neurons fire at {} Hz)",
        bytes(estimate.bytes()),
        bytes(estimate.trace_bytes),
        bytes(estimate.spike_bytes),
        plan::NOMINAL_RATE_HZ
    );
    match estimate.verdict(free_space(&opts.out)) {
        plan::SizeVerdict::Fine => Ok(()),
        plan::SizeVerdict::Large => {
            eprintln!("warning: {} will write {size}", opts.out.display());
            Ok(())
        }
        plan::SizeVerdict::TooLarge { free } => Err(Failure {
            code: 2,
            message: format!(
                "{} would take {size}, more than the {} free on its disk",
                opts.out.display(),
                bytes(free)
            ),
            hints: vec![
                "record fewer neurons or variables, record every k-th step (record: {every: k}) or shorten the runs; `neurodyn plan EXP` shows the estimate".into(),
                "or choose a folder on a larger disk with --out".into(),
            ],
        }),
    }
}

/// Bytes free to an unprivileged user on the file system that holds `dir` (or would:
/// its nearest existing ancestor); None when that cannot be found out.
fn free_space(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let existing = dir
        .ancestors()
        .map(|a| {
            if a.as_os_str().is_empty() {
                Path::new(".")
            } else {
                a
            }
        })
        .find(|a| a.exists())?;
    let c_path = std::ffi::CString::new(existing.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes only into the struct it is given, and c_path is a valid
    // NUL-terminated string that outlives the call.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    #[allow(clippy::useless_conversion)] // the field types differ between platforms
    let free = u64::from(stat.f_bavail).saturating_mul(u64::from(stat.f_frsize));
    Some(free)
}

#[allow(clippy::too_many_arguments)]
fn cmd_run(
    path: &Path,
    out: Option<PathBuf>,
    threads: Option<usize>,
    force: bool,
    resume: bool,
    shard: Shard,
    fail_fast: bool,
    max_runs: u64,
    quiet: bool,
    analyze: bool,
) -> Result<ExitCode, Failure> {
    let (plan, text) = load_plan(path, max_runs)?;
    let threads = match threads {
        Some(0) => {
            return Err(Failure::usage(
                "--threads must be at least 1",
                "leave it out to use every core",
            ))
        }
        Some(n) if n > max_threads() => {
            return Err(Failure::usage(
                format!(
                    "--threads {n} is more than the cap of {} (4 per core of the {} this process may use)",
                    max_threads(),
                    max_threads() / 4
                ),
                "leave --threads out to use every core; more threads than cores do not run faster",
            ))
        }
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let opts = RunOptions {
        out: out.unwrap_or_else(|| runner::default_out(&plan.name)),
        threads,
        force,
        resume,
        shard,
        fail_fast,
        progress: !quiet && std::io::stderr().is_terminal(),
        experiment_text: text,
        experiment_path: path.to_path_buf(),
        command_line: std::env::args().collect(),
        analyze,
    };
    check_output_size(&plan, &opts)?;
    // Ctrl-C or SIGTERM (scancel) lets the runs under way finish and commit; a second
    // signal exits at once. Committed batches stay valid either way.
    // The handler runs on its own thread (not in signal context), so it may print.
    let _ = ctrlc::set_handler(|| {
        if runner::STOP.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("stopping after the runs under way; Ctrl-C again to quit at once");
    });
    let summary = runner::run(&plan, &opts).map_err(|e| match e {
        runner::RunError::Store(e) => Failure::from(e),
        runner::RunError::Analysis(e) => Failure::from(e),
    })?;
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
        return Ok(ExitCode::from(1));
    }
    if !summary.failed.is_empty() {
        eprintln!("hint: runs.parquet holds each failed run's status and message");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_plan(path: &Path, format: PlanFormat, max_runs: u64) -> Result<ExitCode, Failure> {
    let (plan, _) = load_plan(path, max_runs)?;
    match format {
        PlanFormat::Text => {
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
            let bytes = neurodyn::units::bytes;
            println!(
                "  output: about {}: {} trace rows ({}) and spikes ({} if the neurons fire at {} Hz)",
                bytes(e.bytes()),
                e.trace_rows,
                bytes(e.trace_bytes),
                bytes(e.spike_bytes),
                plan::NOMINAL_RATE_HZ
            );
        }
        PlanFormat::Tsv => {
            let columns = store::runs::parameter_columns(&plan);
            let mut header = vec!["run_id", "run_key", "label", "seed"];
            header.extend(columns.iter().map(|c| c.name.as_str()));
            println!("{}", header.join("\t"));
            for r in &plan.runs {
                let params = r.parameters(plan.indexed_inputs);
                let mut row = vec![
                    r.run_id.to_string(),
                    r.key.clone(),
                    r.label.clone(),
                    r.seed.to_string(),
                ];
                for c in &columns {
                    row.push(
                        match params.iter().find(|p| p.name == c.name).map(|p| &p.value) {
                            Some(neurodyn::experiment::spec::Value::F64(x)) => x.to_string(),
                            Some(neurodyn::experiment::spec::Value::U64(x)) => x.to_string(),
                            Some(neurodyn::experiment::spec::Value::Str(s)) => s.clone(),
                            Some(neurodyn::experiment::spec::Value::Bool(b)) => b.to_string(),
                            None => String::new(),
                        },
                    );
                }
                println!("{}", row.join("\t"));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_status(root: &Path, shards: Option<u32>) -> Result<ExitCode, Failure> {
    let dataset = Dataset::read(root).map_err(|e| Failure {
        code: 2,
        message: format!("{}: not a neurodyn dataset ({e})", root.display()),
        hints: vec!["give the folder `neurodyn run` wrote, e.g. results/<name>".into()],
    })?;
    let exp = root.join("experiment.yaml");
    let (raw, _) = experiment::load(&exp)?;
    let plan = plan::plan_with_cap(&raw, u64::MAX).map_err(|e| e.in_file(&exp))?;
    let (rows, damage) = runner::status(&dataset, &plan, shards)?;
    println!("shard\tplanned\tdone\tfailed\tmissing");
    let (mut missing, mut failed) = (0, 0);
    for r in &rows {
        println!(
            "{}/{}\t{}\t{}\t{}\t{}",
            r.shard.index,
            r.shard.count,
            r.planned,
            r.done,
            r.failed,
            r.planned - r.done
        );
        missing += r.planned - r.done;
        failed += r.failed;
    }
    for p in &damage {
        println!("damaged: {}", p.what);
    }
    let complete = dataset.is_complete() && damage.is_empty();
    println!(
        "{}: {} runs, {missing} missing, {failed} failed{}",
        root.display(),
        plan.runs.len(),
        if !damage.is_empty() {
            format!(", damaged ({} problems)", damage.len())
        } else if complete {
            ", complete".into()
        } else {
            String::new()
        }
    );
    if !damage.is_empty() {
        eprintln!(
            "hint: `neurodyn run {} --out {} --resume` re-runs the runs of damaged batches",
            root.join("experiment.yaml").display(),
            root.display()
        );
    }
    Ok(if missing == 0 && failed == 0 && complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

impl From<SnapshotError> for Failure {
    fn from(e: SnapshotError) -> Self {
        let hint = match &e {
            SnapshotError::Read(a) => return Failure::from(a),
            SnapshotError::Missing(_) => "give a results folder or a golden file (.json)",
            SnapshotError::Golden { .. } => {
                "write golden files with `neurodyn check RESULTS --write-golden FILE`"
            }
            SnapshotError::Write { .. } => "check that the folder exists and is writable",
            SnapshotError::Stale { root, .. } => {
                return Failure::usage(
                    e.to_string(),
                    format!(
                        "recompute it with `neurodyn analyze {}`, then check again",
                        root.display()
                    ),
                )
            }
        };
        Failure::usage(e.to_string(), hint)
    }
}

/// Tolerances: command-line flags over the baseline's own over the defaults. The
/// baseline's own are its experiment's `check:` section when it is a results folder,
/// the ones recorded in it when it is a golden file. Never the dataset under test's:
/// its copied experiment.yaml could otherwise loosen its own check. `source` is the
/// folder or file `snap` was read from.
fn tolerances(
    source: &Path,
    snap: &Snapshot,
    rtol: Option<f64>,
    atol: Option<f64>,
    spike_tol: Option<f64>,
) -> Result<Tolerances, Failure> {
    let file = source.join("experiment.yaml");
    let mut tol = if snap.root.is_none() {
        snap.tolerances.unwrap_or_default()
    } else if file.exists() {
        let (raw, _) = experiment::load(&file)?;
        plan::plan_with_cap(&raw, u64::MAX)
            .map_err(|e| e.in_file(&file))?
            .tolerances
    } else {
        Tolerances::default()
    };
    for (flag, value, slot) in [
        ("--rtol", rtol, &mut tol.rtol),
        ("--atol", atol, &mut tol.atol),
        ("--spike-tol", spike_tol, &mut tol.spike_tol_ms),
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

#[allow(clippy::too_many_arguments)]
fn cmd_check(
    results: &Path,
    baseline: Option<PathBuf>,
    rtol: Option<f64>,
    atol: Option<f64>,
    spike_tol: Option<f64>,
    format: CheckFormat,
    limit: usize,
    write_golden: Option<PathBuf>,
) -> Result<ExitCode, Failure> {
    let mut new = Snapshot::read(results)?;
    if let Some(path) = write_golden {
        if new.root.is_none() {
            return Err(Failure::usage(
                format!("{} is a golden file already", results.display()),
                "write a golden file from a results folder",
            ));
        }
        // A check against the golden file uses these, not those of the dataset
        // under test.
        new.tolerances = Some(tolerances(results, &new, rtol, atol, spike_tol)?);
        new.write_golden(&path)?;
        println!(
            "{}: golden file of {} runs ({} bytes)",
            path.display(),
            new.runs.len(),
            std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let Some(baseline) = baseline else {
        return Err(Failure::usage(
            "check needs --baseline (or --write-golden)",
            "neurodyn check NEW --baseline BASE",
        ));
    };
    let base = Snapshot::read(&baseline)?;
    let tol = tolerances(&baseline, &base, rtol, atol, spike_tol)?;
    let report = check::compare(&base, &new, &tol)?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    match format {
        CheckFormat::Text => print!("{}", check::render_text(&report, limit)),
        CheckFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn cmd_analyze(root: &Path) -> Result<ExitCode, Failure> {
    let a = analysis::analyze(root)?;
    println!(
        "{}: summary.parquet ({} rows), fi_curve.parquet ({} rows)",
        root.display(),
        a.summary_rows,
        a.fi_rows
    );
    if a.patterns.len() <= 50 {
        println!("run_id\tlabel\tpattern");
        for (id, label, pattern) in &a.patterns {
            println!("{id}\t{label}\t{pattern}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The runs figures are drawn for: those asked for, else the first eight.
fn default_runs(root: &Path, runs: Vec<u32>) -> Result<Vec<u32>, Failure> {
    if !runs.is_empty() {
        return Ok(runs);
    }
    let n = Dataset::read(root)
        .map(|d| d.meta.runs)
        .map_err(|e| Failure::from(AnalysisError::Store(e)))?;
    Ok((0..n.min(8) as u32).collect())
}

fn cmd_plot(
    root: &Path,
    runs: Vec<u32>,
    kinds: Vec<PlotKind>,
    formats: Vec<ImageFormat>,
) -> Result<ExitCode, Failure> {
    if !root.join("summary.parquet").exists() {
        analysis::analyze(root)?;
    }
    let asked = !runs.is_empty();
    let runs = default_runs(root, runs)?;
    let kinds: Vec<neurodyn::plot::Kind> = if kinds.is_empty() {
        neurodyn::plot::Kind::ALL.to_vec()
    } else {
        kinds
            .iter()
            .map(|k| match k {
                PlotKind::Traces => neurodyn::plot::Kind::Traces,
                PlotKind::Fi => neurodyn::plot::Kind::Fi,
                PlotKind::Isi => neurodyn::plot::Kind::Isi,
                PlotKind::Phase => neurodyn::plot::Kind::Phase,
            })
            .collect()
    };
    let formats: Vec<neurodyn::plot::Format> = if formats.is_empty() {
        vec![neurodyn::plot::Format::Png, neurodyn::plot::Format::Svg]
    } else {
        formats
            .iter()
            .map(|f| match f {
                ImageFormat::Png => neurodyn::plot::Format::Png,
                ImageFormat::Svg => neurodyn::plot::Format::Svg,
            })
            .collect()
    };
    let mut written = 0;
    let mut per_run = vec![0usize; runs.len()];
    let run_figures = kinds.iter().any(|&k| k != neurodyn::plot::Kind::Fi);
    for kind in kinds {
        if kind == neurodyn::plot::Kind::Fi {
            written += neurodyn::plot::figure(root, kind, None, &formats)?.len();
            continue;
        }
        for (k, &id) in runs.iter().enumerate() {
            for p in neurodyn::plot::figure(root, kind, Some(id), &formats)? {
                println!("{}", p.display());
                written += 1;
                per_run[k] += 1;
            }
        }
    }
    println!("{written} files in {}", root.join("plots").display());
    // A failed run keeps the rows it wrote, which are drawn; one that left nothing to
    // draw is an error when asked for by id, so that "0 files" never passes for a plot.
    let empty = runs
        .iter()
        .zip(&per_run)
        .filter(|(_, &n)| run_figures && n == 0);
    for (&id, _) in empty {
        if let Some(e) = neurodyn::plot::failed_run(root, id)? {
            if asked {
                return Err(Failure::from(e));
            }
            eprintln!("warning: {e}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_report(root: &Path, runs: Vec<u32>) -> Result<ExitCode, Failure> {
    let runs = default_runs(root, runs)?;
    let path = neurodyn::report::write(root, &runs)?;
    println!("{}", path.display());
    Ok(ExitCode::SUCCESS)
}

fn cmd_models(only: Option<String>) -> Result<ExitCode, Failure> {
    let kinds: Vec<ModelKind> = match only.as_deref() {
        None => ModelKind::ALL.to_vec(),
        Some(name) => match ModelKind::ALL.iter().find(|k| k.name() == name) {
            Some(k) => vec![*k],
            None => {
                return Err(Failure::usage(
                    format!("unknown model '{name}'"),
                    "models: lif, eif, adex",
                ))
            }
        },
    };
    for kind in kinds {
        println!("{} — {}", kind.name(), kind.title());
        println!("  {}", kind.equations());
        println!("  {:<8} {:>12} {:<4} meaning", "key", "default", "unit");
        for p in kind.params() {
            let default = match p.default {
                neurodyn::model::Default::Value(v) => v.to_string(),
                neurodyn::model::Default::PeakFromSlope => "V_T+5*Delta_T".into(),
            };
            println!(
                "  {:<8} {:>12} {:<4} {}",
                p.name,
                default,
                p.dim.unit(),
                p.meaning
            );
        }
        println!("  (the membrane may be given as tau_m [ms] and R [MOhm, GOhm...] instead of C and g_L)");
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            experiment,
            out,
            threads,
            force,
            resume,
            shard,
            shard_from_env: from_env,
            shards,
            fail_fast,
            max_runs,
            quiet,
            no_analyze,
        } => {
            let shard = match (shard, from_env) {
                (Some(s), _) => parse_shard(&s),
                (None, true) => shard_from_env(shards),
                (None, false) => Ok(Shard::ALL),
            };
            shard.and_then(|shard| {
                if force && shard.count > 1 {
                    return Err(Failure::usage(
                        "--force cannot be combined with sharding: every shard would replace the others' work",
                        "replace the dataset with one unsharded run, or give the shards a new folder with --out",
                    ));
                }
                cmd_run(
                    &experiment,
                    out,
                    threads,
                    force,
                    resume,
                    shard,
                    fail_fast,
                    max_runs,
                    quiet,
                    !no_analyze,
                )
            })
        }
        Command::Plan {
            experiment,
            format,
            max_runs,
        } => cmd_plan(&experiment, format, max_runs),
        Command::Check {
            results,
            baseline,
            rtol,
            atol,
            spike_tol,
            format,
            limit,
            write_golden,
        } => cmd_check(
            &results,
            baseline,
            rtol,
            atol,
            spike_tol,
            format,
            limit,
            write_golden,
        ),
        Command::Status { results, shards } => match shards {
            Some(0) => Err(Failure::usage(
                "--shards 0: a dataset has at least one shard",
                "leave --shards out to report by the shards the dataset was written with",
            )),
            Some(n) => check_shard_count(n, &format!("--shards {n}"))
                .and_then(|()| cmd_status(&results, shards)),
            None => cmd_status(&results, shards),
        },
        Command::Analyze { results } => cmd_analyze(&results),
        Command::Plot {
            results,
            runs,
            kinds,
            formats,
        } => cmd_plot(&results, runs, kinds, formats),
        Command::Report { results, runs } => cmd_report(&results, runs),
        Command::Models { model } => cmd_models(model),
    };
    match result {
        Ok(code) => code,
        Err(f) => {
            eprintln!("error: {}", f.message);
            for h in &f.hints {
                eprintln!("hint: {h}");
            }
            ExitCode::from(f.code)
        }
    }
}
