//! The plan: every run of an experiment resolved to engine units, validated against
//! the rules of DESIGN §3–5, keyed and seeded — all before any run starts. Variants
//! are a union of overrides of the base; each is repeated `replicates` times.

use super::raw::{
    ExperimentRaw, InitRaw, InitialRaw, InputRaw, ModelRaw, NeuronsRaw, Scalar, StimulusKind,
    StimulusRaw, VariantRaw, Q,
};
use super::spec::{InitValue, Initial, Method, Record, RunSpec};
use crate::error::{did_you_mean, InputError, Location};
use crate::model::{self, ModelKind, Params};
use crate::seed;
use crate::stimulus::{Input, Noise, Stimulus};
use crate::units::{self, Dim};
use serde_saphyr::Spanned;
use std::collections::HashMap;

/// Largest number of runs a plan may hold.
pub const DEFAULT_MAX_RUNS: u64 = 1_000_000;

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
}

impl Plan {
    /// Total neuron-steps of all runs.
    pub fn neuron_steps(&self) -> u64 {
        self.runs
            .iter()
            .map(|r| r.steps * u64::from(r.neurons))
            .sum()
    }
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
        Scalar::Number(x) if x.fract() == 0.0 && *x < f64::from(min) => {
            Err(fail(format!("{key} must be at least {min} (got {x})")))
        }
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

/// [`plan`] with an explicit cap on the number of runs.
pub fn plan_with_cap(raw: &ExperimentRaw, max_runs: u64) -> Result<Plan, InputError> {
    for (key, axis) in [("grid", &raw.grid), ("zip", &raw.zip)] {
        if let Some(a) = axis {
            return Err(
                InputError::new("grid expansion is not available in this version")
                    .key(key)
                    .at(loc(a))
                    .hint("list the runs under 'variants:' for now"),
            );
        }
    }
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
    let duration = quantity(&raw.duration, Dim::Time, "duration")?;
    let dt = quantity(&raw.dt, Dim::Time, "dt")?;
    positive(duration, "duration", loc(&raw.duration), "ms")?;
    positive(dt, "dt", loc(&raw.dt), "ms")?;
    let base_method = match &raw.method {
        Some(m) => Some((method(m, "method")?, "method", loc(m))),
        None => None,
    };
    let steps_f = (duration / dt).round();
    if (steps_f * dt - duration).abs() > 1e-9 * duration || steps_f < 1.0 {
        return Err(InputError::new(format!(
            "duration {duration} ms is not a whole number of steps of dt {dt} ms"
        ))
        .key("duration")
        .at(loc(&raw.duration))
        .hint("choose a duration that is a multiple of dt"));
    }
    let steps = steps_f as u64;
    let neurons = match &raw.neurons {
        Some(n) => count(n, "neurons", 1)?,
        None => 1,
    };
    let replicates = match &raw.replicates {
        Some(r) => count(r, "replicates", 1)?,
        None => 1,
    };
    let variant_count = raw.variants.as_ref().map_or(1, |v| v.value.len().max(1)) as u64;
    let total = variant_count * u64::from(replicates);
    if total > max_runs {
        return Err(InputError::new(format!(
            "the plan has {total} runs ({variant_count} variants x {replicates} replicates), more than the cap of {max_runs}"
        ))
        .key("replicates")
        .at(raw.replicates.as_ref().and_then(loc))
        .hint("reduce the number of variants or replicates"));
    }
    let window = resolve_window(raw, duration)?;
    let seed = raw.seed.as_ref().map_or(0, |s| s.value);

    let variants: &[Spanned<VariantRaw>] = raw.variants.as_ref().map_or(&[], |v| &v.value);
    if let Some(v) = raw.variants.as_ref().filter(|v| v.value.is_empty()) {
        return Err(InputError::new("variants is an empty list")
            .key("variants")
            .at(loc(v))
            .hint("list at least one variant, or remove the key for a single run"));
    }
    let mut resolved = Vec::new();
    let mut warnings: Vec<InputError> = Vec::new();
    for index in 0..variants.len().max(1) {
        let variant = variants.get(index);
        let prefix = variant.map_or(String::new(), |_| format!("variants[{index}]."));
        let over = variant.map(|v| &v.value);
        let (kind, params) = resolve_model(
            raw.model.as_ref(),
            over.and_then(|v| v.model.as_ref()),
            &prefix,
            variant.and_then(loc),
        )?;
        let method = match over.and_then(|v| v.method.as_ref()) {
            Some(m) => {
                let key = format!("{prefix}method");
                (method(m, &key)?, key, loc(m))
            }
            None => base_method
                .map(|(m, k, l)| (m, k.to_string(), l))
                .unwrap_or((Method::Rk4, "method".into(), None)),
        };
        if method.0 == Method::Exact && kind != ModelKind::Lif {
            return Err(InputError::new(format!(
                "method 'exact' integrates only the LIF model, not {kind}"
            ))
            .key(method.1)
            .at(method.2)
            .hint("use 'rk4' or 'euler' for eif and adex"));
        }
        check_dt(kind, &params, dt, &prefix, loc(&raw.dt), &mut warnings)?;
        let (input, input_path) = match over.and_then(|v| v.input.as_ref()) {
            Some(i) => (Some(i), format!("{prefix}input")),
            None => (raw.input.as_ref(), "input".to_string()),
        };
        let input = match input {
            Some(i) => resolve_input(&i.value, &input_path)?,
            None => Input::default(),
        };
        let initial = resolve_initial(
            raw.initial.as_ref(),
            over.and_then(|v| v.initial.as_ref()),
            &prefix,
            &params,
        )?;
        let label = match over.and_then(|v| v.label.as_ref()) {
            Some(l) => l.value.clone(),
            None if variant.is_some() => auto_label(kind, &input),
            None => name.clone(),
        };
        resolved.push((label, kind, params, method.0, input, initial, index));
    }
    let record = resolve_record(raw, neurons)?;

    let indexed_inputs = resolved.iter().any(|r| r.4.stimuli.len() > 1);
    let mut runs = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (label, kind, params, method, input, initial, index) in resolved {
        for replicate in 0..replicates {
            let mut spec = RunSpec {
                run_id: runs.len() as u32,
                label: label.clone(),
                key: String::new(),
                seed: 0,
                replicate,
                model: kind,
                params,
                method,
                duration,
                dt,
                steps,
                neurons,
                initial,
                input: input.clone(),
                record: record.clone(),
                window,
            };
            spec.key = seed::run_key(&spec.canonical(), replicate);
            spec.seed = seed::run_seed(seed, &spec.key);
            if let Some(other) = seen.insert(spec.key.clone(), index) {
                return Err(InputError::new(format!(
                    "variants[{other}] and variants[{index}] describe the same run"
                ))
                .key(format!("variants[{index}]"))
                .at(variants.get(index).and_then(loc))
                .hint("remove the duplicate, or use replicates for repeated draws"));
            }
            runs.push(spec);
        }
    }
    Ok(Plan {
        name,
        description: raw.description.clone(),
        seed,
        runs,
        indexed_inputs,
        warnings,
    })
}

fn positive(value: f64, key: &str, at: Option<Location>, unit: &str) -> Result<(), InputError> {
    if value > 0.0 {
        Ok(())
    } else {
        Err(
            InputError::new(format!("{key} must be positive (got {value} {unit})"))
                .key(key)
                .at(at)
                .hint(format!("give {key} a value above 0 {unit}")),
        )
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

/// Model of one variant: the base's keys overridden by the variant's. When a variant
/// changes the model type, base keys the new type does not have are dropped (the
/// base may describe another model); a key the variant itself sets must apply.
fn resolve_model(
    base: Option<&Spanned<ModelRaw>>,
    over: Option<&Spanned<ModelRaw>>,
    prefix: &str,
    variant_at: Option<Location>,
) -> Result<(ModelKind, Params), InputError> {
    let base_kind = match base.and_then(|m| m.value.kind.as_ref()) {
        Some(k) => Some(model_kind(k, "model.type")?),
        None => None,
    };
    let over_kind = match over.and_then(|m| m.value.kind.as_ref()) {
        Some(k) => Some(model_kind(k, &format!("{prefix}model.type"))?),
        None => None,
    };
    let kind = match over_kind.or(base_kind) {
        Some(k) => k,
        None => {
            let at = over.and_then(loc).or(base.and_then(loc)).or(variant_at);
            return Err(InputError::new("the model type is missing")
                .key(format!("{prefix}model.type"))
                .at(at)
                .hint("add 'type: lif', 'type: eif' or 'type: adex' under model:"));
        }
    };
    let type_changed = over_kind.is_some_and(|o| base_kind.is_some_and(|b| b != o));
    let (base, over) = (base.map(|m| &m.value), over.map(|m| &m.value));
    let mut entries: Vec<(&'static str, &Q, String)> = Vec::new();
    let over_entries = over.map(ModelRaw::entries).unwrap_or_default();
    for (key, q) in base.map(ModelRaw::entries).unwrap_or_default() {
        if over_entries.iter().any(|(k, _)| *k == key) {
            continue;
        }
        if type_changed && !model::accepts(kind, key) {
            continue;
        }
        entries.push((key, q, format!("model.{key}")));
    }
    for (key, q) in over_entries {
        entries.push((key, q, format!("{prefix}model.{key}")));
    }
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
                    )),
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
            None => (format!("{prefix}model.{}", v.key), None),
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
    dt: f64,
    prefix: &str,
    at: Option<Location>,
    warnings: &mut Vec<InputError>,
) -> Result<(), InputError> {
    let tau = p.shortest_time_constant(kind);
    if dt > tau / 5.0 {
        return Err(InputError::new(format!(
            "dt {dt} ms is larger than a fifth of the shortest time constant of {prefix}model ({tau:.4} ms)"
        ))
        .key("dt")
        .at(at)
        .hint(format!("use dt <= {:.4} ms (tau/20 or less for accuracy)", tau / 5.0)));
    }
    if dt > tau / 20.0 {
        let w = InputError::new(format!(
            "dt {dt} ms is larger than a twentieth of the shortest model time constant ({tau} ms); results will be coarse"
        ))
        .key("dt")
        .at(at)
        .hint(format!("dt <= {} ms gives accurate integration", tau / 20.0));
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
    base: Option<&InitialRaw>,
    over: Option<&InitialRaw>,
    prefix: &str,
    params: &Params,
) -> Result<Initial, InputError> {
    let pick = |get: fn(&InitialRaw) -> Option<&InitRaw>| -> Option<(&InitRaw, String)> {
        over.and_then(get)
            .map(|v| (v, prefix.to_string()))
            .or_else(|| base.and_then(get).map(|v| (v, String::new())))
    };
    let one = |value: Option<(&InitRaw, String)>, name: &str, dim: Dim, default: f64| {
        let Some((raw, pre)) = value else {
            return Ok(InitValue::Fixed(default));
        };
        let path = format!("{pre}initial.{name}");
        match raw {
            InitRaw::Fixed(q) => Ok(InitValue::Fixed(quantity(q, dim, &path)?)),
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
    };
    Ok(Initial {
        v: one(pick(|i| i.v.as_ref()), "V", Dim::Voltage, params.e_l)?,
        w: one(pick(|i| i.w.as_ref()), "w", Dim::Current, 0.0)?,
    })
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

    #[test]
    fn variants_override_the_base_and_keys_are_stable() {
        let text = format!("{BASE}input: {{type: constant, amplitude: 500 pA}}\nvariants:\n  - {{model: {{type: lif}}}}\n  - {{model: {{b: 0 pA}}}}\nreplicates: 2\n");
        let p = plan_text(&text).unwrap();
        assert_eq!(p.runs.len(), 4);
        assert_eq!(p.runs[0].model, ModelKind::Lif);
        assert_eq!(p.runs[2].params.b, 0.0);
        assert_ne!(p.runs[0].key, p.runs[1].key);
        // Adding a variant does not change the keys or seeds of existing runs.
        let more = text.replace("replicates: 2", "  - {model: {b: 10 pA}}\nreplicates: 2");
        let q = plan_text(&more).unwrap();
        assert_eq!(
            q.runs[..4]
                .iter()
                .map(|r| (&r.key, r.seed))
                .collect::<Vec<_>>(),
            p.runs.iter().map(|r| (&r.key, r.seed)).collect::<Vec<_>>()
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
}
