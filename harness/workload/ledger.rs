//! The ledger: what a worker wrote and what the kernel acknowledged as
//! durable under the workload's sync policy, kept in memory only when a
//! crash is armed, so the verifier can classify what survived.

use std::time::Instant;

/// One write whose bytes can be found again after a crash.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Path relative to the workload's root.
    pub path: String,
    pub offset: u64,
    pub len: u64,
    /// CRC32 of exactly these bytes.
    pub crc: u32,
    pub written_at: Instant,
    /// When a sync covering these bytes returned success.
    pub acked_at: Option<Instant>,
    /// Acknowledged data whose directory entry was not synced (a new file
    /// without `fsync_dir`): losing the name is allowed by POSIX.
    pub dirent_unsynced: bool,
}

/// One thread's ledger.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    pub entries: Vec<Entry>,
    /// Entries before this index are acknowledged.
    acked_upto: usize,
}

impl Entry {
    /// Acknowledged before the power was cut. A sync that returns success
    /// while or after the shutdown is issued was never seen by anyone in a
    /// real power cut (the machine is dead), so it does not count.
    pub fn acked_before(&self, cut_at: Instant) -> bool {
        self.acked_at.is_some_and(|t| t < cut_at)
    }
}

impl Ledger {
    pub fn push(&mut self, path: String, offset: u64, bytes: &[u8]) {
        self.entries.push(Entry {
            path,
            offset,
            len: bytes.len() as u64,
            crc: crc32fast::hash(bytes),
            written_at: Instant::now(),
            acked_at: None,
            dirent_unsynced: false,
        });
    }

    /// A sync succeeded: everything written so far (to this file, for the
    /// per-file workloads that call it right after the file's sync) is
    /// acknowledged.
    pub fn ack_all(&mut self, dirent_unsynced: bool) {
        let now = Instant::now();
        for e in &mut self.entries[self.acked_upto..] {
            e.acked_at = Some(now);
            e.dirent_unsynced = dirent_unsynced;
        }
        self.acked_upto = self.entries.len();
    }

    /// A sync of one file succeeded: only its own entry, the last one, is
    /// acknowledged (earlier files were not covered by it).
    pub fn ack_last(&mut self, dirent_unsynced: bool) {
        if let Some(e) = self.entries.last_mut() {
            e.acked_at = Some(Instant::now());
            e.dirent_unsynced = dirent_unsynced;
        }
    }

    /// The bytes were overwritten (a wrapping log): forget what is gone.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.acked_upto = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_cover_what_was_written_before() {
        let mut l = Ledger::default();
        l.push("a".into(), 0, b"one");
        l.push("a".into(), 3, b"two");
        l.ack_all(false);
        l.push("a".into(), 6, b"three");
        assert_eq!(l.entries.iter().filter(|e| e.acked_at.is_some()).count(), 2);
        assert_eq!(l.entries[2].crc, crc32fast::hash(b"three"));
        l.push("b".into(), 0, b"four");
        l.push("c".into(), 0, b"five");
        l.ack_last(true);
        let e = &l.entries;
        assert!(e[3].acked_at.is_none() && e[4].acked_at.is_some() && e[4].dirent_unsynced);
        assert!(!e[4].acked_before(e[4].acked_at.unwrap()));
        l.clear();
        assert!(l.entries.is_empty());
    }
}
