//! `neurodyn check` cannot be fooled: traces are compared row by row, a summary that
//! no longer matches the spikes is refused, tolerances come from the baseline (or
//! the command line) and never from the dataset under test, and a baseline of another
//! experiment is warned about. The datasets differ in legitimate ways (root seed,
//! recording) wherever possible, so that no test depends on what tampering a
//! dataset verification would catch first.

mod common;
use arrow::array::{Array, ArrayRef, AsArray, Float64Array, RecordBatch};
use arrow::datatypes::Float64Type;
use common::{neurodyn, repo, stderr};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use std::path::Path;
use std::sync::Arc;

/// The Naud et al. tonic cell under a current step plus weak white noise: two root
/// seeds move every spike by up to ~0.5 ms but leave every spike count and pattern as
/// they are, so only tolerance-scaled quantities differ.
const TONIC: &str = "name: check_tonic
seed: 1
duration: 300 ms
dt: 0.1 ms
method: rk4
neurons: 2
model: {type: adex, C: 200 pF, g_L: 10 nS, E_L: -70 mV, V_T: -50 mV, Delta_T: 2 mV, V_peak: 0 mV, a: 2 nS, tau_w: 30 ms, b: 0 pA, V_reset: -58 mV, t_ref: 0 ms}
input:
  - {type: step, amplitude: 500 pA, start: 0 ms}
  - {type: noise, mean: 0 pA, sigma: 2 pA*sqrt(ms)}
grid:
  input[0].amplitude: [450 pA, 500 pA, 550 pA]
record: {variables: [V, I, w], every: 1}
";

/// 3 runs × 2 neurons × 3000 steps.
const TONIC_TRACE_ROWS: u64 = 18_000;

/// The loosest tolerances a dataset could ask for.
const LOOSE: &str = "check: {rtol: 1, atol: 1e9, spike_tol: 1000 ms}\n";

/// `TONIC` with its seed and recording replaced and `extra` appended.
fn tonic(seed: u32, record: &str, extra: &str) -> String {
    let text = TONIC
        .replace("seed: 1\n", &format!("seed: {seed}\n"))
        .replace("record: {variables: [V, I, w], every: 1}", record);
    format!("{text}{extra}")
}

const RECORD_ALL: &str = "record: {variables: [V, I, w], every: 1}";

/// Run `yaml` (text) into `dir/out`, with extra arguments.
fn run(dir: &Path, out: &str, yaml: &str, args: &[&str]) {
    let file = dir.join(format!("{out}.yaml"));
    std::fs::write(&file, yaml).unwrap();
    let mut all = vec!["run", file.to_str().unwrap(), "--out", out, "-q"];
    all.extend_from_slice(args);
    let o = neurodyn(dir, &all);
    assert!(o.status.success(), "run {out}: {}", stderr(&o));
}

/// `check NEW --baseline BASE [args]`: exit code, stdout, stderr.
fn check(dir: &Path, new: &str, base: &str, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["check", new, "--baseline", base];
    all.extend_from_slice(args);
    let o = neurodyn(dir, &all);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr(&o),
    )
}

fn json_report(dir: &Path, new: &str, base: &str) -> serde_json::Value {
    let (code, out, err) = check(dir, new, base, &["--format", "json"]);
    assert!(code == 0 || code == 1, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn kinds(report: &serde_json::Value) -> Vec<String> {
    let mut k: Vec<String> = report["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap().to_string())
        .collect();
    k.dedup();
    k
}

#[test]
fn traces_that_differ_fail_the_check_by_run_neuron_column_and_time() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Below rheobase (about 200 pA): no spikes on either side, so the summaries and
    // F-I curves agree and only the noisy voltage traces differ between the seeds.
    let quiet = |seed, record: &str| {
        tonic(seed, record, "")
            .replace("500 pA, start", "100 pA, start")
            .replace("[450 pA, 500 pA, 550 pA]", "[100 pA, 120 pA, 140 pA]")
    };
    run(dir, "a", &quiet(1, RECORD_ALL), &[]);
    run(dir, "b", &quiet(2, RECORD_ALL), &[]);
    let report = json_report(dir, "a", "a");
    assert_eq!(report["differences"].as_array().unwrap().len(), 0);
    assert_eq!(
        report["trace_rows_compared"].as_u64(),
        Some(TONIC_TRACE_ROWS)
    );
    assert_eq!(report["spikes_compared"].as_u64(), Some(0));

    let (code, out, err) = check(dir, "b", "a", &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(&format!("{TONIC_TRACE_ROWS} trace rows")),
        "{out}"
    );
    let report = json_report(dir, "b", "a");
    assert_eq!(kinds(&report), ["trace"], "{report}");
    let first = &report["differences"][0];
    assert!(
        first["label"].as_str().unwrap().starts_with("adex"),
        "{first}"
    );
    assert!(first["neuron"].is_u64(), "{first}");
    let quantity = first["quantity"].as_str().unwrap();
    let time: f64 = quantity
        .strip_prefix("trace ")
        .and_then(|q| q.split_once(" at t_ms "))
        .and_then(|(_, t)| t.parse().ok())
        .unwrap_or_else(|| panic!("{quantity}"));
    assert!((0.0..300.0).contains(&time), "{quantity}");
    // Each value column of each neuron of each run (3 × 2 × 3), worst first; t_ms is
    // on the same grid on both sides.
    let all = report["differences"].as_array().unwrap();
    assert_eq!(all.len(), 18, "{report}");
    let scores: Vec<f64> = all.iter().map(|d| d["score"].as_f64().unwrap()).collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1] && w[1] > 1.0),
        "{scores:?}"
    );
    for column in ["V_mV", "I_pA", "w_pA"] {
        let n = all
            .iter()
            .filter(|d| {
                d["quantity"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("trace {column} at t_ms "))
            })
            .count();
        assert_eq!(n, 6, "{column}: {report}");
    }

    // Recording every other step leaves the run keys and spikes as they are but
    // halves the rows: each neuron of each run is named with both row counts.
    run(
        dir,
        "sparse",
        &quiet(1, "record: {variables: [V, I, w], every: 2}"),
        &[],
    );
    let report = json_report(dir, "sparse", "a");
    let rows: Vec<&serde_json::Value> = report["differences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["quantity"] == "trace rows")
        .collect();
    assert_eq!(rows.len(), 6, "{report}");
    assert_eq!(
        (rows[0]["baseline"].as_str(), rows[0]["new"].as_str()),
        (Some("3000"), Some("1500"))
    );

    // A recorded variable missing on one side is named once.
    run(
        dir,
        "no_w",
        &quiet(1, "record: {variables: [V, I], every: 1}"),
        &[],
    );
    let (code, out, _) = check(dir, "no_w", "a", &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("trace column w_pA"), "{out}");
    assert!(out.contains("FAILED: 1 differences"), "{out}");
}

