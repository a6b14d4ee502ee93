//! `--set PATH=VALUE` overrides: a flag parsed into a path and a YAML value, the flags
//! applied in order to the experiment's YAML document (as a generic tree), the
//! effective document written back as YAML text, and the placing of a problem that
//! text has: on the flag that caused it, or at the line of the user's file. Pure: the
//! caller reads the file and plans the text.

use super::{options, parse, yaml_error};
use crate::error::{elide, InputError, Location};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One `--set PATH=VALUE` flag.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    /// The flag's argument as given, for messages.
    pub flag: String,
    path: Vec<Segment>,
    value: Node,
}

/// A step of a path: a map key or a list index.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// A YAML document as a generic tree: map keys keep their order, and numbers their
/// type. (serde_json's Value would keep the order only with its `preserve_order`
/// feature, which would change the order of every serde_json map in the build.)
#[derive(Clone, Debug, PartialEq)]
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Override {
    /// Parse the argument of one `--set` flag: `PATH=VALUE`, VALUE in YAML.
    pub fn parse(flag: &str) -> Result<Override, InputError> {
        let bad = |message: String| flag_error(flag, message).hint(FORM);
        let Some((path, value)) = flag.split_once('=') else {
            return Err(bad("there is no '=' between PATH and VALUE".into()));
        };
        let path = parse_path(path.trim()).map_err(bad)?;
        if value.trim().is_empty() {
            return Err(flag_error(flag, "the VALUE after '=' is empty".into()).hint(
                "quote the flag for the shell when VALUE has spaces: --set 'model.C=200 pF'; `null` unsets an optional key",
            ));
        }
        let value = serde_saphyr::from_str_with_options::<Node>(value, options()).map_err(|e| {
            bad(format!(
                "VALUE is not valid YAML: {}",
                yaml_error(&e, value).message
            ))
        })?;
        Ok(Override {
            flag: flag.to_string(),
            path,
            value,
        })
    }

    /// The path in the spelling of error keys (`input[0]` of one stimulus is `input`).
    fn key(&self) -> String {
        let mut out = String::new();
        for (i, s) in self.path.iter().enumerate() {
            match s {
                Segment::Key(k) if i == 0 => out.push_str(k),
                Segment::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Segment::Index(n) => out.push_str(&format!("[{n}]")),
            }
        }
        normalize(&out)
    }

    /// Whether a problem at `key` is in the value this flag set: the key is the
    /// flag's path or lies under it.
    fn covers(&self, key: &str) -> bool {
        let (mine, key) = (self.key(), normalize(key));
        key.strip_prefix(&mine)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
    }
}

/// A key with `input[0]` read as `input`: errors name a single stimulus without its
/// index, and a flag may name it either way.
fn normalize(key: &str) -> String {
    key.split('.')
        .map(|s| if s == "input[0]" { "input" } else { s })
        .collect::<Vec<_>>()
        .join(".")
}

/// The flag's form, for hints.
const FORM: &str = "the form is --set PATH=VALUE, VALUE in YAML as in the file: --set model.C=200 pF, --set 'grid.input[0].amplitude={linspace: [0 pA, 1 nA, 5]}'";

/// How messages name the flag `--set flag` in place of a file.
fn flag_name(flag: &str) -> String {
    format!("--set {}", elide(flag))
}

/// An error in the flag `--set flag`, placed on the flag.
fn flag_error(flag: &str, message: String) -> InputError {
    InputError::new(message).in_file(flag_name(flag))
}

/// Whether the path so far ends at a map whose keys are themselves dotted paths
/// (`grid`, `zip[k]`, `per_neuron`, at the top or in `variants[i]`).
fn at_path_keyed_map(path: &[Segment]) -> bool {
    use Segment::{Index, Key};
    let inner = match path {
        [Key(v), Index(_), rest @ ..] if v == "variants" => rest,
        rest => rest,
    };
    match inner {
        [Key(k)] => k == "grid" || k == "per_neuron",
        [Key(k), Index(_)] => k == "zip",
        _ => false,
    }
}

