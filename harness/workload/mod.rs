//! The workload room: what runs on a target, one file per kind.
//!
//! A `Workload` makes one `Worker` per thread; the engine calls
//! `Worker::step` once per unit op (a file, a record, a line) and times it;
//! the worker times each syscall it makes. Errors are recorded by errno and
//! the worker carries on with the next unit — a failing disk is a result,
//! not a crash of the benchmark.

pub mod copy_up;
pub mod exec;
pub mod fsync_heavy;
pub mod ledger;
pub mod log_append;
pub mod metadata;
pub mod mock;
pub mod payload;
pub mod read_atime;
pub mod replay;
pub mod sequence;
pub mod small_files;
pub mod sync;
pub mod sys;

use std::io;
use std::path::Path;

use crate::cancel::Cancel;
use crate::record::{Op, Recorder};
use crate::scenario::{TargetSpec, WorkloadParams, WorkloadSpec};

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// One unit op completed.
    Done,
    /// An op failed (already recorded with its errno); the unit was abandoned.
    Failed(i32),
    /// Nothing left to do (every file copied up); the thread ends.
    Exhausted,
}

/// Whether a verifier reads back what the workers write: a crash,
/// power_loss, eio or enospc fault applies to the cell. Decided by the
/// engine per cell and handed to each worker when it is made, which then
/// chooses its bytes and whether it keeps a ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Nothing reads the bytes back: workers write the cheapest correct
    /// bytes (windows of a seeded buffer prepared once, see
    /// [`payload::Payload::plain`]) and keep no ledger.
    Off,
    /// A verifier checks what survived: full self-describing records
    /// (header, sequence, CRC; the same bytes for the same seed) and a
    /// ledger of what was written and acknowledged.
    Armed,
    /// As `Armed`, and the ledger keeps its history, to be read as of any
    /// moment: crash states taken from one run (`power_loss` with
    /// `states`) are each verified against the ledger as it stood then.
    ArmedWithHistory,
}

impl Verification {
    /// Whether a verifier reads the bytes back.
    pub fn is_armed(self) -> bool {
        self != Verification::Off
    }

    /// The ledger a worker keeps: none when nothing verifies.
    pub fn ledger(self) -> Option<ledger::Ledger> {
        match self {
            Verification::Off => None,
            Verification::Armed => Some(ledger::Ledger::default()),
            Verification::ArmedWithHistory => Some(ledger::Ledger::with_history()),
        }
    }
}

/// A workload kind with its parameters.
pub trait Workload: Send + Sync {
    /// The op a user counts throughput in.
    fn unit_op(&self) -> Op;
    /// Prepares thread `thread`'s worker under `root` (files it needs before
    /// the clock starts, e.g. a preallocated WAL). Not measured. Setup
    /// loops poll `cancel` so that a signal stops them within 100 ms.
    /// `verification` says whether what it writes will be read back.
    fn worker(
        &self,
        root: &Path,
        thread: u32,
        seed: u64,
        verification: Verification,
        cancel: &Cancel,
    ) -> io::Result<Box<dyn Worker>>;
    /// What a reader should know about how it runs on `target` (a
    /// baseline made of its own files where a layer has none …).
    fn notes(&self, _target: &TargetSpec) -> Vec<String> {
        Vec::new()
    }
    /// The cell it runs in is named `name` (the stem of its interval log,
    /// unique in the run); called once, before any worker is made.
    fn set_cell(&mut self, _name: &str) {}
    /// Files for the run directory, written next to the cell's interval
    /// log as `<its stem>.<suffix>`: (suffix, contents). Asked once, after
    /// the cell; each kind bounds what it returns.
    fn artifacts(&self) -> Vec<(String, Vec<u8>)> {
        Vec::new()
    }
}

/// One thread's state machine.
pub trait Worker: Send {
    /// Performs one unit op, recording every syscall in `rec`.
    fn step(&mut self, rec: &mut Recorder) -> Step;
    /// Untimed work between two unit ops (a replay puts its directory
    /// back as the trace found it). The cell's clock runs on: throughput
    /// counts it, the unit op's latency does not. Returns whether it did
    /// any (then the next unit op's clock starts afresh).
    fn between_units(&mut self) -> bool {
        false
    }
    /// True when every step ends with a timed syscall and nothing but
    /// bookkeeping follows it (counters, a sync policy's look at its
    /// clock): the engine then ends a closed-loop unit op on that
    /// syscall's end reading instead of reading the clock once more (one
    /// clock read of three for a buffered write). What follows is charged
    /// to the next unit op, whose clock starts there; no time falls
    /// between two unit ops. A rotation of the interval inside the step
    /// breaks the chain instead.
    fn ends_at_its_last_call(&self) -> bool {
        false
    }
    /// The cell is over: apply `fsync: end`, close what is open.
    fn finish(&mut self, rec: &mut Recorder);
    /// What a reader should know about how this thread ran (a replay's end
    /// state that differed from the trace's …); asked once, after
    /// [`Worker::finish`].
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
    /// True when a failed unit op is a result of its own, as costly as a
    /// success (a command's exit status): the engine then never stops the
    /// thread for a run of failures, and counts failed unit ops towards
    /// an `ops:` stop. False (the default): a failure is the target's,
    /// possibly fast and hopeless (a full filesystem), so a run of
    /// failures stops the thread and an `ops:` stop counts successes.
    fn failures_are_results(&self) -> bool {
        false
    }
    /// Tasks that ended in the measured phase but had begun before the
    /// cell (log_append's head start): their start is unknown, so no `task`
    /// op counts them. The engine adds them up into a note.
    fn uncounted_tasks(&self) -> u64 {
        0
    }
    /// The ledger of writes and acknowledgements kept since the worker
    /// was made with [`Verification::Armed`], if its kind keeps one
    /// (workloads that cannot be verified keep none).
    fn take_ledger(&mut self) -> Option<ledger::Ledger> {
        None
    }
}

