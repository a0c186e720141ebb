//! One syscall's arguments → a [`CallOp`] (or only bookkeeping: clone,
//! execve, chdir, fds of pipes and sockets), with the simulation's updates.

use super::build::{normalize, Builder, Ctx, FdEntry, FdRef, Place, Use};
use super::lex::{fd_arg, parse_int, parse_mode, split_args, str_arg};
use super::sim::{Kind, NodeId};
use super::{open_flags, other_flags, whence, CallOp, TraceError};

/// Syscalls that return a new fd the replay never uses.
const FD_MAKERS: [&str; 17] = [
    "socket",
    "accept",
    "accept4",
    "eventfd",
    "eventfd2",
    "epoll_create",
    "epoll_create1",
    "timerfd_create",
    "signalfd",
    "signalfd4",
    "inotify_init",
    "inotify_init1",
    "memfd_create",
    "fanotify_init",
    "userfaultfd",
    "pidfd_open",
    "open_by_handle_at",
];

type Res = Result<(), TraceError>;

fn num(a: &[&str], i: usize) -> i64 {
    a.get(i).and_then(|s| parse_int(s)).unwrap_or(0)
}

fn unum(a: &[&str], i: usize) -> u64 {
    u64::try_from(num(a, i)).unwrap_or(0)
}

