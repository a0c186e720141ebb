//! `faults:` entries: what each kind needs and which targets it may act on.

use super::{key_for_kind, At, Ctx};
use crate::scenario::diag::{self};
use crate::scenario::raw::*;
use crate::scenario::spec::*;
use crate::scenario::units::{format_duration, format_duration_exact, format_size};
use crate::scenario::yaml::{self, Node};

/// (full name, written name) of every target and workload.
pub(super) struct Names<'a> {
    pub(super) targets: Vec<(&'a str, &'a str)>,
    pub(super) workloads: Vec<(&'a str, &'a str)>,
}

pub(super) fn fault_name(kind: FaultKind) -> &'static str {
    kind.as_str()
}

/// A glob that must select something (by full or written name); the
/// error lists what exists.
pub(super) fn check_glob(cx: &mut Ctx, key: &str, glob: &str, what: &str, names: &[(&str, &str)]) {
    if names.iter().any(|(full, base)| selects(glob, full, base)) {
        return;
    }
    let full: Vec<&str> = names.iter().map(|(f, _)| *f).collect();
    let hint = match diag::suggest(glob, &full) {
        Some(s) => format!("did you mean `{s}`? "),
        None => String::new(),
    };
    let list = match full.len() {
        0 => "(none)".to_string(),
        n if n <= MAX_LISTED => full.join(", "),
        n => format!(
            "{} … and {} more",
            full[..MAX_LISTED].join(", "),
            n - MAX_LISTED
        ),
    };
    cx.err(
        key,
        format!(
            "`{}` matches no {what}; {hint}{what}s are: {list}",
            diag::abbreviate(glob, 100)
        ),
    );
}

/// Names listed in one message at most (a `vary` may make a thousand).
const MAX_LISTED: usize = 20;

const FAULT_COMMON: &[&str] = &["kind", "target", "workload"];

const FAULT_KEYS: &[(&str, &[&str])] = &[
    ("at", &["crash"]),
    ("after_ops", &["crash"]),
    ("trials", &["crash"]),
    ("profile", &["throttle"]),
    ("write_iops", &["throttle"]),
    ("write_bps", &["throttle", "noisy_neighbor"]),
    ("read_iops", &["throttle"]),
    ("read_bps", &["throttle"]),
    ("fsync_every", &["noisy_neighbor"]),
    ("pattern", &["noisy_neighbor"]),
    ("file_size", &["noisy_neighbor"]),
    ("resource", &["enospc"]),
    ("on_error", &["enospc", "eio"]),
    ("fill", &["enospc"]),
    ("headroom", &["enospc"]),
    ("headroom_files", &["enospc"]),
    ("after", &["eio"]),
];

/// What a fault that acts on a block device finds under a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Device {
    /// A loop device wpbench attached (ext4, xfs, an overlay on either).
    Loop,
    /// No device at all (tmpfs, an overlay on a tmpfs upper).
    None,
    /// The host's own disk (hostpath).
    Host,
}

pub(super) fn device_of(t: &TargetSpec) -> Device {
    match t.kind {
        TargetKind::Ext4 | TargetKind::Xfs => Device::Loop,
        TargetKind::Tmpfs => Device::None,
        TargetKind::Hostpath => Device::Host,
        TargetKind::Overlay => match t.upper.as_deref().map(|u| u.kind) {
            Some(TargetKind::Ext4 | TargetKind::Xfs) => Device::Loop,
            _ => Device::None,
        },
    }
}

/// throttle, noisy_neighbor and eio act on the target's block device: the
/// glob must select at least one target that has one, and a throttle or an
/// eio never selects a hostpath (wpbench must not throttle or break the
/// host's own disk).
fn check_device_targets(
    cx: &mut Ctx,
    at: &At,
    kind: FaultKind,
    glob: &str,
    targets: &[TargetSpec],
) {
    let selected: Vec<&TargetSpec> = targets.iter().filter(|t| t.selected_by(glob)).collect();
    if selected.is_empty() {
        return; // check_glob said so
    }
    let what = fault_name(kind);
    if matches!(kind, FaultKind::Throttle | FaultKind::Eio) {
        for t in selected.iter().filter(|t| device_of(t) == Device::Host) {
            cx.err(
                &at.key("target"),
                format!(
                    "`{glob}` selects hostpath target `{}`, which {} cannot hit: \
                     wpbench never {} the host's own disk; narrow `target` \
                     (a noisy_neighbor may share a hostpath's disk)",
                    t.name,
                    if kind == FaultKind::Eio {
                        "an eio fault"
                    } else {
                        "a throttle"
                    },
                    if kind == FaultKind::Eio {
                        "fails"
                    } else {
                        "throttles"
                    },
                ),
            );
        }
    }
    if selected.iter().all(|t| device_of(t) == Device::None) {
        let names: Vec<&str> = selected.iter().map(|t| t.name.as_str()).collect();
        cx.err(
            &at.key("target"),
            format!(
                "`{glob}` selects only {} ({}): tmpfs has no device, so a {what} \
                 fault has nothing to act on; select an ext4 or xfs target, or an overlay on one",
                if names.len() == 1 {
                    "a target without a block device"
                } else {
                    "targets without a block device"
                },
                names.join(", ")
            ),
        );
    }
}

