//! The daemon: a FUSE file system of one regular file, `image`, whose
//! contents are a real image file in the scratch area. A loop device
//! attached (with direct I/O) to `<mountpoint>/image` sends every request
//! of the filesystem above it here: each read and write is throttled and
//! delayed by the [`model`](super::model), then done with pread/pwrite on
//! the real image (or into the [volatile cache](super::cache)); an fsync of
//! the file — which is what the loop driver makes of a flush — persists
//! the cache and fsyncs the image.
//!
//! Requests are served concurrently: fuser runs [`SESSION_THREADS`] event
//! loops, each does its request's I/O at once and hands the reply to the
//! completer thread, which sends it when the model says. So the device's
//! queue depth is not bounded by its latency (a single thread sleeping per
//! request would cap IOPS at 1/latency).
//!
//! Safety: the daemon serves only the one image file it is given (opened
//! once, no symlink followed) at a mount point that must be an empty
//! directory. It must be mounted in the run's private mount namespace; it
//! is unmounted and its threads joined on drop.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, FopenFlags, Generation, INodeNo, InitFlags,
    KernelConfig, LockOwner, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow, WriteFlags,
};

use super::cache::{self, Backing, Extent, VolatileCache};
use super::log::WriteLog;
use super::model::{CacheModel, DeviceModel, Op, Timing};
use super::overlay::Overlay;
use crate::error::{Error, Result};

/// The one file the daemon serves.
pub const IMAGE_NAME: &str = "image";

/// fuser event loops: requests whose I/O blocks (an fsync of the image)
/// do not hold up the others.
pub const SESSION_THREADS: usize = 4;

/// Largest request the kernel sends (1 MiB, FUSE's 256-page maximum), so a
/// loop request of up to 1 MiB reaches the model as one IO.
const MAX_WRITE: u32 = 1 << 20;

/// Asynchronous requests (the loop driver's direct I/O) the kernel may
/// have outstanding at once.
const MAX_BACKGROUND: u16 = 64;

/// How often the completer looks at the cache for writes due to destage.
const DESTAGE_TICK: Duration = Duration::from_millis(20);

/// How long drop waits for the session to end after unmounting.
const JOIN_TIMEOUT: Duration = Duration::from_secs(5);

const ROOT: INodeNo = INodeNo::ROOT;
const IMAGE: INodeNo = INodeNo(2);
const TTL: Duration = Duration::from_secs(1);

/// What the device has served, as counted by the daemon.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub reads: u64,
    pub read_bytes: u64,
    pub writes: u64,
    pub write_bytes: u64,
    /// fsync requests of the image: the device's cache flushes.
    pub flushes: u64,
    /// FUSE flush requests (a close of the file; not a cache flush).
    pub closes: u64,
    /// Requests failed with EIO because power was cut.
    pub failed: u64,
    /// fallocate requests (the loop driver's discard and write-zeroes),
    /// refused with EOPNOTSUPP: the device does not emulate them yet.
    pub fallocates: u64,
    /// Unflushed bytes in the volatile cache now.
    pub cached_bytes: u64,
    /// Bytes the cache wrote back on its own (age or room).
    pub destaged_bytes: u64,
}

/// What a power loss did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerLossOutcome {
    /// Unflushed writes held at the cut.
    pub unflushed: usize,
    /// Those that reached the image anyway (`reorder: true`), in the order
    /// they were applied.
    pub survivors: Vec<Extent>,
}

#[derive(Default)]
struct AtomicCounters {
    reads: AtomicU64,
    read_bytes: AtomicU64,
    writes: AtomicU64,
    write_bytes: AtomicU64,
    flushes: AtomicU64,
    closes: AtomicU64,
    failed: AtomicU64,
    fallocates: AtomicU64,
}

/// The image behind the device, as the cache's (or an overlay's)
/// backing store.
pub struct Image<'a>(pub &'a File);

impl Backing for Image<'_> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            match self.0.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf[done..].fill(0);
        Ok(())
    }

    fn write_at(&mut self, data: &[u8], offset: u64) -> io::Result<()> {
        self.0.write_all_at(data, offset)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
}

/// What the request handlers change together.
struct State {
    powered: bool,
    timing: Timing,
    cache: Option<VolatileCache>,
    /// A crash state: writes kept in memory over the image, never in it.
    overlay: Option<Overlay>,
    /// Every write and flush received, while logging.
    log: Option<WriteLog>,
    /// Size of the served file.
    size: u64,
}

