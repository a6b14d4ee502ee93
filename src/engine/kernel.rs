//! The hot loop: one plain step of every neuron of a block, with no threshold and no
//! refractoriness, plus a flag for the neurons whose step must be redone the slow
//! way. Kept apart so that it stays branch-free (and vectorised), and so that the
//! kernel benchmarks (benches/kernels.rs) time exactly what the engine runs.

use super::integrate::{bridge_exponent, Currents, Integrator, BRIDGE_EXPONENT_LIMIT};
use crate::model::Dynamics;

/// The model of each neuron of a block: one shared by all ([`Same`]) or one per neuron
/// ([`Each`], when runs with different parameters share a block or parameters vary
/// per neuron). Two types rather than a slice always, so that the common case keeps
/// its parameters in registers.
pub trait Models<M>: Copy {
    fn at(self, j: usize) -> M;
}

/// Every neuron has the same model.
#[derive(Clone, Copy)]
pub struct Same<M>(pub M);

/// Neuron j has model `self.0[j]`.
#[derive(Clone, Copy)]
pub struct Each<'a, M>(pub &'a [M]);

impl<M: Dynamics> Models<M> for Same<M> {
    #[inline(always)]
    fn at(self, _j: usize) -> M {
        self.0
    }
}

impl<M: Dynamics> Models<M> for Each<'_, M> {
    #[inline(always)]
    fn at(self, j: usize) -> M {
        self.0[j]
    }
}

/// The deterministic current of each neuron of a block over a step (at its start,
/// midpoint and end): one for all ([`Shared`], one run's input) or one per neuron
/// ([`PerNeuron`], packed runs or per-neuron inputs). Two types for the same reason
/// as [`Models`]: a single run keeps three scalars instead of three arrays to fill.
pub trait Drive: Copy {
    fn at(self, j: usize) -> Currents;
    /// The same drive for the first n neurons, cut up front so that the loop has no
    /// bounds checks.
    fn first(self, n: usize) -> Self;
}

/// Every neuron sees the same deterministic current.
#[derive(Clone, Copy)]
pub struct Shared(pub Currents);

/// Neuron j sees `start[j]`, `mid[j]`, `end[j]`.
#[derive(Clone, Copy)]
pub struct PerNeuron<'a> {
    pub start: &'a [f64],
    pub mid: &'a [f64],
    pub end: &'a [f64],
}

impl Drive for Shared {
    #[inline(always)]
    fn at(self, _j: usize) -> Currents {
        self.0
    }
    #[inline(always)]
    fn first(self, _n: usize) -> Self {
        self
    }
}

impl Drive for PerNeuron<'_> {
    #[inline(always)]
    fn at(self, j: usize) -> Currents {
        Currents {
            start: self.start[j],
            mid: self.mid[j],
            end: self.end[j],
        }
    }
    #[inline(always)]
    fn first(self, n: usize) -> Self {
        PerNeuron {
            start: &self.start[..n],
            mid: &self.mid[..n],
            end: &self.end[..n],
        }
    }
}

/// Which plain steps must also be tested for a threshold crossing between grid points
/// (`integrate::bridge_crossing`): none ([`GridOnly`], the common case, compiled
/// away), or those of neurons under white noise whose crossing probability is worth
/// a draw ([`Bridge`]).
pub trait CrossingTest: Copy {
    fn near(self, j: usize, theta: f64, v0: f64, v1: f64, h: f64) -> bool;
    /// The same for the first n neurons, cut up front (no bounds checks in the loop).
    fn first(self, n: usize) -> Self;
}

/// Crossings are seen only at grid points.
#[derive(Clone, Copy)]
pub struct GridOnly;

/// Neuron j's V has the white-noise variance rate `self.0[j]` (mV²/ms; 0 when not
/// tested).
#[derive(Clone, Copy)]
pub struct Bridge<'a>(pub &'a [f64]);

