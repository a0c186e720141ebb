//! The run: provisions each cell's target, runs the cell, reads device
//! counters, tears the target down, and writes results after every cell.
//!
//! The engine does not choose how targets are made: `RunOptions` carries
//! the provisioner (the CLI gives `target::ByKind`, each kind's own, after
//! entering the private mount namespace; the tests below give a plain
//! directory, and run all of this without root). One trial of a cell is
//! in `trial.rs`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::armed::first_applying;
use super::trial::Trial;
use super::Observer;
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::fault::crash::CrashOutcome;
use crate::fault::outcome::FaultOutcome;
use crate::fault::verify::Durability;
use crate::result::{CellResult, RunResult, RunStatus, ScenarioInfo, WorkloadInfo, SCHEMA};
use crate::rundir::RunDir;
use crate::scenario::plan::{Cell, Plan};
use crate::scenario::units::{format_duration_exact, format_size};
use crate::scenario::{FaultKind, FaultSpec, Scenario, SyncPolicy, WorkloadSpec};
use crate::target::scratch::ScratchArea;
use crate::target::{Provisioner, Target};

pub struct RunOptions<'a> {
    /// Makes each cell's target: `target::ByKind` in a real run (each
    /// kind's own provisioner), a plain directory in the engine's tests.
    pub provisioner: &'a dyn Provisioner,
    pub run_id: String,
    pub out_dir: PathBuf,
    pub scratch_root: PathBuf,
    /// Leave hostPath subdirectories in place after the run.
    pub keep: bool,
    pub privileged: bool,
    pub command: Vec<String>,
    /// How the reports at the end are rendered (summary.md's link base).
    pub render: crate::report::RenderOptions,
}

/// What the run tells the user about, besides per-tick progress.
pub trait RunObserver: Observer {
    fn cell_started(&self, cell: &Cell, label: &str, of: usize);
    fn cell_finished(&self, result: &CellResult);
    fn message(&self, text: &str);
    /// The cell entered a phase without ticks (setup, verify, teardown);
    /// warm-up and measure arrive as ticks.
    fn phase(&self, _phase: super::Phase) {}
}

/// A failure to write the run's outputs: a full, read-only or forbidden
/// place is the machine's to fix (exit 3), named with its path and errno.
fn output_error(what: String, e: std::io::Error) -> Error {
    let advice = match e.raw_os_error() {
        Some(libc::ENOSPC | libc::EDQUOT) => "free some space there or give another --out",
        Some(libc::EROFS) => "that filesystem is read-only; give another --out",
        Some(libc::EACCES | libc::EPERM) => "this user may not write there; give another --out",
        _ => return Error::run_io(what, e),
    };
    Error::Environment(format!("{what}: {e}; {advice}"))
}

pub fn cell_label(scenario: &Scenario, cell: &Cell) -> String {
    format!(
        "{}/{} #{}",
        scenario.targets[cell.target].name, scenario.workloads[cell.workload].name, cell.repeat
    )
}

/// What every cell of a run shares.
pub(super) struct RunCtx<'a> {
    pub scenario: &'a Scenario,
    pub plan: &'a Plan,
    pub opts: &'a RunOptions<'a>,
    pub cancel: &'a Cancel,
    pub obs: &'a dyn RunObserver,
    pub run_dir: &'a RunDir,
}

