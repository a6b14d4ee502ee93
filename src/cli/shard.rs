//! Which shard a process runs: `--shard I/N`, or a scheduler's job-array variables
//! (SLURM, Kubernetes indexed Jobs), and the cap on the shard count.

use super::failure::Failure;
use crate::runner::Shard;

/// Most shards a sweep may be split into (for `run` and `status`): far more than any
/// job array, and small enough that the per-shard bookkeeping (a load per shard, a
/// status row per shard) stays small; 4294967295 shards ran out of memory.
const MAX_SHARDS: u32 = 65_536;

/// The shard `run` was given: `--shard`, else the environment with
/// `--shard-from-env` (and `--shards`), else the whole plan.
pub fn chosen(
    shard: Option<String>,
    from_env: bool,
    shards: Option<u32>,
) -> Result<Shard, Failure> {
    match (shard, from_env) {
        (Some(s), _) => parse(&s),
        (None, true) => from_environment(shards),
        (None, false) => Ok(Shard::ALL),
    }
}

fn parse(text: &str) -> Result<Shard, Failure> {
    let bad = || {
        Failure::usage(
            format!("--shard '{text}' is not of the form I/N with 0 <= I < N"),
            "shards are numbered from 0: --shard 0/4 ... --shard 3/4",
        )
    };
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (index, count): (u32, u32) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if count == 0 || index >= count {
        return Err(bad());
    }
    check_count(count, &format!("--shard {text}"))?;
    Ok(Shard { index, count })
}

/// Refuse a shard count above MAX_SHARDS; `given` names where it came from.
pub fn check_count(count: u32, given: &str) -> Result<(), Failure> {
    if count > MAX_SHARDS {
        return Err(Failure::usage(
            format!("{given}: {count} shards, more than the cap of {MAX_SHARDS}"),
            format!("split the sweep into at most {MAX_SHARDS} shards; each shard runs many runs"),
        ));
    }
    Ok(())
}

fn env_u32(name: &str) -> Result<Option<u32>, Failure> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(v) => v.trim().parse().map(Some).map_err(|_| {
            Failure::usage(
                format!("{name}='{v}' is not a whole number"),
                "check the scheduler's environment",
            )
        }),
    }
}

/// The shard from SLURM's array variables or Kubernetes' completion index.
fn from_environment(shards: Option<u32>) -> Result<Shard, Failure> {
    if let (Some(id), Some(count)) = (
        env_u32("SLURM_ARRAY_TASK_ID")?,
        env_u32("SLURM_ARRAY_TASK_COUNT")?,
    ) {
        check_count(count, &format!("SLURM_ARRAY_TASK_COUNT={count}"))?;
        // Arrays may start anywhere (--array=1-4): count from the lowest task id.
        let min = env_u32("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        return parse(&format!("{}/{count}", id.saturating_sub(min)));
    }
    if let Some(index) = env_u32("JOB_COMPLETION_INDEX")? {
        let Some(count) = shards else {
            return Err(Failure::usage(
                "JOB_COMPLETION_INDEX is set but the shard count is unknown",
                "add --shards N (the Job's completions)",
            ));
        };
        check_count(count, &format!("--shards {count}"))?;
        return parse(&format!("{index}/{count}"));
    }
    Err(Failure::usage(
        "--shard-from-env: neither SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT nor JOB_COMPLETION_INDEX is set",
        "submit as a SLURM job array (sbatch --array=0-3) or an indexed Kubernetes Job, or use --shard I/N",
    ))
}
