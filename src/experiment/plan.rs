//! The plan: every run of an experiment resolved to engine units, validated against
//! the rules of DESIGN §3–5, keyed and seeded — all before any run starts. Variants
//! are a union of overrides of the base; each is repeated `replicates` times.

use super::grid::{self, AxesRaw, Axis, Group};
use super::raw::{
    ExperimentRaw, InitRaw, InitialRaw, InputRaw, ModelRaw, NeuronsRaw, Scalar, StimulusKind,
    StimulusRaw, VariantRaw, Q,
};
use super::spec::{InitValue, Initial, Method, Record, RunSpec};
use crate::check::Tolerances;
use crate::error::{did_you_mean, InputError, Location};
use crate::model::{self, ModelKind, Params};
use crate::seed;
use crate::stimulus::{Input, Noise, Stimulus};
use crate::units::{self, Dim};
use serde_saphyr::Spanned;
use std::collections::HashMap;

/// Largest number of runs a plan may hold.
pub const DEFAULT_MAX_RUNS: u64 = 1_000_000;

/// Most steps (duration / dt) one run may take: hours of one neuron on one core, far
/// past any experiment here. Past it the step count itself stops being exact (a
/// `duration: 1e300 s` would saturate it and start), so it is an input error.
pub const MAX_STEPS: u64 = 10_000_000_000;

/// Most neuron-steps one run may take (days on every core of a node). Keeps a run's
/// cost, which the shard split sums in u64, far from overflowing.
pub const MAX_NEURON_STEPS: u64 = 1_000_000_000_000_000;

/// Longest experiment name, in bytes (ASCII only).
pub const MAX_NAME: usize = 100;

/// A validated experiment: its runs and what the dataset needs to know about them.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub description: Option<String>,
    pub seed: u64,
    pub runs: Vec<RunSpec>,
    /// Whether any run sums several stimuli (then input columns are numbered).
    pub indexed_inputs: bool,
    /// Problems that do not stop the plan (e.g. a coarse dt), each once.
    pub warnings: Vec<InputError>,
    /// The sweep's axes with their sizes, as "scope.path: n".
    pub axes: Vec<String>,
    /// Tolerances for `neurodyn check` (the `check:` section, else the defaults).
    pub tolerances: Tolerances,
}

impl Plan {
    /// Total neuron-steps of all runs (saturating: 10^10 steps of 4·10^9 neurons
    /// overflow a u64).
    pub fn neuron_steps(&self) -> u64 {
        self.runs.iter().fold(0u64, |sum, r| {
            sum.saturating_add(r.steps.saturating_mul(u64::from(r.neurons)))
        })
    }

    /// What the whole plan writes.
    pub fn output_estimate(&self) -> OutputEstimate {
        OutputEstimate::of(&self.runs)
    }
}

// Bytes per row of the traces/ and spikes/ part files as written (ZSTD level 1,
// dictionary-encoded ids, byte-stream-split floats, rows in (run, neuron, time) order).
// Measured by running one-run experiments of 200 neurons for 1 s at dt = 0.1 ms (rk4,
// `record: {variables: [...], neurons: all, every: 1}`, 2·10^6 trace rows each; the
// same bytes from any build) and dividing `du -b traces` by the rows:
//   AdEx, 500 pA step + white noise 100 pA*sqrt(ms) (README's example)
//     V, I, w 18.97 · V, I 13.18 · V, w 11.95 · V 6.16 · I 7.10 · w 5.86
//   AdEx, 400 pA + OU noise 100 pA, tau 5 ms: V, I, w 18.52 · V 6.12
//   LIF, 300 pA + white noise 200 pA*sqrt(ms): V 6.22
//   AdEx, 600 pA constant (regular spiking): V, I, w 9.93 · V, I 4.84 · V 4.83 · w 5.17
//   AdEx, spread 0-1 nA: V, I, w 10.80 · LIF, 1 nA constant: V 6.11, V, I, w 6.12
//   AdEx, 500 pA + 300 pA pulses: V, I 5.59 · EIF, 5 Hz sine: V, I 3.55 · V 2.57
//   LIF, 500 pA constant (silent, V settles): V 1.06
// and spike rows from 10^3 noise-driven neurons for 5 s, `du -b spikes` / spikes:
// AdEx 6.76 (84,786 spikes), LIF 6.33 (285,795); a regular LIF 3.9 (22,800).
// So noise makes I incompressible, V and w take ~5 bytes whenever they move, and
// the keys ~1. The estimate below matches noise-driven and spiking runs within
// ~15 % and over-estimates smooth or silent ones (up to 2x for the EIF sine, 6x for
// a settled LIF): the safe side for a free-space check. Each part file also has a
// few kB of footer, one pair per batch of ~4·10^6 neuron-steps, left out.
/// run_id, neuron and t_ms of a trace row.
pub const TRACE_KEY_BYTES: f64 = 1.0;
pub const TRACE_V_BYTES: f64 = 5.0;
/// I of a run with a noise input.
pub const TRACE_I_NOISE_BYTES: f64 = 7.0;
/// I of a run without noise: piecewise constant or smooth.
pub const TRACE_I_BYTES: f64 = 1.0;
/// w of a model with adaptation; a model without writes nulls, which take ~nothing.
pub const TRACE_W_BYTES: f64 = 5.5;
pub const SPIKE_ROW_BYTES: f64 = 6.5;

/// The firing rate spike bytes are estimated at: spike counts are unknown before the
/// runs, and a rough rate of cortical and driven model cells keeps spike-only runs of
/// large populations from passing as nothing. A run firing at 100 Hz writes 10 times
/// the spike bytes estimated.
pub const NOMINAL_RATE_HZ: f64 = 10.0;

/// What runs will write, estimated before they run: trace rows are known exactly,
/// spikes only by NOMINAL_RATE_HZ.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OutputEstimate {
    pub trace_rows: u64,
    pub trace_bytes: u64,
    /// Spikes at NOMINAL_RATE_HZ per neuron.
    pub spikes: u64,
    pub spike_bytes: u64,
}

impl OutputEstimate {
    /// The estimate for `runs` (a plan, one shard's share, or the runs left to do).
    pub fn of<'a>(runs: impl IntoIterator<Item = &'a RunSpec>) -> OutputEstimate {
        // f64 throughout: 10^10 steps of 4·10^9 neurons overflow u64 products, and
        // an estimate needs no more than f64's digits. `as u64` saturates.
        let (mut trace_rows, mut trace_bytes, mut spikes) = (0.0, 0.0, 0.0);
        for r in runs {
            if r.record.any() {
                let rows = r.steps.div_ceil(u64::from(r.record.every)) as f64
                    * r.record.neurons.len() as f64;
                let mut per_row = TRACE_KEY_BYTES;
                if r.record.v {
                    per_row += TRACE_V_BYTES;
                }
                if r.record.i && r.input.noises().any(|n| n.sigma > 0.0) {
                    per_row += TRACE_I_NOISE_BYTES;
                } else if r.record.i {
                    per_row += TRACE_I_BYTES;
                }
                if r.record.w && r.model.has_w() {
                    per_row += TRACE_W_BYTES;
                }
                trace_rows += rows;
                trace_bytes += rows * per_row;
            }
            spikes += f64::from(r.neurons) * r.duration / 1000.0 * NOMINAL_RATE_HZ;
        }
        OutputEstimate {
            trace_rows: trace_rows as u64,
            trace_bytes: trace_bytes as u64,
            spikes: spikes as u64,
            spike_bytes: (spikes * SPIKE_ROW_BYTES) as u64,
        }
    }

    pub fn bytes(&self) -> u64 {
        self.trace_bytes.saturating_add(self.spike_bytes)
    }

    /// Whether writing this much is fine, worth a warning, or more than `free` bytes.
    pub fn verdict(&self, free: Option<u64>) -> SizeVerdict {
        match free {
            Some(free) if self.bytes() > free => SizeVerdict::TooLarge { free },
            _ if self.bytes() > WARN_BYTES => SizeVerdict::Large,
            _ => SizeVerdict::Fine,
        }
    }
}