/// A positive count or rate; 0 would mean "no limit" to the kernel.
fn positive(cx: &mut Ctx, at: &At, key: &str, v: Option<u64>) -> Option<u64> {
    match v {
        Some(0) => {
            cx.err(
                &at.key(key),
                "must be at least 1 (leave the key out for no limit)",
            );
            None
        }
        v => v,
    }
}

fn check_throttle(cx: &mut Ctx, at: &At, raw: &RawFault) -> ThrottleSpec {
    let profile = raw.profile.as_deref().and_then(|p| {
        if crate::scenario::profiles::profile(p).is_some() {
            Some(p.to_string())
        } else {
            let names = crate::scenario::profiles::profile_names();
            cx.err(&at.key("profile"), diag::unknown("profile", p, &names));
            None
        }
    });
    let spec = ThrottleSpec {
        profile,
        write_iops: positive(cx, at, "write_iops", raw.write_iops),
        write_bps: positive(cx, at, "write_bps", raw.write_bps.map(|U(r)| r.0)),
        read_iops: positive(cx, at, "read_iops", raw.read_iops),
        read_bps: positive(cx, at, "read_bps", raw.read_bps.map(|U(r)| r.0)),
    };
    let any_key = raw.profile.is_some()
        || raw.write_iops.is_some()
        || raw.write_bps.is_some()
        || raw.read_iops.is_some()
        || raw.read_bps.is_some();
    if !any_key {
        cx.err(
            &at.key("kind"),
            format!(
                "a throttle needs at least one limit (write_iops, write_bps, read_iops, read_bps) \
                 or a `profile` ({})",
                crate::scenario::profiles::profile_names().join(", ")
            ),
        );
    }
    spec
}

fn check_noisy(cx: &mut Ctx, at: &At, raw: &RawFault) -> NoisySpec {
    let write_bps = match raw.write_bps {
        None => {
            cx.err(
                &at.key("kind"),
                "a noisy_neighbor needs `write_bps`, the rate it writes at (e.g. `50MiB/s`)",
            );
            1
        }
        Some(U(r)) => positive(cx, at, "write_bps", Some(r.0)).unwrap_or(1),
    };
    let fsync_every = match raw.fsync_every {
        Some(U(Size(0))) => {
            cx.err(
                &at.key("fsync_every"),
                "must be at least 1B (leave it out to never fsync)",
            );
            None
        }
        v => v.map(|U(s)| s.0),
    };
    let file_size = match raw.file_size {
        None => NoisySpec::DEFAULT_FILE_SIZE,
        Some(U(Size(n))) if n < NoisySpec::BLOCK as u64 => {
            cx.err(
                &at.key("file_size"),
                format!(
                    "must be at least {} (one block), not {}",
                    format_size(NoisySpec::BLOCK as u64),
                    format_size(n)
                ),
            );
            NoisySpec::DEFAULT_FILE_SIZE
        }
        Some(U(Size(n))) => n,
    };
    NoisySpec {
        write_bps,
        fsync_every,
        pattern: raw.pattern.unwrap_or_default(),
        file_size,
    }
}

pub(super) fn fault_entry(
    cx: &mut Ctx,
    i: usize,
    node: &Node,
    names: &Names,
    targets: &[TargetSpec],
    stop: Stop,
) -> Option<FaultSpec> {
    let at = At::new(format!("faults[{i}]"));
    if !yaml::is_mapping(node) {
        cx.err(
            &at.base,
            format!(
                "a fault is a mapping with `kind` and its keys; found {}",
                yaml::describe(node)
            ),
        );
        return None;
    }
    let raw: RawFault = match yaml::from_node(node) {
        Ok(r) => r,
        Err(e) => {
            cx.de_err(&at, e);
            return None;
        }
    };
    let Some(kind) = raw.kind else {
        cx.err(
            &at.key("kind"),
            "missing required key `kind` (crash, enospc, eio, throttle or noisy_neighbor)",
        );
        return None;
    };
    let kind = match kind {
        RawFaultKind::Crash => FaultKind::Crash,
        RawFaultKind::Enospc => FaultKind::Enospc,
        RawFaultKind::Eio => FaultKind::Eio,
        RawFaultKind::Throttle => FaultKind::Throttle,
        RawFaultKind::NoisyNeighbor => FaultKind::NoisyNeighbor,
    };
    for k in raw.kind_keys() {
        if let Err(m) = key_for_kind(k, fault_name(kind), "faults", FAULT_COMMON, FAULT_KEYS) {
            cx.err(&at.key(k), m);
        }
    }
    let target = raw.target.clone().unwrap_or_else(|| "*".into());
    let workload = raw.workload.clone().unwrap_or_else(|| "*".into());
    check_glob(cx, &at.key("target"), &target, "target", &names.targets);
    check_glob(
        cx,
        &at.key("workload"),
        &workload,
        "workload",
        &names.workloads,
    );

    let at_range = raw.at.map(|U(r)| r);
    let trials = match raw.trials {
        None => 1,
        Some(t) if t >= 1 && t <= u64::from(u32::MAX) => t as u32,
        Some(t) => {
            cx.err(&at.key("trials"), format!("must be at least 1, not {t}"));
            1
        }
    };
    if kind == FaultKind::Crash {
        check_crash(cx, &at, &raw, stop, &target, targets);
    }
    let (throttle, noisy) = match kind {
        FaultKind::Throttle => (Some(check_throttle(cx, &at, &raw)), None),
        FaultKind::NoisyNeighbor => (None, Some(check_noisy(cx, &at, &raw))),
        _ => (None, None),
    };
    if matches!(
        kind,
        FaultKind::Throttle | FaultKind::NoisyNeighbor | FaultKind::Eio
    ) {
        check_device_targets(cx, &at, kind, &target, targets);
    }
    let eio = (kind == FaultKind::Eio).then(|| check_eio(cx, &at, &raw));
    let enospc = (kind == FaultKind::Enospc).then(|| check_enospc(cx, &at, &raw, &target, targets));
    Some(FaultSpec {
        kind,
        target,
        workload,
        at: at_range,
        after_ops: raw.after_ops,
        trials,
        throttle,
        noisy,
        enospc,
        eio,
    })
}

