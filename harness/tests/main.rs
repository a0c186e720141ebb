//! wpbench's integration tests: one binary, real mounts, real files.
//!
//! Tests that need root check for it: on a developer laptop they print why
//! they skip; in CI (CI=true) a missing privilege fails them.

mod support;

mod cleanup;
mod faults;
mod fixtures;
mod gates;
mod hlog;
mod k8s;
mod merge;
mod production;
mod report;
mod run;
mod targets;
mod validate;
mod workloads;
