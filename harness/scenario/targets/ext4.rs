//! `kind: ext4`: an ext4 made with `mkfs.ext4` on a loop image of `size`.

use super::{block_fs, BlockFs, BlockRaw, Kind, TargetCx, TargetParams};
use crate::scenario::check::{At, Ctx};
use crate::scenario::spec::TargetKind;

#[derive(Debug, Clone, PartialEq)]
pub struct Ext4(pub BlockFs);

impl Kind for Ext4 {
    const KIND: TargetKind = TargetKind::Ext4;
    const SIZED: bool = true;
    type Raw = BlockRaw;

    fn check(raw: BlockRaw, cx: &mut Ctx, at: &At, t: &TargetCx) -> Ext4 {
        Ext4(block_fs(raw, cx, at, t, Self::KIND))
    }
}

impl From<Ext4> for TargetParams {
    fn from(p: Ext4) -> Self {
        TargetParams::Ext4(p)
    }
}
