#!/usr/bin/env python3
"""bench_peers.py — run the W1-W5 workloads of BENCHMARKS.md in neurodyn, Brian2 and NEST.

Why: neurodyn's speed claims must be measured against the simulators people would
otherwise use, on the same model, inputs and step, in one session on one machine.
Every measurement runs in a fresh child process, so wall time and peak RSS belong to
one workload; the simulators alternate per repetition (neurodyn W1, Brian2 W1, NEST W1,
neurodyn W1, ...) so that the noise of this shared machine hits all of them alike.
Medians are reported, plus each peer's total spike count next to neurodyn's, as a
check that the workloads really are equivalent.

Peers and what they measure:
  brian2-numpy  Brian2 runtime mode, numpy code generation target, single thread.
                wall = the whole child process (import, set-up, run, output).
  brian2-cpp    Brian2 cpp_standalone (build_on_run=False), one thread (no OpenMP,
                Brian2's default). build = code generation plus compilation
                (device.build(compile=True, run=False)), reported apart; wall = the
                rest of the child process (set-up, running the compiled binary via
                device.run(), reading results back, output); "sim only" = the binary.
                RSS = the larger of the binary's and the Python side's own peaks
                (the compiler is excluded).
  brian2-cpp-omp  the same with OpenMP, --brian-threads threads (default 2).
  nest          NEST, aeif_psc_delta (AdEx; NEST's own adaptive RKF45 solver, so it
                does not follow --method) or iaf_psc_delta (LIF, exact propagator),
                I_e per neuron, local_num_threads = --nest-threads (default 2).
                wall = the whole child process.
W3 and W4 are run the idiomatic way for the peers: ONE population with a per-neuron
current (1,000 or 100,000 neurons); W3 adds the F-I curve (rate per current).
W2 (V of every neuron at every step) is written to Parquet in neurodyn's long layout
(neuron, t_ms, V_mV; zstd) by every peer, since that is what W2 asks for.

Usage:
  bench_peers.py [--reps N] [--only W1,W3] [--scale F] [--json FILE]
                 [--neurodyn PATH] [--numpy-reps N] [--peers brian2-numpy,brian2-cpp,nest]
The script re-invokes itself with --worker to run one peer measurement.
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# The workloads: neurodyn YAML, model, method, neurons, duration (ms), shape.
# shape "group": neurons in one run; "grid": that many one-neuron runs (peers: one group).
WORKLOADS = {
    "W1-euler": dict(yaml="w1_euler.yaml", model="adex", method="euler", n=10000, ms=1000.0, shape="group"),
    "W1-rk4": dict(yaml="w1_rk4.yaml", model="adex", method="rk4", n=10000, ms=1000.0, shape="group"),
    "W2-euler": dict(yaml="w2_euler.yaml", model="adex", method="euler", n=10000, ms=1000.0, shape="group", record=True),
    "W3": dict(yaml="w3.yaml", model="adex", method="euler", n=1000, ms=1000.0, shape="grid", fi=True),
    "W4": dict(yaml="w4.yaml", model="adex", method="euler", n=100000, ms=100.0, shape="grid"),
    "W5-lif": dict(yaml="w5.yaml", model="lif", method="exact", n=10000, ms=1000.0, shape="group"),
}
DT = 0.1  # ms
I_FROM, I_TO = 500.0, 1000.0  # pA
# Brette-Gerstner AdEx and the LIF defaults of `neurodyn models` (NEST units: pF nS mV ms pA).
P = dict(C=281.0, g_L=30.0, E_L=-70.6, V_T=-50.4, Delta_T=2.0, V_peak=-40.4, V_reset=-70.6,
         a=4.0, b=80.5, tau_w=144.0, V_th=-50.4)


def scaled_n(w, scale):
    return max(2, int(round(WORKLOADS[w]["n"] * scale)))


def neuron_steps(w, scale):
    return scaled_n(w, scale) * round(WORKLOADS[w]["ms"] / DT)


def currents(n):
    # neuron k of n gets from + (to - from) k / (n - 1), as neurodyn's `spread` and
    # as a `linspace` grid axis
    return [I_FROM + (I_TO - I_FROM) * k / (n - 1) for k in range(n)]


# ----------------------------------------------------------------------------- workers

def write_trace_parquet(path, chunks):
    """Write (neuron, t_ms, V_mV) chunks to one Parquet file, zstd, like neurodyn."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    schema = pa.schema([("neuron", pa.uint32()), ("t_ms", pa.float64()), ("V_mV", pa.float64())])
    with pq.ParquetWriter(path, schema, compression="zstd") as wr:
        for neuron, t, v in chunks:
            wr.write_table(pa.table([pa.array(neuron, pa.uint32()), pa.array(t), pa.array(v)], schema=schema))


