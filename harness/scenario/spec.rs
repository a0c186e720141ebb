//! The checked scenario: typed values that every later room trusts.
//!
//! The loader (`scenario::load`) turns YAML into these types after every
//! cross-field check; nothing downstream re-validates. `vary:` is already
//! expanded here: a target or workload with `vary` appears once per value,
//! named after it (`ext4[noatime]`).

use std::path::PathBuf;
use std::time::Duration;

pub use super::diag::Place;
pub use super::faults::{
    Crash, EioSpec, EnospcSpec, FaultParams, NoisyPattern, NoisySpec, OnError, PowerLoss, Resource,
    ThrottleSpec,
};
pub use super::targets::{
    AccessMode, BlockFs, Emptydir, Ext4, Hostpath, Overlay, Rootfs, TargetParams, Tmpfs, Volume,
    Xfs,
};
pub use super::units::{DurationRange, SizeRange};
pub use super::workloads::{
    call_op, display_argv, largest_io, CopyUp, CopyUpAction, Exec, FsyncHeavy, LogAppend, MetaOp,
    Metadata, ReadAtime, Replay, SeqStep, Sequence, SmallFiles, Timing, WorkloadKind,
    WorkloadParams,
};

/// A whole scenario file, checked.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// The file it was loaded from (as given on the command line).
    pub file: PathBuf,
    /// sha256 of the file's bytes, hex.
    pub sha256: String,
    pub seed: u64,
    pub stop: Stop,
    pub warmup: Duration,
    /// `interval:` as written: the length of each cell's time-series
    /// intervals; see [`Scenario::cell_interval`].
    pub interval: Option<Duration>,
    pub repeat: u32,
    pub targets: Vec<TargetSpec>,
    pub workloads: Vec<WorkloadSpec>,
    pub faults: Vec<FaultSpec>,
    pub gates: Vec<GateSpec>,
    /// How the targets are compared with each other.
    pub compare: CompareSpec,
}

/// `compare:` — which target the others are compared with, and the
/// smallest change a verdict names.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareSpec {
    /// The full name of the target every other target is compared with;
    /// None: each `vary` group's first value is its siblings' baseline.
    pub baseline: Option<String>,
    pub min_effect: f64,
}

/// The smallest change a verdict names unless the scenario says otherwise.
pub const DEFAULT_MIN_EFFECT: f64 = 0.05;

impl Default for CompareSpec {
    fn default() -> Self {
        CompareSpec {
            baseline: None,
            min_effect: DEFAULT_MIN_EFFECT,
        }
    }
}

impl Scenario {
    /// (baseline, target) pairs of full target names, in scenario order:
    /// every other target against `compare.baseline`, or without one, each
    /// `vary` variant against its group's first.
    pub fn comparison_pairs(&self) -> Vec<(String, String)> {
        let names = |t: &TargetSpec| t.name.clone();
        match &self.compare.baseline {
            Some(b) => self
                .targets
                .iter()
                .filter(|t| &t.name != b)
                .map(|t| (b.clone(), names(t)))
                .collect(),
            None => self
                .targets
                .iter()
                .filter_map(|t| {
                    let first = self.targets.iter().find(|f| f.base_name == t.base_name)?;
                    (first.name != t.name).then(|| (first.name.clone(), t.name.clone()))
                })
                .collect(),
        }
    }
}

impl Scenario {
    /// The length of the intervals of every cell's .hlog and time series:
    /// `interval:` when given, else by the cell's length (100 ms under
    /// 20 s and for op-bound cells, 1 s from 20 s on; see
    /// [`crate::record::interval`]).
    pub fn cell_interval(&self) -> Duration {
        self.interval
            .unwrap_or_else(|| crate::record::interval::default_interval(self.stop.duration()))
    }
}

/// When a cell's measured phase ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    /// Run for this long after the warm-up.
    Duration(Duration),
    /// Run until this many unit operations completed (over all threads).
    Ops(u64),
}

