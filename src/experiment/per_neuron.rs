//! Per-neuron values: the `per_neuron:` section resolved for one run (which value each
//! path targets, its dimension, and its rule in engine units), the value neuron k of a
//! run takes under that rule, what the neuron then simulates with (`NeuronValues`: its
//! complete parameters, its input, its initial state), the runs-table columns that
//! describe the rules, and the plan-time check that every neuron's values pass the
//! rules a run-level value must pass.
//!
//! A neuron's value is a function of (run seed, path, neuron index) alone: drawn
//! values come from a ChaCha8 generator keyed by the run seed and the path and set to
//! the neuron's stream (`seed::per_neuron_stream`), so any block of neurons, packed or
//! not, gets the same values, and varying one more path leaves the others' draws alone.

use super::layers::{RunRaw, Set};
use super::raw::{DistFields, DistRaw, Scalar, Q};
use super::spec::{Column, InitValue, NeuronValues, RunSpec, Value};
use super::validate::check_dt;
use super::values::{loc, quantity};
use crate::error::{did_you_mean, InputError, Location};
use crate::model::{self, ModelKind, Params};
use crate::seed;
use crate::stimulus::{ExtraForm, ExtraValue, Field, Input, Stimulus, Values};
use crate::units::{self, Dim, UnitSet};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, StandardUniform};
use serde_saphyr::Spanned;
use std::sync::Arc;

/// Neurons checked at a time at plan time: bounds the memory of the check.
const CHECK_BLOCK: u32 = 4096;

/// The value a per-neuron rule sets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Target {
    /// A parameter of the run's model, by its key in the model's table.
    Model(&'static str),
    InitialV,
    InitialW,
    /// A quantity of the run's `stimulus`-th stimulus.
    Input {
        stimulus: usize,
        key: &'static str,
    },
}

/// How each neuron's value is chosen, in engine units.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Rule {
    /// Evenly spread over neurons 0..n-1 as numpy's (and so Brian2's) `linspace`:
    /// from + k·(to − from)/(n − 1), the last neuron exactly `to`.
    Linspace {
        from: f64,
        to: f64,
    },
    Normal {
        mean: f64,
        sd: f64,
    },
    /// Uniform on [low, high).
    Uniform {
        low: f64,
        high: f64,
    },
    /// exp(ln(median) + sigma·N(0, 1)); sigma is the SD of ln(x).
    LogNormal {
        median: f64,
        sigma: f64,
    },
    /// One value per neuron.
    List(Arc<[f64]>),
    /// Not chosen but following from the neuron's other values: a model default
    /// derived from varied parameters (V_peak from V_T), or the initial V at the
    /// model's resting potential. The text says how.
    Derived(&'static str),
}

impl Rule {
    fn random(&self) -> bool {
        matches!(
            self,
            Rule::Normal { .. } | Rule::Uniform { .. } | Rule::LogNormal { .. }
        )
    }

    /// Neuron k's value of n; `generator` is the (run, path)'s, for the random rules.
    fn value(&self, generator: Option<&ChaCha8Rng>, k: u32, n: u32) -> f64 {
        let rng = || {
            let mut g = generator.cloned().expect("random rules have a generator");
            g.set_stream(u64::from(k));
            g
        };
        match self {
            Rule::Linspace { from, to } => {
                if n > 1 && k == n - 1 {
                    *to
                } else if n > 1 {
                    f64::from(k) * ((to - from) / f64::from(n - 1)) + from
                } else {
                    *from
                }
            }
            Rule::Normal { mean, sd } => {
                let z: f64 = StandardNormal.sample(&mut rng());
                mean + sd * z
            }
            Rule::Uniform { low, high } => {
                let u: f64 = StandardUniform.sample(&mut rng());
                low + (high - low) * u
            }
            Rule::LogNormal { median, sigma } => {
                let z: f64 = StandardNormal.sample(&mut rng());
                (median.ln() + sigma * z).exp()
            }
            Rule::List(values) => values[k as usize],
            Rule::Derived(_) => f64::NAN,
        }
    }

