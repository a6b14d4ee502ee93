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
            message: message.into(),
            hints: Vec::new(),
        }
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    pub fn at(mut self, location: Option<Location>) -> Self {
        if self.location.is_none() {
            self.location = location;
        }
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
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
