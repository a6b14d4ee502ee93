//! Tests of per-neuron values: each form and its units, the draws' independence of
//! blocks, the columns they give, and every rejection with its message.

use super::super::plan::{plan, Plan};
use super::super::spec::Value;
use super::*;
use crate::experiment::parse;

const BASE: &str = "name: t\nduration: 100 ms\ndt: 0.1 ms\nmodel: {type: adex}\n";

fn plan_text(text: &str) -> Result<Plan, InputError> {
    plan(&parse(text).unwrap_or_else(|e| panic!("parse: {e}")))
}

fn one(text: &str) -> RunSpec {
    let p = plan_text(text).unwrap_or_else(|e| panic!("{e} {:?}", e.hints));
    assert_eq!(p.runs().len(), 1);
    p.runs().into_iter().next().unwrap().into_owned()
}

fn err(text: &str) -> InputError {
    match plan_text(text) {
        Ok(_) => panic!("planned:\n{text}"),
        Err(e) => e,
    }
}

fn with(neurons: u32, per_neuron: &str) -> String {
    format!(
        "{BASE}neurons: {neurons}\ninput: {{type: constant, amplitude: 500 pA}}\nper_neuron:\n{per_neuron}"
    )
}

fn column(spec: &RunSpec, name: &str) -> Option<Value> {
    spec.parameters(false)
        .into_iter()
        .find(|c| c.name == name)
        .map(|c| c.value)
}

#[test]
fn linspace_spreads_evenly_with_exact_ends() {
    let s = one(&with(
        5,
        "  input.amplitude: {linspace: [0.5 nA, 1000 pA]}\n",
    ));
    let t = s.neuron_table(0, 5);
    assert_eq!(t, vec![vec![500.0, 625.0, 750.0, 875.0, 1000.0]]);
    let v = s.neuron_values(0, 5);
    let amps: Vec<f64> = v
        .iter()
        .map(|n| {
            n.input.as_ref().unwrap().stimuli[0]
                .values()
                .get("amplitude")
        })
        .collect();
    assert_eq!(amps, t[0]);
    assert!(v.iter().all(|n| n.params.is_none() && n.v.is_none()));
    // One neuron takes `from`.
    let s = one(&with(1, "  input.amplitude: {linspace: [1 pA, 2 pA]}\n"));
    assert_eq!(s.neuron_table(0, 1), vec![vec![1.0]]);
}

#[test]
fn draws_depend_on_the_neuron_not_on_the_block() {
    let s = one(&with(
        100,
        "  model.a: {normal: {mean: 4 nS, sd: 1 nS}}\n  model.tau_w: {uniform: [100 ms, 200 ms]}\n  initial.V: {normal: [-70 mV, 2 mV]}\n",
    ));
    let all = s.neuron_values(0, 100);
    for (first, last) in [(0, 7), (7, 64), (64, 100), (50, 51)] {
        assert_eq!(
            s.neuron_values(first, last),
            all[first as usize..last as usize]
        );
    }
    let a: Vec<f64> = all.iter().map(|n| n.params.unwrap().value("a")).collect();
    let tau: Vec<f64> = all
        .iter()
        .map(|n| n.params.unwrap().value("tau_w"))
        .collect();
    assert!(a.windows(2).all(|w| w[0] != w[1]), "independent draws");
    assert!(tau.iter().all(|t| (100.0..200.0).contains(t)));
    assert!(all.iter().all(|n| n.v.is_some() && n.w.is_none()));
    // Every other parameter keeps the run's value.
    let p = all[3].params.unwrap();
    assert_eq!(p.value("b"), s.params.value("b"));
    // Another replicate draws anew; the same plan draws the same.
    let text = with(10, "  model.a: {normal: {mean: 4 nS, sd: 1 nS}}\n") + "replicates: 2\n";
    let p = plan_text(&text).unwrap();
    let draws = |r: &RunSpec| r.neuron_table(0, 10);
    assert_ne!(draws(&p.runs()[0]), draws(&p.runs()[1]));
    assert_eq!(
        draws(&plan_text(&text).unwrap().runs()[0]),
        draws(&p.runs()[0])
    );
}

