//! How `run` shows progress, fed by the runner's progress reports: a bar redrawn in
//! place on a terminal, or, in a log (a SLURM output file, a pipe), a line now and
//! then that stays readable once the job is over.

use super::log::Log;
use crate::runner::{OnProgress, Progress};
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub struct Bar(ProgressBar);

impl Bar {
    pub fn new() -> Bar {
        // The length is unknown until the runner has subtracted committed runs; the
        // first report sets it.
        let bar = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} runs, {msg}, ETA {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        Bar(bar)
    }

    /// The callback for `RunOptions::on_progress` that moves this bar.
    pub fn on_progress(&self) -> OnProgress {
        let bar = self.0.clone();
        Arc::new(move |p: &Progress| {
            bar.set_length(p.runs_total as u64);
            bar.set_message(format!("{:.3e} neuron-steps/s", p.rate()));
            bar.set_position(p.runs_done as u64);
            // Gone before the dataset is finished and analyzed, which take a while.
            if p.runs_done == p.runs_total {
                bar.finish_and_clear();
            }
        })
    }

    /// Remove the bar, so the run's closing lines are not drawn over.
    pub fn clear(&self) {
        self.0.finish_and_clear();
    }
}

/// The latest report and when it came.
type Latest = Arc<Mutex<Option<(Progress, Instant)>>>;

/// Progress lines in a log: with a zero interval one per report (as the runs start
/// and as each finishes), else one per interval while runs are under way. The
/// interval is kept by a thread of its own rather than by the reports, because runs
/// integrated together finish together: a log would otherwise fall silent for as
/// long as a population takes.
pub struct Lines {
    log: Log,
    latest: Option<Latest>,
    /// Dropped to stop the ticker.
    stop: Option<Sender<()>>,
    ticker: Option<JoinHandle<()>>,
}

impl Lines {
    pub fn new(log: Log, interval: Duration) -> Lines {
        if interval.is_zero() {
            return Lines {
                log,
                latest: None,
                stop: None,
                ticker: None,
            };
        }
        let latest: Latest = Arc::default();
        let (stop, stopped) = mpsc::channel::<()>();
        let seen = latest.clone();
        let ticker = std::thread::spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                let Some((p, at)) = *seen.lock().unwrap_or_else(|e| e.into_inner()) else {
                    continue;
                };
                // Once every run is done the summary follows; finishing and analyzing
                // the dataset are not runs to count.
                if p.runs_done < p.runs_total {
                    log.progress(&p, p.elapsed + at.elapsed());
                }
            }
        });
        Lines {
            log,
            latest: Some(latest),
            stop: Some(stop),
            ticker: Some(ticker),
        }
    }

    /// The callback for `RunOptions::on_progress` that feeds these lines.
    pub fn on_progress(&self) -> OnProgress {
        let log = self.log;
        match &self.latest {
            None => Arc::new(move |p: &Progress| log.progress(p, p.elapsed)),
            Some(latest) => {
                let latest = latest.clone();
                Arc::new(move |p: &Progress| {
                    *latest.lock().unwrap_or_else(|e| e.into_inner()) = Some((*p, Instant::now()));
                })
            }
        }
    }
}

impl Drop for Lines {
    /// Stops the ticker, so that no progress line follows the summary.
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}
