//! The HTML report in a real browser: headless Chromium loads report/index.html from
//! disk (no network), its DOM has the expected title and figures, and a screenshot is
//! not blank. Needs Debian's chromium: `.ci/run` installs it and runs this test with
//! `cargo test --test browser -- --ignored`; a plain `cargo test` skips it.

mod common;

use common::*;
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
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .output()
        .expect("chromium runs (apt-get install chromium)")
}

#[test]
#[ignore = "needs Debian's chromium; .ci/run installs it"]
fn report_renders_in_headless_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = repo().join("experiments/naud2008.yaml");
    let o = neurodyn(
        tmp.path(),
        &["run", exp.to_str().unwrap(), "--out", "naud", "-q"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = neurodyn(tmp.path(), &["report", "naud", "--run", "0", "--run", "5"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let page = tmp.path().join("naud/report/index.html");
    let url = format!("file://{}", page.display());

    let dom = chromium(&["--dump-dom".into(), url.clone()]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("<title>neurodyn report: naud</title>"),
        "DOM: {}",
        &dom[..dom.len().min(500)]
    );
    assert!(
        dom.matches("<svg").count() >= 5,
        "figures missing from the rendered DOM"
    );

    let shot = tmp.path().join("shot.png");
    let o = chromium(&[
        "--window-size=1200,1600".into(),
        format!("--screenshot={}", shot.display()),
        url,
    ]);
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let bytes = std::fs::read(&shot).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // A blank 1200x1600 page compresses to a few kB; text and figures to far more.
    assert!(
        bytes.len() > 50_000,
        "screenshot looks blank ({} bytes)",
        bytes.len()
    );
}
