//! One traced call, made again: the syscall the trace shows, on the
//! replay's fd table, with paths resolved beneath the replay's directory.
//!
//! Every path is resolved with `openat2(RESOLVE_BENEATH)` or acted on by
//! its final component under a parent resolved that way, and calls that
//! would follow a final symlink (chmod, utimensat, truncate) open it
//! beneath first (O_PATH, then act through `/proc/self/fd/N`), and so do
//! stats that follow symlinks: a trace that makes a symlink to
//! `/etc/passwd` and then writes through it, chmods or stats it, reaches
//! nothing outside the target.

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags, Timestamps};
use rustix::io::Errno;

use crate::scenario::trace::{CallOp, Slot};

/// What a call did: its return value, or its errno.
pub type Outcome = Result<i64, i32>;

/// The replay's fd table, one entry per slot (-1: not open), shared by
/// the threads of one pass.
pub struct Fds(Vec<AtomicI32>);

impl Fds {
    pub fn new(slots: usize) -> Fds {
        Fds((0..slots).map(|_| AtomicI32::new(-1)).collect())
    }

    fn get(&self, slot: Slot) -> Result<BorrowedFd<'_>, i32> {
        let raw = self.0.get(slot).map_or(-1, |a| a.load(Ordering::Acquire));
        if raw < 0 {
            return Err(libc::EBADF);
        }
        // SAFETY: `raw` was stored from an OwnedFd this table owns, and it is
        // only closed by `take`, which the trace orders after every use of
        // the slot (the parser's dependencies between threads).
        Ok(unsafe { BorrowedFd::borrow_raw(raw) })
    }

    fn put(&self, slot: Slot, fd: OwnedFd) {
        if let Some(a) = self.0.get(slot) {
            let old = a.swap(fd.into_raw_fd(), Ordering::AcqRel);
            close_raw(old);
        }
    }

    fn take(&self, slot: Slot) -> Option<OwnedFd> {
        let raw = self.0.get(slot)?.swap(-1, Ordering::AcqRel);
        // SAFETY: the table owned `raw`; swapping -1 in hands ownership here.
        (raw >= 0).then(|| unsafe { OwnedFd::from_raw_fd(raw) })
    }

    /// Closes what a pass left open (a process's exit closes its files).
    pub fn close_all(&self) {
        for slot in 0..self.0.len() {
            drop(self.take(slot));
        }
    }
}

impl Drop for Fds {
    fn drop(&mut self) {
        self.close_all();
    }
}

fn close_raw(raw: i32) {
    if raw >= 0 {
        // SAFETY: a descriptor the table owned and no longer refers to.
        drop(unsafe { OwnedFd::from_raw_fd(raw) });
    }
}

fn errno(e: Errno) -> i32 {
    e.raw_os_error()
}

fn cstr(s: &str) -> Result<CString, i32> {
    CString::new(if s.is_empty() { "." } else { s }).map_err(|_| libc::EINVAL)
}

const BENEATH: ResolveFlags = ResolveFlags::BENEATH.union(ResolveFlags::NO_MAGICLINKS);

/// Opens `path` beneath `root`.
fn open_beneath(root: BorrowedFd, path: &str, flags: OFlags, mode: u32) -> Result<OwnedFd, i32> {
    rustix::fs::openat2(
        root,
        cstr(path)?.as_c_str(),
        flags | OFlags::CLOEXEC,
        Mode::from_raw_mode(mode),
        BENEATH,
    )
    .map_err(errno)
}

/// A path's parent directory (resolved beneath `root`) and final name;
/// the root itself has no parent and cannot be renamed or removed.
pub(super) struct Parent {
    dir: Option<OwnedFd>,
    pub name: CString,
}

impl Parent {
    pub fn of(root: BorrowedFd, path: &str) -> Result<Parent, i32> {
        if path.is_empty() {
            return Err(libc::EBUSY);
        }
        let (dir, name) = match path.rsplit_once('/') {
            Some((dir, name)) => {
                let fd = open_beneath(root, dir, OFlags::PATH | OFlags::DIRECTORY, 0)?;
                (Some(fd), name)
            }
            None => (None, path),
        };
        Ok(Parent {
            dir,
            name: cstr(name)?,
        })
    }

    pub fn fd<'a>(&'a self, root: BorrowedFd<'a>) -> BorrowedFd<'a> {
        self.dir.as_ref().map_or(root, |d| d.as_fd())
    }
}

/// What a call reads into and writes from.
pub struct Buffers<'a> {
    /// Seeded payload, 4 KiB aligned, as long as the largest write.
    pub write: &'a [u8],
    /// As long as the largest read, 4 KiB aligned.
    pub read: &'a mut [u8],
}

