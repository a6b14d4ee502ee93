//! The slow path in batches. The neurons a step flagged (upswing, spike, refractory,
//! non-finite) become lanes; each lane runs the scalar slow path's loop
//! (`population::Block::advance_slow`) as a state machine, and every round the next
//! (sub-)step of all lanes is taken together in one vectorised pass
//! (`kernel::lane_steps`): the sub-steps of the upswing, the candidates of the
//! crossing search, the rest of the step after a reset. Each lane does exactly the
//! scalar path's operations in the same order, so results keep their bits. A steady
//! input is one number per lane; a moving one is evaluated per lane where the step
//! reads it. Neurons tested for crossings between grid points (which draw from their
//! streams) and methods that weight their input keep the scalar path.

use super::integrate::{Integrator, Root, Search};
use super::kernel::{self, cut, Each, LaneOut, Lanes, Same, LANE_WIDTH};
use crate::model::Dynamics;

/// Where a lane is in the scalar path's loop.
#[derive(Clone, Copy)]
enum Phase {
    /// A plain (sub-)step over the time left, cut by the upswing's limit.
    Step,
    /// Searching the crossing inside the sub-step just taken, from its start.
    Locate(Root),
    /// The crossing found at x, where w is still to be computed.
    Crossed,
}

/// A lane's neuron, where it is in the step, the time left there, and its spikes so
/// far in the step; for a moving input, the neuron's own additive current.
#[derive(Clone, Copy)]
struct Ctl {
    j: usize,
    t: f64,
    remaining: f64,
    fired: u32,
    phase: Phase,
    moving: Option<f64>,
}

/// A lane's current: the same number throughout the step (a steady input plus the
/// neuron's own current), or a moving input plus the neuron's own current.
#[derive(Clone, Copy, Debug)]
pub(super) enum LaneCurrent {
    Steady(f64),
    Moving { own: f64 },
}

/// Why a lane's neuron stopped; the caller names the neuron.
#[derive(Debug, Clone, Copy)]
pub(super) enum Failure {
    /// (V, w) left the finite range at the step ending at `t`.
    NonFinite { t: f64, v: f64, w: f64 },
    /// More spikes than the limit inside one step, the last at `t`.
    Runaway { t: f64 },
}

/// What the batch reads and updates of the block: each neuron's model, state,
/// refractory end and spike times, and its deterministic input at a time (its left
/// limit when asked with `true`).
pub(super) struct Neurons<'a, M> {
    pub models: &'a [M],
    pub same: bool,
    pub input: &'a dyn Fn(usize, f64, bool) -> f64,
    pub v: &'a mut [f64],
    pub w: &'a mut [f64],
    pub refractory_until: &'a mut [f64],
    pub spikes: &'a mut [Vec<f64>],
}

/// The step the batch advances its lanes through, and the run's dt.
#[derive(Clone, Copy)]
pub(super) struct Span {
    pub t0: f64,
    pub t_end: f64,
    pub dt: f64,
    /// More spikes than this inside one step fail the run.
    pub spike_limit: u32,
}

impl Span {
    /// Below a millionth of dt a sub-step is not cut further, so the sub-steps always
    /// reach the step's end (as in the scalar path).
    fn floor(self) -> f64 {
        1e-6 * self.dt
    }
}

/// The lanes of one step, as parallel arrays (kept between steps to reuse their
/// memory). `ctl` holds one entry per lane; the other arrays are longer, padded to
/// whole vectors with lanes that are computed and ignored (zeros, or lanes done
/// earlier: plain numbers either way), so that no pass falls to a scalar remainder
/// loop.
pub(super) struct Batch<M> {
    ctl: Vec<Ctl>,
    models: Vec<M>,
    v: Vec<f64>,
    w: Vec<f64>,
    i: Vec<f64>,
    i_mid: Vec<f64>,
    i_end: Vec<f64>,
    x: Vec<f64>,
    sub: Vec<bool>,
    h: Vec<f64>,
    v1: Vec<f64>,
    w1: Vec<f64>,
}

