//! One block of neurons as a struct of arrays, stepped through the whole run:
//! noise draws, the fast path (a plain step with no spike), and the slow path
//! (refractory hold, crossing located inside the step, reset, rest of the step).

use super::integrate::{Currents, Integrator};
use super::kernel;
use super::{EngineError, Outcome, Sink, SinkError, TraceChunk, MAX_BLOCK, TRACE_ROWS_PER_BLOCK};
use crate::experiment::spec::{InitValue, RunSpec};
use crate::model::Dynamics;
use crate::seed;
use crate::stimulus::Noise;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// More spikes than this inside one step means the input drives the neuron faster
/// than the model can represent; the run fails rather than loop.
const SPIKES_PER_STEP_LIMIT: u32 = 10_000;

pub fn run<M: Dynamics, I: Integrator<M>>(
    spec: &RunSpec,
    model: M,
    sink: &mut dyn Sink,
) -> Result<Outcome, EngineError> {
    let blocks = blocks(spec);
    let mut outcome = Outcome::default();
    let threads = rayon::current_num_threads();
    if blocks.len() == 1 || threads == 1 {
        for &(first, last) in &blocks {
            outcome.n_spikes += Block::<M>::new(spec, model, first, last).run::<I>(sink)?;
        }
        return Ok(outcome);
    }
    // Blocks of one large run go to all threads, a wave at a time: each block's output
    // is buffered and handed on in block order, so the sink sees exactly the calls of
    // a sequential run, and at most one wave of output is held at once.
    for wave in blocks.chunks(threads) {
        let done: Vec<Result<(u64, Buffer), EngineError>> = wave
            .par_iter()
            .map(|&(first, last)| {
                let mut buffer = Buffer::default();
                let n = Block::<M>::new(spec, model, first, last).run::<I>(&mut buffer)?;
                Ok((n, buffer))
            })
            .collect();
        for result in done {
            let (n, buffer) = result?;
            buffer.replay(sink)?;
            outcome.n_spikes += n;
        }
    }
    Ok(outcome)
}

/// Neuron ranges [first, last) of the blocks of a run. The split depends only on the
/// run (population and recording size), never on the thread count, so output files
/// are the same whatever the number of threads. A large population is cut into at
/// least eight blocks so that both cores (and then some) have work.
fn blocks(spec: &RunSpec) -> Vec<(u32, u32)> {
    let samples = if spec.record.any() {
        spec.steps.div_ceil(u64::from(spec.record.every)) as usize
    } else {
        0
    };
    let largest = match TRACE_ROWS_PER_BLOCK.checked_div(samples) {
        None => MAX_BLOCK,
        Some(n) => n.clamp(1, MAX_BLOCK as usize) as u32,
    };
    let n = spec.neurons;
    let count = n
        .div_ceil(largest)
        .max((n / MIN_PARALLEL_BLOCK).min(8))
        .max(1);
    let size = n.div_ceil(count);
    (0..n)
        .step_by(size.max(1) as usize)
        .map(|first| (first, (first + size).min(n)))
        .collect()
}

/// Neurons below which a run is not split further for threads: smaller blocks would
/// cost more in per-block overhead than a second core gains.
const MIN_PARALLEL_BLOCK: u32 = 256;

/// A block's output held until it is its turn to reach the sink.
#[derive(Default)]
struct Buffer {
    calls: Vec<(u32, Output)>,
}

enum Output {
    Spikes(Vec<f64>),
    Trace(TraceChunk),
}

impl Sink for Buffer {
    fn spikes(&mut self, neuron: u32, times: &[f64]) -> Result<(), SinkError> {
        self.calls.push((neuron, Output::Spikes(times.to_vec())));
        Ok(())
    }
    fn trace(&mut self, neuron: u32, chunk: &TraceChunk) -> Result<(), SinkError> {
        self.calls.push((neuron, Output::Trace(chunk.clone())));
        Ok(())
    }
}

impl Buffer {
    fn replay(self, sink: &mut dyn Sink) -> Result<(), EngineError> {
        for (neuron, call) in self.calls {
            match call {
                Output::Spikes(t) => sink.spikes(neuron, &t),
                Output::Trace(c) => sink.trace(neuron, &c),
            }
            .map_err(EngineError::Sink)?;
        }
        Ok(())
    }
}

