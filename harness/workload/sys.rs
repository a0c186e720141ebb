//! Timed syscalls: each records its latency under its own op, or its errno.
//!
//! Paths are always relative to a directory descriptor the workload opened
//! inside its target, and final components are opened with O_NOFOLLOW, so
//! a workload never follows a symlink out of its scratch directory.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};

use rustix::fs::{AtFlags, Mode, OFlags, Timespec, Timestamps};

use super::payload::Payload;
use crate::cancel::Cancel;
use crate::record::{Op, Recorder};

fn io_err(e: rustix::io::Errno) -> io::Error {
    e.into()
}

/// Opens a directory under `dir` (or `dir` itself with ".").
pub fn open_dir(dir: BorrowedFd, name: &CStr) -> io::Result<OwnedFd> {
    if null_kernel::on() {
        return null_kernel::fd();
    }
    rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        Mode::empty(),
    )
    .map_err(io_err)
}

/// Opens `path` as the workload's root directory.
pub fn open_root(path: &std::path::Path) -> io::Result<OwnedFd> {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io_err)
}

/// Creates thread `thread`'s own directory `tNN` under `root` (setup, not
/// measured) and opens it.
pub fn thread_dir(root: &std::path::Path, thread: u32) -> io::Result<OwnedFd> {
    let root_fd = open_root(root)?;
    let name = std::ffi::CString::new(format!("t{thread:02}")).expect("no NUL");
    rustix::fs::mkdirat(&root_fd, name.as_c_str(), Mode::from_raw_mode(0o755))?;
    open_dir(root_fd.as_fd(), &name)
}

/// Setup, not measured: creates `name` under `dir` (O_EXCL, never
/// following a symlink) for writing.
pub fn create_new(dir: BorrowedFd, name: &CStr) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        dir,
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        Mode::from_raw_mode(0o644),
    )?)
}

/// Setup, not measured: creates `name` under `dir` (O_EXCL, never
/// following a symlink) holding `bytes`.
pub fn write_new_file(dir: BorrowedFd, name: &CStr, bytes: &[u8]) -> io::Result<()> {
    let fd = create_new(dir, name)?;
    let mut off = 0;
    while off < bytes.len() {
        off += rustix::io::write(&fd, &bytes[off..])?;
    }
    Ok(())
}

/// Setup, not measured: writes record `seq` of `len` bytes from `payload`
/// into `fd` from offset 0 — a megabyte at a time through `buf`, polling
/// `cancel` before each piece — so a file of any size takes a megabyte of
/// memory and a signal stops it within one piece's write.
pub fn write_record_file(
    fd: BorrowedFd,
    payload: &mut Payload,
    buf: &mut Vec<u8>,
    thread: u32,
    seq: u64,
    len: u64,
    cancel: &Cancel,
) -> io::Result<()> {
    payload.write_record(buf, thread, seq, len, |mut off, mut bytes| {
        cancel.check()?;
        while !bytes.is_empty() {
            let n = rustix::io::pwrite(fd, bytes, off)?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            bytes = &bytes[n..];
            off += n as u64;
        }
        Ok(())
    })
}

/// Setup, not measured: creates (or truncates) `path` and writes record
/// `seq` of `len` bytes into it as [`write_record_file`] does (a megabyte
/// at a time, `cancel` polled between pieces); the file, for callers that
/// set its times. Lower layers and copy-up sources are made this way.
pub fn record_file(
    path: &std::path::Path,
    payload: &mut Payload,
    buf: &mut Vec<u8>,
    seq: u64,
    len: u64,
    cancel: &Cancel,
) -> io::Result<std::fs::File> {
    let file = std::fs::File::options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    write_record_file(file.as_fd(), payload, buf, u32::MAX, seq, len, cancel)?;
    Ok(file)
}

/// The null kernel, for benchmarking wpbench's own per-op cost (the
/// `workload step` benches): while it is on, this thread's timed syscalls
/// are timed and recorded as usual but return at once without entering
/// the kernel. Descriptors come from a per-thread pool of /dev/null
/// descriptors that `close` refills, so a steady state makes no syscall.
/// Off (the only state `wpbench run` knows), each timed call pays one
/// thread-local load.
pub mod null_kernel {
    use std::cell::{Cell, RefCell};
    use std::io;
    use std::os::fd::OwnedFd;