/// The workload a spec describes.
pub fn build(spec: &WorkloadSpec) -> Box<dyn Workload> {
    match &spec.params {
        WorkloadParams::SmallFiles(p) => Box::new(small_files::SmallFiles::new(spec.clone(), p)),
        WorkloadParams::FsyncHeavy(p) => Box::new(fsync_heavy::FsyncHeavy::new(spec.clone(), p)),
        WorkloadParams::LogAppend(p) => Box::new(log_append::LogAppend::new(spec.clone(), p)),
        WorkloadParams::ReadAtime(p) => Box::new(read_atime::ReadAtime::new(spec.clone(), p)),
        WorkloadParams::CopyUp(p) => Box::new(copy_up::CopyUp::new(spec.clone(), p)),
        WorkloadParams::Metadata(p) => Box::new(metadata::Metadata::new(spec.clone(), p)),
        WorkloadParams::Sequence(p) => Box::new(sequence::Sequence::new(spec.clone(), p)),
        WorkloadParams::Replay(p) => Box::new(replay::Replay::new(spec.clone(), p)),
        WorkloadParams::Exec(p) => Box::new(exec::Exec::new(spec.clone(), p)),
    }
}

/// Directory entries read between two polls of the cancel token while
/// listing: a few milliseconds' worth, however large one directory is.
const ENTRIES_PER_POLL: u64 = 4096;

/// Regular files already under `root` (an overlay's lower files), relative
/// and sorted — outside the workloads' own `tNN` directories and
/// wpbench's `.wpbench*` entries; symlinks are not followed. Polls
/// `cancel` every [`ENTRIES_PER_POLL`] entries, in a directory too.
pub(crate) fn existing_files(root: &Path, cancel: &Cancel) -> io::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::new()];
    let mut seen = 0u64;
    while let Some(rel) = stack.pop() {
        cancel.check()?;
        for entry in std::fs::read_dir(root.join(&rel))? {
            seen += 1;
            if seen.is_multiple_of(ENTRIES_PER_POLL) {
                cancel.check()?;
            }
            let entry = entry?;
            let ty = entry.file_type()?;
            let name = entry.file_name();
            let top = rel.as_os_str().is_empty();
            let ours = name.to_str().is_some_and(|n| {
                n.starts_with(".wpbench") || (top && ty.is_dir() && metadata::is_thread_dir(n))
            });
            if ours {
                continue;
            }
            if ty.is_dir() {
                stack.push(rel.join(name));
            } else if ty.is_file() {
                out.push(rel.join(name));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Directories directly under `root` that were already there (an
/// overlay's lower `dNNNN`), sorted — outside the workloads' own `tNN`,
/// wpbench's `.wpbench*` entries and a filesystem's own `lost+found`;
/// symlinks are not followed.
pub(crate) fn existing_dirs(root: &Path) -> io::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let name = entry.file_name();
        let ours = name.to_str().is_some_and(|n| {
            n.starts_with(".wpbench") || n == "lost+found" || metadata::is_thread_dir(n)
        });
        if !ours {
            out.push(std::path::PathBuf::from(name));
        }
    }
    out.sort();
    Ok(out)
}

/// Turns an io::Error into a failed step.
pub(crate) fn failed(e: &io::Error) -> Step {
    Step::Failed(crate::record::errno::errno_of(e))
}

/// A C string for a generated name (names never contain NUL).
pub(crate) fn cname(s: String) -> std::ffi::CString {
    std::ffi::CString::new(s).expect("generated names contain no NUL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_finds_every_file_of_a_large_directory_and_stops_for_a_signal() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().join("d0000");
        std::fs::create_dir(&top).unwrap();
        for i in 0..ENTRIES_PER_POLL + 10 {
            std::fs::File::create(top.join(format!("f{i:06}"))).unwrap();
        }
        let all = existing_files(dir.path(), &Cancel::new()).unwrap();
        assert_eq!(all.len() as u64, ENTRIES_PER_POLL + 10);
        let cancel = Cancel::new();
        cancel.set();
        let e = existing_files(dir.path(), &cancel).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Interrupted);
    }
}

/// Helpers for the workloads' own tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::collections::BTreeMap;
    use std::sync::mpsc::Receiver;

    use crate::record::{IntervalSample, Op};
    use crate::scenario::{
        PayloadKind, SyncCall, SyncPolicy, WorkloadKind, WorkloadParams, WorkloadSpec,
    };

    /// A one-thread workload `w` of `kind` with these parameters and the
    /// workload-wide keys at their plainest (no sync, random payload).
    pub fn spec(kind: WorkloadKind, params: WorkloadParams) -> WorkloadSpec {
        WorkloadSpec {
            name: "w".into(),
            base_name: "w".into(),
            kind,
            threads: 1,
            rate: None,
            fsync: SyncPolicy::Never,
            sync_call: SyncCall::Fsync,
            fsync_dir: false,
            o_direct: false,
            think_time: None,
            payload: PayloadKind::Random,
            params,
        }
    }

    /// (op → successes, op → errors) over every sample a recorder sent.
    pub fn counts(rx: &Receiver<IntervalSample>) -> (BTreeMap<Op, u64>, BTreeMap<Op, u64>) {
        let (mut ok, mut err) = (BTreeMap::new(), BTreeMap::new());
        for s in rx.try_iter() {
            for (op, h) in s.hists {
                *ok.entry(op).or_insert(0) += h.len();
            }
            for (op, _, n, _) in s.errors {
                *err.entry(op).or_insert(0) += n;
            }
        }
        (ok, err)
    }
}
