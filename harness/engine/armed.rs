//! The faults armed around one cell — throttle, noisy neighbour, enospc and
//! eio (a crash is the engine's, fired from its watch loop) — from arming
//! before the workers start, to healing and verifying after they stop.
//! Each fault's entry in result.json carries its timeline (armed, fired,
//! healed), in seconds from the start of the measured phase.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use super::CellMeasurement;
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::fault::eio::{
    reaction, EioApplied, EioOutcome, FirstFailure, FsyncProbe, KernelLog, Pool,
};
use crate::fault::enospc::{fill_target, EnospcOutcome, Fill};
use crate::fault::noisy::{Neighbor, NoisyApplied, NoisyOutcome};
use crate::fault::outcome::{FaultEntry, FaultOutcome};
use crate::fault::throttle::{self, Throttle, ThrottleApplied, ThrottleOutcome};
use crate::fault::timeline::{Event, Timeline};
use crate::fault::verify::verify;
use crate::record::errno::errno_name;
use crate::scenario::plan::Cell;
use crate::scenario::units::format_size;
use crate::scenario::{EioSpec, EnospcSpec, FaultKind, FaultSpec, OnError, Scenario};
use crate::target::{mountinfo, Target};

/// The faults of one cell, armed.
pub struct CellFaults {
    /// The cgroup, and its entry for result.json (outcome and timeline to come).
    throttle: Option<(Throttle, ThrottleApplied, Timeline)>,
    neighbor: Option<(Neighbor, PathBuf, Timeline)>,
    /// The spec, what filling the target took, and the timeline.
    enospc: Option<(EnospcSpec, Option<Fill>, Timeline)>,
    eio: Option<ArmedEio>,
    /// Faults that could not apply to this cell's target, and why.
    notes: Vec<FaultEntry>,
    /// The workload keeps a ledger, so what it acknowledged can be verified.
    verifiable: bool,
    /// Polled while filling and verifying.
    cancel: Cancel,
}

/// An eio fault between arming and healing.
struct ArmedEio {
    spec: EioSpec,
    /// The target's loop device (`loop3`), whose kernel messages count.
    device: String,
    kmsg: KernelLog,
    probe: Option<FsyncProbe>,
    /// Set when the pool is capped (just before the clock starts).
    capped: Mutex<Option<Pool>>,
    timeline: Mutex<Timeline>,
}

/// The fault of `kind` that applies to `cell`, if any.
pub fn applying<'a>(scenario: &'a Scenario, cell: &Cell, kind: FaultKind) -> Option<&'a FaultSpec> {
    first_applying(scenario, cell, |k| k == kind)
}

/// The first fault in the scenario whose kind `which` takes and that
/// applies to `cell`.
pub fn first_applying<'a>(
    scenario: &'a Scenario,
    cell: &Cell,
    which: impl Fn(FaultKind) -> bool,
) -> Option<&'a FaultSpec> {
    let (t, w) = (
        &scenario.targets[cell.target],
        &scenario.workloads[cell.workload],
    );
    scenario
        .faults
        .iter()
        .find(|f| which(f.kind) && t.selected_by(&f.target) && w.selected_by(&f.workload))
}

