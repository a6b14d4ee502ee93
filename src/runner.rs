//! Execution of a plan into a dataset: runs are grouped, in plan order, into batches
//! that each write one pair of part files; rayon spreads batches over threads. The
//! grouping depends only on the plan, never on the thread count, so the files are
//! the same whatever the parallelism. A run that fails is recorded and the rest go on.

use crate::engine::{self, EngineError};
use crate::experiment::plan::Plan;
use crate::experiment::spec::RunSpec;
use crate::store::parts::{PartWriters, SpikeWriter, TraceColumns, TraceWriter};
use crate::store::provenance::{self, Provenance};
use crate::store::runs::{self, RunResult};
use crate::store::{parquet::write_atomic, Dataset, StoreError};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Neuron-steps per batch: large enough that many small runs share part files
/// (readers pay per file), small enough that batches balance across threads.
const BATCH_NEURON_STEPS: u64 = 4_000_000;

/// What the caller chose for a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub out: PathBuf,
    pub threads: usize,
    pub force: bool,
    /// The experiment file's text and path, copied into the dataset.
    pub experiment_text: String,
    pub experiment_path: PathBuf,
    pub command_line: Vec<String>,
}

/// What came out of a run of the whole plan.
#[derive(Debug, Clone)]
pub struct Summary {
    pub out: PathBuf,
    pub results: Vec<RunResult>,
    pub wall_s: f64,
}

impl Summary {
    pub fn failed(&self) -> impl Iterator<Item = (usize, &RunResult)> {
        self.results.iter().enumerate().filter(|(_, r)| !r.ok)
    }
}

/// Contiguous runs, in plan order, sharing part files.
fn batches(runs: &[RunSpec]) -> Vec<&[RunSpec]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut load = 0u64;
    for (i, r) in runs.iter().enumerate() {
        let cost = r.steps * u64::from(r.neurons);
        if i > start && load + cost > BATCH_NEURON_STEPS {
            out.push(&runs[start..i]);
            start = i;
            load = 0;
        }
        load += cost;
    }
    if start < runs.len() {
        out.push(&runs[start..]);
    }
    out
}

fn trace_columns(plan: &Plan) -> Option<TraceColumns> {
    let r = &plan.runs.first()?.record;
    r.any().then_some(TraceColumns {
        v: r.v,
        i: r.i,
        w: r.w,
    })
}

fn run_batch(
    dataset: &Dataset,
    index: usize,
    batch: &[RunSpec],
    traces: Option<TraceColumns>,
) -> Result<Vec<RunResult>, StoreError> {
    let mut parts = PartWriters {
        spikes: SpikeWriter::create(&dataset.part_path("spikes", index))?,
        traces: match traces {
            Some(c) => Some(TraceWriter::create(&dataset.part_path("traces", index), c)?),
            None => None,
        },
    };
    let mut results = Vec::with_capacity(batch.len());
    for spec in batch {
        let started = Instant::now();
        let outcome = engine::simulate(spec, &mut parts.for_run(spec.run_id));
        let wall_s = started.elapsed().as_secs_f64();
        results.push(match outcome {
            Ok(o) => RunResult {
                ok: true,
                error: None,
                n_spikes: o.n_spikes,
                wall_s,
            },
            Err(EngineError::Sink(e)) => return Err(StoreError::Parquet(e.to_string())),
            Err(e) => RunResult {
                ok: false,
                error: Some(format!("run {} ({}): {e}", spec.run_id, spec.label)),
                n_spikes: 0,
                wall_s,
            },
        });
    }
    parts.commit()?;
    Ok(results)
}

/// Run every run of the plan into a new dataset at `opts.out`.
pub fn run(plan: &Plan, opts: &RunOptions) -> Result<Summary, StoreError> {
    let start_utc = provenance::now_utc();
    let started = Instant::now();
    let dataset = Dataset::create(&opts.out, opts.force)?;
    write_atomic(
        &dataset.root.join("experiment.yaml"),
        opts.experiment_text.as_bytes(),
    )?;
    let traces = trace_columns(plan);
    if traces.is_none() {
        let dir = dataset.root.join("traces");
        std::fs::remove_dir(&dir).map_err(|e| StoreError::io(&dir, e))?;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|e| StoreError::Parquet(format!("thread pool: {e}")))?;
    let groups = batches(&plan.runs);
    let per_batch: Vec<Result<Vec<RunResult>, StoreError>> = pool.install(|| {
        groups
            .par_iter()
            .enumerate()
            .map(|(i, b)| run_batch(&dataset, i, b, traces))
            .collect()
    });
    let mut results = Vec::with_capacity(plan.runs.len());
    for r in per_batch {
        results.extend(r?);
    }
    runs::write(&dataset.root.join("runs.parquet"), plan, &results)?;
    let failed = results.iter().filter(|r| !r.ok).count();
    Provenance {
        neurodyn_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: env!("NEURODYN_GIT_COMMIT").into(),
        git_dirty: env!("NEURODYN_GIT_DIRTY").into(),
        command_line: opts.command_line.clone(),
        experiment_file: opts.experiment_path.display().to_string(),
        config_sha256: provenance::sha256_hex(opts.experiment_text.as_bytes()),
        host: provenance::host(),
        threads: opts.threads,
        start_utc,
        end_utc: provenance::now_utc(),
        runs: results.len(),
        failed_runs: failed,
        rng_stack: provenance::rng_stack(),
    }
    .write(&dataset.root)?;
    dataset.finish()?;
    Ok(Summary {
        out: dataset.root.clone(),
        results,
        wall_s: started.elapsed().as_secs_f64(),
    })
}

/// The default output folder of an experiment: results/<name>.
pub fn default_out(name: &str) -> PathBuf {
    Path::new("results").join(name)
}
