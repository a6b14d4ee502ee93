//! The engine: integrates runs and hands their spikes and trace samples to a
//! [`Sink`]. Neurons are independent, so a population is simulated in blocks of
//! neurons; each block runs the whole duration, which keeps the rows it produces
//! already sorted by (neuron, t) and bounds memory by the block size. Small runs that
//! share what shapes the inner loop ([`PackKey`]) are packed into one population, each
//! neuron carrying its own run's parameters, input and random streams, so a sweep of
//! many one-neuron runs is stepped as vectors like one large run. The few neurons a
//! step flags (spikes, upswing, refractoriness) are redone in batches too.

pub mod integrate;
pub mod kernel;
mod lanes;
mod population;

use crate::experiment::spec::{Method, RunSpec};
use crate::model::{self, Model, ModelKind, Visit};
use integrate::{Euler, Exact, Rk4};

/// Trace rows buffered per block before they are handed on; with the block size
/// chosen from it, the engine's memory does not grow with the recording's length.
pub const TRACE_ROWS_PER_BLOCK: usize = 1 << 18;

/// Neurons simulated together when nothing is recorded.
pub const MAX_BLOCK: u32 = 4096;

/// Samples of one neuron, in time order. `w` is empty for models without w.
#[derive(Default, Debug, Clone)]
pub struct TraceChunk {
    pub t: Vec<f64>,
    pub v: Vec<f64>,
    pub i: Vec<f64>,
    pub w: Vec<f64>,
}

impl TraceChunk {
    pub fn len(&self) -> usize {
        self.t.len()
    }
    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }
    fn clear(&mut self) {
        self.t.clear();
        self.v.clear();
        self.i.clear();
        self.w.clear();
    }
}

pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// Receives runs' output. Calls come in increasing (run, neuron) order, runs in the
/// order they were given, and for one neuron in increasing time, so a sink can stream
/// rows straight to sorted files.
pub trait Sink {
    fn spikes(&mut self, run_id: u32, neuron: u32, times: &[f64]) -> Result<(), SinkError>;
    fn trace(&mut self, run_id: u32, neuron: u32, chunk: &TraceChunk) -> Result<(), SinkError>;
    /// `trace` for a chunk the caller is done with: a sink that keeps chunks (the
    /// engine's per-block buffer) takes it as it is, without a copy.
    fn take_trace(&mut self, run_id: u32, neuron: u32, chunk: TraceChunk) -> Result<(), SinkError> {
        self.trace(run_id, neuron, &chunk)
    }
}

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the state of neuron {neuron} became non-finite at t = {t} ms (V = {v}, w = {w})")]
    NonFinite { neuron: u32, t: f64, v: f64, w: f64 },
    #[error("neuron {neuron} fired more than {limit} spikes within one step at t = {t} ms")]
    Runaway { neuron: u32, t: f64, limit: u32 },
    #[error("method 'exact' needs a model with a closed-form step, and {0} has none")]
    NoClosedForm(ModelKind),
    #[error("runs {0} and {1} cannot share a population: they differ in what shapes the integration loop")]
    NotPackable(u32, u32),
    #[error("writing output: {0}")]
    Sink(SinkError),
}

/// What a finished run reports.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Outcome {
    pub n_spikes: u64,
}

/// What decides whether runs can be integrated as one population: everything that
/// shapes the inner loop (model type, method, step, length, what is recorded, the
/// form of the noise). Runs with equal keys are packed; parameter values, inputs,
/// seeds and neuron counts may all differ, each neuron carrying its own run's.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackKey {
    model: &'static str,
    method: &'static str,
    dt: u64,
    steps: u64,
    record: (bool, bool, bool, u32, Vec<u32>),
    /// (shared, coloured) of each noise source.
    noises: Vec<(bool, bool)>,
}

/// The key under which `spec` may share a population with other runs, or None when
/// the run is large enough to fill blocks of its own (it then runs alone, as it
/// always has).
pub fn pack_key(spec: &RunSpec) -> Option<PackKey> {
    if population::blocks_alone(spec).len() > 1 {
        return None;
    }
    let r = &spec.record;
    Some(PackKey {
        model: spec.model().name(),
        method: spec.method.name(),
        dt: spec.dt.to_bits(),
        steps: spec.steps,
        record: (r.v, r.i, r.w, r.every, r.neurons.clone()),
        noises: spec
            .input
            .noises()
            .map(|n| (n.shared, n.tau.is_some()))
            .collect(),
    })
}

/// Integrate one run and stream its output to `sink`.
pub fn simulate(spec: &RunSpec, sink: &mut dyn Sink) -> Result<Outcome, EngineError> {
    simulate_pack(&[spec], sink)?
        .pop()
        .expect("one outcome per run")
}

