//! `workloads:` entries: threads, pacing, sync policy and each kind's
//! parameters.

use super::lists::{check_mix, check_steps};
use super::names::written_name;
use super::vary::{entries_of, expanded_name};
use super::{key_for_kind, At, Ctx, GIB, KIB, MIB, MIN_RECORD};
use crate::scenario::raw::*;
use crate::scenario::spec::*;
use crate::scenario::units::{format_size, SizeRange};
use crate::scenario::yaml::{self, Node};

/// Most task logs one log_append thread keeps open (each is a file
/// descriptor; the run raises the soft RLIMIT_NOFILE as far as needed).
const MAX_OPEN_TASKS: u64 = 10_000;

const WORKLOAD_COMMON: &[&str] = &["name", "kind", "threads", "rate", "think_time", "vary"];

const WRITERS: &[&str] = &["small_files", "fsync_heavy", "log_append"];

const WORKLOAD_KEYS: &[(&str, &[&str])] = &[
    ("fsync", WRITERS),
    ("sync_call", WRITERS),
    (
        "fsync_dir",
        &["small_files", "log_append", "metadata", "sequence"],
    ),
    (
        "file_size",
        &[
            "small_files",
            "fsync_heavy",
            "log_append",
            "read_atime",
            "copy_up",
            "metadata",
            "sequence",
        ],
    ),
    ("files", &["read_atime", "copy_up", "metadata", "sequence"]),
    ("action", &["copy_up"]),
    ("files_per_dir", &["small_files"]),
    ("record_size", &["fsync_heavy"]),
    ("line_size", &["log_append"]),
    ("retain", &["log_append"]),
    ("open_tasks", &["log_append"]),
    ("o_direct", &["small_files", "fsync_heavy", "sequence"]),
    (
        "payload",
        &[
            "small_files",
            "fsync_heavy",
            "log_append",
            "metadata",
            "sequence",
        ],
    ),
    ("mix", &["metadata"]),
    ("steps", &["sequence"]),
];

pub(super) fn workload_entry(cx: &mut Ctx, i: usize, node: &Node) -> Vec<(WorkloadSpec, At)> {
    let at = At::new(format!("workloads[{i}]"));
    let kind: Option<WorkloadKind> = yaml::get(node, "kind").and_then(|k| yaml::from_node(k).ok());
    let allowed = |k: &str| match kind {
        Some(kind) => key_for_kind(
            k,
            kind.as_str(),
            "workloads",
            WORKLOAD_COMMON,
            WORKLOAD_KEYS,
        ),
        None => Ok(()),
    };
    let mut base_checked = false;
    entries_of(
        cx,
        &at,
        node,
        &allowed,
        false,
        |cx, raw: &RawWorkload, at, _, label| {
            let base_name = if base_checked {
                raw.name.clone().unwrap_or_default()
            } else {
                base_checked = true;
                let n = written_name(cx, at, raw.name.as_deref());
                if raw.kind.is_none() {
                    cx.err(
                        &at.key("kind"),
                        "missing required key `kind` (small_files, fsync_heavy, log_append, read_atime, \
                         copy_up, metadata or sequence)",
                    );
                }
                n
            };
            check_workload(cx, raw, at, &base_name, label)
        },
    )
    .into_iter()
    .filter_map(|(w, p)| w.map(|w| (w, p)))
    .collect()
}

