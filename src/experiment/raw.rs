//! The experiment file as written (DESIGN §5): serde structs that mirror the YAML,
//! reject unknown keys, and keep each value's source location. Nothing here checks
//! meaning; `plan` does that. Quantities stay text until `plan` knows their dimension.

use super::grid::AxesRaw;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::fmt;

/// A scalar as written: "10 ms", 0, 1.5.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Text(String),
    Number(f64),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Text(s) => f.write_str(s),
            Scalar::Number(x) => write!(f, "{x}"),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a quantity with a unit, such as \"10 ms\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text(s.to_string()))
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<Scalar, E> {
                Ok(Scalar::Number(x))
            }
            fn visit_i64<E: de::Error>(self, x: i64) -> Result<Scalar, E> {
                Ok(Scalar::Number(x as f64))
            }
            fn visit_u64<E: de::Error>(self, x: u64) -> Result<Scalar, E> {
                Ok(Scalar::Number(x as f64))
            }
        }
        d.deserialize_any(V)
    }
}

/// A quantity with its location in the file.
pub type Q = Spanned<Scalar>;

/// Top level of an experiment file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentRaw {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub seed: Option<Spanned<u64>>,
    pub duration: Q,
    pub dt: Q,
    #[serde(default)]
    pub method: Option<Spanned<String>>,
    #[serde(default)]
    pub neurons: Option<Spanned<Scalar>>,
    #[serde(default)]
    pub model: Option<Spanned<ModelRaw>>,
    #[serde(default)]
    pub initial: Option<InitialRaw>,
    #[serde(default)]
    pub input: Option<Spanned<InputRaw>>,
    #[serde(default)]
    pub record: Option<RecordRaw>,
    #[serde(default)]
    pub variants: Option<Spanned<Vec<Spanned<VariantRaw>>>>,
    #[serde(default)]
    pub replicates: Option<Spanned<Scalar>>,
    #[serde(default)]
    pub analysis: Option<AnalysisRaw>,
    #[serde(default)]
    pub check: Option<CheckRaw>,
    #[serde(default)]
    pub grid: Option<Spanned<AxesRaw>>,
    #[serde(default)]
    pub zip: Option<Vec<Spanned<AxesRaw>>>,
}

/// One entry of `variants`: overrides of the base experiment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantRaw {
    #[serde(default)]
    pub label: Option<Spanned<String>>,
    #[serde(default)]
    pub model: Option<Spanned<ModelRaw>>,
    #[serde(default)]
    pub input: Option<Spanned<InputRaw>>,
    #[serde(default)]
    pub initial: Option<InitialRaw>,
    #[serde(default)]
    pub method: Option<Spanned<String>>,
    #[serde(default)]
    pub grid: Option<Spanned<AxesRaw>>,
    #[serde(default)]
    pub zip: Option<Vec<Spanned<AxesRaw>>>,
}

/// Lists every optional quantity field of a raw struct once, so that its
/// (key, value) entries can be enumerated without repeating the field list.
macro_rules! quantity_fields {
    ($ty:ident { $($field:ident => $key:literal),+ $(,)? }) => {
        impl $ty {
            /// The quantities that were written, with their YAML keys.
            pub fn entries(&self) -> Vec<(&'static str, &Q)> {
                let mut out = Vec::new();
                $(if let Some(q) = &self.$field { out.push(($key, q)); })+
                out
            }

            /// Set a quantity by its YAML key; false for a key this struct lacks.
            pub fn set(&mut self, key: &str, q: Q) -> bool {
                match key {
                    $($key => self.$field = Some(q),)+
                    _ => return false,
                }
                true
            }
        }
    };
}

/// `model:` — every key any model knows; `plan` checks which apply.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRaw {
    #[serde(rename = "type", default)]
    pub kind: Option<Spanned<String>>,
    #[serde(rename = "C", default)]
    pub c: Option<Q>,
    #[serde(rename = "g_L", default)]
    pub g_l: Option<Q>,
    #[serde(default)]
    pub tau_m: Option<Q>,
    #[serde(rename = "R", default)]
    pub r: Option<Q>,
    #[serde(rename = "E_L", default)]
    pub e_l: Option<Q>,
    #[serde(rename = "V_th", default)]
    pub v_th: Option<Q>,
    #[serde(rename = "V_T", default)]
    pub v_t: Option<Q>,
    #[serde(rename = "Delta_T", default)]
    pub delta_t: Option<Q>,
    #[serde(rename = "V_peak", default)]
    pub v_peak: Option<Q>,
    #[serde(rename = "V_reset", default)]
    pub v_reset: Option<Q>,
    #[serde(default)]
    pub t_ref: Option<Q>,
    #[serde(default)]
    pub a: Option<Q>,
    #[serde(default)]
    pub b: Option<Q>,
    #[serde(default)]
    pub tau_w: Option<Q>,
}

quantity_fields!(ModelRaw {
    c => "C", g_l => "g_L", tau_m => "tau_m", r => "R", e_l => "E_L", v_th => "V_th",
    v_t => "V_T", delta_t => "Delta_T", v_peak => "V_peak", v_reset => "V_reset",
    t_ref => "t_ref", a => "a", b => "b", tau_w => "tau_w",
});

/// The stimulus types of DESIGN §4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StimulusKind {
    Constant,
    Step,
    Sine,
    Noise,
    Ramp,
    Pulses,
    Spread,
}

