//! Data safety through the real binary: `--force` deletes nothing that is not a
//! dataset and keeps the old dataset until the new one is complete; one writer per
//! dataset (or per shard); damage to a finished dataset is found by `status`, refused
//! by `analyze`, `report`, `plot` and `check`, and repaired by `--resume`.

mod common;

use common::*;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Two batches of runs (a batch holds ~4e6 neuron-steps), traces recorded.
const SWEEP: &str = "name: safety
seed: 3
duration: 500 ms
dt: 0.1 ms
method: euler
neurons: 200
model: {type: adex}
input: [{type: constant, amplitude: 0 pA}, {type: noise, mean: 0 pA, sigma: 200 pA*sqrt(ms)}]
record: {variables: [V], neurons: {first: 1}, every: 50}
grid:
  input[0].amplitude: {linspace: [300 pA, 900 pA, 6]}
";

fn code(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let o = neurodyn(dir, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!text.contains("panicked"), "{args:?}: {text}");
    (o.status.code(), text)
}

/// Every file under `dir`, with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn parts(ds: &Path, table: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(ds.join(table))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn force_refuses_folders_that_are_not_datasets() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = repo().join("experiments/naud2008.yaml");
    let exp = exp.to_str().unwrap();
    // Each of these once counted as a dataset, and --force removed it.
    let cases: [(&str, &[(&str, &str)]); 5] = [
        ("dots", &[(".ssh/id", "k")]),
        ("git", &[(".git/HEAD", "ref"), ("src/a.rs", "fn")]),
        ("plots_only", &[("plots/fig.png", "png")]),
        ("report_only", &[("report/index.html", "<html>")]),
        ("experiment_only", &[("experiment.yaml", "name: x")]),
    ];
    for (name, files) in cases {
        let root = tmp.path().join(name);
        for (f, text) in files {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let before = snapshot(&root);
        for flag in ["--force", "--resume"] {
            let (c, text) = code(tmp.path(), &["run", exp, "--out", name, flag, "-q"]);
            assert_eq!(c, Some(2), "{name} {flag}: {text}");
            assert!(text.contains("is not a neurodyn dataset"), "{text}");
            assert!(text.contains("hint: "), "{text}");
            assert!(!text.contains("add --force"), "{text}");
        }
        assert_eq!(before, snapshot(&root), "{name} was changed");
    }
    // `--out .` inside a checkout: .git is never touched.
    let checkout = tmp.path().join("git");
    let (c, _) = code(&checkout, &["run", exp, "--out", ".", "--force"]);
    assert_eq!(c, Some(2));
    assert!(checkout.join(".git/HEAD").exists());

    // A dataset someone put their own files into is not replaced either.
    run_ok(tmp.path(), &["run", exp, "--out", "d", "-q"]);
    std::fs::write(tmp.path().join("d/notes.txt"), "mine").unwrap();
    let (c, text) = code(tmp.path(), &["run", exp, "--out", "d", "--force"]);
    assert_eq!(c, Some(2), "{text}");
    assert!(text.contains("notes.txt"), "{text}");
    assert_eq!(
        std::fs::read(tmp.path().join("d/notes.txt")).unwrap(),
        b"mine"
    );
}

#[test]
fn force_keeps_the_old_dataset_until_the_new_one_is_complete() {
    let tmp = tempfile::tempdir().unwrap();
    let good = write(
        tmp.path(),
        "good.yaml",
        &FAILING.replace("1e15 pA", "600 pA"),
    );
    let bad = write(tmp.path(), "bad.yaml", FAILING);
    run_ok(tmp.path(), &["run", &good, "--out", "d", "-q"]);
    let before = snapshot(&tmp.path().join("d"));

    // The rerun stops at its failing run: the old dataset stays, byte for byte.
    let args = [
        "run",
        &bad,
        "--out",
        "d",
        "--force",
        "--fail-fast",
        "--threads",
        "1",
    ];
    let (c, text) = code(tmp.path(), &args);
    assert_eq!(c, Some(1), "{text}");
    let after: Vec<_> = snapshot(&tmp.path().join("d"))
        .into_iter()
        .filter(|(p, _)| !p.ends_with(".lock"))
        .collect();
    let before_no_lock: Vec<_> = before
        .into_iter()
        .filter(|(p, _)| !p.ends_with(".lock"))
        .collect();
    assert_eq!(before_no_lock, after);
    let (c, _) = code(tmp.path(), &["status", "d"]);
    assert_eq!(c, Some(0), "the old dataset is still complete");

    // --resume continues the stopped replacement and swaps it in when complete.
    let (c, text) = code(tmp.path(), &["run", &bad, "--out", "d", "--resume", "-q"]);
    assert_eq!(c, Some(1), "one run fails: {text}");
    let exp = std::fs::read_to_string(tmp.path().join("d/experiment.yaml")).unwrap();
    assert!(exp.contains("1e15 pA"), "the new dataset is in place");
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.contains("neurodyn-")),
        "no replacement left beside: {names:?}"
    );
    assert!(tmp.path().join("d/summary.parquet").exists());

    // A plain --force replaces it again, in one go.
    run_ok(tmp.path(), &["run", &good, "--out", "d", "--force", "-q"]);
    let exp = std::fs::read_to_string(tmp.path().join("d/experiment.yaml")).unwrap();
    assert!(!exp.contains("1e15 pA"));
}

