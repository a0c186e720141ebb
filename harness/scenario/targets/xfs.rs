//! `kind: xfs`: an xfs made with `mkfs.xfs` on a loop image of `size`.

use super::{block_fs, BlockFs, BlockRaw, Kind, TargetCx, TargetParams};
use crate::scenario::check::{At, Ctx};
use crate::scenario::spec::TargetKind;

#[derive(Debug, Clone, PartialEq)]
pub struct Xfs(pub BlockFs);

impl Kind for Xfs {
    const KIND: TargetKind = TargetKind::Xfs;
    const SIZED: bool = true;
    type Raw = BlockRaw;

    fn check(raw: BlockRaw, cx: &mut Ctx, at: &At, t: &TargetCx) -> Xfs {
        Xfs(block_fs(raw, cx, at, t, Self::KIND))
    }
}

impl From<Xfs> for TargetParams {
    fn from(p: Xfs) -> Self {
        TargetParams::Xfs(p)
    }
}
