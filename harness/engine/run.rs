//! The run: provisions each cell's target, runs the cell, reads device
//! counters, tears the target down, and writes results after every cell.

use std::collections::BTreeMap;
use std::path::PathBuf;

use std::path::Path;

use rand::{Rng, SeedableRng};

use super::{run_cell, CellPlan, CrashAt, CrashPlan, KeepFree, Observer};
use crate::cancel::Cancel;
use crate::device::blockstat;
use crate::error::{Error, Result};
use crate::fault::armed::{applying, CellFaults};
use crate::fault::crash::{self, CrashOutcome, TrialFault};
use crate::fault::outcome::FaultOutcome;
use crate::fault::shutdown::shutdown_guarded;
use crate::fault::verify::Durability;
use crate::record::errno::errno_name;
use crate::result::stats::op_stats;
use crate::result::writer::RunDir;
use crate::result::{
    CellResult, RunResult, RunStatus, ScenarioInfo, TargetInfo, WorkloadInfo, SCHEMA,
};
use crate::scenario::plan::{Cell, Plan};
use crate::scenario::units::{format_duration_exact, format_size};
use crate::scenario::{FaultKind, FaultSpec, Scenario, SyncPolicy, WorkloadParams, WorkloadSpec};
use crate::target::scratch::ScratchArea;
use crate::target::{path_component, provisioner_for, ProvisionCtx, Target};
use crate::workload;

pub struct RunOptions {
    pub run_id: String,
    pub out_dir: PathBuf,
    pub scratch_root: PathBuf,
    /// Leave hostPath subdirectories in place after the run.
    pub keep: bool,
    pub privileged: bool,
    pub command: Vec<String>,
}

