//! `constant`: I = amplitude, at every time.

use super::{no_rules, Key, Signal, StimulusDef, Values, Window};
use crate::units::Dim::*;
use std::sync::Arc;

pub static DEF: StimulusDef = StimulusDef {
    name: "constant",
    summary: "a constant current",
    keys: &[Key::required("amplitude", Current, "the current")],
    extras: &[],
    validate: no_rules,
    build,
};

fn build(v: &Values) -> Arc<dyn Signal> {
    Arc::new(Constant {
        amplitude: v.get("amplitude"),
    })
}

#[derive(Debug)]
struct Constant {
    amplitude: f64,
}

impl Signal for Constant {
    fn steady(&self) -> bool {
        true
    }

    fn value(&self, _t: f64, _left: bool) -> f64 {
        self.amplitude
    }

    fn weighted(&self, _w: &Window) -> f64 {
        self.amplitude
    }
}
