//! Sweep axes: lists and ranges of values for dotted parameter paths,
//! generated from integer counts and exact decimals, and the points of a grid (the
//! Cartesian product of its axes and zip groups).

use super::scalar::Scalar;
use crate::error::{InputError, Location};
use crate::units::{self, Decimal, Dim};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::borrow::Cow;
use std::fmt;

/// One axis as written: a list of values or a range.
#[derive(Debug, Clone)]
pub enum AxisRaw {
    List(Vec<Spanned<Scalar>>),
    Range(Box<RangeRaw>),
}

/// `{linspace: [from, to, n]}`, `{logspace: [from, to, n]}` or `{range: [from, to, step]}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeRaw {
    #[serde(default)]
    pub linspace: Option<(Spanned<Scalar>, Spanned<Scalar>, Spanned<Scalar>)>,
    #[serde(default)]
    pub logspace: Option<(Spanned<Scalar>, Spanned<Scalar>, Spanned<Scalar>)>,
    #[serde(default)]
    pub range: Option<(Spanned<Scalar>, Spanned<Scalar>, Spanned<Scalar>)>,
}

impl<'de> Deserialize<'de> for AxisRaw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AxisRaw;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                // A bracketed key in a flow map ({input[0].amplitude: ...}) is read by
                // YAML as a flow sequence, and ends up here: say how to write it.
                f.write_str("a list of values or {linspace|logspace|range: [from, to, n or step]} (inside {...}, quote keys with brackets: \"input[0].amplitude\")")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<AxisRaw, A::Error> {
                Vec::<Spanned<Scalar>>::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(AxisRaw::List)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<AxisRaw, A::Error> {
                RangeRaw::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|r| AxisRaw::Range(Box::new(r)))
            }
        }
        d.deserialize_any(V)
    }
}

/// Axes in the order written: `{path: axis, ...}`.
#[derive(Debug, Clone, Default)]
pub struct AxesRaw(pub Vec<(String, Spanned<AxisRaw>)>);

impl<'de> Deserialize<'de> for AxesRaw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        super::raw::ordered_map(d, "a map from dotted parameter paths to lists or ranges")
            .map(AxesRaw)
    }
}

/// Largest number of values one range may generate.
pub const MAX_AXIS: u64 = 10_000_000;

/// One expanded axis.
#[derive(Debug, Clone)]
pub struct Axis {
    pub path: String,
    /// Where the axis is declared, for error messages (e.g. `grid`, `variants[1].zip[0]`).
    pub scope: String,
    pub values: Values,
}

fn loc<T>(s: &Spanned<T>) -> Option<Location> {
    let l = s.referenced;
    (l.line() > 0).then(|| Location {
        line: l.line(),
        column: l.column(),
    })
}

fn range_error(key: &str, at: Option<Location>, message: String) -> InputError {
    InputError::new(message).key(key.to_string()).at(at).hint(
        "ranges: {linspace: [from, to, n]}, {logspace: [from, to, n]}, {range: [from, to, step]}",
    )
}

fn text(s: &Spanned<Scalar>) -> String {
    s.value.to_string()
}

/// The number of values an axis holds, computed without generating them.
pub fn axis_len(axis: &Spanned<AxisRaw>, key: &str) -> Result<u64, InputError> {
    let at = loc(axis);
    match &axis.value {
        AxisRaw::List(v) if v.is_empty() => {
            Err(InputError::new("an axis needs at least one value")
                .key(key.to_string())
                .at(at)
                .hint("give a list such as [0 pA, 100 pA] or a range"))
        }
        AxisRaw::List(v) => Ok(v.len() as u64),
        AxisRaw::Range(r) => match which(r, key, at)? {
            Kind::Lin(_, _, n) | Kind::Log(_, _, n) => count(n, key),
            Kind::Step(a, b, s) => {
                let (ia, ib, is, _, _) = step_integers(a, b, s, key, at)?;
                let n = (ib - ia) / is + 1;
                if n > i128::from(MAX_AXIS) {
                    return Err(range_error(
                        key,
                        at,
                        format!("the range has {n} values, more than {MAX_AXIS}"),
                    ));
                }
                u64::try_from(n).map_err(|_| overflow(key, at))
            }
        },
    }
}

