//! Integrators: one step of length h of a model's ODE, the location of a threshold
//! crossing inside a step, and the test for a crossing between grid points under
//! white noise (the Brownian bridge). The input current over a step is given at its
//! start, midpoint and end; each method uses what its order needs (`exact` takes, in
//! place of the midpoint value, the input's mean under its membrane kernel).

use crate::model::Dynamics;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Currents at the start, midpoint and end of a (sub-)step, in pA.
#[derive(Clone, Copy, Debug)]
pub struct Currents {
    pub start: f64,
    pub mid: f64,
    pub end: f64,
}

/// A fixed-step integration method for the model `M`.
pub trait Integrator<M: Dynamics> {
    /// Whether `Currents::mid` must be the input's mean under the model's membrane
    /// kernel (`stimulus::Input::weighted` with `Dynamics::exact_tau`) rather than its
    /// midpoint value.
    const WEIGHTED: bool = false;

    /// Whether the batched slow path (`engine::lanes`) may take this method's
    /// neurons: a step reads the input at its start, midpoint and end (not a weighted
    /// mean), and crossings are located by the default [`Integrator::crossing`]. A
    /// method that weights its input or has its own crossing must say false.
    const BATCHED: bool = true;

    /// Whether a step reads the current at its midpoint and end (rk4) and not only at
    /// its start (Euler); the batched slow path evaluates a moving input only where
    /// it is read.
    const READS_MID_AND_END: bool = true;

    /// (V, w) after a step of length h from (v, w), and dV/dt at the step's start
    /// (which decides whether the step must be sub-stepped; Euler and rk4 compute it
    /// anyway as their first stage).
    fn step_and_slope(m: &M, v: f64, w: f64, i: Currents, h: f64) -> (f64, f64, f64);

    /// (V, w) after a step of length h from (v, w).
    #[inline(always)]
    fn step(m: &M, v: f64, w: f64, i: Currents, h: f64) -> (f64, f64) {
        let (v1, w1, _) = Self::step_and_slope(m, v, w, i, h);
        (v1, w1)
    }

    /// The time s in (0, h] at which the step's trajectory reaches the spike voltage,
    /// given that it starts below it and ends at or above it. `at` gives the currents
    /// over [0, s] for a candidate s.
    fn crossing(m: &M, v: f64, w: f64, h: f64, at: &dyn Fn(f64) -> Currents) -> f64 {
        let theta = m.spike_voltage();
        let g = |s: f64| Self::step(m, v, w, at(s), s).0 - theta;
        locate(g, v - theta, h)
    }
}

/// Forward Euler: first order; uses the current at the step start.
pub struct Euler;

/// Classical fourth-order Runge–Kutta; the current is evaluated at the stage times.
pub struct Rk4;

/// Exact integration of a model with a closed-form step (the LIF's linear ODE). The
/// deterministic input enters through its mean under the membrane kernel
/// e^(−(t_end − s)/τ) over the step, in closed form for every stimulus kind, so the
/// step is exact for any deterministic input; white noise is held over the step.
pub struct Exact;

impl<M: Dynamics> Integrator<M> for Euler {
    const READS_MID_AND_END: bool = false;

    #[inline(always)]
    fn step_and_slope(m: &M, v: f64, w: f64, i: Currents, h: f64) -> (f64, f64, f64) {
        let (dv, dw) = m.derivs(v, w, i.start);
        (v + h * dv, w + h * dw, dv)
    }
}

impl<M: Dynamics> Integrator<M> for Rk4 {
    #[inline(always)]
    fn step_and_slope(m: &M, v: f64, w: f64, i: Currents, h: f64) -> (f64, f64, f64) {
        let half = 0.5 * h;
        let (k1v, k1w) = m.derivs(v, w, i.start);
        let (k2v, k2w) = m.derivs(v + half * k1v, w + half * k1w, i.mid);
        let (k3v, k3w) = m.derivs(v + half * k2v, w + half * k2w, i.mid);
        let (k4v, k4w) = m.derivs(v + h * k3v, w + h * k3w, i.end);
        let sixth = h / 6.0;
        (
            v + sixth * (k1v + 2.0 * k2v + 2.0 * k3v + k4v),
            w + sixth * (k1w + 2.0 * k2w + 2.0 * k3w + k4w),
            k1v,
        )
    }
}

