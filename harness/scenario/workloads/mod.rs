//! Workload kinds: one file per kind, each holding the kind's parameters
//! (the typed struct later rooms receive), the keys a scenario writes them
//! with (a serde struct), their defaults and checks, which of the
//! workload-wide writing keys the kind takes, the ops it may record, and
//! how result.json records its parameters.
//!
//! Adding a kind is a new file here, a variant in [`WorkloadKind`] and
//! [`WorkloadParams`], and its line in [`KINDS`] (and a worker in the
//! workload room).

mod copy_up;
mod exec;
mod fsync_heavy;
mod log_append;
mod metadata;
mod read_atime;
mod replay;
mod sequence;
mod small_files;

use std::fmt::Debug;

use serde::de::DeserializeOwned;

pub use copy_up::{CopyUp, CopyUpAction};
pub use exec::{display_argv, Exec};
pub use fsync_heavy::FsyncHeavy;
pub use log_append::LogAppend;
pub use metadata::{MetaOp, Metadata};
pub use read_atime::ReadAtime;
pub use replay::{call_op, largest_io, Replay, Timing};
pub use sequence::{SeqStep, Sequence};
pub use small_files::SmallFiles;

use super::check::{At, Ctx};
use super::raw::fields_of;
use super::spec::{SyncCall, SyncPolicy, TargetKind, TargetSpec, WorkloadSpec};
use super::units::{format_size, SizeRange};
use super::yaml::{self, Node};
use crate::record::Op;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadKind {
    SmallFiles,
    FsyncHeavy,
    LogAppend,
    ReadAtime,
    CopyUp,
    Metadata,
    Sequence,
    Replay,
    Exec,
}

/// The parameters only one workload kind has.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkloadParams {
    SmallFiles(SmallFiles),
    FsyncHeavy(FsyncHeavy),
    LogAppend(LogAppend),
    ReadAtime(ReadAtime),
    CopyUp(CopyUp),
    Metadata(Metadata),
    Sequence(Sequence),
    Replay(Replay),
    Exec(Exec),
}

/// The registry: every kind, in the order messages list them.
pub(super) const KINDS: &[KindEntry] = &[
    KindEntry::of::<SmallFiles>(),
    KindEntry::of::<FsyncHeavy>(),
    KindEntry::of::<LogAppend>(),
    KindEntry::of::<ReadAtime>(),
    KindEntry::of::<CopyUp>(),
    KindEntry::of::<Metadata>(),
    KindEntry::of::<Sequence>(),
    KindEntry::of::<Replay>(),
    KindEntry::of::<Exec>(),
];

impl WorkloadParams {
    fn params(&self) -> &dyn Params {
        match self {
            WorkloadParams::SmallFiles(p) => p,
            WorkloadParams::FsyncHeavy(p) => p,
            WorkloadParams::LogAppend(p) => p,
            WorkloadParams::ReadAtime(p) => p,
            WorkloadParams::CopyUp(p) => p,
            WorkloadParams::Metadata(p) => p,
            WorkloadParams::Sequence(p) => p,
            WorkloadParams::Replay(p) => p,
            WorkloadParams::Exec(p) => p,
        }
    }

    /// How result.json records them (`workload.params`), each value as a
    /// user would write it.
    pub fn record(&self) -> Vec<(&'static str, String)> {
        self.params().record()
    }

    /// Whether the workload writes file data during its cell, so that
    /// write amplification (device bytes / bytes written) has a
    /// denominator.
    pub fn writes_data(&self) -> bool {
        self.params().writes_data()
    }

    /// What one op writes or reads from one buffer, by key (`file_size`,
    /// `record_size`, `steps[2].append` …).
    pub(super) fn op_sizes(&self) -> Vec<(String, SizeRange)> {
        self.params().op_sizes()
    }

    /// What is written with O_DIRECT when `o_direct` is on: the op sizes,
    /// and what the kind writes before its clock the same way.
    pub(super) fn direct_sizes(&self) -> Vec<(String, SizeRange)> {
        self.params().direct_sizes()
    }

