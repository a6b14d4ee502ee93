//! Per-neuron values through the real binary: planning errors exit 2 with `error:`
//! and `hint:`; experiments/per_neuron.yaml writes neurons.parquet with the values
//! its rules give, the same on every run; runs.parquet describes each rule; and a
//! neuron given its values per neuron spikes exactly as a one-neuron run given the
//! same values at run level.

mod common;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::{Float64Type, UInt32Type};
use common::*;
use std::path::Path;

/// The shipped example, run once per test binary into a temporary folder.
fn example() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let exp = repo().join("experiments/per_neuron.yaml");
        run_ok(
            tmp.path(),
            &["run", exp.to_str().unwrap(), "--out", "a", "-q"],
        );
        tmp
    })
    .path()
}

fn one_batch(path: &Path) -> RecordBatch {
    let batches = read(path);
    concat_batches(&batches[0].schema(), &batches).unwrap()
}

fn f64_col(b: &RecordBatch, name: &str) -> Vec<f64> {
    col::<Float64Type>(b, name).values().to_vec()
}

#[test]
fn planning_errors_exit_2_with_error_and_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let base = "name: t\nduration: 100 ms\ndt: 0.1 ms\nneurons: 1000\nmodel: {type: adex}\n\
                input: {type: constant, amplitude: 500 pA}\nper_neuron:\n";
    let cases: &[(&str, &str, &str)] = &[
        (
            "  model.aa: {normal: {mean: 4 nS, sd: 1 nS}}\n",
            "e.yaml:8:13: per_neuron.model.aa: 'model.aa' is not a value that can vary per neuron",
            "hint: did you mean 'model.a'?",
        ),
        (
            "  model.a: {normal: {mean: 4 nS, sd: -1 nS}}\n",
            "per_neuron.model.a.normal.sd: the SD must not be negative (got -1 nS)",
            "hint: write normal",
        ),
        (
            "  model.a: {uniform: [4 nS, 2 nS]}\n",
            "is below the lower bound",
            "hint: write uniform: [low, high]",
        ),
        (
            "  model.C: {list: [200 pF, 300 pF]}\n",
            "the list has 2 values for 1000 neurons",
            "hint: give exactly `neurons` values",
        ),
        (
            "  model.a: {normal: {mean: 4 pA, sd: 1 nS}}\n",
            "per_neuron.model.a.normal.mean:",
            "hint:",
        ),
        (
            "  model.C: {normal: {mean: 281 pF, sd: 200 pF}}\n",
            "e.yaml:8:12: per_neuron.model.C: neuron ",
            "hint: every neuron's value must pass the rules a run-level value does: narrow the distribution",
        ),
        (
            "  input.amplitude: {linspace: [0 pA, 1 nA]}\ngrid: {input.amplitude: [1 pA, 2 pA]}\n",
            "swept by grid.input.amplitude: which of the two applies is ambiguous",
            "hint: remove one of the two",
        ),
        (
            "  model.a: {normal: {mean: 4 nS, sd: 1 nS}}\ngrid: {per_neuron.model.a.normal.sd: [1 nS, 2 nS]}\n",
            "grid axes cannot sweep inside a per-neuron distribution",
            "hint: give each setting its own variant",
        ),
    ];
    for (entry, error, hint) in cases {
        let exp = write(tmp.path(), "e.yaml", &format!("{base}{entry}"));
        let plan: &[&str] = &["plan", &exp];
        let run: &[&str] = &["run", &exp, "--out", "never", "-q"];
        for args in [plan, run] {
            let cmd = args[0];
            let o = neurodyn(tmp.path(), args);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{cmd} {entry}: {err}");
            assert!(
                err.contains("error: ") && err.contains(error),
                "{cmd} {entry}: {err}"
            );
            assert!(err.contains(hint), "{cmd} {entry}: {err}");
        }
        assert!(!tmp.path().join("never").exists());
    }
    // The neuron, its run and its value are named.
    let exp = write(
        tmp.path(),
        "e.yaml",
        &format!("{base}  model.C: {{normal: {{mean: 281 pF, sd: 200 pF}}}}\n"),
    );
    let err = stderr(&neurodyn(tmp.path(), &["plan", &exp]));
    assert!(
        err.contains("of run 't' (replicate 0) gets model.C = -"),
        "{err}"
    );
    assert!(err.contains("C must be positive"), "{err}");
}

