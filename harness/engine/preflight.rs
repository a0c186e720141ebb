//! Preflight: everything that can be known about a run before anything is
//! written, checked for all targets at once so that a typo in the fifth
//! target fails in the first second, not after four cells.
//!
//! - the scenario's cells against what this build and machine can do
//!   (each target kind's own environment check: privileges, mkfs, hostPath
//!   paths);
//! - every target's mount options, each distinct configuration probed once
//!   with the kernel (a filesystem context, nothing mounted);
//! - the plan's budget (disk, inodes, memory, open files) against the
//!   machine's room.

use std::path::{Path, PathBuf};

use super::run::{cell_label, crash_fault};
use crate::engine::armed::applying;
use crate::error::{Error, Result};
use crate::scenario::budget::{self, Estimate};
use crate::scenario::plan::Plan;
use crate::scenario::{FaultKind, Scenario, TargetKind};
use crate::target::{mounter, Provisioner};

/// Everything that must hold before anything is created. Every problem is
/// reported at once; the exit code is the user's (2) when any of them is
/// the scenario's, else the machine's (3).
pub fn check_environment(
    scenario: &Scenario,
    plan: &Plan,
    provisioner: &dyn Provisioner,
    privileged: bool,
) -> Result<()> {
    let mut problems: Vec<Error> = Vec::new();
    // What is checked per cell depends on its target and workload only.
    for cell in plan.cells().take(plan.pairs().len()) {
        if crash_fault(scenario, &cell).is_some()
            && applying(scenario, &cell, FaultKind::Eio).is_some()
        {
            problems.push(Error::Usage(format!(
                "cell {}: a crash and an eio fault both select it; a cell takes one of them — \
                 narrow their `target:` or `workload:`",
                cell_label(scenario, &cell)
            )));
        }
        let w = &scenario.workloads[cell.workload];
        if crash_fault(scenario, &cell).is_some() && !w.kind.verifiable() {
            problems.push(Error::Usage(format!(
                "crash verification covers fsync_heavy and small_files workloads in this build; \
                 `{}` is {} — narrow the crash fault's `workload:`",
                w.name,
                w.kind.as_str()
            )));
        }
    }
    for target in plan.targets() {
        let spec = &scenario.targets[target];
        if let Err(e) = provisioner.check_environment(spec, privileged) {
            problems.push(e);
        }
    }
    if privileged {
        problems.extend(probe_options(scenario, plan));
    }
    combine(problems)
}

/// One error for many: each on its own line, exit 2 if any is the user's.
fn combine(mut problems: Vec<Error>) -> Result<()> {
    problems.dedup_by(|a, b| a.to_string() == b.to_string());
    match problems.len() {
        0 => Ok(()),
        1 => Err(problems.remove(0)),
        _ => {
            let users = problems.iter().any(|p| p.exit_code() == 2);
            let text = problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n");
            Err(if users {
                Error::Usage(text)
            } else {
                Error::Environment(text)
            })
        }
    }
}

/// Asks the kernel about every distinct (filesystem, options) of the
/// plan's targets and overlay uppers; a refused option is the user's
/// error (exit 2), named with the target and the kernel's reason.
fn probe_options(scenario: &Scenario, plan: &Plan) -> Vec<Error> {
    let mut asked: Vec<(TargetKind, Vec<String>)> = Vec::new();
    let mut problems = Vec::new();
    for t in plan.targets() {
        let spec = &scenario.targets[t];
        let mut configs = vec![(spec.kind, &spec.options, &spec.option_places, "")];
        if let Some(up) = spec.upper() {
            configs.push((up.kind, &up.options, &up.option_places, "upper "));
        }
        for (kind, options, places, what) in configs {
            // hostPath flags are checked without the kernel (a bind mount
            // takes only per-mount flags); a mount without options needs no probe.
            if kind.is_existing_storage() || options.is_empty() {
                continue;
            }
            if asked.iter().any(|(k, o)| *k == kind && o == options) {
                continue;
            }
            asked.push((kind, options.clone()));
            let Err(e) = mounter::probe(kind.as_str(), options) else {
                continue;
            };
            let text = format!("target {}: {what}{}: {e}", spec.name, kind.as_str());
            // The option the kernel refused, where the file wrote it.
            let place = e
                .option
                .as_ref()
                .and_then(|o| options.iter().position(|x| x == o))
                .and_then(|i| places.get(i));
            let advice = "check the option's spelling and value";
            problems.push(match (e.step, place) {
                // The kernel lacks the filesystem type: the machine's.
                ("fsopen", _) => Error::Environment(format!(
                    "{text}; this kernel cannot mount {} here",
                    kind.as_str()
                )),
                (_, Some(place)) => {
                    Error::Usage(place.diagnostic(format!("{text}; {advice}")).to_string())
                }
                (_, None) if e.option.is_some() => Error::Usage(format!("{text}; {advice}")),
                _ => Error::Environment(text),
            });
        }
    }
    problems
}

/// The plan's budget against this machine: exit 3 naming what is needed
/// and what is free when it does not fit. Raises the open-file limit to
/// what the plan needs when the hard limit allows.
pub fn check_budget(
    scenario: &Scenario,
    plan: &Plan,
    scratch_root: &Path,
    out_dir: &Path,
) -> Result<Estimate> {
    let estimate = budget::estimate(scenario, plan);
    let hostpaths: Vec<(String, PathBuf)> = plan
        .targets()
        .into_iter()
        .map(|t| &scenario.targets[t])
        .filter(|t| t.kind.is_existing_storage())
        .filter_map(|t| Some((t.name.clone(), t.path()?.to_path_buf())))
        .collect();
    let machine = crate::device::room::machine(scratch_root, out_dir, &hostpaths)
        .map_err(|e| Error::Environment(format!("reading this machine's free room: {e}")))?;
    let short = budget::shortfalls(&estimate, &machine);
    if !short.is_empty() {
        return Err(Error::Environment(format!(
            "this plan does not fit on this machine; nothing was written:\n  {}",
            short.join("\n  ")
        )));
    }
    crate::workload::sys::ensure_open_files(estimate.open_files).map_err(|why| {
        Error::Environment(format!(
            "the plan keeps up to {} files open, and {why}",
            estimate.open_files
        ))
    })?;
    Ok(estimate)
}
