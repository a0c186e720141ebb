//! Cleaning up after runs that are gone: reading their manifests only if
//! they may be trusted, and removing what they recorded.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::*;

/// State (field 3) and start time (field 22) of /proc/PID/stat.
pub(super) fn proc_stat(pid: u32) -> Option<(char, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?.chars().next()?;
    Some((state, fields.nth(18)?.parse().ok()?))
}

pub(super) fn start_ticks(pid: u32) -> Option<u64> {
    proc_stat(pid).map(|(_, t)| t)
}

/// The run's process still exists (a zombie has exited: its namespace and
/// mounts are gone, only its exit status waits to be collected).
pub(super) fn owner_alive(m: &Manifest) -> bool {
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
pub(super) fn read_manifest(dir: &Path) -> Result<Option<Manifest>, String> {
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
