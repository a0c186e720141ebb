//! `kind: tmpfs`: a tmpfs of `size` (or as its options size it).

use serde::Deserialize;

use super::{Kind, TargetCx, TargetParams};
use crate::scenario::check::{check_tmpfs, At, Ctx};
use crate::scenario::spec::TargetKind;

#[derive(Debug, Clone, PartialEq)]
pub struct Tmpfs {
    /// None: the kernel's default (half the RAM), or the options' `size=`.
    pub size: Option<u64>,
}

/// No keys of its own beyond `size`, which every target keeps.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {}

impl Kind for Tmpfs {
    const KIND: TargetKind = TargetKind::Tmpfs;
    const SIZED: bool = true;
    type Raw = Raw;

    /// `size` and the options that size it too, given once and as numbers
    /// the kernel reads.
    fn check(_: Raw, cx: &mut Ctx, at: &At, t: &TargetCx) -> Tmpfs {
        let size = t.options_and_size(cx, at, Self::KIND, None);
        check_tmpfs(cx, &at.key("size"), size, t.options, t.paths);
        Tmpfs { size }
    }
}

impl From<Tmpfs> for TargetParams {
    fn from(p: Tmpfs) -> Self {
        TargetParams::Tmpfs(p)
    }
}
