//! The experiment file as written: serde structs that mirror the YAML,
//! reject unknown keys, and keep each value's source location. Nothing here checks
//! meaning; `plan` does that. Quantities stay text until `plan` knows their dimension.

use super::grid::AxesRaw;
pub use super::scalar::{Scalar, Q};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::fmt;

/// Top level of an experiment file.
#[derive(Clone, Debug, Deserialize)]
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
    pub crossings: Option<Spanned<String>>,
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
    #[serde(default)]
    pub per_neuron: Option<Spanned<PerNeuronRaw>>,
}

/// One entry of `variants`: overrides of the base experiment.
#[derive(Clone, Debug, Deserialize)]
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
    pub crossings: Option<Spanned<String>>,
    #[serde(default)]
    pub grid: Option<Spanned<AxesRaw>>,
    #[serde(default)]
    pub zip: Option<Vec<Spanned<AxesRaw>>>,
    #[serde(default)]
    pub per_neuron: Option<Spanned<PerNeuronRaw>>,
}

/// `model:` — its `type` and the parameters as written, each under a key some model
/// of the registry knows (any other key is rejected here, with its location); `plan`
/// checks which apply to the chosen model.
#[derive(Clone, Debug, Default)]
pub struct ModelRaw {
    pub kind: Option<Spanned<String>>,
    entries: Vec<(&'static str, Q)>,
}

impl ModelRaw {
    /// The quantities that were written, with their keys.
    pub fn entries(&self) -> Vec<(&'static str, &Q)> {
        self.entries.iter().map(|(k, q)| (*k, q)).collect()
    }
}

impl<'de> Deserialize<'de> for ModelRaw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ModelRaw;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a model: a map with a type and parameters")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ModelRaw, A::Error> {
                let mut m = ModelRaw::default();
                while let Some(key) = map.next_key::<String>()? {
                    if key == "type" {
                        m.kind = Some(map.next_value()?);
                        continue;
                    }
                    let keys = crate::model::all_keys();
                    let Some(k) = keys.iter().find(|k| **k == key) else {
                        return Err(de::Error::unknown_field(&key, keys));
                    };
                    let q: Q = map.next_value()?;
                    m.entries.retain(|(e, _)| e != k);
                    m.entries.push((k, q));
                }
                Ok(m)
            }
        }
        d.deserialize_map(V)
    }
}

/// One stimulus as written: its `type` and its keys. A key that no stimulus kind of
/// the registry (`crate::stimulus::STIMULI`) knows is rejected here, with its location;
/// `plan` checks which keys apply to the type.
#[derive(Clone, Debug)]
pub struct StimulusRaw {
    pub kind: Spanned<String>,
    /// The quantities, in the registry's key order whatever the file's, so that `plan`
    /// meets (and reports) them in a fixed order.
    quantities: Vec<(&'static str, Q)>,
    /// The keys that are not quantities, typed as the registry says.
    extras: Vec<(&'static str, ExtraRaw)>,
}

/// A stimulus key that is not a quantity, as written.
#[derive(Clone, Debug)]
pub enum ExtraRaw {
    Count(Spanned<Scalar>),
    Flag(Spanned<bool>),
}

impl StimulusRaw {
    /// The quantities that were written, with their keys.
    pub fn entries(&self) -> Vec<(&'static str, &Q)> {
        self.quantities.iter().map(|(k, q)| (*k, q)).collect()
    }

    /// The quantity written under `key`.
    pub fn get(&self, key: &str) -> Option<&Q> {
        self.quantities
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, q)| q)
    }

    /// The non-quantity keys that were written.
    pub fn extras(&self) -> &[(&'static str, ExtraRaw)] {
        &self.extras
    }

    /// Set a quantity by its key; false for a key that is no stimulus's quantity.
    pub fn set(&mut self, key: &str, q: Q) -> bool {
        set_quantity(&mut self.quantities, key, q)
    }
}

/// Put `q` under `key` in registry order, replacing an earlier value; false for a key
/// that is no stimulus's quantity.
fn set_quantity(quantities: &mut Vec<(&'static str, Q)>, key: &str, q: Q) -> bool {
    let order = stimulus_quantities();
    let Some(rank) = order.iter().position(|k| *k == key) else {
        return false;
    };
    quantities.retain(|(k, _)| *k != key);
    let at = quantities
        .iter()
        .position(|(k, _)| order.iter().position(|o| o == k) > Some(rank))
        .unwrap_or(quantities.len());
    quantities.insert(at, (order[rank], q));
    true
}

/// Every quantity key of every stimulus kind.
fn stimulus_quantities() -> &'static [&'static str] {
    static KEYS: std::sync::LazyLock<Vec<&'static str>> =
        std::sync::LazyLock::new(crate::stimulus::quantity_keys);
    &KEYS
}

/// Every key a stimulus may have, as serde's unknown-field error wants it.
fn stimulus_keys() -> &'static [&'static str] {
    static KEYS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
        let mut keys = vec!["type"];
        keys.extend(crate::stimulus::quantity_keys());
        keys.extend(crate::stimulus::extra_keys());
        keys
    });
    &KEYS
}

