//! The arithmetic of spike trains that the statistics (`train`, and the run-level
//! Fano factor in `analysis`) and the pattern classes (`patterns`) use: inter-spike
//! intervals (ISIs), their mean, SDs and median, the ISI variability measures in
//! Elephant's definitions (CV, CV2, LV, LvR), the Fano factor of spike counts, and the
//! window a train is looked at through.
//!
//! The variability measures follow Elephant 1.2.1's `elephant.statistics` term by
//! term (its code, where its docstrings disagree: CV2 and LV average over the N − 1
//! pairs of N ISIs), so that a dataset's columns can be checked against Elephant
//! (`scripts/crosscheck_elephant.py`). Where Elephant raises or returns NaN these
//! return None (a null in the tables), and a result that is not finite (0/0, from
//! coincident spikes) is None too: the tables never hold NaN.

/// What is known about the run a train belongs to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    /// Analysis window [start, stop) in ms.
    pub start: f64,
    pub stop: f64,
    /// Stimulus onset in ms (first-spike latency is measured from here).
    pub onset: f64,
}

pub fn mean(x: &[f64]) -> Option<f64> {
    (!x.is_empty()).then(|| x.iter().sum::<f64>() / x.len() as f64)
}

/// Sample standard deviation (n − 1); needs two values.
pub fn sd(x: &[f64]) -> Option<f64> {
    let m = mean(x)?;
    (x.len() >= 2)
        .then(|| (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt())
}

/// Population variance (divided by n, numpy's default `ddof=0`), computed in two
/// passes as numpy does (mean, then the mean of squared deviations), which keeps
/// a tiny spread over a large mean exact where Σx² − n·m² would cancel.
pub fn variance_population(x: &[f64]) -> Option<f64> {
    let m = mean(x)?;
    mean(&x.iter().map(|v| (v - m) * (v - m)).collect::<Vec<_>>())
}

pub fn median(x: &[f64]) -> Option<f64> {
    if x.is_empty() {
        return None;
    }
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    })
}