/// Runs the plan. The result is on disk after every cell; on error the
/// result written so far says `failed`.
pub fn run(
    scenario: &Scenario,
    plan: &Plan,
    opts: &RunOptions,
    cancel: &Cancel,
    obs: &dyn RunObserver,
) -> Result<RunResult> {
    remove_killed_runs(opts, obs)?;
    let (run_dir, mut scratch) = open_run(opts)?;
    let mut result = new_result(scenario, plan, opts);
    let write = |r: &RunResult| {
        run_dir.write(r).map_err(|e| {
            output_error(
                format!("writing results to {}", run_dir.path().display()),
                e,
            )
        })
    };
    write(&result)?;

    let ctx = RunCtx {
        scenario,
        plan,
        opts,
        cancel,
        obs,
        run_dir: &run_dir,
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_cells(&ctx, &mut scratch, &mut result, &write)
    }));
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(panic) => {
            // A bug: the finished cells are kept and the run says `failed`;
            // main reports the panic (exit 4) and the scratch area's drop
            // cleans up on the way.
            result.finished_at = now_rfc3339();
            result.status = RunStatus::Failed;
            let _ = write(&result);
            std::panic::resume_unwind(panic);
        }
    };
    finish(&ctx, result, outcome, &mut scratch, &write)
}

/// Removes what earlier runs that were killed left in the scratch root,
/// and marks their results as killed.
fn remove_killed_runs(opts: &RunOptions, obs: &dyn RunObserver) -> Result<()> {
    // Refuses (exit 3) a scratch root another user could write, before
    // anything is written.
    let dead_cgroups = |run: &str, names: &[String]| {
        crate::fault::throttle::remove_run_cgroups(run, names, std::time::Duration::from_secs(2))
    };
    let report = crate::target::scratch::cleanup_stale(&opts.scratch_root, &dead_cgroups)?;
    for run in &report.removed_runs {
        obs.message(&format!(
            "removed the leftovers of an earlier killed run ({run})"
        ));
    }
    for what in &report.left_alone {
        obs.message(&format!("left alone: {what}"));
    }
    for problem in crate::rundir::mark_killed_runs(&report.killed_results).1 {
        obs.message(&problem);
    }
    Ok(())
}

/// Creates the run directory and the run's scratch area, which records
/// where the results go.
fn open_run(opts: &RunOptions) -> Result<(RunDir, ScratchArea)> {
    let run_dir = RunDir::create(&opts.out_dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists | std::io::ErrorKind::InvalidInput => {
            Error::Usage(e.to_string())
        }
        _ => output_error(format!("writing into {}", opts.out_dir.display()), e),
    })?;
    let mut scratch = ScratchArea::create(&opts.scratch_root, &opts.run_id)?;
    scratch.keep_outside(opts.keep);
    if let Ok(dir) = run_dir.path().canonicalize() {
        scratch
            .set_result_dir(&dir)
            .map_err(|e| Error::run_io("writing the scratch manifest", e))?;
    }
    Ok((run_dir, scratch))
}

/// The result of a run that is starting: no cells yet, `running`.
fn new_result(scenario: &Scenario, plan: &Plan, opts: &RunOptions) -> RunResult {
    RunResult {
        schema: SCHEMA.to_string(),
        run_id: opts.run_id.clone(),
        scenario: ScenarioInfo {
            name: scenario.name.clone(),
            file: scenario.file.display().to_string(),
            sha256: scenario.sha256.clone(),
            seed: scenario.seed,
            description: scenario.description.clone(),
            planned_cells: plan.len(),
        },
        env: crate::device::env::capture(),
        started_at: now_rfc3339(),
        finished_at: String::new(),
        status: RunStatus::Running,
        error: String::new(),
        command: opts.command.clone(),
        cells: Vec::new(),
        sources: Vec::new(),
        missing: Vec::new(),
        compare: crate::result::CompareInfo {
            pairs: scenario.comparison_pairs(),
            min_effect: scenario.compare.min_effect,
        },
        comparisons: Vec::new(),
        noise: Vec::new(),
    }
}

