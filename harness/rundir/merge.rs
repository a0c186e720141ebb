//! `wpbench merge` on disk: reads the runs' directories, merges them
//! (`result::merge`, pure) and writes the merged run directory.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::{read_result, RunDir, RESULT_FILE};
use crate::error::{Error, Result};
use crate::result::merge::{merge, node_names, Merged, Source};
use crate::result::{MissingSource, RunResult};

/// The directory of a run given as a directory or as its result.json.
fn run_dir_of(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }
}

/// Reads the runs at `paths`, merges them (see [`merge`]) and writes the
/// merged run directory `out`: result.json, the copied interval logs,
/// summary.md (rendered as `render` says), charts and report.html. Returns the run and warnings
/// (interval logs that could not be copied).
pub fn merge_dirs(
    paths: &[PathBuf],
    out: &Path,
    force: bool,
    command: Vec<String>,
    render: &crate::report::RenderOptions,
) -> Result<(RunResult, Vec<String>)> {
    merge_into(paths, None, Vec::new(), out, force, command, render)
}

/// [`merge_dirs`] for `k8s collect`: the runs at `runs` (node, run
/// directory) keep their nodes' names (`-2` … when two share one), and
/// `missing` — the nodes whose results never arrived — is recorded in the
/// merged run.
pub fn merge_nodes(
    runs: &[(String, PathBuf)],
    missing: Vec<MissingSource>,
    out: &Path,
    force: bool,
    command: Vec<String>,
    render: &crate::report::RenderOptions,
) -> Result<(RunResult, Vec<String>)> {
    let (names, paths): (Vec<String>, Vec<PathBuf>) = runs.iter().cloned().unzip();
    merge_into(&paths, Some(&names), missing, out, force, command, render)
}

fn merge_into(
    paths: &[PathBuf],
    names: Option<&[String]>,
    missing: Vec<MissingSource>,
    out: &Path,
    force: bool,
    command: Vec<String>,
    render: &crate::report::RenderOptions,
) -> Result<(RunResult, Vec<String>)> {
    let mut runs = Vec::with_capacity(paths.len());
    let mut hints = Vec::with_capacity(paths.len());
    let mut dirs = Vec::with_capacity(paths.len());
    for p in paths {
        let run = read_result(p).map_err(|e| {
            Error::Usage(format!(
                "{}: cannot read a wpbench result there: {e} (give run directories or their result.json)",
                p.display()
            ))
        })?;
        let dir = run_dir_of(p);
        let name = fs::canonicalize(&dir)
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        hints.push(match names {
            // Named by the caller: only the name counts (an empty hostname
            // makes node_names take it).
            Some(names) => (String::new(), names[hints.len()].clone()),
            None => (run.env.hostname.clone(), name),
        });
        dirs.push(dir);
        runs.push(run);
    }
    let out_canon = fs::canonicalize(out).ok();
    if out.join(RESULT_FILE).exists()
        || dirs
            .iter()
            .any(|d| fs::canonicalize(d).ok().is_some() && fs::canonicalize(d).ok() == out_canon)
    {
        return Err(Error::Usage(format!(
            "{} already holds a run; give -o a new directory",
            out.display()
        )));
    }
    let sources: Vec<Source> = node_names(&hints)
        .into_iter()
        .zip(runs)
        .map(|(node, run)| Source { node, run })
        .collect();
    let Merged {
        mut run,
        hlog_copies,
    } = merge(&sources, force, command)?;
    // The merged repeats hold every node's samples: judge them afresh.
    crate::analysis::conclude(&mut run);
    run.missing.extend(missing);

    let run_dir = RunDir::create(out).map_err(|e| {
        Error::Usage(format!(
            "{}: cannot create the merged run there: {e}",
            out.display()
        ))
    })?;
    let mut warnings = Vec::new();
    let mut lost = BTreeSet::new();
    for c in &hlog_copies {
        let from = dirs[c.source].join(&c.from);
        if let Err(e) = fs::copy(&from, out.join(&c.to)) {
            warnings.push(format!(
                "{}: interval log not copied ({e}); its cell has no time series",
                from.display()
            ));
            lost.insert(c.to.clone());
        }
    }
    for cell in &mut run.cells {
        if lost.contains(&cell.hlog) {
            cell.hlog.clear();
        }
        for s in &mut cell.sources {
            if lost.contains(&s.hlog) {
                s.hlog.clear();
            }
        }
    }
    run_dir
        .write(&run)
        .map_err(|e| Error::run_io(format!("writing {}", out.display()), e))?;
    let (_, unreadable) = run_dir
        .write_reports(&run, render)
        .map_err(|e| Error::run_io(format!("writing the reports to {}", out.display()), e))?;
    warnings.extend(
        unreadable
            .into_iter()
            .map(|u| format!("no time-series chart for {u}")),
    );
    Ok((run, warnings))
}