/// What the run tells the user about, besides per-tick progress.
pub trait RunObserver: Observer {
    fn cell_started(&self, cell: &Cell, label: &str, of: usize);
    fn cell_finished(&self, result: &CellResult);
    fn message(&self, text: &str);
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

/// Runs the plan. The result is on disk after every cell; on error the
/// result written so far says `failed`.
pub fn run(
    scenario: &Scenario,
    plan: &Plan,
    opts: &RunOptions,
    cancel: &Cancel,
    obs: &dyn RunObserver,
) -> Result<RunResult> {
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
    for problem in crate::result::writer::mark_killed_runs(&report.killed_results).1 {
        obs.message(&problem);
    }
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

    let mut result = RunResult {
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
    };
    let write = |r: &RunResult| {
        run_dir.write(r).map_err(|e| {
            output_error(
                format!("writing results to {}", run_dir.path().display()),
                e,
            )
        })
    };
    write(&result)?;

    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_cells(
            scenario,
            plan,
            opts,
            cancel,
            obs,
            &run_dir,
            &mut scratch,
            &mut result,
            &write,
        )
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
    result.finished_at = now_rfc3339();
    // A signal surfaces as whatever the interrupted step returned (a
    // killed mkfs, an interrupted setup loop): the run was interrupted.
    let interrupted = cancel.is_set();
    result.status = match &outcome {
        _ if interrupted => RunStatus::Interrupted,
        Ok(()) => RunStatus::Completed,
        Err(_) => RunStatus::Failed,
    };
    let problems = scratch.remove_all();
    let written = write(&result).and_then(|()| {
        let (_, unreadable) = run_dir.write_reports(&result).map_err(|e| {
            output_error(
                format!("writing the reports to {}", run_dir.path().display()),
                e,
            )
        })?;
        for u in unreadable {
            obs.message(&format!("no time-series chart for {u}"));
        }
        Ok(())
    });
    if let Err(e) = &written {
        // The measurements are in, but the run's outputs are not whole:
        // result.json must not say `completed` (if it can still be written).
        if result.status == RunStatus::Completed {
            result.status = RunStatus::Failed;
        }
        result.error = e.to_string();
        let _ = write(&result);
    }
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

#[allow(clippy::too_many_arguments)]
fn run_cells(
    scenario: &Scenario,
    plan: &Plan,
    opts: &RunOptions,
    cancel: &Cancel,
    obs: &dyn RunObserver,
    run_dir: &RunDir,
    scratch: &mut ScratchArea,
    result: &mut RunResult,
    write: &dyn Fn(&RunResult) -> Result<()>,
) -> Result<()> {
    // Targets with `reuse: true`, kept mounted between their cells.
    let mut kept: BTreeMap<usize, Target> = BTreeMap::new();
    let mut outcome = Ok(());
    for cell in plan.cells() {
        if cancel.is_set() {
            break;
        }
        outcome = run_one_cell(
            scenario, plan, &cell, opts, cancel, obs, run_dir, scratch, &mut kept,
        )
        .and_then(|cell_result| {
            result.cells.push(cell_result);
            write(result)
        });
        if outcome.is_err() {
            break;
        }
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
#[allow(clippy::too_many_arguments)]
fn run_one_cell(
    scenario: &Scenario,
    plan: &Plan,
    cell: &Cell,
    opts: &RunOptions,
    cancel: &Cancel,
    obs: &dyn RunObserver,
    run_dir: &RunDir,
    scratch: &mut ScratchArea,
    kept: &mut BTreeMap<usize, Target>,
) -> Result<CellResult> {
    obs.cell_started(cell, &cell_label(scenario, cell), plan.len());
    let crash = crash_fault(scenario, cell);
    let trials = crash.map_or(1, |f| f.trials);
    let mut first: Option<CellResult> = None;
    let mut entries = Vec::new();
    let mut total = Durability::default();
    for trial in 0..trials {
        if trial > 0 && cancel.is_set() {
            break;
        }
        let (result, fault) = run_trial(
            scenario,
            cell,
            opts,
            cancel,
            obs,
            run_dir,
            scratch,
            kept,
            crash.map(|f| (f, trial)),
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
        let fired: Vec<f64> = entries
            .iter()
            .filter_map(|e| e.cut.as_ref().map(|c| c.fired_at_s))
            .collect();
        if total.acked_lost > 0 {
            result.notes.push(format!(
                "DURABILITY VIOLATION: {} acknowledged writes lost, short or corrupt over {} crash trials",
                total.acked_lost, total.trials
            ));
        }
        result.notes.push(format!(
            "ops and latencies are from the first of {} crash trials",
            entries.len()
        ));
        let outcome = format!(
            "{} of {} trials crashed and were verified",
            total.trials,
            entries.len()
        );
        result.faults.push(
            FaultOutcome::Crash(CrashOutcome {
                trials: entries.len(),
                fired_at_s: fired.first().copied(),
                outcome,
                durability: total,
                per_trial: entries,
            })
            .into(),
        );
    }
    obs.cell_finished(&result);
    Ok(result)
}

/// The crash fault that applies to a cell, if any.
pub(crate) fn crash_fault<'a>(scenario: &'a Scenario, cell: &Cell) -> Option<&'a FaultSpec> {
    applying(scenario, cell, FaultKind::Crash)
}

/// When trial `trial` of `cell` cuts the power: `after_ops`, or a seeded
/// point drawn uniformly from `at`.
fn crash_at(f: &FaultSpec, seed: u64, cell: &Cell, trial: u32) -> CrashAt {
    if let Some(n) = f.after_ops {
        return CrashAt::AfterOps(n);
    }
    let range =
        f.at.expect("the loader requires `at` or `after_ops` for a crash");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
        seed ^ (cell.index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ u64::from(trial).rotate_left(32),
    );
    let (lo, hi) = (range.min.as_nanos() as u64, range.max.as_nanos() as u64);
    CrashAt::After(std::time::Duration::from_nanos(if hi > lo {
        rng.random_range(lo..=hi)
    } else {
        lo
    }))
}

/// One run of a cell: provisions (or reuses) the target, runs the
/// workload (cutting the power when `crash` says so), reads the counters
/// and tears the target down (unless it is kept for reuse).
#[allow(clippy::too_many_arguments)]
fn run_trial(
    scenario: &Scenario,
    cell: &Cell,
    opts: &RunOptions,
    cancel: &Cancel,
    obs: &dyn RunObserver,
    run_dir: &RunDir,
    scratch: &mut ScratchArea,
    kept: &mut BTreeMap<usize, Target>,
    crash: Option<(&FaultSpec, u32)>,
) -> Result<(CellResult, Option<TrialFault>)> {
    {
        let tspec = &scenario.targets[cell.target];
        let wspec = &scenario.workloads[cell.workload];
        // A crash trial always starts from a fresh filesystem.
        let reuse = tspec.reuse && crash.is_none();

        test_hook("provision");
        let reused = kept.remove(&cell.target);
        let fresh = reused.is_none();
        let mut target = match reused {
            Some(t) => t,
            None => provisioner_for(tspec.kind)?.provision(
                tspec,
                &mut ProvisionCtx {
                    scratch,
                    cancel,
                    run_id: &opts.run_id,
                    cell: cell.index,
                    privileged: opts.privileged,
                    seed: scenario.seed,
                    thin: applying(scenario, cell, FaultKind::Eio).is_some(),
                },
            )?,
        };
        // A reused target holds earlier cells' files: each cell works in
        // its own subdirectory.
        let root = if reuse {
            let dir = target.root.join(format!("c{:03}", cell.index));
            std::fs::create_dir(&dir)
                .map_err(|e| Error::run_io(format!("creating {}", dir.display()), e))?;
            dir
        } else {
            target.root.clone()
        };
        let (hlog_path, hlog_rel) = run_dir.hlog_path(&format!(
            "c{:03}-{}-{}-r{}{}",
            cell.index,
            path_component(&tspec.name),
            path_component(&wspec.name),
            cell.repeat,
            crash.map(|(_, t)| format!("-t{t}")).unwrap_or_default()
        ));
        let comment = format!(
            "wpbench {} scenario {} cell {}: target {} workload {} repeat {}\n\
             values in nanoseconds; Interval_Max in milliseconds; tags are op names",
            env!("CARGO_PKG_VERSION"),
            scenario.name,
            cell.index,
            tspec.name,
            wspec.name,
            cell.repeat
        );
        let capacity = rustix::fs::statvfs(&target.root).ok();
        test_hook("cell");
        let work = workload::build(wspec);
        let mut cell_notes = Vec::new();
        let warmup = if wspec.kind.cold_start() && !scenario.warmup.is_zero() {
            cell_notes.push(format!(
                "{} runs without warm-up: its first operations are the ones that matter",
                wspec.kind.as_str()
            ));
            std::time::Duration::ZERO
        } else {
            scenario.warmup
        };
        if wspec.kind == crate::scenario::WorkloadKind::CopyUp
            && tspec.kind != crate::scenario::TargetKind::Overlay
        {
            cell_notes.push(format!(
                "copy_up on a {} target: no lower layer, so the workload made its own files — a \
                 baseline of the same syscalls without copy-up",
                tspec.kind.as_str()
            ));
        }
        if let crate::scenario::WorkloadParams::Metadata(m) = &wspec.params {
            cell_notes.extend(rename_dir_note(tspec, wspec.threads, &m.mix));
        }
        let crash_point = target.crash_point().map(Path::to_path_buf);
        let attached = target.loop_devices();
        let fire = move || match &crash_point {
            Some(point) => shutdown_guarded(point, &attached),
            None => Err("no filesystem to shut down (tmpfs)".to_string()),
        };
        if applying(scenario, cell, FaultKind::Throttle).is_some() {
            // Recorded before it is made: a killed run's guardian removes it.
            let name = crate::fault::throttle::cgroup_name(&opts.run_id, cell.index as u32);
            scratch
                .register_cgroup(&name)
                .map_err(|e| Error::run_io("writing the scratch manifest", e))?;
        }
        let faults = CellFaults::arm(scenario, cell, &target, &root, &opts.run_id, cancel)?;
        let join_cgroup = |tid: i32| faults.join_throttle(tid);
        let before_clock = || faults.before_clock(&target);
        let measured = run_cell(
            &CellPlan {
                on_thread_start: Some(&join_cgroup),
                before_clock: Some(&before_clock),
                keep_ledgers: faults.needs_ledgers(),
                stop_on_errnos: faults.stop_on_errnos(),
                crash: crash.map(|(f, trial)| CrashPlan {
                    at: crash_at(f, scenario.seed, cell, trial),
                    fire: &fire,
                }),
                workload: work.as_ref(),
                root: &root,
                threads: wspec.threads,
                seed: scenario.seed,
                warmup,
                stop: scenario.stop,
                rate: wspec.rate,
                think_time: wspec.think_time,
                hlog: Some((hlog_path, comment)),
                device: target.device.as_ref(),
                // A hostPath shares the node's filesystem: never fill it.
                keep_free: (tspec.kind == crate::scenario::TargetKind::Hostpath)
                    .then(|| rustix::fs::statvfs(&root).ok())
                    .flatten()
                    .map(|st| KeepFree {
                        path: &root,
                        bytes: crate::scenario::budget::reserve(
                            st.f_blocks.saturating_mul(st.f_frsize),
                        ),
                    }),
            },
            cancel,
            obs,
        );
        let target_info = TargetInfo {
            name: target.name.clone(),
            kind: tspec.kind.as_str().into(),
            requested_options: target.requested_options.clone(),
            mount: target.mount.clone(),
            capacity_bytes: capacity.as_ref().map_or(0, |s| s.f_blocks * s.f_frsize),
            inodes: capacity.as_ref().map_or(0, |s| s.f_files),
        };
        let extra_entries = faults.heal(measured.as_ref().ok(), &root, &mut target);
        let fault = match (crash, &measured) {
            (Some((_, trial)), Ok(m)) => {
                let volatile = tspec
                    .options
                    .iter()
                    .any(|o| o == "volatile" || o == "fsync=volatile");
                Some(crash::outcome(
                    &mut target,
                    &root,
                    m,
                    volatile,
                    trial,
                    cancel,
                ))
            }
            _ => None,
        };
        let device = target.device.clone();
        let shared = target.device_shared;
        let provision_s = if fresh {
            target.provision_time.as_secs_f64()
        } else {
            0.0
        };
        let mut target_notes = target.notes.clone();
        if reuse {
            target_notes.push(if fresh {
                "reuse: this target is kept for its later cells".into()
            } else {
                "reuse: this target already holds earlier cells' files".into()
            });
        }
        test_hook("teardown");
        let teardown_started = std::time::Instant::now();
        let teardown = if reuse {
            kept.insert(cell.target, target);
            Ok(())
        } else {
            target.teardown(scratch)
        };
        let teardown_s = teardown_started.elapsed().as_secs_f64();
        let measured = measured?;

        let duration_s = measured.duration.as_secs_f64();
        let mut errors: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for ((op, errno), n) in &measured.totals.errors {
            *errors
                .entry(op.name().into())
                .or_default()
                .entry(errno_name(*errno))
                .or_default() += n;
        }
        let mut ops = BTreeMap::new();
        for (op, h) in &measured.totals.hists {
            let errs = errors.remove(op.name()).unwrap_or_default();
            ops.insert(op.name().to_string(), op_stats(Some(h), errs, duration_s));
        }
        for (op, errs) in errors {
            ops.insert(op, op_stats(None, errs, duration_s));
        }
        let mut notes = target_notes;
        notes.append(&mut cell_notes);
        notes.extend(measured.notes);
        if measured.interrupted {
            notes.push("interrupted: the cell was cut short by a signal".into());
        }
        if measured.uncounted_tasks > 0 {
            notes.push(format!(
                "{} already under way when the cell began (the open_tasks head start) ended \
                 in the measured phase; a task's length is then unknown, so `task` leaves them \
                 out and leans toward short tasks — a warm-up longer than the longest task \
                 avoids this",
                match measured.uncounted_tasks {
                    1 => "1 task".to_string(),
                    n => format!("{n} tasks"),
                }
            ));
        }
        if let (Some(rate), Some(unit)) = (wspec.rate, ops.get(work.unit_op().name())) {
            let wanted = rate * f64::from(wspec.threads);
            if unit.ops_per_sec < wanted * 0.98 {
                notes.push(format!(
                    "open loop: achieved {:.0} {}/s of the {:.0}/s asked for ({:.0} %)",
                    unit.ops_per_sec,
                    work.unit_op(),
                    wanted,
                    100.0 * unit.ops_per_sec / wanted
                ));
            }
        }
        if let Err(e) = teardown {
            notes.push(e.to_string());
        }
        let device = match (device, measured.device) {
            (Some(dev), Some((before, after))) => Some(blockstat::device_stats(
                &dev,
                &before,
                &after,
                measured.totals.bytes_written,
                shared,
            )),
            _ => None,
        };
        let cell_result = CellResult {
            index: cell.index,
            target: target_info,
            workload: workload_info(wspec),
            repeat: cell.repeat,
            duration_s,
            warmup_s: measured.warmup.as_secs_f64(),
            ops,
            bytes_written: measured.totals.bytes_written,
            warmup_unit_ops: measured.totals.warmup_unit_ops,
            device,
            faults: extra_entries,
            hlog: hlog_rel,
            rate_per_thread: wspec.rate,
            provision_s,
            teardown_s,
            notes,
            sources: Vec::new(),
        };
        Ok((cell_result, fault))
    }
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
    p.insert("payload".into(), format!("{:?}", w.payload).to_lowercase());
    if w.o_direct {
        p.insert("o_direct".into(), "true".into());
    }
    if let Some(t) = w.think_time {
        p.insert("think_time".into(), format_duration_exact(t));
    }
    if !matches!(
        w.params,
        WorkloadParams::SmallFiles(_)
            | WorkloadParams::FsyncHeavy(_)
            | WorkloadParams::LogAppend(_)
    ) {
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

/// What `rename_dir` in a metadata mix moves on this target, when that is
/// not an overlay's lower directories, one per thread.
fn rename_dir_note(
    tspec: &crate::scenario::TargetSpec,
    threads: u32,
    mix: &[(crate::scenario::MetaOp, u32)],
) -> Option<String> {
    if !workload::metadata::moves_dirs(mix) {
        return None;
    }
    let made = || {
        format!(
            "the workload made {} empty directories per thread to move",
            workload::metadata::BASELINE_DIRS_PER_THREAD
        )
    };
    let lower = tspec.lower.as_ref().filter(|l| l.files > 0);
    match (tspec.kind, lower) {
        (crate::scenario::TargetKind::Overlay, None) => Some(format!(
            "rename_dir on an overlay without lower files: {} in the upper layer, so no move \
             needs redirect_dir",
            made()
        )),
        (crate::scenario::TargetKind::Overlay, Some(l))
            if l.dirs.min(l.files) < u64::from(threads) =>
        {
            Some(format!(
                "rename_dir: the lower layer has {} directories for {threads} threads; a thread \
                 without one renames files instead",
                l.dirs.min(l.files)
            ))
        }
        (crate::scenario::TargetKind::Overlay, Some(_)) => None,
        (kind, _) => Some(format!(
            "rename_dir on {}: no lower layer, so {} — a baseline of the same renames without \
             overlay's redirect_dir",
            kind.as_str(),
            made()
        )),
    }
}

/// For the tests that prove nothing outlives a run, whatever phase it is
/// in: `WPBENCH_TEST_HOOK=pause:PHASE` sleeps 3 s at the start of a phase
/// (provision, cell, teardown) so a test can signal it there, and
/// `panic:PHASE` panics there. Unset in normal use.
fn test_hook(phase: &str) {
    let Ok(hook) = std::env::var("WPBENCH_TEST_HOOK") else {
        return;
    };
    match hook.split_once(':') {
        Some(("pause", p)) if p == phase => std::thread::sleep(std::time::Duration::from_secs(3)),
        Some(("panic", p)) if p == phase => panic!("WPBENCH_TEST_HOOK: panic in phase {phase}"),
        _ => {}
    }
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