    /// The rule with its quantities in the units of `set`: the runs table shows it
    /// in table units, the run key hashes it in engine units. Exact (every digit).
    fn describe(&self, dim: Dim, set: UnitSet) -> String {
        let q = |x: f64| format!("{} {}", units::number(set.value(dim, x)), set.unit(dim));
        match self {
            Rule::Linspace { from, to } => format!("linspace(from={}, to={})", q(*from), q(*to)),
            Rule::Normal { mean, sd } => format!("normal(mean={}, sd={})", q(*mean), q(*sd)),
            Rule::Uniform { low, high } => format!("uniform(low={}, high={})", q(*low), q(*high)),
            Rule::LogNormal { median, sigma } => format!(
                "lognormal(median={}, sigma={})",
                q(*median),
                units::number(*sigma)
            ),
            Rule::List(values) => {
                let v: Vec<String> = values.iter().map(|x| q(*x)).collect();
                format!("list({})", v.join(", "))
            }
            Rule::Derived(how) => format!("derived({how})"),
        }
    }
}

/// One value of a run that varies per neuron.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Varied {
    pub(crate) target: Target,
    /// The path in one spelling (`model.a`, `initial.V`, `input.amplitude`, or
    /// `input[k].amplitude` when the run sums several stimuli): it keys the draws.
    pub(crate) path: String,
    pub(crate) dim: Dim,
    pub(crate) rule: Rule,
}

impl Varied {
    fn derived(&self) -> bool {
        matches!(self.rule, Rule::Derived(_))
    }

    /// The name of its runs-table column with the unit of `set` (the numeric one; the
    /// rule's description is this name + `_per_neuron`) and, in table units, of its
    /// column in neurons.parquet.
    pub(crate) fn column(&self, indexed_inputs: bool, set: UnitSet) -> String {
        let unit = set.unit(self.dim);
        match self.target {
            Target::Model(key) => format!("model_{key}_{unit}"),
            Target::InitialV => format!("initial_V_{unit}"),
            Target::InitialW => format!("initial_w_{unit}"),
            Target::Input { stimulus, key } if indexed_inputs => {
                format!("input_{stimulus}_{key}_{unit}")
            }
            Target::Input { key, .. } => format!("input_{key}_{unit}"),
        }
    }
}

/// The suffix of the runs-table column that describes a per-neuron rule.
pub const RULE_SUFFIX: &str = "_per_neuron";

/// Mark the runs-table columns of the values that vary per neuron: the numeric
/// column is NaN (no single value) and a text column `<name>_per_neuron` describing
/// the rule follows it. An initial value given as a distribution (`_mean`, `_sd`)
/// becomes the one NaN column. Without `with_derived`, the values that merely follow
/// from others are left as they are: the run key is made that way, before the check
/// finds which defaults follow the varied values.
pub(super) fn mark_columns(
    spec: &RunSpec,
    cols: &mut Vec<Column>,
    indexed_inputs: bool,
    with_derived: bool,
    set: UnitSet,
) {
    for v in &spec.per_neuron.varied {
        if v.derived() && !with_derived {
            continue;
        }
        let name = v.column(indexed_inputs, set);
        let unit = set.unit(v.dim);
        let at = match v.target {
            Target::InitialV | Target::InitialW => {
                let stem = name.trim_end_matches(&format!("_{unit}"));
                let (mean, sd) = (format!("{stem}_mean_{unit}"), format!("{stem}_sd_{unit}"));
                let first = cols
                    .iter()
                    .position(|c| c.name == name || c.name == mean || c.name == sd);
                cols.retain(|c| c.name != mean && c.name != sd);
                match first {
                    Some(i) => {
                        if cols.get(i).is_none_or(|c| c.name != name) {
                            cols.insert(
                                i,
                                Column::new(name.clone(), Some(unit), Value::F64(f64::NAN)),
                            );
                        }
                        Some(i)
                    }
                    None => None,
                }
            }
            _ => cols.iter().position(|c| c.name == name),
        };
        let Some(i) = at else { continue };
        cols[i].value = Value::F64(f64::NAN);
        cols.insert(
            i + 1,
            Column::new(
                format!("{name}{RULE_SUFFIX}"),
                None,
                Value::Str(v.rule.describe(v.dim, set)),
            ),
        );
    }
}

/// The values of neurons `first..last` of a run: what each simulates with, and the
/// value of each varied path (`columns[i][j]`: path i, neuron first + j).
pub(crate) struct Block {
    pub(crate) values: Vec<NeuronValues>,
    pub(crate) columns: Vec<Vec<f64>>,
}