    /// What a cell makes before its clock starts (None: nothing).
    pub(super) fn before_clock(&self, cell: &CellShape) -> Option<BeforeClock> {
        self.params().before_clock(cell)
    }

    /// The most a cell can have written into its target at once (None:
    /// only the cell's time bounds it).
    pub(super) fn most_written(&self, cell: &CellShape) -> Option<Written> {
        self.params().most_written(cell)
    }

    /// Descriptors one thread keeps open at once.
    pub(super) fn open_files_per_thread(&self) -> u64 {
        self.params().open_files_per_thread()
    }

    /// The ops these parameters let the kind record, when fewer than its
    /// [`WorkloadKind::may_record`] (None: all of those).
    pub(super) fn records_only(&self) -> Option<Vec<Op>> {
        self.params().records_only()
    }
}

/// What a kind's parameters are asked about one cell: the shape of the
/// cell they run in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct CellShape {
    pub threads: u64,
    /// Unit ops a count-bound cell without warm-up makes (None: its time
    /// bounds it).
    pub unit_ops: Option<u64>,
    /// An overlay target's lower files (count, size), when it has any.
    pub lower_files: Option<(u64, SizeRange)>,
}

impl CellShape {
    /// The shape of a cell of `work` on `target`.
    pub fn of(work: &WorkloadSpec, unit_ops: Option<u64>, target: &TargetSpec) -> CellShape {
        CellShape {
            threads: u64::from(work.threads),
            unit_ops,
            lower_files: match (target.lower(), target.kind) {
                (Some(l), TargetKind::Overlay) if l.files > 0 => Some((l.files, l.file_size)),
                _ => None,
            },
        }
    }
}

/// What a cell makes before its clock starts, all of which must succeed.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct BeforeClock {
    /// Files written (each of `size`).
    pub files: u128,
    /// Files and directories made, the written files included.
    pub inodes: u128,
    pub size: SizeRange,
    /// The key that sets them (where a "cannot fit" is reported).
    pub key: &'static str,
    /// How they add up, in words: `100 files of at least 4KiB to copy up`.
    pub how: String,
}

/// The most a cell holds in its target at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Written {
    pub files: u64,
    /// Each file's largest size.
    pub file_size: u64,
    /// Directories and other inodes besides the files.
    pub more_inodes: u64,
}

impl Written {
    pub fn files(files: u64, file_size: u64) -> Written {
        Written {
            files,
            file_size,
            more_inodes: 0,
        }
    }
}

/// `100 files` or `100 files of at least 4KiB`.
fn files_of(files: u64, min: u64) -> String {
    match min {
        0 => format!("{files} files"),
        _ => format!("{files} files of at least {}", format_size(min)),
    }
}

impl WorkloadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::SmallFiles => "small_files",
            WorkloadKind::FsyncHeavy => "fsync_heavy",
            WorkloadKind::LogAppend => "log_append",
            WorkloadKind::ReadAtime => "read_atime",
            WorkloadKind::CopyUp => "copy_up",
            WorkloadKind::Metadata => "metadata",
            WorkloadKind::Sequence => "sequence",
            WorkloadKind::Replay => "replay",
            WorkloadKind::Exec => "exec",
        }
    }

    /// True when the work changes state that a warm-up would use up (a
    /// file is copied up once; relatime updates atime on the first read):
    /// such a workload runs without warm-up.
    pub fn cold_start(self) -> bool {
        self.entry().cold_start
    }

    /// Every op a workload of this kind may record, whatever its
    /// parameters (its unit op and that op's `.service` twin included): a
    /// gate whose `op` matches none of them for every cell it selects has
    /// nothing to judge. A superset: which sync op a writer records, for
    /// one, depends on its `sync_call`.
    pub fn may_record(self) -> &'static [Op] {
        self.entry().may_record
    }

    /// Whether it writes through `fsync`/`sync_call` (the others sync in
    /// their own steps or not at all).
    pub fn takes_sync_policy(self) -> bool {
        self.entry().writes.sync.is_some()
    }

    /// Whether its workers keep a ledger of acknowledged writes that a
    /// crash's or an EIO's verifier checks.
    pub fn verifiable(self) -> bool {
        self.entry().verifiable
    }

    /// Which of the workload-wide writing keys this kind takes.
    pub(super) fn writes(self) -> Writes {
        self.entry().writes
    }

    pub(super) fn entry(self) -> &'static KindEntry {
        KINDS
            .iter()
            .find(|e| e.kind == self)
            .expect("every kind is in the registry")
    }
}

