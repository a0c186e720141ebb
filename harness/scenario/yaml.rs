//! The only file that touches YAML crates (serde_yaml is unmaintained; when it
//! is replaced, only this file changes).
//!
//! Two passes over the text: yaml-rust2's marked events build a span index
//! (key path → line/column), and serde_yaml parses a [`Node`] tree that the
//! raw structs are deserialized from, one section entry at a time, through
//! serde_path_to_error so every error knows its key path.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A parsed YAML value. Other files treat it as opaque and use the helpers
/// below.
pub type Node = serde_yaml::Value;

/// Key path → (line, column), both 1-based. Mapping entries are located at
/// their key, sequence items at the item.
#[derive(Debug, Default)]
pub struct Spans {
    map: HashMap<String, (usize, usize)>,
}

impl Spans {
    pub fn build(text: &str) -> Spans {
        let mut b = SpanBuilder::default();
        // A scan error leaves a partial index; serde_yaml reports the syntax
        // error itself, with its own location.
        let _ = Parser::new_from_str(text).load(&mut b, false);
        Spans { map: b.spans }
    }

    /// The span of `path`, or of its nearest located ancestor (a missing key
    /// is reported where its mapping is), or 1:1.
    pub fn resolve(&self, path: &str) -> (usize, usize) {
        let mut p = path;
        loop {
            if let Some(s) = self.map.get(p) {
                return *s;
            }
            if p.is_empty() {
                return (1, 1);
            }
            p = parent(p);
        }
    }
}

/// `a.b[2]` → `a.b` → `a` → ``.
pub fn parent(path: &str) -> &str {
    match path.rfind(['.', '[']) {
        Some(i) => &path[..i],
        None => "",
    }
}

/// Appends a mapping key to a path.
pub fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_string()
    } else {
        format!("{base}.{key}")
    }
}

enum Frame {
    Map {
        path: String,
        /// The key whose value comes next; `None` while expecting a key.
        key: Option<String>,
        /// The span was taken from the MappingStart event, which in block
        /// style points past the first key; the first key corrects it.
        provisional: bool,
    },
    Seq {
        path: String,
        index: usize,
    },
}

#[derive(Default)]
struct SpanBuilder {
    stack: Vec<Frame>,
    spans: HashMap<String, (usize, usize)>,
}

impl SpanBuilder {
    /// A node starts at `mark`; returns its path, or None when it is a key.
    fn start(&mut self, mark: Marker, scalar: Option<&str>) -> Option<String> {
        let pos = (mark.line(), mark.col() + 1); // yaml-rust2 columns are 0-based
        match self.stack.last_mut() {
            None => {
                self.spans.insert(String::new(), pos);
                Some(String::new())
            }
            Some(Frame::Seq { path, index }) => {
                let p = format!("{path}[{index}]");
                self.spans.insert(p.clone(), pos);
                Some(p)
            }
            Some(Frame::Map {
                path, key: Some(k), ..
            }) => Some(join(path, k)),
            Some(Frame::Map {
                path,
                key: None,
                provisional,
            }) => {
                if let Some(k) = scalar {
                    let p = join(path, k);
                    if *provisional {
                        *provisional = false;
                        if let Some(s) = self.spans.get_mut(path.as_str()) {
                            *s = (*s).min(pos);
                        }
                    }
                    self.spans.entry(p).or_insert(pos);
                }
                None
            }
        }
    }

    /// A node ended; advance the parent.
    fn finish(&mut self, scalar: Option<&str>) {
        match self.stack.last_mut() {
            Some(Frame::Seq { index, .. }) => *index += 1,
            Some(Frame::Map { key, .. }) => {
                *key = match key {
                    Some(_) => None,
                    None => Some(scalar.unwrap_or("?").to_string()),
                }
            }
            None => {}
        }
    }
}

impl MarkedEventReceiver for SpanBuilder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(ref s, ..) => {
                self.start(mark, Some(s));
                self.finish(Some(s));
            }
            Event::Alias(_) => {
                self.start(mark, None);
                self.finish(None);
            }
            Event::MappingStart(..) => {
                let path = self.start(mark, None).unwrap_or_else(|| "?".into());
                self.stack.push(Frame::Map {
                    path,
                    key: None,
                    provisional: true,
                });
            }
            Event::SequenceStart(..) => {
                let path = self.start(mark, None).unwrap_or_else(|| "?".into());
                self.stack.push(Frame::Seq { path, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.finish(None);
            }
            _ => {}
        }
    }
}

/// A syntax error, located by serde_yaml.
#[derive(Debug)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses the whole text into one tree (merge keys `<<` applied).
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut node: Node = serde_yaml::from_str(text).map_err(|e| {
        let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
        SyntaxError {
            line,
            column,
            message: strip_location(&e.to_string()),
        }
    })?;
    // A broken merge is left as written; deserialization then reports `<<`.
    let _ = node.apply_merge();
    Ok(node)
}

