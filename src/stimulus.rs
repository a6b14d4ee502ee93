//! Input currents (DESIGN §4): the deterministic waveforms as functions of time, and
//! the noise processes the engine samples once per step. A run's input is the sum of
//! its stimuli. Amplitudes are in pA, times in ms, frequencies in 1/ms.

use std::f64::consts::TAU;

/// One deterministic waveform or noise source, in engine units.
#[derive(Clone, Debug, PartialEq)]
pub enum Stimulus {
    /// I = amplitude.
    Constant { amplitude: f64 },
    /// amplitude on [start, stop), 0 elsewhere; no stop means until the end.
    Step {
        amplitude: f64,
        start: f64,
        stop: Option<f64>,
    },
    /// offset + amplitude·sin(2π f (t − start) + phase) for t >= start, 0 before.
    Sine {
        offset: f64,
        amplitude: f64,
        frequency: f64,
        phase: f64,
        start: f64,
    },
    /// Linear from `from` at `start` to `to` at `stop`; 0 outside [start, stop).
    Ramp {
        start: f64,
        stop: f64,
        from: f64,
        to: f64,
    },
    /// `count` pulses (unbounded when None) of `amplitude` and `width`, one every
    /// `period`, the first at `start`.
    Pulses {
        amplitude: f64,
        width: f64,
        period: f64,
        start: f64,
        count: Option<u32>,
    },
    /// mean + a zero-mean noise current (see [`Noise`]).
    Noise(Noise),
    /// A constant current spread evenly over the population: neuron k of n gets
    /// from + (to − from)·k/(n − 1), so one run holds a whole F-I sweep the way a
    /// Brian2 user writes `I = linspace(...)` over a NeuronGroup.
    Spread { from: f64, to: f64 },
}

/// A noise current. Without `tau` it is white: over each step of length dt the current
/// is mean + sigma/√dt · ξ (Euler–Maruyama), sigma in pA·√ms, so the integrated input
/// statistics do not depend on dt. With `tau` it is an Ornstein–Uhlenbeck current of
/// stationary SD sigma (pA), advanced with its exact update
/// x ← x e^(−dt/τ) + sigma √(1 − e^(−2dt/τ)) ξ (Gillespie 1996, Phys. Rev. E 54:2084).
#[derive(Clone, Debug, PartialEq)]
pub struct Noise {
    pub mean: f64,
    pub sigma: f64,
    pub tau: Option<f64>,
    /// One realisation for the whole population instead of one per neuron.
    pub shared: bool,
}

impl Noise {
    /// (decay, scale) of the per-step update for a step of `dt` ms.
    pub fn coefficients(&self, dt: f64) -> (f64, f64) {
        match self.tau {
            None => (0.0, self.sigma / dt.sqrt()),
            Some(tau) => {
                let decay = (-dt / tau).exp();
                (decay, self.sigma * (1.0 - decay * decay).sqrt())
            }
        }
    }

    /// The SD of the state drawn at t = 0: the stationary one for OU, none for white.
    pub fn initial_sd(&self) -> f64 {
        if self.tau.is_some() {
            self.sigma
        } else {
            0.0
        }
    }
}

impl Stimulus {
    /// The deterministic part of the current at time t (a noise source gives its mean).
    #[inline]
    pub fn at(&self, t: f64) -> f64 {
        self.value(t, false)
    }

    /// The left limit of the waveform at t: the value just before t. It differs from
    /// `at` only where the waveform jumps at t (a step, pulse or ramp edge, a sine's
    /// start).
    #[inline]
    pub fn before(&self, t: f64) -> f64 {
        self.value(t, true)
    }

    /// The value at t (right limit), or just before t (`left`).
    #[inline]
    fn value(&self, t: f64, left: bool) -> f64 {
        match *self {
            Stimulus::Constant { amplitude } => amplitude,
            Stimulus::Step {
                amplitude,
                start,
                stop,
            } => {
                if inside(t, start, stop, left) {
                    amplitude
                } else {
                    0.0
                }
            }
            Stimulus::Sine {
                offset,
                amplitude,
                frequency,
                phase,
                start,
            } => {
                if inside(t, start, None, left) {
                    offset + amplitude * (TAU * frequency * (t - start) + phase).sin()
                } else {
                    0.0
                }
            }
            Stimulus::Ramp {
                start,
                stop,
                from,
                to,
            } => {
                if inside(t, start, Some(stop), left) {
                    from + (to - from) * (t - start) / (stop - start)
                } else {
                    0.0
                }
            }
            Stimulus::Pulses {
                amplitude,
                width,
                period,
                start,
                count,
            } => {
                if !inside(t, start, None, left) {
                    return 0.0;
                }
                // The pulse whose interval [start + k·period, ...) holds t, or
                // (start + k·period, ...] for the left limit.
                let x = (t - start) / period;
                let k = if left { x.ceil() - 1.0 } else { x.floor() };
                let within = inside(t - start - k * period, 0.0, Some(width), left);
                let counted = count.is_none_or(|c| k < c as f64);
                if within && counted {
                    amplitude
                } else {
                    0.0
                }
            }
            Stimulus::Noise(ref n) => n.mean,
            // Per neuron, not a function of time: see `Input::bias`.
            Stimulus::Spread { .. } => 0.0,
        }
    }

    /// Where the waveform switches on, for first-spike latency (None if always on).
    pub fn onset(&self) -> Option<f64> {
        match *self {
            Stimulus::Step { start, .. }
            | Stimulus::Sine { start, .. }
            | Stimulus::Ramp { start, .. }
            | Stimulus::Pulses { start, .. } => Some(start),
            Stimulus::Constant { .. } | Stimulus::Noise(_) | Stimulus::Spread { .. } => None,
        }
    }
}