#[test]
fn neurons_parquet_holds_each_neurons_values_as_the_rules_give_them() {
    let dir = example().join("a");
    let path = dir.join("neurons.parquet");
    assert!(path.is_file(), "neurons.parquet is written");
    let b = one_batch(&path);
    let names: Vec<String> = b
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names,
        ["run_id", "neuron", "model_a_nS", "input_amplitude_pA"]
    );
    assert_eq!(b.num_rows(), 200);
    assert_eq!(
        col::<UInt32Type>(&b, "run_id").values().to_vec(),
        vec![0; 200]
    );
    let neurons: Vec<u32> = col::<UInt32Type>(&b, "neuron").values().to_vec();
    assert_eq!(neurons, (0..200).collect::<Vec<u32>>());
    // linspace [300 pA, 800 pA] over 200 neurons, as numpy computes it (start + k·step,
    // the last exactly `to`): exact.
    let amp = f64_col(&b, "input_amplitude_pA");
    let step = (800.0 - 300.0) / 199.0;
    for (k, a) in amp.iter().enumerate() {
        let expected = if k == 199 {
            800.0
        } else {
            k as f64 * step + 300.0
        };
        assert_eq!(*a, expected, "neuron {k}");
    }
    // normal(4 nS, 1 nS), 200 draws: the sample mean has standard error 1/√200 =
    // 0.071 nS and the sample SD about 1/√398 = 0.050 nS. The draws are fixed by the
    // seed, so a bound of 4 standard errors (a false alarm for 1 seed in ~16,000)
    // cannot flake; it fails only if the draws stop being N(4, 1).
    let a = f64_col(&b, "model_a_nS");
    let n = a.len() as f64;
    let mean = a.iter().sum::<f64>() / n;
    let sd = (a.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    assert!((mean - 4.0).abs() < 4.0 * 0.071, "mean {mean}");
    assert!((sd - 1.0).abs() < 4.0 * 0.050, "sd {sd}");
    assert!(
        a.windows(2).all(|w| w[0] != w[1]),
        "each neuron draws its own"
    );
    // runs.parquet: NaN where there is no single value, and the rule beside it.
    let runs = one_batch(&dir.join("runs.parquet"));
    assert!(f64_col(&runs, "model_a_nS")[0].is_nan());
    let rule = runs
        .column_by_name("model_a_nS_per_neuron")
        .unwrap()
        .as_string::<i32>()
        .value(0)
        .to_string();
    assert_eq!(rule, "normal(mean=4 nS, sd=1 nS)");
    let rule = runs
        .column_by_name("input_amplitude_pA_per_neuron")
        .unwrap()
        .as_string::<i32>()
        .value(0)
        .to_string();
    assert_eq!(rule, "linspace(from=300 pA, to=800 pA)");
    // The dataset verifies with the new table, and the analysis ran.
    assert!(dir.join("summary.parquet").is_file());
    let o = neurodyn(example(), &["status", "a"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn the_same_experiment_writes_the_same_neurons_table() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = repo().join("experiments/per_neuron.yaml");
    run_ok(
        tmp.path(),
        &[
            "run",
            exp.to_str().unwrap(),
            "--out",
            "b",
            "-q",
            "--threads",
            "1",
        ],
    );
    let (a, b) = (example().join("a"), tmp.path().join("b"));
    assert!(canonical(&a.join("neurons.parquet")) == canonical(&b.join("neurons.parquet")));
    assert_same_dataset(&a, &b);
}

#[test]
fn runs_that_vary_nothing_keep_their_columns_beside_runs_that_vary() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(
        tmp.path(),
        "mixed.yaml",
        "name: mixed\nduration: 100 ms\ndt: 0.1 ms\nneurons: 4\nmodel: {type: adex}\n\
         input: {type: constant, amplitude: 600 pA}\n\
         variants:\n  - {label: fixed}\n  - {label: spread, per_neuron: {model.b: {list: [0 pA, 20 pA, 40 pA, 80 pA]}}}\n",
    );
    run_ok(tmp.path(), &["run", &exp, "--out", "m", "-q"]);
    let dir = tmp.path().join("m");
    let runs = one_batch(&dir.join("runs.parquet"));
    let labels = runs.column_by_name("label").unwrap().as_string::<i32>();
    let rules = runs
        .column_by_name("model_b_pA_per_neuron")
        .unwrap()
        .as_string::<i32>();
    let b = col::<Float64Type>(&runs, "model_b_pA");
    for k in 0..runs.num_rows() {
        if labels.value(k) == "fixed" {
            assert!(rules.is_null(k));
            assert_eq!(b.value(k), 80.5);
        } else {
            assert_eq!(rules.value(k), "list(0 pA, 20 pA, 40 pA, 80 pA)");
            assert!(b.value(k).is_nan());
        }
    }
    let neurons = one_batch(&dir.join("neurons.parquet"));
    assert_eq!(neurons.num_rows(), 4, "only the run that varies something");
    assert_eq!(f64_col(&neurons, "model_b_pA"), [0.0, 20.0, 40.0, 80.0]);
    // A dataset checks clean against itself, NaN and text columns included.
    let o = neurodyn(tmp.path(), &["check", "m", "--baseline", "m"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Every spike time of neuron `neuron` of run `run_id`.
fn spike_times(dir: &Path, run_id: u32, neuron: u32) -> Vec<f64> {
    let mut out = Vec::new();
    for b in read(&dir.join("spikes")) {
        let ids = col::<UInt32Type>(&b, "run_id");
        let ns = col::<UInt32Type>(&b, "neuron");
        let t = col::<Float64Type>(&b, "t_ms");
        for k in 0..b.num_rows() {
            if ids.value(k) == run_id && ns.value(k) == neuron {
                out.push(t.value(k));
            }
        }
    }
    out
}

/// Run `population` (one run, values per neuron), then each of `neurons` alone as a
/// one-neuron run given its values at run level (`alone(values)` writes the YAML from
/// the neuron's values, by runs-table column), and compare the spike times bit for
/// bit. The values come from the plan (the library), not from neurons.parquet, so
/// this tests the engine alone.
fn assert_alone_spikes_the_same(
    population: &str,
    neurons: &[u32],
    alone: impl Fn(&[(String, f64)]) -> String,
) {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "pop.yaml", population);
    run_ok(tmp.path(), &["run", &exp, "--out", "pop", "-q"]);
    let pop = tmp.path().join("pop");
    let plan = neurodyn::plan(&neurodyn::experiment::parse(population).unwrap()).unwrap();
    let run = &plan.runs()[0];
    let names = run.per_neuron.columns(plan.indexed_inputs);
    let mut fired = 0;
    for &k in neurons {
        let table = run.neuron_table(k, k + 1);
        let values: Vec<(String, f64)> = names
            .iter()
            .zip(&table)
            .map(|((n, _), v)| (n.clone(), v[0]))
            .collect();
        let exp = write(tmp.path(), "alone.yaml", &alone(&values));
        let out = format!("alone{k}");
        run_ok(tmp.path(), &["run", &exp, "--out", &out, "-q"]);
        let expected = spike_times(&tmp.path().join(&out), 0, 0);
        let got = spike_times(&pop, 0, k);
        fired += usize::from(!expected.is_empty());
        // Bit for bit: the same f64s, not merely close.
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
        assert_eq!(bits(&got), bits(&expected), "neuron {k}: {values:?}");
    }
    assert!(
        fired >= 2,
        "the compared neurons fire ({fired} of {})",
        neurons.len()
    );
}

/// A neuron's value written back as YAML: `{}` of an f64 is the shortest
/// text that reads back as the same f64, and the column's unit is the engine's, so
/// the run-level value is the very number the neuron had.
fn value(values: &[(String, f64)], column: &str, unit: &str) -> String {
    let x = values.iter().find(|(n, _)| n == column).unwrap().1;
    format!("{x} {unit}")
}

#[test]
fn a_neuron_with_per_neuron_values_spikes_as_a_run_given_them_at_run_level() {
    // The shipped example: a drawn a, a spread current.
    let example = std::fs::read_to_string(repo().join("experiments/per_neuron.yaml")).unwrap();
    assert_alone_spikes_the_same(&example, &[0, 57, 123, 199], |v| {
        format!(
            "name: alone\nseed: 11\nduration: 300 ms\ndt: 0.1 ms\nmethod: rk4\nneurons: 1\n\
             model: {{type: adex, a: {}}}\ninput: {{type: constant, amplitude: {}}}\n",
            value(v, "model_a_nS", "nS"),
            value(v, "input_amplitude_pA", "pA"),
        )
    });
    // Defaults that follow the varied values: V_peak from V_T, the initial V at E_L;
    // and an initial w per neuron, under several stimuli.
    let population = "name: pop\nseed: 3\nduration: 200 ms\ndt: 0.1 ms\nmethod: rk4\nneurons: 6\n\
        model: {type: adex, b: 60 pA}\n\
        input: [{type: constant, amplitude: 300 pA}, {type: step, amplitude: 200 pA, start: 20 ms, stop: 150 ms}]\n\
        per_neuron:\n  model.V_T: {uniform: [-52 mV, -48 mV]}\n  model.E_L: {linspace: [-72 mV, -66 mV]}\n  \
        initial.w: {normal: {mean: 20 pA, sd: 10 pA}}\n  \"input[1].amplitude\": {list: [150 pA, 200 pA, 250 pA, 300 pA, 350 pA, 400 pA]}\n";
    assert_alone_spikes_the_same(population, &[0, 2, 5], |v| {
        format!(
            "name: alone\nduration: 200 ms\ndt: 0.1 ms\nmethod: rk4\nneurons: 1\n\
             model: {{type: adex, b: 60 pA, V_T: {}, E_L: {}}}\ninitial: {{w: {}}}\n\
             input: [{{type: constant, amplitude: 300 pA}}, {{type: step, amplitude: {}, start: 20 ms, stop: 150 ms}}]\n",
            value(v, "model_V_T_mV", "mV"),
            value(v, "model_E_L_mV", "mV"),
            value(v, "initial_w_pA", "pA"),
            value(v, "input_1_amplitude_pA", "pA"),
        )
    });
}
