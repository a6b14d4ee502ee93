//! The engine against closed forms and known properties of the models (issue 2):
//! LIF inter-spike intervals and latencies, the EIF rheobase, the convergence order
//! of euler and rk4, and refractoriness.

mod common;
use common::{run, spec};

/// The Brette–Gerstner cell as an LIF: τ_m = 281/30 ms, rheobase g_L (V_th − E_L).
const G_L: f64 = 30.0;
const C: f64 = 281.0;
const E_L: f64 = -70.6;
const V_TH: f64 = -50.4;
const V_RESET: f64 = -70.6;

fn lif_yaml(method: &str, current_pa: f64, t_ref_ms: f64, duration: &str) -> String {
    format!(
        "name: lif\nduration: {duration}\ndt: 0.1 ms\nmethod: {method}\n\
         model: {{type: lif, t_ref: {t_ref_ms} ms}}\n\
         input: {{type: constant, amplitude: {current_pa} pA}}\n"
    )
}

/// ISI = t_ref + τ ln((R I + E_L − V_reset)/(R I + E_L − V_th)) (e.g. Gerstner et al.,
/// Neuronal Dynamics, 2014, eq. 1.13 with a refractory period added).
fn lif_isi(i: f64, t_ref: f64) -> f64 {
    let tau = C / G_L;
    let v_inf = E_L + i / G_L;
    t_ref + tau * ((v_inf - V_RESET) / (v_inf - V_TH)).ln()
}

#[test]
fn lif_exact_intervals_and_latency_match_the_closed_form() {
    for t_ref in [0.0, 2.0, 3.7] {
        for i in [650.0, 800.0, 1200.0, 3000.0] {
            let s = run(&spec(&lif_yaml("exact", i, t_ref, "500 ms")));
            let times = s.spike_times(0);
            assert!(times.len() >= 3, "I = {i}: only {} spikes", times.len());
            // Starting at E_L, the first spike comes after τ ln(R I / (R I − (V_th − E_L))).
            let tau = C / G_L;
            let latency = tau * ((i / G_L) / (i / G_L - (V_TH - E_L))).ln();
            assert!(
                (times[0] - latency).abs() < 0.1,
                "latency {} vs {latency}",
                times[0]
            );
            let expected = lif_isi(i, t_ref);
            for w in times.windows(2) {
                let isi = w[1] - w[0];
                // Closed-form crossing: only rounding separates the two (0.1 % is the
                // issue's bar; the exact method meets it with a wide margin).
                assert!(
                    ((isi - expected) / expected).abs() < 1e-3,
                    "I = {i}, t_ref = {t_ref}: ISI {isi} vs {expected}"
                );
                assert!(((isi - expected) / expected).abs() < 1e-9);
            }
        }
    }
}

#[test]
fn lif_rk4_and_euler_locate_spikes_inside_the_step() {
    // Resetting at the located crossing (not at the step's end) removes the dt/2
    // per-spike lag: every interval is within 0.1 % with rk4 at dt = 0.1 ms, and
    // within 2 % with first-order euler.
    for method in ["rk4", "euler"] {
        let i = 800.0;
        let s = run(&spec(&lif_yaml(method, i, 2.0, "1000 ms")));
        let times = s.spike_times(0);
        let expected = lif_isi(i, 2.0);
        let tol = if method == "rk4" { 1e-3 } else { 2e-2 };
        for w in times.windows(2) {
            let isi = w[1] - w[0];
            assert!(
                ((isi - expected) / expected).abs() < tol,
                "{method}: {isi} vs {expected}"
            );
        }
        assert!(times.len() > 20);
    }
}

#[test]
fn lif_below_rheobase_never_fires() {
    let rheobase = G_L * (V_TH - E_L);
    for method in ["exact", "rk4", "euler"] {
        let s = run(&spec(&lif_yaml(method, 0.99 * rheobase, 0.0, "2000 ms")));
        assert!(s.spikes.is_empty(), "{method} fired below rheobase");
    }
    let s = run(&spec(&lif_yaml("exact", 1.01 * rheobase, 0.0, "2000 ms")));
    assert!(!s.spikes.is_empty());
}

