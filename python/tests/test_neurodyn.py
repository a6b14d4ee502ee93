"""The Python package against the command line it wraps: the same tables bit for
bit, joins, errors with the CLI's message and hint, an interrupted run that resumes
to the full result, and the neo/Elephant path. Run after `pip install .[test]`."""

import _thread
import copy
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import neurodyn

# The installed `neurodyn` command (the package's console script), beside this Python.
CLI = str(Path(sys.executable).with_name("neurodyn"))

# A small sweep touching every table: two models, a swept current, replicates, noise,
# recorded traces and something that varies per neuron.
SWEEP = {
    "name": "py_sweep",
    "seed": 11,
    "duration": "300 ms",
    "dt": "0.1 ms",
    "neurons": 3,
    "input": [
        {"type": "step", "amplitude": "0 pA", "start": "50 ms"},
        {"type": "noise", "mean": "0 pA", "sigma": "200 pA*sqrt(ms)"},
    ],
    "per_neuron": {"initial.V": {"linspace": ["-70 mV", "-60 mV"]}},
    "record": {"variables": ["V", "I"], "neurons": [0], "every": 10},
    "grid": {"input[0].amplitude": {"linspace": ["400 pA", "1 nA", 4]}},
    "variants": [
        {"label": "lif", "model": {"type": "lif"}},
        {"label": "adex", "model": {"type": "adex"}},
    ],
    "replicates": 2,
    "analysis": {"window": ["50 ms", "300 ms"]},
}

# The same experiment as a user would write it in YAML (different text, same runs).
SWEEP_YAML = """\
name: py_sweep
seed: 11
duration: 300 ms
dt: 0.1 ms
neurons: 3
input:
  - {type: step, amplitude: 0 pA, start: 50 ms}
  - {type: noise, mean: 0 pA, sigma: 200 pA*sqrt(ms)}
per_neuron:
  initial.V: {linspace: [-70 mV, -60 mV]}
record: {variables: [V, I], neurons: [0], every: 10}
grid:
  input[0].amplitude: {linspace: [400 pA, 1 nA, 4]}
variants:
  - {label: lif, model: {type: lif}}
  - {label: adex, model: {type: adex}}
replicates: 2
analysis: {window: [50 ms, 300 ms]}
"""


def cli(*args, cwd=None):
    return subprocess.run([CLI, *args], cwd=cwd, capture_output=True, text=True)


def read(folder, table):
    """A dataset table as pyarrow, part files concatenated in (run_id, ...) order."""
    import pyarrow.parquet as pq

    path = Path(folder) / table
    if path.is_dir():
        parts = sorted(path.glob("part-*.parquet"))
        t = pa.concat_tables([pq.read_table(p) for p in parts])
    else:
        t = pq.read_table(path.with_suffix(".parquet"))
    keys = [k for k in ("run_id", "neuron", "t_ms", "group") if k in t.column_names]
    return t.sort_by([(k, "ascending") for k in keys])


def same(a, b):
    """Whether two tables hold the same bits: the same schema (units included) and,
    column by column, the same values; floats are compared as bit patterns, so that
    NaN equals NaN and -0.0 differs from 0.0."""
    if not a.schema.equals(b.schema, check_metadata=True):
        return False
    for name in a.column_names:
        x, y = a[name].combine_chunks(), b[name].combine_chunks()
        if pa.types.is_float64(x.type):
            if not x.is_null().equals(y.is_null()):
                return False
            bits = [v.fill_null(0.0).to_numpy().view(np.uint64) for v in (x, y)]
            if not np.array_equal(*bits):
                return False
        elif not x.equals(y):
            return False
    return True


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """The sweep run twice: from a dict in Python, and from YAML by the command line."""
    tmp = tmp_path_factory.mktemp("sweep")
    ds = neurodyn.run(SWEEP, tmp / "py", progress=False)
    (tmp / "sweep.yaml").write_text(SWEEP_YAML)
    done = cli("run", str(tmp / "sweep.yaml"), "--out", str(tmp / "cli"), "--quiet")
    assert done.returncode == 0, done.stderr
    return ds, tmp / "cli"


