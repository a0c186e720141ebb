//! `kind: replay`: the file calls of a real program, recorded with
//! `strace -f -ttt -T -y -o FILE CMD…`, replayed in the cell's directory.
//! The trace is read and parsed once, at load ([`crate::scenario::trace`]),
//! so a broken one is a diagnostic with its line. Unit op: `replay`, one
//! pass of the whole trace.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use super::{BeforeClock, CellShape, Kind, Params, WorkloadKind, WorkloadParams, Writes, Written};
use crate::record::Op;
use crate::scenario::check::{At, Ctx};
use crate::scenario::trace::{self, CallOp, EntryKind, Trace};
use crate::scenario::units::{format_size, SizeRange};

#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// The trace file as the scenario names it.
    pub trace_file: String,
    pub trace: Arc<Trace>,
    pub timing: Timing,
    /// Gaps are divided by this (`timing: original`).
    pub speed: f64,
}

/// How calls are spaced in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// Each call starts when the trace says it did (from the pass's start,
    /// gaps divided by `speed`); a call that starts late is measured from
    /// when it should have started (open loop).
    Original,
    /// Back to back, as fast as the calls complete.
    Fast,
}

impl Timing {
    pub fn as_str(self) -> &'static str {
        match self {
            Timing::Original => "original",
            Timing::Fast => "fast",
        }
    }
}

/// The keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    trace: Option<String>,
    timing: Option<Timing>,
    speed: Option<f64>,
    root: Option<String>,
}

/// `speed:` bounds: a thousandth stretches a second of trace to a quarter
/// of an hour; beyond a thousand times, gaps are below the clock's reach.
const MIN_SPEED: f64 = 0.001;
const MAX_SPEED: f64 = 1000.0;

/// Larger traces are refused before they are read: a day of a busy
/// program's calls; replaying it would hold every call in memory.
const MAX_TRACE_BYTES: u64 = 512 << 20;

impl Kind for Replay {
    const KIND: WorkloadKind = WorkloadKind::Replay;
    /// Its writes carry the seeded payload; syncs, O_DIRECT and their
    /// timing are the trace's own.
    const WRITES: Writes = Writes {
        payload: true,
        ..Writes::NOTHING
    };
    const MAY_RECORD: &'static [Op] = &[
        Op::Create,
        Op::Open,
        Op::Read,
        Op::Write,
        Op::Fsync,
        Op::Fdatasync,
        Op::SyncFileRange,
        Op::Syncfs,
        Op::Fallocate,
        Op::Close,
        Op::Rename,
        Op::Unlink,
        Op::Chmod,
        Op::Utimes,
        Op::Truncate,
        Op::Stat,
        Op::Mkdir,
        Op::Rmdir,
        Op::Link,
        Op::Symlink,
        Op::Lseek,
        Op::Replay,
        Op::ReplayService,
    ];
    /// A pass starts from the trace's own starting state, so a warm-up
    /// pass changes nothing; it is kept for the page cache.
    const COLD_START: bool = false;
    type Raw = Raw;

    fn check(raw: Raw, cx: &mut Ctx, at: &At) -> Replay {
        let timing = raw.timing.unwrap_or(Timing::Original);
        let speed = match raw.speed {
            Some(s) if !(MIN_SPEED..=MAX_SPEED).contains(&s) => {
                cx.err(
                    &at.key("speed"),
                    format!(
                        "must be from {MIN_SPEED} to {MAX_SPEED} (2.0 replays twice as fast, \
                         0.5 at half speed), not {s}"
                    ),
                );
                1.0
            }
            Some(s) => s,
            None => 1.0,
        };
        if raw.speed.is_some() && timing == Timing::Fast {
            cx.err(
                &at.key("speed"),
                "scales the gaps of `timing: original`; with `timing: fast` there are none",
            );
        }
        let trace = match &raw.trace {
            None => {
                cx.err(
                    &at.key("trace"),
                    "missing required key `trace`: a file written by `strace -f -ttt -T -y -o \
                     FILE CMD…` (docs/replay.md)",
                );
                None
            }
            Some(file) => load_trace(cx, at, file, raw.root.as_deref()),
        };
        Replay {
            trace_file: raw.trace.unwrap_or_default(),
            trace: Arc::new(trace.unwrap_or_else(empty_trace)),
            timing,
            speed,
        }
    }
}

