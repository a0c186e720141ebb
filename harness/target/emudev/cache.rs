//! The volatile write cache of the emulated device, pure: it works on a
//! [`Backing`] (the real image in the daemon, a `Vec<u8>` in tests) and is
//! told the time.
//!
//! Acknowledged-but-unflushed writes are kept as extents in write order.
//! Reads see the cache over the backing store; a flush writes every extent
//! back in write order and syncs; the cache also writes back on its own
//! (destages) what is older than `destage_after`, and makes room before it
//! would pass its size, oldest first. At a power loss the unflushed extents
//! are gone — all of them, or with `reorder` a seeded subset, applied in a
//! seeded order, as a real disk's cache may have written any of them
//! already and in any order. So an older write to a range may survive
//! where a newer one to the same range is lost: that is the point.

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Where cached writes go when they are written back.
pub trait Backing {
    /// Fills `buf` from `offset`; bytes past the end read as zeros.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    fn write_at(&mut self, data: &[u8], offset: u64) -> io::Result<()>;
    /// Makes what was written durable (fsync of the image).
    fn sync(&mut self) -> io::Result<()>;
}

/// A store in memory, for tests and for reasoning.
impl Backing for Vec<u8> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        buf.fill(0);
        let start = (offset as usize).min(self.len());
        let end = (offset as usize + buf.len()).min(self.len());
        buf[..end - start].copy_from_slice(&self[start..end]);
        Ok(())
    }

    fn write_at(&mut self, data: &[u8], offset: u64) -> io::Result<()> {
        let end = offset as usize + data.len();
        if self.len() < end {
            self.resize(end, 0);
        }
        self[offset as usize..end].copy_from_slice(data);
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Bytes written at an offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extent {
    pub offset: u64,
    pub data: Vec<u8>,
}

impl Extent {
    fn end(&self) -> u64 {
        self.offset + self.data.len() as u64
    }
}

#[derive(Debug)]
struct Entry {
    /// When the write was received.
    at: Duration,
    extent: Extent,
}

/// What the cache did, for the device's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Extents and bytes written back by a flush.
    pub flushed_writes: u64,
    pub flushed_bytes: u64,
    /// Extents and bytes written back on the cache's own (age or room).
    pub destaged_writes: u64,
    pub destaged_bytes: u64,
    /// Writes too large for the cache, written through at once.
    pub bypassed_writes: u64,
}

/// The unflushed writes of a device with a volatile write cache.
#[derive(Debug)]
pub struct VolatileCache {
    size: u64,
    destage_after: Duration,
    /// In write order, oldest first.
    entries: VecDeque<Entry>,
    bytes: u64,
    stats: CacheStats,
}

impl VolatileCache {
    pub fn new(size: u64, destage_after: Duration) -> VolatileCache {
        VolatileCache {
            size,
            destage_after,
            entries: VecDeque::new(),
            bytes: 0,
            stats: CacheStats::default(),
        }
    }

