//! Quantities with units: parsing "10 ms" or "0.5 nA", checking the dimension a key
//! expects, and converting to the engine's unit set (ms, mV, pA, pF, nS; see
//! docs/ARCHITECTURE.md) and from it to the output tables' (Hz and MOhm in place of
//! kHz and GOhm).
//!
//! Conversions shift the decimal exponent of the written number before it becomes an
//! f64, so "0.5 nA" is exactly 500 pA, "0.1 ms" is the same double as 0.1, and a
//! frequency of 0.02 kHz goes into a table as 20.0 Hz.

use std::fmt;

/// The physical dimension a parameter expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dim {
    Time,
    Voltage,
    Current,
    Capacitance,
    Conductance,
    /// The gain k of a quadratic current k (V − V_r)(V − V_t): a conductance per
    /// voltage (nS/mV, the same as pA/mV²).
    ConductancePerVoltage,
    Resistance,
    Frequency,
    /// Intensity of white-noise current: current × √time (pA·√ms internally).
    NoiseIntensity,
    /// A plain number (phase in rad).
    Angle,
}

impl Dim {
    /// The engine's unit for this dimension, as written in column names.
    pub fn unit(self) -> &'static str {
        match self {
            Dim::Time => "ms",
            Dim::Voltage => "mV",
            Dim::Current => "pA",
            Dim::Capacitance => "pF",
            Dim::Conductance => "nS",
            Dim::ConductancePerVoltage => "nS_per_mV",
            Dim::Resistance => "GOhm",
            Dim::Frequency => "kHz",
            Dim::NoiseIntensity => "pA_sqrt_ms",
            Dim::Angle => "rad",
        }
    }

    /// The unit of this dimension in the output tables (column names, the `unit`
    /// field metadata, the values): Hz for frequencies and MOhm for resistances,
    /// the units papers quote them in (a 20 Hz sine, a 100 MOhm membrane), the
    /// engine unit otherwise. README.md, "Output", lists the set.
    pub fn table_unit(self) -> &'static str {
        match self {
            Dim::Frequency => "Hz",
            Dim::Resistance => "MOhm",
            other => other.unit(),
        }
    }

    /// Decimal exponent of the engine unit relative to the table unit.
    fn table_shift(self) -> i32 {
        match self {
            // 1 kHz = 10^3 Hz, 1 GOhm = 10^3 MOhm.
            Dim::Frequency | Dim::Resistance => 3,
            _ => 0,
        }
    }

    /// A value in the engine unit expressed in the table unit, by moving the decimal
    /// exponent of its shortest decimal text, so 0.0041 kHz is exactly 4.1 Hz (a
    /// multiplication by 1000 gives 4.1000000000000005).
    pub fn to_table(self, value: f64) -> f64 {
        shift_f64(value, self.table_shift())
    }

    /// A value in the table unit back in the engine unit, the same way.
    pub fn from_table(self, value: f64) -> f64 {
        shift_f64(value, -self.table_shift())
    }

    /// A human name with an example, for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Dim::Time => "a time, e.g. \"10 ms\" or \"1 s\"",
            Dim::Voltage => "a voltage, e.g. \"-70 mV\"",
            Dim::Current => "a current, e.g. \"500 pA\" or \"0.5 nA\"",
            Dim::Capacitance => "a capacitance, e.g. \"281 pF\"",
            Dim::Conductance => "a conductance, e.g. \"30 nS\"",
            Dim::ConductancePerVoltage => "a conductance per voltage, e.g. \"0.7 nS/mV\"",
            Dim::Resistance => "a resistance, e.g. \"1 MOhm\"",
            Dim::Frequency => "a frequency, e.g. \"5 Hz\"",
            Dim::NoiseIntensity => "a noise intensity, e.g. \"25 pA*sqrt(ms)\"",
            Dim::Angle => "an angle in rad, e.g. 0 or \"1.57 rad\"",
        }
    }

    /// SI base symbol and the decimal exponent of the engine unit relative to it.
    fn base(self) -> Option<(&'static str, i32)> {
        Some(match self {
            Dim::Time => ("s", -3),
            Dim::Voltage => ("V", -3),
            Dim::Current => ("A", -12),
            Dim::Capacitance => ("F", -12),
            Dim::Conductance => ("S", -9),
            Dim::Resistance => ("Ohm", 9),
            Dim::Frequency => ("Hz", 3),
            Dim::NoiseIntensity | Dim::Angle | Dim::ConductancePerVoltage => return None,
        })
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Dim::Time => "time",
            Dim::Voltage => "voltage",
            Dim::Current => "current",
            Dim::Capacitance => "capacitance",
            Dim::Conductance => "conductance",
            Dim::ConductancePerVoltage => "conductance per voltage",
            Dim::Resistance => "resistance",
            Dim::Frequency => "frequency",
            Dim::NoiseIntensity => "noise intensity",
            Dim::Angle => "angle",
        };
        f.write_str(name)
    }
}

