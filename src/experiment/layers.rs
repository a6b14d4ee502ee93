//! Layers: one run's raw settings, built by laying the variant and the grid points
//! over the base (base → variant → base grid → variant grid), each value remembering
//! the path and layer that set it for error messages; and the sweepable paths.

use super::grid::Axis;
use super::raw::{
    DistRaw, ExperimentRaw, InitRaw, InitialRaw, InputRaw, ModelRaw, PerNeuronRaw, VariantRaw, Q,
};
use super::values::*;
use crate::error::{did_you_mean, InputError};
use crate::model::{self};
use crate::stimulus::{self};
use serde_saphyr::Spanned;

/// A value with the dotted path it was set under (for error messages) and the layer
/// that set it: 0 base, 1 variant, 2 base grid, 3 variant grid.
#[derive(Clone, Debug)]
pub(super) struct Set<T> {
    pub(super) value: T,
    pub(super) path: String,
    pub(super) layer: u8,
}

/// One run's raw settings after variants and grid points were applied.
#[derive(Clone, Debug)]
pub(super) struct RunRaw {
    pub(super) duration: Set<Q>,
    pub(super) dt: Set<Q>,
    pub(super) method: Option<Set<Spanned<String>>>,
    pub(super) crossings: Option<Set<Spanned<String>>>,
    pub(super) neurons: Option<Set<Q>>,
    pub(super) model_type: Option<Set<Spanned<String>>>,
    pub(super) model: Vec<(&'static str, Set<Q>)>,
    pub(super) input: Option<Set<InputRaw>>,
    pub(super) initial_v: Option<Set<InitRaw>>,
    pub(super) initial_w: Option<Set<InitRaw>>,
    /// The `per_neuron` entries by path as written; a variant's replace the base's.
    pub(super) per_neuron: Vec<(String, Set<Spanned<DistRaw>>)>,
}

pub(super) fn set<T>(value: T, path: &str, layer: u8) -> Set<T> {
    Set {
        value,
        path: path.to_string(),
        layer,
    }
}

impl RunRaw {
    pub(super) fn base(raw: &ExperimentRaw) -> RunRaw {
        let mut run = RunRaw {
            duration: set(raw.duration.clone(), "duration", 0),
            dt: set(raw.dt.clone(), "dt", 0),
            method: raw.method.clone().map(|m| set(m, "method", 0)),
            crossings: raw.crossings.clone().map(|m| set(m, "crossings", 0)),
            neurons: raw.neurons.clone().map(|n| set(n, "neurons", 0)),
            model_type: None,
            model: Vec::new(),
            input: raw.input.as_ref().map(|i| set(i.value.clone(), "input", 0)),
            initial_v: None,
            initial_w: None,
            per_neuron: Vec::new(),
        };
        if let Some(p) = &raw.per_neuron {
            run.overlay_per_neuron(&p.value, "", 0);
        }
        if let Some(m) = &raw.model {
            run.overlay_model(&m.value, "", 0);
        }
        if let Some(i) = &raw.initial {
            run.overlay_initial(i, "", 0);
        }
        run
    }

    pub(super) fn overlay_model(&mut self, m: &ModelRaw, prefix: &str, layer: u8) {
        if let Some(k) = &m.kind {
            self.model_type = Some(Set {
                value: k.clone(),
                path: format!("{prefix}model.type"),
                layer,
            });
        }
        for (key, q) in m.entries() {
            self.set_model(key, q.clone(), format!("{prefix}model.{key}"), layer);
        }
    }

    pub(super) fn set_model(&mut self, key: &'static str, q: Q, path: String, layer: u8) {
        self.model.retain(|(k, _)| *k != key);
        self.model.push((
            key,
            Set {
                value: q,
                path,
                layer,
            },
        ));
    }

    pub(super) fn overlay_initial(&mut self, i: &InitialRaw, prefix: &str, layer: u8) {
        if let Some(v) = &i.v {
            self.initial_v = Some(Set {
                value: v.clone(),
                path: format!("{prefix}initial.V"),
                layer,
            });
        }
        if let Some(w) = &i.w {
            self.initial_w = Some(Set {
                value: w.clone(),
                path: format!("{prefix}initial.w"),
                layer,
            });
        }
    }

    pub(super) fn overlay_per_neuron(&mut self, p: &PerNeuronRaw, prefix: &str, layer: u8) {
        for (path, rule) in &p.0 {
            self.per_neuron.retain(|(q, _)| q != path);
            let at = format!("{prefix}per_neuron.{path}");
            self.per_neuron
                .push((path.clone(), set(rule.clone(), &at, layer)));
        }
    }

    pub(super) fn overlay_variant(&mut self, v: &VariantRaw, prefix: &str) {
        if let Some(p) = &v.per_neuron {
            self.overlay_per_neuron(&p.value, prefix, 1);
        }
        if let Some(m) = &v.model {
            self.overlay_model(&m.value, prefix, 1);
        }
        if let Some(i) = &v.input {
            self.input = Some(Set {
                value: i.value.clone(),
                path: format!("{prefix}input"),
                layer: 1,
            });
        }
        if let Some(i) = &v.initial {
            self.overlay_initial(i, prefix, 1);
        }
        if let Some(m) = &v.method {
            self.method = Some(Set {
                value: m.clone(),
                path: format!("{prefix}method"),
                layer: 1,
            });
        }
        if let Some(m) = &v.crossings {
            self.crossings = Some(Set {
                value: m.clone(),
                path: format!("{prefix}crossings"),
                layer: 1,
            });
        }
    }