/// Compute a block; `with_input` builds each neuron's stimuli (the engine needs them,
/// the table and the check do not).
pub(crate) fn block(spec: &RunSpec, first: u32, last: u32, with_input: bool) -> Block {
    let pn = &spec.per_neuron;
    let count = last.saturating_sub(first) as usize;
    let mut columns: Vec<Vec<f64>> = pn
        .varied
        .iter()
        .map(|v| {
            if v.derived() {
                return Vec::with_capacity(count);
            }
            let generator = v
                .rule
                .random()
                .then(|| seed::per_neuron_generator(spec.seed, &v.path));
            (first..last)
                .map(|k| v.rule.value(generator.as_ref(), k, spec.neurons))
                .collect()
        })
        .collect();
    let kind = spec.model();
    let model_varies = pn
        .varied
        .iter()
        .any(|v| matches!(v.target, Target::Model(_)) && !v.derived());
    let input_varies = pn
        .varied
        .iter()
        .any(|v| matches!(v.target, Target::Input { .. }));
    // Every parameter keeps its value but the derived defaults the run did not give.
    let given: Vec<&str> = kind
        .params()
        .iter()
        .map(|p| p.name)
        .filter(|n| !pn.derive.contains(n))
        .collect();
    let mut values = Vec::with_capacity(count);
    for j in 0..count {
        let mut nv = NeuronValues::default();
        if model_varies {
            let mut p = spec.params;
            for (v, col) in pn.varied.iter().zip(&columns) {
                if let (Target::Model(key), false) = (v.target, v.derived()) {
                    p.set(key, col[j]);
                }
            }
            p.complete(&given);
            if pn.v_at_rest {
                nv.v = Some((kind.def().rest)(&p));
            }
            nv.params = Some(p);
        }
        for (v, col) in pn.varied.iter().zip(&columns) {
            match (v.target, v.derived()) {
                (Target::InitialV, false) => nv.v = Some(col[j]),
                (Target::InitialW, false) => nv.w = Some(col[j]),
                _ => {}
            }
        }
        if with_input && input_varies {
            nv.input = Some(neuron_input(spec, &columns, j));
        }
        for (i, v) in pn.varied.iter().enumerate() {
            if v.derived() {
                let x = match v.target {
                    Target::Model(key) => nv.params.unwrap_or(spec.params).value(key),
                    Target::InitialV => nv.v.unwrap_or(f64::NAN),
                    _ => f64::NAN,
                };
                columns[i].push(x);
            }
        }
        values.push(nv);
    }
    Block { values, columns }
}

/// Neuron j's changes to stimulus `k` of the run: (key, value) per varied key.
fn changes<'a>(
    spec: &'a RunSpec,
    columns: &'a [Vec<f64>],
    k: usize,
    j: usize,
) -> impl Iterator<Item = (&'static str, f64)> + 'a {
    spec.per_neuron
        .varied
        .iter()
        .zip(columns)
        .filter_map(move |(v, col)| match v.target {
            Target::Input { stimulus, key } if stimulus == k => Some((key, col[j])),
            _ => None,
        })
}

/// A stimulus's values with some keys changed, in the order `resolve` writes them
/// (each key of the kind, then its extras), so that unchanged values compare equal.
fn stimulus_values(s: &Stimulus, changed: &[(&str, f64)]) -> Values {
    let (def, old) = (s.def(), s.values());
    let mut v = Values::default();
    for key in def.keys {
        let x = changed
            .iter()
            .find(|(k, _)| *k == key.name)
            .map(|(_, x)| *x)
            .or(old.opt(key.name));
        v.push(key.name, x);
    }
    for extra in def.extras {
        match extra.form {
            ExtraForm::Count { .. } => {
                if let Some(c) = old.count(extra.name) {
                    v.push_extra(extra.name, ExtraValue::Count(c));
                }
            }
            ExtraForm::Flag => v.push_extra(extra.name, ExtraValue::Flag(old.flag(extra.name))),
        }
    }
    v
}

/// Neuron j's whole input.
fn neuron_input(spec: &RunSpec, columns: &[Vec<f64>], j: usize) -> Input {
    let mut input = spec.input.clone();
    for (k, s) in input.stimuli.iter_mut().enumerate() {
        let changed: Vec<(&str, f64)> = changes(spec, columns, k, j).collect();
        if !changed.is_empty() {
            *s = Stimulus::new(s.def(), stimulus_values(s, &changed));
        }
    }
    input
}

/// What a run's `per_neuron` entries are resolved against: its model and input.
pub(super) struct Context<'a> {
    pub(super) kind: ModelKind,
    /// The layer that chose the model type: entries of earlier layers naming a key
    /// the model lacks are dropped, as model keys are.
    pub(super) model_layer: u8,
    /// The model parameters the experiment gave (the rest are defaults).
    pub(super) given: &'a [&'static str],
    pub(super) input: &'a Input,
    /// The layer that set the input, if any.
    pub(super) input_layer: Option<u8>,
    pub(super) neurons: u32,
}

