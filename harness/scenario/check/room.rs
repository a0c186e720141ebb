//! Room: what a workload makes before its clock must fit in each target.

use super::filesystems::kernel_number;
use super::{At, Ctx, GIB, KIB, MIB};
use crate::scenario::mkfs_args::{self};
use crate::scenario::spec::*;
use crate::scenario::units::format_size;
use crate::scenario::workloads::CellShape;

/// At most what a filesystem holds, as far as the scenario alone tells.
struct Holds {
    /// Files and directories that can still be made in it (an upper bound).
    inodes: Option<u64>,
    /// Bytes of file data it can hold (an upper bound).
    bytes: Option<u64>,
    /// `ext4, 2GiB, about 16384 bytes per inode`.
    what: String,
    /// What gives it more inodes.
    more_inodes: &'static str,
}

/// ext4's bytes per inode with the stock mke2fs.conf, by size: floppy
/// below 3 MiB, small below 512 MiB, default, big from 4 TiB, huge from
/// 16 TiB (checked with dumpe2fs on images made with wpbench's arguments).
fn ext4_inode_ratio(size: u64) -> u64 {
    match size {
        s if s < 3 * MIB => 8192,
        s if s < 512 * MIB => 4096,
        s if s < 4 << 40 => 16384,
        s if s < 16 << 40 => 32768,
        _ => 65536,
    }
}

/// What an ext4, xfs or tmpfs of `size` with these options and mkfs
/// arguments holds at most. Inode counts are upper bounds: mkfs rounds
/// each block group's inodes up to whole inode-table blocks, which the
/// slack covers; where an argument could change the count in ways not
/// modelled here (ext4 `-T`, `-O`, …), none is given.
fn fs_holds(kind: TargetKind, size: Option<u64>, options: &[String], mkfs: &[String]) -> Holds {
    let layout = || {
        mkfs_args::parse(kind, mkfs)
            .ok()
            .and_then(|p| mkfs_args::layout(kind, &p).ok())
    };
    match kind {
        TargetKind::Ext4 => {
            let s = size.unwrap_or(GIB);
            let Some(l) = layout() else {
                return Holds {
                    inodes: None,
                    bytes: Some(s),
                    what: format!("ext4, {}", format_size(s)),
                    more_inodes: "",
                };
            };
            // The stock small and floppy types use 1 KiB blocks.
            let bs = l
                .block_size
                .unwrap_or(if s < 512 * MIB { 1024 } else { 4096 });
            let groups = s.div_ceil(8 * bs * bs).max(1);
            let slack = groups.saturating_mul(bs / 128);
            let (base, how) = match (l.inodes, l.inode_ratio) {
                (Some(n), _) => (n, format!("mkfs -N {n}")),
                (None, Some(r)) => (s / r, format!("mkfs -i {r}: one inode per {r} bytes")),
                (None, None) => {
                    let r = ext4_inode_ratio(s);
                    (s / r, format!("one inode per {r} bytes"))
                }
            };
            Holds {
                // Inodes 1 to 11 are reserved or lost+found.
                inodes: (!l.other).then(|| base.saturating_add(slack).saturating_sub(11)),
                bytes: Some(s),
                what: format!("ext4, {}, {how}", format_size(s)),
                more_inodes: "a larger `size`, or more inodes with `mkfs: [-N, COUNT]`",
            }
        }
        TargetKind::Xfs => {
            let s = size.unwrap_or(GIB);
            let l = layout();
            let s = l.and_then(|l| l.data_size).map_or(s, |d| d.min(s));
            // Inodes may take at most maxpct of the space (25 % by default
            // below 1 TiB, less above; 0 means no limit), 512 bytes each
            // (256 with crc=0).
            let inodes = l.map(|l| {
                let pct = match l.inode_max_pct {
                    Some(0) => 100,
                    Some(p) => p,
                    None => 25,
                };
                let isize = l.inode_size.unwrap_or(if l.other { 256 } else { 512 });
                s / 100 * pct / isize
            });
            Holds {
                inodes,
                bytes: Some(s),
                what: format!(
                    "xfs, {}, inodes in at most {}% of it",
                    format_size(s),
                    l.and_then(|l| l.inode_max_pct)
                        .map_or(25, |p| if p == 0 { 100 } else { p })
                ),
                more_inodes: "a larger `size`, or `mkfs: [-i, maxpct=50]`",
            }
        }
        TargetKind::Tmpfs => {
            let value = |key: &str| {
                options
                    .iter()
                    .rev()
                    .find_map(|o| o.strip_prefix(key)?.strip_prefix('='))
            };
            let nr_inodes = value("nr_inodes")
                .and_then(kernel_number)
                .filter(|n| *n > 0);
            // A page is at most 64 KiB, whatever the machine.
            let bytes = size
                .or_else(|| value("size").and_then(kernel_number))
                .or_else(|| {
                    value("nr_blocks")
                        .and_then(kernel_number)
                        .filter(|n| *n > 0)
                        .map(|n| n.saturating_mul(64 * KIB))
                });
            Holds {
                // The root directory takes one.
                inodes: nr_inodes.map(|n| n - 1),
                bytes,
                what: match nr_inodes {
                    Some(n) => format!("tmpfs, nr_inodes={n}"),
                    None => "tmpfs".to_string(),
                },
                more_inodes: "a larger `nr_inodes=`",
            }
        }
        _ => Holds {
            inodes: None,
            bytes: None,
            what: String::new(),
            more_inodes: "",
        },
    }
}

