//! The throttle fault: a cgroup wpbench creates with block-I/O limits on
//! the target's loop device, into which the workload's threads are moved.
//!
//! cgroup v1 (`blkio` controller): limits go to
//! `blkio.throttle.{read,write}_{bps,iops}_device` as `MAJ:MIN VALUE`, and
//! single threads can be moved by writing their TIDs to `tasks` (verified
//! on this project's machines: a 100 IOPS cap took fsynced 4 KiB writes
//! from 752/s to 104/s).
//!
//! cgroup v2 (`io` controller): the limits are one `io.max` line
//! (`MAJ:MIN rbps=… wbps=… riops=… wiops=…`). `io` is a *domain*
//! controller: it cannot be enabled in a threaded subtree, so the threads
//! of one process cannot be split between io cgroups. On v2 the whole
//! process is moved (`cgroup.procs`) and [`Throttle::whole_process`] says
//! so; everything the process does on the device is then throttled.
//!
//! What is throttled: bios issued in the context of a moved thread on the
//! given device — O_DIRECT writes, and the writeback an `fsync` of that
//! thread triggers. Writeback done later by the kernel's flusher threads
//! and journal commits by jbd2/xfsaild are not attributed to the cgroup
//! under v1 (v2 attributes page-cache writeback to the dirtying cgroup).
//! The empty flush bio of an fsync/fdatasync counts against an IOPS limit
//! too: measured here, 100 × (4 KiB O_DIRECT pwrite + fdatasync) on a loop
//! device capped at 50 write IOPS took 3.9 s (200 I/Os), not 2 s.
//!
//! Safety: wpbench only creates cgroups named `wpbench-…` at the top of the
//! hierarchy, only moves threads of its own process, and removes the
//! cgroup on drop (moving its threads back first). The run records each
//! cgroup's name in its scratch manifest before making it, so that the
//! guardian or `wpbench cleanup` remove exactly those of a killed run
//! ([`remove_run_cgroups`]); [`remove_stale`] sweeps old empty ones that no
//! manifest records.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::timeline::TimedEvent;
use crate::error::{Error, Result};
pub use crate::scenario::profiles::{profile, profile_names, resolve, Limits, Profile, PROFILES};
use crate::target::mountinfo::{self, MountEntry};

/// A throttle fault's entry in result.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThrottleOutcome {
    pub outcome: String,
    /// Absent when the throttle could not apply to the cell's target.
    #[serde(flatten)]
    pub applied: Option<ThrottleApplied>,
}

/// A throttle that was put on a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThrottleApplied {
    /// The throttled block device (`loop3`).
    pub device: String,
    pub profile: Option<String>,
    pub limits: Limits,
    /// The cgroup the workers ran in.
    pub cgroup: PathBuf,
    /// cgroup v2: the whole process was moved, not only the workers.
    pub whole_process: bool,
    pub timeline: Vec<TimedEvent>,
}

/// `7:3 100`: one line of a v1 `blkio.throttle.*_device` file.
pub fn v1_line(dev: (u32, u32), value: u64) -> String {
    format!("{}:{} {}", dev.0, dev.1, value)
}

/// `7:3 wbps=131072000 wiops=3000 rbps=max riops=max`: the v2 `io.max`
/// line; an unset limit is written as `max` (none).
pub fn v2_io_max(dev: (u32, u32), limits: &Limits) -> String {
    let v = |x: Option<u64>| x.map_or_else(|| "max".to_string(), |n| n.to_string());
    format!(
        "{}:{} wbps={} wiops={} rbps={} riops={}",
        dev.0,
        dev.1,
        v(limits.write_bps),
        v(limits.write_iops),
        v(limits.read_bps),
        v(limits.read_iops)
    )
}

