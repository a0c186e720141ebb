//! `workloads:` entries: the keys every kind has (name, threads, pacing,
//! the writing settings) and the kind's own, which its file in
//! `scenario/workloads/` reads and checks.
//!
//! An entry is read key by key in file order, each with the type of the
//! struct that has it (this one's, or the first kind's that does), so that
//! the first key that cannot be read is the one reported, as a single
//! serde struct of every key would; a key of another kind is then reported
//! as such, with the kinds it belongs to.

use super::entry::{in_key_order, merged_keys, KeyOwner, Written};
use super::names::written_name;
use super::vary::{entries_of, expanded_name, VaryEntry};
use super::{and_list, At, Ctx, GIB, KIB};
use crate::scenario::diag;
use crate::scenario::raw::*;
use crate::scenario::spec::*;
use crate::scenario::units::{format_size, SizeRange};
use crate::scenario::workloads::{Writes, KINDS};
use crate::scenario::yaml::{self, DeError, Node};

/// The order in which messages list a workload entry's keys: the order
/// wpbench has always listed them in, which no one struct's fields give
/// now that each kind has its own. Only the order: which keys exist is
/// the structs'. A key missing here is listed after these.
const KEY_ORDER: &[&str] = &[
    "name",
    "kind",
    "threads",
    "rate",
    "fsync",
    "sync_call",
    "fsync_dir",
    "file_size",
    "files_per_dir",
    "record_size",
    "line_size",
    "retain",
    "open_tasks",
    "files",
    "action",
    "o_direct",
    "think_time",
    "payload",
    "mix",
    "steps",
    "vary",
];

/// The keys every kind has (`name`, `threads` …: [`RawWorkload`]'s that
/// are not writing keys), in its order.
fn common_keys() -> impl Iterator<Item = &'static str> {
    fields_of::<RawWorkload>()
        .iter()
        .copied()
        .filter(|k| Writes::NOTHING.takes(k).is_none())
}

/// Every key some workload entry may have.
fn all_keys() -> Vec<&'static str> {
    in_key_order(
        merged_keys(
            fields_of::<RawWorkload>(),
            KINDS.iter().map(|e| (e.fields)()),
        ),
        KEY_ORDER,
    )
}

/// Whether a workload of `kind` takes `key`.
fn takes(kind: WorkloadKind, key: &str) -> bool {
    let e = kind.entry();
    match e.writes.takes(key) {
        Some(taken) => taken,
        None => common_keys().any(|k| k == key) || (e.fields)().contains(&key),
    }
}

/// Whether `key` is a key of a `kind` workload; the error names the kinds
/// that do have it, or the keys it has.
fn key_for_kind(kind: WorkloadKind, key: &str) -> Result<(), String> {
    if takes(kind, key) {
        return Ok(());
    }
    let owners: Vec<&str> = KINDS
        .iter()
        .filter(|e| takes(e.kind, key))
        .map(|e| e.kind.as_str())
        .collect();
    if !owners.is_empty() {
        return Err(format!(
            "`{key}` is not a key of {} workloads; it belongs to {}",
            kind.as_str(),
            and_list(&owners)
        ));
    }
    let e = kind.entry();
    let own: Vec<&str> = fields_of::<RawWorkload>()
        .iter()
        .copied()
        .filter(|k| e.writes.takes(k) == Some(true))
        .chain((e.fields)().iter().copied())
        .collect();
    let valid: Vec<&str> = common_keys().chain(in_key_order(own, KEY_ORDER)).collect();
    Err(diag::unknown("key", key, &valid))
}

/// A workload entry as written.
pub(super) type WrittenWorkload = Written<RawWorkload>;

impl VaryEntry for WrittenWorkload {
    const WHAT: &'static str = "workload";

    fn parse(node: &Node) -> Result<Self, DeError> {
        let owners = KINDS.iter().map(|e| KeyOwner {
            fields: e.fields,
            parse: e.parse,
        });
        Written::read(node, owners, all_keys)
    }

    fn vary(&self) -> Option<&Node> {
        self.common.vary.as_ref()
    }
}

