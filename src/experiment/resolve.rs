//! Run resolution: one run's layered raw settings turned into a validated RunSpec in
//! engine units — model through the model registry, input through the stimulus
//! registry, initial state, recording, analysis window and check tolerances.

use super::layers::*;
use super::plan::{MAX_NEURON_STEPS, MAX_STEPS};
use super::raw::{ExperimentRaw, ExtraRaw, InitRaw, InputRaw, NeuronsRaw, StimulusRaw, Q};
use super::spec::{Crossings, InitValue, Initial, Method, Precision, Record, RunSpec};
use super::tolerances::Tolerances;
use super::validate::*;
use super::values::*;
use crate::error::{did_you_mean, InputError, Location};
use crate::model::{self, ModelKind, Params};
use crate::stimulus::{ExtraForm, ExtraValue, Input, Need, Stimulus, StimulusDef, Values, STIMULI};
use crate::units::{self, Dim};

/// Resolve one run's layered settings to a RunSpec (key, seed, id and label unset).
pub(super) fn resolve_run(
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
    let (kind, params, given) = resolve_model(r)?;
    let method = match &r.method {
        Some(m) => (method(&m.value, &m.path)?, m.path.clone(), loc(&m.value)),
        None => (Method::Rk4, "method".into(), None),
    };
    if method.0 == Method::Exact && !kind.def().closed_form {
        let (exact, not): (Vec<ModelKind>, Vec<ModelKind>) =
            ModelKind::ALL.iter().partition(|k| k.def().closed_form);
        let names = |ks: &[ModelKind], upper: bool| {
            let v: Vec<String> = ks
                .iter()
                .map(|k| match upper {
                    true => k.name().to_uppercase(),
                    false => k.name().to_string(),
                })
                .collect();
            v.join(", ")
        };
        return Err(InputError::new(format!(
            "method 'exact' integrates only the {} model, not {kind}",
            names(&exact, true)
        ))
        .key(method.1)
        .at(method.2)
        .hint(format!("use 'rk4' or 'euler' for {}", names(&not, false))));
    }
    let crossings = match &r.crossings {
        Some(c) => crossings(&c.value, &c.path)?,
        None => Crossings::default(),
    };
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
    let per_neuron = super::per_neuron::resolve(
        r,
        &super::per_neuron::Context {
            kind,
            model_layer: r.model_type.as_ref().map_or(0, |t| t.layer),
            given: &given,
            input: &input,
            input_layer: r.input.as_ref().map(|i| i.layer),
            neurons,
        },
    )?;
    let initial = Initial {
        v: resolve_initial(
            r.initial_v.as_ref(),
            Dim::Voltage,
            (kind.def().rest)(&params),
        )?,
        w: resolve_initial(r.initial_w.as_ref(), Dim::Current, 0.0)?,
    };
    Ok(RunSpec {
        run_id: 0,
        label: String::new(),
        key: String::new(),
        seed: 0,
        replicate: 0,
        params,
        method: method.0,
        crossings,
        duration,
        dt,
        steps: steps_f as u64,
        neurons,
        initial,
        input,
        record: resolve_record(raw, neurons)?,
        window: resolve_window(raw, duration)?,
        per_neuron,
    })
}

pub(super) fn auto_label(kind: ModelKind, input: &Input) -> String {
    let stims: Vec<&str> = input.stimuli.iter().map(Stimulus::name).collect();
    if stims.is_empty() {
        kind.name().to_string()
    } else {
        format!("{}-{}", kind.name(), stims.join("+"))
    }
}

