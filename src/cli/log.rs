//! What `run` writes to stderr: progress lines, warnings, errors and the closing
//! summary, as text or as one JSON object per line (`--log-format json`, schemas in
//! docs/JSON.md). `--quiet` keeps only the errors, the summary and the answer to
//! Ctrl-C. The progress bar on a terminal is `progress::Bar`, not a log line.

use super::failure::{print_warning, Failure};
use super::json::{self, Format};
use crate::error::InputError;
use crate::runner::{Progress, Shard, Summary};
use crate::store::RunRecord;
use serde::Serialize;
use std::time::Duration;

/// Where `run` reports, in the format and verbosity chosen on its command line.
#[derive(Clone, Copy)]
pub struct Log {
    format: Format,
    quiet: bool,
}

/// One log line as JSON: what kind of line it is, the schema version, then the
/// event's own fields.
#[derive(Serialize)]
struct Event<T> {
    event: &'static str,
    version: u32,
    #[serde(flatten)]
    body: T,
}

#[derive(Serialize)]
struct Message<'a> {
    message: &'a str,
    hints: &'a [String],
    /// The failed run an error is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    run_id: Option<u32>,
}

#[derive(Serialize)]
struct ProgressBody {
    done: usize,
    total: usize,
    failed: usize,
    neuron_steps: u64,
    neuron_steps_per_s: f64,
    elapsed_s: f64,
    /// None until a run has finished: there is nothing to extrapolate from.
    eta_s: Option<f64>,
}

#[derive(Serialize)]
struct SummaryBody {
    out: String,
    ran: usize,
    failed: usize,
    spikes: u64,
    wall_s: f64,
    committed: usize,
    total: usize,
    complete: bool,
    stopped: bool,
    shard: ShardBody,
    analysis: Option<AnalysisBody>,
}

#[derive(Serialize)]
struct ShardBody {
    index: u32,
    count: u32,
}

#[derive(Serialize)]
struct AnalysisBody {
    summary_rows: usize,
    fi_rows: usize,
}

impl Log {
    pub fn new(format: Format, quiet: bool) -> Log {
        Log { format, quiet }
    }

    pub fn is_json(self) -> bool {
        self.format == Format::Json
    }

    /// Whether progress is shown at all (bar or lines).
    pub fn shows_progress(self) -> bool {
        !self.quiet
    }

    fn emit(self, event: &'static str, body: impl Serialize) {
        eprintln!(
            "{}",
            json::line(&Event {
                event,
                version: json::VERSION,
                body
            })
        );
    }

    /// A message event (warning or error) as one JSON line.
    fn emit_message(
        self,
        event: &'static str,
        message: &str,
        hints: &[String],
        run_id: Option<u32>,
    ) {
        self.emit(
            event,
            Message {
                message,
                hints,
                run_id,
            },
        );
    }

    /// A problem of neurodyn's own that does not stop the run.
    pub fn warning(self, message: &str) {
        if self.quiet {
            return;
        }
        match self.format {
            Format::Text => eprintln!("warning: {message}"),
            Format::Json => self.emit_message("warning", message, &[], None),
        }
    }

    /// The answer to the first Ctrl-C or SIGTERM, printed whatever the verbosity:
    /// whoever sent it waits to see the run stop, and needs to know how to stop it
    /// at once. In text a line of its own, not a warning: nothing is wrong.
    pub fn stopping(self) {
        let message = "stopping after the runs under way; Ctrl-C again to quit at once";
        match self.format {
            Format::Text => eprintln!("{message}"),
            Format::Json => self.emit_message("warning", message, &[], None),
        }
    }

    /// A problem with the experiment that does not stop it, with its hints.
    pub fn input_warning(self, w: &InputError) {
        if self.quiet {
            return;
        }
        match self.format {
            Format::Text => print_warning(w),
            Format::Json => {
                // The same message and hints as an error of this input would have.
                let f = Failure::from(w.clone());
                self.emit_message("warning", f.message(), f.hints(), None);
            }
        }
    }

    /// An error, printed whatever the verbosity.
    pub fn error(self, message: &str, hints: &[String]) {
        self.error_of(message, hints, None);
    }

    /// A run that failed, with the hints to print after it.
    pub fn run_failed(self, record: &RunRecord, hints: &[String]) {
        let message = record.error.as_deref().unwrap_or("run failed");
        self.error_of(message, hints, Some(record.run_id));
    }

    fn error_of(self, message: &str, hints: &[String], run_id: Option<u32>) {
        match self.format {
            Format::Text => {
                eprintln!("error: {message}");
                for h in hints {
                    eprintln!("hint: {h}");
                }
            }
            Format::Json => self.emit_message("error", message, hints, run_id),
        }
    }

    /// A progress line for `p`, reported `elapsed` after the runs started (later than
    /// `p.elapsed` when no run has finished since).
    pub fn progress(self, p: &Progress, elapsed: Duration) {
        if self.quiet {
            return;
        }
        let elapsed_s = elapsed.as_secs_f64();
        let rate = p.neuron_steps as f64 / elapsed_s.max(1e-9);
        let eta_s = (p.runs_done > 0).then(|| {
            elapsed_s * p.runs_total.saturating_sub(p.runs_done) as f64 / p.runs_done as f64
        });
        match self.format {
            Format::Text => eprintln!(
                "progress: {}/{} runs, {} failed, {rate:.2e} neuron-steps/s, elapsed {elapsed_s:.0} s, ETA {}",
                p.runs_done,
                p.runs_total,
                p.runs_failed,
                eta_s.map_or_else(|| "unknown".into(), |s| format!("{s:.0} s")),
            ),
            Format::Json => self.emit(
                "progress",
                ProgressBody {
                    done: p.runs_done,
                    total: p.runs_total,
                    failed: p.runs_failed,
                    neuron_steps: p.neuron_steps,
                    neuron_steps_per_s: rate,
                    elapsed_s,
                    eta_s,
                },
            ),
        }
    }

    /// The closing summary of `run`, printed whatever the verbosity, and, unless
    /// quiet, what the analysis wrote (in text a line of its own before the summary,
    /// so that the summary is the last line either way).
    pub fn summary(self, s: &Summary, shard: Shard) {
        let ran = s.ran.runs;
        let failed = s.ran.failed.len();
        let spikes = s.ran.spikes;
        match self.format {
            Format::Text => {
                if let (Some(a), false) = (&s.analysis, self.quiet) {
                    eprintln!(
                        "analyzed: summary.parquet ({} rows), fi_curve.parquet ({} rows)",
                        a.summary_rows, a.fi_rows
                    );
                }
                let shard_note = if shard.count > 1 {
                    format!(" (shard {}/{})", shard.index, shard.count)
                } else {
                    String::new()
                };
                eprintln!(
                    "{}: ran {ran} runs{shard_note}, {failed} failed, {spikes} spikes in {:.2} s; {} of {} runs committed{}",
                    s.out.display(),
                    s.wall_s,
                    s.committed,
                    s.total,
                    if s.complete { ", dataset complete" } else { "" },
                );
            }
            Format::Json => self.emit(
                "summary",
                SummaryBody {
                    out: s.out.display().to_string(),
                    ran,
                    failed,
                    spikes,
                    wall_s: s.wall_s,
                    committed: s.committed,
                    total: s.total,
                    complete: s.complete,
                    stopped: s.stopped,
                    shard: ShardBody {
                        index: shard.index,
                        count: shard.count,
                    },
                    analysis: s.analysis.as_ref().map(|a| AnalysisBody {
                        summary_rows: a.summary_rows,
                        fi_rows: a.fi_rows,
                    }),
                },
            ),
        }
    }
}
