//! Removing what a run recorded: one directory component at a time with
//! O_NOFOLLOW, relative to open descriptors, never across a mount.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStringExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

use super::*;

/// How one recorded path fared.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    Removed,
    /// Not there (any more): nothing to do.
    Absent,
    /// An `EmptyDir` with something in it: kept, as intended.
    NotEmpty,
    /// Not provably the run's own: left in place, and why.
    LeftAlone(String),
}

/// What a path must show before it is removed.
#[derive(Debug, Clone, Copy)]
pub(super) enum Proof<'a> {
    /// Under the run's own directory: being there is enough.
    Inside,
    /// Elsewhere: the device and inode recorded at creation, owner euid,
    /// and for a tree the marker holding the run id.
    Outside { dev: u64, ino: u64, run_id: &'a str },
}

/// Absolute, and nothing but names after the `/`.
pub(super) fn plain_absolute(path: &Path) -> bool {
    path.is_absolute()
        && path
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
}

/// Removes a recorded path of run `run_id`, whose directory is `run_dir`,
/// if it proves to be the run's own.
pub(super) fn remove_entry(run_dir: &Path, run_id: &str, c: &Created) -> io::Result<Outcome> {
    if !plain_absolute(&c.path) {
        return Ok(Outcome::LeftAlone(
            "not created by this run: not an absolute path without `..`".into(),
        ));
    }
    if c.path.starts_with(run_dir) && c.path != run_dir {
        return remove_path(&c.path, c.removal, Proof::Inside);
    }
    match (c.dev, c.ino) {
        (Some(dev), Some(ino)) => {
            remove_path(&c.path, c.removal, Proof::Outside { dev, ino, run_id })
        }
        _ if fs::symlink_metadata(&c.path).is_err() => Ok(Outcome::Absent),
        _ => Ok(Outcome::LeftAlone(
            "not created by this run as far as the manifest proves: it lies outside the run's \
             scratch directory and no device and inode were recorded for it (a manifest of an \
             older wpbench, or a run killed while creating it)"
                .into(),
        )),
    }
}

/// A directory opened without following symlinks, or why not.
pub(super) enum Opened {
    Dir(OwnedFd),
    Absent,
    Refused(String),
}

/// Opens the directory `path` (absolute, names only) one component at a
/// time from `/`, each with O_NOFOLLOW, so no symlink anywhere on the way
/// is followed (what openat2's RESOLVE_NO_SYMLINKS does, on any kernel).
/// An O_PATH descriptor: good for the *at calls, not for reading.
pub(super) fn open_dir_nofollow(path: &Path) -> io::Result<Opened> {
    if !plain_absolute(path) {
        return Ok(Opened::Refused(format!(
            "{} is not an absolute path without `..`",
            path.display()
        )));
    }
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut fd = rustix::fs::open("/", flags, Mode::empty())?;
    let mut at = PathBuf::from("/");
    for c in path.components() {
        let Component::Normal(name) = c else { continue };
        at.push(name);
        fd = match rustix::fs::openat(&fd, name, flags | OFlags::NOFOLLOW, Mode::empty()) {
            Ok(next) => next,
            Err(Errno::NOENT) => return Ok(Opened::Absent),
            Err(Errno::NOTDIR | Errno::LOOP) => {
                let what = match rustix::fs::statat(&fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => {
                        "a symlink (not followed)"
                    }
                    _ => "not a directory",
                };
                return Ok(Opened::Refused(format!("{} is {what}", at.display())));
            }
            Err(e) => return Err(e.into()),
        };
    }
    Ok(Opened::Dir(fd))
}

pub(super) fn is_dir(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::Directory
}

pub(super) fn same_inode(a: &Stat, b: &Stat) -> bool {
    dev_ino(a) == dev_ino(b)
}

/// Device and inode, as the manifest records them.
#[allow(clippy::unnecessary_cast)] // Not u64 on every target.
pub(super) fn dev_ino(st: &Stat) -> (u64, u64) {
    (st.st_dev as u64, st.st_ino as u64)
}

