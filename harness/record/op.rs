//! The operations table: every syscall a workload makes and every unit op a
//! user thinks in, each with a stable name used in result.json, .hlog tags
//! and gate selectors.

use std::fmt;

macro_rules! ops {
    ($($variant:ident => $name:literal, $unit:literal;)*) => {
        /// One recorded operation. Syscalls are recorded under their own
        /// name; unit ops (`file`, `record`, `line`, `task`) span a whole
        /// user-level action; `*.service` variants are the service time of
        /// an open-loop unit op, whose main histogram holds response time
        /// measured from the intended start.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Op { $($variant,)* }

        impl Op {
            pub const ALL: &'static [Op] = &[$(Op::$variant,)*];
            pub const COUNT: usize = Op::ALL.len();

            pub fn name(self) -> &'static str {
                match self { $(Op::$variant => $name,)* }
            }

            /// True for the ops a user thinks in (throughput is counted in them).
            pub fn is_unit(self) -> bool {
                match self { $(Op::$variant => $unit,)* }
            }

            pub fn from_name(name: &str) -> Option<Op> {
                match name { $($name => Some(Op::$variant),)* _ => None }
            }
        }
    };
}

ops! {
    Create => "create", false;
    Open => "open", false;
    Write => "write", false;
    Fsync => "fsync", false;
    Fdatasync => "fdatasync", false;
    SyncFileRange => "sync_file_range", false;
    Syncfs => "syncfs", false;
    FsyncDir => "fsync_dir", false;
    Fallocate => "fallocate", false;
    Close => "close", false;
    Rename => "rename", false;
    RenameDir => "rename_dir", false;
    Unlink => "unlink", false;
    Chmod => "chmod", false;
    Chown => "chown", false;
    Utimes => "utimes", false;
    Truncate => "truncate", false;
    Read => "read", false;
    Stat => "stat", false;
    Mkdir => "mkdir", false;
    Rmdir => "rmdir", false;
    Link => "link", false;
    Symlink => "symlink", false;
    Lseek => "lseek", false;
    File => "file", true;
    Record => "record", true;
    Line => "line", true;
    Task => "task", true;
    ReadFile => "read_file", true;
    CopyUp => "copy_up", true;
    Meta => "meta", true;
    Sequence => "sequence", true;
    Replay => "replay", true;
    Exec => "exec", true;
    FileService => "file.service", false;
    RecordService => "record.service", false;
    LineService => "line.service", false;
    ReadFileService => "read_file.service", false;
    CopyUpService => "copy_up.service", false;
    MetaService => "meta.service", false;
    SequenceService => "sequence.service", false;
    ReplayService => "replay.service", false;
    ExecService => "exec.service", false;
}

impl Op {
    pub fn index(self) -> usize {
        self as usize
    }

    /// The service-time twin of an open-loop unit op.
    pub fn service(self) -> Option<Op> {
        match self {
            Op::File => Some(Op::FileService),
            Op::Record => Some(Op::RecordService),
            Op::Line => Some(Op::LineService),
            Op::ReadFile => Some(Op::ReadFileService),
            Op::CopyUp => Some(Op::CopyUpService),
            Op::Meta => Some(Op::MetaService),
            Op::Sequence => Some(Op::SequenceService),
            Op::Replay => Some(Op::ReplayService),
            Op::Exec => Some(Op::ExecService),
            _ => None,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The sync ops shown in the results table next to unit ops.
pub const SYNC_OPS: &[Op] = &[
    Op::Fsync,
    Op::Fdatasync,
    Op::SyncFileRange,
    Op::Syncfs,
    Op::FsyncDir,
];

/// True for the ops the results table shows.
pub fn is_summary_op(name: &str) -> bool {
    Op::from_name(name).is_some_and(|op| op.is_unit() || SYNC_OPS.contains(&op))
}

/// Sort key of an op name: unit ops first in Op table order, then the other
/// ops of the table in table order, then unknown names alphabetically.
pub fn op_order_key(name: &str) -> (u8, usize, &str) {
    match Op::from_name(name) {
        Some(op) if op.is_unit() => (0, op.index(), ""),
        Some(op) => (1, op.index(), ""),
        None => (2, 0, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for (i, op) in Op::ALL.iter().enumerate() {
            assert_eq!(op.index(), i);
            assert_eq!(Op::from_name(op.name()), Some(*op));
        }
        let mut names: Vec<_> = Op::ALL.iter().map(|o| o.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Op::COUNT);
    }
}
