//! The run directory on disk: result.json and summary.md rewritten after
//! every cell (atomically, so a crash of wpbench loses at most the cell in
//! flight), .hlog files streamed by the collector, and at the end (or on
//! `wpbench report`) the charts and report.html.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::report;
use crate::result::{RunResult, RunStatus};

pub mod merge;
pub mod unpack;

pub use crate::result::HLOG_DIR;

pub const RESULT_FILE: &str = "result.json";
pub const SUMMARY_FILE: &str = "summary.md";
pub const CHARTS_DIR: &str = "charts";
pub const HTML_FILE: &str = "report.html";
pub const GATE_FILE: &str = "gate.json";

pub struct RunDir {
    path: PathBuf,
    /// The room kept for the run's last word (see [`RESERVE_FILE`]), while
    /// the run holds it.
    reserve: Option<PathBuf>,
}

/// A file of [`PROBE_BYTES`] a run keeps in its directory from the probe
/// to its end: when the filesystem fills up under the run (its own
/// interval logs and reports, or anyone else's files), releasing it leaves
/// room to write result.json once more, saying `failed` and why, instead
/// of a `running` no one corrects. Removed when the run ends, and by
/// [`mark_killed`] after a killed run.
pub const RESERVE_FILE: &str = ".wpbench-reserve";

/// Why `path` cannot become a directory wpbench writes into (`--out`), if
/// it cannot: it, or the nearest of its ancestors that exists, is not a
/// directory. Checked before a run starts, so it fails with advice (exit
/// 2) rather than with ENOTDIR (exit 4) once everything else was checked.
pub fn out_dir_problem(path: &Path) -> Option<String> {
    let existing = path.ancestors().find(|p| p.symlink_metadata().is_ok())?;
    if existing.is_dir() {
        return None;
    }
    Some(if existing == path {
        format!("{} is a file, not a directory", path.display())
    } else {
        format!(
            "{} cannot be a directory: {} is a file",
            path.display(),
            existing.display()
        )
    })
}

/// `out_dir_problem` for the `--out` option, with what to do.
pub fn out_flag_problem(out: &Path) -> Option<String> {
    out_dir_problem(out).map(|p| {
        format!(
            "--out {}: {p}; --out names a directory (created if missing) to write into, \
             e.g. --out reports/mine",
            out.display()
        )
    })
}

