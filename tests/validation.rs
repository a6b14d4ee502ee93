//! Validation against published theory that needs more than one short run: the
//! noise-driven LIF rate against the Siegert formula with grid-only crossings (with
//! the default Brownian-bridge crossings, and the ISI CV, in tests/accuracy.rs), and the AdEx rheobase in the
//! Andronov–Hopf regime. The other validation cases sit beside the code they check:
//! LIF closed forms, the subthreshold sine response, the EIF and saddle-node AdEx
//! rheobases and NEST's aeif reference trace in tests/dynamics.rs; the Naud et al.
//! (2008) firing patterns in tests/analysis.rs; golden regressions in tests/golden.rs.

mod common;
use common::{run, spec};

/// The Brette–Gerstner cell as an LIF (neurodyn's defaults).
const C: f64 = 281.0;
const G_L: f64 = 30.0;
const E_L: f64 = -70.6;
const V_TH: f64 = -50.4;
const V_RESET: f64 = -70.6;

/// Stationary rate (Hz) of τ dV/dt = −(V − E_L) + μ + σ√τ ξ(t) with threshold θ and
/// reset V_r (Siegert 1951; Brunel 2000, J. Comput. Neurosci. 8:183, eq. 21):
///   1/ν = t_ref + τ √π ∫_{(V_r−μ)/σ}^{(θ−μ)/σ} e^{u²}(1 + erf u) du,
/// here with μ and the bounds measured from E_L. With e^{u²}(1 + erf u) =
/// (2/√π) ∫_0^∞ e^{2us − s²} ds the u-integral is done in closed form, leaving
///   1/ν = t_ref + τ ∫_0^∞ e^{−s²} (e^{2 y_θ s} − e^{2 y_r s}) / s ds,
/// a smooth integrand (2(y_θ − y_r) at s = 0), integrated by Simpson's rule. For
/// μ = 16.67 mV, σ = 4.00 mV (below) this gives 19.235 Hz, as does scipy's quad of the
/// first form with erfcx (checked once by hand).
fn siegert_hz(mu: f64, sigma: f64, theta: f64, v_r: f64, tau: f64, t_ref: f64) -> f64 {
    let (y_t, y_r) = ((theta - mu) / sigma, (v_r - mu) / sigma);
    let f = |s: f64| {
        if s == 0.0 {
            2.0 * (y_t - y_r)
        } else {
            (-s * s).exp() * ((2.0 * y_t * s).exp() - (2.0 * y_r * s).exp()) / s
        }
    };
    let top = y_t.max(0.0) + 12.0;
    let n = 20_000;
    let h = top / n as f64;
    let mut sum = f(0.0) + f(top);
    for k in 1..n {
        sum += f(k as f64 * h) * if k % 2 == 1 { 4.0 } else { 2.0 };
    }
    1000.0 / (t_ref + tau * sum * h / 3.0)
}

/// Noise-driven LIF rate vs the Siegert formula with crossings seen at grid points
/// only (`crossings: grid`, as Brian2 and NEST; the default bridge correction is
/// checked in tests/accuracy.rs). A threshold tested only at grid points misses
/// crossings inside a step, so a time-stepped LIF fires below the Siegert rate. For a diffusion monitored every dt the first-passage statistics equal
/// those of continuous monitoring with the barrier raised by β × (per-step SD),
/// β = −ζ(1/2)/√(2π) = 0.5826 (Broadie, Glasserman & Kou 1997, Math. Finance 7:325,
/// Theorem 2.1); here the per-step SD of V is σ √(dt/τ). The simulated rate must match
/// the Siegert rate with that raised threshold within 4 standard errors of the rate
/// estimate (ISI CV / √spikes, relative, for a renewal train) plus 2 % for the O(dt/τ)
/// remainder of the correction, and must be significantly below the uncorrected rate
/// at dt = 0.1 ms, where the bias is ~7 %. (Measured here: 17.95 ± 0.06 Hz at dt 0.1,
/// 18.74 at 0.01, against 17.81 and 18.78 predicted and 19.235 uncorrected.)
#[test]
fn noise_driven_lif_fires_at_the_siegert_rate() {
    let tau = C / G_L;
    let (current, sigma_i) = (500.0, 367.0); // pA, pA·√ms
    let mu = current / G_L; // mV above E_L
    let sigma = sigma_i / (G_L * tau.sqrt()); // mV: σ√τ ξ = (σ_I/g_L) ξ
    let (theta, v_r) = (V_TH - E_L, V_RESET - E_L);
    let exact = siegert_hz(mu, sigma, theta, v_r, tau, 0.0);
    assert!((exact - 19.235).abs() < 0.01, "Siegert {exact}");
    for (dt, neurons, seconds) in [(0.1, 200, 5), (0.02, 100, 3)] {
        let yaml = format!(
            "name: siegert\nseed: 7\nduration: {seconds} s\ndt: {dt} ms\nmethod: euler\n\
             crossings: grid\n\
             neurons: {neurons}\nmodel: {{type: lif}}\ninitial: {{V: -70.6 mV}}\n\
             input: {{type: noise, mean: {current} pA, sigma: {sigma_i} pA*sqrt(ms)}}\n"
        );
        let sink = run(&spec(&yaml));
        // Skip the first 200 ms (20 τ) so the estimate is of the stationary rate.
        let skip = 200.0;
        let (mut spikes, mut isis) = (0usize, Vec::new());
        for n in 0..neurons {
            let t: Vec<f64> = sink
                .spike_times(n)
                .into_iter()
                .filter(|&t| t >= skip)
                .collect();
            spikes += t.len();
            isis.extend(t.windows(2).map(|w| w[1] - w[0]));
        }
        let span = f64::from(neurons) * (f64::from(seconds) * 1000.0 - skip) / 1000.0;
        let rate = spikes as f64 / span;
        let m = isis.iter().sum::<f64>() / isis.len() as f64;
        let cv = (isis.iter().map(|x| (x - m).powi(2)).sum::<f64>() / isis.len() as f64).sqrt() / m;
        let se = rate * cv / (spikes as f64).sqrt();
        // −ζ(1/2)/√(2π), ζ(1/2) = −1.4603545088.
        let beta = 1.460_354_508_8 / (2.0 * std::f64::consts::PI).sqrt();
        let shift = beta * sigma * (dt / tau).sqrt();
        let expected = siegert_hz(mu, sigma, theta + shift, v_r, tau, 0.0);
        let tol = 4.0 * se + 0.02 * expected;
        assert!(
            (rate - expected).abs() < tol,
            "dt {dt}: {rate:.3} Hz vs Siegert {expected:.3} Hz (shifted; unshifted {exact:.3}), \
             tolerance {tol:.3}"
        );
        if dt == 0.1 {
            assert!(rate < exact - 4.0 * se, "dt 0.1: {rate} not below {exact}");
        }
    }
}

