#!/usr/bin/env python3
"""Check neurodyn's spike-train statistics against Elephant, the reference
implementation whose definitions and names they take.

    python scripts/crosscheck_elephant.py results/fi_small

Reads runs.parquet, spikes/, summary.parquet and fi_curve.parquet with pyarrow,
rebuilds each successful run's window spike trains ([window_start_ms,
window_stop_ms), one per neuron, silent ones included) as neo.SpikeTrain, and
computes with elephant.statistics:

- per neuron: cv(isi) (scipy.stats.variation, population SD), cv2, lv and
  lvr (R = 5 ms) of isi(train), against summary's cv, cv2, lv, lvr;
- per run: fanofactor of its neurons' trains, against summary's
  fano_factor_run (on every row of the run);
- per F-I row: fanofactor of every train at that row's current (all
  replicates, all neurons of the group), against fi_curve's fano_factor.

Where Elephant cannot compute (it raises ValueError, or returns NaN) neurodyn
must hold a null, and a null only there. Exits 1, listing the worst rows, unless
every value agrees to RTOL relative.
"""
import math
import sys
import warnings

import neo
import numpy as np
import pyarrow.parquet as pq
import quantities as pqu
from elephant import statistics as es

# Relative agreement required: both sides evaluate the same expressions in double
# precision and differ only in summation order (numpy's pairwise sums against
# sequential ones), a few ulps, i.e. ~1e-15 relative for the sums of non-negative
# terms and the variances of noisy intervals these statistics are.
RTOL = 1e-9
# Below this absolute size a value is rounding noise (a perfectly regular train's
# CV, CV2, LV or LvR is 0 up to ~N·2e-16 from the last bits of its intervals, and
# summation order changes that noise by 100 %): such pairs count as equal.
ATOL = 1e-12
R_LVR = 5 * pqu.ms
NOT_GROUPING = {"run_id", "run_key", "experiment", "seed", "status", "error", "n_spikes", "wall_s",
                "replicate"}
FI_VALUE_SUFFIXES = ("_mean", "_sd", "_count")