/// Which of the workload-wide writing keys (`fsync`, `sync_call`,
/// `fsync_dir`, `o_direct`, `payload`, kept with every workload's
/// settings) a kind takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Writes {
    /// `fsync` and `sync_call`, with the kind's defaults for them.
    pub sync: Option<(SyncPolicy, SyncCall)>,
    /// `fsync: end` is one syncfs of the target (rather than a sync of
    /// each file with `sync_call`).
    pub end_syncfs: bool,
    pub fsync_dir: bool,
    pub o_direct: bool,
    pub payload: bool,
}

impl Writes {
    /// None: the kind writes through no sync policy of its own.
    pub const NOTHING: Writes = Writes {
        sync: None,
        end_syncfs: false,
        fsync_dir: false,
        o_direct: false,
        payload: false,
    };

    /// The policy and call a workload of such a kind syncs with when it
    /// gives neither (for a kind without `fsync`, what it is recorded as).
    pub fn sync_defaults(&self) -> (SyncPolicy, SyncCall) {
        self.sync.unwrap_or((SyncPolicy::Never, SyncCall::Fsync))
    }

    /// Whether a kind with these takes `key`, one of the writing keys of
    /// [`RawWorkload`](super::raw::RawWorkload); None for its other keys
    /// (`name`, `threads` …, which every kind takes).
    pub fn takes(&self, key: &str) -> Option<bool> {
        Some(match key {
            "fsync" | "sync_call" => self.sync.is_some(),
            "fsync_dir" => self.fsync_dir,
            "o_direct" => self.o_direct,
            "payload" => self.payload,
            _ => return None,
        })
    }
}

/// What the loader needs of a kind: its file's answers, behind plain
/// functions so that kinds of different types sit in one list.
pub(super) struct KindEntry {
    pub kind: WorkloadKind,
    pub writes: Writes,
    pub may_record: &'static [Op],
    pub cold_start: bool,
    pub verifiable: bool,
    /// The keys of its own (its raw struct's fields), in order.
    pub fields: fn() -> &'static [&'static str],
    /// Reads `node` (a mapping of its own keys) as its raw struct, for
    /// serde's error.
    pub parse: fn(&Node) -> Result<(), yaml::DeError>,
    /// Checks its own keys (`node`) and applies their defaults.
    pub check: fn(&Node, &mut Ctx, &At) -> Option<WorkloadParams>,
}

impl KindEntry {
    const fn of<K: Kind>() -> KindEntry {
        KindEntry {
            kind: K::KIND,
            writes: K::WRITES,
            may_record: K::MAY_RECORD,
            cold_start: K::COLD_START,
            verifiable: K::VERIFIABLE,
            fields: fields_of::<K::Raw>,
            parse: parse::<K>,
            check: check::<K>,
        }
    }
}

fn parse<K: Kind>(node: &Node) -> Result<(), yaml::DeError> {
    yaml::from_node::<K::Raw>(node).map(|_| ())
}

fn check<K: Kind>(node: &Node, cx: &mut Ctx, at: &At) -> Option<WorkloadParams> {
    match yaml::from_node::<K::Raw>(node) {
        Ok(raw) => Some(K::check(raw, cx, at).into()),
        Err(e) => {
            cx.de_err(at, e);
            None
        }
    }
}

