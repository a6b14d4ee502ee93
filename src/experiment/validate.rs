//! Rules that relate a run's settings to each other beyond what each value's reader
//! checks: the step size against the model's time constants, positive quantities.

use crate::error::{InputError, Location};
use crate::model::{ModelKind, Params};
use crate::units::{self};

/// dt above τ/5 of the model's shortest time constant is an error (the step could not
/// follow the dynamics), above τ/20 a warning (coarse results).
pub(super) fn check_dt(
    kind: ModelKind,
    p: &Params,
    dt: (f64, &str),
    model_scope: &str,
    at: Option<Location>,
    warnings: &mut Vec<InputError>,
) -> Result<(), InputError> {
    let (dt, key) = dt;
    let tau = (kind.def().shortest_time_constant)(p);
    if dt > tau / 5.0 {
        return Err(InputError::new(format!(
            "dt {} ms is larger than a fifth of the shortest time constant of {model_scope} ({} ms)",
            units::number(dt),
            units::sig(tau, 4)
        ))
        .key(key.to_string())
        .at(at)
        .hint(format!(
            "use dt <= {} ms (tau/20 or less for accuracy)",
            units::sig(tau / 5.0, 4)
        )));
    }
    if dt > tau / 20.0 {
        let w = InputError::new(format!(
            "dt {} ms is larger than a twentieth of the shortest model time constant ({} ms); results will be coarse",
            units::number(dt),
            units::sig(tau, 4)
        ))
        .key("dt")
        .at(at)
        .hint(format!(
            "dt <= {} ms gives accurate integration",
            units::sig(tau / 20.0, 4)
        ));
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    }
    Ok(())
}

pub(super) fn positive(
    value: f64,
    key: &str,
    at: Option<Location>,
    unit: &str,
) -> Result<(), InputError> {
    if value > 0.0 {
        Ok(())
    } else {
        Err(InputError::new(format!(
            "{key} must be positive (got {} {unit})",
            units::number(value)
        ))
        .key(key)
        .at(at)
        .hint(format!("give {key} a value above 0 {unit}")))
    }
}
