//! The real binary in a temp dir: the README's first command end to end, the tables
//! read back with the parquet crate (no pyarrow), determinism across repeated runs
//! and thread counts, and the overwrite rules.

mod common;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, UInt64Type};
use common::*;

/// The README's "run the main job" command, as written in its first code block.
fn readme_run_command() -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    readme
        .lines()
        .find(|l| l.trim_start().starts_with("cargo run") && l.contains("seed_scenarios.yaml"))
        .expect("README names the seed-scenarios command")
        .split('#')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn readme_command_writes_the_seed_scenarios_dataset() {
    let cmd = readme_run_command();
    assert_eq!(
        cmd,
        "cargo run --release -- run experiments/seed_scenarios.yaml"
    );
    // Same arguments, same relative paths, from a fresh folder holding experiments/.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("experiments")).unwrap();
    std::fs::copy(
        repo().join("experiments/seed_scenarios.yaml"),
        tmp.path().join("experiments/seed_scenarios.yaml"),
    )
    .unwrap();
    let args: Vec<&str> = cmd.split_whitespace().skip(4).collect();
    let out = neurodyn(tmp.path(), &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ds = tmp.path().join("results/seed_scenarios");
    for f in [
        "_SUCCESS",
        "experiment.yaml",
        "provenance.json",
        "runs.parquet",
    ] {
        assert!(ds.join(f).is_file(), "{f} missing");
    }

    let runs = read(&ds.join("runs.parquet"));
    assert_eq!(rows(&runs), 24);
    let status = runs[0].column_by_name("status").unwrap().as_string::<i32>();
    assert!(status.iter().all(|s| s == Some("ok")));
    let labels: Vec<&str> = runs[0]
        .column_by_name("label")
        .unwrap()
        .as_string::<i32>()
        .iter()
        .flatten()
        .collect();
    for model in ["lif", "eif", "adex"] {
        for input in ["constant", "step", "sine", "noise"] {
            assert!(labels.contains(&format!("{model}-{input}").as_str()));
            assert!(labels.contains(&format!("{model}-{input}-ref").as_str()));
        }
    }
    let t_ref = runs[0]
        .column_by_name("model_t_ref_ms")
        .unwrap()
        .as_primitive::<Float64Type>();
    assert_eq!(t_ref.values().iter().filter(|&&t| t == 3.0).count(), 12);
    // Units live in field metadata as well as names.
    let schema = runs[0].schema();
    assert_eq!(
        schema.field_with_name("model_C_pF").unwrap().metadata()["unit"],
        "pF"
    );

    // Spikes: sorted by (run_id, neuron, t_ms); every run's count matches runs.parquet.
    let spikes = read(&ds.join("spikes"));
    let (rid, neuron, t) = (
        u32s(&spikes, "run_id"),
        u32s(&spikes, "neuron"),
        f64s(&spikes, "t_ms"),
    );
    assert!(rows(&spikes) > 1000);
    for k in 1..rid.len() {
        assert!(
            (rid[k - 1], neuron[k - 1], t[k - 1]) < (rid[k], neuron[k], t[k]),
            "row {k} out of order"
        );
    }
    assert!(t.iter().all(|&x| (0.0..100.0).contains(&x)));
    let counts = runs[0]
        .column_by_name("n_spikes")
        .unwrap()
        .as_primitive::<UInt64Type>();
    for (r, &n) in counts.values().iter().enumerate() {
        assert_eq!(rid.iter().filter(|&&x| x == r as u32).count() as u64, n);
    }

    // Traces: every neuron at every step; w present only for AdEx runs.
    let traces = read(&ds.join("traces"));
    assert_eq!(rows(&traces), 24 * 100 * 100);
    let w_nulls: usize = traces
        .iter()
        .map(|b| b.column_by_name("w_pA").unwrap().null_count())
        .sum();
    assert_eq!(w_nulls, 16 * 100 * 100);
    let v = f64s(&traces, "V_mV");
    assert!(v.iter().all(|x| x.is_finite() && *x < -13.0));

    let prov: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ds.join("provenance.json")).unwrap())
            .unwrap();
    assert_eq!(prov["runs"], 24);
    assert_eq!(prov["config_sha256"].as_str().unwrap().len(), 64);
    assert!(prov["rng_stack"]["rand_chacha"]
        .as_str()
        .unwrap()
        .starts_with("0.10"));
}