/// Whether t lies in [a, b), or in (a, b] for a left limit; no b means no end.
#[inline]
fn inside(t: f64, a: f64, b: Option<f64>, left: bool) -> bool {
    if left {
        t > a && b.is_none_or(|b| t <= b)
    } else {
        t >= a && b.is_none_or(|b| t < b)
    }
}

/// A run's whole input: the sum of its stimuli.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Input {
    pub stimuli: Vec<Stimulus>,
}

impl Input {
    /// The deterministic current at time t, noise means included.
    #[inline]
    pub fn at(&self, t: f64) -> f64 {
        self.stimuli.iter().map(|s| s.at(t)).sum()
    }

    /// The deterministic current just before t (see [`Stimulus::before`]).
    #[inline]
    pub fn before(&self, t: f64) -> f64 {
        self.stimuli.iter().map(|s| s.before(t)).sum()
    }

    /// The constant per-neuron part of the current of neuron k in a population of n
    /// (the `spread` stimuli), in pA.
    pub fn bias(&self, k: u32, n: u32) -> f64 {
        let x = if n > 1 {
            f64::from(k) / f64::from(n - 1)
        } else {
            0.0
        };
        self.stimuli
            .iter()
            .map(|s| match *s {
                Stimulus::Spread { from, to } => from + (to - from) * x,
                _ => 0.0,
            })
            .sum()
    }

    /// The noise sources, in input order.
    pub fn noises(&self) -> impl Iterator<Item = &Noise> {
        self.stimuli.iter().filter_map(|s| match s {
            Stimulus::Noise(n) => Some(n),
            _ => None,
        })
    }

    /// Stimulus onset: the earliest switch-on time, or 0 for inputs that are always on.
    pub fn onset(&self) -> f64 {
        let onsets: Vec<Option<f64>> = self.stimuli.iter().map(Stimulus::onset).collect();
        if onsets.iter().any(Option::is_none) || onsets.is_empty() {
            0.0
        } else {
            onsets.into_iter().flatten().fold(f64::INFINITY, f64::min)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waveforms() {
        let step = Stimulus::Step {
            amplitude: 5.0,
            start: 10.0,
            stop: Some(20.0),
        };
        assert_eq!(
            [9.9, 10.0, 19.9, 20.0].map(|t| step.at(t)),
            [0.0, 5.0, 5.0, 0.0]
        );
        let sine = Stimulus::Sine {
            offset: 70.0,
            amplitude: 5.0,
            frequency: 0.01,
            phase: 0.0,
            start: 0.0,
        };
        assert!((sine.at(25.0) - 75.0).abs() < 1e-12);
        assert!((sine.at(75.0) - 65.0).abs() < 1e-12);
        let ramp = Stimulus::Ramp {
            start: 0.0,
            stop: 10.0,
            from: 0.0,
            to: 100.0,
        };
        assert_eq!(ramp.at(2.5), 25.0);
        assert_eq!(ramp.at(10.0), 0.0);
        let pulses = Stimulus::Pulses {
            amplitude: 1.0,
            width: 2.0,
            period: 10.0,
            start: 5.0,
            count: Some(2),
        };
        let on: Vec<f64> = [4.0, 5.0, 6.9, 7.0, 15.5, 25.5]
            .map(|t| pulses.at(t))
            .to_vec();
        assert_eq!(on, vec![0.0, 1.0, 1.0, 0.0, 1.0, 0.0]);
        // Left limits: the old value at each edge, the same value elsewhere.
        assert_eq!(
            [10.0, 15.0, 20.0, 20.1].map(|t| step.before(t)),
            [0.0, 5.0, 5.0, 0.0]
        );
        assert_eq!(sine.before(0.0), 0.0);
        assert!((sine.before(25.0) - sine.at(25.0)).abs() < 1e-12);
        assert_eq!([0.0, 10.0].map(|t| ramp.before(t)), [0.0, 100.0]);
        let left: Vec<f64> = [5.0, 7.0, 7.1, 15.0, 15.5, 25.5]
            .map(|t| pulses.before(t))
            .to_vec();
        assert_eq!(left, vec![0.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn sums_and_onset() {
        let input = Input {
            stimuli: vec![
                Stimulus::Constant { amplitude: 55.0 },
                Stimulus::Step {
                    amplitude: 20.0,
                    start: 40.0,
                    stop: None,
                },
            ],
        };
        assert_eq!(input.at(39.0), 55.0);
        assert_eq!(input.at(40.0), 75.0);
        assert_eq!(input.onset(), 0.0);
        let delayed = Input {
            stimuli: vec![Stimulus::Step {
                amplitude: 1.0,
                start: 100.0,
                stop: None,
            }],
        };
        assert_eq!(delayed.onset(), 100.0);
        let spread = Input {
            stimuli: vec![Stimulus::Spread {
                from: 500.0,
                to: 1000.0,
            }],
        };
        assert_eq!(
            [0, 5, 10].map(|k| spread.bias(k, 11)),
            [500.0, 750.0, 1000.0]
        );
        assert_eq!(spread.bias(0, 1), 500.0);
        assert_eq!(spread.at(3.0), 0.0);
    }

    #[test]
    fn ou_coefficients_keep_the_stationary_variance() {
        let n = Noise {
            mean: 0.0,
            sigma: 3.0,
            tau: Some(5.0),
            shared: false,
        };
        let (d, s) = n.coefficients(0.1);
        // Var stays sigma² under x <- d x + s ξ when x starts stationary.
        assert!((d * d * 9.0 + s * s - 9.0).abs() < 1e-12);
    }
}
