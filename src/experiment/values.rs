//! Readers of single values as written: a quantity in the dimension its key expects,
//! a name from a fixed set, a whole number; each error names the key and its place in
//! the file.

use super::raw::{Scalar, Q};
use super::spec::{Crossings, Method};
use crate::error::{did_you_mean, InputError, Location};
use crate::model::ModelKind;
use crate::units::{self, Dim};
use serde_saphyr::Spanned;

pub(super) fn loc<T>(s: &Spanned<T>) -> Option<Location> {
    let l = s.referenced;
    (l.line() > 0).then(|| Location {
        line: l.line(),
        column: l.column(),
    })
}

/// Read a quantity in the dimension its key expects.
pub(super) fn quantity(q: &Q, dim: Dim, key: &str) -> Result<f64, InputError> {
    let value = match &q.value {
        Scalar::Number(x) if dim == Dim::Angle => Ok(*x),
        Scalar::Number(x) => Err(units::UnitError::MissingUnit {
            text: x.to_string(),
            expected: dim.describe(),
        }),
        Scalar::Text(t) => units::parse(t, dim),
    };
    value.map_err(|e| {
        let hint = match e {
            units::UnitError::MissingUnit { .. } => format!(
                "write the unit after the number, e.g. \"{}\"",
                units::format(q.value.to_string().parse().unwrap_or(1.0), dim)
            ),
            units::UnitError::UnknownUnit { .. } => format!(
                "{key} expects {}; known prefixes G M k m u n p f",
                dim.describe()
            ),
            _ => format!("{key} expects {}", dim.describe()),
        };
        InputError::new(e.to_string())
            .key(key)
            .at(loc(q))
            .hint(hint)
    })
}

/// Read a name from a fixed set (model type, stimulus type, method).
pub(super) fn choose<T: Copy>(
    s: &Spanned<String>,
    key: &str,
    options: &[(&'static str, T)],
) -> Result<T, InputError> {
    if let Some((_, v)) = options.iter().find(|(n, _)| *n == s.value) {
        return Ok(*v);
    }
    let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
    let e = InputError::new(format!("unknown value '{}'", s.value))
        .key(key)
        .at(loc(s));
    Err(match did_you_mean(&s.value, &names) {
        Some(m) => e.hint(format!("did you mean '{m}'?")),
        None => e.hint(format!("allowed values: {}", names.join(", "))),
    })
}

/// Read a whole number of at least `min`.
pub(super) fn count(q: &Spanned<Scalar>, key: &str, min: u32) -> Result<u32, InputError> {
    let fail = |what: String| {
        InputError::new(what)
            .key(key)
            .at(loc(q))
            .hint(format!("{key} takes a whole number of at least {min}"))
    };
    match &q.value {
        Scalar::Number(x)
            if x.fract() == 0.0 && *x >= f64::from(min) && *x <= f64::from(u32::MAX) =>
        {
            Ok(*x as u32)
        }
        Scalar::Number(x) if x.fract() == 0.0 && *x < f64::from(min) => Err(fail(format!(
            "{key} must be at least {min} (got {})",
            units::number(*x)
        ))),
        Scalar::Number(x) if x.fract() == 0.0 => Err(InputError::new(format!(
            "{} is too large for {key}: the largest is {}",
            units::number(*x),
            u32::MAX
        ))
        .key(key)
        .at(loc(q))
        .hint(format!(
            "{key} takes a whole number from {min} to {}",
            u32::MAX
        ))),
        other => Err(fail(format!("'{other}' is not a whole number"))),
    }
}

pub(super) fn model_kind(s: &Spanned<String>, key: &str) -> Result<ModelKind, InputError> {
    let options: Vec<(&str, ModelKind)> = ModelKind::ALL.iter().map(|k| (k.name(), *k)).collect();
    choose(s, key, &options)
}

pub(super) fn method(s: &Spanned<String>, key: &str) -> Result<Method, InputError> {
    let options: Vec<(&str, Method)> = Method::ALL.iter().map(|m| (m.name(), *m)).collect();
    choose(s, key, &options)
}

pub(super) fn crossings(s: &Spanned<String>, key: &str) -> Result<Crossings, InputError> {
    let options: Vec<(&str, Crossings)> = Crossings::ALL.iter().map(|c| (c.name(), *c)).collect();
    choose(s, key, &options)
}