#[test]
fn lognormal_and_list_forms() {
    let s = one(&with(
        3,
        "  model.C: {list: [200 pF, 0.281 nF, 300 pF]}\n  model.g_L: {lognormal: {median: 30 nS, sigma: 0.1}}\n",
    ));
    let t = s.neuron_table(0, 3);
    assert_eq!(t[0], [200.0, 281.0, 300.0]);
    assert!(t[1].iter().all(|g| *g > 0.0 && (g / 30.0).ln().abs() < 1.0));
    // sigma 0: every neuron at the median.
    let s = one(&with(
        3,
        "  model.g_L: {lognormal: {median: 30 nS, sigma: 0}}\n",
    ));
    assert!(s.neuron_table(0, 3)[0]
        .iter()
        .all(|g| (g - 30.0).abs() < 1e-12));
}

#[test]
fn columns_describe_the_rule_and_keys_follow_it() {
    let plain = one(&with(3, "  model.a: {linspace: [4 nS, 4 nS]}\n")
        .replace("per_neuron:\n  model.a: {linspace: [4 nS, 4 nS]}\n", ""));
    assert!(!plain.varies_per_neuron());
    assert_eq!(column(&plain, "model_a_nS"), Some(Value::F64(4.0)));
    let s = one(&with(3, "  model.a: {normal: {mean: 4 nS, sd: 1 nS}}\n"));
    assert!(matches!(column(&s, "model_a_nS"), Some(Value::F64(x)) if x.is_nan()));
    assert_eq!(
        column(&s, "model_a_nS_per_neuron"),
        Some(Value::Str("normal(mean=4 nS, sd=1 nS)".into()))
    );
    let names: Vec<String> = s.parameters(false).into_iter().map(|c| c.name).collect();
    let at = names.iter().position(|n| n == "model_a_nS").unwrap();
    assert_eq!(names[at + 1], "model_a_nS_per_neuron");
    assert!(s
        .canonical()
        .contains("model_a_nS_per_neuron=normal(mean=4 nS, sd=1 nS)\n"));
    assert_ne!(s.key, plain.key);
    let wider = one(&with(3, "  model.a: {normal: {mean: 4 nS, sd: 2 nS}}\n"));
    assert_ne!(s.key, wider.key);
    // A list is shown as its values; an initial distribution becomes one column.
    let s = one(&(with(
        2,
        "  model.C: {list: [200 pF, 300 pF]}\n  initial.V: {uniform: [-70 mV, -60 mV]}\n",
    ) + "initial: {V: {normal: [-65 mV, 1 mV]}}\n"));
    assert_eq!(
        column(&s, "model_C_pF_per_neuron"),
        Some(Value::Str("list(200 pF, 300 pF)".into()))
    );
    assert!(column(&s, "initial_V_mean_mV").is_none());
    assert!(matches!(column(&s, "initial_V_mV"), Some(Value::F64(x)) if x.is_nan()));
    assert_eq!(
        column(&s, "initial_V_mV_per_neuron"),
        Some(Value::Str("uniform(low=-70 mV, high=-60 mV)".into()))
    );
    assert_eq!(
        s.per_neuron.columns(false),
        [
            ("model_C_pF".to_string(), "pF"),
            ("initial_V_mV".to_string(), "mV")
        ]
    );
}

