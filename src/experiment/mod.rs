//! Experiments: the YAML file (`raw`), the one `load` function that reads it, and the
//! `plan` that turns it into validated RunSpecs (`spec`).

mod estimate;
pub(crate) mod grid;
mod layers;
pub mod overrides;
mod per_neuron;
pub mod plan;
pub(crate) mod raw;
mod resolve;
pub(crate) mod scalar;
pub mod spec;
pub mod tolerances;
pub mod tsv;
mod validate;
mod values;

use crate::error::{did_you_mean, InputError, Location};
use raw::ExperimentRaw;
use std::io::Read;
use std::path::Path;

/// Largest experiment file read; real ones are a few kB.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// How messages name an experiment read from standard input.
pub const STDIN: &str = "<stdin>";

/// Read and parse an experiment file. Syntax errors, unknown keys and wrong types
/// come back with the file, line and column.
pub fn load(path: &Path) -> Result<(ExperimentRaw, String), InputError> {
    let text = read(path)?;
    let raw = parse(&text).map_err(|e| e.in_file(path))?;
    Ok((raw, text))
}

/// The text of an experiment file, checked to be at most 4 MiB of UTF-8.
pub fn read(path: &Path) -> Result<String, InputError> {
    let meta = std::fs::metadata(path).map_err(|e| {
        InputError::new(format!("cannot read the experiment file: {e}"))
            .in_file(path)
            .hint("check the path; experiments/ holds the shipped examples")
    })?;
    if meta.is_dir() {
        return Err(
            InputError::new("this is a directory, not an experiment file")
                .in_file(path)
                .hint("give the path of a .yaml file, e.g. experiments/seed_scenarios.yaml"),
        );
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large(path, meta.len().to_string()));
    }
    let file = std::fs::File::open(path).map_err(|e| cannot_read(e, path))?;
    read_capped(file, path)
}

/// The text of an experiment piped to standard input, named [`STDIN`] in errors;
/// capped and checked as a file is.
pub fn read_stdin() -> Result<String, InputError> {
    read_capped(std::io::stdin().lock(), Path::new(STDIN))
}

fn cannot_read(e: std::io::Error, path: &Path) -> InputError {
    InputError::new(format!("cannot read the experiment file: {e}"))
        .in_file(path)
        .hint("check the path and that the file is readable")
}

/// Read `source`, named `path` in errors, as UTF-8 text of at most MAX_FILE_BYTES.
fn read_capped(source: impl Read, path: &Path) -> Result<String, InputError> {
    // A file's size is 0 for /dev/zero, pipes and FIFOs, which may never end: read at
    // most one byte past the cap whatever the source.
    let mut bytes = Vec::new();
    source
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| cannot_read(e, path))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(path, format!("more than {MAX_FILE_BYTES}")));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let bad = e.utf8_error().valid_up_to();
        let before = &e.as_bytes()[..bad];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count() as u64;
        let column = 1 + before.iter().rev().take_while(|&&b| b != b'\n').count() as u64;
        InputError::new("the file is not UTF-8 text")
            .in_file(path)
            .at(Some(Location { line, column }))
            .hint("save the experiment as UTF-8")
    })?;
    Ok(text)
}

fn too_large(path: &Path, size: String) -> InputError {
    InputError::new(format!(
        "the file is {size} bytes; experiment files are limited to {MAX_FILE_BYTES}"
    ))
    .in_file(path)
    .hint("experiments are a few kB: sweep with ranges such as {linspace: [from, to, n]}, not long lists")
}

/// The parser's options for experiment text. Tight budgets: an experiment is small,
/// so an alias bomb or a deeply nested document is rejected after a few thousand
/// events instead of exhausting memory.
fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 200_000,
            max_aliases: 10_000,
            max_anchors: 10_000,
            max_depth: 64,
            max_nodes: 200_000,
            max_documents: 1,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
            max_replay_stack_depth: 16,
        },
        with_snippet: false,
    }
}

/// Parse experiment text (no file attached to errors).
pub fn parse(text: &str) -> Result<ExperimentRaw, InputError> {
    if text.trim().is_empty() {
        return Err(InputError::new("the experiment file is empty")
            .hint("an experiment needs at least name, duration and dt; see experiments/"));
    }
    // The parser sees no document at all here and reports an unexpected end of input.
    let marker = |l: &str| {
        ["---", "..."].iter().any(|m| {
            l.strip_prefix(m)
                .is_some_and(|rest| rest.is_empty() || rest.trim_start().starts_with('#'))
        })
    };
    let content = text
        .lines()
        .map(str::trim)
        .any(|l| !(l.is_empty() || l.starts_with('#') || marker(l)));
    if !content {
        return Err(
            InputError::new("the experiment file is empty: it holds only comments")
                .hint("an experiment needs at least name, duration and dt; see experiments/"),
        );
    }
    serde_saphyr::from_str_with_options::<ExperimentRaw>(text, options())
        .map_err(|e| yaml_error(&e, text))
}

