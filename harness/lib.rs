//! wpbench: a write-path benchmarking and fault-injection harness for
//! container storage. The data flow (see DESIGN.md):
//! scenario → plan → target × workload → engine/record → result → report.

pub mod analysis;
pub mod cancel;
pub mod cli;
pub mod device;
pub mod engine;
pub mod error;
pub mod fault;
pub mod glob;
pub mod guardian;
pub mod k8s;
pub mod record;
pub mod report;
pub mod result;
pub mod rundir;
pub mod scenario;
pub mod target;
#[doc(hidden)]
pub mod testing;
pub mod workload;
