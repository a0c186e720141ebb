//! After the cell of a crash trial: remount the target (journal replay)
//! and verify what the workers' ledgers say was acknowledged.

use std::path::Path;

use super::CellMeasurement;
use crate::cancel::Cancel;
use crate::fault::crash::{ExploredStates, StateOutcome, TrialCut, TrialOutcome};
use crate::fault::timeline::{Event, Timeline};
use crate::fault::verify::{everything_lost, verify, Durability};
use crate::target::emudev::daemon::Image;
use crate::target::emudev::log::LogKind;
use crate::target::emudev::overlay::Overlay;
use crate::target::emudev::states::{self, Choose, CrashState};
use crate::target::{RecordedWrites, StateMountError, Target};
use crate::workload::ledger::Ledger;

/// One crash trial's entry for result.json, and its classification when
/// the trial could be verified.
pub type TrialFault = (TrialOutcome, Option<Durability>);

/// How the power was cut.
#[derive(Debug, Clone, Copy)]
pub struct Cut {
    /// An overlay mounted volatile (its upper is discarded after a crash).
    pub volatile: bool,
    /// The emulated device lost its cache (a `power_loss`), rather than
    /// the filesystem being shut down (a `crash`).
    pub power_loss: bool,
}

/// After the cell of a crash trial: remount (journal replay) and verify.
pub fn outcome(
    target: &mut Target,
    root: &Path,
    m: &CellMeasurement,
    cut: Cut,
    trial: u32,
    cancel: &Cancel,
) -> TrialFault {
    let volatile = cut.volatile;
    let (how, fired) = if cut.power_loss {
        (
            "power loss (the emulated device dropped its unflushed writes)",
            "power cut: the emulated device stopped and dropped its unflushed writes",
        )
    } else {
        (
            "power cut (shutdown ioctl, NOLOGFLUSH)",
            "shutdown ioctl (NOLOGFLUSH)",
        )
    };
    let Some(rep) = &m.crash else {
        let entry = TrialOutcome {
            trial,
            fired: false,
            outcome: "the cell ended before the crash point; nothing was verified".into(),
            cut: None,
            states: None,
        };
        return (entry, None);
    };
    let (outcome, durability) = if target.crash_point().is_none() {
        (
            "tmpfs keeps nothing across a power cut: every write counts as lost, by definition (not simulated)".to_string(),
            Some(everything_lost(&m.ledgers, rep.cut_at)),
        )
    } else if let Err(e) = &rep.result {
        (format!("the power was not cut: {e}"), None)
    } else {
        let remounted = if cut.power_loss {
            target.remount_after_power_loss()
        } else {
            target.remount_after_crash()
        };
        match remounted {
            Ok(()) => match verify(root, &m.ledgers, rep.cut_at, cancel) {
                Some(d) => (
                    format!("{how}; remounted, journal replayed, verified"),
                    Some(d),
                ),
                None => (
                    "power cut; remounted, but a signal stopped the run before every write was \
                     verified"
                        .to_string(),
                    None,
                ),
            },
            Err(e) if volatile => (
                format!(
                    "volatile overlay: the upper layer must be discarded after a crash (the kernel \
                     refuses to mount it again: {e}); everything written is lost"
                ),
                Some(everything_lost(&m.ledgers, rep.cut_at)),
            ),
            Err(e) => (
                format!("the filesystem could not be mounted again after the crash: {e}"),
                None,
            ),
        }
    };
    let mut timeline = Timeline::default();
    timeline.mark_at(
        Event::Armed,
        m.measure_start,
        "the cut point was drawn; workers started",
    );
    timeline.mark_at(Event::Fired, rep.cut_at, fired);
    if durability.is_some() {
        timeline.mark(Event::Healed, "mounted again and verified");
    }
    let entry = TrialOutcome {
        trial,
        fired: rep.result.is_ok(),
        outcome,
        cut: Some(TrialCut {
            timeline: timeline.relative_to(m.measure_start),
            fired_at_s: rep.fired_at_s,
            unit_ops_before: rep.unit_ops_before,
            durability: durability.clone(),
        }),
        states: None,
    };
    (entry, durability)
}

/// What to explore of a trial's write log.
#[derive(Debug, Clone, Copy)]
pub struct Explore {
    /// States at most.
    pub states: u32,
    pub seed: u64,
    pub trial: u32,
}

