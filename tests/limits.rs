//! Caps, the output-size estimate, leftovers and messages through the real binary:
//! values far past what an experiment needs are refused at once with a clear error
//! instead of aborting, hanging or filling a disk; failures leave no temporary files;
//! messages stay short and point at the right fix.

mod common;

use arrow::array::{Array, AsArray};
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// Exit code 2, an `error:` line containing `what`, a hint, no panic.
fn refused(o: &std::process::Output, what: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("error: ") && l.contains(what)),
        "no error line with {what:?}:\n{err}"
    );
    assert!(err.lines().any(|l| l.starts_with("hint: ")), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Files whose names mark them as temporary, anywhere under `dir`.
fn temporary_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if e.file_type().unwrap().is_dir() {
            out.extend(temporary_files(&e.path()));
        } else if name.ends_with(".tmp") {
            out.push(e.path().display().to_string());
        }
    }
    out
}

const SMALL: &str = "name: small
duration: 50 ms
dt: 0.1 ms
model: {type: adex}
input: {type: constant, amplitude: 600 pA}
record: {variables: [V, w], every: 10}
";

#[test]
fn shard_counts_above_the_cap_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "small.yaml", SMALL);
    // These aborted with exit 134 (out of memory).
    let o = neurodyn(tmp.path(), &["status", "nowhere", "--shards", "4294967295"]);
    refused(&o, "more than the cap of 65536");
    let o = neurodyn(tmp.path(), &["status", "nowhere", "--shards", "0"]);
    refused(&o, "--shards 0");
    let o = neurodyn(
        tmp.path(),
        &["run", &exp, "--out", "d", "--shard", "0/4294967295"],
    );
    refused(&o, "more than the cap of 65536");
    // The scheduler's variables are capped alike.
    let env_run = |vars: &[(&str, &str)], extra: &[&str]| {
        let mut args = vec!["run", exp.as_str(), "--out", "d", "--shard-from-env"];
        args.extend(extra);
        neurodyn_with_scheduler(tmp.path(), &args, vars)
    };
    let o = env_run(
        &[
            ("SLURM_ARRAY_TASK_ID", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "4294967295"),
        ],
        &[],
    );
    refused(&o, "SLURM_ARRAY_TASK_COUNT=4294967295");
    let o = env_run(&[("JOB_COMPLETION_INDEX", "0")], &["--shards", "100000"]);
    refused(&o, "--shards 100000");
    assert!(!tmp.path().join("d").exists());
    // The cap itself is allowed.
    let o = neurodyn(
        tmp.path(),
        &["run", &exp, "--out", "d", "--shard", "0/65536", "-q"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn thread_counts_above_the_cap_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "small.yaml", SMALL);
    // 8000 threads hung and ignored SIGTERM; the cap is 4 per core.
    let o = neurodyn(
        tmp.path(),
        &["run", &exp, "--out", "d", "--threads", "100000"],
    );
    refused(&o, "--threads 100000 is more than the cap");
    assert!(!tmp.path().join("d").exists());
}

#[test]
fn a_run_of_too_many_steps_is_refused_before_it_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(
        tmp.path(),
        "long.yaml",
        "name: long\nduration: 1e300 s\ndt: 0.1 ms\nmodel: {type: lif}\n",
    );
    for cmd in ["plan", "run"] {
        let o = neurodyn(tmp.path(), &[cmd, &exp]);
        refused(
            &o,
            "long.yaml:2:11: duration: duration 1e303 ms is 1e304 steps",
        );
    }
    assert!(!tmp.path().join("results").exists());
}

#[test]
fn the_experiment_file_is_read_up_to_the_cap_whatever_the_source() {
    let tmp = tempfile::tempdir().unwrap();
    // /dev/zero has size 0 and never ends: it was read until memory ran out.
    let o = neurodyn(tmp.path(), &["plan", "/dev/zero"]);
    refused(&o, "more than 4194304 bytes");

    // A FIFO fed without end: read at most the cap plus one byte, then stop.
    let fifo = tmp.path().join("exp.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let child = Command::new(env!("CARGO_BIN_EXE_neurodyn"))
        .arg("plan")
        .arg(&fifo)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let path = fifo.clone();
    let writer = std::thread::spawn(move || {
        // Opening blocks until neurodyn opens the other end; writing fails (EPIPE)
        // once it has closed it. Returns how much it fed.
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let chunk = vec![b'#'; 1 << 16];
        let mut fed = 0usize;
        while f.write_all(&chunk).is_ok() {
            fed += chunk.len();
        }
        fed
    });
    let o = child.wait_with_output().unwrap();
    refused(&o, "more than 4194304 bytes");
    let fed = writer.join().unwrap();
    // It stopped reading near the cap: the pipe buffer holds at most a few more chunks.
    assert!(fed < 5 << 20, "fed {fed} bytes");
}

#[test]
fn long_values_are_elided_in_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let long = "x".repeat(100_000);
    for (name, text) in [
        (
            "method.yaml",
            format!("name: t\nduration: 100 ms\ndt: 0.1 ms\nmethod: {long}\n"),
        ),
        (
            "unit.yaml",
            format!("name: t\nduration: 100 {long}\ndt: 0.1 ms\n"),
        ),
        (
            "name.yaml",
            format!("name: {long}\nduration: 100 ms\ndt: 0.1 ms\n"),
        ),
        (
            "count.yaml",
            format!("name: t\nduration: 100 ms\ndt: 0.1 ms\nneurons: '{long}'\n"),
        ),
        (
            "type.yaml",
            format!("name: t\nduration: 100 ms\ndt: 0.1 ms\ndescription: [{long}]\n"),
        ),
    ] {
        let exp = write(tmp.path(), name, &format!("{text}model: {{type: lif}}\n"));
        let o = neurodyn(tmp.path(), &["plan", &exp]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.len() < 1000, "{name}: {} bytes of stderr", err.len());
        assert!(
            err.contains(&format!("{}…", "x".repeat(20))),
            "{name}: {err}"
        );
    }
}

