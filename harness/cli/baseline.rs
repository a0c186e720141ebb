//! `wpbench baseline save`: store a run's histograms as a named baseline
//! for `--baseline`.

use std::path::Path;
use std::process::ExitCode;

use super::gating::read_run;
use crate::error::{Error, Result};

pub(super) fn save(run: &Path, name: &str, dir: &Path) -> Result<ExitCode> {
    crate::analysis::gate::baseline::check_name(name).map_err(Error::Usage)?;
    let result = read_run(run)?;
    if result.cells.is_empty() {
        return Err(Error::Usage(format!(
            "{}: the run has no cells to keep as a baseline",
            run.display()
        )));
    }
    let b = crate::analysis::gate::baseline::Baseline::from_run(&result, name);
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::run_io(format!("creating {}", dir.display()), e))?;
    let path = dir.join(format!("{name}.json"));
    crate::rundir::write_atomic(&path, &b.to_bytes())
        .map_err(|e| Error::run_io(format!("writing {}", path.display()), e))?;
    println!(
        "saved baseline {name} ({} of run {}) to {}",
        crate::scenario::units::plural(b.cells.len() as u64, "cell", "cells"),
        b.run_id,
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}
