//! `kind: replay`: one pass of a traced program's file calls per unit op.
//!
//! Each wpbench thread replays the whole trace in its own directory
//! (`tNN/r`), the trace's threads concurrently as in the trace (one OS
//! thread each; calls that the trace orders across threads wait for each
//! other). Before each pass, untimed, the directory is put back as the
//! trace found it ([`Trace::before`]); after it, what the pass left is
//! compared with what the trace implies ([`Trace::after`]).
//!
//! Every call is recorded under its own op (`write`, `fsync`, …) with its
//! service time, or, with `timing: original`, its response time from when
//! the trace says it started (open loop: a call held up by a slow one
//! before it counts its wait). A call that failed in the trace and fails
//! the same way is a success of the replay; any other failure is counted
//! by errno.

mod calls;
mod state;

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use calls::{Buffers, Fds, Made};

use super::payload::{thread_seed, Payload};
use super::sys::AlignedBuf;
use super::{Step, Worker, Workload};
use crate::cancel::{wait_until, Cancel};
use crate::record::{Op, Recorder};
use crate::scenario::trace::Trace;
use crate::scenario::{self, call_op, largest_io, TargetSpec, Timing, WorkloadSpec};

pub struct Replay {
    spec: WorkloadSpec,
    params: scenario::Replay,
}

impl Replay {
    pub fn new(spec: WorkloadSpec, params: &scenario::Replay) -> Replay {
        Replay {
            spec,
            params: params.clone(),
        }
    }
}

impl Workload for Replay {
    fn unit_op(&self) -> Op {
        Op::Replay
    }

    fn worker(
        &self,
        root: &Path,
        thread: u32,
        seed: u64,
        _verification: super::Verification,
        cancel: &Cancel,
    ) -> io::Result<Box<dyn Worker>> {
        let dir = root.join(format!("t{thread:02}"));
        std::fs::create_dir(&dir)?;
        let trace = Arc::clone(&self.params.trace);
        let trace_threads = trace.threads.len();
        let mut payload = Payload::with_kind(
            thread_seed(seed, &self.spec.base_name, thread),
            self.spec.payload,
        );
        let (largest_write, largest_read) = largest_io(&trace);
        let mut bytes = Vec::new();
        payload.fill(&mut bytes, (largest_write as usize).max(1));
        let mut write = AlignedBuf::default();
        write.load(&bytes);
        let mut worker = ReplayWorker {
            pass_dir: dir.join("r"),
            root: None,
            trace,
            timing: self.params.timing,
            speed: self.params.speed,
            write,
            write_len: bytes.len(),
            reads: (0..trace_threads)
                .map(|_| {
                    let mut b = AlignedBuf::default();
                    b.slice((largest_read as usize).max(1));
                    b
                })
                .collect(),
            read_len: (largest_read as usize).max(1),
            payload,
            cancel: cancel.clone(),
            passes: 0,
            differing: state::Differences::default(),
            unexpected_successes: 0,
        };
        worker.reset()?;
        Ok(Box::new(worker))
    }

    /// What of the trace is not replayed.
    fn notes(&self, _target: &TargetSpec) -> Vec<String> {
        state::trace_notes(&self.params)
    }
}

struct ReplayWorker {
    /// The directory the trace's root maps onto, remade before each pass.
    pass_dir: PathBuf,
    root: Option<OwnedFd>,
    trace: Arc<Trace>,
    timing: Timing,
    speed: f64,
    write: AlignedBuf,
    write_len: usize,
    /// One read buffer per trace thread, made once.
    reads: Vec<AlignedBuf>,
    read_len: usize,
    payload: Payload,
    cancel: Cancel,
    passes: u64,
    differing: state::Differences,
    /// Calls that failed in the trace and succeeded here.
    unexpected_successes: u64,
}

impl ReplayWorker {
    /// Puts the pass directory back as the trace found it (untimed).
    fn reset(&mut self) -> io::Result<()> {
        self.root = None;
        let root = state::remake(&self.pass_dir, &self.trace, &mut self.payload, &self.cancel)?;
        self.root = Some(root);
        Ok(())
    }

    /// One pass: every trace thread's calls, in their own OS threads when
    /// the trace has several.
    fn pass(&mut self, rec: &mut Recorder) -> Option<PassTotals> {
        let root = self.root.as_ref()?.as_fd();
        let write = &self.write.slice(self.write_len)[..];
        let threads = self.trace.threads.len();
        let shared = Shared {
            trace: &self.trace,
            root,
            fds: Fds::new(self.trace.slots),
            progress: (0..threads).map(|_| AtomicUsize::new(0)).collect(),
            cancel: &self.cancel,
            write,
            start: Instant::now(),
            base: first_call(&self.trace),
            speed: match self.timing {
                Timing::Original => Some(self.speed),
                Timing::Fast => None,
            },
        };
        let read_len = self.read_len;
        let mut reads = self.reads.iter_mut().map(|b| b.slice(read_len));
        let outs: Vec<ThreadOut> = if threads == 1 {
            vec![shared.run(0, reads.next()?)]
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = reads
                    .enumerate()
                    .map(|(t, read)| {
                        let sh = &shared;
                        s.spawn(move || sh.run(t, read))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_default())
                    .collect()
            })
        };
        shared.fds.close_all();
        Some(record(rec, outs))
    }
}

/// What one pass did, over its threads.
#[derive(Default)]
struct PassTotals {
    cancelled: bool,
    unexpected_successes: u64,
}

