"""A finished dataset from Python: its tables as pandas, polars or pyarrow (handed
over from Rust through the Arrow C data interface), run parameters joined on
request, spike trains as neo objects, and figures that show inline in Jupyter."""

import os
from pathlib import Path

from . import _native

FORMATS = ("pandas", "polars", "arrow")

# Runs-table columns that name a run or say how it went rather than what it simulated;
# ``params=True`` joins every other column. (``seed`` is text: the exact decimal digits
# of a 64-bit unsigned integer; ``numpy.uint64(seed)`` gives the number.)
_BOOKKEEPING = ("run_id", "run_key", "experiment", "seed", "status", "error", "n_spikes",
                "wall_s")


def open(path):  # noqa: A001 - neurodyn.open, as in the issue's API
    """Open the finished dataset at ``path``; it is verified against its manifests
    first, so a damaged or unfinished dataset raises :class:`neurodyn.Error`."""
    return Dataset(path)


def _convert(table, format):
    if format == "pandas":
        return table.to_pandas()
    if format == "polars":
        try:
            import polars
        except ImportError:
            raise ImportError("format='polars' needs polars: pip install polars") from None
        return polars.from_arrow(table)
    if format in ("arrow", "pyarrow"):
        return table
    raise ValueError("format must be one of {}, not {!r}".format(", ".join(FORMATS), format))


def _only(table, ids):
    """The rows of ``table`` whose run_id is one of ``ids`` (all when None)."""
    if ids is None:
        return table
    import pyarrow as pa
    import pyarrow.compute as pc

    return table.filter(pc.is_in(table["run_id"], value_set=pa.array(ids, pa.uint32())))


def _run_ids(runs):
    if runs is None:
        return None
    if isinstance(runs, int):
        return [runs]
    return [int(r) for r in runs]


class Figure:
    """A figure file the dataset's plots/ folder holds; Jupyter shows it inline."""

    def __init__(self, path):
        self.path = Path(path)

    def __repr__(self):
        return "Figure({!r})".format(str(self.path))

    def _repr_png_(self):
        return self.path.read_bytes() if self.path.suffix == ".png" else None

    def _repr_svg_(self):
        return self.path.read_text() if self.path.suffix == ".svg" else None


