//! `wpbench k8s collect`, the pure part: one pod's log (what `kubectl
//! logs` prints for a pod running [`SCRIPT`](super::SCRIPT)) in, the run
//! directory it carries out — or the reason it carries none.
//!
//! The log is wpbench's own output, then
//!
//! ```text
//! BEGIN wpbench-results node=NODE
//! H4sIAAAAAAAAA+y9...            (GNU base64 of a tar.gz, 76 columns)
//! END wpbench-results node=NODE rc=CODE sha256=HEX|none
//! ```
//!
//! Text in, typed values out: nothing here reads a file or runs kubectl.

use std::fmt;

use base64::Engine;
use sha2::{Digest, Sha256};

use super::{BEGIN_MARKER, END_MARKER};

/// How many of a log's last lines a [`Missing::NoBegin`] keeps, and how
/// many characters of each.
pub const TAIL_LINES: usize = 10;
pub const TAIL_LINE_CHARS: usize = 200;

/// What one pod's log carries: its node, wpbench's exit code there and
/// the run directory as a gzipped tar whose sha256 matched the END line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodResults {
    /// The node named by the BEGIN and END lines: the tarball's top-level
    /// directory.
    pub node: String,
    /// wpbench's exit code on that node (see [`rc_meaning`]).
    pub rc: i32,
    /// The tar.gz bytes.
    pub tarball: Vec<u8>,
    /// Their sha256, lowercase hex, as the END line says.
    pub sha256: String,
}

/// Why a pod's log carries no run directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// No BEGIN line: the pod never got to print its results (it did not
    /// start, was killed, or its log is gone). `tail` holds the log's last
    /// lines, bounded ([`TAIL_LINES`] × [`TAIL_LINE_CHARS`]).
    NoBegin { tail: Vec<String> },
    /// An END line but no BEGIN line before it: the log lost its
    /// beginning (kubelet rotates a container's log at 10 MiB by default).
    BeginLost { node: String, rc: i32 },
    /// BEGIN without END: the log was cut short (the pod was killed while
    /// printing, or the log was truncated). `lines` base64 lines followed
    /// the BEGIN line.
    NoEnd { node: String, lines: usize },
    /// `sha256=none`: wpbench wrote no run directory on that node.
    NoRunDir { node: String, rc: i32 },
    /// A line between BEGIN and END is not base64, or the whole is not.
    BadBase64 {
        node: String,
        line: usize,
        detail: String,
    },
    /// The decoded tarball is not the one the END line names.
    ShaMismatch {
        node: String,
        expected: String,
        actual: String,
    },
    /// BEGIN and END name different nodes.
    NodeMismatch { begin: String, end: String },
    /// A marker line that does not parse (line number, 1-based, and text).
    Malformed { line: usize, text: String },
}

impl Missing {
    /// The log's last lines, for context, when there is no BEGIN line
    /// (the one-line message names only the last).
    pub fn log_tail(&self) -> &[String] {
        match self {
            Missing::NoBegin { tail } => tail,
            _ => &[],
        }
    }

    /// The node the log names, when it names one.
    pub fn node(&self) -> Option<&str> {
        match self {
            Missing::NoBegin { .. } | Missing::Malformed { .. } => None,
            Missing::BeginLost { node, .. }
            | Missing::NoEnd { node, .. }
            | Missing::NoRunDir { node, .. }
            | Missing::BadBase64 { node, .. }
            | Missing::ShaMismatch { node, .. } => Some(node),
            Missing::NodeMismatch { end, .. } => Some(end),
        }
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::NoBegin { tail } if tail.is_empty() => write!(
                f,
                "no `{BEGIN_MARKER}` line: the log is empty (the pod never ran, or its log is gone)"
            ),
            Missing::NoBegin { tail } => write!(
                f,
                "no `{BEGIN_MARKER}` line: the pod never got to print its results \
                 (not started, killed, or wpbench could not start); its log ends with {:?}",
                tail.last().map(String::as_str).unwrap_or_default()
            ),
            Missing::BeginLost { node, rc } => write!(
                f,
                "the log lost its beginning (END without BEGIN, rc={rc}): kubelet rotates a \
                 container's log at 10 MiB by default (containerLogMaxSize) — split the \
                 scenario or raise the limit, then rerun node {node}"
            ),
            Missing::NoEnd { node, lines } => write!(
                f,
                "log cut short (BEGIN without END): {lines} lines of base64 after \
                 `{BEGIN_MARKER} node={node}` and no END line — the pod was killed while \
                 printing, or its log was truncated"
            ),
            Missing::NoRunDir { rc, .. } => write!(
                f,
                "wpbench wrote no run directory (sha256=none), rc={rc}{}; see the pod's log",
                match rc_meaning(*rc) {
                    Some(m) => format!(" ({m})"),
                    None => String::new(),
                }
            ),
            Missing::BadBase64 { line, detail, .. } => {
                write!(
                    f,
                    "the results are not valid base64 (line {line}): {detail}"
                )
            }
            Missing::ShaMismatch {
                expected, actual, ..
            } => write!(
                f,
                "the results are damaged: sha256 {actual}, but the END line says {expected}"
            ),
            Missing::NodeMismatch { begin, end } => write!(
                f,
                "BEGIN names node {begin} but END names node {end}: two pods' logs mixed up?"
            ),
            Missing::Malformed { line, text } => write!(
                f,
                "line {line} looks like a marker but does not parse: {text:?} (expected \
                 `{BEGIN_MARKER} node=NODE` or `{END_MARKER} node=NODE rc=CODE sha256=HEX|none`)"
            ),
        }
    }
}

