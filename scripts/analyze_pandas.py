#!/usr/bin/env python3
"""Read a neurodyn dataset with pandas (pyarrow), compute its F-I curve independently,
and compare it with the fi_curve.parquet neurodyn wrote.

    python scripts/analyze_pandas.py results/fi_curves

Rule (src/analysis/fi.rs): the window rate of every neuron of every
successful run (a neuron without spikes counts 0 Hz), averaged over neurons and
replicates for each current, within groups of runs sharing every other parameter.
Exits 1 if any mean rate differs by more than 1e-9 Hz.
"""
import sys

import numpy as np
import pandas as pd

NOT_GROUPING = {"run_id", "run_key", "experiment", "seed", "status", "error", "n_spikes", "wall_s",
                "replicate"}


def current_column(runs):
    """The first input amplitude/mean/offset column (pA) that varies, else the first."""
    cands = [c for c in runs.columns if c.startswith("input")
             and c.endswith(("_amplitude_pA", "_mean_pA", "_offset_pA"))]
    for c in cands:
        if runs[c].dropna().nunique() > 1:
            return c
    return cands[0] if cands else None


def main(root):
    runs = pd.read_parquet(f"{root}/runs.parquet")
    spikes = pd.read_parquet(f"{root}/spikes")
    fi = pd.read_parquet(f"{root}/fi_curve.parquet")
    current = current_column(runs)
    group_cols = [c for c in runs.columns if c not in NOT_GROUPING and c != current]
    ok = runs[runs.status == "ok"].copy()
    ok["current_pA"] = ok[current].fillna(0.0) if current else 0.0

    # Window spike counts per (run, neuron), with a zero for every silent neuron.
    s = spikes.merge(ok[["run_id", "window_start_ms", "window_stop_ms"]], on="run_id")
    s = s[(s.t_ms >= s.window_start_ms) & (s.t_ms < s.window_stop_ms)]
    counts = s.groupby(["run_id", "neuron"]).size()
    every = pd.MultiIndex.from_tuples(
        [(r, n) for r, k in zip(ok.run_id, ok.neurons) for n in range(int(k))],
        names=["run_id", "neuron"])
    rates = counts.reindex(every, fill_value=0).rename("n").reset_index().merge(ok, on="run_id")
    rates["rate_Hz"] = rates.n / ((rates.window_stop_ms - rates.window_start_ms) / 1000.0)

    # Nulls (parameters a model lacks) group together: compare on string keys.
    key = lambda df: df[group_cols].astype(object).map(
        lambda v: "<null>" if pd.isna(v) else repr(v)).agg("|".join, axis=1)
    rates["key"] = key(rates)
    mine = rates.groupby(["key", "current_pA"], dropna=False).rate_Hz.agg(["mean", "std", "count"]).reset_index()
    fi["key"] = key(fi)
    both = fi.merge(mine, on=["key", "current_pA"], how="outer", indicator=True)
    missing = both[both._merge != "both"]
    diff = (both["rate_Hz_mean"] - both["mean"]).abs().max()
    sd_diff = (both["rate_Hz_sd"].fillna(0) - both["std"].fillna(0)).abs().max()
    print(f"pandas {pd.__version__}: {len(runs)} runs, {len(spikes)} spikes, "
          f"{len(mine)} curve points (neurodyn: {len(fi)}); "
          f"max |mean difference| = {diff:.3g} Hz, max |SD difference| = {sd_diff:.3g} Hz")
    if len(missing) or not diff <= 1e-9 or not sd_diff <= 1e-9:
        print("MISMATCH", missing.head() if len(missing) else "")
        return 1
    print("fi_curve.parquet agrees with the pandas computation")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "results/fi_curves"))