/// Reads and parses the trace named at `trace` (relative to the scenario
/// file), reporting a problem at that key with the trace's line.
fn load_trace(cx: &mut Ctx, at: &At, file: &str, root: Option<&str>) -> Option<Trace> {
    let path = beside(cx.file(), file);
    let text = match read_trace(&path) {
        Ok(t) => t,
        Err(why) => {
            cx.err(
                &at.key("trace"),
                format!("cannot read {}: {why}", path.display()),
            );
            return None;
        }
    };
    let parsed = trace::parse(&text, root);
    match parsed {
        Ok(t) if t.threads.iter().all(|th| th.calls.is_empty()) => {
            cx.err(
                &at.key("trace"),
                format!(
                    "{}: no file calls under {} to replay ({} lines); record the program \
                     with `strace -f -ttt -T -y -o FILE` from the directory it writes in, or \
                     give `root:`",
                    path.display(),
                    if t.root.is_empty() {
                        "its directory"
                    } else {
                        &t.root
                    },
                    t.lines
                ),
            );
            None
        }
        Ok(t) => Some(t),
        Err(e) => {
            let key = if e.message.contains("root") && root.is_some() {
                "root"
            } else {
                "trace"
            };
            cx.err(
                &at.key(key),
                format!("{}:{}: {}", path.display(), e.line, e.message),
            );
            None
        }
    }
}

/// `file` relative to the directory of `scenario` (absolute stays).
fn beside(scenario: &Path, file: &str) -> PathBuf {
    let dir = scenario.parent().unwrap_or(Path::new(""));
    dir.join(file)
}

fn read_trace(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_TRACE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_TRACE_BYTES {
        return Err(format!(
            "it is larger than {}; record a shorter run, or keep only its file calls \
             (`strace -e trace=%file,%desc`)",
            format_size(MAX_TRACE_BYTES)
        ));
    }
    String::from_utf8(bytes).map_err(|e| format!("it is not text: {e}"))
}

/// What a replay that could not load its trace holds (the scenario is
/// refused anyway; the loader carries on to report other mistakes).
fn empty_trace() -> Trace {
    Trace {
        root: String::new(),
        threads: Vec::new(),
        slots: 0,
        before: Vec::new(),
        after: Vec::new(),
        not_replayed: Vec::new(),
        outside: Vec::new(),
        outside_calls: 0,
        lines: 0,
    }
}

impl From<Replay> for WorkloadParams {
    fn from(p: Replay) -> Self {
        WorkloadParams::Replay(p)
    }
}

impl Replay {
    /// Calls one pass makes, over all threads.
    pub fn calls(&self) -> usize {
        self.trace.threads.iter().map(|t| t.calls.len()).sum()
    }

    fn files(entries: &[trace::Entry]) -> impl Iterator<Item = u64> + '_ {
        entries.iter().filter_map(|e| match e.kind {
            EntryKind::File { size } => Some(size),
            _ => None,
        })
    }

    /// The most descriptors a pass holds open at once (the trace's calls
    /// in time order; a slot is never reused, so its count alone would
    /// overstate a long trace's need).
    fn most_open(&self) -> u64 {
        let mut calls: Vec<_> = self.trace.calls().collect();
        calls.sort_by_key(|c| c.at);
        let (mut open, mut most) = (0u64, 0u64);
        for c in calls {
            match c.op {
                CallOp::Open { slot: Some(_), .. } | CallOp::Dup { .. } => {
                    open += 1;
                    most = most.max(open);
                }
                CallOp::Close { last: true, .. } => open = open.saturating_sub(1),
                _ => {}
            }
        }
        most
    }

    /// The largest read or write of one call (one buffer).
    fn largest_io(&self) -> u64 {
        let (w, r) = largest_io(&self.trace);
        w.max(r)
    }
}

impl Params for Replay {
    /// The files and directories the trace found, made before the clock.
    fn before_clock(&self, cell: &CellShape) -> Option<BeforeClock> {
        let before = &self.trace.before;
        if before.is_empty() {
            return None;
        }
        let threads = u128::from(cell.threads);
        let sizes: Vec<u64> = Replay::files(before).collect();
        let size = SizeRange {
            min: sizes.iter().copied().min().unwrap_or(0),
            max: sizes.iter().copied().max().unwrap_or(0),
        };
        Some(BeforeClock {
            files: threads * sizes.len() as u128,
            inodes: threads * (before.len() as u128 + 1),
            size,
            key: "trace",
            how: format!(
                "the {} files and {} other entries the trace found, per thread",
                sizes.len(),
                before.len() - sizes.len()
            ),
        })
    }

