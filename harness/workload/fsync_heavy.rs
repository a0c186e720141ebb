//! fsync_heavy: a write-ahead log. Each thread appends `record_size`
//! records to its own preallocated, zero-filled file (`wal-tNN.log`) and
//! syncs per policy; when the file is full it wraps to the start, as a
//! recycled WAL segment does. Preallocating with real zeros (not
//! fallocate's unwritten extents) means an fdatasync needs no metadata
//! update, which is why databases do it. Unit op: `record`.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use super::ledger::Ledger;
use super::payload::{thread_seed, Payload};
use super::sync::Syncer;
use super::sys::AlignedBuf;
use super::{cname, failed, sys, Step, Worker, Workload};
use crate::cancel::Cancel;
use crate::record::{Op, Recorder};
use crate::scenario::{self, SizeRange, WorkloadSpec};

pub struct FsyncHeavy {
    spec: WorkloadSpec,
    record_size: SizeRange,
    file_size: u64,
}

impl FsyncHeavy {
    pub fn new(spec: WorkloadSpec, params: &scenario::FsyncHeavy) -> FsyncHeavy {
        let scenario::FsyncHeavy {
            record_size,
            file_size,
        } = params.clone();
        FsyncHeavy {
            spec,
            record_size,
            file_size,
        }
    }
}

impl Workload for FsyncHeavy {
    fn unit_op(&self) -> Op {
        Op::Record
    }

    fn worker(
        &self,
        root: &Path,
        thread: u32,
        seed: u64,
        cancel: &Cancel,
    ) -> io::Result<Box<dyn Worker>> {
        let syncer = Syncer::new(self.spec.fsync, self.spec.sync_call);
        let root_fd = sys::open_root(root)?;
        if self.spec.o_direct {
            sys::probe_o_direct(root_fd.as_fd())?;
        }
        let name = cname(format!("wal-t{thread:02}.log"));
        // Preallocate before the clock starts (not measured).
        let file = rustix::fs::openat(
            &root_fd,
            name.as_c_str(),
            rustix::fs::OFlags::RDWR
                | rustix::fs::OFlags::CREATE
                | rustix::fs::OFlags::EXCL
                | rustix::fs::OFlags::CLOEXEC
                | rustix::fs::OFlags::NOFOLLOW,
            rustix::fs::Mode::from_raw_mode(0o644),
        )?;
        let zeros = vec![0u8; 1 << 20];
        let mut off = 0u64;
        while off < self.file_size {
            cancel.check()?;
            let n = (self.file_size - off).min(zeros.len() as u64) as usize;
            off += rustix::io::pwrite(&file, &zeros[..n], off)? as u64;
        }
        rustix::fs::fsync(&file)?;
        rustix::fs::fsync(&root_fd)?;
        drop(file);
        // Reopen with the sync call's flags (O_DSYNC / O_SYNC) for the run.
        let fd = rustix::fs::openat(
            &root_fd,
            name.as_c_str(),
            rustix::fs::OFlags::WRONLY
                | rustix::fs::OFlags::CLOEXEC
                | rustix::fs::OFlags::NOFOLLOW
                | syncer.open_flags()
                | if self.spec.o_direct {
                    rustix::fs::OFlags::DIRECT
                } else {
                    rustix::fs::OFlags::empty()
                },
            rustix::fs::Mode::empty(),
        )?;
        Ok(Box::new(WalWorker {
            ledger: None,
            name: format!("wal-t{thread:02}.log"),
            thread,
            record_size: self.record_size,
            file_size: self.file_size,
            syncer,
            payload: Payload::with_kind(
                thread_seed(seed, &self.spec.base_name, thread),
                self.spec.payload,
            ),
            direct: self.spec.o_direct.then(AlignedBuf::default),
            fd: Some(fd),
            offset: 0,
            seq: 0,
            buf: Vec::new(),
        }))
    }
}

struct WalWorker {
    ledger: Option<Ledger>,
    name: String,
    /// With O_DIRECT: where records are copied to be 4 KiB-aligned.
    direct: Option<AlignedBuf>,
    thread: u32,
    record_size: SizeRange,
    file_size: u64,
    syncer: Syncer,
    payload: Payload,
    fd: Option<OwnedFd>,
    offset: u64,
    seq: u64,
    buf: Vec<u8>,
}

impl WalWorker {
    fn append(&mut self, rec: &mut Recorder) -> io::Result<()> {
        let fd = self
            .fd
            .as_ref()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EBADF))?;
        let len = self.payload.size(self.record_size);
        if self.offset + len > self.file_size {
            // The log wraps: the ledger replaces the records each new one
            // overwrites, and keeps counting the unsynced ones.
            self.offset = 0;
        }
        self.payload
            .record(&mut self.buf, self.thread, self.seq, len as usize);
        self.seq += 1;
        let data = match self.direct.as_mut() {
            Some(aligned) => aligned.load(&self.buf),
            None => &self.buf,
        };
        sys::pwrite_all(rec, fd.as_fd(), data, self.offset)?;
        if let Some(l) = self.ledger.as_mut() {
            l.push(&self.name, self.offset, &self.buf);
        }
        self.offset += len;
        let synced = self.syncer.after_write(rec, fd.as_fd(), len)?;
        if let (true, Some(l)) = (
            synced || self.syncer.writes_are_synchronous(),
            self.ledger.as_mut(),
        ) {
            l.ack_all(false);
        }
        Ok(())
    }
}

impl Worker for WalWorker {
    fn step(&mut self, rec: &mut Recorder) -> Step {
        match self.append(rec) {
            Ok(()) => Step::Done,
            Err(e) => failed(&e),
        }
    }

    fn finish(&mut self, rec: &mut Recorder) {
        if let Some(fd) = self.fd.take() {
            let synced = if self.syncer.at_end() {
                self.syncer.sync_now(rec, fd.as_fd()).is_ok()
            } else {
                self.syncer.before_close(rec, fd.as_fd()).unwrap_or(false)
            };
            if let (true, Some(l)) = (synced, self.ledger.as_mut()) {
                l.ack_all(false);
            }
            let _ = sys::close(rec, fd);
        }
    }

    fn keep_ledger(&mut self, ledger: Ledger) {
        self.ledger = Some(ledger);
    }

    fn take_ledger(&mut self) -> Option<Ledger> {
        self.ledger.take()
    }
}
