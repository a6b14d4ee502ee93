//! The neurodyn command line: argument parsing, one function per subcommand, and the
//! mapping of errors to messages and exit codes (0 success; 1 some runs failed;
//! 2 bad usage, bad input or an environment error).

use clap::{Parser, Subcommand};
use neurodyn::error::InputError;
use neurodyn::experiment::{self, plan};
use neurodyn::model::ModelKind;
use neurodyn::runner::{self, RunOptions};
use neurodyn::store::StoreError;
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
        #[arg(long)]
        force: bool,
        /// Print nothing but errors
        #[arg(long, short)]
        quiet: bool,
    },
    /// Validate an experiment and print its runs without running them
    Plan { experiment: PathBuf },
    /// Print every model's parameters with default, unit and meaning
    Models {
        /// Only this model (lif, eif, adex)
        model: Option<String>,
    },
}

/// An error on its way to the user, with its exit code.
struct Failure {
    code: u8,
    message: String,
    hints: Vec<String>,
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

fn store_failure(e: StoreError) -> Failure {
    let hint = match &e {
        StoreError::Exists(_) => "add --force to replace it, or choose another folder with --out",
        StoreError::Foreign(_) => "choose an empty or new folder with --out",
        StoreError::Io { .. } => {
            "check that the output folder is writable, or choose another with --out"
        }
        StoreError::Parquet(_) => "check free disk space and the output folder",
    };
    Failure {
        code: 2,
        message: e.to_string(),
        hints: vec![hint.into()],
    }
}

fn print_warning(w: &InputError) {
    eprintln!("warning: {w}");
    for h in &w.hints {
        eprintln!("hint: {h}");
    }
}

fn load_plan(path: &Path) -> Result<(plan::Plan, String), Failure> {
    let (raw, text) = experiment::load(path)?;
    let plan = plan::plan(&raw).map_err(|e| e.in_file(path))?;
    for w in &plan.warnings {
        print_warning(&w.clone().in_file(path));
    }
    Ok((plan, text))
}

fn cmd_run(
    path: &Path,
    out: Option<PathBuf>,
    threads: Option<usize>,
    force: bool,
    quiet: bool,
) -> Result<ExitCode, Failure> {
    let (plan, text) = load_plan(path)?;
    let threads = match threads {
        Some(0) => {
            return Err(Failure {
                code: 2,
                message: "--threads must be at least 1".into(),
                hints: vec!["leave it out to use every core".into()],
            })
        }
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let opts = RunOptions {
        out: out.unwrap_or_else(|| runner::default_out(&plan.name)),
        threads,
        force,
        experiment_text: text,
        experiment_path: path.to_path_buf(),
        command_line: std::env::args().collect(),
    };
    let summary = runner::run(&plan, &opts).map_err(store_failure)?;
    let failed: Vec<_> = summary.failed().collect();
    for (_, r) in &failed {
        eprintln!("error: {}", r.error.as_deref().unwrap_or("run failed"));
    }
    if !quiet {
        let spikes: u64 = summary.results.iter().map(|r| r.n_spikes).sum();
        eprintln!(
            "wrote {}: {} runs ({} failed), {} neuron-steps, {} spikes in {:.2} s",
            summary.out.display(),
            summary.results.len(),
            failed.len(),
            plan.neuron_steps(),
            spikes,
            summary.wall_s
        );
    }
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("hint: the runs table (runs.parquet) holds each failed run's status and message");
        Ok(ExitCode::from(1))
    }
}

fn cmd_plan(path: &Path) -> Result<ExitCode, Failure> {
    let (plan, _) = load_plan(path)?;
    println!(
        "experiment {}: {} runs, {} neuron-steps",
        plan.name,
        plan.runs.len(),
        plan.neuron_steps()
    );
    println!("run_id\trun_key\tlabel\tmodel\tmethod\treplicate\tneurons\tsteps");
    for r in &plan.runs {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            r.run_id,
            r.key,
            r.label,
            r.model,
            r.method.name(),
            r.replicate,
            r.neurons,
            r.steps
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_models(only: Option<String>) -> Result<ExitCode, Failure> {
    let kinds: Vec<ModelKind> = match only.as_deref() {
        None => ModelKind::ALL.to_vec(),
        Some(name) => match ModelKind::ALL.iter().find(|k| k.name() == name) {
            Some(k) => vec![*k],
            None => {
                return Err(Failure {
                    code: 2,
                    message: format!("unknown model '{name}'"),
                    hints: vec!["models: lif, eif, adex".into()],
                })
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
            quiet,
        } => cmd_run(&experiment, out, threads, force, quiet),
        Command::Plan { experiment } => cmd_plan(&experiment),
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