/// Hold a lock file the way a running neurodyn does (flock), from this process.
/// Blocking: a child another test thread is spawning may briefly share the file
/// descriptor of a lock this thread just released (until its exec closes it).
fn hold(path: &Path, shared: bool) -> File {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap();
    if shared {
        f.lock_shared().unwrap();
    } else {
        f.lock().unwrap();
    }
    f
}

#[test]
fn a_second_writer_is_refused_while_the_first_holds_the_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "s.yaml", SWEEP);
    // An unfinished dataset: shard 0 of 2 done.
    run_ok(
        tmp.path(),
        &["run", &exp, "--out", "d", "-q", "--shard", "0/2"],
    );
    let before = snapshot(&tmp.path().join("d"));

    // A writer of the whole dataset holds it: resume, force and shards are refused,
    // and nothing is written or removed.
    let lock = hold(&tmp.path().join("d/.lock"), false);
    for args in [
        vec!["run", &exp, "--out", "d", "--resume"],
        vec!["run", &exp, "--out", "d", "--force"],
        vec!["run", &exp, "--out", "d", "--shard", "1/2"],
    ] {
        let (c, text) = code(tmp.path(), &args);
        assert_eq!(c, Some(2), "{args:?}: {text}");
        assert!(
            text.contains("being written by another neurodyn process"),
            "{text}"
        );
    }
    assert_eq!(before, snapshot(&tmp.path().join("d")));
    drop(lock);

    // Shard 1 is being written: a second shard-1 process is refused, an unsharded
    // resume too, but shard 0 may run beside it.
    let s1 = hold(&tmp.path().join("d/.lock"), true);
    let s1x = hold(&tmp.path().join("d/.lock-s0001"), false);
    let (c, text) = code(tmp.path(), &["run", &exp, "--out", "d", "--shard", "1/2"]);
    assert_eq!(c, Some(2), "{text}");
    assert!(text.contains("shard 1 is being written"), "{text}");
    let (c, _) = code(tmp.path(), &["run", &exp, "--out", "d", "--resume"]);
    assert_eq!(c, Some(2));
    run_ok(
        tmp.path(),
        &["run", &exp, "--out", "d", "-q", "--shard", "0/2"],
    );
    drop((s1, s1x));
    run_ok(
        tmp.path(),
        &["run", &exp, "--out", "d", "-q", "--shard", "1/2"],
    );
    let (c, text) = code(tmp.path(), &["status", "d"]);
    assert_eq!(c, Some(0), "{text}");

    // Every run was committed exactly once.
    let runs = read(&tmp.path().join("d/runs.parquet"));
    assert_eq!(rows(&runs), 6);
}

