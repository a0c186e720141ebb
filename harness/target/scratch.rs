//! The run's scratch area and its manifest: what this run created, so that
//! teardown — or `wpbench cleanup` after a SIGKILL — removes exactly that
//! and nothing else.
//!
//! Layout: `<root>/<run-id>/manifest.json` plus `mnt/` for mount points.
//! Paths the run creates elsewhere (a hostPath's fresh subdirectory) are
//! written to the manifest *before* they are created.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::mountinfo;

const MANIFEST: &str = "manifest.json";

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
}

/// This run's scratch directory. Removes everything it recorded on drop.
#[derive(Debug)]
pub struct ScratchArea {
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

impl ScratchArea {
    /// Creates `<root>/<run_id>` and its manifest.
    pub fn create(root: &Path, run_id: &str) -> io::Result<ScratchArea> {
        let dir = root.join(run_id);
        // Another run may remove the (empty) root between the two calls.
        let made = fs::create_dir_all(root).and_then(|()| fs::create_dir(&dir));
        if let Err(e) = made {
            if e.kind() != io::ErrorKind::NotFound {
                return Err(e);
            }
            fs::create_dir_all(root)?;
            fs::create_dir(&dir)?;
        }
        let pid = std::process::id();
        let area = ScratchArea {
            dir,
            manifest: Manifest {
                run_id: run_id.to_string(),
                pid,
                start_ticks: start_ticks(pid).unwrap_or(0),
                created: Vec::new(),
                result_dir: None,
            },
            keep: false,
        };
        area.persist()?;
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

    /// Records `path` before the caller creates it.
    pub fn register(&mut self, path: &Path, removal: Removal) -> io::Result<()> {
        self.manifest.created.push(Created {
            path: path.to_path_buf(),
            removal,
        });
        self.persist()
    }

    /// Removes a recorded path now (a cell's target at teardown).
    pub fn release(&mut self, path: &Path) -> io::Result<()> {
        let Some(pos) = self.manifest.created.iter().position(|c| c.path == path) else {
            return Ok(());
        };
        let entry = self.manifest.created[pos].clone();
        if !self.keep {
            remove(&entry.path, entry.removal)?;
        }
        self.manifest.created.remove(pos);
        self.persist()
    }

    fn persist(&self) -> io::Result<()> {
        let tmp = self.dir.join(".manifest.json.tmp");
        fs::write(&tmp, serde_json::to_vec_pretty(&self.manifest)?)?;
        fs::rename(tmp, self.dir.join(MANIFEST))
    }

    /// Removes everything recorded, newest first, then the scratch
    /// directory. Returns the problems met (the rest is still removed).
    pub fn remove_all(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        while let Some(entry) = self.manifest.created.pop() {
            if self.keep && !entry.path.starts_with(&self.dir) {
                continue;
            }
            if let Err(e) = remove(&entry.path, entry.removal) {
                problems.push(format!("{}: {e}", entry.path.display()));
            }
        }
        if self.dir.exists() {
            if let Err(e) = remove(&self.dir, Removal::Tree) {
                problems.push(format!("{}: {e}", self.dir.display()));
            }
        }
        // The shared root too, when no other run is using it.
        if let Some(root) = self.dir.parent() {
            let _ = remove(root, Removal::EmptyDir);
        }
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

/// Removes a path the run created, never through a mount point and never
/// following a symlink out of it.
fn remove(path: &Path, removal: Removal) -> io::Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.is_dir() {
        // A symlink or file where our directory was: remove the entry only.
        return fs::remove_file(path);
    }
    if let Ok(entries) = mountinfo::read() {
        if let Some(m) = mountinfo::mounts_under(&entries, path).first() {
            return Err(io::Error::other(format!(
                "refusing to remove it: {} is still mounted below it",
                m.mount_point
            )));
        }
    }
    match removal {
        // std's remove_dir_all does not follow symlinks.
        Removal::Tree => fs::remove_dir_all(path),
        Removal::EmptyDir => match fs::remove_dir(path) {
            Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => Ok(()),
            other => other,
        },
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
    pub live_runs: Vec<String>,
    pub problems: Vec<String>,
    /// Results directories of the removed runs, whose result.json still
    /// says `running`.
    pub killed_results: Vec<PathBuf>,
}

/// Removes the scratch areas of runs whose process is gone (killed by
/// SIGKILL, or a crash of the machine), with every path their manifests
/// recorded. Live runs are left alone.
pub fn cleanup_stale(root: &Path) -> CleanupReport {
    let mut report = CleanupReport::default();
    let Ok(dirs) = fs::read_dir(root) else {
        return report;
    };
    for entry in dirs.flatten() {
        cleanup_run(&entry.path(), &mut report);
    }
    report
}

/// What became of one run directory in `cleanup_run`.
#[derive(Debug, PartialEq, Eq)]
pub enum RunState {
    /// No manifest: not a run directory (or already removed).
    NotARun,
    /// Its process still runs; left alone.
    Live,
    /// Its process is gone; removed (see the report for problems).
    Removed,
}

/// Removes one run's leftovers if its process is gone.
pub fn cleanup_run(dir: &Path, report: &mut CleanupReport) -> RunState {
    let Ok(text) = fs::read_to_string(dir.join(MANIFEST)) else {
        return RunState::NotARun; // No manifest: not ours, never touched.
    };
    let Ok(manifest) = serde_json::from_str::<Manifest>(&text) else {
        report.problems.push(format!(
            "{}: unreadable manifest, left alone",
            dir.display()
        ));
        return RunState::NotARun;
    };
    if owner_alive(&manifest) {
        report.live_runs.push(manifest.run_id);
        return RunState::Live;
    }
    report.killed_results.extend(manifest.result_dir.clone());
    let mut ok = true;
    for created in manifest.created.iter().rev() {
        match remove(&created.path, created.removal) {
            Ok(()) => report.removed_paths.push(created.path.clone()),
            Err(e) => {
                ok = false;
                report
                    .problems
                    .push(format!("{}: {e}", created.path.display()))
            }
        }
    }
    if ok {
        match remove(dir, Removal::Tree) {
            Ok(()) => report.removed_runs.push(manifest.run_id),
            Err(e) => report.problems.push(format!("{}: {e}", dir.display())),
        }
    }
    if let Some(root) = dir.parent() {
        let _ = remove(root, Removal::EmptyDir);
    }
    RunState::Removed
}

#[cfg(test)]
mod tests {
    use super::*;

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
            fs::create_dir_all(fresh.join("a/b")).unwrap();
            fs::write(fresh.join("a/b/f"), b"x").unwrap();
            // A symlink out of the tree must not be followed.
            std::os::unix::fs::symlink(&bystander, fresh.join("link")).unwrap();
        }
        assert!(!fresh.exists());
        assert!(bystander.exists());
        assert!(!root.path().join("run-1").exists());
        assert!(!root.path().exists(), "the empty scratch root goes too");
    }

    #[test]
    fn cleanup_removes_dead_runs_only() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let dead_path = outside.path().join("dead");
        // A run whose owner is gone: fake it with a PID that cannot exist.
        let dead_dir = root.path().join("dead-run");
        fs::create_dir(&dead_dir).unwrap();
        fs::create_dir(&dead_path).unwrap();
        let manifest = Manifest {
            run_id: "dead-run".into(),
            pid: u32::MAX,
            start_ticks: 1,
            created: vec![Created {
                path: dead_path.clone(),
                removal: Removal::Tree,
            }],
            result_dir: Some(PathBuf::from("/results/of/dead-run")),
        };
        fs::write(
            dead_dir.join(MANIFEST),
            serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
        // A directory without a manifest is not ours.
        fs::create_dir(root.path().join("foreign")).unwrap();
        let live = ScratchArea::create(root.path(), "live-run").unwrap();

        let report = cleanup_stale(root.path());
        assert_eq!(report.removed_runs, vec!["dead-run".to_string()]);
        assert_eq!(report.live_runs, vec!["live-run".to_string()]);
        assert_eq!(
            report.killed_results,
            vec![PathBuf::from("/results/of/dead-run")]
        );
        assert!(!dead_path.exists() && !dead_dir.exists());
        assert!(root.path().join("foreign").exists());
        assert!(live.dir().exists());
    }

    #[test]
    fn empty_dir_removal_keeps_content() {
        let root = tempfile::tempdir().unwrap();
        let parent = root.path().join("parent");
        fs::create_dir(&parent).unwrap();
        fs::write(parent.join("someone-else"), b"x").unwrap();
        remove(&parent, Removal::EmptyDir).unwrap();
        assert!(parent.exists());
    }

    #[test]
    fn own_start_time_is_readable() {
        assert!(start_ticks(std::process::id()).is_some());
    }
}
