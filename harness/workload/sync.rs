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
    /// Bytes written since the last sync (for `every_bytes`).
    bytes_since: u64,
    last_sync: Instant,
}

impl Syncer {
    pub fn new(policy: SyncPolicy, call: SyncCall) -> Syncer {
        Syncer {
            policy,
            call,
            writes: 0,
            bytes_since: 0,
            last_sync: Instant::now(),
        }
    }

    /// A syncer for a file already `phase` (0..1) of the way through its
    /// sync cycle: that share of the interval has passed, or of the writes
    /// or bytes between syncs have been counted. Files opened at one
    /// moment (a head start) would otherwise all sync in step.
    pub fn with_phase(policy: SyncPolicy, call: SyncCall, phase: f64) -> Syncer {
        let mut s = Syncer::new(policy, call);
        let phase = phase.clamp(0.0, 1.0);
        match policy {
            SyncPolicy::Interval(d) => {
                s.last_sync = s
                    .last_sync
                    .checked_sub(d.mul_f64(phase))
                    .unwrap_or(s.last_sync);
            }
            SyncPolicy::Every(n) => s.writes = ((n as f64 * phase) as u64).min(n - 1),
            SyncPolicy::EveryBytes(b) => s.bytes_since = ((b as f64 * phase) as u64).min(b - 1),
            _ => {}
        }
        s
    }

    /// Extra open flags: O_DSYNC / O_SYNC make every write synchronous.
    pub fn open_flags(&self) -> OFlags {
        match self.call {
            // Not OFlags::DSYNC: rustix's linux_raw backend spells that as
            // O_SYNC's bits, which would turn o_dsync into o_sync.
            SyncCall::ODsync => OFlags::from_bits_retain(libc::O_DSYNC as u32),
            SyncCall::OSync => OFlags::SYNC,
            _ => OFlags::empty(),
        }
    }