/// Per-neuron state of a block, in parallel arrays indexed by j = neuron − first.
struct Block<'a, M> {
    spec: &'a RunSpec,
    model: M,
    first: u32,
    v: Vec<f64>,
    w: Vec<f64>,
    /// End of the current refractory period (ms); in the past when not refractory.
    refractory_until: Vec<f64>,
    rngs: Vec<ChaCha8Rng>,
    /// Noise sources and their per-neuron state x (index: j * n_noise + k).
    noises: Vec<Noise>,
    /// (decay, scale) of each source for this run's dt.
    coefficients: Vec<(f64, f64)>,
    noise_x: Vec<f64>,
    shared_rng: ChaCha8Rng,
    shared_x: Vec<f64>,
    /// Each neuron's constant per-neuron current (`spread` stimuli).
    bias: Vec<f64>,
    spikes: Vec<Vec<f64>>,
    /// Spikes already handed to the sink by a one-neuron block.
    flushed: u64,
    /// Recorded neurons of this block: (j, buffer).
    traces: Vec<(usize, TraceChunk)>,
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

fn draw(value: InitValue, rng: &mut ChaCha8Rng) -> f64 {
    match value {
        InitValue::Fixed(x) => x,
        InitValue::Normal { mean, sd } => mean + sd * normal(rng),
    }
}

impl<'a, M: Dynamics> Block<'a, M> {
    fn new(spec: &'a RunSpec, model: M, first: u32, last: u32) -> Self {
        let n = (last - first) as usize;
        let noises: Vec<Noise> = spec.input.noises().cloned().collect();
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
        let mut block = Block {
            spec,
            model,
            first,
            v: Vec::with_capacity(n),
            w: Vec::with_capacity(n),
            refractory_until: vec![f64::NEG_INFINITY; n],
            rngs: Vec::with_capacity(n),
            noise_x: Vec::with_capacity(n * noises.len()),
            coefficients: noises.iter().map(|nz| nz.coefficients(spec.dt)).collect(),
            noises,
            shared_rng,
            shared_x,
            bias: (first..last)
                .map(|k| spec.input.bias(k, spec.neurons))
                .collect(),
            spikes: vec![Vec::new(); n],
            flushed: 0,
            traces: Vec::new(),
        };
        for neuron in first..last {
            let mut rng = seed::neuron_stream(spec.seed, neuron);
            block.v.push(draw(spec.initial.v, &mut rng));
            block.w.push(if M::HAS_W {
                draw(spec.initial.w, &mut rng)
            } else {
                0.0
            });
            for nz in &block.noises {
                let x = if nz.shared {
                    0.0
                } else {
                    nz.initial_sd() * normal(&mut rng)
                };
                block.noise_x.push(x);
            }
            block.rngs.push(rng);
        }
        let recorded = &spec.record.neurons;
        if spec.record.any() {
            let lo = recorded.partition_point(|&r| r < first);
            let hi = recorded.partition_point(|&r| r < last);
            block.traces = recorded[lo..hi]
                .iter()
                .map(|&r| ((r - first) as usize, TraceChunk::default()))
                .collect();
        }
        block
    }

    fn run<I: Integrator<M>>(mut self, sink: &mut dyn Sink) -> Result<u64, EngineError> {
        let spec = self.spec;
        let dt = spec.dt;
        let theta = self.model.spike_voltage();
        let n = self.v.len();
        // A neuron that starts at or above its spike voltage fires at t = 0.
        for j in 0..n {
            if self.v[j] >= theta {
                self.fire(j, 0.0, self.w[j]);
            }
        }
        let every = u64::from(spec.record.every);
        // The per-neuron additive current: bias plus this step's noise draws.
        let mut noise_now = self.bias.clone();
        let mut shared_now = vec![0.0; self.noises.len()];
        let mut slow = vec![false; n];
        for step in 0..spec.steps {
            let t = step as f64 * dt;
            let t_end = (step + 1) as f64 * dt;
            let h = t_end - t;
            let det = Currents {
                start: spec.input.at(t),
                mid: spec.input.at(t + 0.5 * h),
                // The left limit: a step that ends where an input switches must not
                // see the new value (that would move the switch by dt/6 under rk4).
                end: spec.input.before(t_end),
            };
            self.draw_noise(&mut shared_now, &mut noise_now);
            if step % every == 0 && !self.traces.is_empty() {
                self.sample(t, det.start, &noise_now);
            }
            // Every neuron takes a plain step, in a loop with no branches that the
            // compiler vectorises; the neurons it flags (refractory, spike, upswing,
            // non-finite) redo their step the slow way.
            let shared = kernel::Step {
                t,
                h,
                det,
                noise: &noise_now,
                until: &self.refractory_until,
            };
            let any_slow = kernel::plain_steps::<M, I>(
                &self.model,
                &shared,
                &mut self.v,
                &mut self.w,
                &mut slow,
            );
            for j in (0..n).filter(|&j| any_slow && slow[j]) {
                self.advance_slow::<I>(j, t, t_end, noise_now[j])?;
            }
            if n == 1 {
                self.flush_single(sink)?;
            }
        }
        let mut count = 0;
        for (j, times) in self.spikes.iter().enumerate() {
            count += times.len() as u64;
            let neuron = self.first + j as u32;
            if !times.is_empty() {
                sink.spikes(neuron, times).map_err(EngineError::Sink)?;
            }
        }
        for (j, chunk) in &self.traces {
            if !chunk.is_empty() {
                sink.trace(self.first + *j as u32, chunk)
                    .map_err(EngineError::Sink)?;
            }
        }
        Ok(count + self.flushed)
    }

