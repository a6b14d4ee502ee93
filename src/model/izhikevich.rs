//! Izhikevich's simple model in its dimensional form (Izhikevich 2007, *Dynamical
//! Systems in Neuroscience*, MIT Press, ch. 8, eqs. 8.5–8.6).
//!
//! ```text
//! C dv/dt = k (v - v_r)(v - v_t) - u + I(t)
//!   du/dt = a (b (v - v_r) - u)
//! spike when v >= v_peak: v -> c, u -> u + d
//! refractory: for t_ref v is held at c, the input is ignored and u relaxes as
//!             du/dt = a (b (c - v_r) - u) (solved exactly)
//! ```
//!
//! u is the model's second state variable (`w`, pA, recorded as `w_pA`).
//!
//! | key | default | unit | meaning |
//! |---|---|---|---|
//! | C | 100 | pF | membrane capacitance |
//! | k | 0.7 | nS/mV | gain of the quadratic current |
//! | v_r | -60 | mV | resting potential |
//! | v_t | -40 | mV | instantaneous threshold potential |
//! | v_peak | 35 | mV | spike cut-off |
//! | a | 0.03 | 1/ms | rate of the recovery current u |
//! | b | -2 | nS | sensitivity of u to v |
//! | c | -50 | mV | reset potential |
//! | d | 100 | pA | jump of u at a spike |
//! | t_ref | 0 | ms | absolute refractory period |
//!
//! The defaults are the book's regular-spiking layer-5 pyramidal cell (Fig. 8.12).
//!
//! Closed forms used by the tests: under a constant I the resting state is
//! v* = v_r + x*, u* = b x*, with x* the smaller root of k x² − (k (v_t − v_r) + b) x + I
//! = 0; the two roots meet at the rheobase I = (k (v_t − v_r) + b)² / (4 k), a
//! saddle-node when b < a C (RS: 51.4 pA).

use super::{Default, Dynamics, Model, ModelDef, ParamInfo, Params, Rule, Violation};
use crate::units::Dim;

const PARAMS: &[ParamInfo] = &[
    ParamInfo {
        name: "C",
        dim: Dim::Capacitance,
        default: Default::Value(100.0),
        rule: Rule::Positive,
        meaning: "membrane capacitance",
    },
    ParamInfo {
        name: "k",
        dim: Dim::ConductancePerVoltage,
        default: Default::Value(0.7),
        rule: Rule::Positive,
        meaning: "gain of the quadratic current; k (v_t - v_r) is the conductance at rest",
    },
    ParamInfo {
        name: "v_r",
        dim: Dim::Voltage,
        default: Default::Value(-60.0),
        rule: Rule::Any,
        meaning: "resting potential",
    },
    ParamInfo {
        name: "v_t",
        dim: Dim::Voltage,
        default: Default::Value(-40.0),
        rule: Rule::Any,
        meaning: "instantaneous threshold potential",
    },
    ParamInfo {
        name: "v_peak",
        dim: Dim::Voltage,
        default: Default::Value(35.0),
        rule: Rule::Any,
        meaning: "spike cut-off",
    },
    ParamInfo {
        name: "a",
        dim: Dim::Frequency,
        default: Default::Value(0.03),
        rule: Rule::Positive,
        meaning: "rate of the recovery current u, 1/ms (e.g. \"0.03 /ms\")",
    },
    ParamInfo {
        name: "b",
        dim: Dim::Conductance,
        default: Default::Value(-2.0),
        rule: Rule::Any,
        meaning: "sensitivity of u to v (negative: u amplifies)",
    },
    ParamInfo {
        name: "c",
        dim: Dim::Voltage,
        default: Default::Value(-50.0),
        rule: Rule::Any,
        meaning: "reset potential",
    },
    ParamInfo {
        name: "d",
        dim: Dim::Current,
        default: Default::Value(100.0),
        rule: Rule::Any,
        meaning: "jump of u at a spike",
    },
    ParamInfo {
        name: "t_ref",
        dim: Dim::Time,
        default: Default::Value(0.0),
        rule: Rule::NonNegative,
        meaning: "absolute refractory period (v held at c)",
    },
];