#[test]
fn traces_are_matched_by_run_whatever_the_part_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let yaml = tonic(1, RECORD_ALL, "");
    run(dir, "one", &yaml, &[]);
    // Two shards write interleaved runs into two part files of their own.
    run(dir, "two", &yaml, &["--shard", "0/2"]);
    run(dir, "two", &yaml, &["--shard", "1/2"]);
    let parts = std::fs::read_dir(dir.join("two/traces")).unwrap().count();
    assert_eq!(parts, 2);
    for (new, base) in [("two", "one"), ("one", "two")] {
        let report = json_report(dir, new, base);
        assert_eq!(
            report["differences"].as_array().unwrap().len(),
            0,
            "{report}"
        );
        assert_eq!(
            report["trace_rows_compared"].as_u64(),
            Some(TONIC_TRACE_ROWS)
        );
    }
}

/// Rewrite a Parquet file with one value of a Float64 column changed.
fn change_value(path: &Path, column: &str, row: usize, delta: f64) {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let schema = reader.schema().clone();
    let batches: Vec<RecordBatch> = reader.build().unwrap().map(|b| b.unwrap()).collect();
    drop(std::fs::remove_file(path));
    let mut w = ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None).unwrap();
    let mut changed = false;
    for (k, b) in batches.iter().enumerate() {
        let idx = b.schema().index_of(column).unwrap();
        let mut cols: Vec<ArrayRef> = b.columns().to_vec();
        if k == 0 {
            let a = b.column(idx).as_primitive::<Float64Type>();
            assert!(row < a.len() && a.null_count() == 0);
            let mut v = a.values().to_vec();
            v[row] += delta;
            cols[idx] = Arc::new(Float64Array::from(v));
            changed = true;
        }
        w.write(&RecordBatch::try_new(b.schema(), cols).unwrap())
            .unwrap();
    }
    w.close().unwrap();
    assert!(changed);
}

#[test]
fn an_altered_trace_value_in_a_copy_does_not_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let yaml = std::fs::read_to_string(repo().join("tests/golden/naud2008.yaml")).unwrap();
    run(dir, "a", &yaml, &[]);
    run(dir, "b", &yaml, &[]);
    let (code, out, err) = check(dir, "b", "a", &[]);
    assert_eq!(code, 0, "{out}{err}");
    let parts: Vec<_> = std::fs::read_dir(dir.join("b/traces")).unwrap().collect();
    assert_eq!(parts.len(), 1);
    change_value(&parts[0].as_ref().unwrap().path(), "V_mV", 500, 1e-3);
    let (code, out, err) = check(dir, "b", "a", &[]);
    // Exit 2 is as good: a verification of part files may refuse the rewritten part
    // before anything is compared. What must never happen is exit 0.
    assert!(
        (code == 1 && out.contains("trace V_mV at t_ms") && out.contains("FAILED: 1 differences"))
            || (code == 2 && err.starts_with("error: ")),
        "exit {code}\n{out}{err}"
    );
}

