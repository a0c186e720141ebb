//! log_append: short-lived task logs. Each thread keeps `open_tasks` task
//! logs open at once (default 1: one task after another). Every unit op
//! `line` appends one line of `line_size` to one of them; a task's log is
//! `tNN/taskNNNNNNNN.log`, and when it reaches the task's `file_size` (both
//! sizes drawn with the seed) it is synced per policy, closed, and a new
//! task takes its place. Finished logs beyond `retain` per thread are
//! unlinked, as log shipping or container removal would. Unit ops: `line`
//! (each append, rate-controlled when `rate` is set) and `task` (create →
//! last close, so seconds long when many tasks share a thread).
//!
//! Choices, and why:
//!
//! - **Which open task gets a line: a seeded uniform draw**, not round
//!   robin. Containers write independently, so a node sees their lines
//!   interleaved irregularly; round robin would give every log a fixed
//!   stride, a regularity the page cache and the allocator never see in
//!   production. Each task still gets `rate / open_tasks` lines per second
//!   on average, so a task lasts ≈ lines per task × `open_tasks` / `rate`
//!   (within a few per cent for logs of hundreds of lines), and the same
//!   seed gives the same interleaving.
//! - **`open_tasks`, not a `task_duration`.** The engine paces unit ops
//!   (`line`) per thread; how long a task lives follows from how many
//!   tasks share that pace. Pacing each task's lines to a drawn duration
//!   would need a second scheduler inside the worker, fighting the
//!   engine's open loop, and a task arrival rate besides. With
//!   `open_tasks` one schedule says everything: lines/s is `rate`, tasks/s
//!   ≈ `rate` / lines per task, a task's life ≈ lines per task ×
//!   `open_tasks` / `rate`.
//! - **A head start** (open_tasks > 1): before the clock, each slot gets a
//!   task already under way — its size drawn as a task in progress at a
//!   random moment is (length-biased), a uniform share of it written as
//!   setup. Tasks then end at a steady rate from the first second, instead
//!   of all together one lifetime in. A head-start task's `task` op is not
//!   recorded (it began before the cell; its length is unknown); one that
//!   ends in the measured phase is counted in a note, since leaving it out
//!   biases `task` toward short tasks — a warm-up longer than the longest
//!   task avoids that. `open_tasks: 1` keeps the earlier behaviour (and
//!   the same bytes for a seed): one task at a time, from scratch.
//! - **The sync policy applies per task log**: each open log counts its own
//!   writes, bytes and interval, as each container's logger would; a sync
//!   of one log covers nothing of another's. So `{interval: 1s}` syncs
//!   every open log about once a second.
//! - **At the end of the cell** the tasks still open are closed without
//!   their `on_close` sync and are not recorded: the cell ended, the tasks
//!   did not. `task` counts only tasks that ended.

use std::collections::VecDeque;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::Instant;

use super::payload::{thread_seed, Payload, PlainLines};
use super::sync::Syncer;
use super::{cname, failed, sys, Step, Verification, Worker, Workload};
use crate::cancel::Cancel;
use crate::record::{Op, Recorder};
use crate::scenario::{self, SizeRange, SyncCall, SyncPolicy, WorkloadSpec};

/// Open files a run needs besides the task logs (directories, the interval
/// log, the target's own descriptors).
const OTHER_FDS: u64 = 256;

pub struct LogAppend {
    spec: WorkloadSpec,
    line_size: SizeRange,
    file_size: SizeRange,
    retain: u64,
    open_tasks: u32,
}

impl LogAppend {
    pub fn new(spec: WorkloadSpec, params: &scenario::LogAppend) -> LogAppend {
        let scenario::LogAppend {
            line_size,
            file_size,
            retain,
            open_tasks,
        } = params.clone();
        LogAppend {
            spec,
            line_size,
            file_size,
            retain,
            open_tasks,
        }
    }

