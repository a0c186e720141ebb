//! `kind: rootfs`: the container's own filesystem (its writable layer, an
//! overlay made by the runtime with the node's real lower layers and
//! options). wpbench works in a fresh directory of it; outside a
//! container that is the scratch root's filesystem, and the result says
//! which filesystem it was.

use std::path::PathBuf;

use serde::Deserialize;

use super::{Kind, TargetCx, TargetParams};
use crate::scenario::check::{At, Ctx};
use crate::scenario::spec::TargetKind;

#[derive(Debug, Clone, PartialEq)]
pub struct Rootfs {
    /// A directory of the container's filesystem to work under, when
    /// `--volume NAME=DIR` gives one (the pod's script does); otherwise
    /// the scratch area.
    pub dir: Option<PathBuf>,
}

/// No keys of its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {}

impl Kind for Rootfs {
    const KIND: TargetKind = TargetKind::Rootfs;
    type Raw = Raw;

    fn check(_: Raw, cx: &mut Ctx, at: &At, t: &TargetCx) -> Rootfs {
        t.options_and_size(cx, at, Self::KIND, None);
        Rootfs { dir: None }
    }
}

impl From<Rootfs> for TargetParams {
    fn from(p: Rootfs) -> Self {
        TargetParams::Rootfs(p)
    }
}