/// Ends the run: its status, the scratch area removed, the result and
/// the reports written. The run's error, else the outputs', else the
/// scratch area's; none when the run was interrupted (its status says so).
fn finish(
    ctx: &RunCtx,
    mut result: RunResult,
    outcome: Result<()>,
    scratch: &mut ScratchArea,
    write: &dyn Fn(&RunResult) -> Result<()>,
) -> Result<RunResult> {
    result.finished_at = now_rfc3339();
    // A signal surfaces as whatever the interrupted step returned (a
    // killed mkfs, an interrupted setup loop): the run was interrupted.
    let interrupted = ctx.cancel.is_set();
    result.status = match &outcome {
        _ if interrupted => RunStatus::Interrupted,
        Ok(()) => RunStatus::Completed,
        Err(_) => RunStatus::Failed,
    };
    // A failed run says why in result.json too.
    if let (Err(e), false) = (&outcome, interrupted) {
        result.error = e.to_string();
    }
    let problems = scratch.remove_all();
    // Verdicts and noise over every cell measured, an interrupted run's too.
    crate::analysis::conclude(&mut result);
    let written = write(&result).and_then(|()| {
        let (_, unreadable) = ctx
            .run_dir
            .write_reports(&result, &ctx.opts.render)
            .map_err(|e| {
                output_error(
                    format!("writing the reports to {}", ctx.run_dir.path().display()),
                    e,
                )
            })?;
        for u in unreadable {
            ctx.obs.message(&format!("no time-series chart for {u}"));
        }
        Ok(())
    });
    if let Err(e) = &written {
        // The measurements are in, but the run's outputs are not whole:
        // result.json must not say `completed`. The room kept since the
        // run directory was made is freed to say `failed`, and why.
        if result.status == RunStatus::Completed {
            result.status = RunStatus::Failed;
        }
        result.error = match &outcome {
            Err(run) if !interrupted => format!("{run}; then {e}"),
            _ => e.to_string(),
        };
        ctx.run_dir.release_reserve();
        if let Err(again) = write(&result) {
            ctx.obs.message(&format!(
                "result.json could not be corrected to `{}`: {again}",
                result.status.as_str()
            ));
        }
    }
    ctx.run_dir.release_reserve();
    if !interrupted {
        outcome?;
    }
    written?;
    if !problems.is_empty() {
        return Err(Error::Run(format!(
            "cleaning up scratch: {}",
            problems.join("; ")
        )));
    }
    Ok(result)
}

fn run_cells(
    ctx: &RunCtx,
    scratch: &mut ScratchArea,
    result: &mut RunResult,
    write: &dyn Fn(&RunResult) -> Result<()>,
) -> Result<()> {
    // Targets with `reuse: true`, kept mounted between their cells.
    let mut kept: BTreeMap<usize, Target> = BTreeMap::new();
    let mut outcome = Ok(());
    for cell in ctx.plan.cells() {
        if ctx.cancel.is_set() {
            break;
        }
        outcome = run_one_cell(ctx, &cell, scratch, &mut kept).and_then(|cell_result| {
            result.cells.push(cell_result);
            write(result)
        });
        if outcome.is_err() {
            break;
        }
    }
    if !kept.is_empty() {
        ctx.obs.phase(super::Phase::Teardown);
    }
    for (_, target) in std::mem::take(&mut kept) {
        let torn = target.teardown(scratch);
        if outcome.is_ok() {
            outcome = torn;
        }
    }
    outcome
}

