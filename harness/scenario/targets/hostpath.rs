//! `kind: hostpath`: a directory of the host, bind-mounted; wpbench works
//! in a fresh subdirectory of `path`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Kind, TargetCx, TargetParams};
use crate::scenario::check::{At, Ctx};
use crate::scenario::diag;
use crate::scenario::options::refused_host_path;
use crate::scenario::spec::TargetKind;

#[derive(Debug, Clone, PartialEq)]
pub struct Hostpath {
    /// The directory under which wpbench makes a fresh subdirectory (None
    /// when missing, which is reported).
    pub path: Option<PathBuf>,
}

/// The keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    path: Option<String>,
}

impl Kind for Hostpath {
    const KIND: TargetKind = TargetKind::Hostpath;
    type Raw = Raw;

    /// A `path` that can exist and is not one of the system's own.
    fn check(raw: Raw, cx: &mut Ctx, at: &At, t: &TargetCx) -> Hostpath {
        t.options_and_size(cx, at, Self::KIND, raw.path.as_deref().map(Path::new));
        let path = match &raw.path {
            None => {
                cx.err(
                    &at.key("path"),
                    "missing required key `path`: the host directory under which wpbench \
                     works in a fresh subdirectory, e.g. /var/tmp/wpbench",
                );
                None
            }
            Some(p) => {
                if let Some(m) = impossible_path(p).or_else(|| refused_host_path(Path::new(p))) {
                    cx.err(&at.key("path"), m);
                }
                Some(PathBuf::from(p))
            }
        };
        Hostpath { path }
    }
}

impl From<Hostpath> for TargetParams {
    fn from(p: Hostpath) -> Self {
        TargetParams::Hostpath(p)
    }
}

/// Longest path and file name Linux takes (PATH_MAX with its NUL,
/// NAME_MAX); wpbench adds its own directories under a hostPath, so the
/// path itself must leave room.
const PATH_MAX: usize = 4095;

const NAME_MAX: usize = 255;

/// Why `p` cannot name a directory at all: a NUL byte (the kernel ends a
/// path there), a component longer than 255 bytes, or more than 4095 bytes.
fn impossible_path(p: &str) -> Option<String> {
    if p.contains('\0') {
        return Some(
            "the path holds a NUL byte, which no path can contain (the kernel would end it there)"
                .into(),
        );
    }
    if let Some(long) = p.split('/').find(|c| c.len() > NAME_MAX) {
        return Some(format!(
            "the name `{}` is {} bytes long; Linux file names are at most {NAME_MAX} bytes",
            diag::abbreviate(long, 40),
            long.len()
        ));
    }
    if p.len() > PATH_MAX - 128 {
        return Some(format!(
            "the path is {} bytes long; Linux paths are at most {PATH_MAX} bytes, and wpbench \
             needs about 128 of them for its own directories under it",
            p.len()
        ));
    }
    None
}
