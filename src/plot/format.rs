//! Numbers as people read them, for figures and the report: values rounded to a few
//! significant digits without spurious decimals, quantities in the unit that fits
//! their size (55000 pA is "55 nA", 2500 Hz is "2.5 kHz"), tick labels with exactly
//! the decimals their spacing needs, and parameter column names as experiment paths
//! (`input_0_amplitude_pA` is "input[0].amplitude").

/// `v` to `sig` significant digits, trailing zeros dropped: 57500 → "57500",
/// 0.0123456 → "0.01235", -10.0 → "-10".
pub fn number(v: f64, sig: u32) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            String::new()
        } else {
            format!("{v}")
        };
    }
    if v == 0.0 {
        return "0".into();
    }
    let magnitude = v.abs().log10().floor() as i32;
    // Very large or small values read better in scientific notation.
    if !(-4..9).contains(&magnitude) {
        let s = format!("{:.*e}", sig.saturating_sub(1) as usize, v);
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        return format!("{}e{exp}", trim(mantissa));
    }
    let decimals = (sig as i32 - 1 - magnitude).max(0) as usize;
    trim(&format!("{v:.decimals$}"))
}

/// Drop trailing zeros after a decimal point, and the point itself; "-0" is "0".
fn trim(s: &str) -> String {
    let t = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    };
    if t == "-0" {
        "0".into()
    } else {
        t.into()
    }
}

/// A display unit: its text and the factor from the stored unit (display value =
/// stored value × factor).
#[derive(Clone, Debug, PartialEq)]
pub struct Scale {
    pub unit: String,
    pub factor: f64,
}

/// The unit to show values of `unit` (a table unit) whose largest magnitude is
/// `max_abs` in: the next larger unit of the same kind once values reach 1000 of the
/// stored one.
pub fn scale(unit: &str, max_abs: f64) -> Scale {
    let s = |u: &str, f: f64| Scale {
        unit: u.to_string(),
        factor: f,
    };
    let big = max_abs >= 1000.0;
    match unit {
        "pA" if big => s("nA", 1e-3),
        "nA" if big => s("µA", 1e-3),
        "pF" if big => s("nF", 1e-3),
        "nS" if big => s("µS", 1e-3),
        "pA_sqrt_ms" if big => s("nA·√ms", 1e-3),
        "pA_sqrt_ms" => s("pA·√ms", 1.0),
        "ms" if max_abs >= 10_000.0 => s("s", 1e-3),
        "Hz" if big => s("kHz", 1e-3),
        "MOhm" if big => s("GOhm", 1e-3),
        "nS_per_mV" => s("nS/mV", 1.0),
        other => s(other, 1.0),
    }
}

/// One value of `unit` as text in the unit that fits it, 4 significant digits.
pub fn quantity(v: f64, unit: &str) -> String {
    let sc = scale(unit, v.abs());
    let n = number(v * sc.factor, 4);
    if sc.unit.is_empty() || sc.unit == "rad" && v == 0.0 {
        n
    } else {
        format!("{n} {}", sc.unit)
    }
}

/// A parameter column of the runs table as the experiment's path, its unit dropped:
/// `model_t_ref_ms` → "t_ref", `input_1_amplitude_pA` → "input[1].amplitude",
/// `input_amplitude_pA` → "input.amplitude", `initial_V_mean_mV` → "initial.V_mean".
pub fn param_name(column: &str, unit: Option<&str>) -> String {
    let base = unit
        .and_then(|u| column.strip_suffix(&format!("_{u}")))
        .unwrap_or(column);
    if let Some(rest) = base.strip_prefix("model_") {
        return rest.to_string();
    }
    if let Some(rest) = base.strip_prefix("initial_") {
        return format!("initial.{rest}");
    }
    if let Some(rest) = base.strip_prefix("input_") {
        if let Some((k, key)) = rest.split_once('_') {
            if k.chars().all(|c| c.is_ascii_digit()) {
                return format!("input[{k}].{key}");
            }
        }
        return format!("input.{rest}");
    }
    base.to_string()
}

