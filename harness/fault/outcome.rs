//! What a fault did in one cell, as result.json records it: one entry per
//! fault, tagged by its `kind`, each kind's fields its own typed struct
//! (in the kind's file). Readers — gates, reports, merge — use these
//! fields; renaming one is a compile error, not a silent change of what a
//! gate sees.
//!
//! The JSON is a public contract: the shape written here is the one
//! earlier versions wrote (a stored result.json of every kind is read and
//! written back in the tests, key for key).

use serde::{Deserialize, Serialize};

use super::crash::CrashOutcome;
use super::eio::EioOutcome;
use super::enospc::EnospcOutcome;
use super::noisy::NoisyOutcome;
use super::throttle::ThrottleOutcome;
use super::timeline::TimedEvent;
use super::verify::Durability;
use crate::scenario::FaultKind;

/// One entry of a cell's `faults`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultEntry {
    #[serde(flatten)]
    pub outcome: FaultOutcome,
    /// Set by `wpbench merge` on an entry only one source had: that source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Set by `wpbench merge`: how many sources' entries were combined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_sources: Option<u32>,
}

/// What one fault did, by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// A cell holds a handful of these; boxing the larger variants would only
// make every reader dereference.
#[allow(clippy::large_enum_variant)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultOutcome {
    Crash(CrashOutcome),
    PowerLoss(CrashOutcome),
    Enospc(EnospcOutcome),
    Eio(EioOutcome),
    Throttle(ThrottleOutcome),
    NoisyNeighbor(NoisyOutcome),
}

impl From<FaultOutcome> for FaultEntry {
    fn from(outcome: FaultOutcome) -> FaultEntry {
        FaultEntry {
            outcome,
            source: None,
            merged_sources: None,
        }
    }
}

impl FaultEntry {
    pub fn kind(&self) -> FaultKind {
        match &self.outcome {
            FaultOutcome::Crash(_) => FaultKind::Crash,
            FaultOutcome::PowerLoss(_) => FaultKind::PowerLoss,
            FaultOutcome::Enospc(_) => FaultKind::Enospc,
            FaultOutcome::Eio(_) => FaultKind::Eio,
            FaultOutcome::Throttle(_) => FaultKind::Throttle,
            FaultOutcome::NoisyNeighbor(_) => FaultKind::NoisyNeighbor,
        }
    }

    /// The kind as result.json spells it (`noisy_neighbor`).
    pub fn kind_name(&self) -> &'static str {
        self.kind().as_str()
    }

    /// What happened, in one sentence.
    pub fn outcome(&self) -> &str {
        match &self.outcome {
            FaultOutcome::Crash(c) | FaultOutcome::PowerLoss(c) => &c.outcome,
            FaultOutcome::Enospc(e) => &e.outcome,
            FaultOutcome::Eio(e) => &e.outcome,
            FaultOutcome::Throttle(t) => &t.outcome,
            FaultOutcome::NoisyNeighbor(n) => &n.outcome,
        }
    }

    /// The verdict on what was acknowledged, where the fault has one (a
    /// crash's is the sum over its trials).
    pub fn durability(&self) -> Option<&Durability> {
        match &self.outcome {
            FaultOutcome::Crash(c) | FaultOutcome::PowerLoss(c) => Some(&c.durability),
            FaultOutcome::Enospc(e) => e.durability.as_ref(),
            FaultOutcome::Eio(e) => e.applied.as_ref()?.durability.as_ref(),
            FaultOutcome::Throttle(_) | FaultOutcome::NoisyNeighbor(_) => None,
        }
    }

    pub fn durability_mut(&mut self) -> Option<&mut Durability> {
        match &mut self.outcome {
            FaultOutcome::Crash(c) | FaultOutcome::PowerLoss(c) => Some(&mut c.durability),
            FaultOutcome::Enospc(e) => e.durability.as_mut(),
            FaultOutcome::Eio(e) => e.applied.as_mut()?.durability.as_mut(),
            FaultOutcome::Throttle(_) | FaultOutcome::NoisyNeighbor(_) => None,
        }
    }

    /// The fault's own timeline; a crash has one per trial, not its own.
    pub fn timeline(&self) -> Option<&[TimedEvent]> {
        match &self.outcome {
            FaultOutcome::Crash(_) | FaultOutcome::PowerLoss(_) => None,
            FaultOutcome::Enospc(e) => Some(&e.timeline),
            FaultOutcome::Eio(e) => Some(&e.applied.as_ref()?.timeline),
            FaultOutcome::Throttle(t) => Some(&t.applied.as_ref()?.timeline),
            FaultOutcome::NoisyNeighbor(n) => Some(&n.applied.as_ref()?.timeline),
        }
    }

    /// A crash's trials (empty for other kinds).
    pub fn trials(&self) -> &[super::crash::TrialOutcome] {
        match &self.outcome {
            FaultOutcome::Crash(c) | FaultOutcome::PowerLoss(c) => &c.per_trial,
            _ => &[],
        }
    }

    /// Crash states built from write logs and verified (a `power_loss`
    /// with `states`): each counts as one of the durability's trials.
    pub fn states_explored(&self) -> Option<u64> {
        match &self.outcome {
            FaultOutcome::PowerLoss(c) => c.states_explored,
            _ => None,
        }
    }

    /// Merging: counts another source's crash states with these.
    pub fn add_states_explored(&mut self, other: Option<u64>) {
        if let (FaultOutcome::PowerLoss(c), Some(n)) = (&mut self.outcome, other) {
            c.states_explored = Some(c.states_explored.unwrap_or(0) + n);
        }
    }

    /// When the fault took effect, seconds into the measured phase: a
    /// crash's first power cut, an eio's first failure.
    pub fn fired_at_s(&self) -> Option<f64> {
        match &self.outcome {
            FaultOutcome::Crash(c) | FaultOutcome::PowerLoss(c) => c.fired_at_s,
            FaultOutcome::Eio(e) => e.applied.as_ref()?.fired_at_s,
            _ => None,
        }
    }

    /// The eio fault's fsyncgate probe verdict.
    pub fn probe_verdict(&self) -> Option<&str> {
        match &self.outcome {
            FaultOutcome::Eio(e) => Some(&e.applied.as_ref()?.fsync_probe.as_ref()?.verdict),
            _ => None,
        }
    }
}