pub(super) fn workload_entry(cx: &mut Ctx, i: usize, node: &Node) -> Vec<(WorkloadSpec, At)> {
    let at = At::new(format!("workloads[{i}]"));
    let kind: Option<WorkloadKind> = yaml::get(node, "kind").and_then(|k| yaml::from_node(k).ok());
    let allowed = |k: &str| match kind {
        Some(kind) => key_for_kind(kind, k),
        None => Ok(()),
    };
    let mut base_checked = false;
    entries_of(
        cx,
        &at,
        node,
        &allowed,
        false,
        |cx, w: &WrittenWorkload, at, _, label| {
            let base_name = if base_checked {
                w.common.name.clone().unwrap_or_default()
            } else {
                base_checked = true;
                let n = written_name(cx, at, w.common.name.as_deref());
                if w.common.kind.is_none() {
                    cx.err(
                        &at.key("kind"),
                        "missing required key `kind` (small_files, fsync_heavy, log_append, read_atime, \
                         copy_up, metadata, sequence or exec)",
                    );
                }
                n
            };
            check_workload(cx, w, at, &base_name, label)
        },
    )
    .into_iter()
    .filter_map(|(w, p)| w.map(|w| (w, p)))
    .collect()
}

fn check_workload(
    cx: &mut Ctx,
    w: &WrittenWorkload,
    at: &At,
    base_name: &str,
    label: Option<&str>,
) -> Option<WorkloadSpec> {
    let raw = &w.common;
    let kind = raw.kind?;
    for k in &w.keys {
        if let Err(m) = key_for_kind(kind, k) {
            cx.err(&at.key(k), m);
        }
    }
    let writes = kind.writes();
    let threads = check_threads(cx, at, raw.threads);
    let rate = check_rate(cx, at, raw.rate);
    let (fsync, sync_call) = check_sync(cx, at, raw, writes.sync_defaults());
    let fsync_dir = writes.fsync_dir && raw.fsync_dir.unwrap_or(false);
    let entry = kind.entry();
    let params = (entry.check)(&w.own((entry.fields)()), cx, at)?;
    let think_time = check_think_time(cx, at, raw.think_time, rate);
    let o_direct = writes.o_direct && raw.o_direct.unwrap_or(false);
    if o_direct {
        check_direct_sizes(cx, at, &params);
    }
    check_buffer_sizes(cx, at, &params);
    let payload = check_payload(cx, at, raw.payload);
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

fn check_threads(cx: &mut Ctx, at: &At, threads: Option<u64>) -> u32 {
    match threads {
        None => 1,
        Some(t @ 1..=1024) => t as u32,
        Some(t) => {
            cx.err(
                &at.key("threads"),
                format!("must be between 1 and 1024, not {t}"),
            );
            1
        }
    }
}

/// An open loop's rate per thread, which the pacing can schedule.
fn check_rate(cx: &mut Ctx, at: &At, rate: Option<U<Rate>>) -> Option<f64> {
    let rate = rate.map(|U(Rate(r))| r);
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
    rate
}

/// `fsync` and `sync_call`, or the kind's `defaults` for them. Checked
/// whatever the kind (a kind without them has had them reported).
fn check_sync(
    cx: &mut Ctx,
    at: &At,
    raw: &RawWorkload,
    defaults: (SyncPolicy, SyncCall),
) -> (SyncPolicy, SyncCall) {
    let fsync = match raw.fsync {
        None => defaults.0,
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
        None => defaults.1,
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
    (fsync, sync_call)
}

/// A closed loop's pause between unit ops: not with a `rate`, not 0s.
fn check_think_time(
    cx: &mut Ctx,
    at: &At,
    think_time: Option<U<std::time::Duration>>,
    rate: Option<f64>,
) -> Option<std::time::Duration> {
    let think_time = think_time.map(|U(d)| d);
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
    think_time
}

fn check_payload(cx: &mut Ctx, at: &At, payload: Option<RawPayload>) -> PayloadKind {
    match payload {
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
    }
}

/// Largest file, record, line or step a workload writes or reads: each is
/// one buffer in memory, so a typo such as `4GiB` for `4KiB` would eat the
/// node's memory one thread at a time.
const MAX_BUFFER: u64 = GIB;

fn check_buffer_sizes(cx: &mut Ctx, at: &At, params: &WorkloadParams) {
    for (key, r) in params.op_sizes() {
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
    let aligned =
        |r: &SizeRange| r.min.is_multiple_of(DIRECT_BLOCK) && r.max.is_multiple_of(DIRECT_BLOCK);
    for (key, r) in params.direct_sizes() {
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
