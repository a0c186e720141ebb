//! Seeded payloads and self-describing records.
//!
//! Every byte a workload writes comes from a per-thread ChaCha stream
//! seeded from the scenario seed, the workload's name and the thread
//! index: the same seed gives byte-identical files and the same operation
//! sequence; vary values of one workload share it, so they are compared on
//! identical work.
//!
//! Records (WAL records, small files ≥ 32 bytes) start with a 32-byte
//! header — magic, thread, sequence number, length, CRC32 of the body — so
//! a verifier can tell intact, torn and foreign data apart after a crash.
//! The length is 64 bits: its low half at byte 16, its high half at byte
//! 24 (reserved, always zero, before records could pass 4 GiB — so a
//! header written then reads the same).
//!
//! When no verifier reads the bytes back ([`Verification::Off`]), WAL
//! records, small files and log lines carry no header, sequence or CRC:
//! [`Payload::plain`] hands out a window of the thread's seeded pool
//! (one of 64 windows 64 bytes apart, chosen by the sequence number, so
//! consecutive writes differ and the bytes stay in the CPU's cache), and
//! [`PlainLines`] the tail of a printable line prepared once. Both are
//! page-aligned, so a window (and a line of a fixed size) starts on a
//! cache line, as a bare loop's static buffer does.
//! Neither draws from the stream nor copies; the sizes drawn, and so the
//! operations, are those of the same seed with a verifier armed, apart
//! from the window offsets records draw.
//!
//! [`Verification::Off`]: super::Verification::Off
//!
//! Files made before the clock starts (lower layers, read sets, copy-up
//! files) can be gigabytes: [`Payload::write_record`] hands out the same
//! bytes as [`Payload::record`] in pieces of at most [`CHUNK`] bytes, so
//! their memory does not grow with their size and the caller can poll for
//! a signal between pieces.

use std::io;

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::sys::PageAligned;
use super::Verification;
use crate::scenario::{PayloadKind, SizeRange};

pub const RECORD_MAGIC: &[u8; 4] = b"WPB1";
pub const RECORD_HEADER: usize = 32;
/// Shortest log line: the text header plus a newline.
pub const LINE_HEADER: usize = 27;
const POOL: usize = 1 << 20;
/// The most bytes [`Payload::write_record`] hands out at once: 1 MiB, a
/// few milliseconds of writing on any disk, so a caller that polls its
/// cancel token between pieces polls well within 100 ms.
pub const CHUNK: usize = 1 << 20;

