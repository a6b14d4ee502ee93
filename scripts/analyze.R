# Read a neurodyn dataset with the R arrow package and recompute its F-I curve.
#   Rscript scripts/analyze.R results/fi_curves
# Same rule as scripts/analyze_pandas.py: window rate of every neuron of every
# successful run (0 Hz without spikes), mean over neurons and replicates per current,
# within groups of runs that share every other parameter.
#
# Not run in CI: R and its arrow package are not in the package registries the CI
# machine installs from (Debian has no r-cran-arrow), so this script is checked by
# hand. Written for dataset format 3 (README.md, "Output").
#
# `seed` is text (the decimal digits of a 64-bit unsigned integer): R's doubles hold
# 53 bits, and bit64's integer64 is signed, so seeds of 2^63 and above do not fit it
# either (bit64::as.integer64 gives them all as 2^63 - 1). Keep it as text to compare
# or join on; for arithmetic use gmp::as.bigz(seed).
suppressPackageStartupMessages({
  library(arrow)
  library(dplyr)
})
args <- commandArgs(trailingOnly = TRUE)
root <- if (length(args) > 0) args[[1]] else "results/fi_curves"

runs <- read_parquet(file.path(root, "runs.parquet"))
spikes <- open_dataset(file.path(root, "spikes")) |> collect()
fi <- read_parquet(file.path(root, "fi_curve.parquet"))
stopifnot(is.character(runs$seed))
experiment <- unique(runs$experiment)

not_grouping <- c("run_id", "run_key", "experiment", "seed", "status", "error", "n_spikes",
                  "wall_s", "replicate")
cands <- grep("^input.*_(amplitude|mean|offset)_pA$", names(runs), value = TRUE)
varies <- vapply(cands, function(c) length(unique(na.omit(runs[[c]]))) > 1, logical(1))
current <- if (any(varies)) cands[varies][1] else cands[1]
group_cols <- setdiff(names(runs), c(not_grouping, current))

ok <- runs |> filter(status == "ok") |> mutate(current_pA = coalesce(.data[[current]], 0))
neurons <- ok |> select(run_id, neurons) |>
  rowwise() |> reframe(run_id = run_id, neuron = seq_len(neurons) - 1L)
counted <- spikes |>
  inner_join(ok |> select(run_id, window_start_ms, window_stop_ms), by = "run_id") |>
  filter(t_ms >= window_start_ms, t_ms < window_stop_ms) |>
  count(run_id, neuron, name = "n")
rates <- neurons |>
  left_join(counted, by = c("run_id", "neuron")) |>
  mutate(n = coalesce(n, 0L)) |>
  inner_join(ok, by = "run_id") |>
  mutate(rate_Hz = n / ((window_stop_ms - window_start_ms) / 1000))
mine <- rates |>
  group_by(across(all_of(c(group_cols, "current_pA")))) |>
  summarise(mean = mean(rate_Hz), sd = sd(rate_Hz), count = n(), .groups = "drop")
both <- inner_join(fi, mine, by = c(group_cols, "current_pA"))
cat(sprintf("R arrow %s, experiment %s: %d curve points (neurodyn: %d); max |mean difference| = %.3g Hz\n",
            packageVersion("arrow"), paste(experiment, collapse = ", "), nrow(mine), nrow(fi),
            max(abs(both$rate_Hz_mean - both$mean))))
