//! `kind: enospc`: a full filesystem. The target is filled (or made
//! small) so that the workload meets ENOSPC during the cell.

use serde::Deserialize;

use super::{FaultCx, FaultParams, Kind, OnError};
use crate::scenario::check::{At, Ctx};
use crate::scenario::raw::{Size, U};
use crate::scenario::spec::FaultKind;

/// A full filesystem: the target is filled (or made small) so that the
/// workload meets ENOSPC during the cell.
#[derive(Debug, Clone, PartialEq)]
pub struct EnospcSpec {
    pub resource: Resource,
    pub on_error: OnError,
    /// Fill the target before the cell, leaving `headroom` (blocks) or
    /// `headroom_files` (inodes); without it, the target's own size or
    /// inode count (`mkfs: [-N, …]`, tmpfs `nr_inodes=`) is the limit.
    pub fill: bool,
    pub headroom: u64,
    pub headroom_files: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    Blocks,
    Inodes,
}

/// The keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    resource: Option<Resource>,
    on_error: Option<OnError>,
    fill: Option<bool>,
    headroom: Option<U<Size>>,
    headroom_files: Option<u64>,
}

const DEFAULT_HEADROOM: u64 = 4 << 20;
const DEFAULT_HEADROOM_FILES: u64 = 200;

impl Kind for EnospcSpec {
    const KIND: FaultKind = FaultKind::Enospc;
    type Raw = Raw;

    /// The resource that runs out, its headroom, and no hostpath target.
    fn check(raw: Raw, cx: &mut Ctx, at: &At, f: &FaultCx) -> EnospcSpec {
        let resource = raw.resource.unwrap_or(Resource::Blocks);
        if resource == Resource::Blocks && raw.headroom_files.is_some() {
            cx.err(
                &at.key("headroom_files"),
                "is for `resource: inodes`; use `headroom: SIZE` for blocks",
            );
        }
        if resource == Resource::Inodes && raw.headroom.is_some() {
            cx.err(
                &at.key("headroom"),
                "is for `resource: blocks`; use `headroom_files: N` for inodes",
            );
        }
        for t in f.selected() {
            if t.kind.is_existing_storage() {
                cx.err(
                    &at.key("target"),
                    format!(
                        "`{}` selects {} target `{}`: wpbench never fills a filesystem it did \
                         not make ({}); narrow `target`",
                        f.target,
                        t.kind.as_str(),
                        t.name,
                        t.kind.existing_storage_is()
                    ),
                );
            }
        }
        EnospcSpec {
            resource,
            on_error: raw.on_error.unwrap_or(OnError::Continue),
            fill: raw.fill.unwrap_or(true),
            headroom: raw.headroom.map_or(DEFAULT_HEADROOM, |U(Size(s))| s),
            headroom_files: raw.headroom_files.unwrap_or(DEFAULT_HEADROOM_FILES),
        }
    }
}

impl From<EnospcSpec> for FaultParams {
    fn from(p: EnospcSpec) -> Self {
        FaultParams::Enospc(p)
    }
}
