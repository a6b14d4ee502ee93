//! Kernel benchmarks (issue 6): one step of each model and method over a population
//! of 10,000 neurons, exactly as the engine runs it (engine::kernel::plain_steps), and
//! the raw floor: a minimal AdEx forward-Euler loop with threshold and reset and
//! nothing else, which the whole engine (W1 euler, scripts/bench.sh) is compared with.
//! Each iteration steps the population on from where the last left it (neurons that
//! cross are flagged and held, as in the engine before their slow path).
//! Run: cargo bench --bench kernels

use neurodyn::engine::integrate::{Currents, Euler, Exact, Integrator, Rk4};
use neurodyn::engine::kernel::{plain_steps, Each, Models, Same, Shared, Step};
use neurodyn::model::{self, adex::Adex, eif::Eif, fastexp, lif::Lif, Dynamics, Model, ModelKind};

const N: usize = 10_000;
const DT: f64 = 0.1;

fn main() {
    divan::main();
}

fn params(name: &str) -> model::Params {
    model::Params::defaults(ModelKind::by_name(name).expect("a registered model"))
}

/// A population spread over the subthreshold range with currents 500–1000 pA, like W1.
struct Population {
    v: Vec<f64>,
    w: Vec<f64>,
    bias: Vec<f64>,
    slow: Vec<bool>,
}

fn population() -> Population {
    let x = |j: usize| j as f64 / (N - 1) as f64;
    Population {
        v: (0..N).map(|j| -70.0 + 15.0 * x(j)).collect(),
        w: (0..N).map(|j| 50.0 * x(j)).collect(),
        bias: (0..N).map(|j| 500.0 + 500.0 * x(j)).collect(),
        slow: vec![false; N],
    }
}

fn step<M: Dynamics, I: Integrator<M>>(bencher: divan::Bencher, model: M) {
    step_with::<M, I, _>(bencher, Same(model));
}

fn step_with<M: Dynamics, I: Integrator<M>, P: Models<M>>(bencher: divan::Bencher, models: P) {
    let mut p = population();
    let until = vec![0.0; N];
    let det = Shared(Currents {
        start: 0.0,
        mid: 0.0,
        end: 0.0,
    });
    let shared = Step {
        t: 0.0,
        h: DT,
        det,
        noise: &p.bias,
        until: &until,
    };
    bencher
        .counter(divan::counter::ItemsCount::new(N))
        .bench_local(|| {
            plain_steps::<M, I, P, _>(models, &shared, &mut p.v, &mut p.w, &mut p.slow);
            divan::black_box(&p.v);
        });
}

#[divan::bench]
fn lif_euler(b: divan::Bencher) {
    step::<Lif, Euler>(b, Lif::new(&params("lif")));
}

#[divan::bench]
fn lif_rk4(b: divan::Bencher) {
    step::<Lif, Rk4>(b, Lif::new(&params("lif")));
}

#[divan::bench]
fn lif_exact(b: divan::Bencher) {
    step::<Lif, Exact>(b, Lif::new(&params("lif")));
}

#[divan::bench]
fn eif_euler(b: divan::Bencher) {
    step::<Eif, Euler>(b, Eif::new(&params("eif")));
}

#[divan::bench]
fn eif_rk4(b: divan::Bencher) {
    step::<Eif, Rk4>(b, Eif::new(&params("eif")));
}

#[divan::bench]
fn adex_euler(b: divan::Bencher) {
    step::<Adex, Euler>(b, Adex::new(&params("adex")));
}

/// AdEx Euler with a model per neuron, as in a block of packed runs whose parameters
/// differ (here `a` varies over the population).
#[divan::bench]
fn adex_euler_each(b: divan::Bencher) {
    let models: Vec<Adex> = (0..N)
        .map(|j| {
            let mut p = params("adex");
            p.set("a", 2.0 + 4.0 * j as f64 / N as f64);
            Adex::new(&p)
        })
        .collect();
    step_with::<Adex, Euler, _>(b, Each(&models));
}

#[divan::bench]
fn adex_rk4(b: divan::Bencher) {
    step::<Adex, Rk4>(b, Adex::new(&params("adex")));
}

/// The floor: AdEx forward Euler with the threshold test and reset in the same loop,
/// constants inlined, no sub-steps, no spike-time location, no noise, no recording;
/// compiled for the same instruction sets as the engine's kernel and chosen the same
/// way, so the two differ only in the work they do.
#[divan::bench]
fn adex_euler_floor(b: divan::Bencher) {
    let p = Cell::new(&params("adex"));
    let mut pop = population();
    b.counter(divan::counter::ItemsCount::new(N))
        .bench_local(|| {
            floor_dispatch(&p, &mut pop);
            divan::black_box(&pop.v);
        });
}

fn floor_dispatch(p: &Cell, pop: &mut Population) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F.
            return unsafe { floor_avx512(p, pop) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { floor_avx2(p, pop) };
        }
    }
    floor(p, pop);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn floor_avx512(p: &Cell, pop: &mut Population) {
    floor(p, pop);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn floor_avx2(p: &Cell, pop: &mut Population) {
    floor(p, pop);
}

/// The AdEx constants the floor inlines.
struct Cell {
    c: f64,
    g_l: f64,
    e_l: f64,
    v_t: f64,
    delta_t: f64,
    v_peak: f64,
    v_reset: f64,
    a: f64,
    b: f64,
    tau_w: f64,
}

impl Cell {
    fn new(p: &model::Params) -> Cell {
        let v = |k| p.value(k);
        Cell {
            c: v("C"),
            g_l: v("g_L"),
            e_l: v("E_L"),
            v_t: v("V_T"),
            delta_t: v("Delta_T"),
            v_peak: v("V_peak"),
            v_reset: v("V_reset"),
            a: v("a"),
            b: v("b"),
            tau_w: v("tau_w"),
        }
    }
}

#[inline(always)]
fn floor(p: &Cell, pop: &mut Population) {
    let (inv_c, inv_tau_w, inv_dt) = (1.0 / p.c, 1.0 / p.tau_w, 1.0 / p.delta_t);
    let g_dt = p.g_l * p.delta_t;
    let (v, w, bias) = (&mut pop.v[..N], &mut pop.w[..N], &pop.bias[..N]);
    for j in 0..N {
        let (vj, wj) = (v[j], w[j]);
        let e = g_dt * fastexp::exp(((vj - p.v_t) * inv_dt).min(20.0));
        let dv = (-p.g_l * (vj - p.e_l) + e - wj + bias[j]) * inv_c;
        let dw = (p.a * (vj - p.e_l) - wj) * inv_tau_w;
        let (v1, w1) = (vj + DT * dv, wj + DT * dw);
        let spike = v1 >= p.v_peak;
        v[j] = if spike { p.v_reset } else { v1 };
        w[j] = if spike { w1 + p.b } else { w1 };
    }
}
