//! `kind: volume`: a PersistentVolume of a StorageClass. `k8s render` asks
//! for one per pod (a generic ephemeral volume: a fresh claim of
//! `storage_class` and `size`, deleted with the pod); `wpbench run` is
//! told where it is mounted with `--volume NAME=DIR`. wpbench works in a
//! fresh subdirectory of it, as on a hostPath.

use std::path::PathBuf;

use serde::Deserialize;

use super::{Kind, TargetCx, TargetParams};
use crate::scenario::check::{At, Ctx};
use crate::scenario::spec::TargetKind;

#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    /// The StorageClass each pod's claim names.
    pub storage_class: String,
    /// The claim's request (`size`).
    pub size: u64,
    pub access_mode: AccessMode,
    /// Where `--volume NAME=DIR` says it is mounted on this machine (None
    /// until a run binds it: `validate` and `k8s render` need no mapping).
    pub dir: Option<PathBuf>,
}

/// The access modes a claim wpbench writes to may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessMode {
    ReadWriteOnce,
    ReadWriteOncePod,
    ReadWriteMany,
}

impl AccessMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessMode::ReadWriteOnce => "ReadWriteOnce",
            AccessMode::ReadWriteOncePod => "ReadWriteOncePod",
            AccessMode::ReadWriteMany => "ReadWriteMany",
        }
    }
}

/// The keys as written (`size` is every target's).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    storage_class: Option<String>,
    access_mode: Option<String>,
    volume_mode: Option<String>,
}

impl Kind for Volume {
    const KIND: TargetKind = TargetKind::Volume;
    const SIZED: bool = true;
    type Raw = Raw;

    fn check(raw: Raw, cx: &mut Ctx, at: &At, t: &TargetCx) -> Volume {
        let size = t.options_and_size(cx, at, Self::KIND, None);
        if t.size.is_none() {
            cx.err(
                &at.key("size"),
                "missing required key `size`: what each pod's claim requests, e.g. 10GiB \
                 (many provisioners also size IOPS and throughput by it)",
            );
        }
        let storage_class = match raw.storage_class {
            None => {
                cx.err(
                    &at.key("storage_class"),
                    "missing required key `storage_class`: the StorageClass each pod's claim \
                     names (kubectl get storageclass), e.g. standard",
                );
                String::new()
            }
            Some(c) => {
                if let Some(m) = dns_subdomain_problem(&c) {
                    cx.err(&at.key("storage_class"), format!("`{c}`: {m}"));
                }
                c
            }
        };
        let access_mode = match raw.access_mode.as_deref() {
            None | Some("ReadWriteOnce") => AccessMode::ReadWriteOnce,
            Some("ReadWriteOncePod") => AccessMode::ReadWriteOncePod,
            Some("ReadWriteMany") => AccessMode::ReadWriteMany,
            Some("ReadOnlyMany") => {
                cx.err(
                    &at.key("access_mode"),
                    "`ReadOnlyMany` mounts the volume read-only, and every workload writes; \
                     use ReadWriteOnce (the default), ReadWriteOncePod or ReadWriteMany",
                );
                AccessMode::ReadWriteOnce
            }
            Some(other) => {
                cx.err(
                    &at.key("access_mode"),
                    format!(
                        "`{other}` is not an access mode; use ReadWriteOnce (the default), \
                         ReadWriteOncePod or ReadWriteMany, spelled as Kubernetes spells them"
                    ),
                );
                AccessMode::ReadWriteOnce
            }
        };
        match raw.volume_mode.as_deref() {
            None | Some("Filesystem") => {}
            Some("Block") => cx.err(
                &at.key("volume_mode"),
                "`Block` gives the pod a raw device, and wpbench works in a directory of a \
                 mounted filesystem; use Filesystem (the default), or measure a filesystem of \
                 your choice on that class with an ext4 or xfs target of its own",
            ),
            Some(other) => cx.err(
                &at.key("volume_mode"),
                format!("`{other}` is not a volume mode; use Filesystem (the default)"),
            ),
        }
        Volume {
            storage_class,
            size: size.unwrap_or(0),
            access_mode,
            dir: None,
        }
    }
}

impl From<Volume> for TargetParams {
    fn from(p: Volume) -> Self {
        TargetParams::Volume(p)
    }
}

/// Why `name` is not a Kubernetes object name of the DNS-subdomain kind
/// (a StorageClass's): lower-case letters, digits, `-` and `.`, starting
/// and ending with a letter or digit, at most 253 characters.
fn dns_subdomain_problem(name: &str) -> Option<&'static str> {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if name.is_empty() || name.len() > 253 {
        return Some("a StorageClass name has 1 to 253 characters");
    }
    if !name.chars().all(|c| alnum(c) || c == '-' || c == '.') {
        return Some("a StorageClass name has only lower-case letters, digits, `-` and `.`");
    }
    if !name.starts_with(alnum) || !name.ends_with(alnum) {
        return Some("a StorageClass name starts and ends with a letter or digit");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::dns_subdomain_problem;

    #[test]
    fn storage_class_names_are_dns_subdomains() {
        for ok in ["standard", "gp3", "local-path", "premium-rwo", "a.b-c"] {
            assert_eq!(dns_subdomain_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "Standard",
            "gp3_fast",
            "-x",
            "x.",
            "a b",
            &"a".repeat(254),
        ] {
            assert!(dns_subdomain_problem(bad).is_some(), "{bad}");
        }
    }
}