    thread_local! {
        static ON: Cell<bool> = const { Cell::new(false) };
        static POOL: RefCell<Vec<OwnedFd>> = const { RefCell::new(Vec::new()) };
    }

    /// Runs `f` with this thread's timed syscalls replaced by no-ops.
    pub fn with<R>(f: impl FnOnce() -> R) -> R {
        struct Off;
        impl Drop for Off {
            fn drop(&mut self) {
                ON.with(|on| on.set(false));
                POOL.with(|p| p.borrow_mut().clear());
            }
        }
        ON.with(|on| on.set(true));
        let _off = Off;
        f()
    }

    #[inline(always)]
    pub(super) fn on() -> bool {
        ON.with(Cell::get)
    }

    /// A descriptor standing in for an opened file.
    pub(super) fn fd() -> io::Result<OwnedFd> {
        match POOL.with(|p| p.borrow_mut().pop()) {
            Some(fd) => Ok(fd),
            None => Ok(std::fs::File::open("/dev/null")?.into()),
        }
    }

    pub(super) fn close(fd: OwnedFd) {
        POOL.with(|p| p.borrow_mut().push(fd));
    }
}

/// Times one syscall under `op`: `real` normally, `null` under the null
/// kernel.
#[inline(always)]
fn call<T>(
    rec: &mut Recorder,
    op: Op,
    real: impl FnOnce() -> io::Result<T>,
    null: impl FnOnce() -> io::Result<T>,
) -> io::Result<T> {
    if null_kernel::on() {
        rec.time(op, null)
    } else {
        rec.time(op, real)
    }
}

/// Setup, not measured: opens an existing `name` under `dir` for appending
/// (never following a symlink).
pub fn open_append(dir: BorrowedFd, name: &CStr, extra: OFlags) -> io::Result<OwnedFd> {
    rustix::fs::openat(
        dir,
        name,
        OFlags::WRONLY | OFlags::APPEND | OFlags::CLOEXEC | OFlags::NOFOLLOW | extra,
        Mode::empty(),
    )
    .map_err(io_err)
}

/// Makes room for `needed` open files: raises the soft RLIMIT_NOFILE (up
/// to the hard limit) when it is lower. The error says what stood in the way.
pub fn ensure_open_files(needed: u64) -> Result<(), String> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    match lim.current {
        Some(soft) if soft < needed => {}
        _ => return Ok(()), // enough, or no limit
    }
    if let Some(hard) = lim.maximum.filter(|&hard| hard < needed) {
        return Err(format!(
            "the hard limit on open files (RLIMIT_NOFILE) is {hard}"
        ));
    }
    let raised = Rlimit {
        current: Some(needed),
        maximum: lim.maximum,
    };
    setrlimit(Resource::Nofile, raised).map_err(|e| {
        format!("the limit on open files (RLIMIT_NOFILE) could not be raised to {needed}: {e}")
    })
}

/// Creates a new file (O_EXCL: never reuses one) for writing.
pub fn create(
    rec: &mut Recorder,
    dir: BorrowedFd,
    name: &CStr,
    extra: OFlags,
) -> io::Result<OwnedFd> {
    create_as(rec, dir, name, OFlags::WRONLY | extra)
}

/// Creates a new file (O_EXCL) for reading and writing: a file that is
/// written and then read back through the same descriptor.
pub fn create_rw(
    rec: &mut Recorder,
    dir: BorrowedFd,
    name: &CStr,
    extra: OFlags,
) -> io::Result<OwnedFd> {
    create_as(rec, dir, name, OFlags::RDWR | extra)
}

fn create_as(
    rec: &mut Recorder,
    dir: BorrowedFd,
    name: &CStr,
    flags: OFlags,
) -> io::Result<OwnedFd> {
    call(
        rec,
        Op::Create,
        || {
            rustix::fs::openat(
                dir,
                name,
                OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC | OFlags::NOFOLLOW | flags,
                Mode::from_raw_mode(0o644),
            )
            .map_err(io_err)
        },
        null_kernel::fd,
    )
}

/// Removes an empty directory.
pub fn rmdir(rec: &mut Recorder, dir: BorrowedFd, name: &CStr) -> io::Result<()> {
    call(
        rec,
        Op::Rmdir,
        || rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR).map_err(io_err),
        || Ok(()),
    )
}