impl Stop {
    /// The measured phase's length, when it is bound by time.
    pub fn duration(self) -> Option<Duration> {
        match self {
            Stop::Duration(d) => Some(d),
            Stop::Ops(_) => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Tmpfs,
    Ext4,
    Xfs,
    Overlay,
    Hostpath,
    Volume,
    Emptydir,
    Rootfs,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Tmpfs => "tmpfs",
            TargetKind::Ext4 => "ext4",
            TargetKind::Xfs => "xfs",
            TargetKind::Overlay => "overlay",
            TargetKind::Hostpath => "hostpath",
            TargetKind::Volume => "volume",
            TargetKind::Emptydir => "emptydir",
            TargetKind::Rootfs => "rootfs",
        }
    }

    /// Storage that exists without wpbench (a host directory, a pod's
    /// volume, the container's own layer): wpbench works only in a fresh
    /// subdirectory of it, never mounts, fills, breaks or shuts down the
    /// filesystem itself, and shares its device with others.
    pub fn is_existing_storage(self) -> bool {
        matches!(
            self,
            TargetKind::Hostpath | TargetKind::Volume | TargetKind::Emptydir | TargetKind::Rootfs
        )
    }

    /// What an existing storage is, for messages refusing what wpbench
    /// does only to filesystems it made (a crash, filling, EIO, throttling).
    pub fn existing_storage_is(self) -> &'static str {
        match self {
            TargetKind::Volume => "a pod's volume, whose filesystem wpbench did not make",
            TargetKind::Emptydir => "a pod's emptyDir, on the node's own disk or memory",
            TargetKind::Rootfs => "the container's own layer, on the node's own disk",
            _ => "the host's own disk",
        }
    }

    /// A pod gives it: `wpbench run` is told where with `--volume NAME=DIR`
    /// (required for a volume or emptydir; a rootfs defaults to the
    /// scratch area).
    pub fn is_pod_storage(self) -> bool {
        matches!(
            self,
            TargetKind::Volume | TargetKind::Emptydir | TargetKind::Rootfs
        )
    }
}

/// One target to provision, after `vary` expansion.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSpec {
    /// Unique name, including the vary label: `ext4[noatime]`.
    pub name: String,
    /// The name as written in the file, before vary expansion.
    pub base_name: String,
    pub kind: TargetKind,
    /// Mount options, validated: no commas, no `errors=panic`, no
    /// `lowerdir=`/`upperdir=`/`workdir=` smuggled in, no `logdev=` and the
    /// like naming another device.
    pub options: Vec<String>,
    /// Where each option was written (same order), for what only the
    /// kernel can refuse.
    pub option_places: Vec<Place>,
    /// hostpath: where `path` was written, for what only the machine can
    /// refuse (a file there, a symlink into /etc).
    pub path_place: Option<Place>,
    /// Keep one target for all its cells (an aging filesystem) instead of
    /// a fresh one per cell.
    pub reuse: bool,
    /// The parameters of its kind (`kind` is theirs).
    pub params: TargetParams,
}

impl TargetSpec {
    /// Filesystem or tmpfs size (tmpfs, ext4, xfs).
    pub fn size(&self) -> Option<u64> {
        match &self.params {
            TargetParams::Tmpfs(t) => t.size,
            TargetParams::Ext4(Ext4(b)) | TargetParams::Xfs(Xfs(b)) => Some(b.size),
            TargetParams::Volume(v) => Some(v.size),
            TargetParams::Overlay(_)
            | TargetParams::Hostpath(_)
            | TargetParams::Emptydir(_)
            | TargetParams::Rootfs(_) => None,
        }
    }

    /// Extra mkfs arguments (ext4, xfs).
    pub fn mkfs(&self) -> &[String] {
        match &self.params {
            TargetParams::Ext4(Ext4(b)) | TargetParams::Xfs(Xfs(b)) => &b.mkfs,
            _ => &[],
        }
    }

    /// `device:` (ext4, xfs; an overlay's upper has its own).
    pub fn device(&self) -> Option<&crate::scenario::device::DeviceSpec> {
        match &self.params {
            TargetParams::Ext4(Ext4(b)) | TargetParams::Xfs(Xfs(b)) => b.device.as_ref(),
            _ => None,
        }
    }