/// What wpbench's exit code `rc` says, for the codes it documents (and a
/// signal's 128+N).
pub fn rc_meaning(rc: i32) -> Option<String> {
    Some(match rc {
        0 => return None,
        1 => "a gate failed on that node".into(),
        2 => "the scenario or the command line was wrong".into(),
        3 => "that node cannot run it".into(),
        4 => "the run failed on that node".into(),
        129..=192 => format!("wpbench was killed by signal {}", rc - 128),
        _ => return None,
    })
}

/// The END line's fields.
struct End {
    node: String,
    rc: i32,
    sha256: Option<String>,
}

/// Parses one pod's log; see the module's documentation. When several
/// complete BEGIN … END blocks appear, the last one counts. CRLF line ends
/// and trailing whitespace are tolerated.
pub fn parse_log(text: &str) -> Result<PodResults, Missing> {
    let lines: Vec<&str> = text.split('\n').map(str::trim_end).collect();
    // The open BEGIN (its index and node), and the last complete block.
    let mut open: Option<(usize, String)> = None;
    let mut complete: Option<(usize, String, usize, End)> = None;
    let mut orphan_end: Option<End> = None;
    // A marker line that does not parse is only reported when no complete
    // block follows it.
    let mut bad_marker: Option<Missing> = None;
    for (i, line) in lines.iter().enumerate() {
        if let Some(rest) = marker_rest(line, BEGIN_MARKER) {
            match parse_begin(rest) {
                Some(node) => open = Some((i, node)),
                None => bad_marker = Some(malformed(i, line)),
            }
        } else if let Some(rest) = marker_rest(line, END_MARKER) {
            let Some(end) = parse_end(rest) else {
                bad_marker = Some(malformed(i, line));
                continue;
            };
            match open.take() {
                Some((b, node)) => complete = Some((b, node, i, end)),
                None => orphan_end = Some(end),
            }
        }
    }
    let Some((b, begin_node, e, end)) = complete else {
        if let Some(bad) = bad_marker {
            return Err(bad);
        }
        if let Some((b, node)) = open {
            let lines = lines[b + 1..].iter().filter(|l| !l.is_empty()).count();
            return Err(Missing::NoEnd { node, lines });
        }
        if let Some(end) = orphan_end {
            return Err(Missing::BeginLost {
                node: end.node,
                rc: end.rc,
            });
        }
        return Err(Missing::NoBegin { tail: tail(&lines) });
    };
    if begin_node != end.node {
        return Err(Missing::NodeMismatch {
            begin: begin_node,
            end: end.node,
        });
    }
    let node = end.node;
    let Some(expected) = end.sha256 else {
        return Err(Missing::NoRunDir { node, rc: end.rc });
    };
    let mut b64 = String::new();
    for (i, l) in lines.iter().enumerate().take(e).skip(b + 1) {
        if let Some(bad) = l.find(|c: char| !(c.is_ascii_alphanumeric() || "+/=".contains(c))) {
            return Err(Missing::BadBase64 {
                node,
                line: i + 1,
                detail: format!(
                    "{:?} at column {}",
                    bounded(l, TAIL_LINE_CHARS),
                    l[..bad].chars().count() + 1
                ),
            });
        }
        b64.push_str(l);
    }
    let tarball = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|err| Missing::BadBase64 {
            node: node.clone(),
            line: b + 2,
            detail: err.to_string(),
        })?;
    let actual = hex(&Sha256::digest(&tarball));
    if actual != expected {
        return Err(Missing::ShaMismatch {
            node,
            expected,
            actual,
        });
    }
    Ok(PodResults {
        node,
        rc: end.rc,
        tarball,
        sha256: actual,
    })
}

/// What follows `marker` and a space on `line`, or `""` when the line is
/// just the marker; `None` when the line is not this marker's.
fn marker_rest<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(marker)?;
    if rest.is_empty() {
        return Some(rest);
    }
    rest.strip_prefix(' ')
}

fn malformed(i: usize, line: &str) -> Missing {
    Missing::Malformed {
        line: i + 1,
        text: bounded(line, TAIL_LINE_CHARS),
    }
}

/// `node=NODE`.
fn parse_begin(rest: &str) -> Option<String> {
    let mut fields = rest.split_whitespace();
    let node = node_field(fields.next()?)?;
    fields.next().is_none().then_some(node)
}

/// `node=NODE rc=CODE sha256=HEX|none`.
fn parse_end(rest: &str) -> Option<End> {
    let mut fields = rest.split_whitespace();
    let node = node_field(fields.next()?)?;
    let rc = fields.next()?.strip_prefix("rc=")?.parse().ok()?;
    let sha = fields.next()?.strip_prefix("sha256=")?;
    if fields.next().is_some() {
        return None;
    }
    let sha256 = match sha {
        "none" => None,
        h if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some(h.to_ascii_lowercase())
        }
        _ => return None,
    };
    Some(End { node, rc, sha256 })
}

/// `node=NODE`, where NODE can name a directory: not empty, `.` or `..`,
/// no `/`.
fn node_field(field: &str) -> Option<String> {
    let node = field.strip_prefix("node=")?;
    let plain = !node.is_empty()
        && node != "."
        && node != ".."
        && node.len() <= 253
        && !node.contains(['/', '\\', '\0']);
    plain.then(|| node.to_string())
}

/// The log's last non-empty lines, bounded.
fn tail(lines: &[&str]) -> Vec<String> {
    let kept: Vec<&&str> = lines.iter().filter(|l| !l.is_empty()).collect();
    kept[kept.len().saturating_sub(TAIL_LINES)..]
        .iter()
        .map(|l| bounded(l, TAIL_LINE_CHARS))
        .collect()
}

/// `s`, cut to `max` characters with `…` when longer.
fn bounded(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