/// The v1 files and the limit each one takes.
fn v1_files(limits: &Limits) -> [(&'static str, Option<u64>); 4] {
    [
        ("blkio.throttle.write_iops_device", limits.write_iops),
        ("blkio.throttle.write_bps_device", limits.write_bps),
        ("blkio.throttle.read_iops_device", limits.read_iops),
        ("blkio.throttle.read_bps_device", limits.read_bps),
    ]
}

/// Which cgroup interface throttles block I/O on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupMode {
    /// The v1 blkio hierarchy's mount point (`/sys/fs/cgroup/blkio`).
    V1Blkio(PathBuf),
    /// A cgroup2 mount whose root offers the `io` controller
    /// (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on a hybrid host).
    V2(PathBuf),
}

impl CgroupMode {
    /// The hierarchy's root directory, where wpbench makes its cgroups.
    pub fn root(&self) -> &Path {
        match self {
            CgroupMode::V1Blkio(p) | CgroupMode::V2(p) => p,
        }
    }
}

/// The v1 blkio mounts and the cgroup2 mounts in a mountinfo table.
fn cgroup_mounts(mounts: &[MountEntry]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let v1 = mounts
        .iter()
        .filter(|m| m.fstype == "cgroup" && m.super_options.split(',').any(|o| o == "blkio"))
        .map(|m| PathBuf::from(&m.mount_point))
        .collect();
    let v2 = mounts
        .iter()
        .filter(|m| m.fstype == "cgroup2")
        .map(|m| PathBuf::from(&m.mount_point))
        .collect();
    (v1, v2)
}

/// Finds a working block-I/O throttle interface: a v1 blkio hierarchy with
/// `blkio.throttle.write_iops_device`, else a cgroup2 mount whose
/// `cgroup.controllers` lists `io` (the io controller is on one of the two,
/// never both). `Error::Environment` says what was looked for.
pub fn detect() -> Result<CgroupMode> {
    let mounts = mountinfo::read()
        .map_err(|e| Error::Environment(format!("reading /proc/self/mountinfo: {e}")))?;
    let (v1, v2) = cgroup_mounts(&mounts);
    for p in &v1 {
        if p.join("blkio.throttle.write_iops_device").exists() {
            return Ok(CgroupMode::V1Blkio(p.clone()));
        }
    }
    for p in &v2 {
        let controllers = fs::read_to_string(p.join("cgroup.controllers")).unwrap_or_default();
        if controllers.split_whitespace().any(|c| c == "io") {
            return Ok(CgroupMode::V2(p.clone()));
        }
    }
    let list = |v: &[PathBuf]| {
        if v.is_empty() {
            "none mounted".to_string()
        } else {
            v.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    Err(Error::Environment(format!(
        "no cgroup interface to throttle block I/O: looked for a cgroup v1 blkio hierarchy \
         with blkio.throttle.write_iops_device ({}) and a cgroup2 mount whose \
         cgroup.controllers lists `io` ({}); mount one (e.g. `mount -t cgroup -o blkio none \
         /sys/fs/cgroup/blkio`) or drop the throttle fault",
        list(&v1),
        list(&v2)
    )))
}

/// The name wpbench gives its n-th cgroup of a run.
pub fn cgroup_name(run_id: &str, n: u32) -> String {
    format!("wpbench-{run_id}-{n}")
}

fn check_name(name: &str) -> Result<()> {
    let ok = name.starts_with("wpbench-")
        && name.len() <= 200
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Run(format!(
            "cgroup name `{name}` refused: wpbench only makes cgroups named `wpbench-…` \
             of letters, digits, `-`, `_` and `.`"
        )))
    }
}

fn write_file(path: &Path, value: &str) -> io::Result<()> {
    // One write(2): cgroup files take one value per write.
    let mut f = fs::OpenOptions::new().write(true).open(path)?;
    f.write_all(value.as_bytes())
}

