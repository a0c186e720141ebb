//! `kind: sequence`: a loop of `steps` (filebench's flowops, simplified)
//! over a fileset of `files` per thread. Unit op: `sequence`, one pass.

use std::time::Duration;

use serde::Deserialize;

use super::{
    files_of, size_or, BeforeClock, CellShape, Kind, Params, WorkloadKind, WorkloadParams, Writes,
    Written, KIB,
};
use crate::record::Op;
use crate::scenario::check::{At, Ctx};
use crate::scenario::diag;
use crate::scenario::raw::U;
use crate::scenario::units::{format_duration_exact, SizeRange};
use crate::scenario::yaml::{self, Node};

#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    /// Steps looped per thread; one pass is one unit op `sequence`.
    pub steps: Vec<SeqStep>,
    /// Files each thread makes before the clock (the fileset `open`,
    /// `read`, `stat`, `unlink` and `rename` pick from).
    pub files: u64,
    pub file_size: SizeRange,
}

/// One step of a `sequence` workload (filebench's flowops, simplified).
/// A thread has at most one current file: `create` and `open` make one
/// current, the data and sync steps act on it, `close` ends it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SeqStep {
    /// Create a new file and make it current.
    Create,
    /// Open a file of the fileset, chosen with the seed, and make it current.
    Open,
    /// Write this many bytes at the current offset.
    Write(SizeRange),
    /// Append this many bytes.
    Append(SizeRange),
    Fsync,
    Fdatasync,
    Close,
    /// Read the current file (or, with none, a fileset file) whole.
    Read,
    /// Rename a fileset file to a new name.
    Rename,
    /// Unlink a fileset file.
    Unlink,
    /// stat a fileset file.
    Stat,
    Sleep(Duration),
}

impl SeqStep {
    /// The syscalls this step records.
    fn records(&self) -> &'static [Op] {
        match self {
            SeqStep::Create => &[Op::Create],
            SeqStep::Open => &[Op::Open],
            SeqStep::Write(_) | SeqStep::Append(_) => &[Op::Write],
            SeqStep::Fsync => &[Op::Fsync],
            SeqStep::Fdatasync => &[Op::Fdatasync],
            SeqStep::Close => &[Op::Close],
            SeqStep::Read => &[Op::Open, Op::Read, Op::Close],
            SeqStep::Rename => &[Op::Rename],
            SeqStep::Unlink => &[Op::Unlink],
            SeqStep::Stat => &[Op::Stat],
            SeqStep::Sleep(_) => &[],
        }
    }
}

/// As a scenario writes it: `create`, `write: 4KiB`, `sleep: 10ms`.
impl std::fmt::Display for SeqStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SeqStep::Create => f.write_str("create"),
            SeqStep::Open => f.write_str("open"),
            SeqStep::Write(r) => write!(f, "write: {r}"),
            SeqStep::Append(r) => write!(f, "append: {r}"),
            SeqStep::Fsync => f.write_str("fsync"),
            SeqStep::Fdatasync => f.write_str("fdatasync"),
            SeqStep::Close => f.write_str("close"),
            SeqStep::Read => f.write_str("read"),
            SeqStep::Rename => f.write_str("rename"),
            SeqStep::Unlink => f.write_str("unlink"),
            SeqStep::Stat => f.write_str("stat"),
            SeqStep::Sleep(d) => write!(f, "sleep: {}", format_duration_exact(*d)),
        }
    }
}

/// The keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    file_size: Option<U<SizeRange>>,
    files: Option<u64>,
    /// Step names and one-key maps, read item by item.
    steps: Option<Vec<Node>>,
}

const DEFAULT_FILES: u64 = 100;
const DEFAULT_FILE_SIZE: SizeRange = SizeRange::fixed(16 * KIB);

impl Kind for Sequence {
    const KIND: WorkloadKind = WorkloadKind::Sequence;
    const WRITES: Writes = Writes {
        sync: None,
        end_syncfs: false,
        fsync_dir: true,
        o_direct: true,
        payload: true,
    };
    const MAY_RECORD: &'static [Op] = &[
        Op::Create,
        Op::Open,
        Op::Write,
        Op::Fsync,
        Op::Fdatasync,
        Op::Close,
        Op::Read,
        Op::Rename,
        Op::Unlink,
        Op::Stat,
        Op::FsyncDir,
        Op::Sequence,
        Op::SequenceService,
    ];
    type Raw = Raw;

    fn check(raw: Raw, cx: &mut Ctx, at: &At) -> Sequence {
        let files = raw.files.unwrap_or(DEFAULT_FILES);
        let steps = check_steps(cx, at, raw.steps.as_deref(), files);
        Sequence {
            steps,
            files,
            file_size: size_or(raw.file_size, DEFAULT_FILE_SIZE),
        }
    }
}

