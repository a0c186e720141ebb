//! `kind: read_atime`: reads of files made before the clock, whose atime
//! is an hour older than their mtime, so that `relatime` updates it on the
//! first read. Unit op: `read`.

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
pub struct ReadAtime {
    /// Files in the read set (over all threads), made before the clock starts.
    pub files: u64,
    pub file_size: SizeRange,
}

/// The keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    file_size: Option<U<SizeRange>>,
    files: Option<u64>,
}

const DEFAULT_FILES: u64 = 1000;
const DEFAULT_FILE_SIZE: SizeRange = SizeRange::fixed(4 * KIB);

impl Kind for ReadAtime {
    const KIND: WorkloadKind = WorkloadKind::ReadAtime;
    const WRITES: Writes = Writes::NOTHING;
    const MAY_RECORD: &'static [Op] = &[
        Op::Open,
        Op::Read,
        Op::Close,
        Op::ReadFile,
        Op::ReadFileService,
    ];
    /// relatime updates atime on the first read only.
    const COLD_START: bool = true;
    type Raw = Raw;

    fn check(raw: Raw, cx: &mut Ctx, at: &At) -> ReadAtime {
        ReadAtime {
            files: files_at_least_one(cx, at, raw.files, DEFAULT_FILES),
            file_size: size_or(raw.file_size, DEFAULT_FILE_SIZE),
        }
    }
}

impl Params for ReadAtime {
    /// The files it reads, written before the clock.
    fn before_clock(&self, cell: &CellShape) -> Option<BeforeClock> {
        let files = u128::from(self.files);
        Some(BeforeClock {
            files,
            inodes: files + u128::from(cell.threads),
            size: self.file_size,
            key: "files",
            how: files_of(self.files, self.file_size.min),
        })
    }

    fn most_written(&self, _cell: &CellShape) -> Option<Written> {
        Some(Written::files(self.files, self.file_size.max))
    }

    fn record(&self) -> Vec<(&'static str, String)> {
        vec![
            ("files", self.files.to_string()),
            ("file_size", self.file_size.to_string()),
        ]
    }

    /// It only reads.
    fn writes_data(&self) -> bool {
        false
    }

    fn op_sizes(&self) -> Vec<(String, SizeRange)> {
        vec![("file_size".into(), self.file_size)]
    }
}

impl From<ReadAtime> for WorkloadParams {
    fn from(p: ReadAtime) -> Self {
        WorkloadParams::ReadAtime(p)
    }
}
