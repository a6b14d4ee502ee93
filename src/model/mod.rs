//! Neuron models: the shared parameter set, the parameter tables that document and
//! default it, and the validation rules of DESIGN §3. Each model's equations live in
//! its own file.

pub mod adex;
pub mod eif;
pub mod fastexp;
pub mod lif;

use crate::units::Dim;
use std::fmt;

/// Which equations a run integrates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    Lif,
    Eif,
    Adex,
}

impl ModelKind {
    pub const ALL: [ModelKind; 3] = [ModelKind::Lif, ModelKind::Eif, ModelKind::Adex];

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Lif => "lif",
            ModelKind::Eif => "eif",
            ModelKind::Adex => "adex",
        }
    }

    /// The parameter table of this model, in display order.
    pub fn params(self) -> &'static [ParamInfo] {
        match self {
            ModelKind::Lif => lif::PARAMS,
            ModelKind::Eif => eif::PARAMS,
            ModelKind::Adex => adex::PARAMS,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ModelKind::Lif => lif::TITLE,
            ModelKind::Eif => eif::TITLE,
            ModelKind::Adex => adex::TITLE,
        }
    }

    pub fn equations(self) -> &'static str {
        match self {
            ModelKind::Lif => lif::EQUATIONS,
            ModelKind::Eif => eif::EQUATIONS,
            ModelKind::Adex => adex::EQUATIONS,
        }
    }

    /// Whether the model has the adaptation current w.
    pub fn has_w(self) -> bool {
        self == ModelKind::Adex
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a parameter's default is found.
#[derive(Clone, Copy, Debug)]
pub enum Default {
    Value(f64),
    /// V_peak = V_T + 5 Δ_T (Brette & Gerstner 2005).
    PeakFromSlope,
}

/// What a parameter must satisfy on its own; relations between parameters are
/// checked by [`validate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    Any,
    Positive,
    NonNegative,
}

/// One row of a model's parameter table.
#[derive(Clone, Copy, Debug)]
pub struct ParamInfo {
    pub name: &'static str,
    pub dim: Dim,
    pub default: Default,
    pub rule: Rule,
    pub meaning: &'static str,
}

/// Every parameter key any model knows, with the two alternative membrane keys.
pub const ALL_KEYS: &[&str] = &[
    "C", "g_L", "tau_m", "R", "E_L", "V_th", "V_T", "Delta_T", "V_peak", "V_reset", "t_ref", "a",
    "b", "tau_w",
];

/// Resolved parameters in engine units. Fields a model does not use stay at their
/// defaults and are never read by its equations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    pub c: f64,
    pub g_l: f64,
    pub e_l: f64,
    pub v_th: f64,
    pub v_t: f64,
    pub delta_t: f64,
    pub v_peak: f64,
    pub v_reset: f64,
    pub t_ref: f64,
    pub a: f64,
    pub b: f64,
    pub tau_w: f64,
}

impl Params {
    /// Read a parameter by its YAML key.
    pub fn get(&self, key: &str) -> Option<f64> {
        Some(match key {
            "C" => self.c,
            "g_L" => self.g_l,
            "tau_m" => self.tau_m(),
            "R" => 1.0 / self.g_l,
            "E_L" => self.e_l,
            "V_th" => self.v_th,
            "V_T" => self.v_t,
            "Delta_T" => self.delta_t,
            "V_peak" => self.v_peak,
            "V_reset" => self.v_reset,
            "t_ref" => self.t_ref,
            "a" => self.a,
            "b" => self.b,
            "tau_w" => self.tau_w,
            _ => return None,
        })
    }

    /// Set a parameter by its YAML key (not tau_m or R, which resolve to C and g_L).
    pub fn set(&mut self, key: &str, value: f64) -> bool {
        let slot = match key {
            "C" => &mut self.c,
            "g_L" => &mut self.g_l,
            "E_L" => &mut self.e_l,
            "V_th" => &mut self.v_th,
            "V_T" => &mut self.v_t,
            "Delta_T" => &mut self.delta_t,
            "V_peak" => &mut self.v_peak,
            "V_reset" => &mut self.v_reset,
            "t_ref" => &mut self.t_ref,
            "a" => &mut self.a,
            "b" => &mut self.b,
            "tau_w" => &mut self.tau_w,
            _ => return false,
        };
        *slot = value;
        true
    }

