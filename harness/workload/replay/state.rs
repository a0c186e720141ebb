//! The replay's directory before and after a pass: remade as the trace
//! found it, and compared with what the trace left.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use crate::cancel::Cancel;
use crate::record::errno::errno_name;
use crate::scenario::trace::{EntryKind, Trace};

use super::calls::Parent;
use crate::scenario::units::format_size;
use crate::scenario::{self, Timing};
use crate::workload::payload::Payload;
use crate::workload::sys;

/// Removes what the last pass left at `dir`, makes the entries the trace
/// found there, and opens it.
pub fn remake(
    dir: &Path,
    trace: &Trace,
    payload: &mut Payload,
    cancel: &Cancel,
) -> io::Result<OwnedFd> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::create_dir(dir)?;
    let root = sys::open_root(dir)?;
    let mut buf = Vec::new();
    let mut made: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for (i, e) in trace.before.iter().enumerate() {
        cancel.check()?;
        make_parents(root.as_fd(), &e.path, &mut made)?;
        made.insert(&e.path);
        // Beneath the root, whatever symlinks the trace found on the way.
        let parent = Parent::of(root.as_fd(), &e.path).map_err(io::Error::from_raw_os_error)?;
        let (dir, name) = (parent.fd(root.as_fd()), parent.name.as_c_str());
        match &e.kind {
            EntryKind::Dir => rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o755))?,
            EntryKind::Symlink { target } => {
                // A symlink seen only by lstat has no known target: one
                // that stays in place stands in for it.
                let target = cname(if target.is_empty() { "." } else { target })?;
                rustix::fs::symlinkat(target.as_c_str(), dir, name)?
            }
            EntryKind::File { size } => {
                let fd = sys::create_new(dir, name)?;
                sys::write_record_file(
                    fd.as_fd(),
                    payload,
                    &mut buf,
                    u32::MAX,
                    i as u64,
                    *size,
                    cancel,
                )?;
                rustix::fs::fsync(&fd)?;
            }
        }
    }
    // What remaking wrote is flushed as it is written (each file above, the
    // directory here), untimed, rather than inside the pass's first fsync;
    // not with syncfs, which on a hostPath would flush every tenant's writes.
    rustix::fs::fsync(&root)?;
    Ok(root)
}

/// Makes the directories `path` lies in that are not made yet (the trace
/// may show a file in a directory it never looked at itself).
fn make_parents<'a>(
    root: BorrowedFd,
    path: &'a str,
    made: &mut std::collections::HashSet<&'a str>,
) -> io::Result<()> {
    for (i, _) in path.match_indices('/') {
        let dir = &path[..i];
        if made.contains(dir) {
            continue;
        }
        let parent = Parent::of(root, dir).map_err(io::Error::from_raw_os_error)?;
        match rustix::fs::mkdirat(
            parent.fd(root),
            parent.name.as_c_str(),
            Mode::from_raw_mode(0o755),
        ) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(e.into()),
        }
        made.insert(dir);
    }
    Ok(())
}

