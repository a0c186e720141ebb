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
//!
//! Not yet wired into scenarios (the `device:` key, `power_loss` faults).

pub mod cache;
pub mod daemon;
pub mod model;
#[cfg(test)]
mod tests;

pub use daemon::{Counters, EmulatedDevice, PowerLossOutcome};
pub use model::{CacheModel, DeviceModel};