/// Removes `path` as `removal` says once it shows `proof`, without
/// following a symlink anywhere, descending into another filesystem, or
/// removing anything while something is mounted below it.
pub(super) fn remove_path(path: &Path, removal: Removal, proof: Proof) -> io::Result<Outcome> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(Outcome::LeftAlone("not a path wpbench records".into()));
    };
    let parent_fd = match open_dir_nofollow(parent)? {
        Opened::Dir(fd) => fd,
        Opened::Absent => return Ok(Outcome::Absent),
        Opened::Refused(why) => return Ok(Outcome::LeftAlone(why)),
    };
    let st = match rustix::fs::statat(&parent_fd, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::NOENT) => return Ok(Outcome::Absent),
        Err(e) => return Err(e.into()),
    };
    if let Proof::Outside { dev, ino, .. } = proof {
        let now = dev_ino(&st);
        if !is_dir(&st) || now != (dev, ino) {
            return Ok(Outcome::LeftAlone(format!(
                "not created by this run: the {} there now (device {}, inode {}) is not the \
                 directory the run created (device {dev}, inode {ino})",
                if is_dir(&st) { "directory" } else { "entry" },
                now.0,
                now.1
            )));
        }
        if st.st_uid != euid() {
            return Ok(Outcome::LeftAlone(format!(
                "not created by this run: owned by {}",
                describe_owner(st.st_uid)
            )));
        }
    }
    if !is_dir(&st) {
        // A file (a loop image), or a symlink where a directory was: the
        // entry only.
        rustix::fs::unlinkat(&parent_fd, name, AtFlags::empty())?;
        return Ok(Outcome::Removed);
    }
    if let Ok(entries) = mountinfo::read() {
        if let Some(m) = mountinfo::mounts_under(&entries, path).first() {
            return Err(io::Error::other(format!(
                "refusing to remove it: {} is still mounted below it",
                m.mount_point
            )));
        }
    }
    if is_mount_root(&parent_fd, name) {
        return Err(io::Error::other(
            "refusing to remove it: it is a mount point",
        ));
    }
    if removal == Removal::EmptyDir {
        // rmdir removes only an empty directory: nothing of anyone's can be
        // lost, whatever is there now.
        return match rustix::fs::unlinkat(&parent_fd, name, AtFlags::REMOVEDIR) {
            Ok(()) => Ok(Outcome::Removed),
            Err(Errno::NOTEMPTY | Errno::EXIST) => Ok(Outcome::NotEmpty),
            Err(Errno::NOENT) => Ok(Outcome::Absent),
            Err(e) => Err(e.into()),
        };
    }
    let dir = rustix::fs::openat(
        &parent_fd,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let top = rustix::fs::fstat(&dir)?;
    if !same_inode(&top, &st) {
        return Ok(Outcome::LeftAlone(
            "it was replaced while being examined".into(),
        ));
    }
    let marked = match proof {
        Proof::Inside => false,
        Proof::Outside { run_id, .. } => match check_marker(&dir, run_id) {
            Ok(()) => true,
            Err(why) => {
                return Ok(Outcome::LeftAlone(format!(
                    "not created by this run: {why}"
                )))
            }
        },
    };
    empty_tree(&dir, dev_ino(&top).0, path, marked.then_some(MARKER))?;
    // The marker goes last, so an interrupted removal can be completed.
    if marked {
        rustix::fs::unlinkat(&dir, MARKER, AtFlags::empty())?;
    }
    drop(dir);
    rustix::fs::unlinkat(&parent_fd, name, AtFlags::REMOVEDIR)?;
    Ok(Outcome::Removed)
}

