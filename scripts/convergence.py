#!/usr/bin/env python3
"""Spike-time error against step size for neurodyn, Brian2 and NEST (docs/ACCURACY.md).

One neuron of each model (LIF, EIF, AdEx; Brette-Gerstner defaults) gets 1 s of
constant and of step current; neurodyn (euler, rk4, and exact for LIF), Brian2 (euler,
rk4) and NEST simulate it at each dt, and the max |spike-time error| is taken against
Brian2 rk4 at 0.001 ms with in-step crossing (see crosscheck.brian_spikes) or, for the
LIF, the closed form. Prints a markdown table and draws a log-log figure.

Usage: convergence.py [--neurodyn PATH] [--png docs/accuracy.png] [--md OUT] [--json OUT]
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import crosscheck as xc  # noqa: E402

DTS = ["0.2", "0.1", "0.05", "0.02", "0.01"]
REF_DT = 0.001  # 100x below the 0.1 ms of the accuracy target

# dt is a grid axis of neurodyn experiments, so one file covers the whole sweep.
EXPERIMENT = """\
name: convergence
seed: 1
duration: 1 s
dt: 0.1 ms
neurons: 1
initial: {{V: -70.6 mV, w: 0 pA}}
record: {{variables: [V, I, w], neurons: {{first: 1}}}}
grid: {{dt: [{dts}]}}
variants:
{variants}
"""
INPUTS = {
    "constant": "{type: constant, amplitude: 800 pA}",
    # Onset and offset inside the run test the reset-free transients as well.
    "step": "{type: step, amplitude: 800 pA, start: 100 ms, stop: 900 ms}",
}


def experiment_yaml():
    lines = []
    for model in ("lif", "eif", "adex"):
        methods = ["euler", "rk4"] + (["exact"] if model == "lif" else [])
        for method in methods:
            for name, stim in INPUTS.items():
                lines.append(f"  - {{label: {model}-{name}-{method}, method: {method}, "
                             f"model: {{type: {model}}}, input: {stim}}}")
    return EXPERIMENT.format(dts=", ".join(f"{d} ms" for d in DTS), variants="\n".join(lines))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--neurodyn")
    ap.add_argument("--png", default=os.path.join(xc.REPO, "docs", "accuracy.png"))
    ap.add_argument("--md", help="also write the markdown table here")
    ap.add_argument("--json")
    ap.add_argument("--no-nest", action="store_true")
    ap.add_argument("--brian-target", default="auto", choices=["auto", "cython", "numpy"])
    args = ap.parse_args(argv)
    t_start = time.time()
    tmp = tempfile.mkdtemp(prefix="convergence-")
    try:
        binary = xc.find_neurodyn(args.neurodyn)
        yaml_path = os.path.join(tmp, "convergence.yaml")
        with open(yaml_path, "w") as f:
            f.write(experiment_yaml())
        xc.run_neurodyn(binary, yaml_path, os.path.join(tmp, "out"))
        cases = xc.load_cases(os.path.join(tmp, "out"))
    except xc.BadInput as e:
        sys.stderr.write(f"error: {e}\nhint: {e.hint}\n")
        return 2
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # The peers do not depend on neurodyn's method: one case per (model, input, dt).
    def key(c):
        return (c["model"], c["input"])
    peers_cases = {}
    for c in cases:
        peers_cases.setdefault((key(c), c["dt"]), c)

    # Reference: one fine Brian2 run of the six (model, input) pairs.
    base = sorted({key(c): c for c in cases}.items())
    ref_cases = [dict(c, label=f"{m}-{i}") for (m, i), c in base]
    t0 = time.time()
    fine = xc.brian_spikes(ref_cases, REF_DT, "rk4", reference=True, target=args.brian_target)
    t_ref = time.time() - t0
    refs, ref_check = {}, {}
    for (k, c), f in zip(base, fine):
        closed = xc.lif_closed_form(c) if c["model"] == "lif" else None
        if closed is not None:
            refs[k] = {0: closed}
            ref_check[k] = xc.compare(f, refs[k])
        else:
            refs[k] = f

    rows = {}  # (model, input, simulator) -> {dt: compare()}
    for c in cases:
        rows.setdefault((c["model"], c["input"], f"neurodyn {c['method']}"), {})[c["dt"]] = \
            xc.compare(c["neurodyn"], refs[key(c)])
    for dt_s in DTS:
        dt = float(dt_s)
        group = [c for (k, d), c in sorted(peers_cases.items(), key=lambda kv: kv[0])
                 if abs(d - dt) < 1e-12]
        sims = {
            "Brian2 rk4": xc.brian_spikes(group, dt, "rk4", target=args.brian_target),
            "Brian2 euler": xc.brian_spikes(group, dt, "euler", target=args.brian_target),
        }
        if not args.no_nest:
            sims["NEST"] = xc.nest_spikes(group, dt)
        for name, out in sims.items():
            for c, s in zip(group, out):
                rows.setdefault((c["model"], c["input"], name), {})[dt] = \
                    xc.compare(s, refs[key(c)])

    order = ["neurodyn exact", "neurodyn rk4", "neurodyn euler", "Brian2 rk4",
             "Brian2 euler", "NEST"]
    md = ["| model | input | simulator | n spikes | " + " | ".join(f"dt {d} ms" for d in DTS) + " |",
          "|---|---|---|---|" + "---|" * len(DTS)]
    for model in ("lif", "eif", "adex"):
        for inp in INPUTS:
            for sim in order:
                r = rows.get((model, inp, sim))
                if not r:
                    continue
                n_ref = next(iter(r.values()))["n_ref"]
                cells = []
                for d in DTS:
                    e = r[float(d)]
                    flag = f" (n={e['n']})" if e["count_mismatch"] else ""
                    cells.append(f"{e['max_ms']:.2g}{flag}")
                md.append(f"| {model} | {inp} | {sim} | {n_ref} | " + " | ".join(cells) + " |")
    md.append("")
    md.append("Max |spike-time error| in ms over 1 s against the reference "
              f"(LIF: closed form; EIF, AdEx: Brian2 rk4 at {REF_DT} ms with in-step "
              "crossing). Grid-labelled peers (Brian2, NEST) are shifted to the middle of "
              "their step. (n=...) marks a spike count that differs from the reference's; "
              "the common prefix is compared.")
    for k, chk in ref_check.items():
        md.append(f"Fine Brian2 reference vs closed form, {k[0]} {k[1]}: "
                  f"max {chk['max_ms']:.2g} ms, {chk['n']}/{chk['n_ref']} spikes.")
    text = "\n".join(md)
    print(text)
    if args.md:
        with open(args.md, "w") as f:
            f.write(text + "\n")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), sharey=True)
    styles = {"neurodyn exact": ("C0", "D"), "neurodyn rk4": ("C1", "o"),
              "neurodyn euler": ("C2", "s"), "Brian2 rk4": ("C3", "^"),
              "Brian2 euler": ("C4", "v"), "NEST": ("C5", "x")}
    floor = 1e-7  # exact agreement would vanish from a log axis
    xs = np.array([float(d) for d in DTS])
    for ax, model in zip(axes, ("lif", "eif", "adex")):
        for sim in order:
            for inp, ls in (("constant", "-"), ("step", ":")):
                r = rows.get((model, inp, sim))
                if not r:
                    continue
                ys = np.array([max(r[x]["max_ms"], floor) for x in xs])
                color, marker = styles[sim]
                ax.loglog(xs, ys, ls=ls, color=color, marker=marker,
                          label=sim if inp == "constant" else None)
        target = xc.TARGET_MS[model]
        ax.axhline(target, color="k", lw=0.8, ls="--")
        ax.axvline(0.1, color="grey", lw=0.5)
        ax.set_title(f"{model.upper() if model != 'adex' else 'AdEx'} (dashed: accuracy target "
                     f"target {target} ms)", fontsize=9)
        ax.set_xlabel("dt (ms)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("max |spike-time error| over 1 s (ms)")
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle("Spike-time error vs step size; solid: constant 800 pA, dotted: step "
                 "800 pA on [100, 900) ms", fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.png)), exist_ok=True)
    fig.savefig(args.png, dpi=110)
    wall = time.time() - t_start
    print(f"\nfigure: {args.png}; reference {t_ref:.1f} s, total {wall:.1f} s")
    if args.json:
        import json
        with open(args.json, "w") as f:
            json.dump({" / ".join(k): {str(d): v for d, v in r.items()}
                       for k, r in rows.items()}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
