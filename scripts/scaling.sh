#!/usr/bin/env bash
# scaling.sh — time and peak memory of neurodyn against population size and run count
# (the scaling tables of BENCHMARKS.md), as markdown tables.
#
# Population: one AdEx run (Brette-Gerstner cell, euler, dt 0.1 ms, 100 ms, currents
# spread 500-1000 pA over the neurons, spikes only) of 10^2 ... 10^6 neurons.
# Runs: 10 ... 10^MAX_RUNS_EXP single-neuron runs of the same cell and length, the
# current as the grid axis (W4's shape). Plan: `neurodyn plan` of a 1000 x 1000 grid
# (10^6 runs). Each point is timed REPS times (default 3); medians.
# Environment: NEURODYN (default target/release/neurodyn), MAX_RUNS_EXP (default 6;
# 7 runs 10^7 runs, about 5 minutes each on 2 cores).
set -euo pipefail
REPS=${1:-3}
cd "$(dirname "$0")/.."
NEURODYN=${NEURODYN:-target/release/neurodyn}
MAX_RUNS_EXP=${MAX_RUNS_EXP:-6}
tmp=$(mktemp -d /tmp/neurodyn-scaling.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

base='seed: 1
duration: 100 ms
dt: 0.1 ms
method: euler
model: {type: adex}
initial: {V: -70.6 mV, w: 0 pA}'

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# measure NAME YAML NEURON_STEPS: prints a table row
measure() {
    local name=$1 yaml=$2 steps=$3 walls=() rsss=()
    local cmd=(${CMD:-run --out "$tmp/out" --quiet --force --no-analyze})
    for _ in $(seq "$REPS"); do
        # Wall time from date (ns), as /usr/bin/time rounds to 10 ms; peak RSS from time.
        local t0 t1
        t0=$(date +%s.%N)
        # The summary line goes to a log, shown only if the run fails.
        /usr/bin/time -f '%M' -o "$tmp/time" "$NEURODYN" "${cmd[@]}" "$yaml" \
            >/dev/null 2>"$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
        t1=$(date +%s.%N)
        wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
        read -r rss < "$tmp/time"
        walls+=("$wall"); rsss+=("$rss")
    done
    local w r
    w=$(printf '%s\n' "${walls[@]}" | median)
    r=$(printf '%s\n' "${rsss[@]}" | median)
    awk -v n="$name" -v w="$w" -v r="$r" -v s="$steps" 'BEGIN {
        printf "| %s | %.4f | %.3g | %.0f | %.1f |\n", n, w, s / w, r / 1024, 1e9 * w / s }'
}

echo "## Population size (one run, 100 ms = 1000 steps)"
echo
echo "| neurons | wall (s) | neuron-steps/s | peak RSS (MB) | ns per neuron-step |"
echo "|---|---|---|---|---|"
for e in 2 3 4 5 6; do
    n=$((10 ** e))
    printf '%s\nname: pop%s\nneurons: %s\ninput: {type: spread, from: 500 pA, to: 1000 pA}\n' \
        "$base" "$n" "$n" > "$tmp/pop.yaml"
    measure "10^$e" "$tmp/pop.yaml" $((n * 1000))
done
echo
echo "## Run count (single-neuron runs, 100 ms each)"
echo
echo "| runs | wall (s) | neuron-steps/s | peak RSS (MB) | ns per neuron-step |"
echo "|---|---|---|---|---|"
for e in $(seq 1 "$MAX_RUNS_EXP"); do
    n=$((10 ** e))
    printf '%s\nname: runs%s\nneurons: 1\ninput: {type: constant, amplitude: 500 pA}\ngrid:\n  input.amplitude: {linspace: [500 pA, 1000 pA, %s]}\n' \
        "$base" "$n" "$n" > "$tmp/runs.yaml"
    measure "10^$e" "$tmp/runs.yaml" $((n * 1000))
done
echo
echo "## Plan only (neurodyn plan, a 1000 x 1000 grid: 10^6 runs, nothing runs)"
echo
echo "| runs | wall (s) | runs/s | peak RSS (MB) | ns per run |"
echo "|---|---|---|---|---|"
printf '%s\nname: plan6\nneurons: 1\ninput: {type: constant, amplitude: 500 pA}\ngrid:\n  input.amplitude: {linspace: [500 pA, 1000 pA, 1000]}\n  model.a: {linspace: [1 nS, 5 nS, 1000]}\n' \
    "$base" > "$tmp/plan.yaml"
CMD=plan measure "10^6" "$tmp/plan.yaml" 1000000
