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
    /// Crash states built from the trials' write logs and verified (a
    /// `power_loss` with `states`); each is counted in `durability` as
    /// one of its trials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub states_explored: Option<u64>,
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
    /// The crash states taken from this trial's write log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub states: Option<ExploredStates>,
}

/// The crash states built from one trial's write log: what they were
/// chosen from, and each state's finding.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExploredStates {
    /// States asked for (`states`).
    pub asked: u32,
    /// States built, mounted (or found unmountable) and verified.
    pub explored: u64,
    /// Flush boundaries (write boundaries, on a write-through device) in
    /// the measured phase that states were chosen from.
    pub boundaries: u64,
    pub writes_logged: u64,
    pub flushes_logged: u64,
    pub bytes_logged: u64,
    /// The log filled its share of the scratch space: states end there.
    pub log_full_at_s: Option<f64>,
    /// States whose filesystem did not mount: everything counts as lost.
    pub unmountable: u64,
    /// States in which an acknowledged write was lost, short or corrupt.
    pub with_acked_lost: u64,
    /// The first unmountable state's error, to say why.
    pub mount_error: Option<String>,
    /// Up to 1,000 states, those with a finding first.
    pub per_state: Vec<StateOutcome>,
    /// States explored but not listed in `per_state`.
    #[serde(skip_serializing_if = "is_zero")]
    pub per_state_omitted: u64,
}

/// One crash state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateOutcome {
    pub state: u32,
    /// Its moment, seconds into the measured phase.
    pub at_s: f64,
    /// Flushes the device had completed before it.
    pub flushes: u64,
    /// Writes in flight after the last of them, and how many of them
    /// this state kept.
    pub in_flight: u64,
    pub kept: u64,
    pub mounted: bool,
    pub acked_intact: u64,
    pub acked_lost: u64,
    pub torn: u64,
    pub unacked_survived: u64,
    pub unacked_lost: u64,
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

fn is_zero(n: &u64) -> bool {
    *n == 0
}
