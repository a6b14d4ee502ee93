//! The subcommands, one module each, and what they share: the error-to-exit-code
//! mapping (`failure`), shard selection, experiment loading, the output-size check
//! and the progress bar.

pub mod analyze;
pub mod check;
pub mod failure;
pub mod models;
pub mod plan;
pub mod plot;
pub mod report;
pub mod run;
pub mod status;

mod experiment;
mod output_size;
mod progress;
mod shard;
