#!/usr/bin/env bash
# bench.sh [REPS] — time the W1-W5 workloads of BENCHMARKS.md through the real neurodyn binary.
#
# Why: the benchmark numbers we quote must come from the release binary as users run
# it (process start, planning, integration, Parquet writing, analysis), not from a
# micro-benchmark. Each workload runs REPS times (default 5) under /usr/bin/time; the
# repetitions are interleaved (W1, W2, ..., W5, W1, ...) so that noise on this shared
# machine hits every workload alike, and medians are printed.
#
# It also measures W4's per-run overhead: W4 (100,000 one-neuron runs of 100 ms) minus
# the pure integration cost of the same 1e8 neuron-steps done as one 100,000-neuron run
# (benches/workloads/w4_floor.yaml), measured in the same session, divided by 1e5.
#
# Environment: NEURODYN (binary, default target/release/neurodyn), THREADS (passed as
# --threads if set), BENCH_TMP (scratch folder for outputs, default a fresh mktemp dir),
# KEEP (set to keep the datasets written; by default only raw.tsv stays).
set -euo pipefail

REPS=${1:-5}
cd "$(dirname "$0")/.."
NEURODYN=${NEURODYN:-target/release/neurodyn}
[ -x "$NEURODYN" ] || { echo "bench.sh: no executable at $NEURODYN (set NEURODYN)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench.sh: /usr/bin/time (GNU time) is required" >&2; exit 1; }

TMP=${BENCH_TMP:-$(mktemp -d /tmp/neurodyn-bench.XXXXXX)}
mkdir -p "$TMP"
# Snapshot the binary so that every repetition times the same build even if the file
# is replaced while the session runs.
BIN="$TMP/neurodyn"
cp "$NEURODYN" "$BIN"
THREAD_ARGS=()
[ -n "${THREADS:-}" ] && THREAD_ARGS=(--threads "$THREADS")

# workload name, YAML file, neuron-steps
WORKLOADS=(
  "W1-euler benches/workloads/w1_euler.yaml 1e8"
  "W1-rk4   benches/workloads/w1_rk4.yaml   1e8"
  "W2-euler benches/workloads/w2_euler.yaml 1e8"
  "W3       benches/workloads/w3.yaml       1e7"
  "W4       benches/workloads/w4.yaml       1e8"
  "W4-floor benches/workloads/w4_floor.yaml 1e8"
  "W5-lif   benches/workloads/w5.yaml       1e8"
)

echo "# neurodyn benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(hostname), $(nproc) cores"
echo "# binary: $NEURODYN ($("$BIN" --version 2>/dev/null || echo '?'), sha256 $(sha256sum "$BIN" | cut -c1-12))"
echo "# reps: $REPS, threads: ${THREADS:-default (all cores)}, scratch: $TMP"

RAW="$TMP/raw.tsv"   # workload rep wall_s rss_kb out_bytes
: > "$RAW"
for rep in $(seq 1 "$REPS"); do
  for entry in "${WORKLOADS[@]}"; do
    read -r name yaml steps <<< "$entry"
    out="$TMP/out-$name"
    rm -rf "$out"
    /usr/bin/time -f '%e %M' -o "$TMP/time.txt" \
      "$BIN" run "$yaml" --out "$out" -q --force "${THREAD_ARGS[@]}"
    read -r wall rss < "$TMP/time.txt"
    bytes=$(du -sb "$out" | cut -f1)
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$rep" "$wall" "$rss" "$bytes" >> "$RAW"
    printf '  rep %s %-9s %7.2f s %8.1f MB\n' "$rep" "$name" "$wall" "$(echo "$rss / 1024" | bc -l)" >&2
  done
done

# median of the numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
col() { awk -F'\t' -v n="$1" -v c="$2" '$1==n {print $c}' "$RAW"; }

echo
printf '%-9s %10s %16s %12s %14s\n' workload "wall s" "neuron-steps/s" "peak RSS MB" "output MB"
for entry in "${WORKLOADS[@]}"; do
  read -r name yaml steps <<< "$entry"
  wall=$(col "$name" 3 | median)
  rss=$(col "$name" 4 | median)
  bytes=$(col "$name" 5 | median)
  awk -v n="$name" -v w="$wall" -v s="$steps" -v r="$rss" -v b="$bytes" \
    'BEGIN {printf "%-9s %10.3f %16.3e %12.1f %14.2f\n", n, w, s / w, r / 1024, b / 1e6}'
done

w4=$(col W4 3 | median)
floor=$(col W4-floor 3 | median)
echo
awk -v a="$w4" -v b="$floor" 'BEGIN {
  printf "W4 per-run overhead: (%.3f s - %.3f s) / 1e5 runs = %.2f us/run\n", a, b, (a - b) / 1e5 * 1e6 }'
# the outputs (W2 alone is ~0.6 GB) are not needed any more; keep them with KEEP=1
[ -n "${KEEP:-}" ] || rm -rf "$TMP"/out-* "$BIN"
echo "# raw measurements: $RAW"