#[test]
fn derived_defaults_and_the_resting_start_follow_each_neuron() {
    // V_peak = V_T + 5 Delta_T and V0 = E_L, as a run-level V_T or E_L would give.
    let s = one(&with(
        4,
        "  model.V_T: {linspace: [-52 mV, -46 mV]}\n  model.E_L: {linspace: [-72 mV, -69 mV]}\n",
    ));
    let v = s.neuron_values(0, 4);
    for (k, n) in v.iter().enumerate() {
        let p = n.params.unwrap();
        assert_eq!(p.value("V_peak"), p.value("V_T") + 5.0 * p.value("Delta_T"));
        assert_eq!(n.v, Some(p.value("E_L")), "neuron {k}");
    }
    assert_eq!(
        column(&s, "model_V_peak_mV_per_neuron"),
        Some(Value::Str("derived(V_T+5*Delta_T)".into()))
    );
    assert_eq!(
        column(&s, "initial_V_mV_per_neuron"),
        Some(Value::Str("derived(rest)".into()))
    );
    let t = s.neuron_table(0, 4);
    let names = s.per_neuron.columns(false);
    let peak = names
        .iter()
        .position(|(n, _)| n == "model_V_peak_mV")
        .unwrap();
    assert_eq!(t[peak][3], -46.0 + 10.0);
    // A given V_peak or V0 stays; a parameter V_peak does not depend on leaves it.
    let s = one(&(with(4, "  model.a: {linspace: [1 nS, 4 nS]}\n") + "initial: {V: -60 mV}\n"));
    assert_eq!(s.per_neuron.columns(false).len(), 1);
    assert!(s.neuron_values(0, 4).iter().all(|n| n.v.is_none()));
}

#[test]
fn variants_override_the_base_and_other_models_drop_its_keys() {
    let text = format!(
        "{}variants:\n  - {{label: lif, model: {{type: lif}}}}\n  - {{label: wide, per_neuron: {{model.b: {{normal: {{mean: 80 pA, sd: 20 pA}}}}}}}}\n",
        with(4, "  model.b: {normal: {mean: 80 pA, sd: 5 pA}}\n  initial.w: {uniform: [0 pA, 10 pA]}\n")
    );
    let p = plan_text(&text).unwrap();
    let runs = p.runs();
    let lif = runs.iter().find(|r| r.label == "lif").unwrap();
    assert!(
        !lif.varies_per_neuron(),
        "model.b and initial.w do not apply to the LIF"
    );
    let wide = runs.iter().find(|r| r.label == "wide").unwrap();
    assert_eq!(
        column(wide, "model_b_pA_per_neuron"),
        Some(Value::Str("normal(mean=80 pA, sd=20 pA)".into()))
    );
    assert!(wide.neuron_values(0, 4).iter().all(|n| n.w.is_some()));
}

#[test]
fn several_stimuli_are_named_by_index() {
    let text = format!(
        "{BASE}neurons: 3\ninput:\n  - {{type: constant, amplitude: 100 pA}}\n  - {{type: step, amplitude: 200 pA, start: 10 ms, stop: 50 ms}}\nper_neuron:\n  input[1].amplitude: {{linspace: [0 pA, 400 pA]}}\n"
    );
    let s = one(&text);
    let v = s.neuron_values(0, 3);
    let input = v[2].input.as_ref().unwrap();
    assert_eq!(input.stimuli[0], s.input.stimuli[0]);
    assert_eq!(input.stimuli[1].values().get("amplitude"), 400.0);
    assert_eq!(input.stimuli[1].values().get("stop"), 50.0);
    let indexed: Vec<String> = s.parameters(true).into_iter().map(|c| c.name).collect();
    assert!(indexed.contains(&"input_1_amplitude_pA_per_neuron".to_string()));
    let e = err(&text.replace("input[1].amplitude", "input.amplitude"));
    assert!(e.message.contains("has 2 stimuli"), "{}", e.message);
    let e = err(&text.replace("input[1].amplitude", "input.1.amplitude"));
    assert_eq!(e.hints, ["did you mean 'input[1].amplitude'?"]);
}