/// ISIs of consecutive spikes.
pub fn isis(spikes: &[f64]) -> Vec<f64> {
    spikes.windows(2).map(|w| w[1] - w[0]).collect()
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Coefficient of variation of the ISIs I_1..I_N with the population SD:
/// CV = sqrt(Σ(I_i − Ī)²/N) / Ī. Elephant's `cv` is `scipy.stats.variation` (ddof 0)
/// applied to `isi(train)`; it needs one ISI (two spikes), and one ISI gives exactly 0,
/// as scipy does. (`isi_cv_sample`, the sample-SD version, needs two ISIs.)
pub fn cv(isi: &[f64]) -> Option<f64> {
    let m = mean(isi)?;
    finite(variance_population(isi)?.sqrt() / m)
}

/// The normalised differences of consecutive ISIs, (I_{i+1} − I_i)/(I_{i+1} + I_i),
/// i = 1..N−1, on which CV2, LV and LvR are built; None below two ISIs, where
/// Elephant raises (`with_nan=False`, its default) or returns NaN.
fn consecutive(isi: &[f64]) -> Option<Vec<f64>> {
    (isi.len() >= 2).then(|| {
        isi.windows(2)
            .map(|p| (p[1] - p[0]) / (p[0] + p[1]))
            .collect()
    })
}

/// CV2 = 2/(N−1) Σ_{i=1}^{N−1} |I_{i+1} − I_i|/(I_{i+1} + I_i)
/// (Holt, Softky, Koch & Douglas 1996, J Neurophysiol 75:1806; Elephant `cv2`).
/// 1 for a Poisson train, 0 for a regular one; needs two ISIs (three spikes).
pub fn cv2(isi: &[f64]) -> Option<f64> {
    let d = consecutive(isi)?;
    finite(2.0 * mean(&d.iter().map(|x| x.abs()).collect::<Vec<_>>())?)
}

/// LV = 3/(N−1) Σ_{i=1}^{N−1} ((I_i − I_{i+1})/(I_i + I_{i+1}))²
/// (Shinomoto, Shima & Tanji 2003, Neural Comput 15:2823; Elephant `lv`).
/// 1 for a Poisson train, 0 for a regular one; needs two ISIs (three spikes).
pub fn lv(isi: &[f64]) -> Option<f64> {
    let d = consecutive(isi)?;
    finite(3.0 * mean(&d.iter().map(|x| x * x).collect::<Vec<_>>())?)
}

/// The refractoriness constant R of LvR in ms: Elephant's default, the value
/// Shinomoto et al. (2009) found best across cortical areas.
pub const LVR_R_MS: f64 = 5.0;

/// LvR = 3/(N−1) Σ_{i=1}^{N−1} (1 − 4 I_i I_{i+1}/(I_i + I_{i+1})²)(1 + 4R/(I_i + I_{i+1}))
/// with R in ms (Shinomoto et al. 2009, PLoS Comput Biol 5:e1000433; Elephant `lvr`,
/// whose default R = 5 ms is `LVR_R_MS`). Needs two ISIs (three spikes).
pub fn lvr(isi: &[f64], r_ms: f64) -> Option<f64> {
    if isi.len() < 2 {
        return None;
    }
    let sum: f64 = isi
        .windows(2)
        .map(|p| {
            let t = p[0] + p[1];
            (1.0 - 4.0 * p[0] * p[1] / (t * t)) * (1.0 + 4.0 * r_ms / t)
        })
        .sum();
    finite(3.0 / (isi.len() - 1) as f64 * sum)
}

/// Fano factor of spike counts: F = Var(c)/mean(c), the variance over the counts
/// with ddof 0 (Elephant `fanofactor`; 1 for a Poisson process, 0 for identical
/// counts). None when the mean is 0 (every train silent, or no train): F is then 0/0,
/// the counts say nothing about variability, and Elephant returns NaN there.
pub fn fano_factor(counts: &[f64]) -> Option<f64> {
    let m = mean(counts)?;
    if m == 0.0 {
        return None;
    }
    finite(variance_population(counts)? / m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() <= 1e-12 * b.abs().max(1.0))
    }

    // The examples of Elephant 1.2.1's docstrings (intervals [0.3, 4.5, 6.7, 9.3],
    // read as ms), computed by Elephant: our code must give the same numbers.
    const ELEPHANT_EXAMPLE: [f64; 4] = [0.3, 4.5, 6.7, 9.3];

    #[test]
    fn cv2_and_lv_give_elephants_docstring_values() {
        assert!(close(cv2(&ELEPHANT_EXAMPLE), 0.8226190476190478));
        assert!(close(lv(&ELEPHANT_EXAMPLE), 0.8306154336734695));
    }

    #[test]
    fn lvr_gives_elephants_docstring_value() {
        // Elephant's example passes R = 0.005 without a unit, taken as ms.
        assert!(close(lvr(&ELEPHANT_EXAMPLE, 0.005), 0.833907445980624));
        // With R = 0 each term is 1 − 4ab/(a+b)² = ((a−b)/(a+b))², so LvR = LV.
        assert!(close(
            lvr(&ELEPHANT_EXAMPLE, 0.0),
            lv(&ELEPHANT_EXAMPLE).unwrap()
        ));
        // A larger R weighs short intervals up: LvR grows with R.
        assert!(lvr(&ELEPHANT_EXAMPLE, 5.0).unwrap() > lvr(&ELEPHANT_EXAMPLE, 0.005).unwrap());
    }

    #[test]
    fn cv_uses_the_population_sd() {
        // ISIs 1, 3: mean 2, population SD 1 (sample SD √2).
        assert_eq!(cv(&[1.0, 3.0]), Some(0.5));
        assert_eq!(sd(&[1.0, 3.0]), Some(2f64.sqrt()));
        // One ISI: scipy.stats.variation gives 0 (the SD of one value).
        assert_eq!(cv(&[7.0]), Some(0.0));
        assert_eq!(cv(&[]), None);
    }

    #[test]
    fn too_few_isis_give_none() {
        for f in [cv2, lv, |x: &[f64]| lvr(x, LVR_R_MS)] {
            assert_eq!(f(&[]), None);
            assert_eq!(f(&[10.0]), None);
            assert!(f(&[10.0, 20.0]).is_some());
        }
    }

    #[test]
    fn regular_train_has_zero_variability() {
        let isi = [25.0; 6];
        assert_eq!(cv(&isi), Some(0.0));
        assert_eq!(cv2(&isi), Some(0.0));
        assert_eq!(lv(&isi), Some(0.0));
        // LvR's refractory factor (1 + 4R/(2I)) only scales each term, and every
        // term 1 − 4I²/(2I)² is 0.
        assert_eq!(lvr(&isi, LVR_R_MS), Some(0.0));
    }

    #[test]
    fn alternating_intervals() {
        // ISIs alternating a, b: every term |b − a|/(a + b) = 1/3 for a = 10, b = 20.
        let isi = [10.0, 20.0, 10.0, 20.0, 10.0];
        assert!(close(cv2(&isi), 2.0 / 3.0));
        assert!(close(lv(&isi), 3.0 / 9.0));
        // (1 − 4·200/900)(1 + 20/30) · 3 = (1/9)(5/3)·3 = 5/9.
        assert!(close(lvr(&isi, 5.0), 5.0 / 9.0));
    }

    #[test]
    fn fano_factor_of_counts() {
        // Elephant's docstring example: counts 4 and 3, var 0.25, mean 3.5.
        assert!(close(fano_factor(&[4.0, 3.0]), 0.07142857142857142));
        assert_eq!(fano_factor(&[5.0, 5.0, 5.0]), Some(0.0));
        assert_eq!(fano_factor(&[0.0, 0.0]), None);
        assert_eq!(fano_factor(&[]), None);
        // ddof 0: counts 0, 2 have var 1 (not 2), mean 1.
        assert_eq!(fano_factor(&[0.0, 2.0]), Some(1.0));
    }
}
