//! Fault kinds: one file per kind, each holding the kind's parameters (the
//! typed struct the fault room receives in [`FaultSpec`]), the keys a
//! scenario writes them with (a serde struct), their defaults and checks.
//!
//! Adding a kind is a new file here, a variant in [`FaultKind`] and
//! [`FaultParams`] (and its reader on [`FaultSpec`]), and its line in
//! [`KINDS`].

mod crash;
mod eio;
mod enospc;
mod noisy_neighbor;
mod power_loss;
mod throttle;

use serde::de::DeserializeOwned;

pub use crash::Crash;
pub use eio::EioSpec;
pub use enospc::{EnospcSpec, Resource};
pub use noisy_neighbor::{NoisyPattern, NoisySpec};
pub use power_loss::PowerLoss;
pub use throttle::ThrottleSpec;

use super::check::{At, Ctx};
use super::raw::{fields_of, RawFault};
use super::spec::{FaultKind, Stop, TargetKind, TargetSpec};
use super::yaml::{self, Node};

/// The registry: every kind, in the order messages list their keys.
pub(super) const KINDS: &[KindEntry] = &[
    KindEntry::of::<Crash>(),
    KindEntry::of::<PowerLoss>(),
    KindEntry::of::<ThrottleSpec>(),
    KindEntry::of::<NoisySpec>(),
    KindEntry::of::<EnospcSpec>(),
    KindEntry::of::<EioSpec>(),
];

/// One kind's checked parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultParams {
    Crash(Crash),
    PowerLoss(PowerLoss),
    Throttle(ThrottleSpec),
    NoisyNeighbor(NoisySpec),
    Enospc(EnospcSpec),
    Eio(EioSpec),
}

impl FaultParams {
    pub fn kind(&self) -> FaultKind {
        match self {
            FaultParams::Crash(_) => FaultKind::Crash,
            FaultParams::PowerLoss(_) => FaultKind::PowerLoss,
            FaultParams::Throttle(_) => FaultKind::Throttle,
            FaultParams::NoisyNeighbor(_) => FaultKind::NoisyNeighbor,
            FaultParams::Enospc(_) => FaultKind::Enospc,
            FaultParams::Eio(_) => FaultKind::Eio,
        }
    }
}

/// What workers do when a write fails (enospc, eio).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Stop the thread at its first ENOSPC (enospc) or I/O error (eio).
    Stop,
    /// Count it and carry on (the default).
    Continue,
}

/// What a kind's check may look at beyond its own keys.
pub(super) struct FaultCx<'a> {
    /// The keys every fault has.
    pub raw: &'a RawFault,
    /// The `target` glob (`*` when left out).
    pub target: &'a str,
    pub targets: &'a [TargetSpec],
    pub stop: Stop,
}

impl FaultCx<'_> {
    /// The targets the fault's glob selects.
    fn selected(&self) -> impl Iterator<Item = &TargetSpec> {
        self.targets.iter().filter(|t| t.selected_by(self.target))
    }
}

/// `at`, `after_ops` and `trials`: kept on every [`FaultSpec`], and taken
/// by the kinds that fire at a moment (a crash).
pub(super) fn moment_key(key: &str) -> bool {
    matches!(key, "at" | "after_ops" | "trials")
}

/// What the loader needs of a kind: its file's answers, behind plain
/// functions so that kinds of different types sit in one list.
pub(super) struct KindEntry {
    pub kind: FaultKind,
    /// Whether it takes `at`, `after_ops` and `trials` ([`moment_key`]).
    pub moment: bool,
    /// The keys of its own (its raw struct's fields), in order.
    pub fields: fn() -> &'static [&'static str],
    /// Reads `node` (a mapping of its own keys) as its raw struct, for
    /// serde's error.
    pub parse: fn(&Node) -> Result<(), yaml::DeError>,
    /// Checks its own keys (`node`) and applies their defaults.
    pub check: fn(&Node, &mut Ctx, &At, &FaultCx) -> Option<FaultParams>,
}

impl KindEntry {
    const fn of<K: Kind>() -> KindEntry {
        KindEntry {
            kind: K::KIND,
            moment: K::MOMENT,
            fields: fields_of::<K::Raw>,
            parse: parse::<K>,
            check: check::<K>,
        }
    }
}

impl FaultKind {
    pub(super) fn entry(self) -> &'static KindEntry {
        KINDS
            .iter()
            .find(|e| e.kind == self)
            .expect("every kind is in the registry")
    }
}

fn parse<K: Kind>(node: &Node) -> Result<(), yaml::DeError> {
    yaml::from_node::<K::Raw>(node).map(|_| ())
}

fn check<K: Kind>(node: &Node, cx: &mut Ctx, at: &At, f: &FaultCx) -> Option<FaultParams> {
    match yaml::from_node::<K::Raw>(node) {
        Ok(raw) => Some(K::check(raw, cx, at, f).into()),
        Err(e) => {
            cx.de_err(at, e);
            None
        }
    }
}

/// A fault kind, as the loader reads it (each kind's file implements it
/// for its parameters).
pub(super) trait Kind: Into<FaultParams> {
    const KIND: FaultKind;
    /// Whether it takes `at`, `after_ops` and `trials`.
    const MOMENT: bool = false;
    /// Its own keys as written: every field optional, unknown keys refused.
    type Raw: DeserializeOwned;
    /// The parameters, defaults applied; what is wrong is reported to `cx`
    /// at its key under `at`.
    fn check(raw: Self::Raw, cx: &mut Ctx, at: &At, f: &FaultCx) -> Self;
}

// -------------------------------------------------------- shared checks

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
        TargetKind::Hostpath | TargetKind::Volume | TargetKind::Emptydir | TargetKind::Rootfs => {
            Device::Host
        }
        TargetKind::Overlay => match t.upper().map(|u| u.kind) {
            Some(TargetKind::Ext4 | TargetKind::Xfs) => Device::Loop,
            _ => Device::None,
        },
    }
}

/// throttle, noisy_neighbor and eio act on the target's block device: the
/// glob must select at least one target that has one, and a throttle or an
/// eio never selects a hostpath (wpbench must not throttle or break the
/// host's own disk).
fn check_device_targets(cx: &mut Ctx, at: &At, kind: FaultKind, f: &FaultCx) {
    let glob = f.target;
    let selected: Vec<&TargetSpec> = f.selected().collect();
    if selected.is_empty() {
        return; // check_glob said so
    }
    let what = kind.as_str();
    if matches!(kind, FaultKind::Throttle | FaultKind::Eio) {
        for t in selected.iter().filter(|t| device_of(t) == Device::Host) {
            cx.err(
                &at.key("target"),
                format!(
                    "`{glob}` selects {} target `{}`, which {} cannot hit: \
                     wpbench never {} {}; narrow `target` \
                     (a noisy_neighbor may share its disk)",
                    t.kind.as_str(),
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
                    t.kind.existing_storage_is(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_moment_keys_are_the_raw_faults_own() {
        let moment: Vec<&str> = fields_of::<RawFault>()
            .iter()
            .copied()
            .filter(|k| moment_key(k))
            .collect();
        assert_eq!(moment, ["at", "after_ops", "trials"]);
    }

    #[test]
    fn every_kind_is_registered_once() {
        for (i, e) in KINDS.iter().enumerate() {
            assert_eq!(e.kind.entry().kind, e.kind);
            assert!(KINDS[..i].iter().all(|o| o.kind != e.kind));
        }
    }
}
