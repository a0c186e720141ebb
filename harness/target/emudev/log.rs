//! The write log of an emulated device (what dm-log-writes keeps): every
//! write the device received, with its bytes, and every flush, in the
//! order received. The bytes go to a file in the scratch area as they
//! arrive; the entries stay in memory. From the log and the image as it
//! was when logging began, the device's contents can be rebuilt as of any
//! entry — the crash states of [`states`](super::states).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One request, in the order the device received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEntry {
    /// When the device received it.
    pub at: Instant,
    pub kind: LogKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    /// `len` bytes at `offset` of the image; they are at `data_at` in the
    /// log's data file.
    Write { offset: u64, len: u64, data_at: u64 },
    /// A cache flush: every write received before it is durable once it
    /// has completed.
    Flush,
}

/// The log being written, or read back.
#[derive(Debug)]
pub struct WriteLog {
    data: File,
    path: PathBuf,
    entries: Vec<LogEntry>,
    bytes: u64,
    /// Bytes of data the log may hold; past it, logging stops.
    cap: u64,
    /// When logging stopped because the log was full.
    full_at: Option<Instant>,
}

impl WriteLog {
    /// Starts a log whose data goes to a new file at `path` (which must not
    /// exist), holding at most `cap` bytes of data.
    pub fn create(path: &Path, cap: u64) -> io::Result<WriteLog> {
        let data = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(path)?;
        Ok(WriteLog {
            data,
            path: path.to_path_buf(),
            entries: Vec::new(),
            bytes: 0,
            cap,
            full_at: None,
        })
    }

    /// A write received at `at`. Once the log is full, nothing more is
    /// logged: the states end there.
    pub fn write(&mut self, at: Instant, offset: u64, data: &[u8]) -> io::Result<()> {
        if self.full_at.is_some() {
            return Ok(());
        }
        let len = data.len() as u64;
        if self.bytes + len > self.cap {
            self.full_at = Some(at);
            return Ok(());
        }
        self.data.write_all_at(data, self.bytes)?;
        self.entries.push(LogEntry {
            at,
            kind: LogKind::Write {
                offset,
                len,
                data_at: self.bytes,
            },
        });
        self.bytes += len;
        Ok(())
    }

    /// Stops logging at `at` (the log could not be written).
    pub fn stop(&mut self, at: Instant) {
        self.full_at.get_or_insert(at);
    }

    /// The last flush logged failed: it is no boundary, and the log ends
    /// before it.
    pub fn stop_before_last_flush(&mut self) {
        if let Some(i) = self.entries.iter().rposition(|e| e.kind == LogKind::Flush) {
            let at = self.entries[i].at;
            self.entries.truncate(i);
            self.full_at.get_or_insert(at);
        }
    }

    /// A flush received at `at`.
    pub fn flush(&mut self, at: Instant) {
        if self.full_at.is_none() {
            self.entries.push(LogEntry {
                at,
                kind: LogKind::Flush,
            });
        }
    }

    pub fn entries(&self) -> &[LogEntry] {
        &self.entries
    }

    /// Bytes of write data logged.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// When the log filled up and stopped, if it did.
    pub fn full_at(&self) -> Option<Instant> {
        self.full_at
    }

    /// The bytes of entry `i`, if it is a write.
    pub fn data(&self, i: usize) -> io::Result<Option<(u64, Vec<u8>)>> {
        let LogKind::Write {
            offset,
            len,
            data_at,
        } = self.entries[i].kind
        else {
            return Ok(None);
        };
        let mut buf = vec![0u8; len as usize];
        self.data.read_exact_at(&mut buf, data_at)?;
        Ok(Some((offset, buf)))
    }

    /// Writes entries `from..to` (the writes among them, in order) into
    /// `image`: the device as it stood after them, when `image` stood as
    /// before `from`.
    pub fn apply(&self, image: &File, from: usize, to: usize) -> io::Result<()> {
        for i in from..to {
            if let Some((offset, data)) = self.data(i)? {
                image.write_all_at(&data, offset)?;
            }
        }
        Ok(())
    }
}

/// Copies `from` to a new file `to`, keeping its holes (an image after
/// mkfs is mostly holes): the image as it was when logging began.
pub fn copy_sparse(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{seek, SeekFrom};
    let src = File::open(from)?;
    let dst = OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(to)?;
    let size = src.metadata()?.len();
    dst.set_len(size)?;
    let mut pos = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    while pos < size {
        let data = match seek(&src, SeekFrom::Data(pos)) {
            Ok(d) => d,
            // No data past `pos`: the rest is a hole.
            Err(rustix::io::Errno::NXIO) => break,
            Err(e) => return Err(e.into()),
        };
        let hole = seek(&src, SeekFrom::Hole(data)).map_err(io::Error::from)?;
        let mut at = data;
        while at < hole {
            let n = ((hole - at) as usize).min(buf.len());
            src.read_exact_at(&mut buf[..n], at)?;
            dst.write_all_at(&buf[..n], at)?;
            at += n as u64;
        }
        pos = hole;
    }
    dst.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_log_rebuilds_the_image_as_of_any_entry_and_stops_when_full() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let mut log = WriteLog::create(&dir.path().join("log"), 12).unwrap();
        log.write(t0, 0, b"aaaa").unwrap();
        log.flush(t0 + Duration::from_millis(1));
        log.write(t0 + Duration::from_millis(2), 2, b"bbbb")
            .unwrap();
        log.write(t0 + Duration::from_millis(3), 8, b"cccc")
            .unwrap();
        // Past the cap: not logged, and the log says when it filled.
        log.write(t0 + Duration::from_millis(4), 0, b"dddd")
            .unwrap();
        log.flush(t0 + Duration::from_millis(5));
        assert_eq!(log.entries().len(), 4);
        assert_eq!(log.bytes(), 12);
        assert_eq!(log.full_at(), Some(t0 + Duration::from_millis(4)));
        assert_eq!(log.data(1).unwrap(), None);
        assert_eq!(log.data(2).unwrap(), Some((2, b"bbbb".to_vec())));

        let image = dir.path().join("image");
        std::fs::write(&image, [b'.'; 12]).unwrap();
        let f = OpenOptions::new().write(true).open(&image).unwrap();
        log.apply(&f, 0, 2).unwrap();
        assert_eq!(std::fs::read(&image).unwrap(), b"aaaa........");
        log.apply(&f, 2, 4).unwrap();
        assert_eq!(std::fs::read(&image).unwrap(), b"aabbbb..cccc");
    }

    #[test]
    fn a_sparse_copy_keeps_data_and_holes() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let f = File::create(&a).unwrap();
        f.set_len(64 << 20).unwrap();
        f.write_all_at(b"start", 0).unwrap();
        f.write_all_at(&[7u8; 5000], 40 << 20).unwrap();
        drop(f);
        copy_sparse(&a, &b).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        use std::os::unix::fs::MetadataExt;
        // Holes stay holes (where the filesystem has them).
        let used = std::fs::metadata(&b).unwrap().blocks() * 512;
        assert!(used < 8 << 20, "{used} bytes allocated");
    }
}
