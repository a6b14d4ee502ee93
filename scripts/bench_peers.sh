#!/usr/bin/env bash
# bench_peers.sh [bench_peers.py options] — compare neurodyn with Brian2 and NEST on W1-W5.
#
# Why: the peer simulators live in their own Python environment so the comparison is
# reproducible without touching the system Python. This wrapper creates that venv on
# first use (or uses an existing one: PEERS_VENV, default .venv-peers) and hands every
# argument to scripts/bench_peers.py, e.g.
#   NEURODYN=target/release/neurodyn scripts/bench_peers.sh --reps 3 --json peers.json
#   scripts/bench_peers.sh --scale 0.01 --reps 1          # a quick check
set -euo pipefail

cd "$(dirname "$0")/.."
V=${PEERS_VENV:-.venv-peers}
if [ ! -x "$V/bin/python" ]; then
  python3 -m venv "$V"
  "$V/bin/pip" install brian2 'numpy<2.4' nest-simulator pandas pyarrow
fi
exec "$V/bin/python" scripts/bench_peers.py "$@"
