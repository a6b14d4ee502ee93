//! `neurodyn plan`: validate an experiment and describe its runs without running them.

use super::experiment::load_plan;
use super::failure::Failure;
use super::json::{self, Versioned};
use crate::experiment::spec::Value;
use crate::experiment::{plan, tsv};
use crate::store::runs::{parameter_columns, ParamColumn};
use crate::units::bytes;
use clap::ValueEnum;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The experiment file (YAML), or - to read it from standard input
    experiment: PathBuf,
    /// Change a value of the experiment, e.g. --set model.C=200 pF; repeatable,
    /// applied in order. The text output ends with the effective experiment
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// text: summary and axes; tsv: one row per run with every parameter; json: the
    /// summary as one document (docs/JSON.md)
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// With --format json: one JSON object per run per line (JSON Lines) instead of
    /// the summary
    #[arg(long)]
    runs: bool,
    /// Refuse plans with more runs than this
    #[arg(long, default_value_t = plan::DEFAULT_MAX_RUNS)]
    max_runs: u64,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum Format {
    Text,
    Tsv,
    Json,
}

pub fn execute(args: Args) -> Result<u8, Failure> {
    let (plan, text) = load_plan(&args.experiment, &args.set, args.max_runs)?;
    if args.runs && args.format != Format::Json {
        return Err(Failure::usage(
            "--runs goes with --format json",
            "--format tsv lists every run already, one row each",
        ));
    }
    match args.format {
        Format::Text => {
            println!(
                "experiment {}: {} runs, {} neuron-steps",
                plan.name,
                plan.len(),
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
            if !args.set.is_empty() {
                println!("effective experiment (with --set applied):");
                print!("{text}");
            }
        }
        Format::Tsv => {
            for line in tsv::lines(&plan) {
                println!("{line}");
            }
        }
        Format::Json if args.runs => print_runs(&plan)?,
        Format::Json => json::print(&Versioned::new(Summary::of(&plan)))?,
    }
    Ok(0)
}

/// `plan --format json`: the plan as a whole.
#[derive(Serialize)]
struct Summary {
    name: String,
    runs: usize,
    neuron_steps: u64,
    axes: Vec<Axis>,
    output_estimate: Estimate,
    warnings: Vec<Warning>,
}

#[derive(Serialize)]
struct Axis {
    path: String,
    size: u64,
}

#[derive(Serialize)]
struct Estimate {
    total_bytes: u64,
    trace_bytes: u64,
    spike_bytes: u64,
    trace_rows: u64,
    spikes: u64,
    nominal_rate_hz: f64,
}

#[derive(Serialize)]
struct Warning {
    message: String,
    hints: Vec<String>,
}

impl Summary {
    /// The summary of `plan`, whose warnings `load_plan` placed in their files.
    fn of(plan: &plan::Plan) -> Summary {
        let e = plan.output_estimate();
        Summary {
            name: plan.name.clone(),
            runs: plan.len(),
            neuron_steps: plan.neuron_steps(),
            // The plan keeps its axes as "scope.path: n", the text output's form.
            axes: plan
                .axes
                .iter()
                .map(|a| {
                    let (path, size) = a.rsplit_once(": ").unwrap_or((a, ""));
                    Axis {
                        path: path.into(),
                        size: size.parse().unwrap_or(0),
                    }
                })
                .collect(),
            output_estimate: Estimate {
                total_bytes: e.bytes(),
                trace_bytes: e.trace_bytes,
                spike_bytes: e.spike_bytes,
                trace_rows: e.trace_rows,
                spikes: e.spikes,
                nominal_rate_hz: plan::NOMINAL_RATE_HZ,
            },
            warnings: plan
                .warnings
                .iter()
                .map(|w| {
                    let f = Failure::from(w.clone());
                    Warning {
                        message: f.message().into(),
                        hints: f.hints().to_vec(),
                    }
                })
                .collect(),
        }
    }
}

/// `plan --format json --runs`: one run, its parameters as the runs table's columns.
#[derive(Serialize)]
struct Run<'a> {
    run_id: u32,
    run_key: &'a str,
    label: &'a str,
    seed: u64,
    parameters: Parameters<'a>,
}

/// A run's value of every parameter column, in the columns' order; null where the
/// run has no such parameter (a model's key in a run of another model).
struct Parameters<'a> {
    columns: &'a [ParamColumn],
    values: Vec<crate::experiment::spec::Column>,
}

impl Serialize for Parameters<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.columns.len()))?;
        for c in self.columns {
            let value = self.values.iter().find(|v| v.name == c.name);
            match value.map(|v| &v.value) {
                None => map.serialize_entry(&c.name, &())?,
                Some(Value::F64(x)) => map.serialize_entry(&c.name, x)?,
                Some(Value::U64(x)) => map.serialize_entry(&c.name, x)?,
                Some(Value::Str(x)) => map.serialize_entry(&c.name, x)?,
                Some(Value::Bool(x)) => map.serialize_entry(&c.name, x)?,
            }
        }
        map.end()
    }
}

/// Every run as a JSON line, made as it is written: a plan of a million runs is
/// never held as text.
fn print_runs(plan: &plan::Plan) -> Result<(), Failure> {
    let columns = parameter_columns(plan);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = plan.chunks(1 << 12).flatten().try_for_each(|r| {
        let run = Run {
            run_id: r.run_id,
            run_key: &r.key,
            label: &r.label,
            seed: r.seed,
            parameters: Parameters {
                columns: &columns,
                values: r.parameters(plan.indexed_inputs),
            },
        };
        writeln!(out, "{}", json::line(&Versioned::new(run)))
    });
    json::written(written.and_then(|()| out.flush()))
}
