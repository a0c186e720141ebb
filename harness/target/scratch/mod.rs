//! The run's scratch area and its manifest: what this run created, so that
//! teardown — or the guardian or `wpbench cleanup` after a SIGKILL —
//! removes exactly that and nothing else.
//!
//! Layout: `<root>/<run-id>/manifest.json` plus `mnt/`, `img/` and
//! `lower/`. Paths the run creates elsewhere (a hostPath's fresh
//! subdirectory, and the parents of a hostPath base it had to make) are
//! written to the manifest *before* they are created, and their device and
//! inode right after. The cgroups a run makes are recorded by name before
//! they are made.
//!
//! wpbench runs as root, and a file that names paths to remove must not be
//! something another user could have written. The rules:
//!
//! - The scratch root is owned by the user wpbench runs as (euid) and not
//!   writable by group or others; wpbench creates it so (mode 0700), and
//!   makes an empty one of euid's 0700 (a Kubernetes emptyDir is 0777). Each
//!   existing ancestor is owned by root or euid and is not writable by
//!   group or others unless it has the sticky bit (`/tmp`, `/var/tmp`).
//!   Otherwise `run` and `cleanup` stop (exit 3) before writing anything.
//! - A run directory and its manifest are acted on only if the directory
//!   is a directory (not a symlink) owned by euid and not writable by group
//!   or others, and the manifest a regular file (not a symlink) owned by
//!   euid that names the run of its directory. Otherwise: reported, left
//!   alone.
//! - A recorded path is removed only if it lies under the run's own
//!   directory (absolute, no `..`), or it carries the proof that this run
//!   made it: the device and inode recorded at creation, owner euid, and
//!   for a hostPath subdirectory the marker file [`MARKER`] holding the run
//!   id. Anything else is reported and left alone.
//! - Removal never follows a symlink: every directory is opened one
//!   component at a time from `/` with O_NOFOLLOW, and everything below is
//!   removed relative to those descriptors (openat/unlinkat). It never
//!   descends into another filesystem or a mount point, and refuses while
//!   something is mounted below the path.

use std::fs;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use serde::{Deserialize, Serialize};

use super::mountinfo;
use crate::error::Error;

const MANIFEST: &str = "manifest.json";

/// The file wpbench writes into each hostPath subdirectory it creates,
/// holding the run id: with the recorded device and inode, the proof that
/// a directory outside the scratch area is the run's own. Workloads skip
/// `.wpbench*` entries.
pub const MARKER: &str = ".wpbench-run";

/// How a recorded path is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Removal {
    /// The whole tree: the run made it and everything in it.
    Tree,
    /// Only if empty: a parent directory the run had to create.
    EmptyDir,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Created {
    path: PathBuf,
    removal: Removal,
    /// Device and inode right after the run created it (set for paths
    /// outside the run's directory, which need them as proof).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dev: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ino: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Manifest {
    run_id: String,
    pid: u32,
    /// The owner's start time (clock ticks since boot, /proc/PID/stat
    /// field 22), so a recycled PID is not mistaken for the owner.
    start_ticks: u64,
    created: Vec<Created>,
    /// The run's results directory (absolute), so whoever removes a killed
    /// run's leftovers can mark its result.json as killed.
    #[serde(default)]
    result_dir: Option<PathBuf>,
    /// Names of the cgroups the run makes (`wpbench-<run_id>-<n>`, at the
    /// top of a cgroup hierarchy), each recorded before it is made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    cgroups: Vec<String>,
}

/// This run's scratch directory. Removes everything it recorded on drop.
#[derive(Debug)]
pub struct ScratchArea {
    /// The scratch root, symlinks resolved, checked by [`trusted_root`].
    root: PathBuf,
    dir: PathBuf,
    manifest: Manifest,
    keep: bool,
}

/// Where scratch areas live unless `--scratch` or `WPBENCH_SCRATCH` says otherwise.
pub fn default_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("WPBENCH_SCRATCH") {
        return PathBuf::from(dir);
    }
    let uid = rustix::process::geteuid();
    if uid.is_root() {
        PathBuf::from("/var/tmp/wpbench-runs")
    } else {
        std::env::temp_dir().join(format!("wpbench-runs-{}", uid.as_raw()))
    }
}

fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// The user name of `uid` from /etc/passwd, if it has one there.
fn user_name(uid: u32) -> Option<String> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
    })
}

/// `uid 65534 (nobody)`.
fn describe_owner(uid: u32) -> String {
    match user_name(uid) {
        Some(name) => format!("uid {uid} ({name})"),
        None => format!("uid {uid}"),
    }
}

