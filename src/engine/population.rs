//! A population of neurons, from one run or from many packed runs, cut into blocks
//! and each block stepped through the whole run as a struct of arrays: inputs and
//! noise draws, the fast path (a plain step with no spike), and the slow path
//! (refractory hold, crossing located inside the step or between grid points, reset,
//! rest of the step), in batches (`lanes`) where it can be. Every neuron carries its
//! own run's model, input, seed streams and failure, so a run gives the same numbers
//! whichever neurons it shares a block with.

use super::integrate::{bridge_crossing, Currents, Integrator};
use super::kernel::{self, Bridge, CrossingTest, Drive, Each, GridOnly, PerNeuron, Same, Shared};
use super::lanes::{Batch, Failure, LaneCurrent, Neurons, Span};
use super::{EngineError, Outcome, Sink, SinkError, TraceChunk, MAX_BLOCK, TRACE_ROWS_PER_BLOCK};
use crate::experiment::spec::{Crossings, InitValue, NeuronValues, RunSpec};
use crate::model::{Model, Params};
use crate::seed;
use crate::stimulus::Input;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use std::borrow::Cow;
use std::ops::Range;

/// More spikes than this inside one step means the input drives the neuron faster
/// than the model can represent; the run fails rather than loop.
const SPIKES_PER_STEP_LIMIT: u32 = 10_000;

/// Neurons below which a run is not split further for threads: smaller blocks would
/// cost more in per-block overhead than a second core gains.
const MIN_PARALLEL_BLOCK: u32 = 256;

/// Neurons `first..last` of the run at index `run` of a pack.
#[derive(Clone, Copy, Debug)]
struct Part {
    run: usize,
    first: u32,
    last: u32,
}

/// Each run's outcome; a sink's failure ends the whole call.
type Outcomes = Vec<Result<Outcome, EngineError>>;

pub fn run<M: Model, I: Integrator<M>>(
    runs: &[&RunSpec],
    sink: &mut dyn Sink,
) -> Result<Outcomes, EngineError> {
    run_with::<M, I>(runs, sink, SlowPath::Batched)
}

/// How the neurons a step flags are advanced: in batches where they can be
/// (`engine::lanes`), or each on its own; the two give the same bits, which the tests
/// check by running both.
#[derive(Clone, Copy, Debug, PartialEq)]
enum SlowPath {
    Batched,
    #[cfg_attr(not(test), allow(dead_code))]
    Scalar,
}

fn run_with<M: Model, I: Integrator<M>>(
    runs: &[&RunSpec],
    sink: &mut dyn Sink,
    slow_path: SlowPath,
) -> Result<Outcomes, EngineError> {
    let blocks = blocks(runs);
    let mut outcomes: Outcomes = runs.iter().map(|_| Ok(Outcome::default())).collect();
    let threads = rayon::current_num_threads();
    if blocks.len() == 1 || threads == 1 {
        for block in &blocks {
            if block.iter().all(|p| outcomes[p.run].is_err()) {
                continue;
            }
            let done = Block::<M>::new(runs, block).run::<I>(sink, slow_path)?;
            merge(&mut outcomes, done);
        }
        return Ok(outcomes);
    }
    // Blocks go to all threads, a wave at a time: each block's output is buffered and
    // handed on in block order, so the sink sees exactly the calls of a sequential
    // run, and at most one wave of output is held at once.
    for wave in blocks.chunks(threads) {
        let done: Vec<Result<(Vec<BlockOutcome>, Buffer), EngineError>> = wave
            .par_iter()
            .map(|block| {
                let mut buffer = Buffer::default();
                if block.iter().all(|p| outcomes[p.run].is_err()) {
                    return Ok((Vec::new(), buffer));
                }
                let done = Block::<M>::new(runs, block).run::<I>(&mut buffer, slow_path)?;
                Ok((done, buffer))
            })
            .collect();
        for result in done {
            let (done, buffer) = result?;
            // A run split over blocks that failed in an earlier block writes no more.
            let failed: Vec<u32> = runs
                .iter()
                .zip(&outcomes)
                .filter(|(_, o)| o.is_err())
                .map(|(r, _)| r.run_id)
                .collect();
            buffer.replay(sink, &failed)?;
            merge(&mut outcomes, done);
        }
    }
    Ok(outcomes)
}

/// What a block reports for each of its parts: spikes, or why the run failed.
type BlockOutcome = (usize, Result<u64, EngineError>);

/// Fold one block's outcomes into the runs': spikes add up, the first failure stays.
fn merge(outcomes: &mut Outcomes, done: Vec<BlockOutcome>) {
    for (r, result) in done {
        match (&mut outcomes[r], result) {
            (Err(_), _) => {}
            (Ok(o), Ok(n)) => o.n_spikes += n,
            (slot, Err(e)) => *slot = Err(e),
        }
    }
}

/// Trace rows one recorded neuron of the run holds (0 when nothing is recorded).
fn samples(spec: &RunSpec) -> usize {
    if spec.record.any() {
        spec.steps.div_ceil(u64::from(spec.record.every)) as usize
    } else {
        0
    }
}

/// Trace rows the run's whole recording holds.
fn recorded_rows(spec: &RunSpec) -> usize {
    samples(spec).saturating_mul(spec.record.neurons.len())
}

/// The most neurons a block of the run may hold: MAX_BLOCK when its whole recording
/// fits the trace budget (nothing recorded, or a few neurons), else as many as the
/// budget allows were every neuron of the block recorded.
fn block_size(spec: &RunSpec) -> u32 {
    let samples = samples(spec);
    if samples == 0 || recorded_rows(spec) <= TRACE_ROWS_PER_BLOCK {
        return MAX_BLOCK;
    }
    (TRACE_ROWS_PER_BLOCK / samples).clamp(1, MAX_BLOCK as usize) as u32
}