    /// Room for every thread's open task logs, or a clear error.
    fn ensure_fd_limit(&self) -> io::Result<()> {
        let logs = u64::from(self.spec.threads) * u64::from(self.open_tasks);
        sys::ensure_open_files(logs + OTHER_FDS).map_err(|why| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "`open_tasks: {}` × `threads: {}` keep {logs} task logs open, and {why}; \
                     raise it (ulimit -n, LimitNOFILE=) or lower open_tasks or threads",
                    self.open_tasks, self.spec.threads
                ),
            )
        })
    }

    fn build(
        &self,
        root: &Path,
        thread: u32,
        seed: u64,
        verification: Verification,
        cancel: &Cancel,
    ) -> io::Result<LogWorker> {
        self.ensure_fd_limit()?;
        let payload = Payload::with_kind(
            thread_seed(seed, &self.spec.base_name, thread),
            self.spec.payload,
        );
        let mut w = LogWorker {
            thread,
            line_size: self.line_size,
            file_size: self.file_size,
            retain: self.retain,
            fsync_dir: self.spec.fsync_dir,
            policy: self.spec.fsync,
            call: self.spec.sync_call,
            plain: match verification {
                Verification::Off => Some(PlainLines::new(
                    &payload,
                    usize::try_from(self.line_size.max).unwrap_or(usize::MAX),
                )),
                Verification::Armed | Verification::ArmedWithHistory => None,
            },
            payload,
            dir: sys::thread_dir(root, thread)?,
            slots: (0..self.open_tasks).map(|_| None).collect(),
            tasks_begun: 0,
            line_seq: 0,
            finished: VecDeque::new(),
            buf: Vec::new(),
            uncounted: 0,
        };
        if self.open_tasks > 1 {
            w.head_start(cancel)?;
        }
        Ok(w)
    }
}

impl Workload for LogAppend {
    fn unit_op(&self) -> Op {
        Op::Line
    }

    fn worker(
        &self,
        root: &Path,
        thread: u32,
        seed: u64,
        verification: Verification,
        cancel: &Cancel,
    ) -> io::Result<Box<dyn Worker>> {
        Ok(Box::new(self.build(
            root,
            thread,
            seed,
            verification,
            cancel,
        )?))
    }
}

struct Task {
    fd: OwnedFd,
    name: CString,
    target_size: u64,
    written: u64,
    /// When the task began; `None` for a head-start task, which began
    /// before the cell.
    started: Option<Instant>,
    /// This log's own sync state.
    syncer: Syncer,
}

struct LogWorker {
    thread: u32,
    line_size: SizeRange,
    file_size: SizeRange,
    retain: u64,
    fsync_dir: bool,
    policy: SyncPolicy,
    call: SyncCall,
    payload: Payload,
    /// With no verifier armed: every line is the tail of one prepared
    /// line; with one, each line is built with its header and CRC.
    plain: Option<PlainLines>,
    dir: OwnedFd,
    /// The open tasks; an empty slot gets a new task at its next line.
    slots: Vec<Option<Task>>,
    tasks_begun: u64,
    line_seq: u64,
    finished: VecDeque<CString>,
    buf: Vec<u8>,
    /// Head-start tasks that ended in the measured phase.
    uncounted: u64,
}

impl LogWorker {
    fn next_name(&mut self) -> CString {
        let name = cname(format!("task{:08}.log", self.tasks_begun));
        self.tasks_begun += 1;
        name
    }

    /// Setup, not measured: every slot gets a task already under way. In
    /// a steady state the task open at a random moment is length-biased (a
    /// long task is open for longer) and a uniform share of the way
    /// through, so: draw a size, keep it with probability size / max, and
    /// write a uniform share of it as whole lines.
    fn head_start(&mut self, cancel: &Cancel) -> io::Result<()> {
        let open_flags = Syncer::new(self.policy, self.call).open_flags();
        let mut head = Vec::new();
        for slot in 0..self.slots.len() {
            cancel.check()?;
            let target_size = loop {
                let s = self.payload.size(self.file_size);
                if self.payload.fraction() * self.file_size.max as f64 <= s as f64 {
                    break s;
                }
            };
            let head_bytes = (self.payload.fraction() * target_size as f64) as usize;
            head.clear();
            loop {
                let len = self.payload.size(self.line_size) as usize;
                if head.len() + len > head_bytes {
                    break;
                }
                self.payload
                    .line(&mut self.buf, self.thread, self.line_seq, len);
                self.line_seq += 1;
                head.extend_from_slice(&self.buf);
            }
            let name = self.next_name();
            sys::write_new_file(self.dir.as_fd(), &name, &head)?;
            let fd = sys::open_append(self.dir.as_fd(), &name, open_flags)?;
            let phase = self.payload.fraction();
            self.slots[slot] = Some(Task {
                fd,
                name,
                target_size,
                // < target_size: head_bytes is, and whole lines stop short of it.
                written: head.len() as u64,
                started: None,
                syncer: Syncer::with_phase(self.policy, self.call, phase),
            });
        }
        Ok(())
    }

