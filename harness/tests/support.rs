//! Shared helpers: running the wpbench binary, requirements, fixtures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

/// What a test needs (root, a program, a python package): decided by the
/// library's one implementation, shared with the unit tests.
pub use wpbench::testing::{program, require, Need};

/// Runs that measure are serialized: on a 2-core machine, two concurrent
/// runs would skew each other's rates.
static RUN_LOCK: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    RUN_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn wpbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wpbench"))
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch root, a hostPath base and an output directory for one test,
/// all removed when dropped.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        // Under /var/tmp: on the machine's disk (a real hostPath), not a tmpfs /tmp.
        std::fs::create_dir_all("/var/tmp").ok();
        Sandbox {
            dir: tempfile::Builder::new()
                .prefix("wpbench-test-")
                .tempdir_in("/var/tmp")
                .unwrap(),
        }
    }
    pub fn scratch(&self) -> PathBuf {
        self.dir.path().join("scratch")
    }
    pub fn hostpath(&self) -> PathBuf {
        self.dir.path().join("host")
    }
    pub fn out(&self, name: &str) -> PathBuf {
        self.dir.path().join("out").join(name)
    }
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
    /// The command `wpbench run FILE --out OUT --scratch S` plus `extra`.
    pub fn run_command(&self, file: &Path, out: &str, extra: &[&str]) -> Command {
        let mut cmd = wpbench();
        cmd.arg("run")
            .arg(file)
            .arg("--out")
            .arg(self.out(out))
            .arg("--scratch")
            .arg(self.scratch())
            .args(extra);
        cmd
    }

    /// Runs it to completion.
    pub fn run(&self, file: &Path, out: &str, extra: &[&str]) -> Output {
        self.run_command(file, out, extra).output().unwrap()
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The first cell of `target` in a result.json.
pub fn cell_of<'a>(result: &'a serde_json::Value, target: &str) -> &'a serde_json::Value {
    result["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["target"]["name"] == target)
        .unwrap_or_else(|| panic!("no cell of {target}"))
}

/// The cell of `target` × `workload`.
pub fn cell_on<'a>(
    result: &'a serde_json::Value,
    target: &str,
    workload: &str,
) -> &'a serde_json::Value {
    result["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["target"]["name"] == target && c["workload"]["name"] == workload)
        .unwrap_or_else(|| panic!("no cell {target}/{workload}"))
}

pub fn read_json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap()
}

/// Mount points in this (the host's) namespace that a run could have made.
pub fn host_mounts_of(needle: &str) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// Entries of `dir` whose name starts with `prefix`.
pub fn entries_with_prefix(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
            .map(|e| e.path())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Loop devices whose backing file lies under `dir` (what a run attached).
pub fn loops_under(dir: &Path) -> Vec<String> {
    let needle = dir.display().to_string();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/sys/block")
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with("loop") {
            continue;
        }
        if let Ok(backing) = std::fs::read_to_string(e.path().join("loop/backing_file")) {
            if backing.contains(&needle) {
                out.push(format!("{name} -> {}", backing.trim()));
            }
        }
    }
    out
}

/// Waits up to 20 s for `cond`.
pub fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The ids of the runs whose results are under `sb` (`run_id` in each
/// result.json, written when a run starts), so that checks look only at
/// what this test's runs made — never at another wpbench's on the machine.
pub fn run_ids(sb: &Sandbox) -> Vec<String> {
    let mut ids = Vec::new();
    let mut stack = vec![(sb.dir.path().join("out"), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_name() == "result.json" {
                let id = std::fs::read(&p)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                    .and_then(|v| v["run_id"].as_str().map(str::to_string));
                ids.extend(id);
            } else if depth < 4 && e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push((p, depth + 1));
            }
        }
    }
    ids
}

/// Cgroups of run `run_id` (named `wpbench-<run_id>-<n>`) at the top of
/// any cgroup hierarchy.
pub fn cgroups_of_run(run_id: &str) -> Vec<PathBuf> {
    let prefix = format!("wpbench-{run_id}-");
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let fstype = right.split(' ').next()?;
            let mount_point = left.split(' ').nth(4)?;
            matches!(fstype, "cgroup" | "cgroup2").then(|| PathBuf::from(mount_point))
        })
        .flat_map(|root| entries_with_prefix(&root, &prefix))
        .collect()
}

/// No mount of a run in `sb` is visible in the host's namespace: none
/// under the sandbox, none naming one of its runs (tmpfs sources are
/// `wpbench-<run_id>`).
pub fn assert_no_mounts(sb: &Sandbox) {
    let mut needles = vec![sb.dir.path().display().to_string()];
    needles.extend(run_ids(sb));
    for needle in needles {
        assert!(
            host_mounts_of(&needle).is_empty(),
            "{:?}",
            host_mounts_of(&needle)
        );
    }
}

/// Nothing of a run in `sb` is left: no mount, no loop device, no
/// scratch, no cgroup.
pub fn assert_nothing_left(sb: &Sandbox) {
    assert_no_mounts(sb);
    eventually("loop devices to auto-clear", || {
        loops_under(sb.dir.path()).is_empty()
    });
    assert!(
        entries_with_prefix(&sb.scratch(), "").is_empty(),
        "scratch left"
    );
    assert!(
        entries_with_prefix(&sb.hostpath(), "wpbench-").is_empty(),
        "hostPath dirs left"
    );
    for run in run_ids(sb) {
        assert!(
            cgroups_of_run(&run).is_empty(),
            "cgroups left: {:?}",
            cgroups_of_run(&run)
        );
    }
}
