//! `kind: small_files`: many small files, each created, written, synced
//! per `fsync` and closed, `files_per_dir` to a directory. Unit op: `file`.

use serde::Deserialize;

use super::{size_or, CellShape, Kind, Params, WorkloadKind, WorkloadParams, Writes, Written, KIB};
use crate::record::Op;
use crate::scenario::check::{At, Ctx};
use crate::scenario::raw::U;
use crate::scenario::spec::{SyncCall, SyncPolicy};
use crate::scenario::units::SizeRange;

#[derive(Debug, Clone, PartialEq)]
pub struct SmallFiles {
    pub file_size: SizeRange,
    pub files_per_dir: u64,
}

/// The keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    file_size: Option<U<SizeRange>>,
    files_per_dir: Option<u64>,
}

const DEFAULT_FILE_SIZE: SizeRange = SizeRange::fixed(4 * KIB);
const DEFAULT_FILES_PER_DIR: u64 = 1000;

impl Kind for SmallFiles {
    const KIND: WorkloadKind = WorkloadKind::SmallFiles;
    const VERIFIABLE: bool = true;
    const WRITES: Writes = Writes {
        sync: Some((SyncPolicy::Never, SyncCall::Fsync)),
        end_syncfs: true,
        fsync_dir: true,
        o_direct: true,
        payload: true,
    };
    const MAY_RECORD: &'static [Op] = &[
        Op::Create,
        Op::Write,
        Op::Fsync,
        Op::Fdatasync,
        Op::SyncFileRange,
        Op::Syncfs,
        Op::FsyncDir,
        Op::Close,
        Op::Mkdir,
        Op::File,
        Op::FileService,
    ];
    type Raw = Raw;

    fn check(raw: Raw, cx: &mut Ctx, at: &At) -> SmallFiles {
        SmallFiles {
            file_size: size_or(raw.file_size, DEFAULT_FILE_SIZE),
            files_per_dir: match raw.files_per_dir {
                Some(0) => {
                    cx.err(&at.key("files_per_dir"), "must be at least 1");
                    1
                }
                Some(n) => n,
                None => DEFAULT_FILES_PER_DIR,
            },
        }
    }
}

impl Params for SmallFiles {
    /// A count-bound cell makes that many files (and their directories);
    /// a duration-bound one as many as it can.
    fn most_written(&self, cell: &CellShape) -> Option<Written> {
        cell.unit_ops.map(|n| Written {
            files: n,
            file_size: self.file_size.max,
            more_inodes: n / self.files_per_dir.max(1) + cell.threads + 1,
        })
    }

    fn record(&self) -> Vec<(&'static str, String)> {
        vec![
            ("file_size", self.file_size.to_string()),
            ("files_per_dir", self.files_per_dir.to_string()),
        ]
    }

    fn writes_data(&self) -> bool {
        self.file_size.max > 0
    }

    fn op_sizes(&self) -> Vec<(String, SizeRange)> {
        vec![("file_size".into(), self.file_size)]
    }
}

impl From<SmallFiles> for WorkloadParams {
    fn from(p: SmallFiles) -> Self {
        WorkloadParams::SmallFiles(p)
    }
}
