//! The tolerances `neurodyn check` applies, as an experiment's `check:` section sets
//! them (the plan reads them; the check module uses them).

use serde::{Deserialize, Serialize};

/// How far results may move before they count as different. A statistic passes when
/// |new − base| <= atol + rtol·|base| (in the column's own unit); a spike passes when
/// its partner is within `spike_tol` ms.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tolerances {
    pub rtol: f64,
    pub atol: f64,
    pub spike_tol_ms: f64,
}

impl Default for Tolerances {
    /// Tight enough to catch any change to the model or the integrator (a 1 % change
    /// of b moves spike times by far more than 1 µs), loose enough for the last-bit
    /// differences of exp() between C libraries, which move spike times by ~1e-12 ms.
    fn default() -> Self {
        Tolerances {
            rtol: 1e-6,
            atol: 1e-9,
            spike_tol_ms: 1e-3,
        }
    }
}
