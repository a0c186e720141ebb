//! One trial of a cell: provision (or reuse) its target, arm its faults,
//! measure, heal and verify, tear the target down, and turn what was
//! measured into the cell's result. A cell is one trial, or one per crash
//! trial (each on a fresh target).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};

use super::armed::{applying, CellFaults};
use super::crash::{self, TrialFault};
use super::run::RunCtx;
use super::{run_cell, CellMeasurement, CellPlan, CrashAt, CrashPlan, KeepFree, Phase};
use crate::device::blockstat;
use crate::error::{Error, Result};
use crate::fault::shutdown::shutdown_guarded;
use crate::record::errno::errno_name;
use crate::record::CellTotals;
use crate::result::stats::op_stats;
use crate::result::{CellResult, OpStats, TargetInfo, WorkloadInfo};
use crate::scenario::plan::Cell;
use crate::scenario::{FaultKind, FaultSpec, TargetSpec, WorkloadSpec};
use crate::target::scratch::ScratchArea;
use crate::target::{path_component, ProvisionCtx, Target};
use crate::workload::{self, Workload};

/// One trial of a cell.
pub(super) struct Trial<'a> {
    pub run: &'a RunCtx<'a>,
    pub cell: &'a Cell,
    /// The crash fault that applies to the cell, and this trial's number.
    pub crash: Option<(&'a FaultSpec, u32)>,
}

/// A cell's interval log: where it is written, its path in the run
/// directory, and its header comment.
struct Hlog {
    /// The file's stem: the cell's name in the run directory.
    name: String,
    path: PathBuf,
    rel: String,
    comment: String,
}

/// What a trial keeps of its target once it is torn down (or kept).
struct TargetRecord {
    info: TargetInfo,
    device: Option<blockstat::BlockDev>,
    shared: bool,
    provision_s: f64,
    notes: Vec<String>,
    teardown: Result<()>,
    teardown_s: f64,
}

