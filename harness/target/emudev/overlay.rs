//! A copy-on-write view of an image, pure: writes are kept in memory, in
//! whole pages, over a backing store that is only read. A crash state is
//! served this way — the state's in-flight writes and whatever the
//! filesystem writes while it replays its journal land here and vanish
//! with it, so the image under it can go on to the next state.

use std::collections::BTreeMap;
use std::io;

use super::cache::Backing;

/// Pages of the view that differ from the backing store.
pub const PAGE: u64 = 4096;

#[derive(Debug, Default)]
pub struct Overlay {
    pages: BTreeMap<u64, Box<[u8]>>,
}

impl Overlay {
    pub fn new() -> Overlay {
        Overlay::default()
    }

    /// Bytes held in memory.
    pub fn bytes(&self) -> u64 {
        self.pages.len() as u64 * PAGE
    }

    /// Writes `data` at `offset` into the view (reading the rest of a page
    /// first touched from `backing`).
    pub fn write<B: Backing>(&mut self, backing: &B, offset: u64, data: &[u8]) -> io::Result<()> {
        let end = offset + data.len() as u64;
        let mut at = offset;
        while at < end {
            let page = at / PAGE;
            let in_page = (at % PAGE) as usize;
            let n = ((PAGE as usize) - in_page).min((end - at) as usize);
            let buf = match self.pages.entry(page) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    let mut fresh = vec![0u8; PAGE as usize].into_boxed_slice();
                    if n < PAGE as usize {
                        backing.read_at(&mut fresh, page * PAGE)?;
                    }
                    e.insert(fresh)
                }
            };
            let from = (at - offset) as usize;
            buf[in_page..in_page + n].copy_from_slice(&data[from..from + n]);
            at += n as u64;
        }
        Ok(())
    }

    /// Reads the view: the backing store with the overlay's pages over it.
    pub fn read<B: Backing>(&self, backing: &B, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        backing.read_at(buf, offset)?;
        let end = offset + buf.len() as u64;
        let first = offset / PAGE;
        let last = end.div_ceil(PAGE);
        for (&page, data) in self.pages.range(first..last) {
            let p_start = page * PAGE;
            let from = p_start.max(offset);
            let to = (p_start + PAGE).min(end);
            buf[(from - offset) as usize..(to - offset) as usize]
                .copy_from_slice(&data[(from - p_start) as usize..(to - p_start) as usize]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_is_the_backing_store_with_the_writes_over_it_and_the_store_is_untouched() {
        let base: Vec<u8> = (0..3 * PAGE).map(|i| (i % 251) as u8).collect();
        let mut o = Overlay::new();
        let mut want = base.clone();
        // Unaligned, across a page boundary, and a whole page.
        for (offset, len, fill) in [(100u64, 50usize, 1u8), (4000, 200, 2), (8192, 4096, 3)] {
            o.write(&base, offset, &vec![fill; len]).unwrap();
            want[offset as usize..offset as usize + len].fill(fill);
        }
        // Over itself.
        o.write(&base, 120, &[9; 10]).unwrap();
        want[120..130].fill(9);
        let mut got = vec![0u8; want.len()];
        o.read(&base, 0, &mut got).unwrap();
        assert_eq!(got, want);
        // A read in the middle of a page, and past the end (zeros).
        let mut part = vec![0u8; 300];
        o.read(&base, 3990, &mut part).unwrap();
        assert_eq!(part, want[3990..4290]);
        let mut tail = vec![1u8; 10];
        o.read(&base, 3 * PAGE, &mut tail).unwrap();
        assert_eq!(tail, vec![0u8; 10]);
        assert_eq!(o.bytes(), 3 * PAGE);
        assert_eq!(base[100], 100, "the backing store is only read");
    }
}