/// A `range` on one integer grid: (from, to, step, exponent, dimension).
fn step_integers(
    a: &Spanned<Scalar>,
    b: &Spanned<Scalar>,
    s: &Spanned<Scalar>,
    key: &str,
    at: Option<Location>,
) -> Result<(i128, i128, i128, i32, Option<Dim>), InputError> {
    let (pa, pb, ps) = endpoints(a, b, s, key)?;
    let common = pa.0.exp.min(pb.0.exp).min(ps.0.exp);
    let scale = |d: Decimal| -> Result<i128, InputError> {
        u32::try_from(d.exp - common)
            .ok()
            .and_then(|k| 10i128.checked_pow(k))
            .and_then(|f| d.mantissa.checked_mul(f))
            .ok_or_else(|| overflow(key, at))
    };
    let (ia, ib, is) = (scale(pa.0)?, scale(pb.0)?, scale(ps.0)?);
    if is == 0 || (ib - ia).signum() * is.signum() < 0 {
        return Err(range_error(
            key,
            at,
            "the step must be non-zero and point from 'from' towards 'to'".into(),
        ));
    }
    Ok((ia, ib, is, common, pa.1))
}

fn overflow(key: &str, at: Option<Location>) -> InputError {
    range_error(
        key,
        at,
        "the range's numbers are too large to generate exactly".into(),
    )
}

enum Kind<'a> {
    Lin(
        &'a Spanned<Scalar>,
        &'a Spanned<Scalar>,
        &'a Spanned<Scalar>,
    ),
    Log(
        &'a Spanned<Scalar>,
        &'a Spanned<Scalar>,
        &'a Spanned<Scalar>,
    ),
    Step(
        &'a Spanned<Scalar>,
        &'a Spanned<Scalar>,
        &'a Spanned<Scalar>,
    ),
}

fn which<'a>(r: &'a RangeRaw, key: &str, at: Option<Location>) -> Result<Kind<'a>, InputError> {
    match (&r.linspace, &r.logspace, &r.range) {
        (Some((a, b, n)), None, None) => Ok(Kind::Lin(a, b, n)),
        (None, Some((a, b, n)), None) => Ok(Kind::Log(a, b, n)),
        (None, None, Some((a, b, s))) => Ok(Kind::Step(a, b, s)),
        _ => Err(range_error(
            key,
            at,
            "give exactly one of linspace, logspace or range".into(),
        )),
    }
}

fn count(n: &Spanned<Scalar>, key: &str) -> Result<u64, InputError> {
    match n.value {
        Scalar::Number(x) if x.fract() == 0.0 && x >= 1.0 && x <= MAX_AXIS as f64 => Ok(x as u64),
        _ => Err(range_error(
            key,
            loc(n),
            format!(
                "the count '{}' must be a whole number from 1 to {MAX_AXIS}",
                text(n)
            ),
        )),
    }
}

type Point = (Decimal, Option<Dim>);

fn quantity(q: &Spanned<Scalar>, key: &str) -> Result<Point, InputError> {
    units::decimal(&text(q)).map_err(|e| range_error(key, loc(q), format!("{e} in a range")))
}

fn endpoints(
    a: &Spanned<Scalar>,
    b: &Spanned<Scalar>,
    c: &Spanned<Scalar>,
    key: &str,
) -> Result<(Point, Point, Point), InputError> {
    let (pa, pb, pc) = (quantity(a, key)?, quantity(b, key)?, quantity(c, key)?);
    if pa.1 != pb.1 || pa.1 != pc.1 {
        return Err(range_error(
            key,
            loc(b),
            format!(
                "'{}', '{}' and '{}' must have the same dimension",
                text(a),
                text(b),
                text(c)
            ),
        ));
    }
    Ok((pa, pb, pc))
}

/// Write a value in engine units as the text the planner reads back.
fn written(value: f64, dim: Option<Dim>) -> Scalar {
    match dim {
        None => Scalar::Number(value),
        Some(d) => Scalar::Text(units::format(value, d)),
    }
}

/// How a range's k-th value is computed (see [`expand`]).
#[derive(Debug, Clone)]
pub(crate) enum Rule {
    /// (ia·den + (ib − ia)·k)/den · 10^e
    Lin {
        ia: i128,
        ib: i128,
        den: i128,
        e: i32,
    },
    /// from fa to fb evenly in logarithms, n values
    Log { fa: f64, fb: f64 },
    /// (ia + is·k) · 10^e
    Step { ia: i128, is: i128, e: i32 },
}

/// An axis's values: as listed, or a range computed value by value when asked for,
/// so that an axis of 10^7 values costs nothing until its points are resolved.
#[derive(Debug, Clone)]
pub enum Values {
    Listed(Vec<Spanned<Scalar>>),
    Range {
        rule: Rule,
        n: usize,
        dim: Option<Dim>,
        referenced: serde_saphyr::Location,
        defined: serde_saphyr::Location,
    },
}

impl Values {
    pub fn len(&self) -> usize {
        match self {
            Values::Listed(v) => v.len(),
            Values::Range { n, .. } => *n,
        }
    }

