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
    concat_params, membrane_params, reset_params, Default, Dynamics, ParamInfo, Params, Rule,
};
use crate::units::Dim;

pub const TITLE: &str = "Leaky integrate-and-fire";
pub const EQUATIONS: &str =
    "C dV/dt = -g_L (V - E_L) + I(t); spike when V >= V_th: V -> V_reset, held for t_ref";

pub const PARAMS: &[ParamInfo] = concat_params!(
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

impl Lif {
    pub fn new(p: &Params) -> Self {
        Lif {
            g_over_c: p.g_l / p.c,
            inv_c: 1.0 / p.c,
            e_l: p.e_l,
            v_th: p.v_th,
            v_reset: p.v_reset,
            t_ref: p.t_ref,
            tau_m: p.tau_m(),
            g_l: p.g_l,
        }
    }

    /// V after `h` ms under constant current i: the exact solution of the linear ODE.
    #[inline]
    pub fn exact(&self, v: f64, i: f64, h: f64) -> f64 {
        let v_inf = self.e_l + i / self.g_l;
        v_inf + (v - v_inf) * fastexp::exp(-h / self.tau_m)
    }

    /// Time after which V, starting below V_th, reaches V_th under constant current i;
    /// None when it never does.
    #[inline]
    pub fn exact_crossing(&self, v: f64, i: f64) -> Option<f64> {
        let v_inf = self.e_l + i / self.g_l;
        (v_inf > self.v_th).then(|| self.tau_m * ((v_inf - v) / (v_inf - self.v_th)).ln())
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
}