/// Why a written quantity could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UnitError {
    #[error("'{text}' is not a number followed by a unit")]
    NotANumber { text: String },
    #[error("'{text}' has no unit; {expected} was expected")]
    MissingUnit {
        text: String,
        expected: &'static str,
    },
    #[error("unknown unit '{unit}' in '{text}'")]
    UnknownUnit { text: String, unit: String },
    #[error("'{text}' is a {found}, but {expected} was expected")]
    WrongDimension {
        text: String,
        found: String,
        expected: &'static str,
    },
    #[error("'{text}' is not finite")]
    NotFinite { text: String },
}

const PREFIXES: &[(&str, i32)] = &[
    ("G", 9),
    ("M", 6),
    ("k", 3),
    ("m", -3),
    ("u", -6),
    ("µ", -6),
    ("μ", -6),
    ("n", -9),
    ("p", -12),
    ("f", -15),
];

const ALL_DIMS: [Dim; 7] = [
    Dim::Time,
    Dim::Voltage,
    Dim::Current,
    Dim::Capacitance,
    Dim::Conductance,
    Dim::Resistance,
    Dim::Frequency,
];

/// Resolve a unit symbol such as "nA" or "MOhm" to its dimension and the decimal
/// exponent that takes a number in that unit to the engine unit.
fn lookup(symbol: &str) -> Option<(Dim, i32)> {
    if let Some((numerator, denominator)) = symbol.split_once('/') {
        return ratio(numerator.trim(), denominator.trim());
    }
    let symbol = symbol.replace('Ω', "Ohm");
    for dim in ALL_DIMS {
        let (base, engine_exp) = dim.base()?;
        if symbol == base {
            return Some((dim, -engine_exp));
        }
        if let Some(prefix) = symbol.strip_suffix(base) {
            if let Some((_, p)) = PREFIXES.iter().find(|(s, _)| *s == prefix) {
                return Some((dim, p - engine_exp));
            }
        }
    }
    None
}