fn ids(path: &Path) -> Vec<i32> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// This process's (or one of its threads') cgroup in a hierarchy, as a
/// directory under `root`: from `/proc/self[/task/TID]/cgroup`, the line of
/// the blkio controller (v1) or the `0::` line (v2). `None` when that
/// directory is not visible under `root`.
fn current_cgroup(proc_cgroup: &str, root: &Path, v2: bool) -> Option<PathBuf> {
    let rel = proc_cgroup.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (id, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let matches = if v2 {
            id == "0" && controllers.is_empty()
        } else {
            controllers.split(',').any(|c| c == "blkio")
        };
        matches.then(|| path.to_string())
    })?;
    let dir = root.join(rel.trim_start_matches('/'));
    dir.is_dir().then_some(dir)
}

/// What `add_threads` moved, to move back on drop.
#[derive(Debug, Default)]
struct Moved {
    /// v1: (TID, the blkio cgroup it came from).
    threads: Vec<(i32, PathBuf)>,
    /// v2: the cgroup the whole process came from.
    process: Option<PathBuf>,
}

/// A cgroup wpbench created (name `wpbench-<run_id>-<n>`), with the limits
/// on (major, minor). Dropping it moves its threads back and removes it.
#[derive(Debug)]
pub struct Throttle {
    path: PathBuf,
    /// The hierarchy root (the cgroup's parent).
    root: PathBuf,
    v2: bool,
    dev: (u32, u32),
    limits: Limits,
    moved: Mutex<Moved>,
    removed: bool,
}

/// How long drop retries rmdir while the kernel still counts a thread that
/// just left (EBUSY).
const RMDIR_PATIENCE: Duration = Duration::from_secs(2);

