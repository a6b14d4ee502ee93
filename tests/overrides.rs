//! `--set PATH=VALUE` and the experiment from standard input (`-`), through the real
//! binary: a flag gives the dataset the same edit in the file would, the dataset
//! keeps the effective experiment and `--resume` holds to it, `plan` shows it, errors
//! name the flag, and `-` reads the YAML from a pipe.

mod common;

use arrow::array::AsArray;
use common::*;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Two points of a noisy LIF sweep, two neurons each: small, and firing.
const SWEEP: &str = "\
# a comment, which the effective experiment does not keep
name: sweep
seed: 7
duration: 60 ms
dt: 0.1 ms
neurons: 2
model: {type: lif}
input:
  - {type: constant, amplitude: 0 pA}
  - {type: noise, mean: 0 pA, sigma: 100 pA*sqrt(ms)}
grid:
  input[0].amplitude: [800 pA, 1.5 nA]
";

/// neurodyn with `input` on its standard input.
fn neurodyn_stdin(dir: &Path, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_neurodyn"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run neurodyn");
    // A command that fails early may not read all of it; that is its answer.
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    child.wait_with_output().expect("wait for neurodyn")
}

/// The run keys of a dataset, in run_id order.
fn run_keys(ds: &Path) -> Vec<String> {
    let t = canonical(&ds.join("runs.parquet"));
    t.column_by_name("run_key")
        .unwrap()
        .as_string::<i32>()
        .iter()
        .map(|k| k.unwrap().to_string())
        .collect()
}

/// Assert `o` failed with exit code 2 and an error line starting with `error`, and a hint.
fn assert_refused(o: &Output, error: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.starts_with(&format!("error: {error}")), "{err}");
    assert!(err.contains("\nhint: "), "{err}");
}

#[test]
fn set_gives_the_dataset_of_the_same_edit_in_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "sweep.yaml", SWEEP);
    let edited = SWEEP
        .replace("model: {type: lif}", "model: {type: lif, t_ref: 2 ms}")
        .replace("[800 pA, 1.5 nA]", "[600 pA, 1 nA, 2 nA]");
    let edited = write(tmp.path(), "edited.yaml", &edited);
    let flags = [
        "--set",
        "model.t_ref=2 ms",
        "--set",
        "grid.input[0].amplitude=[600 pA, 1 nA, 2 nA]",
    ];
    let mut args = vec!["run", exp.as_str(), "--out", "flags", "-q"];
    args.extend(flags);
    run_ok(tmp.path(), &args);
    run_ok(tmp.path(), &["run", &edited, "--out", "file", "-q"]);

    let (flags_ds, file_ds) = (tmp.path().join("flags"), tmp.path().join("file"));
    let keys = run_keys(&flags_ds);
    assert_eq!(keys.len(), 3);
    assert_eq!(keys, run_keys(&file_ds));
    assert!(
        rows(&read(&flags_ds.join("spikes"))) > 0,
        "the sweep should fire"
    );
    assert_same_dataset(&flags_ds, &file_ds);
    // The other run keys: the flags changed the runs.
    run_ok(tmp.path(), &["run", &exp, "--out", "plain", "-q"]);
    assert_ne!(run_keys(&tmp.path().join("plain"))[0], keys[0]);
}