    /// What a pass leaves, or found if that was more, per thread.
    fn most_written(&self, cell: &CellShape) -> Option<Written> {
        let files = |e: &[trace::Entry]| Replay::files(e).count() as u64;
        let largest = Replay::files(&self.trace.after)
            .chain(Replay::files(&self.trace.before))
            .max()
            .unwrap_or(0);
        let entries = self.trace.after.len().max(self.trace.before.len()) as u64;
        let n = files(&self.trace.after).max(files(&self.trace.before));
        Some(Written {
            files: cell.threads.saturating_mul(n),
            file_size: largest,
            more_inodes: cell.threads.saturating_mul(entries.saturating_sub(n) + 1),
        })
    }

    fn record(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("trace", self.trace_file.clone()),
            ("timing", self.timing.as_str().into()),
            ("calls", self.calls().to_string()),
            ("trace_threads", self.trace.threads.len().to_string()),
        ];
        if self.timing == Timing::Original {
            out.push(("speed", self.speed.to_string()));
        }
        if !self.trace.root.is_empty() {
            out.push(("root", self.trace.root.clone()));
        }
        out
    }

    fn writes_data(&self) -> bool {
        self.trace
            .calls()
            .any(|c| matches!(c.op, CallOp::Write { len, .. } if len > 0))
    }

    fn op_sizes(&self) -> Vec<(String, SizeRange)> {
        vec![("trace".into(), SizeRange::fixed(self.largest_io()))]
    }

    /// A trace's O_DIRECT calls are aligned as the program made them.
    fn direct_sizes(&self) -> Vec<(String, SizeRange)> {
        Vec::new()
    }

    fn open_files_per_thread(&self) -> u64 {
        self.most_open() + 4
    }

    /// The syscalls the trace makes.
    fn records_only(&self) -> Option<Vec<Op>> {
        let mut ops: Vec<Op> = self.trace.calls().filter_map(|c| call_op(&c.op)).collect();
        ops.sort();
        ops.dedup();
        Some(ops)
    }
}

/// Reads and writes of one call are made from one buffer of at most this
/// (a read the trace asked more of, and that failed, would otherwise size
/// a buffer by its request).
pub const MAX_IO: u64 = 64 << 20;

/// The largest write and read of one call, each at most [`MAX_IO`]: what a
/// replay's buffers hold.
pub fn largest_io(trace: &Trace) -> (u64, u64) {
    let (mut w, mut r) = (0u64, 0u64);
    for c in trace.calls() {
        match (&c.op, c.result) {
            (CallOp::Write { len, .. }, _) => w = w.max(*len),
            // A failed read moves no bytes.
            (CallOp::Read { len, .. }, Ok(_)) => r = r.max(*len),
            _ => {}
        }
    }
    (w.min(MAX_IO), r.min(MAX_IO))
}

/// The op a call is recorded under (None: not timed on its own — a dup or
/// an fcntl only changes the replay's fd table).
pub fn call_op(op: &CallOp) -> Option<Op> {
    Some(match op {
        CallOp::Open { flags, .. } if flags & libc::O_CREAT != 0 => Op::Create,
        CallOp::Open { .. } => Op::Open,
        CallOp::Close { .. } => Op::Close,
        CallOp::Read { .. } => Op::Read,
        CallOp::Write { .. } => Op::Write,
        CallOp::Fsync { .. } => Op::Fsync,
        CallOp::Fdatasync { .. } => Op::Fdatasync,
        CallOp::SyncFileRange { .. } => Op::SyncFileRange,
        CallOp::Syncfs { .. } => Op::Syncfs,
        CallOp::Ftruncate { .. } | CallOp::Truncate { .. } => Op::Truncate,
        CallOp::Fallocate { .. } => Op::Fallocate,
        CallOp::Rename { .. } => Op::Rename,
        CallOp::Unlink { .. } => Op::Unlink,
        CallOp::Rmdir { .. } => Op::Rmdir,
        CallOp::Mkdir { .. } => Op::Mkdir,
        CallOp::Link { .. } => Op::Link,
        CallOp::Symlink { .. } => Op::Symlink,
        CallOp::Stat { .. } | CallOp::Fstat { .. } => Op::Stat,
        CallOp::Chmod { .. } | CallOp::Fchmod { .. } => Op::Chmod,
        CallOp::Utimens { .. } | CallOp::Futimens { .. } => Op::Utimes,
        CallOp::Lseek { .. } => Op::Lseek,
        CallOp::Dup { .. } | CallOp::SetFl { .. } => return None,
    })
}