impl<M: Dynamics> Integrator<M> for Exact {
    const WEIGHTED: bool = true;
    const BATCHED: bool = false;

    /// Closed-form models have no upswing, so their slope is never asked for (0 here).
    #[inline(always)]
    fn step_and_slope(m: &M, v: f64, _w: f64, i: Currents, h: f64) -> (f64, f64, f64) {
        (m.exact_step(v, i.mid, h), 0.0, 0.0)
    }

    fn crossing(m: &M, v: f64, w: f64, h: f64, at: &dyn Fn(f64) -> Currents) -> f64 {
        // Closed form when the current is constant over the step; otherwise (the
        // weighted mean moves with s) fall back to root finding.
        let whole = at(h);
        if whole.start == whole.end && whole.mid == whole.start {
            if let Some(s) = m.exact_crossing(v, whole.mid) {
                return s.clamp(0.0, h);
            }
        }
        let theta = m.spike_voltage();
        locate(|s| Self::step(m, v, w, at(s), s).0 - theta, v - theta, h)
    }
}

/// Steps whose bridge crossing probability is below e^(−37) ≈ 8.5e-17 are not tested:
/// a 53-bit uniform draw is below such a probability only when it is exactly 0, itself
/// a 2^(−53) ≈ 1.1e-16 event, so skipping the test changes nothing measurable while
/// sparing the draw on the many steps far from threshold.
pub const BRIDGE_EXPONENT_LIMIT: f64 = 37.0;

/// The exponent 2 (θ − v0)(θ − v1)/(s² h) of the probability that a Brownian path
/// with variance rate s² (`var`, mV²/ms) from v0 to v1 over a step of h ms, both ends
/// below θ, crossed θ in between: P = e^(−exponent), from the reflection principle
/// applied to the Brownian bridge (Mannella 1999, Phys. Lett. A 254:257; Giraudo &
/// Sacerdote 1999, Commun. Stat. Simul. Comput. 28:1135, for first-passage times of
/// diffusions through a boundary). A drift that is constant over the step does not
/// change the bridge, so the leak and the input enter only through the end points;
/// the leak's curvature within a step is neglected, an O(h/τ) error in P.
#[inline(always)]
pub fn bridge_exponent(var: f64, theta: f64, v0: f64, v1: f64, h: f64) -> f64 {
    2.0 * (theta - v0) * (theta - v1) / (var * h)
}

/// Whether the path from v0 to v1 crossed θ between grid points, and if so when, drawn
/// from `rng`: one uniform for the test when the crossing probability is above
/// e^(−[BRIDGE_EXPONENT_LIMIT]), and a normal and a uniform for the time when it
/// crossed. The time is the bridge's first-passage time: with d0 = θ − v0,
/// d1 = θ − v1, the hitting density ∝ u^(−3/2) e^(−d0²/(2s²u)) (h − u)^(−1/2)
/// e^(−d1²/(2s²(h − u))) becomes, in r = u/(h − u), ∝ r^(−3/2) e^(−(d0²/r + d1² r)/(2s²h)):
/// an inverse Gaussian with mean d0/d1 and shape d0²/(s² h), sampled by Michael,
/// Schucany & Haas (1976, Am. Stat. 30:88).
pub fn bridge_crossing(
    rng: &mut ChaCha8Rng,
    var: f64,
    theta: f64,
    v0: f64,
    v1: f64,
    h: f64,
) -> Option<f64> {
    let exponent = bridge_exponent(var, theta, v0, v1, h);
    // A NaN exponent (no noise on a step of zero length) is not tested either.
    if exponent.is_nan() || exponent >= BRIDGE_EXPONENT_LIMIT {
        return None;
    }
    let u: f64 = rng.random();
    if u >= (-exponent).exp() {
        return None;
    }
    let (d0, d1) = (theta - v0, theta - v1);
    let mean = d0 / d1;
    let shape = d0 * d0 / (var * h);
    let nu: f64 = StandardNormal.sample(rng);
    let a = mean * nu * nu / (2.0 * shape);
    // mean (1 + a − √(a² + 2a)), written without the cancellation.
    let x = mean / (1.0 + a + (a * (a + 2.0)).sqrt());
    let z: f64 = rng.random();
    let r = if z * (mean + x) <= mean {
        x
    } else {
        mean * mean / x
    };
    Some((h / (1.0 + 1.0 / r)).clamp(0.0, h))
}

