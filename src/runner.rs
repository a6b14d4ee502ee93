//! Execution of a plan into a dataset. The runs this process owns (all, or one shard's
//! load-balanced share) are grouped into batches that each write one pair of part
//! files; rayon spreads batches over threads. Batches commit atomically (see `store`),
//! so an interrupted run resumes where it stopped and shards can write into one
//! dataset side by side. A run that fails is recorded and the others go on.

use crate::analysis::{self, Analysis, AnalysisError};
use crate::engine::{self, EngineError, PackKey};
use crate::experiment::plan::Plan;
use crate::experiment::spec::{Precision, RunSpec};
use crate::store::layout;
use crate::store::lock::Scope;
use crate::store::outcomes::Outcomes;
use crate::store::parts::{PartWriters, TraceColumns};
use crate::store::provenance::{self, Provenance};
use crate::store::verify::{Fix, Problem};
use crate::store::{self, neurons, runs, Dataset, Manifest, Meta, OpenMode, RunRecord, StoreError};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Estimated work per batch: large enough that many small runs share part files
/// (readers pay per file), small enough that batches balance across threads and an
/// interruption loses little.
const BATCH_COST: u64 = 4_000_000;

/// A request to stop after the runs under way, shared between a run and whoever may
/// stop it (a signal handler, the run itself under `fail_fast`). Each run is given its
/// own, so stopping one run leaves the next one in the same process alone.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Ask the run to stop; returns whether it had been asked before, so that a second
    /// Ctrl-C can be told from the first.
    pub fn cancel(&self) -> bool {
        self.0.swap(true, Ordering::SeqCst)
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How far a call of [`run`] has got, reported once when its runs start (none done)
/// and each time one of them finishes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Runs finished by this call, failed ones included.
    pub runs_done: usize,
    /// Runs this call set out to do: its shard's share less those already committed.
    pub runs_total: usize,
    /// Of the finished runs, those that failed.
    pub runs_failed: usize,
    /// Neuron-steps of the finished runs.
    pub neuron_steps: u64,
    /// Time since the runs started.
    pub elapsed: Duration,
}

