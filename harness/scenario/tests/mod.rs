//! Loader tests: each asserts where an error is reported and what it says.

use std::path::Path;
use std::time::Duration;

use super::*;

mod basics;
mod bounds;
mod compare;
mod faults;
mod gates;
mod overrides;
mod pod_storage;
mod targets;
mod vary;
mod workloads;

fn load(text: &str) -> Result<Scenario, Diagnostics> {
    load_str(text, Path::new("s.yaml"))
}

fn ok(text: &str) -> Scenario {
    match load(text) {
        Ok(s) => s,
        Err(d) => panic!("expected a valid scenario, got:\n{d}"),
    }
}

fn errs(text: &str) -> Vec<Diagnostic> {
    match load(text) {
        Ok(_) => panic!("expected errors, the scenario loaded"),
        Err(d) => d.0,
    }
}

/// Asserts one diagnostic has this key, location and message fragment.
#[track_caller]
fn expect(diags: &[Diagnostic], line: usize, col: usize, key: &str, fragment: &str) {
    let found = diags
        .iter()
        .any(|d| d.line == line && d.column == col && d.key == key && d.message.contains(fragment));
    assert!(
        found,
        "no diagnostic {line}:{col} `{key}` containing {fragment:?}; got:\n{}",
        Diagnostics(diags.to_vec())
    );
}

/// A valid scenario with the given workload and target lines appended.
fn with(targets: &str, workloads: &str) -> String {
    format!(
        "version: 1\nname: t\ntargets:\n  - {{name: tmp, kind: tmpfs}}\n{targets}workloads:\n  - {{name: w, kind: small_files}}\n{workloads}"
    )
}

const DESIGN_EXAMPLE: &str = r#"version: 1
name: quickstart
description: small files, WAL and task logs on tmpfs, ext4 and overlay
seed: 42              # same seed → same operation sequence and payloads
duration: 5s          # per cell; or `ops: 100000`
warmup: 1s
repeat: 3             # repetitions, interleaved (A B C A B C) so drift cancels
targets:
  - name: tmpfs
    kind: tmpfs
    size: 1GiB
    options: [noatime]
  - name: ext4
    kind: ext4
    size: 2GiB
    mkfs: [-N, "20000"]                      # optional extra mkfs arguments
    options: [data=writeback, noatime]
    vary:                                    # expands into one target per value
      options: [[relatime], [noatime], [strictatime]]
  - name: overlay
    kind: overlay
    upper: {kind: ext4, size: 2GiB, options: [noatime]}  # base fs of upperdir+workdir
    lower: {files: 1000, file_size: 64KiB, dirs: 10}     # image layer, populated before the run
    options: [metacopy=on, index=off]
  - name: hostpath
    kind: hostpath
    path: /var/tmp/wpbench                   # wpbench works in a fresh subdirectory of it
    options: [noatime]                       # per-bind-mount flags only
workloads:
  - name: small-files
    kind: small_files
    threads: 4
    file_size: 4KiB
    files_per_dir: 1000
    fsync: always          # always | never | end | on_close | {every: 8} | {interval: 100ms}
    sync_call: fsync       # fsync | fdatasync | sync_file_range | o_dsync | o_sync
    fsync_dir: false
  - name: wal
    kind: fsync_heavy
    record_size: 4KiB
    fsync: always
    sync_call: fdatasync
  - name: task-logs
    kind: log_append
    threads: 8
    line_size: 120B..400B  # a range draws uniformly with the seed
    file_size: 100KiB..300KiB   # one task's log; then closed and a new task begins
    rate: 2000/s           # per thread; open loop, latency measured from the intended start
    fsync: on_close
faults:
  - kind: crash            # power cut: shutdown ioctl, remount, verify
    target: ext4
    workload: wal
    at: 1s..3s
    trials: 10
gates:
  - select: {target: ext4*, workload: wal, op: fdatasync}   # DESIGN.md says `op: fsync`, which `wal` (sync_call: fdatasync) never records
    p95: 2ms
    p99: 5ms
  - select: {workload: small-files, op: file}
    throughput: 500/s
  - select: {fault: crash}
    acked_lost: 0
  - baseline: {max_regression: 10%}   # applies when a baseline is given
"#;

/// A valid scenario whose only workload is this block (starting at line 5).
fn one(workload: &str) -> String {
    format!("version: 1\nname: t\ntargets:\n  - {{name: tmp, kind: tmpfs}}\nworkloads:\n{workload}")
}

/// A gate's fail-level limits.
fn fails(g: &GateSpec) -> Vec<Limit> {
    g.limits
        .iter()
        .filter(|l| l.level == Level::Fail)
        .map(|l| l.limit)
        .collect()
}

/// Loads `text` and asserts it is refused by one diagnostic at this place,
/// quickly (a loose bound against anything quadratic).
#[track_caller]
fn refused_quickly(text: &str, line: usize, col: usize, key: &str, fragment: &str) {
    let started = std::time::Instant::now();
    let d = errs(text);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(d.len(), 1, "{}", Diagnostics(d.clone()));
    expect(&d, line, col, key, fragment);
}

/// Loads a scenario with these targets, workloads, faults and gates
/// (each a list of YAML flow items) and returns its diagnostics.
fn gated(targets: &[&str], workloads: &[&str], faults: &[&str], gates: &[&str]) -> Vec<Diagnostic> {
    let list = |items: &[&str]| {
        items
            .iter()
            .map(|i| format!("  - {i}\n"))
            .collect::<String>()
    };
    let text = format!(
        "version: 1\nname: t\nduration: 5s\ntargets:\n{}workloads:\n{}faults:\n{}gates:\n{}",
        list(targets),
        list(workloads),
        list(faults),
        list(gates)
    );
    match load(&text) {
        Ok(_) => Vec::new(),
        Err(d) => d.0,
    }
}

fn ok_with(text: &str, o: &Overrides) -> Scenario {
    match check::load_str(text, Path::new("s.yaml"), o, &super::NoHost) {
        Ok(s) => s,
        Err(d) => panic!("expected a valid scenario, got:\n{d}"),
    }
}

fn errs_with(text: &str, o: &Overrides) -> Vec<Diagnostic> {
    match check::load_str(text, Path::new("s.yaml"), o, &super::NoHost) {
        Ok(_) => panic!("expected errors, the scenario loaded"),
        Err(d) => d.0,
    }
}
