//! A power cut's aftermath: after the cell in which the engine fired the
//! (guarded) shutdown, mount the filesystem again — replaying its journal —
//! and hold it to what it acknowledged. tmpfs and a volatile overlay's
//! upper keep nothing, by definition.

use std::path::Path;

use super::timeline::{Event, Timeline};
use super::verify::{everything_lost, verify, Durability};
use crate::cancel::Cancel;
use crate::engine::CellMeasurement;
use crate::target::Target;

/// One crash trial's entry for result.json, and its classification when
/// the trial could be verified.
pub type TrialFault = (serde_json::Value, Option<Durability>);

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
        let entry = serde_json::json!({"trial": trial, "fired": false,
            "outcome": "the cell ended before the crash point; nothing was verified"});
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
    let entry = serde_json::json!({
        "trial": trial,
        "timeline": timeline.to_json(m.measure_start),
        "fired": rep.result.is_ok(),
        "fired_at_s": rep.fired_at_s,
        "unit_ops_before": rep.unit_ops_before,
        "outcome": outcome,
        "durability": durability,
    });
    (entry, durability)
}