    fn begin_task(&mut self, rec: &mut Recorder) -> io::Result<Task> {
        let started = Instant::now();
        let name = self.next_name();
        let target_size = self.payload.size(self.file_size);
        let syncer = Syncer::new(self.policy, self.call);
        let fd = sys::create(
            rec,
            self.dir.as_fd(),
            &name,
            rustix::fs::OFlags::APPEND | syncer.open_flags(),
        )?;
        if self.fsync_dir {
            if let Err(e) = sys::fsync(rec, Op::FsyncDir, self.dir.as_fd()) {
                sys::discard(fd);
                return Err(e);
            }
        }
        Ok(Task {
            fd,
            name,
            target_size,
            written: 0,
            started: Some(started),
            syncer,
        })
    }

    fn end_task(&mut self, rec: &mut Recorder, mut task: Task) -> io::Result<()> {
        if let Err(e) = task.syncer.before_close(rec, task.fd.as_fd()) {
            sys::discard(task.fd);
            return Err(e);
        }
        sys::close(rec, task.fd)?;
        // The task ends when its close returns: that call's own reading,
        // so nothing but counters follows a step's last call.
        let now = rec
            .last_end()
            .map_or_else(Instant::now, |end| rec.clock().instant_of(end));
        match task.started {
            Some(started) => rec.record(Op::Task, started, now),
            None if rec.measuring(now) => self.uncounted += 1,
            None => {}
        }
        self.finished.push_back(task.name);
        while self.finished.len() as u64 > self.retain {
            let oldest = self.finished.pop_front().expect("non-empty");
            sys::unlink(rec, self.dir.as_fd(), &oldest)?;
        }
        Ok(())
    }

    fn one_line(&mut self, rec: &mut Recorder) -> io::Result<()> {
        // With one slot there is nothing to draw (and the seed's stream
        // stays what it was before open_tasks existed).
        let slot = match self.slots.len() {
            1 => 0,
            n => self.payload.index(n),
        };
        if self.slots[slot].is_none() {
            self.slots[slot] = Some(self.begin_task(rec)?);
        }
        let len = self.payload.size(self.line_size) as usize;
        let line = match &self.plain {
            Some(plain) => plain.line(len),
            None => {
                self.payload
                    .line(&mut self.buf, self.thread, self.line_seq, len);
                &self.buf
            }
        };
        self.line_seq += 1;
        let task = self.slots[slot].as_mut().expect("begun above");
        let written = sys::write_all(rec, task.fd.as_fd(), line)
            .and_then(|()| task.syncer.after_write(rec, task.fd.as_fd(), len as u64));
        if let Err(e) = written {
            // Abandon the task: a log with a hole is not worth continuing.
            if let Some(t) = self.slots[slot].take() {
                sys::discard(t.fd);
            }
            return Err(e);
        }
        task.written += len as u64;
        if task.written >= task.target_size {
            let done = self.slots[slot].take().expect("present");
            self.end_task(rec, done)?;
        }
        Ok(())
    }
}

impl Worker for LogWorker {
    fn step(&mut self, rec: &mut Recorder) -> Step {
        match self.one_line(rec) {
            Ok(()) => Step::Done,
            Err(e) => failed(&e),
        }
    }

    fn ends_at_its_last_call(&self) -> bool {
        // A line's write (and its sync), or a task's close and unlinks.
        true
    }