/// A crash: a moment (`at` or `after_ops`) inside the measured phase,
/// and no hostpath target.
fn check_crash(
    cx: &mut Ctx,
    at: &At,
    raw: &RawFault,
    stop: Stop,
    target: &str,
    targets: &[TargetSpec],
) {
    let at_range = raw.at.map(|U(r)| r);
    match (at_range, raw.after_ops) {
        (Some(_), Some(_)) => cx.err(
            &at.key("after_ops"),
            "give either `at` or `after_ops`, not both",
        ),
        (None, None) => cx.err(
            &at.key("at"),
            "a crash needs a moment: `at: 1s..3s` (drawn with the seed) or `after_ops: N`",
        ),
        _ => {}
    }
    if let (Some(r), Stop::Duration(d)) = (at_range, stop) {
        if r.max >= d && cx.overrides.duration.is_some() {
            cx.err(
                "duration",
                format!(
                    "the measured phase ends before the crash of `{}` can fire (its `at` \
                     reaches {}); give a longer --duration",
                    at.base,
                    format_duration_exact(r.max)
                ),
            );
        } else if r.max >= d {
            cx.err(
                &at.key("at"),
                format!(
                    "the crash must fire before the cell ends: `at` reaches {} but `duration` is {}",
                    format_duration(r.max),
                    format_duration(d)
                ),
            );
        }
    }
    for t in targets.iter().filter(|t| t.selected_by(target)) {
        if t.kind == TargetKind::Hostpath {
            cx.err(
                &at.key("target"),
                format!(
                    "`{target}` selects hostpath target `{}`, which a crash cannot hit: \
                     wpbench never shuts down a filesystem it did not create; narrow `target`",
                    t.name
                ),
            );
        }
    }
}

/// An eio fault: how much backing the thin volume may still allocate.
fn check_eio(cx: &mut Ctx, at: &At, raw: &RawFault) -> EioSpec {
    let after = match raw.after {
        Some(U(Size(0))) => {
            cx.err(
                &at.key("after"),
                "must be larger than 0B: the workload's first write would fail before \
                 anything is measured",
            );
            0
        }
        Some(U(Size(s))) => s,
        None => {
            cx.err(
                &at.key("kind"),
                "an eio fault needs `after: SIZE`: how much more backing the thin volume \
                 may allocate before its writes fail (e.g. `after: 64MiB`)",
            );
            0
        }
    };
    EioSpec {
        after,
        on_error: raw.on_error.unwrap_or(OnError::Continue),
    }
}

/// An enospc fault: the resource that runs out, its headroom, and no
/// hostpath target.
fn check_enospc(
    cx: &mut Ctx,
    at: &At,
    raw: &RawFault,
    target: &str,
    targets: &[TargetSpec],
) -> EnospcSpec {
    let resource = raw.resource.unwrap_or(Resource::Blocks);
    if resource == Resource::Blocks && raw.headroom_files.is_some() {
        cx.err(
            &at.key("headroom_files"),
            "is for `resource: inodes`; use `headroom: SIZE` for blocks",
        );
    }
    if resource == Resource::Inodes && raw.headroom.is_some() {
        cx.err(
            &at.key("headroom"),
            "is for `resource: blocks`; use `headroom_files: N` for inodes",
        );
    }
    for t in targets.iter().filter(|t| t.selected_by(target)) {
        if t.kind == TargetKind::Hostpath {
            cx.err(
                &at.key("target"),
                format!(
                    "`{target}` selects hostpath target `{}`: wpbench never fills the host's \
                     own filesystem; narrow `target`",
                    t.name
                ),
            );
        }
    }
    EnospcSpec {
        resource,
        on_error: raw.on_error.unwrap_or(OnError::Continue),
        fill: raw.fill.unwrap_or(true),
        headroom: raw.headroom.map_or(4 << 20, |U(Size(s))| s),
        headroom_files: raw.headroom_files.unwrap_or(200),
    }
}