    /// Loop device settings (ext4, xfs; an overlay's upper has its own).
    pub fn loop_dev(&self) -> LoopSpec {
        match &self.params {
            TargetParams::Ext4(Ext4(b)) | TargetParams::Xfs(Xfs(b)) => b.loop_dev,
            _ => LoopSpec::default(),
        }
    }

    /// The directory under which wpbench makes a fresh subdirectory: a
    /// hostpath's `path`, or where `--volume` put a volume, emptydir or
    /// rootfs (None before [`crate::scenario::Scenario::bind_volumes`], and
    /// for a rootfs left in the scratch area).
    pub fn path(&self) -> Option<&std::path::Path> {
        match &self.params {
            TargetParams::Hostpath(h) => h.path.as_deref(),
            TargetParams::Volume(v) => v.dir.as_deref(),
            TargetParams::Emptydir(e) => e.dir.as_deref(),
            TargetParams::Rootfs(r) => r.dir.as_deref(),
            _ => None,
        }
    }

    /// overlay: the base filesystem of upperdir and workdir.
    pub fn upper(&self) -> Option<&BaseFsSpec> {
        match &self.params {
            TargetParams::Overlay(o) => o.upper.as_deref(),
            _ => None,
        }
    }

    /// overlay: the image layer(s) populated before the run.
    pub fn lower(&self) -> Option<&LowerSpec> {
        match &self.params {
            TargetParams::Overlay(o) => Some(&o.lower),
            _ => None,
        }
    }

    /// True when a fault or gate glob selects this target: by its full name
    /// (`ext4[noatime]`) or by its written name (`ext4` selects every
    /// variant of a `vary`).
    pub fn selected_by(&self, glob: &str) -> bool {
        selects(glob, &self.name, &self.base_name)
    }
}

/// Whether `glob` matches the full or the written name; `*` and globs
/// without wildcards skip the matcher (the loader asks this for every
/// fault and gate against every target and workload).
pub(crate) fn selects(glob: &str, name: &str, base_name: &str) -> bool {
    if glob == "*" {
        true
    } else if !glob.contains(['*', '?']) {
        glob == name || glob == base_name
    } else {
        glob_match(glob, name) || glob_match(glob, base_name)
    }
}

/// [`crate::glob::glob_match`] without its allocations when both sides are
/// ASCII (names are; the loader asks this for every fault and gate against
/// every target and workload, so it must be cheap): the same backtracking
/// over bytes instead of chars.
fn glob_match(pattern: &str, text: &str) -> bool {
    if !(pattern.is_ascii() && text.is_ascii()) {
        return crate::glob::glob_match(pattern, text);
    }
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

/// The filesystem under an overlay's upperdir and workdir.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseFsSpec {
    pub kind: TargetKind,
    pub size: Option<u64>,
    pub options: Vec<String>,
    /// Where each option was written (same order).
    pub option_places: Vec<Place>,
    pub mkfs: Vec<String>,
    pub loop_dev: LoopSpec,
    /// `device:` (ext4, xfs): an emulated device serves the image.
    pub device: Option<crate::scenario::device::DeviceSpec>,
}

/// An overlay's lower layer(s).
#[derive(Debug, Clone, PartialEq)]
pub struct LowerSpec {
    pub files: u64,
    pub file_size: SizeRange,
    pub dirs: u64,
    pub layers: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopSpec {
    pub direct_io: bool,
}

impl Default for LoopSpec {
    fn default() -> Self {
        LoopSpec { direct_io: true }
    }
}

/// One workload, after `vary` expansion.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadSpec {
    pub name: String,
    pub base_name: String,
    pub kind: WorkloadKind,
    /// Worker threads, ≥ 1.
    pub threads: u32,
    /// Open-loop rate per thread (unit ops per second); `None` = closed loop.
    pub rate: Option<f64>,
    pub fsync: SyncPolicy,
    pub sync_call: SyncCall,
    /// fsync the parent directory after creating (or renaming) a file.
    pub fsync_dir: bool,
    /// Open files with O_DIRECT (writers; the target must support it).
    pub o_direct: bool,
    /// Closed loop: a pause after each unit op (a user's think time).
    pub think_time: Option<Duration>,
    /// What the written bytes look like.
    pub payload: PayloadKind,
    pub params: WorkloadParams,
}

