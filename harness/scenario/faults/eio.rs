//! `kind: eio`: a thin-provisioned volume running out of backing, so
//! that the device's writes fail and the filesystem returns EIO.

use serde::Deserialize;

use super::{check_device_targets, FaultCx, FaultParams, Kind, OnError};
use crate::scenario::check::{At, Ctx};
use crate::scenario::raw::{Size, U};
use crate::scenario::spec::FaultKind;

/// A thin-provisioned volume running out of backing: the target's loop
/// image lives on a size-capped tmpfs (the pool) which, once the cell's
/// setup is done, may grow by only `after` bytes; past that the device's
/// writes fail and the filesystem returns EIO.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EioSpec {
    /// Backing the image may still allocate once the fault is armed.
    pub after: u64,
    /// What a worker does at its first error from the failing device.
    pub on_error: OnError,
}

/// The keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Backing the thin volume may still allocate once armed.
    after: Option<U<Size>>,
    on_error: Option<OnError>,
}

impl Kind for EioSpec {
    const KIND: FaultKind = FaultKind::Eio;
    type Raw = Raw;

    /// A target with a loop device, and how much backing the thin volume
    /// may still allocate.
    fn check(raw: Raw, cx: &mut Ctx, at: &At, f: &FaultCx) -> EioSpec {
        check_device_targets(cx, at, Self::KIND, f);
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
}

impl From<EioSpec> for FaultParams {
    fn from(p: EioSpec) -> Self {
        FaultParams::Eio(p)
    }
}
