//! The device room: what the machine is and what reached its disks.
//!
//! `env` captures the environment a run measured (kernel, CPU, memory,
//! cgroup version, writeback sysctls) for result.json; `blockstat` reads
//! block-device counters before and after a cell, from which the bytes that
//! reached the device and the write amplification follow. Reading is kept
//! apart from parsing so the parsers are tested on literal kernel text.

pub mod blockstat;
pub mod env;
pub mod room;