/// v_r < v_t < v_peak and c < v_peak: without a threshold above rest there is no
/// resting state, and a reset at or above the cut-off would fire again at once.
fn relations(p: &Params) -> Result<(), Violation> {
    let (v_r, v_t) = (p.value("v_r"), p.value("v_t"));
    let (v_peak, c) = (p.value("v_peak"), p.value("c"));
    if v_t <= v_r {
        return Err(Violation {
            key: "v_t",
            message: format!("v_t must be above v_r (got v_t {v_t} mV, v_r {v_r} mV)"),
        });
    }
    if v_peak <= v_t {
        return Err(Violation {
            key: "v_peak",
            message: format!("v_peak must be above v_t (got v_peak {v_peak} mV, v_t {v_t} mV)"),
        });
    }
    if c >= v_peak {
        return Err(Violation {
            key: "c",
            message: format!("c must be below v_peak (got c {c} mV, v_peak {v_peak} mV)"),
        });
    }
    Ok(())
}

/// The shortest time constant: the membrane's at rest, C / (k (v_t − v_r)) (the
/// slope of the quadratic current at v_r is a leak conductance k (v_t − v_r)), or
/// u's, 1/a. The faster upswing above v_t is not among them: it is sub-stepped
/// (`upswing_step`), as the exponential models' is.
fn shortest_time_constant(p: &Params) -> f64 {
    let membrane = p.value("C") / (p.value("k") * (p.value("v_t") - p.value("v_r")));
    membrane.min(1.0 / p.value("a"))
}

/// The phase plane at constant current I: the v nullcline u = k (v − v_r)(v − v_t) + I
/// and the u nullcline u = b (v − v_r).
fn nullclines(p: &Params, v: f64, i: f64) -> (f64, f64) {
    let (k, v_r, v_t) = (p.value("k"), p.value("v_r"), p.value("v_t"));
    (k * (v - v_r) * (v - v_t) + i, p.value("b") * (v - v_r))
}

/// The sub-step rule of the upswing: above v_t a step may not be longer than the
/// e-folding time 1/λ of the run-away, λ = ∂(dv/dt)/∂v = 2k (v − m)/C with m the
/// parabola's vertex (v_r + v_t)/2, i.e. h λ ≤ UPSWING_H_LAMBDA.
///
/// Why this bound. Unlike the exponential, the quadratic run-away is cut at a
/// v_peak a few tens of mV above threshold, where λ is finite (the book's fast-spiking
/// cell: 1/λ = 0.14 ms at v_peak). Where h λ ≤ 1 a step of euler or rk4 is in its
/// asymptotic regime and its error falls as h^p; splitting such steps into sub-steps
/// whose length does not shrink with dt, as the exponential models' quarter-Δ_T rule
/// does, leaves an error that does not (with sub-steps moving v by an eighth of
/// v − m, that cell's spike times stayed 1.5e-5 ms off from dt 0.1 to 0.05 ms instead
/// of falling 16×). Where h λ > 1 a step's stages overshoot the parabola and its error
/// no longer follows h^p; only there are steps split, to h λ = 1. At v_t, λ is
/// k (v_t − v_r)/C, the inverse of the membrane time constant at rest that dt is
/// checked against (dt ≤ τ/5), so a step is split only if it starts more than
/// 2 (v_t − v_r) above v_t: near v_peak at a coarse dt, or under a high v_peak. λ does
/// not depend on u or I, so neither does the rule.
pub const UPSWING_H_LAMBDA: f64 = 1.0;

/// Izhikevich right-hand side with precomputed constants.
#[derive(Clone, Copy, Debug)]
pub struct Izhikevich {
    pub k: f64,
    pub inv_c: f64,
    pub v_r: f64,
    pub v_t: f64,
    /// The vertex (v_r + v_t)/2 of the quadratic current.
    pub vertex: f64,
    /// 2k/C: the run-away's rate λ is this times v − vertex.
    pub lambda_gain: f64,
    pub v_peak: f64,
    pub a: f64,
    pub b: f64,
    pub c: f64,
    pub d: f64,
    pub t_ref: f64,
}

impl Model for Izhikevich {
    const DEF: ModelDef = ModelDef {
        name: "izhikevich",
        title: "Izhikevich simple model (dimensional form, Izhikevich 2007)",
        equations: "C dv/dt = k (v - v_r)(v - v_t) - u + I(t); du/dt = a (b (v - v_r) - u); spike when v >= v_peak: v -> c, u -> u + d; v held at c for t_ref while u evolves (u is recorded as w)",
        params: PARAMS,
        has_w: true,
        closed_form: false,
        membrane_alternative: false,
        relations,
        spike_voltage: |p| p.value("v_peak"),
        rest: |p| p.value("v_r"),
        reset: |p| p.value("c"),
        shortest_time_constant,
        nullclines: Some(nullclines),
    };