impl CrossingTest for GridOnly {
    #[inline(always)]
    fn near(self, _j: usize, _theta: f64, _v0: f64, _v1: f64, _h: f64) -> bool {
        false
    }
    #[inline(always)]
    fn first(self, _n: usize) -> Self {
        self
    }
}

impl CrossingTest for Bridge<'_> {
    /// Also true when v1 is at or above θ (the step is slow anyway); false for a
    /// variance of 0, where the exponent is +inf or NaN.
    #[inline(always)]
    fn near(self, j: usize, theta: f64, v0: f64, v1: f64, h: f64) -> bool {
        bridge_exponent(self.0[j], theta, v0, v1, h) < BRIDGE_EXPONENT_LIMIT
    }
    #[inline(always)]
    fn first(self, n: usize) -> Self {
        Bridge(&self.0[..n])
    }
}

/// What one step of a block shares: its start `t` and length `h`, the deterministic
/// current `det`, each neuron's own additive current `noise` (bias and noise draws),
/// and the end of each neuron's refractory period `until`.
#[derive(Clone, Copy)]
pub struct Step<'a, D> {
    pub t: f64,
    pub h: f64,
    pub det: D,
    pub noise: &'a [f64],
    pub until: &'a [f64],
}

/// One plain step of every neuron from (v, w), with `slow[j]` set where the neuron is
/// refractory or the step crossed the spike voltage, left a non-finite state or starts
/// in the upswing. (v, w) take the new state where the step is plain and keep the old
/// one where it is slow, for the engine to redo. Returns whether any neuron is slow.
/// On x86-64 the same loop is also compiled for AVX-512 and AVX2 and chosen at run
/// time; without FMA contraction (Rust never contracts a·b + c on its own) every
/// version gives the same bits.
#[inline(always)]
pub fn plain_steps<M: Dynamics, I: Integrator<M>, P: Models<M>, D: Drive>(
    models: P,
    step: &Step<D>,
    v: &mut [f64],
    w: &mut [f64],
    slow: &mut [bool],
) -> bool {
    // A handful of neurons gain nothing from vectors and would pay for the call; the
    // portable loop is inlined into the caller instead.
    plain_steps_with::<M, I, P, D, GridOnly>(models, step, GridOnly, v, w, slow)
}

/// [`plain_steps`], also flagging the neurons whose step must be tested for a crossing
/// between grid points (`crossings`).
#[inline(always)]
pub fn plain_steps_with<M: Dynamics, I: Integrator<M>, P: Models<M>, D: Drive, B: CrossingTest>(
    models: P,
    step: &Step<D>,
    crossings: B,
    v: &mut [f64],
    w: &mut [f64],
    slow: &mut [bool],
) -> bool {
    if v.len() < 8 {
        return plain_steps_portable::<M, I, P, D, B>(models, step, crossings, v, w, slow);
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, checked just above.
            return unsafe {
                plain_steps_avx512::<M, I, P, D, B>(models, step, crossings, v, w, slow)
            };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe {
                plain_steps_avx2::<M, I, P, D, B>(models, step, crossings, v, w, slow)
            };
        }
    }
    plain_steps_portable::<M, I, P, D, B>(models, step, crossings, v, w, slow)
}

/// The portable loop compiled with a target feature enabled, so that it is vectorised
/// for that instruction set.
macro_rules! compiled_for {
    ($name:ident, $feature:literal) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        unsafe fn $name<M: Dynamics, I: Integrator<M>, P: Models<M>, D: Drive, B: CrossingTest>(
            models: P,
            step: &Step<D>,
            crossings: B,
            v: &mut [f64],
            w: &mut [f64],
            slow: &mut [bool],
        ) -> bool {
            plain_steps_portable::<M, I, P, D, B>(models, step, crossings, v, w, slow)
        }
    };
}

compiled_for!(plain_steps_avx512, "avx512f");
compiled_for!(plain_steps_avx2, "avx2");