#[test]
fn small_limits_are_printed_with_their_digits() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(
        tmp.path(),
        "tiny.yaml",
        "name: tiny\nduration: 100 ms\ndt: 0.1 ms\nmodel: {type: lif, tau_m: 10 ns, R: 1 MOhm}\n",
    );
    let o = neurodyn(tmp.path(), &["plan", &exp]);
    refused(&o, "(1e-5 ms)");
    let err = stderr(&o);
    // The hint said "dt <= 0.0000 ms".
    assert!(err.contains("hint: use dt <= 2e-6 ms"), "{err}");
    assert!(!err.contains("0.0000"), "{err}");
}

/// `neurons` noise-driven AdEx cells recording V, I and w for `duration`, at 0.1 ms.
fn recording(name: &str, neurons: u32, duration: &str) -> String {
    format!(
        "name: {name}\nseed: 1\nduration: {duration}\ndt: 0.1 ms\nneurons: {neurons}\nmodel: {{type: adex}}\n\
         initial: {{V: {{normal: [-70 mV, 2 mV]}}}}\n\
         input: [{{type: step, amplitude: 500 pA, start: 100 ms, stop: 900 ms}}, {{type: noise, mean: 0 pA, sigma: 100 pA*sqrt(ms)}}]\n\
         record: {{variables: [V, I, w], neurons: all}}\n"
    )
}

/// 10^6 neurons recording V, I and w for `duration`: the 80 GB run.
fn huge(duration: &str) -> String {
    recording("huge", 1_000_000, duration)
}

/// The size `plan` prints, in bytes, from its "output: about N UNIT" line.
fn planned_bytes(stdout: &str) -> f64 {
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("output:"))
        .unwrap_or_else(|| panic!("no output line:\n{stdout}"));
    let mut words = line.split("about ").nth(1).unwrap_or("").split([' ', ':']);
    let value: f64 = words
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    let unit = match words.next() {
        Some("B") => 1.0,
        Some("kB") => 1e3,
        Some("MB") => 1e6,
        Some("GB") => 1e9,
        Some("TB") => 1e12,
        _ => f64::NAN,
    };
    assert!((value * unit).is_finite(), "no size in {line}");
    value * unit
}

#[test]
fn the_size_estimate_matches_what_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    // 2·10^6 trace rows of V, I, w; it was estimated at 8 bytes a row, 2.4x low.
    let exp = write(tmp.path(), "rec.yaml", &recording("rec", 200, "1 s"));
    let plan = neurodyn(tmp.path(), &["plan", &exp]);
    assert!(plan.status.success(), "{}", stderr(&plan));
    let estimate = planned_bytes(&String::from_utf8_lossy(&plan.stdout));
    let o = neurodyn(
        tmp.path(),
        &["run", &exp, "--out", "d", "-q", "--no-analyze"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let written: u64 = ["spikes", "traces"]
        .iter()
        .flat_map(|t| files(&tmp.path().join("d").join(t)))
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    let ratio = estimate / written as f64;
    assert!(
        (0.75..1.25).contains(&ratio),
        "estimated {estimate} bytes, wrote {written}"
    );
}

#[test]
fn plan_shows_the_output_size() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "huge.yaml", &huge("1 s"));
    let o = neurodyn(tmp.path(), &["plan", &exp]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    // 10^10 trace rows of V, I and w: about 18 bytes each as written, not 8.
    assert!(out.contains(" 10000000000 trace rows"), "{out}");
    let bytes = planned_bytes(&out);
    assert!((150e9..250e9).contains(&bytes), "{out}");
}

#[test]
fn a_run_larger_than_the_free_space_is_refused_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    // About 2·10^14 bytes of traces: more than any disk this runs on.
    let exp = write(tmp.path(), "huge.yaml", &huge("1000 s"));
    let o = neurodyn(tmp.path(), &["run", &exp, "--out", "d"]);
    refused(&o, "free");
    let err = stderr(&o);
    assert!(err.contains("TB"), "{err}");
    assert!(!tmp.path().join("d").exists());
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "only the experiment file: {left:?}");
}

