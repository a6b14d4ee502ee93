//! The library's error for bad user input: which file, where in it, which key, what
//! is wrong with which value, and how to fix it. The binary prints it as
//! `error: …` / `hint: …` and exits with code 2.

use std::fmt;
use std::path::PathBuf;

/// A position in an input file (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub line: u64,
    pub column: u64,
}

/// A problem with user input.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct InputError {
    pub file: Option<PathBuf>,
    pub location: Option<Location>,
    /// Dotted path of the offending key, e.g. `variants[2].model.C`.
    pub key: Option<String>,
    pub message: String,
    pub hints: Vec<String>,
}

impl InputError {
    pub fn new(message: impl Into<String>) -> Self {
        InputError {
            file: None,
            location: None,
            key: None,
            message: elide_values(&message.into()),
            hints: Vec::new(),
        }
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(elide(&key.into()));
        self
    }

    pub fn at(mut self, location: Option<Location>) -> Self {
        if self.location.is_none() {
            self.location = location;
        }
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(elide_values(&hint.into()));
        self
    }

    pub fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(l) = self.location {
                write!(f, ":{}:{}", l.line, l.column)?;
            }
            f.write_str(": ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Most characters of one value an error repeats: a pasted 100 kB array or a runaway
/// string would otherwise bury the message, and its start is enough to find it.
pub const MAX_ECHO: usize = 60;

/// Backstop for values that slip past the per-value rule (long text with spaces
/// outside quotes): no message is longer than this many characters.
const MAX_MESSAGE: usize = 4000;

/// `text` cut to MAX_ECHO characters, with "…" when something was cut.
pub fn elide(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHO) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// A message with each quoted value ('…', "…" or `…`) and each unbroken run of
/// characters cut to MAX_ECHO. Messages quote the user's values, and a value with no
/// quotes around it (a number, a dotted key) has no spaces, so this reaches every
/// echo without each message site having to remember it. An apostrophe after a
/// letter ("the run's") opens no quote.
fn elide_values(message: &str) -> String {
    let chars: Vec<char> = message.chars().collect();
    let opens = |i: usize| {
        matches!(chars[i], '\'' | '"' | '`') && (i == 0 || !chars[i - 1].is_alphanumeric())
    };
    let push = |out: &mut String, run: &[char]| {
        out.extend(run.iter().take(MAX_ECHO));
        if run.len() > MAX_ECHO {
            out.push('…');
        }
    };
    let mut out = String::with_capacity(message.len().min(MAX_MESSAGE));
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if opens(i) {
            if let Some(len) = chars[i + 1..].iter().position(|&d| d == c) {
                out.push(c);
                push(&mut out, &chars[i + 1..i + 1 + len]);
                out.push(c);
                i += len + 2;
                continue;
            }
        }
        if c.is_whitespace() {
            out.push(c);
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < chars.len() && !chars[i].is_whitespace() && !opens(i) {
            i += 1;
        }
        push(&mut out, &chars[start..i]);
    }
    match out.char_indices().nth(MAX_MESSAGE) {
        Some((end, _)) => format!("{}…", &out[..end]),
        None => out,
    }
}

/// Levenshtein distance, for "did you mean" hints.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            // Case slips (c for C) cost nothing: YAML keys here are case-sensitive names.
            let cost = usize::from(!ca.eq_ignore_ascii_case(cb));
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= c.len().max(word.len()) / 3 || c.eq_ignore_ascii_case(word))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_elided_in_messages_keys_and_hints() {
        let long = "x".repeat(100_000);
        let e = InputError::new(format!("unknown unit '{long}' in \"{long} ms\""))
            .key(format!("grid.{long}"))
            .hint(format!("got {long}"));
        let cut = format!("{}…", "x".repeat(MAX_ECHO));
        assert_eq!(e.message, format!("unknown unit '{cut}' in \"{cut}\""));
        assert_eq!(
            e.key.as_deref(),
            Some(format!("grid.{}…", "x".repeat(55)).as_str())
        );
        assert_eq!(e.hints, vec![format!("got {cut}")]);
        // Long text with spaces outside quotes still ends somewhere.
        let e = InputError::new(format!("at {}", "ab ".repeat(100_000)));
        assert!(
            e.message.chars().count() <= MAX_MESSAGE + 1,
            "{}",
            e.message.len()
        );
        assert!(e.message.ends_with('…'));
    }

    #[test]
    fn short_messages_and_apostrophes_are_kept() {
        for m in [
            "'ten neurons' is not a whole number",
            "the run's input has 2 stimuli; name one as input[0] to input[1]",
            "invalid type: string \"10 ms\", expected u64",
            "an unclosed ' quote",
        ] {
            assert_eq!(InputError::new(m).message, m);
        }
    }

    #[test]
    fn suggests_near_keys() {
        assert_eq!(
            did_you_mean("amplitde", &["amplitude", "start"]),
            Some("amplitude")
        );
        assert_eq!(did_you_mean("c", &["C", "g_L"]), Some("C"));
        assert_eq!(did_you_mean("tau_W", &["tau_w", "tau_m"]), Some("tau_w"));
        assert_eq!(did_you_mean("banana", &["C", "g_L"]), None);
        // One-letter names are all one edit apart: suggest only a case slip.
        assert_eq!(did_you_mean("u", &["V", "I", "w"]), None);
        assert_eq!(did_you_mean("v", &["V", "I", "w"]), Some("V"));
        assert_eq!(
            did_you_mean("rk45", &["euler", "rk4", "exact"]),
            Some("rk4")
        );
    }
}
