# Read a neurodyn dataset with the R arrow package and recompute its F-I curve.
#   Rscript scripts/analyze.R results/fi_curves
# Same rule as scripts/analyze_pandas.py: window rate of every neuron of every
# successful run (0 Hz without spikes), mean over neurons and replicates per current,
# within groups of runs that share every other parameter.
suppressPackageStartupMessages({
  library(arrow)
  library(dplyr)
})
args <- commandArgs(trailingOnly = TRUE)
root <- if (length(args) > 0) args[[1]] else "results/fi_curves"

runs <- read_parquet(file.path(root, "runs.parquet"))
spikes <- open_dataset(file.path(root, "spikes")) |> collect()
fi <- read_parquet(file.path(root, "fi_curve.parquet"))

not_grouping <- c("run_id", "run_key", "seed", "status", "error", "n_spikes", "wall_s", "replicate")
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
cat(sprintf("R arrow %s: %d curve points (neurodyn: %d); max |mean difference| = %.3g Hz\n",
            packageVersion("arrow"), nrow(mine), nrow(fi), max(abs(both$rate_Hz_mean - both$mean))))