    /// One draw per noise source and step: from the shared stream for shared noise,
    /// else from each neuron's own stream. Draws happen whatever the neuron's state,
    /// so a stream's use never depends on the dynamics.
    fn draw_noise(&mut self, shared_now: &mut [f64], noise_now: &mut [f64]) {
        let k_count = self.noises.len();
        if k_count == 0 {
            return;
        }
        for (k, nz) in self.noises.iter().enumerate() {
            if nz.shared {
                let (decay, scale) = self.coefficients[k];
                shared_now[k] = step_noise(
                    &mut self.shared_x[k],
                    decay,
                    scale,
                    nz.tau.is_some(),
                    &mut self.shared_rng,
                );
            }
        }
        for (j, out) in noise_now.iter_mut().enumerate() {
            let mut total = self.bias[j];
            for (k, nz) in self.noises.iter().enumerate() {
                total += if nz.shared {
                    shared_now[k]
                } else {
                    let (decay, scale) = self.coefficients[k];
                    let x = &mut self.noise_x[j * k_count + k];
                    step_noise(x, decay, scale, nz.tau.is_some(), &mut self.rngs[j])
                };
            }
            *out = total;
        }
    }

    fn sample(&mut self, t: f64, det: f64, noise_now: &[f64]) {
        let rec = &self.spec.record;
        for (j, chunk) in self.traces.iter_mut() {
            let j = *j;
            chunk.t.push(t);
            if rec.v {
                chunk.v.push(self.v[j]);
            }
            if rec.i {
                chunk.i.push(det + noise_now[j]);
            }
            if rec.w && M::HAS_W {
                chunk.w.push(self.w[j]);
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
        let m = self.model;
        let input = &self.spec.input;
        let theta = m.spike_voltage();
        let current = |t: f64| input.at(t) + noise;
        let current_before = |t: f64| input.before(t) + noise;
        let (mut v, mut w) = (self.v[j], self.w[j]);
        let mut t = t0;
        let mut fired = 0;
        let neuron = self.first + j as u32;
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
            if remaining <= 1e-9 * self.spec.dt {
                break;
            }
            // In the upswing, sub-steps that resolve the exponential run-away (not
            // below a millionth of dt, so the loop always ends).
            let h = match m.upswing_step(v, w, current(t)) {
                Some(limit) => remaining.min(limit.max(1e-6 * self.spec.dt)),
                None => remaining,
            };
            let at = |s: f64| Currents {
                start: current(t),
                mid: current(t + 0.5 * s),
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
            if v1 < theta {
                v = v1;
                w = w1;
                t += h;
                if h < remaining {
                    continue;
                }
                break;
            }
            let s = I::crossing(&m, v, w, h, &at);
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
            w = self.fire(j, t, w_at);
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
        self.spikes[j].push(t);
        self.refractory_until[j] = t + self.model.t_ref();
        self.v[j] = self.model.v_reset();
        let w = w + self.model.jump();
        self.w[j] = w;
        w
    }

    /// A one-neuron block streams its rows as it goes: they are already in order, and
    /// holding them could exceed the block budget on a long recording.
    fn flush_single(&mut self, sink: &mut dyn Sink) -> Result<(), EngineError> {
        if let Some((_, chunk)) = self.traces.first_mut() {
            if chunk.len() >= TRACE_ROWS_PER_BLOCK {
                sink.trace(self.first, chunk).map_err(EngineError::Sink)?;
                chunk.clear();
            }
        }
        if self.spikes[0].len() >= TRACE_ROWS_PER_BLOCK {
            sink.spikes(self.first, &self.spikes[0])
                .map_err(EngineError::Sink)?;
            self.flushed += self.spikes[0].len() as u64;
            self.spikes[0].clear();
        }
        Ok(())
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
