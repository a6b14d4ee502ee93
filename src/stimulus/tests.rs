//! Tests of the registry and of every kind's values, evaluation and columns.

use super::*;

/// A stimulus of the named kind from (key, value) pairs in engine units, with
/// defaults applied and the kind's rules checked.
fn make(kind: &str, given: &[(&str, f64)]) -> Result<Stimulus, Invalid> {
    let def = STIMULI
        .iter()
        .copied()
        .find(|d| d.name == kind)
        .expect("a registered kind");
    for (k, _) in given {
        assert!(
            def.keys.iter().any(|key| key.name == *k),
            "{k} is not a key of {kind}"
        );
    }
    let mut values = Values::default();
    for key in def.keys {
        let written = given.iter().find(|(k, _)| *k == key.name).map(|p| p.1);
        let v = match (written, key.need) {
            (Some(x), _) => Some(x),
            (None, Need::Default(d)) => Some(d),
            (None, Need::Optional) => None,
            (None, Need::Required) => panic!("{kind} needs {}", key.name),
        };
        values.push(key.name, v);
    }
    (def.validate)(&values)?;
    Ok(Stimulus::new(def, values))
}

fn stim(kind: &str, given: &[(&str, f64)]) -> Stimulus {
    make(kind, given).expect("valid values")
}

#[test]
fn registry_is_consistent() {
    let mut names: Vec<&str> = STIMULI.iter().map(|d| d.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), STIMULI.len(), "two kinds share a name");
    let quantities = quantity_keys();
    for def in STIMULI {
        assert!(!def.summary.is_empty(), "{} has no summary", def.name);
        for key in def.keys {
            assert!(!key.meaning.is_empty(), "{}.{}", def.name, key.name);
            if let Some((other, _)) = key.dim_with {
                assert!(def.keys.iter().any(|k| k.name == other));
            }
        }
        for extra in def.extras {
            // The parser reads an extra by its name alone, before it knows the type.
            assert_eq!(find_extra(extra.name).unwrap().form, extra.form);
            assert!(!quantities.contains(&extra.name), "{}", extra.name);
            assert!(extra.name != "type");
        }
        assert!(def.keys.iter().all(|k| k.name != "type"));
    }
}

#[test]
fn waveforms() {
    let step = stim(
        "step",
        &[("amplitude", 5.0), ("start", 10.0), ("stop", 20.0)],
    );
    assert_eq!(
        [9.9, 10.0, 19.9, 20.0].map(|t| step.at(t)),
        [0.0, 5.0, 5.0, 0.0]
    );
    let sine = stim(
        "sine",
        &[("offset", 70.0), ("amplitude", 5.0), ("frequency", 0.01)],
    );
    assert!((sine.at(25.0) - 75.0).abs() < 1e-12);
    assert!((sine.at(75.0) - 65.0).abs() < 1e-12);
    let ramp = stim(
        "ramp",
        &[("start", 0.0), ("stop", 10.0), ("from", 0.0), ("to", 100.0)],
    );
    assert_eq!(ramp.at(2.5), 25.0);
    assert_eq!(ramp.at(10.0), 0.0);
    let unbounded = stim(
        "pulses",
        &[
            ("amplitude", 1.0),
            ("width", 2.0),
            ("period", 10.0),
            ("start", 5.0),
        ],
    );
    let mut values = unbounded.values().clone();
    values.push_extra("count", ExtraValue::Count(2));
    let pulses = Stimulus::new(unbounded.def(), values);
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
            stim("constant", &[("amplitude", 55.0)]),
            stim("step", &[("amplitude", 20.0), ("start", 40.0)]),
        ],
    };
    assert_eq!(input.at(39.0), 55.0);
    assert_eq!(input.at(40.0), 75.0);
    assert_eq!(input.onset(), 0.0);
    let delayed = Input {
        stimuli: vec![stim("step", &[("amplitude", 1.0), ("start", 100.0)])],
    };
    assert_eq!(delayed.onset(), 100.0);
    let spread = Input {
        stimuli: vec![stim("spread", &[("from", 500.0), ("to", 1000.0)])],
    };
    assert_eq!(
        [0, 5, 10].map(|k| spread.bias(k, 11)),
        [500.0, 750.0, 1000.0]
    );
    assert_eq!(spread.bias(0, 1), 500.0);
    assert_eq!(spread.at(3.0), 0.0);
}

