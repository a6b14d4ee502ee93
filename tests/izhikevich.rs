//! The Izhikevich model (issue 10, item 7): the five cells of the shipped
//! experiments/izhikevich.yaml show their published behaviour in summary.parquet
//! (through the real binary), spike times converge at the integration method's order,
//! the rheobase is the closed form's saddle-node, and `neurodyn models` and `plan`
//! know the model.
//!
//! The cells' behaviour is that of the book's equations (Izhikevich 2007, ch. 8) under
//! the current steps of its figures; where this model has the closest linear form of
//! the book's (LTS, FS) the numbers quoted below are this model's.

mod common;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, UInt32Type, UInt64Type};
use common::*;
use std::collections::HashMap;

/// One cell's row of summary.parquet.
#[derive(Debug)]
struct Stats {
    n_spikes: u64,
    rate_hz: f64,
    adaptation_index: Option<f64>,
    isi_cv: Option<f64>,
    median_isi_ms: Option<f64>,
    onset_rate_hz: Option<f64>,
    steady_state_rate_hz: Option<f64>,
    pattern: String,
}

impl Stats {
    /// 1/ISI₁ over 1/(mean of the last three ISIs): above 1 the train slows down.
    fn onset_over_steady(&self) -> f64 {
        self.onset_rate_hz.unwrap() / self.steady_state_rate_hz.unwrap()
    }
}

/// Run the shipped experiment and return each cell's statistics by (label, current
/// in pA).
fn shipped() -> HashMap<(String, String), Stats> {
    let tmp = tempfile::tempdir().unwrap();
    let exp = repo().join("experiments/izhikevich.yaml");
    run_ok(
        tmp.path(),
        &["run", exp.to_str().unwrap(), "--out", "izh", "-q"],
    );
    let runs = read(&tmp.path().join("izh/runs.parquet"));
    let mut cell_of_run = HashMap::new();
    for b in &runs {
        let id = col::<UInt32Type>(b, "run_id");
        let amp = col::<Float64Type>(b, "input_amplitude_pA");
        let label = b.column_by_name("label").unwrap().as_string::<i32>();
        let status = b.column_by_name("status").unwrap().as_string::<i32>();
        for k in 0..b.num_rows() {
            assert_eq!(status.value(k), "ok");
            let key = (label.value(k).to_string(), format!("{}", amp.value(k)));
            cell_of_run.insert(id.value(k), key);
        }
    }
    assert_eq!(cell_of_run.len(), 20, "5 cells x 4 currents");
    let summary = read(&tmp.path().join("izh/summary.parquet"));
    let mut out = HashMap::new();
    for b in &summary {
        let id = col::<UInt32Type>(b, "run_id");
        let f = |name: &str, k: usize| {
            let c = col::<Float64Type>(b, name);
            (!c.is_null(k)).then(|| c.value(k))
        };
        let n = col::<UInt64Type>(b, "n_spikes");
        let pattern = b.column_by_name("pattern").unwrap().as_string::<i32>();
        for k in 0..b.num_rows() {
            let stats = Stats {
                n_spikes: n.value(k),
                rate_hz: f("rate_Hz", k).unwrap(),
                adaptation_index: f("adaptation_index", k),
                isi_cv: f("isi_cv_sample", k),
                median_isi_ms: f("median_isi_ms", k),
                onset_rate_hz: f("onset_rate_Hz", k),
                steady_state_rate_hz: f("steady_state_rate_Hz", k),
                pattern: pattern.value(k).to_string(),
            };
            out.insert(cell_of_run[&id.value(k)].clone(), stats);
        }
    }
    assert_eq!(out.len(), 20);
    out
}

fn cell<'a>(all: &'a HashMap<(String, String), Stats>, label: &str, pa: f64) -> &'a Stats {
    &all[&(label.to_string(), format!("{pa}"))]
}