fn cname(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

/// Passes whose end state differed from the trace's, and the first
/// difference seen.
#[derive(Default)]
pub struct Differences {
    passes: u64,
    differing: u64,
    first: Option<String>,
    reset_error: Option<String>,
}

impl Differences {
    /// Compares the entries under `root` with what the trace left.
    pub fn compare(&mut self, root: BorrowedFd, trace: &Trace) {
        self.passes += 1;
        if let Some(d) = first_difference(root, trace) {
            self.differing += 1;
            self.first.get_or_insert(d);
        }
    }

    pub fn reset_failed(&mut self, e: io::Error) {
        self.reset_error.get_or_insert_with(|| {
            format!("replay: the directory could not be remade for the next pass: {e}")
        });
    }

    pub fn notes(&self) -> Vec<String> {
        let mut notes: Vec<String> = self.reset_error.iter().cloned().collect();
        if let Some(first) = &self.first {
            notes.push(format!(
                "replay: {} of {} passes ended differently from the trace ({first})",
                self.differing, self.passes
            ));
        }
        notes
    }
}

/// What a pass's end state and the trace's disagree on first, in words.
pub fn first_difference(root: BorrowedFd, trace: &Trace) -> Option<String> {
    let mut found: BTreeMap<String, EntryKind> = BTreeMap::new();
    list(root, "", &mut found);
    let expected: BTreeMap<&str, &EntryKind> = trace
        .after
        .iter()
        .map(|e| (e.path.as_str(), &e.kind))
        .collect();
    for (path, kind) in &expected {
        match found.get(*path) {
            None => {
                return Some(format!(
                    "`{path}` is missing; the trace left {}",
                    what(kind)
                ))
            }
            Some(k) if !same(k, kind) => {
                return Some(format!(
                    "`{path}` is {}; the trace left {}",
                    what(k),
                    what(kind)
                ))
            }
            Some(_) => {}
        }
    }
    let extra = found.keys().find(|p| !expected.contains_key(p.as_str()))?;
    Some(format!(
        "`{extra}` is there; the trace removed it or never made it"
    ))
}

fn same(a: &EntryKind, b: &EntryKind) -> bool {
    match (a, b) {
        (EntryKind::File { size: x }, EntryKind::File { size: y }) => x == y,
        (EntryKind::Dir, EntryKind::Dir) => true,
        (EntryKind::Symlink { .. }, EntryKind::Symlink { .. }) => true,
        _ => false,
    }
}

fn what(k: &EntryKind) -> String {
    match k {
        EntryKind::File { size } => format!("a file of {}", format_size(*size)),
        EntryKind::Dir => "a directory".into(),
        EntryKind::Symlink { target } => format!("a symlink to `{target}`"),
    }
}

/// Every entry under `dir` (relative paths, joined with `/`), without
/// following symlinks. Unreadable directories are skipped: the difference
/// shows as missing entries.
fn list(dir: BorrowedFd, prefix: &str, out: &mut BTreeMap<String, EntryKind>) {
    let Ok(fd) = rustix::fs::openat(
        dir,
        c".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    let Ok(mut entries) = rustix::fs::Dir::read_from(&fd) else {
        return;
    };
    let mut subdirs = Vec::new();
    while let Some(Ok(e)) = entries.read() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "." || name == ".." {
            continue;
        }
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        let Ok(st) = rustix::fs::statat(&fd, e.file_name(), AtFlags::SYMLINK_NOFOLLOW) else {
            continue;
        };
        let kind = match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => {
                subdirs.push((e.file_name().to_owned(), path.clone()));
                EntryKind::Dir
            }
            FileType::Symlink => EntryKind::Symlink {
                target: String::new(),
            },
            _ => EntryKind::File {
                size: st.st_size as u64,
            },
        };
        out.insert(path, kind);
    }
    for (name, path) in subdirs {
        if let Ok(sub) = sys::open_dir(fd.as_fd(), &name) {
            list(sub.as_fd(), &path, out);
        }
    }
}

/// What a reader should know of the trace: what was not replayed.
pub fn trace_notes(p: &scenario::Replay) -> Vec<String> {
    let t = &p.trace;
    let mut notes = Vec::new();
    if !t.not_replayed.is_empty() {
        let total: u64 = t.not_replayed.iter().map(|(_, n)| n).sum();
        let top: Vec<String> = t
            .not_replayed
            .iter()
            .take(6)
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        let more = if t.not_replayed.len() > 6 {
            ", …"
        } else {
            ""
        };
        notes.push(format!(
            "replay: {total} calls of the trace not replayed (not file calls, or on pipes \
             and sockets): {}{more}",
            top.join(", ")
        ));
    }
    if t.outside_calls > 0 {
        let shown: Vec<&str> = t.outside.iter().take(4).map(String::as_str).collect();
        notes.push(format!(
            "replay: {} calls on {} paths outside the traced directory `{}` not replayed: {}{}",
            t.outside_calls,
            t.outside.len(),
            t.root,
            shown.join(", "),
            if t.outside.len() > 4 { ", …" } else { "" }
        ));
    }
    if p.timing == Timing::Original {
        notes.push(format!(
            "replay: timing original at speed {}: each call is measured from when the trace \
             says it started",
            p.speed
        ));
    }
    let failed: u64 = t.calls().filter(|c| c.result.is_err()).count() as u64;
    if failed > 0 {
        let first = t
            .calls()
            .find_map(|c| c.result.err())
            .map(errno_name)
            .unwrap_or_default();
        notes.push(format!(
            "replay: {failed} calls failed in the trace (first with {first}) and are expected \
             to fail the same way"
        ));
    }
    notes
}