#[test]
fn eif_rheobase_separates_rest_from_sustained_firing() {
    // Fourcaud-Trocmé et al. (2003): the EIF's rheobase is g_L (V_T − E_L − Δ_T).
    let rheobase = 30.0 * (-50.4 - -70.6 - 2.0);
    let eif = |factor: f64| {
        spec(&format!(
            "name: eif\nduration: 2 s\ndt: 0.1 ms\nmethod: rk4\nmodel: {{type: eif}}\n\
             input: {{type: constant, amplitude: {} pA}}\n",
            factor * rheobase
        ))
    };
    assert!(run(&eif(0.98)).spikes.is_empty());
    let times = run(&eif(1.02)).spike_times(0);
    assert!(
        times.len() >= 3,
        "only {} spikes at 1.02 x rheobase",
        times.len()
    );
    // Sustained: spikes continue into the last quarter of the run.
    assert!(*times.last().unwrap() > 1500.0);
}

fn adex_subthreshold(method: &str, dt: &str, every: u32) -> Vec<f64> {
    let s = spec(&format!(
        "name: conv\nduration: 200 ms\ndt: {dt}\nmethod: {method}\nmodel: {{type: adex}}\n\
         initial: {{V: -60 mV, w: 50 pA}}\n\
         input: {{type: sine, offset: 300 pA, amplitude: 100 pA, frequency: 10 Hz}}\n\
         record: {{variables: [V], every: {every}}}\n"
    ));
    let sink = run(&s);
    assert!(sink.spikes.is_empty(), "trajectory must stay subthreshold");
    sink.trace(0).v
}

fn max_error(a: &[f64], reference: &[f64]) -> f64 {
    assert_eq!(a.len(), reference.len());
    a.iter()
        .zip(reference)
        .map(|(x, r)| (x - r).abs())
        .fold(0.0, f64::max)
}

#[test]
fn euler_converges_at_first_order_and_rk4_at_fourth() {
    // Samples every 0.5 ms for every dt, against rk4 at dt = 0.0005 ms.
    let reference = adex_subthreshold("rk4", "0.0005 ms", 1000);
    let euler = [
        max_error(&adex_subthreshold("euler", "0.05 ms", 10), &reference),
        max_error(&adex_subthreshold("euler", "0.005 ms", 100), &reference),
    ];
    let rk4 = [
        max_error(&adex_subthreshold("rk4", "0.5 ms", 1), &reference),
        max_error(&adex_subthreshold("rk4", "0.05 ms", 10), &reference),
    ];
    let euler_ratio = euler[0] / euler[1];
    let rk4_ratio = rk4[0] / rk4[1];
    // First order: 10x smaller dt, ~10x smaller error; fourth order: ~10^4.
    assert!(
        (8.0..12.5).contains(&euler_ratio),
        "euler ratio {euler_ratio} ({euler:?})"
    );
    assert!(
        (5e3..2e4).contains(&rk4_ratio),
        "rk4 ratio {rk4_ratio} ({rk4:?})"
    );
}

#[test]
fn refractory_holds_v_while_w_keeps_evolving() {
    let t_ref = 5.0;
    let s = spec(&format!(
        "name: refr\nduration: 300 ms\ndt: 0.1 ms\nmethod: rk4\n\
         model: {{type: adex, t_ref: {t_ref} ms, a: 20 nS, b: 50 pA}}\n\
         input: {{type: constant, amplitude: 1500 pA}}\n\
         record: {{variables: [V, w]}}\n"
    ));
    let sink = run(&s);
    let times = sink.spike_times(0);
    assert!(times.len() > 5);
    for w in times.windows(2) {
        assert!(
            w[1] - w[0] >= t_ref,
            "ISI {} shorter than t_ref",
            w[1] - w[0]
        );
    }
    let trace = sink.trace(0);
    let p = |key| s.params.get(key).unwrap();
    let mut checked = 0;
    for &ts in &times {
        // Samples strictly inside (t_s, t_s + t_ref): V is V_reset; w relaxes exactly
        // towards a (V_reset − E_L) with τ_w.
        let inside: Vec<usize> = (0..trace.t.len())
            .filter(|&k| trace.t[k] > ts + 1e-9 && trace.t[k] < ts + t_ref - 1e-9)
            .collect();
        for &k in &inside {
            assert_eq!(trace.v[k], p("V_reset"));
        }
        if let (Some(&a), Some(&b)) = (inside.first(), inside.last()) {
            assert_ne!(trace.w[a], trace.w[b], "w frozen during refractory period");
            let w_inf = p("a") * (p("V_reset") - p("E_L"));
            let predicted =
                w_inf + (trace.w[a] - w_inf) * (-(trace.t[b] - trace.t[a]) / p("tau_w")).exp();
            assert!((trace.w[b] - predicted).abs() < 1e-9 * predicted.abs().max(1.0));
            checked += 1;
        }
    }
    assert!(checked > 5);
}

