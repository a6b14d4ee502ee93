//! provenance.json: what produced a dataset — neurodyn version and commit, command
//! line, a hash of the experiment file, host, threads, times and the versions of the
//! random-number stack.

use super::parquet::write_atomic;
use super::StoreError;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Serialize)]
pub struct Provenance {
    pub neurodyn_version: String,
    pub git_commit: String,
    pub git_dirty: String,
    pub command_line: Vec<String>,
    pub experiment_file: String,
    pub config_sha256: String,
    pub host: String,
    pub threads: usize,
    /// Number of shards the dataset was written by.
    pub shards: u32,
    pub start_utc: String,
    pub end_utc: String,
    pub runs: usize,
    pub failed_runs: usize,
    /// Peak resident memory of the process that finished the dataset (Linux only).
    pub peak_rss_mb: Option<f64>,
    pub rng_stack: BTreeMap<&'static str, &'static str>,
}

/// The random-number crates and their locked versions, as built.
pub fn rng_stack() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        ("rand_chacha", env!("NEURODYN_RAND_CHACHA")),
        ("rand_distr", env!("NEURODYN_RAND_DISTR")),
        ("rand_core", env!("NEURODYN_RAND_CORE")),
        ("generator", "ChaCha8, one stream per neuron"),
    ])
}

/// This process's peak resident set size in MiB, from /proc/self/status (VmHWM).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// The current time as RFC 3339 UTC with second precision.
pub fn now_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl Provenance {
    pub fn write(&self, dir: &Path) -> Result<(), StoreError> {
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| StoreError::Parquet(format!("provenance: {e}")))?;
        write_atomic(&dir.join(super::layout::PROVENANCE), &json)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamp_has_rfc3339_shape() {
        let t = super::now_utc();
        assert_eq!(t.len(), 20);
        assert!(t.starts_with("20") && t.ends_with('Z'));
    }
}