/// Above this estimate `run` warns before it starts.
pub const WARN_BYTES: u64 = 10_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeVerdict {
    Fine,
    /// More than WARN_BYTES.
    Large,
    /// More than the free space of the output's file system.
    TooLarge {
        free: u64,
    },
}

fn loc<T>(s: &Spanned<T>) -> Option<Location> {
    let l = s.referenced;
    (l.line() > 0).then(|| Location {
        line: l.line(),
        column: l.column(),
    })
}

/// Read a quantity in the dimension its key expects.
fn quantity(q: &Q, dim: Dim, key: &str) -> Result<f64, InputError> {
    let value = match &q.value {
        Scalar::Number(x) if dim == Dim::Angle => Ok(*x),
        Scalar::Number(x) => Err(units::UnitError::MissingUnit {
            text: x.to_string(),
            expected: dim.describe(),
        }),
        Scalar::Text(t) => units::parse(t, dim),
    };
    value.map_err(|e| {
        let hint = match e {
            units::UnitError::MissingUnit { .. } => format!(
                "write the unit after the number, e.g. \"{}\"",
                units::format(q.value.to_string().parse().unwrap_or(1.0), dim)
            ),
            units::UnitError::UnknownUnit { .. } => format!(
                "{key} expects {}; known prefixes G M k m u n p f",
                dim.describe()
            ),
            _ => format!("{key} expects {}", dim.describe()),
        };
        InputError::new(e.to_string())
            .key(key)
            .at(loc(q))
            .hint(hint)
    })
}