/// `0755 (drwxr-xr-x)`, as ls shows it (directories only).
fn describe_mode(mode: u32) -> String {
    let mut s = String::from("d");
    for (i, c) in "rwxrwxrwx".chars().enumerate() {
        let bit = 0o400 >> i;
        let special = match i {
            2 if mode & 0o4000 != 0 => Some('s'),
            5 if mode & 0o2000 != 0 => Some('s'),
            8 if mode & 0o1000 != 0 => Some('t'),
            _ => None,
        };
        s.push(match (mode & bit != 0, special) {
            (true, Some(x)) => x,
            (false, Some(x)) => x.to_ascii_uppercase(),
            (true, None) => c,
            (false, None) => '-',
        });
    }
    format!("{:04o} ({s})", mode & 0o7777)
}

/// Writable by group or others.
fn shared_writable(mode: u32) -> bool {
    mode & 0o022 != 0
}

fn refuse(root: &Path, what: String, fix: String) -> Error {
    Error::Environment(format!(
        "refusing to use the scratch root {}: {what}. wpbench (running as {}) removes what the \
         manifests in its scratch root name, so it uses only one no other user can write. \
         {fix}, or give another with --scratch DIR",
        root.display(),
        describe_owner(euid())
    ))
}

/// The scratch root as wpbench uses it — absolute, with the symlinks of
/// its existing part resolved — once it is safe: an existing root is a
/// directory owned by euid and not writable by group or others, and every
/// existing ancestor is owned by root or euid and not writable by group or
/// others unless it is sticky (like /tmp). Otherwise another user could
/// plant a manifest in it or put another directory in its place.
/// `Error::Environment` (exit 3) names the path, its owner and mode, and
/// what to do. Creates nothing; an empty root of euid's that others could
/// write is made 0700 (see [`tighten_if_empty`]).
pub fn trusted_root(root: &Path) -> Result<PathBuf, Error> {
    let abs = if root.is_absolute() {
        root.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::Environment(format!("cannot read the current directory: {e}")))?
            .join(root)
    };
    let existing = abs
        .ancestors()
        .find(|p| fs::symlink_metadata(p).is_ok())
        .unwrap_or(Path::new("/"));
    let rest = abs.strip_prefix(existing).unwrap_or(Path::new(""));
    if rest
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err(Error::Usage(format!(
            "scratch root {}: `..` in a part that does not exist yet; give the path without it",
            root.display()
        )));
    }
    let real = existing.canonicalize().map_err(|e| {
        Error::Environment(format!(
            "scratch root {}: cannot resolve {}: {e}",
            root.display(),
            existing.display()
        ))
    })?;
    let canonical = if rest.as_os_str().is_empty() {
        real
    } else {
        real.join(rest)
    };
    let me = euid();
    for ancestor in canonical.ancestors().skip(1) {
        let Ok(meta) = fs::symlink_metadata(ancestor) else {
            continue; // Made by wpbench, as checked here, when the root is created.
        };
        let (uid, mode) = (meta.uid(), meta.mode());
        let problem = if uid != 0 && uid != me {
            Some(format!("is owned by {}", describe_owner(uid)))
        } else if shared_writable(mode) && mode & 0o1000 == 0 {
            Some("is writable by group or others without the sticky bit".to_string())
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(refuse(
                &canonical,
                format!(
                    "its ancestor {} {problem} (owner {}, mode {}), so another user could put \
                     another directory in its place",
                    ancestor.display(),
                    describe_owner(uid),
                    describe_mode(mode)
                ),
                format!(
                    "Make {0} owned by root and writable only by its owner (`chown root {0} && \
                     chmod go-w {0}`)",
                    ancestor.display()
                ),
            ));
        }
    }
    match fs::symlink_metadata(&canonical) {
        Ok(meta) => {
            let (uid, mode) = (meta.uid(), meta.mode());
            let problem = if !meta.is_dir() {
                Some("it is not a directory".to_string())
            } else if uid != me {
                Some(format!(
                    "it is owned by {}, mode {}",
                    describe_owner(uid),
                    describe_mode(mode)
                ))
            } else if shared_writable(mode) && !tighten_if_empty(&canonical) {
                Some(format!(
                    "it is writable by group or others and not empty: owner {}, mode {}",
                    describe_owner(uid),
                    describe_mode(mode)
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                let me_name = user_name(me).unwrap_or_else(|| me.to_string());
                return Err(refuse(
                    &canonical,
                    problem,
                    format!(
                        "Look at what is in it, then remove it (wpbench creates it afresh, mode \
                         0700) or make it yours alone (`chown {me_name} {0} && chmod 700 {0}`)",
                        canonical.display()
                    ),
                ));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Error::Environment(format!(
                "cannot examine the scratch root {}: {e}",
                canonical.display()
            )))
        }
    }
    Ok(canonical)
}

/// Makes `dir` (owned by euid, its ancestors checked) 0700 if it is empty,
/// and says whether it is empty then. An empty directory of ours that
/// others could write is as good as one wpbench creates once it is 0700 —
/// a Kubernetes emptyDir, wpbench's scratch root in a pod, is made 0777 —
/// provided it is still empty after the chmod: nothing can be added after
/// it. A directory with anything in it is refused untouched.
fn tighten_if_empty(dir: &Path) -> bool {
    let Ok(Opened::Dir(path_fd)) = open_dir_nofollow(dir) else {
        return false;
    };
    let Ok(fd) = rustix::fs::openat(
        &path_fd,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return false;
    };
    let empty = |fd: &OwnedFd| {
        rustix::fs::Dir::read_from(fd).is_ok_and(|mut entries| {
            entries.all(|e| e.is_ok_and(|e| matches!(e.file_name().to_bytes(), b"." | b"..")))
        })
    };
    let ours = rustix::fs::fstat(&fd).is_ok_and(|st| st.st_uid == euid() && is_dir(&st));
    ours && empty(&fd) && rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o700)).is_ok() && empty(&fd)
}

