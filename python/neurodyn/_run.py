"""``neurodyn.run``: plan and run an experiment in this process, on its own thread,
while Python keeps the interrupt button and draws the progress."""

import json
import os
import sys
import time
import warnings

from . import _native
from ._dataset import Dataset
from ._errors import NeurodynWarning

# How long Python waits in native code before it looks at signals again: short enough
# that the interrupt button answers at once, long enough to cost nothing.
_WAIT_S = 0.1

# Largest number of runs a plan may hold unless raised (the command line's
# --max-runs default).
DEFAULT_MAX_RUNS = 1_000_000


def _source(experiment):
    """(text, name in errors, path) of an experiment given as a path, YAML text or
    a dict. A dict becomes JSON text, which is YAML, one key per line so that errors
    point at a line."""
    if isinstance(experiment, dict):
        return json.dumps(experiment, indent=2), "<dict>", None
    if isinstance(experiment, os.PathLike):
        path = os.fspath(experiment)
        return None, path, path
    if isinstance(experiment, str):
        single_line = "\n" not in experiment
        if single_line and (experiment.endswith((".yaml", ".yml")) or os.path.exists(experiment)):
            return None, experiment, experiment
        return experiment, "<string>", None
    raise TypeError(
        "experiment must be a path, YAML text or a dict, not " + type(experiment).__name__
    )


class _Progress:
    """One line on stderr, redrawn in place with a carriage return: a terminal and a
    Jupyter cell both show it as a line that updates."""

    def __init__(self, enabled):
        self.enabled = enabled
        self.started = time.monotonic()
        self.drawn = 0.0
        self.width = 0

    def update(self, progress, final=False):
        if not self.enabled or progress is None:
            return
        now = time.monotonic()
        if not final and now - self.drawn < 0.5:
            return
        self.drawn = now
        done, total, rate = progress
        elapsed = now - self.started
        eta = ""
        if 0 < done < total:
            eta = ", ETA {:.0f} s".format(elapsed * (total - done) / done)
        line = "{}/{} runs, {:.3g} neuron-steps/s{}".format(done, total, rate, eta)
        sys.stderr.write("\r" + line.ljust(self.width))
        sys.stderr.flush()
        self.width = len(line)

    def close(self):
        if self.enabled and self.width:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.width = 0


def run(experiment, out=None, *, threads=None, resume=False, force=False, progress=True,
        analyze=True, max_runs=DEFAULT_MAX_RUNS):
    """Run an experiment and return its finished :class:`Dataset`.

    ``experiment`` is a path to a YAML file, YAML text, or a dict in the same schema
    (quantities as strings, e.g. ``"10 ms"``). ``out`` is the dataset folder
    (default ``results/<name>``). ``threads`` defaults to every core; ``resume``
    continues an unfinished dataset; ``force`` replaces an existing one, which stays
    untouched until the new one is complete. ``analyze`` writes summary.parquet and
    fi_curve.parquet at the end, as the command line does.

    The run happens in this process with the GIL released. An interrupt
    (KeyboardInterrupt, the notebook's stop button) lets the runs under way finish and
    commit, then raises KeyboardInterrupt; the dataset is left resumable with
    ``resume=True``. A second interrupt stops waiting at once (the runs under way
    still commit in the background). Bad input raises :class:`neurodyn.InputError`
    before anything is written; plan warnings and failed runs are reported as
    :class:`neurodyn.NeurodynWarning`.
    """
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError("threads must be a whole number of at least 1, or None for every core")
    text, source, path = _source(experiment)
    handle = _native.Run.start(
        text,
        source,
        path,
        None if out is None else os.fspath(out),
        threads,
        bool(resume),
        bool(force),
        bool(analyze),
        int(max_runs),
    )
    for message, hints in handle.warnings:
        warnings.warn("\n".join([message] + ["hint: " + h for h in hints]),
                      NeurodynWarning, stacklevel=2)
    bar = _Progress(progress)
    try:
        while not handle.wait(_WAIT_S):
            bar.update(handle.progress())
    except KeyboardInterrupt:
        handle.cancel()
        bar.close()
        sys.stderr.write("stopping after the runs under way; interrupt again to stop waiting\n")
        while not handle.wait(_WAIT_S):
            pass
        result = handle.result()
        raise KeyboardInterrupt(
            "stopped: {} of {} runs committed in {}; run again with resume=True to continue".format(
                result["committed"], result["total"], result["out"])
        ) from None
    bar.update(handle.progress(), final=True)
    bar.close()
    result = handle.result()
    if result["failed"]:
        first_id, first_error = result["failed"][0]
        warnings.warn(
            "{} of {} runs failed (run {}: {}); Dataset.runs() holds each run's status and error".format(
                len(result["failed"]), result["total"], first_id, first_error),
            NeurodynWarning, stacklevel=2)
    return Dataset(result["out"])
