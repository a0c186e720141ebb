//! The noisy-neighbour fault: another tenant writing to the same device as
//! the target, at a paced rate, while the cell runs.
//!
//! One background thread writes `write_bps` into one file of `file_size`
//! (sequentially, wrapping to the start; or at seeded random block-aligned
//! offsets), in chunks of 4 KiB..1 MiB (about 50 writes a second), and
//! fsyncs after every `fsync_every` bytes. The pacing is a token bucket
//! one chunk deep: it never runs ahead of `write_bps × elapsed` by more
//! than one chunk, and after a stall (a slow fsync) it catches up at once.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::timeline::TimedEvent;

pub use crate::scenario::{NoisyPattern, NoisySpec};

/// Chunks and random offsets are multiples of this.
pub const BLOCK: usize = NoisySpec::BLOCK;
const MAX_CHUNK: usize = 1 << 20;
/// Chunks per second the pacing aims at (before clamping to 4 KiB..1 MiB).
const CHUNKS_PER_SEC: u64 = 50;
/// The longest the writer sleeps before looking at the stop flag again.
const MAX_NAP: Duration = Duration::from_millis(5);
/// The neighbour's file inside the caller's directory.
pub const FILE_NAME: &str = "wpbench-neighbor.dat";

/// A noisy_neighbor fault's entry in result.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoisyOutcome {
    pub outcome: String,
    /// Absent when the target had no device to share.
    #[serde(flatten)]
    pub applied: Option<NoisyApplied>,
}

/// A neighbour that ran beside the cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoisyApplied {
    pub neighbor: NeighborReport,
    pub timeline: Vec<TimedEvent>,
}

/// What a neighbour did, for the cell's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NeighborReport {
    /// The rate asked for, bytes/s.
    pub write_bps: u64,
    pub bytes_written: u64,
    pub fsyncs: u64,
    /// bytes_written / elapsed_s.
    pub achieved_bps: f64,
    pub elapsed_s: f64,
    /// The first write or fsync error; the neighbour stopped there.
    pub error: Option<String>,
}

/// The write size for a rate and file: about 1/50 s of writing, a multiple
/// of 4 KiB within 4 KiB..1 MiB, and never more than the file.
pub fn chunk_size(write_bps: u64, file_size: u64) -> usize {
    let want = (write_bps / CHUNKS_PER_SEC) as usize / BLOCK * BLOCK;
    let file_cap = (file_size as usize / BLOCK * BLOCK).max(BLOCK);
    want.clamp(BLOCK, MAX_CHUNK).min(file_cap)
}

/// A background writer thread on `dir` (a directory on the same device as
/// the target, which the caller creates and removes). Its file is
/// `dir/wpbench-neighbor.dat`, unlinked when the neighbour stops.
pub struct Neighbor {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<NeighborReport>>,
    file: PathBuf,
}

impl Neighbor {
    /// Creates the file and starts writing. Fails on a zero rate, a
    /// `file_size` below 4 KiB, or when the file cannot be created.
    pub fn start(dir: &Path, spec: &NoisySpec, seed: u64) -> io::Result<Neighbor> {
        if spec.write_bps == 0 || spec.file_size < BLOCK as u64 || spec.fsync_every == Some(0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "noisy neighbour needs write_bps ≥ 1, file_size ≥ {BLOCK} B and fsync_every ≥ 1 B: {spec:?}"
                ),
            ));
        }
        let path = dir.join(FILE_NAME);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(&path)?;
        let stop = Arc::new(AtomicBool::new(false));
        let writer = Writer {
            file,
            path: path.clone(),
            spec: *spec,
            rng: ChaCha8Rng::seed_from_u64(seed),
            stop: Arc::clone(&stop),
        };
        let handle = std::thread::Builder::new()
            .name("wpbench-neighbor".into())
            .spawn(move || writer.run());
        let handle = match handle {
            Ok(h) => h,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
        };
        Ok(Neighbor {
            stop,
            handle: Some(handle),
            file: path,
        })
    }

    /// The neighbour's file (it exists until `stop`).
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Stops, joins, returns what it did: bytes written, fsyncs, achieved
    /// bytes/s, elapsed.
    pub fn stop(mut self) -> NeighborReport {
        self.halt().expect("a neighbour is joined only once")
    }

    fn halt(&mut self) -> Option<NeighborReport> {
        self.stop.store(true, Ordering::Release);
        let h = self.handle.take()?;
        Some(h.join().unwrap_or_else(|_| NeighborReport {
            write_bps: 0,
            bytes_written: 0,
            fsyncs: 0,
            achieved_bps: 0.0,
            elapsed_s: 0.0,
            error: Some("the neighbour thread panicked".into()),
        }))
    }
}

impl Drop for Neighbor {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}

struct Writer {
    file: File,
    path: PathBuf,
    spec: NoisySpec,
    rng: ChaCha8Rng,
    stop: Arc<AtomicBool>,
}