#[inline(always)]
fn plain_steps_portable<M: Dynamics, I: Integrator<M>, P: Models<M>, D: Drive, B: CrossingTest>(
    models: P,
    step: &Step<D>,
    crossings: B,
    v: &mut [f64],
    w: &mut [f64],
    slow: &mut [bool],
) -> bool {
    // Equal lengths up front, so the loop below has no bounds checks to stop it being
    // vectorised.
    let n = v.len();
    let (w, slow) = (&mut w[..n], &mut slow[..n]);
    let (noise, until) = (&step.noise[..n], &step.until[..n]);
    let det = step.det.first(n);
    let crossings = crossings.first(n);
    let h = step.h;
    let mut any = false;
    for j in 0..n {
        let model = models.at(j);
        let (x, d) = (noise[j], det.at(j));
        let i = Currents {
            start: d.start + x,
            mid: d.mid + x,
            end: d.end + x,
        };
        let (v0, w0) = (v[j], w[j]);
        let (v1, w1, dv0) = I::step_and_slope(&model, v0, w0, i, h);
        // Refractory, a spike, a non-finite state, a step that starts in the upswing
        // (redone in sub-steps) or one that may have crossed between grid points;
        // `|` rather than `||` and selects rather than ifs keep the loop free of
        // branches.
        let theta = model.spike_voltage();
        let s = (until[j] > step.t)
            | (v1 >= theta)
            | v1.is_nan()
            | !w1.is_finite()
            | model.needs_substeps(v0, dv0, h)
            | crossings.near(j, theta, v0, v1, h);
        slow[j] = s;
        any |= s;
        v[j] = if s { v0 } else { v1 };
        w[j] = if s { w0 } else { w1 };
    }
    any
}

/// The neurons of a batch of the slow path (`engine::lanes`), one entry per lane:
/// state (v, w) at the start of the (sub-)step, the current at its start, midpoint
/// and end (`i`, `i_mid`, `i_end`), and either the time left in the step (`sub`: the
/// step is cut to the upswing's limit, for a current that is the same throughout) or
/// the exact length to step.
#[derive(Clone, Copy)]
pub struct Lanes<'a> {
    pub v: &'a [f64],
    pub w: &'a [f64],
    pub i: &'a [f64],
    pub i_mid: &'a [f64],
    pub i_end: &'a [f64],
    pub x: &'a [f64],
    pub sub: &'a [bool],
}

/// The length of a (sub-)step with `remaining` left in the step and the upswing's
/// `limit` (`Dynamics::upswing_step`), which is not taken below `floor` (so that the
/// sub-steps always reach the step's end). The scalar slow path and the batches
/// both cut steps here.
#[inline(always)]
pub fn cut(remaining: f64, limit: Option<f64>, floor: f64) -> f64 {
    // x.min(∞) is x: no limit keeps the time left.
    remaining.min(limit.map_or(f64::INFINITY, |l| l.max(floor)))
}

/// Where [`lane_steps`] puts each lane's step length and the state at its end.
pub struct LaneOut<'a> {
    pub h: &'a mut [f64],
    pub v: &'a mut [f64],
    pub w: &'a mut [f64],
}

/// One (sub-)step of every lane of a batch, with the arithmetic of the scalar slow
/// path: where `sub`, the step is x (the time left) cut to the upswing's limit, not
/// below `floor`; else it is x. Lanes are independent and the loop has no branches,
/// so it is vectorised (compiled for AVX2 as well, chosen at run time, with the same
/// bits). The caller pads the batch to a multiple of [`LANE_WIDTH`], so that no lane
/// falls to a scalar remainder loop. Unlike the hot loop it has no AVX-512 version:
/// with one on both cores, W1 rk4 took 0.79 s against 0.69 s with AVX2 (medians of 5,
/// BENCHMARKS.md "Two-core peer"), though it is as fast on one core; the cause is
/// not established.
#[inline(always)]
pub fn lane_steps<M: Dynamics, I: Integrator<M>, P: Models<M>>(
    models: P,
    floor: f64,
    lanes: Lanes,
    out: LaneOut,
) {
    // The slices go to the loop as separate arguments, which the compiler knows do
    // not overlap: no run-time overlap checks before a loop of a few vectors.
    let Lanes {
        v,
        w,
        i,
        i_mid,
        i_end,
        x,
        sub,
    } = lanes;
    let LaneOut {
        h: h_out,
        v: v_out,
        w: w_out,
    } = out;
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe {
                lane_steps_avx2::<M, I, P>(
                    models, floor, v, w, i, i_mid, i_end, x, sub, h_out, v_out, w_out,
                )
            };
        }
    }
    lane_steps_portable::<M, I, P>(
        models, floor, v, w, i, i_mid, i_end, x, sub, h_out, v_out, w_out,
    )
}

