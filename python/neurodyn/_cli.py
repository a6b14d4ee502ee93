"""The ``neurodyn`` command installed with the package: the same command line as the
Rust binary, run in this process (the extension holds all of it)."""

import sys


def main():
    import signal

    from . import _native

    # As the Rust binary does: output piped into `head` ends the command quietly
    # (Python ignores SIGPIPE by default, which would make writes fail instead).
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)

    sys.exit(_native.cli(["neurodyn", *sys.argv[1:]]))