    /// Unflushed bytes held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Unflushed writes held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn stats(&self) -> CacheStats {
        self.stats
    }

    /// Takes a write received at `now` into the cache, first writing back
    /// the oldest extents until it fits. A write larger than the whole
    /// cache goes to the backing store at once, after everything older.
    pub fn write<B: Backing>(
        &mut self,
        backing: &mut B,
        now: Duration,
        offset: u64,
        data: &[u8],
    ) -> io::Result<()> {
        let len = data.len() as u64;
        if len > self.size {
            self.write_back_all(backing, false)?;
            self.stats.bypassed_writes += 1;
            return backing.write_at(data, offset);
        }
        while self.bytes + len > self.size {
            self.write_back_oldest(backing, false)?;
        }
        self.bytes += len;
        self.entries.push_back(Entry {
            at: now,
            extent: Extent {
                offset,
                data: data.to_vec(),
            },
        });
        Ok(())
    }

    /// Reads `buf.len()` bytes at `offset` as the device shows them: the
    /// backing store with the cached writes over it, later over earlier.
    pub fn read<B: Backing>(&self, backing: &B, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        backing.read_at(buf, offset)?;
        let end = offset + buf.len() as u64;
        for e in &self.entries {
            let x = &e.extent;
            if x.offset >= end || x.end() <= offset {
                continue;
            }
            let from = x.offset.max(offset);
            let to = x.end().min(end);
            buf[(from - offset) as usize..(to - offset) as usize]
                .copy_from_slice(&x.data[(from - x.offset) as usize..(to - x.offset) as usize]);
        }
        Ok(())
    }

    /// A flush: writes everything back in write order, then syncs.
    pub fn flush<B: Backing>(&mut self, backing: &mut B) -> io::Result<()> {
        self.write_back(backing)?;
        backing.sync()
    }

    /// The first half of a flush: writes everything back in write order,
    /// without the sync (the daemon syncs outside its lock).
    pub fn write_back<B: Backing>(&mut self, backing: &mut B) -> io::Result<()> {
        self.write_back_all(backing, true)
    }

    /// Writes back (without a sync) what was received `destage_after` or
    /// longer before `now`; returns how many extents.
    pub fn destage<B: Backing>(&mut self, backing: &mut B, now: Duration) -> io::Result<usize> {
        let mut n = 0;
        while let Some(e) = self.entries.front() {
            if now.saturating_sub(e.at) < self.destage_after {
                break;
            }
            self.write_back_oldest(backing, false)?;
            n += 1;
        }
        Ok(n)
    }

    /// When the oldest extent will be due for destaging, if any.
    pub fn next_destage(&self) -> Option<Duration> {
        self.entries.front().map(|e| e.at + self.destage_after)
    }

    /// Power is cut: the cache is emptied and what it held is returned as
    /// the extents that reach stable storage anyway, in the order to apply
    /// them. Without `reorder` nothing survives; with it each unflushed
    /// write survives or not by a draw from `seed`, and the survivors come
    /// in a seeded order (a later write to a range may be lost while an
    /// earlier one survives, or be overwritten by it).
    pub fn power_loss(&mut self, seed: u64, reorder: bool) -> Vec<Extent> {
        let entries = std::mem::take(&mut self.entries);
        self.bytes = 0;
        if !reorder {
            return Vec::new();
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut survivors: Vec<Extent> = entries
            .into_iter()
            .filter_map(|e| rng.random_bool(0.5).then_some(e.extent))
            .collect();
        survivors.shuffle(&mut rng);
        survivors
    }

    fn write_back_all<B: Backing>(&mut self, backing: &mut B, flush: bool) -> io::Result<()> {
        while !self.entries.is_empty() {
            self.write_back_oldest(backing, flush)?;
        }
        Ok(())
    }

    fn write_back_oldest<B: Backing>(&mut self, backing: &mut B, flush: bool) -> io::Result<()> {
        let Some(e) = self.entries.front() else {
            return Ok(());
        };
        backing.write_at(&e.extent.data, e.extent.offset)?;
        let len = e.extent.data.len() as u64;
        self.entries.pop_front();
        self.bytes -= len;
        if flush {
            self.stats.flushed_writes += 1;
            self.stats.flushed_bytes += len;
        } else {
            self.stats.destaged_writes += 1;
            self.stats.destaged_bytes += len;
        }
        Ok(())
    }
}