/// The content of written data (compressing or deduplicating storage
/// behaves differently on each).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum PayloadKind {
    /// Seeded pseudo-random bytes: incompressible.
    #[default]
    Random,
    /// All zeros.
    Zeros,
    /// This fraction (0..=1) of each block is zeros, the rest random, so a
    /// compressor saves about that fraction.
    Compressible(f64),
}

/// As result.json records it: `random`, `zeros`, `compressible(0.25)`.
impl std::fmt::Display for PayloadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PayloadKind::Random => f.write_str("random"),
            PayloadKind::Zeros => f.write_str("zeros"),
            PayloadKind::Compressible(share) => write!(f, "compressible({share:?})"),
        }
    }
}

impl WorkloadSpec {
    /// True when a fault or gate glob selects this workload: by its full
    /// name (`wal[every=8]`) or by its written name (`wal`).
    pub fn selected_by(&self, glob: &str) -> bool {
        selects(glob, &self.name, &self.base_name)
    }
}

/// When the workload calls its sync call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SyncPolicy {
    /// After every write.
    Always,
    /// Never.
    Never,
    /// Once, when the cell ends (the "flush before shutdown" policy).
    End,
    /// Before each close of a file.
    OnClose,
    /// After every N-th write.
    Every(u64),
    /// After a write once this many bytes were written since the last sync.
    EveryBytes(u64),
    /// After a write when at least this long passed since the last sync.
    Interval(Duration),
}

/// Which call makes data durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncCall {
    Fsync,
    Fdatasync,
    /// SYNC_FILE_RANGE_WAIT_BEFORE|WRITE|WAIT_AFTER: writes back, but is not
    /// a durability guarantee (no metadata, no device cache flush).
    SyncFileRange,
    /// Open with O_DSYNC: every write is synchronous.
    ODsync,
    /// Open with O_SYNC: every write is synchronous.
    OSync,
    /// syncfs(2): the whole filesystem.
    Syncfs,
}

impl SyncCall {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncCall::Fsync => "fsync",
            SyncCall::Fdatasync => "fdatasync",
            SyncCall::SyncFileRange => "sync_file_range",
            SyncCall::ODsync => "o_dsync",
            SyncCall::OSync => "o_sync",
            SyncCall::Syncfs => "syncfs",
        }
    }
    /// True when the sync happens inside every write (an open flag).
    pub fn is_open_flag(self) -> bool {
        matches!(self, SyncCall::ODsync | SyncCall::OSync)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    Crash,
    PowerLoss,
    Enospc,
    Eio,
    Throttle,
    NoisyNeighbor,
}

impl FaultKind {
    /// The name a scenario and result.json give it.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Crash => "crash",
            FaultKind::PowerLoss => "power_loss",
            FaultKind::Enospc => "enospc",
            FaultKind::Eio => "eio",
            FaultKind::Throttle => "throttle",
            FaultKind::NoisyNeighbor => "noisy_neighbor",
        }
    }

    /// A cut of power at a moment of the cell, run in trials and verified
    /// afterwards: a crash (the filesystem stops) or a power loss (an
    /// emulated device drops its volatile cache).
    pub fn is_cut(self) -> bool {
        matches!(self, FaultKind::Crash | FaultKind::PowerLoss)
    }
}

/// A fault to inject. Parsed and checked now; executed by the fault room.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    pub kind: FaultKind,
    /// Glob over target names; `*` when left out. Matches the full or the
    /// written name (see [`TargetSpec::selected_by`]).
    pub target: String,
    /// Glob over workload names; `*` when left out. Matches the full or the
    /// written name (see [`WorkloadSpec::selected_by`]).
    pub workload: String,
    pub at: Option<DurationRange>,
    pub after_ops: Option<u64>,
    pub trials: u32,
    /// The parameters of its kind (`kind` is theirs).
    pub params: FaultParams,
}

impl FaultSpec {
    /// `kind: throttle`: the limits (or profile) to put on the target's
    /// block device.
    pub fn throttle(&self) -> Option<&ThrottleSpec> {
        match &self.params {
            FaultParams::Throttle(p) => Some(p),
            _ => None,
        }
    }

