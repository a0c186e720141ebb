//! `kind: fsync_heavy`: a write-ahead log. Each thread appends records of
//! `record_size` to its own preallocated log of `file_size`, syncing per
//! `fsync` (every record by default, with fdatasync), and wraps to the
//! start when it is full. Unit op: `record`.

use serde::Deserialize;

use super::{
    min_record, size_or, BeforeClock, CellShape, Kind, Params, WorkloadKind, WorkloadParams,
    Writes, Written, KIB, MIB,
};
use crate::record::Op;
use crate::scenario::check::{At, Ctx};
use crate::scenario::raw::U;
use crate::scenario::spec::{SyncCall, SyncPolicy};
use crate::scenario::units::{format_size, SizeRange};

#[derive(Debug, Clone, PartialEq)]
pub struct FsyncHeavy {
    pub record_size: SizeRange,
    /// Size of each thread's preallocated log file; writing wraps to the
    /// start when it is full, as a recycled WAL segment does.
    pub file_size: u64,
}

/// The keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    file_size: Option<U<SizeRange>>,
    record_size: Option<U<SizeRange>>,
}

const DEFAULT_RECORD_SIZE: SizeRange = SizeRange::fixed(4 * KIB);
const DEFAULT_FILE_SIZE: SizeRange = SizeRange::fixed(64 * MIB);

impl Kind for FsyncHeavy {
    const KIND: WorkloadKind = WorkloadKind::FsyncHeavy;
    const VERIFIABLE: bool = true;
    const WRITES: Writes = Writes {
        sync: Some((SyncPolicy::Always, SyncCall::Fdatasync)),
        end_syncfs: false,
        fsync_dir: false,
        o_direct: true,
        payload: true,
    };
    const MAY_RECORD: &'static [Op] = &[
        Op::Write,
        Op::Fsync,
        Op::Fdatasync,
        Op::SyncFileRange,
        Op::Syncfs,
        Op::Close,
        Op::Record,
        Op::RecordService,
    ];
    type Raw = Raw;

    fn check(raw: Raw, cx: &mut Ctx, at: &At) -> FsyncHeavy {
        let record_size = size_or(raw.record_size, DEFAULT_RECORD_SIZE);
        min_record(cx, at, "record_size", record_size);
        let file = size_or(raw.file_size, DEFAULT_FILE_SIZE);
        if !file.is_fixed() {
            cx.err(
                &at.key("file_size"),
                "is one size for fsync_heavy (each thread's preallocated log), not a range",
            );
        } else if file.max < record_size.max.saturating_mul(2) {
            cx.err(
                &at.key("file_size"),
                format!(
                    "must be at least twice the largest record ({}), so the log holds \
                     more than one record before it wraps",
                    format_size(record_size.max.saturating_mul(2))
                ),
            );
        }
        FsyncHeavy {
            record_size,
            file_size: file.max,
        }
    }
}

impl Params for FsyncHeavy {
    /// Each thread's log, written in full before the clock.
    fn before_clock(&self, cell: &CellShape) -> Option<BeforeClock> {
        let threads = u128::from(cell.threads);
        Some(BeforeClock {
            files: threads,
            inodes: threads * 2,
            size: SizeRange::fixed(self.file_size),
            key: "file_size",
            how: format!(
                "a log of {} written in full per thread, {} threads",
                format_size(self.file_size),
                cell.threads
            ),
        })
    }

    fn most_written(&self, cell: &CellShape) -> Option<Written> {
        Some(Written::files(cell.threads, self.file_size))
    }

    fn record(&self) -> Vec<(&'static str, String)> {
        vec![
            ("record_size", self.record_size.to_string()),
            ("file_size", format_size(self.file_size)),
        ]
    }

    fn writes_data(&self) -> bool {
        true
    }

    fn op_sizes(&self) -> Vec<(String, SizeRange)> {
        vec![("record_size".into(), self.record_size)]
    }

    fn direct_sizes(&self) -> Vec<(String, SizeRange)> {
        // The preallocated log is written with O_DIRECT too.
        let mut sizes = self.op_sizes();
        sizes.push(("file_size".into(), SizeRange::fixed(self.file_size)));
        sizes
    }
}

impl From<FsyncHeavy> for WorkloadParams {
    fn from(p: FsyncHeavy) -> Self {
        WorkloadParams::FsyncHeavy(p)
    }
}