/// renameat(2) within one directory tree (never replacing a symlink's target).
pub fn rename(rec: &mut Recorder, dir: BorrowedFd, from: &CStr, to: &CStr) -> io::Result<()> {
    call(
        rec,
        Op::Rename,
        || rustix::fs::renameat(dir, from, dir, to).map_err(io_err),
        || Ok(()),
    )
}

/// renameat(2) of a directory, recorded apart from file renames: on an
/// overlay, moving a lower directory is a different operation (a redirect,
/// or EXDEV).
pub fn rename_dir(rec: &mut Recorder, dir: BorrowedFd, from: &CStr, to: &CStr) -> io::Result<()> {
    rec.time(Op::RenameDir, || {
        rustix::fs::renameat(dir, from, dir, to).map_err(io_err)
    })
}

/// A hard link `to` of `from` (a final symlink is linked, not followed).
pub fn link(rec: &mut Recorder, dir: BorrowedFd, from: &CStr, to: &CStr) -> io::Result<()> {
    call(
        rec,
        Op::Link,
        || rustix::fs::linkat(dir, from, dir, to, AtFlags::empty()).map_err(io_err),
        || Ok(()),
    )
}

/// lstat-like: statat with SYMLINK_NOFOLLOW.
pub fn stat(rec: &mut Recorder, dir: BorrowedFd, name: &CStr) -> io::Result<rustix::fs::Stat> {
    call(
        rec,
        Op::Stat,
        || rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).map_err(io_err),
        // The null kernel's files are empty and were never touched.
        // SAFETY: `stat` is plain integers, for which all zeros is valid.
        || Ok(unsafe { std::mem::zeroed() }),
    )
}

pub fn mkdir(rec: &mut Recorder, dir: BorrowedFd, name: &CStr) -> io::Result<()> {
    call(
        rec,
        Op::Mkdir,
        || rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o755)).map_err(io_err),
        || Ok(()),
    )
}

pub fn unlink(rec: &mut Recorder, dir: BorrowedFd, name: &CStr) -> io::Result<()> {
    call(
        rec,
        Op::Unlink,
        || rustix::fs::unlinkat(dir, name, AtFlags::empty()).map_err(io_err),
        || Ok(()),
    )
}

/// chmod of `name` under `dir` (what copies a lower file up).
pub fn chmod(rec: &mut Recorder, dir: BorrowedFd, name: &CStr, mode: u32) -> io::Result<()> {
    call(
        rec,
        Op::Chmod,
        || {
            rustix::fs::chmodat(dir, name, Mode::from_raw_mode(mode), AtFlags::empty())
                .map_err(io_err)
        },
        || Ok(()),
    )
}

/// chown of `name` under `dir` to this process's own uid and gid: a change
/// of owner that changes nothing but still copies a lower file up.
pub fn chown_to_self(rec: &mut Recorder, dir: BorrowedFd, name: &CStr) -> io::Result<()> {
    let (uid, gid) = (rustix::process::geteuid(), rustix::process::getegid());
    call(
        rec,
        Op::Chown,
        || {
            rustix::fs::chownat(dir, name, Some(uid), Some(gid), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(io_err)
        },
        || Ok(()),
    )
}

/// Sets `name`'s atime and mtime to now (`touch`).
pub fn touch(rec: &mut Recorder, dir: BorrowedFd, name: &CStr) -> io::Result<()> {
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: rustix::fs::UTIME_NOW,
    };
    let times = Timestamps {
        last_access: now,
        last_modification: now,
    };
    call(
        rec,
        Op::Utimes,
        || rustix::fs::utimensat(dir, name, &times, AtFlags::SYMLINK_NOFOLLOW).map_err(io_err),
        || Ok(()),
    )
}

/// ftruncate(2) to `size`.
pub fn truncate(rec: &mut Recorder, fd: BorrowedFd, size: u64) -> io::Result<()> {
    call(
        rec,
        Op::Truncate,
        || rustix::fs::ftruncate(fd, size).map_err(io_err),
        || Ok(()),
    )
}

/// The size of an open file (untimed: bookkeeping, not the workload's op).
pub fn size_of(fd: BorrowedFd) -> u64 {
    if null_kernel::on() {
        return 0;
    }
    rustix::fs::fstat(fd).map_or(0, |s| s.st_size as u64)
}

/// Moves the file offset to the end (untimed, like the `append` it serves).
pub fn seek_end(fd: BorrowedFd) -> io::Result<()> {
    if null_kernel::on() {
        return Ok(());
    }
    rustix::fs::seek(fd, rustix::fs::SeekFrom::End(0))
        .map(|_| ())
        .map_err(io_err)
}

