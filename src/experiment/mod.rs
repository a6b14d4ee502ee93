//! Experiments: the YAML file (`raw`), the one `load` function that reads it, and the
//! `plan` that turns it into validated RunSpecs (`spec`).

pub mod plan;
pub mod raw;
pub mod spec;

use crate::error::{did_you_mean, InputError, Location};
use raw::ExperimentRaw;
use std::path::Path;

/// Largest experiment file read; real ones are a few kB.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// Read and parse an experiment file. Syntax errors, unknown keys and wrong types
/// come back with the file, line and column.
pub fn load(path: &Path) -> Result<(ExperimentRaw, String), InputError> {
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
        return Err(InputError::new(format!(
            "the file is {} bytes; experiment files are limited to {MAX_FILE_BYTES}",
            meta.len()
        ))
        .in_file(path));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        InputError::new(format!("cannot read the experiment file: {e}")).in_file(path)
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        InputError::new(format!("the file is not UTF-8 text ({e})"))
            .in_file(path)
            .hint("save the experiment as UTF-8")
    })?;
    let raw = parse(&text).map_err(|e| e.in_file(path))?;
    Ok((raw, text))
}

/// Parse experiment text (no file attached to errors).
pub fn parse(text: &str) -> Result<ExperimentRaw, InputError> {
    // Tight budgets: an experiment is small, so an alias bomb or a deeply nested
    // document is rejected after a few thousand events instead of exhausting memory.
    let options = serde_saphyr::options! {
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
    };
    serde_saphyr::from_str_with_options::<ExperimentRaw>(text, options).map_err(yaml_error)
}

fn yaml_error(e: serde_saphyr::Error) -> InputError {
    let location = e.location().and_then(|l| {
        (l.line() > 0).then_some(Location {
            line: l.line(),
            column: l.column(),
        })
    });
    let inner = e.without_snippet();
    let err = match inner {
        serde_saphyr::Error::SerdeUnknownField {
            field, expected, ..
        } => {
            let e = InputError::new(format!("unknown key '{field}'"));
            match did_you_mean(field, expected) {
                Some(s) => e.hint(format!("did you mean '{s}'?")),
                None => e.hint(format!("allowed keys here: {}", expected.join(", "))),
            }
        }
        serde_saphyr::Error::SerdeUnknownVariant {
            variant, expected, ..
        } => {
            let e = InputError::new(format!("unknown value '{variant}'"));
            match did_you_mean(variant, expected) {
                Some(s) => e.hint(format!("did you mean '{s}'?")),
                None => e.hint(format!("allowed values: {}", expected.join(", "))),
            }
        }
        serde_saphyr::Error::SerdeMissingField { field, .. } => {
            InputError::new(format!("missing key '{field}'"))
                .hint(format!("add '{field}:' with a value"))
        }
        other => {
            let text = strip_location(&other.to_string());
            let budget =
                text.contains("budget") || text.contains("alias") || text.contains("limit");
            let e = InputError::new(text);
            if budget {
                e.hint("experiment files must stay small: avoid aliases that expand repeatedly")
            } else {
                e.hint("check the YAML syntax and the value's type at that position")
            }
        }
    };
    err.at(location)
}

/// serde-saphyr appends " at line L column C"; the location is reported separately.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].trim_end().to_string(),
        None => message.trim_end().to_string(),
    }
}