    /// Value `k` (< len), as the text the planner reads back.
    pub fn get(&self, k: usize) -> Cow<'_, Spanned<Scalar>> {
        let (rule, n, dim, referenced, defined) = match self {
            Values::Listed(v) => return Cow::Borrowed(&v[k]),
            Values::Range {
                rule,
                n,
                dim,
                referenced,
                defined,
            } => (rule, *n, *dim, *referenced, *defined),
        };
        // `expand` checked the largest k, so no product here overflows.
        let value = match *rule {
            Rule::Lin { ia, ib, den, e } => {
                Decimal::ratio_to_f64(ia * den + (ib - ia) * k as i128, den, e)
            }
            Rule::Log { fa, fb } => {
                if k == 0 {
                    fa
                } else if k + 1 == n {
                    fb
                } else {
                    // In logarithms, so that wide ranges do not overflow.
                    let x = (fa.ln() + (fb.ln() - fa.ln()) * k as f64 / (n - 1) as f64).exp();
                    format!("{x:.14e}").parse().unwrap_or(x)
                }
            }
            Rule::Step { ia, is, e } => Decimal::ratio_to_f64(ia + is * k as i128, 1, e),
        };
        Cow::Owned(Spanned {
            value: written(value, dim),
            referenced,
            defined,
        })
    }
}

/// An axis's values, checked. Linear ranges are computed as exact rationals of the
/// written decimals (value_k = (from·(n−1) + (to−from)·k)/(n−1)), so no value carries
/// float residue; logspace values are rounded to 15 significant digits. Range values
/// are computed when asked for ([`Values::get`]).
pub fn expand(axis: &Spanned<AxisRaw>, key: &str) -> Result<Values, InputError> {
    let n = axis_len(axis, key)?;
    let at = loc(axis);
    let r = match &axis.value {
        AxisRaw::List(v) => return Ok(Values::Listed(v.clone())),
        AxisRaw::Range(r) => r,
    };
    let last = n as i128 - 1;
    let (rule, dim) = match which(r, key, at)? {
        Kind::Lin(a, b, _) => {
            let (pa, pb) = (quantity(a, key)?, quantity(b, key)?);
            if pa.1 != pb.1 {
                return Err(range_error(
                    key,
                    at,
                    format!(
                        "'{}' and '{}' must have the same dimension",
                        text(a),
                        text(b)
                    ),
                ));
            }
            let (ia, ib, e) = pa.0.align(pb.0).ok_or_else(|| overflow(key, at))?;
            let den = i128::from(n.max(2) as u32) - 1;
            // The numerator is linear in k: if its ends fit, every value does.
            ia.checked_mul(den)
                .and_then(|x| (ib - ia).checked_mul(last).and_then(|y| x.checked_add(y)))
                .ok_or_else(|| overflow(key, at))?;
            (Rule::Lin { ia, ib, den, e }, pa.1)
        }
        Kind::Log(a, b, _) => {
            let (pa, pb) = (quantity(a, key)?, quantity(b, key)?);
            let fa = Decimal::ratio_to_f64(pa.0.mantissa, 1, pa.0.exp);
            let fb = Decimal::ratio_to_f64(pb.0.mantissa, 1, pb.0.exp);
            if pa.1 != pb.1 || fa <= 0.0 || fb <= 0.0 {
                return Err(range_error(
                    key,
                    at,
                    "logspace needs two positive values of the same dimension".into(),
                ));
            }
            (Rule::Log { fa, fb }, pa.1)
        }
        Kind::Step(a, b, s) => {
            let (ia, _, is, common, dim) = step_integers(a, b, s, key, at)?;
            is.checked_mul(last)
                .and_then(|x| x.checked_add(ia))
                .ok_or_else(|| overflow(key, at))?;
            (Rule::Step { ia, is, e: common }, dim)
        }
    };
    Ok(Values::Range {
        rule,
        n: n as usize,
        dim,
        referenced: axis.referenced,
        defined: axis.defined,
    })
}

/// A group of axes that advance together: one grid axis alone, or a zip group.
#[derive(Debug, Clone)]
pub struct Group {
    pub axes: Vec<Axis>,
}

impl Group {
    pub fn len(&self) -> usize {
        self.axes.first().map_or(1, |a| a.values.len())
    }
}

/// Every point of the product of `groups`, as (scope, path, value) overrides.
#[cfg(test)]
pub fn points(groups: &[Group]) -> Vec<Vec<Override<'_>>> {
    let mut out: Vec<Vec<Override<'_>>> = vec![Vec::new()];
    for g in groups {
        let mut next = Vec::with_capacity(out.len() * g.len());
        for prefix in &out {
            for k in 0..g.len() {
                let mut p = prefix.clone();
                for axis in &g.axes {
                    p.push((axis, axis.values.get(k)));
                }
                next.push(p);
            }
        }
        out = next;
    }
    out
}