/// Whether a call is timed and counted as its op (a close that leaves the
/// description open for a dup, a dup and an fcntl are not).
pub enum Made {
    Timed(Outcome),
    Untimed,
}

/// Makes `op` under `root` on `fds`, adding the bytes a write wrote to
/// `written`.
pub fn make(
    op: &CallOp,
    root: BorrowedFd,
    fds: &Fds,
    bufs: &mut Buffers,
    written: &mut u64,
) -> Made {
    match op {
        CallOp::Close { slot, last: false } => {
            let _ = slot;
            Made::Untimed
        }
        CallOp::Dup { from, to } => {
            if let Ok(fd) = fds.get(*from) {
                if let Ok(new) = rustix::io::fcntl_dupfd_cloexec(fd, 0) {
                    fds.put(*to, new);
                }
            }
            Made::Untimed
        }
        CallOp::SetFl { slot, flags } => {
            if let Ok(fd) = fds.get(*slot) {
                let _ = rustix::fs::fcntl_setfl(fd, OFlags::from_bits_retain(*flags as u32));
            }
            Made::Untimed
        }
        _ => Made::Timed(timed(op, root, fds, bufs, written)),
    }
}

fn timed(
    op: &CallOp,
    root: BorrowedFd,
    fds: &Fds,
    bufs: &mut Buffers,
    written: &mut u64,
) -> Outcome {
    let ok = |r: Result<(), Errno>| r.map(|()| 0).map_err(errno);
    match op {
        CallOp::Open {
            path,
            flags,
            mode,
            slot,
        } => {
            let fd = open_beneath(root, path, OFlags::from_bits_retain(*flags as u32), *mode)?;
            match slot {
                Some(s) => fds.put(*s, fd),
                None => drop(fd),
            }
            Ok(0)
        }
        CallOp::Close { slot, .. } => match fds.take(*slot) {
            Some(fd) => {
                let raw = fd.into_raw_fd();
                // SAFETY: `raw` came out of an OwnedFd just now; close(2)
                // is the timed call itself, and its error is the result.
                match unsafe { libc::close(raw) } {
                    0 => Ok(0),
                    _ => Err(last_errno()),
                }
            }
            None => Err(libc::EBADF),
        },
        CallOp::Read { slot, len, offset } => {
            let fd = fds.get(*slot)?;
            let n = (*len as usize).min(bufs.read.len());
            let buf = &mut bufs.read[..n];
            let r = match offset {
                Some(off) => rustix::io::pread(fd, buf, *off),
                None => rustix::io::read(fd, buf),
            };
            r.map(|n| n as i64).map_err(errno)
        }
        CallOp::Write { slot, len, offset } => {
            let fd = fds.get(*slot)?;
            let n = (*len as usize).min(bufs.write.len());
            let buf = &bufs.write[..n];
            let r = match offset {
                Some(off) => rustix::io::pwrite(fd, buf, *off),
                None => rustix::io::write(fd, buf),
            };
            let n = r.map_err(errno)?;
            *written += n as u64;
            Ok(n as i64)
        }
        CallOp::Fsync { slot } => ok(rustix::fs::fsync(fds.get(*slot)?)),
        CallOp::Fdatasync { slot } => ok(rustix::fs::fdatasync(fds.get(*slot)?)),
        CallOp::Syncfs { slot } => ok(rustix::fs::syncfs(fds.get(*slot)?)),
        CallOp::SyncFileRange {
            slot,
            offset,
            len,
            flags,
        } => {
            let fd = fds.get(*slot)?;
            let (off, n) = (*offset as i64, *len as i64);
            // SAFETY: a plain syscall on a descriptor we hold; no memory.
            match unsafe { libc::sync_file_range(fd_raw(fd), off, n, *flags) } {
                0 => Ok(0),
                _ => Err(last_errno()),
            }
        }
        CallOp::Ftruncate { slot, len } => ok(rustix::fs::ftruncate(fds.get(*slot)?, *len)),
        CallOp::Truncate { path, len } => {
            let fd = open_beneath(root, path, OFlags::WRONLY, 0)?;
            ok(rustix::fs::ftruncate(&fd, *len))
        }
        CallOp::Fallocate {
            slot,
            mode,
            offset,
            len,
        } => ok(rustix::fs::fallocate(
            fds.get(*slot)?,
            rustix::fs::FallocateFlags::from_bits_retain(*mode as u32),
            *offset,
            *len,
        )),
        _ => paths(op, root, fds),
    }
}