#[test]
fn same_experiment_gives_identical_tables_whatever_the_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = repo().join("experiments/seed_scenarios.yaml");
    let exp = exp.to_str().unwrap();
    for (out, threads) in [("a", "1"), ("b", "2"), ("c", "2")] {
        let o = neurodyn(
            tmp.path(),
            &["run", exp, "--out", out, "--threads", threads, "--quiet"],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    for other in ["b", "c"] {
        assert_same_dataset(&tmp.path().join("a"), &tmp.path().join(other));
    }
    // The part files themselves are byte-identical, too: batching depends on the
    // plan only, never on the thread count.
    for table in ["spikes", "traces"] {
        let a = files(&tmp.path().join("a").join(table));
        let b = files(&tmp.path().join("b").join(table));
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.file_name(), y.file_name());
            assert_eq!(std::fs::read(x).unwrap(), std::fs::read(y).unwrap());
        }
    }
}

#[test]
fn existing_dataset_is_kept_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = repo().join("experiments/seed_scenarios.yaml");
    let exp = exp.to_str().unwrap();
    assert!(neurodyn(tmp.path(), &["run", exp, "--out", "d", "-q"])
        .status
        .success());
    let before = std::fs::read(tmp.path().join("d/runs.parquet")).unwrap();
    let again = neurodyn(tmp.path(), &["run", exp, "--out", "d"]);
    assert_eq!(again.status.code(), Some(2));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("error: d already holds a dataset") && err.contains("hint: add --force"),
        "{err}"
    );
    assert_eq!(
        before,
        std::fs::read(tmp.path().join("d/runs.parquet")).unwrap()
    );
    assert!(
        neurodyn(tmp.path(), &["run", exp, "--out", "d", "--force", "-q"])
            .status
            .success()
    );
    assert!(tmp.path().join("d/_SUCCESS").exists());

    // A folder with other files is never touched, even with --force.
    std::fs::create_dir(tmp.path().join("mine")).unwrap();
    std::fs::write(tmp.path().join("mine/notes.txt"), "keep").unwrap();
    let o = neurodyn(tmp.path(), &["run", exp, "--out", "mine", "--force"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("mine/notes.txt")).unwrap(),
        "keep"
    );
}

#[test]
fn models_prints_every_parameter_with_default_and_unit() {
    let o = neurodyn(&repo(), &["models"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "lif",
        "eif",
        "adex",
        "tau_w",
        "144",
        "ms",
        "80.5",
        "V_T+5*Delta_T",
        "281",
    ] {
        assert!(text.contains(needle), "missing {needle}");
    }
    assert_eq!(neurodyn(&repo(), &["models", "hh"]).status.code(), Some(2));
}

#[test]
fn shipped_experiments_plan_cleanly() {
    for (file, runs) in [("seed_scenarios.yaml", 24), ("brette_gerstner.yaml", 24)] {
        let o = neurodyn(&repo(), &["plan", &format!("experiments/{file}")]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains(&format!("{runs} runs")), "{text}");
    }
}

#[test]
fn unwritable_output_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("file"), "x").unwrap();
    let exp = repo().join("experiments/seed_scenarios.yaml");
    let o = neurodyn(
        tmp.path(),
        &["run", exp.to_str().unwrap(), "--out", "file/sub"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("error: ") && err.contains("hint: "), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn completions_are_generated_for_each_shell() {
    let tmp = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run_ok(tmp.path(), &["completions", shell]);
        // Every subcommand and a flag of `run` are offered (fish spells it `-l resume`).
        for word in ["run", "plan", "status", "completions", "resume"] {
            assert!(out.contains(word), "{shell} completions lack {word}");
        }
    }
    let bad = neurodyn(tmp.path(), &["completions", "cmd.exe"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("possible values"));
}

#[test]
fn output_piped_into_head_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(
        tmp.path(),
        "wide.yaml",
        "name: wide\nduration: 10 ms\ndt: 0.1 ms\nmodel: {type: lif}\ninput: {type: constant, amplitude: 0 pA}\ngrid: {input.amplitude: {linspace: [0 pA, 1 nA, 50000]}}\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_neurodyn"))
        .args(["plan", &exp, "--format", "tsv"])
        .current_dir(tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read the header line, then close the pipe as `head -1` does.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("run_id"), "{first}");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
}

/// A small experiment that writes every table: traces, per-neuron values
/// (neurons.parquet), a swept current (fi_curve.parquet) and sine frequencies in Hz.
const EVERY_TABLE: &str = "name: every_table\nduration: 50 ms\ndt: 0.1 ms\nneurons: 3\n\
    model: {type: lif}\n\
    input: {type: sine, offset: 300 pA, amplitude: 100 pA, frequency: 20 Hz}\n\
    per_neuron: {input.frequency: {list: [4.1 Hz, 20 Hz, 0.0069 kHz]}}\n\
    record: {variables: [V], neurons: {first: 1}}\n\
    grid:\n  input.offset: [300 pA, 500 pA]\n";