/// Root of g on (0, h] where g(0) = g0 < 0 and g(h) >= 0 (possibly +inf), by the
/// Illinois variant of regula falsi, with bisection while g(b) is not finite.
pub fn locate(g: impl Fn(f64) -> f64, g0: f64, h: f64) -> f64 {
    let mut root = Root::new(g0, h);
    let mut next = root.start(g(h));
    loop {
        match next {
            Search::Try(x) => next = root.feed(g(x)),
            Search::Found(s) => return s,
        }
    }
}

/// What [`Root`] wants next: g at a point, or the root it settled on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Search {
    Try(f64),
    Found(f64),
}

/// [`locate`] as a state machine that is handed g's values one at a time, so that the
/// engine can evaluate g for many neurons at once (in vectors) and still take, for
/// each, exactly the steps `locate` takes: same points, same root, same bits.
#[derive(Clone, Copy, Debug)]
pub struct Root {
    a: f64,
    fa: f64,
    b: f64,
    fb: f64,
    h: f64,
    /// The point last asked for (the candidate c of the current iteration).
    c: f64,
    /// Which end moved last (−1: a, 1: b), for the Illinois halving.
    side: i8,
    iterations: u32,
}

impl Root {
    /// At most this many candidates are tried.
    const ITERATIONS: u32 = 200;

    pub fn new(g0: f64, h: f64) -> Root {
        Root {
            a: 0.0,
            fa: g0,
            b: h,
            fb: f64::NAN,
            h,
            c: f64::NAN,
            side: 0,
            iterations: 0,
        }
    }

    /// Begin from g(h), the value at the bracket's right end.
    pub fn start(&mut self, gh: f64) -> Search {
        self.fb = gh;
        self.next()
    }

    /// Take g at the point last asked for.
    pub fn feed(&mut self, fc: f64) -> Search {
        let c = self.c;
        if fc.is_nan() || fc.abs() < 1e-12 {
            return Search::Found(c);
        }
        if fc < 0.0 {
            self.a = c;
            self.fa = fc;
            if self.side == -1 {
                self.fb *= 0.5;
            }
            self.side = -1;
        } else {
            self.b = c;
            self.fb = fc;
            if self.side == 1 {
                self.fa *= 0.5;
            }
            self.side = 1;
        }
        self.iterations += 1;
        self.next()
    }

    fn next(&mut self) -> Search {
        let (a, fa, b, fb) = (self.a, self.fa, self.b, self.fb);
        if self.iterations >= Self::ITERATIONS || b - a <= 1e-13 * self.h.max(1e-300) {
            return Search::Found(b);
        }
        let c = if fb.is_finite() && fb > fa {
            let c = b - fb * (b - a) / (fb - fa);
            if c > a && c < b {
                c
            } else {
                0.5 * (a + b)
            }
        } else {
            0.5 * (a + b)
        };
        self.c = c;
        Search::Try(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_finds_roots_of_smooth_and_exploding_functions() {
        let r = locate(|s| s * s - 0.02, -0.02, 1.0);
        assert!((r - 0.02f64.sqrt()).abs() < 1e-10);
        let r = locate(|s| if s > 0.7 { f64::INFINITY } else { s - 0.5 }, -0.5, 1.0);
        assert!((r - 0.5).abs() < 1e-10);
    }
}