    fn finish(&mut self, rec: &mut Recorder) {
        // The tasks in progress are cut short by the end of the cell, not
        // finished: closed without their on_close sync, not counted.
        for slot in &mut self.slots {
            if let Some(task) = slot.take() {
                sys::discard(task.fd);
            }
        }
        if self.policy == SyncPolicy::End {
            let _ = sys::syncfs(rec, self.dir.as_fd());
        }
    }

    fn uncounted_tasks(&self) -> u64 {
        self.uncounted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{PayloadKind, WorkloadKind, WorkloadParams};
    use crate::workload::testing::counts;
    use std::collections::BTreeMap;
    use std::sync::mpsc::channel;

    /// The workload of a log_append spec.
    fn workload(s: WorkloadSpec) -> LogAppend {
        match &s.params {
            WorkloadParams::LogAppend(p) => LogAppend::new(s.clone(), p),
            other => panic!("not a log_append spec: {other:?}"),
        }
    }

    const LINE: SizeRange = SizeRange { min: 40, max: 200 };
    const FILE: SizeRange = SizeRange {
        min: 8 << 10,
        max: 24 << 10,
    };

    fn spec(open_tasks: u32, retain: u64, fsync: SyncPolicy) -> WorkloadSpec {
        WorkloadSpec {
            name: "logs".into(),
            base_name: "logs".into(),
            kind: WorkloadKind::LogAppend,
            threads: 1,
            rate: None,
            fsync,
            sync_call: SyncCall::Fsync,
            fsync_dir: false,
            o_direct: false,
            think_time: None,
            payload: PayloadKind::Random,
            params: WorkloadParams::LogAppend(scenario::LogAppend {
                line_size: LINE,
                file_size: FILE,
                retain,
                open_tasks,
            }),
        }
    }

    /// Every file under `dir`'s thread 0 directory: name → bytes.
    fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(dir.join("t00"))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().into_string().unwrap(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect()
    }

    /// The sequence numbers of a log's lines.
    fn seqs(log: &[u8]) -> Vec<u64> {
        log.split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| u64::from_str_radix(std::str::from_utf8(&l[5..17]).unwrap(), 16).unwrap())
            .collect()
    }

    fn open_names(w: &LogWorker) -> Vec<String> {
        w.slots
            .iter()
            .flatten()
            .map(|t| t.name.to_str().unwrap().to_string())
            .collect()
    }

    /// Runs `steps` lines; returns the worker (finished) and the recorded
    /// (successes, errors) per op.
    /// Lines are built with their header (as with a verifier armed).
    fn run(
        dir: &Path,
        s: WorkloadSpec,
        seed: u64,
        steps: u64,
    ) -> (LogWorker, BTreeMap<Op, u64>, BTreeMap<Op, u64>) {
        run_as(dir, s, seed, steps, Verification::Armed)
    }

    fn run_as(
        dir: &Path,
        s: WorkloadSpec,
        seed: u64,
        steps: u64,
        verification: Verification,
    ) -> (LogWorker, BTreeMap<Op, u64>, BTreeMap<Op, u64>) {
        let mut w = workload(s)
            .build(dir, 0, seed, verification, &Cancel::new())
            .unwrap();
        let (tx, rx) = channel();
        let mut rec = Recorder::new(0, Instant::now(), tx);
        for _ in 0..steps {
            assert_eq!(w.step(&mut rec), Step::Done);
        }
        w.finish(&mut rec);
        rec.finish();
        let (ok, err) = counts(&rx);
        (w, ok, err)
    }