/// Neuron ranges [first, last) of the blocks of a run on its own. The split depends
/// only on the run (population and recording size), never on the thread count, so
/// output files are the same whatever the number of threads. A large population is
/// cut into at least eight blocks so that both cores (and then some) have work.
pub(super) fn blocks_alone(spec: &RunSpec) -> Vec<(u32, u32)> {
    let n = spec.neurons;
    let count = n
        .div_ceil(block_size(spec))
        .max((n / MIN_PARALLEL_BLOCK).min(8))
        .max(1);
    let size = n.div_ceil(count);
    (0..n)
        .step_by(size.max(1) as usize)
        .map(|first| (first, (first + size).min(n)))
        .collect()
}

/// The blocks of a pack. One run is cut as on its own; packed runs (each small enough
/// to fit one block, see `pack_key`) fill blocks whole, in order, so no packed run is
/// ever split and each run's numbers cannot depend on its neighbours.
fn blocks(runs: &[&RunSpec]) -> Vec<Vec<Part>> {
    if let [spec] = runs {
        return blocks_alone(spec)
            .into_iter()
            .map(|(first, last)| {
                vec![Part {
                    run: 0,
                    first,
                    last,
                }]
            })
            .collect();
    }
    // A packed run fits one block, recording included (`pack_key`); a block takes
    // runs until either its neurons or its trace rows would pass their budget.
    let mut out: Vec<Vec<Part>> = Vec::new();
    let mut current: Vec<Part> = Vec::new();
    let (mut held, mut rows) = (0, 0);
    for (run, spec) in runs.iter().enumerate() {
        let full =
            held + spec.neurons > MAX_BLOCK || rows + recorded_rows(spec) > TRACE_ROWS_PER_BLOCK;
        if !current.is_empty() && full {
            out.push(std::mem::take(&mut current));
            (held, rows) = (0, 0);
        }
        held += spec.neurons;
        rows += recorded_rows(spec);
        current.push(Part {
            run,
            first: 0,
            last: spec.neurons,
        });
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A block's output held until it is its turn to reach the sink.
#[derive(Default)]
struct Buffer {
    calls: Vec<(u32, u32, Output)>,
}

enum Output {
    Spikes(Vec<f64>),
    Trace(TraceChunk),
}

impl Sink for Buffer {
    fn spikes(&mut self, run_id: u32, neuron: u32, times: &[f64]) -> Result<(), SinkError> {
        self.calls
            .push((run_id, neuron, Output::Spikes(times.to_vec())));
        Ok(())
    }
    fn trace(&mut self, run_id: u32, neuron: u32, chunk: &TraceChunk) -> Result<(), SinkError> {
        self.calls
            .push((run_id, neuron, Output::Trace(chunk.clone())));
        Ok(())
    }
    fn take_trace(&mut self, run_id: u32, neuron: u32, chunk: TraceChunk) -> Result<(), SinkError> {
        self.calls.push((run_id, neuron, Output::Trace(chunk)));
        Ok(())
    }
}

impl Buffer {
    fn replay(self, sink: &mut dyn Sink, skip: &[u32]) -> Result<(), EngineError> {
        for (run_id, neuron, call) in self.calls {
            if skip.contains(&run_id) {
                continue;
            }
            match call {
                Output::Spikes(t) => sink.spikes(run_id, neuron, &t),
                Output::Trace(c) => sink.take_trace(run_id, neuron, c),
            }
            .map_err(EngineError::Sink)?;
        }
        Ok(())
    }
}

/// One run's share of a block: its neurons (indices j), its population-wide noise
/// stream, and how it ended.
struct RunState<'a> {
    spec: &'a RunSpec,
    /// The pack's index of the run.
    index: usize,
    /// The block's neurons of this run, and the first one's neuron number in the run.
    range: Range<usize>,
    first: u32,
    shared_rng: ChaCha8Rng,
    /// State and this step's value of each noise source that is shared.
    shared_x: Vec<f64>,
    shared_now: Vec<f64>,
    /// (decay, scale) of each noise source at the run's dt.
    coefficients: Vec<(f64, f64)>,
    failed: Option<EngineError>,
    /// Spikes already handed to the sink by a one-neuron block.
    flushed: u64,
}

/// Neurons that share one input, and whether it is the same at every time.
struct Segment<'a> {
    input: Cow<'a, Input>,
    range: Range<usize>,
    steady: bool,
    /// The membrane time constant of its neurons under `exact` (NaN when they differ
    /// or the method does not weight the input).
    tau: f64,
}

/// Per-neuron state of a block, in parallel arrays indexed by j.
struct Block<'a, M> {
    runs: Vec<RunState<'a>>,
    /// Index into `runs` of each neuron.
    run_of: Vec<usize>,
    segments: Vec<Segment<'a>>,
    segment_of: Vec<usize>,
    /// Each neuron's model, and whether they are all the same.
    models: Vec<M>,
    same: bool,
    dt: f64,
    steps: u64,
    v: Vec<f64>,
    w: Vec<f64>,
    /// End of the current refractory period (ms); in the past when not refractory.
    refractory_until: Vec<f64>,
    /// Neurons of failed runs: no longer advanced.
    dead: Vec<bool>,
    /// The deterministic current over the step under way (start, midpoint, end): of
    /// the block's one input in `det`, or per neuron in `det_*` when its neurons have
    /// several inputs (packed runs, per-neuron inputs; the arrays are empty otherwise).
    det: Currents,
    det_start: Vec<f64>,
    det_mid: Vec<f64>,
    det_end: Vec<f64>,
    /// (shared, coloured) of each noise source; the same for every run of a pack.
    noise_shape: Vec<(bool, bool)>,
    /// Each neuron's own stream (empty when no run of the block draws anything).
    rngs: Vec<ChaCha8Rng>,
    /// Per neuron and source (index j * sources + k): OU state and coefficients.
    noise_x: Vec<f64>,
    coefficients: Vec<(f64, f64)>,
    /// Each neuron's constant per-neuron current (`spread` stimuli).
    bias: Vec<f64>,
    /// Each neuron's white-noise variance rate of V (mV²/ms) where crossings between
    /// grid points are tested, else 0; empty when no neuron of the block is tested.
    bridge_var: Vec<f64>,
    spikes: Vec<Vec<f64>>,
    /// Recorded neurons of this block: (j, buffer).
    traces: Vec<(usize, TraceChunk)>,
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