impl Progress {
    /// Neuron-steps per second so far.
    pub fn rate(&self) -> f64 {
        self.neuron_steps as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Called with the [`Progress`] as runs start and finish: from any of the run's
/// threads, one call at a time, so it should return quickly.
pub type OnProgress = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Which share of the plan this process runs: shard `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    pub const ALL: Shard = Shard { index: 0, count: 1 };
}

/// What the caller chose for a run.
#[derive(Clone)]
pub struct RunOptions {
    pub out: PathBuf,
    pub threads: usize,
    pub force: bool,
    pub resume: bool,
    pub shard: Shard,
    /// Stop (cancel `cancel`) at the first failed run.
    pub fail_fast: bool,
    /// Checked before each run starts; the runs under way finish and commit.
    pub cancel: Cancel,
    pub on_progress: Option<OnProgress>,
    /// Write summary.parquet and fi_curve.parquet when the dataset completes, while
    /// the writer lock is still held.
    pub analyze: bool,
    /// The experiment file's text and path, copied into the dataset.
    pub experiment_text: String,
    pub experiment_path: PathBuf,
    pub command_line: Vec<String>,
}

impl RunOptions {
    /// Options to run an experiment (its file's text) into a new dataset at `out` on
    /// every core, analyzing it at the end; change the fields for anything else.
    pub fn new(out: impl Into<PathBuf>, experiment_text: impl Into<String>) -> RunOptions {
        RunOptions {
            out: out.into(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            force: false,
            resume: false,
            shard: Shard::ALL,
            fail_fast: false,
            cancel: Cancel::new(),
            on_progress: None,
            analyze: true,
            experiment_text: experiment_text.into(),
            experiment_path: PathBuf::new(),
            command_line: Vec::new(),
        }
    }
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("out", &self.out)
            .field("threads", &self.threads)
            .field("force", &self.force)
            .field("resume", &self.resume)
            .field("shard", &self.shard)
            .field("fail_fast", &self.fail_fast)
            .field("cancel", &self.cancel)
            .field("on_progress", &self.on_progress.is_some())
            .field("analyze", &self.analyze)
            .field("experiment_path", &self.experiment_path)
            .field("command_line", &self.command_line)
            .finish_non_exhaustive()
    }
}

/// What a call of [`run`] did.
#[derive(Debug, Clone)]
pub struct Summary {
    pub out: PathBuf,
    /// What this process executed.
    pub ran: Ran,
    /// Runs committed in the dataset, over all processes, and the plan's total.
    pub committed: usize,
    pub total: usize,
    /// Whether the dataset is complete (`_SUCCESS` written).
    pub complete: bool,
    /// Whether this process stopped early (Ctrl-C or --fail-fast).
    pub stopped: bool,
    /// Failed runs in the whole dataset (when complete) or among `ran`.
    pub failed: Vec<RunRecord>,
    pub wall_s: f64,
    /// What the analysis at the end wrote, when it ran.
    pub analysis: Option<Analysis>,
}

/// What one process executed: counts, and the records of the runs that failed (the
/// others' records are in the manifests; a process may run millions).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ran {
    /// Runs executed, failed ones included.
    pub runs: usize,
    /// Spikes of the runs executed.
    pub spikes: u64,
    /// Records of the runs that failed, in the order they finished.
    pub failed: Vec<RunRecord>,
}

impl Ran {
    fn add(&mut self, other: Ran) {
        self.runs += other.runs;
        self.spikes += other.spikes;
        self.failed.extend(other.failed);
    }
}

/// Why a call of [`run`] could not finish its work.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
}

/// The runs of one shard: longest-processing-time-first assignment of the plan's
/// runs to `shard.count` shards (ties to the lowest shard, then run id), so runs of
/// different cost spread evenly. Deterministic: every shard computes the same split.
pub(crate) fn shard_runs(plan: &Plan, shard: Shard) -> Vec<u32> {
    let all = 0..plan.len() as u32;
    if shard.count <= 1 {
        return all.collect();
    }
    let mut order: Vec<u32> = all.collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(plan.class(i).cost), i));
    let mut load = vec![0u64; shard.count as usize];
    let mut mine = Vec::new();
    for i in order {
        let (s, _) = load
            .iter()
            .enumerate()
            .min_by_key(|(s, l)| (**l, *s))
            .expect("at least one shard");
        load[s] += plan.class(i).cost.max(1);
        if s as u32 == shard.index {
            mine.push(i);
        }
    }
    mine.sort_unstable();
    mine
}

/// Runs that are integrated as one population (see `engine::pack_key`), as run ids,
/// in run-id order.
type Pack = Vec<u32>;

/// The runs cut into batches of about BATCH_COST, each a list of packs, with every
/// part file's rows in run-id order. Runs that can share a population (equal
/// `engine::pack_key`) and together fill at least half a batch get batches of their
/// own, one pack each, so a sweep of many small runs becomes a few large populations.
/// The rest (runs too large to share, and keys with few runs) are batched in run-id
/// order as before, neighbours with equal keys still sharing a pack.
fn batches(runs: &[u32], plan: &Plan) -> Vec<Vec<Pack>> {
    let mut groups: BTreeMap<Option<&PackKey>, Vec<u32>> = BTreeMap::new();
    for &i in runs {
        groups
            .entry(plan.class(i).pack.as_ref())
            .or_default()
            .push(i);
    }
    let mut out: Vec<Vec<Pack>> = Vec::new();
    let mut rest: Vec<(u32, Option<&PackKey>)> = Vec::new();
    for (key, members) in groups {
        let total: u64 = members.iter().map(|&i| plan.class(i).cost).sum();
        if key.is_some() && total >= BATCH_COST / 2 {
            out.extend(cut(members, |&i| i, plan).into_iter().map(|b| vec![b]));
        } else {
            rest.extend(members.into_iter().map(|i| (i, key)));
        }
    }
    rest.sort_by_key(|(i, _)| *i);
    for batch in cut(rest, |(i, _)| *i, plan) {
        let mut packs: Vec<(Pack, Option<&PackKey>)> = Vec::new();
        for (i, key) in batch {
            match packs.last_mut() {
                Some((pack, last)) if key.is_some() && *last == key => pack.push(i),
                _ => packs.push((vec![i], key)),
            }
        }
        out.push(packs.into_iter().map(|(pack, _)| pack).collect());
    }
    out
}

/// Runs (in the order given, `run` naming each item's) cut into consecutive pieces of
/// about BATCH_COST.
fn cut<T>(items: Vec<T>, run: impl Fn(&T) -> u32, plan: &Plan) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    let mut load = 0u64;
    for item in items {
        let c = plan.class(run(&item)).cost;
        if !current.is_empty() && load + c > BATCH_COST {
            out.push(std::mem::take(&mut current));
            load = 0;
        }
        load += c;
        current.push(item);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn trace_columns(plan: &Plan) -> Option<TraceColumns> {
    if plan.is_empty() {
        return None;
    }
    let first = plan.spec(0);
    let r = &first.record;
    r.any().then_some(TraceColumns {
        v: r.v,
        i: r.i,
        w: r.w,
        f32: r.precision == Precision::F32,
    })
}

/// Counts finished runs for [`OnProgress`]. The count and the call share one lock so
/// that reports arrive in order although runs finish on many threads.
struct Tally<'a> {
    started: Instant,
    done: Mutex<Progress>,
    report: Option<&'a OnProgress>,
}

impl<'a> Tally<'a> {
    /// Reports the start (no run done), so a consumer knows the total before the
    /// first run, which may be long, finishes.
    fn new(total: usize, report: Option<&'a OnProgress>) -> Tally<'a> {
        let start = Progress {
            runs_done: 0,
            runs_total: total,
            runs_failed: 0,
            neuron_steps: 0,
            elapsed: Duration::ZERO,
        };
        if let Some(report) = report {
            report(&start);
        }
        Tally {
            started: Instant::now(),
            done: Mutex::new(start),
            report,
        }
    }

    fn done(&self, spec: &RunSpec, ok: bool) {
        let Some(report) = self.report else { return };
        // A callback that panicked leaves a count still worth continuing from.
        let mut p = self.done.lock().unwrap_or_else(|e| e.into_inner());
        p.runs_done += 1;
        p.runs_failed += usize::from(!ok);
        p.neuron_steps = p.neuron_steps.saturating_add(spec.neuron_steps());
        p.elapsed = self.started.elapsed();
        report(&p);
    }
}

fn run_batch(
    dataset: &Dataset,
    plan: &Plan,
    packs: &[Pack],
    opts: &RunOptions,
    traces: Option<TraceColumns>,
    tally: &Tally,
) -> Result<Ran, StoreError> {
    let ids = || packs.iter().flatten().copied();
    let first = ids().min().expect("a batch has runs");
    let last = ids().max().expect("a batch has runs");
    let batch = store::batch_name(opts.shard.index, first, last);
    dataset.stage(&batch)?;
    let mut parts = PartWriters::create(dataset, &batch, traces)?;
    let mut records = Vec::with_capacity(ids().count());
    let mut ran = Ran::default();
    for pack in packs {
        if opts.cancel.is_cancelled() {
            break;
        }
        let resolved = plan.specs(pack);
        let specs: Vec<&RunSpec> = resolved.iter().map(|r| r.as_ref()).collect();
        let started = Instant::now();
        // Each run's spike count, or why it failed.
        let outcomes: Vec<Result<u64, String>> = match engine::simulate_pack(&specs, &mut parts) {
            Ok(o) => o
                .into_iter()
                .map(|r| r.map(|o| o.n_spikes).map_err(|e| e.to_string()))
                .collect(),
            Err(EngineError::Sink(e)) => {
                dataset.discard(&batch)?;
                return Err(match e.downcast::<StoreError>() {
                    Ok(e) => *e,
                    Err(e) => StoreError::Parquet(e.to_string()),
                });
            }
            // `batches` packs only runs of one key, so this is a bug; fail the runs
            // rather than the dataset.
            Err(e) => vec![Err(e.to_string()); specs.len()],
        };
        // A packed run's time is its share of the pack's, by cost.
        let wall_s = started.elapsed().as_secs_f64();
        let pack_cost: u64 = specs.iter().map(|s| s.cost().max(1)).sum();
        for (spec, outcome) in specs.iter().zip(outcomes) {
            let (ok, error, n_spikes) = match outcome {
                Ok(n) => (true, None, n),
                Err(e) => (
                    false,
                    Some(format!("run {} ({}): {e}", spec.run_id, spec.label)),
                    0,
                ),
            };
            if !ok && opts.fail_fast {
                opts.cancel.cancel();
            }
            let record = RunRecord {
                run_id: spec.run_id,
                run_key: spec.key.clone(),
                ok,
                error,
                n_spikes,
                wall_s: wall_s * spec.cost().max(1) as f64 / pack_cost as f64,
            };
            ran.runs += 1;
            ran.spikes += n_spikes;
            if !ok {
                ran.failed.push(record.clone());
            }
            records.push(record);
            tally.done(spec, ok);
        }
    }
    if records.is_empty() {
        dataset.discard(&batch)?;
        return Ok(ran);
    }
    let parts = match parts.commit() {
        Ok(p) => p,
        Err(e) => {
            dataset.discard(&batch)?;
            return Err(e);
        }
    };
    dataset.commit(&Manifest {
        batch,
        shard: opts.shard.index,
        shards: opts.shard.count,
        parts,
        runs: records,
    })?;
    Ok(ran)
}

/// Run this process's share of the plan into the dataset at `opts.out`, finish the
/// dataset if that completes it, and analyze it then (`opts.analyze`). Stops early,
/// with `stopped` set, once `opts.cancel` is cancelled; reports to `opts.on_progress`
/// as runs finish.
pub fn run(plan: &Plan, opts: &RunOptions) -> Result<Summary, RunError> {
    let started = Instant::now();
    let meta = Meta {
        format: layout::FORMAT,
        name: plan.name.clone(),
        config_sha256: provenance::sha256_hex(opts.experiment_text.as_bytes()),
        runs: plan.len(),
        created_utc: provenance::now_utc(),
    };
    let mode = OpenMode {
        force: opts.force,
        // Shards of one sweep share a dataset: each joins what the first created.
        resume: opts.resume || opts.shard.count > 1,
        scope: if opts.shard.count > 1 {
            Scope::Shard(opts.shard.index)
        } else {
            Scope::Whole
        },
    };
    let mut dataset = Dataset::open(&opts.out, meta, &opts.experiment_text, mode)?;
    match write(&mut dataset, plan, opts, started) {
        Ok(summary) => Ok(summary),
        Err(e) => {
            dataset.abandon();
            Err(e)
        }
    }
}

/// The body of [`run`] once the dataset is open and locked.
fn write(
    dataset: &mut Dataset,
    plan: &Plan,
    opts: &RunOptions,
    started: Instant,
) -> Result<Summary, RunError> {
    if dataset.meta.runs != plan.len() {
        return Err(StoreError::Changed(opts.out.clone()).into());
    }
    let shard = (opts.shard.count > 1).then_some(opts.shard.index);
    dataset.recover(opts.shard.index)?;
    // Manifests are the truth: a damaged batch (a part missing, truncated or
    // rewritten, a run committed twice) is dropped and its runs run again.
    let left = dataset.repair(shard)?;
    if !left.is_empty() {
        return Err(StoreError::Damaged {
            path: opts.out.clone(),
            problems: left.into_iter().map(|p| p.what).collect(),
        }
        .into());
    }
    let mut summary = Summary {
        out: opts.out.clone(),
        ran: Ran::default(),
        committed: 0,
        total: plan.len(),
        complete: dataset.is_complete(),
        stopped: false,
        failed: Vec::new(),
        wall_s: 0.0,
        analysis: None,
    };
    if !summary.complete {
        let done = dataset.outcomes()?;
        let todo: Vec<u32> = shard_runs(plan, opts.shard)
            .into_iter()
            .filter(|&i| !done.is_committed(i))
            .collect();
        drop(done);
        let groups = batches(&todo, plan);
        let traces = trace_columns(plan);
        let tally = Tally::new(todo.len(), opts.on_progress.as_ref());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.threads)
            .build()
            .map_err(|e| StoreError::Parquet(format!("thread pool: {e}")))?;
        let per_batch: Vec<Result<Ran, StoreError>> = pool.install(|| {
            groups
                .par_iter()
                .map(|b| run_batch(dataset, plan, b, opts, traces, &tally))
                .collect()
        });
        let todo = todo.len();
        drop(groups);
        for r in per_batch {
            summary.ran.add(r?);
        }
        // Stopped also when the last runs were under way as the stop came (packed runs
        // finish together): a stopped dataset is left unfinished, for --resume.
        summary.stopped = summary.ran.runs < todo || opts.cancel.is_cancelled();
        if !summary.stopped {
            summary.complete = finalize(dataset, plan, opts)?;
        }
    }
    let outcomes = dataset.outcomes()?;
    summary.committed = outcomes.committed();
    summary.failed = if summary.complete {
        outcomes.failed().cloned().collect()
    } else {
        summary.ran.failed.clone()
    };
    drop(outcomes);
    // Also when nothing ran: a process killed after its last commit, during the
    // analysis, leaves a complete dataset whose resume must still analyze it.
    let unanalyzed = !summary.out.join(layout::FI_CURVE.entry()).exists();
    if summary.complete && opts.analyze && (summary.ran.runs > 0 || unanalyzed) {
        summary.analysis = Some(analysis::analyze(&summary.out)?);
    }
    summary.wall_s = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Write runs.parquet, provenance.json and `_SUCCESS` once every run is committed
/// and the dataset verifies; returns whether the dataset is complete. Safe to call
/// from several shards.
fn finalize(dataset: &mut Dataset, plan: &Plan, opts: &RunOptions) -> Result<bool, StoreError> {
    let outcomes = dataset.outcomes()?;
    if !outcomes.all_committed() {
        return Ok(false);
    }
    let problems = dataset.verify()?;
    if !problems.is_empty() {
        return Err(StoreError::Damaged {
            path: opts.out.clone(),
            problems: problems.into_iter().map(|p| p.what).collect(),
        });
    }
    runs::write(
        &dataset.root.join(layout::RUNS.entry()),
        plan,
        &outcomes,
        &dataset.meta,
    )?;
    neurons::write(
        &dataset.root.join(layout::NEURONS.entry()),
        plan,
        &dataset.meta,
    )?;
    Provenance {
        neurodyn_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: env!("NEURODYN_GIT_COMMIT").into(),
        git_dirty: env!("NEURODYN_GIT_DIRTY").into(),
        command_line: opts.command_line.clone(),
        experiment_file: opts.experiment_path.display().to_string(),
        config_sha256: dataset.meta.config_sha256.clone(),
        host: provenance::host(),
        threads: opts.threads,
        shards: outcomes.shards().unwrap_or(1),
        start_utc: dataset.meta.created_utc.clone(),
        end_utc: provenance::now_utc(),
        runs: plan.len(),
        failed_runs: outcomes.failed().count(),
        peak_rss_mb: provenance::peak_rss_mb(),
        rng_stack: provenance::rng_stack(),
    }
    .write(&dataset.root)?;
    dataset.finish()?;
    Ok(true)
}

/// The default output folder of an experiment: results/<name>.
pub fn default_out(name: &str) -> PathBuf {
    Path::new("results").join(name)
}

/// Progress of one shard, for `neurodyn status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardStatus {
    pub shard: Shard,
    pub planned: usize,
    pub done: usize,
    pub failed: usize,
}

/// Committed, failed and missing runs per shard of a dataset, and what is damaged.
/// Runs of a damaged batch count as missing: a resume runs them again. The shard
/// count is the one the dataset was written with (or `shards` when nothing is
/// committed yet).
pub fn status(
    dataset: &Dataset,
    plan: &Plan,
    shards: Option<u32>,
) -> Result<(Vec<ShardStatus>, Vec<Problem>), StoreError> {
    let problems = dataset.verify()?;
    let damaged: HashSet<&str> = problems
        .iter()
        .filter_map(|p| match &p.fix {
            Fix::Rerun(b) => Some(b.as_str()),
            _ => None,
        })
        .collect();
    let mut records = Outcomes::new(plan.len());
    dataset.each_manifest(|_, m| {
        if let Some(m) = m.ok().filter(|m| !damaged.contains(m.batch.as_str())) {
            records.add_batch(m);
        }
        Ok(())
    })?;
    let count = shards.or(records.shards()).unwrap_or(1).max(1);
    let rows = (0..count)
        .map(|index| {
            let shard = Shard { index, count };
            let mine = shard_runs(plan, shard);
            let done = mine.iter().filter(|&&i| records.is_committed(i));
            ShardStatus {
                shard,
                planned: mine.len(),
                done: done.clone().count(),
                failed: done.filter(|&&i| !records.ok(i)).count(),
            }
        })
        .collect();
    Ok((rows, problems))
}
