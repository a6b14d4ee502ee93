//! A model's parameters: the table that names, documents, defaults and constrains
//! them (one `ParamInfo` per row, written in the model's own file), and `Params`, the
//! values of one run held by position in that table, so that two models' parameters
//! of the same name (AdEx's `a` in nS, Izhikevich's `a` in 1/ms) never meet.

use super::ModelKind;
use crate::units::Dim;

/// How a parameter's default is found.
#[derive(Clone, Copy, Debug)]
pub enum Default {
    Value(f64),
    /// Computed from the other parameters once the user's values are in, e.g.
    /// V_peak = V_T + 5 Δ_T; `text` shows the rule in `neurodyn models`.
    Derived {
        text: &'static str,
        value: fn(&Params) -> f64,
    },
}

/// What a parameter must satisfy on its own; relations between parameters are
/// the model's `relations`.
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

/// Most parameters any model has; `Params` holds them inline, so a run's parameters
/// cost no allocation and copy like plain numbers.
pub const MAX_PARAMS: usize = 16;

/// One run's parameter values in engine units, by position in its model's table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    kind: ModelKind,
    values: [f64; MAX_PARAMS],
}

impl Params {
    /// The model's defaults, derived ones included.
    pub fn defaults(kind: ModelKind) -> Params {
        // Slots past the model's table stay 0, not NaN, so that equal runs compare
        // equal (a plan compares RunSpecs).
        let mut p = Params {
            kind,
            values: [0.0; MAX_PARAMS],
        };
        for (slot, info) in p.values.iter_mut().zip(kind.params()) {
            if let Default::Value(v) = info.default {
                *slot = v;
            }
        }
        p.complete(&[]);
        p
    }

    /// Whether both hold the same values bit for bit (so that one model built from
    /// either integrates identically; `==` would equate 0.0 and -0.0).
    pub fn identical(&self, other: &Params) -> bool {
        self.kind == other.kind
            && self
                .values
                .iter()
                .zip(&other.values)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }

    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    fn index(&self, key: &str) -> Option<usize> {
        self.kind.params().iter().position(|p| p.name == key)
    }

    /// A parameter by its YAML key; the membrane's alternative keys tau_m and R are
    /// computed from C and g_L.
    pub fn get(&self, key: &str) -> Option<f64> {
        if let Some(i) = self.index(key) {
            return Some(self.values[i]);
        }
        match key {
            "tau_m" => Some(self.get("C")? / self.get("g_L")?),
            "R" => Some(1.0 / self.get("g_L")?),
            _ => None,
        }
    }

    /// A parameter of the model's own table, for its equations (NaN for a key it
    /// lacks, so a misspelt key in a model file shows as a failed validation).
    pub fn value(&self, key: &str) -> f64 {
        self.index(key).map_or(f64::NAN, |i| self.values[i])
    }

    /// Set a parameter of the model's table; false for a key it lacks.
    pub fn set(&mut self, key: &str, value: f64) -> bool {
        match self.index(key) {
            Some(i) => {
                self.values[i] = value;
                true
            }
            None => false,
        }
    }

    /// Fill the derived defaults of the parameters not in `given`.
    pub fn complete(&mut self, given: &[&str]) {
        for (i, info) in self.kind.params().iter().enumerate() {
            if let Default::Derived { value, .. } = info.default {
                if !given.contains(&info.name) {
                    self.values[i] = value(self);
                }
            }
        }
    }

    /// Every (row, value) of the model's table, in table order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static ParamInfo, f64)> + '_ {
        self.kind.params().iter().zip(self.values)
    }
}

/// The membrane rows every conductance-based model shares.
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
                // Brette & Gerstner (2005): the cut-off a few slope factors above V_T.
                default: $crate::model::Default::Derived {
                    text: "V_T+5*Delta_T",
                    value: |p| p.value("V_T") + 5.0 * p.value("Delta_T"),
                },
                rule: $crate::model::Rule::Any,
                meaning: "spike cut-off; default V_T + 5 Delta_T",
            },
        ]
    };
}
pub(crate) use exponential_params;

/// Rows for reset and refractoriness.
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
