//! Integrators: one step of length h of a model's ODE, and the location of a
//! threshold crossing inside a step. The input current over a step is given at its
//! start, midpoint and end; each method uses what its order needs.

use crate::model::Dynamics;

/// Currents at the start, midpoint and end of a (sub-)step, in pA.
#[derive(Clone, Copy, Debug)]
pub struct Currents {
    pub start: f64,
    pub mid: f64,
    pub end: f64,
}

/// A fixed-step integration method for the model `M`.
pub trait Integrator<M: Dynamics> {
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

/// Exact integration of a model with a closed-form step (the LIF's linear ODE), with
/// the current held at its midpoint value over the step (exact for piecewise-constant
/// input; second order otherwise).
pub struct Exact;

impl<M: Dynamics> Integrator<M> for Euler {
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
    /// Closed-form models have no upswing, so their slope is never asked for (0 here).
    #[inline(always)]
    fn step_and_slope(m: &M, v: f64, _w: f64, i: Currents, h: f64) -> (f64, f64, f64) {
        (m.exact_step(v, i.mid, h), 0.0, 0.0)
    }

    fn crossing(m: &M, v: f64, w: f64, h: f64, at: &dyn Fn(f64) -> Currents) -> f64 {
        // Closed form when the current is constant over the step; otherwise (the
        // midpoint value moves with s) fall back to root finding.
        let whole = at(h);
        if whole.start == whole.end {
            if let Some(s) = m.exact_crossing(v, whole.mid) {
                return s.clamp(0.0, h);
            }
        }
        let theta = m.spike_voltage();
        locate(|s| Self::step(m, v, w, at(s), s).0 - theta, v - theta, h)
    }
}

/// Root of g on (0, h] where g(0) = g0 < 0 and g(h) >= 0 (possibly +inf), by the
/// Illinois variant of regula falsi, with bisection while g(b) is not finite.
pub fn locate(g: impl Fn(f64) -> f64, g0: f64, h: f64) -> f64 {
    let (mut a, mut fa) = (0.0, g0);
    let mut b = h;
    let mut fb = g(b);
    let mut side = 0i8;
    for _ in 0..200 {
        if b - a <= 1e-13 * h.max(1e-300) {
            break;
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
        let fc = g(c);
        if fc.is_nan() {
            return c;
        }
        if fc.abs() < 1e-12 {
            return c;
        }
        if fc < 0.0 {
            a = c;
            fa = fc;
            if side == -1 {
                fb *= 0.5;
            }
            side = -1;
        } else {
            b = c;
            fb = fc;
            if side == 1 {
                fa *= 0.5;
            }
            side = 1;
        }
    }
    b
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
