//! Adaptive exponential integrate-and-fire neuron (Brette & Gerstner 2005,
//! J. Neurophysiol. 94:3637; firing patterns in Naud, Marcille, Clopath & Gerstner
//! 2008, Biol. Cybern. 99:335).
//!
//! ```text
//! C dV/dt   = -g_L (V - E_L) + g_L Δ_T exp((V - V_T)/Δ_T) - w + I(t)
//! τ_w dw/dt = a (V - E_L) - w
//! spike when V >= V_peak: V -> V_reset, w -> w + b
//! refractory: for t_ref V is held at V_reset, the input is ignored and w relaxes as
//!             τ_w dw/dt = a (V_reset - E_L) - w (solved exactly)
//! ```
//!
//! | key | default | unit | meaning |
//! |---|---|---|---|
//! | C | 281 | pF | membrane capacitance |
//! | g_L | 30 | nS | leak conductance |
//! | E_L | -70.6 | mV | resting potential |
//! | V_T | -50.4 | mV | threshold slope point |
//! | Delta_T | 2 | mV | slope factor |
//! | V_peak | V_T + 5 Δ_T | mV | spike cut-off |
//! | V_reset | -70.6 | mV | reset potential |
//! | t_ref | 0 | ms | absolute refractory period |
//! | a | 4 | nS | subthreshold adaptation |
//! | b | 80.5 | pA | spike-triggered adaptation |
//! | tau_w | 144 | ms | adaptation time constant |
//!
//! Rheobase (Touboul & Brette 2008): when a < C/τ_w the transition is a saddle-node
//! at I = (g_L + a)[V_T − E_L − Δ_T + Δ_T ln(1 + a/g_L)].

use super::eif::{exponential_relations, Exponential};
use super::{
    concat_params, exponential_params, membrane_params, reset_params, Default, Dynamics, Model,
    ModelDef, ParamInfo, Params, Rule,
};
use crate::units::Dim;

const PARAMS: &[ParamInfo] = concat_params!(
    membrane_params!(),
    exponential_params!(),
    reset_params!(),
    [
        ParamInfo {
            name: "a",
            dim: Dim::Conductance,
            default: Default::Value(4.0),
            rule: Rule::Any,
            meaning: "subthreshold adaptation conductance",
        },
        ParamInfo {
            name: "b",
            dim: Dim::Current,
            default: Default::Value(80.5),
            rule: Rule::Any,
            meaning: "spike-triggered adaptation increment",
        },
        ParamInfo {
            name: "tau_w",
            dim: Dim::Time,
            default: Default::Value(144.0),
            rule: Rule::Positive,
            meaning: "adaptation time constant",
        },
    ],
);

/// AdEx right-hand side with precomputed constants.
#[derive(Clone, Copy, Debug)]
pub struct Adex {
    pub g_l: f64,
    pub inv_c: f64,
    pub e_l: f64,
    pub exp: Exponential,
    pub a: f64,
    pub b: f64,
    pub inv_tau_w: f64,
    pub v_peak: f64,
    pub v_reset: f64,
    pub t_ref: f64,
}

/// The phase plane at constant current I: the V nullcline
/// w = −g_L (V − E_L) + g_L Δ_T exp((V − V_T)/Δ_T) + I and the w nullcline
/// w = a (V − E_L).
fn nullclines(p: &Params, v: f64, i: f64) -> (f64, f64) {
    let (g_l, e_l) = (p.value("g_L"), p.value("E_L"));
    let (v_t, delta_t) = (p.value("V_T"), p.value("Delta_T"));
    let v_null = -g_l * (v - e_l) + g_l * delta_t * ((v - v_t) / delta_t).exp() + i;
    (v_null, p.value("a") * (v - e_l))
}

impl Model for Adex {
    const DEF: ModelDef = ModelDef {
        name: "adex",
        title: "Adaptive exponential integrate-and-fire",
        equations: "C dV/dt = -g_L (V - E_L) + g_L Delta_T exp((V - V_T)/Delta_T) - w + I(t); tau_w dw/dt = a (V - E_L) - w; spike when V >= V_peak: V -> V_reset, w -> w + b; V held for t_ref while w evolves",
        params: PARAMS,
        has_w: true,
        closed_form: false,
        membrane_alternative: true,
        relations: exponential_relations,
        spike_voltage: |p| p.value("V_peak"),
        rest: |p| p.value("E_L"),
        reset: |p| p.value("V_reset"),
        shortest_time_constant: |p| (p.value("C") / p.value("g_L")).min(p.value("tau_w")),
        nullclines: Some(nullclines),
    };

    fn new(p: &Params) -> Self {
        Adex {
            g_l: p.value("g_L"),
            inv_c: 1.0 / p.value("C"),
            e_l: p.value("E_L"),
            exp: Exponential::new(p),
            a: p.value("a"),
            b: p.value("b"),
            inv_tau_w: 1.0 / p.value("tau_w"),
            v_peak: p.value("V_peak"),
            v_reset: p.value("V_reset"),
            t_ref: p.value("t_ref"),
        }
    }
}

impl Dynamics for Adex {
    const HAS_W: bool = true;

    #[inline(always)]
    fn derivs(&self, v: f64, w: f64, i: f64) -> (f64, f64) {
        let dv = (-self.g_l * (v - self.e_l) + self.exp.current(v) - w + i) * self.inv_c;
        let dw = (self.a * (v - self.e_l) - w) * self.inv_tau_w;
        (dv, dw)
    }
    fn spike_voltage(&self) -> f64 {
        self.v_peak
    }
    fn v_reset(&self) -> f64 {
        self.v_reset
    }
    fn t_ref(&self) -> f64 {
        self.t_ref
    }
    fn jump(&self) -> f64 {
        self.b
    }
    #[inline(always)]
    fn upswing_step(&self, v: f64, w: f64, i: f64) -> Option<f64> {
        // Below V_T (nearly every step) this costs one comparison, no exp().
        if v <= self.exp.v_t {
            return None;
        }
        self.exp.upswing_step(v, self.derivs(v, w, i).0)
    }
    #[inline(always)]
    fn needs_substeps(&self, v: f64, dv: f64, h: f64) -> bool {
        self.exp.needs_substeps(v, dv, h)
    }
    fn w_held(&self, w: f64, h: f64) -> f64 {
        let w_inf = self.a * (self.v_reset - self.e_l);
        w_inf + (w - w_inf) * (-h * self.inv_tau_w).exp()
    }
}