/// The ticks plotters draws on `range` when asked for at most `n`, and the fewest
/// decimals that write each of them exactly (steps of 1, 2 or 5 × 10^k need at most
/// one more decimal than the step's exponent).
pub fn tick_decimals(range: &std::ops::Range<f64>, n: usize) -> usize {
    use plotters::coord::ranged1d::Ranged;
    use plotters::coord::types::RangedCoordf64;
    if !(range.start.is_finite() && range.end.is_finite()) {
        return 0;
    }
    let ticks = RangedCoordf64::from(range.clone()).key_points(n);
    let span = (range.end - range.start).abs().max(f64::MIN_POSITIVE);
    (0..8)
        .find(|&d| {
            let p = 10f64.powi(d as i32);
            ticks
                .iter()
                .all(|v| ((v * p).round() / p - v).abs() <= 1e-6 * span)
        })
        .unwrap_or(8)
}

/// A tick label with `decimals` decimals ("-0" shown as "0").
pub fn tick(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        "0".into()
    } else {
        s
    }
}

/// The pixel width of the widest tick label of `range` at `font` px: what the axis
/// must leave beside its description so that the two never overlap. DejaVu Sans
/// digits are 0.64 em wide; the minus sign and point are narrower, so this errs wide.
pub fn tick_width(range: &std::ops::Range<f64>, n: usize, font: f64) -> u32 {
    let d = tick_decimals(range, n);
    let widest = [range.start, range.end]
        .iter()
        .map(|v| tick(*v, d).chars().count())
        .max()
        .unwrap_or(1);
    (widest as f64 * 0.64 * font).ceil() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_no_spurious_decimals() {
        assert_eq!(number(-10.0, 4), "-10");
        assert_eq!(number(57500.0, 4), "57500");
        assert_eq!(number(0.0123456, 4), "0.01235");
        assert_eq!(number(2.5, 4), "2.5");
        assert_eq!(number(-0.00001, 2), "-1e-5");
        assert_eq!(number(f64::NAN, 4), "");
    }

    #[test]
    fn quantities_take_the_unit_that_fits() {
        assert_eq!(quantity(55000.0, "pA"), "55 nA");
        assert_eq!(quantity(250.0, "pA"), "250 pA");
        assert_eq!(quantity(20.0, "Hz"), "20 Hz");
        assert_eq!(quantity(2500.0, "Hz"), "2.5 kHz");
        assert_eq!(quantity(100.0, "MOhm"), "100 MOhm");
        assert_eq!(quantity(1500.0, "MOhm"), "1.5 GOhm");
        assert_eq!(quantity(1300.0, "nS"), "1.3 µS");
        assert_eq!(quantity(3.0, "ms"), "3 ms");
        assert_eq!(quantity(25000.0, "pA_sqrt_ms"), "25 nA·√ms");
    }

    #[test]
    fn columns_read_as_experiment_paths() {
        assert_eq!(param_name("model_t_ref_ms", Some("ms")), "t_ref");
        assert_eq!(
            param_name("input_0_amplitude_pA", Some("pA")),
            "input[0].amplitude"
        );
        assert_eq!(
            param_name("input_amplitude_pA", Some("pA")),
            "input.amplitude"
        );
        assert_eq!(
            param_name("initial_V_mean_mV", Some("mV")),
            "initial.V_mean"
        );
        assert_eq!(param_name("method", None), "method");
    }

    #[test]
    fn ticks_carry_the_decimals_their_step_needs() {
        assert_eq!(tick_decimals(&(-80.0..-10.0), 10), 0);
        assert_eq!(tick_decimals(&(0.0..1.0), 10), 1);
        assert_eq!(tick_decimals(&(0.0..0.05), 5), 2);
        assert_eq!(tick(-0.0, 0), "0");
        assert_eq!(tick(57.5, 0), "58");
        // Wider labels need more room.
        assert!(tick_width(&(-100.0..60000.0), 10, 14.0) > tick_width(&(0.0..9.0), 10, 14.0));
    }
}
