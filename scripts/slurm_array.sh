#!/usr/bin/env bash
# Run a neurodyn sweep as a SLURM job array: each array task runs one shard, and all
# shards write into one dataset; the last to finish writes runs.parquet and _SUCCESS.
#
#   sbatch --array=0-3 scripts/slurm_array.sh EXPERIMENT.yaml OUT_DIR [NEURODYN_BINARY]
#   neurodyn status OUT_DIR          # exits 1 while runs are missing
#
# A task that fails or is cancelled can be resubmitted alone (sbatch --array=2 ...):
# committed runs are kept and only the missing ones run.
#
# Each task's log (neurodyn-<job>_<task>.out) gets a progress line every 30 s (runs
# done/total, failed, neuron-steps/s, elapsed, ETA) and ends with the summary line;
# --quiet would leave only the summary. Add --log-format json for one JSON object per
# line (docs/JSON.md).
#SBATCH --job-name=neurodyn
#SBATCH --cpus-per-task=1
#SBATCH --output=neurodyn-%A_%a.out
set -euo pipefail
experiment=${1:?usage: sbatch --array=0-N slurm_array.sh EXPERIMENT.yaml OUT_DIR [NEURODYN]}
out=${2:?usage: sbatch --array=0-N slurm_array.sh EXPERIMENT.yaml OUT_DIR [NEURODYN]}
neurodyn=${3:-neurodyn}
exec "$neurodyn" run "$experiment" --out "$out" --shard-from-env \
    --threads "${SLURM_CPUS_PER_TASK:-1}" --log-interval 30
