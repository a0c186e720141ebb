//! What one node's run needs: CPUs, memory, scratch disk.
//!
//! Targets are fresh per cell and cells run one at a time, so the peak is
//! the largest single target, plus every `reuse: true` target (kept for
//! the whole run). Bounds, not measurements: an image is sparse and a
//! tmpfs only spends what is written, but a workload may fill either.

use crate::scenario::{FaultKind, Scenario, TargetKind, TargetParams, TargetSpec};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
/// wpbench itself: histograms, interval logs, the result in memory.
const BASE_MEMORY: u64 = 256 * MIB;
/// The results emptyDir and slack on the scratch disk.
const BASE_DISK: u64 = 256 * MIB;
/// A tmpfs without `size:` may grow to half the RAM; this is what the
/// estimate assumes instead (give `size:` to bound it).
pub const UNSIZED_TMPFS: u64 = GIB;
/// What an emptyDir without `size_limit`, or the container's layer, is
/// assumed to take.
pub const UNSIZED_POD_STORAGE: u64 = GIB;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    /// Whole CPUs to request: the most threads of any workload, +1 for a
    /// noisy neighbour, +1 for wpbench's own threads.
    pub cpu: u32,
    /// A noisy_neighbor fault is in the scenario.
    pub noisy: bool,
    /// tmpfs bytes (tmpfs targets, tmpfs overlay uppers, thin pools) alive at once.
    pub tmpfs: u64,
    /// Memory to request and limit: [`BASE_MEMORY`] + `tmpfs`.
    pub memory: u64,
    /// Loop images and overlay lower layers alive at once in the scratch area.
    pub disk: u64,
    /// Ephemeral storage to request: [`BASE_DISK`] + `disk`.
    pub ephemeral: u64,
}

/// (memory, disk) one target holds while it exists.
fn footprint(s: &Scenario, t: &TargetSpec) -> (u64, u64) {
    let thin_pool = s
        .faults
        .iter()
        .any(|f| f.kind == FaultKind::Eio && t.selected_by(&f.target));
    let fs = |kind: TargetKind, size: Option<u64>| -> (u64, u64) {
        match kind {
            TargetKind::Tmpfs => (size.unwrap_or(UNSIZED_TMPFS), 0),
            // A thin pool keeps the image in a tmpfs instead of on disk.
            TargetKind::Ext4 | TargetKind::Xfs if thin_pool => (size.unwrap_or(GIB), 0),
            TargetKind::Ext4 | TargetKind::Xfs => (0, size.unwrap_or(GIB)),
            // Pod storage is sized by its params: see below.
            TargetKind::Overlay
            | TargetKind::Hostpath
            | TargetKind::Volume
            | TargetKind::Emptydir
            | TargetKind::Rootfs => (0, 0),
        }
    };
    match t.kind {
        TargetKind::Overlay => {
            let (mem, mut disk) = t.upper().map_or((0, 0), |u| fs(u.kind, u.size));
            if let Some(l) = t.lower() {
                // The lower layers are written to the scratch area.
                disk += l
                    .files
                    .saturating_mul(l.file_size.max)
                    .saturating_mul(u64::from(l.layers.max(1)));
            }
            (mem, disk)
        }
        // An emptyDir counts against the pod's memory (`medium: Memory`)
        // or its ephemeral storage, as the container's own layer does; a
        // size_limit bounds it, else the run may fill [`UNSIZED_POD_STORAGE`].
        TargetKind::Emptydir => match &t.params {
            TargetParams::Emptydir(e) if e.memory => {
                (e.size_limit.unwrap_or(UNSIZED_POD_STORAGE), 0)
            }
            TargetParams::Emptydir(e) => (0, e.size_limit.unwrap_or(UNSIZED_POD_STORAGE)),
            _ => (0, 0),
        },
        TargetKind::Rootfs => (0, UNSIZED_POD_STORAGE),
        // A hostPath writes to the host's disk, outside the pod's storage,
        // and a claim is storage of its own.
        kind => fs(kind, t.size()),
    }
}

pub fn estimate(s: &Scenario) -> Estimate {
    let (mut fresh, mut kept) = ((0u64, 0u64), (0u64, 0u64));
    for t in &s.targets {
        let (m, d) = footprint(s, t);
        if t.reuse {
            kept = (kept.0.saturating_add(m), kept.1.saturating_add(d));
        } else {
            fresh = (fresh.0.max(m), fresh.1.max(d));
        }
    }
    let tmpfs = fresh.0.saturating_add(kept.0);
    let disk = fresh.1.saturating_add(kept.1);
    let noisy = s.faults.iter().any(|f| f.kind == FaultKind::NoisyNeighbor);
    let threads = s.workloads.iter().map(|w| w.threads).max().unwrap_or(1);
    Estimate {
        cpu: threads.saturating_add(1 + u32::from(noisy)),
        noisy,
        tmpfs,
        memory: BASE_MEMORY.saturating_add(tmpfs),
        disk,
        ephemeral: BASE_DISK.saturating_add(disk),
    }
}
