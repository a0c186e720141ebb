//! log_append: short-lived task logs. Each thread runs one task at a time:
//! create `tNN/taskNNNNNNNN.log`, append lines of `line_size` until the log
//! reaches the task's `file_size` (both drawn with the seed), sync per
//! policy, close. Finished logs beyond `retain` per thread are unlinked, as
//! log shipping or container removal would. Unit ops: `line` (each append,
//! rate-controlled when `rate` is set) and `task` (create → last close).

use std::collections::VecDeque;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::Instant;

use super::payload::{thread_seed, Payload};
use super::sync::Syncer;
use super::{cname, failed, sys, Step, Worker, Workload};
use crate::record::{Op, Recorder};
use crate::scenario::{SizeRange, WorkloadParams, WorkloadSpec};

pub struct LogAppend {
    spec: WorkloadSpec,
    line_size: SizeRange,
    file_size: SizeRange,
    retain: u64,
}

impl LogAppend {
    pub fn new(spec: WorkloadSpec) -> LogAppend {
        let WorkloadParams::LogAppend {
            line_size,
            file_size,
            retain,
        } = spec.params
        else {
            unreachable!("built from a log_append spec")
        };
        LogAppend {
            spec,
            line_size,
            file_size,
            retain,
        }
    }
}

impl Workload for LogAppend {
    fn unit_op(&self) -> Op {
        Op::Line
    }

    fn worker(&self, root: &Path, thread: u32, seed: u64) -> io::Result<Box<dyn Worker>> {
        Ok(Box::new(LogWorker {
            thread,
            line_size: self.line_size,
            file_size: self.file_size,
            retain: self.retain,
            fsync_dir: self.spec.fsync_dir,
            syncer: Syncer::new(self.spec.fsync, self.spec.sync_call),
            payload: Payload::with_kind(
                thread_seed(seed, &self.spec.base_name, thread),
                self.spec.payload,
            ),
            dir: sys::thread_dir(root, thread)?,
            task: None,
            tasks_begun: 0,
            line_seq: 0,
            finished: VecDeque::new(),
            buf: Vec::new(),
        }))
    }
}

struct Task {
    fd: OwnedFd,
    name: CString,
    target_size: u64,
    written: u64,
    started: Instant,
}

struct LogWorker {
    thread: u32,
    line_size: SizeRange,
    file_size: SizeRange,
    retain: u64,
    fsync_dir: bool,
    syncer: Syncer,
    payload: Payload,
    dir: OwnedFd,
    task: Option<Task>,
    tasks_begun: u64,
    line_seq: u64,
    finished: VecDeque<CString>,
    buf: Vec<u8>,
}

impl LogWorker {
    fn begin_task(&mut self, rec: &mut Recorder) -> io::Result<()> {
        let started = Instant::now();
        let name = cname(format!("task{:08}.log", self.tasks_begun));
        self.tasks_begun += 1;
        let target_size = self.payload.size(self.file_size);
        let fd = sys::create(
            rec,
            self.dir.as_fd(),
            &name,
            rustix::fs::OFlags::APPEND | self.syncer.open_flags(),
        )?;
        if self.fsync_dir {
            if let Err(e) = sys::fsync(rec, Op::FsyncDir, self.dir.as_fd()) {
                sys::discard(fd);
                return Err(e);
            }
        }
        self.task = Some(Task {
            fd,
            name,
            target_size,
            written: 0,
            started,
        });
        Ok(())
    }

    fn end_task(&mut self, rec: &mut Recorder, task: Task) -> io::Result<()> {
        if let Err(e) = self.syncer.before_close(rec, task.fd.as_fd()) {
            sys::discard(task.fd);
            return Err(e);
        }
        sys::close(rec, task.fd)?;
        rec.record(Op::Task, task.started, Instant::now());
        self.finished.push_back(task.name);
        while self.finished.len() as u64 > self.retain {
            let oldest = self.finished.pop_front().expect("non-empty");
            sys::unlink(rec, self.dir.as_fd(), &oldest)?;
        }
        Ok(())
    }

    fn one_line(&mut self, rec: &mut Recorder) -> io::Result<()> {
        if self.task.is_none() {
            self.begin_task(rec)?;
        }
        let task = self.task.as_mut().expect("begun above");
        let len = self.payload.size(self.line_size) as usize;
        self.payload
            .line(&mut self.buf, self.thread, self.line_seq, len);
        self.line_seq += 1;
        let written = sys::write_all(rec, task.fd.as_fd(), &self.buf)
            .and_then(|()| self.syncer.after_write(rec, task.fd.as_fd(), len as u64));
        if let Err(e) = written {
            // Abandon the task: a log with a hole is not worth continuing.
            if let Some(t) = self.task.take() {
                sys::discard(t.fd);
            }
            return Err(e);
        }
        task.written += len as u64;
        if task.written >= task.target_size {
            let done = self.task.take().expect("present");
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

    fn finish(&mut self, rec: &mut Recorder) {
        // The task in progress is cut short by the end of the cell; it is
        // closed but not counted as a task.
        if let Some(task) = self.task.take() {
            let _ = self.syncer.before_close(rec, task.fd.as_fd());
            let _ = sys::close(rec, task.fd);
        }
        if self.syncer.at_end() {
            let _ = sys::syncfs(rec, self.dir.as_fd());
        }
    }
}