impl RunDir {
    /// Creates the run directory; refuses one that already holds a result.
    pub fn create(path: &Path) -> io::Result<RunDir> {
        if let Some(problem) = out_flag_problem(path) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, problem));
        }
        if path.join(RESULT_FILE).exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} already holds a run; choose another --out",
                    path.display()
                ),
            ));
        }
        // What did not exist yet is removed again if the probe fails, so a
        // refused run leaves nothing behind.
        let made: Vec<PathBuf> = path
            .join(HLOG_DIR)
            .ancestors()
            .take_while(|p| p.symlink_metadata().is_err())
            .map(Path::to_path_buf)
            .collect();
        let reserve = path.join(RESERVE_FILE);
        let ready = fs::create_dir_all(path.join(HLOG_DIR)).and_then(|()| probe_writable(&reserve));
        if let Err(e) = ready {
            let _ = fs::remove_file(&reserve);
            for dir in &made {
                // Only empty directories: nothing of anyone else's goes.
                let _ = fs::remove_dir(dir);
            }
            return Err(e);
        }
        Ok(RunDir {
            path: path.to_path_buf(),
            reserve: Some(reserve),
        })
    }

    /// Frees the room kept since the probe ([`RESERVE_FILE`]), to write the
    /// run's last result into, or because the run is over. Idempotent.
    pub fn release_reserve(&self) {
        if let Some(reserve) = &self.reserve {
            let _ = fs::remove_file(reserve);
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Path of a cell's interval log, and its name relative to the run dir.
    pub fn hlog_path(&self, name: &str) -> (PathBuf, String) {
        let rel = format!("{HLOG_DIR}/{name}.hlog");
        (self.path.join(&rel), rel)
    }

    /// Rewrites result.json and summary.md.
    pub fn write(&self, run: &RunResult) -> io::Result<()> {
        write_atomic(&self.path.join(RESULT_FILE), &report::json::render(run))?;
        write_atomic(
            &self.path.join(SUMMARY_FILE),
            report::summary::render(run).as_bytes(),
        )
    }
}

impl Drop for RunDir {
    /// A run that ends on any path (an error, a panic unwinding) leaves no
    /// reservation behind.
    fn drop(&mut self) {
        self.release_reserve();
    }
}

impl RunDir {
    /// Opens an existing run directory (for `wpbench report`).
    pub fn open(path: &Path) -> io::Result<RunDir> {
        if !path.join(RESULT_FILE).is_file() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} holds no {RESULT_FILE}", path.display()),
            ));
        }
        Ok(RunDir {
            path: path.to_path_buf(),
            reserve: None,
        })
    }

    /// Renders and writes every report file (charts, summary.md, report.html)
    /// from `run` and the interval logs on disk, as `opts` says (summary.md
    /// links the charts only under a link base). Returns the files written,
    /// and the interval logs that could not be read (their cells get no
    /// time-series chart).
    pub fn write_reports(
        &self,
        run: &RunResult,
        opts: &report::RenderOptions,
    ) -> io::Result<(Vec<PathBuf>, Vec<String>)> {
        let mut hlogs = std::collections::BTreeMap::new();
        let mut unreadable = Vec::new();
        // A merged run's cells also name each source's own interval log.
        let paths = run
            .cells
            .iter()
            .flat_map(|c| std::iter::once(&c.hlog).chain(c.sources.iter().map(|s| &s.hlog)));
        let mut seen = std::collections::BTreeSet::new();
        for hlog in paths.filter(|h| !h.is_empty()) {
            if !seen.insert(hlog) {
                continue;
            }
            match crate::record::read_hlog(&self.path.join(hlog)) {
                Ok(h) => {
                    hlogs.insert(hlog.clone(), h);
                }
                Err(e) => unreadable.push(format!("{hlog}: {e}")),
            }
        }
        let charts_dir = self.path.join(CHARTS_DIR);
        // Charts of an earlier rendering that no longer apply must not linger.
        if charts_dir.exists() {
            fs::remove_dir_all(&charts_dir)?;
        }
        fs::create_dir_all(&charts_dir)?;
        let mut written = Vec::new();
        // A gated run's verdicts (gate.json) go into report.html and
        // summary.md too.
        let gates: Option<crate::analysis::gate::GateReport> = fs::read(self.path.join(GATE_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        for (rel, bytes) in report::render_files(run, &hlogs, gates.as_ref(), opts) {
            let path = self.path.join(&rel);
            write_atomic(&path, &bytes)?;
            written.push(path);
        }
        Ok((written, unreadable))
    }
}

/// Marks the result of a run that was killed (SIGKILL, or the machine
/// went down) as `killed`, where it still says `running`: its finished
/// cells are all there, the cell in flight is lost. Returns whether it
/// changed anything.
pub fn mark_killed(dir: &Path) -> io::Result<bool> {
    let mut run = read_result(dir)?;
    // A killed run could not free its reservation; that also makes the
    // room to write this.
    let _ = fs::remove_file(dir.join(RESERVE_FILE));
    if run.status != RunStatus::Running {
        return Ok(false);
    }
    run.status = RunStatus::Killed;
    RunDir::open(dir)?.write(&run)?;
    Ok(true)
}

/// `mark_killed` for every run a cleanup removed whose results are still
/// there: the directories marked, and problems as messages.
pub fn mark_killed_runs(dirs: &[PathBuf]) -> (Vec<PathBuf>, Vec<String>) {
    let (mut marked, mut problems) = (Vec::new(), Vec::new());
    for d in dirs.iter().filter(|d| d.join(RESULT_FILE).is_file()) {
        match mark_killed(d) {
            Ok(true) => marked.push(d.clone()),
            Ok(false) => {}
            Err(e) => problems.push(format!("marking {} as killed: {e}", d.display())),
        }
    }
    (marked, problems)
}

/// Writes via a temporary file and rename, so readers never see half a
/// file; a failed write leaves no temporary file behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let written = create_new(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    });
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Creates `path` afresh for writing, never through a symlink: whatever
/// is there (a stale temporary file, a symlink someone planted in a
/// directory others can write) is unlinked first — unlink does not follow
/// links — and the file is created with O_EXCL and O_NOFOLLOW.
fn create_new(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Size of the probe written into a new run directory: enough to find a
/// full or read-only filesystem (or a quota) before the first cell rather
/// than after it.
const PROBE_BYTES: usize = 1 << 20;

/// Writes and syncs the probe file `probe` (kept as the run's
/// reservation): its error (ENOSPC, EROFS, EACCES, EDQUOT …) is the one
/// the run would meet later. The caller removes it on error.
fn probe_writable(probe: &Path) -> io::Result<()> {
    create_new(probe).and_then(|mut f| {
        f.write_all(&vec![0u8; PROBE_BYTES])?;
        f.sync_all()
    })
}

/// Reads a result.json back.
pub fn read_result(path: &Path) -> io::Result<RunResult> {
    let file = if path.is_dir() {
        path.join(RESULT_FILE)
    } else {
        path.to_path_buf()
    };
    let bytes = fs::read(&file)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", file.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_never_follow_a_planted_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let target = dir.path().join("result.json");
        std::os::unix::fs::symlink(&victim, dir.path().join("result.tmp")).unwrap();
        write_atomic(&target, b"{}").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert_eq!(std::fs::read(&target).unwrap(), b"{}");
        assert!(!dir.path().join("result.tmp").exists());
    }

    #[test]
    fn out_must_be_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("afile");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(out_dir_problem(dir.path()), None);
        assert_eq!(out_dir_problem(&dir.path().join("new/run")), None);
        let p = out_flag_problem(&file).unwrap();
        assert!(p.contains("is a file, not a directory"), "{p}");
        assert!(p.contains("--out names a directory"), "{p}");
        let p = out_dir_problem(&file.join("run")).unwrap();
        assert!(p.contains(&format!("{} is a file", file.display())), "{p}");
        let e = RunDir::create(&file).err().unwrap();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(std::fs::read(&file).unwrap(), b"x");
    }

    #[test]
    fn a_run_keeps_room_for_its_last_result_until_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        let reserve = out.join(RESERVE_FILE);
        let run = RunDir::create(&out).unwrap();
        assert_eq!(
            std::fs::metadata(&reserve).unwrap().len(),
            PROBE_BYTES as u64
        );
        run.release_reserve();
        assert!(!reserve.exists());
        run.release_reserve();
        drop(run);
        // Dropped on any path (an error, a panic), it frees the room too.
        let other = dir.path().join("other");
        drop(RunDir::create(&other).unwrap());
        assert!(!other.join(RESERVE_FILE).exists());
        // A run opened for `wpbench report` holds none and removes nothing.
        let blocked = dir.path().join("blocked");
        let kept = RunDir::create(&blocked).unwrap();
        std::fs::write(blocked.join(RESULT_FILE), b"{}").unwrap();
        drop(RunDir::open(&blocked).unwrap());
        assert!(blocked.join(RESERVE_FILE).exists());
        drop(kept);
        assert!(!blocked.join(RESERVE_FILE).exists());
    }
}