/// The calls on names (and the metadata calls on descriptors).
fn paths(op: &CallOp, root: BorrowedFd, fds: &Fds) -> Outcome {
    let ok = |r: Result<(), Errno>| r.map(|()| 0).map_err(errno);
    let now = Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_NOW,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_NOW,
        },
    };
    match op {
        CallOp::Rename { from, to, flags } => {
            let (a, b) = (Parent::of(root, from)?, Parent::of(root, to)?);
            ok(rustix::fs::renameat_with(
                a.fd(root),
                a.name.as_c_str(),
                b.fd(root),
                b.name.as_c_str(),
                rustix::fs::RenameFlags::from_bits_retain(*flags),
            ))
        }
        CallOp::Unlink { path } => {
            let p = Parent::of(root, path)?;
            ok(rustix::fs::unlinkat(
                p.fd(root),
                p.name.as_c_str(),
                AtFlags::empty(),
            ))
        }
        CallOp::Rmdir { path } => {
            let p = Parent::of(root, path)?;
            ok(rustix::fs::unlinkat(
                p.fd(root),
                p.name.as_c_str(),
                AtFlags::REMOVEDIR,
            ))
        }
        CallOp::Mkdir { path, mode } => {
            let p = Parent::of(root, path)?;
            ok(rustix::fs::mkdirat(
                p.fd(root),
                p.name.as_c_str(),
                Mode::from_raw_mode(*mode),
            ))
        }
        CallOp::Link { from, to } => {
            let (a, b) = (Parent::of(root, from)?, Parent::of(root, to)?);
            ok(rustix::fs::linkat(
                a.fd(root),
                a.name.as_c_str(),
                b.fd(root),
                b.name.as_c_str(),
                AtFlags::empty(),
            ))
        }
        CallOp::Symlink { target, path } => {
            let p = Parent::of(root, path)?;
            let target = CString::new(target.as_str()).map_err(|_| libc::EINVAL)?;
            ok(rustix::fs::symlinkat(
                target.as_c_str(),
                p.fd(root),
                p.name.as_c_str(),
            ))
        }
        CallOp::Stat { path, nofollow } => {
            let r = match (path.is_empty(), nofollow) {
                (true, _) => rustix::fs::fstat(root),
                // The name itself, under a parent resolved beneath.
                (false, true) => {
                    let p = Parent::of(root, path)?;
                    rustix::fs::statat(p.fd(root), p.name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW)
                }
                // Following symlinks, but only beneath.
                (false, false) => rustix::fs::fstat(&open_beneath(root, path, OFlags::PATH, 0)?),
            };
            r.map(|_| 0).map_err(errno)
        }
        CallOp::Fstat { slot } => rustix::fs::fstat(fds.get(*slot)?).map(|_| 0).map_err(errno),
        CallOp::Chmod { path, mode } => {
            let fd = open_beneath(root, path, OFlags::PATH, 0)?;
            ok(rustix::fs::chmodat(
                rustix::fs::CWD,
                proc_fd(&fd)?.as_c_str(),
                Mode::from_raw_mode(*mode),
                AtFlags::empty(),
            ))
        }
        CallOp::Fchmod { slot, mode } => ok(rustix::fs::fchmod(
            fds.get(*slot)?,
            Mode::from_raw_mode(*mode),
        )),
        CallOp::Utimens { path } => {
            let fd = open_beneath(root, path, OFlags::PATH, 0)?;
            ok(rustix::fs::utimensat(
                rustix::fs::CWD,
                proc_fd(&fd)?.as_c_str(),
                &now,
                AtFlags::empty(),
            ))
        }
        CallOp::Futimens { slot } => ok(rustix::fs::futimens(fds.get(*slot)?, &now)),
        CallOp::Lseek {
            slot,
            offset,
            whence,
        } => {
            use rustix::fs::SeekFrom;
            let from = match *whence {
                libc::SEEK_SET => SeekFrom::Start(*offset as u64),
                libc::SEEK_CUR => SeekFrom::Current(*offset),
                libc::SEEK_END => SeekFrom::End(*offset),
                libc::SEEK_DATA => SeekFrom::Data(*offset as u64),
                libc::SEEK_HOLE => SeekFrom::Hole(*offset as u64),
                _ => return Err(libc::EINVAL),
            };
            rustix::fs::seek(fds.get(*slot)?, from)
                .map(|p| p as i64)
                .map_err(errno)
        }
        // Reached only for the kinds `timed` and `make` handle.
        _ => Err(libc::ENOSYS),
    }
}

/// `/proc/self/fd/N` of an O_PATH descriptor: what chmod and utimensat
/// act through, on the file resolved beneath, without opening it for
/// reading (which a mode of 0200 refuses and which moves atime).
fn proc_fd(fd: &OwnedFd) -> Result<CString, i32> {
    use std::os::fd::AsRawFd;
    CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).map_err(|_| libc::EINVAL)
}

fn fd_raw(fd: BorrowedFd) -> i32 {
    use std::os::fd::AsRawFd;
    fd.as_raw_fd()
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}