/// The run-level paths that cannot vary per neuron.
const RUN_LEVEL: &[&str] = &[
    "duration",
    "dt",
    "neurons",
    "method",
    "crossings",
    "model.type",
];

/// Every path that may vary per neuron, for did-you-mean hints.
fn known_paths() -> Vec<String> {
    let mut out = vec!["initial.V".to_string(), "initial.w".to_string()];
    out.extend(
        model::all_keys()
            .iter()
            .filter(|k| !matches!(**k, "tau_m" | "R"))
            .map(|k| format!("model.{k}")),
    );
    out.extend(
        crate::stimulus::quantity_keys()
            .into_iter()
            .map(|k| format!("input.{k}")),
    );
    out
}

/// `input.<key>` or `input[k].<key>`: (k, key); None for any other spelling.
fn input_path(p: &str) -> Option<(Option<usize>, &str)> {
    if let Some(key) = p.strip_prefix("input.") {
        // input.0.amplitude is no spelling of a key; it is refused with a hint.
        return (!key.contains('.')).then_some((None, key));
    }
    let (i, key) = p.strip_prefix("input[")?.split_once("].")?;
    Some((Some(i.parse().ok()?), key))
}

/// A path in the spelling grid conflicts are compared in: `input.<key>` is
/// `input[0].<key>`.
pub(super) fn comparable(path: &str) -> String {
    match input_path(path) {
        Some((k, key)) => format!("input[{}].{key}", k.unwrap_or(0)),
        None => path.to_string(),
    }
}

/// The run's per-neuron values, resolved and checked on their own (each neuron's
/// values are checked by [`check`] once the run has its seed).
pub(super) fn resolve(r: &RunRaw, cx: &Context) -> Result<super::spec::PerNeuron, InputError> {
    let mut varied: Vec<(Varied, u8, String)> = Vec::new();
    for (written, set) in &r.per_neuron {
        let key = set.path.clone();
        let at = loc(&set.value);
        let Some((target, dim, path)) = target(written, set, cx)? else {
            continue;
        };
        let rule = rule(&set.value.value.0, dim, &key, at, cx.neurons)?;
        if let Some(i) = varied.iter().position(|(v, _, _)| v.path == path) {
            let (_, layer, first) = &varied[i];
            if *layer >= set.layer {
                return Err(InputError::new(format!(
                    "{path} varies per neuron twice here (also as {first})"
                ))
                .key(key)
                .at(at)
                .hint("keep one of the two entries"));
            }
            varied.remove(i);
        }
        varied.push((
            Varied {
                target,
                path,
                dim,
                rule,
            },
            set.layer,
            key,
        ));
    }
    let varied: Vec<Varied> = varied.into_iter().map(|(v, _, _)| v).collect();
    let model_varies = varied.iter().any(|v| matches!(v.target, Target::Model(_)));
    let mut pn = super::spec::PerNeuron {
        varied,
        ..Default::default()
    };
    if model_varies {
        pn.derive = cx
            .kind
            .params()
            .iter()
            .filter(|p| matches!(p.default, model::Default::Derived { .. }))
            .map(|p| p.name)
            .filter(|n| !cx.given.contains(n))
            .filter(|n| !pn.varied.iter().any(|v| v.target == Target::Model(n)))
            .collect();
        pn.v_at_rest =
            r.initial_v.is_none() && !pn.varied.iter().any(|v| v.target == Target::InitialV);
    }
    Ok(pn)
}

