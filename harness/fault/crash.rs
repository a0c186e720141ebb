//! A power cut's entry in result.json: its trials, each with the moment
//! of the cut and what was verified after it. The engine fires the
//! (guarded) shutdown and runs the aftermath (`engine::crash`).

use serde::{Deserialize, Serialize};

use super::timeline::TimedEvent;
use super::verify::Durability;

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
