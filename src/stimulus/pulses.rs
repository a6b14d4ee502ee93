//! `pulses`: `count` pulses (unbounded when left out) of `amplitude` and `width`, one
//! every `period`, the first at `start`.

use super::{inside, Extra, ExtraForm, Invalid, Key, Signal, StimulusDef, Values, Window};
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

    /// The pulses that meet the step, each by its share; when many fit in one step,
    /// those wholly inside it are summed as a geometric series (each one period
    /// earlier weighs e^(−period/τ) as much).
    fn weighted(&self, w: &Window) -> f64 {
        let last = self.count.map_or(f64::INFINITY, |c| f64::from(c) - 1.0);
        let lo = ((w.t - self.start - self.width) / self.period).floor().max(0.0);
        let hi = ((w.end - self.start) / self.period).floor().min(last);
        if hi < lo {
            return 0.0;
        }
        let share = |k: f64| {
            let a = self.start + k * self.period;
            w.share(a, a + self.width)
        };
        // Pulses k in [whole_lo, whole_hi] lie wholly inside the step.
        let whole_lo = ((w.t - self.start) / self.period).ceil().max(lo);
        let whole_hi = ((w.end - self.start - self.width) / self.period)
            .floor()
            .min(hi);
        if hi - lo <= 8.0 || whole_hi < whole_lo + 2.0 {
            let mut sum = 0.0;
            let mut k = lo;
            while k <= hi {
                sum += share(k);
                k += 1.0;
            }
            return self.amplitude * sum;
        }
        let mut sum = 0.0;
        let mut k = lo;
        while k < whole_lo {
            sum += share(k);
            k += 1.0;
        }
        let n = whole_hi - whole_lo + 1.0;
        let ratio = (-self.period / w.tau).exp_m1();
        let series = if ratio == 0.0 {
            n
        } else {
            (-n * self.period / w.tau).exp_m1() / ratio
        };
        sum += share(whole_hi) * series;
        let mut k = whole_hi + 1.0;
        while k <= hi {
            sum += share(k);
            k += 1.0;
        }
        self.amplitude * sum
    }

    fn onset(&self) -> Option<f64> {
        Some(self.start)
    }
}