    /// Membrane time constant τ_m = C / g_L in ms.
    pub fn tau_m(&self) -> f64 {
        self.c / self.g_l
    }

    /// The voltage at which a spike is registered: V_th for LIF, V_peak otherwise.
    pub fn spike_voltage(&self, kind: ModelKind) -> f64 {
        match kind {
            ModelKind::Lif => self.v_th,
            ModelKind::Eif | ModelKind::Adex => self.v_peak,
        }
    }

    /// The time constants that bound the step size: τ_m, and τ_w for AdEx.
    pub fn shortest_time_constant(&self, kind: ModelKind) -> f64 {
        match kind {
            ModelKind::Adex => self.tau_m().min(self.tau_w),
            _ => self.tau_m(),
        }
    }
}

/// The parameter keys a model accepts: its table plus tau_m and R.
pub fn accepts(kind: ModelKind, key: &str) -> bool {
    key == "tau_m" || key == "R" || kind.params().iter().any(|p| p.name == key)
}

/// The Brette & Gerstner (2005) cell, the default for every model.
pub fn defaults(kind: ModelKind) -> Params {
    let mut p = Params {
        c: 0.0,
        g_l: 0.0,
        e_l: 0.0,
        v_th: 0.0,
        v_t: 0.0,
        delta_t: 0.0,
        v_peak: 0.0,
        v_reset: 0.0,
        t_ref: 0.0,
        a: 0.0,
        b: 0.0,
        tau_w: 0.0,
    };
    // Parameters outside a model's table still get the AdEx values so that
    // derived quantities stay finite; its equations never read them.
    for info in adex::PARAMS.iter().chain(lif::PARAMS).chain(kind.params()) {
        if let Default::Value(v) = info.default {
            p.set(info.name, v);
        }
    }
    p
}

/// Fill derived defaults (V_peak) once the user's values are in.
pub fn complete(kind: ModelKind, p: &mut Params, given: &[&str]) {
    let derived = kind
        .params()
        .iter()
        .any(|i| i.name == "V_peak" && matches!(i.default, Default::PeakFromSlope));
    if derived && !given.contains(&"V_peak") {
        p.v_peak = p.v_t + 5.0 * p.delta_t;
    }
}

/// A broken parameter rule: the key it concerns and the rule in words.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub key: &'static str,
    pub message: String,
}

/// Check every rule of DESIGN §3 that concerns parameters alone.
pub fn validate(kind: ModelKind, p: &Params) -> Result<(), Violation> {
    for info in kind.params() {
        let value = p.get(info.name).unwrap_or(f64::NAN);
        let broken = match info.rule {
            _ if !value.is_finite() => Some("must be a finite number"),
            Rule::Positive if value <= 0.0 => Some("must be positive"),
            Rule::NonNegative if value < 0.0 => Some("must not be negative"),
            _ => None,
        };
        if let Some(rule) = broken {
            return Err(Violation {
                key: info.name,
                message: format!("{} {rule} (got {} {})", info.name, value, info.dim.unit()),
            });
        }
    }
    match kind {
        ModelKind::Lif if p.v_reset >= p.v_th => Err(Violation {
            key: "V_reset",
            message: format!(
                "V_reset must be below the threshold V_th (got V_reset {} mV, V_th {} mV)",
                p.v_reset, p.v_th
            ),
        }),
        ModelKind::Eif | ModelKind::Adex if p.v_peak <= p.v_t => Err(Violation {
            key: "V_peak",
            message: format!(
                "V_peak must be above V_T (got V_peak {} mV, V_T {} mV)",
                p.v_peak, p.v_t
            ),
        }),
        ModelKind::Eif | ModelKind::Adex if p.v_reset >= p.v_peak => Err(Violation {
            key: "V_reset",
            message: format!(
                "V_reset must be below V_peak (got V_reset {} mV, V_peak {} mV)",
                p.v_reset, p.v_peak
            ),
        }),
        _ => Ok(()),
    }
}

