//! Machine-readable output shared by the commands: the `--format text|json` choice and
//! the schema version every JSON document carries. docs/JSON.md describes each
//! document; a field added keeps the version, a field renamed or removed bumps it.

use super::failure::Failure;
use clap::ValueEnum;
use serde::Serialize;
use std::io::Write;

/// The schema version of every JSON document and log line neurodyn prints.
pub const VERSION: u32 = 1;

/// Text for people, JSON for programs.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// A document with `"version"` as its first field, then the fields of `body`.
#[derive(Serialize)]
pub struct Versioned<T> {
    version: u32,
    #[serde(flatten)]
    body: T,
}

impl<T: Serialize> Versioned<T> {
    pub fn new(body: T) -> Versioned<T> {
        Versioned {
            version: VERSION,
            body,
        }
    }
}

/// One document on one line: a JSON Lines record.
pub fn line(doc: &impl Serialize) -> String {
    // Our documents are structs with string keys and plain values, which always
    // serialize.
    serde_json::to_string(doc).unwrap_or_default()
}

/// Print a whole document to stdout, indented for people reading it too.
pub fn print(doc: &impl Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(doc).unwrap_or_default();
    written(writeln!(std::io::stdout().lock(), "{text}"))
}

/// The outcome of writing to stdout. A reader that stops early (`| head`) is no
/// error; a full disk behind a redirection is.
pub fn written(outcome: std::io::Result<()>) -> Result<(), Failure> {
    match outcome {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::usage(
            format!("cannot write to standard output: {e}"),
            "check the disk of the file standard output goes to",
        )),
        _ => Ok(()),
    }
}
