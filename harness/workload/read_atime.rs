//! read_atime: open → read → close over a set of files made before the
//! clock starts, in passes until the cell ends — a read-only workload whose
//! device writes are the cost of access-time updates (strictatime: every
//! read; relatime: the first read after a change, or once a day; noatime:
//! never; lazytime: in memory until something else writes the inode).
//!
//! The files are written with atime an hour before mtime, synced and
//! dropped from the page cache, so relatime's first-read update is part of
//! the measurement and reads start cold. Unit op: `read_file`.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use rustix::fs::{Advice, OFlags, Timespec, Timestamps};

use super::payload::{thread_seed, Payload};
use super::{cname, failed, sys, Step, Worker, Workload};
use crate::cancel::Cancel;
use crate::record::{Op, Recorder};
use crate::scenario::{self, SizeRange, WorkloadSpec};

pub struct ReadAtime {
    spec: WorkloadSpec,
    files: u64,
    file_size: SizeRange,
}

impl ReadAtime {
    pub fn new(spec: WorkloadSpec, params: &scenario::ReadAtime) -> ReadAtime {
        let scenario::ReadAtime { files, file_size } = params.clone();
        ReadAtime {
            spec,
            files,
            file_size,
        }
    }
}

/// Sets atime an hour before mtime (and leaves mtime alone).
pub(crate) fn age_atime(dir: impl AsFd, name: &CString) -> io::Result<()> {
    let st = rustix::fs::statat(&dir, name.as_c_str(), rustix::fs::AtFlags::SYMLINK_NOFOLLOW)?;
    let atime = Timespec {
        tv_sec: st.st_mtime - 3600,
        tv_nsec: 0,
    };
    let times = Timestamps {
        last_access: atime,
        last_modification: Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_OMIT,
        },
    };
    rustix::fs::utimensat(
        &dir,
        name.as_c_str(),
        &times,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )?;
    Ok(())
}

impl Workload for ReadAtime {
    fn unit_op(&self) -> Op {
        Op::ReadFile
    }

    fn worker(
        &self,
        root: &Path,
        thread: u32,
        seed: u64,
        _verification: super::Verification,
        cancel: &Cancel,
    ) -> io::Result<Box<dyn Worker>> {
        let dir = sys::thread_dir(root, thread)?;
        let threads = u64::from(self.spec.threads);
        let mine = self.files / threads + u64::from(u64::from(thread) < self.files % threads);
        let mut payload = Payload::new(thread_seed(seed, &self.spec.base_name, thread));
        let mut names = Vec::new();
        let mut buf = Vec::new();
        let mut largest = 0;
        for i in 0..mine {
            cancel.check()?;
            let name = cname(format!("f{i:06}"));
            let len = payload.size(self.file_size);
            largest = largest.max(len);
            let fd = sys::create_new(dir.as_fd(), &name)?;
            sys::write_record_file(fd.as_fd(), &mut payload, &mut buf, thread, i, len, cancel)?;
            drop(fd);
            age_atime(&dir, &name)?;
            names.push(name);
        }
        // Make the set clean, then drop it from the page cache: reads start cold.
        rustix::fs::syncfs(&dir)?;
        for name in &names {
            let fd = rustix::fs::openat(
                &dir,
                name.as_c_str(),
                OFlags::RDONLY | OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )?;
            let _ = rustix::fs::fadvise(&fd, 0, None, Advice::DontNeed);
        }
        // atime resolution is what makes relatime's decision; leave a tick.
        std::thread::sleep(Duration::from_millis(10));
        Ok(Box::new(ReadWorker {
            dir,
            names,
            next: 0,
            buf: vec![0u8; largest.clamp(4096, 1 << 20) as usize],
        }))
    }
}

struct ReadWorker {
    dir: OwnedFd,
    names: Vec<CString>,
    next: usize,
    buf: Vec<u8>,
}

impl ReadWorker {
    fn read_one(&mut self, rec: &mut Recorder) -> io::Result<()> {
        let name = &self.names[self.next];
        self.next = (self.next + 1) % self.names.len();
        let fd = sys::open(rec, self.dir.as_fd(), name, OFlags::RDONLY)?;
        match sys::read_all(rec, fd.as_fd(), &mut self.buf) {
            Ok(_) => sys::close(rec, fd),
            Err(e) => {
                sys::discard(fd);
                Err(e)
            }
        }
    }
}

impl Worker for ReadWorker {
    fn step(&mut self, rec: &mut Recorder) -> Step {
        if self.names.is_empty() {
            return Step::Exhausted;
        }
        match self.read_one(rec) {
            Ok(()) => Step::Done,
            Err(e) => failed(&e),
        }
    }

    fn ends_at_its_last_call(&self) -> bool {
        // open, read to EOF, close: the close is last.
        true
    }

    fn finish(&mut self, _rec: &mut Recorder) {}
}