/// Fault entries for the readers' tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::fault::crash::{TrialCut, TrialOutcome};
    use crate::fault::throttle::{Limits, ThrottleApplied};
    use crate::fault::timeline::Event;

    pub fn events(e: &[(Event, f64)]) -> Vec<TimedEvent> {
        e.iter()
            .map(|&(event, at_s)| TimedEvent {
                event,
                at_s,
                detail: String::new(),
            })
            .collect()
    }

    /// A verified trial with this timeline.
    pub fn trial(trial: u32, timeline: &[(Event, f64)]) -> TrialOutcome {
        TrialOutcome {
            trial,
            fired: true,
            outcome: "power cut; verified".into(),
            cut: Some(TrialCut {
                timeline: events(timeline),
                fired_at_s: timeline.last().map_or(0.0, |e| e.1),
                unit_ops_before: 100,
                durability: None,
            }),
            states: None,
        }
    }

    /// A trial whose cell ended before its moment.
    pub fn unfired(trial: u32) -> TrialOutcome {
        TrialOutcome {
            trial,
            fired: false,
            outcome: "the cell ended before the crash point".into(),
            cut: None,
            states: None,
        }
    }

    pub fn crash(
        durability: Durability,
        fired_at_s: Option<f64>,
        per_trial: Vec<TrialOutcome>,
    ) -> FaultEntry {
        FaultOutcome::Crash(CrashOutcome {
            trials: per_trial.len(),
            fired_at_s,
            outcome: format!(
                "{} of {} trials crashed and were verified",
                durability.trials,
                per_trial.len()
            ),
            durability,
            per_trial,
            states_explored: None,
        })
        .into()
    }

    pub fn throttle(timeline: &[(Event, f64)]) -> FaultEntry {
        FaultOutcome::Throttle(ThrottleOutcome {
            outcome: "applied for the whole cell".into(),
            applied: Some(ThrottleApplied {
                device: "loop3".into(),
                profile: None,
                limits: Limits::default(),
                cgroup: "/sys/fs/cgroup/blkio/wpbench-test-0".into(),
                whole_process: false,
                timeline: events(timeline),
            }),
        })
        .into()
    }

    #[test]
    fn entries_say_what_readers_ask() {
        let d = Durability {
            trials: 2,
            acked_lost: 1,
            ..Durability::default()
        };
        let c = crash(
            d.clone(),
            Some(1.5),
            vec![unfired(0), trial(1, &[(Event::Fired, 1.5)])],
        );
        assert_eq!(c.kind_name(), "crash");
        assert_eq!(c.durability(), Some(&d));
        assert_eq!(c.fired_at_s(), Some(1.5));
        assert!(
            c.timeline().is_none(),
            "a crash's timelines are its trials'"
        );
        assert_eq!(c.trials()[1].timeline().unwrap()[0].at_s, 1.5);
        let t = throttle(&[(Event::Armed, 0.0)]);
        assert_eq!(
            (t.kind_name(), t.durability(), t.fired_at_s()),
            ("throttle", None, None)
        );
        assert_eq!(t.timeline().unwrap().len(), 1);
        // On the wire: the kind tag, the merge fields only when set.
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["kind"], "throttle");
        assert!(json.get("source").is_none() && json.get("merged_sources").is_none());
        let back: FaultEntry = serde_json::from_value(json).unwrap();
        assert_eq!(back, t);
        // A fault that could not apply is its kind and its outcome only.
        let not: FaultEntry =
            serde_json::from_str(r#"{"kind":"eio","outcome":"not applied: no pool"}"#).unwrap();
        assert_eq!(not.outcome(), "not applied: no pool");
        assert!(not.timeline().is_none() && not.durability().is_none());
        assert_eq!(
            serde_json::to_string(&not).unwrap(),
            r#"{"kind":"eio","outcome":"not applied: no pool"}"#
        );
    }
}