impl Writer {
    fn run(mut self) -> NeighborReport {
        let chunk = chunk_size(self.spec.write_bps, self.spec.file_size);
        let mut buf = vec![0u8; chunk];
        self.rng.fill_bytes(&mut buf);
        let blocks = (self.spec.file_size - chunk as u64) / BLOCK as u64;
        let bps = self.spec.write_bps as f64;
        let (mut written, mut fsyncs, mut since_sync, mut offset) = (0u64, 0u64, 0u64, 0u64);
        let mut error = None;
        let start = Instant::now();
        while !self.stop.load(Ordering::Acquire) {
            // Due: the bytes the rate allows by now, one chunk ahead.
            let due_at = written as f64 / bps;
            let now = start.elapsed().as_secs_f64();
            if now < due_at {
                let nap = Duration::from_secs_f64(due_at - now).min(MAX_NAP);
                std::thread::sleep(nap);
                continue;
            }
            let at = match self.spec.pattern {
                NoisyPattern::Seq => {
                    if offset + chunk as u64 > self.spec.file_size {
                        offset = 0;
                    }
                    let at = offset;
                    offset += chunk as u64;
                    at
                }
                NoisyPattern::Random => self.rng.random_range(0..=blocks) * BLOCK as u64,
            };
            if let Err(e) = self.file.write_all_at(&buf, at) {
                error = Some(format!("write at {at}: {e}"));
                break;
            }
            written += chunk as u64;
            since_sync += chunk as u64;
            if let Some(every) = self.spec.fsync_every {
                if since_sync >= every {
                    if let Err(e) = self.file.sync_all() {
                        error = Some(format!("fsync: {e}"));
                        break;
                    }
                    fsyncs += 1;
                    since_sync = 0;
                }
            }
        }
        let elapsed = start.elapsed().as_secs_f64();
        let _ = std::fs::remove_file(&self.path);
        NeighborReport {
            write_bps: self.spec.write_bps,
            bytes_written: written,
            fsyncs,
            achieved_bps: if elapsed > 0.0 {
                written as f64 / elapsed
            } else {
                0.0
            },
            elapsed_s: elapsed,
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    const MIB: u64 = 1 << 20;

    fn disk_tempdir() -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix("wpbench-test-")
            .tempdir_in("/var/tmp")
            .expect("creating a tempdir in /var/tmp")
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(chunk_size(1, 1 << 30), BLOCK);
        assert_eq!(chunk_size(8 * MIB, 1 << 30), 163_840);
        assert_eq!(chunk_size(10_000 * MIB, 1 << 30), MAX_CHUNK);
        assert_eq!(chunk_size(10_000 * MIB, 3 * BLOCK as u64 + 7), 3 * BLOCK);
        assert_eq!(chunk_size(8 * MIB, 1 << 30) % BLOCK, 0);
    }

    #[test]
    fn paced_at_the_rate_and_wraps_in_its_file() {
        let dir = disk_tempdir();
        let spec = NoisySpec {
            write_bps: 8 * MIB,
            fsync_every: Some(MIB),
            pattern: NoisyPattern::Seq,
            file_size: 4 * MIB,
        };
        let n = Neighbor::start(dir.path(), &spec, 42).unwrap();
        std::thread::sleep(Duration::from_secs(1));
        let meta = std::fs::metadata(n.file()).unwrap();
        let file = n.file().to_path_buf();
        let t = Instant::now();
        let r = n.stop();
        let stop_took = t.elapsed();
        assert!(
            stop_took < Duration::from_millis(200),
            "stop took {stop_took:?}"
        );
        let mibs = r.achieved_bps / MIB as f64;
        assert!(
            (7.0..=9.0).contains(&mibs),
            "achieved {mibs:.2} MiB/s: {r:?}"
        );
        assert!(meta.len() <= spec.file_size, "file grew to {}", meta.len());
        assert!(
            meta.blocks() * 512 <= spec.file_size,
            "{} bytes on disk",
            meta.blocks() * 512
        );
        assert!(r.bytes_written > spec.file_size, "did not wrap: {r:?}");
        assert!(r.fsyncs >= 6, "{r:?}");
        assert!(r.error.is_none(), "{r:?}");
        assert!(!file.exists(), "the neighbour's file is left");
    }

    #[test]
    fn random_offsets_stay_in_the_file_and_drop_joins() {
        let dir = disk_tempdir();
        let spec = NoisySpec {
            write_bps: 16 * MIB,
            fsync_every: None,
            pattern: NoisyPattern::Random,
            file_size: 2 * MIB + 4096,
        };
        let n = Neighbor::start(dir.path(), &spec, 7).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let meta = std::fs::metadata(n.file()).unwrap();
        assert!(meta.len() <= spec.file_size, "file grew to {}", meta.len());
        let file = n.file().to_path_buf();
        drop(n);
        assert!(!file.exists());
        let bad = NoisySpec {
            write_bps: 0,
            ..spec
        };
        assert!(Neighbor::start(dir.path(), &bad, 7).is_err());
    }
}