/// Writes `extents` to `backing` in their order, then syncs.
pub fn apply<B: Backing>(backing: &mut B, extents: &[Extent]) -> io::Result<()> {
    for x in extents {
        backing.write_at(&x.data, x.offset)?;
    }
    backing.sync()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn read(c: &VolatileCache, b: &Vec<u8>, offset: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0xEE; len];
        c.read(b, offset, &mut buf).unwrap();
        buf
    }

    #[test]
    fn reads_see_the_cache_over_the_backing_store_later_over_earlier() {
        let mut b = vec![1u8; 16];
        let mut c = VolatileCache::new(1 << 20, ms(1000));
        c.write(&mut b, ms(0), 4, &[2; 8]).unwrap();
        c.write(&mut b, ms(1), 6, &[3; 2]).unwrap();
        c.write(&mut b, ms(2), 14, &[4; 4]).unwrap(); // past the end
        assert_eq!(b, vec![1u8; 16], "nothing reached the backing store");
        assert_eq!(
            read(&c, &b, 0, 20),
            [1, 1, 1, 1, 2, 2, 3, 3, 2, 2, 2, 2, 1, 1, 4, 4, 4, 4, 0, 0]
        );
        // A read inside one extent, and one across two.
        assert_eq!(read(&c, &b, 5, 3), [2, 3, 3]);
        assert_eq!(c.len(), 3);
        assert_eq!(c.bytes(), 14);
    }

    #[test]
    fn a_flush_persists_everything_in_write_order() {
        let mut b = vec![0u8; 8];
        let mut c = VolatileCache::new(1 << 20, ms(1000));
        c.write(&mut b, ms(0), 0, &[1; 8]).unwrap();
        c.write(&mut b, ms(0), 2, &[2; 2]).unwrap();
        c.write(&mut b, ms(0), 0, &[3; 1]).unwrap();
        c.flush(&mut b).unwrap();
        assert!(c.is_empty());
        assert_eq!(b, [3, 1, 2, 2, 1, 1, 1, 1]);
        assert_eq!(c.stats().flushed_writes, 3);
        assert_eq!(c.stats().flushed_bytes, 11);
        // Nothing unflushed is left to lose.
        assert!(c.power_loss(1, true).is_empty());
    }

    #[test]
    fn old_writes_are_destaged_oldest_first() {
        let mut b = vec![0u8; 4];
        let mut c = VolatileCache::new(1 << 20, ms(200));
        c.write(&mut b, ms(0), 0, &[1]).unwrap();
        c.write(&mut b, ms(100), 1, &[2]).unwrap();
        c.write(&mut b, ms(150), 0, &[3]).unwrap();
        assert_eq!(c.next_destage(), Some(ms(200)));
        assert_eq!(c.destage(&mut b, ms(199)).unwrap(), 0);
        assert_eq!(c.destage(&mut b, ms(300)).unwrap(), 2);
        assert_eq!(b, [1, 2, 0, 0]);
        assert_eq!(read(&c, &b, 0, 2), [3, 2], "the newer write is still seen");
        assert_eq!(c.destage(&mut b, ms(350)).unwrap(), 1);
        assert_eq!(b, [3, 2, 0, 0]);
        assert_eq!(c.stats().destaged_writes, 3);
        assert_eq!(c.next_destage(), None);
    }

    #[test]
    fn the_cache_makes_room_before_it_passes_its_size() {
        let mut b = vec![0u8; 64];
        let mut c = VolatileCache::new(16, ms(1000));
        for i in 0..4u8 {
            c.write(&mut b, ms(0), u64::from(i) * 8, &[i + 1; 8])
                .unwrap();
            assert!(c.bytes() <= 16);
        }
        // The first two were written back (oldest first) to make room.
        assert_eq!(&b[..32], &[[1u8; 8], [2; 8], [0; 8], [0; 8]].concat()[..]);
        assert_eq!(c.len(), 2);
        // A write larger than the cache goes through after the rest.
        c.write(&mut b, ms(0), 8, &[9; 20]).unwrap();
        assert!(c.is_empty());
        assert_eq!(
            &b[..32],
            &[[1u8; 8], [9; 8], [9; 8], [9, 9, 9, 9, 4, 4, 4, 4]].concat()[..]
        );
        assert_eq!(c.stats().bypassed_writes, 1);
    }

    #[test]
    fn power_loss_without_reorder_loses_every_unflushed_write() {
        let mut b = vec![0u8; 8];
        let mut c = VolatileCache::new(1 << 20, ms(1000));
        c.write(&mut b, ms(0), 0, &[1; 4]).unwrap();
        c.flush(&mut b).unwrap();
        c.write(&mut b, ms(1), 4, &[2; 4]).unwrap();
        let survivors = c.power_loss(7, false);
        assert!(survivors.is_empty());
        assert!(c.is_empty());
        assert_eq!(c.bytes(), 0);
        apply(&mut b, &survivors).unwrap();
        assert_eq!(b, [1, 1, 1, 1, 0, 0, 0, 0]);
    }

    fn lose(seed: u64) -> (Vec<Extent>, Vec<u8>) {
        let mut b = vec![0u8; 64];
        let mut c = VolatileCache::new(1 << 20, ms(1000));
        for i in 0..32u8 {
            c.write(&mut b, ms(0), u64::from(i) * 2, &[i + 1; 2])
                .unwrap();
        }
        let s = c.power_loss(seed, true);
        apply(&mut b, &s).unwrap();
        (s, b)
    }

    #[test]
    fn power_loss_with_reorder_keeps_a_seeded_subset_in_any_order() {
        let (a, image) = lose(42);
        assert_eq!(
            (a.clone(), image.clone()),
            lose(42),
            "the same seed, the same survivors"
        );
        assert!(
            !a.is_empty() && a.len() < 32,
            "a strict subset: {} of 32",
            a.len()
        );
        // Each survivor is one of the writes, whole, and the others are not there.
        for x in &a {
            let i = (x.offset / 2) as u8;
            assert_eq!(x.data, [i + 1; 2]);
        }
        for i in 0..32u8 {
            let kept = a.iter().any(|x| x.offset == u64::from(i) * 2);
            let want = if kept { [i + 1; 2] } else { [0; 2] };
            assert_eq!(image[usize::from(i) * 2..][..2], want);
        }
        // Not in write order (with 32 writes, some seed shows it).
        let in_order = |s: &[Extent]| s.windows(2).all(|w| w[0].offset < w[1].offset);
        assert!((0..8).any(|seed| !in_order(&lose(seed).0)));
        assert_ne!(lose(43).0, a);
    }

    #[test]
    fn under_power_loss_an_older_write_may_survive_where_the_newer_is_lost() {
        let outcome = |seed| {
            let mut b = vec![0u8; 1];
            let mut c = VolatileCache::new(1 << 20, ms(1000));
            c.write(&mut b, ms(0), 0, &[1]).unwrap();
            c.write(&mut b, ms(1), 0, &[2]).unwrap();
            assert_eq!(read(&c, &b, 0, 1), [2], "reads see the newer write");
            let s = c.power_loss(seed, true);
            apply(&mut b, &s).unwrap();
            b[0]
        };
        let seen: std::collections::BTreeSet<u8> = (0..64).map(outcome).collect();
        // Neither, either, or both in either order: 0, 1 and 2 all occur.
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), [0, 1, 2]);
    }
}