impl Throttle {
    /// Makes the cgroup `name` (must start with `wpbench-`) at the top of
    /// the hierarchy and puts `limits` on the device `dev`. Fails if it
    /// exists already (a stale one: `wpbench cleanup` removes it).
    pub fn create(
        mode: &CgroupMode,
        name: &str,
        dev: (u32, u32),
        limits: &Limits,
    ) -> Result<Throttle> {
        check_name(name)?;
        if limits.is_empty() {
            return Err(Error::Run(format!(
                "throttle {name}: no limit given (a throttle without limits does nothing)"
            )));
        }
        let root = mode.root().to_path_buf();
        let v2 = matches!(mode, CgroupMode::V2(_));
        if v2 {
            enable_io(&root)?;
        }
        let path = root.join(name);
        fs::create_dir(&path).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => Error::Run(format!(
                "cgroup {} exists already (left by an earlier run? `wpbench cleanup` removes it)",
                path.display()
            )),
            io::ErrorKind::PermissionDenied => Error::Environment(format!(
                "creating cgroup {}: {e}; run as root",
                path.display()
            )),
            _ => Error::run_io(format!("creating cgroup {}", path.display()), e),
        })?;
        // From here on, dropping `t` removes the cgroup on every error path.
        let t = Throttle {
            path,
            root,
            v2,
            dev,
            limits: *limits,
            moved: Mutex::new(Moved::default()),
            removed: false,
        };
        t.apply()?;
        Ok(t)
    }

    fn apply(&self) -> Result<()> {
        let fail = |file: &Path, line: &str, e: io::Error| {
            Error::Run(format!(
                "writing `{line}` to {}: {e} (is {}:{} a block device?)",
                file.display(),
                self.dev.0,
                self.dev.1
            ))
        };
        if self.v2 {
            let file = self.path.join("io.max");
            let line = v2_io_max(self.dev, &self.limits);
            write_file(&file, &line).map_err(|e| fail(&file, &line, e))?;
            return Ok(());
        }
        for (name, value) in v1_files(&self.limits) {
            let Some(value) = value else { continue };
            let file = self.path.join(name);
            let line = v1_line(self.dev, value);
            write_file(&file, &line).map_err(|e| fail(&file, &line, e))?;
            let back = fs::read_to_string(&file).unwrap_or_default();
            if !back.lines().any(|l| l.trim() == line) {
                return Err(Error::Run(format!(
                    "{} reads back {:?} after writing `{line}`: the kernel did not take the limit",
                    file.display(),
                    back.trim()
                )));
            }
        }
        Ok(())
    }

    /// Moves these threads (TIDs, from `rustix::thread::gettid()` in each
    /// worker; they must be threads of this process) into the cgroup.
    /// v1 blkio: each TID is written to `tasks`. v2: `io` cannot be
    /// enabled in a threaded subtree, so threads of one process cannot be
    /// split; the whole process is moved (`cgroup.procs`) and
    /// [`Throttle::whole_process`] turns true.
    pub fn add_threads(&self, tids: &[i32]) -> Result<()> {
        let pid = rustix::process::getpid().as_raw_nonzero().get();
        let mut moved = self.moved.lock().unwrap_or_else(|e| e.into_inner());
        if self.v2 {
            if moved.process.is_some() || tids.is_empty() {
                return Ok(());
            }
            let origin = fs::read_to_string("/proc/self/cgroup")
                .ok()
                .and_then(|t| current_cgroup(&t, &self.root, true))
                .unwrap_or_else(|| self.root.clone());
            let procs = self.path.join("cgroup.procs");
            write_file(&procs, &pid.to_string()).map_err(|e| {
                Error::Run(format!("moving this process into {}: {e}", procs.display()))
            })?;
            moved.process = Some(origin);
            return Ok(());
        }
        for &tid in tids {
            let own = format!("/proc/self/task/{tid}/cgroup");
            let text = fs::read_to_string(&own).map_err(|_| {
                Error::Run(format!(
                    "TID {tid} is not a thread of this process ({pid}); wpbench moves only its own threads"
                ))
            })?;
            let origin =
                current_cgroup(&text, &self.root, false).unwrap_or_else(|| self.root.clone());
            let tasks = self.path.join("tasks");
            write_file(&tasks, &tid.to_string()).map_err(|e| {
                Error::Run(format!("moving thread {tid} into {}: {e}", tasks.display()))
            })?;
            moved.threads.push((tid, origin));
        }
        Ok(())
    }

    /// The cgroup's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// True when `add_threads` had to move the whole process (cgroup v2):
    /// every thread of wpbench is throttled on the device, not only the
    /// workers. Worth a note in the result.
    pub fn whole_process(&self) -> bool {
        self.moved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .process
            .is_some()
    }

    /// Moves the threads back and removes the cgroup, reporting failure
    /// (drop does the same, silently).
    pub fn remove(mut self) -> Result<()> {
        let r = self.teardown();
        self.removed = true;
        r
    }

    fn teardown(&mut self) -> Result<()> {
        let moved = std::mem::take(&mut *self.moved.lock().unwrap_or_else(|e| e.into_inner()));
        if self.v2 {
            if let Some(origin) = moved.process {
                let pid = rustix::process::getpid().as_raw_nonzero().get();
                if write_file(&origin.join("cgroup.procs"), &pid.to_string()).is_err() {
                    let _ = write_file(&self.root.join("cgroup.procs"), &pid.to_string());
                }
            }
            for pid in ids(&self.path.join("cgroup.procs")) {
                let _ = write_file(&self.root.join("cgroup.procs"), &pid.to_string());
            }
        } else {
            for (tid, origin) in moved.threads {
                // ESRCH: the thread has exited; nothing to move.
                if write_file(&origin.join("tasks"), &tid.to_string()).is_err() {
                    let _ = write_file(&self.root.join("tasks"), &tid.to_string());
                }
            }
            for tid in ids(&self.path.join("tasks")) {
                let _ = write_file(&self.root.join("tasks"), &tid.to_string());
            }
        }
        rmdir_patiently(&self.path)
    }
}

impl Drop for Throttle {
    fn drop(&mut self) {
        if !self.removed {
            let _ = self.teardown();
        }
    }
}

