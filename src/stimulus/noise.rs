//! `noise`: mean + a zero-mean noise current. Without `tau` it is white: over each
//! step of length dt the current is mean + sigma/√dt · ξ (Euler–Maruyama), sigma in
//! pA·√ms, so the integrated input statistics do not depend on dt. With `tau` it is
//! an Ornstein–Uhlenbeck current of stationary SD sigma (pA), advanced with its exact
//! update x ← x e^(−dt/τ) + sigma √(1 − e^(−2dt/τ)) ξ (Gillespie 1996, Phys. Rev. E
//! 54:2084). The engine draws it; `value` gives only the mean.

use super::{Extra, ExtraForm, Invalid, Key, Signal, StimulusDef, Values, Window};
use crate::units::Dim::*;
use std::sync::Arc;

pub static DEF: StimulusDef = StimulusDef {
    name: "noise",
    summary: "a white or Ornstein-Uhlenbeck noise current around a mean",
    keys: &[
        Key::default("mean", Current, 0.0, "the mean current"),
        Key::required(
            "sigma",
            NoiseIntensity,
            "white: the intensity (current × √time); with tau: the stationary SD",
        )
        .dim_with("tau", Current),
        Key::optional("tau", Time, "the correlation time; white noise if left out"),
    ],
    extras: &[Extra {
        name: "shared",
        form: ExtraForm::Flag,
        meaning: "one realisation for the whole population instead of one per neuron",
    }],
    validate,
    build,
};

fn validate(v: &Values) -> Result<(), Invalid> {
    let sigma = v.get("sigma");
    if sigma < 0.0 {
        return Err(Invalid::new(
            "sigma",
            format!("sigma must not be negative (got {sigma})"),
        ));
    }
    if v.opt("tau").is_some_and(|t| t <= 0.0) {
        return Err(
            Invalid::new("tau", "tau must be positive").hint("leave tau out for white noise")
        );
    }
    Ok(())
}

fn build(v: &Values) -> Arc<dyn Signal> {
    Arc::new(Noise {
        mean: v.get("mean"),
        sigma: v.get("sigma"),
        tau: v.opt("tau"),
        shared: v.flag("shared"),
    })
}

/// A noise current as the engine samples it.
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

impl Signal for Noise {
    fn steady(&self) -> bool {
        true
    }

    fn value(&self, _t: f64, _left: bool) -> f64 {
        self.mean
    }

    /// The mean; the engine adds the noise draws, held over each step.
    fn weighted(&self, _w: &Window) -> f64 {
        self.mean
    }

    fn noise(&self) -> Option<&Noise> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