fn draw(value: InitValue, rng: Option<&mut ChaCha8Rng>) -> f64 {
    match (value, rng) {
        (InitValue::Fixed(x), _) => x,
        (InitValue::Normal { mean, sd }, Some(rng)) => mean + sd * normal(rng),
        (InitValue::Normal { .. }, None) => unreachable!("a drawn value has a stream"),
    }
}

/// Whether a run's neurons draw from their streams at all.
fn draws<M: Model>(spec: &RunSpec) -> bool {
    let random = |v: InitValue| matches!(v, InitValue::Normal { .. });
    spec.input.noises().next().is_some()
        || random(spec.initial.v)
        || (M::HAS_W && random(spec.initial.w))
}

impl<'a, M: Model> Block<'a, M> {
    fn new(runs: &[&'a RunSpec], parts: &[Part]) -> Self {
        let n: usize = parts.iter().map(|p| (p.last - p.first) as usize).sum();
        let spec0 = runs[parts[0].run];
        let noise_shape: Vec<(bool, bool)> = spec0
            .input
            .noises()
            .map(|nz| (nz.shared, nz.tau.is_some()))
            .collect();
        let any_draws = parts.iter().any(|p| draws::<M>(runs[p.run]));
        let mut block = Block {
            runs: Vec::with_capacity(parts.len()),
            run_of: Vec::with_capacity(n),
            segments: Vec::new(),
            segment_of: Vec::with_capacity(n),
            models: Vec::with_capacity(n),
            same: true,
            dt: spec0.dt,
            steps: spec0.steps,
            v: Vec::with_capacity(n),
            w: Vec::with_capacity(n),
            refractory_until: vec![f64::NEG_INFINITY; n],
            dead: vec![false; n],
            det: Currents {
                start: 0.0,
                mid: 0.0,
                end: 0.0,
            },
            det_start: Vec::new(),
            det_mid: Vec::new(),
            det_end: Vec::new(),
            noise_shape,
            rngs: Vec::with_capacity(if any_draws { n } else { 0 }),
            noise_x: Vec::new(),
            coefficients: Vec::new(),
            bias: Vec::with_capacity(n),
            bridge_var: Vec::with_capacity(n),
            spikes: vec![Vec::new(); n],
            traces: Vec::new(),
        };
        let mut first_params: Option<Params> = None;
        for part in parts {
            block.add(runs[part.run], *part, any_draws, &mut first_params);
        }
        block
    }

    /// Append one run's neurons `part.first..part.last`.
    fn add(
        &mut self,
        spec: &'a RunSpec,
        part: Part,
        any_draws: bool,
        first_params: &mut Option<Params>,
    ) {
        let start = self.v.len();
        let r = self.runs.len();
        let count = (part.last - part.first) as usize;
        let noises: Vec<_> = spec.input.noises().cloned().collect();
        let mut shared_rng = seed::shared_stream(spec.seed);
        // Draw order is fixed per stream: shared OU states first, then per neuron V,
        // w and its own OU states. Blocks redraw the same shared values.
        let shared_x = noises
            .iter()
            .map(|nz| {
                if nz.shared {
                    nz.initial_sd() * normal(&mut shared_rng)
                } else {
                    0.0
                }
            })
            .collect();
        let values = if spec.varies_per_neuron() {
            spec.neuron_values(part.first, part.last)
        } else {
            Vec::new()
        };
        let run_model = M::new(&spec.params);
        let steady = spec.input.steady();
        let per_neuron_input = values.iter().any(|x| x.input.is_some());
        let mut values = values.into_iter();
        if !per_neuron_input {
            self.segments.push(Segment {
                input: Cow::Borrowed(&spec.input),
                range: start..start + count,
                steady,
                tau: f64::NAN,
            });
        }
        // The variance rate of V's white noise is (gain × σ)² summed over the run's
        // white sources, shared ones included (each is white in time).
        let white: f64 = noises
            .iter()
            .filter(|nz| nz.tau.is_none())
            .map(|nz| nz.sigma * nz.sigma)
            .sum();
        let tested = spec.crossings == Crossings::Bridge && white > 0.0;
        for k in 0..count {
            let neuron = part.first + k as u32;
            let j = start + k;
            let NeuronValues {
                params,
                input,
                v,
                w,
            } = values.next().unwrap_or_default();
            let params = params.unwrap_or(spec.params);
            let model = if params.identical(&spec.params) {
                run_model
            } else {
                M::new(&params)
            };
            self.models.push(model);
            self.bridge_var.push(match model.noise_gain() {
                Some(gain) if tested => gain * gain * white,
                _ => 0.0,
            });
            match first_params {
                None => *first_params = Some(params),
                Some(p) => self.same &= p.identical(&params),
            }
            if per_neuron_input {
                let input = input.map_or(Cow::Borrowed(&spec.input), Cow::Owned);
                let steady = input.steady();
                self.segments.push(Segment {
                    input,
                    range: j..j + 1,
                    steady,
                    tau: f64::NAN,
                });
            }
            self.segment_of.push(self.segments.len() - 1);
            let input = &self.segments[self.segments.len() - 1].input;
            self.bias.push(input.bias(neuron, spec.neurons));
            let mut rng = any_draws.then(|| seed::neuron_stream(spec.seed, neuron));
            self.v
                .push(v.unwrap_or_else(|| draw(spec.initial.v, rng.as_mut())));
            self.w.push(match (M::HAS_W, w) {
                (false, _) => 0.0,
                (true, Some(w)) => w,
                (true, None) => draw(spec.initial.w, rng.as_mut()),
            });
            for nz in input.noises() {
                let x = match (&mut rng, nz.shared) {
                    (Some(rng), false) => nz.initial_sd() * normal(rng),
                    _ => 0.0,
                };
                self.noise_x.push(x);
                self.coefficients.push(nz.coefficients(spec.dt));
            }
            if let Some(rng) = rng {
                self.rngs.push(rng);
            }
            self.run_of.push(r);
        }
        let recorded = &spec.record.neurons;
        if spec.record.any() {
            let lo = recorded.partition_point(|&x| x < part.first);
            let hi = recorded.partition_point(|&x| x < part.last);
            self.traces.extend(
                recorded[lo..hi]
                    .iter()
                    .map(|&x| (start + (x - part.first) as usize, TraceChunk::default())),
            );
        }
        self.runs.push(RunState {
            spec,
            index: part.run,
            range: start..start + count,
            first: part.first,
            shared_rng,
            shared_x,
            shared_now: vec![0.0; noises.len()],
            coefficients: noises.iter().map(|nz| nz.coefficients(spec.dt)).collect(),
            failed: None,
            flushed: 0,
        });
    }

    /// The neuron's number within its run.
    fn neuron(&self, j: usize) -> u32 {
        let run = &self.runs[self.run_of[j]];
        run.first + (j - run.range.start) as u32
    }

    fn run<I: Integrator<M>>(
        mut self,
        sink: &mut dyn Sink,
        slow_path: SlowPath,
    ) -> Result<Vec<BlockOutcome>, EngineError> {
        let dt = self.dt;
        let n = self.v.len();
        // A neuron that starts at or above its spike voltage fires at t = 0.
        for j in 0..n {
            if self.v[j] >= self.models[j].spike_voltage() {
                self.fire(j, 0.0, self.w[j]);
            }
        }
        // Under `exact` each segment's input is weighted by its neurons' membrane
        // kernel: one τ per segment when they share it, else one per neuron.
        if I::WEIGHTED {
            for seg in &mut self.segments {
                let tau = self.models[seg.range.start].exact_tau();
                let same = self.models[seg.range.clone()]
                    .iter()
                    .all(|m| m.exact_tau().to_bits() == tau.to_bits());
                seg.tau = if same { tau } else { f64::NAN };
            }
        }
        let by_neuron = I::WEIGHTED && self.segments.iter().any(|s| s.tau.is_nan());
        if self.segments.len() > 1 || by_neuron {
            self.det_start = vec![0.0; n];
            self.det_mid = vec![0.0; n];
            self.det_end = vec![0.0; n];
        }
        if self.bridge_var.iter().all(|&x| x == 0.0) {
            self.bridge_var = Vec::new();
        }
        let batched = slow_path == SlowPath::Batched && I::BATCHED;
        let mut batch = Batch::new();
        let mut failed = Vec::new();
        // Steady inputs are evaluated once; only the others at every step.
        let mut moving = Vec::new();
        for s in 0..self.segments.len() {
            if self.segments[s].steady {
                self.fill_det::<I>(s, 0.0, dt);
            } else {
                moving.push(s);
            }
        }
        let every = u64::from(self.runs[0].spec.record.every);
        // The per-neuron additive current: bias plus this step's noise draws.
        let mut noise_now = self.bias.clone();
        let mut slow = vec![false; n];
        for step in 0..self.steps {
            let t = step as f64 * dt;
            let t_end = (step + 1) as f64 * dt;
            let h = t_end - t;
            for &s in &moving {
                self.fill_det::<I>(s, t, t_end);
            }
            self.draw_noise(&mut noise_now);
            if step % every == 0 && !self.traces.is_empty() {
                self.sample(t, &noise_now);
            }
            // Every neuron takes a plain step, in a loop with no branches that the
            // compiler vectorises; the neurons it flags (refractory, spike, upswing,
            // non-finite) redo their step the slow way.
            if self.plain_steps::<I>(t, h, &noise_now, &mut slow) {
                self.slow_path::<I>(
                    Flagged::new(&slow),
                    batched,
                    t,
                    t_end,
                    &noise_now,
                    &mut batch,
                    &mut failed,
                );
            }
            if n == 1 {
                self.flush_single(sink)?;
            }
        }
        self.emit(sink)
    }

    /// Hand each run's spikes and traces to the sink, run by run; a failed run's are
    /// dropped.
    fn emit(self, sink: &mut dyn Sink) -> Result<Vec<BlockOutcome>, EngineError> {
        let mut out = Vec::with_capacity(self.runs.len());
        let mut traces = self.traces.into_iter().peekable();
        for run in self.runs {
            let id = run.spec.run_id;
            let mine: Vec<(usize, TraceChunk)> =
                std::iter::from_fn(|| traces.next_if(|(j, _)| run.range.contains(j))).collect();
            if let Some(e) = run.failed {
                out.push((run.index, Err(e)));
                continue;
            }
            let mut count = run.flushed;
            for j in run.range.clone() {
                let times = &self.spikes[j];
                count += times.len() as u64;
                if !times.is_empty() {
                    let neuron = run.first + (j - run.range.start) as u32;
                    sink.spikes(id, neuron, times).map_err(EngineError::Sink)?;
                }
            }
            for (j, chunk) in mine {
                if !chunk.is_empty() {
                    let neuron = run.first + (j - run.range.start) as u32;
                    sink.take_trace(id, neuron, chunk)
                        .map_err(EngineError::Sink)?;
                }
            }
            out.push((run.index, Ok(count)));
        }
        Ok(out)
    }

    /// Every neuron's plain step (see `kernel`), with the block's models and inputs
    /// in the form that suits them; returns whether any neuron needs the slow path.
    fn plain_steps<I: Integrator<M>>(
        &mut self,
        t: f64,
        h: f64,
        noise: &[f64],
        slow: &mut [bool],
    ) -> bool {
        let (v, w) = (&mut self.v, &mut self.w);
        let (models, same, bridge) = (&self.models[..], self.same, &self.bridge_var[..]);
        let until = &self.refractory_until;
        if self.det_start.is_empty() {
            let det = Shared(self.det);
            let step = kernel::Step {
                t,
                h,
                det,
                noise,
                until,
            };
            return plain_steps_for::<M, I, _>(models, same, bridge, &step, v, w, slow);
        }
        let det = PerNeuron {
            start: &self.det_start,
            mid: &self.det_mid,
            end: &self.det_end,
        };
        let step = kernel::Step {
            t,
            h,
            det,
            noise,
            until,
        };
        plain_steps_for::<M, I, _>(models, same, bridge, &step, v, w, slow)
    }

    /// The deterministic current of segment `s` over the step [t, t_end]; under
    /// `exact` its midpoint is the input's mean under the membrane kernel.
    fn fill_det<I: Integrator<M>>(&mut self, s: usize, t: f64, t_end: f64) {
        let seg = &self.segments[s];
        let h = t_end - t;
        let mid = if !I::WEIGHTED {
            seg.input.at(t + 0.5 * h)
        } else if seg.tau.is_nan() {
            f64::NAN // filled per neuron below
        } else {
            seg.input.weighted(t, h, seg.tau)
        };
        let det = Currents {
            start: seg.input.at(t),
            mid,
            // The left limit: a step that ends where an input switches must not see
            // the new value (that would move the switch by dt/6 under rk4).
            end: seg.input.before(t_end),
        };
        if self.det_start.is_empty() {
            self.det = det;
            return;
        }
        let range = seg.range.clone();
        self.det_start[range.clone()].fill(det.start);
        self.det_end[range.clone()].fill(det.end);
        if mid.is_nan() {
            for j in range {
                self.det_mid[j] = seg.input.weighted(t, h, self.models[j].exact_tau());
            }
        } else {
            self.det_mid[range].fill(mid);
        }
    }

    /// Record the first failure of neuron j's run and stop advancing its neurons.
    fn fail(&mut self, j: usize, e: EngineError) {
        let run = &mut self.runs[self.run_of[j]];
        run.failed.get_or_insert(e);
        self.dead[run.range.clone()].fill(true);
    }

    /// One draw per noise source and step: from the run's shared stream for shared
    /// noise, else from each neuron's own stream. Draws happen whatever the neuron's
    /// state, so a stream's use never depends on the dynamics.
    fn draw_noise(&mut self, noise_now: &mut [f64]) {
        let sources = self.noise_shape.len();
        if sources == 0 {
            return;
        }
        for run in &mut self.runs {
            for (k, &(shared, coloured)) in self.noise_shape.iter().enumerate() {
                if shared {
                    let (decay, scale) = run.coefficients[k];
                    run.shared_now[k] = step_noise(
                        &mut run.shared_x[k],
                        decay,
                        scale,
                        coloured,
                        &mut run.shared_rng,
                    );
                }
            }
        }
        for (j, out) in noise_now.iter_mut().enumerate() {
            let mut total = self.bias[j];
            for (k, &(shared, coloured)) in self.noise_shape.iter().enumerate() {
                total += if shared {
                    self.runs[self.run_of[j]].shared_now[k]
                } else {
                    let (decay, scale) = self.coefficients[j * sources + k];
                    let x = &mut self.noise_x[j * sources + k];
                    step_noise(x, decay, scale, coloured, &mut self.rngs[j])
                };
            }
            *out = total;
        }
    }

    fn sample(&mut self, t: f64, noise_now: &[f64]) {
        let rec = &self.runs[0].spec.record;
        for (j, chunk) in self.traces.iter_mut() {
            let j = *j;
            chunk.t.push(t);
            if rec.v {
                chunk.v.push(self.v[j]);
            }
            if rec.i {
                let det = self.det_start.get(j).copied().unwrap_or(self.det.start);
                chunk.i.push(det + noise_now[j]);
            }
            if rec.w && M::HAS_W {
                chunk.w.push(self.w[j]);
            }
        }
    }

    /// Redo the step [t, t_end] of the flagged neurons: with `batched`, those not
    /// tested for crossings between grid points together (`engine::lanes`), the
    /// others one by one (`advance_slow`). Failures are taken in
    /// neuron order once all are done, so each run keeps the error of its first
    /// failing neuron, as when neurons were advanced in order.
    #[allow(clippy::too_many_arguments)]
    fn slow_path<I: Integrator<M>>(
        &mut self,
        flagged: Flagged,
        batched: bool,
        t: f64,
        t_end: f64,
        noise: &[f64],
        batch: &mut Batch<M>,
        failed: &mut Vec<(usize, EngineError)>,
    ) {
        for j in flagged {
            if self.dead[j] {
                continue;
            }
            if batched && self.bridge_var.get(j).is_none_or(|&x| x == 0.0) {
                // A steady input is the step's deterministic current (see fill_det).
                let current = if self.segments[self.segment_of[j]].steady {
                    let det = self.det_start.get(j).copied().unwrap_or(self.det.start);
                    LaneCurrent::Steady(det + noise[j])
                } else {
                    LaneCurrent::Moving { own: noise[j] }
                };
                batch.push(j, self.models[j], self.v[j], self.w[j], current);
            } else if let Err(e) = self.advance_slow::<I>(j, t, t_end, noise[j]) {
                failed.push((j, e));
            }
        }
        if !batch.is_empty() {
            let mut lanes_failed = Vec::new();
            let (segments, segment_of) = (&self.segments, &self.segment_of);
            let input = |j: usize, t: f64, left: bool| {
                let input = &segments[segment_of[j]].input;
                if left {
                    input.before(t)
                } else {
                    input.at(t)
                }
            };
            let mut neurons = Neurons {
                models: &self.models,
                same: self.same,
                input: &input,
                v: &mut self.v,
                w: &mut self.w,
                refractory_until: &mut self.refractory_until,
                spikes: &mut self.spikes,
            };
            let span = Span {
                t0: t,
                t_end,
                dt: self.dt,
                spike_limit: SPIKES_PER_STEP_LIMIT,
            };
            batch.run::<I>(&mut neurons, span, &mut lanes_failed);
            for (j, why) in lanes_failed {
                let neuron = self.neuron(j);
                let e = match why {
                    Failure::NonFinite { t, v, w } => EngineError::NonFinite { neuron, t, v, w },
                    Failure::Runaway { t } => EngineError::Runaway {
                        neuron,
                        t,
                        limit: SPIKES_PER_STEP_LIMIT,
                    },
                };
                failed.push((j, e));
            }
        }
        if !failed.is_empty() {
            failed.sort_by_key(|&(j, _)| j);
            for (j, e) in failed.drain(..) {
                self.fail(j, e);
            }
        }
    }

    /// Refractory hold, spikes located inside the step, and the rest of the step from
    /// the reset state, until t_end.
    fn advance_slow<I: Integrator<M>>(
        &mut self,
        j: usize,
        t0: f64,
        t_end: f64,
        noise: f64,
    ) -> Result<(), EngineError> {
        let m = self.models[j];
        let dt = self.dt;
        let neuron = self.neuron(j);
        let input: &Input = &self.segments[self.segment_of[j]].input;
        let theta = m.spike_voltage();
        let tau = m.exact_tau();
        let var = self.bridge_var.get(j).copied().unwrap_or(0.0);
        let current = |t: f64| input.at(t) + noise;
        let current_before = |t: f64| input.before(t) + noise;
        // The current over [t, t + s] as the method sees it (see `fill_det`).
        let mid = |t: f64, s: f64| {
            if I::WEIGHTED {
                input.weighted(t, s, tau) + noise
            } else {
                current(t + 0.5 * s)
            }
        };
        let (mut v, mut w) = (self.v[j], self.w[j]);
        let mut t = t0;
        let mut fired = 0;
        loop {
            let held_until = self.refractory_until[j];
            if held_until > t {
                let until = held_until.min(t_end);
                w = m.w_held(w, until - t);
                v = m.v_reset();
                t = until;
            }
            let remaining = t_end - t;
            // A remainder this short is rounding, not time left in the step.
            if remaining <= 1e-9 * dt {
                break;
            }
            // In the upswing, sub-steps that resolve the exponential run-away (not
            // below a millionth of dt, so the loop always ends).
            let h = kernel::cut(remaining, m.upswing_step(v, w, current(t)), 1e-6 * dt);
            let at = |s: f64| Currents {
                start: current(t),
                mid: mid(t, s),
                end: current_before(t + s),
            };
            let (v1, w1) = I::step(&m, v, w, at(h), h);
            if v1.is_nan() || !w1.is_finite() {
                return Err(EngineError::NonFinite {
                    neuron,
                    t: t_end,
                    v: v1,
                    w: w1,
                });
            }
            // Below threshold at the step's end: under white noise the path may still
            // have crossed in between (`bridge_crossing`, drawn from the neuron's own
            // stream, so its use depends only on this neuron's own trajectory).
            let between = if v1 < theta && var > 0.0 {
                bridge_crossing(&mut self.rngs[j], var, theta, v, v1, h)
            } else {
                None
            };
            if v1 < theta && between.is_none() {
                v = v1;
                w = w1;
                t += h;
                if h < remaining {
                    continue;
                }
                break;
            }
            let s = match between {
                Some(s) => s,
                None => I::crossing(&m, v, w, h, &at),
            };
            let (_, w_at) = I::step(&m, v, w, at(s), s);
            t += s;
            fired += 1;
            if fired > SPIKES_PER_STEP_LIMIT {
                return Err(EngineError::Runaway {
                    neuron,
                    t,
                    limit: SPIKES_PER_STEP_LIMIT,
                });
            }
            self.spikes[j].push(t);
            self.refractory_until[j] = t + m.t_ref();
            w = w_at + m.jump();
            v = m.v_reset();
        }
        if !v.is_finite() || !w.is_finite() {
            return Err(EngineError::NonFinite {
                neuron,
                t: t_end,
                v,
                w,
            });
        }
        self.v[j] = v;
        self.w[j] = w;
        Ok(())
    }

    /// Register a spike of neuron j at time t; returns w after the jump.
    fn fire(&mut self, j: usize, t: f64, w: f64) -> f64 {
        let m = self.models[j];
        self.spikes[j].push(t);
        self.refractory_until[j] = t + m.t_ref();
        self.v[j] = m.v_reset();
        let w = w + m.jump();
        self.w[j] = w;
        w
    }

    /// A one-neuron block streams its rows as it goes: they are already in order, and
    /// holding them could exceed the block budget on a long recording.
    fn flush_single(&mut self, sink: &mut dyn Sink) -> Result<(), EngineError> {
        let run = &mut self.runs[0];
        let (id, neuron) = (run.spec.run_id, run.first);
        if let Some((_, chunk)) = self.traces.first_mut() {
            if chunk.len() >= TRACE_ROWS_PER_BLOCK {
                sink.trace(id, neuron, chunk).map_err(EngineError::Sink)?;
                chunk.clear();
            }
        }
        if self.spikes[0].len() >= TRACE_ROWS_PER_BLOCK {
            sink.spikes(id, neuron, &self.spikes[0])
                .map_err(EngineError::Sink)?;
            run.flushed += self.spikes[0].len() as u64;
            self.spikes[0].clear();
        }
        Ok(())
    }
}

/// The kernel for one form of the drive, with the block's one model or one per
/// neuron, and with the test for crossings between grid points where any neuron needs
/// it (`bridge` not empty).
fn plain_steps_for<M: Model, I: Integrator<M>, D: Drive>(
    models: &[M],
    same: bool,
    bridge: &[f64],
    step: &kernel::Step<D>,
    v: &mut [f64],
    w: &mut [f64],
    slow: &mut [bool],
) -> bool {
    fn with<M: Model, I: Integrator<M>, D: Drive, B: CrossingTest>(
        models: &[M],
        same: bool,
        step: &kernel::Step<D>,
        test: B,
        v: &mut [f64],
        w: &mut [f64],
        slow: &mut [bool],
    ) -> bool {
        if same {
            kernel::plain_steps_with::<M, I, _, D, B>(Same(models[0]), step, test, v, w, slow)
        } else {
            kernel::plain_steps_with::<M, I, _, D, B>(Each(models), step, test, v, w, slow)
        }
    }
    if bridge.is_empty() {
        with::<M, I, D, _>(models, same, step, GridOnly, v, w, slow)
    } else {
        with::<M, I, D, _>(models, same, step, Bridge(bridge), v, w, slow)
    }
}

/// Advance one noise source by a step and return its current for this step: white
/// noise is a fresh draw scaled by sigma/√dt; OU uses its state, then updates it.
#[inline]
fn step_noise(x: &mut f64, decay: f64, scale: f64, ou: bool, rng: &mut ChaCha8Rng) -> f64 {
    let xi = normal(rng);
    if ou {
        let now = *x;
        *x = decay * now + scale * xi;
        now
    } else {
        scale * xi
    }
}

/// The indices of the flagged neurons, in order. Few neurons are slow in a step, so
/// the flags are read 64 at a time (eight words of eight) and only the words of a
/// group with a flag are looked into.
struct Flagged<'a> {
    flags: &'a [bool],
    /// Where the next group starts.
    next: usize,
    /// The current group as eight words, one byte per flag (byte i of `words[w]` is
    /// the flag at `base + 8w + i`, cleared once handed out), and the word being read.
    words: [u64; 8],
    word: usize,
    base: usize,
}

