"""The ``neurodyn`` command installed with the package: the same command line as the
Rust binary, run in this process (the extension holds all of it)."""

import sys


def main():
    from . import _native

    sys.exit(_native.cli(["neurodyn", *sys.argv[1:]]))