    /// `kind: noisy_neighbor`: the background writer sharing the target's
    /// device.
    pub fn noisy(&self) -> Option<&NoisySpec> {
        match &self.params {
            FaultParams::NoisyNeighbor(p) => Some(p),
            _ => None,
        }
    }

    /// `kind: enospc`: which resource runs out and how workers react.
    pub fn enospc(&self) -> Option<&EnospcSpec> {
        match &self.params {
            FaultParams::Enospc(p) => Some(p),
            _ => None,
        }
    }

    /// `kind: eio`: the thin volume's remaining backing.
    pub fn eio(&self) -> Option<&EioSpec> {
        match &self.params {
            FaultParams::Eio(p) => Some(p),
            _ => None,
        }
    }

    /// `kind: power_loss`: how the emulated device loses its cache.
    pub fn power_loss(&self) -> Option<&PowerLoss> {
        match &self.params {
            FaultParams::PowerLoss(p) => Some(p),
            _ => None,
        }
    }
}

/// Glob patterns choosing the cells and ops a gate judges. `target` and
/// `workload` match the full or the written name (`selected_by`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selector {
    pub target: Option<String>,
    pub workload: Option<String>,
    pub op: Option<String>,
    pub fault: Option<String>,
}

/// One gate: limits on the selected cells, or a baseline comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct GateSpec {
    pub select: Selector,
    pub limits: Vec<GateLimit>,
    /// `baseline: {max_regression: 10%}` — a fraction (0.10): a significant
    /// regression beyond it fails.
    pub max_regression: Option<f64>,
    /// `baseline: {warn_regression: 5%}`: a significant regression beyond it warns.
    pub warn_regression: Option<f64>,
    /// Where the gate came from (`gates[2]`, or `ci/gate.yaml: gates[0]`),
    /// to name it in verdicts.
    pub origin: String,
    /// The gate's `name:` (`wal-p95`), unique in its file.
    pub name: Option<String>,
}

impl GateSpec {
    /// What verdicts call the gate: its name, else where it is written.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.origin)
    }

    /// The gate in a message that sends the user to it: its name and
    /// where it is written (`wal-p95 (ci/gate.yaml: gates[0])`).
    pub fn cited(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} ({})", self.origin),
            None => self.origin.clone(),
        }
    }
}

/// How bad breaking a limit is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Warn,
    Fail,
}

/// A limit at a level: top-level and `fail:` limits fail, `warn:` limits warn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GateLimit {
    pub level: Level,
    pub limit: Limit,
}

/// One limit of a gate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// Latency percentile (0..=100, or `max`/`mean` as 100/-1) must be ≤ this.
    Latency { stat: LatencyStat, max: Duration },
    /// Unit ops per second must be ≥ this.
    Throughput { min_per_sec: f64 },
    /// Failed ops / all ops must be ≤ this fraction.
    ErrorRate { max: f64 },
    /// Device bytes / workload bytes must be ≤ this.
    WriteAmplification { max: f64 },
    /// Acknowledged records lost after a fault must be ≤ this.
    AckedLost { max: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyStat {
    P50,
    P90,
    P95,
    P99,
    P999,
    Max,
    Mean,
}

impl LatencyStat {
    pub fn as_str(self) -> &'static str {
        match self {
            LatencyStat::P50 => "p50",
            LatencyStat::P90 => "p90",
            LatencyStat::P95 => "p95",
            LatencyStat::P99 => "p99",
            LatencyStat::P999 => "p999",
            LatencyStat::Max => "max",
            LatencyStat::Mean => "mean",
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_ascii_glob_agrees_with_the_shared_one() {
        let names = [
            "",
            "a",
            "ext4",
            "ext4[noatime]",
            "wal",
            "wal2",
            "tmpfs",
            "axxbyyc",
            "µs",
        ];
        let globs = [
            "",
            "*",
            "?",
            "ext4*",
            "*[noatime]",
            "t?pfs",
            "a*b*c",
            "w*l",
            "**",
            "*?",
            "µ*",
        ];
        for g in globs {
            for n in names {
                assert_eq!(
                    super::glob_match(g, n),
                    crate::glob::glob_match(g, n),
                    "{g} vs {n}"
                );
            }
        }
    }
}
