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

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;
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

/// How one recorded path fared.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
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
enum Proof<'a> {
    /// Under the run's own directory: being there is enough.
    Inside,
    /// Elsewhere: the device and inode recorded at creation, owner euid,
    /// and for a tree the marker holding the run id.
    Outside { dev: u64, ino: u64, run_id: &'a str },
}

/// Absolute, and nothing but names after the `/`.
fn plain_absolute(path: &Path) -> bool {
    path.is_absolute()
        && path
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
}

/// Removes a recorded path of run `run_id`, whose directory is `run_dir`,
/// if it proves to be the run's own.
fn remove_entry(run_dir: &Path, run_id: &str, c: &Created) -> io::Result<Outcome> {
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
enum Opened {
    Dir(OwnedFd),
    Absent,
    Refused(String),
}

/// Opens the directory `path` (absolute, names only) one component at a
/// time from `/`, each with O_NOFOLLOW, so no symlink anywhere on the way
/// is followed (what openat2's RESOLVE_NO_SYMLINKS does, on any kernel).
/// An O_PATH descriptor: good for the *at calls, not for reading.
fn open_dir_nofollow(path: &Path) -> io::Result<Opened> {
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

fn is_dir(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::Directory
}

fn same_inode(a: &Stat, b: &Stat) -> bool {
    dev_ino(a) == dev_ino(b)
}

/// Device and inode, as the manifest records them.
#[allow(clippy::unnecessary_cast)] // Not u64 on every target.
fn dev_ino(st: &Stat) -> (u64, u64) {
    (st.st_dev as u64, st.st_ino as u64)
}

/// Removes `path` as `removal` says once it shows `proof`, without
/// following a symlink anywhere, descending into another filesystem, or
/// removing anything while something is mounted below it.
fn remove_path(path: &Path, removal: Removal, proof: Proof) -> io::Result<Outcome> {
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
fn is_mount_root(dir: &OwnedFd, name: &OsStr) -> bool {
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
fn check_marker(dir: &OwnedFd, run_id: &str) -> Result<(), String> {
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
fn empty_tree(dir: &OwnedFd, top_dev: u64, path: &Path, skip: Option<&str>) -> io::Result<()> {
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
fn unmark(c: &Created, run_id: &str) {
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

/// State (field 3) and start time (field 22) of /proc/PID/stat.
fn proc_stat(pid: u32) -> Option<(char, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?.chars().next()?;
    Some((state, fields.nth(18)?.parse().ok()?))
}

fn start_ticks(pid: u32) -> Option<u64> {
    proc_stat(pid).map(|(_, t)| t)
}

/// The run's process still exists (a zombie has exited: its namespace and
/// mounts are gone, only its exit status waits to be collected).
fn owner_alive(m: &Manifest) -> bool {
    proc_stat(m.pid).is_some_and(|(state, t)| t == m.start_ticks && state != 'Z' && state != 'X')
}

/// What `cleanup_stale` found and did.
#[derive(Debug, Default)]
pub struct CleanupReport {
    pub removed_runs: Vec<String>,
    pub removed_paths: Vec<PathBuf>,
    pub removed_cgroups: Vec<PathBuf>,
    pub live_runs: Vec<String>,
    /// What was not provably written or created by a run of this user, and
    /// why: left in place.
    pub left_alone: Vec<String>,
    pub problems: Vec<String>,
    /// Results directories of the removed runs, whose result.json still
    /// says `running`.
    pub killed_results: Vec<PathBuf>,
}

/// Removes the cgroups a dead run recorded: `(run_id, names)` → (removed,
/// problems). The caller supplies it (the cgroup code lives in
/// `fault::throttle`, above this module).
pub type CgroupRemover<'a> = &'a dyn Fn(&str, &[String]) -> (Vec<PathBuf>, Vec<String>);

/// Removes the scratch areas of runs whose process is gone (killed by
/// SIGKILL, or a crash of the machine), with every path and cgroup their
/// manifests recorded. Live runs are left alone, and so is everything not
/// provably written by a run of this user. A scratch root that is not safe
/// (see [`trusted_root`]) is refused (exit 3); a missing one is empty.
pub fn cleanup_stale(root: &Path, cgroups: CgroupRemover) -> Result<CleanupReport, Error> {
    let root = trusted_root(root)?;
    let mut report = CleanupReport::default();
    let Ok(dirs) = fs::read_dir(&root) else {
        return Ok(report);
    };
    let mut names: Vec<OsString> = dirs.flatten().map(|e| e.file_name()).collect();
    names.sort();
    for name in names {
        cleanup_run(&root.join(name), &mut report, cgroups);
    }
    Ok(report)
}

/// What became of one run directory in `cleanup_run`.
#[derive(Debug, PartialEq, Eq)]
pub enum RunState {
    /// No manifest: not a run directory (or already removed).
    NotARun,
    /// Not provably written by a run of this user: reported, left alone.
    Untrusted,
    /// Its process still runs; left alone.
    Live,
    /// Its process is gone; removed (see the report for problems).
    Removed,
}

/// Reads the manifest of the run directory `dir` (`<root>/<name>`) if it
/// may be trusted: `Ok(None)` when there is none, `Err(why)` when it may
/// not be.
fn read_manifest(dir: &Path) -> Result<Option<Manifest>, String> {
    let (Some(root), Some(name)) = (dir.parent(), dir.file_name()) else {
        return Ok(None);
    };
    let root_fd = match open_dir_nofollow(root) {
        Ok(Opened::Dir(fd)) => fd,
        Ok(Opened::Absent) => return Ok(None),
        Ok(Opened::Refused(why)) => return Err(why),
        Err(e) => return Err(e.to_string()),
    };
    let st = match rustix::fs::statat(&root_fd, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    match FileType::from_raw_mode(st.st_mode) {
        FileType::Directory => {}
        FileType::Symlink => return Err("a symlink, not a run directory".into()),
        _ => return Ok(None),
    }
    let me = euid();
    if st.st_uid != me || shared_writable(st.st_mode) {
        return Err(format!(
            "the run directory is owned by {}, mode {}: not one wpbench made as {}",
            describe_owner(st.st_uid),
            describe_mode(st.st_mode),
            describe_owner(me)
        ));
    }
    let dir_fd = rustix::fs::openat(
        &root_fd,
        name,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| e.to_string())?;
    if !rustix::fs::fstat(&dir_fd).is_ok_and(|now| same_inode(&now, &st)) {
        return Err("the run directory was replaced while being examined".into());
    }
    let mst = match rustix::fs::statat(&dir_fd, MANIFEST, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::NOENT) => return Ok(None), // No manifest: not ours, never touched.
        Err(e) => return Err(format!("its {MANIFEST}: {e}")),
    };
    match FileType::from_raw_mode(mst.st_mode) {
        FileType::RegularFile => {}
        FileType::Symlink => return Err(format!("its {MANIFEST} is a symlink")),
        _ => return Err(format!("its {MANIFEST} is not a regular file")),
    }
    if mst.st_uid != me {
        return Err(format!(
            "its {MANIFEST} is owned by {}, not by {}",
            describe_owner(mst.st_uid),
            describe_owner(me)
        ));
    }
    let fd = rustix::fs::openat(
        &dir_fd,
        MANIFEST,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("its {MANIFEST}: {e}"))?;
    if !rustix::fs::fstat(&fd).is_ok_and(|now| same_inode(&now, &mst)) {
        return Err(format!("its {MANIFEST} was replaced while being read"));
    }
    let mut text = Vec::new();
    fs::File::from(fd)
        .take(64 << 20)
        .read_to_end(&mut text)
        .map_err(|e| format!("its {MANIFEST}: {e}"))?;
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|e| format!("its {MANIFEST} cannot be read: {e}"))?;
    if OsStr::new(&manifest.run_id) != name {
        return Err(format!(
            "its {MANIFEST} is of run {:?}, not of this directory's",
            manifest.run_id
        ));
    }
    Ok(Some(manifest))
}

/// Removes one run's leftovers if its process is gone, and if its
/// directory and manifest may be trusted (see the module's rules).
pub fn cleanup_run(dir: &Path, report: &mut CleanupReport, cgroups: CgroupRemover) -> RunState {
    let manifest = match read_manifest(dir) {
        Ok(Some(m)) => m,
        Ok(None) => return RunState::NotARun,
        Err(why) => {
            report.left_alone.push(format!("{}: {why}", dir.display()));
            return RunState::Untrusted;
        }
    };
    if owner_alive(&manifest) {
        report.live_runs.push(manifest.run_id);
        return RunState::Live;
    }
    report.killed_results.extend(manifest.result_dir.clone());
    let mut ok = true;
    for created in manifest.created.iter().rev() {
        let path = created.path.display();
        match remove_entry(dir, &manifest.run_id, created) {
            Ok(Outcome::Removed) => report.removed_paths.push(created.path.clone()),
            Ok(Outcome::Absent | Outcome::NotEmpty) => {}
            Ok(Outcome::LeftAlone(why)) => report.left_alone.push(format!("{path}: {why}")),
            Err(e) => {
                ok = false;
                report.problems.push(format!("{path}: {e}"))
            }
        }
    }
    if !manifest.cgroups.is_empty() {
        let (removed, problems) = cgroups(&manifest.run_id, &manifest.cgroups);
        report.removed_cgroups.extend(removed);
        ok &= problems.is_empty();
        report.problems.extend(problems);
    }
    // Kept (with its manifest) while anything failed, for a later cleanup.
    if ok {
        match remove_path(dir, Removal::Tree, Proof::Inside) {
            Ok(Outcome::LeftAlone(why)) => {
                report.left_alone.push(format!("{}: {why}", dir.display()))
            }
            Ok(_) => report.removed_runs.push(manifest.run_id),
            Err(e) => report.problems.push(format!("{}: {e}", dir.display())),
        }
    }
    if let Some(root) = dir.parent() {
        let _ = fs::remove_dir(root); // When empty.
    }
    RunState::Removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{require, Need};

    fn no_cgroups(_: &str, _: &[String]) -> (Vec<PathBuf>, Vec<String>) {
        (Vec::new(), Vec::new())
    }

    /// Writes the manifest of a run whose owner is gone (a PID that cannot
    /// exist) into `<root>/<run_id>/`.
    fn dead_run(root: &Path, run_id: &str, created: Vec<Created>) -> PathBuf {
        let dir = root.join(run_id);
        fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
        let manifest = Manifest {
            run_id: run_id.into(),
            pid: u32::MAX,
            start_ticks: 1,
            created,
            result_dir: Some(PathBuf::from(format!("/results/of/{run_id}"))),
            cgroups: Vec::new(),
        };
        fs::write(dir.join(MANIFEST), serde_json::to_vec(&manifest).unwrap()).unwrap();
        dir
    }

    fn tree(path: &Path) -> Created {
        Created {
            path: path.to_path_buf(),
            removal: Removal::Tree,
            dev: None,
            ino: None,
        }
    }

    fn with_identity(mut c: Created) -> Created {
        let m = fs::symlink_metadata(&c.path).unwrap();
        c.dev = Some(m.dev());
        c.ino = Some(m.ino());
        c
    }

    fn chown(path: &Path, uid: u32) {
        rustix::fs::chownat(
            rustix::fs::CWD,
            path,
            Some(rustix::fs::Uid::from_raw(uid)),
            None,
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .unwrap();
    }

    fn chmod(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn removes_what_it_recorded_and_nothing_else() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let bystander = outside.path().join("not-ours");
        fs::create_dir(&bystander).unwrap();
        let fresh = outside.path().join("fresh");
        {
            let mut area = ScratchArea::create(root.path(), "run-1").unwrap();
            area.register(&fresh, Removal::Tree).unwrap();
            fs::create_dir(&fresh).unwrap();
            area.created(&fresh).unwrap();
            assert_eq!(fs::read_to_string(fresh.join(MARKER)).unwrap(), "run-1\n");
            fs::create_dir_all(fresh.join("a/b")).unwrap();
            fs::write(fresh.join("a/b/f"), b"x").unwrap();
            // A symlink out of the tree must not be followed.
            std::os::unix::fs::symlink(&bystander, fresh.join("link")).unwrap();
            std::os::unix::fs::symlink(&bystander, fresh.join("a/link")).unwrap();
            let inside = area.dir().join("mnt");
            area.register(&inside, Removal::Tree).unwrap();
            fs::create_dir(&inside).unwrap();
            fs::write(inside.join("f"), b"x").unwrap();
        }
        assert!(!fresh.exists());
        assert!(bystander.exists());
        assert!(!root.path().join("run-1").exists());
        assert!(!root.path().exists(), "the empty scratch root goes too");
    }

    #[test]
    fn the_scratch_root_and_run_directory_are_made_private() {
        let base = tempfile::tempdir().unwrap();
        let root = base.path().join("a/runs");
        let area = ScratchArea::create(&root, "run-1").unwrap();
        let mode = |p: &Path| fs::symlink_metadata(p).unwrap().mode() & 0o7777;
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(area.dir()), 0o700);
        assert_eq!(mode(&area.dir().join(MANIFEST)), 0o600);
        assert_eq!(
            fs::symlink_metadata(&root).unwrap().uid(),
            euid(),
            "owned by the running user"
        );
    }

    #[test]
    fn cleanup_removes_dead_runs_only() {
        let root = tempfile::tempdir().unwrap();
        let dead_dir = dead_run(root.path(), "dead-run", Vec::new());
        let inside = dead_dir.join("mnt/c0-t");
        fs::create_dir_all(inside.join("sub")).unwrap();
        dead_run_add(&dead_dir, tree(&inside));
        // A directory without a manifest is not ours.
        fs::create_dir(root.path().join("foreign")).unwrap();
        let live = ScratchArea::create(root.path(), "live-run").unwrap();

        let report = cleanup_stale(root.path(), &no_cgroups).unwrap();
        assert_eq!(report.removed_runs, vec!["dead-run".to_string()]);
        assert_eq!(report.live_runs, vec!["live-run".to_string()]);
        assert_eq!(report.removed_paths, vec![inside.clone()]);
        assert_eq!(
            report.killed_results,
            vec![PathBuf::from("/results/of/dead-run")]
        );
        assert!(report.left_alone.is_empty(), "{:?}", report.left_alone);
        assert!(!dead_dir.exists());
        assert!(root.path().join("foreign").exists());
        assert!(live.dir().exists());
    }

    fn dead_run_add(dir: &Path, c: Created) {
        let path = dir.join(MANIFEST);
        let mut m: Manifest = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        m.created.push(c);
        fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    }

    #[test]
    fn a_killed_runs_hostpath_directory_with_its_marker_and_inode_is_removed() {
        let root = tempfile::tempdir().unwrap();
        let host = tempfile::tempdir().unwrap();
        let base = host.path().join("base/deeper");
        let sub = base.join("wpbench-run-9-c0");
        {
            let mut area = ScratchArea::create(root.path(), "run-9").unwrap();
            for dir in [base.parent().unwrap(), &base] {
                area.register(dir, Removal::EmptyDir).unwrap();
                fs::create_dir(dir).unwrap();
                area.created(dir).unwrap();
            }
            area.register(&sub, Removal::Tree).unwrap();
            fs::create_dir(&sub).unwrap();
            area.created(&sub).unwrap();
            fs::create_dir_all(sub.join("t00/d")).unwrap();
            fs::write(sub.join("t00/d/f"), b"x").unwrap();
            // As after a SIGKILL: nothing removed, the owner gone.
            area.manifest.pid = u32::MAX;
            area.persist().unwrap();
            std::mem::forget(area);
        }
        let report = cleanup_stale(root.path(), &no_cgroups).unwrap();
        assert!(report.left_alone.is_empty(), "{:?}", report.left_alone);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.removed_runs, vec!["run-9".to_string()]);
        assert!(!sub.exists());
        assert!(!host.path().join("base").exists(), "the parents it made");
    }

    #[test]
    fn a_killed_runs_recorded_cgroups_go_and_a_failure_keeps_its_manifest() {
        let root = tempfile::tempdir().unwrap();
        let mut area = ScratchArea::create(root.path(), "run-c").unwrap();
        area.register_cgroup("wpbench-run-c-0").unwrap();
        area.register_cgroup("wpbench-run-c-0").unwrap();
        area.register_cgroup("wpbench-run-c-3").unwrap();
        area.manifest.pid = u32::MAX;
        area.persist().unwrap();
        let dir = area.dir().to_path_buf();
        std::mem::forget(area);
        let asked = std::cell::RefCell::new(Vec::new());
        let busy = |run: &str, names: &[String]| {
            asked.borrow_mut().push((run.to_string(), names.to_vec()));
            (Vec::new(), vec!["removing cgroup …: busy".to_string()])
        };
        let report = cleanup_stale(root.path(), &busy).unwrap();
        let names = vec!["wpbench-run-c-0".to_string(), "wpbench-run-c-3".to_string()];
        assert_eq!(*asked.borrow(), vec![("run-c".to_string(), names.clone())]);
        assert_eq!(report.problems.len(), 1);
        assert!(dir.join(MANIFEST).exists(), "kept for a later cleanup");
        let gone = |_: &str, names: &[String]| {
            let removed = names.iter().map(|n| PathBuf::from("/cg").join(n)).collect();
            (removed, Vec::new())
        };
        let report = cleanup_stale(root.path(), &gone).unwrap();
        assert_eq!(report.removed_cgroups.len(), 2);
        assert_eq!(report.removed_runs, vec!["run-c".to_string()]);
        assert!(!dir.exists());
    }

    #[test]
    fn an_outside_path_without_the_runs_marker_or_inode_is_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let victims = tempfile::tempdir().unwrap();
        let victim = |name: &str| {
            let p = victims.path().join(name);
            fs::create_dir(&p).unwrap();
            fs::write(p.join("precious"), b"x").unwrap();
            p
        };
        // No device and inode (a forged or old manifest).
        let plain = victim("plain");
        // The right device and inode, no marker.
        let unmarked = with_identity(tree(&victim("unmarked")));
        // A marker of the run, but another directory's inode.
        let marked = victim("marked");
        fs::write(marked.join(MARKER), "forged\n").unwrap();
        let mut wrong_inode = with_identity(tree(&marked));
        wrong_inode.ino = Some(wrong_inode.ino.unwrap() + 1);
        // A marker naming another run.
        let other_run = victim("other-run");
        fs::write(other_run.join(MARKER), "someone-else\n").unwrap();
        let other_run = with_identity(tree(&other_run));
        // An empty directory, but not the one the run made.
        let empty = victims.path().join("empty");
        fs::create_dir(&empty).unwrap();
        let mut not_it = with_identity(Created {
            removal: Removal::EmptyDir,
            ..tree(&empty)
        });
        not_it.dev = Some(not_it.dev.unwrap() + 1);
        dead_run(
            root.path(),
            "forged",
            vec![tree(&plain), unmarked, wrong_inode, other_run, not_it],
        );
        let report = cleanup_stale(root.path(), &no_cgroups).unwrap();
        let text = report.left_alone.join("\n");
        assert_eq!(report.left_alone.len(), 5, "{text}");
        assert!(text.contains("no device and inode were recorded"), "{text}");
        assert!(text.contains("no marker file .wpbench-run"), "{text}");
        assert!(
            text.contains("is not the directory the run created"),
            "{text}"
        );
        assert!(text.contains("names run \"someone-else\""), "{text}");
        assert!(
            report.removed_paths.is_empty(),
            "{:?}",
            report.removed_paths
        );
        for name in ["plain", "unmarked", "marked", "other-run"] {
            assert!(
                victims.path().join(name).join("precious").exists(),
                "{name}"
            );
        }
        assert!(empty.exists());
    }

    #[test]
    fn a_symlink_in_a_recorded_path_is_never_followed() {
        let root = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let victim = elsewhere.path().join("c0-t");
        fs::create_dir(&victim).unwrap();
        fs::write(victim.join("precious"), b"x").unwrap();
        let dir = dead_run(root.path(), "run-s", Vec::new());
        // mnt is a symlink to elsewhere: run-s/mnt/c0-t would be the victim.
        std::os::unix::fs::symlink(elsewhere.path(), dir.join("mnt")).unwrap();
        dead_run_add(&dir, tree(&dir.join("mnt/c0-t")));
        // And a hostPath path through a symlink, with the victim's identity.
        let link = elsewhere.path().join("link");
        std::os::unix::fs::symlink(elsewhere.path(), &link).unwrap();
        fs::write(victim.join(MARKER), "run-s\n").unwrap();
        let mut through = with_identity(tree(&victim));
        through.path = link.join("c0-t");
        dead_run_add(&dir, through);

        let report = cleanup_stale(root.path(), &no_cgroups).unwrap();
        assert!(victim.join("precious").exists());
        let text = report.left_alone.join("\n");
        assert!(text.contains("is a symlink (not followed)"), "{text}");
        assert_eq!(report.left_alone.len(), 2, "{text}");
        // The run directory goes; the symlink in it is removed, not followed.
        assert!(!dir.exists());
        assert!(victim.join("precious").exists());
    }

    #[test]
    fn removal_does_not_enter_another_filesystem() {
        let top = tempfile::tempdir().unwrap();
        fs::create_dir_all(top.path().join("a/b")).unwrap();
        fs::write(top.path().join("a/b/f"), b"x").unwrap();
        let dir = match open_dir_nofollow(top.path()).unwrap() {
            Opened::Dir(fd) => rustix::fs::openat(
                &fd,
                ".",
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .unwrap(),
            _ => panic!("cannot open {}", top.path().display()),
        };
        // As if `a` were on another device than the top of the tree.
        let dev = dev_ino(&rustix::fs::fstat(&dir).unwrap()).0;
        let e = empty_tree(&dir, dev + 1, top.path(), None).unwrap_err();
        assert!(
            e.to_string().contains("another filesystem is mounted at"),
            "{e}"
        );
        assert!(top.path().join("a/b/f").exists());
    }

    #[test]
    #[ignore = "needs root: mounts a tmpfs below a directory it removes"]
    fn a_mount_below_is_never_removed() {
        require(&[Need::Root]);
        use crate::target::loopdev::testing::{private_mounts, MountGuard};
        let top = tempfile::tempdir().unwrap();
        let (a, b) = (top.path().join("a"), top.path().join("b"));
        let (tmp, bound) = (a.join("tmp"), b.join("bound"));
        let source = top.path().join("source");
        for d in [&tmp, &bound, &source] {
            fs::create_dir_all(d).unwrap();
        }
        fs::write(source.join("precious"), b"x").unwrap();
        let (tmp2, bound2, source2) = (tmp.clone(), bound.clone(), source.clone());
        // In a thread of its own mount namespace: the mounts die with it.
        std::thread::spawn(move || {
            private_mounts();
            let _t = MountGuard::mount(Path::new("none"), &tmp2, "tmpfs", "size=1m").unwrap();
            fs::write(tmp2.join("precious"), b"x").unwrap();
            rustix::mount::mount_bind(&source2, &bound2).unwrap();
            let _b = MountGuard(bound2.clone());
            // Another filesystem (st_dev), and a bind mount of the same one
            // (statx's mount root): neither is entered, as a tree's top or
            // below it. (This thread's mounts are not in
            // /proc/self/mountinfo, which shows the process's namespace.)
            for path in [&tmp2, &bound2] {
                for top in [path, path.parent().unwrap()] {
                    let e = remove_path(top, Removal::Tree, Proof::Inside).unwrap_err();
                    assert!(
                        e.to_string().contains("refusing to remove it"),
                        "{}: {e}",
                        top.display()
                    );
                    assert!(path.join("precious").exists(), "{}", top.display());
                }
            }
        })
        .join()
        .unwrap();
        assert!(source.join("precious").exists());
    }

    #[test]
    #[ignore = "needs root: chowns manifests and run directories to another user"]
    fn untrusted_manifests_and_run_directories_are_left_alone() {
        require(&[Need::Root]);
        let root = tempfile::tempdir().unwrap();
        let victims = tempfile::tempdir().unwrap();
        let victim = victims.path().join("v");
        fs::create_dir(&victim).unwrap();
        // Each run directory names a path inside itself, which a trusted
        // manifest would have removed.
        let inside = |dir: &Path| {
            let p = dir.join("mnt");
            fs::create_dir(&p).unwrap();
            dead_run_add(dir, tree(&p));
            p
        };
        // The manifest is a symlink to a manifest elsewhere.
        let elsewhere = dead_run(victims.path(), "symlinked", Vec::new());
        let d1 = root.path().join("symlinked");
        fs::DirBuilder::new().mode(0o700).create(&d1).unwrap();
        std::os::unix::fs::symlink(elsewhere.join(MANIFEST), d1.join(MANIFEST)).unwrap();
        let m1 = d1.join("mnt");
        fs::create_dir(&m1).unwrap();
        dead_run_add(&elsewhere, tree(&m1));
        // The manifest is owned by another user.
        let d2 = dead_run(root.path(), "foreign-manifest", Vec::new());
        let m2 = inside(&d2);
        chown(&d2.join(MANIFEST), 65534);
        // The run directory is owned by another user.
        let d3 = dead_run(root.path(), "foreign-dir", Vec::new());
        let m3 = inside(&d3);
        chown(&d3, 65534);
        // The run directory is writable by others.
        let d4 = dead_run(root.path(), "open-dir", Vec::new());
        let m4 = inside(&d4);
        chmod(&d4, 0o777);
        // The manifest is of another run.
        let d5 = dead_run(root.path(), "renamed", Vec::new());
        let m5 = inside(&d5);
        fs::rename(&d5, root.path().join("renamed-2")).unwrap();
        let m5 = root.path().join("renamed-2").join(m5.file_name().unwrap());
        // A symlink to a run directory elsewhere.
        let d6 = dead_run(victims.path(), "linked-dir", Vec::new());
        let m6 = inside(&d6);
        std::os::unix::fs::symlink(&d6, root.path().join("linked-dir")).unwrap();

        let report = cleanup_stale(root.path(), &no_cgroups).unwrap();
        let text = report.left_alone.join("\n");
        assert_eq!(report.left_alone.len(), 6, "{text}");
        for want in [
            "symlinked: its manifest.json is a symlink",
            "foreign-manifest: its manifest.json is owned by uid 65534",
            "foreign-dir: the run directory is owned by uid 65534",
            "open-dir: the run directory is owned by uid 0",
            "mode 0777",
            "renamed-2: its manifest.json is of run \"renamed\"",
            "linked-dir: a symlink, not a run directory",
        ] {
            assert!(text.contains(want), "{want}: {text}");
        }
        assert!(report.removed_runs.is_empty() && report.removed_paths.is_empty());
        for m in [&m1, &m2, &m3, &m4, &m5, &m6] {
            assert!(m.exists(), "{}", m.display());
        }
        assert!(victim.exists());
    }

    #[test]
    #[ignore = "needs root: chowns the scratch root to another user"]
    fn a_scratch_root_of_another_user_is_refused_naming_owner_and_mode() {
        require(&[Need::Root]);
        let base = tempfile::tempdir().unwrap();
        let root = base.path().join("runs");
        fs::create_dir(&root).unwrap();
        chmod(&root, 0o755);
        chown(&root, 65534);
        let victim = base.path().join("victim");
        fs::create_dir(&victim).unwrap();
        dead_run(&root, "forged", vec![tree(&victim)]);
        for e in [
            trusted_root(&root).unwrap_err(),
            cleanup_stale(&root, &no_cgroups).unwrap_err(),
            ScratchArea::create(&root, "run-1").unwrap_err(),
        ] {
            assert_eq!(e.exit_code(), 3, "{e}");
            let m = e.to_string();
            assert!(m.contains(&root.display().to_string()), "{m}");
            assert!(m.contains("owned by uid 65534"), "{m}");
            assert!(m.contains("mode 0755 (drwxr-xr-x)"), "{m}");
            assert!(m.contains("chmod 700"), "{m}");
            assert!(m.contains("--scratch"), "{m}");
        }
        assert!(victim.exists());
        assert!(!root.join("run-1").exists());
    }

    #[test]
    fn a_scratch_root_writable_by_others_is_refused_unless_empty() {
        let base = tempfile::tempdir().unwrap();
        let root = base.path().join("runs");
        fs::create_dir(&root).unwrap();
        fs::create_dir(root.join("someone-elses")).unwrap();
        let mode = |p: &Path| fs::symlink_metadata(p).unwrap().mode() & 0o7777;
        for m in [0o777, 0o770, 0o1777] {
            chmod(&root, m);
            let e = trusted_root(&root).unwrap_err();
            assert_eq!(e.exit_code(), 3, "{e}");
            assert!(
                e.to_string()
                    .contains("writable by group or others and not empty"),
                "{e}"
            );
            assert_eq!(mode(&root), m, "refused untouched");
        }
        chmod(&root, 0o755);
        assert_eq!(trusted_root(&root).unwrap(), root.canonicalize().unwrap());
        // Empty (a Kubernetes emptyDir is 0777): made 0700, then used.
        fs::remove_dir(root.join("someone-elses")).unwrap();
        chmod(&root, 0o777);
        assert_eq!(trusted_root(&root).unwrap(), root.canonicalize().unwrap());
        assert_eq!(mode(&root), 0o700);
    }

    #[test]
    fn an_ancestor_writable_by_others_needs_the_sticky_bit() {
        let base = tempfile::tempdir().unwrap();
        let open = base.path().join("open");
        fs::create_dir(&open).unwrap();
        let root = open.join("not-yet/runs");
        chmod(&open, 0o777);
        let e = trusted_root(&root).unwrap_err();
        assert_eq!(e.exit_code(), 3, "{e}");
        let m = e.to_string();
        assert!(
            m.contains(&format!(
                "its ancestor {} is writable by group or others without the sticky bit",
                open.display()
            )),
            "{m}"
        );
        assert!(m.contains("mode 0777 (drwxrwxrwx)"), "{m}");
        // Sticky, like /tmp: fine.
        chmod(&open, 0o1777);
        assert!(trusted_root(&root).is_ok());
        // Relative paths and symlinks are resolved first.
        let link = base.path().join("link");
        std::os::unix::fs::symlink(&open, &link).unwrap();
        assert_eq!(
            trusted_root(&link.join("runs")).unwrap(),
            open.canonicalize().unwrap().join("runs")
        );
    }

    #[test]
    fn empty_dir_removal_keeps_content() {
        let root = tempfile::tempdir().unwrap();
        let parent = root.path().join("parent");
        fs::create_dir(&parent).unwrap();
        fs::write(parent.join("someone-else"), b"x").unwrap();
        assert_eq!(
            remove_path(&parent, Removal::EmptyDir, Proof::Inside).unwrap(),
            Outcome::NotEmpty
        );
        assert!(parent.exists());
    }

    #[test]
    fn own_start_time_is_readable() {
        assert!(start_ticks(std::process::id()).is_some());
    }

    #[test]
    fn modes_read_like_ls() {
        assert_eq!(describe_mode(0o40755), "0755 (drwxr-xr-x)");
        assert_eq!(describe_mode(0o1777), "1777 (drwxrwxrwt)");
        assert_eq!(describe_mode(0o1770), "1770 (drwxrwx--T)");
        assert_eq!(describe_mode(0o700), "0700 (drwx------)");
        assert!(describe_owner(0).starts_with("uid 0"));
    }
}