/// rmdir, retrying briefly on EBUSY (a thread that just left or exited is
/// still counted for a moment). A missing directory is fine.
fn rmdir_patiently(path: &Path) -> Result<()> {
    let deadline = Instant::now() + RMDIR_PATIENCE;
    loop {
        match fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => {
                return Err(Error::Run(format!(
                    "removing cgroup {}: {e} (tasks: {:?})",
                    path.display(),
                    ids(&path.join(if path.join("tasks").exists() {
                        "tasks"
                    } else {
                        "cgroup.procs"
                    }))
                )))
            }
        }
    }
}

/// v2: the root must delegate `io` to its children.
fn enable_io(root: &Path) -> Result<()> {
    let file = root.join("cgroup.subtree_control");
    let current = fs::read_to_string(&file).unwrap_or_default();
    if current.split_whitespace().any(|c| c == "io") {
        return Ok(());
    }
    write_file(&file, "+io").map_err(|e| {
        Error::Environment(format!(
            "enabling the io controller in {}: {e}",
            file.display()
        ))
    })
}

/// The top of every v1 blkio and cgroup2 hierarchy in this namespace's
/// mountinfo, with the file that lists a cgroup's members there.
fn hierarchy_roots() -> Vec<(PathBuf, &'static str)> {
    let Ok(mounts) = mountinfo::read() else {
        return Vec::new();
    };
    let (v1, v2) = cgroup_mounts(&mounts);
    v1.into_iter()
        .map(|r| (r, "tasks"))
        .chain(v2.into_iter().map(|r| (r, "cgroup.procs")))
        .collect()
}

/// The run id and number of a cgroup named `wpbench-<run_id>-<n>`.
fn run_of_cgroup(name: &str) -> Option<(&str, u32)> {
    check_name(name).ok()?;
    let (run, n) = name.strip_prefix("wpbench-")?.rsplit_once('-')?;
    if run.is_empty() || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((run, n.parse().ok()?))
}

/// Names of run `run_id`'s cgroups at the top of the hierarchies
/// (`wpbench-<run_id>-<n>`, exactly that run id).
pub fn run_cgroups(run_id: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (root, _) in hierarchy_roots() {
        for entry in fs::read_dir(&root).into_iter().flatten().flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if run_of_cgroup(&name).is_some_and(|(run, _)| run == run_id) && !names.contains(&name)
            {
                names.push(name);
            }
        }
    }
    names
}

/// Removes the cgroups of run `run_id` named in `names` (its manifest
/// records each before it is made), wherever they are at the top of a v1
/// blkio or cgroup2 hierarchy from mountinfo. A name that is not
/// `wpbench-<run_id>-<n>` is refused. Tasks still in one are moved to the
/// hierarchy's root first; while the kernel still counts the dead run's
/// exiting threads (they may be finishing throttled I/O), rmdir says EBUSY
/// and is retried until `patience` has passed. Returns the cgroups removed
/// and the problems.
pub fn remove_run_cgroups(
    run_id: &str,
    names: &[String],
    patience: Duration,
) -> (Vec<PathBuf>, Vec<String>) {
    let deadline = Instant::now() + patience;
    let roots = hierarchy_roots();
    let (mut removed, mut problems) = (Vec::new(), Vec::new());
    for name in names {
        if run_of_cgroup(name).is_none_or(|(run, _)| run != run_id) {
            problems.push(format!(
                "cgroup {name:?} left alone: not a name of run {run_id}'s cgroups \
                 (wpbench-{run_id}-N)"
            ));
            continue;
        }
        for (root, members) in &roots {
            let path = root.join(name);
            if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            match evict_and_remove(root, &path, members, deadline) {
                Ok(true) => removed.push(path),
                Ok(false) => {}
                Err(e) => problems.push(e),
            }
        }
    }
    (removed, problems)
}

