//! Spike-train statistics of one neuron over an analysis window. Every statistic that
//! needs more spikes than the train has is None (a null in the tables), never NaN.
//! The ISI variability measures (`cv`, `cv2`, `lv`, `lvr`) carry Elephant's names and
//! definitions; their formulas and sources are in `intervals`.

pub use super::intervals::Window;
use super::intervals::{self, isis, mean, median, sd, LVR_R_MS};
use super::patterns::{self, Pattern};

/// The statistics of one spike train.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainStats {
    pub n_spikes: u64,
    pub rate_hz: f64,
    pub mean_isi_ms: Option<f64>,
    pub median_isi_ms: Option<f64>,
    /// SD/mean of the ISIs with the sample SD (n − 1); needs two ISIs. `cv` is the
    /// same ratio with the population SD (n), Elephant's: for N ISIs
    /// isi_cv_sample = cv · sqrt(N/(N − 1)), so the two differ most on short trains.
    pub isi_cv_sample: Option<f64>,
    /// SD/mean of the ISIs with the population SD (Elephant `cv` of `isi`, i.e.
    /// `scipy.stats.variation`); needs one ISI (one ISI gives 0).
    pub cv: Option<f64>,
    /// Holt et al. (1996) CV2 (Elephant `cv2`); needs two ISIs.
    pub cv2: Option<f64>,
    /// Shinomoto et al. (2003) local variation LV (Elephant `lv`); needs two ISIs.
    pub lv: Option<f64>,
    /// Shinomoto et al. (2009) revised local variation LvR with R = LVR_R_MS = 5 ms
    /// (Elephant `lvr` with its default R); needs two ISIs.
    pub lvr: Option<f64>,
    /// First spike at or after the onset, minus the onset.
    pub first_spike_latency_ms: Option<f64>,
    /// 1/ISI_1 of the window.
    pub onset_rate_hz: Option<f64>,
    /// 1/(mean of the window's last STEADY_ISIS ISIs).
    pub steady_state_rate_hz: Option<f64>,
    /// Mean of (ISI_{k+1} − ISI_k)/(ISI_{k+1} + ISI_k) (Naud et al. 2008; eFEL
    /// adaptation_index); needs two ISIs.
    pub adaptation_index: Option<f64>,
    pub pattern: Pattern,
}

/// How many of the last ISIs define the steady-state rate.
pub const STEADY_ISIS: usize = 3;