/// The units written as a quotient: a rate "1/ms" or "/ms" (a frequency: rates of
/// kinetic models are quoted per time unit, not in Hz) and a conductance per voltage
/// "nS/mV". The shift is the numerator's minus the denominator's.
fn ratio(numerator: &str, denominator: &str) -> Option<(Dim, i32)> {
    if denominator.contains('/') {
        return None;
    }
    let (below, below_shift) = lookup(denominator)?;
    match (numerator, below) {
        ("" | "1", Dim::Time) => Some((Dim::Frequency, -below_shift)),
        (_, Dim::Voltage) => match lookup(numerator)? {
            (Dim::Conductance, above_shift) => {
                Some((Dim::ConductancePerVoltage, above_shift - below_shift))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Parse a decimal number and multiply it by 10^shift without rounding in between.
fn shifted(number: &str, shift: i32) -> Option<f64> {
    let valid = !number.is_empty()
        && number
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    if !valid {
        return None;
    }
    let (mantissa, exp) = match number.find(['e', 'E']) {
        Some(i) => (&number[..i], number[i + 1..].parse::<i32>().ok()?),
        None => (number, 0),
    };
    mantissa.parse::<f64>().ok()?;
    format!("{mantissa}e{}", exp.checked_add(shift)?)
        .parse::<f64>()
        .ok()
}

/// `value` × 10^shift through its shortest decimal text (the text `{:e}` writes,
/// which reads back to the same f64), so the digits the value was written with
/// stay as they are. Zero, NaN and infinities pass unchanged.
fn shift_f64(value: f64, shift: i32) -> f64 {
    if shift == 0 || value == 0.0 || !value.is_finite() {
        return value;
    }
    shifted(&format!("{value:e}"), shift).unwrap_or(value)
}

/// Which unit set values are written in: the engine's (run keys, messages about
/// engine values) or the output tables' (`Dim::table_unit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitSet {
    Engine,
    Table,
}

impl UnitSet {
    /// The unit of `dim` in this set, as written in column names.
    pub fn unit(self, dim: Dim) -> &'static str {
        match self {
            UnitSet::Engine => dim.unit(),
            UnitSet::Table => dim.table_unit(),
        }
    }

    /// `value`, in the engine unit of `dim`, expressed in this set.
    pub fn value(self, dim: Dim, value: f64) -> f64 {
        match self {
            UnitSet::Engine => value,
            UnitSet::Table => dim.to_table(value),
        }
    }
}

/// Split "10 ms", "10ms" or "-70.6 mV" into number and unit text.
fn split(text: &str) -> (&str, &str) {
    let t = text.trim();
    let mut end = 0;
    for (i, c) in t.char_indices() {
        let exp_sign = matches!(c, '-' | '+') && i > 0 && t[..i].ends_with(['e', 'E']);
        let exp_mark = matches!(c, 'e' | 'E')
            && t[i + 1..]
                .chars()
                .next()
                .is_some_and(|n| n.is_ascii_digit() || n == '-' || n == '+');
        if c.is_ascii_digit()
            || c == '.'
            || (i == 0 && matches!(c, '-' | '+'))
            || exp_sign
            || exp_mark
        {
            end = i + c.len_utf8();
        } else {
            break;
        }
    }
    (&t[..end], t[end..].trim())
}

/// Parse a quantity written as text and express it in the engine unit of `dim`.
pub fn parse(text: &str, dim: Dim) -> Result<f64, UnitError> {
    let (number, unit) = split(text);
    if number.is_empty() {
        return Err(UnitError::NotANumber { text: text.into() });
    }
    let value = match dim {
        Dim::Angle => parse_angle(text, number, unit)?,
        Dim::NoiseIntensity => parse_noise(text, number, unit)?,
        _ => {
            if unit.is_empty() {
                return Err(UnitError::MissingUnit {
                    text: text.into(),
                    expected: dim.describe(),
                });
            }
            let (found, shift) = lookup(unit).ok_or_else(|| UnitError::UnknownUnit {
                text: text.into(),
                unit: unit.into(),
            })?;
            if found != dim {
                return Err(UnitError::WrongDimension {
                    text: text.into(),
                    found: found.to_string(),
                    expected: dim.describe(),
                });
            }
            shifted(number, shift).ok_or_else(|| UnitError::NotANumber { text: text.into() })?
        }
    };
    if !value.is_finite() {
        return Err(UnitError::NotFinite { text: text.into() });
    }
    Ok(value)
}

fn parse_angle(text: &str, number: &str, unit: &str) -> Result<f64, UnitError> {
    let value = shifted(number, 0).ok_or_else(|| UnitError::NotANumber { text: text.into() })?;
    match unit {
        "" | "rad" => Ok(value),
        "deg" => Ok(value.to_radians()),
        other => Err(match lookup(other) {
            Some((found, _)) => UnitError::WrongDimension {
                text: text.into(),
                found: found.to_string(),
                expected: Dim::Angle.describe(),
            },
            None => UnitError::UnknownUnit {
                text: text.into(),
                unit: other.into(),
            },
        }),
    }
}

/// "25 pA*sqrt(ms)", "25 pA·√ms" or "25 pA sqrt(ms)": a current unit times the square
/// root of a time unit. Returns the decimal shifts of the current and the time unit.
fn noise_shifts(text: &str, unit: &str) -> Result<(i32, i32), UnitError> {
    if unit.is_empty() {
        return Err(UnitError::MissingUnit {
            text: text.into(),
            expected: Dim::NoiseIntensity.describe(),
        });
    }
    let compact: String = unit.chars().filter(|c| !c.is_whitespace()).collect();
    let unknown = || UnitError::UnknownUnit {
        text: text.into(),
        unit: unit.into(),
    };
    let (current, time) = ["*sqrt(", "·sqrt(", "sqrt("]
        .iter()
        .find_map(|sep| {
            let (c, rest) = compact.split_once(sep)?;
            Some((c.to_string(), rest.strip_suffix(')')?.to_string()))
        })
        .or_else(|| {
            ["*√", "·√", "√"].iter().find_map(|sep| {
                let (c, t) = compact.split_once(sep)?;
                Some((c.to_string(), t.to_string()))
            })
        })
        .ok_or_else(|| match lookup(unit) {
            Some((found, _)) => UnitError::WrongDimension {
                text: text.into(),
                found: found.to_string(),
                expected: Dim::NoiseIntensity.describe(),
            },
            None => unknown(),
        })?;
    let (cdim, cshift) = lookup(&current).ok_or_else(unknown)?;
    let (tdim, tshift) = lookup(&time).ok_or_else(unknown)?;
    if cdim != Dim::Current || tdim != Dim::Time {
        return Err(UnitError::WrongDimension {
            text: text.into(),
            found: format!("{cdim}·√{tdim}"),
            expected: Dim::NoiseIntensity.describe(),
        });
    }
    Ok((cshift, tshift))
}

fn parse_noise(text: &str, number: &str, unit: &str) -> Result<f64, UnitError> {
    let (cshift, tshift) = noise_shifts(text, unit)?;
    let value =
        shifted(number, cshift).ok_or_else(|| UnitError::NotANumber { text: text.into() })?;
    Ok(value * 10f64.powi(tshift).sqrt())
}

/// An exact decimal number: mantissa × 10^exp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decimal {
    pub mantissa: i128,
    pub exp: i32,
}

impl Decimal {
    /// Parse "-70.6", "1e-3" or "2.5E2" without rounding.
    pub fn parse(number: &str) -> Option<Decimal> {
        let (mant, exp) = match number.find(['e', 'E']) {
            Some(i) => (&number[..i], number[i + 1..].parse::<i32>().ok()?),
            None => (number, 0),
        };
        let (neg, digits) = match mant.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, mant.strip_prefix('+').unwrap_or(mant)),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() && frac.is_empty()
            || !(int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()))
        {
            return None;
        }
        let all: String = format!("{int}{frac}");
        let trimmed = all.trim_start_matches('0');
        if trimmed.len() > 30 {
            return None;
        }
        let m: i128 = if trimmed.is_empty() {
            0
        } else {
            trimmed.parse().ok()?
        };
        Some(Decimal {
            mantissa: if neg { -m } else { m },
            exp: exp.checked_sub(i32::try_from(frac.len()).ok()?)?,
        })
    }

    /// Mantissas of `self` and `other` on a common exponent.
    pub fn align(self, other: Decimal) -> Option<(i128, i128, i32)> {
        let e = self.exp.min(other.exp);
        let scale = |d: Decimal| -> Option<i128> {
            let k = u32::try_from(d.exp - e).ok()?;
            d.mantissa.checked_mul(10i128.checked_pow(k)?)
        };
        Some((scale(self)?, scale(other)?, e))
    }

    /// numerator / denominator × 10^exp as the nearest f64, via a decimal string of 30
    /// significant digits (exact when the quotient is a terminating decimal).
    pub fn ratio_to_f64(numerator: i128, denominator: i128, exp: i32) -> f64 {
        let neg = (numerator < 0) != (denominator < 0) && numerator != 0;
        let (n, d) = (numerator.unsigned_abs(), denominator.unsigned_abs());
        let mut digits = (n / d).to_string();
        let mut r = n % d;
        let mut frac = String::new();
        while r != 0 && digits.len() + frac.len() < 40 {
            r *= 10;
            frac.push(char::from(b'0' + (r / d) as u8));
            r %= d;
        }
        if !frac.is_empty() {
            digits = format!("{digits}.{frac}");
        }
        let text = format!("{}{digits}e{exp}", if neg { "-" } else { "" });
        text.parse().unwrap_or(f64::NAN)
    }
}

