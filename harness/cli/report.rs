//! `wpbench report`: render a run directory's charts, summary.md and
//! report.html again from its result.json and interval logs.

use std::path::Path;
use std::process::ExitCode;

use super::gating::read_run;
use crate::error::{Error, Result};

pub(super) fn report(dir: &Path, opts: &crate::report::RenderOptions) -> Result<ExitCode> {
    let run = read_run(dir)?;
    let run_dir = crate::rundir::RunDir::open(dir).map_err(|e| {
        Error::Usage(format!(
            "{e}: `wpbench report` takes a run directory (it writes next to result.json)"
        ))
    })?;
    let (written, unreadable) = run_dir
        .write_reports(&run, opts)
        .map_err(|e| Error::run_io(format!("writing the reports to {}", dir.display()), e))?;
    for u in &unreadable {
        eprintln!("wpbench: no time-series chart for {u}");
    }
    let charts = written
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        .count();
    println!(
        "wrote {} and {}, and {charts} charts as SVG and PNG in {}",
        dir.join(crate::rundir::HTML_FILE).display(),
        dir.join(crate::rundir::SUMMARY_FILE).display(),
        dir.join(crate::rundir::CHARTS_DIR).display()
    );
    Ok(ExitCode::SUCCESS)
}
