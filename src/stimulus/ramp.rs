//! `ramp`: linear from `from` at start to `to` at stop; 0 outside [start, stop).

use super::{inside, Invalid, Key, Signal, StimulusDef, Values, Window};
use crate::units::Dim::*;
use std::sync::Arc;

pub static DEF: StimulusDef = StimulusDef {
    name: "ramp",
    summary: "a current rising (or falling) linearly between start and stop",
    keys: &[
        Key::required("start", Time, "when the ramp begins"),
        Key::required("stop", Time, "when it ends and the current drops to 0"),
        Key::required("from", Current, "the current at start"),
        Key::required("to", Current, "the current approached at stop"),
    ],
    extras: &[],
    validate,
    build,
};

fn validate(v: &Values) -> Result<(), Invalid> {
    let (start, stop) = (v.get("start"), v.get("stop"));
    if stop <= start {
        return Err(Invalid::new(
            "stop",
            format!("stop ({stop} ms) must be after start ({start} ms)"),
        ));
    }
    Ok(())
}

fn build(v: &Values) -> Arc<dyn Signal> {
    Arc::new(Ramp {
        start: v.get("start"),
        stop: v.get("stop"),
        from: v.get("from"),
        to: v.get("to"),
    })
}

#[derive(Debug)]
struct Ramp {
    start: f64,
    stop: f64,
    from: f64,
    to: f64,
}

impl Signal for Ramp {
    fn value(&self, t: f64, left: bool) -> f64 {
        if inside(t, self.start, Some(self.stop), left) {
            self.from + (self.to - self.from) * (t - self.start) / (self.stop - self.start)
        } else {
            0.0
        }
    }

    /// A linear waveform's weighted mean is its value at the weighted mean time.
    fn weighted(&self, w: &Window) -> f64 {
        let share = w.share(self.start, self.stop);
        if share == 0.0 {
            return 0.0;
        }
        let at = w.mean_time(self.start, self.stop);
        let slope = (self.to - self.from) / (self.stop - self.start);
        share * (self.from + slope * (at - self.start))
    }

    fn onset(&self) -> Option<f64> {
        Some(self.start)
    }
}
