//! After a crash and a remount: what survived, against what the kernel had
//! acknowledged. Acknowledged and intact is the promise kept; acknowledged
//! and lost, short or corrupt is a durability violation; for what was never
//! acknowledged, survival is luck and loss is the policy's loss window.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::workload::ledger::{Entry, Ledger};

/// What became of one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    Intact,
    /// Not there at all: the file is gone, or the bytes are zeros.
    Lost,
    /// Some bytes there, but short or not the bytes written.
    Torn,
    /// The file's name is gone although its data was synced, and its
    /// directory entry never was (allowed by POSIX without fsync_dir).
    NameLost,
}

/// The classification of one trial or of all trials of a cell.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Durability {
    pub trials: u32,
    pub acked_intact: u64,
    /// Acknowledged and lost, short or corrupt: durability violations.
    pub acked_lost: u64,
    /// Acknowledged data whose name was lost (directory entry not synced).
    pub acked_name_lost: u64,
    /// Torn writes (acknowledged or not).
    pub torn: u64,
    pub unacked_survived: u64,
    pub unacked_lost: u64,
    /// Unacknowledged work lost: records, bytes, and the time from the
    /// oldest lost write to the crash.
    pub loss_window_records: u64,
    pub loss_window_bytes: u64,
    pub loss_window_ms: f64,
}

impl Durability {
    pub fn add(&mut self, other: &Durability) {
        self.trials += other.trials;
        self.acked_intact += other.acked_intact;
        self.acked_lost += other.acked_lost;
        self.acked_name_lost += other.acked_name_lost;
        self.torn += other.torn;
        self.unacked_survived += other.unacked_survived;
        self.unacked_lost += other.unacked_lost;
        self.loss_window_records += other.loss_window_records;
        self.loss_window_bytes += other.loss_window_bytes;
        self.loss_window_ms = self.loss_window_ms.max(other.loss_window_ms);
    }
}

/// Looks for one write under `root`.
pub fn find(root: &Path, e: &Entry) -> Found {
    let path = root.join(&e.path);
    let file = match std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
    {
        Ok(f) => f,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return if e.acked && e.dirent_unsynced {
                Found::NameLost
            } else {
                Found::Lost
            };
        }
        Err(_) => return Found::Lost,
    };
    let mut buf = vec![0u8; e.len as usize];
    let mut got = 0usize;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], e.offset + got as u64) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    if got == buf.len() && crc32fast::hash(&buf) == e.crc {
        Found::Intact
    } else if buf[..got].iter().all(|b| *b == 0) {
        Found::Lost
    } else {
        Found::Torn
    }
}

use std::os::unix::fs::OpenOptionsExt;

/// Classifies every write in `ledgers` against what is under `root` now.
pub fn verify(root: &Path, ledgers: &[Ledger], crashed_at: Instant) -> Durability {
    let mut d = Durability {
        trials: 1,
        ..Durability::default()
    };
    let mut oldest_lost: Option<Instant> = None;
    for e in ledgers.iter().flat_map(|l| &l.entries) {
        let found = find(root, e);
        if found == Found::Torn {
            d.torn += 1;
        }
        match (e.acked, found) {
            (true, Found::Intact) => d.acked_intact += 1,
            (true, Found::NameLost) => d.acked_name_lost += 1,
            (true, _) => d.acked_lost += 1,
            (false, Found::Intact) => d.unacked_survived += 1,
            (false, _) => {
                d.unacked_lost += 1;
                d.loss_window_records += 1;
                d.loss_window_bytes += e.len;
                oldest_lost = Some(oldest_lost.map_or(e.written_at, |o| o.min(e.written_at)));
            }
        }
    }
    if let Some(oldest) = oldest_lost {
        d.loss_window_ms = crashed_at.saturating_duration_since(oldest).as_secs_f64() * 1e3;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_intact_lost_torn_and_names() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mut l = Ledger::default();
        // An acknowledged record that is intact, and one that was lost.
        std::fs::write(root.join("wal"), [b"hello".as_slice(), &[0u8; 5]].concat()).unwrap();
        l.push("wal".into(), 0, b"hello");
        l.push("wal".into(), 5, b"world");
        l.ack_all(false);
        // An unacknowledged one that survived, one torn, one gone.
        std::fs::write(root.join("a"), b"alpha").unwrap();
        l.push("a".into(), 0, b"alpha");
        std::fs::write(root.join("b"), b"bet").unwrap();
        l.push("b".into(), 0, b"beta!");
        l.push("gone".into(), 0, b"gamma");
        // Acknowledged data whose name was never synced, and is gone.
        l.push("nameless".into(), 0, b"delta");
        l.ack_last(true);
        let d = verify(root, &[l], Instant::now());
        assert_eq!(d.acked_intact, 1);
        assert_eq!(d.acked_lost, 1, "the zeroed record");
        assert_eq!(d.acked_name_lost, 1);
        assert_eq!(d.unacked_survived, 1);
        assert_eq!(d.unacked_lost, 2);
        assert_eq!(d.torn, 1);
        assert_eq!(d.loss_window_records, 2);
        assert_eq!(d.loss_window_bytes, 10);
        assert_eq!(std::fs::read(root.join("a")).unwrap(), b"alpha");
    }
}
