//! `kind: copy_up`: the first change to each file of an overlay's lower
//! layer, which copies it up into the upper filesystem (on other targets,
//! the same syscalls on files the workload made, as a baseline). Unit op:
//! `copy_up`.

use serde::Deserialize;

use super::{
    files_at_least_one, files_of, size_or, BeforeClock, CellShape, Kind, Params, WorkloadKind,
    WorkloadParams, Writes, Written, KIB,
};
use crate::record::Op;
use crate::scenario::check::{At, Ctx};
use crate::scenario::raw::U;
use crate::scenario::units::SizeRange;

#[derive(Debug, Clone, PartialEq)]
pub struct CopyUp {
    pub action: CopyUpAction,
    /// Files to make when the target has no lower layer (a baseline on
    /// a plain filesystem); on an overlay, its lower files are used.
    pub files: u64,
    pub file_size: SizeRange,
}

/// What a copy_up workload does to each lower file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyUpAction {
    /// chmod: metadata only (metacopy=on copies no data).
    Chmod,
    /// chown to the current owner: metadata only.
    Chown,
    /// utimensat to now: metadata only.
    Touch,
    /// open for writing, then close: the data is copied up.
    OpenRw,
    /// append 4 KiB.
    Append,
    /// truncate to half the size.
    Truncate,
}

impl CopyUpAction {
    pub fn as_str(self) -> &'static str {
        match self {
            CopyUpAction::Chmod => "chmod",
            CopyUpAction::Chown => "chown",
            CopyUpAction::Touch => "touch",
            CopyUpAction::OpenRw => "open_rw",
            CopyUpAction::Append => "append",
            CopyUpAction::Truncate => "truncate",
        }
    }
}

/// The keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    file_size: Option<U<SizeRange>>,
    files: Option<u64>,
    action: Option<CopyUpAction>,
}

const DEFAULT_ACTION: CopyUpAction = CopyUpAction::Chmod;
const DEFAULT_FILES: u64 = 1000;
const DEFAULT_FILE_SIZE: SizeRange = SizeRange::fixed(64 * KIB);

impl Kind for CopyUp {
    const KIND: WorkloadKind = WorkloadKind::CopyUp;
    const WRITES: Writes = Writes::NOTHING;
    const MAY_RECORD: &'static [Op] = &[
        Op::Chmod,
        Op::Chown,
        Op::Utimes,
        Op::Open,
        Op::Write,
        Op::Truncate,
        Op::Close,
        Op::CopyUp,
        Op::CopyUpService,
    ];
    /// A file is copied up once.
    const COLD_START: bool = true;
    type Raw = Raw;

    fn check(raw: Raw, cx: &mut Ctx, at: &At) -> CopyUp {
        CopyUp {
            action: raw.action.unwrap_or(DEFAULT_ACTION),
            files: files_at_least_one(cx, at, raw.files, DEFAULT_FILES),
            file_size: size_or(raw.file_size, DEFAULT_FILE_SIZE),
        }
    }
}

impl Params for CopyUp {
    /// Its own files to copy up, unless an overlay's lower layer has some.
    fn before_clock(&self, cell: &CellShape) -> Option<BeforeClock> {
        if cell.lower_files.is_some() {
            return None;
        }
        let files = u128::from(self.files);
        Some(BeforeClock {
            files,
            inodes: files + u128::from(self.files.min(10)),
            size: self.file_size,
            key: "files",
            how: format!("{} to copy up", files_of(self.files, self.file_size.min)),
        })
    }

    /// Its files (an overlay's lower ones, when it has them), each with
    /// the 4 KiB an `append` adds.
    fn most_written(&self, cell: &CellShape) -> Option<Written> {
        let (n, size) = cell
            .lower_files
            .map_or((self.files, self.file_size.max), |(n, size)| (n, size.max));
        Some(Written::files(n, size.saturating_add(4 * KIB)))
    }

    fn records_only(&self) -> Option<Vec<Op>> {
        Some(match self.action {
            CopyUpAction::Chmod => vec![Op::Chmod],
            CopyUpAction::Chown => vec![Op::Chown],
            CopyUpAction::Touch => vec![Op::Utimes],
            CopyUpAction::OpenRw => vec![Op::Open, Op::Close],
            CopyUpAction::Append => vec![Op::Open, Op::Write, Op::Close],
            CopyUpAction::Truncate => vec![Op::Open, Op::Truncate, Op::Close],
        })
    }

    fn record(&self) -> Vec<(&'static str, String)> {
        vec![
            ("action", self.action.as_str().into()),
            ("files", self.files.to_string()),
            ("file_size", self.file_size.to_string()),
        ]
    }

    /// Only `append` writes data.
    fn writes_data(&self) -> bool {
        self.action == CopyUpAction::Append
    }

    fn op_sizes(&self) -> Vec<(String, SizeRange)> {
        vec![("file_size".into(), self.file_size)]
    }
}

impl From<CopyUp> for WorkloadParams {
    fn from(p: CopyUp) -> Self {
        WorkloadParams::CopyUp(p)
    }
}
