//! `kind: power_loss`: the power of an emulated device is cut. At a moment
//! of the cell (`at`, drawn with the seed, or `after_ops`, as for a crash)
//! the device stops acknowledging and drops every write its volatile
//! cache had not yet flushed — all of them, or with `reorder: true` a
//! seeded subset, in any order, as real caches destage — then the
//! filesystem is mounted again from what the disk holds and the ledgers
//! are verified as after a crash. Only a target on an emulated device
//! (`device: {kind: emulated}`, its own or an overlay upper's) has a cache
//! to lose.
//!
//! With `states: N` nothing is cut during the cell: the device logs every
//! write and flush of it, and afterwards up to N crash images are built
//! from that log — at flush boundaries, each with a seeded subset of the
//! writes in flight after it, what dm-log-writes and CrashMonkey explore —
//! and each is mounted (on a copy-on-write view) and verified against the
//! ledgers as they stood at that moment.

use serde::Deserialize;

use super::crash::{check_cut, refuse_existing_storage};
use super::{FaultCx, FaultParams, Kind};
use crate::scenario::check::{At, Ctx};
use crate::scenario::spec::FaultKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerLoss {
    /// Keep a seeded subset of the unflushed writes instead of none.
    pub reorder: bool,
    /// Explore up to this many crash states from one run's write log,
    /// instead of cutting the power once per trial.
    pub states: Option<u32>,
}

/// More states than this would take hours to mount and verify.
pub const MAX_STATES: u64 = 10_000;

/// The keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    reorder: Option<bool>,
    states: Option<u64>,
}

impl Kind for PowerLoss {
    const KIND: FaultKind = FaultKind::PowerLoss;
    const MOMENT: bool = true;
    type Raw = Raw;

    /// A crash's moment (or `states`, which takes none), and targets on
    /// an emulated device.
    fn check(raw: Raw, cx: &mut Ctx, at: &At, f: &FaultCx) -> PowerLoss {
        let states = raw.states.and_then(|n| {
            if (1..=MAX_STATES).contains(&n) {
                Some(n as u32)
            } else {
                cx.err(
                    &at.key("states"),
                    format!(
                        "`states` is how many crash states to build from the cell's write log: \
                         1 to {MAX_STATES} (got {n})"
                    ),
                );
                None
            }
        });
        if raw.states.is_some() {
            check_states(cx, at, f, raw.reorder.is_some());
        } else {
            check_cut(cx, at, f, "power loss");
        }
        for t in f.selected() {
            let device = t
                .device()
                .or_else(|| t.upper().and_then(|u| u.device.as_ref()));
            if device.is_none() && !t.kind.is_existing_storage() {
                cx.err(
                    &at.key("target"),
                    format!(
                        "`{}` selects target `{}`, which has no emulated device to cut: give it \
                         `device: {{kind: emulated, cache: volatile}}` (an overlay: on its \
                         upper), or use a `crash` fault, which stops the filesystem itself",
                        f.target, t.name
                    ),
                );
            }
        }
        PowerLoss {
            reorder: raw.reorder.unwrap_or(false),
            states,
        }
    }
}

/// With `states` the moments come from the write log: `at` and
/// `after_ops` have nothing to say, and `reorder` is what every state
/// does already. The storage rule of a cut still holds.
fn check_states(cx: &mut Ctx, at: &At, f: &FaultCx, reorder: bool) {
    for (given, key) in [
        (f.raw.at.is_some(), "at"),
        (f.raw.after_ops.is_some(), "after_ops"),
    ] {
        if given {
            cx.err(
                &at.key(key),
                format!(
                    "with `states` the crash moments are the flushes of the cell's write log; \
                     leave `{key}` out (or drop `states` to cut the power once per trial)"
                ),
            );
        }
    }
    if reorder {
        cx.err(
            &at.key("reorder"),
            "with `states` every state already keeps a seeded subset of the writes in flight; \
             leave `reorder` out",
        );
    }
    refuse_existing_storage(cx, at, f, |t| {
        format!(
            "`{}` selects {} target `{}`, which has no emulated device ({})",
            f.target,
            t.kind.as_str(),
            t.name,
            t.kind.existing_storage_is()
        )
    });
}

impl From<PowerLoss> for FaultParams {
    fn from(p: PowerLoss) -> Self {
        FaultParams::PowerLoss(p)
    }
}
