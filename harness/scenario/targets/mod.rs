//! Target kinds: one file per kind, each holding the keys of its own a
//! scenario writes (a serde struct), their defaults and checks, and what
//! they put in the [`TargetSpec`] the target room receives.
//!
//! Adding a kind is a new file here, a variant in [`TargetKind`] and
//! [`TargetParams`], and its line in [`KINDS`].

mod emptydir;
mod ext4;
mod hostpath;
mod overlay;
mod rootfs;
mod tmpfs;
mod volume;
mod xfs;

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Deserialize;

pub use emptydir::Emptydir;
pub use ext4::Ext4;
pub use hostpath::Hostpath;
pub use overlay::Overlay;
pub use rootfs::Rootfs;
pub use tmpfs::Tmpfs;
pub use volume::{AccessMode, Volume};
pub use xfs::Xfs;

use super::check::{check_fs_size, check_mkfs, check_options, check_size, At, Ctx, GIB};
use super::device::{check_device, DeviceSpec, RawDevice};
use super::raw::{fields_of, Arg, RawLoop, Size, U};
use super::spec::{LoopSpec, TargetKind};
use super::yaml::{self, Node};

/// The registry: every kind, in the order messages list them.
pub(super) const KINDS: &[KindEntry] = &[
    KindEntry::of::<Tmpfs>(),
    KindEntry::of::<Ext4>(),
    KindEntry::of::<Xfs>(),
    KindEntry::of::<Overlay>(),
    KindEntry::of::<Hostpath>(),
    KindEntry::of::<Volume>(),
    KindEntry::of::<Emptydir>(),
    KindEntry::of::<Rootfs>(),
];

/// One kind's checked parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetParams {
    Tmpfs(Tmpfs),
    Ext4(Ext4),
    Xfs(Xfs),
    Overlay(Overlay),
    Hostpath(Hostpath),
    Volume(Volume),
    Emptydir(Emptydir),
    Rootfs(Rootfs),
}

/// What a kind's check may look at beyond its own keys: the keys every
/// target has.
pub(super) struct TargetCx<'a> {
    pub options: &'a [String],
    /// Where each option was written.
    pub paths: &'a [String],
    /// `size`, as written.
    pub size: Option<U<Size>>,
}

impl TargetCx<'_> {
    /// What every kind checks first: its options (a hostPath's with the
    /// `host_path` it binds, to name what lies underneath) and `size`.
    pub fn options_and_size(
        &self,
        cx: &mut Ctx,
        at: &At,
        kind: TargetKind,
        host_path: Option<&Path>,
    ) -> Option<u64> {
        check_options(cx, self.options, self.paths, kind, host_path);
        check_size(cx, &at.key("size"), self.size)
    }
}

/// `size`: kept on every [`TargetSpec`], and taken by the kinds that have
/// a size of their own (tmpfs, ext4, xfs).
pub(super) fn size_key(key: &str) -> bool {
    key == "size"
}

/// What the loader needs of a kind: its file's answers, behind plain
/// functions so that kinds of different types sit in one list.
pub(super) struct KindEntry {
    pub kind: TargetKind,
    /// Whether it takes `size` ([`size_key`]).
    pub sized: bool,
    /// The keys of its own (its raw struct's fields), in order.
    pub fields: fn() -> &'static [&'static str],
    /// Reads `node` (a mapping of its own keys) as its raw struct, for
    /// serde's error.
    pub parse: fn(&Node) -> Result<(), yaml::DeError>,
    /// Checks its own keys (`node`) and applies their defaults.
    pub check: fn(&Node, &mut Ctx, &At, &TargetCx) -> Option<TargetParams>,
}

impl KindEntry {
    const fn of<K: Kind>() -> KindEntry {
        KindEntry {
            kind: K::KIND,
            sized: K::SIZED,
            fields: fields_of::<K::Raw>,
            parse: parse::<K>,
            check: check::<K>,
        }
    }
}

impl TargetKind {
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

fn check<K: Kind>(node: &Node, cx: &mut Ctx, at: &At, t: &TargetCx) -> Option<TargetParams> {
    match yaml::from_node::<K::Raw>(node) {
        Ok(raw) => Some(K::check(raw, cx, at, t).into()),
        Err(e) => {
            cx.de_err(at, e);
            None
        }
    }
}

/// A target kind, as the loader reads it (each kind's file implements it
/// for its parameters).
pub(super) trait Kind: Into<TargetParams> {
    const KIND: TargetKind;
    /// Whether it takes `size`.
    const SIZED: bool = false;
    /// Its own keys as written: every field optional, unknown keys refused.
    type Raw: DeserializeOwned;
    /// The parameters, defaults applied; what is wrong is reported to `cx`
    /// at its key under `at`.
    fn check(raw: Self::Raw, cx: &mut Ctx, at: &At, t: &TargetCx) -> Self;
}

// ------------------------------------------------- ext4 and xfs alike

/// An ext4 or xfs on a loop image.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockFs {
    pub size: u64,
    pub mkfs: Vec<String>,
    pub loop_dev: LoopSpec,
    /// `device:`: the image is served by an emulated device.
    pub device: Option<DeviceSpec>,
}

/// The keys of an ext4 or xfs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockRaw {
    mkfs: Option<Vec<Arg>>,
    #[serde(rename = "loop")]
    loop_dev: Option<RawLoop>,
    device: Option<RawDevice>,
}

/// Default size of an ext4 or xfs image.
const DEFAULT_SIZE: u64 = GIB;

/// An ext4 or xfs: its mkfs arguments, and a size mkfs can format with them.
fn block_fs(raw: BlockRaw, cx: &mut Ctx, at: &At, t: &TargetCx, kind: TargetKind) -> BlockFs {
    let size = t
        .options_and_size(cx, at, kind, None)
        .unwrap_or(DEFAULT_SIZE);
    let (mkfs, layout) = check_mkfs(cx, at, "mkfs", kind, &raw.mkfs);
    check_fs_size(
        cx,
        t.size.is_some().then(|| at.key("size")).as_deref(),
        &at.key("mkfs"),
        kind,
        size,
        &mkfs,
        layout,
    );
    let loop_dev = raw.loop_dev.map_or_else(LoopSpec::default, loop_spec);
    let device = raw
        .device
        .and_then(|d| check_device(d, cx, &at.key("device")));
    if device.is_some() && !loop_dev.direct_io {
        cx.err(
            &at.key("loop"),
            "an emulated device needs `loop: {direct_io: true}` (the default): a buffered \
             loop device would cache the image in the host's page cache, above the device",
        );
    }
    BlockFs {
        size,
        mkfs,
        loop_dev,
        device,
    }
}

fn loop_spec(l: RawLoop) -> LoopSpec {
    LoopSpec {
        direct_io: l.direct_io.unwrap_or(LoopSpec::default().direct_io),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::raw::RawTarget;

    #[test]
    fn size_is_the_raw_targets_own() {
        assert!(fields_of::<RawTarget>().iter().any(|k| size_key(k)));
    }

    #[test]
    fn every_kind_is_registered_once() {
        for (i, e) in KINDS.iter().enumerate() {
            assert_eq!(e.kind.entry().kind, e.kind);
            assert!(KINDS[..i].iter().all(|o| o.kind != e.kind));
        }
    }
}