fn check_workload(
    cx: &mut Ctx,
    raw: &RawWorkload,
    at: &At,
    base_name: &str,
    label: Option<&str>,
) -> Option<WorkloadSpec> {
    let kind = raw.kind?;
    for k in raw.kind_keys() {
        if let Err(m) = key_for_kind(
            k,
            kind.as_str(),
            "workloads",
            WORKLOAD_COMMON,
            WORKLOAD_KEYS,
        ) {
            cx.err(&at.key(k), m);
        }
    }
    let threads = match raw.threads {
        None => 1,
        Some(t @ 1..=1024) => t as u32,
        Some(t) => {
            cx.err(
                &at.key("threads"),
                format!("must be between 1 and 1024, not {t}"),
            );
            1
        }
    };
    let rate = raw.rate.map(|U(Rate(r))| r);
    if let Some(r) = rate {
        if !(r.is_finite() && r > 0.0) {
            cx.err(
                &at.key("rate"),
                "must be more than 0/s; leave `rate` out for a closed loop",
            );
        } else if 1.0 / r > u64::MAX as f64 / 1e9 {
            // The pacing interval is a Duration of nanoseconds.
            cx.err(
                &at.key("rate"),
                "is too low: one op in more than 584 years, the longest interval wpbench \
                 can schedule; leave `rate` out for a closed loop",
            );
        }
    }
    let heavy = kind == WorkloadKind::FsyncHeavy;
    let fsync = match raw.fsync {
        None if heavy => SyncPolicy::Always,
        None => SyncPolicy::Never,
        Some(RawFsync::Always) => SyncPolicy::Always,
        Some(RawFsync::Never) => SyncPolicy::Never,
        Some(RawFsync::End) => SyncPolicy::End,
        Some(RawFsync::OnClose) => SyncPolicy::OnClose,
        Some(RawFsync::Every(n)) => {
            if n == 0 {
                cx.err(&at.key("fsync.every"), "must be at least 1");
            }
            SyncPolicy::Every(n.max(1))
        }
        Some(RawFsync::EveryBytes(b)) => {
            if b == 0 {
                cx.err(
                    &at.key("fsync.every_bytes"),
                    "must be larger than 0B; for a sync after every write use `fsync: always`",
                );
            }
            SyncPolicy::EveryBytes(b.max(1))
        }
        Some(RawFsync::Interval(d)) => {
            if d.is_zero() {
                cx.err(
                    &at.key("fsync.interval"),
                    "must be longer than 0s; for a sync after every write use `fsync: always`",
                );
            }
            SyncPolicy::Interval(d)
        }
    };
    let sync_call = match raw.sync_call {
        None if heavy => SyncCall::Fdatasync,
        None => SyncCall::Fsync,
        Some(RawSyncCall::Fsync) => SyncCall::Fsync,
        Some(RawSyncCall::Fdatasync) => SyncCall::Fdatasync,
        Some(RawSyncCall::SyncFileRange) => SyncCall::SyncFileRange,
        Some(RawSyncCall::ODsync) => SyncCall::ODsync,
        Some(RawSyncCall::OSync) => SyncCall::OSync,
        Some(RawSyncCall::Syncfs) => SyncCall::Syncfs,
    };
    if sync_call.is_open_flag() && fsync != SyncPolicy::Always {
        cx.err(
            &at.key("sync_call"),
            format!(
                "`{}` is an open flag that makes every write synchronous, so it needs \
                 `fsync: always`; to sync less often use fsync or fdatasync",
                sync_call.as_str()
            ),
        );
    }
    let fsync_dir = !heavy && raw.fsync_dir.unwrap_or(false);
    let size_or = |v: Option<U<SizeRange>>, d: SizeRange| v.map_or(d, |U(r)| r);
    let min_record = |cx: &mut Ctx, key: &str, r: SizeRange| {
        if r.min < MIN_RECORD {
            cx.err(
                &at.key(key),
                format!(
                    "must be at least {MIN_RECORD}B: each one carries a header that \
                     the durability check reads back"
                ),
            );
        }
    };
    let params = match kind {
        WorkloadKind::SmallFiles => WorkloadParams::SmallFiles {
            file_size: size_or(raw.file_size, SizeRange::fixed(4 * KIB)),
            files_per_dir: match raw.files_per_dir {
                Some(0) => {
                    cx.err(&at.key("files_per_dir"), "must be at least 1");
                    1
                }
                Some(n) => n,
                None => 1000,
            },
        },
        WorkloadKind::FsyncHeavy => {
            let record_size = size_or(raw.record_size, SizeRange::fixed(4 * KIB));
            min_record(cx, "record_size", record_size);
            let file = size_or(raw.file_size, SizeRange::fixed(64 * MIB));
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
            WorkloadParams::FsyncHeavy {
                record_size,
                file_size: file.max,
            }
        }
        WorkloadKind::LogAppend => {
            let line_size = size_or(raw.line_size, SizeRange { min: 120, max: 400 });
            min_record(cx, "line_size", line_size);
            let file_size = size_or(
                raw.file_size,
                SizeRange {
                    min: 100 * KIB,
                    max: 300 * KIB,
                },
            );
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
            WorkloadParams::LogAppend {
                line_size,
                file_size,
                retain: raw.retain.unwrap_or(10),
                open_tasks,
            }
        }
        WorkloadKind::ReadAtime => WorkloadParams::ReadAtime {
            files: files_at_least_one(cx, at, raw.files, 1000),
            file_size: size_or(raw.file_size, SizeRange::fixed(4 * KIB)),
        },
        WorkloadKind::Metadata => WorkloadParams::Metadata {
            files: files_at_least_one(cx, at, raw.files, 1000),
            file_size: size_or(raw.file_size, SizeRange::fixed(0)),
            mix: check_mix(cx, at, raw.mix.as_ref()),
        },
        WorkloadKind::Sequence => {
            let files = raw.files.unwrap_or(100);
            let steps = check_steps(cx, at, raw.steps.as_deref(), files);
            WorkloadParams::Sequence {
                steps,
                files,
                file_size: size_or(raw.file_size, SizeRange::fixed(16 * KIB)),
            }
        }
        WorkloadKind::CopyUp => WorkloadParams::CopyUp {
            action: raw.action.unwrap_or(CopyUpAction::Chmod),
            files: files_at_least_one(cx, at, raw.files, 1000),
            file_size: size_or(raw.file_size, SizeRange::fixed(64 * KIB)),
        },
    };
    let think_time = raw.think_time.map(|U(d)| d);
    if let Some(t) = think_time {
        if rate.is_some() {
            cx.err(
                &at.key("think_time"),
                "`think_time` is a closed-loop pause between unit ops, and `rate` sets an \
                 open-loop schedule; give one or the other",
            );
        } else if t.is_zero() {
            cx.err(
                &at.key("think_time"),
                "must be longer than 0s; leave `think_time` out for no pause",
            );
        }
    }
    // `o_direct` on a kind without it was reported by `key_for_kind`.
    let o_direct = raw.o_direct.unwrap_or(false)
        && matches!(
            kind,
            WorkloadKind::SmallFiles | WorkloadKind::FsyncHeavy | WorkloadKind::Sequence
        );
    if o_direct {
        check_direct_sizes(cx, at, &params);
    }
    check_buffer_sizes(cx, at, &params);
    let payload = match raw.payload {
        None | Some(RawPayload::Random) => PayloadKind::Random,
        Some(RawPayload::Zeros) => PayloadKind::Zeros,
        Some(RawPayload::Compressible(f)) => {
            if !(0.0..=1.0).contains(&f) {
                cx.err(
                    &at.key("payload.compressible"),
                    "must be a fraction from 0 to 1 (or 0% to 100%) of each block that is zeros",
                );
            }
            PayloadKind::Compressible(f.clamp(0.0, 1.0))
        }
    };
    Some(WorkloadSpec {
        name: expanded_name(base_name, label),
        base_name: base_name.to_string(),
        kind,
        threads,
        rate,
        fsync,
        sync_call,
        fsync_dir,
        o_direct,
        think_time,
        payload,
        params,
    })
}

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

