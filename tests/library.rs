//! The library facade used from one process, as a notebook or a test would: runs one
//! after another each complete, a cancel token stops only its own run, and progress
//! is reported in order up to the total.

use neurodyn::{Cancel, Progress, RunOptions};
use std::sync::{Arc, Mutex};

/// Six cheap LIF runs of different lengths, so that none shares a population with
/// another and a cancel lands between runs; one thread makes their order, and so
/// where a cancel lands, deterministic.
const SWEEP: &str = "name: facade
duration: 20 ms
dt: 0.1 ms
method: euler
model: {type: lif}
input: {type: constant, amplitude: 800 pA}
grid: {duration: [20 ms, 21 ms, 22 ms, 23 ms, 24 ms, 25 ms]}
";

fn options(out: &std::path::Path) -> RunOptions {
    let mut opts = RunOptions::new(out, SWEEP);
    opts.threads = 1;
    opts
}

#[test]
fn two_runs_in_one_process_both_complete() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = neurodyn::plan(&neurodyn::parse(SWEEP).unwrap()).unwrap();
    for name in ["first", "second"] {
        let summary = neurodyn::run(&plan, &options(&tmp.path().join(name))).unwrap();
        assert!(summary.complete && !summary.stopped, "{name}: {summary:?}");
        assert_eq!(summary.ran.runs, 6, "{name}");
        assert!(summary.analysis.is_some(), "{name}");
        neurodyn::open_dataset(&summary.out).unwrap();
    }
}

#[test]
fn cancelling_a_run_stops_it_and_not_the_next() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = neurodyn::plan(&neurodyn::parse(SWEEP).unwrap()).unwrap();

    // Cancelled from its own progress callback once the first run has finished: the
    // run stops before the second, and what ran is committed.
    let mut opts = options(&tmp.path().join("stopped"));
    let cancel = opts.cancel.clone();
    opts.on_progress = Some(Arc::new(move |p: &Progress| {
        if p.runs_done == 1 {
            cancel.cancel();
        }
    }));
    let stopped = neurodyn::run(&plan, &opts).unwrap();
    assert!(stopped.stopped && !stopped.complete, "{stopped:?}");
    assert_eq!((stopped.ran.runs, stopped.committed), (1, 1));
    assert!(opts.cancel.is_cancelled());

    // A token cancelled before the run starts: nothing runs.
    let mut opts = options(&tmp.path().join("never"));
    opts.cancel = Cancel::new();
    assert!(!opts.cancel.cancel(), "a new token is not cancelled");
    assert!(opts.cancel.cancel(), "a second cancel reports the first");
    let never = neurodyn::run(&plan, &opts).unwrap();
    assert!(never.stopped && never.ran.runs == 0, "{never:?}");

    // The next run with its own token completes, and so does resuming the stopped one.
    let next = neurodyn::run(&plan, &options(&tmp.path().join("next"))).unwrap();
    assert!(next.complete && !next.stopped, "{next:?}");
    let mut resume = options(&tmp.path().join("stopped"));
    resume.resume = true;
    let resumed = neurodyn::run(&plan, &resume).unwrap();
    assert!(resumed.complete, "{resumed:?}");
    assert_eq!(resumed.ran.runs, 5);
}

#[test]
fn progress_is_reported_in_order_up_to_the_total() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = neurodyn::plan(&neurodyn::parse(SWEEP).unwrap()).unwrap();
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let mut opts = options(&tmp.path().join("d"));
    opts.threads = 3;
    let log = seen.clone();
    opts.on_progress = Some(Arc::new(move |p: &Progress| log.lock().unwrap().push(*p)));
    neurodyn::run(&plan, &opts).unwrap();
    let seen = seen.lock().unwrap();
    let done: Vec<usize> = seen.iter().map(|p| p.runs_done).collect();
    assert_eq!(done, (0..=6).collect::<Vec<_>>());
    assert!(seen.iter().all(|p| p.runs_total == 6));
    let steps: Vec<u64> = seen.iter().map(|p| p.neuron_steps).collect();
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "{steps:?}");
    assert_eq!(steps[6], (200..=250).step_by(10).sum::<u64>());
}