impl Trial<'_> {
    fn tspec(&self) -> &TargetSpec {
        &self.run.scenario.targets[self.cell.target]
    }

    fn wspec(&self) -> &WorkloadSpec {
        &self.run.scenario.workloads[self.cell.workload]
    }

    /// A `power_loss` with `states`: how many crash states to build from
    /// the trial's write log (nothing is cut during the cell).
    fn states(&self) -> Option<u32> {
        self.crash
            .and_then(|(f, _)| f.power_loss())
            .and_then(|p| p.states)
    }

    /// Runs the trial: provisions (or reuses) the target, runs the
    /// workload (cutting the power when `crash` says so), reads the
    /// counters and tears the target down (unless it is kept for reuse).
    /// `workload` is how the cell's workload is recorded.
    pub(super) fn run(
        &self,
        workload: WorkloadInfo,
        scratch: &mut ScratchArea,
        kept: &mut BTreeMap<usize, Target>,
    ) -> Result<(CellResult, Option<TrialFault>)> {
        let (tspec, wspec) = (self.tspec(), self.wspec());
        // A crash trial always starts from a fresh filesystem.
        let reuse = tspec.reuse && self.crash.is_none();

        self.run.obs.phase(Phase::Setup);
        test_hook("provision");
        let (mut target, fresh) = self.provision_or_reuse(scratch, kept)?;
        let root = self.cell_root(&target, reuse)?;
        let hlog = self.hlog();
        let capacity = rustix::fs::statvfs(&target.root).ok();
        test_hook("cell");
        let mut work = workload::build(wspec);
        work.set_cell(&hlog.name);
        let (warmup, cell_notes) = self.warmup_and_notes(work.as_ref());
        let faults = self.arm_faults(scratch, &target, &root)?;
        let measured = self.measure(&faults, &target, &root, work.as_ref(), warmup, &hlog);
        let info = TargetInfo {
            name: target.name.clone(),
            kind: tspec.kind.as_str().into(),
            requested_options: target.requested_options.clone(),
            mount: target.mount.clone(),
            capacity_bytes: capacity.as_ref().map_or(0, |s| s.f_blocks * s.f_frsize),
            inodes: capacity.as_ref().map_or(0, |s| s.f_files),
        };
        let extra_entries = faults.heal(measured.as_ref().ok(), &root, &mut target);
        if self.crash.is_some() && measured.is_ok() {
            self.run.obs.phase(Phase::Verify);
        }
        let fault = self.crash_outcome(&mut target, &root, &measured);
        if !reuse {
            self.run.obs.phase(Phase::Teardown);
        }
        let record = self.put_away(target, info, fresh, reuse, scratch, kept);
        let measured = measured?;

        let duration_s = measured.duration.as_secs_f64();
        let ops = op_table(&measured.totals, duration_s);
        let mut notes = record.notes;
        notes.extend(cell_notes);
        notes.extend(self.measured_notes(&measured, &ops, work.as_ref()));
        notes.extend(self.write_artifacts(work.as_ref(), &hlog));
        if let Err(e) = record.teardown {
            notes.push(e.to_string());
        }
        let device = match (record.device, measured.device) {
            (Some(dev), Some((before, after))) => Some(blockstat::device_stats(
                &dev,
                &before,
                &after,
                measured.totals.bytes_written,
                record.shared,
            )),
            _ => None,
        };
        let cell_result = CellResult {
            index: self.cell.index,
            target: record.info,
            workload,
            repeat: self.cell.repeat,
            duration_s,
            warmup_s: measured.warmup.as_secs_f64(),
            ops,
            bytes_written: measured.totals.bytes_written,
            warmup_unit_ops: measured.totals.warmup_unit_ops,
            device,
            faults: extra_entries,
            hlog: hlog.rel,
            interval_s: Some(self.run.scenario.cell_interval().as_secs_f64()),
            rate_per_thread: wspec.rate,
            provision_s: record.provision_s,
            teardown_s: record.teardown_s,
            notes,
            interval_cv: crate::analysis::noise::interval_cv(
                &measured
                    .totals
                    .series
                    .iter()
                    .map(|(span, ops)| (span.length_s(), *ops))
                    .collect::<Vec<_>>(),
                measured.totals.interval.as_secs_f64(),
            ),
            sources: Vec::new(),
        };
        Ok((cell_result, fault))
    }

    /// The target kept from the cell's earlier cells (`reuse: true`), or a
    /// fresh one from the run's provisioner; true when fresh.
    fn provision_or_reuse(
        &self,
        scratch: &mut ScratchArea,
        kept: &mut BTreeMap<usize, Target>,
    ) -> Result<(Target, bool)> {
        if let Some(target) = kept.remove(&self.cell.target) {
            return Ok((target, false));
        }
        let (run, cell) = (self.run, self.cell);
        let target = run.opts.provisioner.provision(
            self.tspec(),
            &mut ProvisionCtx {
                scratch,
                cancel: run.cancel,
                run_id: &run.opts.run_id,
                cell: cell.index,
                privileged: run.opts.privileged,
                seed: run.scenario.seed,
                thin: applying(run.scenario, cell, FaultKind::Eio).is_some(),
                write_log: self.states().is_some(),
            },
        )?;
        Ok((target, true))
    }

    /// Where the workload works: the target's root, or on a reused target
    /// (which holds earlier cells' files) the cell's own subdirectory.
    fn cell_root(&self, target: &Target, reuse: bool) -> Result<PathBuf> {
        if !reuse {
            return Ok(target.root.clone());
        }
        let dir = target.root.join(format!("c{:03}", self.cell.index));
        std::fs::create_dir(&dir)
            .map_err(|e| Error::run_io(format!("creating {}", dir.display()), e))?;
        Ok(dir)
    }

    fn hlog(&self) -> Hlog {
        let (scenario, cell) = (self.run.scenario, self.cell);
        let (tspec, wspec) = (self.tspec(), self.wspec());
        let name = format!(
            "c{:03}-{}-{}-r{}{}",
            cell.index,
            path_component(&tspec.name),
            path_component(&wspec.name),
            cell.repeat,
            self.crash
                .map(|(_, t)| format!("-t{t}"))
                .unwrap_or_default()
        );
        let (path, rel) = self.run.run_dir.hlog_path(&name);
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
        Hlog {
            name,
            path,
            rel,
            comment,
        }
    }

    /// Writes the workload's files ([`Workload::artifacts`]) next to the
    /// cell's interval log, as `<its stem>.<suffix>`; a note names each.
    fn write_artifacts(&self, work: &dyn Workload, hlog: &Hlog) -> Vec<String> {
        let stem = hlog.rel.strip_suffix(".hlog").unwrap_or(&hlog.rel);
        work.artifacts()
            .into_iter()
            .map(|(suffix, bytes)| {
                let rel = format!("{stem}.{suffix}");
                match std::fs::write(self.run.run_dir.path().join(&rel), bytes) {
                    Ok(()) => format!("{suffix}: kept in the run directory as {rel}"),
                    Err(e) => format!("{suffix}: could not be written as {rel}: {e}"),
                }
            })
            .collect()
    }

    /// The cell's warm-up, and what a reader should know about how this
    /// workload runs on this target.
    fn warmup_and_notes(
        &self,
        work: &dyn workload::Workload,
    ) -> (std::time::Duration, Vec<String>) {
        let (scenario, tspec, wspec) = (self.run.scenario, self.tspec(), self.wspec());
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
        cell_notes.extend(work.notes(tspec));
        (warmup, cell_notes)
    }

    /// Arms the faults that apply to the cell, before its workers start.
    fn arm_faults(
        &self,
        scratch: &mut ScratchArea,
        target: &Target,
        root: &Path,
    ) -> Result<CellFaults> {
        let (run, cell) = (self.run, self.cell);
        if applying(run.scenario, cell, FaultKind::Throttle).is_some() {
            // Recorded before it is made: a killed run's guardian removes it.
            let name = crate::fault::throttle::cgroup_name(&run.opts.run_id, cell.index as u32);
            scratch
                .register_cgroup(&name)
                .map_err(|e| Error::run_io("writing the scratch manifest", e))?;
        }
        CellFaults::arm(
            run.scenario,
            cell,
            target,
            root,
            &run.opts.run_id,
            run.cancel,
        )
    }

    /// The measured cell: the workload's threads on `root`, with the
    /// faults' hooks and, in a crash trial, the (guarded) power cut.
    fn measure(
        &self,
        faults: &CellFaults,
        target: &Target,
        root: &Path,
        work: &dyn Workload,
        warmup: std::time::Duration,
        hlog: &Hlog,
    ) -> Result<CellMeasurement> {
        let (run, cell) = (self.run, self.cell);
        let (scenario, tspec, wspec) = (run.scenario, self.tspec(), self.wspec());
        let crash_point = target.crash_point().map(Path::to_path_buf);
        let attached = target.loop_devices();
        let power_loss = self.crash.and_then(|(f, _)| f.power_loss().copied());
        // Crash states are taken from the log afterwards: nothing is cut now.
        let cut = self.crash.filter(|_| self.states().is_none());
        let fire = move || match (power_loss, &crash_point) {
            (Some(p), _) => target.cut_power(p.reorder),
            (None, Some(point)) => shutdown_guarded(point, &attached),
            (None, None) => Err("no filesystem to shut down (tmpfs)".to_string()),
        };
        let join_cgroup = |tid: i32| faults.join_throttle(tid);
        let before_clock = || faults.before_clock(target);
        run_cell(
            &CellPlan {
                on_thread_start: Some(&join_cgroup),
                before_clock: Some(&before_clock),
                keep_ledgers: faults.needs_ledgers(),
                ledger_history: self.states().is_some(),
                stop_on_errnos: faults.stop_on_errnos(),
                crash: cut.map(|(f, trial)| CrashPlan {
                    at: crash_at(f, scenario.seed, cell, trial),
                    fire: &fire,
                }),
                workload: work,
                root,
                threads: wspec.threads,
                seed: scenario.seed,
                warmup,
                stop: scenario.stop,
                rate: wspec.rate,
                think_time: wspec.think_time,
                hlog: Some((hlog.path.clone(), hlog.comment.clone())),
                interval: scenario.cell_interval(),
                device: target.device.as_ref(),
                keep_free: keep_free(tspec, root),
            },
            run.cancel,
            run.obs,
        )
    }

    /// In a crash trial whose cell ran: remount and verify.
    fn crash_outcome(
        &self,
        target: &mut Target,
        root: &Path,
        measured: &Result<CellMeasurement>,
    ) -> Option<TrialFault> {
        match (self.crash, measured) {
            (Some((_, trial)), Ok(m)) if self.states().is_some() => Some(crash::explore_states(
                target,
                root,
                m,
                crash::Explore {
                    states: self.states().unwrap_or(0),
                    seed: self.run.scenario.seed ^ (self.cell.index as u64).rotate_left(17),
                    trial,
                },
                self.run.cancel,
            )),
            (Some((f, trial)), Ok(m)) => {
                let volatile = self
                    .tspec()
                    .options
                    .iter()
                    .any(|o| o == "volatile" || o == "fsync=volatile");
                Some(crash::outcome(
                    target,
                    root,
                    m,
                    crash::Cut {
                        volatile,
                        power_loss: f.kind == crate::scenario::FaultKind::PowerLoss,
                    },
                    trial,
                    self.run.cancel,
                ))
            }
            _ => None,
        }
    }

    /// Keeps the target for its later cells (`reuse`) or tears it down,
    /// and what the result records of it.
    fn put_away(
        &self,
        target: Target,
        info: TargetInfo,
        fresh: bool,
        reuse: bool,
        scratch: &mut ScratchArea,
        kept: &mut BTreeMap<usize, Target>,
    ) -> TargetRecord {
        let device = target.device.clone();
        let shared = target.device_shared;
        let provision_s = if fresh {
            target.provision_time.as_secs_f64()
        } else {
            0.0
        };
        let mut notes = target.notes.clone();
        if reuse {
            notes.push(if fresh {
                "reuse: this target is kept for its later cells".into()
            } else {
                "reuse: this target already holds earlier cells' files".into()
            });
        }
        test_hook("teardown");
        let teardown_started = std::time::Instant::now();
        let teardown = if reuse {
            kept.insert(self.cell.target, target);
            Ok(())
        } else {
            target.teardown(scratch)
        };
        TargetRecord {
            info,
            device,
            shared,
            provision_s,
            notes,
            teardown,
            teardown_s: teardown_started.elapsed().as_secs_f64(),
        }
    }

    /// The notes of the measurement itself: the engine's, a cut-short
    /// cell, tasks left uncounted, an open loop that fell behind.
    fn measured_notes(
        &self,
        measured: &CellMeasurement,
        ops: &BTreeMap<String, OpStats>,
        work: &dyn Workload,
    ) -> Vec<String> {
        let wspec = self.wspec();
        let mut notes = measured.notes.clone();
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
        notes
    }
}

