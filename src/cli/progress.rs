//! The progress bar `run` draws on a terminal, fed by the runner's progress reports.

use crate::runner::{OnProgress, Progress};
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Arc;

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