impl State {
    /// Logs a write received at `at`; a log that cannot be written stops
    /// (its states end there) rather than failing the device.
    fn log_write(&mut self, at: Instant, offset: u64, data: &[u8]) {
        if let Some(log) = self.log.as_mut() {
            if let Err(e) = log.write(at, offset, data) {
                eprintln!(
                    "wpbench: emulated device: writing its log {}: {e}; logging stops here",
                    log.path().display()
                );
                log.stop(at);
            }
        }
    }
}

/// How the device serves its image, besides its model.
#[derive(Debug, Default)]
pub enum Mode {
    /// Reads and writes go to the image (through the cache, if volatile).
    #[default]
    Plain,
    /// As `Plain`, and every write and flush goes to the log as well.
    Logged(WriteLog),
    /// A crash state: the image is only read; writes (the state's
    /// in-flight writes, given in the overlay, and what the filesystem
    /// writes on it) stay in memory and vanish with the device.
    Snapshot(Overlay),
}

/// A reply waiting for its time: called with whether the device still has
/// power (else it fails with EIO).
type Completion = Box<dyn FnOnce(bool) + Send>;

struct Pending {
    at: Instant,
    seq: u64,
    complete: Completion,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    stop: bool,
}

struct Shared {
    image: File,
    epoch: Instant,
    seed: u64,
    state: Mutex<State>,
    /// Mirrors `state.powered` for the completer.
    powered: AtomicBool,
    counters: AtomicCounters,
    queue: Mutex<Queue>,
    wake: Condvar,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Sends a reply at `at` (model time), now if that has passed.
    fn complete_at(&self, at: Duration, complete: Completion) {
        let at = self.epoch + at;
        if at <= Instant::now() {
            let powered = self.powered.load(Ordering::SeqCst);
            if !powered {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
            }
            complete(powered);
            return;
        }
        let mut q = self.queue();
        q.seq += 1;
        let seq = q.seq;
        q.heap.push(Reverse(Pending { at, seq, complete }));
        drop(q);
        self.wake.notify_one();
    }