/// Each op's statistics, with its errors by errno (an op that only
/// failed has errors and no latencies).
fn op_table(totals: &CellTotals, duration_s: f64) -> BTreeMap<String, OpStats> {
    let mut errors: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for ((op, errno), n) in &totals.errors {
        *errors
            .entry(op.name().into())
            .or_default()
            .entry(errno_name(*errno))
            .or_default() += n;
    }
    let mut ops = BTreeMap::new();
    for (op, h) in &totals.hists {
        let errs = errors.remove(op.name()).unwrap_or_default();
        ops.insert(op.name().to_string(), op_stats(Some(h), errs, duration_s));
    }
    for (op, errs) in errors {
        ops.insert(op, op_stats(None, errs, duration_s));
    }
    ops
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

/// The free space a cell must leave on storage it does not own: a
/// hostPath, a pod's volume or the container's layer is shared with
/// others, so it is never filled; and kubelet evicts a pod whose emptyDir
/// grows past its sizeLimit, so such a cell stops before it has used the
/// limit (less a reserve) since it began.
fn keep_free<'a>(tspec: &crate::scenario::TargetSpec, root: &'a Path) -> Option<KeepFree<'a>> {
    use crate::scenario::budget::reserve;
    if !tspec.kind.is_existing_storage() {
        return None;
    }
    let st = rustix::fs::statvfs(root).ok()?;
    let node = KeepFree {
        path: root,
        bytes: reserve(st.f_blocks.saturating_mul(st.f_frsize)),
        left_to: "to the node",
    };
    let crate::scenario::TargetParams::Emptydir(e) = &tspec.params else {
        return Some(node);
    };
    let Some(limit) = e.size_limit else {
        return Some(node);
    };
    let free = st.f_bavail.saturating_mul(st.f_frsize);
    let below_limit = free.saturating_sub(limit.saturating_sub(reserve(limit)));
    Some(if below_limit > node.bytes {
        KeepFree {
            bytes: below_limit,
            left_to: "to keep the emptyDir under its size_limit",
            ..node
        }
    } else {
        node
    })
}