/// The ways a finished dataset gets damaged on disk.
fn damage(ds: &Path, how: &str) {
    let spikes = parts(ds, "spikes");
    let manifests = parts(ds, "_manifest");
    match how {
        "delete manifest" => std::fs::remove_file(&manifests[1]).unwrap(),
        "duplicate manifest" => {
            std::fs::copy(&manifests[0], ds.join("_manifest/s0000-copy.json")).unwrap();
        }
        "delete part" => std::fs::remove_file(&spikes[0]).unwrap(),
        "truncate part" => {
            let bytes = std::fs::read(&spikes[1]).unwrap();
            std::fs::write(&spikes[1], &bytes[..bytes.len() / 2]).unwrap();
        }
        "truncate trace" => {
            let traces = parts(ds, "traces");
            let bytes = std::fs::read(&traces[0]).unwrap();
            std::fs::write(&traces[0], &bytes[..bytes.len() - 100]).unwrap();
        }
        "duplicate part" => {
            std::fs::copy(&spikes[0], ds.join("spikes/part-s0000-extra.parquet")).unwrap();
        }
        "delete runs" => std::fs::remove_file(ds.join("runs.parquet")).unwrap(),
        _ => unreachable!(),
    }
}

#[test]
fn damage_is_reported_refused_and_repaired_by_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "s.yaml", SWEEP);
    run_ok(tmp.path(), &["run", &exp, "--out", "clean", "-q"]);
    assert!(parts(&tmp.path().join("clean"), "spikes").len() >= 2);
    for how in [
        "delete manifest",
        "duplicate manifest",
        "delete part",
        "truncate part",
        "truncate trace",
        "duplicate part",
        "delete runs",
    ] {
        let name = how.replace(' ', "_");
        run_ok(tmp.path(), &["run", &exp, "--out", &name, "-q"]);
        let ds = tmp.path().join(&name);
        damage(&ds, how);

        let (c, text) = code(tmp.path(), &["status", &name]);
        assert_eq!(c, Some(1), "status, {how}: {text}");
        assert!(text.contains("damaged"), "status, {how}: {text}");
        for args in [
            vec!["analyze", name.as_str()],
            vec!["report", name.as_str()],
            vec!["plot", name.as_str(), "--kind", "traces", "--run", "0"],
            vec!["check", name.as_str(), "--baseline", "clean"],
            vec!["check", "clean", "--baseline", name.as_str()],
        ] {
            let (c, text) = code(tmp.path(), &args);
            assert_eq!(c, Some(2), "{args:?}, {how}: {text}");
            assert!(
                text.contains("damaged") || text.contains("not a finished"),
                "{args:?}, {how}: {text}"
            );
        }

        // Resume re-runs what the damage took and gives the undamaged dataset.
        let (c, text) = code(tmp.path(), &["run", &exp, "--out", &name, "--resume", "-q"]);
        assert_eq!(c, Some(0), "resume, {how}: {text}");
        let (c, text) = code(tmp.path(), &["status", &name]);
        assert_eq!(c, Some(0), "status after repair, {how}: {text}");
        assert_same_dataset(&tmp.path().join("clean"), &ds);
        let (c, text) = code(tmp.path(), &["check", &name, "--baseline", "clean"]);
        assert_eq!(c, Some(0), "check after repair, {how}: {text}");
    }
}

#[test]
fn a_foreign_file_in_a_table_folder_is_reported_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "s.yaml", SWEEP);
    run_ok(tmp.path(), &["run", &exp, "--out", "d", "-q"]);
    std::fs::write(tmp.path().join("d/spikes/notes.txt"), "mine").unwrap();
    let (c, text) = code(tmp.path(), &["status", "d"]);
    assert_eq!(c, Some(1), "{text}");
    assert!(text.contains("notes.txt"), "{text}");
    let (c, text) = code(tmp.path(), &["run", &exp, "--out", "d", "--resume"]);
    assert_eq!(c, Some(2), "{text}");
    assert_eq!(
        std::fs::read(tmp.path().join("d/spikes/notes.txt")).unwrap(),
        b"mine"
    );
}

#[test]
fn a_failed_start_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "s.yaml", SWEEP);
    // The output folder's parent is a file: nothing can be created, nothing is left.
    std::fs::write(tmp.path().join("file"), "x").unwrap();
    let (c, _) = code(tmp.path(), &["run", &exp, "--out", "file/sub"]);
    assert_eq!(c, Some(2));
    // Refused for a lock: the fresh folder it would have made is not left behind.
    std::fs::create_dir(tmp.path().join("d")).unwrap();
    let lock = hold(&tmp.path().join("d/.lock"), false);
    let (c, _) = code(tmp.path(), &["run", &exp, "--out", "d"]);
    assert_eq!(c, Some(2));
    drop(lock);
    let left: Vec<String> = std::fs::read_dir(tmp.path().join("d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec![".lock".to_string()], "only our own lock file");
}
