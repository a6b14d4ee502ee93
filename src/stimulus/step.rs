//! `step`: amplitude on [start, stop), 0 elsewhere; without stop the current stays
//! on until the end of the run.

use super::{inside, Invalid, Key, Signal, StimulusDef, Values, Window};
use crate::units::Dim::*;
use std::sync::Arc;

pub static DEF: StimulusDef = StimulusDef {
    name: "step",
    summary: "a current switched on at start and off at stop",
    keys: &[
        Key::required("amplitude", Current, "the current while on"),
        Key::default("start", Time, 0.0, "when it switches on"),
        Key::optional("stop", Time, "when it switches off; never if left out"),
    ],
    extras: &[],
    validate,
    build,
};

fn validate(v: &Values) -> Result<(), Invalid> {
    let start = v.get("start");
    match v.opt("stop") {
        Some(stop) if stop <= start => Err(Invalid::new(
            "stop",
            format!("stop ({stop} ms) must be after start ({start} ms)"),
        )),
        _ => Ok(()),
    }
}

fn build(v: &Values) -> Arc<dyn Signal> {
    Arc::new(Step {
        amplitude: v.get("amplitude"),
        start: v.get("start"),
        stop: v.opt("stop"),
    })
}

#[derive(Debug)]
struct Step {
    amplitude: f64,
    start: f64,
    stop: Option<f64>,
}

impl Signal for Step {
    fn value(&self, t: f64, left: bool) -> f64 {
        if inside(t, self.start, self.stop, left) {
            self.amplitude
        } else {
            0.0
        }
    }

    fn weighted(&self, w: &Window) -> f64 {
        self.amplitude * w.share(self.start, self.stop.unwrap_or(f64::INFINITY))
    }

    fn onset(&self) -> Option<f64> {
        Some(self.start)
    }
}
