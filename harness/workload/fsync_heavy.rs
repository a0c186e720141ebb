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
use super::{cname, failed, sys, Step, Verification, Worker, Workload};
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
        verification: Verification,
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
            ledger: verification.ledger(),
            verification,
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
    /// Kept when a verifier is armed.
    ledger: Option<Ledger>,
    /// Full records when armed, plain bytes otherwise.
    verification: Verification,
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
        let bytes = self.payload.record_for(
            self.verification,
            &mut self.buf,
            self.thread,
            self.seq,
            len as usize,
        );
        self.seq += 1;
        let data = match self.direct.as_mut() {
            Some(aligned) => aligned.load(bytes),
            None => bytes,
        };
        sys::pwrite_all(rec, fd.as_fd(), data, self.offset)?;
        if let Some(l) = self.ledger.as_mut() {
            l.push(&self.name, self.offset, bytes);
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

    fn ends_at_its_last_call(&self) -> bool {
        // Armed, the ledger's bookkeeping follows the write.
        !self.verification.is_armed()
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

    fn take_ledger(&mut self) -> Option<Ledger> {
        self.ledger.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{WorkloadKind, WorkloadParams};
    use crate::workload::payload::{parse_record_header, RECORD_HEADER};
    use crate::workload::testing::spec;
    use std::sync::mpsc::channel;
    use std::time::Instant;

    const RECORDS: u64 = 70;

    /// The WAL thread 0 writes in `RECORDS` steps of 4 KiB records, seed 42.
    fn wal(verification: Verification) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let params = scenario::FsyncHeavy {
            record_size: SizeRange::fixed(4096),
            file_size: 1 << 20,
        };
        let s = spec(
            WorkloadKind::FsyncHeavy,
            WorkloadParams::FsyncHeavy(params.clone()),
        );
        let w = FsyncHeavy::new(s, &params);
        let mut worker = w
            .worker(dir.path(), 0, 42, verification, &Cancel::new())
            .unwrap();
        let (tx, _rx) = channel();
        let mut rec = Recorder::new(0, Instant::now(), tx);
        for _ in 0..RECORDS {
            assert_eq!(worker.step(&mut rec), Step::Done);
        }
        worker.finish(&mut rec);
        assert_eq!(worker.take_ledger().is_some(), verification.is_armed());
        let mut bytes = std::fs::read(dir.path().join("wal-t00.log")).unwrap();
        bytes.truncate(RECORDS as usize * 4096);
        bytes
    }

    #[test]
    fn armed_writes_full_records_unchanged_for_a_seed_and_off_the_plain_payload() {
        let seed = thread_seed(42, "w", 0);
        let armed = wal(Verification::Armed);
        let mut expect = Payload::new(seed);
        let mut want = Vec::new();
        for (seq, record) in armed.chunks(4096).enumerate() {
            let (thread, s, len, crc) = parse_record_header(record).expect("a full record");
            assert_eq!((thread, s, len), (0, seq as u64, 4096));
            assert_eq!(crc, crc32fast::hash(&record[RECORD_HEADER..]));
            expect.record(&mut want, 0, seq as u64, 4096);
            assert!(record == want.as_slice(), "record {seq}");
        }
        // The same bytes as before plain payloads existed, for this seed.
        assert_eq!(crc32fast::hash(&armed), 0xc403_5547, "armed WAL digest");
        assert_eq!(armed, wal(Verification::Armed));

        let off = wal(Verification::Off);
        let mut plain = Payload::new(seed);
        for (seq, record) in off.chunks(4096).enumerate() {
            assert!(parse_record_header(record).is_none(), "record {seq}");
            assert!(
                record == plain.plain(&mut want, seq as u64, 4096),
                "record {seq}"
            );
        }
        // Consecutive records differ; the 64 windows repeat.
        assert_ne!(off[..4096], off[4096..8192]);
        assert_eq!(off[..4096], off[64 * 4096..65 * 4096]);
        assert_eq!(off, wal(Verification::Off));
    }
}