/// In-flight bytes one state may keep in memory (with the journal
/// replay's pages, what a state costs in RAM).
const MAX_KEPT_BYTES: u64 = 64 << 20;

/// States listed one by one in result.json per trial: every state with a
/// finding first, then the others in order, up to this many.
const MAX_LISTED_STATES: usize = 1000;

/// After the cell of a `power_loss` with `states`: takes the emulated
/// device's write log, lets the device go, and builds, mounts and
/// verifies each chosen crash state in turn — the image rolled forward to
/// the state's boundary, its kept in-flight writes and the journal replay
/// in a copy-on-write overlay — against the ledgers as they stood at the
/// state's moment. A failure of the machinery (not of a state's
/// filesystem) stops the exploration; what was found until then is kept.
pub fn explore_states(
    target: &mut Target,
    root: &Path,
    m: &CellMeasurement,
    x: Explore,
    cancel: &Cancel,
) -> TrialFault {
    let unverified = |outcome: String| {
        (
            TrialOutcome {
                trial: x.trial,
                fired: false,
                outcome,
                cut: None,
                states: None,
            },
            None,
        )
    };
    let Some(rec) = target.take_write_log() else {
        return unverified("the emulated device kept no write log; no state was explored".into());
    };
    if let Err(e) = target.stop_device() {
        return unverified(format!(
            "the target could not be let go of to build crash states: {e}"
        ));
    }
    // The last epoch ends with the measured phase (or where the log did).
    let measured_end = m.measure_start + m.duration;
    let plan = states::choose(
        rec.log.entries(),
        &Choose {
            n: x.states,
            from: m.measure_start,
            end: rec
                .log
                .full_at()
                .map_or(measured_end, |t| t.min(measured_end)),
            volatile: rec.volatile,
            seed: x.seed ^ u64::from(x.trial).rotate_left(40),
            max_kept_bytes: MAX_KEPT_BYTES,
        },
    );
    let count = |write: bool| {
        rec.log
            .entries()
            .iter()
            .filter(|e| matches!(e.kind, LogKind::Write { .. }) == write)
            .count() as u64
    };
    let mut found = ExploredStates {
        asked: x.states,
        boundaries: plan.boundaries as u64,
        writes_logged: count(true),
        flushes_logged: count(false),
        bytes_logged: rec.log.bytes(),
        log_full_at_s: rec
            .log
            .full_at()
            .map(|t| t.saturating_duration_since(m.measure_start).as_secs_f64()),
        ..ExploredStates::default()
    };
    let mut total = Durability::default();
    // Why the exploration stopped before its last state, if it did.
    let stopped = explore(target, root, m, &rec, &plan.states, cancel, |i, s, v| {
        let Verified {
            durability: d,
            mount_error,
        } = v;
        let mounted = mount_error.is_none();
        if let Some(e) = mount_error {
            found.unmountable += 1;
            found.mount_error.get_or_insert(e);
        }
        if d.acked_lost > 0 {
            found.with_acked_lost += 1;
        }
        found.per_state.push(StateOutcome {
            state: i as u32,
            at_s: s
                .cut_at
                .saturating_duration_since(m.measure_start)
                .as_secs_f64(),
            flushes: s.flushes as u64,
            in_flight: s.in_flight as u64,
            kept: s.kept.len() as u64,
            mounted,
            acked_intact: d.acked_intact,
            acked_lost: d.acked_lost,
            torn: d.torn,
            unacked_survived: d.unacked_survived,
            unacked_lost: d.unacked_lost,
        });
        total.add(&d);
    })
    .err();
    found.explored = found.per_state.len() as u64;
    found.per_state_omitted = keep_listed(&mut found.per_state, MAX_LISTED_STATES);
    let mut outcome = format!(
        "{} of {} crash states built from the write log and verified ({} writes, {} flushes; \
         {} boundaries in the measured phase)",
        found.explored,
        plan.states.len(),
        found.writes_logged,
        found.flushes_logged,
        found.boundaries
    );
    if found.with_acked_lost > 0 {
        outcome += &format!(
            "; {} of them lost acknowledged writes",
            found.with_acked_lost
        );
    }
    if found.unmountable > 0 {
        outcome += &format!(
            "; {} did not mount ({})",
            found.unmountable,
            found.mount_error.as_deref().unwrap_or("")
        );
    }
    if let Some(why) = &stopped {
        outcome += &format!("; the exploration stopped early: {why}");
    }
    if found.log_full_at_s.is_some() {
        outcome += "; the log filled its share of the scratch space, and states end there";
    }
    // What was verified counts, even when the exploration stopped early.
    let durability = (found.explored > 0).then_some(total);
    (
        TrialOutcome {
            trial: x.trial,
            fired: false,
            outcome,
            cut: None,
            states: Some(found),
        },
        durability,
    )
}

