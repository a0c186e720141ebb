//! `kind: log_append`: task logs. Each thread appends lines of
//! `line_size` to a task's log until it reaches `file_size`, then closes
//! it and begins the next task, keeping `retain` finished logs. Unit ops:
//! `line` and `task`.

use serde::Deserialize;

use super::{
    min_record, size_or, CellShape, Kind, Params, WorkloadKind, WorkloadParams, Writes, Written,
    KIB,
};
use crate::record::Op;
use crate::scenario::check::{At, Ctx};
use crate::scenario::raw::U;
use crate::scenario::spec::{SyncCall, SyncPolicy};
use crate::scenario::units::{format_size, SizeRange};

#[derive(Debug, Clone, PartialEq)]
pub struct LogAppend {
    pub line_size: SizeRange,
    /// One task's log size; when reached the log is closed and a new task begins.
    pub file_size: SizeRange,
    /// Finished task logs kept per thread; older ones are unlinked, as
    /// log shipping or container removal would.
    pub retain: u64,
    /// Task logs each thread keeps open at once, its lines spread over
    /// them (1: one task after another).
    pub open_tasks: u32,
}

/// The keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    file_size: Option<U<SizeRange>>,
    line_size: Option<U<SizeRange>>,
    retain: Option<u64>,
    open_tasks: Option<u64>,
}

const DEFAULT_LINE_SIZE: SizeRange = SizeRange { min: 120, max: 400 };
const DEFAULT_FILE_SIZE: SizeRange = SizeRange {
    min: 100 * KIB,
    max: 300 * KIB,
};
const DEFAULT_RETAIN: u64 = 10;

/// Most task logs one thread keeps open (each is a file descriptor; the
/// run raises the soft RLIMIT_NOFILE as far as needed).
const MAX_OPEN_TASKS: u64 = 10_000;

impl Kind for LogAppend {
    const KIND: WorkloadKind = WorkloadKind::LogAppend;
    const WRITES: Writes = Writes {
        sync: Some((SyncPolicy::Never, SyncCall::Fsync)),
        end_syncfs: true,
        fsync_dir: true,
        o_direct: false,
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
        Op::Unlink,
        Op::Line,
        Op::Task,
        Op::LineService,
    ];
    type Raw = Raw;

    fn check(raw: Raw, cx: &mut Ctx, at: &At) -> LogAppend {
        let line_size = size_or(raw.line_size, DEFAULT_LINE_SIZE);
        min_record(cx, at, "line_size", line_size);
        let file_size = size_or(raw.file_size, DEFAULT_FILE_SIZE);
        if file_size.min < line_size.max {
            cx.err(
                &at.key("file_size"),
                format!(
                    "must be at least the largest line ({}), or a task's log could not hold one line",
                    format_size(line_size.max)
                ),
            );
        }
        let open_tasks = match raw.open_tasks {
            None => 1,
            Some(n @ 1..=MAX_OPEN_TASKS) => n as u32,
            Some(n) => {
                cx.err(
                    &at.key("open_tasks"),
                    format!(
                        "must be between 1 and {MAX_OPEN_TASKS} task logs open per thread, not {n}"
                    ),
                );
                1
            }
        };
        LogAppend {
            line_size,
            file_size,
            retain: raw.retain.unwrap_or(DEFAULT_RETAIN),
            open_tasks,
        }
    }
}

impl Params for LogAppend {
    /// Each thread keeps `retain` finished logs and `open_tasks` open ones.
    fn most_written(&self, cell: &CellShape) -> Option<Written> {
        let per_thread = self
            .retain
            .saturating_add(u64::from(self.open_tasks))
            .saturating_add(1);
        Some(Written::files(
            cell.threads.saturating_mul(per_thread),
            self.file_size.max,
        ))
    }

    fn open_files_per_thread(&self) -> u64 {
        u64::from(self.open_tasks) + 2
    }

    fn record(&self) -> Vec<(&'static str, String)> {
        vec![
            ("line_size", self.line_size.to_string()),
            ("file_size", self.file_size.to_string()),
            ("retain", self.retain.to_string()),
            ("open_tasks", self.open_tasks.to_string()),
        ]
    }

    fn writes_data(&self) -> bool {
        true
    }

    fn op_sizes(&self) -> Vec<(String, SizeRange)> {
        vec![("line_size".into(), self.line_size)]
    }
}

impl From<LogAppend> for WorkloadParams {
    fn from(p: LogAppend) -> Self {
        WorkloadParams::LogAppend(p)
    }
}