#[test]
fn regular_spiking_is_class_1_and_adapts_weakly_at_the_books_currents() {
    let all = shipped();
    let rs = |pa| cell(&all, "rs", pa);
    // Class-1 excitability: 60 pA is only 17 % above the saddle-node rheobase of
    // 51.4 pA, where the rate starts from zero, so the cell fires slowly (4 Hz; the
    // first spike comes after 172 ms); the rate then rises with the current
    // (4, 7, 10, 13 Hz over the figure's 60, 70, 85, 100 pA).
    assert!(
        rs(60.0).rate_hz > 0.0 && rs(60.0).rate_hz < 5.0,
        "{:?}",
        rs(60.0)
    );
    let rates: Vec<f64> = [60.0, 70.0, 85.0, 100.0].map(|pa| rs(pa).rate_hz).to_vec();
    assert!(rates.windows(2).all(|w| w[1] > w[0]), "{rates:?}");
    for pa in [60.0, 70.0, 85.0, 100.0] {
        // Regular: after the first interval the train is periodic (CV ≤ 0.01 here);
        // 0.02 leaves room without admitting bursts or irregularity (Naud's bound
        // for irregular firing is 0.25).
        assert!(rs(pa).isi_cv.unwrap() < 0.02, "{pa} pA: {:?}", rs(pa));
        assert_ne!(rs(pa).pattern, "regular_bursting");
    }
    // Adaptation: u (d = 100 pA per spike) decays with 1/a = 33 ms, so it only
    // carries over when the interval is not much longer than that. At the book's
    // currents the intervals are 75-230 ms and the cell adapts weakly: at 100 pA the
    // first interval is 73.4 ms and the steady one 76.0 ms (onset/steady rate 1.035,
    // adaptation index 0.0016 over the 12 intervals of 1 s); at 70 pA (148 ms) not at
    // all. The bounds are a third below the measured values and order the currents.
    assert!(rs(100.0).onset_over_steady() > 1.02, "{:?}", rs(100.0));
    let ai = |pa| rs(pa).adaptation_index.unwrap();
    assert!(ai(100.0) > 1e-3, "{:?}", rs(100.0));
    assert!(
        ai(100.0) > ai(85.0) && ai(85.0) > ai(70.0),
        "{:?}",
        [ai(70.0), ai(85.0), ai(100.0)]
    );
}

#[test]
fn intrinsically_bursting_starts_with_a_burst_then_fires_tonically() {
    let all = shipped();
    let ib = |pa| cell(&all, "ib", pa);
    // The figure's lowest current is below the cell's threshold.
    assert_eq!(ib(290.0).n_spikes, 0);
    for pa in [500.0, 550.0] {
        let s = ib(pa);
        // Naud's initial_burst: a few fast spikes, then a train more than 3x slower
        // that is regular (the rule also excludes bursting and irregular trains).
        assert_eq!(s.pattern, "initial_burst", "{pa} pA: {s:?}");
        // The opening interval (16 and 13 ms) against the tonic ones (94 and 76 ms):
        // onset rate 5.8x the steady rate; 3x is the burst gap of the classifier.
        assert!(s.onset_over_steady() > 3.0, "{pa} pA: {s:?}");
        assert!(s.n_spikes >= 10, "tonic firing continues: {s:?}");
    }
}

#[test]
fn chattering_fires_fast_bursts_at_every_current() {
    let all = shipped();
    for pa in [200.0, 300.0, 400.0, 600.0] {
        let s = cell(&all, "ch", pa);
        // Naud's regular_bursting: the steady intervals split at a gap of more than
        // 3x into short (intra-burst) and at least two long (inter-burst) ones.
        assert_eq!(s.pattern, "regular_bursting", "{pa} pA: {s:?}");
        // Doublets and triplets: intra-burst intervals of 3-5 ms alternate with
        // 25-90 ms between bursts, so the interval CV is 0.85-0.96 (a tonic train has
        // about 0; a strict alternation of s and L ≫ s gives nearly 1). 0.7 is far
        // from both.
        assert!(s.isi_cv.unwrap() > 0.7, "{pa} pA: {s:?}");
        // Most intervals are intra-burst: the median interval is below 6 ms
        // (above 165 Hz) while the mean rate stays 22-95 Hz.
        assert!(s.median_isi_ms.unwrap() < 6.0, "{pa} pA: {s:?}");
        assert!(s.rate_hz < 100.0, "{pa} pA: {s:?}");
    }
}