/// What a written path sets: its target, dimension and one spelling; None when the
/// entry is dropped (a key of another model set before the model type was chosen, or
/// `initial.w` of a model without w, which is ignored as a run-level one is).
fn target(
    written: &str,
    set: &Set<Spanned<DistRaw>>,
    cx: &Context,
) -> Result<Option<(Target, Dim, String)>, InputError> {
    let key = set.path.as_str();
    let at = loc(&set.value);
    let err = |message: String, hint: String| {
        Err(InputError::new(message)
            .key(key.to_string())
            .at(at)
            .hint(hint))
    };
    match written {
        "initial.V" => return Ok(Some((Target::InitialV, Dim::Voltage, written.into()))),
        "initial.w" if !cx.kind.has_w() => return Ok(None),
        "initial.w" => return Ok(Some((Target::InitialW, Dim::Current, written.into()))),
        p if RUN_LEVEL.contains(&p) => {
            return err(
                format!("'{p}' is one value for the whole run; it cannot vary per neuron"),
                format!("sweep it with a grid axis: grid: {{{p}: [...]}}"),
            )
        }
        _ => {}
    }
    if let Some(k) = written.strip_prefix("model.") {
        if k == "tau_m" || k == "R" {
            return err(
                format!("'{k}' is another way to write C and g_L; vary those per neuron"),
                "tau_m = C/g_L and R = 1/g_L: give model.C (or model.g_L) a per-neuron rule".into(),
            );
        }
        if let Some(k) = model::all_keys().iter().find(|m| **m == k) {
            if !cx.kind.accepts(k) {
                if set.layer < cx.model_layer {
                    return Ok(None);
                }
                let takes: Vec<&str> = cx.kind.params().iter().map(|p| p.name).collect();
                return err(
                    format!("'{k}' is not a parameter of the {} model", cx.kind),
                    format!("{} takes: {}", cx.kind, takes.join(", ")),
                );
            }
            let dim = cx
                .kind
                .params()
                .iter()
                .find(|p| p.name == *k)
                .map_or(Dim::Voltage, |p| p.dim);
            return Ok(Some((Target::Model(k), dim, written.into())));
        }
    } else if let Some((index, k)) = input_path(written) {
        return input_target(written, index, k, set, cx);
    }
    let known = known_paths();
    let candidates: Vec<&str> = known.iter().map(String::as_str).collect();
    // input.0.amplitude: the grid's spelling is input[0].amplitude.
    let mut parts = written.splitn(3, '.');
    let indexed = match (parts.next(), parts.next(), parts.next()) {
        (Some("input"), Some(i), Some(k)) if i.parse::<usize>().is_ok() => {
            Some(format!("input[{i}].{k}"))
        }
        _ => None,
    };
    let near = indexed.or_else(|| did_you_mean(written, &candidates).map(str::to_string));
    err(
        format!("'{written}' is not a value that can vary per neuron"),
        match near {
            Some(m) => format!("did you mean '{m}'?"),
            None => "per-neuron paths: model.<parameter>, input.<key> or input[k].<key>, initial.V, initial.w".into(),
        },
    )
}

fn input_target(
    written: &str,
    index: Option<usize>,
    k: &str,
    set: &Set<Spanned<DistRaw>>,
    cx: &Context,
) -> Result<Option<(Target, Dim, String)>, InputError> {
    let key = set.path.as_str();
    let at = loc(&set.value);
    let err = |message: String, hint: &str| {
        Err(InputError::new(message)
            .key(key.to_string())
            .at(at)
            .hint(hint.to_string()))
    };
    let count = cx.input.stimuli.len();
    if count == 0 {
        return err(
            format!("{written} varies per neuron, but the run has no input"),
            "add 'input:' to the experiment or the variant",
        );
    }
    let stimulus = match index {
        Some(i) if i < count => i,
        None if count == 1 => 0,
        _ => {
            return err(
                format!(
                    "the run's input has {count} stimuli; name one as input[0] to input[{}]",
                    count - 1
                ),
                "with several stimuli, write e.g. input[0].amplitude",
            )
        }
    };
    let s = &cx.input.stimuli[stimulus];
    let def = s.def();
    if k == "type" || crate::stimulus::find_extra(k).is_some() {
        return err(
            format!("'{k}' is not a quantity: only quantities can vary per neuron"),
            "vary it across runs with a grid axis or variants instead",
        );
    }
    let Some(name) = def.keys.iter().map(|x| x.name).find(|n| *n == k) else {
        if set.layer < cx.input_layer.unwrap_or(0) && crate::stimulus::quantity_keys().contains(&k)
        {
            return Ok(None);
        }
        let takes: Vec<&str> = def.keys.iter().map(|x| x.name).collect();
        let e = InputError::new(format!("'{k}' does not apply to a {} stimulus", def.name))
            .key(key.to_string())
            .at(at);
        let names: Vec<&str> = takes.clone();
        return Err(match did_you_mean(k, &names) {
            Some(m) if m != k => e.hint(format!("did you mean '{m}'?")),
            _ => e.hint(format!("{} takes: {}", def.name, takes.join(", "))),
        });
    };
    if s.noise().is_some_and(|n| n.shared) {
        return err(
            format!(
                "'{name}' belongs to a shared noise stimulus: shared noise is one process for the whole population, so its keys cannot vary per neuron"
            ),
            "drop 'shared: true' to give each neuron its own noise, or vary the key across runs",
        );
    }
    let Some(dim) = s.fields().iter().find_map(|(f, field)| match field {
        Field::Quantity(dim, _) if *f == name => Some(*dim),
        _ => None,
    }) else {
        return err(
            format!(
                "the {} stimulus has no '{name}' here, so it cannot vary per neuron",
                def.name
            ),
            "give the key a run-level value under input: first (it changes what the stimulus is)",
        );
    };
    let path = if count > 1 {
        format!("input[{stimulus}].{name}")
    } else {
        format!("input.{name}")
    };
    Ok(Some((
        Target::Input {
            stimulus,
            key: name,
        },
        dim,
        path,
    )))
}

