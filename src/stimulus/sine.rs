//! `sine`: offset + amplitude·sin(2π f (t − start) + phase) from start on, 0 before.

use super::{inside, Invalid, Key, Signal, StimulusDef, Values, Window};
use crate::units::Dim::*;
use std::f64::consts::TAU;
use std::sync::Arc;

pub static DEF: StimulusDef = StimulusDef {
    name: "sine",
    summary: "a sinusoidal current around an offset, from start on",
    keys: &[
        Key::default("offset", Current, 0.0, "the mean current"),
        Key::required("amplitude", Current, "the peak deviation from the offset"),
        Key::required("frequency", Frequency, "cycles per unit time"),
        Key::default("phase", Angle, 0.0, "the phase at start, in radians"),
        Key::default("start", Time, 0.0, "when it switches on"),
    ],
    extras: &[],
    validate,
    build,
};

fn validate(v: &Values) -> Result<(), Invalid> {
    if v.get("frequency") <= 0.0 {
        return Err(Invalid::new("frequency", "frequency must be positive")
            .hint("for a constant offset use a constant stimulus"));
    }
    Ok(())
}

fn build(v: &Values) -> Arc<dyn Signal> {
    Arc::new(Sine {
        offset: v.get("offset"),
        amplitude: v.get("amplitude"),
        frequency: v.get("frequency"),
        phase: v.get("phase"),
        start: v.get("start"),
    })
}

#[derive(Debug)]
struct Sine {
    offset: f64,
    amplitude: f64,
    frequency: f64,
    phase: f64,
    start: f64,
}

impl Signal for Sine {
    fn value(&self, t: f64, left: bool) -> f64 {
        if inside(t, self.start, None, left) {
            self.offset
                + self.amplitude * (TAU * self.frequency * (t - self.start) + self.phase).sin()
        } else {
            0.0
        }
    }

    fn weighted(&self, w: &Window) -> f64 {
        let on = (self.start, f64::INFINITY);
        self.offset * w.share(on.0, on.1)
            + self.amplitude
                * w.sine_share(on.0, on.1, TAU * self.frequency, self.start, self.phase)
    }

    fn onset(&self) -> Option<f64> {
        Some(self.start)
    }
}
