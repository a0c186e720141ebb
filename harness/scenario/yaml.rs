//! The only file that touches YAML crates (serde_yaml is unmaintained; when it
//! is replaced, only this file changes).
//!
//! Three passes over the text. First [`check_bounds`]: one linear pass over
//! yaml-rust2's events that refuses a file too large, too deeply nested or
//! with too many nodes (aliases counted as what they repeat) before anything
//! expensive runs — libyaml's scanner, under serde_yaml, takes time
//! proportional to tokens × open flow collections, so 100,000 `[` took
//! minutes. Then yaml-rust2's marked events build a span index (key path →
//! line/column), and serde_yaml parses a [`Node`] tree that the raw structs
//! are deserialized from, one section entry at a time, through
//! serde_path_to_error so every error knows its key path.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A parsed YAML value. Other files treat it as opaque and use the helpers
/// below.
pub type Node = serde_yaml::Value;

/// The largest file the loader reads. Scenario and gate files are a few
/// KiB; this is a guard against a wrong file or a generated monster.
pub const MAX_BYTES: usize = 1 << 20;
/// The deepest nesting of lists and mappings (flow `[`/`{` or block
/// indentation alike). A scenario needs fewer than 10 levels.
pub const MAX_DEPTH: usize = 64;
/// The most nodes (scalars, lists, mappings; an alias counts as every node
/// it repeats) in one file. The shipped scenarios have about 100.
pub const MAX_NODES: u64 = 10_000;
/// Key paths longer than this are not indexed: an error under one is shown
/// at its nearest indexed ancestor. Keeps the span index linear in the file
/// even under very long keys.
const MAX_SPAN_PATH: usize = 256;

/// Something found at a place in the text: a limit crossed or a syntax
/// error. `key` is the top-level key (and item) it lies under, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub line: usize,
    pub column: usize,
    pub key: String,
    pub message: String,
}

/// Line and column (1-based, columns in characters) of byte `offset`.
fn position(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let line = 1 + before.iter().filter(|b| **b == b'\n').count();
    // Count characters, not bytes: UTF-8 continuation bytes are 0b10xxxxxx.
    let column = 1 + before[line_start..]
        .iter()
        .filter(|b| (**b & 0xC0) != 0x80)
        .count();
    (line, column)
}

/// The refusal of a file longer than [`MAX_BYTES`], located at the first
/// byte past the limit; None when it is short enough.
pub fn size_refusal(bytes: &[u8]) -> Option<Located> {
    if bytes.len() <= MAX_BYTES {
        return None;
    }
    let (line, column) = position(bytes, MAX_BYTES);
    Some(Located {
        line,
        column,
        key: String::new(),
        message: format!(
            "the file is larger than {} MiB, the most wpbench reads (scenario and gate files \
             are a few KiB); this is where the limit is crossed — is it the right file?",
            MAX_BYTES >> 20
        ),
    })
}

/// Refuses, before any tree is built, a text larger than [`MAX_BYTES`],
/// nested deeper than [`MAX_DEPTH`], or with more than [`MAX_NODES`] nodes
/// after alias expansion. One pass over yaml-rust2's events, stopped at the
/// first limit crossed (whose position is returned), so it is linear: the
/// scanner's per-token cost grows with the open flow levels, and the pass
/// never lets more than [`MAX_DEPTH`] be open.
///
/// A syntax error that yaml-rust2 finds ends the pass; serde_yaml then
/// reports it in its own words, but only when the text is one libyaml
/// reads quickly whatever its shape (small, no deep brackets, no aliases).
/// Otherwise yaml-rust2's error is returned here.
pub fn check_bounds(text: &str) -> Result<(), Located> {
    if let Some(r) = size_refusal(text.as_bytes()) {
        return Err(r);
    }
    let mut parser = Parser::new_from_str(text);
    let mut b = Bounds::default();
    loop {
        match parser.next_token() {
            Ok((Event::StreamEnd, _)) => return Ok(()),
            Ok((ev, mark)) => b.event(&ev, mark)?,
            Err(e) => {
                let cheap = bracket_depth_crossing(text, 0, 0).is_none()
                    && text.len() <= 64 << 10
                    && !text.contains('*');
                if cheap {
                    return Ok(());
                }
                // yaml-rust2's scanner stops at 255 open flow collections,
                // ahead of the events this pass has seen: count brackets on
                // from the last event, from the depth it left open.
                let deep = (e.info() == "recursion limit exceeded")
                    .then(|| {
                        let from = text
                            .char_indices()
                            .nth(b.last_index + 1)
                            .map_or(text.len(), |(i, _)| i);
                        bracket_depth_crossing(text, from, b.stack.len())
                    })
                    .flatten();
                let m = e.marker();
                return Err(match deep {
                    Some(offset) => {
                        let (line, column) = position(text.as_bytes(), offset);
                        Located {
                            line,
                            column,
                            key: b.key(),
                            message: too_deep(),
                        }
                    }
                    None => Located {
                        line: m.line(),
                        column: m.col() + 1,
                        key: String::new(),
                        message: format!("YAML syntax error: {}", e.info()),
                    },
                });
            }
        }
    }
}