/// Records every thread's calls in the order they ended (a recorder's
/// intervals only move forward).
fn record(rec: &mut Recorder, outs: Vec<ThreadOut>) -> PassTotals {
    let mut totals = PassTotals::default();
    let mut events: Vec<Event> = Vec::new();
    for out in outs {
        totals.cancelled |= out.cancelled;
        totals.unexpected_successes += out.unexpected_successes;
        rec.add_bytes(out.written);
        events.extend(out.events);
    }
    events.sort_by_key(|e| e.end);
    for e in events {
        match e.errno {
            None => rec.record(e.op, e.start, e.end),
            Some(errno) => rec.error(e.op, errno, e.end),
        }
    }
    totals
}

/// The earliest call of the trace: a pass's time zero.
fn first_call(trace: &Trace) -> Duration {
    trace
        .threads
        .iter()
        .filter_map(|t| t.calls.first())
        .map(|c| c.at)
        .min()
        .unwrap_or_default()
}

impl Worker for ReplayWorker {
    fn step(&mut self, rec: &mut Recorder) -> Step {
        let Some(totals) = self.pass(rec) else {
            return Step::Failed(libc::ENOENT);
        };
        self.unexpected_successes += totals.unexpected_successes;
        if totals.cancelled {
            return Step::Failed(libc::EINTR);
        }
        self.passes += 1;
        Step::Done
    }

    /// Compares what the pass left with the trace, then remakes the
    /// directory for the next one.
    fn between_units(&mut self) -> bool {
        if let Some(root) = &self.root {
            self.differing.compare(root.as_fd(), &self.trace);
        }
        if let Err(e) = self.reset() {
            // The next step finds no directory and fails; say why once.
            self.differing.reset_failed(e);
        }
        true
    }

    fn finish(&mut self, _rec: &mut Recorder) {
        self.root = None;
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = self.differing.notes();
        if self.unexpected_successes > 0 {
            notes.push(format!(
                "replay: {} calls that failed in the trace succeeded here",
                self.unexpected_successes
            ));
        }
        notes
    }
}

/// One timed call.
struct Event {
    op: Op,
    start: Instant,
    end: Instant,
    errno: Option<i32>,
}

#[derive(Default)]
struct ThreadOut {
    events: Vec<Event>,
    written: u64,
    unexpected_successes: u64,
    cancelled: bool,
}

/// What the threads of one pass share.
struct Shared<'a> {
    trace: &'a Trace,
    root: BorrowedFd<'a>,
    fds: Fds,
    /// Calls each trace thread has completed (usize::MAX once it ended).
    progress: Vec<AtomicUsize>,
    cancel: &'a Cancel,
    write: &'a [u8],
    start: Instant,
    base: Duration,
    /// `timing: original`'s speed; None for `fast`.
    speed: Option<f64>,
}

impl Shared<'_> {
    /// Replays trace thread `t`.
    fn run(&self, t: usize, read: &mut [u8]) -> ThreadOut {
        // However this thread ends (a panic included), the threads that
        // wait for its calls go on.
        let _done = Done(&self.progress[t]);
        let mut out = ThreadOut::default();
        let mut bufs = Buffers {
            write: self.write,
            read,
        };
        let calls = &self.trace.threads[t].calls;
        out.events.reserve(calls.len());
        for (i, call) in calls.iter().enumerate() {
            if self.cancel.is_set() || !self.wait_for(&call.after) {
                out.cancelled = true;
                break;
            }
            let intended = self.speed.and_then(|speed| {
                let gap = call.at.saturating_sub(self.base).as_secs_f64() / speed;
                self.start
                    .checked_add(Duration::try_from_secs_f64(gap).ok()?)
            });
            if intended.is_some_and(|at| !wait_until(at, || self.cancel.is_set())) {
                out.cancelled = true;
                break;
            }
            let begun = Instant::now();
            let made = calls::make(&call.op, self.root, &self.fds, &mut bufs, &mut out.written);
            let end = Instant::now();
            self.progress[t].store(i + 1, Ordering::Release);
            let (Made::Timed(outcome), Some(op)) = (made, call_op(&call.op)) else {
                continue;
            };
            let errno = match (call.result, outcome) {
                (Ok(_), Ok(_)) => None,
                (Err(expected), Err(got)) if expected == got => None,
                (Err(_), Ok(_)) => {
                    out.unexpected_successes += 1;
                    None
                }
                (_, Err(got)) => Some(got),
            };
            out.events.push(Event {
                op,
                start: intended.unwrap_or(begun),
                end,
                errno,
            });
        }
        out
    }

    /// Waits until the calls of other threads that this one follows have
    /// completed; false when the run is cancelled meanwhile.
    fn wait_for(&self, after: &[(usize, usize)]) -> bool {
        for &(t, c) in after {
            let mut spins = 0u32;
            while self
                .progress
                .get(t)
                .is_some_and(|p| p.load(Ordering::Acquire) <= c)
            {
                spins += 1;
                if spins < 100 {
                    std::hint::spin_loop();
                } else {
                    if self.cancel.is_set() {
                        return false;
                    }
                    std::thread::yield_now();
                }
            }
        }
        true
    }
}

/// Marks a trace thread ended when dropped.
struct Done<'a>(&'a AtomicUsize);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.store(usize::MAX, Ordering::Release);
    }
}

#[cfg(test)]
mod tests;
