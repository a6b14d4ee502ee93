//! What a plan will write, estimated before it runs: trace rows are known exactly,
//! spike rows only from a nominal rate. `plan` shows it; `run` warns on it and checks
//! it against free space.

use super::spec::RunSpec;

// Bytes per row of the traces/ and spikes/ part files as written (ZSTD level 1,
// dictionary-encoded ids, byte-stream-split floats, rows in (run, neuron, time) order).
// Measured by running one-run experiments of 200 neurons for 1 s at dt = 0.1 ms (rk4,
// `record: {variables: [...], neurons: all, every: 1}`, 2·10^6 trace rows each; the
// same bytes from any build) and dividing `du -b traces` by the rows:
//   AdEx, 500 pA step + white noise 100 pA*sqrt(ms) (README's example)
//     V, I, w 18.97 · V, I 13.18 · V, w 11.95 · V 6.16 · I 7.10 · w 5.86
//   AdEx, 400 pA + OU noise 100 pA, tau 5 ms: V, I, w 18.52 · V 6.12
//   LIF, 300 pA + white noise 200 pA*sqrt(ms): V 6.22
//   AdEx, 600 pA constant (regular spiking): V, I, w 9.93 · V, I 4.84 · V 4.83 · w 5.17
//   AdEx, spread 0-1 nA: V, I, w 10.80 · LIF, 1 nA constant: V 6.11, V, I, w 6.12
//   AdEx, 500 pA + 300 pA pulses: V, I 5.59 · EIF, 5 Hz sine: V, I 3.55 · V 2.57
//   LIF, 500 pA constant (silent, V settles): V 1.06
// and spike rows from 10^3 noise-driven neurons for 5 s, `du -b spikes` / spikes:
// AdEx 6.76 (84,786 spikes), LIF 6.33 (285,795); a regular LIF 3.9 (22,800).
// So noise makes I incompressible, V and w take ~5 bytes whenever they move, and
// the keys ~1. The estimate below matches noise-driven and spiking runs within
// ~15 % and over-estimates smooth or silent ones (up to 2x for the EIF sine, 6x for
// a settled LIF): the safe side for a free-space check. Each part file also has a
// few kB of footer, one pair per batch of ~4·10^6 neuron-steps, left out.
/// run_id, neuron and t_ms of a trace row.
pub const TRACE_KEY_BYTES: f64 = 1.0;
pub const TRACE_V_BYTES: f64 = 5.0;
/// I of a run with a noise input.
pub const TRACE_I_NOISE_BYTES: f64 = 7.0;
/// I of a run without noise: piecewise constant or smooth.
pub const TRACE_I_BYTES: f64 = 1.0;
/// w of a model with adaptation; a model without writes nulls, which take ~nothing.
pub const TRACE_W_BYTES: f64 = 5.5;
pub const SPIKE_ROW_BYTES: f64 = 6.5;

/// The firing rate spike bytes are estimated at: spike counts are unknown before the
/// runs, and a rough rate of cortical and driven model cells keeps spike-only runs of
/// large populations from passing as nothing. A run firing at 100 Hz writes 10 times
/// the spike bytes estimated.
pub const NOMINAL_RATE_HZ: f64 = 10.0;

/// What runs will write, estimated before they run: trace rows are known exactly,
/// spikes only by NOMINAL_RATE_HZ.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OutputEstimate {
    pub trace_rows: u64,
    pub trace_bytes: u64,
    /// Spikes at NOMINAL_RATE_HZ per neuron.
    pub spikes: u64,
    pub spike_bytes: u64,
}

/// One run's part of an [`OutputEstimate`], before rounding: what a plan keeps per
/// kind of run so that the estimate of any share of its runs is a sum.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EstimateShare {
    trace_rows: f64,
    trace_bytes: f64,
    spikes: f64,
}

impl EstimateShare {
    /// What `r` writes. f64 throughout: 10^10 steps of 4·10^9 neurons overflow u64
    /// products, and an estimate needs no more than f64's digits.
    pub fn of(r: &RunSpec) -> EstimateShare {
        let mut share = EstimateShare::default();
        if r.record.any() {
            let rows =
                r.steps.div_ceil(u64::from(r.record.every)) as f64 * r.record.neurons.len() as f64;
            let mut per_row = TRACE_KEY_BYTES;
            if r.record.v {
                per_row += TRACE_V_BYTES;
            }
            if r.record.i && r.input.noises().any(|n| n.sigma > 0.0) {
                per_row += TRACE_I_NOISE_BYTES;
            } else if r.record.i {
                per_row += TRACE_I_BYTES;
            }
            if r.record.w && r.model().has_w() {
                per_row += TRACE_W_BYTES;
            }
            share.trace_rows = rows;
            share.trace_bytes = rows * per_row;
        }
        share.spikes = f64::from(r.neurons) * r.duration / 1000.0 * NOMINAL_RATE_HZ;
        share
    }

    /// The bits of each part, so that runs of one kind can be told apart by hashing.
    pub fn bits(&self) -> [u64; 3] {
        [
            self.trace_rows.to_bits(),
            self.trace_bytes.to_bits(),
            self.spikes.to_bits(),
        ]
    }
}

impl OutputEstimate {
    /// The estimate for `runs` (a plan, one shard's share, or the runs left to do).
    pub fn of<'a>(runs: impl IntoIterator<Item = &'a RunSpec>) -> OutputEstimate {
        OutputEstimate::sum(runs.into_iter().map(EstimateShare::of))
    }

    /// The estimate of runs given by their shares. `as u64` saturates.
    pub fn sum(shares: impl IntoIterator<Item = EstimateShare>) -> OutputEstimate {
        let (mut trace_rows, mut trace_bytes, mut spikes) = (0.0, 0.0, 0.0);
        for s in shares {
            trace_rows += s.trace_rows;
            trace_bytes += s.trace_bytes;
            spikes += s.spikes;
        }
        OutputEstimate {
            trace_rows: trace_rows as u64,
            trace_bytes: trace_bytes as u64,
            spikes: spikes as u64,
            spike_bytes: (spikes * SPIKE_ROW_BYTES) as u64,
        }
    }

    pub fn bytes(&self) -> u64 {
        self.trace_bytes.saturating_add(self.spike_bytes)
    }

    /// Whether writing this much is fine, worth a warning, or more than `free` bytes.
    pub fn verdict(&self, free: Option<u64>) -> SizeVerdict {
        match free {
            Some(free) if self.bytes() > free => SizeVerdict::TooLarge { free },
            _ if self.bytes() > WARN_BYTES => SizeVerdict::Large,
            _ => SizeVerdict::Fine,
        }
    }
}

/// Above this estimate `run` warns before it starts.
pub const WARN_BYTES: u64 = 10_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeVerdict {
    Fine,
    /// More than WARN_BYTES.
    Large,
    /// More than the free space of the output's file system.
    TooLarge {
        free: u64,
    },
}