/// One axis's value at a point of the sweep.
pub type Override<'a> = (&'a Axis, Cow<'a, Spanned<Scalar>>);

/// Points of the groups' product: the product of their lengths.
pub fn point_count(groups: &[Group]) -> usize {
    groups.iter().map(Group::len).product()
}

/// Point `k` of the groups' product, in the order of [`points`] (the last group
/// advances fastest), without building the others: a streamed plan finds any run's
/// point again from its index.
pub fn point_at(groups: &[Group], mut k: usize) -> Vec<Override<'_>> {
    let mut index = vec![0; groups.len()];
    for (g, slot) in groups.iter().zip(index.iter_mut()).rev() {
        *slot = k % g.len();
        k /= g.len();
    }
    groups
        .iter()
        .zip(index)
        .flat_map(|(g, i)| g.axes.iter().map(move |axis| (axis, axis.values.get(i))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(yaml: &str) -> Spanned<AxisRaw> {
        #[derive(Deserialize)]
        struct W {
            a: Spanned<AxisRaw>,
        }
        serde_saphyr::from_str::<W>(&format!("a: {yaml}\n"))
            .unwrap()
            .a
    }

    fn values(yaml: &str) -> Vec<String> {
        let v = expand(&axis(yaml), "a").unwrap();
        (0..v.len()).map(|k| v.get(k).value.to_string()).collect()
    }

    #[test]
    fn linspace_is_exact_and_mixes_prefixes() {
        let v = values("{linspace: [0 pA, 1 nA, 41]}");
        assert_eq!(v.len(), 41);
        assert_eq!(v[1], "25 pA");
        assert_eq!(v[40], "1000 pA");
        let v = values("{linspace: [0.1 ms, 0.3 ms, 3]}");
        assert_eq!(v, ["0.1 ms", "0.2 ms", "0.3 ms"]);
        let v = values("{linspace: [0 ms, 1 ms, 4]}");
        assert_eq!(v[1], format!("{} ms", 1.0 / 3.0));
    }

    #[test]
    fn range_and_logspace() {
        assert_eq!(
            values("{range: [0.1 nA, 0.3 nA, 0.1 nA]}"),
            ["100 pA", "200 pA", "300 pA"]
        );
        assert_eq!(
            values("{range: [0, 1, 0.25]}"),
            ["0", "0.25", "0.5", "0.75", "1"]
        );
        assert_eq!(
            values("{logspace: [1 ms, 100 ms, 3]}"),
            ["1 ms", "10 ms", "100 ms"]
        );
        assert!(expand(&axis("{range: [0 pA, 1 pA, -1 pA]}"), "a").is_err());
        let e = expand(&axis("{range: [0 pA, 1 nA, 1e-30 pA]}"), "a").unwrap_err();
        assert!(e.message.contains("more than"), "{}", e.message);
        let wide = values("{logspace: [1e-300 pA, 1e300 pA, 3]}");
        let parsed: Vec<f64> = wide
            .iter()
            .map(|v| crate::units::parse(v, Dim::Current).unwrap())
            .collect();
        assert_eq!(parsed, [1e-300, 1.0, 1e300]);
        assert!(expand(&axis("{linspace: [0 pA, 1 ms, 3]}"), "a").is_err());
        assert!(expand(&axis("{linspace: [0 pA, 1 pA, 0]}"), "a").is_err());
    }

    #[test]
    fn points_are_the_product_of_groups() {
        let mk = |path: &str, n: usize| Axis {
            path: path.into(),
            scope: "grid".into(),
            values: Values::Listed(
                (0..n)
                    .map(|k| Spanned {
                        value: Scalar::Number(k as f64),
                        referenced: serde_saphyr::Location::UNKNOWN,
                        defined: serde_saphyr::Location::UNKNOWN,
                    })
                    .collect(),
            ),
        };
        let groups = vec![
            Group {
                axes: vec![mk("a", 3)],
            },
            Group {
                axes: vec![mk("b", 2), mk("c", 2)],
            },
        ];
        let p = points(&groups);
        assert_eq!(p.len(), 6);
        assert!(p.iter().all(|pt| pt.len() == 3));
        // Any point is found again from its index alone.
        assert_eq!(point_count(&groups), 6);
        for (k, want) in p.iter().enumerate() {
            let got = point_at(&groups, k);
            let same = got.len() == want.len()
                && got
                    .iter()
                    .zip(want)
                    .all(|((a, x), (b, y))| std::ptr::eq(*a, *b) && x.value == y.value);
            assert!(same, "point {k}");
        }
        assert_eq!(point_at(&[], 0).len(), 0);
    }
}
