//! The source line under an input error, with a caret under the offending value, as
//! compilers show it. Read from the file when the error is printed: the library's
//! errors carry a place (file, line, column), not the text.

use crate::error::Location;
use std::path::Path;

/// Widest stretch of a line shown; a longer line is cut around the value, with `…`
/// where it was cut, so a pasted one-line array does not flood the terminal.
const WIDTH: usize = 100;

/// The lines to print under `error:` for a problem at `loc` in the file at `path`,
/// or None when the file or the line cannot be read (stdin, a file changed since).
pub fn render(path: &Path, loc: Location) -> Option<String> {
    // Experiment files are capped at a few MiB, and this runs once, on an error. A
    // file that is not UTF-8 (itself an error) is shown with replacement characters.
    let bytes = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let line = text
        .lines()
        .nth(usize::try_from(loc.line).ok()?.checked_sub(1)?)?;
    let chars: Vec<char> = line.chars().collect();
    let start = usize::try_from(loc.column).ok()?.checked_sub(1)?;
    if start > chars.len() {
        return None;
    }
    let end = span_end(&chars, start);
    // The window of the line shown: the whole line when it fits, else WIDTH
    // characters starting a little before the value.
    let (from, to) = if chars.len() <= WIDTH {
        (0, chars.len())
    } else {
        let from = start.saturating_sub(WIDTH / 4);
        (from, (from + WIDTH).min(chars.len()))
    };
    let mut shown: String = chars[from..to].iter().collect();
    let mut offset = start - from;
    if from > 0 {
        shown.insert(0, '…');
        offset += 1;
    }
    if to < chars.len() {
        shown.push('…');
    }
    let carets = end.min(to).saturating_sub(start).max(1);
    let number = loc.line.to_string();
    let pad = " ".repeat(number.len());
    Some(format!(
        "{pad} |\n{number} | {shown}\n{pad} | {}{}",
        " ".repeat(offset),
        "^".repeat(carets)
    ))
}

/// Where the value starting at `start` ends: its closing quote or bracket, else the
/// next separator of a flow collection, a comment or the end of the line.
fn span_end(chars: &[char], start: usize) -> usize {
    let Some(&first) = chars.get(start) else {
        return start;
    };
    match first {
        '"' | '\'' => chars[start + 1..]
            .iter()
            .position(|&c| c == first)
            .map_or(chars.len(), |p| start + p + 2),
        '{' | '[' => {
            let mut depth = 0usize;
            for (i, &c) in chars.iter().enumerate().skip(start) {
                match c {
                    '{' | '[' => depth += 1,
                    '}' | ']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
            }
            chars.len()
        }
        _ => {
            let stop = chars[start..]
                .iter()
                .position(|&c| matches!(c, ',' | '}' | ']' | '#'))
                .map_or(chars.len(), |p| start + p);
            // Trailing blanks before the separator are not part of the value.
            let mut end = stop;
            while end > start + 1 && chars[end - 1].is_whitespace() {
                end -= 1;
            }
            end
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, line: u64, column: u64) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.yaml");
        std::fs::write(&path, text).unwrap();
        render(&path, Location { line, column }).unwrap()
    }

    #[test]
    fn the_caret_runs_under_the_whole_value() {
        let text = "name: t\nmodel: {type: lif, C: 5 V}\n";
        assert_eq!(
            at(text, 2, 23),
            "  |\n2 | model: {type: lif, C: 5 V}\n  |                       ^^^"
        );
        assert_eq!(
            at("a: \"10 ms\" # x\n", 1, 4),
            "  |\n1 | a: \"10 ms\" # x\n  |    ^^^^^^^"
        );
        assert_eq!(
            at("grid: {x: [1, 2]}\n", 1, 11),
            "  |\n1 | grid: {x: [1, 2]}\n  |           ^^^^^^"
        );
        // A place at the end of the line (a missing value) still gets one caret.
        assert_eq!(at("dt:\n", 1, 4), "  |\n1 | dt:\n  |    ^");
    }

    #[test]
    fn long_lines_are_cut_around_the_value() {
        let long = format!("x: [{}BAD, {}2]\n", "1, ".repeat(200), "2, ".repeat(100));
        let shown = at(&long, 1, 605);
        let lines: Vec<&str> = shown.lines().collect();
        assert!(
            lines[1].starts_with("1 | …") && lines[1].ends_with('…'),
            "{shown}"
        );
        assert!(lines[1].chars().count() <= WIDTH + 6);
        // The caret sits under the B of BAD (counted in characters: `…` is one).
        let caret = lines[2].chars().position(|c| c == '^').unwrap();
        let under: String = lines[1].chars().skip(caret).take(3).collect();
        assert_eq!(under, "BAD");
    }

    #[test]
    fn places_outside_the_file_give_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.yaml");
        std::fs::write(&path, "a: 1\n").unwrap();
        assert_eq!(render(&path, Location { line: 9, column: 1 }), None);
        assert_eq!(
            render(
                &path,
                Location {
                    line: 1,
                    column: 40
                }
            ),
            None
        );
        assert_eq!(
            render(&dir.path().join("missing"), Location { line: 1, column: 1 }),
            None
        );
    }
}