/// A plain number (lognormal's sigma).
fn plain_number(q: &Q, key: &str) -> Result<f64, InputError> {
    let x = match &q.value {
        Scalar::Number(x) => Some(*x),
        Scalar::Text(t) => t.trim().parse::<f64>().ok(),
    };
    x.filter(|x| x.is_finite()).ok_or_else(|| {
        InputError::new(format!(
            "'{}' is not a plain number: sigma is the SD of ln(x), without a unit",
            q.value
        ))
        .key(key.to_string())
        .at(loc(q))
        .hint("e.g. sigma: 0.1 for a spread of about 10 % around the median")
    })
}

/// A rule as written, read in the path's dimension and checked on its own.
fn rule(
    d: &DistFields,
    dim: Dim,
    key: &str,
    at: Option<Location>,
    neurons: u32,
) -> Result<Rule, InputError> {
    let forms = [
        d.linspace.is_some(),
        d.normal.is_some(),
        d.uniform.is_some(),
        d.lognormal.is_some(),
        d.list.is_some(),
    ];
    if forms.iter().filter(|f| **f).count() != 1 {
        return Err(InputError::new(
            "give exactly one of linspace, normal, uniform, lognormal or list",
        )
        .key(key.to_string())
        .at(at)
        .hint("e.g. {normal: {mean: 4 nS, sd: 1 nS}} or {linspace: [500 pA, 1 nA]}"));
    }
    let q = |v: &Q, sub: &str| quantity(v, dim, &format!("{key}.{sub}"));
    let bad = |sub: &str, v: &Q, message: String, hint: &str| {
        InputError::new(message)
            .key(format!("{key}.{sub}"))
            .at(loc(v).or(at))
            .hint(hint.to_string())
    };
    let unit = dim.unit();
    if let Some((a, b)) = &d.linspace {
        return Ok(Rule::Linspace {
            from: q(a, "linspace[0]")?,
            to: q(b, "linspace[1]")?,
        });
    }
    if let Some(n) = &d.normal {
        let (mean, sd) = (q(&n.mean, "normal.mean")?, q(&n.sd, "normal.sd")?);
        if sd < 0.0 {
            return Err(bad(
                "normal.sd",
                &n.sd,
                format!(
                    "the SD must not be negative (got {} {unit})",
                    units::number(sd)
                ),
                "write normal: {mean: .., sd: ..} with sd >= 0",
            ));
        }
        return Ok(Rule::Normal { mean, sd });
    }
    if let Some((a, b)) = &d.uniform {
        let (low, high) = (q(a, "uniform[0]")?, q(b, "uniform[1]")?);
        if high < low {
            return Err(bad(
                "uniform[1]",
                b,
                format!(
                    "the upper bound {} {unit} is below the lower bound {} {unit}",
                    units::number(high),
                    units::number(low)
                ),
                "write uniform: [low, high] with low <= high",
            ));
        }
        return Ok(Rule::Uniform { low, high });
    }
    if let Some(l) = &d.lognormal {
        let median = q(&l.median, "lognormal.median")?;
        let sigma = plain_number(&l.sigma, &format!("{key}.lognormal.sigma"))?;
        if median <= 0.0 {
            return Err(bad(
                "lognormal.median",
                &l.median,
                format!(
                    "a lognormal's median must be positive (got {} {unit})",
                    units::number(median)
                ),
                "a lognormal gives positive values only; use normal for a quantity that may be negative (a voltage)",
            ));
        }
        if sigma < 0.0 {
            return Err(bad(
                "lognormal.sigma",
                &l.sigma,
                format!("sigma must not be negative (got {})", units::number(sigma)),
                "sigma is the SD of ln(x): 0.1 spreads values about 10 % around the median",
            ));
        }
        return Ok(Rule::LogNormal { median, sigma });
    }
    let list = d.list.as_deref().unwrap_or(&[]);
    if list.len() as u64 != u64::from(neurons) {
        return Err(InputError::new(format!(
            "the list has {} values for {neurons} neurons; it needs one value per neuron",
            list.len()
        ))
        .key(format!("{key}.list"))
        .at(at)
        .hint("give exactly `neurons` values, or use linspace, normal, uniform or lognormal"));
    }
    let values = list
        .iter()
        .enumerate()
        .map(|(i, v)| q(v, &format!("list[{i}]")))
        .collect::<Result<Vec<f64>, _>>()?;
    Ok(Rule::List(values.into()))
}