/// Moves the members of the cgroup `path` to the hierarchy's `root` and
/// removes it, retrying on EBUSY until `deadline`. Ok(false): it was gone.
fn evict_and_remove(
    root: &Path,
    path: &Path,
    members: &str,
    deadline: Instant,
) -> std::result::Result<bool, String> {
    loop {
        // ESRCH for a thread that is exiting: it leaves on its own.
        for id in ids(&path.join(members)) {
            let _ = write_file(&root.join(members), &id.to_string());
        }
        match fs::remove_dir(path) {
            Ok(()) => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => {
                return Err(format!(
                    "removing cgroup {}: {e} (members: {:?})",
                    path.display(),
                    ids(&path.join(members))
                ))
            }
        }
    }
}

/// How old an empty cgroup must be before [`remove_stale`] takes it: a
/// live run's cgroup is empty only between its creation and its threads
/// joining, moments apart.
const STALE_AFTER: Duration = Duration::from_secs(60);

/// Removes empty cgroups named `wpbench-<run_id>-<n>` at the top of every
/// v1 blkio and cgroup2 hierarchy (what a killed run left without a
/// manifest that records it; for `wpbench cleanup`), except those of the
/// `live` runs and those made less than a minute ago, which may belong to
/// a run starting a cell elsewhere. Returns the directories removed.
pub fn remove_stale(live: &[String]) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    for (root, members) in hierarchy_roots() {
        for entry in fs::read_dir(&root).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            let made = std::time::UNIX_EPOCH + Duration::from_secs(meta.ctime().max(0) as u64);
            let age = made.elapsed().unwrap_or_default();
            let name = entry.file_name();
            if meta.is_dir()
                && name.to_str().is_some_and(|n| sweepable(n, live, age))
                && ids(&path.join(members)).is_empty()
                && fs::remove_dir(&path).is_ok()
            {
                removed.push(path);
            }
        }
    }
    removed
}

