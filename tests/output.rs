//! What `run` writes to stderr without a terminal (progress lines, `--quiet`, the JSON
//! log) and the JSON documents of `plan`, `status` and `models` (docs/JSON.md). The
//! test harness has no terminal, so `run` logs lines here as it would into a SLURM
//! output file.

mod common;

use common::*;
use serde_json::Value;

/// Six small LIF runs, one per current.
const SWEEP: &str = "name: sweep\nduration: 20 ms\ndt: 0.1 ms\nmethod: euler\nmodel: {type: lif}\n\
    input: {type: constant, amplitude: 0 pA}\n\
    grid:\n  input.amplitude: [100 pA, 200 pA, 300 pA, 400 pA, 500 pA, 600 pA]\n";
const RUNS: usize = 6;

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

/// Every line of `text` as JSON; fails on a line that is not.
fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn a_log_gets_a_progress_line_per_run_and_ends_with_the_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "sweep.yaml", SWEEP);
    let o = neurodyn(
        tmp.path(),
        &["run", &exp, "--out", "d", "--log-interval", "0"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let all = lines(&err);
    let progress: Vec<&&str> = all.iter().filter(|l| l.starts_with("progress: ")).collect();
    // One as the runs start, one as each finishes.
    assert!(progress.len() > RUNS, "{err}");
    assert!(
        progress
            .iter()
            .any(|l| l.starts_with(&format!("progress: {RUNS}/{RUNS} runs, 0 failed, "))),
        "{err}"
    );
    assert!(
        progress
            .iter()
            .all(|l| l.contains(" neuron-steps/s, elapsed ")),
        "{err}"
    );
    let summaries = all.iter().filter(|l| l.starts_with("d: ran ")).count();
    assert_eq!(summaries, 1, "{err}");
    assert!(
        all.last()
            .unwrap()
            .starts_with(&format!("d: ran {RUNS} runs, 0 failed")),
        "{err}"
    );
}

#[test]
fn quiet_prints_the_summary_line_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "sweep.yaml", SWEEP);
    let o = neurodyn(tmp.path(), &["run", &exp, "--out", "d", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(lines(&err).len(), 1, "{err}");
    assert!(
        err.starts_with(&format!("d: ran {RUNS} runs, 0 failed, "))
            && err.contains("dataset complete"),
        "{err}"
    );
}

/// `run EXP --out d` with a JSON log and a progress line per finished run.
fn run_json_log(dir: &std::path::Path, exp: &str) -> std::process::Output {
    let args = [
        "run",
        exp,
        "--out",
        "d",
        "--log-format",
        "json",
        "--log-interval",
        "0",
    ];
    neurodyn(dir, &args)
}

#[test]
fn a_json_log_is_json_to_its_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "sweep.yaml", SWEEP);
    let o = run_json_log(tmp.path(), &exp);
    assert!(o.status.success(), "{}", stderr(&o));
    let events = json_lines(&stderr(&o));
    assert!(events.iter().all(|e| e["version"] == 1), "{events:?}");
    let progress: Vec<&Value> = events.iter().filter(|e| e["event"] == "progress").collect();
    assert!(progress.len() > RUNS, "{events:?}");
    assert!(progress.iter().all(|p| p["total"] == RUNS), "{events:?}");
    assert_eq!(progress.last().unwrap()["done"], RUNS);
    let last = events.last().unwrap();
    assert_eq!(last["event"], "summary", "{last}");
    assert_eq!(
        (
            &last["ran"],
            &last["failed"],
            &last["committed"],
            &last["total"]
        ),
        (
            &Value::from(RUNS),
            &Value::from(0),
            &Value::from(RUNS),
            &Value::from(RUNS)
        )
    );
    assert_eq!(
        (&last["complete"], &last["stopped"]),
        (&Value::Bool(true), &Value::Bool(false))
    );
    assert_eq!(last["shard"]["count"], 1);
    assert_eq!(last["analysis"]["fi_rows"], RUNS, "{last}");
    assert_eq!(events.iter().filter(|e| e["event"] == "summary").count(), 1);
}

