//! The result model: what a run produced, as written to result.json.
//!
//! The field names are a public contract (schema `wpbench/result/v1`):
//! users script against them. Extend freely; never rename.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::comparison::{CompareInfo, Comparison, Metric, Noise, Verdict};
pub use crate::device::blockstat::DeviceStats;
pub use crate::device::env::Environment;
pub use crate::fault::outcome::FaultEntry;
pub use crate::target::mountinfo::MountInfo;

pub const SCHEMA: &str = "wpbench/result/v1";

/// How a run ended (or that it has not yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// In progress: result.json is rewritten after every cell.
    #[default]
    Running,
    Completed,
    /// Stopped by SIGINT or SIGTERM; the cell in flight is kept and marked.
    Interrupted,
    /// An error, a bug, or outputs that could not be written (`error` says).
    Failed,
    /// Set by the guardian, `wpbench cleanup` or the next run once they
    /// find the run's process gone (SIGKILL, the OOM killer, a crash).
    Killed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
            RunStatus::Killed => "killed",
        }
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunResult {
    pub schema: String,
    pub run_id: String,
    pub scenario: ScenarioInfo,
    pub env: Environment,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// RFC 3339, UTC; empty while the run is in progress.
    #[serde(default)]
    pub finished_at: String,
    pub status: RunStatus,
    /// Why a `failed` run failed, when it could still say so (e.g. the
    /// reports could not be written after every cell was measured).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
    /// The command line that produced the run.
    #[serde(default)]
    pub command: Vec<String>,
    pub cells: Vec<CellResult>,
    /// For a run made by `wpbench merge`: the runs it combines, in the
    /// order given. Empty for a run wpbench measured itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<RunSource>,
    /// For a run made by `wpbench k8s collect`: the nodes whose results
    /// could not be gathered, and why. Empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<MissingSource>,
    /// Which targets are compared with which, and the smallest effect named.
    #[serde(default)]
    pub compare: CompareInfo,
    /// Each target against its baseline: ratios, intervals, verdicts.
    #[serde(default)]
    pub comparisons: Vec<Comparison>,
    /// The spread of each target × workload across repeats and seconds.
    #[serde(default)]
    pub noise: Vec<Noise>,
}

/// One run that `wpbench merge` combined (a node of a fleet, or one run
/// of many).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct RunSource {
    /// The source's env.hostname, or its run directory's name when the
    /// hostname is empty or shared with another source.
    pub node: String,
    pub run_id: String,
    pub started_at: String,
    pub kernel: String,
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub status: RunStatus,
}

/// A node whose run `wpbench k8s collect` could not gather (its pod's
/// log carried no intact run directory).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct MissingSource {
    /// The node its pod's log names, or the pod's name when it names none.
    pub node: String,
    /// Why, in one line.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScenarioInfo {
    pub name: String,
    pub file: String,
    pub sha256: String,
    pub seed: u64,
    #[serde(default)]
    pub description: String,
    /// Planned cell count (target × workload × repeat after --only).
    #[serde(default)]
    pub planned_cells: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CellResult {
    /// Position in the plan (0-based), so interleaved repeats can be ordered.
    pub index: usize,
    pub target: TargetInfo,
    pub workload: WorkloadInfo,
    pub repeat: u32,
    /// Measured phase only (warm-up excluded), seconds.
    pub duration_s: f64,
    #[serde(default)]
    pub warmup_s: f64,
    /// Per op name: the measured phase's statistics.
    pub ops: BTreeMap<String, OpStats>,
    /// Payload bytes the workload handed to write() in the measured phase.
    pub bytes_written: u64,
    /// Unit ops completed during warm-up (not in `ops`), so file counts on
    /// disk can be reconciled with the result.
    #[serde(default)]
    pub warmup_unit_ops: u64,
    #[serde(default)]
    pub device: Option<DeviceStats>,
    #[serde(default)]
    pub faults: Vec<FaultEntry>,
    /// The .hlog file of this cell, relative to the run directory.
    #[serde(default)]
    pub hlog: String,
    /// The nominal length of the .hlog's intervals, seconds (its last
    /// interval is cut at the cell's end: see docs/results.md). Absent
    /// from results written before intervals could be other than 1 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_s: Option<f64>,
    /// Open-loop target rate per thread, when set; the achieved rate is in ops.
    #[serde(default)]
    pub rate_per_thread: Option<f64>,
    /// Seconds to make and mount the target for this cell (mkfs, loop
    /// device, lower layers, mounts), and to take it down again.
    #[serde(default)]
    pub provision_s: f64,
    #[serde(default)]
    pub teardown_s: f64,
    /// Problems worth a reader's attention (errors seen, rate not sustained…).
    #[serde(default)]
    pub notes: Vec<String>,
    /// Coefficient of variation of the unit op's throughput over the
    /// cell's full intervals: how steady the cell ran. None with fewer
    /// than two full intervals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_cv: Option<f64>,
    /// For a cell of a merged run: each source's own figures for this
    /// cell, in the order the runs were given. Empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceCell>,
}

/// One source's share of a merged cell.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SourceCell {
    /// As in the run's `sources`.
    pub node: String,
    pub run_id: String,
    /// The cell's index in the source run.
    #[serde(default)]
    pub index: usize,
    #[serde(default)]
    pub duration_s: f64,
    /// The source's own statistics per op, histograms included.
    pub ops: BTreeMap<String, OpStats>,
    #[serde(default)]
    pub bytes_written: u64,
    #[serde(default)]
    pub device: Option<DeviceStats>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultEntry>,
    /// The source's interval log, copied into the merged run directory.
    #[serde(default)]
    pub hlog: String,
    /// The nominal length of that log's intervals, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_s: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TargetInfo {
    pub name: String,
    pub kind: String,
    /// The options the scenario asked for.
    #[serde(default)]
    pub requested_options: Vec<String>,
    /// What /proc/self/mountinfo says is in effect.
    pub mount: MountInfo,
    /// statvfs of the fresh target: its capacity and inode count.
    #[serde(default)]
    pub capacity_bytes: u64,
    #[serde(default)]
    pub inodes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WorkloadInfo {
    pub name: String,
    pub kind: String,
    pub threads: u32,
    /// The checked workload parameters, for the record ("fsync": "always", …).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct OpStats {
    /// Successful operations (the histogram's sample count).
    pub count: u64,
    pub ops_per_sec: f64,
    /// Failed operations by errno name ("EIO", "ENOSPC").
    pub errors: BTreeMap<String, u64>,
    pub mean_ns: f64,
    pub stdev_ns: f64,
    pub min_ns: u64,
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub p95_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
    /// Base64 of the V2-deflate serialized HdrHistogram (ns).
    pub histogram: String,
}

impl OpStats {
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}