/// Runs a cell: once, or once per trial when a crash fault applies to it
/// (each trial on a fresh target), aggregating what the crashes cost.
fn run_one_cell(
    ctx: &RunCtx,
    cell: &Cell,
    scratch: &mut ScratchArea,
    kept: &mut BTreeMap<usize, Target>,
) -> Result<CellResult> {
    let scenario = ctx.scenario;
    ctx.obs
        .cell_started(cell, &cell_label(scenario, cell), ctx.plan.len());
    let crash = crash_fault(scenario, cell);
    let trials = crash.map_or(1, |f| f.trials);
    let mut first: Option<CellResult> = None;
    let mut entries = Vec::new();
    let mut total = Durability::default();
    for trial in 0..trials {
        if trial > 0 && ctx.cancel.is_set() {
            break;
        }
        let (result, fault) = Trial {
            run: ctx,
            cell,
            crash: crash.map(|f| (f, trial)),
        }
        .run(
            workload_info(&scenario.workloads[cell.workload]),
            scratch,
            kept,
        )?;
        if let Some((entry, d)) = fault {
            if let Some(d) = d {
                total.add(&d);
            }
            entries.push(entry);
        }
        first.get_or_insert(result);
    }
    let mut result = first.expect("at least one trial ran");
    if crash.is_some() {
        let explored: Option<u64> = entries
            .iter()
            .filter_map(|e| e.states.as_ref().map(|s| s.explored))
            .reduce(|a, b| a + b);
        let fired: Vec<f64> = entries
            .iter()
            .filter_map(|e| e.cut.as_ref().map(|c| c.fired_at_s))
            .collect();
        if total.acked_lost > 0 {
            result.notes.push(format!(
                "DURABILITY VIOLATION: {} acknowledged writes lost, short or corrupt over {} crash {}",
                total.acked_lost,
                total.trials,
                if explored.is_some() { "states" } else { "trials" }
            ));
        }
        result.notes.push(format!(
            "ops and latencies are from the first of {} crash trials",
            entries.len()
        ));
        let outcome = match explored {
            Some(n) => match entries.as_slice() {
                [one] => one.outcome.clone(),
                _ => format!(
                    "{n} crash states from the write logs of {} trials were built and verified",
                    entries.len()
                ),
            },
            None => format!(
                "{} of {} trials crashed and were verified",
                total.trials,
                entries.len()
            ),
        };
        let cut = CrashOutcome {
            trials: entries.len(),
            fired_at_s: fired.first().copied(),
            outcome,
            durability: total,
            per_trial: entries,
            states_explored: explored,
        };
        result.faults.push(
            match crash.map(|f| f.kind) {
                Some(FaultKind::PowerLoss) => FaultOutcome::PowerLoss(cut),
                _ => FaultOutcome::Crash(cut),
            }
            .into(),
        );
    }
    ctx.obs.cell_finished(&result);
    Ok(result)
}

/// The cut of power (a crash, or a power loss) that applies to a cell,
/// if any: the first in the scenario.
pub(crate) fn crash_fault<'a>(scenario: &'a Scenario, cell: &Cell) -> Option<&'a FaultSpec> {
    first_applying(scenario, cell, FaultKind::is_cut)
}

/// The workload's checked parameters as strings, for the record.
fn workload_info(w: &WorkloadSpec) -> WorkloadInfo {
    let mut p = BTreeMap::new();
    p.insert("fsync".into(), sync_policy_name(w.fsync));
    p.insert("sync_call".into(), w.sync_call.as_str().into());
    p.insert("fsync_dir".into(), w.fsync_dir.to_string());
    if let Some(rate) = w.rate {
        p.insert("rate".into(), format!("{rate}/s"));
    }
    for (key, value) in w.params.record() {
        p.insert(key.into(), value);
    }
    p.insert("payload".into(), w.payload.to_string());
    if w.o_direct {
        p.insert("o_direct".into(), "true".into());
    }
    if let Some(t) = w.think_time {
        p.insert("think_time".into(), format_duration_exact(t));
    }
    if !w.kind.takes_sync_policy() {
        // Only these take a sync policy; the others sync in their own steps
        // or not at all.
        for key in ["fsync", "sync_call", "fsync_dir"] {
            p.remove(key);
        }
    }
    WorkloadInfo {
        name: w.name.clone(),
        kind: w.kind.as_str().into(),
        threads: w.threads,
        params: p,
    }
}

pub fn sync_policy_name(p: SyncPolicy) -> String {
    match p {
        SyncPolicy::Always => "always".into(),
        SyncPolicy::Never => "never".into(),
        SyncPolicy::End => "end".into(),
        SyncPolicy::OnClose => "on_close".into(),
        SyncPolicy::Every(n) => format!("every {n}"),
        SyncPolicy::EveryBytes(b) => format!("every {}", format_size(b)),
        SyncPolicy::Interval(d) => format!("interval {}", format_duration_exact(d)),
    }
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests;
