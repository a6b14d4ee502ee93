//! Packing: runs integrated together as one population give exactly (bit for bit) the
//! numbers each gives alone — same keys, seeds, spikes, traces, statistics — through
//! the engine and through the whole CLI pipeline.

mod common;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, UInt64Type};
use common::*;
use neurodyn::engine::{pack_key, simulate, simulate_pack, MemorySink};
use neurodyn::experiment::spec::RunSpec;
use neurodyn::experiment::{parse, plan::plan};
use std::collections::BTreeMap;

/// Everything a neuron's numbers can depend on at once: a model parameter and the
/// neuron count swept, a time-varying (sine) input with a swept amplitude, private
/// white noise, shared coloured noise, a per-neuron `spread` current, random initial
/// V and w, recorded traces, replicates, and one run that blows up.
const GRID: &str = "\
name: packing
seed: 11
duration: 60 ms
dt: 0.1 ms
method: METHOD
neurons: 3
model: {type: adex}
initial: {V: {normal: [-65 mV, 4 mV]}, w: {normal: [20 pA, 5 pA]}}
input:
  - {type: sine, amplitude: 100 pA, frequency: 40 Hz, offset: 700 pA}
  - {type: noise, sigma: 30 pA*sqrt(ms)}
  - {type: noise, sigma: 40 pA, tau: 5 ms, shared: true}
  - {type: spread, from: 0 pA, to: 300 pA}
record: {variables: [V, I, w], neurons: {first: 2}, every: 3}
replicates: 2
grid:
  model.a: [2 nS, 4 nS, 1e300 nS]
  input[0].amplitude: [50 pA, 250 pA]
  neurons: [2, 3]
";

fn grid(method: &str) -> String {
    GRID.replace("METHOD", method)
}

