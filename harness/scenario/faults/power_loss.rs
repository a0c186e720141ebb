//! `kind: power_loss`: the power of an emulated device is cut. At a moment
//! of the cell (`at`, drawn with the seed, or `after_ops`, as for a crash)
//! the device stops acknowledging and drops every write its volatile
//! cache had not yet flushed — all of them, or with `reorder: true` a
//! seeded subset, in any order, as real caches destage — then the
//! filesystem is mounted again from what the disk holds and the ledgers
//! are verified as after a crash. Only a target on an emulated device
//! (`device: {kind: emulated}`, its own or an overlay upper's) has a cache
//! to lose.

use serde::Deserialize;

use super::crash::check_cut;
use super::{FaultCx, FaultParams, Kind};
use crate::scenario::check::{At, Ctx};
use crate::scenario::spec::FaultKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerLoss {
    /// Keep a seeded subset of the unflushed writes instead of none.
    pub reorder: bool,
}

/// The keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    reorder: Option<bool>,
}

impl Kind for PowerLoss {
    const KIND: FaultKind = FaultKind::PowerLoss;
    const MOMENT: bool = true;
    type Raw = Raw;

    /// A crash's moment, and targets on an emulated device.
    fn check(raw: Raw, cx: &mut Ctx, at: &At, f: &FaultCx) -> PowerLoss {
        check_cut(cx, at, f, "power loss");
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
        }
    }
}

impl From<PowerLoss> for FaultParams {
    fn from(p: PowerLoss) -> Self {
        FaultParams::PowerLoss(p)
    }
}