#[test]
fn malformed_rules_are_refused_with_their_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "  model.a: {normal: {mean: 4 nS, sd: -1 nS}}\n",
            "per_neuron.model.a.normal.sd",
            "the SD must not be negative (got -1 nS)",
        ),
        (
            "  model.a: {uniform: [4 nS, 2 nS]}\n",
            "per_neuron.model.a.uniform[1]",
            "the upper bound 2 nS is below the lower bound 4 nS",
        ),
        (
            "  model.a: {list: [1 nS, 2 nS]}\n",
            "per_neuron.model.a.list",
            "the list has 2 values for 3 neurons",
        ),
        (
            "  model.a: {normal: {mean: 4 pA, sd: 1 nS}}\n",
            "per_neuron.model.a.normal.mean",
            "",
        ),
        (
            "  model.a: {linspace: [1 nS, 2 nS], list: [1 nS, 2 nS, 3 nS]}\n",
            "per_neuron.model.a",
            "give exactly one of linspace, normal, uniform, lognormal or list",
        ),
        (
            "  model.g_L: {lognormal: {median: 0 nS, sigma: 0.1}}\n",
            "per_neuron.model.g_L.lognormal.median",
            "a lognormal's median must be positive",
        ),
        (
            "  model.g_L: {lognormal: {median: 30 nS, sigma: 10 %}}\n",
            "per_neuron.model.g_L.lognormal.sigma",
            "is not a plain number",
        ),
        (
            "  model.g_L: {lognormal: {median: 30 nS, sigma: -0.1}}\n",
            "per_neuron.model.g_L.lognormal.sigma",
            "sigma must not be negative",
        ),
    ];
    for (rule, key, message) in cases {
        let e = err(&with(3, rule));
        assert_eq!(e.key.as_deref(), Some(*key), "{rule}: {e}");
        assert!(e.message.contains(message), "{rule}: {}", e.message);
        assert!(e.location.is_some_and(|l| l.line >= 7), "{rule}: {e:?}");
        assert!(!e.hints.is_empty());
    }
    // A bare list (a grid axis's form) is refused at parse time, naming the forms.
    let e = parse(&with(3, "  model.a: [1 nS, 2 nS]\n")).unwrap_err();
    assert!(e.message.contains("per-neuron rule"), "{}", e.message);
    let e = parse(&with(3, "  model.a: {gauss: {mean: 4 nS, sd: 1 nS}}\n")).unwrap_err();
    assert!(e.message.contains("unknown key 'gauss'"), "{}", e.message);
}

#[test]
fn paths_that_cannot_vary_per_neuron_are_refused() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "model.aa",
            "is not a value that can vary per neuron",
            "did you mean 'model.a'?",
        ),
        (
            "model.V_th",
            "is not a parameter of the adex model",
            "adex takes",
        ),
        ("model.tau_m", "another way to write C and g_L", "model.C"),
        ("model.type", "is one value for the whole run", "grid"),
        ("dt", "is one value for the whole run", "grid"),
        ("input.shared", "is not a quantity", "grid axis or variants"),
        (
            "input.frequency",
            "does not apply to a constant stimulus",
            "constant takes",
        ),
        (
            "banana",
            "is not a value that can vary per neuron",
            "per-neuron paths",
        ),
    ];
    for (path, message, hint) in cases {
        let e = err(&with(3, &format!("  {path}: {{linspace: [1 nS, 2 nS]}}\n")));
        assert_eq!(
            e.key.as_deref(),
            Some(format!("per_neuron.{path}").as_str())
        );
        assert!(e.message.contains(message), "{path}: {}", e.message);
        assert!(
            e.hints.iter().any(|h| h.contains(hint)),
            "{path}: {:?}",
            e.hints
        );
    }
    let shared = format!(
        "{BASE}neurons: 3\ninput: {{type: noise, mean: 100 pA, sigma: 10 pA*sqrt(ms), shared: true}}\nper_neuron:\n  input.mean: {{linspace: [0 pA, 100 pA]}}\n"
    );
    let e = err(&shared);
    assert!(
        e.message.contains("shared noise is one process"),
        "{}",
        e.message
    );
    let e = err(&shared.replace("shared: true", "count: 3"));
    assert!(e.message.contains("'count'"), "{}", e.message);
    let e = err(&format!(
        "{BASE}per_neuron:\n  input.amplitude: {{linspace: [0 pA, 1 pA]}}\n"
    ));
    assert!(e.message.contains("the run has no input"), "{}", e.message);
    // An optional key the stimulus lacks would change what it is.
    let e = err(&shared
        .replace(", shared: true", "")
        .replace("input.mean", "input.tau")
        .replace("0 pA, 100 pA", "1 ms, 2 ms"));
    assert!(e.message.contains("has no 'tau' here"), "{}", e.message);
}