fn too_deep() -> String {
    format!(
        "nested deeper than {MAX_DEPTH} levels of lists and mappings (`[`, `{{` or \
         indentation); a scenario needs fewer than 10"
    )
}

/// Where `[`/`{` from byte `from` on, starting `depth` levels deep, first
/// nest deeper than [`MAX_DEPTH`], counting every bracket (even inside
/// strings), as a byte offset. Text where this is None from the start is
/// one libyaml scans in time linear in its length (its per-token cost grows
/// with the open flow collections); yaml-rust2's syntax errors are left to
/// serde_yaml to word only in such text, and only when it is small and has
/// no `*` that could be an alias.
fn bracket_depth_crossing(text: &str, from: usize, mut depth: usize) -> Option<usize> {
    for (i, b) in text.bytes().enumerate().skip(from) {
        match b {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The state of [`check_bounds`]'s pass.
#[derive(Default)]
struct Bounds {
    /// Open collections: (is a mapping, expecting a key, items so far,
    /// anchor id, nodes counted when it opened).
    stack: Vec<Open>,
    /// Nodes so far, aliases expanded.
    nodes: u64,
    /// Expanded size per anchor id; None while its node is still open.
    anchors: HashMap<usize, Option<u64>>,
    /// The top-level key being read, and the item under it.
    top_key: Option<String>,
    top_item: Option<usize>,
    /// The character index of the last event.
    last_index: usize,
    /// A block mapping opened too deep: its event points past its first
    /// key, so the refusal waits for that key's position.
    too_deep_at: Option<Marker>,
}

struct Open {
    map: bool,
    expect_key: bool,
    items: usize,
    anchor: usize,
    nodes_at_start: u64,
    /// A mapping's scalar keys so far (plain or quoted, text) and where
    /// each is: a key given twice is refused where it is repeated.
    keys: HashMap<(bool, String), Marker>,
}

impl Bounds {
    /// `version`, `targets[3]`: where the pass is, for the diagnostic's key.
    fn key(&self) -> String {
        match (&self.top_key, self.top_item) {
            (Some(k), Some(i)) => format!("{k}[{i}]"),
            (Some(k), None) => k.clone(),
            _ => String::new(),
        }
    }

    fn refuse(&self, mark: Marker, message: String) -> Result<(), Located> {
        Err(Located {
            line: mark.line(),
            column: mark.col() + 1,
            key: self.key(),
            message,
        })
    }

    /// A node begins: note where it is (top-level key, item of a top-level
    /// list) and advance its parent.
    fn begin_node(&mut self, key_text: Option<&str>) {
        let depth = self.stack.len();
        if let Some(parent) = self.stack.last_mut() {
            if parent.map && parent.expect_key {
                if depth == 1 {
                    self.top_key = key_text.map(str::to_string);
                    self.top_item = None;
                }
            } else if !parent.map && depth == 2 {
                self.top_item = Some(parent.items);
            }
            if parent.map {
                parent.expect_key = !parent.expect_key;
            }
            parent.items += 1;
        }
    }

    fn count(&mut self, n: u64, mark: Marker) -> Result<(), Located> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return self.refuse(
                mark,
                format!(
                    "more than {MAX_NODES} YAML nodes (values, lists and mappings, an alias \
                     counting as every node it repeats); scenario and gate files have a few \
                     hundred — this is where the limit is crossed"
                ),
            );
        }
        Ok(())
    }

    fn event(&mut self, ev: &Event, mark: Marker) -> Result<(), Located> {
        self.last_index = mark.index();
        if let Some(open) = self.too_deep_at.take() {
            let first = if (mark.line(), mark.col()) < (open.line(), open.col()) {
                mark
            } else {
                open
            };
            return self.refuse(first, too_deep());
        }
        match ev {
            Event::Scalar(s, style, anchor, _) => {
                let key = self
                    .stack
                    .last_mut()
                    .filter(|p| p.map && p.expect_key)
                    .and_then(|p| {
                        let k = (*style == TScalarStyle::Plain, s.clone());
                        match p.keys.get(&k) {
                            Some(first) => Some(*first),
                            None => {
                                p.keys.insert(k, mark);
                                None
                            }
                        }
                    });
                self.begin_node(Some(s));
                if let Some(first) = key {
                    return self.refuse(
                        mark,
                        format!(
                            "duplicate key `{}`: given twice in one mapping (first at line \
                             {}, column {}); keep one",
                            crate::scenario::diag::abbreviate(s, 100),
                            first.line(),
                            first.col() + 1
                        ),
                    );
                }
                self.count(1, mark)?;
                if *anchor > 0 {
                    self.anchors.insert(*anchor, Some(1));
                }
            }
            Event::Alias(id) => {
                self.begin_node(None);
                match self.anchors.get(id).copied().flatten() {
                    Some(n) => self.count(n, mark)?,
                    None => {
                        return self.refuse(
                            mark,
                            "an alias inside the very node it refers to (a recursive alias) \
                             repeats without end; refer to a node defined before it"
                                .into(),
                        )
                    }
                }
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                self.begin_node(None);
                if self.stack.len() >= MAX_DEPTH {
                    if matches!(ev, Event::MappingStart(..)) {
                        self.too_deep_at = Some(mark);
                        return Ok(());
                    }
                    return self.refuse(mark, too_deep());
                }
                let nodes_at_start = self.nodes;
                self.count(1, mark)?;
                if *anchor > 0 {
                    self.anchors.insert(*anchor, None);
                }
                self.stack.push(Open {
                    map: matches!(ev, Event::MappingStart(..)),
                    expect_key: true,
                    items: 0,
                    anchor: *anchor,
                    nodes_at_start,
                    keys: HashMap::new(),
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(open) = self.stack.pop() {
                    if open.anchor > 0 {
                        self.anchors
                            .insert(open.anchor, Some(self.nodes - open.nodes_at_start));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

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

/// A path being indexed; None once it grew past [`MAX_SPAN_PATH`] (then
/// its descendants are not indexed either).
type SpanPath = Option<String>;

/// `path` extended by `tail`, or None when that would be too long to index.
fn extend(path: &SpanPath, tail: impl FnOnce(&str) -> String) -> SpanPath {
    let p = tail(path.as_deref()?);
    (p.len() <= MAX_SPAN_PATH).then_some(p)
}

enum Frame {
    Map {
        path: SpanPath,
        /// The key whose value comes next; `None` while expecting a key.
        key: Option<String>,
        /// The span was taken from the MappingStart event, which in block
        /// style points past the first key; the first key corrects it.
        provisional: bool,
    },
    Seq {
        path: SpanPath,
        index: usize,
    },
}

#[derive(Default)]
struct SpanBuilder {
    stack: Vec<Frame>,
    spans: HashMap<String, (usize, usize)>,
}

impl SpanBuilder {
    /// A node starts at `mark`; returns its path (None when it is a key or
    /// not indexed).
    fn start(&mut self, mark: Marker, scalar: Option<&str>) -> SpanPath {
        let pos = (mark.line(), mark.col() + 1); // yaml-rust2 columns are 0-based
        match self.stack.last_mut() {
            None => {
                self.spans.insert(String::new(), pos);
                Some(String::new())
            }
            Some(Frame::Seq { path, index }) => {
                let p = extend(path, |b| format!("{b}[{index}]"));
                if let Some(p) = &p {
                    self.spans.insert(p.clone(), pos);
                }
                p
            }
            Some(Frame::Map {
                path, key: Some(k), ..
            }) => extend(path, |b| join(b, k)),
            Some(Frame::Map {
                path,
                key: None,
                provisional,
            }) => {
                if let Some(k) = scalar {
                    if *provisional {
                        *provisional = false;
                        if let Some(s) = path.as_deref().and_then(|p| self.spans.get_mut(p)) {
                            *s = (*s).min(pos);
                        }
                    }
                    if let Some(p) = extend(path, |b| join(b, k)) {
                        self.spans.entry(p).or_insert(pos);
                    }
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
                let path = self.start(mark, None);
                self.stack.push(Frame::Map {
                    path,
                    key: None,
                    provisional: true,
                });
            }
            Event::SequenceStart(..) => {
                let path = self.start(mark, None);
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

/// The list at `keys` (a path of mapping keys; empty for `node` itself).
pub fn list_mut<'a>(node: &'a mut Node, keys: &[&str]) -> Option<&'a mut Vec<Node>> {
    let mut n = node;
    for k in keys {
        n = n.get_mut(*k)?;
    }
    n.as_sequence_mut()
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