/// AdEx in the Andronov–Hopf regime (a > C/τ_w; Touboul & Brette 2008, Biol. Cybern.
/// 99:319, Theorem 2 and sec. 3.2): the resting state loses stability where the trace
/// of the Jacobian vanishes, at V_h = V_T + Δ_T ln(1 + C/(g_L τ_w)), i.e. at the current
///   I_h = (g_L + a)(V_h − E_L) − g_L Δ_T (1 + C/(g_L τ_w)),
/// below the saddle-node current (g_L + a)[V_T − E_L − Δ_T + Δ_T ln(1 + a/g_L)]. The
/// neuron starts 0.05 mV above its fixed point: at 0.98 I_h the perturbation decays,
/// at 1.02 I_h (still below the saddle-node current) it grows into sustained firing.
#[test]
fn adex_rheobase_in_the_hopf_regime() {
    let (c, g_l, e_l, v_t, d_t, a, tau_w): (f64, f64, f64, f64, f64, f64, f64) =
        (200.0, 10.0, -70.0, -50.0, 2.0, 40.0, 30.0);
    assert!(a > c / tau_w, "not the Hopf regime");
    let v_h = v_t + d_t * (1.0 + c / (g_l * tau_w)).ln();
    let i_h = (g_l + a) * (v_h - e_l) - g_l * d_t * (1.0 + c / (g_l * tau_w));
    let i_sn = (g_l + a) * (v_t - e_l - d_t + d_t * (1.0 + a / g_l).ln());
    assert!(1.02 * i_h < i_sn, "{i_h} vs {i_sn}");
    // I at the fixed points: F(V) = (g_L + a)(V − E_L) − g_L Δ_T e^{(V−V_T)/Δ_T},
    // increasing up to V_sn; the rest state is its root below V_sn.
    let f = |v: f64| (g_l + a) * (v - e_l) - g_l * d_t * ((v - v_t) / d_t).exp();
    let v_sn = v_t + d_t * (1.0 + a / g_l).ln();
    for (factor, fires) in [(0.98, false), (1.02, true)] {
        let i = factor * i_h;
        let (mut lo, mut hi) = (e_l - 20.0, v_sn);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if f(mid) < i {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let v_star = 0.5 * (lo + hi);
        let w_star = a * (v_star - e_l);
        let yaml = format!(
            "name: hopf\nduration: 3 s\ndt: 0.05 ms\nmethod: rk4\n\
             model: {{type: adex, C: {c} pF, g_L: {g_l} nS, E_L: {e_l} mV, V_T: {v_t} mV, \
             Delta_T: {d_t} mV, a: {a} nS, tau_w: {tau_w} ms, b: 0 pA, V_reset: -58 mV, \
             V_peak: 0 mV}}\n\
             initial: {{V: {} mV, w: {w_star} pA}}\n\
             input: {{type: constant, amplitude: {i} pA}}\n",
            v_star + 0.05
        );
        let spikes = run(&spec(&yaml)).spike_times(0);
        let late = spikes.iter().filter(|&&t| t >= 2000.0).count();
        if fires {
            assert!(
                late >= 3,
                "{factor} I_h = {i:.1} pA: {late} spikes in the last second"
            );
        } else {
            assert!(
                spikes.is_empty(),
                "{factor} I_h = {i:.1} pA fired at {spikes:?}"
            );
        }
    }
}
