//! `faults:` entries: what each kind needs and which targets it may act on.

use super::entry::{merged_keys, KeyOwner, Written};
use super::{and_list, At, Ctx};
use crate::scenario::diag::{self};
use crate::scenario::faults::{moment_key, FaultCx, KINDS};
use crate::scenario::raw::*;
use crate::scenario::spec::*;
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

/// Every key a fault may have, in the order messages list them.
fn all_keys() -> Vec<&'static str> {
    merged_keys(fields_of::<RawFault>(), KINDS.iter().map(|e| (e.fields)()))
}

/// Whether a fault of `kind` takes `key`.
fn takes(kind: FaultKind, key: &str) -> bool {
    let e = kind.entry();
    if moment_key(key) {
        e.moment
    } else {
        fields_of::<RawFault>().contains(&key) || (e.fields)().contains(&key)
    }
}

/// Whether `key` (one a fault may have) is a key of a `kind` fault; the
/// error names the kinds that do have it.
fn key_for_kind(kind: FaultKind, key: &str) -> Result<(), String> {
    if takes(kind, key) {
        return Ok(());
    }
    let owners: Vec<&str> = KINDS
        .iter()
        .filter(|e| takes(e.kind, key))
        .map(|e| e.kind.as_str())
        .collect();
    Err(format!(
        "`{key}` is not a key of {} faults; it belongs to {}",
        kind.as_str(),
        and_list(&owners)
    ))
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
    let owners = KINDS.iter().map(|e| KeyOwner {
        fields: e.fields,
        parse: e.parse,
    });
    let written: Written<RawFault> = match Written::read(node, owners, all_keys) {
        Ok(w) => w,
        Err(e) => {
            cx.de_err(&at, e);
            return None;
        }
    };
    let raw = &written.common;
    let Some(kind) = raw.kind else {
        cx.err(
            &at.key("kind"),
            "missing required key `kind` (crash, power_loss, enospc, eio, throttle or noisy_neighbor)",
        );
        return None;
    };
    let kind = match kind {
        RawFaultKind::Crash => FaultKind::Crash,
        RawFaultKind::PowerLoss => FaultKind::PowerLoss,
        RawFaultKind::Enospc => FaultKind::Enospc,
        RawFaultKind::Eio => FaultKind::Eio,
        RawFaultKind::Throttle => FaultKind::Throttle,
        RawFaultKind::NoisyNeighbor => FaultKind::NoisyNeighbor,
    };
    for k in &written.keys {
        if let Err(m) = key_for_kind(kind, k) {
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
    let trials = match raw.trials {
        None => 1,
        Some(t) if t >= 1 && t <= u64::from(u32::MAX) => t as u32,
        Some(t) => {
            cx.err(&at.key("trials"), format!("must be at least 1, not {t}"));
            1
        }
    };
    let entry = kind.entry();
    let f = FaultCx {
        raw,
        target: &target,
        targets,
        stop,
    };
    let params = (entry.check)(&written.own((entry.fields)()), cx, &at, &f)?;
    debug_assert_eq!(params.kind(), kind);
    Some(FaultSpec {
        kind,
        at: raw.at.map(|U(r)| r),
        after_ops: raw.after_ops,
        target,
        workload,
        trials,
        params,
    })
}
