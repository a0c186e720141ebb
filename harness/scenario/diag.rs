//! Diagnostics: every problem in a scenario file, with where it is and what
//! to do about it. Also the "did you mean" helpers shared by the loader.

use std::fmt;
use std::path::PathBuf;

use strsim::levenshtein;

/// One problem, located at the key (or sequence item) that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based; 0 when the file could not be read at all.
    pub line: usize,
    /// 1-based; 0 when the file could not be read at all.
    pub column: usize,
    /// Dotted key path such as `workloads[1].fsync`; empty for the whole file.
    pub key: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, "`{}`: ", abbreviate(&self.key, 200))?;
        }
        f.write_str(&self.message)
    }
}

/// Where a value was written, kept with the checked model for the checks
/// only the machine can make later (a mount option the kernel refuses):
/// their diagnostics point at the file like the loader's own.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Place {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub key: String,
}

impl Place {
    /// A diagnostic at this place.
    pub fn diagnostic(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            key: self.key.clone(),
            message: message.into(),
        }
    }
}

/// All problems found in one file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// `s`, or its first `max` characters and `…` when it is longer (a key or
/// word a user pasted by mistake can be megabytes long).
pub fn abbreviate(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => s.into(),
        Some((i, _)) => format!("{}…", &s[..i]).into(),
    }
}

/// The candidate nearest to `word`, if it is near enough to be a typo, by
/// Levenshtein distance (insert, delete, substitute; a transposition
/// counts 2, which the limit below was chosen with).
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let len = word.chars().count();
    let limit = 2.max(len / 3);
    // The distance is at least the difference in length: skip those
    // without computing it (a long pasted word against short names).
    candidates
        .iter()
        .filter(|c| len.abs_diff(c.chars().count()) <= limit)
        .map(|c| (levenshtein(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// "unknown key `fsnyc`, did you mean `fsync`?" or, with no near match, the
/// list of what is valid.
pub fn unknown(what: &str, word: &str, candidates: &[&str]) -> String {
    let suggestion = suggest(word, candidates);
    let word = abbreviate(word, 100);
    match suggestion {
        Some(s) => format!("unknown {what} `{word}`, did you mean `{s}`?"),
        None if candidates.is_empty() => format!("unknown {what} `{word}`"),
        None => format!(
            "unknown {what} `{word}`; expected one of: {}",
            candidates.join(", ")
        ),
    }
}

/// Names between backticks in a serde message ("expected one of `a`, `b`").
fn backticked(s: &str) -> Vec<&str> {
    s.split('`').skip(1).step_by(2).collect()
}

/// Rewrites serde's messages into the loader's voice: unknown fields and
/// variants get a suggestion; Rust type names become words.
pub fn rewrite_serde_message(msg: &str) -> String {
    for (prefix, what) in [("unknown field ", "key"), ("unknown variant ", "value")] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            let names = backticked(rest);
            if let Some((word, expected)) = names.split_first() {
                return unknown(what, word, expected);
            }
        }
    }
    let mut out = msg.to_string();
    for (from, to) in [
        ("expected u8", "expected a whole number"),
        ("expected u16", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected a list"),
    ] {
        if let Some(i) = out.find(from) {
            out.replace_range(i..i + from.len(), to);
        }
    }
    if let Some(i) = out.find("expected struct ") {
        out.replace_range(i.., "expected a mapping of keys");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(levenshtein("fsnyc", "fsync"), 2);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(
            suggest("smal_files", &["small_files", "log_append"]),
            Some("small_files")
        );
        assert_eq!(suggest("zzzz", &["threads", "rate"]), None);
    }

    #[test]
    fn serde_messages_are_rewritten() {
        assert_eq!(
            rewrite_serde_message("unknown field `fsnyc`, expected one of `name`, `fsync`"),
            "unknown key `fsnyc`, did you mean `fsync`?"
        );
        assert_eq!(
            rewrite_serde_message("unknown field `zzzzzz`, expected `name` or `kind`"),
            "unknown key `zzzzzz`; expected one of: name, kind"
        );
        assert_eq!(
            rewrite_serde_message("invalid type: string \"many\", expected u32"),
            "invalid type: string \"many\", expected a whole number"
        );
    }
}
