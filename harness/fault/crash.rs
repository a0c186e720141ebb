//! A power cut's aftermath: after the cell in which the engine fired the
//! (guarded) shutdown, mount the filesystem again — replaying its journal —
//! and hold it to what it acknowledged. tmpfs and a volatile overlay's
//! upper keep nothing, by definition.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::timeline::{Event, TimedEvent, Timeline};
use super::verify::{everything_lost, verify, Durability};
use crate::cancel::Cancel;
use crate::engine::CellMeasurement;
use crate::target::Target;

/// A crash fault's entry in result.json: its trials, each on a fresh
/// target, and what they lost in sum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrashOutcome {
    /// Trials run (a signal may end a cell before all of them).
    pub trials: usize,
    /// The first trial's power cut, seconds into the measured phase.
    pub fired_at_s: Option<f64>,
    pub outcome: String,
    /// Summed over the trials that were verified.
    pub durability: Durability,
    pub per_trial: Vec<TrialOutcome>,
}

/// One trial of a crash fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialOutcome {
    pub trial: u32,
    /// The shutdown was issued.
    pub fired: bool,
    pub outcome: String,
    /// What the cut found; absent when the cell ended before its moment.
    #[serde(flatten)]
    pub cut: Option<TrialCut>,
}

/// A trial whose moment came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialCut {
    pub timeline: Vec<TimedEvent>,
    pub fired_at_s: f64,
    pub unit_ops_before: u64,
    /// None when nothing could be verified (the shutdown was not issued,
    /// the filesystem did not mount again, a signal stopped the reading).
    pub durability: Option<Durability>,
}

impl TrialOutcome {
    /// Where the trial's timeline is, if it has one.
    pub fn timeline(&self) -> Option<&[TimedEvent]> {
        self.cut.as_ref().map(|c| c.timeline.as_slice())
    }
}

/// One crash trial's entry for result.json, and its classification when
/// the trial could be verified.
pub type TrialFault = (TrialOutcome, Option<Durability>);

/// After the cell of a crash trial: remount (journal replay) and verify.
pub fn outcome(
    target: &mut Target,
    root: &Path,
    m: &CellMeasurement,
    volatile: bool,
    trial: u32,
    cancel: &Cancel,
) -> TrialFault {
    let Some(rep) = &m.crash else {
        let entry = TrialOutcome {
            trial,
            fired: false,
            outcome: "the cell ended before the crash point; nothing was verified".into(),
            cut: None,
        };
        return (entry, None);
    };
    let (outcome, durability) = if target.crash_point().is_none() {
        (
            "tmpfs keeps nothing across a power cut: every write counts as lost, by definition (not simulated)".to_string(),
            Some(everything_lost(&m.ledgers, rep.cut_at)),
        )
    } else if let Err(e) = &rep.result {
        (format!("the shutdown was not issued: {e}"), None)
    } else {
        match target.remount_after_crash() {
            Ok(()) => match verify(root, &m.ledgers, rep.cut_at, cancel) {
                Some(d) => (
                    "power cut (shutdown ioctl, NOLOGFLUSH); remounted, journal replayed, verified"
                        .to_string(),
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
    timeline.mark_at(Event::Fired, rep.cut_at, "shutdown ioctl (NOLOGFLUSH)");
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
    };
    (entry, durability)
}