#[test]
fn grid_axes_and_per_neuron_rules_do_not_mix() {
    let e = err(&(with(3, "  input.amplitude: {linspace: [0 pA, 1 pA]}\n")
        + "grid: {\"input[0].amplitude\": [1 pA, 2 pA]}\n"));
    assert!(e.message.contains("ambiguous"), "{}", e.message);
    assert!(
        e.message.contains("grid.input[0].amplitude"),
        "{}",
        e.message
    );
    assert_eq!(e.key.as_deref(), Some("per_neuron.input.amplitude"));
    let e = err(&(with(3, "  model.a: {normal: {mean: 4 nS, sd: 1 nS}}\n")
        + "variants:\n  - {grid: {model.a: [1 nS, 2 nS]}}\n"));
    assert!(
        e.message.contains("variants[0].grid.model.a"),
        "{}",
        e.message
    );
    let e = err(&(with(3, "  model.a: {normal: {mean: 4 nS, sd: 1 nS}}\n")
        + "grid: {per_neuron.model.a.normal.sd: [1 nS, 2 nS]}\n"));
    assert!(
        e.message.contains("cannot sweep inside a per-neuron"),
        "{}",
        e.message
    );
    assert!(e.hints[0].contains("variant"), "{:?}", e.hints);
    // Other axes sweep alongside.
    let p = plan_text(
        &(with(3, "  model.a: {normal: {mean: 4 nS, sd: 1 nS}}\n")
            + "grid: {model.b: [0 pA, 10 pA]}\n"),
    )
    .unwrap();
    assert_eq!(p.runs().len(), 2);
    assert!(p.runs().iter().all(|r| r.varies_per_neuron()));
}

#[test]
fn each_neurons_value_is_checked_like_a_run_level_one() {
    // A capacitance drawn negative for some neuron of 1000.
    let e = err(&with(
        1000,
        "  model.C: {normal: {mean: 281 pF, sd: 200 pF}}\n",
    ));
    assert_eq!(e.key.as_deref(), Some("per_neuron.model.C"));
    assert_eq!(e.location.map(|l| l.line), Some(8));
    assert!(
        e.message
            .contains("of run 't' (replicate 0) gets model.C = -"),
        "{}",
        e.message
    );
    assert!(e.message.contains("C must be positive"), "{}", e.message);
    assert!(e.message.starts_with("neuron "), "{}", e.message);
    assert!(
        e.hints[0].contains("narrow the distribution"),
        "{:?}",
        e.hints
    );
    // A relation: V_reset above the derived V_peak of some neuron.
    let e = err(&with(
        10,
        "  model.V_T: {linspace: [-60 mV, -50 mV]}\n  model.V_reset: {list: [-70 mV, -70 mV, -70 mV, -70 mV, -70 mV, -70 mV, -70 mV, -70 mV, -70 mV, -40 mV]}\n",
    ));
    assert!(e.message.starts_with("neuron 9 of run"), "{}", e.message);
    // A stimulus rule.
    let e = err(&format!(
        "{BASE}neurons: 3\ninput: {{type: step, amplitude: 1 pA, start: 10 ms, stop: 50 ms}}\nper_neuron:\n  input.start: {{linspace: [0 ms, 60 ms]}}\n"
    ));
    assert!(e.message.starts_with("neuron 2 of run"), "{}", e.message);
    assert_eq!(e.key.as_deref(), Some("per_neuron.input.start"));
    // dt against the shortest time constant of any neuron.
    let e = err(&with(10, "  model.tau_w: {linspace: [144 ms, 0.4 ms]}\n"));
    assert_eq!(e.key.as_deref(), Some("dt"));
    assert!(
        e.message.contains("for neuron 9 of run 't'"),
        "{}",
        e.message
    );
    // The grid point is named when the run is one of a sweep.
    let e = err(&(with(10, "  model.tau_w: {linspace: [144 ms, 0.4 ms]}\n")
        + "grid: {model.b: [0 pA, 1 pA]}\n"));
    assert!(
        e.hints.iter().any(|h| h.contains("grid point")),
        "{:?}",
        e.hints
    );
}