impl<'de> Deserialize<'de> for StimulusRaw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use crate::stimulus::{find_extra, ExtraForm};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StimulusRaw;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a stimulus: a map with a type and its keys")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StimulusRaw, A::Error> {
                let mut kind = None;
                let mut quantities = Vec::new();
                let mut extras: Vec<(&'static str, ExtraRaw)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if key == "type" {
                        kind = Some(map.next_value()?);
                    } else if stimulus_quantities().contains(&key.as_str()) {
                        set_quantity(&mut quantities, &key, map.next_value()?);
                    } else if let Some(extra) = find_extra(&key) {
                        let value = match extra.form {
                            ExtraForm::Count { .. } => ExtraRaw::Count(map.next_value()?),
                            ExtraForm::Flag => ExtraRaw::Flag(map.next_value()?),
                        };
                        extras.retain(|(k, _)| *k != extra.name);
                        extras.push((extra.name, value));
                    } else {
                        return Err(de::Error::unknown_field(&key, stimulus_keys()));
                    }
                }
                Ok(StimulusRaw {
                    kind: kind.ok_or_else(|| de::Error::missing_field("type"))?,
                    quantities,
                    extras,
                })
            }
        }
        d.deserialize_map(V)
    }
}

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
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordRaw {
    #[serde(default)]
    pub variables: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub neurons: Option<Spanned<NeuronsRaw>>,
    #[serde(default)]
    pub every: Option<Spanned<Scalar>>,
    #[serde(default)]
    pub precision: Option<Spanned<String>>,
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
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisRaw {
    pub window: Spanned<(Q, Q)>,
}

/// `check:` — tolerances `neurodyn check` uses for this experiment's datasets.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRaw {
    #[serde(default)]
    pub rtol: Option<Spanned<f64>>,
    #[serde(default)]
    pub atol: Option<Spanned<f64>>,
    #[serde(default)]
    pub spike_tol: Option<Q>,
}

/// `per_neuron:` — for each dotted path (`model.a`, `input.amplitude`, `initial.V`),
/// how each neuron's value is chosen, in the order written. Paths and values are
/// checked by `plan` (`per_neuron`), which knows the model and the stimuli.
#[derive(Clone, Debug, Default)]
pub struct PerNeuronRaw(pub Vec<(String, Spanned<DistRaw>)>);

impl<'de> Deserialize<'de> for PerNeuronRaw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ordered_map(d, "a map from dotted parameter paths to per-neuron rules").map(PerNeuronRaw)
    }
}

/// A YAML map's entries in the order written (serde's maps forget it), each value
/// with its location; `expecting` says what the map should be.
pub(crate) fn ordered_map<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
    expecting: &'static str,
) -> Result<Vec<(String, Spanned<T>)>, D::Error> {
    struct V<T>(&'static str, std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Vec<(String, Spanned<T>)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some((k, v)) = map.next_entry::<String, Spanned<T>>()? {
                out.push((k, v));
            }
            Ok(out)
        }
    }
    d.deserialize_map(V(expecting, std::marker::PhantomData))
}

/// One per-neuron rule as written: exactly one of its forms (checked by `plan`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistFields {
    /// `[from, to]`: evenly spread over neurons 0..n-1.
    #[serde(default)]
    pub linspace: Option<(Q, Q)>,
    #[serde(default)]
    pub normal: Option<MeanSdRaw>,
    /// `[low, high]`.
    #[serde(default)]
    pub uniform: Option<(Q, Q)>,
    #[serde(default)]
    pub lognormal: Option<LogNormalRaw>,
    /// One value per neuron.
    #[serde(default)]
    pub list: Option<Vec<Q>>,
}

/// A per-neuron rule: a map of its form. Anything else (a bare list, a single value)
/// is refused with the forms spelt out, since a grid-style list is the likely slip.
#[derive(Clone, Debug, Default)]
pub struct DistRaw(pub DistFields);

impl<'de> Deserialize<'de> for DistRaw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DistRaw;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a per-neuron rule: {linspace: [from, to]}, {normal: {mean: .., sd: ..}}, {uniform: [low, high]}, {lognormal: {median: .., sigma: ..}} or {list: [one value per neuron]}")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DistRaw, A::Error> {
                DistFields::deserialize(de::value::MapAccessDeserializer::new(map)).map(DistRaw)
            }
        }
        d.deserialize_any(V)
    }
}

/// A normal's parameters: `{mean: .., sd: ..}`, or `[mean, sd]` as `initial:` takes them.
#[derive(Clone, Debug)]
pub struct MeanSdRaw {
    pub mean: Q,
    pub sd: Q,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MeanSdMap {
    mean: Q,
    sd: Q,
}

impl<'de> Deserialize<'de> for MeanSdRaw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MeanSdRaw;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("{mean: .., sd: ..} or [mean, sd]")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MeanSdRaw, A::Error> {
                let m = MeanSdMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(MeanSdRaw {
                    mean: m.mean,
                    sd: m.sd,
                })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<MeanSdRaw, A::Error> {
                let (mean, sd) = <(Q, Q)>::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(MeanSdRaw { mean, sd })
            }
        }
        d.deserialize_any(V)
    }
}

/// A lognormal's parameters: the median (in the path's unit) and sigma, the SD of
/// ln(x), a plain number.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogNormalRaw {
    pub median: Q,
    pub sigma: Q,
}