/// True when `name` in `dir` is the root of a mount (of the same filesystem
/// too, like a bind mount), where statx can tell.
pub(super) fn is_mount_root(dir: &OwnedFd, name: &OsStr) -> bool {
    use rustix::fs::{StatxAttributes, StatxFlags};
    rustix::fs::statx(
        dir,
        name,
        AtFlags::SYMLINK_NOFOLLOW | AtFlags::NO_AUTOMOUNT,
        StatxFlags::empty(),
    )
    .is_ok_and(|x| {
        x.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT)
            && x.stx_attributes.contains(StatxAttributes::MOUNT_ROOT)
    })
}

/// Checks the marker in the directory `dir`: a regular file (not a
/// symlink) owned by euid holding `run_id`.
pub(super) fn check_marker(dir: &OwnedFd, run_id: &str) -> Result<(), String> {
    let fd = match rustix::fs::openat(
        dir,
        MARKER,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Err(format!("no marker file {MARKER} in it")),
        Err(Errno::LOOP) => return Err(format!("its {MARKER} is a symlink")),
        Err(e) => return Err(format!("its {MARKER} cannot be read: {e}")),
    };
    let st = rustix::fs::fstat(&fd).map_err(|e| format!("its {MARKER}: {e}"))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(format!("its {MARKER} is not a regular file"));
    }
    if st.st_uid != euid() {
        return Err(format!(
            "its {MARKER} is owned by {}",
            describe_owner(st.st_uid)
        ));
    }
    let mut text = String::new();
    fs::File::from(fd)
        .take(256)
        .read_to_string(&mut text)
        .map_err(|e| format!("its {MARKER} cannot be read: {e}"))?;
    if text.trim_end() != run_id {
        return Err(format!(
            "its {MARKER} names run {:?}, not {run_id}",
            text.trim_end()
        ));
    }
    Ok(())
}

/// Removes everything in the directory `dir` (except `skip` at its top),
/// relative to descriptors: symlinks are removed, never followed, and a
/// subdirectory on another device than `top_dev` or at a mount point is
/// not entered but reported.
pub(super) fn empty_tree(
    dir: &OwnedFd,
    top_dev: u64,
    path: &Path,
    skip: Option<&str>,
) -> io::Result<()> {
    let mut names = Vec::new();
    for entry in rustix::fs::Dir::read_from(dir)? {
        let name = entry?.file_name().to_bytes().to_vec();
        if name == b"." || name == b".." || skip.is_some_and(|s| s.as_bytes() == name) {
            continue;
        }
        names.push(OsString::from_vec(name));
    }
    for name in names {
        let st = match rustix::fs::statat(dir, &name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => continue,
            Err(e) => return Err(e.into()),
        };
        if !is_dir(&st) {
            match rustix::fs::unlinkat(dir, &name, AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let below = path.join(&name);
        if dev_ino(&st).0 != top_dev || is_mount_root(dir, &name) {
            return Err(io::Error::other(format!(
                "refusing to remove it: another filesystem is mounted at {}",
                below.display()
            )));
        }
        let sub = rustix::fs::openat(
            dir,
            &name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        if !same_inode(&rustix::fs::fstat(&sub)?, &st) {
            return Err(io::Error::other(format!(
                "{} was replaced while being removed",
                below.display()
            )));
        }
        empty_tree(&sub, top_dev, &below, None)?;
        drop(sub);
        rustix::fs::unlinkat(dir, &name, AtFlags::REMOVEDIR)?;
    }
    Ok(())
}

/// `--keep`: the marker of a kept hostPath subdirectory goes (once the run
/// ends, no manifest refers to it); the rest stays for the user.
pub(super) fn unmark(c: &Created, run_id: &str) {
    let (Some(dev), Some(ino), Removal::Tree) = (c.dev, c.ino, c.removal) else {
        return;
    };
    let Ok(Opened::Dir(fd)) = open_dir_nofollow(&c.path) else {
        return;
    };
    let Ok(st) = rustix::fs::fstat(&fd) else {
        return;
    };
    if dev_ino(&st) == (dev, ino) && check_marker(&fd, run_id).is_ok() {
        let _ = rustix::fs::unlinkat(&fd, MARKER, AtFlags::empty());
    }
}
