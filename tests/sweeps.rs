//! Sweeps through the real binary: determinism across shards, grid order and added
//! points; resume after kill -9 at random moments; failure policy; status; the plan's
//! TSV; and bounded memory on a 100,000-run sweep.

mod common;

use arrow::array::AsArray;
use arrow::datatypes::{Float64Type, UInt32Type};
use common::*;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A small AdEx sweep with noise, so that seeds matter: 3 × 4 grid × 2 replicates.
const SWEEP: &str = "name: sweep
seed: 7
duration: 200 ms
dt: 0.1 ms
method: rk4
neurons: 5
model: {type: adex}
input: [{type: constant, amplitude: 0 pA}, {type: noise, mean: 0 pA, sigma: 300 pA*sqrt(ms)}]
record: {variables: [V, w], neurons: {first: 2}, every: 10}
grid:
  input[0].amplitude: {linspace: [400 pA, 1 nA, 4]}
  model.b: [0 pA, 40 pA, 80.5 pA]
replicates: 2
";

#[test]
fn three_shards_merge_into_the_single_process_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "sweep.yaml", SWEEP);
    run_ok(tmp.path(), &["run", &exp, "--out", "single", "-q"]);
    // Three shards at once, into one dataset: no clashes, and the last one finishes it.
    let children: Vec<_> = (0..3)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_neurodyn"))
                .args(["run", &exp, "--out", "sharded", "-q", "--threads", "1"])
                .args(["--shard", &format!("{i}/3")])
                .current_dir(tmp.path())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let sharded = tmp.path().join("sharded");
    assert!(sharded.join("_SUCCESS").exists());
    assert_same_dataset(&tmp.path().join("single"), &sharded);
    let status = neurodyn(tmp.path(), &["status", "sharded"]);
    assert!(status.status.success(), "{}", stderr(&status));
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("2/3") && text.contains("0 missing"), "{text}");
}

#[test]
fn shards_are_balanced_and_disjoint() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "sweep.yaml", SWEEP);
    let o = neurodyn(
        tmp.path(),
        &["run", &exp, "--out", "d", "-q", "--shard", "1/4"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // One shard of four: a quarter of the 24 runs, and status exits 1 while runs miss.
    let status = neurodyn(tmp.path(), &["status", "d"]);
    assert_eq!(status.status.code(), Some(1));
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("1/4\t6\t6\t0\t0"), "{text}");
    assert!(text.contains("0/4\t6\t0\t0\t6"), "{text}");
    assert!(!tmp.path().join("d/_SUCCESS").exists());
}

#[test]
fn grid_order_does_not_change_the_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let a = write(tmp.path(), "a.yaml", SWEEP);
    let reordered = SWEEP
        .replace(
            "{linspace: [400 pA, 1 nA, 4]}",
            "[1 nA, 0.8 nA, 600 pA, 400 pA]",
        )
        .replace("  model.b: [0 pA, 40 pA, 80.5 pA]\n", "");
    let reordered = reordered.replace("grid:\n", "grid:\n  model.b: [80.5 pA, 0 pA, 40 pA]\n");
    let b = write(tmp.path(), "b.yaml", &reordered);
    run_ok(tmp.path(), &["run", &a, "--out", "a", "-q"]);
    run_ok(tmp.path(), &["run", &b, "--out", "b", "-q"]);
    // Bit-identical data pages: run ids and batches follow run keys, not the grid.
    // The footers differ only where they record the hash of the experiment's text
    // (its key-value metadata), which differs: their row groups are the same.
    let body = |bytes: &[u8]| -> Vec<u8> {
        let n = bytes.len();
        let footer = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap()) as usize;
        bytes[..n - 8 - footer].to_vec()
    };
    let row_groups = |path: &std::path::Path| {
        let file = std::fs::File::open(path).unwrap();
        let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
        parquet::file::reader::FileReader::metadata(&reader)
            .row_groups()
            .to_vec()
    };
    for table in ["runs.parquet", "spikes", "traces"] {
        let (fa, fb) = (
            files(&tmp.path().join("a").join(table)),
            files(&tmp.path().join("b").join(table)),
        );
        assert_eq!(fa.len(), fb.len());
        for (x, y) in fa.iter().zip(&fb) {
            if table == "runs.parquet" {
                continue; // holds wall times; compared by content below
            }
            let (bx, by) = (std::fs::read(x).unwrap(), std::fs::read(y).unwrap());
            assert!(body(&bx) == body(&by), "{}", x.display());
            assert_eq!(row_groups(x), row_groups(y), "{}", x.display());
        }
    }
    assert_same_dataset(&tmp.path().join("a"), &tmp.path().join("b"));
}