impl<'a> Flagged<'a> {
    fn new(flags: &'a [bool]) -> Self {
        Flagged {
            flags,
            next: 0,
            words: [0; 8],
            word: 8,
            base: 0,
        }
    }

    /// Load the next group of up to 64 flags that holds one; false when none is left.
    fn load(&mut self) -> bool {
        while self.next < self.flags.len() {
            let group = &self.flags[self.next..self.flags.len().min(self.next + 64)];
            self.base = self.next;
            self.next += group.len();
            // An OR over the group's bytes, which the compiler vectorises.
            if !group.iter().fold(false, |any, &f| any | f) {
                continue;
            }
            self.words = [0; 8];
            for (w, chunk) in self.words.iter_mut().zip(group.chunks(8)) {
                *w = match <&[bool; 8]>::try_from(chunk) {
                    Ok(eight) => word(eight),
                    Err(_) => chunk
                        .iter()
                        .enumerate()
                        .fold(0, |word, (i, &f)| word | u64::from(f) << (8 * i)),
                };
            }
            self.word = 0;
            return true;
        }
        false
    }
}

/// Eight flags as the bytes of a word (one 8-byte load once compiled).
#[inline(always)]
fn word(eight: &[bool; 8]) -> u64 {
    u64::from_le_bytes(eight.map(u8::from))
}

