//! What the commands that read or judge a finished run share: reading a
//! run, loading gate files and a baseline, and judging a run against them.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use super::args::GateOptions;
use crate::error::{Error, Result};
use crate::result::RunResult;
use crate::scenario;

/// Reads a run for `report`, `compare`, `gate` and `baseline save`: a run
/// directory or a result.json. Anything unreadable is the user's to fix (exit 2).
pub(super) fn read_run(path: &Path) -> Result<RunResult> {
    crate::rundir::read_result(path).map_err(|e| {
        Error::Usage(format!(
            "{}: cannot read a wpbench result there: {e} (give a run directory or its result.json)",
            path.display()
        ))
    })
}

/// Gate files and the baseline, loaded (and checked against `names`) up front.
pub(super) fn load_gating(
    o: &GateOptions,
    names: &scenario::GateNames,
) -> Result<(
    Vec<scenario::GateSpec>,
    Option<crate::analysis::gate::baseline::Baseline>,
)> {
    let mut gates = Vec::new();
    for f in &o.gates {
        gates.extend(scenario::load_gates(f, names)?);
    }
    let baseline = match &o.baseline {
        Some(arg) => {
            let path = crate::analysis::gate::baseline::resolve(arg, &o.baseline_dir);
            Some(
                crate::analysis::gate::baseline::Baseline::read(&path).map_err(|e| {
                    Error::Usage(format!(
                    "--baseline {arg}: {e} (save one with `wpbench baseline save RUN --name NAME`)"
                ))
                })?,
            )
        }
        None => None,
    };
    Ok((gates, baseline))
}

/// Judges `run` and writes gate.json, junit.xml and bmf.json into
/// `run_dir`, appends Markdown to $GITHUB_STEP_SUMMARY when set, prints
/// the verdict table. Exit 1 when a fail-level gate failed.
pub(super) fn judge(
    run_dir: &Path,
    run: &RunResult,
    gates: &[scenario::GateSpec],
    baseline: Option<&crate::analysis::gate::baseline::Baseline>,
    verdict_to_stderr: bool,
    render: &crate::report::RenderOptions,
) -> Result<ExitCode> {
    use crate::analysis::gate;
    let report = gate::evaluate(run, gates, baseline).map_err(|e| Error::Usage(e.0))?;
    let write = |name: &str, bytes: &[u8]| {
        crate::rundir::write_atomic(&run_dir.join(name), bytes)
            .map_err(|e| Error::run_io(format!("writing {}", run_dir.join(name).display()), e))
    };
    let mut json = serde_json::to_vec_pretty(&report).map_err(|e| Error::Run(e.to_string()))?;
    json.push(b'\n');
    write("gate.json", &json)?;
    write(
        "junit.xml",
        crate::report::gate::junit::render(&report).as_bytes(),
    )?;
    write("bmf.json", &crate::report::gate::bmf::render(run))?;
    // report.html and summary.md show the verdicts: render them again now
    // that they exist.
    crate::rundir::RunDir::open(run_dir)
        .and_then(|d| d.write_reports(run, render))
        .map_err(|e| Error::run_io(format!("writing the reports to {}", run_dir.display()), e))?;
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| {
                f.write_all(crate::report::gate::render::markdown(&report).as_bytes())
            });
        if let Err(e) = appended {
            eprintln!(
                "wpbench: could not append to $GITHUB_STEP_SUMMARY ({}): {e}",
                Path::new(&path).display()
            );
        }
    }
    let verdict = format!(
        "{}wrote {1}/gate.json, {1}/junit.xml and {1}/bmf.json\n",
        crate::report::gate::render::text(&report),
        run_dir.display()
    );
    if verdict_to_stderr {
        eprint!("{verdict}");
    } else {
        print!("{verdict}");
    }
    Ok(if report.status == gate::Status::Fail {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