/// Writes all of `buf`, one recorded `write` per call (a short write is
/// followed by another call, as any application would).
pub fn write_all(rec: &mut Recorder, fd: BorrowedFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let len = buf.len();
        let n = call(
            rec,
            Op::Write,
            || rustix::io::write(fd, buf).map_err(io_err),
            || Ok(len),
        )?;
        if n == 0 {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        rec.add_bytes(n as u64);
        buf = &buf[n..];
    }
    Ok(())
}

/// Positional variant of `write_all`.
pub fn pwrite_all(
    rec: &mut Recorder,
    fd: BorrowedFd,
    mut buf: &[u8],
    mut offset: u64,
) -> io::Result<()> {
    while !buf.is_empty() {
        let len = buf.len();
        let n = call(
            rec,
            Op::Write,
            || rustix::io::pwrite(fd, buf, offset).map_err(io_err),
            || Ok(len),
        )?;
        if n == 0 {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        rec.add_bytes(n as u64);
        buf = &buf[n..];
        offset += n as u64;
    }
    Ok(())
}

/// close(2), timed, with its error reported (writeback errors can surface
/// here; dropping an OwnedFd would swallow them).
pub fn close(rec: &mut Recorder, fd: OwnedFd) -> io::Result<()> {
    if null_kernel::on() {
        return rec.time(Op::Close, || {
            null_kernel::close(fd);
            Ok(())
        });
    }
    let raw = fd.into_raw_fd();
    rec.time(Op::Close, || {
        // SAFETY: `raw` came from an OwnedFd we own and is closed exactly once.
        if unsafe { libc::close(raw) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    })
}

pub fn fsync(rec: &mut Recorder, op: Op, fd: BorrowedFd) -> io::Result<()> {
    call(rec, op, || rustix::fs::fsync(fd).map_err(io_err), || Ok(()))
}

pub fn fdatasync(rec: &mut Recorder, fd: BorrowedFd) -> io::Result<()> {
    call(
        rec,
        Op::Fdatasync,
        || rustix::fs::fdatasync(fd).map_err(io_err),
        || Ok(()),
    )
}

pub fn syncfs(rec: &mut Recorder, fd: BorrowedFd) -> io::Result<()> {
    call(
        rec,
        Op::Syncfs,
        || rustix::fs::syncfs(fd).map_err(io_err),
        || Ok(()),
    )
}

/// sync_file_range over the whole file with WAIT_BEFORE|WRITE|WAIT_AFTER:
/// starts and waits for writeback of dirty pages — no metadata, no device
/// cache flush, so not a durability guarantee.
pub fn sync_file_range(rec: &mut Recorder, fd: BorrowedFd) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    call(
        rec,
        Op::SyncFileRange,
        || {
            let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
                | libc::SYNC_FILE_RANGE_WRITE
                | libc::SYNC_FILE_RANGE_WAIT_AFTER;
            // SAFETY: plain syscall on a descriptor we hold.
            if unsafe { libc::sync_file_range(raw, 0, 0, flags) } == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        },
        || Ok(()),
    )
}

/// Opens an existing file under `dir` (never following a final symlink).
pub fn open(
    rec: &mut Recorder,
    dir: BorrowedFd,
    name: &CStr,
    flags: OFlags,
) -> io::Result<OwnedFd> {
    call(
        rec,
        Op::Open,
        || {
            rustix::fs::openat(
                dir,
                name,
                flags | OFlags::CLOEXEC | OFlags::NOFOLLOW,
                Mode::empty(),
            )
            .map_err(io_err)
        },
        null_kernel::fd,
    )
}

/// Reads the whole file, one recorded `read` per call; returns the bytes read.
pub fn read_all(rec: &mut Recorder, fd: BorrowedFd, buf: &mut [u8]) -> io::Result<u64> {
    read_to_end(rec, buf, |buf, _| rustix::io::read(fd, buf))
}

/// Reads the whole file from offset 0, one recorded `read` per pread (the
/// descriptor's offset is left alone); returns the bytes read.
pub fn pread_all(rec: &mut Recorder, fd: BorrowedFd, buf: &mut [u8]) -> io::Result<u64> {
    read_to_end(rec, buf, |buf, off| rustix::io::pread(fd, buf, off))
}

/// Calls `read(buf, bytes so far)` until it returns 0, each call recorded.
fn read_to_end(
    rec: &mut Recorder,
    buf: &mut [u8],
    mut read: impl FnMut(&mut [u8], u64) -> rustix::io::Result<usize>,
) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        let n = call(
            rec,
            Op::Read,
            || read(&mut *buf, total).map_err(io_err),
            || Ok(0),
        )?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
    }
}