#[test]
fn a_json_log_reports_failed_runs_and_usage_errors_as_json() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "f.yaml", FAILING);
    let o = run_json_log(tmp.path(), &exp);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let events = json_lines(&stderr(&o));
    let progress = events.iter().rfind(|e| e["event"] == "progress").unwrap();
    assert_eq!(
        (&progress["done"], &progress["failed"]),
        (&5.into(), &1.into())
    );
    let errors: Vec<&Value> = events.iter().filter(|e| e["event"] == "error").collect();
    assert_eq!(errors.len(), 1, "{events:?}");
    // The run of 1e15 pA, by its run id in the plan.
    let plan = json_lines(&run_ok(
        tmp.path(),
        &["plan", &exp, "--format", "json", "--runs"],
    ));
    let culprit = plan
        .iter()
        .find(|r| r["parameters"]["input_amplitude_pA"] == 1e15)
        .expect("the failing run is planned");
    assert_eq!(errors[0]["run_id"], culprit["run_id"], "{events:?}");
    assert!(errors[0]["hints"][0]
        .as_str()
        .unwrap()
        .contains("runs.parquet"));
    let last = events.last().unwrap();
    assert_eq!(
        (&last["event"], &last["ran"], &last["failed"]),
        (&"summary".into(), &5.into(), &1.into())
    );

    // Refused before anything runs: still one JSON line, and the usual exit code.
    let o = neurodyn(
        tmp.path(),
        &[
            "run",
            &exp,
            "--out",
            "e",
            "--log-format",
            "json",
            "--threads",
            "0",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let events = json_lines(&stderr(&o));
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (&events[0]["event"], &events[0]["version"]),
        (&"error".into(), &1.into())
    );
    assert!(events[0]["message"].as_str().unwrap().contains("--threads"));
    assert!(!events[0]["hints"].as_array().unwrap().is_empty());

    // A plan warning, too.
    let coarse = write(
        tmp.path(),
        "coarse.yaml",
        "name: coarse\nduration: 20 ms\ndt: 1 ms\nmodel: {type: lif, tau_m: 5 ms, R: 100 MOhm}\n",
    );
    let o = neurodyn(
        tmp.path(),
        &["run", &coarse, "--out", "c", "--log-format", "json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let events = json_lines(&stderr(&o));
    assert_eq!(events[0]["event"], "warning", "{events:?}");
    assert!(events[0]["message"].as_str().unwrap().contains("dt"));
    // And in plan's document.
    let doc = json(&run_ok(tmp.path(), &["plan", &coarse, "--format", "json"]));
    let message = doc["warnings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("coarse.yaml:3:") && message.contains("dt"),
        "{doc}"
    );
}

#[test]
fn plan_as_json_and_json_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "sweep.yaml", SWEEP);
    let doc = json(&run_ok(tmp.path(), &["plan", &exp, "--format", "json"]));
    assert_eq!(doc["version"], 1);
    assert_eq!(
        (&doc["name"], &doc["runs"]),
        (&"sweep".into(), &RUNS.into())
    );
    assert_eq!(doc["neuron_steps"], RUNS * 200);
    assert_eq!(doc["axes"][0]["path"], "grid.input.amplitude");
    assert_eq!(doc["axes"][0]["size"], RUNS);
    let e = &doc["output_estimate"];
    assert_eq!(
        e["total_bytes"].as_u64().unwrap(),
        e["trace_bytes"].as_u64().unwrap() + e["spike_bytes"].as_u64().unwrap()
    );
    assert!(doc["warnings"].as_array().unwrap().is_empty());

    let out = run_ok(tmp.path(), &["plan", &exp, "--format", "json", "--runs"]);
    let runs = json_lines(&out);
    assert_eq!(runs.len(), RUNS);
    for (k, r) in runs.iter().enumerate() {
        assert_eq!((&r["version"], &r["run_id"]), (&1.into(), &k.into()), "{r}");
        assert!(r["run_key"].is_string() && r["seed"].is_u64(), "{r}");
        assert_eq!(r["parameters"]["model"], "lif");
    }
    let mut currents: Vec<f64> = runs
        .iter()
        .map(|r| r["parameters"]["input_amplitude_pA"].as_f64().unwrap())
        .collect();
    currents.sort_by(f64::total_cmp);
    assert_eq!(currents, [100.0, 200.0, 300.0, 400.0, 500.0, 600.0]);

    let o = neurodyn(tmp.path(), &["plan", &exp, "--runs"]);
    assert_eq!(o.status.code(), Some(2), "--runs without --format json");
}