/// A quantity as an exact decimal in engine units, and its dimension (None for a bare
/// number). Used for ranges, so that generated values carry no float residue.
pub fn decimal(text: &str) -> Result<(Decimal, Option<Dim>), UnitError> {
    let (number, unit) = split(text);
    let d = Decimal::parse(number).ok_or_else(|| UnitError::NotANumber { text: text.into() })?;
    if unit.is_empty() {
        return Ok((d, None));
    }
    let (dim, shift) = match lookup(unit) {
        Some((dim, shift)) => (dim, shift),
        None => {
            let (c, t) = noise_shifts(text, unit)?;
            if t % 2 != 0 {
                return Err(UnitError::UnknownUnit {
                    text: text.into(),
                    unit: format!("{unit} (ranges need the time under the root in ms, us or ns)"),
                });
            }
            (Dim::NoiseIntensity, c + t / 2)
        }
    };
    Ok((
        Decimal {
            mantissa: d.mantissa,
            exp: d.exp + shift,
        },
        Some(dim),
    ))
}

/// Write a value in the engine unit back as text that `parse` reads to the same f64.
pub fn format(value: f64, dim: Dim) -> String {
    match dim {
        Dim::NoiseIntensity => format!("{value} pA*sqrt(ms)"),
        Dim::Angle => format!("{value} rad"),
        // The column spelling "nS_per_mV" is not a unit the parser reads.
        Dim::ConductancePerVoltage => format!("{value} nS/mV"),
        _ => format!("{value} {}", dim.unit()),
    }
}

