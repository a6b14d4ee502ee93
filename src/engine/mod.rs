//! The engine: integrates one RunSpec's population and hands spikes and trace samples
//! to a [`Sink`]. Neurons are independent, so the population is simulated in blocks
//! of neurons; each block runs the whole duration, which keeps the rows it produces
//! already sorted by (neuron, t) and bounds memory by the block size.

pub mod integrate;
pub mod kernel;
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

/// Receives a run's output. Calls come in increasing neuron order, and for one neuron
/// in increasing time, so a sink can stream rows straight to sorted files.
pub trait Sink {
    fn spikes(&mut self, neuron: u32, times: &[f64]) -> Result<(), SinkError>;
    fn trace(&mut self, neuron: u32, chunk: &TraceChunk) -> Result<(), SinkError>;
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
    #[error("writing output: {0}")]
    Sink(SinkError),
}

/// What a finished run reports.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Outcome {
    pub n_spikes: u64,
}

/// Integrate the run and stream its output to `sink`.
pub fn simulate(spec: &RunSpec, sink: &mut dyn Sink) -> Result<Outcome, EngineError> {
    model::visit(spec.model(), Integrate { spec, sink })
}

/// The run's model and method, made into one monomorphised integration loop.
struct Integrate<'a> {
    spec: &'a RunSpec,
    sink: &'a mut dyn Sink,
}

impl Visit for Integrate<'_> {
    type Output = Result<Outcome, EngineError>;

    fn visit<M: Model>(self) -> Self::Output {
        let Integrate { spec, sink } = self;
        let m = M::new(&spec.params);
        match spec.method {
            Method::Euler => population::run::<M, Euler>(spec, m, sink),
            Method::Rk4 => population::run::<M, Rk4>(spec, m, sink),
            Method::Exact if M::DEF.closed_form => population::run::<M, Exact>(spec, m, sink),
            Method::Exact => Err(EngineError::NoClosedForm(spec.model())),
        }
    }
}

/// A sink that keeps everything in memory; for tests and small studies.
#[derive(Default, Debug)]
pub struct MemorySink {
    pub spikes: Vec<(u32, f64)>,
    pub traces: Vec<(u32, TraceChunk)>,
}

impl MemorySink {
    /// Spike times of one neuron.
    pub fn spike_times(&self, neuron: u32) -> Vec<f64> {
        self.spikes
            .iter()
            .filter(|(n, _)| *n == neuron)
            .map(|(_, t)| *t)
            .collect()
    }

    /// All samples of one neuron, joined.
    pub fn trace(&self, neuron: u32) -> TraceChunk {
        let mut out = TraceChunk::default();
        for (_, c) in self.traces.iter().filter(|(n, _)| *n == neuron) {
            out.t.extend(&c.t);
            out.v.extend(&c.v);
            out.i.extend(&c.i);
            out.w.extend(&c.w);
        }
        out
    }
}

impl Sink for MemorySink {
    fn spikes(&mut self, neuron: u32, times: &[f64]) -> Result<(), SinkError> {
        self.spikes.extend(times.iter().map(|&t| (neuron, t)));
        Ok(())
    }
    fn trace(&mut self, neuron: u32, chunk: &TraceChunk) -> Result<(), SinkError> {
        self.traces.push((neuron, chunk.clone()));
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
        fn spikes(&mut self, _: u32, _: &[f64]) -> Result<(), SinkError> {
            Ok(())
        }
        fn trace(&mut self, _: u32, c: &TraceChunk) -> Result<(), SinkError> {
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
        plan(&parse(&text).unwrap()).unwrap().runs.remove(0)
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
