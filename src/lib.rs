//! neurodyn: single-neuron dynamics (LIF, EIF, AdEx) under parameter sweeps, written
//! to Parquet. The pipeline is load → plan → engine → store (DESIGN §1); each stage
//! is one module.

pub mod analysis;
pub mod check;
pub mod engine;
pub mod error;
pub mod experiment;
pub mod model;
pub mod plot;
pub mod report;
pub mod runner;
pub mod seed;
pub mod stimulus;
pub mod store;
pub mod units;