/// The number after `key` (`st_size=`) in a struct argument.
fn field(s: &str, key: &str) -> Option<u64> {
    let rest = &s[s.find(key)? + key.len()..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn kind_of(buf: Option<&&str>) -> Kind {
    match buf {
        Some(b) if b.contains("S_IFDIR") => Kind::Dir,
        Some(b) if b.contains("S_IFLNK") => Kind::Symlink(String::new()),
        _ => Kind::File,
    }
}

impl Builder {
    /// Decodes and applies one completed call.
    pub(super) fn call(&mut self, c: &Ctx, args: &str) -> Res {
        let a = split_args(args);
        match c.name {
            "open" | "openat" | "openat2" | "creat" => self.open(c, &a),
            "close" => self.close(c, &a),
            "read" | "pread64" | "readv" | "preadv" | "preadv2" => self.rw(c, &a, false),
            "write" | "pwrite64" | "writev" | "pwritev" | "pwritev2" => self.rw(c, &a, true),
            "fsync" | "fdatasync" | "syncfs" | "sync_file_range" | "ftruncate" | "ftruncate64"
            | "fallocate" | "fstat" | "fstat64" | "fchmod" | "lseek" => self.fd_op(c, &a),
            "dup" | "dup2" | "dup3" => self.dup(c, &a),
            "fcntl" | "fcntl64" => self.fcntl(c, &a),
            "rename" | "renameat" | "renameat2" | "link" | "linkat" => self.two_paths(c, &a),
            "unlink" | "unlinkat" | "rmdir" | "mkdir" | "mkdirat" | "symlink" | "symlinkat"
            | "truncate" | "truncate64" | "chmod" | "fchmodat" | "fchmodat2" | "utime"
            | "utimes" => self.path_op(c, &a),
            "stat" | "lstat" | "stat64" | "lstat64" | "newfstatat" | "fstatat64" | "statx"
            | "utimensat" => self.stat_like(c, &a),
            _ => self.tracked(c, args, &a),
        }
    }

    fn open(&mut self, c: &Ctx, a: &[&str]) -> Res {
        let (dirfd, pi, flags, mode) = match c.name {
            "open" => (None, 0, a.get(1).map_or(0, |f| open_flags(f)), a.get(2)),
            "openat" => (
                a.first(),
                1,
                a.get(2).map_or(0, |f| open_flags(f)),
                a.get(3),
            ),
            "openat2" => {
                let how = a.get(2).copied().unwrap_or("");
                let f = how.split_once("flags=").map_or("", |(_, r)| r);
                let f = f.split([',', '}']).next().unwrap_or("");
                (a.first(), 1, open_flags(f), None)
            }
            _ => (
                None,
                0,
                libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC,
                a.get(1),
            ),
        };
        let mode = mode.and_then(|m| parse_mode(m)).unwrap_or(0);
        let (Some(path), Some(result)) = (a.get(pi).and_then(|p| str_arg(p)), self.result(c)?)
        else {
            self.count(c.name);
            return Ok(());
        };
        let cloexec = flags & libc::O_CLOEXEC != 0;
        let rel = match self.resolve(c, dirfd, &path)? {
            Place::Under(rel) => rel,
            Place::Outside(abs) => {
                if let Ok(fd) = result {
                    self.set_fd(
                        c.pid,
                        fd,
                        FdEntry {
                            r: FdRef::Outside(abs.clone()),
                            cloexec,
                        },
                    );
                }
                self.count_outside(&abs);
                return Ok(());
            }
        };
        match result {
            Ok(fd) => {
                let node = self.fs.open(&rel, flags);
                let append = flags & libc::O_APPEND != 0;
                let slot = self.open_fd(c.pid, fd, &rel, node, append, cloexec);
                let op = CallOp::Open {
                    path: rel.clone(),
                    flags,
                    mode,
                    slot: Some(slot),
                };
                let made = self.emit(c, op, result, &[], &[&rel]);
                self.made(slot, made);
            }
            Err(e) => {
                let excl = libc::O_CREAT | libc::O_EXCL;
                if e == libc::EEXIST && flags & excl == excl {
                    self.fs.existing(&rel, Kind::File);
                }
                let op = CallOp::Open {
                    path: rel.clone(),
                    flags,
                    mode,
                    slot: None,
                };
                self.emit(c, op, result, &[], &[&rel]);
            }
        }
        Ok(())
    }

    fn close(&mut self, c: &Ctx, a: &[&str]) -> Res {
        let (Some((fd, _)), Some(result)) = (a.first().and_then(|s| fd_arg(s)), self.result(c)?)
        else {
            self.count(c.name);
            return Ok(());
        };
        let used = self.fd_use(c, a.first())?;
        let gone = if result.is_ok() {
            self.remove_fd(c.pid, fd)
        } else {
            None
        };
        let Use::Slot(s) = used else { return Ok(()) };
        let last = gone.is_some_and(|e| self.unref(&e.r));
        let path = self.slot_path(s).2;
        self.emit(c, CallOp::Close { slot: s, last }, result, &[s], &[&path]);
        Ok(())
    }

    fn rw(&mut self, c: &Ctx, a: &[&str], write: bool) -> Res {
        let Some(result) = self.result(c)? else {
            self.count(c.name);
            return Ok(());
        };
        let Use::Slot(s) = self.fd_use(c, a.first())? else {
            return Ok(());
        };
        let vectored = c.name.contains('v');
        let requested = if vectored {
            let iov = a.get(1).copied().unwrap_or("");
            iov.split("iov_len=")
                .skip(1)
                .filter_map(|r| field(r, ""))
                .fold(0u64, u64::saturating_add)
        } else {
            unum(a, 2)
        };
        let offset = match c.name {
            "pread64" | "pwrite64" | "preadv" | "pwritev" | "preadv2" | "pwritev2" => {
                u64::try_from(num(a, 3)).ok()
            }
            _ => None,
        };
        let len = match result {
            Ok(n) => u64::try_from(n).unwrap_or(0),
            Err(_) => requested,
        };
        let (d, node, path) = self.slot_path(s);
        if result.is_ok() && len > 0 {
            let size = node.map_or(0, |n| self.fs.size(n));
            if let Some(desc) = self.descs.get_mut(d) {
                let at = match offset {
                    Some(o) => o,
                    None if write && desc.append => size,
                    None => desc.pos,
                };
                if offset.is_none() {
                    desc.pos = at.saturating_add(len);
                }
                match (node, write) {
                    (Some(n), true) => self.fs.write(n, at, len),
                    (Some(n), false) => self.fs.evidence(n, at.saturating_add(len)),
                    _ => {}
                }
            }
        }
        let op = if write {
            CallOp::Write {
                slot: s,
                len,
                offset,
            }
        } else {
            CallOp::Read {
                slot: s,
                len,
                offset,
            }
        };
        self.emit(c, op, result, &[s], &[&path]);
        Ok(())
    }

    fn stat_evidence(&mut self, node: Option<NodeId>, buf: Option<&&str>) {
        let (Some(n), Some(b)) = (node, buf) else {
            return;
        };
        match kind_of(Some(b)) {
            Kind::File => {
                if let Some(size) = field(b, "st_size=").or_else(|| field(b, "stx_size=")) {
                    self.fs.evidence(n, size);
                }
            }
            k => self.fs.set_kind(n, k),
        }
    }

    /// Calls on one fd and numbers: syncs, truncate, fallocate, fstat,
    /// fchmod, lseek.
    fn fd_op(&mut self, c: &Ctx, a: &[&str]) -> Res {
        let Some(result) = self.result(c)? else {
            self.count(c.name);
            return Ok(());
        };
        let Use::Slot(slot) = self.fd_use(c, a.first())? else {
            return Ok(());
        };
        let (d, node, path) = self.slot_path(slot);
        let ok = result.is_ok();
        let op = match c.name {
            "fsync" => CallOp::Fsync { slot },
            "fdatasync" => CallOp::Fdatasync { slot },
            "syncfs" => CallOp::Syncfs { slot },
            "sync_file_range" => CallOp::SyncFileRange {
                slot,
                offset: unum(a, 1),
                len: unum(a, 2),
                flags: a.get(3).map_or(0, |f| other_flags(f)),
            },
            "ftruncate" | "ftruncate64" => {
                if let (true, Some(n)) = (ok, node) {
                    self.fs.truncate(n, unum(a, 1));
                }
                CallOp::Ftruncate {
                    slot,
                    len: unum(a, 1),
                }
            }
            "fallocate" => {
                let mode = a.get(1).map_or(0, |f| other_flags(f)) as i32;
                let keeps = libc::FALLOC_FL_KEEP_SIZE | libc::FALLOC_FL_PUNCH_HOLE;
                if let (true, Some(n), 0) = (ok, node, mode & keeps) {
                    self.fs.write(n, unum(a, 2), unum(a, 3));
                }
                CallOp::Fallocate {
                    slot,
                    mode,
                    offset: unum(a, 2),
                    len: unum(a, 3),
                }
            }
            "fstat" | "fstat64" => {
                if ok {
                    self.stat_evidence(node, a.get(1));
                }
                CallOp::Fstat { slot }
            }
            "fchmod" => CallOp::Fchmod {
                slot,
                mode: a.get(1).and_then(|m| parse_mode(m)).unwrap_or(0),
            },
            _ => {
                let (offset, wh) = (num(a, 1), a.get(2).map_or(0, |w| whence(w)));
                if let Ok(r) = result {
                    let r = u64::try_from(r).unwrap_or(0);
                    if let Some(desc) = self.descs.get_mut(d) {
                        desc.pos = r;
                    }
                    if let (Some(n), true, Ok(off)) =
                        (node, wh == libc::SEEK_END, u64::try_from(offset))
                    {
                        self.fs.evidence(n, r.saturating_sub(off));
                    }
                }
                CallOp::Lseek {
                    slot,
                    offset,
                    whence: wh,
                }
            }
        };
        self.emit(c, op, result, &[slot], &[&path]);
        Ok(())
    }

    fn dup(&mut self, c: &Ctx, a: &[&str]) -> Res {
        let cloexec = c.name == "dup3" && a.get(2).is_some_and(|f| f.contains("O_CLOEXEC"));
        self.dup_to(c, a.first(), cloexec)
    }

    /// dup*/F_DUPFD: the returned fd is a new slot on the same description.
    fn dup_to(&mut self, c: &Ctx, from: Option<&&str>, cloexec: bool) -> Res {
        let (Some((fd, _)), Some(result)) = (from.and_then(|s| fd_arg(s)), self.result(c)?) else {
            self.count(c.name);
            return Ok(());
        };
        let Ok(newfd) = result else {
            // A failed dup makes no slot to name: not replayed.
            self.count(c.name);
            return Ok(());
        };
        if newfd == fd {
            self.count(c.name);
            return Ok(());
        }
        match self.fd_use(c, from)? {
            Use::Slot(s) => {
                let (d, _, path) = self.slot_path(s);
                let to = self.new_slot(d);
                self.set_fd(
                    c.pid,
                    newfd,
                    FdEntry {
                        r: FdRef::Slot(to),
                        cloexec,
                    },
                );
                let made = self.emit(c, CallOp::Dup { from: s, to }, result, &[s], &[&path]);
                self.made(to, made);
            }
            Use::Dropped => {
                let r = self.get_fd(c.pid, fd).map_or(FdRef::Other, |e| e.r.clone());
                self.set_fd(c.pid, newfd, FdEntry { r, cloexec });
            }
        }
        Ok(())
    }

    fn fcntl(&mut self, c: &Ctx, a: &[&str]) -> Res {
        match a.get(1).map(|s| s.trim()) {
            Some(cmd @ ("F_DUPFD" | "F_DUPFD_CLOEXEC")) => {
                self.dup_to(c, a.first(), cmd == "F_DUPFD_CLOEXEC")
            }
            Some("F_SETFD") => {
                self.count(c.name);
                let on = a.get(2).is_some_and(|f| f.contains("FD_CLOEXEC"));
                if let (Some((fd, _)), Some(0)) = (a.first().and_then(|s| fd_arg(s)), c.ret.value) {
                    if let Some(e) = self.table_mut(c.pid).and_then(|t| t.fds.get_mut(&fd)) {
                        e.cloexec = on;
                    }
                }
                Ok(())
            }
            Some("F_SETFL") => {
                let Some(result) = self.result(c)? else {
                    self.count(c.name);
                    return Ok(());
                };
                let Use::Slot(slot) = self.fd_use(c, a.first())? else {
                    return Ok(());
                };
                let keep = libc::O_APPEND | libc::O_DIRECT | libc::O_NONBLOCK | libc::O_NOATIME;
                let flags = a.get(2).map_or(0, |f| open_flags(f)) & keep;
                let (d, _, path) = self.slot_path(slot);
                if let (true, Some(desc)) = (result.is_ok(), self.descs.get_mut(d)) {
                    desc.append = flags & libc::O_APPEND != 0;
                }
                self.emit(c, CallOp::SetFl { slot, flags }, result, &[slot], &[&path]);
                Ok(())
            }
            _ => {
                self.count(c.name);
                Ok(())
            }
        }
    }

    fn two_paths(&mut self, c: &Ctx, a: &[&str]) -> Res {
        let (d1, p1, d2, p2) = match c.name {
            "rename" | "link" => (None, a.first(), None, a.get(1)),
            _ => (a.first(), a.get(1), a.get(2), a.get(3)),
        };
        let flags = if c.name == "renameat2" {
            a.get(4).map_or(0, |f| other_flags(f))
        } else {
            0
        };
        let paths = (p1.and_then(|p| str_arg(p)), p2.and_then(|p| str_arg(p)));
        let ((Some(from), Some(to)), Some(result)) = (paths, self.result(c)?) else {
            self.count(c.name);
            return Ok(());
        };
        let rename = c.name.starts_with("rename");
        let ok = result.is_ok();
        match (self.resolve(c, d1, &from)?, self.resolve(c, d2, &to)?) {
            (Place::Under(f), Place::Under(t)) => {
                let op = if rename {
                    if ok {
                        self.fs.rename(&f, &t, flags & libc::RENAME_EXCHANGE != 0);
                    }
                    CallOp::Rename {
                        from: f.clone(),
                        to: t.clone(),
                        flags,
                    }
                } else {
                    if ok {
                        self.fs.link(&f, &t);
                    }
                    CallOp::Link {
                        from: f.clone(),
                        to: t.clone(),
                    }
                };
                self.emit(c, op, result, &[], &[&f, &t]);
            }
            (Place::Under(f), Place::Outside(o)) => {
                if ok && rename {
                    self.fs.existing(&f, Kind::File);
                    self.fs.remove(&f);
                }
                self.count_outside(&o);
            }
            (Place::Outside(o), Place::Under(t)) => {
                if ok {
                    self.fs.new_file(&t);
                }
                self.count_outside(&o);
            }
            (Place::Outside(o), Place::Outside(_)) => self.count_outside(&o),
        }
        Ok(())
    }

    /// Calls on one path: unlink, rmdir, mkdir, symlink, truncate, chmod, utime.
    fn path_op(&mut self, c: &Ctx, a: &[&str]) -> Res {
        let (dirfd, pi) = match c.name {
            "unlinkat" | "mkdirat" | "fchmodat" | "fchmodat2" => (a.first(), 1),
            "symlinkat" => (a.get(1), 2),
            "symlink" => (None, 1),
            _ => (None, 0),
        };
        let (Some(path), Some(result)) = (a.get(pi).and_then(|p| str_arg(p)), self.result(c)?)
        else {
            self.count(c.name);
            return Ok(());
        };
        let rel = match self.resolve(c, dirfd, &path)? {
            Place::Under(rel) => rel,
            Place::Outside(abs) => {
                self.count_outside(&abs);
                return Ok(());
            }
        };
        let ok = result.is_ok();
        let path = rel.clone();
        let mode = a.get(pi + 1).and_then(|m| parse_mode(m)).unwrap_or(0);
        let removedir = c.name == "rmdir"
            || (c.name == "unlinkat"
                && a.get(2)
                    .is_some_and(|f| other_flags(f) & libc::AT_REMOVEDIR as u32 != 0));
        let op = match c.name {
            "unlink" | "unlinkat" | "rmdir" => {
                if ok {
                    self.fs
                        .existing(&rel, if removedir { Kind::Dir } else { Kind::File });
                    self.fs.remove(&rel);
                }
                if removedir {
                    CallOp::Rmdir { path }
                } else {
                    CallOp::Unlink { path }
                }
            }
            "mkdir" | "mkdirat" => {
                match result {
                    Ok(_) => self.fs.mkdir(&rel),
                    Err(e) if e == libc::EEXIST => {
                        self.fs.existing(&rel, Kind::Dir);
                    }
                    Err(_) => {}
                }
                CallOp::Mkdir { path, mode }
            }
            "symlink" | "symlinkat" => {
                let target = a.first().and_then(|t| str_arg(t)).unwrap_or_default();
                if ok {
                    self.fs.symlink(&target, &rel);
                }
                CallOp::Symlink { target, path }
            }
            "truncate" | "truncate64" => {
                let len = unum(a, 1);
                if let (true, Some(n)) = (ok, self.fs.existing(&rel, Kind::File)) {
                    self.fs.truncate(n, len);
                }
                CallOp::Truncate { path, len }
            }
            "chmod" | "fchmodat" | "fchmodat2" => {
                if ok {
                    self.fs.existing(&rel, Kind::File);
                }
                CallOp::Chmod { path, mode }
            }
            _ => {
                if ok {
                    self.fs.existing(&rel, Kind::File);
                }
                CallOp::Utimens { path }
            }
        };
        self.emit(c, op, result, &[], &[&rel]);
        Ok(())
    }

    /// stat family and utimensat: on a path, or on an fd (AT_EMPTY_PATH, NULL).
    fn stat_like(&mut self, c: &Ctx, a: &[&str]) -> Res {
        let (dirfd, flags, buf) = match c.name {
            "stat" | "lstat" | "stat64" | "lstat64" => (None, None, a.get(1)),
            "statx" => (a.first(), a.get(2), a.get(4)),
            "utimensat" => (a.first(), a.get(3), None),
            _ => (a.first(), a.get(3), a.get(2)),
        };
        let pi = usize::from(dirfd.is_some());
        let flags = flags.map_or(0, |f| other_flags(f));
        let Some(result) = self.result(c)? else {
            self.count(c.name);
            return Ok(());
        };
        let path = a.get(pi).and_then(|p| str_arg(p));
        let utime = c.name == "utimensat";
        let on_fd = match &path {
            None => a.get(pi).is_some_and(|p| p.trim() == "NULL"),
            Some(p) => p.is_empty() && flags & libc::AT_EMPTY_PATH as u32 != 0,
        };
        if on_fd {
            let Use::Slot(slot) = self.fd_use(c, dirfd)? else {
                return Ok(());
            };
            let (_, node, path) = self.slot_path(slot);
            if result.is_ok() {
                self.stat_evidence(node, buf);
            }
            let op = if utime {
                CallOp::Futimens { slot }
            } else {
                CallOp::Fstat { slot }
            };
            self.emit(c, op, result, &[slot], &[&path]);
            return Ok(());
        }
        let Some(path) = path else {
            self.count(c.name);
            return Ok(());
        };
        let rel = match self.resolve(c, dirfd, &path)? {
            Place::Under(rel) => rel,
            Place::Outside(abs) => {
                self.count_outside(&abs);
                return Ok(());
            }
        };
        if result.is_ok() {
            let node = self.fs.existing(&rel, kind_of(buf));
            self.stat_evidence(node, buf);
        }
        let nofollow = c.name.starts_with("lstat") || flags & libc::AT_SYMLINK_NOFOLLOW as u32 != 0;
        let op = if utime {
            CallOp::Utimens { path: rel.clone() }
        } else {
            CallOp::Stat {
                path: rel.clone(),
                nofollow,
            }
        };
        self.emit(c, op, result, &[], &[&rel]);
        Ok(())
    }

    /// Calls that are not replayed; some change what later calls mean.
    fn tracked(&mut self, c: &Ctx, raw: &str, a: &[&str]) -> Res {
        self.count(c.name);
        let ok = c.ret.errno.is_none() && c.ret.value.is_some_and(|v| v >= 0);
        if !ok {
            return Ok(());
        }
        let value = c.ret.value.unwrap_or(0);
        match c.name {
            "clone" | "clone3" | "fork" | "vfork" => {
                let share = raw.contains("CLONE_FILES");
                if let Ok(child) = u32::try_from(value) {
                    if child > 0 && !self.born_since(child, c.line) {
                        self.child(c.pid, child, share, c.line);
                    }
                }
            }
            "execve" | "execveat" => self.exec(c.pid),
            "chdir" | "fchdir" => {
                let cwd = if c.name == "chdir" {
                    let Some(p) = a.first().and_then(|p| str_arg(p)) else {
                        return Ok(());
                    };
                    if p.starts_with('/') {
                        Some(normalize(&p))
                    } else {
                        self.base(c, None)?.map(|b| normalize(&format!("{b}/{p}")))
                    }
                } else {
                    self.base(c, a.first())?
                };
                if let (Some(cwd), Some(p)) = (cwd, self.procs.get_mut(&c.pid)) {
                    p.cwd = cwd;
                }
            }
            "close_range" => self.close_range(c, a),
            "copy_file_range" => self.copied(c, a, value),
            "pipe" | "pipe2" | "socketpair" => {
                let arr = if c.name == "socketpair" {
                    a.get(3)
                } else {
                    a.first()
                };
                let inner = arr.map_or("", |s| s.trim_start_matches('[').trim_end_matches(']'));
                let cloexec = raw.contains("CLOEXEC");
                for fd in split_args(inner)
                    .iter()
                    .filter_map(|f| fd_arg(f))
                    .map(|f| f.0)
                {
                    self.set_fd(
                        c.pid,
                        fd,
                        FdEntry {
                            r: FdRef::Other,
                            cloexec,
                        },
                    );
                }
            }
            "readlink" | "readlinkat" => {
                let pi = usize::from(c.name == "readlinkat");
                let dirfd = if pi == 1 { a.first() } else { None };
                let (Some(p), Some(t)) = (
                    a.get(pi).and_then(|p| str_arg(p)),
                    a.get(pi + 1).and_then(|t| str_arg(t)),
                ) else {
                    return Ok(());
                };
                if let Ok(Place::Under(rel)) = self.resolve(c, dirfd, &p) {
                    self.fs.existing(&rel, Kind::Symlink(t));
                }
            }
            name if FD_MAKERS.contains(&name) => {
                let cloexec = raw.contains("CLOEXEC");
                self.set_fd(
                    c.pid,
                    value,
                    FdEntry {
                        r: FdRef::Other,
                        cloexec,
                    },
                );
            }
            _ => {}
        }
        Ok(())
    }

    /// copy_file_range is not replayed, but what it wrote is in `after`.
    fn copied(&mut self, c: &Ctx, a: &[&str], n: i64) {
        let Some(FdRef::Slot(s)) = a
            .get(2)
            .and_then(|f| fd_arg(f))
            .and_then(|(fd, _)| self.get_fd(c.pid, fd))
            .map(|e| e.r.clone())
        else {
            return;
        };
        let (n, (d, node, _)) = (u64::try_from(n).unwrap_or(0), self.slot_path(s));
        let explicit = a
            .get(3)
            .and_then(|o| o.trim().trim_matches(['[', ']']).parse::<u64>().ok());
        let size = node.map_or(0, |id| self.fs.size(id));
        let Some(desc) = self.descs.get_mut(d) else {
            return;
        };
        let at = match explicit {
            Some(o) => o,
            None if desc.append => size,
            None => desc.pos,
        };
        if explicit.is_none() {
            desc.pos = at.saturating_add(n);
        }
        if let (Some(id), true) = (node, n > 0) {
            self.fs.write(id, at, n);
        }
    }

    /// close_range(first, last, flags): closes (or marks close-on-exec).
    fn close_range(&mut self, c: &Ctx, a: &[&str]) {
        let (first, last) = (
            num(a, 0),
            a.get(1).and_then(|s| parse_int(s)).unwrap_or(i64::MAX),
        );
        let cloexec = a.get(2).is_some_and(|f| f.contains("CLOSE_RANGE_CLOEXEC"));
        let Some(t) = self.table_mut(c.pid) else {
            return;
        };
        let fds: Vec<i64> = t
            .fds
            .keys()
            .copied()
            .filter(|fd| (first..=last).contains(fd))
            .collect();
        for fd in fds {
            if cloexec {
                if let Some(e) = self.table_mut(c.pid).and_then(|t| t.fds.get_mut(&fd)) {
                    e.cloexec = true;
                }
            } else if let Some(e) = self.remove_fd(c.pid, fd) {
                self.unref(&e.r);
            }
        }
    }
}