impl Params for Sequence {
    /// Each thread's fileset, written before the clock.
    fn before_clock(&self, cell: &CellShape) -> Option<BeforeClock> {
        let threads = u128::from(cell.threads);
        Some(BeforeClock {
            files: threads * u128::from(self.files),
            inodes: threads * (u128::from(self.files) + 1),
            size: self.file_size,
            key: "files",
            how: format!(
                "{} per thread, {} threads",
                files_of(self.files, self.file_size.min),
                cell.threads
            ),
        })
    }

    /// Bounded only when no step makes or grows files.
    fn most_written(&self, cell: &CellShape) -> Option<Written> {
        let grows = self
            .steps
            .iter()
            .any(|st| matches!(st, SeqStep::Create | SeqStep::Write(_) | SeqStep::Append(_)));
        (!grows)
            .then(|| Written::files(cell.threads.saturating_mul(self.files), self.file_size.max))
    }

    /// The syscalls of its steps (`read` opens and closes a fileset file
    /// when none is open).
    fn records_only(&self) -> Option<Vec<Op>> {
        Some(
            self.steps
                .iter()
                .flat_map(|s| s.records())
                .copied()
                .collect(),
        )
    }

    fn record(&self) -> Vec<(&'static str, String)> {
        let steps: Vec<String> = self.steps.iter().map(|s| s.to_string()).collect();
        vec![
            ("files", self.files.to_string()),
            ("file_size", self.file_size.to_string()),
            ("steps", steps.join(", ")),
        ]
    }

    /// Only when a step writes.
    fn writes_data(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, SeqStep::Write(_) | SeqStep::Append(_)))
    }

    fn op_sizes(&self) -> Vec<(String, SizeRange)> {
        let mut sizes = vec![("file_size".to_string(), self.file_size)];
        for (j, step) in self.steps.iter().enumerate() {
            match step {
                SeqStep::Write(r) => sizes.push((format!("steps[{j}].write"), *r)),
                SeqStep::Append(r) => sizes.push((format!("steps[{j}].append"), *r)),
                _ => {}
            }
        }
        sizes
    }
}

impl From<Sequence> for WorkloadParams {
    fn from(p: Sequence) -> Self {
        WorkloadParams::Sequence(p)
    }
}

const STEP_WORDS: &[(&str, SeqStep)] = &[
    ("create", SeqStep::Create),
    ("open", SeqStep::Open),
    ("fsync", SeqStep::Fsync),
    ("fdatasync", SeqStep::Fdatasync),
    ("close", SeqStep::Close),
    ("read", SeqStep::Read),
    ("rename", SeqStep::Rename),
    ("unlink", SeqStep::Unlink),
    ("stat", SeqStep::Stat),
];

const STEP_VALUED: &[&str] = &["write", "append", "sleep"];

fn step_name(step: &SeqStep) -> &'static str {
    match step {
        SeqStep::Write(_) => "write",
        SeqStep::Append(_) => "append",
        SeqStep::Sleep(_) => "sleep",
        other => STEP_WORDS
            .iter()
            .find(|(_, s)| s == other)
            .map_or("?", |(n, _)| n),
    }
}

fn all_step_names() -> Vec<&'static str> {
    STEP_WORDS
        .iter()
        .map(|(n, _)| *n)
        .chain(STEP_VALUED.iter().copied())
        .collect()
}

