//! The spike-train statistics in Elephant's definitions, through the real binary:
//! summary.parquet's `cv`, `cv2`, `lv`, `lvr`, `isi_cv_sample` and `fano_factor_run`
//! and fi_curve.parquet's `fano_factor`, recomputed here from spikes/ and runs.parquet
//! with the published formulas written out independently (per pair of intervals,
//! not through neurodyn's helpers). This checks the wiring (window, rows, grouping by
//! run and by current across replicates) as well as the arithmetic; the comparison
//! with Elephant itself is scripts/crosscheck_elephant.py, in CI.

mod common;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, UInt32Type, UInt64Type};
use common::*;
use std::collections::BTreeMap;

/// Same formulas, other order of operations (e.g. (a − b)²/(a + b)² against the
/// square of a quotient, sums in another order): a few ulps per term over at most
/// ~100 non-negative terms, far below 1e-12 relative; a wrong window or a wrong
/// train changes these values in the first digits.
const RTOL: f64 = 1e-12;

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b || (a - b).abs() <= RTOL * a.abs().max(b.abs()),
        (None, None) => true,
        _ => false,
    }
}

fn opt(b: &RecordBatch, name: &str, k: usize) -> Option<f64> {
    let c = col::<Float64Type>(b, name);
    (!c.is_null(k)).then(|| c.value(k))
}

/// Var (ddof 0) / mean, None when the mean is 0.
fn fano(counts: &[f64]) -> Option<f64> {
    let n = counts.len() as f64;
    let m = counts.iter().sum::<f64>() / n;
    (m > 0.0).then(|| counts.iter().map(|c| (c - m).powi(2)).sum::<f64>() / n / m)
}

const EXPERIMENT: &str = "name: stats\nseed: 3\nduration: 600 ms\ndt: 0.1 ms\nneurons: 5\n\
    model: {type: lif}\n\
    input:\n  - {type: constant, amplitude: 0 pA}\n  - {type: noise, mean: 0 pA, sigma: 150 pA*sqrt(ms)}\n\
    grid: {\"input[0].amplitude\": [0 pA, 900 pA, 1.4 nA]}\nreplicates: 2\n\
    analysis: {window: [100 ms, 600 ms]}\n";

