//! Timed syscalls: each records its latency under its own op, or its errno.
//!
//! Paths are always relative to a directory descriptor the workload opened
//! inside its target, and final components are opened with O_NOFOLLOW, so
//! a workload never follows a symlink out of its scratch directory.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};

use rustix::fs::{Mode, OFlags};

use crate::record::{Op, Recorder};

fn io_err(e: rustix::io::Errno) -> io::Error {
    e.into()
}

/// Opens a directory under `dir` (or `dir` itself with ".").
pub fn open_dir(dir: BorrowedFd, name: &CStr) -> io::Result<OwnedFd> {
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
/// following a symlink) holding `bytes`.
pub fn write_new_file(dir: BorrowedFd, name: &CStr, bytes: &[u8]) -> io::Result<()> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        Mode::from_raw_mode(0o644),
    )?;
    let mut off = 0;
    while off < bytes.len() {
        off += rustix::io::write(&fd, &bytes[off..])?;
    }
    Ok(())
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
    rec.time(Op::Create, || {
        rustix::fs::openat(
            dir,
            name,
            OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC | OFlags::NOFOLLOW | flags,
            Mode::from_raw_mode(0o644),
        )
        .map_err(io_err)
    })
}

/// Removes an empty directory.
pub fn rmdir(rec: &mut Recorder, dir: BorrowedFd, name: &CStr) -> io::Result<()> {
    rec.time(Op::Rmdir, || {
        rustix::fs::unlinkat(dir, name, rustix::fs::AtFlags::REMOVEDIR).map_err(io_err)
    })
}

/// renameat(2) within one directory tree (never replacing a symlink's target).
pub fn rename(rec: &mut Recorder, dir: BorrowedFd, from: &CStr, to: &CStr) -> io::Result<()> {
    rec.time(Op::Rename, || {
        rustix::fs::renameat(dir, from, dir, to).map_err(io_err)
    })
}

/// A hard link `to` of `from` (a final symlink is linked, not followed).
pub fn link(rec: &mut Recorder, dir: BorrowedFd, from: &CStr, to: &CStr) -> io::Result<()> {
    rec.time(Op::Link, || {
        rustix::fs::linkat(dir, from, dir, to, rustix::fs::AtFlags::empty()).map_err(io_err)
    })
}

/// lstat-like: statat with SYMLINK_NOFOLLOW.
pub fn stat(rec: &mut Recorder, dir: BorrowedFd, name: &CStr) -> io::Result<rustix::fs::Stat> {
    rec.time(Op::Stat, || {
        rustix::fs::statat(dir, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW).map_err(io_err)
    })
}

pub fn mkdir(rec: &mut Recorder, dir: BorrowedFd, name: &CStr) -> io::Result<()> {
    rec.time(Op::Mkdir, || {
        rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o755)).map_err(io_err)
    })
}

pub fn unlink(rec: &mut Recorder, dir: BorrowedFd, name: &CStr) -> io::Result<()> {
    rec.time(Op::Unlink, || {
        rustix::fs::unlinkat(dir, name, rustix::fs::AtFlags::empty()).map_err(io_err)
    })
}

/// Writes all of `buf`, one recorded `write` per call (a short write is
/// followed by another call, as any application would).
pub fn write_all(rec: &mut Recorder, fd: BorrowedFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = rec.time(Op::Write, || rustix::io::write(fd, buf).map_err(io_err))?;
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
        let n = rec.time(Op::Write, || {
            rustix::io::pwrite(fd, buf, offset).map_err(io_err)
        })?;
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
    rec.time(op, || rustix::fs::fsync(fd).map_err(io_err))
}

pub fn fdatasync(rec: &mut Recorder, fd: BorrowedFd) -> io::Result<()> {
    rec.time(Op::Fdatasync, || rustix::fs::fdatasync(fd).map_err(io_err))
}

pub fn syncfs(rec: &mut Recorder, fd: BorrowedFd) -> io::Result<()> {
    rec.time(Op::Syncfs, || rustix::fs::syncfs(fd).map_err(io_err))
}

/// sync_file_range over the whole file with WAIT_BEFORE|WRITE|WAIT_AFTER:
/// starts and waits for writeback of dirty pages — no metadata, no device
/// cache flush, so not a durability guarantee.
pub fn sync_file_range(rec: &mut Recorder, fd: BorrowedFd) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    rec.time(Op::SyncFileRange, || {
        let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
            | libc::SYNC_FILE_RANGE_WRITE
            | libc::SYNC_FILE_RANGE_WAIT_AFTER;
        // SAFETY: plain syscall on a descriptor we hold.
        if unsafe { libc::sync_file_range(raw, 0, 0, flags) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    })
}

/// Opens an existing file under `dir` (never following a final symlink).
pub fn open(
    rec: &mut Recorder,
    dir: BorrowedFd,
    name: &CStr,
    flags: OFlags,
) -> io::Result<OwnedFd> {
    rec.time(Op::Open, || {
        rustix::fs::openat(
            dir,
            name,
            flags | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::empty(),
        )
        .map_err(io_err)
    })
}

/// Reads the whole file, one recorded `read` per call; returns the bytes read.
pub fn read_all(rec: &mut Recorder, fd: BorrowedFd, buf: &mut [u8]) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        let n = rec.time(Op::Read, || rustix::io::read(fd, &mut *buf).map_err(io_err))?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
    }
}

/// A buffer whose data starts on a 4 KiB boundary, as O_DIRECT requires
/// (a Vec over-allocated by one block and never grown in place, so the
/// alignment holds).
#[derive(Default)]
pub struct AlignedBuf {
    raw: Vec<u8>,
}

impl AlignedBuf {
    pub const ALIGN: usize = 4096;

    /// The first `n` bytes of the aligned area (growing it if needed).
    pub fn slice(&mut self, n: usize) -> &mut [u8] {
        if self.raw.len() < n + Self::ALIGN {
            self.raw = vec![0u8; n + Self::ALIGN];
        }
        let start = self.raw.as_ptr().align_offset(Self::ALIGN);
        &mut self.raw[start..start + n]
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
