//! wpbench's integration tests: one binary, real mounts, real files.
//!
//! Tests that need root or a program are `#[ignore = "needs …"]`: plain
//! `cargo test` lists them as ignored with their reason; `cargo test --
//! --include-ignored` (what .ci/run does, as root) runs them, and each
//! first calls `require`, which fails it when what it needs is missing.

mod support;

mod cleanup;
mod emulated;
mod exec;
mod faults;
mod fixtures;
mod gates;
mod hlog;
mod k8s;
mod merge;
mod pod_storage;
mod production;
mod replay;
mod report;
mod run;
mod series;
mod targets;
mod validate;
mod workloads;
