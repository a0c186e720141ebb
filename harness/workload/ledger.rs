//! The ledger: what a worker wrote and what the kernel acknowledged as
//! durable under the workload's sync policy, kept in memory only when a
//! crash is armed, so the verifier can classify what survived.
//!
//! It keeps two things apart:
//!
//! - **What can be checked**: the newest write over every byte range of
//!   every file (its CRC). A write replaces the entries whose bytes it
//!   overwrites — a wrapping WAL rewriting its start — and nothing else.
//!   Where it replaced exactly one earlier write (same offset, same
//!   length), it inherits what that place held before: the newest
//!   acknowledged write there and the CRCs of the unacknowledged ones
//!   since, any of which a crash may have left, so a crash that kept older
//!   bytes and lost the new ones reads as the new write lost, not torn.
//! - **What was at risk**: every write no sync had acknowledged, whether
//!   its bytes were later overwritten or not. Overwritten ones cannot be
//!   checked any more, but they were written since the last acknowledged
//!   sync all the same: they stay counted (records, bytes, when the oldest
//!   was written) until a sync acknowledges them, grouped by that sync, so
//!   the loss window can be taken at any moment of the cut.
//!
//! A ledger made [`with_history`](Ledger::with_history) also keeps every
//! push and acknowledgement in order, so [`as_of`](Ledger::as_of) can give
//! back the ledger as it stood at any earlier moment: what crash states
//! taken from one run (a `power_loss` with `states`) are verified against.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

/// One write whose bytes can be found again after a crash.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Path relative to the workload's root.
    pub path: Arc<str>,
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
    /// The newest acknowledged write this place held before this one,
    /// when the writes since each replaced exactly one (same offset and
    /// length): after a crash the place holds it or a later write.
    pub base: Option<Acked>,
    /// The CRCs of the unacknowledged writes this place held after `base`
    /// (or from the start), oldest first: a crash may have left any of them.
    pub earlier: Vec<u32>,
}

/// An acknowledged write a later one overwrote: its bytes' CRC, and when
/// it was acknowledged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Acked {
    pub crc: u32,
    pub acked_at: Instant,
}

impl Entry {
    /// Acknowledged before the power was cut. A sync that returns success
    /// while or after the shutdown is issued was never seen by anyone in a
    /// real power cut (the machine is dead), so it does not count.
    pub fn acked_before(&self, cut_at: Instant) -> bool {
        self.acked_at.is_some_and(|t| t < cut_at)
    }
}

/// Unacknowledged writes overwritten before a sync acknowledged them,
/// grouped by that sync.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Overwritten {
    /// The sync that acknowledged them; None while none has.
    acked_at: Option<Instant>,
    records: u64,
    bytes: u64,
    oldest: Instant,
}

/// What was written and not acknowledged before a cut: the loss window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Unsynced {
    pub records: u64,
    pub bytes: u64,
    /// When the oldest of them was written.
    pub oldest: Option<Instant>,
    /// Of `records`, those a later write overwrote (not checkable).
    pub overwritten: u64,
}

impl Unsynced {
    fn count(&mut self, records: u64, bytes: u64, written_at: Instant) {
        self.records += records;
        self.bytes += bytes;
        self.oldest = Some(self.oldest.map_or(written_at, |o| o.min(written_at)));
    }

    /// Both windows together (the threads of a cell).
    pub fn add(&mut self, other: &Unsynced) {
        if let Some(oldest) = other.oldest {
            self.count(other.records, other.bytes, oldest);
        }
        self.overwritten += other.overwritten;
    }
}

/// A place in the files: (the path's number in this ledger, offset).
type Place = (u32, u64);

/// One thread's ledger.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    /// The newest write over every byte range (they never overlap).
    entries: BTreeMap<Place, Entry>,
    /// Paths by number, so a place is cheap to key and a WAL's path is
    /// not copied per record.
    paths: HashMap<Arc<str>, u32>,
    /// Places written since the last `ack_all` (a place may since hold a
    /// later write: unacknowledged as well).
    unacked: Vec<Place>,
    /// The last write's place, for `ack_last`.
    last: Option<Place>,
    /// Overwritten unacknowledged writes, oldest group first; the last
    /// group is open (not yet acknowledged) when its `acked_at` is None.
    overwritten: Vec<Overwritten>,
    /// Every call in order, when kept ([`Ledger::with_history`]).
    history: Option<History>,
}

