//! `pulses`: `count` pulses (unbounded when left out) of `amplitude` and `width`, one
//! every `period`, the first at `start`.

use super::{inside, Extra, ExtraForm, Invalid, Key, Signal, StimulusDef, Values};
use crate::units::Dim::*;
use std::sync::Arc;

pub static DEF: StimulusDef = StimulusDef {
    name: "pulses",
    summary: "a train of rectangular current pulses",
    keys: &[
        Key::required("amplitude", Current, "the current during a pulse"),
        Key::required("width", Time, "how long each pulse lasts"),
        Key::required("period", Time, "from one pulse's start to the next's"),
        Key::default("start", Time, 0.0, "when the first pulse starts"),
    ],
    extras: &[Extra {
        name: "count",
        form: ExtraForm::Count { min: 1 },
        meaning: "how many pulses; no end if left out",
    }],
    validate,
    build,
};

fn validate(v: &Values) -> Result<(), Invalid> {
    let (width, period) = (v.get("width"), v.get("period"));
    if width <= 0.0 {
        return Err(Invalid::new("width", "width must be positive"));
    }
    if period < width {
        return Err(Invalid::new(
            "period",
            format!("period ({period} ms) must be at least the pulse width ({width} ms)"),
        ));
    }
    Ok(())
}

fn build(v: &Values) -> Arc<dyn Signal> {
    Arc::new(Pulses {
        amplitude: v.get("amplitude"),
        width: v.get("width"),
        period: v.get("period"),
        start: v.get("start"),
        count: v.count("count"),
    })
}

#[derive(Debug)]
struct Pulses {
    amplitude: f64,
    width: f64,
    period: f64,
    start: f64,
    count: Option<u32>,
}

impl Signal for Pulses {
    fn value(&self, t: f64, left: bool) -> f64 {
        if !inside(t, self.start, None, left) {
            return 0.0;
        }
        // The pulse whose interval [start + k·period, ...) holds t, or
        // (start + k·period, ...] for the left limit.
        let x = (t - self.start) / self.period;
        let k = if left { x.ceil() - 1.0 } else { x.floor() };
        let within = inside(
            t - self.start - k * self.period,
            0.0,
            Some(self.width),
            left,
        );
        let counted = self.count.is_none_or(|c| k < c as f64);
        if within && counted {
            self.amplitude
        } else {
            0.0
        }
    }

    fn onset(&self) -> Option<f64> {
        Some(self.start)
    }
}