/// Spike times per run key: (neuron, t) lists.
fn spikes_by_key(ds: &Path) -> HashMap<String, Vec<(u32, f64)>> {
    let runs = read(&ds.join("runs.parquet"));
    let mut key_of = HashMap::new();
    for b in &runs {
        let ids = col::<UInt32Type>(b, "run_id");
        let keys = b.column_by_name("run_key").unwrap().as_string::<i32>();
        for (id, key) in ids.values().iter().zip(keys.iter()) {
            key_of.insert(*id, key.unwrap().to_string());
        }
    }
    let spikes = read(&ds.join("spikes"));
    let mut out: HashMap<String, Vec<(u32, f64)>> = HashMap::new();
    for b in &spikes {
        let id = col::<UInt32Type>(b, "run_id");
        let n = col::<UInt32Type>(b, "neuron");
        let t = col::<Float64Type>(b, "t_ms");
        for k in 0..b.num_rows() {
            out.entry(key_of[&id.value(k)].clone())
                .or_default()
                .push((n.value(k), t.value(k)));
        }
    }
    out
}

#[test]
fn adding_a_grid_point_leaves_existing_runs_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let a = write(tmp.path(), "a.yaml", SWEEP);
    let b = write(
        tmp.path(),
        "b.yaml",
        &SWEEP.replace("[0 pA, 40 pA, 80.5 pA]", "[0 pA, 40 pA, 60 pA, 80.5 pA]"),
    );
    run_ok(tmp.path(), &["run", &a, "--out", "a", "-q"]);
    run_ok(tmp.path(), &["run", &b, "--out", "b", "-q"]);
    let (sa, sb) = (
        spikes_by_key(&tmp.path().join("a")),
        spikes_by_key(&tmp.path().join("b")),
    );
    assert!(sa.len() >= 12, "too few spiking runs: {}", sa.len());
    assert!(sb.len() > sa.len());
    for (key, spikes) in &sa {
        assert_eq!(Some(spikes), sb.get(key), "run {key} changed");
    }
}

/// Enough work that kills land mid-sweep (about 2 s with the vectorised engine at the
/// test profile's opt-level): 400 runs of 15 neurons, 2 s each, small enough that
/// they are packed three to a population, so kills land inside packed batches.
const LONG: &str = "name: long
seed: 3
duration: 2 s
dt: 0.1 ms
method: rk4
neurons: 15
model: {type: adex}
input: [{type: constant, amplitude: 0 pA}, {type: noise, mean: 0 pA, sigma: 300 pA*sqrt(ms)}]
record: {variables: [V], neurons: [0, 14], every: 5}
grid:
  input[0].amplitude: {linspace: [0 pA, 1 nA, 400]}
";

#[test]
fn resume_after_kill_9_gives_the_uninterrupted_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "long.yaml", LONG);
    run_ok(tmp.path(), &["run", &exp, "--out", "whole", "-q"]);
    // Delays from a fixed linear congruential sequence: "random" but reproducible.
    let mut x: u64 = 12345;
    let mut kills = 0;
    let mut attempts = 0;
    let mut total = 0;
    loop {
        attempts += 1;
        total += 1;
        assert!(
            total < 1000,
            "the sweep kept finishing before ten kills landed"
        );
        let mut args = vec!["run", exp.as_str(), "--out", "killed", "-q"];
        if attempts > 1 {
            args.push("--resume");
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_neurodyn"))
            .args(&args)
            .current_dir(tmp.path())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = 20 + (x >> 33) % 300;
        std::thread::sleep(Duration::from_millis(delay));
        match child.try_wait().unwrap() {
            Some(status) if kills >= 10 => {
                assert!(status.success());
                break;
            }
            Some(status) => {
                // Finished before the kill: start over to get ten real interruptions.
                assert!(status.success());
                std::fs::remove_dir_all(tmp.path().join("killed")).unwrap();
                attempts = 0;
                kills = 0;
                continue;
            }
            None => {
                child.kill().unwrap(); // SIGKILL: no handler runs
                child.wait().unwrap();
                kills += 1;
            }
        }
        // Whatever is visible is complete: every part file reads in full.
        for table in ["spikes", "traces"] {
            let dir = tmp.path().join("killed").join(table);
            if dir.exists() {
                read(&dir);
            }
        }
        // A kill can land after the last commit, while the analysis runs: then the
        // dataset is complete (_SUCCESS) but unanalyzed, and the resume must analyze it.
        if kills >= 10 {
            // Let the last resume run to completion.
            let o = neurodyn(
                tmp.path(),
                &["run", &exp, "--out", "killed", "-q", "--resume"],
            );
            assert!(o.status.success(), "{}", stderr(&o));
            break;
        }
    }
    assert!(kills >= 10);
    assert_same_dataset(&tmp.path().join("whole"), &tmp.path().join("killed"));
    for table in ["summary.parquet", "fi_curve.parquet"] {
        assert!(tmp.path().join("killed").join(table).exists(), "{table}");
    }
    // A resume of a complete dataset has nothing to do.
    let o = neurodyn(tmp.path(), &["run", &exp, "--out", "killed", "--resume"]);
    assert!(o.status.success());
    assert!(stderr(&o).contains("ran 0 runs"), "{}", stderr(&o));
}