/// The calls a ledger was given, in order, to rebuild it as of a moment.
#[derive(Debug, Clone)]
struct History {
    events: Vec<Event>,
    /// When the thread's previous call returned: its next write began later.
    last: Instant,
}

#[derive(Debug, Clone)]
enum Event {
    Push {
        path: Arc<str>,
        offset: u64,
        len: u64,
        crc: u32,
        /// The write began after this (the thread's previous ledger call):
        /// a crash at or after it may have found its bytes on the device.
        began_after: Instant,
        at: Instant,
    },
    AckAll {
        dirent_unsynced: bool,
        at: Instant,
    },
    AckLast {
        dirent_unsynced: bool,
        at: Instant,
    },
}

impl Event {
    /// From when the event may have had an effect on the device: a write
    /// from when it began, an acknowledgement from when it was given.
    fn from(&self) -> Instant {
        match self {
            Event::Push { began_after, .. } => *began_after,
            Event::AckAll { at, .. } | Event::AckLast { at, .. } => *at,
        }
    }
}

impl Ledger {
    /// A ledger that also keeps its history, for [`Ledger::as_of`].
    pub fn with_history() -> Ledger {
        Ledger {
            history: Some(History {
                events: Vec::new(),
                last: Instant::now(),
            }),
            ..Ledger::default()
        }
    }

    /// The ledger as it stood at `t`: every call whose effect may have
    /// reached the device before `t` — a write that had begun (after the
    /// thread's previous call returned), an acknowledgement that had been
    /// given. A write counted though it began a little later is looked for
    /// and, not found, counts as unacknowledged and lost, never as a
    /// violation. Without history, the ledger as it is.
    pub fn as_of(&self, t: Instant) -> Ledger {
        let Some(h) = &self.history else {
            return self.clone();
        };
        let mut l = Ledger::default();
        // The events' moments never decrease, so the ledger then is a prefix.
        for e in h.events.iter().take_while(|e| e.from() < t) {
            match e {
                Event::Push {
                    path,
                    offset,
                    len,
                    crc,
                    at,
                    ..
                } => l.push_at(path, *offset, *len, *crc, *at),
                Event::AckAll {
                    dirent_unsynced,
                    at,
                } => l.ack_all_at(*dirent_unsynced, *at),
                Event::AckLast {
                    dirent_unsynced,
                    at,
                } => l.ack_last_at(*dirent_unsynced, *at),
            }
        }
        l
    }

    /// Remembers a call (with history kept), and when it returned.
    fn remember(&mut self, event: impl FnOnce(Instant) -> Event, at: Instant) {
        if let Some(h) = self.history.as_mut() {
            h.events.push(event(h.last));
            h.last = at;
        }
    }

    /// A write of `bytes` at `offset` of `path` was handed to the kernel.
    pub fn push(&mut self, path: &str, offset: u64, bytes: &[u8]) {
        let now = Instant::now();
        let len = bytes.len() as u64;
        let crc = crc32fast::hash(bytes);
        if self.history.is_some() {
            let (_, p) = self.intern(path);
            self.remember(
                |began_after| Event::Push {
                    path: p,
                    offset,
                    len,
                    crc,
                    began_after,
                    at: now,
                },
                now,
            );
        }
        self.push_at(path, offset, len, crc, now);
    }

    fn push_at(&mut self, path: &str, offset: u64, len: u64, crc: u32, now: Instant) {
        let (id, path) = self.intern(path);
        let (base, earlier) = self.overwrite(id, offset, len);
        let place = (id, offset);
        self.entries.insert(
            place,
            Entry {
                path,
                offset,
                len,
                crc,
                written_at: now,
                acked_at: None,
                dirent_unsynced: false,
                base,
                earlier,
            },
        );
        self.unacked.push(place);
        self.last = Some(place);
    }

