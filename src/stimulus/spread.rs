//! `spread`: a constant current spread evenly over the population. Neuron k of n gets
//! from + (to − from)·k/(n − 1) (neuron 0 gets `from` when n = 1), so one run holds a
//! whole F-I sweep the way a Brian2 user writes `I = linspace(...)` over a
//! NeuronGroup. It is a per-neuron bias, not a function of time.

use super::{no_rules, Key, Signal, StimulusDef, Values, Window};
use crate::units::Dim::*;
use std::sync::Arc;

pub static DEF: StimulusDef = StimulusDef {
    name: "spread",
    summary: "a constant current stepping evenly from the first neuron to the last",
    keys: &[
        Key::required("from", Current, "the first neuron's current"),
        Key::required("to", Current, "the last neuron's current"),
    ],
    extras: &[],
    validate: no_rules,
    build,
};

fn build(v: &Values) -> Arc<dyn Signal> {
    Arc::new(Spread {
        from: v.get("from"),
        to: v.get("to"),
    })
}

#[derive(Debug)]
struct Spread {
    from: f64,
    to: f64,
}

impl Signal for Spread {
    fn steady(&self) -> bool {
        true
    }

    fn value(&self, _t: f64, _left: bool) -> f64 {
        0.0
    }

    /// The bias is a per-neuron constant, added by the engine with the noise.
    fn weighted(&self, _w: &Window) -> f64 {
        0.0
    }

    fn bias(&self, x: f64) -> f64 {
        self.from + (self.to - self.from) * x
    }
}
