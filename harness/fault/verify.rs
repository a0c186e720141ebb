//! After a crash and a remount: what survived, against what the kernel had
//! acknowledged. Acknowledged and intact is the promise kept; acknowledged
//! and lost, short or corrupt is a durability violation; for what was never
//! acknowledged, survival is luck. The loss window is what the sync policy
//! put at risk: every write not acknowledged before the cut — overwritten
//! since or not, lost or lucky.
//!
//! Only the newest write over each byte range is looked for (a wrapping
//! WAL overwrites its own records): an overwritten record is not reported
//! lost because a later one took its place. Where the writes to a place
//! each replaced exactly one earlier record (a fixed-size WAL) and earlier
//! bytes are what is there, the newest write is lost (the disk kept what
//! it overwrote), not torn; and if an earlier record there had been
//! acknowledged, zeros there are that record lost.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::cancel::Cancel;
use crate::workload::ledger::{Entry, Ledger, Unsynced};

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
    /// Bytes an earlier write to the same place left are there (the
    /// acknowledged one it overwrote, or an unacknowledged one since): this
    /// write is lost, what it overwrote survived.
    Replaced,
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
    /// The loss window: every write not acknowledged before the cut
    /// (whatever became of it) — records, bytes, and the time from the
    /// oldest of them to the cut. For a WAL: everything written since the
    /// last acknowledged sync.
    pub loss_window_records: u64,
    pub loss_window_bytes: u64,
    pub loss_window_ms: f64,
    /// Of `loss_window_records`, those a later write overwrote before the
    /// cut (a wrapping log): at risk, but no longer there to look for.
    #[serde(skip_serializing_if = "is_zero")]
    pub loss_window_overwritten: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
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
        self.loss_window_overwritten += other.loss_window_overwritten;
    }
}

/// Looks for one write under `root`.
pub fn find(root: &Path, e: &Entry) -> Found {
    let path = root.join(&*e.path);
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
    let crc = (got == buf.len()).then(|| crc32fast::hash(&buf));
    if crc == Some(e.crc) {
        Found::Intact
    } else if crc.is_some_and(|c| e.base.is_some_and(|b| b.crc == c) || e.earlier.contains(&c)) {
        Found::Replaced
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
    for e in ledgers.iter().flat_map(Ledger::entries) {
        let found = find(e);
        if found == Found::Torn {
            d.torn += 1;
        }
        let acked = e.acked_before(cut_at);
        if e.acked_at.is_some() && !acked {
            d.acked_after_cut += 1;
        }
        // What this write replaced was acknowledged: the place must hold
        // the one or the other, never nothing.
        let replaced_acked = e.base.is_some_and(|b| b.acked_at < cut_at);
        match (acked, found) {
            (true, Found::Intact) => d.acked_intact += 1,
            (true, Found::NameLost) => d.acked_name_lost += 1,
            (true, _) => d.acked_lost += 1,
            (false, Found::Intact) => d.unacked_survived += 1,
            (false, Found::Lost) if replaced_acked => d.acked_lost += 1,
            (false, _) => d.unacked_lost += 1,
        }
    }
    let mut window = Unsynced::default();
    for l in ledgers {
        window.add(&l.unsynced_at(cut_at));
    }
    d.loss_window_records = window.records;
    d.loss_window_bytes = window.bytes;
    d.loss_window_overwritten = window.overwritten;
    if let Some(oldest) = window.oldest {
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
        l.push("wal", 0, b"hello");
        l.push("wal", 5, b"world");
        l.ack_all(false);
        // An unacknowledged one that survived, one torn, one gone.
        std::fs::write(root.join("a"), b"alpha").unwrap();
        l.push("a", 0, b"alpha");
        std::fs::write(root.join("b"), b"bet").unwrap();
        l.push("b", 0, b"beta!");
        l.push("gone", 0, b"gamma");
        // Acknowledged data whose name was never synced, and is gone.
        l.push("nameless", 0, b"delta");
        l.ack_last(true);
        // A file synced only after the cut: unacknowledged, and said so.
        l.push("late", 0, b"epsilon");
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
        // Every write not acknowledged before the cut, lost or not:
        // alpha, beta!, gamma and the late epsilon.
        assert_eq!(d.loss_window_records, 4);
        assert_eq!(d.loss_window_bytes, 22);
        assert_eq!(d.loss_window_overwritten, 0);
        let all = everything_lost(&[l], cut_at);
        assert_eq!((all.acked_lost, all.unacked_lost), (3, 4));
        assert_eq!(std::fs::read(root.join("a")).unwrap(), b"alpha");
    }

    #[test]
    fn a_wrapped_log_is_checked_by_its_newest_records_and_its_window_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let rec = |i: u8| [b'a' + i; 4];
        let mut l = Ledger::default();
        // A 3-record log: records 0..3 synced, then 3..8 never (wrapping
        // over 0..3 and then over 3 and 4).
        for i in 0..3u8 {
            l.push("wal", u64::from(i) * 4, &rec(i));
        }
        l.ack_all(false);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let first_unsynced = std::time::Instant::now();
        for i in 3..8u8 {
            l.push("wal", u64::from(i % 3) * 4, &rec(i));
        }
        let cut_at = std::time::Instant::now();
        // On disk after the crash: the newest record at 0 (6) made it; at 4
        // the synced record 1 is what is there (7 was lost); at 8 nothing
        // at all, where the synced record 2 was.
        let disk = [rec(6), rec(1), [0; 4]].concat();
        std::fs::write(root.join("wal"), disk).unwrap();
        let d = verify(root, &[l], cut_at, &Cancel::new()).unwrap();
        // Overwritten records are not looked for, so none is reported lost
        // for being overwritten; record 7 lost with record 1 there is a
        // lost write, not a torn one; zeros where synced record 2 was (and
        // unsynced 5 over it) are an acknowledged write lost.
        assert_eq!(d.unacked_survived, 1, "{d:?}");
        assert_eq!(d.unacked_lost, 1, "{d:?}");
        assert_eq!(d.torn, 0, "{d:?}");
        assert_eq!(d.acked_lost, 1, "{d:?}");
        assert_eq!(d.acked_intact, 0, "{d:?}");
        // At risk: all five records written since the sync, two of them
        // (3 and 4) overwritten by 6 and 7.
        assert_eq!(d.loss_window_records, 5, "{d:?}");
        assert_eq!(d.loss_window_bytes, 20);
        assert_eq!(d.loss_window_overwritten, 2);
        let since = cut_at.duration_since(first_unsynced).as_secs_f64() * 1e3;
        assert!(d.loss_window_ms <= since, "{} > {since}", d.loss_window_ms);
        assert!(
            d.loss_window_ms >= since - 1.0,
            "{} < {since}",
            d.loss_window_ms
        );
    }
}
