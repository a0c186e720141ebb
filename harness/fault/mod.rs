//! The fault room: what goes wrong on purpose, one file per kind, and the
//! verifier that tells what survived.
//!
//! - [`shutdown`]: a power cut — the shutdown ioctl, behind the guard that
//!   it only ever hits a loop device this run attached.
//! - [`crash`]: after a power cut, the remount and the verdict per trial.
//! - [`verify`]: after the remount, every acknowledged write against what
//!   is on disk.
//! - [`throttle`]: a cgroup with block-I/O limits on the target's loop
//!   device (v1 `blkio.throttle.*` or v2 `io.max`), emulating a slower
//!   volume class; the workload's threads are moved into it.
//! - [`noisy`]: a paced background writer on the same device (another
//!   tenant of the disk).
//! - [`eio`]: a thin-provisioned volume running dry — the loop image on a
//!   capped tmpfs — with the fsyncgate probe and the filesystem's reaction.
//! - [`enospc`]: a full filesystem — filled before the cell, or its own
//!   size the limit.
//! - [`outcome`]: each fault's entry in result.json, typed by kind.
//! - [`timeline`]: armed / fired / healed, on the interval log's time axis.

pub mod crash;
pub mod eio;
pub mod enospc;
pub mod noisy;
pub mod outcome;
pub mod shutdown;
pub mod throttle;
pub mod timeline;
pub mod verify;
