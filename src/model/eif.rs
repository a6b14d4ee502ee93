//! Exponential integrate-and-fire neuron (Fourcaud-Trocmé, Hansel, van Vreeswijk &
//! Brunel 2003, J. Neurosci. 23:11628).
//!
//! ```text
//! C dV/dt = -g_L (V - E_L) + g_L Δ_T exp((V - V_T)/Δ_T) + I(t)
//! spike when V >= V_peak, then V -> V_reset (held for t_ref)
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
//!
//! Rheobase (saddle-node of the V nullcline): I_rh = g_L (V_T − E_L − Δ_T).

use super::fastexp;
use super::{
    concat_params, exponential_params, membrane_params, reset_params, Dynamics, Model, ModelDef,
    ParamInfo, Params, Violation,
};

const PARAMS: &[ParamInfo] =
    concat_params!(membrane_params!(), exponential_params!(), reset_params!(),);

/// The relations of the exponential models (EIF, AdEx): V_T < V_peak, V_reset < V_peak.
pub fn exponential_relations(p: &Params) -> Result<(), Violation> {
    let (v_t, v_peak, v_reset) = (p.value("V_T"), p.value("V_peak"), p.value("V_reset"));
    if v_peak <= v_t {
        return Err(Violation {
            key: "V_peak",
            message: format!("V_peak must be above V_T (got V_peak {v_peak} mV, V_T {v_t} mV)"),
        });
    }
    if v_reset >= v_peak {
        return Err(Violation {
            key: "V_reset",
            message: format!(
                "V_reset must be below V_peak (got V_reset {v_reset} mV, V_peak {v_peak} mV)"
            ),
        });
    }
    Ok(())
}

/// How far above V_peak (in units of Δ_T) the exponential keeps growing. Above that
/// the term is held constant: the state is past V_peak, so the step is a spike
/// anyway, and exp() can never overflow to inf.
pub const EXP_HEADROOM: f64 = 20.0;

/// The exponential spike-initiation current g_L Δ_T exp((V − V_T)/Δ_T), capped.
#[derive(Clone, Copy, Debug)]
pub struct Exponential {
    pub v_t: f64,
    pub inv_delta_t: f64,
    pub g_delta_t: f64,
    pub x_max: f64,
}

impl Exponential {
    pub fn new(p: &Params) -> Self {
        let (v_t, delta_t, v_peak) = (p.value("V_T"), p.value("Delta_T"), p.value("V_peak"));
        Exponential {
            v_t,
            inv_delta_t: 1.0 / delta_t,
            g_delta_t: p.value("g_L") * delta_t,
            x_max: (v_peak - v_t) / delta_t + EXP_HEADROOM,
        }
    }

    #[inline(always)]
    pub fn current(&self, v: f64) -> f64 {
        self.g_delta_t * fastexp::exp(((v - self.v_t) * self.inv_delta_t).min(self.x_max))
    }

    /// Above V_T, the step that moves V by at most UPSWING_DV × Δ_T at the present
    /// rate `dv` (mV/ms); None below V_T or when V is not rising.
    #[inline(always)]
    pub fn upswing_step(&self, v: f64, dv: f64) -> Option<f64> {
        (v > self.v_t && dv > 0.0).then(|| UPSWING_DV / (self.inv_delta_t * dv))
    }

    /// `upswing_step(v, dv).is_some_and(|l| l < h)` without branches (`&`, not `&&`):
    /// the step is too long when V is above V_T and would move more than
    /// UPSWING_DV·Δ_T in h at its present rate (dv ≤ 0 never qualifies).
    #[inline(always)]
    pub fn needs_substeps(&self, v: f64, dv: f64, h: f64) -> bool {
        (v > self.v_t) & (dv * self.inv_delta_t * h > UPSWING_DV)
    }
}

/// Sub-step size in the upswing, in units of Δ_T of voltage change. A quarter of Δ_T
/// keeps the exponential term within e^0.25 ≈ 1.3× over a sub-step.
pub const UPSWING_DV: f64 = 0.25;

/// EIF right-hand side with precomputed constants.
#[derive(Clone, Copy, Debug)]
pub struct Eif {
    pub g_l: f64,
    pub inv_c: f64,
    pub e_l: f64,
    pub exp: Exponential,
    pub v_peak: f64,
    pub v_reset: f64,
    pub t_ref: f64,
}

impl Model for Eif {
    const DEF: ModelDef = ModelDef {
        name: "eif",
        title: "Exponential integrate-and-fire",
        equations: "C dV/dt = -g_L (V - E_L) + g_L Delta_T exp((V - V_T)/Delta_T) + I(t); spike when V >= V_peak: V -> V_reset, held for t_ref",
        params: PARAMS,
        has_w: false,
        closed_form: false,
        membrane_alternative: true,
        relations: exponential_relations,
        spike_voltage: |p| p.value("V_peak"),
        rest: |p| p.value("E_L"),
        reset: |p| p.value("V_reset"),
        shortest_time_constant: |p| p.value("C") / p.value("g_L"),
        nullclines: None,
    };

    fn new(p: &Params) -> Self {
        Eif {
            g_l: p.value("g_L"),
            inv_c: 1.0 / p.value("C"),
            e_l: p.value("E_L"),
            exp: Exponential::new(p),
            v_peak: p.value("V_peak"),
            v_reset: p.value("V_reset"),
            t_ref: p.value("t_ref"),
        }
    }
}

impl Dynamics for Eif {
    const HAS_W: bool = false;

    #[inline(always)]
    fn derivs(&self, v: f64, _w: f64, i: f64) -> (f64, f64) {
        let dv = (-self.g_l * (v - self.e_l) + self.exp.current(v) + i) * self.inv_c;
        (dv, 0.0)
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
}