def fi_curve(counts, amps, seconds):
    """The F-I curve: rate (Hz) per input current; what neurodyn's analysis writes."""
    import numpy as np
    return np.column_stack([amps, np.asarray(counts, dtype=float) / seconds])


def worker_brian2(variant, w, scale, outdir, threads):
    import numpy as np
    import brian2 as b2
    from brian2 import pA, pF, nS, mV, ms
    spec = WORKLOADS[w]
    n = scaled_n(w, scale)
    res = {}
    b2.BrianLogger.log_level_warn()
    if variant == "brian2-numpy":
        b2.prefs.codegen.target = "numpy"
        threads = 1
    else:
        projdir = os.path.join(outdir, "cpp")
        b2.set_device("cpp_standalone", directory=projdir, build_on_run=False)
        threads = threads if variant == "brian2-cpp-omp" else 0  # 0: no OpenMP, Brian2's default
        b2.prefs.devices.cpp_standalone.openmp_threads = threads
        # time the compiled binary alone, from outside it
        bin_time = os.path.join(outdir, "binary_time.txt")
        b2.prefs.devices.cpp_standalone.run_cmd_unix = ["/usr/bin/time", "-f", "%e %M", "-o", bin_time, "./main"]
    b2.defaultclock.dt = DT * ms
    if spec["model"] == "adex":
        eqs = """
        dv/dt = (-g_L*(v - E_L) + g_L*Delta_T*exp((v - V_T)/Delta_T) - w + I)/C : volt
        dw/dt = (a*(v - E_L) - w)/tau_w : amp
        I : amp (constant)
        """
        ns = dict(C=P["C"] * pF, g_L=P["g_L"] * nS, E_L=P["E_L"] * mV, V_T=P["V_T"] * mV,
                  Delta_T=P["Delta_T"] * mV, V_peak=P["V_peak"] * mV, V_reset=P["V_reset"] * mV,
                  a=P["a"] * nS, b=P["b"] * pA, tau_w=P["tau_w"] * ms)
        g = b2.NeuronGroup(n, eqs, threshold="v >= V_peak", reset="v = V_reset; w += b",
                           method=spec["method"], namespace=ns)
        g.w = 0 * pA
    else:
        eqs = """
        dv/dt = (-g_L*(v - E_L) + I)/C : volt
        I : amp (constant)
        """
        ns = dict(C=P["C"] * pF, g_L=P["g_L"] * nS, E_L=P["E_L"] * mV, V_th=P["V_th"] * mV,
                  V_reset=P["V_reset"] * mV)
        g = b2.NeuronGroup(n, eqs, threshold="v >= V_th", reset="v = V_reset",
                           method="exact", namespace=ns)
    g.v = P["E_L"] * mV
    g.I = np.linspace(I_FROM, I_TO, n) * pA
    spk = b2.SpikeMonitor(g)
    mon = b2.StateMonitor(g, "v", record=True) if spec.get("record") else None
    net = b2.Network(g, spk) if mon is None else b2.Network(g, spk, mon)
    t0 = time.perf_counter()
    net.run(spec["ms"] * ms)
    res["run_call_s"] = time.perf_counter() - t0
    if variant.startswith("brian2-cpp"):
        t0 = time.perf_counter()
        b2.device.build(directory=projdir, compile=True, run=False, with_output=False)
        res["build_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        b2.device.run(directory=projdir, with_output=False)
        res["sim_s"] = time.perf_counter() - t0
        with open(bin_time) as f:
            bw, brss = f.read().split()[-2:]
        res["binary_s"], res["binary_rss_kb"] = float(bw), int(brss)
    else:
        res["sim_s"] = res["run_call_s"]
    t0 = time.perf_counter()
    counts = np.asarray(spk.count[:])
    res["spikes"] = int(counts.sum())
    if spec.get("fi"):
        np.save(os.path.join(outdir, "fi.npy"), fi_curve(counts, np.linspace(I_FROM, I_TO, n), spec["ms"] / 1000))
    if mon is not None:
        v = mon.v_[:] * 1e3  # (n, steps), mV
        t = np.asarray(mon.t_[:]) * 1e3
        steps = len(t)
        block = max(1, 1_048_576 // steps)

        def chunks():
            for s in range(0, n, block):
                e = min(n, s + block)
                yield (np.repeat(np.arange(s, e, dtype=np.uint32), steps), np.tile(t, e - s),
                       v[s:e].ravel())
        write_trace_parquet(os.path.join(outdir, "traces.parquet"), chunks())
        res["samples"] = int(v.size)
    res["post_s"] = time.perf_counter() - t0
    res["self_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return res


def worker_nest(w, scale, outdir, threads, w2_mode):
    os.environ.setdefault("PYNEST_QUIET", "1")
    import numpy as np
    import nest
    spec = WORKLOADS[w]
    n = scaled_n(w, scale)
    res = {}
    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": DT, "local_num_threads": threads, "print_time": False,
                          "data_path": outdir, "overwrite_files": True})
    amps = np.linspace(I_FROM, I_TO, n)
    if spec["model"] == "adex":
        pop = nest.Create("aeif_psc_delta", n, params=dict(
            C_m=P["C"], g_L=P["g_L"], E_L=P["E_L"], V_th=P["V_T"], Delta_T=P["Delta_T"],
            V_peak=P["V_peak"], V_reset=P["V_reset"], a=P["a"], b=P["b"], tau_w=P["tau_w"],
            t_ref=0.0, V_m=P["E_L"], w=0.0))
    else:
        pop = nest.Create("iaf_psc_delta", n, params=dict(
            C_m=P["C"], tau_m=P["C"] / P["g_L"], E_L=P["E_L"], V_th=P["V_th"],
            V_reset=P["V_reset"], t_ref=0.0, V_m=P["E_L"]))
    pop.set(I_e=amps.tolist())
    sr = nest.Create("spike_recorder")
    nest.Connect(pop, sr)
    mm = None
    if spec.get("record"):
        mm = nest.Create("multimeter", params=dict(record_from=["V_m"], interval=DT, record_to=w2_mode))
        if w2_mode == "ascii":
            mm.set(precision=9)  # NEST's default of 3 significant digits would round V
        nest.Connect(mm, pop)
    t0 = time.perf_counter()
    # Prepare/Run/Cleanup = Simulate; Cleanup closes (flushes) the ASCII files
    nest.Prepare()
    nest.Run(spec["ms"])
    nest.Cleanup()
    res["sim_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ev = sr.get("events")
    senders = np.asarray(ev["senders"])
    res["spikes"] = int(senders.size)
    if spec.get("fi"):
        counts = np.bincount(senders - pop[0].global_id, minlength=n)
        np.save(os.path.join(outdir, "fi.npy"), fi_curve(counts, amps, spec["ms"] / 1000))
    if mm is not None:
        first = pop[0].global_id
        if w2_mode == "memory":
            mev = mm.get("events")
            s = np.asarray(mev["senders"])
            t = np.asarray(mev["times"])
            v = np.asarray(mev["V_m"])
            del mev
            res["samples"] = int(v.size)
            size = 1_048_576
            write_trace_parquet(os.path.join(outdir, "traces.parquet"),
                                ((s[i:i + size] - first, t[i:i + size], v[i:i + size])
                                 for i in range(0, v.size, size)))
        else:  # ascii: one text file per thread, converted to Parquet here
            import pyarrow.csv as pcsv
            import pyarrow.parquet as pq
            import glob
            # one file per thread (mm.get("filenames") lists only one of them)
            files = sorted(glob.glob(os.path.join(outdir, f"*multimeter-{mm.global_id}-*.dat")))
            nrows = 0
            for k, fn in enumerate(files):
                import pyarrow.compute as pc
                tab = pcsv.read_csv(fn, read_options=pcsv.ReadOptions(skip_rows=3, column_names=["sender", "t_ms", "V_mV"]),
                                    parse_options=pcsv.ParseOptions(delimiter="\t"))
                neuron = pc.cast(pc.subtract(tab["sender"], first), "uint32")
                tab = tab.drop(["sender"]).add_column(0, "neuron", neuron)
                nrows += tab.num_rows
                pq.write_table(tab, os.path.join(outdir, f"traces-{k}.parquet"), compression="zstd")
                os.remove(fn)
            res["samples"] = nrows
    res["post_s"] = time.perf_counter() - t0
    res["self_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return res


# ----------------------------------------------------------------------------- driver

def timed(cmd, cwd=None, env=None):
    """Run cmd under GNU time; return (wall s, peak RSS kB, stdout)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        p = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", tf.name] + cmd, cwd=cwd, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        last = tf.read().strip().splitlines()
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    wall, rss = last[-1].split()
    return float(wall), int(rss), p.stdout


def scaled_yaml(w, scale, dst):
    """neurodyn's YAML for workload w with neuron / run counts scaled."""
    text = open(os.path.join(REPO, "benches", "workloads", WORKLOADS[w]["yaml"])).read()
    n = scaled_n(w, scale)
    if WORKLOADS[w]["shape"] == "group":
        text = re.sub(r"(?m)^neurons: \d+", f"neurons: {n}", text)
    else:
        text = re.sub(r"linspace: \[500 pA, 1000 pA, \d+\]", f"linspace: [500 pA, 1000 pA, {n}]", text)
    with open(dst, "w") as f:
        f.write(text)
    return dst


def count_spikes_neurodyn(outdir):
    import pyarrow.parquet as pq
    d = os.path.join(outdir, "spikes")
    return sum(pq.ParquetFile(os.path.join(d, f)).metadata.num_rows for f in os.listdir(d) if f.endswith(".parquet"))


def dir_bytes(d):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)


def mem_available_kb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


def measure(args, sim, w, work, nd_bin):
    """One measurement of simulator/variant sim on workload w, in fresh processes."""
    out = tempfile.mkdtemp(prefix=f"{sim}-{w}-", dir=work)
    try:
        if sim == "neurodyn":
            yaml = scaled_yaml(w, args.scale, os.path.join(out, "w.yaml"))
            cmd = [nd_bin, "run", yaml, "--out", os.path.join(out, "ds"), "-q", "--force"]
            if args.threads:
                cmd += ["--threads", str(args.threads)]
            wall, rss, _ = timed(cmd, cwd=REPO)
            return dict(wall_s=wall, rss_kb=rss, spikes=count_spikes_neurodyn(os.path.join(out, "ds")),
                        out_bytes=dir_bytes(os.path.join(out, "ds")))
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", sim, w, "--scale", str(args.scale),
               "--outdir", out, "--brian-threads", str(args.brian_threads),
               "--nest-threads", str(args.nest_threads), "--nest-w2-mode", args.nest_w2_mode]
        env = dict(os.environ, OMP_NUM_THREADS=str(args.brian_threads if sim == "brian2-cpp-omp" else 1))
        wall, rss, stdout = timed(cmd, env=env)
        r = json.loads(stdout.strip().splitlines()[-1])
        r["process_wall_s"] = wall
        if sim.startswith("brian2-cpp"):
            # exclude code generation + compilation; RSS without the compiler's
            r["wall_s"] = wall - r["build_s"]
            r["rss_kb"] = max(r["binary_rss_kb"], r["self_rss_kb"])
        else:
            r["wall_s"], r["rss_kb"] = wall, rss
        r["out_bytes"] = dir_bytes(out) - dir_bytes(os.path.join(out, "cpp")) if os.path.isdir(os.path.join(out, "cpp")) else dir_bytes(out)
        return r
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--numpy-reps", type=int, default=1,
                    help="repetitions for the slow brian2-numpy target (at most --reps)")
    ap.add_argument("--only", default="", help="workloads, e.g. W1,W3 (W1 = W1-euler and W1-rk4)")
    ap.add_argument("--scale", type=float, default=1.0, help="shrink neuron / run counts")
    ap.add_argument("--json", default="")
    ap.add_argument("--neurodyn", default=os.environ.get("NEURODYN", os.path.join(REPO, "target/release/neurodyn")))
    ap.add_argument("--threads", type=int, default=0, help="neurodyn --threads (default: all cores)")
    ap.add_argument("--peers", default="brian2-numpy,brian2-cpp,brian2-cpp-omp,nest")
    ap.add_argument("--brian-threads", type=int, default=2, help="OpenMP threads of brian2-cpp-omp")
    ap.add_argument("--nest-threads", type=int, default=2, help="NEST local_num_threads")
    ap.add_argument("--nest-w2", default="auto", choices=["auto", "memory", "ascii", "skip"],
                    help="NEST W2 recording: in memory, to ASCII files, or skipped; auto = memory if "
                         "MemAvailable leaves room, else skip")
    ap.add_argument("--workdir", default="")
    ap.add_argument("--worker", nargs=2, metavar=("SIM", "WORKLOAD"), help=argparse.SUPPRESS)
    ap.add_argument("--outdir", help=argparse.SUPPRESS)
    ap.add_argument("--nest-w2-mode", default="memory", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        sim, w = args.worker
        if sim.startswith("brian2"):
            r = worker_brian2(sim, w, args.scale, args.outdir, args.brian_threads)
        else:
            r = worker_nest(w, args.scale, args.outdir, args.nest_threads, args.nest_w2_mode)
        print(json.dumps(r))
        return

    only = [s.strip() for s in args.only.split(",") if s.strip()]
    todo = [w for w in WORKLOADS if not only or any(w == o or w.split("-")[0] == o for o in only)]
    peers = [p for p in args.peers.split(",") if p]
    work = args.workdir or tempfile.mkdtemp(prefix="bench-peers-")
    os.makedirs(work, exist_ok=True)
    nd_bin = os.path.join(work, "neurodyn")
    shutil.copy2(args.neurodyn, nd_bin)  # the same build for the whole session

    started = datetime.datetime.now(datetime.timezone.utc)
    meta = dict(date=started.isoformat(timespec="seconds"), host=platform.node(), cores=os.cpu_count(),
                neurodyn=args.neurodyn, neurodyn_version=subprocess.run([nd_bin, "--version"], capture_output=True,
                                                                        text=True).stdout.strip(),
                neurodyn_sha256=__import__("hashlib").sha256(open(nd_bin, "rb").read()).hexdigest()[:12],
                reps=args.reps, numpy_reps=min(args.numpy_reps, args.reps), scale=args.scale,
                brian_threads=args.brian_threads, nest_threads=args.nest_threads, python=sys.version.split()[0])
    try:
        os.environ.setdefault("PYNEST_QUIET", "1")  # no NEST banner in the report
        import brian2
        import nest  # noqa: F401  (version only)
        meta["brian2"] = brian2.__version__
        meta["nest"] = nest.__version__
    except Exception as e:  # a missing peer shows up as failed measurements below
        meta["import_error"] = str(e)
    print(f"# bench_peers {meta['date']} host {meta['host']} ({meta['cores']} cores), scale {args.scale}, "
          f"reps {args.reps} (brian2-numpy {meta['numpy_reps']})", file=sys.stderr, flush=True)

    results = {}  # (workload, sim) -> list of measurements
    notes = {}
    for w in todo:
        for rep in range(args.reps):
            for sim in ["neurodyn"] + peers:
                key = (w, sim)
                if sim == "brian2-numpy" and rep >= args.numpy_reps:
                    continue
                if sim == "nest" and WORKLOADS[w].get("record"):
                    mode = args.nest_w2
                    # NEST's memory backend holds sender, time and value per sample and the
                    # Python side copies them: measured ~120 bytes a sample at peak (1.34 GB
                    # for 1e7 samples), i.e. ~12 GB for W2 at full scale. Unless that leaves
                    # 6 GB to spare on this shared machine, record to ASCII files instead.
                    need_kb = neuron_steps(w, args.scale) * 125 / 1024
                    if mode == "auto":
                        mode = "memory" if mem_available_kb() > need_kb + 6 * 2**20 else "ascii"
                        if mode == "ascii":
                            notes[key] = (f"in memory would need ~{need_kb / 2**20:.1f} GB "
                                          f"(MemAvailable {mem_available_kb() / 2**20:.1f} GB): ")
                    if mode == "skip":
                        notes.setdefault(key, "skipped (--nest-w2 skip)")
                        continue
                    args.nest_w2_mode = mode
                    if not notes.get(key, "").endswith("record_to " + mode):
                        notes[key] = notes.get(key, "") + f"multimeter record_to {mode}"
                try:
                    r = measure(args, sim, w, work, nd_bin)
                except Exception as e:
                    notes[key] = f"failed: {str(e).strip().splitlines()[-1][:200]}"
                    print(f"  {w:9s} {sim:13s} rep {rep + 1}: FAILED {e}", file=sys.stderr, flush=True)
                    continue
                results.setdefault(key, []).append(r)
                extra = f" build {r['build_s']:.1f}s" if "build_s" in r else ""
                print(f"  {w:9s} {sim:13s} rep {rep + 1}: wall {r['wall_s']:8.2f}s{extra} rss "
                      f"{r['rss_kb'] / 1024:8.1f}MB spikes {r['spikes']}", file=sys.stderr, flush=True)

    # ---- report
    rows = []
    for w in todo:
        nd = results.get((w, "neurodyn"))
        nd_wall = statistics.median(m["wall_s"] for m in nd) if nd else None
        nd_spk = statistics.median(m["spikes"] for m in nd) if nd else None
        for sim in ["neurodyn"] + peers:
            ms = results.get((w, sim))
            if not ms:
                if (w, sim) in notes:
                    rows.append(dict(workload=w, sim=sim, note=notes[(w, sim)]))
                continue
            med = lambda k: statistics.median(m[k] for m in ms if k in m) if any(k in m for m in ms) else None
            row = dict(workload=w, sim=sim, n=len(ms), wall_s=med("wall_s"), sim_s=med("sim_s"),
                       build_s=med("build_s"), rss_mb=med("rss_kb") / 1024, spikes=med("spikes"),
                       out_mb=med("out_bytes") / 1e6, neuron_steps=neuron_steps(w, args.scale),
                       note=notes.get((w, sim), ""), raw=ms)
            row["steps_per_s"] = row["neuron_steps"] / row["wall_s"]
            row["speedup"] = row["wall_s"] / nd_wall if nd_wall else None
            # The peer's simulation alone against neurodyn's whole process: the ratio
            # that leaves out the peer's import, set-up and output.
            row["speedup_sim"] = row["sim_s"] / nd_wall if nd_wall and row["sim_s"] else None
            row["spike_rel_diff"] = (row["spikes"] - nd_spk) / nd_spk if nd_spk else None
            rows.append(row)

    f = lambda x, fmt: "" if x is None else format(x, fmt)
    print(f"\n## neurodyn vs Brian2 / NEST — {started:%Y-%m-%d %H:%M} UTC, {meta['host']}, "
          f"{meta['cores']} cores, scale {args.scale}\n")
    print("neurodyn " + meta["neurodyn_version"] + f", Brian2 {meta.get('brian2', '?')}, NEST {meta.get('nest', '?')}; "
          f"medians of {args.reps} reps (brian2-numpy: {meta['numpy_reps']}); brian2-cpp 1 thread, brian2-cpp-omp "
          f"OpenMP threads {args.brian_threads}, NEST local_num_threads {args.nest_threads}, neurodyn threads "
          f"{args.threads or 'all cores'}.\n")
    print("| workload | simulator / variant | reps | wall time (s) | sim only (s) | build (s) | neuron-steps/s "
          "| peak RSS (MB) | neurodyn speed-up (wall) | neurodyn speed-up (sim only) | spikes "
          "| Δ spikes vs neurodyn | note |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "wall_s" not in r:
            print(f"| {r['workload']} | {r['sim']} | 0 | | | | | | | | | | {r['note']} |")
            continue
        sp = "—" if r["sim"] == "neurodyn" else f(r["speedup"], ".2f") + "×"
        sp_sim = "" if r["speedup_sim"] is None else f(r["speedup_sim"], ".2f") + "×"
        dd = "" if r["sim"] == "neurodyn" else f(100 * r["spike_rel_diff"], "+.2f") + " %"
        print(f"| {r['workload']} | {r['sim']} | {r['n']} | {r['wall_s']:.2f} | {f(r['sim_s'], '.2f')} | "
              f"{f(r['build_s'], '.1f')} | {r['steps_per_s']:.3g} | {r['rss_mb']:.0f} | {sp} | {sp_sim} | "
              f"{int(r['spikes'])} | {dd} | {r['note']} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(meta=meta, rows=rows), fh, indent=1)
        print(f"\n(JSON: {args.json})")
    shutil.rmtree(work, ignore_errors=True) if not args.workdir else None


if __name__ == "__main__":
    main()
