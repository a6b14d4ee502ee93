//! Firing-pattern classes after Naud, Marcille, Clopath & Gerstner (2008), Biol.
//! Cybern. 99:335: the response of a cell to a current step, told apart by its
//! onset (tonic, initial burst, delayed) and its steady state (tonic, adapting,
//! accelerating, bursting, irregular, transient). Each class has one rule on the
//! spike train, applied in this order; the thresholds were chosen on the eight cells
//! of the paper's Fig. 4 (experiments/naud2008.yaml, checked by a test), with margin.
//!
//! Let the stimulus period be [onset, window stop), L the first-spike latency, ISIs
//! those of the spikes in that period, "steady" ISIs those that start in its second
//! half (at least three: else the last half of the ISIs).
//!
//! 1. `silent`: no spike in the stimulus period.
//! 2. `transient`: no spike in the second half of the stimulus period.
//! 3. `unclassified`: fewer than four ISIs.
//! 4. `regular_bursting`: the sorted steady ISIs split at a gap of more than
//!    BURST_GAP × into short (intra-burst) and at least two long (inter-burst) ISIs;
//!    `delayed_regular_bursting` when also delayed (rule 6's test).
//! 5. `irregular`: steady ISI CV above IRREGULAR_CV.
//! 6. delayed: L > DELAY × the mean steady ISI.
//! 7. `initial_burst`: among the first three ISIs, one is followed by an ISI more than
//!    BURST_GAP × longer (a few fast spikes, then a much slower regular train).
//! 8. with r = mean of the last three ISIs / mean of the first two:
//!    `delayed_accelerating` (r < 1/ADAPT_RATIO and delayed; `accelerating` if not
//!    delayed), `adapting` (r > ADAPT_RATIO), else `tonic` (`delayed_tonic` if delayed).

use super::intervals::{isis, mean, sd, Window};

/// Short and long ISIs of a burster differ by more than this factor.
pub const BURST_GAP: f64 = 3.0;
/// Steady-state ISI CV above which a train is irregular.
pub const IRREGULAR_CV: f64 = 0.25;
/// A latency longer than this many steady ISIs is a delayed onset.
pub const DELAY: f64 = 2.5;
/// Late/early ISI ratio beyond which a train adapts (or, inverted, accelerates).
pub const ADAPT_RATIO: f64 = 1.5;

/// A firing-pattern class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    Silent,
    Transient,
    Unclassified,
    RegularBursting,
    DelayedRegularBursting,
    Irregular,
    InitialBurst,
    DelayedAccelerating,
    Accelerating,
    Adapting,
    Tonic,
    DelayedTonic,
}

impl Pattern {
    pub fn name(self) -> &'static str {
        match self {
            Pattern::Silent => "silent",
            Pattern::Transient => "transient",
            Pattern::Unclassified => "unclassified",
            Pattern::RegularBursting => "regular_bursting",
            Pattern::DelayedRegularBursting => "delayed_regular_bursting",
            Pattern::Irregular => "irregular",
            Pattern::InitialBurst => "initial_burst",
            Pattern::DelayedAccelerating => "delayed_accelerating",
            Pattern::Accelerating => "accelerating",
            Pattern::Adapting => "adapting",
            Pattern::Tonic => "tonic",
            Pattern::DelayedTonic => "delayed_tonic",
        }
    }
}

/// Classify a train (sorted spike times, ms) by the rules above.
pub fn classify(spikes: &[f64], w: Window) -> Pattern {
    let start = w.onset.max(w.start);
    let inside: Vec<f64> = spikes
        .iter()
        .copied()
        .filter(|&t| t >= start && t < w.stop)
        .collect();
    let Some(&first) = inside.first() else {
        return Pattern::Silent;
    };
    let half = start + 0.5 * (w.stop - start);
    if inside.last().is_some_and(|&t| t < half) {
        return Pattern::Transient;
    }
    let isi = isis(&inside);
    if isi.len() < 4 {
        return Pattern::Unclassified;
    }
    let mut steady: Vec<f64> = inside
        .windows(2)
        .filter(|p| p[0] >= half)
        .map(|p| p[1] - p[0])
        .collect();
    if steady.len() < 3 {
        steady = isi[isi.len() / 2..].to_vec();
    }
    let steady_mean = mean(&steady).unwrap_or(f64::INFINITY);
    let delayed = first - w.onset > DELAY * steady_mean;

    let mut sorted = steady.clone();
    sorted.sort_by(f64::total_cmp);
    let gap = sorted
        .windows(2)
        .enumerate()
        .max_by(|a, b| (a.1[1] / a.1[0]).total_cmp(&(b.1[1] / b.1[0])));
    if let Some((k, pair)) = gap {
        let long = sorted.len() - (k + 1);
        if pair[1] / pair[0] > BURST_GAP && long >= 2 {
            return if delayed {
                Pattern::DelayedRegularBursting
            } else {
                Pattern::RegularBursting
            };
        }
    }
    if sd(&steady).unwrap_or(0.0) / steady_mean > IRREGULAR_CV {
        return Pattern::Irregular;
    }
    if isi.windows(2).take(3).any(|p| p[1] > BURST_GAP * p[0]) {
        return Pattern::InitialBurst;
    }
    let early = mean(&isi[..2]).unwrap_or(f64::NAN);
    let late = mean(&isi[isi.len() - 3..]).unwrap_or(f64::NAN);
    let r = late / early;
    if r < 1.0 / ADAPT_RATIO {
        if delayed {
            Pattern::DelayedAccelerating
        } else {
            Pattern::Accelerating
        }
    } else if r > ADAPT_RATIO {
        Pattern::Adapting
    } else if delayed {
        Pattern::DelayedTonic
    } else {
        Pattern::Tonic
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Window = Window {
        start: 0.0,
        stop: 1000.0,
        onset: 0.0,
    };

    fn train(isis: &[f64], first: f64) -> Vec<f64> {
        let mut t = vec![first];
        for i in isis {
            t.push(t.last().unwrap() + i);
        }
        t
    }

    #[test]
    fn synthetic_trains_get_their_class() {
        assert_eq!(classify(&[], W), Pattern::Silent);
        assert_eq!(classify(&[20.0, 40.0], W), Pattern::Transient);
        assert_eq!(classify(&train(&[20.0; 40], 10.0), W), Pattern::Tonic);
        let adapting: Vec<f64> = (0..20)
            .map(|k| 10.0 + 5.0 * f64::from(k).min(10.0))
            .collect();
        assert_eq!(classify(&train(&adapting, 10.0), W), Pattern::Adapting);
        let mut bursts = Vec::new();
        for _ in 0..8 {
            bursts.extend([4.0, 5.0, 100.0]);
        }
        assert_eq!(classify(&train(&bursts, 10.0), W), Pattern::RegularBursting);
        let mut ib = vec![3.0, 4.0];
        ib.extend([60.0; 15]);
        assert_eq!(classify(&train(&ib, 5.0), W), Pattern::InitialBurst);
    }
}