class Dataset:
    """A finished neurodyn dataset.

    Every table method takes ``format``: ``"pandas"`` (default), ``"polars"`` or
    ``"arrow"`` (a ``pyarrow.Table``). ``params`` joins run parameters onto rows
    that carry a ``run_id``: a list of runs-table column names, or True for every
    parameter column (all but the run's bookkeeping: key, experiment name, seed,
    status, error, spike count, wall time). Quantities are in the units their column
    names end in (Hz for frequencies, MOhm for resistances; README.md, "Output").
    """

    def __init__(self, path):
        self._native = _native.Dataset(os.fspath(path))
        self.path = Path(self._native.path)
        self._runs = None

    def __repr__(self):
        return "neurodyn.Dataset({!r})".format(str(self.path))

    # -- tables ------------------------------------------------------------------

    def _table(self, name, runs=None):
        import pyarrow as pa

        files = self._native.table(name, runs)
        if not files:
            return self._native.schema(name).empty_table()
        if len(files) == 1:
            return files[0]
        # Part files agree on their columns except where runs recorded different
        # values; those columns are null where a file lacks them.
        return pa.concat_tables(files, promote_options="default")

    def _runs_table(self):
        if self._runs is None:
            self._runs = self._table("runs")
        return self._runs

    def _param_names(self, params, present):
        runs = self._runs_table()
        if params is True:
            names = [n for n in runs.column_names if n not in _BOOKKEEPING]
        elif isinstance(params, str):
            names = [params]
        else:
            names = list(params)
        unknown = [n for n in names if n not in runs.column_names]
        if unknown:
            raise ValueError(
                "no runs-table column {}; the columns are: {}".format(
                    ", ".join(repr(n) for n in unknown), ", ".join(runs.column_names)))
        return [n for n in names if n not in present]

    def _with_params(self, table, params):
        """``table`` with the chosen runs-table columns added, matched by run_id; rows
        keep their order."""
        if not params:
            return table
        import pyarrow.compute as pc

        runs = self._runs_table()
        at = pc.index_in(table["run_id"], value_set=runs["run_id"])
        for name in self._param_names(params, table.column_names):
            field = runs.schema.field(name)
            table = table.append_column(field, pc.take(runs[name], at))
        return table

    def runs(self, format="pandas"):
        """runs.parquet: one row per run with its status and every parameter."""
        return _convert(self._runs_table(), format)

    def spikes(self, runs=None, params=None, format="pandas"):
        """Spike times (run_id, neuron, t_ms), of every run or of ``runs`` (ids)."""
        table = self._table("spikes", _run_ids(runs))
        return _convert(self._with_params(table, params), format)

    def traces(self, runs, params=None, format="pandas"):
        """The recorded V, I and w of ``runs`` (a run id or a list of them): traces
        can be large, so they are read for chosen runs only."""
        table = self._table("traces", _run_ids(runs))
        return _convert(self._with_params(table, params), format)

    def neurons(self, format="pandas"):
        """neurons.parquet: the value each neuron got of what varies per neuron (an
        empty table when nothing does)."""
        return _convert(self._table("neurons"), format)

    def _analyzed(self, name):
        if not self._native.has(name):
            _native.analyze(str(self.path))
        return self._table(name)

    def summary(self, runs=None, params=None, format="pandas"):
        """summary.parquet: per-neuron spike-train statistics and firing pattern
        (written first if the run was made with ``analyze=False``)."""
        table = _only(self._analyzed("summary"), _run_ids(runs))
        return _convert(self._with_params(table, params), format)

    def fi_curve(self, format="pandas"):
        """fi_curve.parquet: rate against current per group of runs, with rheobase."""
        return _convert(self._analyzed("fi_curve"), format)

    @property
    def experiment(self):
        """The experiment as run (the dataset's experiment.yaml)."""
        return (self.path / "experiment.yaml").read_text()

    @property
    def name(self):
        """The experiment's name (its ``name:``; runs.parquet's ``experiment`` column)."""
        return self._native.name

    # -- spike trains for neo and Elephant ---------------------------------------

    def spiketrains(self, runs=None, params=True, window=False):
        """One ``neo.SpikeTrain`` per neuron of each successful run (of ``runs``, or
        all), in (run_id, neuron) order, with neurons that never fired included.

        Times are in ms; ``t_start`` is 0 and ``t_stop`` the run's duration, or the
        analysis window when ``window`` is True (spikes outside it are left out).
        Annotations: run_id, neuron and the run parameters chosen by ``params`` (as in
        :meth:`spikes`). Needs neo (``pip install neo``; Elephant for statistics).
        """
        try:
            import neo
            import quantities as pq
        except ImportError:
            raise ImportError(
                "Dataset.spiketrains needs neo: pip install neo (and elephant for its statistics)"
            ) from None
        import numpy as np
        import pyarrow.compute as pc

        table = _only(self._runs_table(), _run_ids(runs))
        table = table.filter(pc.equal(table["status"], "ok"))
        table = table.sort_by("run_id")
        names = self._param_names(params, ["run_id"]) if params else []
        spikes = self._table("spikes", table["run_id"].to_pylist())
        run = spikes["run_id"].to_numpy()
        neuron = spikes["neuron"].to_numpy()
        t = spikes["t_ms"].to_numpy()
        order = np.lexsort((t, neuron, run))
        run, neuron, t = run[order], neuron[order], t[order]
        out = []
        for row in table.to_pylist():
            rid = row["run_id"]
            if window:
                start, stop = row["window_start_ms"], row["window_stop_ms"]
            else:
                start, stop = 0.0, row["duration_ms"]
            lo, hi = np.searchsorted(run, [rid, rid + 1])
            notes = {n: row[n] for n in names}
            for k in range(row["neurons"]):
                a, b = np.searchsorted(neuron[lo:hi], [k, k + 1])
                times = t[lo + a:lo + b]
                if window:
                    times = times[(times >= start) & (times <= stop)]
                train = neo.SpikeTrain(times * pq.ms, t_start=start * pq.ms,
                                       t_stop=stop * pq.ms)
                # annotate(), not constructor keywords: a column could share a name
                # with one of the constructor's own arguments.
                train.annotate(run_id=rid, neuron=k, **notes)
                out.append(train)
        return out

    # -- figures -----------------------------------------------------------------

    def plot(self, kind="fi", run=None, format="png"):
        """Draw one figure into the dataset's plots/ folder and return it as a
        :class:`Figure` (shown inline in Jupyter). ``kind`` is "fi" (the F-I curves)
        or, for one ``run``, "traces", "isi" or "phase"; ``format`` "png" or "svg"."""
        if kind == "fi":
            self._analyzed("fi_curve")
        elif run is None:
            raise ValueError("a {!r} figure is drawn for one run: give run=ID".format(kind))
        files = self._native.plot(kind, None if run is None else int(run), format)
        if not files:
            what = "the F-I curves (no current is swept)" if kind == "fi" else "run {}".format(run)
            raise ValueError("nothing to draw as {!r} for {}".format(kind, what))
        return Figure(files[0])

    def report(self, runs=None):
        """Write the self-contained HTML report (report/index.html) with figures of
        ``runs`` (default: every run up to the report's cap, as ``neurodyn report``)
        and return its path."""
        ids = _run_ids(runs)
        return Path(_native.report(str(self.path), [] if ids is None else ids))