/// `a.b[0].c` into segments; under a path-keyed map the rest is one key.
fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    if path.is_empty() {
        return Err("the PATH before '=' is empty".into());
    }
    let mut segments = Vec::new();
    let mut rest = path;
    loop {
        if at_path_keyed_map(&segments) {
            segments.push(Segment::Key(rest.to_string()));
            return Ok(segments);
        }
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let key = &rest[..end];
        if key.is_empty() {
            return Err(format!(
                "PATH '{path}' has an empty key (a leading or doubled '.', or '[' with no key before it)"
            ));
        }
        if let Some(c) = key.chars().find(|c| c.is_whitespace() || *c == ']') {
            return Err(format!("PATH '{path}' has '{c}' in the key '{key}'"));
        }
        segments.push(Segment::Key(key.to_string()));
        rest = &rest[end..];
        while let Some(inside) = rest.strip_prefix('[') {
            let Some(close) = inside.find(']') else {
                return Err(format!("PATH '{path}' has a '[' without its ']'"));
            };
            let index = &inside[..close];
            let n = index
                .parse::<usize>()
                .ok()
                .filter(|_| index.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| {
                    format!("PATH '{path}': the index '{index}' is not a whole number from 0")
                })?;
            segments.push(Segment::Index(n));
            rest = &inside[close + 1..];
        }
        match rest.strip_prefix('.') {
            None if rest.is_empty() => return Ok(segments),
            Some("") => return Err(format!("PATH '{path}' ends with '.'")),
            Some(after) => rest = after,
            None => {
                return Err(format!(
                    "PATH '{path}': '{rest}' follows ']'; write '.' before a key"
                ))
            }
        }
    }
}

/// The experiment `text` with `overrides` applied in order, as YAML text. A problem of
/// the document itself comes back as the file's own error (no file attached); one of
/// a flag names the flag.
pub fn apply(text: &str, overrides: &[Override]) -> Result<String, InputError> {
    let file_error = |fallback: InputError| parse(text).err().unwrap_or(fallback);
    let mut root = serde_saphyr::from_str_with_options::<Node>(text, options())
        .map_err(|e| file_error(yaml_error(&e, text)))?;
    if !matches!(root, Node::Map(_)) {
        return Err(file_error(
            InputError::new("the experiment is not a map of keys")
                .hint("an experiment needs at least name, duration and dt; see experiments/"),
        ));
    }
    for o in overrides {
        set(&mut root, o)?;
    }
    serde_saphyr::to_string(&root).map_err(|e| {
        InputError::new(format!(
            "cannot write the experiment with --set applied: {e}"
        ))
        .hint("this is a bug in neurodyn; please report it with the flags")
    })
}