#[test]
fn resume_refuses_a_changed_experiment() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "sweep.yaml", SWEEP);
    run_ok(
        tmp.path(),
        &["run", &exp, "--out", "d", "-q", "--shard", "0/2"],
    );
    let again = neurodyn(tmp.path(), &["run", &exp, "--out", "d"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("unfinished dataset") && stderr(&again).contains("--resume"));
    write(
        tmp.path(),
        "sweep.yaml",
        &SWEEP.replace("seed: 7", "seed: 8"),
    );
    let changed = neurodyn(tmp.path(), &["run", &exp, "--out", "d", "--resume"]);
    assert_eq!(changed.status.code(), Some(2));
    assert!(
        stderr(&changed).contains("different experiment"),
        "{}",
        stderr(&changed)
    );
}

#[test]
fn a_failed_run_is_recorded_and_the_others_continue() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "f.yaml", FAILING);
    let o = neurodyn(tmp.path(), &["run", &exp, "--out", "d"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("more than 10000 spikes within one step"),
        "{}",
        stderr(&o)
    );
    let runs = read(&tmp.path().join("d/runs.parquet"));
    let status: Vec<&str> = runs[0]
        .column_by_name("status")
        .unwrap()
        .as_string::<i32>()
        .iter()
        .flatten()
        .collect();
    assert_eq!(status.iter().filter(|s| **s == "failed").count(), 1);
    assert_eq!(status.iter().filter(|s| **s == "ok").count(), 4);
    let errors = runs[0].column_by_name("error").unwrap().as_string::<i32>();
    assert!(errors.iter().flatten().any(|e| e.contains("run ")));
    assert!(tmp.path().join("d/_SUCCESS").exists());

    // --fail-fast stops after the failure; --resume finishes the rest.
    let o = neurodyn(
        tmp.path(),
        &["run", &exp, "--out", "ff", "--fail-fast", "--threads", "1"],
    );
    assert_eq!(o.status.code(), Some(1));
    let status = neurodyn(tmp.path(), &["status", "ff"]);
    assert_eq!(status.status.code(), Some(1));
}

#[test]
fn plan_prints_axes_and_a_tsv_row_per_run() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "sweep.yaml", SWEEP);
    let o = neurodyn(tmp.path(), &["plan", &exp]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("24 runs"), "{text}");
    assert!(
        text.contains("grid.input[0].amplitude: 4") && text.contains("grid.model.b: 3"),
        "{text}"
    );
    let o = neurodyn(tmp.path(), &["plan", &exp, "--format", "tsv"]);
    let tsv = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = tsv.lines().collect();
    assert_eq!(lines.len(), 25);
    let header: Vec<&str> = lines[0].split('\t').collect();
    let col = header
        .iter()
        .position(|h| *h == "input_0_amplitude_pA")
        .unwrap();
    let mut amps: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split('\t').nth(col).unwrap())
        .collect();
    amps.sort();
    amps.dedup();
    assert_eq!(amps, ["1000", "400", "600", "800"]);
    let o = neurodyn(tmp.path(), &["plan", &exp, "--max-runs", "10"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("grid.input[0].amplitude: 4 x grid.model.b: 3"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_100000_run_sweep_keeps_memory_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(
        tmp.path(),
        "many.yaml",
        "name: many\nduration: 5 ms\ndt: 0.1 ms\nmethod: euler\nmodel: {type: lif}\n\
         input: {type: constant, amplitude: 0 pA}\n\
         grid: {input.amplitude: {linspace: [0 pA, 1 nA, 100000]}}\n",
    );
    run_ok(tmp.path(), &["run", &exp, "--out", "d", "-q"]);
    let runs = read(&tmp.path().join("d/runs.parquet"));
    assert_eq!(rows(&runs), 100_000);
    let prov: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("d/provenance.json")).unwrap(),
    )
    .unwrap();
    let peak = prov["peak_rss_mb"].as_f64().unwrap();
    // README states the bound: ~50 MB plus ~1.5 kB per planned run.
    assert!(peak < 50.0 + 100_000.0 * 1.5 / 1024.0, "peak RSS {peak} MB");
    // Runs share part files: far fewer files than runs.
    assert!(files(&tmp.path().join("d/spikes")).len() < 50);
}