/// The membrane rows shared by every model's table.
macro_rules! membrane_params {
    () => {
        [
            $crate::model::ParamInfo {
                name: "C",
                dim: $crate::units::Dim::Capacitance,
                default: $crate::model::Default::Value(281.0),
                rule: $crate::model::Rule::Positive,
                meaning: "membrane capacitance (or give tau_m and R)",
            },
            $crate::model::ParamInfo {
                name: "g_L",
                dim: $crate::units::Dim::Conductance,
                default: $crate::model::Default::Value(30.0),
                rule: $crate::model::Rule::Positive,
                meaning: "leak conductance, 1/R (or give tau_m and R)",
            },
            $crate::model::ParamInfo {
                name: "E_L",
                dim: $crate::units::Dim::Voltage,
                default: $crate::model::Default::Value(-70.6),
                rule: $crate::model::Rule::Any,
                meaning: "leak reversal (resting) potential",
            },
        ]
    };
}
pub(crate) use membrane_params;

/// Rows shared by the models with an exponential spike-initiation term.
macro_rules! exponential_params {
    () => {
        [
            $crate::model::ParamInfo {
                name: "V_T",
                dim: $crate::units::Dim::Voltage,
                default: $crate::model::Default::Value(-50.4),
                rule: $crate::model::Rule::Any,
                meaning: "threshold slope point of the exponential term",
            },
            $crate::model::ParamInfo {
                name: "Delta_T",
                dim: $crate::units::Dim::Voltage,
                default: $crate::model::Default::Value(2.0),
                rule: $crate::model::Rule::Positive,
                meaning: "slope factor (sharpness of spike initiation)",
            },
            $crate::model::ParamInfo {
                name: "V_peak",
                dim: $crate::units::Dim::Voltage,
                default: $crate::model::Default::PeakFromSlope,
                rule: $crate::model::Rule::Any,
                meaning: "spike cut-off; default V_T + 5 Delta_T",
            },
        ]
    };
}
pub(crate) use exponential_params;

/// Rows for reset and refractoriness, shared by every model.
macro_rules! reset_params {
    () => {
        [
            $crate::model::ParamInfo {
                name: "V_reset",
                dim: $crate::units::Dim::Voltage,
                default: $crate::model::Default::Value(-70.6),
                rule: $crate::model::Rule::Any,
                meaning: "membrane potential after a spike",
            },
            $crate::model::ParamInfo {
                name: "t_ref",
                dim: $crate::units::Dim::Time,
                default: $crate::model::Default::Value(0.0),
                rule: $crate::model::Rule::NonNegative,
                meaning: "absolute refractory period (V held at V_reset)",
            },
        ]
    };
}
pub(crate) use reset_params;

/// Join fixed-size tables into one static slice at compile time.
macro_rules! concat_params {
    ($($part:expr),+ $(,)?) => {{
        const PARTS: &[&[$crate::model::ParamInfo]] = &[$(&$part),+];
        const LEN: usize = {
            let mut n = 0;
            let mut i = 0;
            while i < PARTS.len() {
                n += PARTS[i].len();
                i += 1;
            }
            n
        };
        const ALL: [$crate::model::ParamInfo; LEN] = {
            let mut out = [PARTS[0][0]; LEN];
            let mut k = 0;
            let mut i = 0;
            while i < PARTS.len() {
                let mut j = 0;
                while j < PARTS[i].len() {
                    out[k] = PARTS[i][j];
                    k += 1;
                    j += 1;
                }
                i += 1;
            }
            out
        };
        &ALL
    }};
}
pub(crate) use concat_params;