/// Put the flag's value at its path, creating missing map keys; an index equal to a
/// list's length appends.
fn set(root: &mut Node, o: &Override) -> Result<(), InputError> {
    let bad = |message: String, hint: String| flag_error(&o.flag, message).hint(hint);
    let mut node = root;
    let mut walked = String::new();
    for segment in &o.path {
        // Missing and null (`analysis:` with nothing after it) are both unset.
        if matches!(node, Node::Null) {
            *node = match segment {
                Segment::Key(_) => Node::Map(Vec::new()),
                Segment::Index(_) => Node::Seq(Vec::new()),
            };
        }
        // As in grid paths, `input[0]` names a single stimulus written as a map, and
        // `input.KEY` the stimulus of a one-item list.
        let at_input = walked == "input" || walked.ends_with(".input");
        if at_input && *segment == Segment::Index(0) && matches!(node, Node::Map(_)) {
            walked.push_str("[0]");
            continue;
        }
        let only_item = matches!(&*node, Node::Seq(items) if items.len() == 1);
        if at_input && only_item && matches!(segment, Segment::Key(_)) {
            node = match node {
                Node::Seq(items) => &mut items[0],
                n => n,
            };
        }
        node = match (node, segment) {
            (Node::Map(entries), Segment::Key(k)) => {
                let at = match entries.iter().position(|(e, _)| e == k) {
                    Some(at) => at,
                    None => {
                        entries.push((k.clone(), Node::Null));
                        entries.len() - 1
                    }
                };
                &mut entries[at].1
            }
            (Node::Seq(items), Segment::Index(i)) => {
                let len = items.len();
                if *i == len {
                    items.push(Node::Null);
                } else if *i > len {
                    return Err(bad(
                        format!("{walked} has {len} items, so [{i}] is past its end"),
                        format!(
                            "[0] to [{}] change an item and [{len}] appends one",
                            len.saturating_sub(1)
                        ),
                    ));
                }
                &mut items[*i]
            }
            (Node::Seq(_), Segment::Key(k)) => {
                return Err(bad(
                    format!("{walked} is a list, so it has no key '{k}'"),
                    format!("name an item: {walked}[0].{k}"),
                ))
            }
            (Node::Map(_), Segment::Index(i)) => {
                return Err(bad(
                    format!("{walked} is a map, not a list, so it has no item [{i}]"),
                    format!("name a key: {walked}.KEY"),
                ))
            }
            (scalar, segment) => {
                let what = match segment {
                    Segment::Key(k) => format!("no key '{k}'"),
                    Segment::Index(i) => format!("no item [{i}]"),
                };
                return Err(bad(
                    format!(
                        "{walked} is a single value ({}), so it has {what}",
                        scalar.describe()
                    ),
                    format!("set the value itself: --set {walked}=VALUE"),
                ));
            }
        };
        match segment {
            Segment::Key(k) if walked.is_empty() => walked.push_str(k),
            Segment::Key(k) => {
                walked.push('.');
                walked.push_str(k);
            }
            Segment::Index(i) => walked.push_str(&format!("[{i}]")),
        }
    }
    *node = o.value.clone();
    Ok(())
}

impl Node {
    /// A scalar as a message quotes it.
    fn describe(&self) -> String {
        match self {
            Node::Null => "null".into(),
            Node::Bool(b) => b.to_string(),
            Node::Int(x) => x.to_string(),
            Node::UInt(x) => x.to_string(),
            Node::Float(x) => x.to_string(),
            Node::Str(s) => format!("'{s}'"),
            Node::Seq(_) => "a list".into(),
            Node::Map(_) => "a map".into(),
        }
    }
}

/// Places the problems (errors or warnings) of an experiment with overrides applied,
/// whose locations point into generated text: on the flag whose value holds the
/// problem's key; else at the user's file, when the file alone has a problem at the
/// same key; else on the first flag with which the problem appears. Remembers the
/// problems of the file and of each prefix of the flags, since finding them means
/// planning the experiment.
pub struct Blame<'a, F> {
    original: &'a str,
    overrides: &'a [Override],
    problems_of: F,
    /// The problems with the first k flags applied, for each k looked at.
    seen: Vec<Option<Vec<InputError>>>,
}

impl<'a, F: FnMut(&str) -> Vec<InputError>> Blame<'a, F> {
    /// `problems_of` gives the problems of an experiment text, of the kind placed.
    pub fn new(original: &'a str, overrides: &'a [Override], problems_of: F) -> Self {
        Blame {
            original,
            overrides,
            problems_of,
            seen: vec![None; overrides.len() + 1],
        }
    }

    fn problems(&mut self, k: usize) -> &[InputError] {
        if self.seen[k].is_none() {
            let found = if k == 0 {
                (self.problems_of)(self.original)
            } else {
                // The whole list applied, so every prefix does.
                match apply(self.original, &self.overrides[..k]) {
                    Ok(text) => (self.problems_of)(&text),
                    Err(_) => Vec::new(),
                }
            };
            self.seen[k] = Some(found);
        }
        self.seen[k].as_deref().unwrap_or_default()
    }

