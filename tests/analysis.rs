//! Analysis, figures and report through the real binary: the Naud et al. (2008)
//! cells in their published classes, summary rows for silent neurons, F-I rates
//! against the LIF closed form, every figure kind as a valid image, and the report.

mod common;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, UInt32Type, UInt64Type};
use common::*;
use std::path::Path;

#[test]
fn naud_2008_cells_fall_in_their_published_classes() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = repo().join("experiments/naud2008.yaml");
    run_ok(
        tmp.path(),
        &["run", exp.to_str().unwrap(), "--out", "naud", "-q"],
    );
    let out = run_ok(tmp.path(), &["analyze", "naud"]);
    // Each variant is labelled with its class in Naud et al. (2008), Fig. 4.
    let mut seen = 0;
    for line in out.lines().skip(2) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "{line}");
        assert_eq!(
            cols[1], cols[2],
            "cell {} classified as {}",
            cols[1], cols[2]
        );
        seen += 1;
    }
    assert_eq!(seen, 8, "{out}");
}

#[test]
fn silent_neurons_get_rate_zero_and_nulls() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(
        tmp.path(),
        "quiet.yaml",
        "name: quiet\nduration: 200 ms\ndt: 0.1 ms\nneurons: 4\nmodel: {type: lif}\n\
         input: {type: constant, amplitude: 0 pA}\ngrid: {input.amplitude: [0 pA, 800 pA]}\n",
    );
    run_ok(tmp.path(), &["run", &exp, "--out", "d", "-q"]);
    let summary = read(&tmp.path().join("d/summary.parquet"));
    assert_eq!(rows(&summary), 8, "a row for every neuron of every run");
    let b = &summary[0];
    let n = col::<UInt64Type>(b, "n_spikes");
    let rate = col::<Float64Type>(b, "rate_Hz");
    let cv = col::<Float64Type>(b, "isi_cv_sample");
    let pattern = b.column_by_name("pattern").unwrap().as_string::<i32>();
    let mut silent = 0;
    for k in 0..b.num_rows() {
        assert!(rate.value(k).is_finite());
        if n.value(k) == 0 {
            silent += 1;
            assert_eq!(rate.value(k), 0.0);
            assert!(cv.is_null(k));
            assert_eq!(pattern.value(k), "silent");
        } else {
            assert!(!cv.is_null(k) && cv.value(k).is_finite());
        }
    }
    assert_eq!(silent, 4);
    // No NaN anywhere: undefined statistics are nulls.
    for col in b.columns() {
        if let Some(f) = col.as_primitive_opt::<Float64Type>() {
            assert!(f.iter().flatten().all(|x| !x.is_nan()));
        }
    }
}

#[test]
fn fi_curve_matches_the_lif_closed_form_and_brackets_the_rheobase() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(
        tmp.path(),
        "fi.yaml",
        "name: fi\nduration: 2 s\ndt: 0.1 ms\nmethod: exact\nneurons: 2\nmodel: {type: lif, t_ref: 2 ms}\n\
         input: {type: constant, amplitude: 0 pA}\n\
         grid: {input.amplitude: {range: [500 pA, 1 nA, 50 pA]}}\nreplicates: 2\n",
    );
    run_ok(tmp.path(), &["run", &exp, "--out", "d", "-q"]);
    let fi = read(&tmp.path().join("d/fi_curve.parquet"));
    assert_eq!(rows(&fi), 11);
    let b = &fi[0];
    let current = col::<Float64Type>(b, "current_pA");
    let steady = col::<Float64Type>(b, "steady_state_rate_Hz_mean");
    let count = col::<UInt32Type>(b, "rate_Hz_count");
    let rheobase = col::<Float64Type>(b, "rheobase_pA");
    let (c, g_l, e_l, v_th, v_reset) = (281.0, 30.0, -70.6, -50.4, -70.6);
    for k in 0..b.num_rows() {
        let i = current.value(k);
        let v_inf = e_l + i / g_l;
        if v_inf <= v_th {
            assert!(steady.is_null(k), "no steady rate below rheobase at {i} pA");
            continue;
        }
        // 1000 / (t_ref + τ ln((V∞ − V_reset)/(V∞ − V_th))), exact integration.
        let rate = 1000.0 / (2.0 + c / g_l * ((v_inf - v_reset) / (v_inf - v_th)).ln());
        assert!(
            (steady.value(k) - rate).abs() < 1e-6 * rate,
            "{i} pA: {} vs {rate}",
            steady.value(k)
        );
    }
    // 2 neurons x 2 replicates per point.
    assert_eq!(
        count
            .as_any()
            .downcast_ref::<arrow::array::UInt32Array>()
            .map(|a| a.value(0))
            .unwrap_or(4),
        4
    );
    // Rheobase g_L (V_th − E_L) = 606 pA lies between 600 and 650 pA: estimate 625.
    assert_eq!(rheobase.value(0), 625.0);
}

fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    let be = |o: usize| u32::from_be_bytes(bytes[o..o + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn every_figure_kind_renders_as_png_and_svg() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = repo().join("experiments/naud2008.yaml");
    run_ok(
        tmp.path(),
        &["run", exp.to_str().unwrap(), "--out", "naud", "-q"],
    );
    let out = run_ok(tmp.path(), &["plot", "naud", "--run", "0", "--run", "5"]);
    let plots = tmp.path().join("naud/plots");
    for kind in ["traces", "isi", "phase"] {
        for run in [0, 5] {
            let png = plots.join(format!("{kind}-run{run}.png"));
            assert_eq!(png_size(&png), (1000, 800), "{out}");
            let svg = std::fs::read_to_string(plots.join(format!("{kind}-run{run}.svg"))).unwrap();
            assert!(svg.contains("<svg") && svg.contains("width=\"1000\""));
            assert!(
                svg.contains("(ms)") || svg.contains("(mV)"),
                "axis labels with units"
            );
        }
    }
    // Naud et al.'s cells each have their own current: no current is swept, so no
    // F-I figure (it would be eight unrelated dots).
    assert!(!plots.join("fi_curve.png").exists());
    // A PNG that is not blank: many distinct byte values after compression.
    let bytes = std::fs::read(plots.join("traces-run5.png")).unwrap();
    assert!(bytes.len() > 20_000, "suspiciously small image");
}

#[test]
fn report_is_one_self_contained_page() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = repo().join("experiments/naud2008.yaml");
    run_ok(
        tmp.path(),
        &[
            "run",
            exp.to_str().unwrap(),
            "--out",
            "naud",
            "-q",
            "--no-analyze",
        ],
    );
    assert!(!tmp.path().join("naud/summary.parquet").exists());
    let out = run_ok(tmp.path(), &["report", "naud", "--run", "1"]);
    let page = std::fs::read_to_string(tmp.path().join(out.trim())).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<title>neurodyn report: naud</title>"));
    for section in [
        "id=\"overview\"",
        "id=\"runs\"",
        "<section id=\"run-1\">",
        "experiment.yaml",
        "provenance.json",
    ] {
        assert!(page.contains(section), "missing {section}");
    }
    // No current is swept, so no F-I section; figures of run 1 only, titled by label.
    assert!(!page.contains("id=\"fi\""));
    assert_eq!(page.matches("<section id=\"run-").count(), 1);
    assert!(page.contains("initial_burst"));
    // Eight overview panels and run 1's traces, ISI and phase-plane figures.
    assert_eq!(page.matches("<td class=\"panel\">").count(), 8);
    assert_eq!(page.matches("<svg").count(), 8 + 3);
    // Nothing loaded from elsewhere.
    for external in ["src=\"http", "href=\"http", "<script", "<link"] {
        assert!(!page.contains(external), "external reference {external}");
    }
}

/// The seed scenarios' report follows their matrix: 3 models (rows) × 4 inputs × 2
/// refractory periods (columns), every one of the 24 labels in one overview, with a
/// figure section for each run and no F-I curve (no current is swept).
#[test]
fn seed_scenario_report_lays_out_the_matrix() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = repo().join("experiments/seed_scenarios.yaml");
    run_ok(
        tmp.path(),
        &["run", exp.to_str().unwrap(), "--out", "seed", "-q"],
    );
    let out = run_ok(tmp.path(), &["report", "seed"]);
    let page = std::fs::read_to_string(tmp.path().join(out.trim())).unwrap();
    assert_eq!(page.matches("<td class=\"panel\">").count(), 24);
    for header in ["lif", "eif", "adex"] {
        assert!(page.contains(&format!("<th class=\"row\">{header}</th>")));
    }
    for header in ["constant", "constant + step", "sine", "noise"] {
        assert!(
            page.contains(&format!("<th colspan=\"2\">{header}</th>")),
            "{header}"
        );
    }
    assert_eq!(page.matches("t_ref = 3 ms</th>").count(), 4);
    assert!(!page.contains("id=\"fi\""));
    assert_eq!(page.matches("<section id=\"run-").count(), 24);
    assert!(page.contains("<section id=\"run-0\">"));
    // The 55 nA current shows in nA, not as 55000 pA.
    assert!(page.contains("I (nA)") && !page.contains("55000"));
    // The experiment file is last and collapsed.
    let yaml = page.find("<summary>experiment.yaml").unwrap();
    assert!(page[..yaml].rfind("<details").unwrap() > page.rfind("<section").unwrap());
}

#[test]
fn analyze_refuses_an_unfinished_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = repo().join("experiments/naud2008.yaml");
    run_ok(
        tmp.path(),
        &[
            "run",
            exp.to_str().unwrap(),
            "--out",
            "d",
            "-q",
            "--shard",
            "0/2",
        ],
    );
    let o = neurodyn(tmp.path(), &["analyze", "d"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a finished") && stderr(&o).contains("hint: "),
        "{}",
        stderr(&o)
    );
}