    /// The completer thread: sends each reply at its time; after a power
    /// cut fails everything pending at once; writes back what the cache
    /// holds too long.
    fn run_completer(&self) {
        let mut q = self.queue();
        let mut last_destage = Instant::now();
        loop {
            let powered = self.powered.load(Ordering::SeqCst);
            let now = Instant::now();
            let due = q
                .heap
                .peek()
                .is_some_and(|Reverse(p)| !powered || q.stop || p.at <= now);
            if due {
                let Reverse(p) = q.heap.pop().expect("peeked");
                drop(q);
                if !powered {
                    self.counters.failed.fetch_add(1, Ordering::Relaxed);
                }
                (p.complete)(powered);
                q = self.queue();
                continue;
            }
            if q.stop && q.heap.is_empty() {
                return;
            }
            if now >= last_destage + DESTAGE_TICK {
                drop(q);
                self.destage();
                last_destage = Instant::now();
                q = self.queue();
                continue;
            }
            let mut wait = last_destage + DESTAGE_TICK - now;
            if let Some(Reverse(p)) = q.heap.peek() {
                wait = wait.min(p.at.saturating_duration_since(now));
            }
            q = self
                .wake
                .wait_timeout(q, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn destage(&self) {
        let now = self.now();
        let mut st = self.state();
        if !st.powered {
            return;
        }
        if let Some(c) = st.cache.as_mut() {
            if let Err(e) = c.destage(&mut Image(&self.image), now) {
                eprintln!("wpbench: emulated device: destaging to the image: {e}");
            }
        }
    }

    fn attr(&self, ino: INodeNo, size: u64) -> FileAttr {
        let dir = ino == ROOT;
        FileAttr {
            ino,
            size: if dir { 0 } else { size },
            blocks: if dir { 0 } else { size.div_ceil(512) },
            atime: SystemTime::UNIX_EPOCH,
            mtime: SystemTime::UNIX_EPOCH,
            ctime: SystemTime::UNIX_EPOCH,
            crtime: SystemTime::UNIX_EPOCH,
            kind: if dir {
                FileType::Directory
            } else {
                FileType::RegularFile
            },
            perm: if dir { 0o700 } else { 0o600 },
            nlink: if dir { 2 } else { 1 },
            uid: rustix::process::geteuid().as_raw(),
            gid: rustix::process::getegid().as_raw(),
            rdev: 0,
            blksize: 4096,
            flags: 0,
        }
    }

    fn size(&self) -> u64 {
        self.state().size
    }
}

/// The FUSE file system: the handlers.
struct ImageFs(Arc<Shared>);

impl fuser::Filesystem for ImageFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> io::Result<()> {
        // Direct I/O from the loop driver is asynchronous: let the kernel
        // send it as concurrent requests rather than one at a time.
        if config.capabilities().contains(InitFlags::FUSE_ASYNC_DIO) {
            let _ = config.add_capabilities(InitFlags::FUSE_ASYNC_DIO);
        }
        let _ = config.set_max_write(MAX_WRITE);
        let _ = config.set_max_background(MAX_BACKGROUND);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        if parent == ROOT && name == IMAGE_NAME {
            reply.entry(&TTL, &self.0.attr(IMAGE, self.0.size()), Generation(0));
        } else {
            reply.error(Errno::ENOENT);
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match ino {
            ROOT | IMAGE => reply.attr(&TTL, &self.0.attr(ino, self.0.size())),
            _ => reply.error(Errno::ENOENT),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        if ino != IMAGE {
            return reply.error(if ino == ROOT {
                Errno::EPERM
            } else {
                Errno::ENOENT
            });
        }
        // Only the size changes; modes, owners and times are fixed.
        let mut st = self.0.state();
        if let Some(size) = size {
            if !st.powered {
                return reply.error(Errno::EIO);
            }
            if st.overlay.is_some() {
                // A crash state's image is only read.
                return reply.error(Errno::EPERM);
            }
            if let Err(e) = self.0.image.set_len(size) {
                return reply.error(errno(&e));
            }
            st.size = size;
        }
        let size = st.size;
        drop(st);
        reply.attr(&TTL, &self.0.attr(IMAGE, size));
    }

    fn open(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        if ino != IMAGE {
            return reply.error(Errno::EISDIR);
        }
        // Every read and write reaches the daemon: no page cache in between.
        reply.opened(
            FileHandle(0),
            FopenFlags::FOPEN_DIRECT_IO | FopenFlags::FOPEN_PARALLEL_DIRECT_WRITES,
        );
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        if ino != IMAGE {
            return reply.error(Errno::EISDIR);
        }
        let sh = &self.0;
        let now = sh.now();
        let mut st = sh.state();
        if !st.powered {
            drop(st);
            sh.counters.failed.fetch_add(1, Ordering::Relaxed);
            return reply.error(Errno::EIO);
        }
        let len = u64::from(size).min(st.size.saturating_sub(offset));
        let mut buf = vec![0u8; len as usize];
        let image = Image(&sh.image);
        let done = match (st.overlay.as_ref(), st.cache.as_ref()) {
            (Some(o), _) => o.read(&image, offset, &mut buf),
            (None, Some(c)) => c.read(&image, offset, &mut buf),
            (None, None) => image.read_at(&mut buf, offset),
        };
        if let Err(e) = done {
            drop(st);
            return reply.error(errno(&e));
        }
        let at = st.timing.complete_at(now, Op::Read(len));
        drop(st);
        sh.counters.reads.fetch_add(1, Ordering::Relaxed);
        sh.counters.read_bytes.fetch_add(len, Ordering::Relaxed);
        sh.complete_at(
            at,
            Box::new(move |ok| {
                if ok {
                    reply.data(&buf)
                } else {
                    reply.error(Errno::EIO)
                }
            }),
        );
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        if ino != IMAGE {
            return reply.error(Errno::EISDIR);
        }
        let sh = &self.0;
        let now = sh.now();
        let len = data.len() as u64;
        let mut st = sh.state();
        if !st.powered {
            drop(st);
            sh.counters.failed.fetch_add(1, Ordering::Relaxed);
            return reply.error(Errno::EIO);
        }
        let mut image = Image(&sh.image);
        let state = &mut *st;
        let done = match (state.overlay.as_mut(), state.cache.as_mut()) {
            (Some(o), _) => o.write(&image, offset, data),
            (None, Some(c)) => c.write(&mut image, now, offset, data),
            (None, None) => image.write_at(data, offset),
        };
        if let Err(e) = done {
            drop(st);
            return reply.error(errno(&e));
        }
        // Stamped under the lock: the log's times follow its order.
        st.log_write(Instant::now(), offset, data);
        st.size = st.size.max(offset + len);
        let at = st.timing.complete_at(now, Op::Write(len));
        drop(st);
        sh.counters.writes.fetch_add(1, Ordering::Relaxed);
        sh.counters.write_bytes.fetch_add(len, Ordering::Relaxed);
        sh.complete_at(
            at,
            Box::new(move |ok| {
                if ok {
                    reply.written(len as u32)
                } else {
                    reply.error(Errno::EIO)
                }
            }),
        );
    }

    /// A close of the file, not a cache flush: nothing to persist.
    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        self.0.counters.closes.fetch_add(1, Ordering::Relaxed);
        reply.ok();
    }

    /// The device's cache flush: persist the cache, fsync the image.
    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        if ino != IMAGE {
            return reply.ok();
        }
        let sh = &self.0;
        let now = sh.now();
        let mut st = sh.state();
        if !st.powered {
            drop(st);
            sh.counters.failed.fetch_add(1, Ordering::Relaxed);
            return reply.error(Errno::EIO);
        }
        // A crash state's writes stay in memory: nothing to persist.
        let snapshot = st.overlay.is_some();
        if let (Some(c), false) = (st.cache.as_mut(), snapshot) {
            // In write order, into the image; the fsync below makes it durable.
            if let Err(e) = c.write_back(&mut Image(&sh.image)) {
                if let Some(log) = st.log.as_mut() {
                    log.stop(Instant::now());
                }
                drop(st);
                return reply.error(errno(&e));
            }
        }
        if let Some(log) = st.log.as_mut() {
            log.flush(Instant::now());
        }
        let at = st.timing.complete_at(now, Op::Flush);
        drop(st);
        sh.counters.flushes.fetch_add(1, Ordering::Relaxed);
        if !snapshot {
            if let Err(e) = sh.image.sync_data() {
                // The flush failed: the log's boundaries end before it.
                if let Some(log) = sh.state().log.as_mut() {
                    log.stop_before_last_flush();
                }
                return reply.error(errno(&e));
            }
        }
        sh.complete_at(
            at,
            Box::new(move |ok| {
                if ok {
                    reply.ok()
                } else {
                    reply.error(Errno::EIO)
                }
            }),
        );
    }

    /// Discard and write-zeroes from the loop driver: refused, and
    /// counted. (EOPNOTSUPP rather than ENOSYS, so the kernel keeps
    /// asking and each one is counted.)
    fn fallocate(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _offset: u64,
        _length: u64,
        _mode: i32,
        reply: ReplyEmpty,
    ) {
        self.0.counters.fallocates.fetch_add(1, Ordering::Relaxed);
        reply.error(Errno::EOPNOTSUPP);
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        if ino != ROOT {
            return reply.error(Errno::ENOTDIR);
        }
        let entries = [
            (ROOT, FileType::Directory, "."),
            (ROOT, FileType::Directory, ".."),
            (IMAGE, FileType::RegularFile, IMAGE_NAME),
        ];
        for (i, (ino, kind, name)) in entries.iter().enumerate().skip(offset as usize) {
            if reply.add(*ino, i as u64 + 1, *kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let blocks = self.0.size().div_ceil(4096);
        reply.statfs(blocks, 0, 0, 2, 0, 4096, 255, 4096);
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }
}

/// The device's FUSE file system's name in mountinfo (its source).
const FS_NAME: &str = "wpbench-emudev";

/// The prefix of the files that name a run's live FUSE connections (see
/// [`EmulatedDevice::start_with`]).
pub const CONNECTION_FILE: &str = "fuse-connection-";

fn errno(e: &io::Error) -> Errno {
    Errno::from_i32(e.raw_os_error().unwrap_or(libc::EIO))
}

/// A running emulated device: `<mountpoint>/image` is the device. Drop
/// unmounts it and joins its threads; drop the loop device and the
/// mounts on it first.
pub struct EmulatedDevice {
    shared: Arc<Shared>,
    mountpoint: PathBuf,
    session: Option<JoinHandle<io::Result<()>>>,
    completer: Option<JoinHandle<()>>,
    /// The file naming this device's FUSE connection while it lives.
    connection_file: Option<PathBuf>,
}

impl std::fmt::Debug for EmulatedDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatedDevice")
            .field("mountpoint", &self.mountpoint)
            .finish_non_exhaustive()
    }
}

impl EmulatedDevice {
    /// Serves `image` (an existing regular file; not a symlink) as
    /// `<mountpoint>/image`, behaving as `model` says with draws from
    /// `seed`. `mountpoint` must be an empty directory. Call it in the
    /// run's private mount namespace.
    pub fn start(
        image: &Path,
        mountpoint: &Path,
        model: DeviceModel,
        seed: u64,
    ) -> Result<EmulatedDevice> {
        EmulatedDevice::start_with(image, mountpoint, model, seed, Mode::Plain, None)
    }

    /// As [`start`](Self::start), serving the image as `mode` says: plain,
    /// logged, or as a crash state (the image opened read-only). With
    /// `connections`, a file `fuse-connection-<N>` there names the device's
    /// FUSE connection while it lives: if the run is killed while one of
    /// its threads waits on the device (whose daemon died with it), the
    /// guardian aborts exactly these connections, so the run can exit.
    pub fn start_with(
        image: &Path,
        mountpoint: &Path,
        model: DeviceModel,
        seed: u64,
        mode: Mode,
        connections: Option<&Path>,
    ) -> Result<EmulatedDevice> {
        let (log, overlay) = match mode {
            Mode::Plain => (None, None),
            Mode::Logged(log) => (Some(log), None),
            Mode::Snapshot(overlay) => (None, Some(overlay)),
        };
        let file = OpenOptions::new()
            .read(true)
            .write(overlay.is_none())
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(image)
            .map_err(|e| {
                Error::run_io(format!("emulated device: opening {}", image.display()), e)
            })?;
        let meta = file
            .metadata()
            .map_err(|e| Error::run_io(format!("emulated device: stat {}", image.display()), e))?;
        if !meta.is_file() {
            return Err(Error::Run(format!(
                "emulated device: {} is not a regular file",
                image.display()
            )));
        }
        let empty_dir = std::fs::symlink_metadata(mountpoint).is_ok_and(|m| m.is_dir())
            && std::fs::read_dir(mountpoint).is_ok_and(|mut d| d.next().is_none());
        if !empty_dir {
            return Err(Error::Run(format!(
                "emulated device: the mount point {} is not an empty directory",
                mountpoint.display()
            )));
        }
        let cache = match model.cache {
            CacheModel::WriteThrough => None,
            CacheModel::Volatile {
                size,
                destage_after,
            } => Some(VolatileCache::new(size, destage_after)),
        };
        let shared = Arc::new(Shared {
            image: file,
            epoch: Instant::now(),
            seed,
            state: Mutex::new(State {
                powered: true,
                timing: Timing::new(&model, seed),
                cache,
                overlay,
                log,
                size: meta.len(),
            }),
            powered: AtomicBool::new(true),
            counters: AtomicCounters::default(),
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
        });

        let mut config = fuser::Config::default();
        config.mount_options = vec![
            fuser::MountOption::FSName(FS_NAME.into()),
            fuser::MountOption::Subtype("wpbench-emudev".into()),
            fuser::MountOption::NoDev,
            fuser::MountOption::NoSuid,
            fuser::MountOption::NoExec,
            fuser::MountOption::NoAtime,
        ];
        config.n_threads = Some(SESSION_THREADS);
        config.clone_fd = true;
        let session =
            fuser::Session::new(ImageFs(shared.clone()), mountpoint, &config).map_err(|e| {
                let text = format!(
                    "emulated device: mounting its FUSE file system at {}: {e}",
                    mountpoint.display()
                );
                match e.kind() {
                    io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied => {
                        Error::Environment(format!("{text}; it needs root and /dev/fuse"))
                    }
                    _ => Error::Run(text),
                }
            })?;
        // From here on, the device is mounted: `dev`'s drop undoes it.
        let mut dev = EmulatedDevice {
            shared: shared.clone(),
            mountpoint: mountpoint.to_path_buf(),
            session: None,
            completer: None,
            connection_file: None,
        };
        let completer_shared = shared.clone();
        dev.completer = Some(
            std::thread::Builder::new()
                .name("emudev-completer".into())
                .spawn(move || completer_shared.run_completer())
                .map_err(|e| Error::run_io("emulated device: starting its completer", e))?,
        );
        dev.session = Some(
            std::thread::Builder::new()
                .name("emudev-session".into())
                .spawn(move || session.run())
                .map_err(|e| Error::run_io("emulated device: starting its session", e))?,
        );
        if let Some(dir) = connections {
            // A FUSE connection is named by its device number (major 0);
            // the stat is served by the session, so only now.
            let st = rustix::fs::stat(mountpoint)
                .map_err(|e| Error::run_io("emulated device: stat of its mount point", e.into()))?;
            let file = dir.join(format!("{CONNECTION_FILE}{}", rustix::fs::minor(st.st_dev)));
            std::fs::write(&file, b"")
                .map_err(|e| Error::run_io(format!("writing {}", file.display()), e))?;
            dev.connection_file = Some(file);
        }
        Ok(dev)
    }

    /// `<mountpoint>/image`: attach the loop device to this.
    pub fn image_path(&self) -> PathBuf {
        self.mountpoint.join(IMAGE_NAME)
    }

    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    pub fn counters(&self) -> Counters {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let st = self.shared.state();
        let (cached_bytes, destaged_bytes) = st
            .cache
            .as_ref()
            .map(|c| (c.bytes(), c.stats().destaged_bytes))
            .unwrap_or_default();
        Counters {
            reads: get(&c.reads),
            read_bytes: get(&c.read_bytes),
            writes: get(&c.writes),
            write_bytes: get(&c.write_bytes),
            flushes: get(&c.flushes),
            closes: get(&c.closes),
            failed: get(&c.failed),
            fallocates: get(&c.fallocates),
            cached_bytes,
            destaged_bytes,
        }
    }

    /// Cuts power: from now on every request (and every reply still
    /// waiting for its time) fails with EIO; the unflushed writes are
    /// dropped — all of them, or with `reorder` a subset drawn from the
    /// device's seed, applied to the image in a seeded order; the image is
    /// then synced. What the image holds afterwards is what survived.
    pub fn power_loss(&self, reorder: bool) -> Result<PowerLossOutcome> {
        let sh = &self.shared;
        let mut st = sh.state();
        if !st.powered {
            return Err(Error::Run("emulated device: power is already off".into()));
        }
        st.powered = false;
        sh.powered.store(false, Ordering::SeqCst);
        let (unflushed, survivors) = match st.cache.as_mut() {
            Some(c) => (c.len(), c.power_loss(sh.seed, reorder)),
            None => (0, Vec::new()),
        };
        let applied = cache::apply(&mut Image(&sh.image), &survivors);
        drop(st);
        sh.wake.notify_all();
        applied.map_err(|e| {
            Error::run_io("emulated device: writing the survivors of a power loss", e)
        })?;
        Ok(PowerLossOutcome {
            unflushed,
            survivors,
        })
    }

    /// Stops logging and hands the log over (None when the device was not
    /// started logged, or its log was taken already).
    pub fn take_log(&self) -> Option<WriteLog> {
        self.shared.state().log.take()
    }

    /// Whether power is on.
    pub fn powered(&self) -> bool {
        self.shared.powered.load(Ordering::SeqCst)
    }
}

impl Drop for EmulatedDevice {
    fn drop(&mut self) {
        let sh = &self.shared;
        // A clean shutdown writes the cache back, as a disk does when it
        // is told to stop; after a power cut there is nothing left.
        {
            let mut st = sh.state();
            if st.powered && st.overlay.is_none() {
                if let Some(c) = st.cache.as_mut() {
                    if let Err(e) = c.flush(&mut Image(&sh.image)) {
                        eprintln!("wpbench: emulated device: writing its cache back: {e}");
                    }
                }
            }
        }
        if let Err(e) = crate::target::unmount(&self.mountpoint) {
            eprintln!(
                "wpbench: emulated device: unmounting {}: {e}",
                self.mountpoint.display()
            );
        }
        let mut ended = true;
        if let Some(session) = self.session.take() {
            // The session ends when the kernel ends the connection: at
            // once, unless something (a loop device) still holds the file.
            let deadline = Instant::now() + JOIN_TIMEOUT;
            while !session.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            ended = session.is_finished();
            if ended {
                match session.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => eprintln!("wpbench: emulated device: its session ended with {e}"),
                    Err(_) => eprintln!("wpbench: emulated device: its session panicked"),
                }
            } else {
                eprintln!(
                    "wpbench: emulated device at {}: the session is still serving after the \
                     unmount (is a loop device still attached to it?); left to end with it",
                    self.mountpoint.display()
                );
            }
        }
        sh.queue().stop = true;
        sh.wake.notify_all();
        if let Some(c) = self.completer.take() {
            let _ = c.join();
        }
        // Only once the connection is gone (its session ended): a file
        // left names a connection that may still be ours.
        if let (true, Some(f)) = (ended, self.connection_file.take()) {
            let _ = std::fs::remove_file(f);
        }
    }
}