/// Check every neuron of a run (after its seed is set) as a run-level value is
/// checked: finite, the model's rules and relations, the stimulus's rules, dt against
/// the neuron's time constants. Then record the defaults that follow the varied
/// values (they get their own columns). The error names the run, the neuron, the key
/// and the values.
pub(super) fn check(
    spec: &mut RunSpec,
    r: &RunRaw,
    warnings: &mut Vec<InputError>,
) -> Result<(), InputError> {
    if !spec.varies_per_neuron() {
        return Ok(());
    }
    let kind = spec.model();
    let rest = |p: &Params| (kind.def().rest)(p);
    let run_v = match spec.initial.v {
        InitValue::Fixed(v) => v,
        InitValue::Normal { mean, .. } => mean,
    };
    let mut derive_differs = vec![false; spec.per_neuron.derive.len()];
    let mut rest_differs = false;
    let mut shortest: Option<(f64, u32, Params)> = None;
    let mut first = 0;
    while first < spec.neurons {
        let last = first.saturating_add(CHECK_BLOCK).min(spec.neurons);
        let b = block(spec, first, last, false);
        for (j, nv) in b.values.iter().enumerate() {
            let k = first + j as u32;
            let fail = |blame: usize, message: String| {
                neuron_error(spec, r, &b.columns, j, k, blame, message)
            };
            for (i, v) in spec.per_neuron.varied.iter().enumerate() {
                let x = b.columns[i][j];
                if !x.is_finite() {
                    return Err(fail(i, format!("{} is {x}, not a finite number", v.path)));
                }
            }
            if let Some(p) = &nv.params {
                if let Err(violation) = model::validate(p) {
                    let blame = blame_model(spec, violation.key);
                    return Err(fail(blame, violation.message));
                }
                let tau = (kind.def().shortest_time_constant)(p);
                if shortest.as_ref().is_none_or(|(t, _, _)| tau < *t) {
                    shortest = Some((tau, k, *p));
                }
                for (d, name) in spec.per_neuron.derive.iter().enumerate() {
                    derive_differs[d] |= p.value(name) != spec.params.value(name);
                }
                rest_differs |= spec.per_neuron.v_at_rest && rest(p) != run_v;
            }
            for (s_index, s) in spec.input.stimuli.iter().enumerate() {
                let changed: Vec<(&str, f64)> = changes(spec, &b.columns, s_index, j).collect();
                if changed.is_empty() {
                    continue;
                }
                if let Err(inv) = (s.def().validate)(&stimulus_values(s, &changed)) {
                    let blame = spec
                        .per_neuron
                        .varied
                        .iter()
                        .position(|v| v.target == Target::Input { stimulus: s_index, key: inv.key })
                        .or_else(|| {
                            spec.per_neuron.varied.iter().position(|v| {
                                matches!(v.target, Target::Input { stimulus, .. } if stimulus == s_index)
                            })
                        })
                        .unwrap_or(0);
                    return Err(fail(blame, inv.message));
                }
            }
        }
        first = last;
    }
    if let Some((_, k, p)) = shortest {
        let scope = r
            .model_type
            .as_ref()
            .and_then(|t| t.path.strip_suffix(".type"))
            .unwrap_or("model");
        let mut w = Vec::new();
        check_dt(
            kind,
            &p,
            (spec.dt, &r.dt.path),
            scope,
            loc(&r.dt.value),
            &mut w,
        )
        .map_err(|e| {
            let mut n = InputError::new(format!(
                "{} for neuron {k} of run '{}' (replicate {}), which has {}",
                e.message,
                spec.label,
                spec.replicate,
                neuron_text(spec, &p)
            ))
            .at(e.location);
            n.key = e.key;
            n.hints = e.hints;
            n.hint("or narrow the per-neuron distribution of the time constants")
        })?;
        for w in w {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
    }
    // The defaults that follow the varied values, for the tables.
    let kind_params = kind.params();
    for (d, name) in spec.per_neuron.derive.clone().into_iter().enumerate() {
        if !derive_differs[d] {
            continue;
        }
        let info = kind_params.iter().find(|p| p.name == name);
        if let Some(info) = info {
            let how = match info.default {
                model::Default::Derived { text, .. } => text,
                model::Default::Value(_) => "default",
            };
            spec.per_neuron.varied.push(Varied {
                target: Target::Model(info.name),
                path: format!("model.{}", info.name),
                dim: info.dim,
                rule: Rule::Derived(how),
            });
        }
    }
    if rest_differs {
        spec.per_neuron.varied.push(Varied {
            target: Target::InitialV,
            path: "initial.V".into(),
            dim: Dim::Voltage,
            rule: Rule::Derived("rest"),
        });
    }
    Ok(())
}

/// The varied entry to blame for a broken model rule: the key's own, else the first
/// varied model parameter (the rule relates it to another).
fn blame_model(spec: &RunSpec, key: &str) -> usize {
    let varied = &spec.per_neuron.varied;
    varied
        .iter()
        .position(|v| v.target == Target::Model(model_key(key)))
        .or_else(|| {
            varied
                .iter()
                .position(|v| matches!(v.target, Target::Model(_)))
        })
        .unwrap_or(0)
}

fn model_key(key: &str) -> &'static str {
    model::all_keys()
        .iter()
        .find(|k| **k == key)
        .copied()
        .unwrap_or("")
}