/// Read a name from a fixed set (model type, stimulus type, method).
fn choose<T: Copy>(
    s: &Spanned<String>,
    key: &str,
    options: &[(&'static str, T)],
) -> Result<T, InputError> {
    if let Some((_, v)) = options.iter().find(|(n, _)| *n == s.value) {
        return Ok(*v);
    }
    let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
    let e = InputError::new(format!("unknown value '{}'", s.value))
        .key(key)
        .at(loc(s));
    Err(match did_you_mean(&s.value, &names) {
        Some(m) => e.hint(format!("did you mean '{m}'?")),
        None => e.hint(format!("allowed values: {}", names.join(", "))),
    })
}

/// Read a whole number of at least `min`.
fn count(q: &Spanned<Scalar>, key: &str, min: u32) -> Result<u32, InputError> {
    let fail = |what: String| {
        InputError::new(what)
            .key(key)
            .at(loc(q))
            .hint(format!("{key} takes a whole number of at least {min}"))
    };
    match &q.value {
        Scalar::Number(x)
            if x.fract() == 0.0 && *x >= f64::from(min) && *x <= f64::from(u32::MAX) =>
        {
            Ok(*x as u32)
        }
        Scalar::Number(x) if x.fract() == 0.0 && *x < f64::from(min) => Err(fail(format!(
            "{key} must be at least {min} (got {})",
            units::number(*x)
        ))),
        Scalar::Number(x) if x.fract() == 0.0 => Err(InputError::new(format!(
            "{} is too large for {key}: the largest is {}",
            units::number(*x),
            u32::MAX
        ))
        .key(key)
        .at(loc(q))
        .hint(format!(
            "{key} takes a whole number from {min} to {}",
            u32::MAX
        ))),
        other => Err(fail(format!("'{other}' is not a whole number"))),
    }
}

fn model_kind(s: &Spanned<String>, key: &str) -> Result<ModelKind, InputError> {
    let options: Vec<(&str, ModelKind)> = ModelKind::ALL.iter().map(|k| (k.name(), *k)).collect();
    choose(s, key, &options)
}

fn method(s: &Spanned<String>, key: &str) -> Result<Method, InputError> {
    let options: Vec<(&str, Method)> = Method::ALL.iter().map(|m| (m.name(), *m)).collect();
    choose(s, key, &options)
}

/// Turn the raw experiment into a plan, or report the first problem found.
pub fn plan(raw: &ExperimentRaw) -> Result<Plan, InputError> {
    plan_with_cap(raw, DEFAULT_MAX_RUNS)
}

/// A value with the dotted path it was set under (for error messages) and the layer
/// that set it: 0 base, 1 variant, 2 base grid, 3 variant grid.
#[derive(Clone, Debug)]
struct Set<T> {
    value: T,
    path: String,
    layer: u8,
}

/// One run's raw settings after variants and grid points were applied.
#[derive(Clone, Debug)]
struct RunRaw {
    duration: Set<Q>,
    dt: Set<Q>,
    method: Option<Set<Spanned<String>>>,
    neurons: Option<Set<Q>>,
    model_type: Option<Set<Spanned<String>>>,
    model: Vec<(&'static str, Set<Q>)>,
    input: Option<Set<InputRaw>>,
    initial_v: Option<Set<InitRaw>>,
    initial_w: Option<Set<InitRaw>>,
}

fn set<T>(value: T, path: &str, layer: u8) -> Set<T> {
    Set {
        value,
        path: path.to_string(),
        layer,
    }
}

impl RunRaw {
    fn base(raw: &ExperimentRaw) -> RunRaw {
        let mut run = RunRaw {
            duration: set(raw.duration.clone(), "duration", 0),
            dt: set(raw.dt.clone(), "dt", 0),
            method: raw.method.clone().map(|m| set(m, "method", 0)),
            neurons: raw.neurons.clone().map(|n| set(n, "neurons", 0)),
            model_type: None,
            model: Vec::new(),
            input: raw.input.as_ref().map(|i| set(i.value.clone(), "input", 0)),
            initial_v: None,
            initial_w: None,
        };
        if let Some(m) = &raw.model {
            run.overlay_model(&m.value, "", 0);
        }
        if let Some(i) = &raw.initial {
            run.overlay_initial(i, "", 0);
        }
        run
    }

    fn overlay_model(&mut self, m: &ModelRaw, prefix: &str, layer: u8) {
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

    fn set_model(&mut self, key: &'static str, q: Q, path: String, layer: u8) {
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

    fn overlay_initial(&mut self, i: &InitialRaw, prefix: &str, layer: u8) {
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

    fn overlay_variant(&mut self, v: &VariantRaw, prefix: &str) {
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
    }

    /// Apply one grid value at its dotted path.
    fn apply(&mut self, axis: &Axis, value: &Q, layer: u8) -> Result<(), InputError> {
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
            "model.type" => self.model_type = Some(set(text(value), &path, layer)),
            "initial.V" => self.initial_v = Some(set(InitRaw::Fixed(value.clone()), &path, layer)),
            "initial.w" => self.initial_w = Some(set(InitRaw::Fixed(value.clone()), &path, layer)),
            _ => {
                if let Some(key) = p.strip_prefix("model.") {
                    match model::ALL_KEYS.iter().find(|k| **k == key) {
                        Some(k) => self.set_model(k, value.clone(), path, layer),
                        None => return Err(unknown_path(axis, value)),
                    }
                } else if p.starts_with("input") {
                    self.apply_input(axis, value, &path, layer)?;
                } else {
                    return Err(unknown_path(axis, value));
                }
            }
        }
        Ok(())
    }

    fn apply_input(
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

/// The paths a grid axis may sweep.
const SWEEPABLE: &[&str] = &[
    "duration",
    "dt",
    "neurons",
    "method",
    "model.type",
    "model.C",
    "model.g_L",
    "model.tau_m",
    "model.R",
    "model.E_L",
    "model.V_th",
    "model.V_T",
    "model.Delta_T",
    "model.V_peak",
    "model.V_reset",
    "model.t_ref",
    "model.a",
    "model.b",
    "model.tau_w",
    "initial.V",
    "initial.w",
    "input.amplitude",
    "input.start",
    "input.stop",
    "input.offset",
    "input.frequency",
    "input.phase",
    "input.mean",
    "input.sigma",
    "input.tau",
    "input.from",
    "input.to",
    "input.width",
    "input.period",
    "input.type",
];

fn unknown_path(axis: &Axis, value: &Q) -> InputError {
    let e = InputError::new(format!(
        "'{}' is not a parameter that can be swept",
        axis.path
    ))
    .key(format!("{}.{}", axis.scope, axis.path))
    .at(loc(value));
    match did_you_mean(&axis.path, SWEEPABLE) {
        Some(m) => e.hint(format!("did you mean '{m}'?")),
        None => e.hint("sweepable: model.<parameter>, input.<key> or input[k].<key>, initial.V, initial.w, duration, dt, neurons, method"),
    }
}

/// The axes of a scope (`grid`, `zip[k]`), expanded, as groups that advance together.
fn groups(
    grid: Option<&Spanned<AxesRaw>>,
    zip: Option<&Vec<Spanned<AxesRaw>>>,
    prefix: &str,
) -> Result<Vec<Group>, InputError> {
    let mut out = Vec::new();
    for (path, axis) in grid.map(|g| g.value.0.as_slice()).unwrap_or(&[]) {
        let scope = format!("{prefix}grid");
        let values = grid::expand(axis, &format!("{scope}.{path}"))?;
        out.push(Group {
            axes: vec![Axis {
                path: path.clone(),
                scope,
                values,
            }],
        });
    }
    for (z, group) in zip.map(|v| v.as_slice()).unwrap_or(&[]).iter().enumerate() {
        let scope = format!("{prefix}zip[{z}]");
        let mut axes: Vec<Axis> = Vec::new();
        for (path, axis) in &group.value.0 {
            let values = grid::expand(axis, &format!("{scope}.{path}"))?;
            if let Some(first) = axes.first() {
                if first.values.len() != values.len() {
                    return Err(InputError::new(format!(
                        "zipped axes must have equal lengths: {} has {}, {} has {}",
                        first.path,
                        first.values.len(),
                        path,
                        values.len()
                    ))
                    .key(scope.clone())
                    .at(loc(group))
                    .hint("give every axis of a zip group the same number of values"));
                }
            }
            axes.push(Axis {
                path: path.clone(),
                scope: scope.clone(),
                values,
            });
        }
        if !axes.is_empty() {
            out.push(Group { axes });
        }
    }
    Ok(out)
}

/// Runs of a scope before expansion: the product of its axis lengths.
fn scope_size(
    grid: Option<&Spanned<AxesRaw>>,
    zip: Option<&Vec<Spanned<AxesRaw>>>,
    prefix: &str,
    sizes: &mut Vec<String>,
) -> Result<u64, InputError> {
    let mut total: u64 = 1;
    for (path, axis) in grid.map(|g| g.value.0.as_slice()).unwrap_or(&[]) {
        let n = grid::axis_len(axis, &format!("{prefix}grid.{path}"))?;
        sizes.push(format!("{prefix}grid.{path}: {n}"));
        total = total.saturating_mul(n);
    }
    for (z, group) in zip.map(|v| v.as_slice()).unwrap_or(&[]).iter().enumerate() {
        if let Some((path, axis)) = group.value.0.first() {
            let n = grid::axis_len(axis, &format!("{prefix}zip[{z}].{path}"))?;
            sizes.push(format!("{prefix}zip[{z}]: {n}"));
            total = total.saturating_mul(n);
        }
    }
    Ok(total)
}

/// [`plan`] with an explicit cap on the number of runs.
pub fn plan_with_cap(raw: &ExperimentRaw, max_runs: u64) -> Result<Plan, InputError> {
    let name = raw.name.value.clone();
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !name_ok {
        return Err(InputError::new(format!(
            "'{name}' is not a valid experiment name (it names the output folder)"
        ))
        .key("name")
        .at(loc(&raw.name))
        .hint("use only letters, digits, '_' and '-'"));
    }
    // A folder name; file systems take 255 bytes at most.
    if name.len() > MAX_NAME {
        return Err(InputError::new(format!(
            "the name '{name}' has {} characters; it names the output folder and may have at most {MAX_NAME}",
            name.len()
        ))
        .key("name")
        .at(loc(&raw.name))
        .hint("choose a short name; `description:` holds the details"));
    }
    let replicates = match &raw.replicates {
        Some(r) => count(r, "replicates", 1)?,
        None => 1,
    };
    let seed = raw.seed.as_ref().map_or(0, |s| s.value);
    let variants: &[Spanned<VariantRaw>] = raw.variants.as_ref().map_or(&[], |v| &v.value);
    if let Some(v) = raw.variants.as_ref().filter(|v| v.value.is_empty()) {
        return Err(InputError::new("variants is an empty list")
            .key("variants")
            .at(loc(v))
            .hint("list at least one variant, or remove the key for a single run"));
    }

    // Count before expanding, so an oversized sweep fails at once with its axis sizes.
    let mut sizes = Vec::new();
    let base_size = scope_size(raw.grid.as_ref(), raw.zip.as_ref(), "", &mut sizes)?;
    let mut total: u64 = 0;
    for (i, v) in variants.iter().enumerate() {
        let n = scope_size(
            v.value.grid.as_ref(),
            v.value.zip.as_ref(),
            &format!("variants[{i}]."),
            &mut sizes,
        )?;
        total = total.saturating_add(base_size.saturating_mul(n));
    }
    if variants.is_empty() {
        total = base_size;
    }
    let total = total.saturating_mul(u64::from(replicates));
    if total > max_runs {
        let variant_note = if variants.is_empty() {
            String::new()
        } else {
            format!(", {} variants", variants.len())
        };
        return Err(InputError::new(format!(
            "the plan has {total} runs ({}{variant_note}, {replicates} replicates), more than the cap of {max_runs}",
            if sizes.is_empty() { "no axes".to_string() } else { sizes.join(" x ") }
        ))
        .key(if raw.grid.is_some() { "grid" } else { "replicates" })
        .at(raw.grid.as_ref().and_then(loc).or(raw.replicates.as_ref().and_then(loc)))
        .hint("reduce the axes, variants or replicates, or raise the cap with --max-runs"));
    }

    let base = RunRaw::base(raw);
    let base_groups = groups(raw.grid.as_ref(), raw.zip.as_ref(), "")?;
    let mut runs = Vec::new();
    let mut warnings: Vec<InputError> = Vec::new();
    let mut any_indexed = false;
    for index in 0..variants.len().max(1) {
        let variant = variants.get(index);
        let prefix = variant.map_or(String::new(), |_| format!("variants[{index}]."));
        let mut layered = base.clone();
        if let Some(v) = variant {
            layered.overlay_variant(&v.value, &prefix);
        }
        let own_groups = match variant {
            Some(v) => groups(v.value.grid.as_ref(), v.value.zip.as_ref(), &prefix)?,
            None => Vec::new(),
        };
        let base_points = grid::points(&base_groups);
        let own_points = grid::points(&own_groups);
        for bp in &base_points {
            for op in &own_points {
                let mut run_raw = layered.clone();
                for (axis, value) in bp {
                    run_raw.apply(axis, value, 2)?;
                }
                for (axis, value) in op {
                    run_raw.apply(axis, value, 3)?;
                }
                let point: Vec<String> = bp
                    .iter()
                    .chain(op.iter())
                    .map(|(a, v)| format!("{}={}", a.path, v.value))
                    .collect();
                let label = match variant.and_then(|v| v.value.label.as_ref()) {
                    Some(l) => l.value.clone(),
                    None => String::new(),
                };
                let resolved = resolve_run(raw, &run_raw, &mut warnings)
                    .map_err(|e| in_point(e, &prefix, &point))?;
                any_indexed |= resolved.input.stimuli.len() > 1;
                let label = if !label.is_empty() {
                    label
                } else if variant.is_some() || !point.is_empty() {
                    auto_label(resolved.model, &resolved.input)
                } else {
                    name.clone()
                };
                for replicate in 0..replicates {
                    let mut spec = RunSpec {
                        label: label.clone(),
                        replicate,
                        ..resolved.clone()
                    };
                    spec.key = seed::run_key(&spec.canonical(), replicate);
                    spec.seed = seed::run_seed(seed, &spec.key);
                    runs.push(spec);
                }
            }
        }
    }
    // Order by run key: run ids then do not depend on the order the grid was written
    // in, and costly and cheap runs interleave across batches.
    runs.sort_by(|a, b| a.key.cmp(&b.key));
    if let Some(w) = runs.windows(2).find(|w| w[0].key == w[1].key) {
        return Err(InputError::new(format!(
            "two runs have the same parameters and replicate ({} and {}), so they would be the same run",
            w[0].label, w[1].label
        ))
        .key("variants")
        .at(raw.variants.as_ref().and_then(loc))
        .hint("remove the duplicate variant or grid value, or use replicates for repeated draws"));
    }
    for (i, r) in runs.iter_mut().enumerate() {
        r.run_id = i as u32;
    }
    Ok(Plan {
        name,
        description: raw.description.clone(),
        seed,
        runs,
        indexed_inputs: any_indexed,
        warnings,
        axes: sizes,
        tolerances: resolve_tolerances(raw)?,
    })
}

fn describe(prefix: &str, point: &[String]) -> String {
    let scope = if prefix.is_empty() {
        "the base".to_string()
    } else {
        prefix.trim_end_matches('.').to_string()
    };
    if point.is_empty() {
        scope
    } else {
        format!("{scope} at {}", point.join(", "))
    }
}

/// Name the grid point in an error found while resolving it.
fn in_point(e: InputError, prefix: &str, point: &[String]) -> InputError {
    if point.is_empty() {
        e
    } else {
        e.hint(format!(
            "this happens at the grid point {}",
            describe(prefix, point)
        ))
    }
}

/// Resolve one run's layered settings to a RunSpec (key, seed, id and label unset).
fn resolve_run(
    raw: &ExperimentRaw,
    r: &RunRaw,
    warnings: &mut Vec<InputError>,
) -> Result<RunSpec, InputError> {
    let duration = quantity(&r.duration.value, Dim::Time, &r.duration.path)?;
    let dt = quantity(&r.dt.value, Dim::Time, &r.dt.path)?;
    positive(duration, &r.duration.path, loc(&r.duration.value), "ms")?;
    positive(dt, &r.dt.path, loc(&r.dt.value), "ms")?;
    let steps_f = (duration / dt).round();
    if steps_f > MAX_STEPS as f64 {
        return Err(InputError::new(format!(
            "duration {} ms is {} steps of dt {} ms, more than the cap of {} steps per run",
            units::number(duration),
            units::sig(steps_f, 3),
            units::number(dt),
            units::number(MAX_STEPS as f64)
        ))
        .key(r.duration.path.clone())
        .at(loc(&r.duration.value))
        .hint("shorten the duration or use a larger dt"));
    }
    if (steps_f * dt - duration).abs() > 1e-9 * duration || steps_f < 1.0 {
        return Err(InputError::new(format!(
            "duration {} ms is not a whole number of steps of dt {} ms",
            units::number(duration),
            units::number(dt)
        ))
        .key(r.duration.path.clone())
        .at(loc(&r.duration.value))
        .hint("choose a duration that is a multiple of dt"));
    }
    let neurons = match &r.neurons {
        Some(n) => count(&n.value, &n.path, 1)?,
        None => 1,
    };
    if let Some(n) = r.neurons.as_ref() {
        let neuron_steps = u64::from(neurons).saturating_mul(steps_f as u64);
        if neuron_steps > MAX_NEURON_STEPS {
            return Err(InputError::new(format!(
                "{neurons} neurons x {} steps is {} neuron-steps, more than the cap of {} per run",
                steps_f as u64,
                units::sig(neuron_steps as f64, 3),
                units::number(MAX_NEURON_STEPS as f64)
            ))
            .key(n.path.clone())
            .at(loc(&n.value))
            .hint("use fewer neurons, a shorter duration or a larger dt; or spread the population over runs with a grid or replicates"));
        }
    }
    let (kind, params) = resolve_model(r)?;
    let method = match &r.method {
        Some(m) => (method(&m.value, &m.path)?, m.path.clone(), loc(&m.value)),
        None => (Method::Rk4, "method".into(), None),
    };
    if method.0 == Method::Exact && kind != ModelKind::Lif {
        return Err(InputError::new(format!(
            "method 'exact' integrates only the LIF model, not {kind}"
        ))
        .key(method.1)
        .at(method.2)
        .hint("use 'rk4' or 'euler' for eif and adex"));
    }
    let model_scope = r
        .model_type
        .as_ref()
        .and_then(|t| t.path.strip_suffix(".type"))
        .unwrap_or("model");
    check_dt(
        kind,
        &params,
        (dt, &r.dt.path),
        model_scope,
        loc(&r.dt.value),
        warnings,
    )?;
    let input = match &r.input {
        Some(i) => resolve_input(&i.value, &i.path)?,
        None => Input::default(),
    };
    let initial = Initial {
        v: resolve_initial(r.initial_v.as_ref(), Dim::Voltage, params.e_l)?,
        w: resolve_initial(r.initial_w.as_ref(), Dim::Current, 0.0)?,
    };
    Ok(RunSpec {
        run_id: 0,
        label: String::new(),
        key: String::new(),
        seed: 0,
        replicate: 0,
        model: kind,
        params,
        method: method.0,
        duration,
        dt,
        steps: steps_f as u64,
        neurons,
        initial,
        input,
        record: resolve_record(raw, neurons)?,
        window: resolve_window(raw, duration)?,
    })
}

fn positive(value: f64, key: &str, at: Option<Location>, unit: &str) -> Result<(), InputError> {
    if value > 0.0 {
        Ok(())
    } else {
        Err(InputError::new(format!(
            "{key} must be positive (got {} {unit})",
            units::number(value)
        ))
        .key(key)
        .at(at)
        .hint(format!("give {key} a value above 0 {unit}")))
    }
}

fn auto_label(kind: ModelKind, input: &Input) -> String {
    let stims: Vec<&str> = input
        .stimuli
        .iter()
        .map(|s| super::spec::stimulus_fields(s).0)
        .collect();
    if stims.is_empty() {
        kind.name().to_string()
    } else {
        format!("{}-{}", kind.name(), stims.join("+"))
    }
}

/// The run's model: keys set before the layer that chose the model type and not
/// applying to it are dropped (the base may describe another model); a key set by
/// that layer or a later one must apply.
fn resolve_model(r: &RunRaw) -> Result<(ModelKind, Params), InputError> {
    let Some(t) = &r.model_type else {
        return Err(InputError::new("the model type is missing")
            .key("model.type")
            .at(r.model.first().and_then(|(_, s)| loc(&s.value)))
            .hint("add 'type: lif', 'type: eif' or 'type: adex' under model:"));
    };
    let kind = model_kind(&t.value, &t.path)?;
    let entries: Vec<(&'static str, &Q, String)> = r
        .model
        .iter()
        .filter(|(key, s)| s.layer >= t.layer || model::accepts(kind, key))
        .map(|(key, s)| (*key, &s.value, s.path.clone()))
        .collect();
    let mut params = model::defaults(kind);
    let mut given: Vec<&str> = Vec::new();
    let find = |key: &str| entries.iter().find(|(k, _, _)| *k == key);
    for (key, q, path) in &entries {
        if !model::accepts(kind, key) {
            let takes: Vec<&str> = kind.params().iter().map(|p| p.name).collect();
            return Err(
                InputError::new(format!("'{key}' is not a parameter of the {kind} model"))
                    .key(path.clone())
                    .at(loc(q))
                    .hint(format!(
                        "{kind} takes: {}, or tau_m and R",
                        takes.join(", ")
                    ))
                    .hint(if path.starts_with("grid.") || path.starts_with("zip[") {
                        "declare the axis under the variants whose model has it (variants[i].grid)"
                    } else {
                        "remove the key, or change the model type"
                    }),
            );
        }
        if *key == "tau_m" || *key == "R" {
            continue;
        }
        let dim = kind
            .params()
            .iter()
            .find(|p| p.name == *key)
            .map(|p| p.dim)
            .unwrap_or(Dim::Voltage);
        params.set(key, quantity(q, dim, path)?);
        given.push(key);
    }
    match (find("tau_m"), find("R")) {
        (None, None) => {}
        (Some((_, tq, tp)), Some((_, rq, rp))) => {
            if let Some((_, q, p)) = find("C").or(find("g_L")) {
                return Err(InputError::new(
                    "give the membrane as C and g_L, or as tau_m and R, not both",
                )
                .key(p.clone())
                .at(loc(q))
                .hint("remove C and g_L, or remove tau_m and R"));
            }
            let tau = quantity(tq, Dim::Time, tp)?;
            let r = quantity(rq, Dim::Resistance, rp)?;
            positive(tau, tp, loc(tq), "ms")?;
            positive(r, rp, loc(rq), "GOhm")?;
            params.g_l = 1.0 / r;
            params.c = tau / r;
            given.extend(["C", "g_L"]);
        }
        (Some((_, q, p)), None) | (None, Some((_, q, p))) => {
            return Err(InputError::new("tau_m and R go together")
                .key(p.clone())
                .at(loc(q))
                .hint("give both tau_m and R (tau_m = C/g_L, R = 1/g_L), or C and g_L"));
        }
    }
    model::complete(kind, &mut params, &given);
    model::validate(kind, &params).map_err(|v| {
        let (path, at) = match find(v.key) {
            Some((_, q, p)) => (p.clone(), loc(q)),
            None => (format!("model.{}", v.key), None),
        };
        InputError::new(v.message)
            .key(path)
            .at(at)
            .hint("see `neurodyn models` for every parameter, its unit and its rule")
    })?;
    Ok((kind, params))
}

/// DESIGN §3: dt above τ/5 is an error, above τ/20 a warning.
fn check_dt(
    kind: ModelKind,
    p: &Params,
    dt: (f64, &str),
    model_scope: &str,
    at: Option<Location>,
    warnings: &mut Vec<InputError>,
) -> Result<(), InputError> {
    let (dt, key) = dt;
    let tau = p.shortest_time_constant(kind);
    if dt > tau / 5.0 {
        return Err(InputError::new(format!(
            "dt {} ms is larger than a fifth of the shortest time constant of {model_scope} ({} ms)",
            units::number(dt),
            units::sig(tau, 4)
        ))
        .key(key.to_string())
        .at(at)
        .hint(format!(
            "use dt <= {} ms (tau/20 or less for accuracy)",
            units::sig(tau / 5.0, 4)
        )));
    }
    if dt > tau / 20.0 {
        let w = InputError::new(format!(
            "dt {} ms is larger than a twentieth of the shortest model time constant ({} ms); results will be coarse",
            units::number(dt),
            units::sig(tau, 4)
        ))
        .key("dt")
        .at(at)
        .hint(format!(
            "dt <= {} ms gives accurate integration",
            units::sig(tau / 20.0, 4)
        ));
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    }
    Ok(())
}

enum Need {
    Required,
    Default(f64),
    Optional,
}

/// The keys each stimulus type takes (DESIGN §4).
fn stimulus_keys(kind: StimulusKind, has_tau: bool) -> Vec<(&'static str, Dim, Need)> {
    use Dim::*;
    use Need::*;
    match kind {
        StimulusKind::Constant => vec![("amplitude", Current, Required)],
        StimulusKind::Step => vec![
            ("amplitude", Current, Required),
            ("start", Time, Default(0.0)),
            ("stop", Time, Optional),
        ],
        StimulusKind::Sine => vec![
            ("offset", Current, Default(0.0)),
            ("amplitude", Current, Required),
            ("frequency", Frequency, Required),
            ("phase", Angle, Default(0.0)),
            ("start", Time, Default(0.0)),
        ],
        StimulusKind::Noise => vec![
            ("mean", Current, Default(0.0)),
            (
                "sigma",
                if has_tau { Current } else { NoiseIntensity },
                Required,
            ),
            ("tau", Time, Optional),
        ],
        StimulusKind::Ramp => vec![
            ("start", Time, Required),
            ("stop", Time, Required),
            ("from", Current, Required),
            ("to", Current, Required),
        ],
        StimulusKind::Spread => vec![("from", Current, Required), ("to", Current, Required)],
        StimulusKind::Pulses => vec![
            ("amplitude", Current, Required),
            ("width", Time, Required),
            ("period", Time, Required),
            ("start", Time, Default(0.0)),
        ],
    }
}

fn resolve_input(raw: &InputRaw, path: &str) -> Result<Input, InputError> {
    let many = raw.0.len() > 1;
    let mut stimuli = Vec::new();
    for (k, s) in raw.0.iter().enumerate() {
        let p = if many {
            format!("{path}[{k}]")
        } else {
            path.to_string()
        };
        stimuli.push(resolve_stimulus(s, &p)?);
    }
    Ok(Input { stimuli })
}

fn resolve_stimulus(s: &StimulusRaw, path: &str) -> Result<Stimulus, InputError> {
    let options: Vec<(&str, StimulusKind)> =
        StimulusKind::ALL.iter().map(|k| (k.name(), *k)).collect();
    let kind = choose(&s.kind, &format!("{path}.type"), &options)?;
    let keys = stimulus_keys(kind, s.tau.is_some());
    let names: Vec<&str> = keys.iter().map(|k| k.0).collect();
    let extra_names = match kind {
        StimulusKind::Pulses => vec!["count"],
        StimulusKind::Noise => vec!["shared"],
        _ => vec![],
    };
    let not_here = |key: &str, at: Option<Location>| {
        let mut all = names.clone();
        all.extend(&extra_names);
        let e = InputError::new(format!(
            "'{key}' does not apply to a {} stimulus",
            kind.name()
        ))
        .key(format!("{path}.{key}"))
        .at(at);
        match did_you_mean(key, &all) {
            Some(m) if m != key => e.hint(format!("did you mean '{m}'?")),
            _ => e.hint(format!("{} takes: {}", kind.name(), all.join(", "))),
        }
    };
    for (key, q) in s.entries() {
        if !names.contains(&key) {
            return Err(not_here(key, loc(q)));
        }
    }
    if let (Some(c), false) = (&s.count, extra_names.contains(&"count")) {
        return Err(not_here("count", loc(c)));
    }
    if let (Some(c), false) = (&s.shared, extra_names.contains(&"shared")) {
        return Err(not_here("shared", loc(c)));
    }
    let entries = s.entries();
    let mut values: HashMap<&str, Option<f64>> = HashMap::new();
    for (key, dim, need) in keys {
        let kp = format!("{path}.{key}");
        let v = match (entries.iter().find(|(k, _)| *k == key), need) {
            (Some((_, q)), _) => Some(quantity(q, dim, &kp)?),
            (None, Need::Default(d)) => Some(d),
            (None, Need::Optional) => None,
            (None, Need::Required) => {
                return Err(
                    InputError::new(format!("a {} stimulus needs '{key}'", kind.name()))
                        .key(kp)
                        .at(loc(&s.kind))
                        .hint(format!("add '{key}:' with {}", dim.describe())),
                )
            }
        };
        values.insert(key, v);
    }
    let get = |k: &str| values.get(k).copied().flatten().unwrap_or(0.0);
    let at_of = |k: &str| {
        entries
            .iter()
            .find(|(n, _)| *n == k)
            .and_then(|(_, q)| loc(q))
    };
    let bad = |k: &str, msg: String| {
        InputError::new(msg)
            .key(format!("{path}.{k}"))
            .at(at_of(k).or(loc(&s.kind)))
            .hint(format!(
                "see DESIGN §4: a {} stimulus takes {}",
                kind.name(),
                names.join(", ")
            ))
    };
    let stimulus = match kind {
        StimulusKind::Constant => Stimulus::Constant {
            amplitude: get("amplitude"),
        },
        StimulusKind::Step => {
            let stop = values["stop"];
            if let Some(stop) = stop {
                if stop <= get("start") {
                    return Err(bad(
                        "stop",
                        format!("stop ({stop} ms) must be after start ({} ms)", get("start")),
                    ));
                }
            }
            Stimulus::Step {
                amplitude: get("amplitude"),
                start: get("start"),
                stop,
            }
        }
        StimulusKind::Sine => {
            if get("frequency") <= 0.0 {
                return Err(bad("frequency", "frequency must be positive".into())
                    .hint("for a constant offset use a constant stimulus"));
            }
            Stimulus::Sine {
                offset: get("offset"),
                amplitude: get("amplitude"),
                frequency: get("frequency"),
                phase: get("phase"),
                start: get("start"),
            }
        }
        StimulusKind::Noise => {
            if get("sigma") < 0.0 {
                return Err(bad(
                    "sigma",
                    format!("sigma must not be negative (got {})", get("sigma")),
                ));
            }
            let tau = values["tau"];
            if tau.is_some_and(|t| t <= 0.0) {
                return Err(
                    bad("tau", "tau must be positive".into()).hint("leave tau out for white noise")
                );
            }
            Stimulus::Noise(Noise {
                mean: get("mean"),
                sigma: get("sigma"),
                tau,
                shared: s.shared.as_ref().is_some_and(|b| b.value),
            })
        }
        StimulusKind::Ramp => {
            if get("stop") <= get("start") {
                return Err(bad(
                    "stop",
                    format!(
                        "stop ({} ms) must be after start ({} ms)",
                        get("stop"),
                        get("start")
                    ),
                ));
            }
            Stimulus::Ramp {
                start: get("start"),
                stop: get("stop"),
                from: get("from"),
                to: get("to"),
            }
        }
        StimulusKind::Spread => Stimulus::Spread {
            from: get("from"),
            to: get("to"),
        },
        StimulusKind::Pulses => {
            if get("width") <= 0.0 {
                return Err(bad("width", "width must be positive".into()));
            }
            if get("period") < get("width") {
                return Err(bad(
                    "period",
                    format!(
                        "period ({} ms) must be at least the pulse width ({} ms)",
                        get("period"),
                        get("width")
                    ),
                ));
            }
            Stimulus::Pulses {
                amplitude: get("amplitude"),
                width: get("width"),
                period: get("period"),
                start: get("start"),
                count: match &s.count {
                    Some(c) => Some(count(c, &format!("{path}.count"), 1)?),
                    None => None,
                },
            }
        }
    };
    Ok(stimulus)
}

fn resolve_initial(
    value: Option<&Set<InitRaw>>,
    dim: Dim,
    default: f64,
) -> Result<InitValue, InputError> {
    let Some(set) = value else {
        return Ok(InitValue::Fixed(default));
    };
    let path = &set.path;
    match &set.value {
        InitRaw::Fixed(q) => Ok(InitValue::Fixed(quantity(q, dim, path)?)),
        InitRaw::Normal(m, s) => {
            let mean = quantity(m, dim, &format!("{path}.normal[0]"))?;
            let sd = quantity(s, dim, &format!("{path}.normal[1]"))?;
            if sd < 0.0 {
                return Err(InputError::new(format!(
                    "the SD must not be negative (got {sd} {})",
                    dim.unit()
                ))
                .key(format!("{path}.normal[1]"))
                .at(loc(s))
                .hint("write normal: [mean, sd] with sd >= 0"));
            }
            Ok(InitValue::Normal { mean, sd })
        }
    }
}

fn resolve_record(raw: &ExperimentRaw, neurons: u32) -> Result<Record, InputError> {
    let mut record = Record {
        v: false,
        i: false,
        w: false,
        neurons: Vec::new(),
        every: 1,
    };
    let Some(r) = &raw.record else {
        return Ok(record);
    };
    for var in r.variables.iter().flatten() {
        match var.value.as_str() {
            "V" => record.v = true,
            "I" => record.i = true,
            "w" => record.w = true,
            other => {
                let e = InputError::new(format!("'{other}' is not a recordable variable"))
                    .key("record.variables")
                    .at(loc(var));
                return Err(match did_you_mean(other, &["V", "I", "w"]) {
                    Some(m) => e.hint(format!("did you mean '{m}'?")),
                    None => e.hint("recordable variables: V, I, w (spikes are always recorded)"),
                });
            }
        }
    }
    if let Some(every) = &r.every {
        record.every = count(every, "record.every", 1)?;
    }
    let too_big = |n: u32, at| {
        InputError::new(format!(
            "neuron {n} does not exist: the population has {neurons} neurons (0 to {})",
            neurons - 1
        ))
        .key("record.neurons")
        .at(at)
    };
    record.neurons = match r.neurons.as_ref().map(|n| (&n.value, loc(n))) {
        None | Some((NeuronsRaw::All, _)) => (0..neurons).collect(),
        Some((NeuronsRaw::First(n), at)) => {
            if *n > neurons {
                return Err(too_big(*n - 1, at).hint(format!("use first: {neurons} or fewer")));
            }
            (0..*n).collect()
        }
        Some((NeuronsRaw::List(list), at)) => {
            let mut l = list.clone();
            l.sort_unstable();
            l.dedup();
            if let Some(&bad) = l.iter().find(|&&n| n >= neurons) {
                return Err(too_big(bad, at).hint("neuron indices start at 0"));
            }
            l
        }
    };
    Ok(record)
}

fn resolve_tolerances(raw: &ExperimentRaw) -> Result<Tolerances, InputError> {
    let mut tol = Tolerances::default();
    let Some(c) = &raw.check else {
        return Ok(tol);
    };
    let bad = |key: &str, value: f64, at| {
        InputError::new(format!("{key} must be a finite number >= 0 (got {value})"))
            .key(format!("check.{key}"))
            .at(at)
            .hint("e.g. check: {rtol: 1e-6, atol: 1e-9, spike_tol: 0.001 ms}")
    };
    for (key, field, slot) in [
        ("rtol", &c.rtol, &mut tol.rtol),
        ("atol", &c.atol, &mut tol.atol),
    ] {
        if let Some(v) = field {
            if !(v.value.is_finite() && v.value >= 0.0) {
                return Err(bad(key, v.value, loc(v)));
            }
            *slot = v.value;
        }
    }
    if let Some(q) = &c.spike_tol {
        let v = quantity(q, Dim::Time, "check.spike_tol")?;
        if !(v.is_finite() && v >= 0.0) {
            return Err(bad("spike_tol", v, loc(q)));
        }
        tol.spike_tol_ms = v;
    }
    Ok(tol)
}

fn resolve_window(raw: &ExperimentRaw, duration: f64) -> Result<(f64, f64), InputError> {
    let Some(a) = &raw.analysis else {
        return Ok((0.0, duration));
    };
    let (q0, q1) = &a.window.value;
    let t0 = quantity(q0, Dim::Time, "analysis.window[0]")?;
    let t1 = quantity(q1, Dim::Time, "analysis.window[1]")?;
    if !(0.0 <= t0 && t0 < t1 && t1 <= duration) {
        return Err(InputError::new(format!(
            "the window [{t0} ms, {t1} ms] must satisfy 0 <= start < stop <= duration ({duration} ms)"
        ))
        .key("analysis.window")
        .at(loc(&a.window))
        .hint("give [start, stop] inside the simulated time"));
    }
    Ok((t0, t1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::parse;

    fn plan_text(text: &str) -> Result<Plan, InputError> {
        plan(&parse(text).map_err(|e| panic!("parse: {e}")).unwrap())
    }

    const BASE: &str = "name: t\nduration: 100 ms\ndt: 0.1 ms\nmodel: {type: adex}\n";

    #[test]
    fn defaults_and_units_resolve() {
        let p = plan_text(&format!(
            "{BASE}input: {{type: constant, amplitude: 0.5 nA}}\nneurons: 3\n"
        ))
        .unwrap();
        assert_eq!(p.runs.len(), 1);
        let r = &p.runs[0];
        assert_eq!((r.steps, r.neurons, r.method), (1000, 3, Method::Rk4));
        assert_eq!(
            r.input.stimuli,
            vec![Stimulus::Constant { amplitude: 500.0 }]
        );
        assert_eq!(r.initial.v, InitValue::Fixed(-70.6));
        assert_eq!(r.window, (0.0, 100.0));
    }

    #[test]
    fn tau_m_and_r_give_c_and_g_l() {
        let p = plan_text("name: t\nduration: 100 ms\ndt: 0.1 ms\nmodel: {type: lif, tau_m: 10 ms, R: 1 MOhm, V_th: -13 mV, E_L: -65 mV, V_reset: -73.42 mV}\n").unwrap();
        let m = &p.runs[0].params;
        assert!((m.g_l - 1000.0).abs() < 1e-9 && (m.c - 10000.0).abs() < 1e-6);
    }

    fn by_key(p: &Plan) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = p.runs.iter().map(|r| (r.key.clone(), r.seed)).collect();
        v.sort();
        v
    }

    #[test]
    fn variants_override_the_base_and_keys_are_stable() {
        let text = format!("{BASE}input: {{type: constant, amplitude: 500 pA}}\nvariants:\n  - {{label: l, model: {{type: lif}}}}\n  - {{label: nob, model: {{b: 0 pA}}}}\nreplicates: 2\n");
        let p = plan_text(&text).unwrap();
        assert_eq!(p.runs.len(), 4);
        let lif: Vec<_> = p.runs.iter().filter(|r| r.label == "l").collect();
        assert!(lif.iter().all(|r| r.model == ModelKind::Lif));
        assert!(p
            .runs
            .iter()
            .filter(|r| r.label == "nob")
            .all(|r| r.params.b == 0.0));
        assert_ne!(lif[0].key, lif[1].key);
        // Run ids follow the run keys.
        assert!(p.runs.windows(2).all(|w| w[0].key < w[1].key));
        // Adding a variant does not change the keys or seeds of existing runs.
        let more = text.replace("replicates: 2", "  - {model: {b: 10 pA}}\nreplicates: 2");
        let q = plan_text(&more).unwrap();
        let old = by_key(&p);
        assert!(old.iter().all(|k| by_key(&q).contains(k)));
    }

    #[test]
    fn grids_zips_and_variant_axes_expand() {
        let text = format!(
            "{BASE}input: {{type: constant, amplitude: 0 pA}}\n\
             grid:\n  input.amplitude: {{linspace: [0 pA, 1 nA, 5]}}\n\
             zip:\n  - {{model.t_ref: [0 ms, 2 ms], initial.V: [-70 mV, -60 mV]}}\n\
             variants:\n  - {{model: {{type: lif}}}}\n  - {{model: {{type: adex}}, grid: {{model.b: [0 pA, 80.5 pA]}}}}\n"
        );
        let p = plan_text(&text).unwrap();
        assert_eq!(p.runs.len(), 5 * 2 + 5 * 2 * 2);
        let amps: Vec<f64> = p
            .runs
            .iter()
            .map(|r| match r.input.stimuli[0] {
                Stimulus::Constant { amplitude } => amplitude,
                _ => f64::NAN,
            })
            .collect();
        for a in [0.0, 250.0, 500.0, 750.0, 1000.0] {
            assert!(amps.contains(&a));
        }
        // Zipped axes advance together.
        assert!(p
            .runs
            .iter()
            .all(|r| (r.params.t_ref == 0.0) == (r.initial.v == InitValue::Fixed(-70.0))));
        // The grid's order does not change the runs.
        let swapped = text.replace(
            "{linspace: [0 pA, 1 nA, 5]}",
            "[1 nA, 750 pA, 0.5 nA, 250 pA, 0 pA]",
        );
        let q = plan_text(&swapped).unwrap();
        assert_eq!(by_key(&p), by_key(&q));
        assert_eq!(p.runs, q.runs);
    }

    #[test]
    fn sweep_errors_name_the_axis() {
        // model.b does not apply to the LIF variant: declare it per variant.
        let e = plan_text(&format!(
            "{BASE}grid: {{model.b: [0 pA, 1 pA]}}\nvariants:\n  - {{model: {{type: lif}}}}\n"
        ))
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("grid.model.b"));
        let e = plan_text(&format!("{BASE}grid: {{model.bb: [0 pA]}}\n")).unwrap_err();
        assert!(e.hints[0].contains("model.b"), "{:?}", e.hints);
        let e = plan_text(&format!(
            "{BASE}zip:\n  - {{model.a: [1 nS, 2 nS], model.b: [1 pA]}}\n"
        ))
        .unwrap_err();
        assert!(e.message.contains("equal lengths"));
        let e = plan_with_cap(
            &parse(&format!("{BASE}grid: {{model.a: {{linspace: [0 nS, 1 nS, 1000]}}, model.b: {{linspace: [0 pA, 1 pA, 1000]}}}}\n")).unwrap(),
            100_000,
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("grid.model.a: 1000 x grid.model.b: 1000"),
            "{}",
            e.message
        );
    }

    #[test]
    fn errors_name_key_and_line() {
        let e =
            plan_text("name: t\nduration: 100 ms\ndt: 0.1 ms\nmodel:\n  type: adex\n  C: 0 pF\n")
                .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("model.C"));
        assert_eq!(e.location.map(|l| l.line), Some(6));
        let e = plan_text(&format!(
            "{BASE}input: {{type: step, amplitude: 5 pA, frequency: 5 Hz}}\n"
        ))
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("input.frequency"));
    }

    #[test]
    fn the_output_estimate_counts_rows_columns_and_nominal_spikes() {
        // 10 neurons, 3 recorded every 2nd of 1000 steps: 1500 rows.
        let p = plan_text(&format!(
            "{BASE}neurons: 10\ninput: [{{type: constant, amplitude: 500 pA}}, {{type: noise, mean: 0 pA, sigma: 10 pA*sqrt(ms)}}]\n\
             record: {{variables: [V, I, w], neurons: {{first: 3}}, every: 2}}\n"
        ))
        .unwrap();
        let e = p.output_estimate();
        assert_eq!(e.trace_rows, 1500);
        let per_row = TRACE_KEY_BYTES + TRACE_V_BYTES + TRACE_I_NOISE_BYTES + TRACE_W_BYTES;
        assert_eq!(e.trace_bytes, (1500.0 * per_row) as u64);
        // 10 neurons for 0.1 s at the nominal rate.
        assert_eq!(e.spikes, (10.0 * 0.1 * NOMINAL_RATE_HZ) as u64);
        // Without noise I compresses; a LIF's w is all nulls.
        let p = plan_text(
            "name: t\nduration: 100 ms\ndt: 0.1 ms\nmodel: {type: lif}\nrecord: {variables: [V, I, w]}\n",
        )
        .unwrap();
        let e = p.output_estimate();
        assert_eq!(e.trace_rows, 1000);
        assert_eq!(
            e.trace_bytes,
            (1000.0 * (TRACE_KEY_BYTES + TRACE_V_BYTES + TRACE_I_BYTES)) as u64
        );
    }

    #[test]
    fn huge_plans_estimate_without_overflow_and_get_a_verdict() {
        // 4·10^9 neurons x 2.5·10^5 steps: 10^15 neuron-steps, the cap.
        let p = plan_text(
            "name: t\nduration: 25 s\ndt: 0.1 ms\nneurons: 4000000000\nmodel: {type: lif}\n",
        )
        .unwrap();
        assert_eq!(p.neuron_steps(), 1_000_000_000_000_000);
        let e = p.output_estimate();
        assert_eq!(e.trace_rows, 0);
        assert!(e.bytes() > WARN_BYTES);
        assert_eq!(e.verdict(None), SizeVerdict::Large);
        assert_eq!(e.verdict(Some(1000)), SizeVerdict::TooLarge { free: 1000 });
        assert_eq!(
            OutputEstimate::default().verdict(Some(0)),
            SizeVerdict::Fine
        );
        let e = plan_text(
            "name: t\nduration: 25 s\ndt: 0.1 ms\nneurons: 4000000001\nmodel: {type: lif}\n",
        )
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("neurons"));
        assert!(e.message.contains("more than the cap"), "{}", e.message);
    }

    #[test]
    fn too_many_steps_and_too_large_counts_are_named() {
        let e =
            plan_text("name: t\nduration: 1e300 s\ndt: 0.1 ms\nmodel: {type: lif}\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("duration"));
        assert_eq!(e.location.map(|l| l.line), Some(2));
        assert!(e.message.contains("1e304 steps"), "{}", e.message);
        // The cap itself plans.
        let p =
            plan_text("name: t\nduration: 1000000 s\ndt: 0.1 ms\nmodel: {type: lif}\n").unwrap();
        assert_eq!(p.runs[0].steps, MAX_STEPS);
        let e = plan_text(&format!("{BASE}neurons: 99999999999999999999\n")).unwrap_err();
        assert!(e.message.contains("is too large"), "{}", e.message);
        let long = "n".repeat(MAX_NAME + 1);
        let e = plan_text(&BASE.replace("name: t", &format!("name: {long}"))).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("name"));
        assert!(e.message.contains("101 characters"), "{}", e.message);
        let e = plan_text(&format!("{BASE}replicates: 5000000000\n")).unwrap_err();
        assert!(
            e.message.contains("5e9 is too large for replicates"),
            "{}",
            e.message
        );
    }
}
