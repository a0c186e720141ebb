//! The fault room: what goes wrong on purpose, one file per kind, and the
//! verifier that tells what survived.
//!
//! - [`shutdown`]: a power cut — the shutdown ioctl, behind the guard that
//!   it only ever hits a loop device this run attached.
//! - [`verify`]: after the remount, every acknowledged write against what
//!   is on disk.
//! - [`throttle`]: a cgroup with block-I/O limits on the target's loop
//!   device (v1 `blkio.throttle.*` or v2 `io.max`), emulating a slower
//!   volume class; the workload's threads are moved into it.
//! - [`noisy`]: a paced background writer on the same device (another
//!   tenant of the disk).

pub mod noisy;
pub mod shutdown;
pub mod throttle;
pub mod verify;
