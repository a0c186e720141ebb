//! `wpbench cleanup`: remove what killed runs left behind (scratch
//! directories, hostPath subdirectories, cgroups) and mark their results.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::error::{Error, Result};
use crate::target::scratch;

pub(super) fn cleanup(root: Option<PathBuf>) -> Result<ExitCode> {
    let root = root.unwrap_or_else(scratch::default_root);
    // Dead runs: their threads are long gone, so their cgroups go at once.
    let remove_cgroups = |run: &str, names: &[String]| {
        crate::fault::throttle::remove_run_cgroups(run, names, std::time::Duration::from_secs(2))
    };
    // Refuses (exit 3) a scratch root another user could have written.
    let report = scratch::cleanup_stale(&root, &remove_cgroups)?;
    for path in &report.removed_paths {
        println!("removed {}", path.display());
    }
    for run in &report.removed_runs {
        println!("removed run {run}");
    }
    for cgroup in &report.removed_cgroups {
        println!("removed cgroup {}", cgroup.display());
    }
    let (marked, problems) = crate::rundir::mark_killed_runs(&report.killed_results);
    for dir in marked {
        println!("marked {} as killed", dir.display());
    }
    for problem in problems {
        eprintln!("wpbench: {problem}");
    }
    // Old empty cgroups no manifest records (a live run's holds its threads).
    for cgroup in crate::fault::throttle::remove_stale(&report.live_runs) {
        println!("removed cgroup {}", cgroup.display());
    }
    for run in &report.live_runs {
        println!("left alone: run {run} is still running");
    }
    for what in &report.left_alone {
        println!("left alone: {what}");
    }
    if report.removed_runs.is_empty() && report.problems.is_empty() && report.left_alone.is_empty()
    {
        println!("nothing to clean up under {}", root.display());
    }
    if report.problems.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Error::Run(format!(
            "cleanup incomplete: {}",
            report.problems.join("; ")
        )))
    }
}