/// Largest file, record, line or step a workload writes or reads: each is
/// one buffer in memory, so a typo such as `4GiB` for `4KiB` would eat the
/// node's memory one thread at a time.
const MAX_BUFFER: u64 = GIB;

/// What one op writes or reads from one buffer, by key: the file of
/// small_files, the record of a WAL, a log line, a sequence's steps.
fn op_sizes(params: &WorkloadParams) -> Vec<(String, SizeRange)> {
    let mut sizes: Vec<(String, SizeRange)> = Vec::new();
    match params {
        WorkloadParams::SmallFiles { file_size, .. }
        | WorkloadParams::ReadAtime { file_size, .. }
        | WorkloadParams::Metadata { file_size, .. }
        | WorkloadParams::CopyUp { file_size, .. } => sizes.push(("file_size".into(), *file_size)),
        WorkloadParams::FsyncHeavy { record_size, .. } => {
            sizes.push(("record_size".into(), *record_size))
        }
        WorkloadParams::LogAppend { line_size, .. } => sizes.push(("line_size".into(), *line_size)),
        WorkloadParams::Sequence {
            steps, file_size, ..
        } => {
            sizes.push(("file_size".into(), *file_size));
            for (j, step) in steps.iter().enumerate() {
                match step {
                    SeqStep::Write(r) => sizes.push((format!("steps[{j}].write"), *r)),
                    SeqStep::Append(r) => sizes.push((format!("steps[{j}].append"), *r)),
                    _ => {}
                }
            }
        }
    }
    sizes
}

fn check_buffer_sizes(cx: &mut Ctx, at: &At, params: &WorkloadParams) {
    for (key, r) in op_sizes(params) {
        if r.max > MAX_BUFFER {
            cx.err(
                &at.key(&key),
                format!(
                    "`{r}` is over {}: each one is written or read from one buffer in memory, per thread; use a size up to {}",
                    format_size(MAX_BUFFER),
                    format_size(MAX_BUFFER)
                ),
            );
        }
    }
}

/// O_DIRECT writes whole blocks from aligned buffers at aligned offsets.
const DIRECT_BLOCK: u64 = 4 * KIB;

/// For the kinds that take `o_direct` (small_files, fsync_heavy, sequence).
fn check_direct_sizes(cx: &mut Ctx, at: &At, params: &WorkloadParams) {
    let aligned = |r: &SizeRange| r.min % DIRECT_BLOCK == 0 && r.max % DIRECT_BLOCK == 0;
    let mut sizes = op_sizes(params);
    if let WorkloadParams::FsyncHeavy { file_size, .. } = params {
        // The preallocated log is written with O_DIRECT too.
        sizes.push(("file_size".into(), SizeRange::fixed(*file_size)));
    }
    for (key, r) in sizes {
        if !aligned(&r) || r.min == 0 {
            cx.err(
                &at.key(&key),
                format!(
                    "`{r}` with `o_direct: true`: O_DIRECT needs sizes in whole 4KiB blocks \
                     (4KiB, 8KiB, 4KiB..64KiB …)"
                ),
            );
        }
    }
}
