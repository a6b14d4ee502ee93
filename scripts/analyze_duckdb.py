#!/usr/bin/env python3
"""Read neurodyn datasets with DuckDB (plain SQL over the Parquet files): list the runs
of all of them by experiment, read from one query over every runs.parquet, then for
each dataset compute its F-I curve independently and compare it with fi_curve.parquet.

    python scripts/analyze_duckdb.py results/fi_curves [results/other ...]

runs.parquet carries the experiment's name as a column, and every table carries it in
its Parquet key-value metadata (`neurodyn.experiment`, `neurodyn.config_sha256`,
`neurodyn.version`, `neurodyn.format`), so datasets read together still say where each
row came from. Same F-I rule as scripts/analyze_pandas.py. Exits 1 on any difference
above 1e-9 Hz.
"""
import sys

import duckdb

NOT_GROUPING = {"run_id", "run_key", "experiment", "seed", "status", "error", "n_spikes", "wall_s",
                "replicate"}


def by_experiment(roots):
    """Runs, failures and spikes per experiment over every dataset's runs.parquet in one
    read, grouped by the `experiment` column; each file's key-value metadata must name
    the experiment its column holds."""
    con = duckdb.connect()
    files = [f"{root}/runs.parquet" for root in roots]
    rows = con.execute("""
        select experiment, count(*) as runs, count(*) filter (where status <> 'ok') as failed,
               sum(n_spikes) as spikes
        from read_parquet(?) group by experiment order by experiment""", [files]).fetchall()
    for experiment, runs, failed, spikes in rows:
        print(f"experiment {experiment}: {runs} runs, {failed} failed, {spikes} spikes")
    column = dict(con.execute("select distinct filename, experiment from read_parquet(?, filename = true)",
                              [files]).fetchall())
    tags = {}
    for name, key, value in con.execute("""
            select file_name, decode(key), decode(value) from parquet_kv_metadata(?)
            where decode(key) like 'neurodyn.%'""", [files]).fetchall():
        tags.setdefault(name, {})[key] = value
    ok = True
    for name in files:
        t = tags.get(name, {})
        print(f"  {name}: experiment {t.get('neurodyn.experiment')}, format "
              f"{t.get('neurodyn.format')}, neurodyn {t.get('neurodyn.version')}")
        if t.get("neurodyn.experiment") != column.get(name):
            print(f"MISMATCH: {name} holds experiment {column.get(name)!r} but its metadata "
                  f"says {t.get('neurodyn.experiment')!r}")
            ok = False
    return ok


def main(root):
    con = duckdb.connect()
    con.execute(f"create view runs as select * from read_parquet('{root}/runs.parquet')")
    con.execute(f"create view spikes as select * from read_parquet('{root}/spikes/*.parquet')")
    con.execute(f"create view fi as select * from read_parquet('{root}/fi_curve.parquet')")
    cols = [r[0] for r in con.execute("describe runs").fetchall()]
    cands = [c for c in cols if c.startswith("input")
             and c.endswith(("_amplitude_pA", "_mean_pA", "_offset_pA"))]
    current = next((c for c in cands
                    if con.execute(f'select count(distinct "{c}") from runs').fetchone()[0] > 1),
                   cands[0] if cands else None)
    group = [c for c in cols if c not in NOT_GROUPING and c != current]
    cur = f'coalesce("{current}", 0)' if current else "0.0"
    q = lambda c: f'"{c}"'
    # Null-safe key: every grouping column cast to text, nulls as a marker.
    key = " || '|' || ".join(f"coalesce(cast({q(c)} as varchar), '<null>')" for c in group)
    sql = f"""
      with ok as (select *, {cur} as current_pA, {key} as k from runs where status = 'ok'),
      neurons as (select run_id, unnest(range(neurons::bigint)) as neuron from ok),
      counted as (
        select n.run_id, n.neuron, count(s.t_ms) as n_spikes
        from neurons n join ok using (run_id)
        left join spikes s on s.run_id = n.run_id and s.neuron = n.neuron
          and s.t_ms >= ok.window_start_ms and s.t_ms < ok.window_stop_ms
        group by all),
      rates as (
        select ok.k, ok.current_pA,
               c.n_spikes / ((ok.window_stop_ms - ok.window_start_ms) / 1000.0) as rate
        from counted c join ok using (run_id)),
      mine as (select k, current_pA, avg(rate) as m, stddev_samp(rate) as sd, count(*) as n
               from rates group by all),
      theirs as (select {key} as k, current_pA, rate_Hz_mean, rate_Hz_sd from fi)
      select count(*) filter (where mine.k is null or theirs.k is null) as unmatched,
             max(abs(rate_Hz_mean - m)) as dmean,
             max(abs(coalesce(rate_Hz_sd, 0) - coalesce(sd, 0))) as dsd,
             count(*) as points
      from mine full join theirs on mine.k = theirs.k and mine.current_pA = theirs.current_pA
    """
    unmatched, dmean, dsd, points = con.execute(sql).fetchone()
    print(f"duckdb {duckdb.__version__}: {points} curve points, {unmatched} unmatched, "
          f"max |mean difference| = {dmean:.3g} Hz, max |SD difference| = {dsd:.3g} Hz")
    if unmatched or dmean is None or dmean > 1e-9 or dsd > 1e-9:
        print("MISMATCH")
        return 1
    print("fi_curve.parquet agrees with the DuckDB computation")
    return 0


if __name__ == "__main__":
    roots = sys.argv[1:] or ["results/fi_curves"]
    failed = not by_experiment(roots)
    for root in roots:
        failed |= main(root) != 0
    sys.exit(1 if failed else 0)