/// `len` bytes that start on a 4 KiB boundary (a Vec over-allocated by
/// one page and never grown in place, so the alignment holds). O_DIRECT
/// needs it; buffered writes gain from it too: a 4 KiB pwrite on tmpfs
/// from the heap's usual 16-byte offset, whose every 64-byte piece spans
/// two cache lines, ran at 0.96× the same write from an aligned buffer
/// (bare loop, 10 interleaved runs).
#[derive(Default)]
pub struct PageAligned {
    raw: Vec<u8>,
    start: usize,
    len: usize,
}

impl PageAligned {
    pub const ALIGN: usize = 4096;

    /// `len` zero bytes, aligned.
    pub fn zeroed(len: usize) -> PageAligned {
        let raw = vec![0u8; len + Self::ALIGN];
        let start = raw.as_ptr().align_offset(Self::ALIGN);
        PageAligned { raw, start, len }
    }
}

impl std::ops::Deref for PageAligned {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        &self.raw[self.start..self.start + self.len]
    }
}

impl std::ops::DerefMut for PageAligned {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.raw[self.start..self.start + self.len]
    }
}

/// A reusable aligned buffer for O_DIRECT, grown as records need.
#[derive(Default)]
pub struct AlignedBuf {
    area: PageAligned,
}

impl AlignedBuf {
    /// The first `n` bytes of the aligned area (growing it if needed).
    pub fn slice(&mut self, n: usize) -> &mut [u8] {
        if self.area.len() < n {
            self.area = PageAligned::zeroed(n);
        }
        &mut self.area[..n]
    }

    /// Copies `data` to an aligned place and returns it there.
    pub fn load(&mut self, data: &[u8]) -> &[u8] {
        let dst = self.slice(data.len());
        dst.copy_from_slice(data);
        dst
    }
}

/// Fails with a clear message when the filesystem of `dir` refuses O_DIRECT
/// (tmpfs before Linux 6.6, some FUSE and overlay setups).
pub fn probe_o_direct(dir: BorrowedFd) -> io::Result<()> {
    let name = c".wpbench-odirect-probe";
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::DIRECT | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        Mode::from_raw_mode(0o600),
    );
    let _ = rustix::fs::unlinkat(dir, name, rustix::fs::AtFlags::empty());
    match fd {
        Ok(_) => Ok(()),
        Err(rustix::io::Errno::INVAL) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "o_direct: this target's filesystem does not support O_DIRECT (open returned EINVAL)",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Closes without timing, for cleaning up after an error.
pub fn discard(fd: OwnedFd) {
    drop(fd);
}

/// Borrow helper so workers can pass `&OwnedFd` where a BorrowedFd is needed.
pub fn b(fd: &OwnedFd) -> BorrowedFd<'_> {
    fd.as_fd()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;
    use std::time::Instant;

    #[test]
    fn the_null_kernel_times_calls_that_never_reach_the_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        let root = open_root(dir.path()).unwrap();
        let (tx, rx) = channel();
        let mut rec = Recorder::new(0, Instant::now(), tx);
        null_kernel::with(|| {
            for _ in 0..3 {
                let fd = create(&mut rec, root.as_fd(), c"f", OFlags::empty()).unwrap();
                write_all(&mut rec, fd.as_fd(), b"hello").unwrap();
                fsync(&mut rec, Op::Fsync, fd.as_fd()).unwrap();
                close(&mut rec, fd).unwrap();
            }
            mkdir(&mut rec, root.as_fd(), c"d").unwrap();
        });
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // Off again: the real thing.
        let fd = create(&mut rec, root.as_fd(), c"real", OFlags::empty()).unwrap();
        close(&mut rec, fd).unwrap();
        assert!(dir.path().join("real").exists());
        rec.finish();
        let (ok, err) = crate::workload::testing::counts(&rx);
        assert_eq!(ok[&Op::Create], 4);
        assert_eq!((ok[&Op::Write], ok[&Op::Fsync], ok[&Op::Mkdir]), (3, 3, 1));
        assert!(err.is_empty());
    }
}
