//! `kind: overlay`: an overlayfs whose upperdir and workdir lie on an
//! `upper` filesystem (tmpfs, ext4 or xfs) and whose `lower` layers are
//! populated before the run.

use serde::Deserialize;

use super::{loop_spec, Kind, TargetCx, TargetParams};
use crate::scenario::check::{
    check_fs_size, check_mkfs, check_options, check_size, check_tmpfs, option_paths, At, Ctx, GIB,
    KIB, MAX_FILE, MAX_FILES,
};
use crate::scenario::raw::{RawLower, RawUpper, U};
use crate::scenario::spec::{BaseFsSpec, LoopSpec, LowerSpec, TargetKind};
use crate::scenario::units::{format_size, SizeRange};

#[derive(Debug, Clone, PartialEq)]
pub struct Overlay {
    /// None when missing or wrong (reported).
    pub upper: Option<Box<BaseFsSpec>>,
    pub lower: LowerSpec,
}

/// The keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    upper: Option<RawUpper>,
    lower: Option<RawLower>,
}

impl Kind for Overlay {
    const KIND: TargetKind = TargetKind::Overlay;
    type Raw = Raw;

    /// An `upper` filesystem wpbench can make, and lower layers overlayfs
    /// can stack.
    fn check(raw: Raw, cx: &mut Ctx, at: &At, t: &TargetCx) -> Overlay {
        t.options_and_size(cx, at, Self::KIND, None);
        let upper = match &raw.upper {
            None => {
                cx.err(
                    &at.key("upper"),
                    "missing required key `upper`: the filesystem under upperdir and \
                     workdir, e.g. `upper: {kind: ext4, size: 2GiB}`",
                );
                None
            }
            Some(u) => check_upper(cx, u, at),
        };
        Overlay {
            upper,
            lower: check_lower(cx, raw.lower.as_ref(), at),
        }
    }
}

impl From<Overlay> for TargetParams {
    fn from(p: Overlay) -> Self {
        TargetParams::Overlay(p)
    }
}

fn check_upper(cx: &mut Ctx, u: &RawUpper, at: &At) -> Option<Box<BaseFsSpec>> {
    let key = |k: &str| at.key(&format!("upper.{k}"));
    let kind = match u.kind {
        None => {
            cx.err(
                &key("kind"),
                "missing required key `kind` (tmpfs, ext4 or xfs)",
            );
            return None;
        }
        Some(k @ (TargetKind::Tmpfs | TargetKind::Ext4 | TargetKind::Xfs)) => k,
        Some(k) => {
            cx.err(
                &key("kind"),
                format!(
                    "an overlay's upper filesystem is tmpfs, ext4 or xfs, not {}",
                    k.as_str()
                ),
            );
            return None;
        }
    };
    let block = kind != TargetKind::Tmpfs;
    if !block {
        for (present, k) in [(u.mkfs.is_some(), "mkfs"), (u.loop_dev.is_some(), "loop")] {
            if present {
                cx.err(
                    &key(k),
                    format!("`{k}` is not a key of a tmpfs upper; it belongs to ext4 and xfs"),
                );
            }
        }
    }
    let options = u.options.clone().unwrap_or_default();
    let option_keys = option_paths(at, "upper.options", options.len());
    check_options(cx, &options, &option_keys, kind, None);
    let size = check_size(cx, &key("size"), u.size);
    let mkfs = if block {
        let (mkfs, layout) = check_mkfs(cx, at, "upper.mkfs", kind, &u.mkfs);
        check_fs_size(
            cx,
            u.size.is_some().then(|| key("size")).as_deref(),
            &key("mkfs"),
            kind,
            size.unwrap_or(GIB),
            &mkfs,
            layout,
        );
        mkfs
    } else {
        check_tmpfs(
            cx,
            &key("size"),
            size,
            &options,
            &option_paths(at, "upper.options", options.len()),
        );
        Vec::new()
    };
    let device = match (&u.device, block) {
        (Some(d), true) => crate::scenario::device::check_device(d.clone(), cx, &key("device")),
        (Some(_), false) => {
            cx.err(
                &key("device"),
                "a tmpfs upper has no block device to emulate; use an ext4 or xfs upper",
            );
            None
        }
        (None, _) => None,
    };
    Some(Box::new(BaseFsSpec {
        kind,
        option_places: option_keys.iter().map(|p| cx.place(p)).collect(),
        size: if block {
            Some(size.unwrap_or(GIB))
        } else {
            size
        },
        options,
        mkfs,
        loop_dev: match (block, u.loop_dev) {
            (true, Some(l)) => loop_spec(l),
            _ => LoopSpec::default(),
        },
        device,
    }))
}

fn check_lower(cx: &mut Ctx, l: Option<&RawLower>, at: &At) -> LowerSpec {
    let at_least_one = |cx: &mut Ctx, k: &str, v: Option<u64>| match v {
        Some(0) => {
            cx.err(&at.key(&format!("lower.{k}")), "must be at least 1");
            1
        }
        Some(n) => n,
        None => 1,
    };
    let dirs = at_least_one(cx, "dirs", l.and_then(|l| l.dirs));
    let layers = at_least_one(cx, "layers", l.and_then(|l| l.layers));
    let layers = match u32::try_from(layers) {
        Ok(n) if n <= MAX_LOWER_LAYERS => n,
        _ => {
            cx.err(
                &at.key("lower.layers"),
                format!(
                    "{layers} layers; overlayfs stacks at most {MAX_LOWER_LAYERS} lower layers"
                ),
            );
            1
        }
    };
    let files = l.and_then(|l| l.files).unwrap_or(0);
    let file_size = l
        .and_then(|l| l.file_size)
        .map_or(SizeRange::fixed(4 * KIB), |U(r)| r);
    // The lower layers are written on the host's disk before the run;
    // how much room it has is asked at run time, but no disk holds this.
    if files > MAX_FILES {
        cx.err(
            &at.key("lower.files"),
            format!(
                "{files} files; no filesystem wpbench writes the lower layers on holds more \
                 than {MAX_FILES} (ext4 numbers inodes in 32 bits)"
            ),
        );
    } else if u128::from(files) * u128::from(file_size.min) > u128::from(MAX_FILE) {
        cx.err(
            &at.key("lower.files"),
            format!(
                "{files} files of at least {} are more than the {} a Linux filesystem holds",
                format_size(file_size.min),
                format_size(MAX_FILE)
            ),
        );
    }
    LowerSpec {
        files,
        file_size,
        dirs,
        layers,
    }
}

/// overlayfs's OVL_MAX_STACK.
const MAX_LOWER_LAYERS: u32 = 500;
