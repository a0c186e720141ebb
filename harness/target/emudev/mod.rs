//! The emulated block device: a loop device's backing image served by a
//! FUSE daemon of wpbench's own, so that every request of the filesystem
//! above — reads, writes, flushes — can be delayed, throttled and, at a
//! power cut, lost the way a real disk with a volatile write cache loses
//! it. This machine has no device-mapper, nbd, ublk or null_blk; FUSE and
//! a loop device attached with direct I/O give what dm-delay and
//! dm-log-writes give xfstests.
//!
//! - [`model`]: the device model (latency, token buckets that never charge
//!   a flush) and the time a request completes — pure.
//! - [`cache`]: the volatile write cache (reads over it, flush, destaging,
//!   what survives a power loss) — pure.
//! - [`daemon`]: the FUSE file system serving one file, and
//!   [`EmulatedDevice`], the handle that mounts, serves and unmounts it.
//! - [`log`]: the write log (every write's bytes and every flush, in the
//!   order received), and [`states`]: which crash states to build from it
//!   — pure; [`overlay`]: the copy-on-write view a crash state is served
//!   through — pure.
//!
//! A scenario asks for one with `device:` on an ext4 or xfs target (or an
//! overlay's upper); a `power_loss` fault cuts its power, or with `states`
//! explores the crash states of its write log.

pub mod cache;
pub mod daemon;
pub mod log;
pub mod model;
pub mod overlay;
pub mod states;
#[cfg(test)]
mod tests;

pub use daemon::{Counters, EmulatedDevice, PowerLossOutcome};
pub use model::{CacheModel, DeviceModel};

/// The model a scenario's `device:` asks for.
impl From<&crate::scenario::device::DeviceSpec> for DeviceModel {
    fn from(d: &crate::scenario::device::DeviceSpec) -> DeviceModel {
        use crate::scenario::device::DeviceCache;
        DeviceModel {
            latency: (d.latency.min, d.latency.max),
            write_iops: d.write_iops,
            read_iops: d.read_iops,
            write_bps: d.write_bps,
            read_bps: d.read_bps,
            flush_latency: d.flush_latency,
            cache: match d.cache {
                DeviceCache::WriteThrough => CacheModel::WriteThrough,
                DeviceCache::Volatile {
                    size,
                    destage_after,
                } => CacheModel::Volatile {
                    size,
                    destage_after,
                },
            },
        }
    }
}

/// A cell's note saying what the emulated device was.
pub fn describe(d: &crate::scenario::device::DeviceSpec) -> String {
    use crate::scenario::device::DeviceCache;
    use crate::scenario::units::{format_duration_exact as format_duration, format_size};
    let per_s = |iops: Option<u32>, bps: Option<u64>| match (iops, bps) {
        (None, None) => "unlimited".to_string(),
        (i, b) => [
            i.map(|i| format!("{i} IOPS")),
            b.map(|b| format!("{}/s", format_size(b))),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", "),
    };
    format!(
        "emulated device{}: writes {}, reads {}; latency {}..{} a request, flushes {} and never \
         charged; {}",
        d.profile.map(|p| format!(" ({p})")).unwrap_or_default(),
        per_s(d.write_iops, d.write_bps),
        per_s(d.read_iops, d.read_bps),
        format_duration(d.latency.min),
        format_duration(d.latency.max),
        format_duration(d.flush_latency),
        match d.cache {
            DeviceCache::WriteThrough => "write-through cache".to_string(),
            DeviceCache::Volatile {
                size,
                destage_after,
            } => format!(
                "a volatile cache of {} written back after {}",
                format_size(size),
                format_duration(destage_after)
            ),
        }
    )
}