/// The right-hand side of a model, as the engine integrates it. Units: mV, pA, ms.
pub trait Dynamics: Copy + Send + Sync {
    /// Whether the adaptation current w exists (AdEx).
    const HAS_W: bool;
    /// (dV/dt in mV/ms, dw/dt in pA/ms) at state (v, w) under input current i.
    fn derivs(&self, v: f64, w: f64, i: f64) -> (f64, f64);
    /// The voltage whose crossing is a spike.
    fn spike_voltage(&self) -> f64;
    fn v_reset(&self) -> f64;
    fn t_ref(&self) -> f64;
    /// The increment of w at a spike.
    fn jump(&self) -> f64 {
        0.0
    }
    /// w after `h` ms with V held at V_reset (refractory period); exact.
    fn w_held(&self, w: f64, _h: f64) -> f64 {
        w
    }
    /// The longest step that resolves the spike upswing at state (v, w) under current
    /// i, or None where a full step is accurate. Models with an exponential term run
    /// away in finite time above V_T; a fixed step across that blow-up makes spike
    /// times converge only at first order in dt, so there the engine sub-steps.
    fn upswing_step(&self, _v: f64, _w: f64, _i: f64) -> Option<f64> {
        None
    }
    /// Whether a step of length h from V with slope dv (mV/ms) starts in the upswing
    /// and must be sub-stepped, i.e. `upswing_step(v, w, i).is_some_and(|l| l < h)`
    /// given dv; without branches, so that the engine's loop over neurons vectorises.
    /// False for models without an upswing.
    #[inline(always)]
    fn needs_substeps(&self, _v: f64, _dv: f64, _h: f64) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_brette_gerstner_cell() {
        let mut p = defaults(ModelKind::Adex);
        complete(ModelKind::Adex, &mut p, &[]);
        assert_eq!((p.c, p.g_l, p.e_l), (281.0, 30.0, -70.6));
        assert_eq!((p.v_t, p.delta_t, p.v_reset), (-50.4, 2.0, -70.6));
        assert_eq!((p.a, p.b, p.tau_w, p.t_ref), (4.0, 80.5, 144.0, 0.0));
        assert!((p.v_peak - (-40.4)).abs() < 1e-12);
        assert_eq!(defaults(ModelKind::Lif).v_th, -50.4);
    }

    #[test]
    fn every_rule_has_its_own_message() {
        let ok = {
            let mut p = defaults(ModelKind::Adex);
            complete(ModelKind::Adex, &mut p, &[]);
            p
        };
        assert!(validate(ModelKind::Adex, &ok).is_ok());
        let cases: [(&str, f64, &str); 7] = [
            ("C", 0.0, "C must be positive"),
            ("g_L", -1.0, "g_L must be positive"),
            ("Delta_T", 0.0, "Delta_T must be positive"),
            ("tau_w", 0.0, "tau_w must be positive"),
            ("t_ref", -1.0, "t_ref must not be negative"),
            ("V_peak", -60.0, "V_peak must be above V_T"),
            ("E_L", f64::INFINITY, "E_L must be a finite number"),
        ];
        for (key, value, expected) in cases {
            let mut p = ok;
            p.set(key, value);
            let err = validate(ModelKind::Adex, &p).unwrap_err();
            assert!(err.message.starts_with(expected), "{key}: {}", err.message);
        }
        let mut p = ok;
        p.v_reset = -30.0;
        assert_eq!(validate(ModelKind::Adex, &p).unwrap_err().key, "V_reset");
        let mut l = defaults(ModelKind::Lif);
        l.v_reset = -50.0;
        assert!(validate(ModelKind::Lif, &l)
            .unwrap_err()
            .message
            .contains("V_th"));
    }

    #[test]
    fn accepts_only_its_own_keys() {
        assert!(accepts(ModelKind::Lif, "V_th"));
        assert!(!accepts(ModelKind::Lif, "b"));
        assert!(!accepts(ModelKind::Eif, "tau_w"));
        assert!(accepts(ModelKind::Adex, "tau_m"));
        assert!(!accepts(ModelKind::Adex, "V_th"));
    }
}