    fn intern(&mut self, path: &str) -> (u32, Arc<str>) {
        if let Some((p, id)) = self.paths.get_key_value(path) {
            return (*id, p.clone());
        }
        let id = self.paths.len() as u32;
        let p: Arc<str> = Arc::from(path);
        self.paths.insert(p.clone(), id);
        (id, p)
    }

    /// Takes out the entries of file `id` that `[offset, offset + len)`
    /// overwrites, counting the unacknowledged ones as overwritten; what
    /// the place held before, when one write was replaced whole.
    fn overwrite(&mut self, id: u32, offset: u64, len: u64) -> (Option<Acked>, Vec<u32>) {
        let end = offset.saturating_add(len.max(1));
        let mut hit: Vec<Place> = self
            .entries
            .range((id, offset)..(id, end))
            .map(|(k, _)| *k)
            .collect();
        // One that starts before and reaches in.
        if let Some((k, e)) = self.entries.range((id, 0)..(id, offset)).next_back() {
            if e.offset.saturating_add(e.len) > offset {
                hit.push(*k);
            }
        }
        let mut before = (None, Vec::new());
        let whole = hit.len() == 1;
        for k in hit {
            let Some(mut e) = self.entries.remove(&k) else {
                continue;
            };
            if whole && e.offset == offset && e.len == len {
                before = match e.acked_at {
                    Some(acked_at) => (
                        Some(Acked {
                            crc: e.crc,
                            acked_at,
                        }),
                        Vec::new(),
                    ),
                    None => {
                        let mut earlier = std::mem::take(&mut e.earlier);
                        earlier.push(e.crc);
                        (e.base, earlier)
                    }
                };
            }
            if e.acked_at.is_none() {
                match self.overwritten.last_mut() {
                    Some(g) if g.acked_at.is_none() => {
                        g.records += 1;
                        g.bytes += e.len;
                        g.oldest = g.oldest.min(e.written_at);
                    }
                    _ => self.overwritten.push(Overwritten {
                        acked_at: None,
                        records: 1,
                        bytes: e.len,
                        oldest: e.written_at,
                    }),
                }
            }
        }
        before
    }

    /// A sync succeeded: everything written so far (to this file, for the
    /// per-file workloads that call it right after the file's sync) is
    /// acknowledged, overwritten writes included. A write acknowledged
    /// earlier keeps the moment it was.
    pub fn ack_all(&mut self, dirent_unsynced: bool) {
        let now = Instant::now();
        self.remember(
            |_| Event::AckAll {
                dirent_unsynced,
                at: now,
            },
            now,
        );
        self.ack_all_at(dirent_unsynced, now);
    }

    fn ack_all_at(&mut self, dirent_unsynced: bool, now: Instant) {
        for place in self.unacked.drain(..) {
            if let Some(e) = self.entries.get_mut(&place) {
                if e.acked_at.is_none() {
                    e.acked_at = Some(now);
                    e.dirent_unsynced = dirent_unsynced;
                }
            }
        }
        if let Some(g) = self.overwritten.last_mut() {
            if g.acked_at.is_none() {
                g.acked_at = Some(now);
            }
        }
    }

    /// A sync of one file succeeded: only its own entry, the last one, is
    /// acknowledged (earlier files were not covered by it).
    pub fn ack_last(&mut self, dirent_unsynced: bool) {
        let now = Instant::now();
        self.remember(
            |_| Event::AckLast {
                dirent_unsynced,
                at: now,
            },
            now,
        );
        self.ack_last_at(dirent_unsynced, now);
    }

    fn ack_last_at(&mut self, dirent_unsynced: bool, now: Instant) {
        if let Some(e) = self.last.and_then(|p| self.entries.get_mut(&p)) {
            e.acked_at = Some(now);
            e.dirent_unsynced = dirent_unsynced;
        }
    }