    /// `problem` of the effective experiment, placed. A problem left with no file is
    /// the user's file's, at its line.
    pub fn place(&mut self, problem: InputError) -> InputError {
        let on_flag = |o: &Override, p: InputError| InputError {
            file: Some(flag_name(&o.flag).into()),
            location: None,
            ..p
        };
        if let Some(key) = problem.key.clone() {
            if let Some(o) = self.overrides.iter().rev().find(|o| o.covers(&key)) {
                return on_flag(o, problem);
            }
        }
        let same_place = |p: &InputError, q: &InputError| match (&p.key, &q.key) {
            (Some(a), Some(b)) => a == b,
            (None, None) => p.message == q.message,
            _ => false,
        };
        let in_file: Option<Option<Location>> = self
            .problems(0)
            .iter()
            .find(|q| same_place(&problem, q))
            .map(|q| q.location);
        if let Some(location) = in_file {
            return InputError {
                location,
                ..problem
            };
        }
        let same = |q: &InputError| q.key == problem.key && q.message == problem.message;
        for k in 1..=self.overrides.len() {
            if self.problems(k).iter().any(same) {
                return on_flag(&self.overrides[k - 1], problem);
            }
        }
        match self.overrides.last() {
            Some(o) => on_flag(o, problem),
            None => problem,
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a YAML value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
                Node::deserialize(d)
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Node, E> {
                Ok(Node::Bool(b))
            }
            fn visit_i64<E: de::Error>(self, x: i64) -> Result<Node, E> {
                Ok(Node::Int(x))
            }
            fn visit_u64<E: de::Error>(self, x: u64) -> Result<Node, E> {
                Ok(Node::UInt(x))
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<Node, E> {
                Ok(Node::Float(x))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Node, E> {
                Ok(Node::Str(s.to_string()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Node, E> {
                Ok(Node::Str(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries: Vec<(String, Node)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Node>()? {
                    // Left to the experiment's parser, which says where.
                    if entries.iter().any(|(e, _)| *e == k) {
                        return Err(de::Error::custom(format!("the key '{k}' appears twice")));
                    }
                    entries.push((k, v));
                }
                Ok(Node::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => s.serialize_unit(),
            Node::Bool(b) => s.serialize_bool(*b),
            Node::Int(x) => s.serialize_i64(*x),
            Node::UInt(x) => s.serialize_u64(*x),
            Node::Float(x) => s.serialize_f64(*x),
            Node::Str(t) => s.serialize_str(t),
            Node::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::plan::plan;
    use std::path::Path;

    const BASE: &str = "\
name: t
duration: 1 s
dt: 0.1 ms
model: {type: lif, C: 200 pF}
input: {type: constant, amplitude: 500 pA}
analysis:
grid:
  input.amplitude: [0 pA, 1 nA]
variants:
  - {label: a}
  - {label: b, model: {type: adex}}
";

    fn tree(text: &str) -> Node {
        serde_saphyr::from_str_with_options::<Node>(text, options()).unwrap()
    }

    fn flags(flags: &[&str]) -> Vec<Override> {
        flags.iter().map(|f| Override::parse(f).unwrap()).collect()
    }

    /// BASE with `flags` applied, as a tree.
    fn applied(flags_: &[&str]) -> Node {
        let out = apply(BASE, &flags(flags_)).unwrap_or_else(|e| panic!("{e}"));
        // The effective text is an experiment the parser takes.
        parse(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
        tree(&out)
    }

    /// BASE with `from` replaced by `to`, as a tree.
    fn edited(from: &str, to: &str) -> Node {
        assert!(BASE.contains(from), "{from}");
        tree(&BASE.replacen(from, to, 1))
    }

    fn refused(flag: &str) -> InputError {
        match Override::parse(flag) {
            Err(e) => e,
            Ok(o) => apply(BASE, &[o]).expect_err(flag),
        }
    }

    fn key(s: &str) -> Segment {
        Segment::Key(s.into())
    }

    #[test]
    fn paths_split_at_dots_and_indices() {
        use Segment::Index;
        let cases: &[(&str, Vec<Segment>)] = &[
            ("duration", vec![key("duration")]),
            ("model.C", vec![key("model"), key("C")]),
            (
                "input[0].amplitude",
                vec![key("input"), Index(0), key("amplitude")],
            ),
            (
                "variants[12].model.a",
                vec![key("variants"), Index(12), key("model"), key("a")],
            ),
            ("record.every", vec![key("record"), key("every")]),
        ];
        for (path, want) in cases {
            assert_eq!(&parse_path(path).unwrap(), want, "{path}");
        }
    }

    #[test]
    fn under_grid_zip_and_per_neuron_the_rest_is_one_key() {
        use Segment::Index;
        let cases: &[(&str, Vec<Segment>)] = &[
            (
                "grid.input[0].amplitude",
                vec![key("grid"), key("input[0].amplitude")],
            ),
            ("zip[1].model.a", vec![key("zip"), Index(1), key("model.a")]),
            (
                "per_neuron.model.a",
                vec![key("per_neuron"), key("model.a")],
            ),
            (
                "variants[0].grid.model.tau_w",
                vec![key("variants"), Index(0), key("grid"), key("model.tau_w")],
            ),
            (
                "variants[2].zip[0].input[1].amplitude",
                vec![
                    key("variants"),
                    Index(2),
                    key("zip"),
                    Index(0),
                    key("input[1].amplitude"),
                ],
            ),
            (
                "variants[0].per_neuron.initial.V",
                vec![
                    key("variants"),
                    Index(0),
                    key("per_neuron"),
                    key("initial.V"),
                ],
            ),
            // Only in those places: a key named grid deeper down is an ordinary key.
            ("model.grid.x", vec![key("model"), key("grid"), key("x")]),
        ];
        for (path, want) in cases {
            assert_eq!(&parse_path(path).unwrap(), want, "{path}");
        }
    }

    #[test]
    fn malformed_paths_say_what_is_wrong() {
        for (path, says) in [
            ("", "is empty"),
            ("model..C", "empty key"),
            (".model", "empty key"),
            ("[0].a", "empty key"),
            ("model.", "ends with '.'"),
            ("grid.", "ends with '.'"),
            ("input[x].amplitude", "the index 'x'"),
            ("input[-1].amplitude", "the index '-1'"),
            ("input[+1].amplitude", "the index '+1'"),
            ("input[].amplitude", "the index ''"),
            ("input[99999999999999999999999].a", "is not a whole number"),
            ("input[0.amplitude", "without its ']'"),
            ("input[0]amplitude", "'amplitude' follows ']'"),
            ("mod el.C", "' ' in the key"),
            ("model]C", "']' in the key"),
        ] {
            let e = parse_path(path).expect_err(path);
            assert!(e.contains(says), "{path}: {e}");
        }
    }

    #[test]
    fn malformed_flags_are_errors_on_the_flag() {
        for (flag, says) in [
            ("model.C", "there is no '='"),
            ("=3", "the PATH before '=' is empty"),
            ("model..C=3 pF", "empty key"),
            ("model.C=", "the VALUE after '=' is empty"),
            ("model.C=  ", "the VALUE after '=' is empty"),
            ("model.C=[1 pF", "VALUE is not valid YAML"),
            ("model.C={a: 1", "VALUE is not valid YAML"),
            ("model.C=a\n---\nb", "VALUE is not valid YAML"),
        ] {
            let e = Override::parse(flag).expect_err(flag);
            assert_eq!(e.file.as_deref(), Some(Path::new(&format!("--set {flag}"))));
            assert!(e.location.is_none() && e.key.is_none());
            assert!(e.message.contains(says), "{flag}: {}", e.message);
            assert!(!e.hints.is_empty(), "{flag}");
        }
    }

    #[test]
    fn values_are_yaml_as_in_the_file() {
        let value = |flag: &str| Override::parse(flag).unwrap().value;
        assert_eq!(value("model.C=500 pA"), Node::Str("500 pA".into()));
        assert_eq!(value("replicates=3"), Node::UInt(3));
        assert_eq!(value("a=-3"), Node::Int(-3));
        assert_eq!(value("a=0.25"), Node::Float(0.25));
        assert_eq!(value("a='3'"), Node::Str("3".into()));
        assert_eq!(value("a=true"), Node::Bool(true));
        assert_eq!(value("a=null"), Node::Null);
        assert_eq!(value("a=x=y"), Node::Str("x=y".into()));
        assert_eq!(value("a=[0 ms, 2 ms]"), tree("[0 ms, 2 ms]"));
        assert_eq!(
            value("a={linspace: [400 pA, 1 nA, 4]}"),
            tree("{linspace: [400 pA, 1 nA, 4]}")
        );
        // Spaces around the path are the shell's, not the key's.
        assert_eq!(
            Override::parse(" model.C =1 pF").unwrap().path,
            parse_path("model.C").unwrap()
        );
    }

    #[test]
    fn a_flag_replaces_the_value_at_its_path_and_keeps_the_order() {
        assert_eq!(
            applied(&["duration=2 s"]),
            edited("duration: 1 s", "duration: 2 s")
        );
        assert_eq!(
            applied(&["model.C=300 pF"]),
            edited("C: 200 pF", "C: 300 pF")
        );
        assert_eq!(
            applied(&["variants[1].model.type=eif"]),
            edited("type: adex", "type: eif")
        );
        assert_eq!(
            applied(&["model={type: eif}"]),
            edited("{type: lif, C: 200 pF}", "{type: eif}")
        );
        // In order: the last flag on a path wins.
        assert_eq!(
            applied(&["duration=2 s", "duration=3 s"]),
            edited("duration: 1 s", "duration: 3 s")
        );
    }

    #[test]
    fn missing_keys_are_created_and_null_counts_as_missing() {
        assert_eq!(
            applied(&["analysis.window=[0 ms, 500 ms]"]),
            edited("analysis:\n", "analysis: {window: [0 ms, 500 ms]}\n")
        );
        assert_eq!(
            applied(&["seed=5"]),
            edited(
                "variants:\n  - {label: a}\n  - {label: b, model: {type: adex}}\n",
                "variants:\n  - {label: a}\n  - {label: b, model: {type: adex}}\nseed: 5\n"
            )
        );
        assert_eq!(
            applied(&["record.every=2"]),
            tree(&format!("{BASE}record: {{every: 2}}\n"))
        );
        assert_eq!(
            applied(&["variants[0].model.C=100 pF"]),
            edited("{label: a}", "{label: a, model: {C: 100 pF}}")
        );
    }

    #[test]
    fn grid_keys_are_one_key() {
        assert_eq!(
            applied(&["grid.input.amplitude={linspace: [0 pA, 1 nA, 5]}"]),
            edited("[0 pA, 1 nA]", "{linspace: [0 pA, 1 nA, 5]}")
        );
        assert_eq!(
            applied(&["grid.model.C=[100 pF, 200 pF]"]),
            edited(
                "[0 pA, 1 nA]\n",
                "[0 pA, 1 nA]\n  model.C: [100 pF, 200 pF]\n"
            )
        );
        assert_eq!(
            applied(&["variants[1].grid.model.tau_w=[50 ms, 144 ms]"]),
            edited(
                "model: {type: adex}}",
                "model: {type: adex}, grid: {model.tau_w: [50 ms, 144 ms]}}"
            )
        );
        assert_eq!(
            applied(&[
                "zip[0].model.C=[100 pF, 200 pF]",
                "zip[0].model.g_L=[10 nS, 20 nS]"
            ]),
            tree(&format!(
                "{BASE}zip:\n  - {{model.C: [100 pF, 200 pF], model.g_L: [10 nS, 20 nS]}}\n"
            ))
        );
        assert_eq!(
            applied(&["per_neuron.model.C={normal: [200 pF, 10 pF]}"]),
            tree(&format!(
                "{BASE}per_neuron: {{model.C: {{normal: [200 pF, 10 pF]}}}}\n"
            ))
        );
    }

    #[test]
    fn an_index_at_the_end_appends() {
        assert_eq!(
            applied(&["variants[2]={label: c}"]),
            tree(&format!("{BASE}  - {{label: c}}\n"))
        );
        let e = refused("variants[3].label=c");
        assert!(
            e.message
                .contains("variants has 2 items, so [3] is past its end"),
            "{}",
            e.message
        );
        assert!(e.hints[0].contains("[2] appends one"), "{:?}", e.hints);
    }

    #[test]
    fn a_single_stimulus_is_input_and_input_0() {
        let as_list = "input: [{type: constant, amplitude: 500 pA}]";
        let listed = BASE.replace("input: {type: constant, amplitude: 500 pA}", as_list);
        let set = |text: &str, flag: &str| tree(&apply(text, &flags(&[flag])).unwrap());
        let want = edited("amplitude: 500 pA", "amplitude: 1 nA");
        assert_eq!(set(BASE, "input[0].amplitude=1 nA"), want);
        assert_eq!(set(BASE, "input.amplitude=1 nA"), want);
        let want = tree(&listed.replace("500 pA", "1 nA"));
        assert_eq!(set(&listed, "input.amplitude=1 nA"), want);
        assert_eq!(set(&listed, "input[0].amplitude=1 nA"), want);
    }

    #[test]
    fn a_path_through_a_scalar_or_the_wrong_container_is_refused() {
        for (flag, says) in [
            (
                "duration.x=1",
                "duration is a single value ('1 s'), so it has no key 'x'",
            ),
            (
                "model.C.x=1",
                "model.C is a single value ('200 pF'), so it has no key 'x'",
            ),
            (
                "name[0]=x",
                "name is a single value ('t'), so it has no item [0]",
            ),
            (
                "model[0].C=1 pF",
                "model is a map, not a list, so it has no item [0]",
            ),
            (
                "variants.label=x",
                "variants is a list, so it has no key 'label'",
            ),
            (
                "input[1].amplitude=1 pA",
                "input is a map, not a list, so it has no item [1]",
            ),
        ] {
            let e = refused(flag);
            assert_eq!(
                e.file.as_deref(),
                Some(Path::new(&format!("--set {flag}"))),
                "{flag}"
            );
            assert!(e.message.contains(says), "{flag}: {}", e.message);
            assert!(!e.hints.is_empty(), "{flag}");
        }
    }

    #[test]
    fn numbers_and_strings_survive_the_round_trip() {
        let text = BASE
            .replace("C: 200 pF", "C: 1e999 pF, E_L: '-70', t_ref: 0.1, V_T: -3")
            .replace("name: t", "name: '12'\nseed: 18446744073709551615");
        let out = apply(&text, &flags(&["duration=2 s"])).unwrap();
        assert_eq!(tree(&out), tree(&text.replace("1 s", "2 s")));
        let model = |n: &Node| match n {
            Node::Map(top) => top
                .iter()
                .find(|(k, _)| k == "model")
                .map(|(_, m)| m.clone()),
            _ => None,
        };
        assert_eq!(
            model(&tree(&out)),
            Some(tree(
                "{type: lif, C: 1e999 pF, E_L: '-70', t_ref: 0.1, V_T: -3}"
            ))
        );
        let raw = parse(&out).unwrap();
        assert_eq!(raw.seed.unwrap().value, u64::MAX);
        assert_eq!(raw.name.value, "12");
    }

    #[test]
    fn problems_of_the_document_itself_are_the_files() {
        for (text, says) in [
            ("", "the experiment file is empty"),
            ("# only\n", "only comments"),
            ("[1, 2]", "expected mapping"),
            ("name: t\nname: u\n", "appears twice"),
            ("name: t\ndescription: 'abc\n", "unclosed quote"),
        ] {
            let e = apply(text, &flags(&["seed=1"])).expect_err(text);
            assert!(e.file.is_none(), "{text}: {e}");
            assert!(e.message.contains(says), "{text}: {}", e.message);
        }
        // An error of the file a flag fixes is no error: a missing dt.
        let text = BASE.replace("dt: 0.1 ms\n", "");
        assert!(parse(&text).is_err());
        let out = apply(&text, &flags(&["dt=0.1 ms"])).unwrap();
        parse(&out).unwrap();
    }

    fn plan_problems(text: &str) -> Vec<InputError> {
        parse(text)
            .and_then(|raw| plan(&raw))
            .err()
            .into_iter()
            .collect()
    }

    /// The error of BASE (as changed by `change`) with `flags` applied, placed.
    fn placed(change: (&str, &str), flags_: &[&str]) -> InputError {
        let original = BASE.replacen(change.0, change.1, 1);
        let overrides = flags(flags_);
        let text = apply(&original, &overrides).unwrap();
        let e = plan_problems(&text).pop().expect("an error");
        Blame::new(&original, &overrides, plan_problems).place(e)
    }

    #[test]
    fn an_error_in_a_flags_value_names_the_flag() {
        let e = placed(("", ""), &["seed=2", "model.C=5 V"]);
        assert_eq!(e.file.as_deref(), Some(Path::new("--set model.C=5 V")));
        assert_eq!(e.location, None);
        assert_eq!(e.key.as_deref(), Some("model.C"));
        assert!(e.message.contains("'5 V' is a voltage"), "{}", e.message);
        assert!(
            e.to_string()
                .starts_with("--set model.C=5 V: model.C: '5 V'"),
            "{e}"
        );
        // Under the flag's path, through a single stimulus written either way.
        // (The grid sweeps the amplitude, so these set another key.)
        let e = placed(
            ("", ""),
            &["input={type: constant, amplitude: 1 pA, start: 1 ms}"],
        );
        assert!(e.to_string().starts_with("--set input={type"), "{e}");
        assert_eq!(e.key.as_deref(), Some("input.start"));
        let e = placed(("", ""), &["input[0].start=1 ms"]);
        assert!(
            e.to_string()
                .starts_with("--set input[0].start=1 ms: input.start:"),
            "{e}"
        );
        // The flag wins over the file's own error at the same key.
        let e = placed(("C: 200 pF", "C: -1 pF"), &["model.C=5 V"]);
        assert!(e.to_string().starts_with("--set model.C=5 V:"), "{e}");
    }

    #[test]
    fn an_unknown_key_made_by_a_flag_names_the_flag() {
        let original = BASE;
        let overrides = flags(&["seed=2", "modle.C=1 pF"]);
        let text = apply(original, &overrides).unwrap();
        let e = parse(&text).unwrap_err();
        let e = Blame::new(original, &overrides, plan_problems).place(e);
        assert!(
            e.to_string()
                .starts_with("--set modle.C=1 pF: unknown key 'modle'"),
            "{e}"
        );
        assert!(
            e.hints[0].starts_with("allowed keys here: name,"),
            "{:?}",
            e.hints
        );
    }

    #[test]
    fn an_error_of_the_file_keeps_its_line() {
        let e = placed(
            ("dt: 0.1 ms", "dt: 0.1 parsecs"),
            &["seed=2", "model.C=300 pF"],
        );
        assert!(e.file.is_none(), "{e}");
        assert_eq!(e.key.as_deref(), Some("dt"));
        assert_eq!(e.location.map(|l| l.line), Some(3));
        assert!(
            e.message.contains("unknown unit 'parsecs'"),
            "{}",
            e.message
        );
    }

    #[test]
    fn an_error_of_flags_together_names_the_flag_it_appears_with() {
        // The file's duration is no whole number of the flag's dt: the error is at
        // duration, which no flag set.
        let e = placed(("", ""), &["seed=2", "dt=0.3 ms", "replicates=2"]);
        assert_eq!(e.key.as_deref(), Some("duration"));
        assert!(
            e.to_string().starts_with("--set dt=0.3 ms: duration:"),
            "{e}"
        );
        // A flag on the key itself is named first.
        let e = placed(("", ""), &["duration=1000.1 ms", "seed=2", "dt=0.3 ms"]);
        assert!(
            e.to_string().starts_with("--set duration=1000.1 ms:"),
            "{e}"
        );
    }
}