#[test]
fn the_dataset_keeps_the_effective_experiment_and_resume_holds_to_it() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "sweep.yaml", SWEEP);
    let set = ["--set", "model.t_ref=2 ms", "--set", "seed=9"];
    let with = |extra: &[&str]| {
        let mut args = vec!["run", exp.as_str(), "--out", "d", "-q"];
        args.extend(set);
        args.extend(extra);
        neurodyn(tmp.path(), &args)
    };
    let o = with(&["--shard", "0/2"]);
    assert!(o.status.success(), "{}", stderr(&o));

    // experiment.yaml is the effective experiment: it plans to the flags' runs on
    // its own, and it is not the file.
    let stored = std::fs::read_to_string(tmp.path().join("d/experiment.yaml")).unwrap();
    assert_ne!(stored, SWEEP);
    assert!(!stored.contains("# a comment"), "{stored}");
    let mut plan_flags = vec!["plan", exp.as_str(), "--format", "tsv"];
    plan_flags.extend(set);
    assert_eq!(
        run_ok(
            tmp.path(),
            &["plan", "d/experiment.yaml", "--format", "tsv"]
        ),
        run_ok(tmp.path(), &plan_flags)
    );

    // Another value is another experiment.
    let mut other = vec!["run", exp.as_str(), "--out", "d", "--resume"];
    other.extend(["--set", "model.t_ref=3 ms", "--set", "seed=9"]);
    let o = neurodyn(tmp.path(), &other);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("different experiment"),
        "{}",
        stderr(&o)
    );
    // No flags at all is another experiment too.
    let o = neurodyn(tmp.path(), &["run", &exp, "--out", "d", "--resume"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

    // The same flags continue it to the dataset a single run gives.
    let o = with(&["--resume"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(tmp.path().join("d/_SUCCESS").exists());
    let mut whole = vec!["run", exp.as_str(), "--out", "whole", "-q"];
    whole.extend(set);
    run_ok(tmp.path(), &whole);
    assert_same_dataset(&tmp.path().join("d"), &tmp.path().join("whole"));
}

#[test]
fn plan_shows_the_new_run_count_and_the_effective_experiment() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "sweep.yaml", SWEEP);
    assert!(run_ok(tmp.path(), &["plan", &exp]).starts_with("experiment sweep: 2 runs"));
    let axis = "grid.input[0].amplitude={linspace: [0 pA, 1 nA, 5]}";
    let out = run_ok(tmp.path(), &["plan", &exp, "--set", axis]);
    assert!(out.starts_with("experiment sweep: 5 runs"), "{out}");
    let header = "effective experiment (with --set applied):\n";
    let (_, effective) = out.split_once(header).expect(&out);
    assert!(effective.contains("linspace"), "{effective}");
    // What plan prints is an experiment in its own right, with the same runs.
    let replanned = neurodyn_stdin(tmp.path(), &["plan", "-", "--format", "tsv"], effective);
    assert!(replanned.status.success(), "{}", stderr(&replanned));
    let tsv = run_ok(
        tmp.path(),
        &["plan", &exp, "--format", "tsv", "--set", axis],
    );
    assert_eq!(String::from_utf8_lossy(&replanned.stdout), tsv);
    // The TSV is only the table: a header and one row per run.
    assert_eq!(tsv.lines().count(), 6, "{tsv}");
    assert!(!tsv.contains("effective"));
    // Without --set, nothing is appended.
    assert!(!run_ok(tmp.path(), &["plan", &exp]).contains("effective"));
}

#[test]
fn bad_flags_and_bad_values_set_by_flags_name_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "sweep.yaml", SWEEP);
    let refused = |flag: &str, error: &str| {
        let plan = ["plan", exp.as_str(), "--set", flag];
        let run = ["run", exp.as_str(), "--set", flag, "--out", "x"];
        for args in [&plan[..], &run[..]] {
            assert_refused(&neurodyn(tmp.path(), args), error);
        }
        assert!(!tmp.path().join("x").exists(), "nothing is written");
    };
    refused("foo", "--set foo: there is no '='");
    refused("=3", "--set =3: the PATH before '=' is empty");
    refused(
        "input[x].amplitude=1 pA",
        "--set input[x].amplitude=1 pA: PATH 'input[x].amplitude': the index 'x'",
    );
    refused(
        "duration.x=1 ms",
        "--set duration.x=1 ms: duration is a single value ('60 ms'), so it has no key 'x'",
    );
    refused(
        "input[3].amplitude=1 pA",
        "--set input[3].amplitude=1 pA: input has 2 items, so [3] is past its end",
    );
    refused(
        "model.C=[1 pF",
        "--set model.C=[1 pF: VALUE is not valid YAML",
    );
    refused("model.C=", "--set model.C=: the VALUE after '=' is empty");
    // A value the plan refuses.
    refused(
        "model.C=5 V",
        "--set model.C=5 V: model.C: '5 V' is a voltage",
    );
    refused(
        "input[1].sigma=-1 pA*sqrt(ms)",
        "--set input[1].sigma=-1 pA*sqrt(ms): input[1].sigma: sigma must not be negative",
    );
    // A key the parser does not know, created by the flag.
    let o = neurodyn(tmp.path(), &["plan", &exp, "--set", "modle.C=1 pF"]);
    assert_refused(&o, "--set modle.C=1 pF: unknown key 'modle'");
    assert!(
        stderr(&o).contains("hint: allowed keys here: name,"),
        "{}",
        stderr(&o)
    );
    // Of several flags, the one that set the bad value.
    let o = neurodyn(
        tmp.path(),
        &[
            "plan",
            &exp,
            "--set",
            "seed=3",
            "--set",
            "dt=0.1 mV",
            "--set",
            "neurons=3",
        ],
    );
    assert_refused(&o, "--set dt=0.1 mV: dt: ");
}

