//! The check `run` makes before it starts: the estimated output against the free space
//! of the output folder's disk. It lives with the command rather than the library
//! because it is a policy of the command line (warn, or refuse with advice), made
//! before the dataset is opened.

use super::failure::Failure;
use crate::experiment::plan;
use crate::runner::RunOptions;
use crate::store::Dataset;
use crate::units::bytes;
use std::path::Path;

/// Warn before writing more than plan::WARN_BYTES, and refuse to start what would not
/// fit on the output folder's file system. Counted: every run not yet committed (all
/// shards of a sweep write to the one dataset, so each checks for all of it).
pub fn check(plan: &plan::Plan, opts: &RunOptions) -> Result<(), Failure> {
    if let Some(w) = assess(plan, opts)? {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// As [`check`], the warning returned rather than printed, for a caller that logs
/// its own way (`run --log-format json`).
pub fn assess(plan: &plan::Plan, opts: &RunOptions) -> Result<Option<String>, Failure> {
    let committed = if opts.resume || opts.shard.count > 1 {
        Dataset::read(&opts.out)
            .and_then(|d| d.outcomes())
            .unwrap_or_default()
    } else {
        Default::default()
    };
    let todo = (0..plan.len() as u32).filter(|&id| !committed.is_committed(id));
    let estimate = plan.estimate_of(todo);
    let size = format!(
        "about {} ({} of traces, {} of spikes if the neurons fire at {} Hz)",
        bytes(estimate.bytes()),
        bytes(estimate.trace_bytes),
        bytes(estimate.spike_bytes),
        plan::NOMINAL_RATE_HZ
    );
    match estimate.verdict(free_space(&opts.out)) {
        plan::SizeVerdict::Fine => Ok(None),
        plan::SizeVerdict::Large => Ok(Some(format!("{} will write {size}", opts.out.display()))),
        plan::SizeVerdict::TooLarge { free } => Err(Failure::with_hints(
            format!(
                "{} would take {size}, more than the {} free on its disk",
                opts.out.display(),
                bytes(free)
            ),
            vec![
                "record fewer neurons or variables, record every k-th step (record: {every: k}) or shorten the runs; `neurodyn plan EXP` shows the estimate".into(),
                "or choose a folder on a larger disk with --out".into(),
            ],
        )),
    }
}

/// Bytes free to an unprivileged user on the file system that holds `dir` (or would:
/// its nearest existing ancestor); None when that cannot be found out.
fn free_space(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let existing = dir
        .ancestors()
        .map(|a| {
            if a.as_os_str().is_empty() {
                Path::new(".")
            } else {
                a
            }
        })
        .find(|a| a.exists())?;
    let c_path = std::ffi::CString::new(existing.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes only into the struct it is given, and c_path is a valid
    // NUL-terminated string that outlives the call.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    #[allow(clippy::useless_conversion)] // the field types differ between platforms
    let free = u64::from(stat.f_bavail).saturating_mul(u64::from(stat.f_frsize));
    Some(free)
}
