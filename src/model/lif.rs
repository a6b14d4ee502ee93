//! Leaky integrate-and-fire neuron (Lapicque 1907; Gerstner et al., *Neuronal
//! Dynamics*, 2014, §1.3).
//!
//! ```text
//! C dV/dt = -g_L (V - E_L) + I(t)        spike when V >= V_th, then V -> V_reset
//! ```
//! Equivalently τ_m dV/dt = -(V - E_L) + R I with τ_m = C/g_L, R = 1/g_L.
//! During t_ref after a spike V is held at V_reset and the input is ignored.
//!
//! | key | default | unit | meaning |
//! |---|---|---|---|
//! | C | 281 | pF | membrane capacitance |
//! | g_L | 30 | nS | leak conductance |
//! | E_L | -70.6 | mV | resting potential |
//! | V_th | -50.4 | mV | spike threshold |
//! | V_reset | -70.6 | mV | reset potential |
//! | t_ref | 0 | ms | absolute refractory period |
//!
//! Closed forms used by the tests: for constant I with R I + E_L > V_th, the
//! inter-spike interval is t_ref + τ_m ln((R I + E_L − V_reset)/(R I + E_L − V_th));
//! the rheobase is g_L (V_th − E_L).

use super::fastexp;
use super::{
    concat_params, membrane_params, reset_params, Default, Dynamics, Model, ModelDef, ParamInfo,
    Params, Rule, Violation,
};
use crate::units::Dim;

const PARAMS: &[ParamInfo] = concat_params!(
    membrane_params!(),
    [ParamInfo {
        name: "V_th",
        dim: Dim::Voltage,
        default: Default::Value(-50.4),
        rule: Rule::Any,
        meaning: "spike threshold",
    }],
    reset_params!(),
);

/// LIF right-hand side with precomputed constants.
#[derive(Clone, Copy, Debug)]
pub struct Lif {
    pub g_over_c: f64,
    pub inv_c: f64,
    pub e_l: f64,
    pub v_th: f64,
    pub v_reset: f64,
    pub t_ref: f64,
    pub tau_m: f64,
    pub g_l: f64,
}

fn relations(p: &Params) -> Result<(), Violation> {
    let (v_reset, v_th) = (p.value("V_reset"), p.value("V_th"));
    if v_reset >= v_th {
        return Err(Violation {
            key: "V_reset",
            message: format!(
                "V_reset must be below the threshold V_th (got V_reset {v_reset} mV, V_th {v_th} mV)"
            ),
        });
    }
    Ok(())
}

impl Model for Lif {
    const DEF: ModelDef = ModelDef {
        name: "lif",
        title: "Leaky integrate-and-fire",
        equations: "C dV/dt = -g_L (V - E_L) + I(t); spike when V >= V_th: V -> V_reset, held for t_ref",
        params: PARAMS,
        has_w: false,
        closed_form: true,
        membrane_alternative: true,
        relations,
        spike_voltage: |p| p.value("V_th"),
        rest: |p| p.value("E_L"),
        reset: |p| p.value("V_reset"),
        shortest_time_constant: |p| p.value("C") / p.value("g_L"),
        nullclines: None,
    };

    fn new(p: &Params) -> Self {
        let (c, g_l) = (p.value("C"), p.value("g_L"));
        Lif {
            g_over_c: g_l / c,
            inv_c: 1.0 / c,
            e_l: p.value("E_L"),
            v_th: p.value("V_th"),
            v_reset: p.value("V_reset"),
            t_ref: p.value("t_ref"),
            tau_m: c / g_l,
            g_l,
        }
    }
}

impl Dynamics for Lif {
    const HAS_W: bool = false;

    #[inline(always)]
    fn derivs(&self, v: f64, _w: f64, i: f64) -> (f64, f64) {
        (-self.g_over_c * (v - self.e_l) + self.inv_c * i, 0.0)
    }
    fn spike_voltage(&self) -> f64 {
        self.v_th
    }
    fn v_reset(&self) -> f64 {
        self.v_reset
    }
    fn t_ref(&self) -> f64 {
        self.t_ref
    }
    /// The exact solution of the linear ODE under constant current.
    #[inline(always)]
    fn exact_step(&self, v: f64, i: f64, h: f64) -> f64 {
        let v_inf = self.e_l + i / self.g_l;
        v_inf + (v - v_inf) * fastexp::exp(-h / self.tau_m)
    }
    fn exact_crossing(&self, v: f64, i: f64) -> Option<f64> {
        let v_inf = self.e_l + i / self.g_l;
        (v_inf > self.v_th).then(|| self.tau_m * ((v_inf - v) / (v_inf - self.v_th)).ln())
    }
    /// V(t + h) = E_L + (V − E_L) e^(−h/τ_m) + (1/C) ∫ I(s) e^(−(t + h − s)/τ_m) ds, so
    /// `exact_step` is exact when given the input's mean under this kernel.
    fn exact_tau(&self) -> f64 {
        self.tau_m
    }
    fn noise_gain(&self) -> Option<f64> {
        Some(self.inv_c)
    }
}
