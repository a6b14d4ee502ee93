//! The neurodyn command line: argument parsing, one function per subcommand, and the
//! mapping of errors to messages and exit codes (0 success; 1 some runs failed, a run
//! was stopped early, or a dataset is incomplete; 2 bad usage, bad input or an
//! environment error).

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
        /// Relative tolerance of statistics and F-I values (default: the experiment's
        /// `check:` section, else 1e-6)
        #[arg(long)]
        rtol: Option<f64>,
        /// Absolute tolerance, in each column's unit (default: check: section, else 1e-9)
        #[arg(long)]
        atol: Option<f64>,
        /// Spike-time coincidence window in ms (default: check: section, else 0.001)
        #[arg(long, value_name = "MS")]
        spike_tol: Option<f64>,
        /// text: the differences worst first; json: the whole report
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
        /// Rows of the text table
        #[arg(long, default_value_t = 40)]
        limit: usize,
        /// Write RESULTS' golden file (summary, spike counts, F-I curve) to this path
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
                "finish the dataset first: neurodyn run EXP --out DIR --resume"
            }
            AnalysisError::Store(_) | AnalysisError::Read { .. } => {
                "give the folder `neurodyn run` wrote, e.g. results/<name>"
            }
            AnalysisError::Polars(_) => {
                "this is a bug in neurodyn; please report it with the dataset"
            }
            AnalysisError::NoRun { .. } => "runs.parquet lists every run_id with its parameters",
        };
        Failure {
            code: 2,
            message: e.to_string(),
            hints: vec![hint.into()],
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        let hint = match &e {
            StoreError::Exists(_) => {
                "add --force to replace it, or choose another folder with --out".to_string()
            }
            StoreError::Unfinished { .. } => {
                "add --resume to run the missing runs, or --force to start over".to_string()
            }
            StoreError::Changed(_) => {
                "the experiment changed since the dataset was started: use --force to start over, or --out for a new folder".to_string()
            }
            StoreError::Foreign(_) => "choose an empty or new folder with --out".to_string(),
            StoreError::Io { .. } => {
                "check that the output folder is writable, or choose another with --out".to_string()
            }
            StoreError::Parquet(_) => "check free disk space and the output folder".to_string(),
            StoreError::Corrupt { .. } => {
                "the dataset's records are damaged: start over with --force".to_string()
            }
        };
        Failure {
            code: 2,
            message: e.to_string(),
            hints: vec![hint],
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
    Ok(Shard { index, count })
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
        return parse_shard(&format!("{index}/{count}"));
    }
    Err(Failure::usage(
        "--shard-from-env: neither SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT nor JOB_COMPLETION_INDEX is set",
        "submit as a SLURM job array (sbatch --array=0-3) or an indexed Kubernetes Job, or use --shard I/N",
    ))
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
    };
    // Ctrl-C or SIGTERM (scancel) lets the runs under way finish and commit; a second
    // signal exits at once. Committed batches stay valid either way.
    let _ = ctrlc::set_handler(|| {
        if runner::STOP.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    let summary = runner::run(&plan, &opts)?;
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
    // Also when nothing ran: a process killed after its last commit, during the
    // analysis, leaves a complete dataset whose resume must still analyze it.
    let unanalyzed = !summary.out.join("fi_curve.parquet").exists();
    if summary.complete && analyze && (!summary.ran.is_empty() || unanalyzed) {
        let a = analysis::analyze(&summary.out)?;
        if !quiet {
            eprintln!(
                "analyzed: summary.parquet ({} rows), fi_curve.parquet ({} rows)",
                a.summary_rows, a.fi_rows
            );
        }
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
            let traces: u64 = plan
                .runs
                .iter()
                .filter(|r| r.record.any())
                .map(|r| {
                    r.steps.div_ceil(u64::from(r.record.every)) * r.record.neurons.len() as u64
                })
                .sum();
            // ~8 bytes per trace row and ~6 per spike after ZSTD (../shared/CRATES.md
            // measured 5.7-8.6 bytes/row); spike counts are unknown before running.
            println!(
                "  output: {traces} trace rows (~{:.1} MB) plus ~6 bytes per spike",
                traces as f64 * 8.0 / 1e6
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
    let rows = runner::status(&dataset, &plan, shards)?;
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
    let complete = dataset.is_complete();
    println!(
        "{}: {} runs, {missing} missing, {failed} failed{}",
        root.display(),
        plan.runs.len(),
        if complete { ", complete" } else { "" }
    );
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
            SnapshotError::NotAnalyzed(_) => "run `neurodyn analyze DIR` first",
            SnapshotError::Golden { .. } => {
                "write golden files with `neurodyn check RESULTS --write-golden FILE`"
            }
            SnapshotError::Write { .. } => "check that the folder exists and is writable",
        };
        Failure::usage(e.to_string(), hint)
    }
}

/// Tolerances: command-line flags over the experiment's `check:` section over the
/// defaults. The experiment is the new dataset's own experiment.yaml.
fn tolerances(
    results: &Path,
    rtol: Option<f64>,
    atol: Option<f64>,
    spike_tol: Option<f64>,
) -> Result<Tolerances, Failure> {
    let file = results.join("experiment.yaml");
    let mut tol = if file.exists() {
        let (raw, _) = experiment::load(&file)?;
        plan::plan(&raw).map_err(|e| e.in_file(&file))?.tolerances
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
    let new = Snapshot::read(results)?;
    if let Some(path) = write_golden {
        if new.spikes.is_none() {
            return Err(Failure::usage(
                format!("{} is a golden file already", results.display()),
                "write a golden file from a results folder",
            ));
        }
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
    let tol = tolerances(results, rtol, atol, spike_tol)?;
    let base = Snapshot::read(&baseline)?;
    let report = check::compare(&base, &new, &tol);
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
    for kind in kinds {
        if kind == neurodyn::plot::Kind::Fi {
            written += neurodyn::plot::figure(root, kind, None, &formats)?.len();
            continue;
        }
        for &id in &runs {
            for p in neurodyn::plot::figure(root, kind, Some(id), &formats)? {
                println!("{}", p.display());
                written += 1;
            }
        }
    }
    println!("{written} files in {}", root.join("plots").display());
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
        Command::Status { results, shards } => cmd_status(&results, shards),
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