#[test]
fn a_stale_summary_or_fi_curve_is_refused_with_a_hint_to_reanalyze() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run(dir, "base", &tonic(1, RECORD_ALL, ""), &[]);
    run(dir, "new", &tonic(2, RECORD_ALL, ""), &[]);
    let o = neurodyn(dir, &["check", "base", "--write-golden", "base.json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (code, out, err) = check(dir, "new", "base.json", &[]);
    assert_eq!(code, 1, "{out}{err}");
    // The spikes changed (another seed), but the summary files are the old ones.
    let keep = dir.join("keep.parquet");
    for file in ["summary.parquet", "fi_curve.parquet"] {
        std::fs::copy(dir.join("new").join(file), &keep).unwrap();
        std::fs::copy(dir.join("base").join(file), dir.join("new").join(file)).unwrap();
        for baseline in ["base.json", "base"] {
            let (code, out, err) = check(dir, "new", baseline, &[]);
            assert_eq!(code, 2, "{file} against {baseline}: {out}{err}");
            assert!(
                err.starts_with(&format!("error: new/{file} is stale: ")),
                "{err}"
            );
            assert!(
                err.contains("\nhint: recompute it with `neurodyn analyze new`"),
                "{err}"
            );
            assert!(out.is_empty(), "{out}");
        }
        std::fs::copy(&keep, dir.join("new").join(file)).unwrap();
    }
    // The same dataset, reanalyzed: compared again, and its differences shown.
    let o = neurodyn(dir, &["analyze", "new"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (code, out, _) = check(dir, "new", "base.json", &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("statistic"), "{out}");
    // Without summary files the statistics are recomputed all the same.
    for file in ["summary.parquet", "fi_curve.parquet"] {
        std::fs::remove_file(dir.join("new").join(file)).unwrap();
    }
    let (code2, out2, _) = check(dir, "new", "base.json", &[]);
    assert_eq!((code2, out2), (code, out));
}

#[test]
fn the_dataset_under_test_cannot_loosen_its_own_tolerances() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run(dir, "base", &tonic(1, RECORD_ALL, ""), &[]);
    // Another seed moves spikes, statistics and traces, and the dataset's own
    // experiment asks for tolerances that would hide all of it.
    run(dir, "new", &tonic(2, RECORD_ALL, LOOSE), &[]);
    let o = neurodyn(dir, &["check", "base", "--write-golden", "base.json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for baseline in ["base", "base.json"] {
        let (code, out, err) = check(dir, "new", baseline, &[]);
        assert_eq!(code, 1, "against {baseline}: {out}{err}");
        assert!(
            out.contains("(rtol 0.000001, atol 0.000000001, spike tolerance 0.001 ms)"),
            "{out}"
        );
        assert!(out.contains("statistic"), "{out}");
        // Nothing but tolerance-scaled quantities differ: flags (which win over
        // everything) as loose as the dataset's section let it pass.
        let (code, out, err) = check(
            dir,
            "new",
            baseline,
            &["--rtol", "1", "--atol", "1e9", "--spike-tol", "1000"],
        );
        assert_eq!(code, 0, "against {baseline}: {out}{err}");
    }
    assert!(check(dir, "new", "base", &[]).1.contains("spike_time"));
}

#[test]
fn the_baseline_sets_the_tolerances_and_flags_win_over_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run(dir, "base", &tonic(1, RECORD_ALL, LOOSE), &[]);
    run(dir, "new", &tonic(2, RECORD_ALL, ""), &[]);
    let o = neurodyn(dir, &["check", "base", "--write-golden", "base.json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let golden = std::fs::read_to_string(dir.join("base.json")).unwrap();
    assert!(
        golden.contains(
            "\"tolerances\": {\"rtol\":1.0,\"atol\":1000000000.0,\"spike_tol_ms\":1000.0}"
        ),
        "{golden}"
    );
    for baseline in ["base", "base.json"] {
        let (code, out, err) = check(dir, "new", baseline, &[]);
        assert_eq!(code, 0, "against {baseline}: {out}{err}");
        assert!(
            out.contains("(rtol 1, atol 1000000000, spike tolerance 1000 ms)"),
            "{out}"
        );
        let (code, out, _) = check(dir, "new", baseline, &["--rtol", "1e-6", "--atol", "1e-9"]);
        assert_eq!(code, 1, "against {baseline}: {out}");
        assert!(
            out.contains("(rtol 0.000001, atol 0.000000001, spike tolerance 1000 ms)"),
            "{out}"
        );
    }
}

#[test]
fn a_baseline_of_another_experiment_or_experiment_file_is_warned_about() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run(dir, "a", &tonic(1, RECORD_ALL, ""), &[]);
    let golden = repo().join("tests/golden/naud2008.golden.json");
    let (code, out, err) = check(dir, "a", golden.to_str().unwrap(), &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(
            "warning: baseline is of experiment 'golden_naud2008', dataset of 'check_tonic'\n"
        ),
        "{err}"
    );
    // Still compared: every run is missing on one side.
    assert!(out.contains("missing_run"), "{out}");
    // Same name, another experiment file (the seed changed): compared, and warned.
    run(dir, "b", &tonic(2, RECORD_ALL, ""), &[]);
    let (code, out, err) = check(dir, "b", "a", &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("warning: baseline and dataset are both of experiment 'check_tonic' but were run from different experiment files"),
        "{err}"
    );
    let (code, _, err) = check(dir, "a", "a", &[]);
    assert_eq!(code, 0);
    assert!(!err.contains("warning"), "{err}");
}