fn yaml_error(e: &serde_saphyr::Error, text: &str) -> InputError {
    use serde_saphyr::budget::BudgetBreach;
    use serde_saphyr::Error as E;
    let location = e.location().and_then(|l| {
        (l.line() > 0).then_some(Location {
            line: l.line(),
            column: l.column(),
        })
    });
    // Errors met while replaying an alias wrap the original one.
    let mut inner = e.without_snippet();
    while let E::AliasError { error, .. } = inner {
        inner = error.without_snippet();
    }
    let alias_bomb = || {
        InputError::new("the YAML's aliases expand to far more data than an experiment holds")
            .hint("an alias bomb? use each anchor a few times at most")
    };
    let err = match inner {
        E::SerdeUnknownField {
            field, expected, ..
        } => {
            let e = InputError::new(format!("unknown key '{field}'"));
            match did_you_mean(field, expected) {
                Some(s) => e.hint(format!("did you mean '{s}'?")),
                None => e.hint(format!("allowed keys here: {}", expected.join(", "))),
            }
        }
        E::SerdeMissingField { field, .. } => {
            // The parser reports the end of the enclosing map, which points nowhere useful.
            return InputError::new(format!("missing key '{field}'"))
                .key(*field)
                .hint(format!("add '{field}:' with a value"));
        }
        E::DuplicateMappingKey { key, .. } => {
            let k = key.clone().unwrap_or_default();
            InputError::new(format!("the key '{k}' appears twice in the same map"))
                .hint("keep one of the two entries")
        }
        E::MultipleDocuments { .. } => many_documents(),
        E::Budget { breach, .. } => match breach {
            BudgetBreach::Depth { depth } => InputError::new(format!(
                "the YAML nests {depth} levels deep; experiments need a few"
            ))
            .hint("flatten the structure; see experiments/ for the schema"),
            BudgetBreach::Documents { .. } => many_documents(),
            BudgetBreach::Aliases { .. } | BudgetBreach::Anchors { .. } => alias_bomb(),
            _ => InputError::new("the YAML is far larger than an experiment needs")
                .hint("sweeps belong in ranges such as {linspace: [from, to, n]}, not long lists"),
        },
        E::AliasReplayCounterOverflow { .. }
        | E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. } => alias_bomb(),
        E::Eof { .. } => InputError::new("the YAML ends in the middle of a value")
            .hint("close every bracket and quote; check the file is complete"),
        other => {
            let message = other.to_string();
            let message = message.split(" at line ").next().unwrap_or("").trim();
            let e = match key_at(text, location) {
                Some((key, value)) => {
                    InputError::new(format!("{message} (got '{value}')")).key(key)
                }
                None => InputError::new(message.to_string()),
            };
            e.hint("check the YAML syntax and the value's type at that position")
        }
    };
    err.at(location)
}

fn many_documents() -> InputError {
    InputError::new("the file holds more than one YAML document")
        .hint("an experiment is one document: remove the '---' separator and what follows")
}

/// The `key:` written just before a location in the text, and the value found there;
/// names the key for type errors the YAML parser reports by position only.
fn key_at(text: &str, at: Option<Location>) -> Option<(String, String)> {
    let at = at?;
    let line = text
        .lines()
        .nth(usize::try_from(at.line).ok()?.checked_sub(1)?)?;
    let col = usize::try_from(at.column).ok()?.checked_sub(1)?;
    let before: String = line.chars().take(col).collect();
    let after: String = line.chars().skip(col).collect();
    let head = before.trim_end().strip_suffix(':')?;
    let key: String = head
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let value = after
        .split([',', '}', '#'])
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    (!key.is_empty()).then_some((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_documents_hit_the_budget() {
        let values = vec!["1 pA"; 300_000].join(", ");
        let text = format!(
            "name: t\nduration: 1 ms\ndt: 0.1 ms\nmodel: {{type: lif}}\ngrid: {{input.amplitude: [{values}]}}\n"
        );
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("far larger"), "{}", e.message);
    }

    #[test]
    fn aliases_are_budgeted() {
        // 20,000 aliases of one scalar: cheap each, but past the alias budget.
        let aliases = vec!["*a"; 20_000].join(", ");
        let text = format!(
            "name: t\nduration: 1 ms\ndt: 0.1 ms\nmodel: {{type: lif, C: &a 200 pF}}\ngrid: {{model.C: [{aliases}]}}\n"
        );
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("aliases"), "{}", e.message);
    }
}