def without_config_hash(table):
    """``table`` without the experiment text's hash in its metadata: a dict and YAML
    give different texts of the same experiment."""
    meta = dict(table.schema.metadata or {})
    assert len(meta.pop(b"neurodyn.config_sha256")) == 64
    return table.replace_schema_metadata(meta)


def test_a_sweep_from_a_dict_gives_the_cli_tables_bit_for_bit(sweep):
    ds, cli_out = sweep
    for table in ("spikes", "traces", "neurons", "summary", "fi_curve"):
        mine, theirs = read(ds.path, table), read(cli_out, table)
        assert mine.num_rows > 0, table
        assert same(without_config_hash(mine), without_config_hash(theirs)), table
    # Wall times differ from run to run; everything else is the same.
    runs = read(ds.path, "runs").drop_columns(["wall_s"])
    assert same(without_config_hash(runs),
                without_config_hash(read(cli_out, "runs").drop_columns(["wall_s"])))
    # What the Dataset hands over is what the files hold.
    assert same(ds.spikes(format="arrow").sort_by(
        [("run_id", "ascending"), ("neuron", "ascending"), ("t_ms", "ascending")]
    ), read(ds.path, "spikes"))
    assert same(ds.runs(format="arrow"), read(ds.path, "runs"))


def test_every_table_names_its_experiment_and_the_seed_is_exact(sweep):
    import pyarrow.parquet as pq

    ds, cli_out = sweep
    record = json.loads((Path(ds.path) / "_neurodyn.json").read_text())
    files = sorted(Path(ds.path).glob("*.parquet")) + sorted(Path(ds.path).glob("*/part-*.parquet"))
    names = {p.name if p.parent == Path(ds.path) else p.parent.name for p in files}
    assert names == {"runs.parquet", "neurons.parquet", "summary.parquet", "fi_curve.parquet",
                     "spikes", "traces"}
    for path in files:
        meta = pq.read_metadata(path).metadata
        assert meta[b"neurodyn.experiment"] == b"py_sweep", path
        assert meta[b"neurodyn.config_sha256"] == record["config_sha256"].encode(), path
        assert meta[b"neurodyn.format"] == str(record["format"]).encode() == b"3", path
        assert meta[b"neurodyn.version"] == neurodyn.__version__.encode(), path
    runs = ds.runs()
    assert ds.name == "py_sweep" and (runs["experiment"] == "py_sweep").all()
    # Seeds are text, the same digits `plan` gives; as numbers they need 64 unsigned bits.
    assert pa.types.is_string(ds.runs(format="arrow").schema.field("seed").type)
    (Path(cli_out).parent / "plan.yaml").write_text(SWEEP_YAML)
    plan = cli("plan", str(Path(cli_out).parent / "plan.yaml"), "--format", "json", "--runs")
    planned = {r["run_id"]: r["seed"] for r in map(json.loads, plan.stdout.splitlines())}
    assert {r: int(s) for r, s in zip(runs["run_id"], runs["seed"])} == planned
    assert (runs["seed"].astype(np.uint64).astype(str) == runs["seed"]).all()
    # The experiment name is bookkeeping, not a parameter to join.
    assert "experiment" not in ds.summary(params=True).columns