impl StimulusKind {
    pub const ALL: [StimulusKind; 7] = [
        StimulusKind::Constant,
        StimulusKind::Step,
        StimulusKind::Sine,
        StimulusKind::Noise,
        StimulusKind::Ramp,
        StimulusKind::Pulses,
        StimulusKind::Spread,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StimulusKind::Constant => "constant",
            StimulusKind::Step => "step",
            StimulusKind::Sine => "sine",
            StimulusKind::Noise => "noise",
            StimulusKind::Ramp => "ramp",
            StimulusKind::Pulses => "pulses",
            StimulusKind::Spread => "spread",
        }
    }
}

/// One stimulus — every key any stimulus knows; `plan` checks which apply.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StimulusRaw {
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    #[serde(default)]
    pub amplitude: Option<Q>,
    #[serde(default)]
    pub start: Option<Q>,
    #[serde(default)]
    pub stop: Option<Q>,
    #[serde(default)]
    pub offset: Option<Q>,
    #[serde(default)]
    pub frequency: Option<Q>,
    #[serde(default)]
    pub phase: Option<Q>,
    #[serde(default)]
    pub mean: Option<Q>,
    #[serde(default)]
    pub sigma: Option<Q>,
    #[serde(default)]
    pub tau: Option<Q>,
    #[serde(default)]
    pub from: Option<Q>,
    #[serde(default)]
    pub to: Option<Q>,
    #[serde(default)]
    pub width: Option<Q>,
    #[serde(default)]
    pub period: Option<Q>,
    #[serde(default)]
    pub count: Option<Spanned<Scalar>>,
    #[serde(default)]
    pub shared: Option<Spanned<bool>>,
}

quantity_fields!(StimulusRaw {
    amplitude => "amplitude", start => "start", stop => "stop", offset => "offset",
    frequency => "frequency", phase => "phase", mean => "mean", sigma => "sigma",
    tau => "tau", from => "from", to => "to", width => "width", period => "period",
});

/// `input:` — one stimulus or a list of stimuli to be summed.
#[derive(Clone, Debug)]
pub struct InputRaw(pub Vec<StimulusRaw>);

impl<'de> Deserialize<'de> for InputRaw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = InputRaw;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a stimulus (a map with a type) or a list of stimuli")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<InputRaw, A::Error> {
                let one = StimulusRaw::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(InputRaw(vec![one]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<InputRaw, A::Error> {
                let many =
                    Vec::<StimulusRaw>::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(InputRaw(many))
            }
        }
        d.deserialize_any(V)
    }
}

/// `initial:` — starting V and w.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitialRaw {
    #[serde(rename = "V", default)]
    pub v: Option<InitRaw>,
    #[serde(default)]
    pub w: Option<InitRaw>,
}

/// An initial value: a quantity, or `{normal: [mean, sd]}`.
#[derive(Clone, Debug)]
pub enum InitRaw {
    Fixed(Q),
    Normal(Q, Q),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NormalRaw {
    normal: (Q, Q),
}

impl<'de> Deserialize<'de> for InitRaw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A map means a distribution; anything else is a fixed quantity.
        let spanned = Spanned::<SpannedInit>::deserialize(d)?;
        Ok(match spanned.value {
            SpannedInit::Normal(n) => InitRaw::Normal(n.normal.0, n.normal.1),
            SpannedInit::Fixed(s) => InitRaw::Fixed(Spanned {
                value: s,
                referenced: spanned.referenced,
                defined: spanned.defined,
            }),
        })
    }
}

/// Helper for [`InitRaw`]: the value under its span.
enum SpannedInit {
    Fixed(Scalar),
    Normal(NormalRaw),
}

impl<'de> Deserialize<'de> for SpannedInit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SpannedInit;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a quantity such as \"-70 mV\" or {normal: [mean, sd]}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<SpannedInit, E> {
                Ok(SpannedInit::Fixed(Scalar::Text(s.into())))
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<SpannedInit, E> {
                Ok(SpannedInit::Fixed(Scalar::Number(x)))
            }
            fn visit_i64<E: de::Error>(self, x: i64) -> Result<SpannedInit, E> {
                Ok(SpannedInit::Fixed(Scalar::Number(x as f64)))
            }
            fn visit_u64<E: de::Error>(self, x: u64) -> Result<SpannedInit, E> {
                Ok(SpannedInit::Fixed(Scalar::Number(x as f64)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SpannedInit, A::Error> {
                NormalRaw::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(SpannedInit::Normal)
            }
        }
        d.deserialize_any(V)
    }
}

/// `record:` — what to record besides spikes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordRaw {
    #[serde(default)]
    pub variables: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub neurons: Option<Spanned<NeuronsRaw>>,
    #[serde(default)]
    pub every: Option<Spanned<Scalar>>,
}

/// Which neurons to record: `all`, `{first: n}` or a list of indices.
#[derive(Debug, Clone, PartialEq)]
pub enum NeuronsRaw {
    All,
    First(u32),
    List(Vec<u32>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FirstRaw {
    first: u32,
}

impl<'de> Deserialize<'de> for NeuronsRaw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NeuronsRaw;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("all, {first: n} or a list of neuron indices")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<NeuronsRaw, E> {
                if s == "all" {
                    Ok(NeuronsRaw::All)
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(s), &self))
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<NeuronsRaw, A::Error> {
                let f = FirstRaw::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(NeuronsRaw::First(f.first))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<NeuronsRaw, A::Error> {
                let v = Vec::<u32>::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(NeuronsRaw::List(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// `analysis:` — the analysis window.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisRaw {
    pub window: Spanned<(Q, Q)>,
}

/// `check:` — tolerances `neurodyn check` uses for this experiment's datasets.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRaw {
    #[serde(default)]
    pub rtol: Option<Spanned<f64>>,
    #[serde(default)]
    pub atol: Option<Spanned<f64>>,
    #[serde(default)]
    pub spike_tol: Option<Q>,
}
