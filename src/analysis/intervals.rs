//! The arithmetic of spike trains that both the statistics (`train`) and the pattern
//! classes (`patterns`) use: inter-spike intervals, their mean, SD and median, and
//! the window a train is looked at through.

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

/// Sample standard deviation (n − 1).
pub fn sd(x: &[f64]) -> Option<f64> {
    let m = mean(x)?;
    (x.len() >= 2)
        .then(|| (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt())
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