/// Integrate runs as one population and stream their output to `sink`, run by run.
/// Every run gets exactly the numbers it would get alone (each neuron carries its own
/// run's parameters, input and random streams); a run that fails leaves the others
/// running. Runs must share one [`pack_key`] (any single run may be given alone);
/// the outer error is a sink's failure or runs that cannot be packed.
pub fn simulate_pack(
    runs: &[&RunSpec],
    sink: &mut dyn Sink,
) -> Result<Vec<Result<Outcome, EngineError>>, EngineError> {
    let Some(first) = runs.first() else {
        return Ok(Vec::new());
    };
    if runs.len() > 1 {
        let key = pack_key(first);
        if let Some(other) = runs[1..]
            .iter()
            .find(|r| key.is_none() || pack_key(r) != key)
        {
            return Err(EngineError::NotPackable(first.run_id, other.run_id));
        }
    }
    model::visit(first.model(), Integrate { runs, sink })
}

/// The runs' model and method, made into one monomorphised integration loop.
struct Integrate<'a> {
    runs: &'a [&'a RunSpec],
    sink: &'a mut dyn Sink,
}

impl Visit for Integrate<'_> {
    type Output = Result<Vec<Result<Outcome, EngineError>>, EngineError>;

    fn visit<M: Model>(self) -> Self::Output {
        let Integrate { runs, sink } = self;
        match runs[0].method {
            Method::Euler => population::run::<M, Euler>(runs, sink),
            Method::Rk4 => population::run::<M, Rk4>(runs, sink),
            Method::Exact if M::DEF.closed_form => population::run::<M, Exact>(runs, sink),
            Method::Exact => Ok(runs
                .iter()
                .map(|r| Err(EngineError::NoClosedForm(r.model())))
                .collect()),
        }
    }
}

/// A sink that keeps everything in memory; for tests and small studies.
#[derive(Default, Debug)]
pub struct MemorySink {
    /// (run_id, neuron, t) of every spike, in arrival order.
    pub spikes: Vec<(u32, u32, f64)>,
    /// (run_id, neuron, samples) in arrival order.
    pub traces: Vec<(u32, u32, TraceChunk)>,
}

impl MemorySink {
    /// Spike times of one neuron (of any run; most sinks see one run).
    pub fn spike_times(&self, neuron: u32) -> Vec<f64> {
        self.spikes
            .iter()
            .filter(|(_, n, _)| *n == neuron)
            .map(|(_, _, t)| *t)
            .collect()
    }

    /// All samples of one neuron, joined.
    pub fn trace(&self, neuron: u32) -> TraceChunk {
        let mut out = TraceChunk::default();
        for (_, _, c) in self.traces.iter().filter(|(_, n, _)| *n == neuron) {
            out.t.extend(&c.t);
            out.v.extend(&c.v);
            out.i.extend(&c.i);
            out.w.extend(&c.w);
        }
        out
    }
}

impl Sink for MemorySink {
    fn spikes(&mut self, run_id: u32, neuron: u32, times: &[f64]) -> Result<(), SinkError> {
        self.spikes
            .extend(times.iter().map(|&t| (run_id, neuron, t)));
        Ok(())
    }
    fn trace(&mut self, run_id: u32, neuron: u32, chunk: &TraceChunk) -> Result<(), SinkError> {
        self.traces.push((run_id, neuron, chunk.clone()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::{parse, plan::plan};

    /// Records the size of every hand-over, to check the engine never holds more
    /// than a block's budget of trace rows.
    #[derive(Default)]
    struct Largest {
        chunks: usize,
        largest: usize,
        rows: usize,
    }

    impl Sink for Largest {
        fn spikes(&mut self, _: u32, _: u32, _: &[f64]) -> Result<(), SinkError> {
            Ok(())
        }
        fn trace(&mut self, _: u32, _: u32, c: &TraceChunk) -> Result<(), SinkError> {
            self.chunks += 1;
            self.largest = self.largest.max(c.len());
            self.rows += c.len();
            Ok(())
        }
    }

    fn spec(neurons: u32, duration: &str) -> RunSpec {
        let text = format!(
            "name: m\nduration: {duration}\ndt: 0.1 ms\nmethod: euler\nneurons: {neurons}\n\
             model: {{type: lif}}\ninput: {{type: constant, amplitude: 700 pA}}\n\
             record: {{variables: [V]}}\n"
        );
        plan(&parse(&text).unwrap()).unwrap().spec(0).into_owned()
    }

    #[test]
    fn long_recordings_are_handed_over_in_bounded_chunks() {
        // One neuron, 3 × the block budget of samples: streamed in pieces.
        let s = spec(1, "80 s");
        let mut sink = Largest::default();
        simulate(&s, &mut sink).unwrap();
        assert_eq!(sink.rows, 800_000);
        assert!(sink.chunks >= 3);
        assert!(sink.largest <= TRACE_ROWS_PER_BLOCK);
        // Many neurons: each block holds at most the budget in total.
        let s = spec(300, "2 s");
        let mut sink = Largest::default();
        simulate(&s, &mut sink).unwrap();
        assert_eq!(sink.rows, 300 * 20_000);
        assert_eq!(sink.largest, 20_000);
    }
}