#[test]
fn a_problem_of_the_file_itself_keeps_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = SWEEP.replace("neurons: 2\n", "neurons: 2\nrecord: {every: 0}\n");
    let exp = write(tmp.path(), "bad.yaml", &bad);
    let line = bad.lines().position(|l| l.starts_with("record:")).unwrap() + 1;
    let plain = neurodyn(tmp.path(), &["plan", &exp]);
    let flagged = neurodyn(tmp.path(), &["plan", &exp, "--set", "model.C=300 pF"]);
    let expected = format!("{exp}:{line}:");
    for o in [&plain, &flagged] {
        assert_refused(o, &expected);
        assert!(
            stderr(o).contains("record.every: record.every must be at least 1"),
            "{}",
            stderr(o)
        );
    }
    assert_eq!(stderr(&plain), stderr(&flagged));
    // A flag may also repair the file.
    let out = run_ok(tmp.path(), &["plan", &exp, "--set", "record.every=2"]);
    assert!(out.starts_with("experiment sweep: 2 runs"), "{out}");
}

#[test]
fn the_experiment_is_read_from_stdin_with_a_dash() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "sweep.yaml", SWEEP);
    let plan = neurodyn_stdin(tmp.path(), &["plan", "-"], SWEEP);
    assert!(plan.status.success(), "{}", stderr(&plan));
    assert_eq!(
        String::from_utf8_lossy(&plan.stdout),
        run_ok(tmp.path(), &["plan", &exp])
    );

    // run -: the folder from the experiment's name; the file's text byte for byte.
    let o = neurodyn_stdin(tmp.path(), &["run", "-", "-q"], SWEEP);
    assert!(o.status.success(), "{}", stderr(&o));
    let ds = tmp.path().join("results/sweep");
    assert_eq!(
        std::fs::read_to_string(ds.join("experiment.yaml")).unwrap(),
        SWEEP
    );
    run_ok(tmp.path(), &["run", &exp, "--out", "from_file", "-q"]);
    assert_same_dataset(&ds, &tmp.path().join("from_file"));

    // --resume accepts the same text piped again, and refuses another.
    let again = neurodyn_stdin(tmp.path(), &["run", "-", "--resume"], SWEEP);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stderr(&again).contains("ran 0 runs"), "{}", stderr(&again));
    let other = neurodyn_stdin(
        tmp.path(),
        &["run", "-", "--resume"],
        &SWEEP.replace("seed: 7", "seed: 8"),
    );
    assert_eq!(other.status.code(), Some(2), "{}", stderr(&other));
    // --out, and --set on what was piped.
    let o = neurodyn_stdin(
        tmp.path(),
        &["run", "-", "--out", "piped", "-q", "--set", "seed=8"],
        SWEEP,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(tmp.path().join("piped/_SUCCESS").exists());

    // A bad document is named <stdin>, with its line.
    let bad = SWEEP.replace("dt: 0.1 ms", "dt: 0.1 parsecs");
    let line = bad.lines().position(|l| l.starts_with("dt:")).unwrap() + 1;
    for command in ["plan", "run"] {
        let o = neurodyn_stdin(tmp.path(), &[command, "-"], &bad);
        assert_refused(&o, &format!("<stdin>:{line}:"));
        assert!(
            stderr(&o).contains("dt: unknown unit 'parsecs'"),
            "{}",
            stderr(&o)
        );
    }
    let empty = neurodyn_stdin(tmp.path(), &["plan", "-"], "");
    assert_refused(&empty, "<stdin>: the experiment file is empty");
}