    /// Apply one grid value at its dotted path.
    pub(super) fn apply(&mut self, axis: &Axis, value: &Q, layer: u8) -> Result<(), InputError> {
        let path = format!("{}.{}", axis.scope, axis.path);
        let text = |q: &Q| Spanned {
            value: q.value.to_string(),
            referenced: q.referenced,
            defined: q.defined,
        };
        let p = axis.path.as_str();
        match p {
            "duration" => self.duration = set(value.clone(), &path, layer),
            "dt" => self.dt = set(value.clone(), &path, layer),
            "neurons" => self.neurons = Some(set(value.clone(), &path, layer)),
            "method" => self.method = Some(set(text(value), &path, layer)),
            "crossings" => self.crossings = Some(set(text(value), &path, layer)),
            "model.type" => self.model_type = Some(set(text(value), &path, layer)),
            "initial.V" => self.initial_v = Some(set(InitRaw::Fixed(value.clone()), &path, layer)),
            "initial.w" => self.initial_w = Some(set(InitRaw::Fixed(value.clone()), &path, layer)),
            _ => {
                if let Some(key) = p.strip_prefix("model.") {
                    match model::all_keys().iter().find(|k| **k == key) {
                        Some(k) => self.set_model(k, value.clone(), path, layer),
                        None => return Err(unknown_path(axis, value)),
                    }
                } else if p.starts_with("input") {
                    self.apply_input(axis, value, &path, layer)?;
                } else if p.starts_with("per_neuron") {
                    return Err(InputError::new(format!(
                        "'{}' reaches into a per_neuron rule; grid axes cannot sweep inside a per-neuron distribution",
                        axis.path
                    ))
                    .key(path)
                    .at(loc(value))
                    .hint("give each setting its own variant: variants: [{per_neuron: {model.a: {normal: {mean: 4 nS, sd: 1 nS}}}}, {per_neuron: {model.a: {normal: {mean: 4 nS, sd: 2 nS}}}}]"));
                } else {
                    return Err(unknown_path(axis, value));
                }
            }
        }
        Ok(())
    }

    pub(super) fn apply_input(
        &mut self,
        axis: &Axis,
        value: &Q,
        path: &str,
        layer: u8,
    ) -> Result<(), InputError> {
        let p = axis.path.as_str();
        let (index, key) = match p.strip_prefix("input.") {
            Some(key) => (None, key),
            None => {
                let rest = p
                    .strip_prefix("input[")
                    .ok_or_else(|| unknown_path(axis, value))?;
                let (i, key) = rest
                    .split_once("].")
                    .ok_or_else(|| unknown_path(axis, value))?;
                (
                    Some(i.parse::<usize>().map_err(|_| unknown_path(axis, value))?),
                    key,
                )
            }
        };
        let Some(input) = self.input.as_mut() else {
            return Err(
                InputError::new("the grid sets an input, but the run has no input")
                    .key(path.to_string())
                    .at(loc(value))
                    .hint("add 'input:' to the experiment or the variant"),
            );
        };
        let count = input.value.0.len();
        let k = match index {
            Some(k) if k < count => k,
            None if count == 1 => 0,
            _ => {
                return Err(InputError::new(format!(
                    "the run's input has {count} stimuli; name one as input[0] to input[{}]",
                    count.saturating_sub(1)
                ))
                .key(path.to_string())
                .at(loc(value))
                .hint("with several stimuli, write e.g. input[0].amplitude"))
            }
        };
        let stimulus = &mut input.value.0[k];
        let ok = if key == "type" {
            stimulus.kind = Spanned {
                value: value.value.to_string(),
                referenced: value.referenced,
                defined: value.defined,
            };
            true
        } else {
            stimulus.set(key, value.clone())
        };
        if !ok {
            return Err(unknown_path(axis, value));
        }
        input.layer = layer;
        Ok(())
    }
}

/// The paths a grid axis may sweep, besides `model.<key>` for every key of the
/// model registry.
pub(super) const SWEEPABLE: &[&str] = &[
    "duration",
    "dt",
    "neurons",
    "method",
    "crossings",
    "model.type",
    "initial.V",
    "initial.w",
];

/// The sweepable `input.<key>` paths: every quantity key of the stimulus registry,
/// then the type.
pub(super) fn input_paths() -> Vec<String> {
    let keys = stimulus::quantity_keys().into_iter().chain(["type"]);
    keys.map(|k| format!("input.{k}")).collect()
}

pub(super) fn unknown_path(axis: &Axis, value: &Q) -> InputError {
    let e = InputError::new(format!(
        "'{}' is not a parameter that can be swept",
        axis.path
    ))
    .key(format!("{}.{}", axis.scope, axis.path))
    .at(loc(value));
    let model_paths: Vec<String> = model::all_keys()
        .iter()
        .map(|k| format!("model.{k}"))
        .collect();
    let mut paths: Vec<&str> = SWEEPABLE.to_vec();
    paths.extend(model_paths.iter().map(String::as_str));
    let input_paths = input_paths();
    paths.extend(input_paths.iter().map(String::as_str));
    match did_you_mean(&axis.path, &paths) {
        Some(m) => e.hint(format!("did you mean '{m}'?")),
        None => e.hint("sweepable: model.<parameter>, input.<key> or input[k].<key>, initial.V, initial.w, duration, dt, neurons, method, crossings"),
    }
}