def test_joined_parameters_match_each_rows_run(sweep):
    ds, _ = sweep
    runs = ds.runs().set_index("run_id")
    spikes = ds.spikes(params=["label", "input_0_amplitude_pA"])
    assert len(spikes) == len(ds.spikes())
    assert (spikes["label"].to_numpy() == runs.loc[spikes["run_id"], "label"].to_numpy()).all()
    assert np.array_equal(
        spikes["input_0_amplitude_pA"].to_numpy(),
        runs.loc[spikes["run_id"], "input_0_amplitude_pA"].to_numpy(),
    )
    # Row order is the table's own, not the join's.
    plain = ds.spikes()
    assert np.array_equal(spikes["t_ms"].to_numpy(), plain["t_ms"].to_numpy())
    # params=True joins every parameter column and none of the bookkeeping.
    summary = ds.summary(params=True)
    assert "model_C_pF" in summary.columns and "seed" not in summary.columns
    assert summary["n_spikes"].sum() == runs["n_spikes"].sum()
    # Units survive as field metadata in the Arrow format.
    arrow = ds.spikes(params=["input_0_amplitude_pA"], format="arrow")
    assert arrow.schema.field("input_0_amplitude_pA").metadata == {b"unit": b"pA"}
    # Chosen runs only, in every format.
    some = ds.spikes(runs=[0, 3], format="polars")
    assert set(some["run_id"].to_list()) <= {0, 3} and some.height > 0
    assert set(ds.traces(2)["run_id"]) == {2}
    with pytest.raises(ValueError, match="no runs-table column 'amplitude'"):
        ds.spikes(params=["amplitude"])
    with pytest.raises(ValueError, match="format must be one of"):
        ds.runs(format="excel")


