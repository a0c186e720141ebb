//! small_files: create → write `file_size` → sync per policy → close, in
//! directories of `files_per_dir` entries per thread (`tNN/dNNNNNN/fNNNNNNNN`).
//! Unit op: `file`. Files are kept, so the target's inode and block usage
//! grows as it would under a container writing into its upperdir.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::OFlags;

use super::ledger::Ledger;
use super::payload::{thread_seed, Payload};
use super::sync::Syncer;
use super::sys::AlignedBuf;
use super::{cname, failed, sys, Step, Verification, Worker, Workload};
use crate::cancel::Cancel;
use crate::record::{Op, Recorder};
use crate::scenario::{self, SizeRange, WorkloadSpec};

pub struct SmallFiles {
    spec: WorkloadSpec,
    file_size: SizeRange,
    files_per_dir: u64,
}

impl SmallFiles {
    pub fn new(spec: WorkloadSpec, params: &scenario::SmallFiles) -> SmallFiles {
        let scenario::SmallFiles {
            file_size,
            files_per_dir,
        } = params.clone();
        SmallFiles {
            spec,
            file_size,
            files_per_dir,
        }
    }
}

impl Workload for SmallFiles {
    fn unit_op(&self) -> Op {
        Op::File
    }

    fn worker(
        &self,
        root: &Path,
        thread: u32,
        seed: u64,
        verification: Verification,
        _cancel: &Cancel,
    ) -> io::Result<Box<dyn Worker>> {
        let thread_dir = sys::thread_dir(root, thread)?;
        if self.spec.o_direct {
            sys::probe_o_direct(thread_dir.as_fd())?;
        }
        Ok(Box::new(SmallFilesWorker {
            ledger: verification.ledger(),
            verification,
            thread,
            file_size: self.file_size,
            files_per_dir: self.files_per_dir,
            fsync_dir: self.spec.fsync_dir,
            syncer: Syncer::new(self.spec.fsync, self.spec.sync_call),
            payload: Payload::with_kind(
                thread_seed(seed, &self.spec.base_name, thread),
                self.spec.payload,
            ),
            direct: self.spec.o_direct.then(AlignedBuf::default),
            thread_dir,
            dir: None,
            seq: 0,
            buf: Vec::new(),
        }))
    }
}

struct SmallFilesWorker {
    /// Kept when a verifier is armed.
    ledger: Option<Ledger>,
    /// Full records when armed, plain bytes otherwise.
    verification: Verification,
    /// With O_DIRECT: where writes are copied to be 4 KiB-aligned.
    direct: Option<AlignedBuf>,
    thread: u32,
    file_size: SizeRange,
    files_per_dir: u64,
    fsync_dir: bool,
    syncer: Syncer,
    payload: Payload,
    thread_dir: OwnedFd,
    /// The directory files currently go into.
    dir: Option<OwnedFd>,
    seq: u64,
    buf: Vec<u8>,
}

impl SmallFilesWorker {
    fn one_file(&mut self, rec: &mut Recorder) -> io::Result<()> {
        let seq = self.seq;
        self.seq += 1;
        if seq.is_multiple_of(self.files_per_dir) {
            self.dir = None;
            let name = cname(format!("d{:06}", seq / self.files_per_dir));
            sys::mkdir(rec, self.thread_dir.as_fd(), &name)?;
            if self.fsync_dir {
                // The new directory's own entry, so the files' paths are durable.
                sys::fsync(rec, Op::FsyncDir, self.thread_dir.as_fd())?;
            }
            self.dir = Some(sys::open_dir(self.thread_dir.as_fd(), &name)?);
        }
        let Some(dir) = self.dir.as_ref() else {
            // The directory of this batch could not be made earlier.
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        };
        let name = cname(format!("f{seq:08}"));
        let mut flags = self.syncer.open_flags();
        if self.direct.is_some() {
            flags |= OFlags::DIRECT;
        }
        let fd = sys::create(rec, dir.as_fd(), &name, flags)?;
        let len = self.payload.size(self.file_size) as usize;
        let bytes =
            self.payload
                .record_for(self.verification, &mut self.buf, self.thread, seq, len);
        // Whether the bytes were handed over (a later sync may still fail:
        // then they are written but not acknowledged).
        let mut written = false;
        let result = (|| {
            let data = match self.direct.as_mut() {
                Some(aligned) => aligned.load(bytes),
                None => bytes,
            };
            sys::write_all(rec, fd.as_fd(), data)?;
            written = true;
            let synced = self
                .syncer
                .after_write(rec, fd.as_fd(), bytes.len() as u64)?;
            let synced = self.syncer.before_close(rec, fd.as_fd())?
                || synced
                || self.syncer.writes_are_synchronous();
            if self.fsync_dir && synced {
                sys::fsync(rec, Op::FsyncDir, dir.as_fd())?;
            }
            Ok(synced)
        })();
        if let (true, Some(l)) = (written, self.ledger.as_mut()) {
            let path = format!(
                "t{:02}/d{:06}/f{seq:08}",
                self.thread,
                seq / self.files_per_dir
            );
            l.push(&path, 0, bytes);
            if let Ok(true) = result {
                l.ack_last(!self.fsync_dir);
            }
        }
        match result {
            Ok(_) => sys::close(rec, fd),
            Err(e) => {
                sys::discard(fd);
                Err(e)
            }
        }
    }
}

impl Worker for SmallFilesWorker {
    fn step(&mut self, rec: &mut Recorder) -> Step {
        match self.one_file(rec) {
            Ok(()) => Step::Done,
            Err(e) => failed(&e),
        }
    }

    fn ends_at_its_last_call(&self) -> bool {
        // The close is the last thing a file's step does.
        true
    }

    fn finish(&mut self, rec: &mut Recorder) {
        if self.syncer.at_end() {
            // Files are closed as they are written; one syncfs flushes them
            // all, names included.
            if sys::syncfs(rec, self.thread_dir.as_fd()).is_ok() {
                if let Some(l) = self.ledger.as_mut() {
                    l.ack_all(false);
                }
            }
        }
    }

    fn take_ledger(&mut self) -> Option<Ledger> {
        self.ledger.take()
    }
}
