"""neurodyn from Python: run single-neuron sweeps (LIF, EIF, AdEx) and read their
datasets as pandas, polars or pyarrow tables.

    import neurodyn
    ds = neurodyn.run("experiments/fi_curves.yaml", "results/fi")
    fi = ds.fi_curve()                    # a pandas DataFrame

``run`` takes a path, YAML text or a dict in the YAML's schema; ``open`` opens a
finished dataset. Bad input raises ``neurodyn.InputError`` with the message and
hints the command line prints. The package imports pyarrow, pandas and polars only
when a table is asked for, so ``import neurodyn`` stays quick.
"""

from ._dataset import Dataset, Figure, open
from ._errors import Error, InputError, NeurodynWarning
from ._native import __version__
from ._run import run

__all__ = [
    "Dataset",
    "Error",
    "Figure",
    "InputError",
    "NeurodynWarning",
    "open",
    "run",
    "__version__",
]
