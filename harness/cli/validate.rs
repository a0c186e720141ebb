//! `wpbench validate`: check scenario files without touching the system and
//! print each one's plan (cells, time, the most it holds at once).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::args::Format;
use crate::error::{Error, Result};
use crate::scenario::units::plural;
use crate::scenario::{self, plan::plan};
use crate::target::hostpath::MachineHost;

pub(super) fn validate(files: &[PathBuf], format: Format) -> Result<ExitCode> {
    let mut failed = false;
    let mut json = Vec::new();
    for file in files {
        // A gate file (`--gate`) is checked as one, not as a scenario.
        if scenario::is_gate_file(file) {
            failed |= !validate_gate_file(file, format, &mut json);
            continue;
        }
        let checked = scenario::load(file, &MachineHost).and_then(|s| {
            // A plan over the whole scenario (no --only): the cell count
            // limit is the loader's, so this cannot fail on a loaded file.
            let plan = plan(&s, &[]).map_err(|message| {
                scenario::Diagnostics(vec![scenario::Diagnostic {
                    file: file.clone(),
                    line: 1,
                    column: 1,
                    key: "repeat".into(),
                    message,
                }])
            })?;
            let estimate = scenario::budget::estimate(&s, &plan);
            Ok((s, estimate))
        });
        match (checked, format) {
            (Ok((s, estimate)), Format::Text) => {
                println!(
                    "ok {}: {} × {} × {} = {}",
                    file.display(),
                    plural(s.targets.len() as u64, "target", "targets"),
                    plural(s.workloads.len() as u64, "workload", "workloads"),
                    plural(s.repeat, "repeat", "repeats"),
                    plural(estimate.cells, "cell", "cells"),
                );
                for line in estimate.describe() {
                    println!("  {line}");
                }
            }
            (Ok((_, estimate)), Format::Json) => json.push(serde_json::json!({
                "file": file,
                "ok": true,
                "plan": estimate,
            })),
            (Err(d), Format::Text) => {
                failed = true;
                eprintln!("{d}");
            }
            (Err(d), Format::Json) => {
                failed = true;
                json.push(diagnostics_json(file, &d));
            }
        }
    }
    if format == Format::Json {
        let mut text =
            serde_json::to_string_pretty(&json).map_err(|e| Error::Run(e.to_string()))?;
        text.push('\n');
        print!("{text}");
    }
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Checks a gate file alone and says so; false when it has errors
/// (printed, or pushed to `json`).
fn validate_gate_file(file: &Path, format: Format, json: &mut Vec<serde_json::Value>) -> bool {
    match (scenario::load_gates_alone(file), format) {
        (Ok(gates), Format::Text) => {
            println!(
                "ok {}: gate file, {}",
                file.display(),
                plural(gates.len() as u64, "gate", "gates")
            );
            println!(
                "  its selectors are matched to a run's targets, workloads and faults \
                 when it gates one"
            );
            true
        }
        (Ok(gates), Format::Json) => {
            json.push(serde_json::json!({
                "file": file,
                "ok": true,
                "kind": "gate_file",
                "gates": gates.len(),
            }));
            true
        }
        (Err(d), Format::Text) => {
            eprintln!("{d}");
            false
        }
        (Err(d), Format::Json) => {
            json.push(diagnostics_json(file, &d));
            false
        }
    }
}

fn diagnostics_json(file: &Path, d: &scenario::Diagnostics) -> serde_json::Value {
    serde_json::json!({
        "file": file,
        "ok": false,
        "diagnostics": d.0.iter().map(|d| serde_json::json!({
            "line": d.line,
            "column": d.column,
            "key": d.key,
            "message": d.message,
        })).collect::<Vec<_>>(),
    })
}
