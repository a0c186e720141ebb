//! After the cell of a crash trial: remount the target (journal replay)
//! and verify what the workers' ledgers say was acknowledged.

use std::path::Path;

use super::CellMeasurement;
use crate::cancel::Cancel;
use crate::fault::crash::{TrialCut, TrialOutcome};
use crate::fault::timeline::{Event, Timeline};
use crate::fault::verify::{everything_lost, verify, Durability};
use crate::target::Target;

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
    };
    (entry, durability)
}