impl Iterator for Flagged<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        loop {
            while self.word < 8 {
                let bits = &mut self.words[self.word];
                if *bits != 0 {
                    let i = (bits.trailing_zeros() / 8) as usize;
                    *bits &= *bits - 1;
                    return Some(self.base + 8 * self.word + i);
                }
                self.word += 1;
            }
            if !self.load() {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{pack_key, MemorySink};
    use crate::experiment::{parse, plan::plan};
    use crate::model::{self, Visit};
    use std::collections::BTreeMap;

    /// Everything a run hands over, as bits: spikes, trace samples, outcomes.
    type Bits = (Vec<(u32, u32, u64)>, Vec<Vec<u64>>, Vec<String>);

    /// The runs through the engine with the given slow path.
    struct Through<'a> {
        runs: &'a [&'a RunSpec],
        slow_path: SlowPath,
    }

    impl Visit for Through<'_> {
        type Output = Bits;
        fn visit<M: Model>(self) -> Bits {
            use crate::engine::integrate::{Euler, Rk4};
            use crate::experiment::spec::Method;
            let mut sink = MemorySink::default();
            let outcomes = match self.runs[0].method {
                Method::Euler => run_with::<M, Euler>(self.runs, &mut sink, self.slow_path),
                Method::Rk4 => run_with::<M, Rk4>(self.runs, &mut sink, self.slow_path),
                Method::Exact => unreachable!("not in these experiments"),
            }
            .unwrap();
            let spikes = sink
                .spikes
                .iter()
                .map(|&(r, n, t)| (r, n, t.to_bits()))
                .collect();
            let traces = sink
                .traces
                .iter()
                .map(|(_, _, c)| {
                    [&c.v, &c.w]
                        .into_iter()
                        .flatten()
                        .map(|x| x.to_bits())
                        .collect()
                })
                .collect();
            let outcomes = outcomes.iter().map(|o| format!("{o:?}")).collect();
            (spikes, traces, outcomes)
        }
    }

    fn through(runs: &[&RunSpec], slow_path: SlowPath) -> Bits {
        model::visit(runs[0].model(), Through { runs, slow_path })
    }

    #[test]
    fn flagged_finds_every_flag_in_order() {
        let mut x = 7u64;
        for n in [0, 1, 7, 8, 9, 63, 64, 65, 200, 1250] {
            for density in [0, 1, 20, 64] {
                let flags: Vec<bool> = (0..n)
                    .map(|_| {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                        (x >> 58) < density
                    })
                    .collect();
                let want: Vec<usize> = (0..n).filter(|&j| flags[j]).collect();
                assert_eq!(
                    Flagged::new(&flags).collect::<Vec<_>>(),
                    want,
                    "{n} {density}"
                );
            }
        }
    }

    /// The batched slow path must give the scalar path's bits for every model with
    /// an upswing (and the LIF), both methods, steady and moving inputs, noise,
    /// refractoriness, per-neuron parameters (one model per neuron in the batch),
    /// packed runs, and runs that fail (a current no model can follow).
    #[test]
    fn batched_and_scalar_slow_paths_give_the_same_bits() {
        for (method, neurons) in [("euler", 40), ("rk4", 40), ("euler", 1), ("rk4", 3)] {
            let recorded = neurons.min(4);
            let text = format!(
                "name: slow\nseed: 3\nduration: 60 ms\ndt: 0.1 ms\nmethod: {method}\n\
                 neurons: {neurons}\ninitial: {{V: {{normal: [-60 mV, 8 mV]}}, w: 0 pA}}\n\
                 record: {{variables: [V, w], neurons: {{first: {recorded}}}, every: 1}}\n\
                 variants:\n\
                 - {{label: a, model: {{type: adex}}, input: {{type: spread, from: 400 pA, to: 1200 pA}}}}\n\
                 - {{label: b, model: {{type: adex, t_ref: 0.25 ms}}, input: {{type: noise, mean: 800 pA, sigma: 300 pA*sqrt(ms)}}}}\n\
                 - {{label: c, model: {{type: eif}}, input: {{type: sine, offset: 900 pA, amplitude: 300 pA, frequency: 40 Hz}}}}\n\
                 - {{label: d, model: {{type: eif, t_ref: 0.15 ms}}, input: {{type: constant, amplitude: 1500 pA}}}}\n\
                 - {{label: e, model: {{type: izhikevich}}, input: {{type: constant, amplitude: 300 pA}}}}\n\
                 - {{label: f, model: {{type: lif, t_ref: 1 ms}}, input: {{type: noise, mean: 700 pA, sigma: 400 pA*sqrt(ms)}}}}\n\
                 - {{label: g, model: {{type: adex}}, input: {{type: constant, amplitude: 1e9 pA}}}}\n\
                 - {{label: h, model: {{type: lif}}, input: {{type: constant, amplitude: 2e5 pA}}}}\n\
                 - {{label: i, model: {{type: izhikevich}}, input: {{type: constant, amplitude: 5e4 pA}}}}\n\
                 - {{label: j, model: {{type: adex}}, input: {{type: constant, amplitude: 600 pA}}, per_neuron: {{model.a: {{linspace: [-2 nS, 8 nS]}}, input.amplitude: {{linspace: [500 pA, 1500 pA]}}}}}}\n\
                 - {{label: k, model: {{type: adex}}, input: [{{type: step, amplitude: 900 pA, start: 20 ms, stop: 45 ms}}, {{type: spread, from: 200 pA, to: 600 pA}}]}}\n"
            );
            let plan = plan(&parse(&text).unwrap()).unwrap();
            let specs = plan.runs();
            let mut packs: BTreeMap<_, Vec<&RunSpec>> = BTreeMap::new();
            for spec in &specs {
                let alone = [spec.as_ref()];
                let batched = through(&alone, SlowPath::Batched);
                let scalar = through(&alone, SlowPath::Scalar);
                // Not assert_eq!: a run's bits are too many to print.
                assert!(
                    batched == scalar,
                    "{method} {neurons} {} differs",
                    spec.label
                );
                // Every run of many neurons spikes (or fails), so the slow path is taken.
                let spiked = !batched.0.is_empty() || batched.2[0].contains("Err");
                assert!(spiked || neurons == 1, "{method} {}", spec.label);
                if let Some(key) = pack_key(spec) {
                    packs.entry(key).or_default().push(spec.as_ref());
                }
            }
            let mut failures = 0;
            for runs in packs.values() {
                let batched = through(runs, SlowPath::Batched);
                let scalar = through(runs, SlowPath::Scalar);
                assert!(batched == scalar, "{method} {neurons}: a pack differs");
                failures += batched.2.iter().filter(|o| o.contains("Err")).count();
            }
            assert!(failures > 0, "the failing run is in a pack");
        }
    }
}