impl<M: Dynamics> Batch<M> {
    pub fn new() -> Self {
        Batch {
            ctl: Vec::new(),
            models: Vec::new(),
            v: Vec::new(),
            w: Vec::new(),
            i: Vec::new(),
            i_mid: Vec::new(),
            i_end: Vec::new(),
            x: Vec::new(),
            sub: Vec::new(),
            h: Vec::new(),
            v1: Vec::new(),
            w1: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ctl.is_empty()
    }

    /// Add neuron j, at state (v, w) under `current`.
    pub fn push(&mut self, j: usize, model: M, v: f64, w: f64, current: LaneCurrent) {
        let k = self.ctl.len();
        let (i, moving) = match current {
            LaneCurrent::Steady(i) => (i, None),
            // Set at each (sub-)step.
            LaneCurrent::Moving { own } => (0.0, Some(own)),
        };
        self.ctl.push(Ctl {
            j,
            t: f64::NAN,
            remaining: f64::NAN,
            fired: 0,
            phase: Phase::Step,
            moving,
        });
        if k == self.v.len() {
            let padded = (k + 1).next_multiple_of(LANE_WIDTH);
            self.models.resize(padded, model);
            for a in [&mut self.v, &mut self.w, &mut self.x] {
                a.resize(padded, 0.0);
            }
            for a in [&mut self.i, &mut self.i_mid, &mut self.i_end] {
                a.resize(padded, 0.0);
            }
            for a in [&mut self.h, &mut self.v1, &mut self.w1] {
                a.resize(padded, 0.0);
            }
            self.sub.resize(padded, false);
        }
        self.models[k] = model;
        self.v[k] = v;
        self.w[k] = w;
        self.i[k] = i;
        self.i_mid[k] = i;
        self.i_end[k] = i;
        self.x[k] = 0.0;
        self.sub[k] = true;
    }

    /// Advance every lane to the step's end, writing each neuron's state and spikes
    /// into `nrn`; failures go to `failed` as (neuron index, why). Empties the batch.
    pub fn run<I: Integrator<M>>(
        &mut self,
        nrn: &mut Neurons<M>,
        span: Span,
        failed: &mut Vec<(usize, Failure)>,
    ) {
        for c in &mut self.ctl {
            c.t = span.t0;
        }
        self.retain(|b, k| b.top::<I>(k, nrn, span, failed));
        while !self.is_empty() {
            self.pass::<I>(nrn, span.floor());
            self.retain(|b, k| b.advance::<I>(k, nrn, span, failed));
        }
    }

    /// One vectorised (sub-)step of every lane and of the padding after them.
    fn pass<I: Integrator<M>>(&mut self, nrn: &Neurons<M>, floor: f64) {
        let padded = self.ctl.len().next_multiple_of(LANE_WIDTH);
        let lanes = Lanes {
            v: &self.v[..padded],
            w: &self.w[..padded],
            i: &self.i[..padded],
            i_mid: &self.i_mid[..padded],
            i_end: &self.i_end[..padded],
            x: &self.x[..padded],
            sub: &self.sub[..padded],
        };
        let out = LaneOut {
            h: &mut self.h[..padded],
            v: &mut self.v1[..padded],
            w: &mut self.w1[..padded],
        };
        if nrn.same {
            kernel::lane_steps::<M, I, _>(Same(nrn.models[0]), floor, lanes, out);
        } else {
            kernel::lane_steps::<M, I, _>(Each(&self.models[..padded]), floor, lanes, out);
        }
    }

    /// Keep the lanes for which `keep` is true. A dropped lane's slot takes the last
    /// lane, already seen (lanes are independent, so their order does not matter);
    /// the arrays keep their length, and what the dropped lanes leave behind becomes
    /// padding.
    fn retain(&mut self, mut keep: impl FnMut(&mut Self, usize) -> bool) {
        for k in (0..self.ctl.len()).rev() {
            if keep(self, k) {
                continue;
            }
            let last = self.ctl.len() - 1;
            if k != last {
                self.ctl[k] = self.ctl[last];
                self.models[k] = self.models[last];
                self.v[k] = self.v[last];
                self.w[k] = self.w[last];
                self.i[k] = self.i[last];
                self.i_mid[k] = self.i_mid[last];
                self.i_end[k] = self.i_end[last];
                self.x[k] = self.x[last];
                self.sub[k] = self.sub[last];
            }
            self.ctl.pop();
        }
    }

    /// The top of the scalar path's loop: the refractory hold, then either the end of
    /// the step or a (sub-)step over the time left. Returns whether the lane goes on.
    #[inline]
    fn top<I: Integrator<M>>(
        &mut self,
        k: usize,
        nrn: &mut Neurons<M>,
        span: Span,
        failed: &mut Vec<(usize, Failure)>,
    ) -> bool {
        let m = self.models[k];
        let c = &mut self.ctl[k];
        let held_until = nrn.refractory_until[c.j];
        if held_until > c.t {
            let until = held_until.min(span.t_end);
            self.w[k] = m.w_held(self.w[k], until - c.t);
            self.v[k] = m.v_reset();
            c.t = until;
        }
        let remaining = span.t_end - c.t;
        // A remainder this short is rounding, not time left in the step.
        if remaining <= 1e-9 * span.dt {
            return self.finish(k, nrn, span, failed);
        }
        c.phase = Phase::Step;
        c.remaining = remaining;
        let Some(own) = c.moving else {
            self.x[k] = remaining;
            self.sub[k] = true;
            return true;
        };
        // A moving input: the step is cut here, where its start value is at hand,
        // and the input is read at the points the step needs.
        let (j, t) = (c.j, c.t);
        let start = (nrn.input)(j, t, false) + own;
        let h = cut(
            remaining,
            m.upswing_step(self.v[k], self.w[k], start),
            span.floor(),
        );
        self.i[k] = start;
        self.sub[k] = false;
        self.step_to::<I>(k, h, nrn);
        true
    }

    /// Let lane k's next pass step by s from its sub-step's start: for a moving input
    /// the current at the midpoint and end of [t, t + s], where the method reads them.
    #[inline]
    fn step_to<I: Integrator<M>>(&mut self, k: usize, s: f64, nrn: &Neurons<M>) {
        self.x[k] = s;
        let c = &self.ctl[k];
        if let Some(own) = c.moving {
            if I::READS_MID_AND_END {
                self.i_mid[k] = (nrn.input)(c.j, c.t + 0.5 * s, false) + own;
                self.i_end[k] = (nrn.input)(c.j, c.t + s, true) + own;
            } else {
                (self.i_mid[k], self.i_end[k]) = (self.i[k], self.i[k]);
            }
        }
    }

    /// Take lane k's result of the last pass. Returns whether the lane goes on.
    #[inline]
    fn advance<I: Integrator<M>>(
        &mut self,
        k: usize,
        nrn: &mut Neurons<M>,
        span: Span,
        failed: &mut Vec<(usize, Failure)>,
    ) -> bool {
        let m = self.models[k];
        let theta = m.spike_voltage();
        let (h, v1, w1) = (self.h[k], self.v1[k], self.w1[k]);
        let c = &mut self.ctl[k];
        match c.phase {
            Phase::Step => {
                if v1.is_nan() || !w1.is_finite() {
                    let why = Failure::NonFinite {
                        t: span.t_end,
                        v: v1,
                        w: w1,
                    };
                    failed.push((c.j, why));
                    return false;
                }
                if v1 < theta {
                    self.v[k] = v1;
                    self.w[k] = w1;
                    c.t += h;
                    return if h < c.remaining {
                        self.top::<I>(k, nrn, span, failed)
                    } else {
                        self.finish(k, nrn, span, failed)
                    };
                }
                // g(h) is the step just taken: the search starts from its end.
                let mut root = Root::new(self.v[k] - theta, h);
                match root.start(v1 - theta) {
                    Search::Try(x) => {
                        c.phase = Phase::Locate(root);
                        self.sub[k] = false;
                        self.step_to::<I>(k, x, nrn);
                        true
                    }
                    Search::Found(s) => self.spike::<I>(k, s, w1, nrn, span, failed),
                }
            }
            Phase::Locate(mut root) => match root.feed(v1 - theta) {
                Search::Try(x) => {
                    c.phase = Phase::Locate(root);
                    self.step_to::<I>(k, x, nrn);
                    true
                }
                // The root is the point just stepped to: its w is at hand.
                Search::Found(s) if s.to_bits() == self.x[k].to_bits() => {
                    self.spike::<I>(k, s, w1, nrn, span, failed)
                }
                Search::Found(s) => {
                    c.phase = Phase::Crossed;
                    self.step_to::<I>(k, s, nrn);
                    true
                }
            },
            Phase::Crossed => self.spike::<I>(k, self.x[k], w1, nrn, span, failed),
        }
    }

    /// A spike s after the lane's sub-step start, with w there `w_at`: the reset, then
    /// the rest of the step. Returns whether the lane goes on.
    #[inline]
    fn spike<I: Integrator<M>>(
        &mut self,
        k: usize,
        s: f64,
        w_at: f64,
        nrn: &mut Neurons<M>,
        span: Span,
        failed: &mut Vec<(usize, Failure)>,
    ) -> bool {
        let m = self.models[k];
        let c = &mut self.ctl[k];
        c.t += s;
        c.fired += 1;
        if c.fired > span.spike_limit {
            failed.push((c.j, Failure::Runaway { t: c.t }));
            return false;
        }
        nrn.spikes[c.j].push(c.t);
        nrn.refractory_until[c.j] = c.t + m.t_ref();
        self.w[k] = w_at + m.jump();
        self.v[k] = m.v_reset();
        self.top::<I>(k, nrn, span, failed)
    }

    /// The end of the step: the lane's state goes back to its neuron. Returns false
    /// (the lane is done).
    #[inline]
    fn finish(
        &mut self,
        k: usize,
        nrn: &mut Neurons<M>,
        span: Span,
        failed: &mut Vec<(usize, Failure)>,
    ) -> bool {
        let (j, v, w) = (self.ctl[k].j, self.v[k], self.w[k]);
        if !v.is_finite() || !w.is_finite() {
            failed.push((
                j,
                Failure::NonFinite {
                    t: span.t_end,
                    v,
                    w,
                },
            ));
            return false;
        }
        nrn.v[j] = v;
        nrn.w[j] = w;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::integrate::{locate, Currents, Euler, Rk4};

    /// V climbs at a constant rate so steep that g's rounding is far above the
    /// search's 1e-12 mV: the search ends on its bracket, often on a point it tried
    /// before the last, whose w must then be computed again (`Phase::Crossed`). w
    /// climbs fast enough that w at two points of the final bracket differs in its
    /// bits, so taking the last point's w instead would show.
    #[derive(Clone, Copy)]
    struct Ramp;

    impl Dynamics for Ramp {
        const HAS_W: bool = true;
        fn derivs(&self, _v: f64, w: f64, i: f64) -> (f64, f64) {
            (1e20 + i, 1e6 + 1e-3 * w)
        }
        fn spike_voltage(&self) -> f64 {
            1e18
        }
        fn v_reset(&self) -> f64 {
            0.0
        }
        fn t_ref(&self) -> f64 {
            0.0
        }
        fn jump(&self) -> f64 {
            0.5
        }
    }

    /// The scalar path's steps for a neuron with no upswing, no refractoriness and
    /// no noise: a step over the time left, and at each crossing the located spike,
    /// the reset and the rest of the step.
    fn scalar<I: Integrator<Ramp>>(m: Ramp, t0: f64, t_end: f64, dt: f64) -> (Vec<f64>, f64) {
        let at = |_: f64| Currents {
            start: 0.0,
            mid: 0.0,
            end: 0.0,
        };
        let (mut v, mut w, mut t) = (0.0, 0.0, t0);
        let mut spikes = Vec::new();
        while t_end - t > 1e-9 * dt {
            let h = t_end - t;
            let (v1, w1) = I::step(&m, v, w, at(h), h);
            if v1 < m.spike_voltage() {
                (v, w) = (v1, w1);
                break;
            }
            let g = |s: f64| I::step(&m, v, w, at(s), s).0 - m.spike_voltage();
            let s = locate(g, v - m.spike_voltage(), h);
            let (_, w_at) = I::step(&m, v, w, at(s), s);
            t += s;
            spikes.push(t);
            (v, w) = (m.v_reset(), w_at + m.jump());
        }
        assert!(v.is_finite());
        (spikes, w)
    }

    fn batched<I: Integrator<Ramp>>(
        lanes: usize,
        t0: f64,
        t_end: f64,
        dt: f64,
    ) -> Vec<(Vec<f64>, f64)> {
        let models = vec![Ramp; lanes];
        let (mut v, mut w) = (vec![0.0; lanes], vec![0.0; lanes]);
        let mut until = vec![f64::NEG_INFINITY; lanes];
        let mut spikes = vec![Vec::new(); lanes];
        let mut batch = Batch::new();
        for j in 0..lanes {
            batch.push(j, Ramp, 0.0, 0.0, LaneCurrent::Steady(0.0));
        }
        let mut nrn = Neurons {
            models: &models,
            same: true,
            input: &|_, _, _| 0.0,
            v: &mut v,
            w: &mut w,
            refractory_until: &mut until,
            spikes: &mut spikes,
        };
        let span = Span {
            t0,
            t_end,
            dt,
            spike_limit: 1000,
        };
        let mut failed = Vec::new();
        batch.run::<I>(&mut nrn, span, &mut failed);
        assert!(failed.is_empty() && batch.is_empty());
        spikes.into_iter().zip(w).collect()
    }

    #[test]
    fn searches_that_end_on_their_bracket_keep_the_scalar_paths_bits() {
        let (t0, dt) = (0.3, 0.1);
        let t_end = t0 + dt;
        for lanes in [1, 5, 9] {
            let want = scalar::<Euler>(Ramp, t0, t_end, dt);
            assert!(want.0.len() > 5, "several spikes in the step");
            for got in batched::<Euler>(lanes, t0, t_end, dt) {
                assert_eq!(got.0, want.0);
                assert_eq!(got.1.to_bits(), want.1.to_bits());
            }
            let want = scalar::<Rk4>(Ramp, t0, t_end, dt);
            for got in batched::<Rk4>(lanes, t0, t_end, dt) {
                assert_eq!(got.0, want.0);
                assert_eq!(got.1.to_bits(), want.1.to_bits());
            }
        }
    }
}
