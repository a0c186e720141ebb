//! `kind: crash`: a power cut. At a moment of the cell (`at`, drawn with
//! the seed, or `after_ops`) the target's filesystem is shut down, then
//! remounted and verified: which acknowledged writes survived. Each of
//! `trials` runs the cell again. Its keys (`at`, `after_ops`, `trials`)
//! are kept on every [`FaultSpec`](crate::scenario::FaultSpec).

use serde::Deserialize;

use super::{FaultCx, FaultParams, Kind};
use crate::scenario::check::{At, Ctx};
use crate::scenario::raw::U;
use crate::scenario::spec::{FaultKind, Stop};
use crate::scenario::units::{format_duration, format_duration_exact};

/// A crash has no parameters beyond its moment and trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crash;

/// No keys of its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {}

impl Kind for Crash {
    const KIND: FaultKind = FaultKind::Crash;
    const MOMENT: bool = true;
    type Raw = Raw;

    /// A moment (`at` or `after_ops`) inside the measured phase, and no
    /// hostpath target.
    fn check(_: Raw, cx: &mut Ctx, at: &At, f: &FaultCx) -> Crash {
        check_cut(cx, at, f, "crash");
        Crash
    }
}

/// What every cut of power needs: a moment (`at` or `after_ops`) inside
/// the measured phase, and no storage wpbench did not make. `what` names
/// the fault in messages (`crash`, `power loss`).
pub(super) fn check_cut(cx: &mut Ctx, at: &At, f: &FaultCx, what: &str) {
    let at_range = f.raw.at.map(|U(r)| r);
    match (at_range, f.raw.after_ops) {
        (Some(_), Some(_)) => cx.err(
            &at.key("after_ops"),
            "give either `at` or `after_ops`, not both",
        ),
        (None, None) => cx.err(
            &at.key("at"),
            format!(
                "a {what} needs a moment: `at: 1s..3s` (drawn with the seed) or `after_ops: N`"
            ),
        ),
        _ => {}
    }
    if let (Some(r), Stop::Duration(d)) = (at_range, f.stop) {
        if r.max >= d && cx.overrides().duration.is_some() {
            cx.err(
                "duration",
                format!(
                    "the measured phase ends before the {what} of `{}` can fire (its `at` \
                         reaches {}); give a longer --duration",
                    at.base(),
                    format_duration_exact(r.max)
                ),
            );
        } else if r.max >= d {
            cx.err(
                    &at.key("at"),
                    format!(
                        "the {what} must fire before the cell ends: `at` reaches {} but `duration` is {}",
                        format_duration(r.max),
                        format_duration(d)
                    ),
                );
        }
    }
    refuse_existing_storage(cx, at, f, |t| {
        format!(
            "`{}` selects {} target `{}`, which a {what} cannot hit: \
             wpbench never shuts down a filesystem it did not create ({}); \
             narrow `target`",
            f.target,
            t.kind.as_str(),
            t.name,
            t.kind.existing_storage_is()
        )
    });
}

/// Refuses, at `target`, every selected target on storage wpbench did not
/// make (a hostPath, a pod's volume, the container's layer), saying why.
pub(super) fn refuse_existing_storage(
    cx: &mut Ctx,
    at: &At,
    f: &FaultCx,
    why: impl Fn(&crate::scenario::TargetSpec) -> String,
) {
    for t in f.selected() {
        if t.kind.is_existing_storage() {
            cx.err(&at.key("target"), why(t));
        }
    }
}

impl From<Crash> for FaultParams {
    fn from(p: Crash) -> Self {
        FaultParams::Crash(p)
    }
}
