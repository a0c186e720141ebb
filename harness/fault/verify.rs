//! After a crash and a remount: what survived, against what the kernel had
//! acknowledged. Acknowledged and intact is the promise kept; acknowledged
//! and lost, short or corrupt is a durability violation; for what was never
//! acknowledged, survival is luck and loss is the policy's loss window.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::cancel::Cancel;
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Durability {
    pub trials: u32,
    pub acked_intact: u64,
    /// Acknowledged and lost, short or corrupt: durability violations.
    pub acked_lost: u64,
    /// Acknowledged data whose name was lost (directory entry not synced).
    pub acked_name_lost: u64,
    /// Syncs that returned success only once the shutdown had been issued:
    /// no application survives a real power cut to see that, so these
    /// writes are classified as unacknowledged, and counted here.
    pub acked_after_cut: u64,
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
        self.acked_after_cut += other.acked_after_cut;
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
            return if e.acked_at.is_some() && e.dirent_unsynced {
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

/// Classifies every write in `ledgers` against what is under `root` now,
/// the power having been cut at `cut_at`. None when a signal stopped the
/// reading half-way: a partial count would understate what was lost.
pub fn verify(
    root: &Path,
    ledgers: &[Ledger],
    cut_at: Instant,
    cancel: &Cancel,
) -> Option<Durability> {
    let mut interrupted = false;
    let d = classify(ledgers, cut_at, |e| {
        interrupted = interrupted || cancel.is_set();
        if interrupted {
            Found::Lost
        } else {
            find(root, e)
        }
    });
    (!interrupted).then_some(d)
}

/// What a power cut does to a target that keeps nothing (tmpfs, a volatile
/// overlay's upper layer): every write is lost.
pub fn everything_lost(ledgers: &[Ledger], cut_at: Instant) -> Durability {
    classify(ledgers, cut_at, |_| Found::Lost)
}

fn classify(
    ledgers: &[Ledger],
    cut_at: Instant,
    mut find: impl FnMut(&Entry) -> Found,
) -> Durability {
    let mut d = Durability {
        trials: 1,
        ..Durability::default()
    };
    let mut oldest_lost: Option<Instant> = None;
    for e in ledgers.iter().flat_map(|l| &l.entries) {
        let found = find(e);
        if found == Found::Torn {
            d.torn += 1;
        }
        let acked = e.acked_before(cut_at);
        if e.acked_at.is_some() && !acked {
            d.acked_after_cut += 1;
        }
        match (acked, found) {
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
        d.loss_window_ms = cut_at.saturating_duration_since(oldest).as_secs_f64() * 1e3;
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
        // A file synced only after the cut: unacknowledged, and said so.
        l.push("late".into(), 0, b"epsilon");
        let cut_at = Instant::now();
        std::thread::sleep(std::time::Duration::from_millis(1));
        l.ack_last(false);
        let d = verify(root, &[l.clone()], cut_at, &Cancel::new()).unwrap();
        assert_eq!(d.acked_intact, 1);
        assert_eq!(d.acked_lost, 1, "the zeroed record");
        assert_eq!(d.acked_name_lost, 1);
        assert_eq!(d.unacked_survived, 1);
        assert_eq!(d.unacked_lost, 3);
        assert_eq!(d.acked_after_cut, 1);
        assert_eq!(d.torn, 1);
        assert_eq!(d.loss_window_records, 3);
        assert_eq!(d.loss_window_bytes, 17);
        let all = everything_lost(&[l], cut_at);
        assert_eq!((all.acked_lost, all.unacked_lost), (3, 4));
        assert_eq!(std::fs::read(root.join("a")).unwrap(), b"alpha");
    }
}