#[test]
fn low_threshold_spiking_fires_an_onset_spike_then_adapting_trains() {
    let all = shipped();
    let lts = |pa| cell(&all, "lts", pa);
    // The book's LTS model under the figure's 100 pA: a single spike 41 ms into the
    // step (u, with a large b = 8 nS but a slow a, lags the step), then rest: the
    // current is below what sustains firing (125 pA does: 12 spikes in 1 s).
    assert_eq!(lts(100.0).n_spikes, 1, "{:?}", lts(100.0));
    assert_eq!(lts(100.0).pattern, "transient");
    assert!(lts(125.0).n_spikes >= 10, "{:?}", lts(125.0));
    // At 200 pA the train adapts: the first interval is 23 ms, the steady one 39 ms
    // (the book's form with its u-dependent reset: 20 and 36 ms), onset/steady rate
    // 1.69; 1.5 is Naud's ratio for adapting trains. The regular-spiking cell at its
    // highest current stays below 1.05 (see above).
    assert!(lts(200.0).onset_over_steady() > 1.5, "{:?}", lts(200.0));
    assert!(lts(300.0).onset_over_steady() > 1.3, "{:?}", lts(300.0));
}

#[test]
fn fast_spiking_fires_fast_without_adaptation() {
    let all = shipped();
    let fs = |pa| cell(&all, "fs", pa);
    let s = fs(400.0);
    // The book's FS model (with its cubic u nullcline) fires at 150 Hz under the
    // figure's strongest current, 400 pA; this linear form at 148 Hz. 100 Hz is the
    // bound of the issue and leaves a third of margin.
    assert!(s.rate_hz > 100.0, "{s:?}");
    // Without adaptation: only the first interval (4.4 ms, from u = 0) is shorter
    // than the steady 6.8 ms, so over 147 intervals the adaptation index is 0.0014;
    // an adapting cell of Naud et al. (2008) is an order of magnitude above 0.005.
    assert!(s.adaptation_index.unwrap().abs() < 0.005, "{s:?}");
    // The steady rate is the mean rate (within 2 %) and the train is periodic.
    assert!(
        (s.steady_state_rate_hz.unwrap() / s.rate_hz - 1.0).abs() < 0.02,
        "{s:?}"
    );
    assert!(s.isi_cv.unwrap() < 0.05, "{s:?}");
    assert_eq!(s.pattern, "tonic");
    // Rate rises with current: 18, 44, 83, 148 Hz.
    let rates: Vec<f64> = [73.2, 100.0, 200.0, 400.0]
        .map(|pa| fs(pa).rate_hz)
        .to_vec();
    assert!(rates.windows(2).all(|w| w[1] > w[0]), "{rates:?}");
}

/// The book's fast-spiking cell (linear form) under 400 pA for 100 ms: 15 spikes.
const FS: &str = "C: 20 pF, k: 1 nS/mV, v_r: -55 mV, v_t: -40 mV, v_peak: 25 mV, \
                  a: 0.2 /ms, b: 2 nS, c: -45 mV, d: 400 pA";
/// The book's chattering cell under 600 pA for 100 ms: bursts of three, 11 spikes.
const CH: &str = "C: 50 pF, k: 1.5 nS/mV, v_r: -60 mV, v_t: -40 mV, v_peak: 25 mV, \
                  a: 0.03 /ms, b: 1 nS, c: -40 mV, d: 150 pA";