#[test]
fn adex_spike_jump_and_overflow_safety() {
    // A huge input drives V far past V_peak within one step; exp() must not overflow
    // and the run must produce finite spikes, each followed by w += b.
    let s = spec(
        "name: big\nduration: 50 ms\ndt: 0.1 ms\nmethod: rk4\nmodel: {type: adex, t_ref: 1 ms}\n\
         input: {type: constant, amplitude: 1 uA}\nrecord: {variables: [V, w]}\n",
    );
    let sink = run(&s);
    let times = sink.spike_times(0);
    assert!(times.len() > 10);
    assert!(sink.trace(0).v.iter().all(|v| v.is_finite()));
    assert!(sink.trace(0).w.iter().all(|w| w.is_finite()));
}

#[test]
fn white_noise_statistics_do_not_depend_on_dt() {
    // With sigma in pA·√ms, the free membrane's SD is sigma/C · √(τ_m/2) whatever dt
    // (Ornstein–Uhlenbeck process of the membrane, e.g. Gerstner et al. 2014 §8.2).
    let sd_at = |dt: &str| {
        let s = spec(&format!(
            "name: n\nduration: 2 s\ndt: {dt}\nmethod: euler\nneurons: 200\n\
             model: {{type: lif, V_th: 0 mV, V_reset: -80 mV}}\n\
             input: {{type: noise, mean: 0 pA, sigma: 400 pA*sqrt(ms)}}\n\
             record: {{variables: [V], every: 100}}\n"
        ));
        let sink = run(&s);
        let mut sum = 0.0;
        let mut sq = 0.0;
        let mut n = 0.0;
        for (_, _, c) in &sink.traces {
            for (t, v) in c.t.iter().zip(&c.v) {
                if *t > 100.0 {
                    sum += v;
                    sq += v * v;
                    n += 1.0;
                }
            }
        }
        let mean = sum / n;
        (sq / n - mean * mean).sqrt()
    };
    let theory = 400.0 / C * (C / G_L / 2.0).sqrt();
    for dt in ["0.1 ms", "0.02 ms"] {
        let sd = sd_at(dt);
        // 200 neurons × ~1.9 s / τ_m ≈ 4e4 independent samples: sampling error < 1 %;
        // Euler's own bias at dt/τ_m ≤ 0.011 is below 1 % too.
        assert!(
            ((sd - theory) / theory).abs() < 0.03,
            "dt {dt}: SD {sd} vs {theory}"
        );
    }
}

/// NEST's published aeif reference (testsuite test_aeif_lsodar): spike times of an
/// AdEx cell with V_peak = 0 mV under 420 pA, from a high-accuracy ODE solver.
const NEST_AEIF_SPIKES: [f64; 7] = [
    18.7153, 30.5606, 42.4952, 54.5175, 66.6260, 78.8193, 91.0957,
];

fn nest_aeif(dt: &str) -> Vec<f64> {
    let s = spec(&format!(
        "name: nest\nduration: 100 ms\ndt: {dt}\nmethod: rk4\n\
         model: {{type: adex, C: 200 pF, g_L: 11 nS, E_L: -70 mV, V_T: -50 mV, Delta_T: 2 mV, \
         a: 3 nS, tau_w: 300 ms, b: 0 pA, V_reset: -58 mV, V_peak: 0 mV}}\n\
         initial: {{V: -70 mV, w: 5 pA}}\ninput: {{type: constant, amplitude: 420 pA}}\n"
    ));
    run(&s).spike_times(0)
}

#[test]
fn adex_matches_nests_reference_trace_at_dt_0_1() {
    let coarse = nest_aeif("0.1 ms");
    let fine = nest_aeif("0.001 ms");
    assert_eq!(coarse.len(), 7);
    // Against NEST's reference: the published times carry 4 decimals and our converged
    // solution sits within 0.005 ms of them; 0.01 ms leaves room for the rounding.
    for (t, r) in coarse.iter().zip(NEST_AEIF_SPIKES) {
        assert!((t - r).abs() < 0.01, "spike at {t} vs NEST {r}");
    }
    // Against itself at a 100x finer step: sub-stepping the exponential upswing keeps
    // the fixed-step error far below the 0.1 ms target of docs/ACCURACY.md.
    for (c, f) in coarse.iter().zip(&fine) {
        assert!((c - f).abs() < 1e-3, "dt 0.1: {c}, dt 0.001: {f}");
    }
}