/// Statistics of a train (sorted spike times in ms) over `w`.
pub fn stats(spikes: &[f64], w: Window) -> TrainStats {
    let inside: Vec<f64> = spikes
        .iter()
        .copied()
        .filter(|&t| t >= w.start && t < w.stop)
        .collect();
    let isi = isis(&inside);
    let n = inside.len() as u64;
    let mean_isi = mean(&isi);
    let tail = &isi[isi.len().saturating_sub(STEADY_ISIS)..];
    let adaptation = (isi.len() >= 2).then(|| {
        let terms: Vec<f64> = isi
            .windows(2)
            .map(|p| (p[1] - p[0]) / (p[1] + p[0]))
            .collect();
        terms.iter().sum::<f64>() / terms.len() as f64
    });
    TrainStats {
        n_spikes: n,
        rate_hz: n as f64 / ((w.stop - w.start) / 1000.0),
        mean_isi_ms: mean_isi,
        median_isi_ms: median(&isi),
        isi_cv_sample: sd(&isi).zip(mean_isi).map(|(s, m)| s / m),
        cv: intervals::cv(&isi),
        cv2: intervals::cv2(&isi),
        lv: intervals::lv(&isi),
        lvr: intervals::lvr(&isi, LVR_R_MS),
        first_spike_latency_ms: spikes.iter().find(|&&t| t >= w.onset).map(|t| t - w.onset),
        onset_rate_hz: isi.first().map(|i| 1000.0 / i),
        steady_state_rate_hz: mean(tail).map(|m| 1000.0 / m),
        adaptation_index: adaptation,
        pattern: patterns::classify(spikes, w),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Window = Window {
        start: 0.0,
        stop: 1000.0,
        onset: 100.0,
    };

    #[test]
    fn regular_train() {
        let spikes: Vec<f64> = (0..10).map(|k| 110.0 + 50.0 * k as f64).collect();
        let s = stats(&spikes, W);
        assert_eq!(s.n_spikes, 10);
        assert_eq!(s.rate_hz, 10.0);
        assert_eq!(s.mean_isi_ms, Some(50.0));
        assert_eq!(s.median_isi_ms, Some(50.0));
        assert_eq!(s.isi_cv_sample, Some(0.0));
        assert_eq!(
            (s.cv, s.cv2, s.lv, s.lvr),
            (Some(0.0), Some(0.0), Some(0.0), Some(0.0))
        );
        assert_eq!(s.first_spike_latency_ms, Some(10.0));
        assert_eq!(s.onset_rate_hz, Some(20.0));
        assert_eq!(s.steady_state_rate_hz, Some(20.0));
        assert_eq!(s.adaptation_index, Some(0.0));
    }

    #[test]
    fn empty_and_single_spike_trains_give_nulls_not_nan() {
        let s = stats(&[], W);
        assert_eq!((s.n_spikes, s.rate_hz), (0, 0.0));
        assert!(s.mean_isi_ms.is_none() && s.isi_cv_sample.is_none());
        assert!(s.adaptation_index.is_none() && s.cv.is_none() && s.lvr.is_none());
        assert!(s.first_spike_latency_ms.is_none() && s.onset_rate_hz.is_none());
        let s = stats(&[150.0], W);
        assert_eq!(s.n_spikes, 1);
        assert_eq!(s.first_spike_latency_ms, Some(50.0));
        assert!(s.mean_isi_ms.is_none() && s.steady_state_rate_hz.is_none());
        assert!(s.cv.is_none() && s.cv2.is_none() && s.lv.is_none() && s.lvr.is_none());
    }

    #[test]
    fn minimum_spikes_of_each_variability_measure() {
        // Two spikes: one ISI. cv is Elephant's 0; the sample CV, cv2, lv and lvr need
        // two ISIs.
        let s = stats(&[100.0, 120.0], W);
        assert_eq!(s.cv, Some(0.0));
        assert!(s.isi_cv_sample.is_none() && s.cv2.is_none() && s.lv.is_none());
        assert!(s.lvr.is_none());
        // Three spikes: all defined.
        let s = stats(&[100.0, 110.0, 130.0], W);
        assert!(s.isi_cv_sample.is_some() && s.cv2.is_some() && s.lv.is_some());
        assert!(s.lvr.is_some());
    }

    #[test]
    fn sample_and_population_cv_differ_by_the_bessel_factor() {
        // ISIs 10, 20, 40 (N = 3): isi_cv_sample = cv · sqrt(3/2).
        let s = stats(&[100.0, 110.0, 130.0, 170.0], W);
        let (sample, pop) = (s.isi_cv_sample.unwrap(), s.cv.unwrap());
        assert!(
            (sample - pop * 1.5f64.sqrt()).abs() < 1e-12,
            "{sample} {pop}"
        );
        assert!(sample > pop);
    }

    #[test]
    fn only_the_windows_intervals_count() {
        // The ISI of 5 ms that straddles the window's start is not the window's.
        let w = Window {
            start: 200.0,
            stop: 1000.0,
            onset: 0.0,
        };
        let s = stats(&[195.0, 200.0, 220.0, 240.0, 260.0], w);
        assert_eq!((s.n_spikes, s.cv2, s.lv), (4, Some(0.0), Some(0.0)));
    }

    #[test]
    fn adaptation_index_of_lengthening_isis() {
        // ISIs 10, 20, 40: terms 1/3 and 1/3.
        let s = stats(&[100.0, 110.0, 130.0, 170.0], W);
        assert!((s.adaptation_index.unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.median_isi_ms, Some(20.0));
        assert!((s.steady_state_rate_hz.unwrap() - 1000.0 / (70.0 / 3.0)).abs() < 1e-9);
    }
}