/// A workload kind, as the loader reads it (each kind's file implements it
/// for its parameters).
pub(super) trait Kind: Params + Into<WorkloadParams> {
    const KIND: WorkloadKind;
    /// Which writing keys it takes, and its defaults for them.
    const WRITES: Writes;
    /// See [`WorkloadKind::may_record`].
    const MAY_RECORD: &'static [Op];
    /// See [`WorkloadKind::cold_start`].
    const COLD_START: bool = false;
    /// See [`WorkloadKind::verifiable`].
    const VERIFIABLE: bool = false;
    /// Its own keys as written: every field optional (a null is the
    /// default too), unknown keys refused.
    type Raw: DeserializeOwned;
    /// The parameters, defaults applied; what is wrong is reported to `cx`
    /// at its key under `at`.
    fn check(raw: Self::Raw, cx: &mut Ctx, at: &At) -> Self;
}

/// What the loader and the record ask of any kind's parameters.
pub(super) trait Params: Debug {
    fn record(&self) -> Vec<(&'static str, String)>;
    fn writes_data(&self) -> bool;
    fn op_sizes(&self) -> Vec<(String, SizeRange)>;
    fn direct_sizes(&self) -> Vec<(String, SizeRange)> {
        self.op_sizes()
    }
    /// See [`WorkloadParams::before_clock`].
    fn before_clock(&self, _cell: &CellShape) -> Option<BeforeClock> {
        None
    }
    /// See [`WorkloadParams::most_written`].
    fn most_written(&self, cell: &CellShape) -> Option<Written>;
    fn open_files_per_thread(&self) -> u64 {
        4
    }
    /// See [`WorkloadParams::records_only`].
    fn records_only(&self) -> Option<Vec<Op>> {
        None
    }
}

// -------------------------------------------------------- shared checks

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;

/// Records and log lines carry a header (sequence, length, checksum).
const MIN_RECORD: u64 = 32;

/// A size written at `key`, or `default`.
fn size_or(v: Option<super::raw::U<SizeRange>>, default: SizeRange) -> SizeRange {
    v.map_or(default, |super::raw::U(r)| r)
}

/// Each record or line holds a header that the durability check reads back.
fn min_record(cx: &mut Ctx, at: &At, key: &str, r: SizeRange) {
    if r.min < MIN_RECORD {
        cx.err(
            &at.key(key),
            format!(
                "must be at least {MIN_RECORD}B: each one carries a header that \
                 the durability check reads back"
            ),
        );
    }
}

/// `files`, at least 1.
fn files_at_least_one(cx: &mut Ctx, at: &At, files: Option<u64>, default: u64) -> u64 {
    match files {
        Some(0) => {
            cx.err(&at.key("files"), "must be at least 1");
            1
        }
        Some(n) => n,
        None => default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::raw::RawWorkload;

    #[test]
    fn the_writing_keys_are_the_raw_workloads_own() {
        let all = Writes {
            sync: Some((SyncPolicy::Never, SyncCall::Fsync)),
            end_syncfs: true,
            fsync_dir: true,
            o_direct: true,
            payload: true,
        };
        let writing: Vec<&str> = fields_of::<RawWorkload>()
            .iter()
            .copied()
            .filter(|k| all.takes(k).is_some())
            .collect();
        assert_eq!(
            writing,
            ["fsync", "sync_call", "fsync_dir", "o_direct", "payload"]
        );
        for k in &writing {
            assert_eq!(Writes::NOTHING.takes(k), Some(false), "{k}");
        }
    }

    #[test]
    fn every_kind_is_registered_once_with_keys_of_its_own() {
        for (i, e) in KINDS.iter().enumerate() {
            assert_eq!(e.kind.entry().kind, e.kind);
            assert!(KINDS[..i].iter().all(|o| o.kind != e.kind));
            assert!(!(e.fields)().is_empty(), "{:?}", e.kind);
        }
    }
}
