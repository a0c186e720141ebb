//! `wpbench gate`: judge a finished run and write gate.json, junit.xml and
//! bmf.json into its run directory.

use std::path::Path;
use std::process::ExitCode;

use super::args::GateArgs;
use super::gating::{judge, load_gating, read_run};
use crate::error::{Error, Result};
use crate::result::RunResult;
use crate::scenario;
use crate::target::hostpath::MachineHost;

/// Judges a finished run against its scenario's gates (when the file is
/// still the one that ran), gate files and a baseline.
pub(super) fn gate(args: &GateArgs) -> Result<ExitCode> {
    let run = read_run(&args.run)?;
    let run_dir = if args.run.is_dir() {
        args.run.clone()
    } else {
        args.run.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let (mut gates, baseline) = load_gating(&args.options, &gate_names(&run))?;
    // The scenario's own gates, when its file is still the one that ran.
    let file = Path::new(&run.scenario.file);
    match scenario::load(file, &MachineHost) {
        Ok(s) if s.sha256 == run.scenario.sha256 => {
            let mut own = s.gates;
            own.append(&mut gates);
            gates = own;
        }
        Ok(_) => eprintln!(
            "wpbench: {} changed since the run; its gates are not applied (give them with --gate)",
            file.display()
        ),
        Err(_) => eprintln!(
            "wpbench: {} is not readable; its gates are not applied (give them with --gate)",
            file.display()
        ),
    }
    if gates.is_empty() && baseline.is_none() {
        return Err(Error::Usage(
            "nothing to gate: no `gates:` in the scenario, and no --gate or --baseline given"
                .into(),
        ));
    }
    let render = args.link.render_options()?;
    judge(&run_dir, &run, &gates, baseline.as_ref(), false, &render)
}

/// The names a gate file is checked against: a run's cells.
fn gate_names(run: &RunResult) -> scenario::GateNames {
    let mut names = scenario::GateNames::default();
    let written = |full: &str| full.split('[').next().unwrap_or(full).to_string();
    for c in &run.cells {
        let t = (c.target.name.clone(), written(&c.target.name));
        if !names.targets.contains(&t) {
            names.targets.push(t);
        }
        let w = (c.workload.name.clone(), written(&c.workload.name));
        if !names.workloads.contains(&w) {
            names.workloads.push(w);
        }
        for kind in c.faults.iter().map(|f| f.kind_name()) {
            if !names.faults.iter().any(|f| f == kind) {
                names.faults.push(kind.to_string());
            }
        }
    }
    names
}
