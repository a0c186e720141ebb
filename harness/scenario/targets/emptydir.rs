//! `kind: emptydir`: a pod's emptyDir volume, on the node's disk or
//! (`medium: Memory`) a tmpfs. `k8s render` adds one to the pod; `wpbench
//! run` is told where it is with `--volume NAME=DIR`. wpbench works in a
//! fresh subdirectory of it, as on a hostPath.

use std::path::PathBuf;

use serde::Deserialize;

use super::{Kind, TargetCx, TargetParams};
use crate::scenario::check::{check_size, At, Ctx};
use crate::scenario::raw::{Size, U};
use crate::scenario::spec::TargetKind;

#[derive(Debug, Clone, PartialEq)]
pub struct Emptydir {
    /// A tmpfs (`medium: Memory`), charged to the pod's memory, rather
    /// than the node's disk.
    pub memory: bool,
    /// The emptyDir's `sizeLimit`: kubelet evicts a pod whose emptyDir
    /// grows past it.
    pub size_limit: Option<u64>,
    /// Where `--volume NAME=DIR` says it is on this machine.
    pub dir: Option<PathBuf>,
}

/// The keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    medium: Option<String>,
    size_limit: Option<U<Size>>,
}

impl Kind for Emptydir {
    const KIND: TargetKind = TargetKind::Emptydir;
    type Raw = Raw;

    fn check(raw: Raw, cx: &mut Ctx, at: &At, t: &TargetCx) -> Emptydir {
        t.options_and_size(cx, at, Self::KIND, None);
        let memory = match raw.medium.as_deref() {
            None | Some("") => false,
            Some("Memory") => true,
            Some(m) if m.eq_ignore_ascii_case("memory") => {
                cx.err(
                    &at.key("medium"),
                    format!("`{m}`: write `Memory`, as Kubernetes spells it"),
                );
                true
            }
            Some(m) => {
                cx.err(
                    &at.key("medium"),
                    format!(
                        "`{m}` is not a medium wpbench measures; leave `medium` out for the \
                         node's disk, or write `Memory` for a tmpfs"
                    ),
                );
                false
            }
        };
        let size_limit = check_size(cx, &at.key("size_limit"), raw.size_limit);
        Emptydir {
            memory,
            size_limit,
            dir: None,
        }
    }
}

impl From<Emptydir> for TargetParams {
    fn from(p: Emptydir) -> Self {
        TargetParams::Emptydir(p)
    }
}