    #[test]
    fn unverified_lines_are_tails_of_one_plain_line_the_same_for_a_seed() {
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let s = || spec(1, 1000, SyncPolicy::Never);
        run_as(a.path(), s(), 5, 2000, Verification::Off);
        run_as(b.path(), s(), 5, 2000, Verification::Off);
        run_as(c.path(), s(), 5, 2000, Verification::Armed);
        let (plain, full) = (files(a.path()), files(c.path()));
        assert_eq!(plain, files(b.path()));
        let payload = Payload::new(thread_seed(5, "logs", 0));
        let lines = PlainLines::new(&payload, LINE.max as usize);
        let mut n = 0;
        for (name, log) in &plain {
            for l in log.split_inclusive(|b| *b == b'\n') {
                assert!((LINE.min as usize..=LINE.max as usize).contains(&l.len()));
                assert_eq!(l, lines.line(l.len()), "{name}");
                n += 1;
            }
        }
        assert_eq!(n, 2000);
        // With a verifier armed, each line carries its header and CRC.
        assert_eq!(seqs(&full["task00000000.log"])[..3], [0, 1, 2]);
    }

    #[test]
    fn one_open_task_writes_its_tasks_one_after_another() {
        let dir = tempfile::tempdir().unwrap();
        let (w, ok, err) = run(dir.path(), spec(1, 1000, SyncPolicy::OnClose), 5, 3000);
        assert!(err.is_empty(), "{err:?}");
        assert_eq!(ok[&Op::Write], 3000);
        let on_disk = files(dir.path());
        assert_eq!(on_disk.len() as u64, w.tasks_begun);
        // Every task but the one cut short by the end was recorded, and
        // synced once on close (the cut one was not).
        let ended = w.tasks_begun - 1;
        assert!(ended >= 10, "{ended} tasks");
        assert_eq!((ok[&Op::Task], ok[&Op::Fsync]), (ended, ended));
        assert_eq!(w.uncounted, 0, "no head start with one open task");
        // One task at a time: each log holds consecutive lines.
        let mut next = 0;
        for log in on_disk.values() {
            let s = seqs(log);
            assert_eq!(s, (next..next + s.len() as u64).collect::<Vec<_>>());
            next += s.len() as u64;
        }
        assert_eq!(next, 3000);
    }

    #[test]
    fn many_open_tasks_interleave_start_under_way_and_live_longer() {
        const OPEN: u32 = 16;
        let dir = tempfile::tempdir().unwrap();
        let mut w = workload(spec(OPEN, 100_000, SyncPolicy::OnClose))
            .build(dir.path(), 0, 9, Verification::Armed, &Cancel::new())
            .unwrap();
        // The head start: every slot holds a task part-way through.
        let heads = files(dir.path());
        assert_eq!(heads.len(), OPEN as usize);
        assert_eq!(open_names(&w), heads.keys().cloned().collect::<Vec<_>>());
        for t in w.slots.iter().flatten() {
            assert!(t.started.is_none() && t.written < t.target_size);
            assert!(FILE.min <= t.target_size && t.target_size <= FILE.max);
            let name = t.name.to_str().unwrap();
            assert_eq!(heads[name].len() as u64, t.written);
        }
        let head_lines: u64 = heads.values().map(|h| seqs(h).len() as u64).sum();
        assert_eq!(w.line_seq, head_lines);

        let (tx, rx) = channel();
        let mut rec = Recorder::new(0, Instant::now(), tx);
        let steps = 30_000;
        let mut first_end = None;
        for i in 0..steps {
            assert_eq!(w.step(&mut rec), Step::Done);
            if first_end.is_none() && w.tasks_begun > u64::from(OPEN) {
                first_end = Some(i);
            }
        }
        let still_open = open_names(&w);
        w.finish(&mut rec);
        rec.finish();
        let (ok, err) = counts(&rx);
        assert!(err.is_empty(), "{err:?}");
        assert_eq!(ok[&Op::Write], steps);

        // Tasks under way end soon, rather than all together a lifetime in
        // (a fresh task needs ≥ 8 KiB / 200 B × 16 ≈ 650 lines).
        assert!(
            first_end.unwrap() < 200,
            "first task ended at line {first_end:?}"
        );

        // The files are the tasks: head starts + fresh ones, every line once.
        let on_disk = files(dir.path());
        assert_eq!(on_disk.len() as u64, w.tasks_begun);
        let total_lines: u64 = on_disk.values().map(|l| seqs(l).len() as u64).sum();
        assert_eq!(total_lines, head_lines + steps);
        let ended = w.tasks_begun - still_open.len() as u64;
        // Every ended task is a `task` op, or a head start (not timed).
        assert_eq!(ok[&Op::Task] + w.uncounted, ended);
        assert_eq!(
            w.uncounted,
            u64::from(OPEN) - heads.keys().filter(|n| still_open.contains(n)).count() as u64
        );
        assert_eq!(
            ok[&Op::Fsync],
            ended,
            "on_close: a sync per ended task only"
        );
        assert_eq!(ok[&Op::Create], w.tasks_begun - u64::from(OPEN));

        // An ended log reached its size; a fresh one's lines span about
        // OPEN times as many of the thread's lines as it holds.
        let (mut spans, mut lines) = (0u64, 0u64);
        for (name, log) in &on_disk {
            if still_open.contains(name) {
                continue;
            }
            let len = log.len() as u64;
            assert!(
                (FILE.min..FILE.max + LINE.max).contains(&len),
                "{name}: {len}"
            );
            if !heads.contains_key(name) {
                let s = seqs(log);
                spans += s.last().unwrap() - s[0] + 1;
                lines += s.len() as u64;
            }
        }
        let stretch = spans as f64 / lines as f64;
        assert!(
            (0.8 * f64::from(OPEN)..1.2 * f64::from(OPEN)).contains(&stretch),
            "a task's lines span {stretch:.1}× its own count"
        );
    }