/// FNV-1a: a stable hash (std's hasher may change between releases, and
/// seeds must mean the same thing forever).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The seed of one thread of one workload.
pub fn thread_seed(scenario_seed: u64, workload: &str, thread: u32) -> u64 {
    scenario_seed
        ^ fnv1a(workload).rotate_left(17)
        ^ u64::from(thread).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A thread's deterministic source of sizes and bytes.
pub struct Payload {
    rng: ChaCha8Rng,
    /// Page-aligned, so every window of it starts on a cache line.
    pool: PageAligned,
    crcs: CrcMemo,
}

/// Record bodies are windows of the pool starting on a 64-byte boundary,
/// so a workload of one record size has at most POOL/64 distinct bodies:
/// their CRCs are computed once each and remembered (the CRC of a 4 KiB
/// body costs more than the rest of a record's bookkeeping together).
#[derive(Default)]
struct CrcMemo {
    /// Body length the memo holds CRCs for, once it holds any.
    len: Option<usize>,
    /// Per 64-byte start: CRC | 1 << 32 once known, 0 before.
    crcs: Vec<u64>,
    /// The previous body length, so the memo follows a workload whose
    /// size settles and is not rebuilt for every size of a range.
    last_len: usize,
}

const WINDOW_ALIGN: usize = 64;
/// How many windows [`Payload::plain`] cycles through.
const PLAIN_WINDOWS: u64 = 64;

impl CrcMemo {
    fn crc(&mut self, pool: &[u8], start: usize, len: usize) -> u32 {
        let body = &pool[start..start + len];
        if self.len != Some(len) {
            let settled = len == self.last_len;
            self.last_len = len;
            if !settled {
                return crc32fast::hash(body);
            }
            self.len = Some(len);
            self.crcs.clear();
            self.crcs.resize(POOL / WINDOW_ALIGN + 1, 0);
        }
        let slot = &mut self.crcs[start / WINDOW_ALIGN];
        if *slot == 0 {
            *slot = u64::from(crc32fast::hash(body)) | 1 << 32;
        }
        *slot as u32
    }
}

impl Payload {
    /// Seeded random bytes (incompressible).
    pub fn new(seed: u64) -> Payload {
        Payload::with_kind(seed, PayloadKind::Random)
    }

    /// Bytes of the given kind: random, zeros, or in every 4 KiB block a
    /// `fraction` of zeros followed by random bytes (a compressor saves
    /// about that fraction; a deduplicator sees no repeated blocks).
    pub fn with_kind(seed: u64, kind: PayloadKind) -> Payload {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut pool = PageAligned::zeroed(POOL);
        match kind {
            PayloadKind::Random => rng.fill_bytes(&mut pool),
            PayloadKind::Zeros => {}
            PayloadKind::Compressible(fraction) => {
                let zeros = (4096.0 * fraction.clamp(0.0, 1.0)).round() as usize;
                for block in pool.chunks_mut(4096) {
                    let random_from = zeros.min(block.len());
                    rng.fill_bytes(&mut block[random_from..]);
                }
            }
        }
        Payload {
            rng,
            pool,
            crcs: CrcMemo::default(),
        }
    }

    /// A size drawn uniformly from the range.
    pub fn size(&mut self, range: SizeRange) -> u64 {
        if range.is_fixed() {
            range.min
        } else {
            self.rng.random_range(range.min..=range.max)
        }
    }

    /// An index drawn uniformly from `0..n` (n ≥ 1).
    pub fn index(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n)
    }

    /// A fraction drawn uniformly from [0, 1).
    pub fn fraction(&mut self) -> f64 {
        self.rng.random::<f64>()
    }

    /// Appends `len` pseudo-random bytes to `out` (a window of the pool at
    /// a random offset, repeated for lengths beyond it).
    pub fn fill(&mut self, out: &mut Vec<u8>, len: usize) {
        let mut left = len;
        while left > 0 {
            let start = self.rng.random_range(0..POOL);
            let n = left.min(POOL - start);
            out.extend_from_slice(&self.pool[start..start + n]);
            left -= n;
        }
    }

    /// `len` bytes for a write nothing reads back: the pool's window at
    /// `(seq mod 64) × 64`, without a copy. Longer than that window can
    /// be: built into `out` (cleared first) as [`fill`](Self::fill) does.
    #[inline]
    pub fn plain<'a>(&'a mut self, out: &'a mut Vec<u8>, seq: u64, len: usize) -> &'a [u8] {
        let start = (seq % PLAIN_WINDOWS) as usize * WINDOW_ALIGN;
        if start + len <= POOL {
            return &self.pool[start..start + len];
        }
        out.clear();
        self.fill(out, len);
        out
    }

    /// What a worker writes for record `seq` of `len` bytes: with a
    /// verifier armed the full record, built into `out` as
    /// [`record`](Self::record) does (the same bytes for the same seed);
    /// otherwise [`plain`](Self::plain) bytes.
    #[inline]
    pub fn record_for<'a>(
        &'a mut self,
        verification: Verification,
        out: &'a mut Vec<u8>,
        thread: u32,
        seq: u64,
        len: usize,
    ) -> &'a [u8] {
        match verification {
            Verification::Armed | Verification::ArmedWithHistory => {
                self.record(out, thread, seq, len);
                out
            }
            Verification::Off => self.plain(out, seq, len),
        }
    }

    /// Builds a record of exactly `len` bytes into `out` (cleared first).
    /// Shorter than a header: raw bytes only.
    pub fn record(&mut self, out: &mut Vec<u8>, thread: u32, seq: u64, len: usize) {
        out.clear();
        if len < RECORD_HEADER {
            self.fill(out, len);
            return;
        }
        out.extend_from_slice(&record_header(thread, seq, len as u64, 0));
        let body = len - RECORD_HEADER;
        let crc = if body <= POOL {
            let start = WINDOW_ALIGN * self.rng.random_range(0..=(POOL - body) / WINDOW_ALIGN);
            out.extend_from_slice(&self.pool[start..start + body]);
            self.crcs.crc(&self.pool, start, body)
        } else {
            self.fill(out, body);
            crc32fast::hash(&out[RECORD_HEADER..])
        };
        out[20..24].copy_from_slice(&crc.to_le_bytes());
    }

    /// The bytes [`record`](Self::record) would build — the same ones, the
    /// same draws from the stream — handed to `write(offset, bytes)` in
    /// order, in pieces of at most [`CHUNK`] bytes built in `buf` (reused),
    /// so a record of any length takes a megabyte of memory. A record
    /// longer than the pool learns its CRC only at its end: its header is
    /// handed out once more, complete, at offset 0 last. An error from
    /// `write` (a cancelled run's, say) stops at once and is returned.
    pub fn write_record(
        &mut self,
        buf: &mut Vec<u8>,
        thread: u32,
        seq: u64,
        len: u64,
        mut write: impl FnMut(u64, &[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        if len <= (RECORD_HEADER + POOL) as u64 {
            // Built whole, as `record` does: at most a pool and a header.
            buf.clear();
            buf.reserve_exact(len as usize);
            self.record(buf, thread, seq, len as usize);
            let mut off = 0u64;
            for piece in buf.chunks(CHUNK) {
                write(off, piece)?;
                off += piece.len() as u64;
            }
            return Ok(());
        }
        // Longer than the pool: the body is `fill`'s windows, streamed.
        buf.clear();
        buf.reserve_exact(CHUNK);
        buf.extend_from_slice(&record_header(thread, seq, len, 0));
        let mut crc = crc32fast::Hasher::new();
        let mut off = 0u64;
        let mut left = len - RECORD_HEADER as u64;
        while left > 0 {
            let start = self.rng.random_range(0..POOL);
            let n = left.min((POOL - start) as u64) as usize;
            let mut window = &self.pool[start..start + n];
            while !window.is_empty() {
                let take = window.len().min(CHUNK - buf.len());
                crc.update(&window[..take]);
                buf.extend_from_slice(&window[..take]);
                window = &window[take..];
                if buf.len() == CHUNK {
                    write(off, buf)?;
                    off += CHUNK as u64;
                    buf.clear();
                }
            }
            left -= n as u64;
        }
        if !buf.is_empty() {
            write(off, buf)?;
        }
        write(0, &record_header(thread, seq, len, crc.finalize()))
    }

    /// Builds one log line of exactly `len` bytes (≥ LINE_HEADER + 1):
    /// `tttt ssssssssssss cccccccc <text>\n`, printable, with the CRC32 of
    /// the text.
    pub fn line(&mut self, out: &mut Vec<u8>, thread: u32, seq: u64, len: usize) {
        out.clear();
        let text_len = len.saturating_sub(LINE_HEADER + 1);
        let mut text = Vec::with_capacity(text_len);
        self.fill(&mut text, text_len);
        for b in &mut text {
            *b = LINE_ALPHABET[(*b & 63) as usize];
        }
        let crc = crc32fast::hash(&text);
        out.extend_from_slice(
            format!("{:04x} {:012x} {:08x} ", thread & 0xffff, seq, crc).as_bytes(),
        );
        out.extend_from_slice(&text);
        out.push(b'\n');
    }
}

/// Log lines for a workload nothing reads back: one printable line of the
/// longest length, drawn once from the seeded pool, whose last `len` bytes
/// are every line of `len` (text, then a newline).
pub struct PlainLines {
    /// Page-aligned: a line of the longest length (every line, for a fixed
    /// `line_size`) starts on a cache line.
    line: PageAligned,
}

impl PlainLines {
    /// Lines up to `max_len` bytes, their text taken from `payload`'s pool
    /// (no draw from its stream).
    pub fn new(payload: &Payload, max_len: usize) -> PlainLines {
        let mut line = PageAligned::zeroed(max_len.max(1));
        let (text, newline) = line.split_at_mut(max_len.max(1) - 1);
        for (t, b) in text.iter_mut().zip(payload.pool.iter().cycle()) {
            *t = LINE_ALPHABET[(*b & 63) as usize];
        }
        newline[0] = b'\n';
        PlainLines { line }
    }

    /// A line of exactly `len` bytes (1 ≤ len ≤ the longest).
    #[inline]
    pub fn line(&self, len: usize) -> &[u8] {
        &self.line[self.line.len() - len.clamp(1, self.line.len())..]
    }
}

const LINE_ALPHABET: &[u8; 64] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .";

/// A record's header: magic, thread, seq, the length's low half, CRC, the
/// length's high half, four reserved zero bytes.
fn record_header(thread: u32, seq: u64, len: u64, crc: u32) -> [u8; RECORD_HEADER] {
    let mut h = [0u8; RECORD_HEADER];
    h[..4].copy_from_slice(RECORD_MAGIC);
    h[4..8].copy_from_slice(&thread.to_le_bytes());
    h[8..16].copy_from_slice(&seq.to_le_bytes());
    h[16..20].copy_from_slice(&(len as u32).to_le_bytes());
    h[20..24].copy_from_slice(&crc.to_le_bytes());
    h[24..28].copy_from_slice(&((len >> 32) as u32).to_le_bytes());
    h
}

/// Parses a record header: (thread, seq, len, crc) when the magic matches.
/// A header from before lengths had a high half has zeros there: the same.
pub fn parse_record_header(b: &[u8]) -> Option<(u32, u64, u64, u32)> {
    if b.len() < RECORD_HEADER || &b[..4] != RECORD_MAGIC {
        return None;
    }
    let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
    let seq = u64::from_le_bytes(b[8..16].try_into().expect("8 bytes"));
    let len = u64::from(u32_at(16)) | u64::from(u32_at(24)) << 32;
    Some((u32_at(4), seq, len, u32_at(20)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_bytes_start_on_a_cache_line() {
        // A source that starts mid-line costs the kernel's copy an extra
        // line per 64 bytes (measured: 0.96× on a 4 KiB tmpfs pwrite).
        let mut p = Payload::new(3);
        let mut out = Vec::new();
        for seq in 0..200 {
            let window = p.plain(&mut out, seq, 4096).as_ptr() as usize;
            assert_eq!(window % 64, 0, "window {seq}");
        }
        let lines = PlainLines::new(&p, 256);
        assert_eq!(lines.line(256).as_ptr() as usize % 64, 0);
        assert_eq!(lines.line(256).last(), Some(&b'\n'));
    }

    #[test]
    fn same_seed_same_bytes_different_seed_different_bytes() {
        let (mut a, mut b, mut c) = (Payload::new(1), Payload::new(1), Payload::new(2));
        let (mut x, mut y, mut z) = (Vec::new(), Vec::new(), Vec::new());
        a.record(&mut x, 0, 7, 4096);
        b.record(&mut y, 0, 7, 4096);
        c.record(&mut z, 0, 7, 4096);
        assert_eq!(x, y);
        assert_ne!(x, z);
        let r = SizeRange { min: 100, max: 300 };
        let sizes_a: Vec<u64> = (0..20).map(|_| a.size(r)).collect();
        let sizes_b: Vec<u64> = (0..20).map(|_| b.size(r)).collect();
        assert_eq!(sizes_a, sizes_b);
        assert!(sizes_a.iter().all(|s| (100..=300).contains(s)));
        assert_ne!(thread_seed(1, "wal", 0), thread_seed(1, "wal", 1));
        assert_ne!(thread_seed(1, "wal", 0), thread_seed(1, "logs", 0));
    }

    #[test]
    fn payload_kinds_compress_as_promised() {
        let zero_share = |p: &mut Payload| {
            let mut buf = Vec::new();
            p.fill(&mut buf, 1 << 20);
            buf.iter().filter(|b| **b == 0).count() as f64 / buf.len() as f64
        };
        assert!(zero_share(&mut Payload::with_kind(1, PayloadKind::Random)) < 0.01);
        assert_eq!(
            zero_share(&mut Payload::with_kind(1, PayloadKind::Zeros)),
            1.0
        );
        let half = zero_share(&mut Payload::with_kind(1, PayloadKind::Compressible(0.5)));
        assert!((0.48..0.53).contains(&half), "{half}");
    }

    #[test]
    fn records_describe_themselves() {
        let mut p = Payload::new(3);
        let mut buf = Vec::new();
        p.record(&mut buf, 5, 42, 4096);
        assert_eq!(buf.len(), 4096);
        let (thread, seq, len, crc) = parse_record_header(&buf).unwrap();
        assert_eq!((thread, seq, len), (5, 42, 4096));
        assert_eq!(crc, crc32fast::hash(&buf[RECORD_HEADER..]));
        p.record(&mut buf, 5, 43, 10);
        assert_eq!(buf.len(), 10);
        // Larger than the pool still works.
        p.record(&mut buf, 5, 44, POOL * 2 + 17);
        assert_eq!(buf.len(), POOL * 2 + 17);
        let (.., crc) = parse_record_header(&buf).unwrap();
        assert_eq!(crc, crc32fast::hash(&buf[RECORD_HEADER..]));
    }

    /// Plays `write_record`'s pieces into a file image, checking their size.
    fn written(p: &mut Payload, seq: u64, len: u64) -> Vec<u8> {
        let (mut image, mut buf) = (Vec::new(), Vec::new());
        p.write_record(&mut buf, 7, seq, len, |off, bytes| {
            assert!(!bytes.is_empty() && bytes.len() <= CHUNK, "{}", bytes.len());
            let end = off as usize + bytes.len();
            if image.len() < end {
                image.resize(end, 0);
            }
            image[off as usize..end].copy_from_slice(bytes);
            Ok(())
        })
        .unwrap();
        assert!(
            buf.capacity() <= CHUNK + RECORD_HEADER,
            "{}",
            buf.capacity()
        );
        image
    }

    #[test]
    fn records_written_in_chunks_are_the_records_built_whole() {
        let lens = [
            0,
            10,
            RECORD_HEADER,
            4096,
            CHUNK,
            POOL + RECORD_HEADER,
            POOL + RECORD_HEADER + 1,
            3 * POOL + 17,
        ];
        for kind in [PayloadKind::Random, PayloadKind::Compressible(0.5)] {
            let (mut whole, mut chunked) =
                (Payload::with_kind(5, kind), Payload::with_kind(5, kind));
            let mut buf = Vec::new();
            for (seq, len) in lens.into_iter().enumerate() {
                whole.record(&mut buf, 7, seq as u64, len);
                let image = written(&mut chunked, seq as u64, len as u64);
                assert!(image == buf, "length {len}: different bytes");
                // The stream is left where `record` leaves it.
                assert_eq!(whole.index(1 << 30), chunked.index(1 << 30), "length {len}");
            }
        }
    }

    #[test]
    fn a_failing_write_stops_the_record() {
        let mut p = Payload::new(1);
        let mut calls = 0;
        let e = p
            .write_record(&mut Vec::new(), 0, 0, 10 * CHUNK as u64, |_, _| {
                calls += 1;
                if calls == 2 {
                    Err(crate::cancel::Interrupted.into())
                } else {
                    Ok(())
                }
            })
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Interrupted);
        assert_eq!(calls, 2);
    }

    #[test]
    fn lengths_past_4_gib_fit_the_header_and_old_headers_read_the_same() {
        let len = (5u64 << 30) + 3;
        let h = record_header(2, 9, len, 0xabcd);
        assert_eq!(parse_record_header(&h), Some((2, 9, len, 0xabcd)));
        // A header as written before the length had a high half.
        let mut old = Vec::new();
        old.extend_from_slice(RECORD_MAGIC);
        old.extend_from_slice(&2u32.to_le_bytes());
        old.extend_from_slice(&9u64.to_le_bytes());
        old.extend_from_slice(&4096u32.to_le_bytes());
        old.extend_from_slice(&0xabcdu32.to_le_bytes());
        old.extend_from_slice(&[0; 8]);
        assert_eq!(parse_record_header(&old), Some((2, 9, 4096, 0xabcd)));
        assert_eq!(old, record_header(2, 9, 4096, 0xabcd));
    }

    #[test]
    fn remembered_crcs_are_the_crcs() {
        let mut p = Payload::new(4);
        let mut buf = Vec::new();
        // A settled size (the memo) and a range of sizes (no memo), mixed.
        for i in 0..50_000u64 {
            let len = match i % 3 {
                // First, records that are all header: empty bodies.
                _ if i < 10 => RECORD_HEADER,
                0 => 100 + (i as usize % 777),
                _ => 4096,
            };
            p.record(&mut buf, 1, i, len);
            let (.., crc) = parse_record_header(&buf).unwrap();
            assert_eq!(crc, crc32fast::hash(&buf[RECORD_HEADER..]), "record {i}");
        }
    }

    #[test]
    fn lines_have_exact_length_and_one_newline() {
        let mut p = Payload::new(9);
        let mut buf = Vec::new();
        for len in [32usize, 120, 400] {
            p.line(&mut buf, 3, 99, len);
            assert_eq!(buf.len(), len);
            assert_eq!(buf.iter().filter(|b| **b == b'\n').count(), 1);
            assert_eq!(*buf.last().unwrap(), b'\n');
        }
        assert!(buf.starts_with(b"0003 000000000063 "));
    }
}