    fn new(p: &Params) -> Self {
        let (v_r, v_t) = (p.value("v_r"), p.value("v_t"));
        Izhikevich {
            k: p.value("k"),
            inv_c: 1.0 / p.value("C"),
            v_r,
            v_t,
            vertex: 0.5 * (v_r + v_t),
            lambda_gain: 2.0 * p.value("k") / p.value("C"),
            v_peak: p.value("v_peak"),
            a: p.value("a"),
            b: p.value("b"),
            c: p.value("c"),
            d: p.value("d"),
            t_ref: p.value("t_ref"),
        }
    }
}

impl Dynamics for Izhikevich {
    const HAS_W: bool = true;

    #[inline(always)]
    fn derivs(&self, v: f64, u: f64, i: f64) -> (f64, f64) {
        let dv = (self.k * (v - self.v_r) * (v - self.v_t) - u + i) * self.inv_c;
        let du = self.a * (self.b * (v - self.v_r) - u);
        (dv, du)
    }
    fn spike_voltage(&self) -> f64 {
        self.v_peak
    }
    fn v_reset(&self) -> f64 {
        self.c
    }
    fn t_ref(&self) -> f64 {
        self.t_ref
    }
    fn jump(&self) -> f64 {
        self.d
    }
    fn w_held(&self, u: f64, h: f64) -> f64 {
        let u_inf = self.b * (self.c - self.v_r);
        u_inf + (u - u_inf) * (-h * self.a).exp()
    }
    #[inline(always)]
    fn upswing_step(&self, v: f64, _u: f64, _i: f64) -> Option<f64> {
        (v > self.v_t).then(|| UPSWING_H_LAMBDA / (self.lambda_gain * (v - self.vertex)))
    }
    /// `upswing_step(v, u, i).is_some_and(|l| l < h)` without branches: above v_t
    /// (where v − vertex > 0) the step is longer than UPSWING_H_LAMBDA / λ.
    #[inline(always)]
    fn needs_substeps(&self, v: f64, _dv: f64, h: f64) -> bool {
        (v > self.v_t) & (h * (self.lambda_gain * (v - self.vertex)) > UPSWING_H_LAMBDA)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{validate, ModelKind};

    fn defaults() -> Params {
        Params::defaults(ModelKind::by_name("izhikevich").unwrap())
    }

    #[test]
    fn defaults_are_the_books_regular_spiking_cell() {
        let p = defaults();
        let v = |key| p.get(key).unwrap();
        assert_eq!(
            (v("C"), v("k"), v("v_r"), v("v_t")),
            (100.0, 0.7, -60.0, -40.0)
        );
        assert_eq!((v("v_peak"), v("a"), v("b")), (35.0, 0.03, -2.0));
        assert_eq!((v("c"), v("d"), v("t_ref")), (-50.0, 100.0, 0.0));
        assert!(validate(&p).is_ok());
        // AdEx's tau_m and R do not apply: the membrane is C and k.
        assert_eq!(p.get("tau_m"), None);
        let kind = p.kind();
        assert!(!kind.accepts("tau_m") && !kind.accepts("g_L") && kind.accepts("v_peak"));
        // C/(k (v_t − v_r)) = 100/14 ms, shorter than 1/a = 33 ms.
        let tau = (kind.def().shortest_time_constant)(&p);
        assert!((tau - 100.0 / 14.0).abs() < 1e-12);
    }

    #[test]
    fn every_rule_has_its_own_message() {
        let cases: [(&str, f64, &str, &str); 7] = [
            ("C", 0.0, "C", "C must be positive"),
            ("k", -0.7, "k", "k must be positive"),
            ("a", 0.0, "a", "a must be positive"),
            ("t_ref", -1.0, "t_ref", "t_ref must not be negative"),
            ("v_t", -70.0, "v_t", "v_t must be above v_r"),
            ("v_peak", -45.0, "v_peak", "v_peak must be above v_t"),
            ("c", 40.0, "c", "c must be below v_peak"),
        ];
        for (key, value, blamed, expected) in cases {
            let mut p = defaults();
            assert!(p.set(key, value));
            let err = validate(&p).unwrap_err();
            assert_eq!(err.key, blamed);
            assert!(err.message.starts_with(expected), "{key}: {}", err.message);
        }
        let mut p = defaults();
        p.set("b", 5.0);
        p.set("d", -10.0);
        assert!(validate(&p).is_ok(), "b and d may take either sign");
    }

    #[test]
    fn rest_is_an_exact_fixed_point_and_below_rheobase_the_closed_form_one() {
        let m = Izhikevich::new(&defaults());
        assert_eq!(m.derivs(-60.0, 0.0, 0.0), (0.0, 0.0));
        // Under a constant I below the rheobase (k Δ + b)²/(4k) the stable state is
        // v_r + x*, u* = b x*, x* the smaller root of k x² − (k Δ + b) x + I = 0.
        let (k, delta, b): (f64, f64, f64) = (0.7, 20.0, -2.0);
        let rheobase = (k * delta + b) * (k * delta + b) / (4.0 * k);
        assert!((rheobase - 51.428_571_428_571_43).abs() < 1e-9);
        for i in [10.0, 30.0, 0.99 * rheobase] {
            let s = k * delta + b;
            let x = (s - (s * s - 4.0 * k * i).sqrt()) / (2.0 * k);
            let (dv, du) = m.derivs(-60.0 + x, b * x, i);
            assert!(dv.abs() < 1e-12 && du.abs() < 1e-12, "I = {i}: {dv}, {du}");
        }
    }

    #[test]
    fn held_u_relaxes_exactly_towards_its_nullcline_at_c() {
        let m = Izhikevich::new(&defaults());
        let u_inf = -2.0 * (-50.0 - -60.0);
        assert_eq!(m.w_held(u_inf, 7.0), u_inf);
        // The semigroup property and the slope at 0 of the exact solution.
        let (u, h1, h2) = (150.0, 3.0, 4.5);
        let once = m.w_held(u, h1 + h2);
        assert!((once - m.w_held(m.w_held(u, h1), h2)).abs() < 1e-12);
        let eps = 1e-6;
        let slope = (m.w_held(u, eps) - u) / eps;
        assert!((slope - m.derivs(-50.0, u, 0.0).1).abs() < 1e-4);
    }

    #[test]
    fn the_branch_free_substep_test_agrees_with_the_substep_length() {
        let m = Izhikevich::new(&defaults());
        for v in [-70.0, -45.0, -40.0, -39.9, -30.0, 0.0, 30.0] {
            for u in [-50.0, 0.0, 300.0] {
                for i in [0.0, 100.0, 2000.0] {
                    for h in [0.001, 0.025, 0.1, 1.0] {
                        let dv = m.derivs(v, u, i).0;
                        let expected = m.upswing_step(v, u, i).is_some_and(|l| l < h);
                        assert_eq!(m.needs_substeps(v, dv, h), expected, "{v} {u} {i} {h}");
                    }
                }
            }
        }
        // The sub-step is 1/λ, λ the slope ∂(dv/dt)/∂v (by central difference), and
        // it does not depend on u or I.
        let (v, u, i) = (10.0, 50.0, 100.0);
        let l = m.upswing_step(v, u, i).unwrap();
        let e = 1e-4;
        let lambda = (m.derivs(v + e, u, i).0 - m.derivs(v - e, u, i).0) / (2.0 * e);
        assert!(
            (l * lambda - UPSWING_H_LAMBDA).abs() < 1e-9,
            "{}",
            l * lambda
        );
        assert_eq!(m.upswing_step(v, -300.0, 0.0), Some(l));
        // At v_t the bound is the membrane time constant at rest: never below dt.
        let at_threshold = 1.0 / (m.lambda_gain * (m.v_t - m.vertex));
        assert!((at_threshold - 100.0 / 14.0).abs() < 1e-12);
        assert_eq!(m.upswing_step(-40.0, 0.0, 0.0), None);
    }

    #[test]
    fn nullclines_cross_at_the_resting_state() {
        let p = defaults();
        let (v_null, u_null) = nullclines(&p, -60.0, 0.0);
        assert_eq!((v_null, u_null), (0.0, 0.0));
        let (v_null, u_null) = nullclines(&p, -40.0, 25.0);
        assert_eq!((v_null, u_null), (25.0, -40.0));
    }
}