/// Lanes a batch is padded to: two AVX2 vectors of f64.
pub const LANE_WIDTH: usize = 8;

/// [`lane_steps_portable`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn lane_steps_avx2<M: Dynamics, I: Integrator<M>, P: Models<M>>(
    models: P,
    floor: f64,
    v: &[f64],
    w: &[f64],
    i: &[f64],
    i_mid: &[f64],
    i_end: &[f64],
    x: &[f64],
    sub: &[bool],
    h_out: &mut [f64],
    v_out: &mut [f64],
    w_out: &mut [f64],
) {
    lane_steps_portable::<M, I, P>(
        models, floor, v, w, i, i_mid, i_end, x, sub, h_out, v_out, w_out,
    )
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn lane_steps_portable<M: Dynamics, I: Integrator<M>, P: Models<M>>(
    models: P,
    floor: f64,
    v: &[f64],
    w: &[f64],
    i: &[f64],
    i_mid: &[f64],
    i_end: &[f64],
    x: &[f64],
    sub: &[bool],
    h_out: &mut [f64],
    v_out: &mut [f64],
    w_out: &mut [f64],
) {
    let n = v.len();
    let (w, i, i_mid, i_end) = (&w[..n], &i[..n], &i_mid[..n], &i_end[..n]);
    let (x, sub) = (&x[..n], &sub[..n]);
    let (h_out, v_out, w_out) = (&mut h_out[..n], &mut v_out[..n], &mut w_out[..n]);
    for k in 0..n {
        let model = models.at(k);
        let (v0, w0, c) = (v[k], w[k], i[k]);
        let cut_here = cut(x[k], model.upswing_step(v0, w0, c), floor);
        let h = if sub[k] { cut_here } else { x[k] };
        let currents = Currents {
            start: c,
            mid: i_mid[k],
            end: i_end[k],
        };
        let (v1, w1) = I::step(&model, v0, w0, currents, h);
        h_out[k] = h;
        v_out[k] = v1;
        w_out[k] = w1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::integrate::{Euler, Rk4};
    use crate::model::{self, adex::Adex, Model, ModelKind};

    fn adex() -> Adex {
        Adex::new(&model::Params::defaults(
            ModelKind::by_name("adex").unwrap(),
        ))
    }

    /// Reproducible test inputs: a linear congruential stream of numbers in [0, 1).
    fn uniforms(mut x: u64) -> impl FnMut() -> f64 {
        move || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// The vectorised versions (AVX-512, AVX2, chosen at run time) must give the same
    /// bits as the portable loop, or results would depend on the CPU.
    #[test]
    fn dispatched_and_portable_loops_agree_bit_for_bit() {
        let m = adex();
        let n = 1001;
        let mut uniform = uniforms(12345);
        let v: Vec<f64> = (0..n).map(|_| -80.0 + 45.0 * uniform()).collect();
        let w: Vec<f64> = (0..n).map(|_| 300.0 * uniform()).collect();
        let noise: Vec<f64> = (0..n).map(|_| 2000.0 * uniform() - 500.0).collect();
        let until: Vec<f64> = (0..n).map(|_| 2.0 * uniform()).collect();
        let det = Currents {
            start: 100.0,
            mid: 110.0,
            end: 120.0,
        };
        let step = Step {
            t: 1.0,
            h: 0.1,
            det: Shared(det),
            noise: &noise,
            until: &until,
        };
        fn run<I: Integrator<Adex>>(
            portable: bool,
            m: &Adex,
            step: &Step<Shared>,
            v: &[f64],
            w: &[f64],
        ) -> (Vec<u64>, Vec<bool>) {
            let (mut v, mut w) = (v.to_vec(), w.to_vec());
            let mut slow = vec![false; v.len()];
            if portable {
                plain_steps_portable::<Adex, I, Same<Adex>, Shared, GridOnly>(
                    Same(*m),
                    step,
                    GridOnly,
                    &mut v,
                    &mut w,
                    &mut slow,
                );
            } else {
                plain_steps::<Adex, I, Same<Adex>, Shared>(
                    Same(*m),
                    step,
                    &mut v,
                    &mut w,
                    &mut slow,
                );
            }
            let bits = [v, w].concat().iter().map(|x| x.to_bits()).collect();
            (bits, slow)
        }
        for portable_first in [true, false] {
            let a = run::<Euler>(portable_first, &m, &step, &v, &w);
            let b = run::<Euler>(!portable_first, &m, &step, &v, &w);
            assert_eq!(a, b);
            let a = run::<Rk4>(portable_first, &m, &step, &v, &w);
            let b = run::<Rk4>(!portable_first, &m, &step, &v, &w);
            assert_eq!(a, b);
            assert!(a.1.iter().any(|&s| s) && a.1.iter().any(|&s| !s));
        }
    }

    /// The same for the batch loop of the slow path, with steps both cut by the
    /// upswing and given.
    #[test]
    fn dispatched_and_portable_lane_loops_agree_bit_for_bit() {
        let m = adex();
        let n = 203;
        let mut uniform = uniforms(99);
        let v: Vec<f64> = (0..n).map(|_| -60.0 + 25.0 * uniform()).collect();
        let w: Vec<f64> = (0..n).map(|_| 300.0 * uniform()).collect();
        let i: Vec<f64> = (0..n).map(|_| 1500.0 * uniform()).collect();
        let i_mid: Vec<f64> = (0..n).map(|_| 1500.0 * uniform()).collect();
        let i_end: Vec<f64> = (0..n).map(|_| 1500.0 * uniform()).collect();
        let x: Vec<f64> = (0..n).map(|_| 0.1 * uniform()).collect();
        let sub: Vec<bool> = (0..n).map(|_| uniform() < 0.7).collect();
        fn run<I: Integrator<Adex>>(portable: bool, m: Adex, lanes: Lanes) -> Vec<u64> {
            let n = lanes.v.len();
            let (mut h, mut v1, mut w1) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            if portable {
                let Lanes {
                    v,
                    w,
                    i,
                    i_mid,
                    i_end,
                    x,
                    sub,
                } = lanes;
                lane_steps_portable::<Adex, I, _>(
                    Same(m),
                    1e-7,
                    v,
                    w,
                    i,
                    i_mid,
                    i_end,
                    x,
                    sub,
                    &mut h,
                    &mut v1,
                    &mut w1,
                );
            } else {
                let out = LaneOut {
                    h: &mut h,
                    v: &mut v1,
                    w: &mut w1,
                };
                lane_steps::<Adex, I, _>(Same(m), 1e-7, lanes, out);
            }
            [h, v1, w1].concat().iter().map(|x| x.to_bits()).collect()
        }
        let lanes = Lanes {
            v: &v,
            w: &w,
            i: &i,
            i_mid: &i_mid,
            i_end: &i_end,
            x: &x,
            sub: &sub,
        };
        let a = run::<Euler>(true, m, lanes);
        assert_eq!(a, run::<Euler>(false, m, lanes));
        // Some steps were cut by the upswing (shorter than the time left), some not.
        let cut = (0..n).filter(|&k| f64::from_bits(a[k]) < x[k]).count();
        assert!(cut > 0 && cut < n);
        assert_eq!(run::<Rk4>(true, m, lanes), run::<Rk4>(false, m, lanes));
    }
}