/// Whether [`remove_stale`] may take an empty cgroup `name` made `age` ago.
fn sweepable(name: &str, live: &[String], age: Duration) -> bool {
    run_of_cgroup(name).is_some_and(|(run, _)| !live.iter().any(|l| l == run)) && age >= STALE_AFTER
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{require, Need};
    const MIB: u64 = 1 << 20;

    #[test]
    fn file_formats() {
        assert_eq!(v1_line((7, 3), 100), "7:3 100");
        let l = Limits {
            write_iops: Some(3000),
            write_bps: Some(125 * MIB),
            ..Limits::default()
        };
        assert_eq!(
            v2_io_max((7, 3), &l),
            "7:3 wbps=131072000 wiops=3000 rbps=max riops=max"
        );
        assert_eq!(
            v2_io_max((259, 0), &Limits::default()),
            "259:0 wbps=max wiops=max rbps=max riops=max"
        );
        let files = v1_files(&l);
        assert_eq!(files[0], ("blkio.throttle.write_iops_device", Some(3000)));
        assert_eq!(files[2].1, None);
    }

    #[test]
    fn names_and_proc_cgroup() {
        assert!(check_name(&cgroup_name("20240101-abc", 0)).is_ok());
        assert!(check_name("system.slice").is_err());
        assert!(check_name("wpbench-../x").is_err());
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("a")).unwrap();
        let text = "9:name=systemd:/\n7:blkio:/a\n0::/\n";
        assert_eq!(
            current_cgroup(text, dir.path(), false),
            Some(dir.path().join("a"))
        );
        assert_eq!(
            current_cgroup(text, dir.path(), true),
            Some(dir.path().to_path_buf())
        );
        assert_eq!(current_cgroup("7:blkio:/gone\n", dir.path(), false), None);
    }

    #[test]
    fn mounts_are_classified() {
        let table = mountinfo::parse(
            "30 25 0:26 / /sys/fs/cgroup/blkio rw,relatime shared:12 - cgroup cgroup rw,blkio\n\
             31 25 0:27 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n\
             32 25 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n",
        );
        let (v1, v2) = cgroup_mounts(&table);
        assert_eq!(v1, vec![PathBuf::from("/sys/fs/cgroup/blkio")]);
        assert_eq!(v2, vec![PathBuf::from("/sys/fs/cgroup/unified")]);
    }

    /// 100 × (pwrite 4 KiB + fdatasync) with O_DIRECT on the block device.
    fn hundred_writes(dev: &Path) -> Duration {
        use std::os::unix::fs::{FileExt, OpenOptionsExt};
        let f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_DIRECT)
            .open(dev)
            .expect("opening the loop device O_DIRECT");
        let mut raw = vec![0xa5u8; 8192];
        let off = raw.as_ptr().align_offset(4096);
        let buf = &mut raw[off..off + 4096];
        let start = Instant::now();
        for i in 0..100u64 {
            f.write_at(buf, i * 4096).expect("pwrite");
            f.sync_data().expect("fdatasync");
        }
        start.elapsed()
    }

    /// The throttle interface of this machine; a machine without one
    /// cannot run these tests, which were asked for: a failure.
    fn cgroup_mode() -> CgroupMode {
        require(&[Need::Root]);
        detect().unwrap_or_else(|e| panic!("no block-I/O throttle on this machine: {e}"))
    }

    #[test]
    #[ignore = "needs root: throttles a loop device through a cgroup"]
    fn throttle_caps_write_iops_and_cleans_up() {
        use crate::target::loopdev::{testing::disk_tempdir, LoopDevice};
        let mode = cgroup_mode();
        let dir = disk_tempdir();
        let image = dir.path().join("img");
        crate::target::mkfs::create_image(&image, 64 << 20).unwrap();
        let lo = LoopDevice::attach(&image, true).unwrap();
        let bd = lo.block_dev();
        let dev_path = lo.path().to_path_buf();

        // Control first: on cgroup v2 the whole process is moved later.
        let control = {
            let p = dev_path.clone();
            std::thread::spawn(move || hundred_writes(&p))
                .join()
                .unwrap()
        };

        let name = cgroup_name(&format!("test{}", std::process::id()), 0);
        let limits = Limits {
            write_iops: Some(50),
            ..Limits::default()
        };
        let throttle = Throttle::create(&mode, &name, (bd.major, bd.minor), &limits).unwrap();
        let cg = throttle.path().to_path_buf();
        assert!(cg.is_dir());
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let p = dev_path.clone();
        let worker = std::thread::spawn(move || {
            tid_tx
                .send(rustix::thread::gettid().as_raw_nonzero().get())
                .unwrap();
            go_rx.recv().unwrap();
            hundred_writes(&p)
        });
        let tid = tid_rx.recv().unwrap();
        throttle.add_threads(&[tid]).unwrap();
        if !throttle.whole_process() {
            assert!(ids(&cg.join("tasks")).contains(&tid));
        }
        go_tx.send(()).unwrap();
        let throttled = worker.join().unwrap();
        drop(throttle);
        assert!(!cg.exists(), "{} left behind", cg.display());
        drop(lo);

        eprintln!("control {control:?}, throttled at 50 IOPS {throttled:?}");
        assert!(
            throttled >= Duration::from_millis(1500),
            "100 writes at 50 IOPS took {throttled:?}: the throttle is not applied"
        );
        assert!(
            throttled.as_secs_f64() >= 3.0 * control.as_secs_f64(),
            "throttled {throttled:?} vs unthrottled {control:?}: expected a large ratio"
        );
    }

    #[test]
    #[ignore = "needs root: makes a cgroup and attaches a loop device"]
    fn cleaned_up_on_panic_and_foreign_threads_refused() {
        use crate::target::loopdev::{testing::disk_tempdir, LoopDevice};
        let mode = cgroup_mode();
        let dir = disk_tempdir();
        let image = dir.path().join("img");
        crate::target::mkfs::create_image(&image, 16 << 20).unwrap();
        let lo = LoopDevice::attach(&image, true).unwrap();
        let bd = lo.block_dev();
        let name = cgroup_name(&format!("panic{}", std::process::id()), 0);
        let path = mode.root().join(&name);
        let limits = Limits {
            write_bps: Some(1 << 20),
            ..Limits::default()
        };
        let r = std::panic::catch_unwind(|| {
            let t = Throttle::create(&mode, &name, (bd.major, bd.minor), &limits).unwrap();
            // PID 1 is not a thread of this process: refused, nothing moved.
            let e = t.add_threads(&[1]).unwrap_err().to_string();
            assert!(e.contains("not a thread of this process"), "{e}");
            t.add_threads(&[rustix::thread::gettid().as_raw_nonzero().get()])
                .unwrap();
            assert!(
                Throttle::create(&mode, &name, (bd.major, bd.minor), &limits)
                    .unwrap_err()
                    .to_string()
                    .contains("exists already")
            );
            panic!("a failing test");
        });
        assert!(r.is_err());
        assert!(
            !path.exists(),
            "{} left behind after a panic",
            path.display()
        );
        // This thread is back where it was.
        let own = fs::read_to_string("/proc/thread-self/cgroup").unwrap();
        assert!(!own.contains(&name), "{own}");
        drop(lo);
    }

    #[test]
    fn cgroup_names_tell_their_run() {
        assert_eq!(
            run_of_cgroup("wpbench-20240101T000000Z-ab12-3"),
            Some(("20240101T000000Z-ab12", 3))
        );
        assert_eq!(run_of_cgroup("wpbench-x-"), None);
        assert_eq!(run_of_cgroup("wpbench-x-1a"), None);
        assert_eq!(run_of_cgroup("wpbench--1"), None);
        assert_eq!(run_of_cgroup("system.slice"), None);
        assert_eq!(run_of_cgroup("wpbench-../x-1"), None);
    }

    #[test]
    #[ignore = "needs root: makes and removes cgroups"]
    fn a_runs_recorded_cgroups_are_removed_and_no_other() {
        let mode = cgroup_mode();
        struct Guard(PathBuf);
        impl Drop for Guard {
            fn drop(&mut self) {
                let _ = fs::remove_dir(&self.0);
            }
        }
        let run = format!("rec{}", std::process::id());
        let mine = Guard(mode.root().join(cgroup_name(&run, 7)));
        fs::create_dir(&mine.0).unwrap();
        // Same prefix, another run; and a name of another run passed in.
        let other = Guard(mode.root().join(cgroup_name(&format!("{run}-x"), 0)));
        fs::create_dir(&other.0).unwrap();
        assert_eq!(run_cgroups(&run), vec![cgroup_name(&run, 7)]);
        let names = vec![
            cgroup_name(&run, 7),
            cgroup_name(&run, 8),
            cgroup_name(&format!("{run}-x"), 0),
        ];
        let (removed, problems) = remove_run_cgroups(&run, &names, Duration::from_secs(1));
        assert_eq!(removed, vec![mine.0.clone()]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("left alone"), "{problems:?}");
        assert!(!mine.0.exists());
        assert!(other.0.exists(), "another run's cgroup was removed");
    }

    #[test]
    fn the_sweep_takes_old_cgroups_of_runs_not_live() {
        let (old, young) = (STALE_AFTER, STALE_AFTER / 2);
        let live = vec!["live-1".to_string()];
        assert!(sweepable("wpbench-dead-1-0", &live, old));
        assert!(!sweepable("wpbench-dead-1-0", &live, young));
        assert!(!sweepable("wpbench-live-1-3", &live, old));
        assert!(!sweepable("wpbench-notacgroupname", &live, old));
        assert!(!sweepable("user.slice", &live, old));
    }
}
