//! The trace room: an strace trace in, a typed replay model out.
//!
//! This room is for `kind: replay` (issue 17): a user records their program
//! with `strace -f -ttt -T -y -o FILE CMD…`, and wpbench replays the file
//! calls it made under a cell's directory. Here the text of the trace
//! becomes a [`Trace`]: one [`TraceThread`] per traced pid with the calls
//! the replay makes ([`CallOp`]), the fd slots they use, the files that must
//! exist before ([`Trace::before`]) and what the calls leave ([`Trace::after`]).
//! Pure: nothing here touches the system; the scenario loader reads the
//! file and the replay worker executes the model.
//!
//! `lex` splits one line into its columns, `build` follows processes, fd
//! tables and dependencies, `ops` decodes each syscall's arguments, `sim`
//! simulates the files the calls touch.
//! Traces are user input: every problem is a [`TraceError`] with its line,
//! never a panic.
//!
//! What the model leaves out, on purpose: an fd replaced by dup2/dup3 or
//! closed by close_range makes no Close (its slot stays open in the replay);
//! a failed dup makes no Dup; copy_file_range/sendfile are not replayed
//! (copy_file_range's bytes do count in `after`); `before` knows a file's
//! kind only from O_DIRECTORY, stat modes and entries under it.

mod build;
mod lex;
mod ops;
mod sim;

#[cfg(test)]
mod tests;

/// Parses the text of a trace. `root` is the directory that maps onto the
/// cell's directory; without it, the traced program's first working
/// directory (from `-y`) is used.
pub fn parse(text: &str, root: Option<&str>) -> Result<Trace, TraceError> {
    build::parse(text, root)
}

/// A problem with the trace, at a 1-based line (0: not about one line).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct TraceError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The directory mapped onto the cell's directory: `root` if given, else
    /// the traced program's initial working directory (from the first
    /// `AT_FDCWD</dir>` annotation of -y). "" when neither is known: then
    /// the trace may only use relative paths.
    pub root: String,
    /// Threads in order of first appearance (one per strace pid), calls in
    /// trace order.
    pub threads: Vec<TraceThread>,
    /// How many fd slots the replay needs (see [`Slot`]).
    pub slots: usize,
    /// What exists under root before the trace's first call, as far as the
    /// calls show it, with the sizes the trace implies. Sorted by path,
    /// parents before children. Root itself ("") is not listed.
    pub before: Vec<Entry>,
    /// What the calls leave under root, simulated; only entries the trace
    /// touched or listed in `before`. Sorted by path.
    pub after: Vec<Entry>,
    /// Calls seen but not replayed, by syscall name, most frequent first.
    pub not_replayed: Vec<(String, u64)>,
    /// Distinct paths outside root that calls used (first 20, in order of
    /// appearance), and how many calls were dropped for that.
    pub outside: Vec<String>,
    pub outside_calls: u64,
    /// Number of lines in the trace.
    pub lines: usize,
}