#[test]
fn shard_from_env_reads_slurm_and_kubernetes_variables() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "sweep.yaml", SWEEP);
    let run = |env: &[(&str, &str)], extra: &[&str]| {
        let mut args = vec!["run", exp.as_str(), "--out", "d", "-q", "--shard-from-env"];
        args.extend(extra);
        neurodyn_with_scheduler(tmp.path(), &args, env)
    };
    // An array numbered 4-5 (--array=4-5): task 5 is shard 1 of 2.
    let o = run(
        &[
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_MIN", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "2"),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&[("JOB_COMPLETION_INDEX", "0")], &["--shards", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(tmp.path().join("d/_SUCCESS").exists());
    let status = neurodyn(tmp.path(), &["status", "d"]);
    assert!(status.status.success());
    // Without a shard count, a completion index is ambiguous; without variables, a usage error.
    let o = run(&[("JOB_COMPLETION_INDEX", "0")], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--shards"), "{}", stderr(&o));
    let o = run(&[], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("hint: "), "{}", stderr(&o));
}

#[test]
fn ctrl_c_stops_cleanly_and_resume_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "long.yaml", LONG);
    let child = Command::new(env!("CARGO_BIN_EXE_neurodyn"))
        .args(["run", &exp, "--out", "d", "-q", "--threads", "1"])
        .current_dir(tmp.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let o = child.wait_with_output().unwrap();
    // The sweep takes seconds in a test build, so the signal lands mid-sweep.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("--resume"), "{}", stderr(&o));
    assert!(!tmp.path().join("d/_SUCCESS").exists());
    // What was committed is complete and readable.
    if tmp.path().join("d/spikes").exists() {
        read(&tmp.path().join("d/spikes"));
    }
    run_ok(tmp.path(), &["run", &exp, "--out", "d", "-q", "--resume"]);
    run_ok(tmp.path(), &["run", &exp, "--out", "whole", "-q"]);
    assert_same_dataset(&tmp.path().join("whole"), &tmp.path().join("d"));
}

/// A plan too large to hold streams its runs: they are resolved again, a batch at a
/// time, when they run and when runs.parquet and neurons.parquet are written. The
/// dataset must not depend on it, alone or in shards.
#[test]
fn a_streamed_plan_writes_the_dataset_a_held_plan_writes() {
    let text = "name: streamed
duration: 30 ms
dt: 0.1 ms
method: euler
seed: 5
replicates: 2
model: {type: adex}
input: [{type: constant, amplitude: 400 pA}, {type: noise, mean: 0 pA, sigma: 40 pA*sqrt(ms)}]
neurons: 3
record: {variables: [V, w], neurons: [0], every: 5}
grid: {\"input[0].amplitude\": {linspace: [300 pA, 900 pA, 5]}}
variants:
  - {label: lif, model: {type: lif}}
  - {label: adex, per_neuron: {model.a: {normal: [2 nS, 0.5 nS]}}}
";
    let tmp = tempfile::tempdir().unwrap();
    let raw = neurodyn::parse(text).unwrap();
    let held = neurodyn::plan(&raw).unwrap();
    let streamed = neurodyn::experiment::plan::plan_with(
        &raw,
        neurodyn::experiment::plan::DEFAULT_MAX_RUNS,
        0,
    )
    .unwrap();
    assert!(!held.is_streamed() && streamed.is_streamed());
    let run = |plan: &neurodyn::Plan, name: &str, shard: neurodyn::Shard| {
        let mut opts = neurodyn::RunOptions::new(tmp.path().join(name), text);
        opts.threads = 2;
        opts.shard = shard;
        neurodyn::run(plan, &opts).unwrap()
    };
    assert!(run(&held, "held", neurodyn::Shard::ALL).complete);
    assert!(run(&streamed, "streamed", neurodyn::Shard::ALL).complete);
    for index in 0..3 {
        run(&streamed, "shards", neurodyn::Shard { index, count: 3 });
    }
    let held_dir = tmp.path().join("held");
    for other in ["streamed", "shards"] {
        let dir = tmp.path().join(other);
        assert!(dir.join("_SUCCESS").exists(), "{other}");
        assert_same_dataset(&held_dir, &dir);
        for table in ["neurons.parquet", "summary.parquet"] {
            assert!(
                canonical(&held_dir.join(table)) == canonical(&dir.join(table)),
                "{table} differs in {other}"
            );
        }
        let fi = |d: &Path| read(&d.join("fi_curve.parquet"));
        assert!(
            fi(&held_dir) == fi(&dir),
            "fi_curve.parquet differs in {other}"
        );
    }
    assert_eq!(rows(&read(&held_dir.join("runs.parquet"))), 20);
}