    #[test]
    fn the_seed_fixes_every_log_with_many_open_tasks() {
        let trees: Vec<_> = [3, 3, 4]
            .iter()
            .map(|&seed| {
                let dir = tempfile::tempdir().unwrap();
                run(dir.path(), spec(8, 20, SyncPolicy::Never), seed, 5000);
                files(dir.path())
            })
            .collect();
        assert!(trees[0].len() > 8);
        assert_eq!(trees[0], trees[1], "same seed, same names and bytes");
        assert_ne!(trees[0], trees[2], "another seed, other logs");
    }

    #[test]
    fn each_open_log_keeps_its_own_sync_policy() {
        // {every: 4}: each open log syncs on its own 4th, 8th … line (a
        // head start's phase counts as part of its first cycle), so the
        // syncs are the sum over logs of their lines in the run / 4.
        const OPEN: u64 = 8;
        let dir = tempfile::tempdir().unwrap();
        let head_lines = workload(spec(OPEN as u32, 1, SyncPolicy::Never))
            .build(dir.path(), 0, 2, Verification::Armed, &Cancel::new())
            .unwrap()
            .line_seq;
        let dir = tempfile::tempdir().unwrap();
        let (_, ok, _) = run(
            dir.path(),
            spec(OPEN as u32, 100_000, SyncPolicy::Every(4)),
            2,
            4000,
        );
        let fours: u64 = files(dir.path())
            .values()
            .map(|l| seqs(l).iter().filter(|&&s| s >= head_lines).count() as u64 / 4)
            .sum();
        let syncs = ok[&Op::Fsync];
        assert!(
            (fours..=fours + OPEN).contains(&syncs),
            "{syncs} syncs, {fours}"
        );
        // A count over the thread would sync every 4th line: 1000.
        assert!(syncs < 1000 - OPEN, "{syncs}");
        // `end`: no sync until the end, then one syncfs.
        let dir = tempfile::tempdir().unwrap();
        let (_, ok, _) = run(dir.path(), spec(8, 20, SyncPolicy::End), 2, 2000);
        assert_eq!((ok.get(&Op::Fsync), ok[&Op::Syncfs]), (None, 1));
    }

    #[test]
    fn too_many_open_files_is_a_clear_error() {
        let mut s = spec(10_000, 10, SyncPolicy::Never);
        s.threads = u32::MAX;
        let dir = tempfile::tempdir().unwrap();
        let e = workload(s)
            .build(dir.path(), 0, 1, Verification::Armed, &Cancel::new())
            .err()
            .expect("no system allows that many open files");
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(
            e.to_string()
                .contains("`open_tasks: 10000` × `threads: 4294967295`"),
            "{e}"
        );
        assert!(e.to_string().contains("RLIMIT_NOFILE"), "{e}");
    }
}