impl CellFaults {
    /// Arms what applies to `cell` on `target`, before its workers start.
    pub fn arm(
        scenario: &Scenario,
        cell: &Cell,
        target: &Target,
        root: &Path,
        run_id: &str,
        cancel: &Cancel,
    ) -> Result<CellFaults> {
        let applies = |kind| applying(scenario, cell, kind);
        let mut armed = CellFaults {
            throttle: None,
            neighbor: None,
            enospc: None,
            eio: None,
            notes: Vec::new(),
            verifiable: scenario.workloads[cell.workload].kind.verifiable(),
            cancel: cancel.clone(),
        };
        if let Some(spec) = applies(FaultKind::Enospc).and_then(|f| f.enospc()) {
            let fill = if spec.fill {
                Some(fill_target(root, spec, cancel).map_err(|e| {
                    let what = "filling the target for the enospc fault";
                    match e.kind() {
                        std::io::ErrorKind::Interrupted => Error::Interrupted(what.into()),
                        _ => Error::run_io(what, e),
                    }
                })?)
            } else {
                None
            };
            let mut timeline = Timeline::default();
            timeline.mark(
                Event::Armed,
                if spec.fill {
                    "filled, leaving the headroom"
                } else {
                    "the target's own size is the limit"
                },
            );
            armed.enospc = Some((spec.clone(), fill, timeline));
        }
        if let Some(spec) = applies(FaultKind::Throttle).and_then(|f| f.throttle()) {
            match (&target.device, target.device_shared) {
                (Some(dev), false) => {
                    let limits = throttle::resolve(spec);
                    let name = throttle::cgroup_name(run_id, cell.index as u32);
                    let cg = Throttle::create(
                        &throttle::detect()?,
                        &name,
                        (dev.major, dev.minor),
                        &limits,
                    )?;
                    let entry = ThrottleApplied {
                        device: dev.name.clone(),
                        profile: spec.profile.clone(),
                        limits,
                        cgroup: cg.path().to_path_buf(),
                        whole_process: cg.whole_process(),
                        timeline: Vec::new(),
                    };
                    let mut timeline = Timeline::default();
                    timeline.mark(Event::Armed, "cgroup created with the limits");
                    armed.throttle = Some((cg, entry, timeline));
                }
                _ => armed.not_applied(FaultOutcome::Throttle(ThrottleOutcome {
                    outcome: not_applied("the target has no block device of its own"),
                    applied: None,
                })),
            }
        }
        if let Some(spec) = applies(FaultKind::NoisyNeighbor).and_then(|f| f.noisy()) {
            if target.device.is_some() {
                // On the same filesystem, so on the same device, next to the workload's root.
                let dir = root.join(".wpbench-neighbor");
                std::fs::create_dir(&dir)
                    .map_err(|e| Error::run_io(format!("creating {}", dir.display()), e))?;
                let n = Neighbor::start(&dir, spec, scenario.seed)
                    .map_err(|e| Error::run_io("starting the noisy neighbour", e))?;
                let mut timeline = Timeline::default();
                timeline.mark(Event::Armed, "background writer started");
                armed.neighbor = Some((n, dir, timeline));
            } else {
                armed.not_applied(FaultOutcome::NoisyNeighbor(NoisyOutcome {
                    outcome: not_applied("tmpfs has no device to share"),
                    applied: None,
                }));
            }
        }
        if let Some(spec) = applies(FaultKind::Eio).and_then(|f| f.eio().copied()) {
            match (target.pool(), &target.device) {
                (Some(_), Some(dev)) => {
                    let probe = FsyncProbe::create(root)
                        .map_err(|e| Error::run_io("creating the eio fault's fsync probe", e))?;
                    armed.eio = Some(ArmedEio {
                        spec,
                        device: dev.name.clone(),
                        kmsg: KernelLog::open(),
                        probe: Some(probe),
                        capped: Mutex::new(None),
                        timeline: Mutex::new(Timeline::default()),
                    });
                }
                _ => armed.not_applied(FaultOutcome::Eio(EioOutcome {
                    outcome: not_applied("the target has no loop image on a thin pool"),
                    applied: None,
                })),
            }
        }
        Ok(armed)
    }

    fn not_applied(&mut self, outcome: FaultOutcome) {
        self.notes.push(outcome.into());
    }

    /// Whether the workers must keep ledgers (to verify acknowledged data).
    pub fn needs_ledgers(&self) -> bool {
        self.enospc.is_some() || self.eio.is_some()
    }