impl Trace {
    /// Every call of every thread (threads in order, each in trace order).
    pub fn calls(&self) -> impl Iterator<Item = &Call> {
        self.threads.iter().flat_map(|t| &t.calls)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TraceThread {
    pub pid: u32,
    pub calls: Vec<Call>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub line: usize,
    /// Start of the call, from the trace's first timestamped line.
    pub at: std::time::Duration,
    pub op: CallOp,
    /// What it returned in the trace: Ok(return value) or Err(errno).
    pub result: Result<i64, i32>,
    /// Calls of other threads that must have completed before this one
    /// starts: (thread index, call index), at most one per other thread.
    pub after: Vec<(usize, usize)>,
}

/// Index of one open file description in the replay's fd table
/// (0..Trace::slots). Every successful open/creat/dup* makes a new slot;
/// slots are never reused.
pub type Slot = usize;

/// A path relative to root: normalized, no leading '/', no '.' or '..'
/// components, "" = root.
pub type RelPath = String;

#[derive(Debug, Clone, PartialEq)]
pub enum CallOp {
    /// open/openat/openat2/creat; `flags` as libc bits; slot None when the
    /// call failed.
    Open {
        path: RelPath,
        flags: i32,
        mode: u32,
        slot: Option<Slot>,
    },
    /// `last`: false when another fd table entry (of a forked child or
    /// parent) still refers to the slot, so the replay must not close it yet.
    Close {
        slot: Slot,
        last: bool,
    },
    /// len = bytes returned (requested when it failed); offset for p* forms.
    Read {
        slot: Slot,
        len: u64,
        offset: Option<u64>,
    },
    Write {
        slot: Slot,
        len: u64,
        offset: Option<u64>,
    },
    Fsync {
        slot: Slot,
    },
    Fdatasync {
        slot: Slot,
    },
    SyncFileRange {
        slot: Slot,
        offset: u64,
        len: u64,
        flags: u32,
    },
    Syncfs {
        slot: Slot,
    },
    Ftruncate {
        slot: Slot,
        len: u64,
    },
    Truncate {
        path: RelPath,
        len: u64,
    },
    Fallocate {
        slot: Slot,
        mode: i32,
        offset: u64,
        len: u64,
    },
    Rename {
        from: RelPath,
        to: RelPath,
        flags: u32,
    },
    Unlink {
        path: RelPath,
    },
    Rmdir {
        path: RelPath,
    },
    Mkdir {
        path: RelPath,
        mode: u32,
    },
    Link {
        from: RelPath,
        to: RelPath,
    },
    /// `target` verbatim as the trace shows it.
    Symlink {
        target: String,
        path: RelPath,
    },
    Stat {
        path: RelPath,
        nofollow: bool,
    },
    Fstat {
        slot: Slot,
    },
    Chmod {
        path: RelPath,
        mode: u32,
    },
    Fchmod {
        slot: Slot,
        mode: u32,
    },
    Utimens {
        path: RelPath,
    },
    Futimens {
        slot: Slot,
    },
    Lseek {
        slot: Slot,
        offset: i64,
        whence: i32,
    },
    /// `to` is a new slot sharing `from`'s description.
    Dup {
        from: Slot,
        to: Slot,
    },
    /// fcntl(fd, F_SETFL, flags): O_APPEND|O_DIRECT|O_NONBLOCK|O_NOATIME.
    SetFl {
        slot: Slot,
        flags: i32,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub path: RelPath,
    pub kind: EntryKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EntryKind {
    File { size: u64 },
    Dir,
    Symlink { target: String },
}

/// errno name → number, for the calls that are replayed.
fn errno_number(name: &str) -> Option<i32> {
    Some(match name {
        "EPERM" => libc::EPERM,
        "ENOENT" => libc::ENOENT,
        "EINTR" => libc::EINTR,
        "EIO" => libc::EIO,
        "ENXIO" => libc::ENXIO,
        "EBADF" => libc::EBADF,
        "EAGAIN" | "EWOULDBLOCK" => libc::EAGAIN,
        "ENOMEM" => libc::ENOMEM,
        "EACCES" => libc::EACCES,
        "EBUSY" => libc::EBUSY,
        "EEXIST" => libc::EEXIST,
        "EXDEV" => libc::EXDEV,
        "ENODEV" => libc::ENODEV,
        "ENOTDIR" => libc::ENOTDIR,
        "EISDIR" => libc::EISDIR,
        "EINVAL" => libc::EINVAL,
        "ENFILE" => libc::ENFILE,
        "EMFILE" => libc::EMFILE,
        "ETXTBSY" => libc::ETXTBSY,
        "EFBIG" => libc::EFBIG,
        "ENOSPC" => libc::ENOSPC,
        "ESPIPE" => libc::ESPIPE,
        "EROFS" => libc::EROFS,
        "EMLINK" => libc::EMLINK,
        "ERANGE" => libc::ERANGE,
        "ENAMETOOLONG" => libc::ENAMETOOLONG,
        "ENOSYS" => libc::ENOSYS,
        "ENOTEMPTY" => libc::ENOTEMPTY,
        "ELOOP" => libc::ELOOP,
        "ENODATA" => libc::ENODATA,
        "EOPNOTSUPP" | "ENOTSUP" => libc::EOPNOTSUPP,
        "EOVERFLOW" => libc::EOVERFLOW,
        "ETIMEDOUT" => libc::ETIMEDOUT,
        "ESTALE" => libc::ESTALE,
        "EDQUOT" => libc::EDQUOT,
        "ENOTTY" => libc::ENOTTY,
        "ECHILD" => libc::ECHILD,
        "EFAULT" => libc::EFAULT,
        "ENOLCK" => libc::ENOLCK,
        "EUCLEAN" => libc::EUCLEAN,
        "EPIPE" => libc::EPIPE,
        "ESRCH" => libc::ESRCH,
        "E2BIG" => libc::E2BIG,
        "ENOEXEC" => libc::ENOEXEC,
        "EDEADLK" => libc::EDEADLK,
        "ENOTBLK" => libc::ENOTBLK,
        "EDOM" => libc::EDOM,
        "EILSEQ" => libc::EILSEQ,
        "ENOBUFS" => libc::ENOBUFS,
        "ENOTSOCK" => libc::ENOTSOCK,
        "ENOTCONN" => libc::ENOTCONN,
        "ECONNRESET" => libc::ECONNRESET,
        "ECONNREFUSED" => libc::ECONNREFUSED,
        "ECANCELED" => libc::ECANCELED,
        "ENOMEDIUM" => libc::ENOMEDIUM,
        "EMEDIUMTYPE" => libc::EMEDIUMTYPE,
        "ENOKEY" => libc::ENOKEY,
        "EKEYEXPIRED" => libc::EKEYEXPIRED,
        "EBADFD" => libc::EBADFD,
        "EREMOTEIO" => libc::EREMOTEIO,
        "EBADMSG" => libc::EBADMSG,
        "EPROTO" => libc::EPROTO,
        "ENOLINK" => libc::ENOLINK,
        "ETIME" => libc::ETIME,
        "EHWPOISON" => libc::EHWPOISON,
        _ => return None,
    })
}

/// One `|`-separated flag word → its bits; numbers (`0x8000`) as written.
fn open_flag(name: &str) -> i32 {
    match name {
        "O_RDONLY" | "O_LARGEFILE" => 0,
        "O_WRONLY" => libc::O_WRONLY,
        "O_RDWR" => libc::O_RDWR,
        "O_CREAT" => libc::O_CREAT,
        "O_EXCL" => libc::O_EXCL,
        "O_NOCTTY" => libc::O_NOCTTY,
        "O_TRUNC" => libc::O_TRUNC,
        "O_APPEND" => libc::O_APPEND,
        "O_NONBLOCK" | "O_NDELAY" => libc::O_NONBLOCK,
        "O_DSYNC" => libc::O_DSYNC,
        "O_SYNC" => libc::O_SYNC,
        "O_RSYNC" => libc::O_RSYNC,
        "O_DIRECT" => libc::O_DIRECT,
        "O_DIRECTORY" => libc::O_DIRECTORY,
        "O_NOFOLLOW" => libc::O_NOFOLLOW,
        "O_NOATIME" => libc::O_NOATIME,
        "O_CLOEXEC" => libc::O_CLOEXEC,
        "O_PATH" => libc::O_PATH,
        "O_TMPFILE" => libc::O_TMPFILE,
        "O_ASYNC" | "FASYNC" => libc::O_ASYNC,
        other => lex::parse_int(other)
            .and_then(|v| i32::try_from(v).ok())
            .unwrap_or(0),
    }
}

/// `O_WRONLY|O_CREAT|O_TRUNC` → libc bits, O_LARGEFILE dropped.
fn open_flags(s: &str) -> i32 {
    s.split('|')
        .map(|w| open_flag(w.trim()))
        .fold(0, |a, b| a | b)
        & !libc::O_LARGEFILE
}

/// Other symbolic flag words (rename, sync_file_range, fallocate, whence …).
fn other_flags(s: &str) -> u32 {
    s.split('|')
        .map(|w| match w.trim() {
            "RENAME_NOREPLACE" => libc::RENAME_NOREPLACE,
            "RENAME_EXCHANGE" => libc::RENAME_EXCHANGE,
            "RENAME_WHITEOUT" => libc::RENAME_WHITEOUT,
            "SYNC_FILE_RANGE_WAIT_BEFORE" => libc::SYNC_FILE_RANGE_WAIT_BEFORE,
            "SYNC_FILE_RANGE_WRITE" => libc::SYNC_FILE_RANGE_WRITE,
            "SYNC_FILE_RANGE_WAIT_AFTER" => libc::SYNC_FILE_RANGE_WAIT_AFTER,
            "FALLOC_FL_KEEP_SIZE" => libc::FALLOC_FL_KEEP_SIZE as u32,
            "FALLOC_FL_PUNCH_HOLE" => libc::FALLOC_FL_PUNCH_HOLE as u32,
            "FALLOC_FL_COLLAPSE_RANGE" => libc::FALLOC_FL_COLLAPSE_RANGE as u32,
            "FALLOC_FL_ZERO_RANGE" => libc::FALLOC_FL_ZERO_RANGE as u32,
            "FALLOC_FL_INSERT_RANGE" => libc::FALLOC_FL_INSERT_RANGE as u32,
            "FALLOC_FL_UNSHARE_RANGE" => libc::FALLOC_FL_UNSHARE_RANGE as u32,
            "AT_REMOVEDIR" => libc::AT_REMOVEDIR as u32,
            "AT_SYMLINK_NOFOLLOW" => libc::AT_SYMLINK_NOFOLLOW as u32,
            "AT_EMPTY_PATH" => libc::AT_EMPTY_PATH as u32,
            "AT_SYMLINK_FOLLOW" => libc::AT_SYMLINK_FOLLOW as u32,
            other => lex::parse_int(other)
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0),
        })
        .fold(0, |a, b| a | b)
}

fn whence(s: &str) -> i32 {
    match s.trim() {
        "SEEK_SET" => libc::SEEK_SET,
        "SEEK_CUR" => libc::SEEK_CUR,
        "SEEK_END" => libc::SEEK_END,
        "SEEK_DATA" => libc::SEEK_DATA,
        "SEEK_HOLE" => libc::SEEK_HOLE,
        other => lex::parse_int(other)
            .and_then(|v| i32::try_from(v).ok())
            .unwrap_or(0),
    }
}