#[test]
fn tables_carry_hz_a_text_seed_the_experiment_and_its_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "e.yaml", EVERY_TABLE);
    run_ok(tmp.path(), &["run", &exp, "--out", "d", "-q"]);
    let ds = tmp.path().join("d");
    let runs = read(&ds.join("runs.parquet"));
    let schema = runs[0].schema();
    let f = schema.field_with_name("input_frequency_Hz").unwrap();
    assert_eq!(f.metadata()["unit"], "Hz");
    assert!(schema.fields().iter().all(|f| !f.name().contains("kHz")));
    // Every run's own frequency is NaN (it varies per neuron); the rule says Hz.
    let rule = runs[0]
        .column_by_name("input_frequency_Hz_per_neuron")
        .unwrap()
        .as_string::<i32>();
    assert_eq!(rule.value(0), "list(4.1 Hz, 20 Hz, 6.9 Hz)");
    let neurons = read(&ds.join("neurons.parquet"));
    assert_eq!(
        f64s(&neurons, "input_frequency_Hz"),
        [4.1, 20.0, 6.9, 4.1, 20.0, 6.9]
    );
    let experiment = runs[0].column_by_name("experiment").unwrap();
    let experiment = experiment.as_string::<i32>();
    assert!(experiment.iter().all(|e| e == Some("every_table")));
    // The seed is decimal text of a u64 (plan --format tsv writes the same).
    let seeds = runs[0].column_by_name("seed").unwrap().as_string::<i32>();
    let tsv = run_ok(tmp.path(), &["plan", &exp, "--format", "tsv"]);
    for (k, line) in tsv.lines().skip(1).enumerate() {
        let planned = line.split('\t').nth(3).unwrap();
        assert_eq!(seeds.value(k), planned);
        assert!(planned.parse::<u64>().is_ok(), "{planned}");
    }

    // Every Parquet file says which experiment, config, neurodyn and format.
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ds.join("_neurodyn.json")).unwrap()).unwrap();
    let tables = [
        "runs.parquet",
        "neurons.parquet",
        "summary.parquet",
        "fi_curve.parquet",
        "spikes",
        "traces",
    ];
    for path in tables.iter().flat_map(|table| {
        let paths = files(&ds.join(table));
        assert!(
            !paths.is_empty() && paths.iter().all(|p| p.is_file()),
            "{table}"
        );
        paths
    }) {
        let file = std::fs::File::open(&path).unwrap();
        let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
        let kv: std::collections::HashMap<String, String> =
            parquet::file::reader::FileReader::metadata(&reader)
                .file_metadata()
                .key_value_metadata()
                .unwrap()
                .iter()
                .filter_map(|k| Some((k.key.clone(), k.value.clone()?)))
                .collect();
        let want = [
            ("neurodyn.experiment", "every_table".to_string()),
            (
                "neurodyn.config_sha256",
                meta["config_sha256"].as_str().unwrap().to_string(),
            ),
            ("neurodyn.version", env!("CARGO_PKG_VERSION").to_string()),
            ("neurodyn.format", meta["format"].to_string()),
        ];
        for (key, value) in want {
            assert_eq!(kv.get(key), Some(&value), "{}: {key}", path.display());
        }
    }
}

#[test]
fn a_dataset_of_another_format_is_refused_with_a_way_out() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "e.yaml", EVERY_TABLE);
    run_ok(tmp.path(), &["run", &exp, "--out", "d", "-q"]);
    let marker = tmp.path().join("d/_neurodyn.json");
    let text = std::fs::read_to_string(&marker).unwrap();
    let old = text.replace("\"format\": 3", "\"format\": 2");
    assert_ne!(old, text, "{text}");
    std::fs::write(&marker, old).unwrap();
    for args in [
        &["analyze", "d"][..],
        &["run", &exp, "--out", "d", "--resume"],
        &["status", "d"],
        &["report", "d"],
    ] {
        let o = neurodyn(tmp.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert!(
            err.starts_with("error: d holds a dataset of format 2; this neurodyn")
                && err.contains("reads and resumes format 3 only"),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("hint: run the experiment again with this neurodyn")
                && err.contains("--out d --force")
                && err.contains("the neurodyn version that wrote it"),
            "{args:?}: {err}"
        );
    }
    // --force replaces it with a dataset of this format.
    run_ok(tmp.path(), &["run", &exp, "--out", "d", "--force", "-q"]);
    run_ok(tmp.path(), &["analyze", "d"]);
}