    /// After one logical write of `bytes`: syncs when the policy says so.
    /// Returns whether the data is now synced.
    pub fn after_write(
        &mut self,
        rec: &mut Recorder,
        fd: BorrowedFd,
        bytes: u64,
    ) -> io::Result<bool> {
        self.writes += 1;
        self.bytes_since += bytes;
        let due = match self.policy {
            SyncPolicy::Always => true,
            SyncPolicy::Every(n) => self.writes.is_multiple_of(n),
            SyncPolicy::EveryBytes(b) => self.bytes_since >= b,
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

    /// True when every write is itself synchronous (O_DSYNC / O_SYNC).
    pub fn writes_are_synchronous(&self) -> bool {
        self.call.is_open_flag()
    }

    /// True under `fsync: end`: the workload flushes once when the cell ends.
    pub fn at_end(&self) -> bool {
        self.policy == SyncPolicy::End
    }

    /// Issues the sync call on `fd` now. With O_DSYNC/O_SYNC the write
    /// itself was the sync, so there is nothing to call.
    pub fn sync_now(&mut self, rec: &mut Recorder, fd: BorrowedFd) -> io::Result<()> {
        self.last_sync = Instant::now();
        self.bytes_since = 0;
        match self.call {
            SyncCall::Fsync => sys::fsync(rec, Op::Fsync, fd),
            SyncCall::Fdatasync => sys::fdatasync(rec, fd),
            SyncCall::SyncFileRange => sys::sync_file_range(rec, fd),
            SyncCall::Syncfs => sys::syncfs(rec, fd),
            SyncCall::ODsync | SyncCall::OSync => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;
    use std::sync::mpsc::channel;
    use std::time::Duration;

    /// How many sync calls `policy` makes over `writes` writes of `bytes` each.
    fn syncs(policy: SyncPolicy, call: SyncCall, writes: u64, bytes: u64, pause: Duration) -> u64 {
        let file = tempfile::tempfile().unwrap();
        let (tx, rx) = channel();
        let mut rec = Recorder::new(0, Instant::now(), tx);
        let mut syncer = Syncer::new(policy, call);
        for _ in 0..writes {
            syncer.after_write(&mut rec, file.as_fd(), bytes).unwrap();
            std::thread::sleep(pause);
        }
        rec.finish();
        rx.iter()
            .flat_map(|s| s.hists)
            .filter(|(op, _)| {
                matches!(
                    op,
                    Op::Fsync | Op::Fdatasync | Op::Syncfs | Op::SyncFileRange
                )
            })
            .map(|(_, h)| h.len())
            .sum()
    }

    #[test]
    fn a_phase_moves_the_first_sync_earlier() {
        let file = tempfile::tempfile().unwrap();
        let (tx, _rx) = channel();
        let mut rec = Recorder::new(0, Instant::now(), tx);
        // Writes until the first sync, for a syncer at `phase`.
        let mut first_sync = |policy, phase| {
            let mut s = Syncer::with_phase(policy, SyncCall::Fsync, phase);
            (1..=100u64)
                .find(|_| s.after_write(&mut rec, file.as_fd(), 100).unwrap())
                .unwrap_or(0)
        };
        assert_eq!(first_sync(SyncPolicy::Every(8), 0.0), 8);
        assert_eq!(first_sync(SyncPolicy::Every(8), 0.5), 4);
        assert_eq!(first_sync(SyncPolicy::Every(8), 1.0), 1);
        assert_eq!(first_sync(SyncPolicy::EveryBytes(1000), 0.0), 10);
        assert_eq!(first_sync(SyncPolicy::EveryBytes(1000), 0.75), 3);
        // An interval already almost over: the first write syncs.
        assert_eq!(
            first_sync(SyncPolicy::Interval(Duration::from_secs(10)), 1.0),
            1
        );
        assert_eq!(
            first_sync(SyncPolicy::Interval(Duration::from_secs(10)), 0.5),
            0
        );
        assert_eq!(first_sync(SyncPolicy::OnClose, 0.5), 0);
    }

    #[test]
    fn policies_sync_when_they_say() {
        let z = Duration::ZERO;
        assert_eq!(syncs(SyncPolicy::Always, SyncCall::Fsync, 10, 4096, z), 10);
        assert_eq!(syncs(SyncPolicy::Never, SyncCall::Fsync, 10, 4096, z), 0);
        assert_eq!(syncs(SyncPolicy::End, SyncCall::Fsync, 10, 4096, z), 0);
        assert_eq!(
            syncs(SyncPolicy::Every(4), SyncCall::Fdatasync, 10, 4096, z),
            2
        );
        // 1 MiB in 4 KiB writes: a sync after every 256th write.
        assert_eq!(
            syncs(
                SyncPolicy::EveryBytes(1 << 20),
                SyncCall::Fsync,
                600,
                4096,
                z
            ),
            2
        );
        assert_eq!(syncs(SyncPolicy::Always, SyncCall::Syncfs, 3, 4096, z), 3);
        assert_eq!(
            syncs(SyncPolicy::Always, SyncCall::SyncFileRange, 3, 4096, z),
            3
        );
        // O_DSYNC: the write was the sync; no call.
        assert_eq!(syncs(SyncPolicy::Always, SyncCall::ODsync, 5, 4096, z), 0);
        let interval = syncs(
            SyncPolicy::Interval(Duration::from_millis(20)),
            SyncCall::Fsync,
            10,
            1,
            Duration::from_millis(10),
        );
        assert!((3..=6).contains(&interval), "{interval}");
    }

    #[test]
    fn o_dsync_and_o_sync_open_with_their_own_flags() {
        let dir = tempfile::tempdir().unwrap();
        let root =
            rustix::fs::open(dir.path(), OFlags::RDONLY | OFlags::DIRECTORY, 0.into()).unwrap();
        // O_SYNC is O_DSYNC plus a bit of its own (__O_SYNC).
        let sync_only = (libc::O_SYNC & !libc::O_DSYNC) as u32;
        for (call, name, want_sync_bit) in [
            (SyncCall::ODsync, c"d", false),
            (SyncCall::OSync, c"s", true),
        ] {
            let flags = Syncer::new(SyncPolicy::Always, call).open_flags();
            let fd = rustix::fs::openat(
                &root,
                name,
                OFlags::WRONLY | OFlags::CREATE | flags,
                0o644.into(),
            )
            .unwrap();
            let got = rustix::fs::fcntl_getfl(&fd).unwrap().bits();
            assert_ne!(got & libc::O_DSYNC as u32, 0, "{call:?}: {got:#x}");
            assert_eq!(got & sync_only != 0, want_sync_bit, "{call:?}: {got:#x}");
        }
    }
}