/// Builds, mounts and verifies `states` in order, handing each state's
/// findings to `each`; the reason it stopped early, if it did (a signal,
/// or a failure of the log, the image copy, the device or the loop device).
fn explore(
    target: &mut Target,
    root: &Path,
    m: &CellMeasurement,
    rec: &RecordedWrites,
    states: &[CrashState],
    cancel: &Cancel,
    mut each: impl FnMut(usize, &CrashState, Verified),
) -> Result<(), String> {
    let image = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&rec.base)
        .map_err(|e| format!("opening the image copy {}: {e}", rec.base.display()))?;
    let mut applied = 0;
    for (i, s) in states.iter().enumerate() {
        if cancel.is_set() {
            return Err("a signal stopped it".into());
        }
        // Rolled forward to the state's boundary, for good.
        rec.log
            .apply(&image, applied, s.prefix)
            .map_err(|e| format!("rolling the image copy forward to state {i}: {e}"))?;
        applied = s.prefix;
        match one_state(target, root, m, rec, &image, s, cancel)? {
            Some(v) => each(i, s, v),
            None => return Err("a signal stopped it".into()),
        }
    }
    Ok(())
}

/// Keeps at most `max` states listed — those with a finding (an
/// acknowledged write lost, a torn write, no mount) first, then the others
/// in order — and says how many were left out.
fn keep_listed(states: &mut Vec<StateOutcome>, max: usize) -> u64 {
    if states.len() <= max {
        return 0;
    }
    let finding = |s: &StateOutcome| s.acked_lost > 0 || s.torn > 0 || !s.mounted;
    let with = states.iter().filter(|s| finding(s)).count();
    let mut room_for_others = max.saturating_sub(with);
    let mut room_for_findings = max;
    let before = states.len();
    states.retain(|s| {
        if finding(s) {
            if room_for_findings > 0 {
                room_for_findings -= 1;
                return true;
            }
            false
        } else if room_for_others > 0 {
            room_for_others -= 1;
            true
        } else {
            false
        }
    });
    (before - states.len()) as u64
}

/// What one crash state held.
struct Verified {
    durability: Durability,
    /// Why its filesystem did not mount (then everything counts as lost).
    mount_error: Option<String>,
}

/// Mounts one crash state and verifies it: its durability (everything
/// lost when its filesystem refused to mount, with the error), or None
/// when a signal stopped the reading. An error is a failure of the
/// machinery: nothing is known of the state.
fn one_state(
    target: &mut Target,
    root: &Path,
    m: &CellMeasurement,
    rec: &RecordedWrites,
    image: &std::fs::File,
    s: &CrashState,
    cancel: &Cancel,
) -> Result<Option<Verified>, String> {
    let mut overlay = Overlay::new();
    for &k in &s.kept {
        if let Some((offset, data)) = rec.log.data(k).map_err(|e| e.to_string())? {
            overlay
                .write(&Image(image), offset, &data)
                .map_err(|e| e.to_string())?;
        }
    }
    let ledgers: Vec<Ledger> = m.ledgers.iter().map(|l| l.as_of(s.cut_at)).collect();
    let mounted = target.mount_crash_state(&rec.base, overlay);
    let found = match &mounted {
        Ok(()) => verify(root, &ledgers, s.cut_at, cancel),
        Err(StateMountError::Filesystem(_)) => Some(everything_lost(&ledgers, s.cut_at)),
        Err(StateMountError::Device(_)) => None,
    };
    let unmounted = target.stop_device();
    let mount_error = match mounted {
        Ok(()) => None,
        Err(StateMountError::Filesystem(e)) => Some(e.to_string()),
        Err(StateMountError::Device(e)) => return Err(format!("serving the state: {e}")),
    };
    unmounted.map_err(|e| format!("unmounting a state: {e}"))?;
    Ok(found.map(|durability| Verified {
        durability,
        mount_error,
    }))
}