/// Creates the missing part of a checked scratch root: the root mode 0700,
/// missing parents 0755; then checks it again (another user may have made
/// a missing part first).
fn make_root(root: &Path) -> Result<(), Error> {
    let missing: Vec<&Path> = root
        .ancestors()
        .take_while(|p| fs::symlink_metadata(p).is_err())
        .collect();
    for dir in missing.into_iter().rev() {
        let mode = if dir == root { 0o700 } else { 0o755 };
        match fs::DirBuilder::new().mode(mode).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                return Err(Error::Environment(format!(
                    "cannot create the scratch root {}: {e}; give one this user may create \
                     with --scratch DIR",
                    root.display()
                )))
            }
            Err(e) => {
                return Err(Error::run_io(
                    format!("creating the scratch root {}", root.display()),
                    e,
                ))
            }
        }
    }
    trusted_root(root).map(|_| ())
}

impl ScratchArea {
    /// Creates `<root>/<run_id>` (mode 0700) and its manifest, creating the
    /// root too if missing. A root that is not safe is refused (exit 3).
    pub fn create(root: &Path, run_id: &str) -> Result<ScratchArea, Error> {
        let root = trusted_root(root)?;
        let dir = root.join(run_id);
        let make_dir = || fs::DirBuilder::new().mode(0o700).create(&dir);
        make_root(&root)?;
        // Another run may remove the (empty) root in between.
        if let Err(e) = make_dir() {
            if e.kind() != io::ErrorKind::NotFound {
                return Err(Error::run_io(format!("creating {}", dir.display()), e));
            }
            make_root(&root)?;
            make_dir().map_err(|e| Error::run_io(format!("creating {}", dir.display()), e))?;
        }
        let pid = std::process::id();
        let area = ScratchArea {
            root,
            dir,
            manifest: Manifest {
                run_id: run_id.to_string(),
                pid,
                start_ticks: start_ticks(pid).unwrap_or(0),
                created: Vec::new(),
                result_dir: None,
                cgroups: Vec::new(),
            },
            keep: false,
        };
        area.persist()
            .map_err(|e| Error::run_io("writing the scratch manifest", e))?;
        Ok(area)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Leave recorded paths outside the scratch directory in place at the
    /// end (`--keep`), for inspecting what a workload wrote.
    pub fn keep_outside(&mut self, keep: bool) {
        self.keep = keep;
    }

    /// Records where the run writes its results.
    pub fn set_result_dir(&mut self, dir: &Path) -> io::Result<()> {
        self.manifest.result_dir = Some(dir.to_path_buf());
        self.persist()
    }

    /// Records `path` before the caller creates it. A path outside the
    /// scratch directory also needs [`ScratchArea::created`] once it exists.
    pub fn register(&mut self, path: &Path, removal: Removal) -> io::Result<()> {
        self.manifest.created.push(Created {
            path: path.to_path_buf(),
            removal,
            dev: None,
            ino: None,
        });
        self.persist()
    }

    /// Records the device and inode of `path`, a directory the caller has
    /// just created after registering it; a whole tree outside the scratch
    /// directory (a hostPath subdirectory) first gets its [`MARKER`] file.
    /// Only with these will a later cleanup remove a path outside the
    /// scratch directory.
    pub fn created(&mut self, path: &Path) -> io::Result<()> {
        let run_id = self.manifest.run_id.clone();
        let outside = !path.starts_with(&self.dir);
        let Some(entry) = self
            .manifest
            .created
            .iter_mut()
            .rev()
            .find(|c| c.path == path)
        else {
            return Err(io::Error::other(format!(
                "{} was not registered before it was created",
                path.display()
            )));
        };
        let fd = match open_dir_nofollow(path)? {
            Opened::Dir(fd) => fd,
            Opened::Absent => return Err(io::ErrorKind::NotFound.into()),
            Opened::Refused(why) => return Err(io::Error::other(why)),
        };
        if entry.removal == Removal::Tree && outside {
            let marker = rustix::fs::openat(
                &fd,
                MARKER,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )?;
            fs::File::from(marker).write_all(format!("{run_id}\n").as_bytes())?;
        }
        let st = rustix::fs::fstat(&fd)?;
        let (dev, ino) = dev_ino(&st);
        (entry.dev, entry.ino) = (Some(dev), Some(ino));
        self.persist()
    }

    /// Records the name of a cgroup (`wpbench-<run_id>-<n>`) before it is
    /// made, so that the guardian or `wpbench cleanup` remove exactly it if
    /// the run is killed.
    pub fn register_cgroup(&mut self, name: &str) -> io::Result<()> {
        if self.manifest.cgroups.iter().any(|c| c == name) {
            return Ok(());
        }
        self.manifest.cgroups.push(name.to_string());
        self.persist()
    }

    /// Removes a recorded path now (a cell's target at teardown).
    pub fn release(&mut self, path: &Path) -> io::Result<()> {
        let Some(pos) = self.manifest.created.iter().position(|c| c.path == path) else {
            return Ok(());
        };
        let entry = self.manifest.created[pos].clone();
        let mut result = Ok(());
        if self.keep && !entry.path.starts_with(&self.dir) {
            unmark(&entry, &self.manifest.run_id);
        } else {
            match remove_entry(&self.dir, &self.manifest.run_id, &entry)? {
                Outcome::LeftAlone(why) => {
                    result = Err(io::Error::other(format!("left alone: {why}")));
                }
                Outcome::Removed | Outcome::Absent | Outcome::NotEmpty => {}
            }
        }
        self.manifest.created.remove(pos);
        self.persist()?;
        result
    }

    fn persist(&self) -> io::Result<()> {
        let tmp = self.dir.join(".manifest.json.tmp");
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(&self.manifest)?)?;
        drop(f);
        fs::rename(tmp, self.dir.join(MANIFEST))
    }