#[test]
fn lif_subthreshold_sine_response_has_the_closed_form_gain_and_lag() {
    // τ dV/dt = −(V − E_L) + R I(t) with I = I₀ sin(ωt): in steady state V − E_L is a
    // sine of amplitude R I₀/√(1+(ωτ)²) lagging by atan(ωτ) (a first-order low-pass).
    let (i0, f_hz) = (200.0, 20.0);
    let s = spec(&format!(
        "name: sine\nduration: 1 s\ndt: 0.01 ms\nmethod: exact\n\
         model: {{type: lif, V_th: 0 mV}}\n\
         input: {{type: sine, offset: 0 pA, amplitude: {i0} pA, frequency: {f_hz} Hz}}\n\
         record: {{variables: [V], every: 10}}\n"
    ));
    let trace = run(&s).trace(0);
    let tau = C / G_L;
    let omega = 2.0 * std::f64::consts::PI * f_hz / 1000.0;
    let gain = i0 / G_L / (1.0 + (omega * tau).powi(2)).sqrt();
    let lag = (omega * tau).atan();
    // Project the last 0.5 s (ten periods, transient e^(−500/τ) gone) on sin and cos.
    let (mut a, mut b, mut n) = (0.0, 0.0, 0.0);
    for (t, v) in trace.t.iter().zip(&trace.v).filter(|(t, _)| **t >= 500.0) {
        a += (v - E_L) * (omega * t).sin();
        b += (v - E_L) * (omega * t).cos();
        n += 1.0;
    }
    let (a, b) = (2.0 * a / n, 2.0 * b / n);
    let amplitude = (a * a + b * b).sqrt();
    let phase = (-b).atan2(a);
    // Exact integration with the current held at the step midpoint is second order:
    // at dt = 0.01 ms the error is far below the 0.1 % asked here.
    assert!(
        (amplitude - gain).abs() < 1e-3 * gain,
        "gain {amplitude} vs {gain}"
    );
    assert!((phase - lag).abs() < 1e-3, "lag {phase} vs {lag}");
}

fn adex_fires(current: f64, a: f64) -> usize {
    let s = spec(&format!(
        "name: rh\nduration: 3 s\ndt: 0.1 ms\nmethod: rk4\nmodel: {{type: adex, a: {a} nS, b: 0 pA}}\n\
         input: {{type: constant, amplitude: {current} pA}}\n"
    ));
    run(&s).spike_times(0).len()
}

#[test]
fn adex_rheobase_in_the_saddle_node_regime() {
    // Touboul & Brette (2008): for a < C/τ_w (here 1 nS < 281/144 nS) the rest state
    // vanishes in a saddle-node at I = (g_L + a)[V_T − E_L − Δ_T + Δ_T ln(1 + a/g_L)].
    let a = 1.0;
    let rheobase = (G_L + a) * (-50.4 - E_L - 2.0 + 2.0 * (1.0 + a / G_L).ln());
    assert_eq!(adex_fires(0.98 * rheobase, a), 0);
    assert!(adex_fires(1.02 * rheobase, a) >= 3);
}

#[test]
fn rk4_keeps_its_order_across_a_step_onset() {
    // A step switching on at a grid point: rk4's last stage must see the current just
    // before the step's end, or the onset moves dt/6 earlier (0.017 ms at dt = 0.1;
    // found by scripts/crosscheck.py). First spike: onset + τ ln(RI / (RI − (V_th − E_L))).
    let yaml = "name: onset\nduration: 200 ms\ndt: 0.1 ms\nmethod: rk4\nmodel: {type: lif}\n\
                input: {type: step, amplitude: 800 pA, start: 100 ms}\n";
    let times = run(&spec(yaml)).spike_times(0);
    let tau = C / G_L;
    let expected = 100.0 + tau * ((800.0 / G_L) / (800.0 / G_L - (V_TH - E_L))).ln();
    assert!(
        (times[0] - expected).abs() < 1e-4,
        "first spike {} vs {expected}",
        times[0]
    );
}