#[test]
fn plotting_a_failed_run_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "f.yaml", FAILING);
    let o = neurodyn(tmp.path(), &["run", &exp, "--out", "d", "-q"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let runs = read(&tmp.path().join("d/runs.parquet"));
    let status = runs[0].column_by_name("status").unwrap().as_string::<i32>();
    let failed = (0..status.len())
        .find(|&k| status.value(k) == "failed")
        .expect("one run failed")
        .to_string();
    // It printed "0 files" and exited 0.
    let o = neurodyn(tmp.path(), &["plot", "d", "--run", &failed]);
    refused(&o, &format!("run {failed} ("));
    let err = stderr(&o);
    assert!(err.contains("status 'failed'"), "{err}");
    assert!(err.contains("hint: runs.parquet holds"), "{err}");
    // Without --run, the failed run is passed over with a warning.
    let o = neurodyn(tmp.path(), &["plot", "d", "--kind", "traces"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("warning: run"), "{}", stderr(&o));
}

/// A finished dataset of SMALL, not yet analyzed.
fn small_dataset(dir: &Path) {
    let exp = write(dir, "small.yaml", SMALL);
    let o = neurodyn(dir, &["run", &exp, "--out", "d", "-q", "--no-analyze"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_failed_analysis_leaves_no_temporary_file_and_hints_at_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    small_dataset(tmp.path());
    // A folder where summary.parquet goes: the final rename fails, as on a full or
    // read-only disk, after the whole file was written under its temporary name.
    std::fs::create_dir_all(tmp.path().join("d/summary.parquet/x")).unwrap();
    let o = neurodyn(tmp.path(), &["analyze", "d"]);
    refused(&o, "summary.parquet");
    let err = stderr(&o);
    assert!(
        err.contains("hint: check that you may read and write"),
        "{err}"
    );
    assert!(!err.contains("give the folder"), "{err}");
    assert_eq!(temporary_files(tmp.path()), Vec::<String>::new());
}

#[test]
fn io_errors_of_report_and_plot_get_an_io_hint() {
    let tmp = tempfile::tempdir().unwrap();
    small_dataset(tmp.path());
    std::fs::create_dir_all(tmp.path().join("d/report/index.html/x")).unwrap();
    let o = neurodyn(tmp.path(), &["report", "d"]);
    refused(&o, "index.html");
    assert!(
        stderr(&o).contains("hint: check that you may read and write"),
        "{}",
        stderr(&o)
    );
    assert_eq!(temporary_files(tmp.path()), Vec::<String>::new());
    // plots/ is a file: the folder for the figures cannot be made. (The report draws
    // its figures in memory, so it has not made plots/.)
    assert!(!tmp.path().join("d/plots").exists());
    std::fs::write(tmp.path().join("d/plots"), "not a folder").unwrap();
    let o = neurodyn(tmp.path(), &["plot", "d", "--run", "0"]);
    refused(&o, "plots");
    assert!(
        stderr(&o).contains("hint: check that you may read and write"),
        "{}",
        stderr(&o)
    );
}

/// One run of 1000 silent neurons for 100 s at 0.01 ms (10^10 neuron-steps): the run
/// under way outlasts any test, so both signals land while it runs; nothing is
/// recorded but (no) spikes, and the size estimate (10^6 nominal spikes, 6.5 MB)
/// stays far below any disk.
const ENDLESS: &str = "name: endless
duration: 100 s
dt: 0.01 ms
method: euler
neurons: 1000
model: {type: lif}
";

#[test]
fn first_ctrl_c_says_what_happens_and_the_second_quits_with_130() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "endless.yaml", ENDLESS);
    /// The run outlasts the test: whatever happens, do not leave it running.
    struct Reap(std::process::Child);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Reap(
        Command::new(env!("CARGO_BIN_EXE_neurodyn"))
            .args(["run", &exp, "--out", "d", "-q", "--threads", "1"])
            .current_dir(tmp.path())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // The handler is set before the dataset's folder is made: wait for anything to
    // appear beside the experiment file.
    while std::fs::read_dir(tmp.path()).unwrap().count() < 2 {
        if let Some(status) = child.0.try_wait().unwrap() {
            panic!("neurodyn ended early: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let pid = child.0.id().to_string();
    let kill = |sig: &str| {
        let sent = Command::new("kill")
            .args([sig, pid.as_str()])
            .status()
            .unwrap();
        assert!(sent.success());
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.0.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    kill("-INT");
    // It printed nothing, and the run under way went on for minutes: a minute is a
    // guard against that hang, not a measurement.
    let first = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("a line on stderr after the first Ctrl-C");
    assert_eq!(
        first,
        "stopping after the runs under way; Ctrl-C again to quit at once"
    );
    kill("-INT");
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(130));
}