    /// Removes everything recorded, newest first, then the scratch
    /// directory. Returns the problems met (the rest is still removed).
    pub fn remove_all(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        while let Some(entry) = self.manifest.created.pop() {
            if self.keep && !entry.path.starts_with(&self.dir) {
                unmark(&entry, &self.manifest.run_id);
                continue;
            }
            match remove_entry(&self.dir, &self.manifest.run_id, &entry) {
                Ok(Outcome::LeftAlone(why)) => {
                    problems.push(format!("left alone: {}: {why}", entry.path.display()))
                }
                Ok(_) => {}
                Err(e) => problems.push(format!("{}: {e}", entry.path.display())),
            }
        }
        match remove_path(&self.dir, Removal::Tree, Proof::Inside) {
            Ok(Outcome::LeftAlone(why)) => {
                problems.push(format!("left alone: {}: {why}", self.dir.display()))
            }
            Ok(_) => {}
            Err(e) => problems.push(format!("{}: {e}", self.dir.display())),
        }
        // The shared root too, when no other run is using it (rmdir removes
        // only an empty directory).
        let _ = fs::remove_dir(&self.root);
        problems
    }
}

impl Drop for ScratchArea {
    fn drop(&mut self) {
        for problem in self.remove_all() {
            eprintln!("wpbench: could not remove scratch {problem}");
        }
    }
}

mod cleanup;
mod remove;
#[cfg(test)]
mod tests;

use cleanup::*;
pub use cleanup::{cleanup_run, cleanup_stale, CgroupRemover, CleanupReport, RunState};
use remove::*;
