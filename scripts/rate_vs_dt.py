#!/usr/bin/env python3
"""Firing rate of a noise-driven LIF against dt, against the Siegert rate
(docs/ACCURACY.md, "Noise-driven rates against dt").

One population of independent LIF neurons (neurodyn's default cell, 500 pA mean input,
white noise of 367 pA*sqrt(ms), i.e. mu = 16.67 mV and sigma = 4.0 mV in Brunel's
notation) is simulated at each dt by neurodyn `exact` with crossings between grid
points found by the Brownian bridge (the default) and without (`crossings: grid`),
Brian2 (Euler-Maruyama, its method for additive noise) and NEST (`iaf_psc_delta`,
exact propagator, with a `noise_generator` giving a current held over each step of
SD sigma/sqrt(dt), as neurodyn's white noise). Each rate is compared with the Siegert
rate (Siegert 1951; Brunel 2000, J. Comput. Neurosci. 8:183, eq. 21).

Usage: rate_vs_dt.py [--neurodyn PATH] [--dts 0.02,0.05,0.1,0.2,0.5]
                     [--neurons 1000] [--seconds 10] [--no-brian] [--no-nest]
                     [--md OUT] [--json OUT] [--png OUT]
       rate_vs_dt.py --replot SAVED.json --png OUT
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from crosscheck import BadInput, find_neurodyn  # scripts/ is on sys.path when run

# The cell (neurodyn's LIF defaults) and the input.
C, G_L, E_L, V_TH, V_RESET = 281.0, 30.0, -70.6, -50.4, -70.6
TAU = C / G_L
MEAN_PA, SIGMA_PA = 500.0, 367.0  # pA, pA*sqrt(ms)
# Spikes before this (ms, 20 tau) are left out: the population starts at E_L.
SKIP = 200.0


def siegert_hz():
    """1/nu = tau sqrt(pi) int_{y_r}^{y_t} e^{u^2} (1 + erf u) du, by the trapezoid
    rule on 200,000 cells (|u| < 5 here, so e^{u^2} erfc(-u) is computed directly)."""
    mu = MEAN_PA / G_L
    sigma = SIGMA_PA / (G_L * math.sqrt(TAU))
    y_t, y_r = (V_TH - E_L - mu) / sigma, (V_RESET - E_L - mu) / sigma
    u = np.linspace(y_r, y_t, 200_001)
    f = np.exp(u * u) * np.array([math.erfc(-x) for x in u])
    integral = float(np.sum((f[1:] + f[:-1]) * 0.5 * np.diff(u)))
    return 1000.0 / (TAU * math.sqrt(math.pi) * integral)


def rate(count, neurons, seconds):
    """Rate (Hz) over the population after SKIP."""
    return count / (neurons * (seconds - SKIP / 1000.0))


def stats(times_by_neuron, neurons, seconds):
    """(rate Hz, standard error Hz): SE = rate CV / sqrt(count) for renewal trains."""
    count, isis = 0, []
    for t in times_by_neuron:
        t = np.sort(np.asarray(t))
        t = t[t >= SKIP]
        count += len(t)
        isis.extend(np.diff(t))
    r = rate(count, neurons, seconds)
    isis = np.asarray(isis)
    cv = isis.std() / isis.mean() if len(isis) > 1 else 1.0
    return r, r * cv / math.sqrt(max(count, 1))


def run_neurodyn(binary, dt, crossings, neurons, seconds, scratch):
    import pyarrow.parquet as pq
    yaml = (f"name: rate_vs_dt\nseed: 3\nduration: {seconds} s\ndt: {dt} ms\n"
            f"method: exact\ncrossings: {crossings}\nneurons: {neurons}\n"
            f"model: {{type: lif}}\ninitial: {{V: {E_L} mV}}\n"
            f"input: {{type: noise, mean: {MEAN_PA} pA, sigma: {SIGMA_PA} pA*sqrt(ms)}}\n")
    path = os.path.join(scratch, f"nd_{crossings}_{dt}.yaml")
    with open(path, "w") as f:
        f.write(yaml)
    out = os.path.join(scratch, f"nd_{crossings}_{dt}")
    proc = subprocess.run([binary, "run", path, "--out", out, "-q", "--force"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"neurodyn failed:\n{proc.stderr}")
    folder = os.path.join(out, "spikes")
    by = [[] for _ in range(neurons)]
    for name in sorted(os.listdir(folder)):
        if name.endswith(".parquet") and not name.startswith(("_", ".")):
            t = pq.read_table(os.path.join(folder, name)).to_pandas()
            for j, g in t.groupby("neuron"):
                by[int(j)].extend(g.t_ms.to_numpy())
    return stats(by, neurons, seconds)


def run_brian(dt, neurons, seconds):
    import brian2 as b2
    b2.start_scope()
    b2.defaultclock.dt = dt * b2.ms
    s = SIGMA_PA / C  # mV/sqrt(ms): V's noise
    ns = {"E_L": E_L * b2.mV, "mu": MEAN_PA / G_L * b2.mV, "tau": TAU * b2.ms,
          "s": s * b2.mV / b2.ms ** 0.5, "V_th": V_TH * b2.mV, "V_reset": V_RESET * b2.mV}
    eqs = "dv/dt = (-(v - E_L) + mu) / tau + s * xi : volt"
    g = b2.NeuronGroup(neurons, eqs, threshold="v >= V_th", reset="v = V_reset",
                       method="euler", namespace=ns)
    g.v = E_L * b2.mV
    mon = b2.SpikeMonitor(g)
    b2.seed(3)
    b2.run(seconds * b2.second, namespace=ns)
    trains = mon.spike_trains()
    # Brian2 labels a spike with the start of the step at whose end it is seen;
    # the rate does not depend on the label.
    return stats([trains[j] / b2.ms for j in range(neurons)], neurons, seconds)


def run_nest(dt, neurons, seconds):
    import nest
    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": dt, "rng_seed": 3, "local_num_threads": 2})
    pop = nest.Create("iaf_psc_delta", neurons, params={
        "C_m": C, "tau_m": TAU, "E_L": E_L, "V_th": V_TH, "V_reset": V_RESET,
        "t_ref": 0.0, "I_e": MEAN_PA, "V_m": E_L})
    # A current held over each step with SD sigma/sqrt(dt): the same white noise of
    # intensity sigma as neurodyn's, one independent realisation per target.
    noise = nest.Create("noise_generator", params={
        "mean": 0.0, "std": SIGMA_PA / math.sqrt(dt), "dt": dt})
    rec = nest.Create("spike_recorder")
    nest.Connect(noise, pop, syn_spec={"delay": dt})
    nest.Connect(pop, rec)
    nest.Simulate(seconds * 1000.0)
    ev = rec.get("events")
    senders, times = np.asarray(ev["senders"]), np.asarray(ev["times"])
    first = min(pop.tolist())
    by = [[] for _ in range(neurons)]
    for s_, t in zip(senders, times):
        by[int(s_) - first].append(t)
    return stats(by, neurons, seconds)


def plot(results, dts, theory, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for s, r in results.items():
        y = [100 * (r[dt][0] / theory - 1) for dt in dts]
        e = [100 * r[dt][1] / theory for dt in dts]
        ax.errorbar(dts, y, yerr=e, marker="o", capsize=3, label=s)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_xticks(dts, [f"{dt:g}" for dt in dts])
    ax.minorticks_off()
    ax.set_xlabel("dt (ms)")
    ax.set_ylabel("rate error vs Siegert (%)")
    ax.set_title(f"Noise-driven LIF rate against dt (Siegert {theory:.2f} Hz)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--neurodyn")
    ap.add_argument("--dts", default="0.02,0.05,0.1,0.2,0.5")
    ap.add_argument("--neurons", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--no-brian", action="store_true")
    ap.add_argument("--no-nest", action="store_true")
    ap.add_argument("--md")
    ap.add_argument("--json")
    ap.add_argument("--png")
    ap.add_argument("--replot", metavar="JSON",
                    help="only draw --png from the numbers a run saved with --json")
    a = ap.parse_args(argv)
    if a.replot:
        with open(a.replot) as f:
            saved = json.load(f)
        results = {s: {float(dt): v for dt, v in r.items()}
                   for s, r in saved["results"].items()}
        dts = sorted(next(iter(results.values())))
        plot(results, dts, saved["theory_hz"], a.png or "rate_vs_dt.png")
        return 0
    try:
        binary = find_neurodyn(a.neurodyn)
    except BadInput as e:
        sys.exit(f"{e}; {e.hint}")
    dts = [float(x) for x in a.dts.split(",")]
    theory = siegert_hz()
    sims = ["neurodyn exact (bridge)", "neurodyn exact (grid only)"]
    if not a.no_brian:
        sims.append("Brian2 euler")
    if not a.no_nest:
        sims.append("NEST iaf_psc_delta")
    results = {s: {} for s in sims}
    with tempfile.TemporaryDirectory() as scratch:
        for dt in dts:
            for s in sims:
                t0 = time.time()
                if s.startswith("neurodyn"):
                    crossings = "bridge" if "bridge" in s else "grid"
                    r = run_neurodyn(binary, dt, crossings, a.neurons, a.seconds, scratch)
                elif s.startswith("Brian2"):
                    r = run_brian(dt, a.neurons, a.seconds)
                else:
                    r = run_nest(dt, a.neurons, a.seconds)
                results[s][dt] = r
                print(f"{s:28s} dt {dt:5} ms: {r[0]:7.3f} ± {r[1]:.3f} Hz "
                      f"({100 * (r[0] / theory - 1):+6.2f} %)  {time.time() - t0:6.1f} s",
                      file=sys.stderr)
    lines = [f"Siegert rate {theory:.3f} Hz; {a.neurons} neurons x {a.seconds:g} s "
             f"(first {SKIP:g} ms left out); rate error in % (± 1 SE)", "",
             "| simulator | " + " | ".join(f"dt {dt:g} ms" for dt in dts) + " |",
             "|---|" + "---|" * len(dts)]
    for s in sims:
        cells = [f"{100 * (results[s][dt][0] / theory - 1):+.2f} ± "
                 f"{100 * results[s][dt][1] / theory:.2f}" for dt in dts]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    md = "\n".join(lines) + "\n"
    print(md)
    if a.md:
        with open(a.md, "w") as f:
            f.write(md)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"theory_hz": theory, "neurons": a.neurons, "seconds": a.seconds,
                       "results": {s: {str(dt): v for dt, v in r.items()}
                                   for s, r in results.items()}}, f, indent=1)
    if a.png:
        plot(results, dts, theory, a.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
