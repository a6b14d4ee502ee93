//! The catalogue of bad experiment inputs (tests/bad_inputs/): every file must be
//! rejected by `neurodyn run` with exit code 2, an `error: <file>:<line>:<col>: <key>:
//! <message>` line, the offending source line with carets under the value (when the
//! error has a line), at least one `hint:` line, no panic and nothing written.
//!
//! tests/bad_inputs/expected.tsv holds one row per file: file, key (or `-`), a
//! substring of the error line, and the line number (or `-`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Fewest rows the catalogue may hold.
const MIN_ROWS: usize = 25;

struct Row {
    file: String,
    key: Option<String>,
    expected: String,
    line: Option<u64>,
}

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs")
}

/// Read expected.tsv: `#` lines are comments, the `file\t…` line is the header.
fn catalogue() -> Vec<Row> {
    let path = folder().join("expected.tsv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') || line.starts_with("file\t") {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(
            fields.len(),
            4,
            "expected.tsv line {}: want 4 tab-separated fields, got {:?}",
            n + 1,
            fields
        );
        let dash = |s: &str| (s.trim() != "-").then(|| s.trim().to_string());
        rows.push(Row {
            file: fields[0].trim().to_string(),
            key: dash(fields[1]),
            expected: fields[2].trim().to_string(),
            line: dash(fields[3]).map(|l| {
                l.parse()
                    .unwrap_or_else(|_| panic!("expected.tsv line {}: bad line {l:?}", n + 1))
            }),
        });
        assert!(
            !rows.last().unwrap().expected.is_empty(),
            "expected.tsv line {}: empty expected text",
            n + 1
        );
    }
    rows
}

fn yaml_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(folder())
        .expect("tests/bad_inputs exists")
        .map(|e| {
            e.expect("readable entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".yaml") || name.ends_with(".yml"))
        .collect();
    files.sort();
    files
}

#[test]
fn catalogue_covers_every_file() {
    let rows = catalogue();
    assert!(
        rows.len() >= MIN_ROWS,
        "the catalogue has {} rows, fewer than {MIN_ROWS}",
        rows.len()
    );
    let mut listed: Vec<&str> = rows.iter().map(|r| r.file.as_str()).collect();
    listed.sort_unstable();
    for pair in listed.windows(2) {
        assert_ne!(pair[0], pair[1], "{} has two rows in expected.tsv", pair[0]);
    }
    let files = yaml_files();
    let missing: Vec<&String> = files
        .iter()
        .filter(|f| !listed.contains(&f.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "files without a row in expected.tsv: {missing:?}"
    );
    let stale: Vec<&&str> = listed
        .iter()
        .filter(|f| !files.iter().any(|x| x == **f))
        .collect();
    assert!(
        stale.is_empty(),
        "rows of expected.tsv without a file: {stale:?}"
    );
}

/// Run one case and return what is wrong with the result (empty when all is well).
fn check(row: &Row) -> Vec<String> {
    let input = folder().join(&row.file);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_neurodyn"))
        .arg("run")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .current_dir(dir.path())
        .output()
        .expect("the neurodyn binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut problems = Vec::new();

    if output.status.code() != Some(2) {
        problems.push(format!("exit status {} (want code 2)", output.status));
    }
    if stderr.contains("panicked") {
        problems.push("neurodyn panicked".into());
    }
    match stderr.lines().find(|l| l.starts_with("error: ")) {
        None => problems.push("no line starts with `error: `".into()),
        Some(error) => {
            // Everything after `error: <file>` is checked, so that a key or text that
            // happens to occur in the file's name does not count.
            let path = input.display().to_string();
            match error["error: ".len()..].strip_prefix(path.as_str()) {
                None => problems.push(format!(
                    "the error line does not start with the file {path}"
                )),
                Some(rest) => {
                    if !rest.contains(&row.expected) {
                        problems.push(format!("the error line lacks {:?}", row.expected));
                    }
                    if let Some(key) = &row.key {
                        if !rest.contains(key.as_str()) {
                            problems.push(format!("the error line does not name the key {key:?}"));
                        }
                    }
                    if let Some(line) = row.line {
                        if !rest.starts_with(&format!(":{line}:")) {
                            problems.push(format!("the error line does not give line {line}"));
                        }
                    }
                }
            }
        }
    }
    if !stderr.lines().any(|l| l.starts_with("hint: ")) {
        problems.push("no line starts with `hint: `".into());
    }
    // An error at a line of the file shows that line, with carets under the value.
    if let Some(line) = row.line {
        let text = String::from_utf8_lossy(&std::fs::read(&input).unwrap_or_default()).into_owned();
        let source = text.lines().nth(line as usize - 1).unwrap_or_default();
        let lines: Vec<&str> = stderr.lines().collect();
        let shown = lines
            .iter()
            .position(|l| l.starts_with(&format!("{line} | ")));
        match shown {
            None => problems.push(format!("no snippet line `{line} | …`")),
            Some(i) => {
                let body = &lines[i][format!("{line} | ").len()..];
                let whole = body == source;
                let cut = body.contains('…')
                    && body
                        .split('…')
                        .filter(|p| !p.is_empty())
                        .all(|p| source.contains(p));
                if !(whole || cut) {
                    problems.push(format!(
                        "the snippet {body:?} is not line {line} of the file"
                    ));
                }
                if !lines
                    .get(i + 1)
                    .is_some_and(|l| l.trim_end().ends_with('^'))
                {
                    problems.push("no caret line under the snippet".into());
                }
            }
        }
    }
    if out.exists() {
        problems.push(format!("the output folder {} was created", out.display()));
    }
    let written: Vec<_> = std::fs::read_dir(dir.path())
        .expect("temp dir readable")
        .map(|e| e.expect("entry").file_name())
        .collect();
    if !written.is_empty() {
        problems.push(format!(
            "files were written in the working directory: {written:?}"
        ));
    }
    if problems.is_empty() {
        return problems;
    }
    problems.push(format!("stderr was:\n{}", stderr.trim_end()));
    problems
}

#[test]
fn every_bad_input_is_rejected_with_a_located_error_and_a_hint() {
    let rows = catalogue();
    assert!(rows.len() >= MIN_ROWS);
    let mut failures = Vec::new();
    for row in &rows {
        let problems = check(row);
        if !problems.is_empty() {
            failures.push(format!("{}:\n  {}", row.file, problems.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad inputs were not rejected as expected:\n\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n\n")
    );
}