/// Removes serde_yaml's " at line N column M" (we print our own location).
fn strip_location(msg: &str) -> String {
    let Some(i) = msg.find(" at line ") else {
        return msg.to_string();
    };
    let rest = &msg[i + " at line ".len()..];
    let end = rest
        .find(" column ")
        .map(|j| j + " column ".len())
        .and_then(|j| {
            let digits = rest[j..].chars().take_while(|c| c.is_ascii_digit()).count();
            (digits > 0).then_some(j + digits)
        });
    match end {
        Some(j) => format!("{}{}", &msg[..i], &rest[j..]),
        None => msg.to_string(),
    }
}

/// A deserialization error: the path (relative to the node deserialized,
/// in our `a[0].b` form) and serde's message.
#[derive(Debug)]
pub struct DeError {
    pub path: String,
    pub message: String,
}

/// Deserializes a raw struct from a node, keeping the path of any error.
pub fn from_node<T: DeserializeOwned>(node: &Node) -> Result<T, DeError> {
    serde_path_to_error::deserialize(node.clone()).map_err(|e| {
        let mut path = String::new();
        for seg in e.path().iter() {
            match seg {
                Segment::Seq { index } => path.push_str(&format!("[{index}]")),
                Segment::Map { key } => path = join(&path, key),
                Segment::Enum { .. } => {}
                Segment::Unknown => break,
            }
        }
        DeError {
            path,
            message: e.into_inner().to_string(),
        }
    })
}

/// What a node is, for messages ("expected a mapping, found a list").
pub fn describe(node: &Node) -> &'static str {
    match node {
        Node::Null => "nothing",
        Node::Bool(_) => "a boolean",
        Node::Number(_) => "a number",
        Node::String(_) => "a string",
        Node::Sequence(_) => "a list",
        Node::Mapping(_) => "a mapping",
        Node::Tagged(_) => "a tagged value",
    }
}

pub fn is_mapping(node: &Node) -> bool {
    node.is_mapping()
}

pub fn as_list(node: &Node) -> Option<&[Node]> {
    node.as_sequence().map(|s| s.as_slice())
}

/// The entries of a mapping, keys rendered as text, in file order.
pub fn entries(node: &Node) -> Option<Vec<(String, &Node)>> {
    let m = node.as_mapping()?;
    Some(m.iter().map(|(k, v)| (scalar_text(k), v)).collect())
}

pub fn get<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    node.get(key)
}

/// A copy of a mapping with `key` set to `value` (or removed when None),
/// keeping the other keys in place.
pub fn with_key(node: &Node, key: &str, value: Option<Node>) -> Node {
    let mut out = node.clone();
    if let Some(m) = out.as_mapping_mut() {
        match value {
            Some(v) => {
                m.insert(Node::String(key.to_string()), v);
            }
            None => {
                m.remove(key);
            }
        }
    }
    out
}

/// A list of strings, or a single string as a one-item list.
pub fn string_list(node: &Node) -> Option<Vec<String>> {
    match node {
        Node::String(s) => Some(vec![s.clone()]),
        Node::Sequence(items) => items.iter().map(|i| i.as_str().map(String::from)).collect(),
        _ => None,
    }
}

pub fn strings_node(items: &[String]) -> Node {
    Node::Sequence(items.iter().cloned().map(Node::String).collect())
}

/// How a vary value appears in a name: scalars as written, lists joined by
/// `,`, maps as `k=v`.
pub fn label(node: &Node) -> String {
    match node {
        Node::Sequence(items) => items.iter().map(label).collect::<Vec<_>>().join(","),
        Node::Mapping(m) => m
            .iter()
            .map(|(k, v)| format!("{}={}", scalar_text(k), label(v)))
            .collect::<Vec<_>>()
            .join(","),
        Node::Tagged(t) => label(&t.value),
        other => scalar_text(other),
    }
}

fn scalar_text(node: &Node) -> String {
    match node {
        Node::Null => "null".into(),
        Node::Bool(b) => b.to_string(),
        Node::Number(n) => n.to_string(),
        Node::String(s) => s.clone(),
        other => describe(other).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_point_at_keys_and_items() {
        let text = "a: 1\nlist:\n  - name: x\n    fsnyc: y\n  - {name: z, n: 2}\n";
        let s = Spans::build(text);
        assert_eq!(s.resolve("a"), (1, 1));
        assert_eq!(s.resolve("list"), (2, 1));
        assert_eq!(s.resolve("list[0]"), (3, 5));
        assert_eq!(s.resolve("list[0].fsnyc"), (4, 5));
        assert_eq!(s.resolve("list[1]"), (5, 5));
        assert_eq!(s.resolve("list[1].n"), (5, 15));
        // Missing keys fall back to their mapping.
        assert_eq!(s.resolve("list[1].missing"), (5, 5));
        assert_eq!(s.resolve(""), (1, 1));
    }

    #[test]
    fn locations_are_stripped() {
        assert_eq!(
            strip_location("did not find x at line 3 column 1, while parsing"),
            "did not find x, while parsing"
        );
        assert_eq!(strip_location("plain"), "plain");
    }

    #[test]
    fn labels() {
        let n: Node = serde_yaml::from_str("[[a, b], {every: 8}, 1s, 4]").unwrap();
        let l: Vec<String> = as_list(&n).unwrap().iter().map(label).collect();
        assert_eq!(l, ["a,b", "every=8", "1s", "4"]);
    }
}
