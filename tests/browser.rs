//! The HTML report of every shipped experiment in a real browser: headless Chromium
//! loads report/index.html from disk (no network), its rendered DOM has the sections
//! the experiment's structure calls for (the seed scenarios' 24-panel matrix, F-I
//! curves only where a current is swept), and a screenshot is not blank. Needs
//! Debian's chromium: `.ci/run` installs it and runs this test with
//! `cargo test --test browser -- --ignored`; a plain `cargo test` skips it.
//! Set NEURODYN_REPORT_SHOTS=DIR to keep the screenshots (DIR/<experiment>.png) for
//! looking at.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// Chromium as the workplace runs it: headless, no sandbox (root), no GPU, and no
/// background networking (the machine's network is closed).
fn chromium(args: &[String]) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .output()
        .expect("chromium runs (apt-get install chromium)")
}

/// What one experiment's report must show.
struct Expect {
    name: &'static str,
    /// Overview panels (0: no overview, as when no traces are recorded).
    panels: usize,
    fi: bool,
    /// Texts the rendered page must hold.
    texts: &'static [&'static str],
}

const EXPERIMENTS: [Expect; 6] = [
    Expect {
        name: "seed_scenarios",
        panels: 24,
        fi: false,
        texts: &[
            "3 model × 4 input × 2 t_ref",
            "constant + step",
            "t_ref = 3 ms",
            "I (nA)",
        ],
    },
    Expect {
        name: "brette_gerstner",
        panels: 24,
        fi: false,
        texts: &["3 model × 4 input × 2 t_ref"],
    },
    Expect {
        name: "fi_curves",
        panels: 0,
        fi: true,
        texts: &["rheobase", "swept within labels: t_ref, input[0].amplitude"],
    },
    Expect {
        name: "izhikevich",
        panels: 20,
        fi: true,
        texts: &["input.amplitude = 60 pA"],
    },
    Expect {
        name: "naud2008",
        panels: 8,
        fi: false,
        texts: &["delayed_regular_bursting"],
    },
    Expect {
        name: "per_neuron",
        panels: 0,
        fi: false,
        texts: &["200 per run"],
    },
];

/// Tick labels such as "-10.0" or "57500.0": within one figure, a number whose
/// decimals are all zeros while no other number of the figure needs that many
/// decimals ("1.0" beside "0.8" is consistent; "-10.0" beside "-20.0" is not).
fn spurious_decimals(dom: &str) -> Vec<String> {
    let mut out = Vec::new();
    for svg in dom.split("<svg").skip(1) {
        let numbers: Vec<(&str, &str)> = svg
            .split("<text")
            .skip(1)
            .filter_map(|piece| {
                let body = piece.split_once('>')?.1;
                let text = body.split('<').next()?.trim();
                let (int, frac) = text.trim_start_matches('-').split_once('.')?;
                let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
                (digits(int) && digits(frac)).then_some((text, frac))
            })
            .collect();
        for (text, frac) in &numbers {
            let zeros = frac.chars().all(|c| c == '0');
            let needed = numbers
                .iter()
                .any(|(_, f)| f.len() == frac.len() && !f.chars().all(|c| c == '0'));
            if zeros && !needed {
                out.push(text.to_string());
            }
        }
    }
    out
}

fn check(dir: &Path, e: &Expect, shots: Option<&Path>) {
    let exp = repo().join(format!("experiments/{}.yaml", e.name));
    let o = neurodyn(dir, &["run", exp.to_str().unwrap(), "--out", e.name, "-q"]);
    assert!(o.status.success(), "{}: {}", e.name, stderr(&o));
    let o = neurodyn(dir, &["report", e.name]);
    assert!(o.status.success(), "{}: {}", e.name, stderr(&o));
    let page = dir.join(e.name).join("report/index.html");
    let url = format!("file://{}", page.display());

    let dom = chromium(&["--dump-dom".into(), url.clone()]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    let title = format!("<title>neurodyn report: {}</title>", e.name);
    assert!(
        dom.contains(&title),
        "{}: DOM {}",
        e.name,
        &dom[..dom.len().min(500)]
    );
    assert_eq!(
        dom.matches("<td class=\"panel\">").count(),
        e.panels,
        "{}: overview panels",
        e.name
    );
    assert_eq!(dom.contains("id=\"overview\""), e.panels > 0, "{}", e.name);
    assert_eq!(dom.contains("id=\"fi\""), e.fi, "{}: F-I section", e.name);
    for t in e.texts {
        assert!(dom.contains(t), "{}: no '{t}' in the page", e.name);
    }
    // Every run has figures (all shipped experiments but fi_curves fit the cap), with
    // an index entry linking to each.
    let runs = dom.matches("<section id=\"run-").count();
    assert!(runs > 0, "{}: no run figures", e.name);
    assert_eq!(
        dom.matches("<li><a href=\"#run-").count(),
        runs,
        "{}",
        e.name
    );
    // The experiment file comes last, collapsed.
    let yaml = dom
        .find("<summary>experiment.yaml")
        .expect("experiment file");
    assert!(
        dom[..yaml].contains("<details"),
        "{}: not collapsed",
        e.name
    );
    assert!(
        dom.rfind("<section id=\"run-").unwrap() < yaml,
        "{}",
        e.name
    );
    assert_eq!(spurious_decimals(&dom), Vec::<String>::new(), "{}", e.name);
    for external in ["src=\"http", "href=\"http", "<script", "<link"] {
        assert!(!dom.contains(external), "{}: external {external}", e.name);
    }

    let shot = dir.join(format!("{}.png", e.name));
    let o = chromium(&[
        "--window-size=1500,2400".into(),
        format!("--screenshot={}", shot.display()),
        url,
    ]);
    assert!(
        shot.exists(),
        "{}: no screenshot: {}",
        e.name,
        String::from_utf8_lossy(&o.stderr)
    );
    let bytes = std::fs::read(&shot).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // A blank 1500x2400 page compresses to a few kB; text and figures to far more.
    assert!(
        bytes.len() > 100_000,
        "{}: screenshot looks blank ({} bytes)",
        e.name,
        bytes.len()
    );
    if let Some(keep) = shots {
        std::fs::create_dir_all(keep).unwrap();
        std::fs::copy(&shot, keep.join(format!("{}.png", e.name))).unwrap();
    }
}

#[test]
#[ignore = "needs Debian's chromium; .ci/run installs it"]
fn every_shipped_experiments_report_renders_in_headless_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let shots = std::env::var_os("NEURODYN_REPORT_SHOTS").map(std::path::PathBuf::from);
    let shipped: Vec<String> = std::fs::read_dir(repo().join("experiments"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".yaml").map(str::to_string)
        })
        .collect();
    // A new experiment must be added here, with what its report must show.
    for name in &shipped {
        assert!(
            EXPERIMENTS.iter().any(|e| e.name == name),
            "experiments/{name}.yaml has no expectation in tests/browser.rs"
        );
    }
    for e in &EXPERIMENTS {
        check(tmp.path(), e, shots.as_deref());
    }
}

#[test]
fn the_decimal_check_catches_spurious_zeros() {
    let dom = "<svg><text x=\"1\">\n-10.0\n</text><text>57500</text><text>2.5</text>\
               <text>0.00</text><text>a.0</text></svg><svg><text>0.8</text><text>1.0</text></svg>";
    assert_eq!(spurious_decimals(dom), ["0.00"]);
    let dom = "<svg><text>-10.0</text><text>-20.0</text></svg>";
    assert_eq!(spurious_decimals(dom), ["-10.0", "-20.0"]);
}