/// "model.a = 5.1 nS, input.amplitude = 300 pA": neuron k's varied values.
fn values_text(spec: &RunSpec, columns: &[Vec<f64>], j: usize) -> String {
    let parts: Vec<String> = spec
        .per_neuron
        .varied
        .iter()
        .zip(columns)
        .filter(|(v, _)| !v.derived())
        .take(4)
        .map(|(v, col)| format!("{} = {} {}", v.path, units::number(col[j]), v.dim.unit()))
        .collect();
    parts.join(", ")
}

/// Neuron k's varied model values, from its parameters.
fn neuron_text(spec: &RunSpec, p: &Params) -> String {
    let parts: Vec<String> = spec
        .per_neuron
        .varied
        .iter()
        .filter_map(|v| match v.target {
            Target::Model(key) if !v.derived() => Some(format!(
                "{} = {} {}",
                v.path,
                units::number(p.value(key)),
                v.dim.unit()
            )),
            _ => None,
        })
        .take(4)
        .collect();
    parts.join(", ")
}

fn neuron_error(
    spec: &RunSpec,
    r: &RunRaw,
    columns: &[Vec<f64>],
    j: usize,
    k: u32,
    blame: usize,
    message: String,
) -> InputError {
    let v = &spec.per_neuron.varied[blame];
    // The entry as written: its key and line.
    let entry = r
        .per_neuron
        .iter()
        .find(|(w, _)| comparable(w) == comparable(&v.path))
        .or_else(|| {
            // A single stimulus may be written input[0].key or input.key.
            r.per_neuron.iter().find(|(w, _)| {
                matches!(v.target, Target::Input { key, .. } if input_path(w).is_some_and(|(_, k)| k == key))
            })
        });
    let (key, at) = match entry {
        Some((_, set)) => (set.path.clone(), loc(&set.value)),
        None => (format!("per_neuron.{}", v.path), None),
    };
    InputError::new(format!(
        "neuron {k} of run '{}' (replicate {}) gets {}: {message}",
        spec.label,
        spec.replicate,
        values_text(spec, columns, j)
    ))
    .key(key)
    .at(at)
    .hint("every neuron's value must pass the rules a run-level value does: narrow the distribution (a smaller sd, a narrower range; lognormal keeps a quantity positive)")
}

#[cfg(test)]
mod tests;