def elephant(f, *args, **kwargs):
    """Elephant's value, or None where it raises or gives NaN."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v = float(f(*args, **kwargs))
    except ValueError:
        return None
    return None if math.isnan(v) else v


def rel_diff(a, b):
    """0 when equal (or both null, or both below ATOL); inf when one is null."""
    if a is None and b is None:
        return 0.0
    if a is None or b is None:
        return math.inf
    if a == b or max(abs(a), abs(b)) < ATOL:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))


def current_column(names, rows):
    """The first input amplitude/mean/offset column (pA) that varies, else the first
    (the rule of src/analysis/fi.rs)."""
    cands = [c for c in names if c.startswith("input")
             and c.endswith(("_amplitude_pA", "_mean_pA", "_offset_pA"))]
    for c in cands:
        if len({r[c] for r in rows if r[c] is not None}) > 1:
            return c
    return cands[0] if cands else None


def key_of(row, cols):
    # NaN != NaN, so compare parameters as text; nulls are their own value.
    return tuple("<null>" if row[c] is None else repr(row[c]) for c in cols)


def main(root):
    runs_t = pq.read_table(f"{root}/runs.parquet")
    runs = runs_t.to_pylist()
    spikes = pq.read_table(f"{root}/spikes")
    summary = pq.read_table(f"{root}/summary.parquet").to_pylist()
    fi = pq.read_table(f"{root}/fi_curve.parquet").to_pylist()
    ok = [r for r in runs if r["status"] == "ok"]

    # Spike times by (run, neuron), sorted.
    rid = spikes.column("run_id").to_numpy()
    nid = spikes.column("neuron").to_numpy()
    t = spikes.column("t_ms").to_numpy()
    order = np.lexsort((t, nid, rid))
    rid, nid, t = rid[order], nid[order], t[order]
    cuts = np.flatnonzero((np.diff(rid) != 0) | (np.diff(nid) != 0)) + 1
    times = {(int(rid[a]), int(nid[a])): t[a:b]
             for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(t)]) if b > a}

    trains = {}
    for r in ok:
        lo, hi = r["window_start_ms"], r["window_stop_ms"]
        for n in range(int(r["neurons"])):
            x = times.get((r["run_id"], n), np.empty(0))
            x = x[(x >= lo) & (x < hi)]
            trains[(r["run_id"], n)] = neo.SpikeTrain(
                x * pqu.ms, t_start=lo * pqu.ms, t_stop=hi * pqu.ms)

    rows = {(s["run_id"], s["neuron"]): s for s in summary}
    problems = []  # (rel diff, where, quantity, neurodyn, elephant)
    worst = {}
    compared = {}
    floored = {}

    def compare(where, name, mine, ref):
        d = rel_diff(mine, ref)
        compared[name] = compared.get(name, 0) + 1
        if mine is not None and ref is not None and mine != ref and max(abs(mine), abs(ref)) < ATOL:
            floored[name] = floored.get(name, 0) + 1
        if d != math.inf:
            worst[name] = max(worst.get(name, 0.0), d)
        if not d <= RTOL:
            problems.append((d, where, name, mine, ref))

    if set(rows) != set(trains):
        missing = sorted(set(trains) ^ set(rows))[:10]
        print(f"MISMATCH: summary rows and successful neurons differ, e.g. {missing}")
        return 1

    for (run, n), st in trains.items():
        row = rows[(run, n)]
        isi = es.isi(st)
        ref = {
            "cv": elephant(es.cv, isi),
            "cv2": elephant(es.cv2, isi),
            "lv": elephant(es.lv, isi),
            "lvr": elephant(es.lvr, isi, R=R_LVR),
        }
        for name, value in ref.items():
            compare(f"run {run} neuron {n}", name, row[name], value)

    for r in ok:
        run = r["run_id"]
        sts = [trains[(run, n)] for n in range(int(r["neurons"]))]
        ref = elephant(es.fanofactor, sts)
        for n in range(len(sts)):
            compare(f"run {run} neuron {n}", "fano_factor_run", rows[(run, n)]["fano_factor_run"], ref)

    # F-I rows: runs that share every grouping parameter, by current.
    names = runs_t.column_names
    current = current_column(names, runs)
    group_cols = [c for c in names if c not in NOT_GROUPING and c != current]
    pooled = {}
    for r in ok:
        c = (r[current] if current else None) or 0.0
        k = key_of(r, group_cols) + (repr(float(c)),)
        pooled.setdefault(k, []).extend(trains[(r["run_id"], n)] for n in range(int(r["neurons"])))
    seen = set()
    for p in fi:
        k = key_of(p, group_cols) + (repr(float(p["current_pA"])),)
        if k not in pooled:
            print(f"MISMATCH: fi_curve row of group {p['group']} at {p['current_pA']} pA has no runs")
            return 1
        seen.add(k)
        ref = elephant(es.fanofactor, pooled[k])
        compare(f"fi group {p['group']} at {p['current_pA']} pA", "fano_factor", p["fano_factor"], ref)
    if seen != set(pooled):
        print(f"MISMATCH: {len(set(pooled) - seen)} (group, current) points have no fi_curve row")
        return 1

    import elephant as el
    print(f"elephant {el.__version__}, neo {neo.__version__}: {len(ok)} runs, "
          f"{len(trains)} spike trains, {len(fi)} F-I rows")
    for name in ["cv", "cv2", "lv", "lvr", "fano_factor_run", "fano_factor"]:
        below = f" ({floored[name]} pairs of rounding noise below {ATOL:g})" if name in floored else ""
        print(f"  {name:16s} {compared.get(name, 0):6d} values, "
              f"worst relative difference {worst.get(name, 0.0):.3g}{below}")
    if problems:
        problems.sort(key=lambda p: -p[0])
        print(f"MISMATCH: {len(problems)} values differ by more than {RTOL:g} relative "
              f"(or null on one side only); worst:")
        for d, where, name, mine, ref in problems[:15]:
            print(f"  {where}: {name} neurodyn {mine!r}, elephant {ref!r} (relative {d:.3g})")
        return 1
    print(f"summary.parquet and fi_curve.parquet agree with Elephant to {RTOL:g} relative")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
