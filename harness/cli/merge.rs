//! `wpbench merge`: combine run directories (a fleet's nodes, or many runs)
//! into one run directory.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::error::Result;

pub(super) fn merge(
    runs: &[PathBuf],
    out: &Path,
    force: bool,
    render: &crate::report::RenderOptions,
) -> Result<ExitCode> {
    let (merged, warnings) =
        crate::rundir::merge::merge_dirs(runs, out, force, std::env::args().collect(), render)?;
    for w in &warnings {
        eprintln!("wpbench: {w}");
    }
    let nodes: Vec<&str> = merged.sources.iter().map(|s| s.node.as_str()).collect();
    let forced = merged
        .cells
        .iter()
        .filter(|c| c.notes.iter().any(|n| n.starts_with("merged with --force")))
        .count();
    println!(
        "merged {} runs ({}) into {}: wrote {}/result.json, report.html, summary.md, charts/ and hlog/{}",
        merged.sources.len(),
        nodes.join(", "),
        crate::scenario::units::plural(merged.cells.len() as u64, "cell", "cells"),
        out.display(),
        if forced > 0 {
            format!(" ({forced} cells merged with --force despite differences: see their notes)")
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}