/// One item of `steps`, or None (reported).
fn check_step(cx: &mut Ctx, key: &str, node: &Node) -> Option<SeqStep> {
    if let Some(word) = node.as_str() {
        if let Some((_, s)) = STEP_WORDS.iter().find(|(n, _)| *n == word) {
            return Some(*s);
        }
        if STEP_VALUED.contains(&word) {
            let example = if word == "sleep" { "10ms" } else { "16KiB" };
            cx.err(
                key,
                format!("`{word}` needs a value: write `{{{word}: {example}}}`"),
            );
        } else {
            cx.err(key, diag::unknown("step", word, &all_step_names()));
        }
        return None;
    }
    let entries = match yaml::entries(node) {
        Some(e) if e.len() == 1 => e,
        _ => {
            cx.err(
                key,
                format!(
                    "a step is a name such as `fsync` or a one-key mapping such as \
                     `{{write: 16KiB}}`; found {}",
                    if yaml::is_mapping(node) {
                        "a mapping with more than one key"
                    } else {
                        yaml::describe(node)
                    }
                ),
            );
            return None;
        }
    };
    let (k, v) = &entries[0];
    let kp = yaml::join(key, k);
    match k.as_str() {
        "write" | "append" => match yaml::from_node::<U<SizeRange>>(v) {
            Ok(U(r)) if r.max == 0 => {
                cx.err(&kp, "must be larger than 0B");
                None
            }
            Ok(U(r)) if k == "write" => Some(SeqStep::Write(r)),
            Ok(U(r)) => Some(SeqStep::Append(r)),
            Err(e) => {
                cx.err(&kp, diag::rewrite_serde_message(&e.message));
                None
            }
        },
        "sleep" => match yaml::from_node::<U<Duration>>(v) {
            Ok(U(d)) if d.is_zero() => {
                cx.err(&kp, "must be longer than 0s");
                None
            }
            Ok(U(d)) => Some(SeqStep::Sleep(d)),
            Err(e) => {
                cx.err(&kp, diag::rewrite_serde_message(&e.message));
                None
            }
        },
        w if STEP_WORDS.iter().any(|(n, _)| *n == w) => {
            cx.err(&kp, format!("`{w}` takes no value; write it as `- {w}`"));
            None
        }
        other => {
            cx.err(&kp, diag::unknown("step", other, &all_step_names()));
            None
        }
    }
}

/// Checks `steps` by running the loop twice on paper (the current file
/// carries from one pass to the next, as it does when the workload runs).
fn check_steps(cx: &mut Ctx, at: &At, steps: Option<&[Node]>, files: u64) -> Vec<SeqStep> {
    let key = at.key("steps");
    let items = match steps {
        None => {
            cx.err(
                &key,
                "missing required key `steps`, e.g. \
                 `steps: [create, {append: 16KiB}, fsync, close]`",
            );
            return Vec::new();
        }
        Some([]) => {
            cx.err(&key, "needs at least one step");
            return Vec::new();
        }
        Some(items) => items,
    };
    let parsed: Vec<Option<SeqStep>> = items
        .iter()
        .enumerate()
        .map(|(j, n)| check_step(cx, &at.key(&format!("steps[{j}]")), n))
        .collect();
    if parsed.iter().any(Option::is_none) {
        return Vec::new();
    }
    let steps: Vec<SeqStep> = parsed.into_iter().flatten().collect();
    let mut open = false;
    let mut fileset = files;
    let mut reported = vec![false; steps.len()];
    let mut fileset_reported = false;
    for _pass in 0..2 {
        for (j, step) in steps.iter().enumerate() {
            let name = step_name(step);
            let needs_open = matches!(
                step,
                SeqStep::Write(_)
                    | SeqStep::Append(_)
                    | SeqStep::Fsync
                    | SeqStep::Fdatasync
                    | SeqStep::Close
            );
            if needs_open && !open && !reported[j] {
                reported[j] = true;
                cx.err(
                    &at.key(&format!("steps[{j}]")),
                    format!(
                        "`steps[{j}]` (`{name}`) has no open file: put `create` or `open` before it"
                    ),
                );
            }
            let needs_fileset = match step {
                SeqStep::Open | SeqStep::Rename | SeqStep::Unlink | SeqStep::Stat => true,
                SeqStep::Read => !open,
                _ => false,
            };
            if needs_fileset && fileset == 0 && !fileset_reported {
                fileset_reported = true;
                cx.err(
                    &at.key("files"),
                    format!(
                        "is 0, but `steps[{j}]` (`{name}`) picks a file of the fileset \
                         before any `create` adds one; make `files` at least 1"
                    ),
                );
            }
            match step {
                SeqStep::Create => {
                    open = true;
                    fileset += 1;
                }
                SeqStep::Open => open = true,
                SeqStep::Close => open = false,
                SeqStep::Unlink => fileset = fileset.saturating_sub(1),
                _ => {}
            }
        }
    }
    steps
}