/// What target `t` holds: an overlay's is its upper filesystem's (its
/// lower layers lie on the host's disk, under the run's scratch area).
fn target_holds(t: &TargetSpec) -> Holds {
    match (t.upper(), t.kind) {
        (Some(u), TargetKind::Overlay) => {
            let mut h = fs_holds(u.kind, u.size, &u.options, &u.mkfs);
            h.what = format!("its upper filesystem: {}", h.what);
            h
        }
        (None, TargetKind::Overlay) => fs_holds(TargetKind::Hostpath, None, &[], &[]),
        // A claim of `size` holds at most that (its filesystem, less).
        (_, TargetKind::Volume) => Holds {
            inodes: None,
            bytes: t.size(),
            what: format!("a claim of {}", format_size(t.size().unwrap_or(0))),
            more_inodes: "",
        },
        // kubelet evicts a pod whose emptyDir passes its sizeLimit.
        (_, TargetKind::Emptydir) => match &t.params {
            crate::scenario::TargetParams::Emptydir(e) => Holds {
                inodes: None,
                bytes: e.size_limit,
                what: e.size_limit.map_or_else(String::new, |l| {
                    format!("an emptyDir whose sizeLimit is {}", format_size(l))
                }),
                more_inodes: "",
            },
            _ => fs_holds(t.kind, None, &[], &[]),
        },
        _ => fs_holds(t.kind, t.size(), &t.options, t.mkfs()),
    }
}

/// More files than any target holds (2^32): before its clock a cell would
/// take days making them, and wpbench keeps each name in memory.
pub(in crate::scenario) const MAX_FILES: u64 = 1 << 32;

/// Files and bytes a workload makes before its clock starts must fit in
/// every target it runs on, where the scenario tells what the target holds
/// (ext4 and xfs by their size and mkfs arguments; tmpfs by `size` and
/// `nr_inodes=`; an overlay by its upper; a hostPath or a default tmpfs
/// depend on the host and are left to the run). Reported once per workload,
/// at the key to change, naming the targets.
pub(super) fn check_room(
    cx: &mut Ctx,
    targets: &[(TargetSpec, At)],
    workloads: &[(WorkloadSpec, At)],
) {
    let holds: Vec<Holds> = targets.iter().map(|(t, _)| target_holds(t)).collect();
    for (w, wpath) in workloads {
        let mut short: Vec<String> = Vec::new();
        let mut key = "files";
        let mut too_many = false;
        for ((t, _), h) in targets.iter().zip(&holds) {
            let Some(b) = w.params.before_clock(&CellShape::of(w, None, t)) else {
                continue;
            };
            let (inodes, bytes, how) = (b.inodes, b.files * u128::from(b.size.min), b.how);
            key = b.key;
            if inodes > u128::from(MAX_FILES) {
                if !too_many {
                    too_many = true;
                    short.push(format!(
                        "this makes {inodes} ({how}), more than the {MAX_FILES} files any \
                         target can hold (ext4 numbers inodes in 32 bits, a tmpfs inode takes \
                         RAM, and wpbench keeps every name in memory); give fewer files"
                    ));
                }
                continue;
            }
            let problem = match (h.inodes, h.bytes) {
                (Some(max), _) if inodes > u128::from(max) => Some(format!(
                    "target `{}` ({}) has room for at most {max} files and directories, \
                     and this makes {inodes} ({how}, and their directories); give fewer \
                     files, or the target {}",
                    t.name, h.what, h.more_inodes
                )),
                (_, Some(max)) if bytes > u128::from(max) => Some(format!(
                    "target `{}` ({}) holds at most {}, and this writes {} ({how}); give \
                     smaller or fewer files, or the target a larger size",
                    t.name,
                    h.what,
                    format_size(max),
                    u64::try_from(bytes).map_or("more than 16 EiB".into(), format_size)
                )),
                _ => None,
            };
            short.extend(problem);
        }
        if short.is_empty() {
            continue;
        }
        let more = match short.len() {
            n if n > 3 => format!(" (and {} more targets like it)", n - 3),
            _ => String::new(),
        };
        short.truncate(3);
        cx.err(
            &wpath.key(key),
            format!(
                "`{}` makes its files before its clock starts, and they cannot fit (the \
                 target is too small for them): {}{more}",
                w.name,
                short.join("; ")
            ),
        );
    }
}