/// The run's model: keys set before the layer that chose the model type and not
/// applying to it are dropped (the base may describe another model); a key set by
/// that layer or a later one must apply. Also returns the keys that were given
/// (the rest are defaults).
pub(super) fn resolve_model(
    r: &RunRaw,
) -> Result<(ModelKind, Params, Vec<&'static str>), InputError> {
    let Some(t) = &r.model_type else {
        return Err(InputError::new("the model type is missing")
            .key("model.type")
            .at(r.model.first().and_then(|(_, s)| loc(&s.value)))
            .hint(format!(
                "add one of {} under model:",
                ModelKind::ALL
                    .iter()
                    .map(|k| format!("'type: {}'", k.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
    };
    let kind = model_kind(&t.value, &t.path)?;
    let entries: Vec<(&'static str, &Q, String)> = r
        .model
        .iter()
        .filter(|(key, s)| s.layer >= t.layer || kind.accepts(key))
        .map(|(key, s)| (*key, &s.value, s.path.clone()))
        .collect();
    let mut params = Params::defaults(kind);
    let mut given: Vec<&'static str> = Vec::new();
    let find = |key: &str| entries.iter().find(|(k, _, _)| *k == key);
    for (key, q, path) in &entries {
        if !kind.accepts(key) {
            let takes: Vec<&str> = kind.params().iter().map(|p| p.name).collect();
            let alternative = if kind.def().membrane_alternative {
                ", or tau_m and R"
            } else {
                ""
            };
            return Err(
                InputError::new(format!("'{key}' is not a parameter of the {kind} model"))
                    .key(path.clone())
                    .at(loc(q))
                    .hint(format!("{kind} takes: {}{alternative}", takes.join(", ")))
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
        given.push(*key);
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
            params.set("g_L", 1.0 / r);
            params.set("C", tau / r);
            given.extend(["C", "g_L"]);
        }
        (Some((_, q, p)), None) | (None, Some((_, q, p))) => {
            return Err(InputError::new("tau_m and R go together")
                .key(p.clone())
                .at(loc(q))
                .hint("give both tau_m and R (tau_m = C/g_L, R = 1/g_L), or C and g_L"));
        }
    }
    params.complete(&given);
    model::validate(&params).map_err(|v| {
        let (path, at) = match find(v.key) {
            Some((_, q, p)) => (p.clone(), loc(q)),
            None => (format!("model.{}", v.key), None),
        };
        InputError::new(v.message)
            .key(path)
            .at(at)
            .hint("see `neurodyn models` for every parameter, its unit and its rule")
    })?;
    Ok((kind, params, given))
}

pub(super) fn resolve_input(raw: &InputRaw, path: &str) -> Result<Input, InputError> {
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

pub(super) fn resolve_stimulus(s: &StimulusRaw, path: &str) -> Result<Stimulus, InputError> {
    let options: Vec<(&str, &'static StimulusDef)> = STIMULI.iter().map(|d| (d.name, *d)).collect();
    let def = choose(&s.kind, &format!("{path}.type"), &options)?;
    let names: Vec<&str> = def.keys.iter().map(|k| k.name).collect();
    let extra_names: Vec<&str> = def.extras.iter().map(|e| e.name).collect();
    let not_here = |key: &str, at: Option<Location>| {
        let mut all = names.clone();
        all.extend(&extra_names);
        let e = InputError::new(format!("'{key}' does not apply to a {} stimulus", def.name))
            .key(format!("{path}.{key}"))
            .at(at);
        match did_you_mean(key, &all) {
            Some(m) if m != key => e.hint(format!("did you mean '{m}'?")),
            _ => e.hint(format!("{} takes: {}", def.name, all.join(", "))),
        }
    };
    for (key, q) in s.entries() {
        if !names.contains(&key) {
            return Err(not_here(key, loc(q)));
        }
    }
    let extra_loc = |e: &ExtraRaw| match e {
        ExtraRaw::Count(c) => loc(c),
        ExtraRaw::Flag(f) => loc(f),
    };
    for (key, e) in s.extras() {
        if !extra_names.contains(key) {
            return Err(not_here(key, extra_loc(e)));
        }
    }
    let written = |k: &str| s.get(k).is_some();
    let mut values = Values::default();
    for key in def.keys {
        let (name, dim) = (key.name, key.dim_given(written));
        let kp = format!("{path}.{name}");
        let v = match (s.get(name), key.need) {
            (Some(q), _) => Some(quantity(q, dim, &kp)?),
            (None, Need::Default(d)) => Some(d),
            (None, Need::Optional) => None,
            (None, Need::Required) => {
                return Err(
                    InputError::new(format!("a {} stimulus needs '{name}'", def.name))
                        .key(kp)
                        .at(loc(&s.kind))
                        .hint(format!("add '{name}:' with {}", dim.describe())),
                )
            }
        };
        values.push(name, v);
    }
    (def.validate)(&values).map_err(|v| {
        let e = InputError::new(v.message)
            .key(format!("{path}.{}", v.key))
            .at(s.get(v.key).and_then(loc).or(loc(&s.kind)))
            .hint(format!(
                "a {} stimulus takes {}",
                def.name,
                names.join(", ")
            ));
        match v.hint {
            Some(h) => e.hint(h),
            None => e,
        }
    })?;
    // Read after the rules between keys, so that those are reported first.
    for extra in def.extras {
        let written = s.extras().iter().find(|(k, _)| *k == extra.name);
        let value = match (extra.form, written.map(|(_, e)| e)) {
            (ExtraForm::Count { min }, Some(ExtraRaw::Count(c))) => {
                ExtraValue::Count(count(c, &format!("{path}.{}", extra.name), min)?)
            }
            (ExtraForm::Flag, Some(ExtraRaw::Flag(f))) => ExtraValue::Flag(f.value),
            (ExtraForm::Flag, None) => ExtraValue::Flag(false),
            // The parser gives each extra its registered form, so only a left-out count is left.
            _ => continue,
        };
        values.push_extra(extra.name, value);
    }
    Ok(Stimulus::new(def, values))
}

pub(super) fn resolve_initial(
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

pub(super) fn resolve_record(raw: &ExperimentRaw, neurons: u32) -> Result<Record, InputError> {
    let mut record = Record {
        v: false,
        i: false,
        w: false,
        neurons: Vec::new(),
        every: 1,
        precision: Precision::F64,
    };
    let Some(r) = &raw.record else {
        return Ok(record);
    };
    if let Some(p) = &r.precision {
        record.precision = match p.value.as_str() {
            "f64" => Precision::F64,
            "f32" => Precision::F32,
            other => return Err(InputError::new(format!(
                "'{other}' is not a recording precision"
            ))
            .key("record.precision")
            .at(loc(p))
            .hint("use f64 (the default, every bit the engine computed) or f32 (half the size)")),
        };
    }
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

pub(super) fn resolve_tolerances(raw: &ExperimentRaw) -> Result<Tolerances, InputError> {
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

pub(super) fn resolve_window(raw: &ExperimentRaw, duration: f64) -> Result<(f64, f64), InputError> {
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