/// A number for a message: every digit it has, in exponent form when plain decimals
/// would run to more than a few zeros (`{}` writes 1e300 as 301 digits and 2e-6 as
/// 0.000002, a fixed `{:.4}` writes it as 0.0000).
pub fn number(x: f64) -> String {
    let a = x.abs();
    if a == 0.0 || !a.is_finite() || (1e-4..1e9).contains(&a) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// `x` to `digits` significant digits, written as `number` writes it: for limits
/// derived by arithmetic (tau/5), where the last bits are noise.
pub fn sig(x: f64, digits: usize) -> String {
    let rounded = format!("{x:.*e}", digits.saturating_sub(1))
        .parse::<f64>()
        .unwrap_or(x);
    number(rounded)
}

/// A byte count for people: three significant digits in decimal units (B, kB, MB, GB,
/// TB, PB), the way `df -H` and disk vendors count.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 999.5 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        return format!("{n} B");
    }
    format!("{} {}", sig(value, 3), UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_read_like_df() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1_000), "1 kB");
        assert_eq!(bytes(18_000_000_000), "18 GB");
        assert_eq!(bytes(181_234_567_890), "181 GB");
        assert_eq!(bytes(1_804_000_000_000_000), "1.8 PB");
        assert_eq!(bytes(u64::MAX), "18400 PB");
    }

    #[test]
    fn numbers_in_messages_are_short_and_exact() {
        assert_eq!(number(0.1), "0.1");
        assert_eq!(number(-70.6), "-70.6");
        assert_eq!(number(1e300), "1e300");
        assert_eq!(number(-1e300), "-1e300");
        assert_eq!(number(2e-6), "2e-6");
        assert_eq!(number(0.0), "0");
        assert_eq!(sig(0.05000000000000001, 4), "0.05");
        assert_eq!(sig(2.0000000000000003e-6, 4), "2e-6");
        assert_eq!(sig(1.234567, 3), "1.23");
    }

    #[test]
    fn converts_to_engine_units_exactly() {
        assert_eq!(parse("10 ms", Dim::Time), Ok(10.0));
        assert_eq!(parse("1 s", Dim::Time), Ok(1000.0));
        assert_eq!(parse("0.1 ms", Dim::Time), Ok(0.1));
        assert_eq!(parse("100 us", Dim::Time), Ok(0.1));
        assert_eq!(parse("100 µs", Dim::Time), Ok(0.1));
        assert_eq!(parse("-70.6 mV", Dim::Voltage), Ok(-70.6));
        assert_eq!(parse("500 pA", Dim::Current), Ok(500.0));
        assert_eq!(parse("0.5 nA", Dim::Current), Ok(500.0));
        assert_eq!(parse("1 nA", Dim::Current), Ok(1000.0));
        assert_eq!(parse("281 pF", Dim::Capacitance), Ok(281.0));
        assert_eq!(parse("30 nS", Dim::Conductance), Ok(30.0));
        assert_eq!(parse("1.3 uS", Dim::Conductance), Ok(1300.0));
        assert_eq!(parse("1 MOhm", Dim::Resistance), Ok(0.001));
        assert_eq!(parse("1 MΩ", Dim::Resistance), Ok(0.001));
        assert_eq!(parse("5 Hz", Dim::Frequency), Ok(0.005));
        assert_eq!(parse("1e-3 s", Dim::Time), Ok(1.0));
        assert_eq!(parse("2.5e2mV", Dim::Voltage), Ok(250.0));
        assert_eq!(parse("0.3 ms", Dim::Time), Ok(0.3));
    }

    #[test]
    fn quotient_units_are_rates_and_conductance_slopes() {
        let k = Dim::ConductancePerVoltage;
        assert_eq!(parse("0.7 nS/mV", k), Ok(0.7));
        assert_eq!(parse("700 pS/mV", k), Ok(0.7));
        assert_eq!(parse("0.7 uS/V", k), Ok(0.7));
        assert_eq!(parse("0.03 /ms", Dim::Frequency), Ok(0.03));
        assert_eq!(parse("0.03 1/ms", Dim::Frequency), Ok(0.03));
        assert_eq!(parse("0.03/ms", Dim::Frequency), Ok(0.03));
        assert_eq!(parse("30 1/s", Dim::Frequency), Ok(0.03));
        assert_eq!(parse("30 Hz", Dim::Frequency), Ok(0.03));
        for bad in ["0.7 nS/ms", "1 1/mV", "2 mV/ms", "1 nS/mV/mV", "1 2/ms"] {
            assert!(
                matches!(
                    parse(bad, k).or(parse(bad, Dim::Frequency)),
                    Err(UnitError::UnknownUnit { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            parse("0.7 nS/mV", Dim::Conductance),
            Err(UnitError::WrongDimension { .. })
        ));
        assert_eq!(
            decimal("0.03 /ms").unwrap(),
            (
                Decimal {
                    mantissa: 3,
                    exp: -2
                },
                Some(Dim::Frequency)
            )
        );
        assert_eq!(parse(&format(0.7, k), k), Ok(0.7));
    }

    #[test]
    fn noise_intensity_forms() {
        assert_eq!(parse("25 pA*sqrt(ms)", Dim::NoiseIntensity), Ok(25.0));
        assert_eq!(parse("25 pA·√ms", Dim::NoiseIntensity), Ok(25.0));
        assert_eq!(parse("25 nA sqrt(ms)", Dim::NoiseIntensity), Ok(25000.0));
        let per_s = parse("1 pA*sqrt(s)", Dim::NoiseIntensity).unwrap();
        assert!((per_s - 1000f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn angle_is_plain_or_rad_or_deg() {
        assert_eq!(parse("1.5", Dim::Angle), Ok(1.5));
        assert_eq!(parse("1.5 rad", Dim::Angle), Ok(1.5));
        assert!((parse("180 deg", Dim::Angle).unwrap() - std::f64::consts::PI).abs() < 1e-15);
    }

    #[test]
    fn rejects_bad_quantities() {
        assert!(matches!(
            parse("10", Dim::Time),
            Err(UnitError::MissingUnit { .. })
        ));
        assert!(matches!(
            parse("10 mV", Dim::Time),
            Err(UnitError::WrongDimension { .. })
        ));
        assert!(matches!(
            parse("10 parsecs", Dim::Time),
            Err(UnitError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse("ten ms", Dim::Time),
            Err(UnitError::NotANumber { .. })
        ));
        assert!(matches!(
            parse("1e999 ms", Dim::Time),
            Err(UnitError::NotFinite { .. })
        ));
        assert!(matches!(
            parse("5 pA", Dim::NoiseIntensity),
            Err(UnitError::WrongDimension { .. })
        ));
    }

    #[test]
    fn decimals_are_exact() {
        let (d, dim) = decimal("0.5 nA").unwrap();
        assert_eq!(
            (d, dim),
            (
                Decimal {
                    mantissa: 5,
                    exp: 2
                },
                Some(Dim::Current)
            )
        );
        assert_eq!(
            decimal("-70.6 mV").unwrap().0,
            Decimal {
                mantissa: -706,
                exp: -1
            }
        );
        assert_eq!(
            decimal("25 nA*sqrt(ms)").unwrap().0,
            Decimal {
                mantissa: 25,
                exp: 3
            }
        );
        assert_eq!(
            decimal("3").unwrap(),
            (
                Decimal {
                    mantissa: 3,
                    exp: 0
                },
                None
            )
        );
        assert_eq!(Decimal::ratio_to_f64(3, 10, 0), 0.3);
        assert_eq!(Decimal::ratio_to_f64(1, 3, 0), 1.0 / 3.0);
        assert_eq!(Decimal::ratio_to_f64(-7, 2, 1), -35.0);
    }

    #[test]
    fn table_units_shift_the_decimal_exponent_exactly() {
        let f = Dim::Frequency;
        assert_eq!(
            (f.table_unit(), Dim::Resistance.table_unit()),
            ("Hz", "MOhm")
        );
        assert_eq!(Dim::Current.table_unit(), "pA");
        // The point of shifting digits: 0.0041 * 1000.0 is 4.1000000000000005.
        assert_ne!(0.0041 * 1000.0, 4.1);
        assert_eq!(f.to_table(0.0041), 4.1);
        assert_eq!(f.to_table(0.02), 20.0);
        assert_eq!(f.to_table(parse("30 Hz", f).unwrap()), 30.0);
        assert_eq!(f.to_table(parse("0.03 /ms", f).unwrap()), 30.0);
        assert_eq!(
            Dim::Resistance.to_table(parse("1 MOhm", Dim::Resistance).unwrap()),
            1.0
        );
        assert_eq!(Dim::Resistance.to_table(-2.5e-7), -2.5e-4);
        assert_eq!(Dim::Voltage.to_table(-70.6), -70.6);
        assert!(f.to_table(f64::NAN).is_nan());
        assert_eq!(f.to_table(f64::INFINITY), f64::INFINITY);
        assert!(f.to_table(-0.0).is_sign_negative());
        // Back again: every value a YAML file can give (a decimal of up to 15
        // significant digits, which an f64 holds exactly) returns to its own f64.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = x % 1_000_000_000_000_000;
            let exp = (x >> 50) as i32 % 40 - 30;
            let v: f64 = format!("{digits}e{exp}").parse().unwrap();
            let hz = f.to_table(v);
            assert_eq!(hz, format!("{digits}e{}", exp + 3).parse::<f64>().unwrap());
            assert_eq!(f.from_table(hz), v, "{v:e}");
        }
        assert_eq!(UnitSet::Table.unit(f), "Hz");
        assert_eq!(UnitSet::Engine.unit(f), "kHz");
        assert_eq!(UnitSet::Engine.value(f, 0.02), 0.02);
        assert_eq!(UnitSet::Table.value(f, 0.02), 20.0);
    }

    #[test]
    fn format_round_trips() {
        for (v, d) in [
            (0.1, Dim::Time),
            (-70.6, Dim::Voltage),
            (500.0, Dim::Current),
            (0.001, Dim::Resistance),
        ] {
            assert_eq!(parse(&format(v, d), d), Ok(v));
        }
    }
}