fn planned(yaml: &str) -> Vec<RunSpec> {
    plan(&parse(yaml).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"))
        .runs()
        .into_iter()
        .map(|r| r.into_owned())
        .collect()
}

/// A run's output in comparable form: spikes (neuron, bits of t) and trace samples
/// (neuron, bits of t, V, I, w), in the order the sink got them.
type Rows = (Vec<(u32, u64)>, Vec<(u32, Vec<u64>)>);

fn rows(sink: &MemorySink, run_id: u32) -> Rows {
    let spikes = sink
        .spikes
        .iter()
        .filter(|(r, _, _)| *r == run_id)
        .map(|(_, n, t)| (*n, t.to_bits()))
        .collect();
    let traces = sink
        .traces
        .iter()
        .filter(|(r, _, _)| *r == run_id)
        .map(|(_, n, c)| {
            let bits = [&c.t, &c.v, &c.i, &c.w]
                .iter()
                .flat_map(|x| x.iter().map(|v| v.to_bits()))
                .collect();
            (*n, bits)
        })
        .collect();
    (spikes, traces)
}

#[test]
fn a_packed_population_gives_each_run_its_numbers_alone() {
    for method in ["euler", "rk4"] {
        let runs = planned(&grid(method));
        assert_eq!(runs.len(), 24);
        let all: Vec<&RunSpec> = runs.iter().collect();
        assert!(
            all.iter()
                .all(|r| pack_key(r).is_some() && pack_key(r) == pack_key(all[0])),
            "every run of the grid can share one population"
        );
        let mut packed = MemorySink::default();
        let outcomes = simulate_pack(&all, &mut packed).unwrap();
        let mut failed = 0;
        for (spec, packed_outcome) in runs.iter().zip(outcomes) {
            let mut alone = MemorySink::default();
            let alone_outcome = simulate(spec, &mut alone);
            match (&packed_outcome, &alone_outcome) {
                (Ok(p), Ok(a)) => assert_eq!(p, a, "{method} run {}", spec.label),
                (Err(p), Err(a)) => {
                    assert_eq!(p.to_string(), a.to_string());
                    failed += 1;
                }
                _ => panic!(
                    "{method} {}: {packed_outcome:?} vs {alone_outcome:?}",
                    spec.label
                ),
            }
            let mine = rows(&packed, spec.run_id);
            assert_eq!(
                mine,
                rows(&alone, spec.run_id),
                "{method} run {}",
                spec.label
            );
            if packed_outcome.is_ok() {
                assert!(!mine.1.is_empty(), "traces recorded");
            } else {
                assert!(
                    mine.0.is_empty() && mine.1.is_empty(),
                    "a failed run writes nothing"
                );
            }
        }
        // a = 1e300 nS sends w, hence V, to infinity: those 8 runs fail, alone or packed.
        assert_eq!(failed, 8, "{method}");
        assert!(packed.spikes.len() > 100);
    }
}

/// Per-neuron rules on a model parameter, the input and the initial state, in a grid:
/// blocks then hold a model per neuron and an input per neuron, and a run's numbers
/// must still not depend on its neighbours.
const PER_NEURON: &str = "\
name: packed_per_neuron
seed: 5
duration: 40 ms
dt: 0.1 ms
method: euler
neurons: 4
model: {type: adex}
input:
  - {type: sine, amplitude: 100 pA, frequency: 40 Hz, offset: 700 pA}
  - {type: noise, sigma: 20 pA*sqrt(ms)}
record: {variables: [V, I], neurons: {first: 2}, every: 2}
per_neuron:
  model.a: {normal: {mean: 4 nS, sd: 1 nS}}
  input[0].amplitude: {linspace: [0 pA, 300 pA]}
  initial.V: {uniform: [-70 mV, -60 mV]}
grid:
  model.b: [0 pA, 80 pA, 160 pA]
replicates: 2
";

#[test]
fn packed_runs_with_per_neuron_values_give_their_numbers_alone() {
    let runs = planned(PER_NEURON);
    assert_eq!(runs.len(), 6);
    assert!(runs.iter().all(|r| r.varies_per_neuron()));
    let all: Vec<&RunSpec> = runs.iter().collect();
    let mut packed = MemorySink::default();
    let outcomes = simulate_pack(&all, &mut packed).unwrap();
    for (spec, outcome) in runs.iter().zip(outcomes) {
        let mut alone = MemorySink::default();
        assert_eq!(outcome.unwrap(), simulate(spec, &mut alone).unwrap());
        let mine = rows(&packed, spec.run_id);
        assert!(!mine.0.is_empty() && !mine.1.is_empty());
        assert_eq!(mine, rows(&alone, spec.run_id), "run {}", spec.label);
    }
}

#[test]
fn runs_that_shape_the_loop_differently_are_not_packed() {
    let base = planned(&grid("euler")).remove(0);
    let key = pack_key(&base);
    let mut other = base.clone();
    other.dt = 0.05;
    other.steps *= 2;
    assert_ne!(pack_key(&other), key);
    let mut other = base.clone();
    other.record.every = 1;
    assert_ne!(pack_key(&other), key);
    // The trace budget counts recorded rows: recording 2 of 300 neurons packs, and
    // recording all of them for long enough to fill blocks of its own does not.
    let mut few = base.clone();
    few.neurons = 300;
    few.record.neurons = vec![0, 299];
    assert!(pack_key(&few).is_some());
    let mut all = few.clone();
    all.record.neurons = (0..300).collect();
    all.record.every = 1;
    all.steps *= 10;
    assert_eq!(pack_key(&all), None);
    // A run large enough to fill blocks of its own runs alone.
    let mut big = base.clone();
    big.neurons = 100_000;
    big.record.neurons.clear();
    assert_eq!(pack_key(&big), None);
    assert!(simulate_pack(&[&base, &other], &mut MemorySink::default()).is_err());
}

/// A table's rows as bit patterns, sorted, by run key.
type ByKey = BTreeMap<String, Vec<Vec<u64>>>;

/// One table of a dataset keyed by run key.
fn by_key(
    root: &std::path::Path,
    table: &str,
    columns: &[&str],
) -> BTreeMap<String, Vec<Vec<u64>>> {
    let runs = canonical(&root.join("runs.parquet"));
    let ids = runs
        .column_by_name("run_id")
        .unwrap()
        .as_primitive::<arrow::datatypes::UInt32Type>();
    let keys = runs.column_by_name("run_key").unwrap().as_string::<i32>();
    let key_of: BTreeMap<u32, String> = (0..runs.num_rows())
        .map(|k| (ids.value(k), keys.value(k).to_string()))
        .collect();
    let mut out = ByKey::new();
    let path = root.join(table);
    if !path.exists() || common::rows(&read(&path)) == 0 {
        return out;
    }
    let t = canonical(&path);
    let rid = t
        .column_by_name("run_id")
        .unwrap()
        .as_primitive::<arrow::datatypes::UInt32Type>();
    for k in 0..t.num_rows() {
        let row = columns
            .iter()
            .map(|c| {
                let col = t
                    .column_by_name(c)
                    .unwrap_or_else(|| panic!("{table} has {c}"));
                if col.is_null(k) {
                    u64::MAX
                } else if let Some(f) = col.as_primitive_opt::<Float64Type>() {
                    f.value(k).to_bits()
                } else if let Some(u) = col.as_primitive_opt::<UInt64Type>() {
                    u.value(k)
                } else if let Some(text) = col.as_string_opt::<i32>() {
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    std::hash::Hash::hash(text.value(k), &mut h);
                    std::hash::Hasher::finish(&h)
                } else {
                    u64::from(col.as_primitive::<arrow::datatypes::UInt32Type>().value(k))
                }
            })
            .collect();
        out.entry(key_of[&rid.value(k)].clone())
            .or_default()
            .push(row);
    }
    out
}

/// The runs table's columns that do not depend on packing (wall times do), by key.
fn runs_by_key(root: &std::path::Path) -> BTreeMap<String, Vec<String>> {
    let runs = canonical(&root.join("runs.parquet"));
    let keys = runs.column_by_name("run_key").unwrap().as_string::<i32>();
    (0..runs.num_rows())
        .map(|k| {
            let row = ["seed", "status", "error", "n_spikes"]
                .iter()
                .map(|c| {
                    let col = runs.column_by_name(c).unwrap();
                    let text = arrow::util::display::array_value_to_string(col, k).unwrap();
                    // Messages name the run by id and label, which differ; the rest agrees.
                    match text.split_once("): ") {
                        Some((_, rest)) if *c == "error" => rest.to_string(),
                        _ => text,
                    }
                })
                .collect();
            (keys.value(k).to_string(), row)
        })
        .collect()
}

/// The grid as one packed sweep through the CLI, then every point of it as its own
/// experiment (the point's values written in, no grid): keys, seeds, outcomes,
/// spikes, traces and the analysis agree bit for bit.
#[test]
fn a_packed_sweep_equals_each_point_run_as_its_own_experiment() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = grid("euler");
    let file = write(dir.path(), "sweep.yaml", &sweep);
    // Exit 1: a run failed (the a = 1e300 nS points); the dataset is complete.
    let o = neurodyn(dir.path(), &["run", &file, "--out", "sweep", "--quiet"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let head = sweep.split("grid:").next().unwrap();
    let mut alone = Vec::new();
    for (k, (a, amp, n)) in ["2 nS", "4 nS", "1e300 nS"]
        .iter()
        .flat_map(|a| {
            ["50 pA", "250 pA"]
                .into_iter()
                .flat_map(move |amp| ["2", "3"].into_iter().map(move |n| (*a, amp, n)))
        })
        .enumerate()
    {
        let text = head
            .replace(
                "model: {type: adex}",
                &format!("model: {{type: adex, a: {a}}}"),
            )
            .replace("amplitude: 100 pA", &format!("amplitude: {amp}"))
            .replace("neurons: 3", &format!("neurons: {n}"));
        let file = write(dir.path(), &format!("point{k}.yaml"), &text);
        let out = format!("point{k}");
        // The failing points exit 1 (a run failed) but still complete their dataset.
        let o = neurodyn(dir.path(), &["run", &file, "--out", &out, "--quiet"]);
        let fails = a.starts_with("1e300");
        assert_eq!(o.status.code(), Some(i32::from(fails)), "{}", stderr(&o));
        alone.push(dir.path().join(out));
    }
    let merged = |f: &dyn Fn(&std::path::Path) -> ByKey| {
        let mut all = BTreeMap::new();
        for root in &alone {
            all.extend(f(root));
        }
        all
    };
    let sweep_root = dir.path().join("sweep");
    let spikes = |r: &std::path::Path| by_key(r, "spikes", &["neuron", "t_ms"]);
    let traces =
        |r: &std::path::Path| by_key(r, "traces", &["neuron", "t_ms", "V_mV", "I_pA", "w_pA"]);
    let packed_spikes = spikes(&sweep_root);
    assert_eq!(
        packed_spikes.len(),
        16,
        "the 16 runs that do not fail spike"
    );
    assert_eq!(packed_spikes, merged(&spikes));
    assert_eq!(traces(&sweep_root), merged(&traces));
    let mut runs_alone = BTreeMap::new();
    for root in &alone {
        runs_alone.extend(runs_by_key(root));
    }
    assert_eq!(runs_by_key(&sweep_root).len(), 24);
    assert_eq!(runs_by_key(&sweep_root), runs_alone);
    let summary = |r: &std::path::Path| {
        by_key(
            r,
            "summary.parquet",
            &[
                "neuron",
                "n_spikes",
                "rate_Hz",
                "mean_isi_ms",
                "isi_cv_sample",
                "adaptation_index",
                "pattern",
            ],
        )
    };
    assert_eq!(summary(&sweep_root), merged(&summary));
}