#[test]
fn rules_between_keys() {
    let e = make("step", &[("amplitude", 1.0), ("start", 5.0), ("stop", 5.0)]);
    assert_eq!(e.unwrap_err().key, "stop");
    let e = make(
        "pulses",
        &[("amplitude", 1.0), ("width", 3.0), ("period", 2.0)],
    );
    assert_eq!(e.unwrap_err().key, "period");
    let e = make("noise", &[("sigma", 1.0), ("tau", 0.0)]);
    assert_eq!(e.unwrap_err().key, "tau");
}

#[test]
fn fields_follow_the_keys() {
    let white = stim("noise", &[("sigma", 2.0)]);
    assert_eq!(
        white.fields(),
        vec![
            ("mean", Field::Quantity(Dim::Current, 0.0)),
            ("sigma", Field::Quantity(Dim::NoiseIntensity, 2.0)),
            ("shared", Field::Flag(false)),
        ]
    );
    let ou = stim("noise", &[("sigma", 2.0), ("tau", 5.0)]);
    assert_eq!(
        ou.fields()[1],
        ("sigma", Field::Quantity(Dim::Current, 2.0))
    );
    assert_eq!(ou.fields()[2], ("tau", Field::Quantity(Dim::Time, 5.0)));
    let step = stim("step", &[("amplitude", 1.0)]);
    let names: Vec<&str> = step.fields().iter().map(|f| f.0).collect();
    assert_eq!(names, ["amplitude", "start"]);
}

/// The weighted mean by quadrature: ∫ value(s) e^(−(end − s)/τ) ds over the step,
/// divided by the kernel's integral, by the midpoint rule on n cells (piecewise
/// smooth waveforms: its error is O(1/n²) away from jumps, O(1/n) at one).
fn weighted_by_quadrature(s: &Stimulus, t: f64, h: f64, tau: f64, n: usize) -> f64 {
    let cell = h / n as f64;
    let (mut num, mut den) = (0.0, 0.0);
    for k in 0..n {
        let x = t + (k as f64 + 0.5) * cell;
        let kernel = (-(t + h - x) / tau).exp();
        num += s.at(x) * kernel;
        den += kernel;
    }
    num / den
}

#[test]
fn weighted_means_match_quadrature_for_every_kind() {
    let tau = 9.3667;
    let kinds = [
        stim("constant", &[("amplitude", 250.0)]),
        stim(
            "step",
            &[("amplitude", 400.0), ("start", 10.3), ("stop", 12.05)],
        ),
        stim(
            "sine",
            &[
                ("offset", 30.0),
                ("amplitude", 200.0),
                ("frequency", 0.25),
                ("phase", 0.4),
                ("start", 10.2),
            ],
        ),
        stim(
            "ramp",
            &[
                ("start", 10.1),
                ("stop", 11.7),
                ("from", -50.0),
                ("to", 300.0),
            ],
        ),
        stim(
            "pulses",
            &[
                ("amplitude", 500.0),
                ("width", 0.03),
                ("period", 0.07),
                ("start", 10.01),
            ],
        ),
    ];
    // Steps before, across and after each switch, of several lengths; the pulse
    // train puts many pulses in the longer steps (the geometric series).
    for s in &kinds {
        for (t, h) in [
            (9.0, 0.5),
            (10.0, 0.5),
            (10.0, 1.0),
            (11.5, 0.5),
            (10.2, 2.0),
            (10.0, 3.0),
            (13.0, 0.1),
        ] {
            let w = Window::new(t, h, tau);
            let got = s.signal.weighted(&w);
            let want = weighted_by_quadrature(s, t, h, tau, 400_000);
            // Midpoint rule with cells of h/4e5: a jump costs ~cell/h × its size
            // (≤ 2.5e-6 × 500 pA), smooth parts ~(cell ω)², so 2e-3 pA separates a wrong
            // closed form (errors of whole pA) from the rule's own error.
            assert!(
                (got - want).abs() < 2e-3,
                "{}: step [{t}, {}]: {got} vs quadrature {want}",
                s.name(),
                t + h
            );
        }
    }
    // On over the whole step, the weight is exactly 1: `exact` under a constant or a
    // step switching on grid points gives the same bits as the held value.
    let on = Window::new(20.0, 0.1, tau);
    assert_eq!(kinds[0].signal.weighted(&on), 250.0);
    assert_eq!(on.share(0.0, f64::INFINITY), 1.0);
}