#[test]
fn status_as_json_counts_the_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "f.yaml", FAILING);
    let o = neurodyn(tmp.path(), &["run", &exp, "--out", "d", "-q"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let o = neurodyn(
        tmp.path(),
        &["status", "d", "--format", "json", "--shards", "2"],
    );
    // Exit codes as in text: a failed run makes it 1.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let doc = json(&String::from_utf8_lossy(&o.stdout));
    assert_eq!(doc["version"], 1);
    let shards = doc["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 2);
    let planned: u64 = shards.iter().map(|s| s["planned"].as_u64().unwrap()).sum();
    assert_eq!(planned, 5);
    assert_eq!(
        (
            &doc["totals"]["planned"],
            &doc["totals"]["done"],
            &doc["totals"]["failed"],
            &doc["totals"]["missing"]
        ),
        (&5.into(), &5.into(), &1.into(), &0.into())
    );
    assert_eq!(doc["complete"], true);
    assert!(doc["damage"].as_array().unwrap().is_empty());
}

#[test]
fn models_as_json_list_every_parameter() {
    let doc = json(&run_ok(&repo(), &["models", "--format", "json"]));
    assert_eq!(doc["version"], 1);
    let models = doc["models"].as_array().unwrap();
    let names: Vec<&str> = models.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["lif", "eif", "adex", "izhikevich"]);
    let adex = &models[2];
    let param = |name: &str| {
        adex["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no {name}: {adex}"))
            .clone()
    };
    assert_eq!(
        (
            param("tau_w")["default"].as_f64(),
            param("tau_w")["unit"].as_str()
        ),
        (Some(144.0), Some("ms"))
    );
    assert_eq!(param("tau_w")["column_unit"], "ms");
    assert!(param("V_peak")["default"].is_null());
    assert_eq!(param("V_peak")["default_rule"], "V_T+5*Delta_T");
    assert!(adex["equations"].as_str().unwrap().contains("dw/dt"));
    // A rate: its default in the engine's 1/ms, its runs-table column in Hz.
    let izh_a = models[3]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "a")
        .unwrap();
    assert_eq!(
        (&izh_a["default"], &izh_a["unit"], &izh_a["column_unit"]),
        (&0.03.into(), &"kHz".into(), &"Hz".into())
    );

    let one = json(&run_ok(&repo(), &["models", "lif", "--format", "json"]));
    assert_eq!(one["models"].as_array().unwrap().len(), 1);
}

/// `record.precision: f32` stores each recorded value as the f64 run's value rounded to
/// the nearest f32, and nothing else changes: same rows, times and spikes.
#[test]
fn f32_traces_are_the_f64_traces_rounded() {
    let dir = tempfile::tempdir().unwrap();
    let exp = |precision: &str| {
        format!(
            "name: adex\nduration: 50 ms\ndt: 0.1 ms\nneurons: 4\nmodel: {{type: adex}}\n\
             input: {{type: constant, amplitude: 800 pA}}\n\
             record: {{variables: [V, I, w], every: 3{precision}}}\n"
        )
    };
    let wide = write(dir.path(), "wide.yaml", &exp(""));
    let narrow = write(dir.path(), "narrow.yaml", &exp(", precision: f32"));
    run_ok(dir.path(), &["run", &wide, "--out", "w", "--quiet"]);
    run_ok(dir.path(), &["run", &narrow, "--out", "n", "--quiet"]);
    let (w, n) = (
        read(&dir.path().join("w/traces")),
        read(&dir.path().join("n/traces")),
    );
    assert!(rows(&w) > 4 * 10, "something was recorded");
    assert_eq!(rows(&w), rows(&n));
    assert_eq!(f64s(&w, "t_ms"), f64s(&n, "t_ms"), "times stay f64");
    assert_eq!(u32s(&w, "neuron"), u32s(&n, "neuron"));
    for name in ["V_mV", "I_pA", "w_pA"] {
        let narrow: Vec<f32> = n
            .iter()
            .flat_map(|b| {
                col::<arrow::datatypes::Float32Type>(b, name)
                    .values()
                    .to_vec()
            })
            .collect();
        let rounded: Vec<f32> = f64s(&w, name).iter().map(|&x| x as f32).collect();
        assert_eq!(narrow, rounded, "{name}");
    }
    let spikes = |d: &str| f64s(&read(&dir.path().join(d).join("spikes")), "t_ms");
    assert!(!spikes("w").is_empty());
    assert_eq!(spikes("w"), spikes("n"));
    // The readers widen f32 back: the report's figures and `check` read it like f64.
    run_ok(dir.path(), &["check", "n", "--baseline", "w"]);
}