fn spike_times(cell: &str, pa: f64, method: &str, dt: &str) -> Vec<f64> {
    let s = spec(&format!(
        "name: conv\nduration: 100 ms\ndt: {dt}\nmethod: {method}\n\
         model: {{type: izhikevich, {cell}}}\n\
         input: {{type: step, amplitude: {pa} pA, start: 0 ms}}\n"
    ));
    run(&s).spike_times(0)
}

/// Largest spike-time difference (ms) of the runs at each dt against rk4 at 0.001 ms.
fn errors(cell: &str, pa: f64, method: &str, dts: &[&str]) -> Vec<f64> {
    let reference = spike_times(cell, pa, "rk4", "0.001 ms");
    dts.iter()
        .map(|dt| {
            let t = spike_times(cell, pa, method, dt);
            assert_eq!(t.len(), reference.len(), "{method} at {dt}");
            t.iter()
                .zip(&reference)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
        })
        .collect()
}

#[test]
fn spike_times_converge_at_the_methods_order() {
    let dts = ["0.1 ms", "0.05 ms", "0.025 ms"];
    for (name, cell, pa) in [("fs", FS, 400.0), ("ch", CH, 600.0)] {
        let rk4 = errors(cell, pa, "rk4", &dts);
        // Fourth order: halving dt divides the error by 16 in the limit; measured
        // 11-16 (fs: 3.1e-4, 2.4e-5, 1.5e-6 ms). A sub-step rule that did not shrink
        // with dt would show a floor here (ratio near 1), first order a ratio of 2.
        assert!(rk4[0] < 1e-3, "{name}: {rk4:?}");
        for w in rk4.windows(2) {
            assert!(w[0] / w[1] > 8.0, "{name} rk4: {rk4:?}");
        }
    }
    // Euler, first order: the ratio tends to 2 (measured 1.85, 1.90).
    let euler = errors(FS, 400.0, "euler", &dts);
    for w in euler.windows(2) {
        let r = w[0] / w[1];
        assert!(r > 1.6 && r < 2.5, "euler: {euler:?}");
    }
}

#[test]
fn the_rheobase_is_the_closed_form_saddle_node() {
    // (k (v_t − v_r) + b)² / (4k) for the regular-spiking defaults: 12²/2.8 pA.
    let rheobase = 144.0 / 2.8;
    // Steps from rest: 2 % below, the cell settles without a spike; 2 % above, it
    // fires on and on at a low rate (class 1: one spike per ~650 ms).
    let long = |factor: f64| {
        let s = spec(&format!(
            "name: rheo\nduration: 3 s\ndt: 0.05 ms\nmethod: rk4\nmodel: {{type: izhikevich}}\n\
             input: {{type: step, amplitude: {} pA, start: 0 ms}}\n",
            factor * rheobase
        ));
        run(&s).spike_times(0)
    };
    assert!(long(0.98).is_empty(), "fired below the rheobase");
    let above = long(1.02);
    assert!(above.len() >= 3, "{above:?}");
    assert!(*above.last().unwrap() > 2000.0, "sustained: {above:?}");
    assert!(above.windows(2).all(|w| w[1] - w[0] > 500.0), "{above:?}");
}

#[test]
fn models_lists_the_table_and_the_shipped_file_plans() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_ok(tmp.path(), &["models", "izhikevich"]);
    assert!(out.starts_with("izhikevich"), "{out}");
    for row in ["k ", "v_r", "v_t", "v_peak", "nS_per_mV", "0.7", "t_ref"] {
        assert!(out.contains(row), "{row} missing: {out}");
    }
    let all = run_ok(tmp.path(), &["models"]);
    assert!(all.contains("izhikevich —"), "{all}");
    let exp = repo().join("experiments/izhikevich.yaml");
    let plan = run_ok(tmp.path(), &["plan", exp.to_str().unwrap()]);
    assert!(plan.contains("20 runs"), "{plan}");
    let o = neurodyn(tmp.path(), &["plan", exp.to_str().unwrap()]);
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}