    /// The newest write over every byte range: what verification checks.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// Every write not acknowledged before `cut_at` — overwritten or not:
    /// the loss window at a power cut then.
    ///
    /// An acknowledged write that a later one overwrote is no longer
    /// counted, even for a cut before its acknowledgement: overwriting it
    /// took a write after a sync that returned after the cut, and on a
    /// filesystem that was shut down writes fail (tmpfs, which is not shut
    /// down, loses everything by definition).
    pub fn unsynced_at(&self, cut_at: Instant) -> Unsynced {
        let mut u = Unsynced::default();
        for e in self.entries.values().filter(|e| !e.acked_before(cut_at)) {
            u.count(1, e.len, e.written_at);
        }
        for g in &self.overwritten {
            if g.acked_at.is_none_or(|t| t >= cut_at) {
                u.count(g.records, g.bytes, g.oldest);
                u.overwritten += g.records;
            }
        }
        u
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn crcs(l: &Ledger) -> Vec<(u64, u32, bool)> {
        l.entries()
            .map(|e| (e.offset, e.crc, e.acked_at.is_some()))
            .collect()
    }

    #[test]
    fn acks_cover_what_was_written_before() {
        let mut l = Ledger::default();
        l.push("a", 0, b"one");
        l.push("a", 3, b"two");
        l.ack_all(false);
        l.push("a", 6, b"three");
        assert_eq!(l.entries().filter(|e| e.acked_at.is_some()).count(), 2);
        assert_eq!(
            l.entries().find(|e| e.offset == 6).unwrap().crc,
            crc32fast::hash(b"three")
        );
        l.push("b", 0, b"four");
        l.push("c", 0, b"five");
        l.ack_last(true);
        let by_path = |l: &Ledger, p: &str| l.entries().find(|e| &*e.path == p).unwrap().clone();
        let (b, c) = (by_path(&l, "b"), by_path(&l, "c"));
        assert!(b.acked_at.is_none() && c.acked_at.is_some() && c.dirent_unsynced);
        assert!(!c.acked_before(c.acked_at.unwrap()));
        // A later ack_all keeps the moment c was acknowledged.
        let c_at = c.acked_at;
        std::thread::sleep(Duration::from_millis(1));
        l.ack_all(false);
        assert_eq!(by_path(&l, "c").acked_at, c_at);
        assert!(by_path(&l, "b").acked_at.is_some());
    }

    #[test]
    fn a_wrapping_log_replaces_only_what_it_overwrites_and_keeps_the_window() {
        let mut l = Ledger::default();
        // A log of four 4-byte records, never synced, wrapping twice.
        let rec = |i: u8| [i; 4];
        l.push("wal", 0, &rec(0));
        let first = l.entries().next().unwrap().written_at;
        for i in 1..10u8 {
            l.push("wal", u64::from(i % 4) * 4, &rec(i));
        }
        // The newest per place, to check; records 6..=9 hold the file.
        let want: Vec<(u64, u32, bool)> = [(0, 8u8), (4, 9), (8, 6), (12, 7)]
            .iter()
            .map(|&(o, i)| (o, crc32fast::hash(&rec(i)), false))
            .collect();
        assert_eq!(crcs(&l), want);
        // Each replaced exactly one earlier record: the place's history,
        // none of it acknowledged.
        let at0 = l.entries().next().unwrap();
        let hashes =
            |is: &[u8]| -> Vec<u32> { is.iter().map(|&i| crc32fast::hash(&rec(i))).collect() };
        assert_eq!(at0.earlier, hashes(&[0, 4]));
        assert_eq!(at0.base, None);
        // Nothing was ever synced: all ten are in the window, six of them
        // overwritten, the oldest the first record.
        let u = l.unsynced_at(Instant::now());
        assert_eq!((u.records, u.bytes, u.overwritten), (10, 40, 6));
        assert_eq!(u.oldest, Some(first));
    }

    #[test]
    fn a_sync_closes_the_window_for_what_it_covered_overwritten_or_not() {
        let mut l = Ledger::default();
        for i in 0..6u8 {
            l.push("wal", u64::from(i % 4) * 4, &[i; 4]);
        }
        // Records 0 and 1 were overwritten unsynced; then a sync.
        let before_sync = Instant::now();
        std::thread::sleep(Duration::from_millis(2));
        l.ack_all(false);
        // A cut before the sync returned: it acknowledged nothing then, so
        // all six writes were at risk, two of them overwritten since.
        let u = l.unsynced_at(before_sync);
        assert_eq!((u.records, u.bytes, u.overwritten), (6, 24, 2));
        // A cut after it: nothing was.
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(l.unsynced_at(Instant::now()), Unsynced::default());
        // Two more, overwriting acknowledged records 2 and 3: only the new
        // ones are at risk.
        l.push("wal", 8, &[6; 4]);
        l.push("wal", 12, &[7; 4]);
        let u = l.unsynced_at(Instant::now());
        assert_eq!((u.records, u.overwritten), (2, 0));
        // The new writes remember the acknowledged ones they replaced.
        let at8 = l.entries().find(|e| e.offset == 8).unwrap();
        assert_eq!(at8.base.unwrap().crc, crc32fast::hash(&[2u8; 4]));
        assert!(at8.earlier.is_empty());
        // And a place overwritten twice since its sync, both.
        let at0 = l.entries().find(|e| e.offset == 0).unwrap();
        assert_eq!(at0.base, None, "record 0 was overwritten before the sync");
        assert_eq!(
            at0.earlier,
            [crc32fast::hash(&[0u8; 4])],
            "record 4 is the entry itself"
        );
    }

    #[test]
    fn records_of_other_sizes_replace_every_record_they_touch() {
        let mut l = Ledger::default();
        l.push("wal", 0, &[1; 4]);
        l.push("wal", 4, &[2; 4]);
        l.push("wal", 8, &[3; 4]);
        l.ack_all(false);
        // Six bytes from offset 2: into the first, over the second.
        l.push("wal", 2, &[9; 6]);
        let offsets: Vec<u64> = l.entries().map(|e| e.offset).collect();
        assert_eq!(offsets, [2, 8]);
        // Not one record replaced whole: nothing to compare the bytes with.
        let e = l.entries().next().unwrap();
        assert!(e.base.is_none() && e.earlier.is_empty());
        // Other files are other places.
        l.push("other", 2, &[5; 6]);
        assert_eq!(l.entries().count(), 3);
        assert_eq!(l.unsynced_at(Instant::now()).records, 2);
    }

    #[test]
    fn as_of_gives_the_ledger_as_it_stood_then() {
        let mut l = Ledger::with_history();
        let rec = |i: u8| [i; 4];
        l.push("wal", 0, &rec(1));
        std::thread::sleep(Duration::from_millis(2));
        let before_first_ack = Instant::now();
        std::thread::sleep(Duration::from_millis(2));
        l.ack_all(false);
        std::thread::sleep(Duration::from_millis(2));
        let after_first_ack = Instant::now();
        std::thread::sleep(Duration::from_millis(2));
        l.push("wal", 0, &rec(2));
        l.ack_all(false);
        l.push("f", 0, &rec(3));
        l.ack_last(true);
        // Record 1 written, not yet acknowledged.
        let early = l.as_of(before_first_ack);
        assert_eq!(crcs(&early), vec![(0, crc32fast::hash(&rec(1)), false)]);
        // After the ack returned the next write may have begun (the
        // thread's previous call is when it counts from): record 2 is the
        // newest there, unacknowledged, with record 1 as what it replaced.
        let mid = l.as_of(after_first_ack);
        let e = mid.entries().next().unwrap();
        assert_eq!((e.crc, e.acked_at), (crc32fast::hash(&rec(2)), None));
        assert_eq!(e.base.map(|b| b.crc), Some(crc32fast::hash(&rec(1))));
        assert_eq!(mid.unsynced_at(after_first_ack).records, 1);
        // At the end: the same as the ledger itself.
        let end = l.as_of(Instant::now() + Duration::from_secs(1));
        assert_eq!(crcs(&end), crcs(&l));
        let f = end.entries().find(|e| &*e.path == "f").unwrap();
        assert!(f.dirent_unsynced && f.acked_at.is_some());
        // Without history, as_of is the ledger as it is.
        let mut plain = Ledger::default();
        plain.push("a", 0, b"x");
        assert_eq!(crcs(&plain.as_of(after_first_ack)), crcs(&plain));
    }
}