def test_bad_input_raises_with_the_cli_message_and_hint(tmp_path):
    bad = copy.deepcopy(SWEEP)
    bad["variants"][1]["model"]["C"] = "5 V"
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps(bad, indent=2))
    done = cli("run", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    with pytest.raises(neurodyn.InputError) as caught:
        neurodyn.run(path, tmp_path / "out2")
    e = caught.value
    # The exception says what the command line says, line for line.
    assert ["error: " + line if i == 0 else line for i, line in enumerate(str(e).splitlines())] \
        == done.stderr.strip().splitlines()
    assert (e.file, e.key, e.exit_code) == (str(path), "variants[1].model.C", 2)
    assert e.line == json.dumps(bad, indent=2).splitlines().index('        "C": "5 V"') + 1
    assert e.hints and "capacitance" in e.hints[0]
    # From a dict the file is named <dict>; nothing was written for either.
    with pytest.raises(neurodyn.InputError) as caught:
        neurodyn.run(bad, tmp_path / "out3")
    assert caught.value.file == "<dict>" and caught.value.line is not None
    assert not any((tmp_path / d).exists() for d in ("out", "out2", "out3"))
    # A YAML string is named <string>.
    with pytest.raises(neurodyn.InputError) as caught:
        neurodyn.run("name: x\nduration: 1 ms\n", tmp_path / "out4")
    assert caught.value.file == "<string>"


def test_an_existing_dataset_is_refused_with_the_cli_hint(sweep, tmp_path):
    ds, _ = sweep
    with pytest.raises(neurodyn.Error) as caught:
        neurodyn.run(SWEEP, ds.path, progress=False)
    assert "already holds a dataset" in caught.value.message
    assert any("--force" in h for h in caught.value.hints)


# Long enough that an interrupt lands mid-sweep: 900 runs committed in about 45 batches,
# a second or more of work left after the first commit on this machine even under load
# (with 300 runs, the whole sweep once finished before a loaded machine delivered the
# interrupt).
LONG = {
    "name": "py_long",
    "seed": 3,
    "duration": "1 s",
    "dt": "0.1 ms",
    "method": "euler",
    "neurons": 20,
    "model": {"type": "lif"},
    "input": [
        {"type": "constant", "amplitude": "0 pA"},
        {"type": "noise", "mean": "0 pA", "sigma": "300 pA*sqrt(ms)"},
    ],
    "grid": {"input[0].amplitude": {"linspace": ["0 pA", "1 nA", 900]}},
}


def test_an_interrupt_leaves_a_dataset_that_resumes_to_the_full_result(tmp_path):
    out = tmp_path / "stopped"

    # Interrupt the main thread as the interrupt button does (SIGINT's handler
    # raising KeyboardInterrupt), once the first batch is committed.
    def interrupt_after_first_commit():
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if any((out / "_manifest").glob("*.json")):
                _thread.interrupt_main()
                return
            time.sleep(0.01)

    threading.Thread(target=interrupt_after_first_commit, daemon=True).start()
    with pytest.raises(KeyboardInterrupt, match="resume=True"):
        neurodyn.run(LONG, out, threads=1, progress=False)
    committed = len(list((out / "_manifest").glob("*.json")))
    assert committed >= 1
    assert not (out / "_SUCCESS").exists()
    with pytest.raises(neurodyn.Error, match="not a finished neurodyn dataset"):
        neurodyn.open(out)
    resumed = neurodyn.run(LONG, out, resume=True, progress=False)
    whole = neurodyn.run(LONG, tmp_path / "whole", progress=False)
    assert resumed.runs().shape[0] == 900
    for table in ("spikes", "summary", "fi_curve"):
        assert same(read(out, table), read(whole.path, table)), table


def test_spiketrains_feed_elephant(sweep):
    elephant = pytest.importorskip("elephant")
    import quantities as pq

    ds, _ = sweep
    trains = ds.spiketrains(params=["label", "input_0_amplitude_pA"], window=True)
    runs = ds.runs()
    assert len(trains) == int(runs["neurons"].sum())
    summary = ds.summary().set_index(["run_id", "neuron"])
    for train in trains:
        a = train.annotations
        assert set(a) >= {"run_id", "neuron", "label", "input_0_amplitude_pA"}
        assert train.units == pq.ms
        assert (float(train.t_start), float(train.t_stop)) == (50.0, 300.0)
        # Elephant's rate over the analysis window is neurodyn's rate_Hz.
        rate = elephant.statistics.mean_firing_rate(train).rescale("Hz")
        assert float(rate) == pytest.approx(summary.loc[(a["run_id"], a["neuron"]), "rate_Hz"],
                                            rel=1e-12)
    whole = ds.spiketrains(runs=[0], params=None)
    assert [float(t.t_stop) for t in whole] == [300.0] * 3
    assert sum(len(t) for t in whole) == int(runs.set_index("run_id").loc[0, "n_spikes"])


def test_figures_show_inline(sweep):
    ds, _ = sweep
    fi = ds.plot("fi")
    assert fi._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
    traces = ds.plot("traces", run=0, format="svg")
    assert traces._repr_svg_().lstrip().startswith("<svg")
    with pytest.raises(ValueError, match="run=ID"):
        ds.plot("traces")
    assert ds.report(runs=[0, 1]).read_text().startswith("<!DOCTYPE html>")


def test_the_installed_command_is_the_cli(sweep):
    _, cli_out = sweep
    assert cli("--version").stdout.startswith("neurodyn ")
    status = cli("status", str(cli_out))
    assert status.returncode == 0, status.stderr
    missing = cli("run", "no/such/file.yaml")
    assert missing.returncode == 2 and missing.stderr.startswith("error: ")


def test_progress_is_drawn_on_stderr(tmp_path, capsys):
    small = dict(SWEEP, name="py_progress", variants=[{"label": "lif", "model": {"type": "lif"}}])
    neurodyn.run(small, tmp_path / "p", progress=True)
    err = capsys.readouterr().err
    # Redrawn in place with carriage returns; the last drawing counts every run.
    assert err.startswith("\r") and err.rstrip().endswith("neuron-steps/s")
    assert "8/8 runs" in err.split("\r")[-1]


def test_spiketrains_without_neo_say_what_to_install(sweep, monkeypatch):
    ds, _ = sweep
    monkeypatch.setitem(sys.modules, "neo", None)  # import neo now raises ImportError
    with pytest.raises(ImportError, match="pip install neo"):
        ds.spiketrains()