    /// The errnos at which a worker stops (`on_error: stop`).
    pub fn stop_on_errnos(&self) -> &'static [i32] {
        let stop = |o: OnError| o == OnError::Stop;
        if self.eio.as_ref().is_some_and(|e| stop(e.spec.on_error)) {
            &[libc::EIO, libc::ENOSPC, libc::EROFS]
        } else if self
            .enospc
            .as_ref()
            .is_some_and(|(s, _, _)| stop(s.on_error))
        {
            &[libc::ENOSPC]
        } else {
            &[]
        }
    }

    /// Puts a worker thread under the throttle, if there is one.
    pub fn join_throttle(&self, tid: i32) -> std::result::Result<(), String> {
        match &self.throttle {
            Some((t, _, _)) => t.add_threads(&[tid]).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    /// Called once the cell's setup is synced, just before the clock
    /// starts: the thin pool is capped, so the setup itself never fails.
    pub fn before_clock(&self, target: &Target) {
        let (Some(eio), Some(pool)) = (&self.eio, target.pool()) else {
            return;
        };
        let capped = pool
            .used()
            .and_then(|used| pool.cap(eio.spec.after).map(|cap| (used, cap)))
            .map(|(used, cap)| Pool::Capped {
                pool_used_bytes: used,
                pool_capped_at_bytes: cap,
                after_bytes: eio.spec.after,
            })
            .map_err(|e| format!("capping the thin pool: {e}"));
        if let Ok(mut t) = eio.timeline.lock() {
            t.mark(
                Event::Armed,
                match &capped {
                    Ok(_) => format!(
                        "thin pool capped: {} more may be allocated",
                        format_size(eio.spec.after)
                    ),
                    Err(e) => e.clone(),
                },
            );
        }
        if let Ok(mut slot) = eio.capped.lock() {
            *slot = Some(capped.unwrap_or_else(|error| Pool::Failed { error }));
        }
    }

    /// Stops the neighbour, removes the cgroup, verifies what a full
    /// filesystem acknowledged, makes room for a failing one and mounts it
    /// again; returns the faults' entries for the cell's result.
    pub fn heal(
        self,
        m: Option<&CellMeasurement>,
        root: &Path,
        target: &mut Target,
    ) -> Vec<FaultEntry> {
        let origin = m.map_or_else(Instant::now, |m| m.measure_start);
        let mut out = self.notes;
        if let Some((spec, fill, mut timeline)) = self.enospc {
            let first = m.and_then(|m| m.first(libc::ENOSPC));
            if let Some(f) = first {
                timeline.mark_at(Event::Fired, f.at, format!("first ENOSPC, from {}", f.op));
            }
            let durability = m
                .filter(|_| self.verifiable)
                .and_then(|m| verify(root, &m.ledgers, Instant::now(), &self.cancel));
            timeline.mark(Event::Healed, "cell ended");
            let outcome = match first {
                Some(f) => format!(
                    "the first ENOSPC came {:.2} s into the measured phase, from {}",
                    f.at_s, f.op
                ),
                None => "the filesystem never filled up during the cell".to_string(),
            };
            out.push(
                FaultOutcome::Enospc(EnospcOutcome {
                    resource: spec.resource,
                    on_error: spec.on_error,
                    fill,
                    first_enospc_s: first.map(|f| f.at_s),
                    first_enospc_op: first.map(|f| f.op.name().to_string()),
                    outcome,
                    durability,
                    timeline: timeline.relative_to(origin),
                })
                .into(),
            );
        }
        if let Some((cg, mut applied, mut timeline)) = self.throttle {
            let outcome = match cg.remove() {
                Ok(()) => {
                    timeline.mark(Event::Healed, "cgroup removed");
                    "applied for the whole cell".to_string()
                }
                Err(e) => format!("removing the cgroup: {e}"),
            };
            applied.timeline = timeline.relative_to(origin);
            out.push(
                FaultOutcome::Throttle(ThrottleOutcome {
                    outcome,
                    applied: Some(applied),
                })
                .into(),
            );
        }
        if let Some((n, dir, mut timeline)) = self.neighbor {
            let report = n.stop();
            timeline.mark(Event::Healed, "background writer stopped");
            let _ = std::fs::remove_dir_all(&dir);
            out.push(
                FaultOutcome::NoisyNeighbor(NoisyOutcome {
                    outcome: "a background writer shared the device for the whole cell".into(),
                    applied: Some(NoisyApplied {
                        neighbor: report,
                        timeline: timeline.relative_to(origin),
                    }),
                })
                .into(),
            );
        }
        if let Some(eio) = self.eio {
            out.push(eio.heal(
                m.filter(|_| self.verifiable),
                m,
                origin,
                target,
                root,
                &self.cancel,
            ));
        }
        out
    }
}

impl ArmedEio {
    /// `ledgers`: the measurement when the workload kept ledgers to verify.
    fn heal(
        mut self,
        ledgers: Option<&CellMeasurement>,
        m: Option<&CellMeasurement>,
        origin: Instant,
        target: &mut Target,
        root: &Path,
        cancel: &Cancel,
    ) -> FaultEntry {
        let mut timeline = self.timeline.into_inner().unwrap_or_default();
        let capped = self.capped.into_inner().ok().flatten();
        // Which op saw the device fail first, and with what.
        let failing = [libc::EIO, libc::ENOSPC, libc::EROFS];
        let first_errors: Vec<FirstFailure> = m
            .map(|m| {
                m.first_errors
                    .iter()
                    .filter(|f| failing.contains(&f.errno))
                    .map(|f| FirstFailure {
                        op: f.op.name().to_string(),
                        errno: errno_name(f.errno),
                        at_s: f.at_s,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let first = m.and_then(|m| {
            m.first_errors
                .iter()
                .find(|f| failing.contains(&f.errno))
                .copied()
        });
        if let Some(f) = first {
            timeline.mark_at(
                Event::Fired,
                f.at,
                format!("first {} from {}", errno_name(f.errno), f.op),
            );
        }
        // Asked while the device is still out of room.
        let pending = self.probe.take().map(|p| {
            let pending = p.ask();
            timeline.mark(Event::Note, "fsync probe: write, fsync, fsync again");
            pending
        });
        let messages = self.kmsg.read_for(&self.device);
        let mount_point = target.crash_point().map(Path::to_path_buf);
        let read_only = mount_point.as_deref().is_some_and(is_read_only);
        let reaction = reaction(&messages, read_only);
        let ext4_errors =
            std::fs::read_to_string(format!("/sys/fs/ext4/{}/errors_count", self.device))
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok());

        // Make room, then mount again (ext4 replays its journal, xfs its log).
        let healed = target
            .pool()
            .ok_or_else(|| "no thin pool".to_string())
            .and_then(|p| p.grow().map_err(|e| format!("growing the thin pool: {e}")))
            .and_then(|()| target.remount_after_crash().map_err(|e| e.to_string()));
        let probe = pending.map(|p| p.look(healed.is_ok()));
        let durability = match (&healed, ledgers) {
            (Ok(()), Some(m)) => verify(root, &m.ledgers, Instant::now(), cancel),
            _ => None,
        };
        match &healed {
            Ok(()) => timeline.mark(Event::Healed, "room made; filesystem mounted again"),
            Err(e) => timeline.mark(Event::Note, format!("could not heal: {e}")),
        }
        let outcome = match (&first, &healed) {
            (None, _) => format!(
                "the device never ran out during the cell: the workload allocated less than {} \
                 of new backing (rewriting blocks already allocated, such as a preallocated WAL, \
                 never fails on a thin volume)",
                format_size(self.spec.after)
            ),
            (Some(f), Ok(())) => format!(
                "{} first hit {} {:.2} s into the measured phase; the filesystem: {}; after \
                 making room it mounted again and was verified",
                f.op,
                errno_name(f.errno),
                f.at_s,
                reaction.join(", ")
            ),
            (Some(f), Err(e)) => format!(
                "{} first hit {}; the filesystem: {}; it could not be mounted again: {e}",
                f.op,
                errno_name(f.errno),
                reaction.join(", ")
            ),
        };
        FaultOutcome::Eio(EioOutcome {
            outcome,
            applied: Some(EioApplied {
                after_bytes: self.spec.after,
                on_error: self.spec.on_error,
                pool: capped,
                first_errors,
                fired_at_s: first.map(|f| f.at_s),
                reaction,
                read_only,
                ext4_errors_count: ext4_errors,
                kernel_log: messages,
                fsync_probe: probe,
                durability,
                timeline: timeline.relative_to(origin),
            }),
        })
        .into()
    }
}

/// Whether the mount at `mount_point` is read-only now.
fn is_read_only(mount_point: &Path) -> bool {
    mountinfo::read()
        .ok()
        .and_then(|entries| {
            mountinfo::find(&entries, mount_point)
                .map(|e| e.effective_options().iter().any(|o| o == "ro"))
        })
        .unwrap_or(false)
}

/// The outcome of a fault that could not apply to a cell's target.
fn not_applied(why: &str) -> String {
    format!("not applied: {why}")
}