#[test]
fn summary_and_fi_statistics_match_the_published_formulas() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "stats.yaml", EXPERIMENT);
    run_ok(tmp.path(), &["run", &exp, "--out", "d", "-q"]);
    let root = tmp.path().join("d");

    // Each run's window and current.
    let runs = read(&root.join("runs.parquet"));
    let mut run_info: BTreeMap<u32, (f64, f64, f64)> = BTreeMap::new();
    for b in &runs {
        let id = col::<UInt32Type>(b, "run_id");
        let (lo, hi) = (
            col::<Float64Type>(b, "window_start_ms"),
            col::<Float64Type>(b, "window_stop_ms"),
        );
        let current = col::<Float64Type>(b, "input_0_amplitude_pA");
        for k in 0..b.num_rows() {
            run_info.insert(id.value(k), (lo.value(k), hi.value(k), current.value(k)));
        }
    }
    assert_eq!(run_info.len(), 6, "3 currents x 2 replicates");

    // Window spikes per (run, neuron), in time order.
    let mut trains: BTreeMap<(u32, u32), Vec<f64>> = BTreeMap::new();
    for b in read(&root.join("spikes")) {
        let (id, n, t) = (
            col::<UInt32Type>(&b, "run_id"),
            col::<UInt32Type>(&b, "neuron"),
            col::<Float64Type>(&b, "t_ms"),
        );
        for k in 0..b.num_rows() {
            let (lo, hi, _) = run_info[&id.value(k)];
            if t.value(k) >= lo && t.value(k) < hi {
                trains
                    .entry((id.value(k), n.value(k)))
                    .or_default()
                    .push(t.value(k));
            }
        }
    }

    let summary = read(&root.join("summary.parquet"));
    assert_eq!(rows(&summary), 30);
    let mut counts_of_run: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    let mut fano_of_run: BTreeMap<u32, Vec<Option<f64>>> = BTreeMap::new();
    let mut with_lvr = 0;
    for b in &summary {
        let (id, neuron, n) = (
            col::<UInt32Type>(b, "run_id"),
            col::<UInt32Type>(b, "neuron"),
            col::<UInt64Type>(b, "n_spikes"),
        );
        for k in 0..b.num_rows() {
            let run = id.value(k);
            let empty = Vec::new();
            let t = trains.get(&(run, neuron.value(k))).unwrap_or(&empty);
            assert_eq!(n.value(k), t.len() as u64);
            let isi: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
            let nn = isi.len() as f64;
            let m = isi.iter().sum::<f64>() / nn;
            let ss = isi.iter().map(|i| (i - m).powi(2)).sum::<f64>();
            let pairs: Vec<(f64, f64)> = isi.windows(2).map(|p| (p[0], p[1])).collect();
            let over_pairs = |f: &dyn Fn(f64, f64) -> f64| {
                (isi.len() >= 2)
                    .then(|| pairs.iter().map(|&(a, b)| f(a, b)).sum::<f64>() / (nn - 1.0))
            };
            let expect = [
                ("cv", (!isi.is_empty()).then(|| (ss / nn).sqrt() / m)),
                (
                    "isi_cv_sample",
                    (isi.len() >= 2).then(|| (ss / (nn - 1.0)).sqrt() / m),
                ),
                ("cv2", over_pairs(&|a, b| 2.0 * (b - a).abs() / (a + b))),
                (
                    "lv",
                    over_pairs(&|a, b| 3.0 * (a - b).powi(2) / (a + b).powi(2)),
                ),
                (
                    "lvr",
                    over_pairs(&|a, b| {
                        3.0 * (1.0 - 4.0 * a * b / (a + b).powi(2)) * (1.0 + 4.0 * 5.0 / (a + b))
                    }),
                ),
            ];
            for (name, want) in expect {
                let got = opt(b, name, k);
                assert!(
                    close(got, want),
                    "run {run} neuron {k}: {name} {got:?}, expected {want:?}"
                );
            }
            with_lvr += usize::from(isi.len() >= 2);
            counts_of_run.entry(run).or_default().push(t.len() as f64);
            fano_of_run
                .entry(run)
                .or_default()
                .push(opt(b, "fano_factor_run", k));
        }
        // Undefined statistics are nulls, never NaN.
        for c in b.columns() {
            if let Some(f) = c.as_primitive_opt::<Float64Type>() {
                assert!(f.iter().flatten().all(|x| x.is_finite()));
            }
        }
    }
    assert!(with_lvr >= 15, "the firing runs give long trains");

    // fano_factor_run: one value per run, on each of its rows; null for the silent runs.
    let (mut silent, mut firing) = (0, 0);
    for (run, values) in &fano_of_run {
        let want = fano(&counts_of_run[run]);
        assert!(
            values.iter().all(|v| close(*v, want)),
            "run {run}: {values:?} vs {want:?}"
        );
        match want {
            None => silent += 1,
            Some(f) => {
                assert!(f > 0.0, "noisy neurons differ in their counts");
                firing += 1;
            }
        }
    }
    assert_eq!(
        (silent, firing),
        (2, 4),
        "0 pA is silent, 900 pA and 1.4 nA fire"
    );

    // fi_curve's fano_factor: all trains at a current, both replicates pooled.
    let mut counts_at: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for (run, counts) in &counts_of_run {
        counts_at
            .entry(run_info[run].2.to_bits())
            .or_default()
            .extend(counts);
    }
    let fi = read(&root.join("fi_curve.parquet"));
    assert_eq!(rows(&fi), 3);
    for b in &fi {
        let current = col::<Float64Type>(b, "current_pA");
        for k in 0..b.num_rows() {
            let counts = &counts_at[&current.value(k).to_bits()];
            assert_eq!(counts.len(), 10, "5 neurons x 2 replicates");
            let want = fano(counts);
            let got = opt(b, "fano_factor", k);
            assert!(
                close(got, want),
                "{} pA: {got:?} vs {want:?}",
                current.value(k)
            );
            assert_eq!(got.is_none(), current.value(k) == 0.0);
        }
    }
}
