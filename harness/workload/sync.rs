//! The `fsync` policy and `sync_call` of a workload, applied uniformly.

use std::io;
use std::os::fd::BorrowedFd;
use std::time::Instant;

use rustix::fs::OFlags;

use super::sys;
use crate::record::{Op, Recorder};
use crate::scenario::{SyncCall, SyncPolicy};

/// Decides when to sync and issues the configured call.
pub struct Syncer {
    policy: SyncPolicy,
    call: SyncCall,
    writes: u64,
    last_sync: Instant,
}

impl Syncer {
    pub fn new(policy: SyncPolicy, call: SyncCall) -> Syncer {
        Syncer {
            policy,
            call,
            writes: 0,
            last_sync: Instant::now(),
        }
    }

    /// Extra open flags: O_DSYNC / O_SYNC make every write synchronous.
    pub fn open_flags(&self) -> OFlags {
        match self.call {
            SyncCall::ODsync => OFlags::DSYNC,
            SyncCall::OSync => OFlags::SYNC,
            _ => OFlags::empty(),
        }
    }

    /// After one logical write: syncs when the policy says so. Returns
    /// whether the data is now synced.
    pub fn after_write(&mut self, rec: &mut Recorder, fd: BorrowedFd) -> io::Result<bool> {
        self.writes += 1;
        let due = match self.policy {
            SyncPolicy::Always => true,
            SyncPolicy::Every(n) => self.writes % n == 0,
            SyncPolicy::Interval(d) => self.last_sync.elapsed() >= d,
            SyncPolicy::Never | SyncPolicy::End | SyncPolicy::OnClose => false,
        };
        if due {
            self.sync_now(rec, fd)?;
        }
        Ok(due)
    }

    /// Before closing a file: syncs under `on_close`. Returns whether it synced.
    pub fn before_close(&mut self, rec: &mut Recorder, fd: BorrowedFd) -> io::Result<bool> {
        if self.policy == SyncPolicy::OnClose {
            self.sync_now(rec, fd)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// True under `fsync: end`: the workload flushes once when the cell ends.
    pub fn at_end(&self) -> bool {
        self.policy == SyncPolicy::End
    }

    /// Issues the sync call on `fd` now. With O_DSYNC/O_SYNC the write
    /// itself was the sync, so there is nothing to call.
    pub fn sync_now(&mut self, rec: &mut Recorder, fd: BorrowedFd) -> io::Result<()> {
        self.last_sync = Instant::now();
        match self.call {
            SyncCall::Fsync => sys::fsync(rec, Op::Fsync, fd),
            SyncCall::Fdatasync => sys::fdatasync(rec, fd),
            SyncCall::SyncFileRange => sys::sync_file_range(rec, fd),
            SyncCall::ODsync | SyncCall::OSync => Ok(()),
        }
    }
}
