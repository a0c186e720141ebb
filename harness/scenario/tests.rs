//! Loader tests: each asserts where an error is reported and what it says.

use std::path::Path;
use std::time::Duration;

use super::*;

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

#[test]
fn design_example_loads_with_every_key() {
    let s = ok(DESIGN_EXAMPLE);
    assert_eq!(s.name, "quickstart");
    assert_eq!(s.seed, 42);
    assert_eq!(s.stop, Stop::Duration(Duration::from_secs(5)));
    assert_eq!(s.warmup, Duration::from_secs(1));
    assert_eq!(s.repeat, 3);
    assert_eq!(s.sha256.len(), 64);
    let names: Vec<&str> = s.targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "tmpfs",
            "ext4[relatime]",
            "ext4[noatime]",
            "ext4[strictatime]",
            "overlay",
            "hostpath"
        ]
    );
    let ext4 = &s.targets[1];
    assert_eq!(ext4.base_name, "ext4");
    assert_eq!(ext4.options, ["data=writeback", "relatime"]);
    assert_eq!(ext4.mkfs, ["-N", "20000"]);
    assert_eq!(ext4.size, Some(2 << 30));
    assert_eq!(s.targets[2].options, ["data=writeback", "noatime"]);
    let overlay = &s.targets[4];
    let upper = overlay.upper.as_ref().unwrap();
    assert_eq!((upper.kind, upper.size), (TargetKind::Ext4, Some(2 << 30)));
    let lower = overlay.lower.as_ref().unwrap();
    assert_eq!((lower.files, lower.dirs, lower.layers), (1000, 10, 1));
    assert_eq!(lower.file_size, SizeRange::fixed(64 << 10));
    assert_eq!(overlay.options, ["metacopy=on", "index=off"]);
    assert_eq!(
        s.targets[5].path.as_deref(),
        Some(Path::new("/var/tmp/wpbench"))
    );

    let sf = &s.workloads[0];
    assert_eq!(
        (sf.threads, sf.fsync, sf.sync_call),
        (4, SyncPolicy::Always, SyncCall::Fsync)
    );
    let wal = &s.workloads[1];
    assert_eq!(wal.sync_call, SyncCall::Fdatasync);
    assert_eq!(
        wal.params,
        WorkloadParams::FsyncHeavy {
            record_size: SizeRange::fixed(4096),
            file_size: 64 << 20
        }
    );
    let logs = &s.workloads[2];
    assert_eq!(logs.rate, Some(2000.0));
    assert_eq!(logs.fsync, SyncPolicy::OnClose);
    assert_eq!(
        logs.params,
        WorkloadParams::LogAppend {
            line_size: SizeRange { min: 120, max: 400 },
            file_size: SizeRange {
                min: 100 << 10,
                max: 300 << 10
            },
            retain: 10,
            open_tasks: 1
        }
    );

    let crash = &s.faults[0];
    assert_eq!((crash.kind, crash.trials), (FaultKind::Crash, 10));
    assert_eq!(crash.at.unwrap().max, Duration::from_secs(3));

    assert_eq!(s.gates.len(), 4);
    assert_eq!(s.gates[0].select.target.as_deref(), Some("ext4*"));
    assert_eq!(
        fails(&s.gates[0]),
        [
            Limit::Latency {
                stat: LatencyStat::P95,
                max: Duration::from_millis(2)
            },
            Limit::Latency {
                stat: LatencyStat::P99,
                max: Duration::from_millis(5)
            },
        ]
    );
    assert_eq!(
        fails(&s.gates[1]),
        [Limit::Throughput { min_per_sec: 500.0 }]
    );
    assert_eq!(fails(&s.gates[2]), [Limit::AckedLost { max: 0 }]);
    assert_eq!(s.gates[2].origin, "gates[2]");
    assert_eq!(s.gates[3].max_regression, Some(0.10));
}

#[test]
fn defaults_are_applied() {
    let s = ok(&with(
        "  - {name: e, kind: ext4}\n  - {name: o, kind: overlay, upper: {kind: tmpfs}}\n",
        "  - {name: wal, kind: fsync_heavy}\n  - {name: logs, kind: log_append}\n",
    ));
    assert_eq!(s.description, "");
    assert_eq!(s.seed, 0);
    assert_eq!(s.stop, Stop::Duration(Duration::from_secs(10)));
    assert_eq!(s.warmup, Duration::from_secs(1));
    assert_eq!(s.repeat, 1);
    assert!(s.faults.is_empty() && s.gates.is_empty());
    let [tmp, e, o] = &s.targets[..] else {
        panic!("three targets")
    };
    assert_eq!((tmp.size, tmp.options.len()), (None, 0));
    assert_eq!(e.size, Some(1 << 30));
    assert!(e.loop_dev.direct_io);
    let upper = o.upper.as_ref().unwrap();
    assert_eq!((upper.kind, upper.size), (TargetKind::Tmpfs, None));
    let lower = o.lower.as_ref().unwrap();
    assert_eq!((lower.files, lower.dirs, lower.layers), (0, 1, 1));
    assert_eq!(lower.file_size, SizeRange::fixed(4096));

    let [w, wal, logs] = &s.workloads[..] else {
        panic!("three workloads")
    };
    assert_eq!((w.threads, w.rate, w.fsync_dir), (1, None, false));
    assert_eq!((w.fsync, w.sync_call), (SyncPolicy::Never, SyncCall::Fsync));
    assert_eq!(
        w.params,
        WorkloadParams::SmallFiles {
            file_size: SizeRange::fixed(4096),
            files_per_dir: 1000
        }
    );
    assert_eq!(
        (wal.fsync, wal.sync_call),
        (SyncPolicy::Always, SyncCall::Fdatasync)
    );
    assert_eq!(
        logs.params,
        WorkloadParams::LogAppend {
            line_size: SizeRange { min: 120, max: 400 },
            file_size: SizeRange {
                min: 100 << 10,
                max: 300 << 10
            },
            retain: 10,
            open_tasks: 1
        }
    );
}

#[test]
fn typo_key_suggests_nearest() {
    let d = errs("version: 1\nname: t\ntargets: [{name: a, kind: tmpfs}]\nworkloads:\n  - name: w\n    kind: small_files\n    fsnyc: always\n");
    expect(
        &d,
        7,
        5,
        "workloads[0].fsnyc",
        "unknown key `fsnyc`, did you mean `fsync`?",
    );
    assert_eq!(d.len(), 1);
    assert_eq!(
        d[0].to_string(),
        "s.yaml:7:5: `workloads[0].fsnyc`: unknown key `fsnyc`, did you mean `fsync`?"
    );
    // Far from everything: list what is valid.
    let d = errs(&with("", "    zzzzzzzzzz: 1\n").replace(
        "  - {name: w, kind: small_files}\n",
        "  - name: w\n    kind: small_files\n",
    ));
    expect(
        &d,
        8,
        5,
        "workloads[0].zzzzzzzzzz",
        "expected one of: name, kind, threads",
    );
    // Top level too.
    let d = errs(&format!("{}warmpu: 1s\n", with("", "")));
    expect(&d, 7, 1, "warmpu", "did you mean `warmup`?");
}

#[test]
fn unknown_kind_suggests() {
    let d = errs("version: 1\nname: t\ntargets: [{name: a, kind: tmpfs}]\nworkloads:\n  - name: w\n    kind: smal_files\n");
    expect(
        &d,
        6,
        5,
        "workloads[0].kind",
        "unknown value `smal_files`, did you mean `small_files`?",
    );
    let d = errs("version: 1\nname: t\ntargets: [{name: a, kind: ext5}]\nworkloads: [{name: w, kind: small_files}]\n");
    expect(&d, 3, 21, "targets[0].kind", "did you mean `ext4`?");
}

#[test]
fn missing_units() {
    let d = errs("version: 1\nname: t\nduration: 5\ntargets: [{name: a, kind: tmpfs}]\nworkloads: [{name: w, kind: small_files}]\n");
    expect(&d, 3, 1, "duration", "`5` has no unit; write e.g. `5s`");
    let d = errs(&with("  - name: e\n    kind: ext4\n    size: 1024\n", ""));
    expect(&d, 7, 5, "targets[1].size", "`1024` has no unit");
    let d = errs(&with("", "  - {name: r, kind: log_append, rate: 2000}\n"));
    expect(
        &d,
        7,
        33,
        "workloads[1].rate",
        "`2000` has no unit; write e.g. `2000/s`",
    );
}

#[test]
fn sizes_held_in_one_buffer_are_capped() {
    let d = errs(&with(
        "",
        "  - name: m\n    kind: small_files\n    file_size: 4GiB\n",
    ));
    expect(
        &d,
        9,
        5,
        "workloads[1].file_size",
        "`4GiB` is over 1GiB: each one is written or read from one buffer in memory, per thread; use a size up to 1GiB",
    );
}

#[test]
fn a_number_for_a_name_lists_the_names() {
    let d = errs(&with(
        "",
        "  - name: m\n    kind: fsync_heavy\n    sync_call: 5\n",
    ));
    expect(
        &d,
        9,
        5,
        "workloads[1].sync_call",
        "invalid type: integer `5`, expected fsync, fdatasync, sync_file_range, o_dsync, o_sync or syncfs",
    );
}

#[test]
fn wrong_type_and_bad_values() {
    let d = errs(&with(
        "",
        "  - name: m\n    kind: small_files\n    threads: many\n",
    ));
    expect(
        &d,
        9,
        5,
        "workloads[1].threads",
        "invalid type: string \"many\", expected a whole number",
    );
    let d = errs(&with(
        "",
        "  - name: z\n    kind: small_files\n    threads: 0\n",
    ));
    expect(
        &d,
        9,
        5,
        "workloads[1].threads",
        "must be between 1 and 1024, not 0",
    );
    let d = errs(&with(
        "",
        "  - name: r\n    kind: log_append\n    line_size: 400B..120B\n",
    ));
    expect(&d, 9, 5, "workloads[1].line_size", "upside down");
    let d = errs("version: 1\nname: t\ntargets: 5\nworkloads: [{name: w, kind: small_files}]\n");
    expect(&d, 3, 1, "targets", "expected a list");
}

#[test]
fn open_tasks_is_a_bounded_log_append_key() {
    let s = ok(&with(
        "",
        "  - name: l\n    kind: log_append\n    open_tasks: 600\n    vary:\n      open_tasks: [1, 50]\n",
    ));
    let open: Vec<u32> = s.workloads[1..]
        .iter()
        .map(|w| match w.params {
            WorkloadParams::LogAppend { open_tasks, .. } => open_tasks,
            _ => panic!("log_append"),
        })
        .collect();
    assert_eq!(open, [1, 50], "vary overrides the base value");
    for (n, col) in [("0", 5), ("10001", 5)] {
        let d = errs(&with(
            "",
            &format!("  - name: l\n    kind: log_append\n    open_tasks: {n}\n"),
        ));
        expect(
            &d,
            9,
            col,
            "workloads[1].open_tasks",
            &format!("must be between 1 and 10000 task logs open per thread, not {n}"),
        );
    }
    let d = errs(&with(
        "",
        "  - name: l\n    kind: log_append\n    open_task: 4\n",
    ));
    expect(
        &d,
        9,
        5,
        "workloads[1].open_task",
        "did you mean `open_tasks`?",
    );
    let d = errs(&with(
        "",
        "  - {name: f, kind: small_files, open_tasks: 4}\n",
    ));
    expect(
        &d,
        7,
        34,
        "workloads[1].open_tasks",
        "not a key of small_files workloads; it belongs to log_append",
    );
}

#[test]
fn all_semantic_errors_are_collected() {
    let d = errs(&with(
        "  - {name: e, kind: ext4, options: [errors=panic]}\n",
        "  - {name: z, kind: small_files, threads: 0}\n  - {name: h, kind: fsync_heavy, record_size: 8B}\n",
    ));
    assert_eq!(d.len(), 3, "{}", Diagnostics(d.clone()));
    // In file order.
    assert!(d
        .windows(2)
        .all(|w| (w[0].line, w[0].column) <= (w[1].line, w[1].column)));
}

#[test]
fn key_of_another_kind_names_its_kind() {
    let d = errs(&with(
        "",
        "  - name: s\n    kind: small_files\n    record_size: 4KiB\n",
    ));
    expect(
        &d,
        9,
        5,
        "workloads[1].record_size",
        "`record_size` is not a key of small_files workloads; it belongs to fsync_heavy",
    );
    let d = errs(&with("  - {name: h, kind: tmpfs, mkfs: [-q]}\n", ""));
    expect(&d, 5, 28, "targets[1].mkfs", "it belongs to ext4 and xfs");
}

#[test]
fn options_are_refused() {
    let d = errs(&with(
        "  - name: e\n    kind: ext4\n    options: [noatime, errors=panic]\n",
        "",
    ));
    expect(
        &d,
        7,
        24,
        "targets[1].options[1]",
        "would panic the kernel on the first I/O error; use errors=remount-ro",
    );
    let d = errs(&with(
        "  - {name: e, kind: ext4, options: [\"noatime,nodev\"]}\n",
        "",
    ));
    expect(&d, 5, 37, "targets[1].options[0]", "contains a comma");
    let d = errs(&with(
        "  - name: o\n    kind: overlay\n    upper: {kind: tmpfs}\n    options: [upperdir=/etc]\n",
        "",
    ));
    expect(
        &d,
        8,
        15,
        "targets[1].options[0]",
        "wpbench sets upperdir= itself",
    );
    let d = errs(&with(
        "  - name: o\n    kind: overlay\n    upper: {kind: tmpfs, options: [lowerdir=/x]}\n",
        "",
    ));
    expect(
        &d,
        7,
        36,
        "targets[1].upper.options[0]",
        "wpbench sets lowerdir= itself",
    );
    let d = errs(&with(
        "  - {name: e, kind: ext4, options: [noatime, relatime]}\n",
        "",
    ));
    expect(&d, 5, 46, "targets[1].options[1]", "contradicts `noatime`");
    let d = errs(&with(
        "  - {name: e, kind: ext4, options: [journal_ioprio=1]}\n",
        "",
    ));
    expect(
        &d,
        5,
        37,
        "targets[1].options[0]",
        "ext4 never shows journal_ioprio",
    );
}

#[test]
fn mkfs_e_panic_is_refused_at_the_entry() {
    let d = errs(&with(
        "  - name: e\n    kind: ext4\n    mkfs: [-N, '100', -e, panic]\n",
        "",
    ));
    expect(
        &d,
        7,
        23,
        "targets[1].mkfs[2]",
        "`-e panic` makes errors=panic the filesystem's default",
    );
    let d = errs(&with("  - {name: e, kind: ext4, mkfs: [-qepanic]}\n", ""));
    expect(
        &d,
        5,
        34,
        "targets[1].mkfs[0]",
        "use -e remount-ro or -e continue",
    );
    // An overlay's upper goes through the same rule.
    let d = errs(&with(
        "  - name: o\n    kind: overlay\n    upper: {kind: ext4, mkfs: [-e, panic]}\n",
        "",
    ));
    expect(&d, 7, 32, "targets[1].upper.mkfs[0]", "errors=panic");
    // So does every value of a `vary`.
    let d = errs(&with(
        "  - name: e\n    kind: ext4\n    vary:\n      mkfs: [[-e, continue], [-e, panic]]\n",
        "",
    ));
    expect(&d, 8, 31, "targets[1].vary.mkfs[1][0]", "errors=panic");
    // The other mkfs rules apply at load time too.
    let d = errs(&with(
        "  - {name: e, kind: ext4, mkfs: [-F, /dev/vda]}\n",
        "",
    ));
    expect(
        &d,
        5,
        38,
        "targets[1].mkfs[1]",
        "wpbench gives mkfs its device itself",
    );
    let d = errs(&with(
        "  - {name: x, kind: xfs, mkfs: [-l, logdev=/dev/vdb]}\n",
        "",
    ));
    expect(&d, 5, 33, "targets[1].mkfs[0]", "names another device");
    let d = errs(&with("  - {name: e, kind: ext4, mkfs: [-e, stop]}\n", ""));
    expect(
        &d,
        5,
        34,
        "targets[1].mkfs[0]",
        "takes continue or remount-ro",
    );
    // Good ones load.
    load(&with(
        "  - {name: e, kind: ext4, mkfs: [-e, remount-ro, -N4096, -qF]}\n  - {name: x, kind: xfs, size: 320MiB, mkfs: [-m, reflink=0, -K]}\n",
        "",
    ))
    .unwrap();
}

#[test]
fn host_paths_are_refused() {
    let d = errs(&with("  - {name: h, kind: hostpath, path: /}\n", ""));
    expect(&d, 5, 31, "targets[1].path", "host's root");
    let d = errs(&with(
        "  - name: h\n    kind: hostpath\n    path: /etc/foo\n",
        "",
    ));
    expect(&d, 7, 5, "targets[1].path", "under /etc");
    let d = errs(&with("  - name: h\n    kind: hostpath\n", ""));
    expect(&d, 5, 5, "targets[1].path", "missing required key `path`");
    let d = errs(&with(
        "  - name: h\n    kind: hostpath\n    path: /var/tmp/x\n    options: [data=writeback]\n",
        "",
    ));
    expect(
        &d,
        8,
        15,
        "targets[1].options[0]",
        "`data=writeback` is a filesystem option",
    );
    // Asked through the target room's host, it names the filesystem
    // underneath, as /proc/self/mountinfo says.
    let text = with(
        "  - name: h\n    kind: hostpath\n    path: /var/tmp/x\n    options: [data=writeback]\n",
        "",
    );
    let host = crate::target::hostpath::MachineHost;
    let d = super::check::load_str(&text, Path::new("s.yaml"), &Overrides::default(), &host)
        .unwrap_err()
        .0;
    let entries = crate::target::mountinfo::read().unwrap();
    let real = std::path::Path::new("/var/tmp").canonicalize().unwrap();
    let under = crate::target::mountinfo::containing(&entries, &real).unwrap();
    expect(
        &d,
        8,
        15,
        "targets[1].options[0]",
        &format!(
            "/var/tmp/x lies on {} {} (mounted at {}, options ",
            under.fstype, under.source, under.mount_point
        ),
    );
    // With nothing to look at (a relative path), the message says where it belongs.
    let d = errs(&with(
        "  - {name: h, kind: hostpath, path: rel, options: [data=writeback]}\n",
        "",
    ));
    expect(
        &d,
        5,
        52,
        "targets[1].options[0]",
        "which a bind mount cannot change",
    );
    ok(&with(
        "  - {name: h, kind: hostpath, path: /var/tmp/x, options: [noatime, nodev]}\n",
        "",
    ));
}

#[test]
fn duration_and_ops_exclude_each_other() {
    let d = errs(&format!("{}duration: 5s\nops: 100\n", with("", "")));
    expect(&d, 8, 1, "ops", "give either `duration` or `ops`, not both");
    let s = ok(&format!("{}ops: 100\n", with("", "")));
    assert_eq!(s.stop, Stop::Ops(100));
    let d = errs(&format!("{}duration: 0s\n", with("", "")));
    expect(&d, 7, 1, "duration", "longer than 0s");
}

#[test]
fn open_flag_sync_needs_fsync_always() {
    let d = errs(&with(
        "",
        "  - name: d\n    kind: small_files\n    sync_call: o_dsync\n",
    ));
    expect(
        &d,
        9,
        5,
        "workloads[1].sync_call",
        "makes every write synchronous",
    );
    ok(&with(
        "",
        "  - {name: d, kind: small_files, sync_call: o_sync, fsync: always}\n",
    ));
}

#[test]
fn fsync_forms() {
    let s = ok(&with(
        "",
        "  - {name: a, kind: small_files, fsync: {every: 8}}\n  - {name: b, kind: small_files, fsync: {interval: 100ms}}\n  - {name: c, kind: small_files, fsync: end}\n",
    ));
    assert_eq!(s.workloads[1].fsync, SyncPolicy::Every(8));
    assert_eq!(
        s.workloads[2].fsync,
        SyncPolicy::Interval(Duration::from_millis(100))
    );
    assert_eq!(s.workloads[3].fsync, SyncPolicy::End);
    let d = errs(&with(
        "",
        "  - name: a\n    kind: small_files\n    fsync: alway\n",
    ));
    expect(&d, 9, 5, "workloads[1].fsync", "did you mean `always`?");
    let d = errs(&with(
        "",
        "  - name: a\n    kind: small_files\n    fsync: {every: 0}\n",
    ));
    expect(&d, 9, 13, "workloads[1].fsync.every", "at least 1");
    let d = errs(&with(
        "",
        "  - name: a\n    kind: small_files\n    fsync: {interval: 5}\n",
    ));
    expect(&d, 9, 13, "workloads[1].fsync.interval", "has no unit");
    let d = errs(&with(
        "",
        "  - name: a\n    kind: small_files\n    fsync: {evry: 5}\n",
    ));
    expect(&d, 9, 5, "workloads[1].fsync", "did you mean `every`?");
}

#[test]
fn vary_expands_targets_with_merged_options() {
    let s = ok(&with(
        "  - name: ext4\n    kind: ext4\n    options: [data=writeback, noatime]\n    vary:\n      options: [[relatime], [noatime, nobarrier]]\n",
        "",
    ));
    let t = &s.targets[1];
    assert_eq!(
        (t.name.as_str(), t.base_name.as_str()),
        ("ext4[relatime]", "ext4")
    );
    assert_eq!(t.options, ["data=writeback", "relatime"]);
    let t = &s.targets[2];
    assert_eq!(t.name, "ext4[noatime,nobarrier]");
    assert_eq!(t.options, ["data=writeback", "noatime", "nobarrier"]);
}

#[test]
fn vary_expands_workloads() {
    let s = ok(&with(
        "",
        "  - name: wal\n    kind: fsync_heavy\n    vary:\n      threads: [1, 4]\n      fsync: [always, {every: 8}]\n",
    ));
    let names: Vec<&str> = s.workloads.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "w",
            "wal[1,always]",
            "wal[1,every=8]",
            "wal[4,always]",
            "wal[4,every=8]"
        ]
    );
    assert_eq!(s.workloads[2].fsync, SyncPolicy::Every(8));
    assert_eq!(s.workloads[4].threads, 4);
    let s = ok(&with(
        "",
        "  - name: wal\n    kind: fsync_heavy\n    vary: {fsync: [{every: 8}]}\n",
    ));
    assert_eq!(s.workloads[1].name, "wal[every=8]");
}

#[test]
fn vary_errors_point_at_the_value() {
    let d = errs(&with(
        "  - name: e\n    kind: ext4\n    vary:\n      options: [[noatime], [relatime, errors=panic]]\n",
        "",
    ));
    expect(
        &d,
        8,
        39,
        "targets[1].vary.options[1][1]",
        "panic the kernel",
    );
    let d = errs(&with(
        "",
        "  - name: v\n    kind: small_files\n    vary:\n      threads: [1, 0]\n",
    ));
    expect(
        &d,
        10,
        20,
        "workloads[1].vary.threads[1]",
        "between 1 and 1024",
    );
    let d = errs(&with(
        "",
        "  - name: v\n    kind: small_files\n    vary:\n      threads: [1, lots]\n",
    ));
    expect(
        &d,
        10,
        20,
        "workloads[1].vary.threads[1]",
        "expected a whole number",
    );
    let d = errs(&with(
        "",
        "  - name: v\n    kind: small_files\n    vary:\n      record_size: [4KiB]\n",
    ));
    expect(
        &d,
        10,
        7,
        "workloads[1].vary.record_size",
        "belongs to fsync_heavy",
    );
    let d = errs(&with(
        "",
        "  - name: v\n    kind: small_files\n    vary:\n      name: [a, b]\n",
    ));
    expect(&d, 10, 7, "workloads[1].vary.name", "cannot be varied");
    let d = errs(&with(
        "",
        "  - name: v\n    kind: small_files\n    vary:\n      threads: 4\n",
    ));
    expect(
        &d,
        10,
        7,
        "workloads[1].vary.threads",
        "a list of at least one value",
    );
    let d = errs(&with(
        "",
        "  - name: v\n    kind: small_files\n    vary:\n      threads: [2, 2]\n",
    ));
    expect(&d, 7, 5, "workloads[1].name", "`v[2]` is used twice");
}

#[test]
fn names_are_unique_and_path_safe() {
    let d = errs(&with("  - {name: tmp, kind: tmpfs}\n", ""));
    expect(
        &d,
        5,
        6,
        "targets[1].name",
        "target name `tmp` is used twice (first at targets[0])",
    );
    let d = errs(&with("  - {name: \"a/b\", kind: tmpfs}\n", ""));
    expect(&d, 5, 6, "targets[1].name", "not a valid name");
    let d = errs(&with("  - {name: .., kind: tmpfs}\n", ""));
    expect(&d, 5, 6, "targets[1].name", "not a valid name");
    let d = errs("version: 1\nname: a b\ntargets: [{name: a, kind: tmpfs}]\nworkloads: [{name: w, kind: small_files}]\n");
    expect(&d, 2, 1, "name", "not a valid name");
}

#[test]
fn required_keys() {
    let d = errs("name: t\ntargets: []\n");
    expect(&d, 1, 1, "version", "missing required key `version`");
    expect(&d, 2, 1, "targets", "needs at least one target");
    expect(&d, 1, 1, "workloads", "missing required key `workloads`");
    let d = errs(&with("  - {kind: tmpfs}\n  - {name: x}\n", ""));
    expect(&d, 5, 5, "targets[1].name", "missing required key `name`");
    expect(&d, 6, 5, "targets[2].kind", "missing required key `kind`");
    let d = errs(&with("  - {name: o, kind: overlay}\n", ""));
    expect(&d, 5, 5, "targets[1].upper", "missing required key `upper`");
    let d = errs("version: 2\nname: t\ntargets: [{name: a, kind: tmpfs}]\nworkloads: [{name: w, kind: small_files}]\n");
    expect(&d, 1, 1, "version", "unsupported version 2");
}

#[test]
fn workload_size_rules() {
    let d = errs(&with(
        "",
        "  - {name: h, kind: fsync_heavy, record_size: 16B}\n",
    ));
    expect(&d, 7, 34, "workloads[1].record_size", "at least 32B");
    let d = errs(&with(
        "",
        "  - {name: h, kind: fsync_heavy, record_size: 4KiB, file_size: 6KiB}\n",
    ));
    expect(
        &d,
        7,
        53,
        "workloads[1].file_size",
        "twice the largest record (8KiB)",
    );
    let d = errs(&with(
        "",
        "  - {name: h, kind: fsync_heavy, file_size: 1MiB..2MiB}\n",
    ));
    expect(&d, 7, 34, "workloads[1].file_size", "not a range");
    let d = errs(&with(
        "",
        "  - {name: l, kind: log_append, line_size: 1KiB, file_size: 512B}\n",
    ));
    expect(
        &d,
        7,
        50,
        "workloads[1].file_size",
        "at least the largest line",
    );
    let d = errs(&with(
        "",
        "  - {name: h, kind: fsync_heavy, fsync_dir: true}\n",
    ));
    expect(
        &d,
        7,
        34,
        "workloads[1].fsync_dir",
        "belongs to small_files, log_append, metadata and sequence",
    );
}

#[test]
fn fault_rules() {
    let base = with(
        "  - {name: e, kind: ext4}\n  - {name: h, kind: hostpath, path: /var/tmp/x}\n",
        "",
    );
    let s = ok(&format!(
        "{base}faults:\n  - {{kind: crash, target: e, after_ops: 500}}\n  - {{kind: enospc, target: e}}\n"
    ));
    assert_eq!(s.faults[0].after_ops, Some(500));
    assert_eq!(
        (s.faults[1].target.as_str(), s.faults[1].workload.as_str()),
        ("e", "*"),
        "the workload glob defaults to every workload"
    );
    let d = errs(&format!(
        "{base}faults:\n  - kind: crash\n    target: e\n    at: 1s..20s\n"
    ));
    expect(&d, 12, 5, "faults[0].at", "must fire before the cell ends");
    let d = errs(&format!("{base}faults:\n  - kind: crash\n    target: e\n"));
    expect(&d, 10, 5, "faults[0].at", "a crash needs a moment");
    let d = errs(&format!(
        "{base}faults:\n  - kind: crash\n    target: h\n    at: 1s\n"
    ));
    expect(
        &d,
        11,
        5,
        "faults[0].target",
        "never shuts down a filesystem it did not create",
    );
    ok(&format!(
        "{base}faults:\n  - kind: crash\n    target: tmp\n    at: 1s\n"
    ));
    let d = errs(&format!(
        "{base}faults:\n  - kind: crash\n    target: ext\n    at: 1s\n"
    ));
    expect(&d, 11, 5, "faults[0].target", "`ext` matches no target");
    let d = errs(&format!("{base}faults:\n  - kind: eio\n    at: 1s\n"));
    expect(
        &d,
        11,
        5,
        "faults[0].at",
        "`at` is not a key of eio faults; it belongs to crash",
    );
    let d = errs(&format!("{base}faults:\n  - kind: crsh\n"));
    expect(&d, 10, 5, "faults[0].kind", "did you mean `crash`?");
}

#[test]
fn throttle_fault_keys() {
    let base = with("  - {name: e, kind: ext4}\n", "");
    // Lines: 1-5 header and targets, 6-7 workloads, 8 `faults:`, 9 the first fault.
    let s = ok(&format!(
        "{base}faults:\n  - {{kind: throttle, target: e, write_iops: 100, write_bps: 125MiB/s}}\n  - {{kind: throttle, target: e, profile: gp3-baseline, read_iops: 10}}\n"
    ));
    let t = s.faults[0].throttle.as_ref().unwrap();
    assert_eq!(
        (t.write_iops, t.write_bps, t.profile.as_deref()),
        (Some(100), Some(125 << 20), None)
    );
    assert!(s.faults[0].noisy.is_none());
    let l = crate::fault::throttle::resolve(s.faults[1].throttle.as_ref().unwrap());
    assert_eq!(
        (l.write_iops, l.write_bps, l.read_iops),
        (Some(3000), Some(125 << 20), Some(10))
    );

    let d = errs(&format!(
        "{base}faults:\n  - kind: throttle\n    target: e\n"
    ));
    expect(&d, 9, 5, "faults[0].kind", "needs at least one limit");
    let d = errs(&format!(
        "{base}faults:\n  - kind: throttle\n    profile: gp3-basline\n"
    ));
    expect(
        &d,
        10,
        5,
        "faults[0].profile",
        "did you mean `gp3-baseline`?",
    );
    let d = errs(&format!(
        "{base}faults:\n  - kind: throttle\n    write_bps: 125\n"
    ));
    expect(&d, 10, 5, "faults[0].write_bps", "has no unit");
    let d = errs(&format!(
        "{base}faults:\n  - kind: throttle\n    write_bps: 125MiB\n"
    ));
    expect(&d, 10, 5, "faults[0].write_bps", "write `125MiB/s`");
    let d = errs(&format!(
        "{base}faults:\n  - kind: throttle\n    write_iops: 0\n"
    ));
    expect(&d, 10, 5, "faults[0].write_iops", "must be at least 1");
    let d = errs(&format!(
        "{base}faults:\n  - kind: throttle\n    write_iops: 5\n    pattern: seq\n"
    ));
    expect(
        &d,
        11,
        5,
        "faults[0].pattern",
        "`pattern` is not a key of throttle faults; it belongs to noisy_neighbor",
    );
    let d = errs(&format!(
        "{base}faults:\n  - kind: throttle\n    write_iosp: 5\n"
    ));
    expect(
        &d,
        10,
        5,
        "faults[0].write_iosp",
        "did you mean `write_iops`?",
    );
    let d = errs(&format!(
        "{base}faults:\n  - kind: crash\n    at: 1s\n    write_iops: 5\n"
    ));
    expect(&d, 11, 5, "faults[0].write_iops", "it belongs to throttle");
}

#[test]
fn throttle_and_noisy_need_a_block_device() {
    let base = with(
        "  - {name: e, kind: ext4}\n  - {name: h, kind: hostpath, path: /var/tmp/x}\n  - {name: o, kind: overlay, upper: {kind: ext4}}\n  - {name: ot, kind: overlay, upper: {kind: tmpfs}}\n",
        "",
    );
    // Lines: 1-3 header, 4 tmp, 5 e, 6 h, 7 o, 8 ot, 9 workloads:, 10 w, 11 faults:, 12 first.
    let d = errs(&format!(
        "{base}faults:\n  - kind: throttle\n    target: tmp\n    write_iops: 5\n"
    ));
    expect(&d, 13, 5, "faults[0].target", "tmpfs has no device, so a");
    let d = errs(&format!(
        "{base}faults:\n  - kind: noisy_neighbor\n    target: ot\n    write_bps: 1MiB/s\n"
    ));
    expect(&d, 13, 5, "faults[0].target", "tmpfs has no device, so a");
    let d = errs(&format!(
        "{base}faults:\n  - kind: throttle\n    target: h\n    write_iops: 5\n"
    ));
    expect(
        &d,
        13,
        5,
        "faults[0].target",
        "never throttles the host's own disk",
    );
    // `*` selects the hostpath too.
    let d = errs(&format!(
        "{base}faults:\n  - kind: throttle\n    write_iops: 5\n"
    ));
    expect(
        &d,
        12,
        5,
        "faults[0].target",
        "never throttles the host's own disk",
    );
    // tmpfs plus a block target: the fault acts on the block one.
    ok(&format!(
        "{base}faults:\n  - {{kind: throttle, target: o, profile: azure-p10}}\n"
    ));
    let mixed = with("  - {name: e, kind: ext4}\n", "");
    let s = ok(&format!(
        "{mixed}faults:\n  - {{kind: throttle, write_iops: 5}}\n"
    ));
    assert_eq!(s.faults[0].target, "*");
    let s = ok(&format!(
        "{base}faults:\n  - {{kind: noisy_neighbor, target: h, write_bps: 1MiB/s}}\n  - {{kind: noisy_neighbor, target: o, write_bps: 1MiB/s}}\n"
    ));
    assert!(s.faults[0].noisy.is_some());
}

#[test]
fn noisy_neighbor_fault_keys() {
    let base = with("  - {name: e, kind: ext4}\n", "");
    let s = ok(&format!(
        "{base}faults:\n  - {{kind: noisy_neighbor, target: e, write_bps: 50MiB/s}}\n  - {{kind: noisy_neighbor, target: e, write_bps: 1MiB/s, fsync_every: 4MiB, pattern: random, file_size: 64MiB}}\n"
    ));
    let n = s.faults[0].noisy.unwrap();
    assert_eq!(
        n,
        NoisySpec {
            write_bps: 50 << 20,
            fsync_every: None,
            pattern: NoisyPattern::Seq,
            file_size: 1 << 30,
        }
    );
    assert!(s.faults[0].throttle.is_none());
    let n = s.faults[1].noisy.unwrap();
    assert_eq!(
        (n.fsync_every, n.pattern, n.file_size),
        (Some(4 << 20), NoisyPattern::Random, 64 << 20)
    );
    let d = errs(&format!("{base}faults:\n  - kind: noisy_neighbor\n"));
    expect(&d, 9, 5, "faults[0].kind", "needs `write_bps`");
    let d = errs(&format!(
        "{base}faults:\n  - kind: noisy_neighbor\n    write_bps: 1MiB/s\n    pattern: randm\n"
    ));
    expect(&d, 11, 5, "faults[0].pattern", "did you mean `random`?");
    let d = errs(&format!(
        "{base}faults:\n  - kind: noisy_neighbor\n    write_bps: 1MiB/s\n    write_iops: 5\n"
    ));
    expect(
        &d,
        11,
        5,
        "faults[0].write_iops",
        "`write_iops` is not a key of noisy_neighbor faults; it belongs to throttle",
    );
    let d = errs(&format!(
        "{base}faults:\n  - kind: noisy_neighbor\n    write_bps: 1MiB/s\n    fsync_every: 8\n"
    ));
    expect(&d, 11, 5, "faults[0].fsync_every", "has no unit");
    let d = errs(&format!(
        "{base}faults:\n  - kind: noisy_neighbor\n    write_bps: 1MiB/s\n    file_size: 1KiB\n"
    ));
    expect(&d, 11, 5, "faults[0].file_size", "at least 4KiB");
    let d = errs(&format!(
        "{base}faults:\n  - kind: noisy_neighbor\n    write_bps: 1MiB/s\n    profile: azure-p10\n"
    ));
    expect(&d, 11, 5, "faults[0].profile", "it belongs to throttle");
}

#[test]
fn gate_rules() {
    let base = with("", "");
    let d = errs(&format!(
        "{base}gates:\n  - select: {{workload: nope}}\n    p95: 2ms\n"
    ));
    expect(
        &d,
        8,
        14,
        "gates[0].select.workload",
        "`nope` matches no workload; workloads are: w",
    );
    let d = errs(&format!(
        "{base}gates:\n  - select: {{op: fsnyc}}\n    p95: 2ms\n"
    ));
    expect(&d, 8, 14, "gates[0].select.op", "did you mean `fsync`?");
    // `.service` ops are recorded by open-loop workloads only.
    let open_loop = with("", "  - {name: o, kind: small_files, rate: 100/s}\n");
    ok(&format!(
        "{open_loop}gates:\n  - select: {{op: \"*.service\"}}\n    p99: 2ms\n    error_rate: 1%\n"
    ));
    let d = errs(&format!(
        "{base}gates:\n  - select: {{op: \"*.service\"}}\n    p99: 2ms\n"
    ));
    expect(
        &d,
        8,
        14,
        "gates[0].select.op",
        "is an op no workload this gate selects (`w`) records",
    );
    let d = errs(&format!(
        "{base}gates:\n  - select: {{fault: crash}}\n    acked_lost: 0\n"
    ));
    expect(&d, 8, 14, "gates[0].select.fault", "declares no `faults`");
    let d = errs(&format!("{base}gates:\n  - select: {{workload: w}}\n"));
    expect(&d, 8, 5, "gates[0].select", "sets no limit");
    let d = errs(&format!("{base}gates:\n  - p95: 2\n"));
    expect(&d, 8, 5, "gates[0].p95", "has no unit");
    let d = errs(&format!(
        "{base}gates:\n  - baseline: {{max_regression: 10}}\n"
    ));
    expect(
        &d,
        8,
        16,
        "gates[0].baseline.max_regression",
        "write e.g. `10%`",
    );
    // Write amplification needs a target with a device (tmpfs has none).
    let with_ext4 = with("  - {name: e, kind: ext4}\n", "");
    let s = ok(&format!(
        "{with_ext4}gates:\n  - error_rate: 1%\n    write_amplification: 2\n    throughput: 10/s\n"
    ));
    assert_eq!(
        fails(&s.gates[0]),
        [
            Limit::Throughput { min_per_sec: 10.0 },
            Limit::ErrorRate { max: 0.01 },
            Limit::WriteAmplification { max: 2.0 }
        ]
    );
}

#[test]
fn yaml_syntax_error_has_a_location() {
    let d = errs("version: 1\nname: [t\ntargets: x\n");
    assert_eq!(d.len(), 1);
    expect(
        &d,
        3,
        8,
        "",
        "YAML syntax error: did not find expected ',' or ']'",
    );
    // The problem's own location is ours; libyaml's context location stays.
    assert!(d[0]
        .message
        .ends_with("while parsing a flow sequence at line 2 column 7"));
    let d = errs("version: 1\nversion: 1\n");
    assert!(d[0].message.contains("duplicate"), "{}", d[0]);
}

#[test]
fn no_panic_on_odd_input() {
    for text in [
        "",
        "~",
        "- a\n- b\n",
        "42",
        "version: 1\nname: t\ntargets: 5\nworkloads: 5\n",
        "targets: [5, [1], ~]\nworkloads: [{}]\n",
        "targets: [{name: x, kind: overlay, upper: 5, lower: x}]\n",
        "workloads: [{name: x, kind: small_files, vary: [1]}]\n",
        "workloads: [{name: x, kind: small_files, vary: {}}]\n",
        "workloads: [{name: x, kind: small_files, vary: {fsync: [[a]]}}]\n",
        "targets: [{name: x, kind: ext4, vary: {options: [5, [a, 1]]}}]\n",
        "faults: [5, {}]\ngates: [5, {}, {baseline: {}}]\n",
        "? [a]\n: b\n",
        "a: &x {b: *x}\n",
        "name: \"\\u0000\"\n",
        "---\na: 1\n---\nb: 2\n",
        "version: 18446744073709551616\n",
        "workloads: [{name: x, kind: small_files, vary: {threads: [1,2,3,4,5,6,7,8,9,10], rate: [1/s,2/s,3/s,4/s,5/s,6/s,7/s,8/s,9/s,10/s], fsync: [always,never,end,on_close,always,never,end,on_close,always,never,end]}}]\n",
    ] {
        assert!(load(text).is_err(), "{text:?} should not load");
    }
    let d = errs("- a\n");
    expect(&d, 1, 1, "", "a scenario is a mapping of keys");
    let d = errs("");
    expect(&d, 1, 1, "", "this file holds nothing");
}

#[test]
fn unreadable_file_is_line_zero() {
    let d = super::load(Path::new("/nonexistent/wpbench/s.yaml"), &super::NoHost).unwrap_err();
    assert_eq!((d.0[0].line, d.0[0].column), (0, 0));
    assert!(d
        .to_string()
        .starts_with("/nonexistent/wpbench/s.yaml:0:0: cannot read"));
}

#[test]
fn load_reads_files_and_hashes_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("q.yaml");
    std::fs::write(&p, DESIGN_EXAMPLE).unwrap();
    let s = super::load(&p, &super::NoHost).unwrap();
    assert_eq!(s.file, p);
    assert_eq!(s.sha256, ok(DESIGN_EXAMPLE).sha256);
}

/// A valid scenario whose only workload is this block (starting at line 5).
fn one(workload: &str) -> String {
    format!("version: 1\nname: t\ntargets:\n  - {{name: tmp, kind: tmpfs}}\nworkloads:\n{workload}")
}

#[test]
fn payload_forms() {
    let s = ok(&with(
        "",
        "  - {name: a, kind: fsync_heavy, payload: zeros}\n  - {name: b, kind: log_append, payload: {compressible: 0.25}}\n  - {name: c, kind: small_files, payload: {compressible: 50%}}\n  - {name: d, kind: metadata, payload: random}\n",
    ));
    assert_eq!(s.workloads[0].payload, PayloadKind::Random);
    assert_eq!(s.workloads[1].payload, PayloadKind::Zeros);
    assert_eq!(s.workloads[2].payload, PayloadKind::Compressible(0.25));
    assert_eq!(s.workloads[3].payload, PayloadKind::Compressible(0.5));
    assert_eq!(s.workloads[4].payload, PayloadKind::Random);
    let d = errs(&with(
        "",
        "  - name: a\n    kind: small_files\n    payload: zero\n",
    ));
    expect(&d, 9, 5, "workloads[1].payload", "did you mean `zeros`?");
    let d = errs(&with(
        "",
        "  - name: a\n    kind: small_files\n    payload: {compressible: 1.5}\n",
    ));
    expect(
        &d,
        9,
        15,
        "workloads[1].payload.compressible",
        "from 0 to 1",
    );
    let d = errs(&with(
        "",
        "  - name: a\n    kind: small_files\n    payload: compressible\n",
    ));
    expect(&d, 9, 5, "workloads[1].payload", "`{compressible: 0.5}`");
    let d = errs(&with(
        "",
        "  - name: a\n    kind: read_atime\n    payload: zeros\n",
    ));
    expect(
        &d,
        9,
        5,
        "workloads[1].payload",
        "not a key of read_atime workloads; it belongs to small_files, fsync_heavy, log_append, metadata and sequence",
    );
}

#[test]
fn o_direct_needs_whole_blocks() {
    let s = ok(&with(
        "",
        "  - {name: a, kind: small_files, o_direct: true, file_size: 8KiB}\n  - {name: b, kind: fsync_heavy, o_direct: true, record_size: 4KiB..16KiB, file_size: 1MiB}\n",
    ));
    assert!(!s.workloads[0].o_direct);
    assert!(s.workloads[1].o_direct && s.workloads[2].o_direct);
    let d = errs(&with(
        "",
        "  - name: a\n    kind: small_files\n    o_direct: true\n    file_size: 1000B\n",
    ));
    expect(
        &d,
        10,
        5,
        "workloads[1].file_size",
        "O_DIRECT needs sizes in whole 4KiB blocks",
    );
    let d = errs(&with(
        "",
        "  - name: a\n    kind: fsync_heavy\n    o_direct: true\n    record_size: 4KiB..6KiB\n",
    ));
    expect(
        &d,
        10,
        5,
        "workloads[1].record_size",
        "O_DIRECT needs sizes in whole 4KiB blocks",
    );
    // The default small_files size (4KiB) is fine; a log line never is.
    let d = errs(&with(
        "",
        "  - name: a\n    kind: log_append\n    o_direct: true\n",
    ));
    expect(
        &d,
        9,
        5,
        "workloads[1].o_direct",
        "not a key of log_append workloads; it belongs to small_files, fsync_heavy and sequence",
    );
    let d = errs(&one(
        "  - name: s\n    kind: sequence\n    o_direct: true\n    steps:\n      - create\n      - write: 4KiB\n      - append: 100B..8KiB\n      - close\n",
    ));
    expect(
        &d,
        12,
        9,
        "workloads[0].steps[2].append",
        "`100B..8KiB` with `o_direct: true`: O_DIRECT needs sizes in whole 4KiB blocks",
    );
    assert_eq!(d.len(), 1, "{}", Diagnostics(d.clone()));
}

#[test]
fn think_time_is_closed_loop_only() {
    let s = ok(&with(
        "",
        "  - {name: a, kind: metadata, think_time: 10ms}\n  - {name: b, kind: copy_up, think_time: 1s}\n",
    ));
    assert_eq!(s.workloads[0].think_time, None);
    assert_eq!(s.workloads[1].think_time, Some(Duration::from_millis(10)));
    assert_eq!(s.workloads[2].think_time, Some(Duration::from_secs(1)));
    let d = errs(&with(
        "",
        "  - name: a\n    kind: small_files\n    rate: 100/s\n    think_time: 10ms\n",
    ));
    expect(
        &d,
        10,
        5,
        "workloads[1].think_time",
        "`rate` sets an open-loop schedule; give one or the other",
    );
    let d = errs(&with(
        "",
        "  - name: a\n    kind: small_files\n    think_time: 10\n",
    ));
    expect(&d, 9, 5, "workloads[1].think_time", "has no unit");
    let d = errs(&with(
        "",
        "  - name: a\n    kind: small_files\n    think_time: 0s\n",
    ));
    expect(&d, 9, 5, "workloads[1].think_time", "longer than 0s");
}

#[test]
fn every_bytes_and_syncfs() {
    let s = ok(&with(
        "",
        "  - {name: a, kind: fsync_heavy, fsync: {every_bytes: 1MiB}, sync_call: syncfs}\n",
    ));
    assert_eq!(s.workloads[1].fsync, SyncPolicy::EveryBytes(1 << 20));
    assert_eq!(s.workloads[1].sync_call, SyncCall::Syncfs);
    let d = errs(&with(
        "",
        "  - name: a\n    kind: small_files\n    fsync: {every_bytes: 0B}\n",
    ));
    expect(
        &d,
        9,
        13,
        "workloads[1].fsync.every_bytes",
        "must be larger than 0B",
    );
    let d = errs(&with(
        "",
        "  - name: a\n    kind: small_files\n    fsync: {every_bytes: 4096}\n",
    ));
    expect(&d, 9, 13, "workloads[1].fsync.every_bytes", "has no unit");
    let d = errs(&with(
        "",
        "  - name: a\n    kind: small_files\n    fsync: {every_byte: 1MiB}\n",
    ));
    expect(
        &d,
        9,
        5,
        "workloads[1].fsync",
        "did you mean `every_bytes`?",
    );
    let d = errs(&with(
        "",
        "  - name: a\n    kind: metadata\n    sync_call: syncfs\n",
    ));
    expect(
        &d,
        9,
        5,
        "workloads[1].sync_call",
        "not a key of metadata workloads; it belongs to small_files, fsync_heavy and log_append",
    );
}

#[test]
fn metadata_keys() {
    let s = ok(&one(
        "  - {name: d, kind: metadata}\n  - {name: m, kind: metadata, files: 10, file_size: 1KiB, fsync_dir: true, threads: 2, mix: {create: 3, stat: 0, rmdir: 2, rename_dir: 1}}\n",
    ));
    assert_eq!(
        s.workloads[0].params,
        WorkloadParams::Metadata {
            files: 1000,
            file_size: SizeRange::fixed(0),
            mix: vec![
                (MetaOp::Create, 4),
                (MetaOp::Rename, 2),
                (MetaOp::Unlink, 2),
                (MetaOp::Mkdir, 1),
                (MetaOp::Rmdir, 1),
                (MetaOp::Stat, 8),
                (MetaOp::Link, 1),
            ],
        }
    );
    let m = &s.workloads[1];
    assert!(m.fsync_dir);
    assert_eq!(
        m.params,
        WorkloadParams::Metadata {
            files: 10,
            file_size: SizeRange::fixed(1024),
            mix: vec![
                (MetaOp::Create, 3),
                (MetaOp::Stat, 0),
                (MetaOp::Rmdir, 2),
                (MetaOp::RenameDir, 1),
            ],
        }
    );
    let d = errs(&one(
        "  - name: m\n    kind: metadata\n    mix: {crate: 4, stat: many}\n    files: 0\n    fsync: always\n",
    ));
    expect(
        &d,
        8,
        11,
        "workloads[0].mix.crate",
        "unknown operation `crate`, did you mean `create`?",
    );
    expect(
        &d,
        8,
        21,
        "workloads[0].mix.stat",
        "a weight is a whole number",
    );
    expect(&d, 9, 5, "workloads[0].files", "must be at least 1");
    expect(
        &d,
        10,
        5,
        "workloads[0].fsync",
        "not a key of metadata workloads",
    );
    let d = errs(&one(
        "  - name: m\n    kind: metadata\n    mix: {create: 0, stat: 0}\n",
    ));
    expect(&d, 8, 5, "workloads[0].mix", "every weight is 0");
    let d = errs(&one(
        "  - name: m\n    kind: metadata\n    mix: [create, stat]\n",
    ));
    expect(&d, 8, 5, "workloads[0].mix", "maps operations to weights");
    let d = errs(&one("  - name: m\n    kind: metadata\n    mix: {}\n"));
    expect(&d, 8, 5, "workloads[0].mix", "the mix is empty");
    let d = errs(&one(
        "  - name: m\n    kind: metadata\n    mix: {stat: -1}\n",
    ));
    expect(
        &d,
        8,
        11,
        "workloads[0].mix.stat",
        "a weight is a whole number",
    );
    let d = errs(&one(
        "  - name: m\n    kind: metadata\n    mix: {renamedir: 1}\n",
    ));
    expect(
        &d,
        8,
        11,
        "workloads[0].mix.renamedir",
        "did you mean `rename_dir`?",
    );
}

#[test]
fn sequence_keys() {
    let s = ok(&one(
        "  - name: varmail\n    kind: sequence\n    threads: 4\n    fsync_dir: true\n    steps:\n      - unlink\n      - create\n      - append: 16KiB\n      - fsync\n      - close\n      - open\n      - read\n      - write: 4KiB..8KiB\n      - fdatasync\n      - close\n      - {sleep: 10ms}\n      - stat\n      - rename\n",
    ));
    let w = &s.workloads[0];
    assert_eq!(
        (w.kind, w.threads, w.fsync_dir),
        (WorkloadKind::Sequence, 4, true)
    );
    let WorkloadParams::Sequence {
        steps,
        files,
        file_size,
    } = &w.params
    else {
        panic!("a sequence")
    };
    assert_eq!((*files, *file_size), (100, SizeRange::fixed(16 << 10)));
    use SeqStep::*;
    assert_eq!(
        steps,
        &[
            Unlink,
            Create,
            Append(SizeRange::fixed(16 << 10)),
            Fsync,
            Close,
            Open,
            Read,
            Write(SizeRange {
                min: 4 << 10,
                max: 8 << 10
            }),
            Fdatasync,
            Close,
            Sleep(Duration::from_millis(10)),
            Stat,
            Rename,
        ]
    );
    // A fileset of 0 is fine when only created files are used.
    ok(&one(
        "  - {name: s, kind: sequence, files: 0, steps: [create, {append: 1KiB}, close]}\n",
    ));
}

#[test]
fn sequence_step_errors() {
    let d = errs(&one("  - name: s\n    kind: sequence\n"));
    expect(
        &d,
        6,
        5,
        "workloads[0].steps",
        "missing required key `steps`",
    );
    let d = errs(&one("  - name: s\n    kind: sequence\n    steps: []\n"));
    expect(&d, 8, 5, "workloads[0].steps", "needs at least one step");
    let d = errs(&one(
        "  - name: s\n    kind: sequence\n    steps:\n      - create\n      - fsycn\n      - write\n      - {fsync: 1}\n      - {write: 0B}\n      - {append: 4}\n      - {wirte: 4KiB}\n      - {write: 4KiB, fsync: x}\n      - 3\n",
    ));
    expect(
        &d,
        10,
        9,
        "workloads[0].steps[1]",
        "unknown step `fsycn`, did you mean `fsync`?",
    );
    expect(
        &d,
        11,
        9,
        "workloads[0].steps[2]",
        "`write` needs a value: write `{write: 16KiB}`",
    );
    expect(
        &d,
        12,
        10,
        "workloads[0].steps[3].fsync",
        "`fsync` takes no value; write it as `- fsync`",
    );
    expect(&d, 13, 10, "workloads[0].steps[4].write", "larger than 0B");
    expect(&d, 14, 10, "workloads[0].steps[5].append", "has no unit");
    expect(
        &d,
        15,
        10,
        "workloads[0].steps[6].wirte",
        "did you mean `write`?",
    );
    expect(
        &d,
        16,
        9,
        "workloads[0].steps[7]",
        "a mapping with more than one key",
    );
    expect(&d, 17, 9, "workloads[0].steps[8]", "found a number");
    assert_eq!(d.len(), 8, "{}", Diagnostics(d.clone()));
}

#[test]
fn sequence_steps_are_simulated() {
    // No open file for write/append/fsync/fdatasync/close; create and open
    // while a file is current are fine (it is closed implicitly).
    let d = errs(&one(
        "  - name: s\n    kind: sequence\n    steps:\n      - {write: 4KiB}\n      - create\n      - open\n      - create\n      - close\n      - fsync\n      - close\n      - fdatasync\n      - {append: 4KiB}\n",
    ));
    for (j, line, name) in [
        (0, 9, "write"),
        (5, 14, "fsync"),
        (6, 15, "close"),
        (7, 16, "fdatasync"),
        (8, 17, "append"),
    ] {
        expect(
            &d,
            line,
            9,
            &format!("workloads[0].steps[{j}]"),
            &format!("`steps[{j}]` (`{name}`) has no open file: put `create` or `open` before it"),
        );
    }
    assert_eq!(d.len(), 5, "{}", Diagnostics(d.clone()));
    // The current file carries from one pass to the next: the file opened
    // last is written first on the next pass, but not on the first.
    let d = errs(&one(
        "  - name: s\n    kind: sequence\n    steps: [fsync, open]\n",
    ));
    expect(&d, 8, 13, "workloads[0].steps[0]", "has no open file");
    ok(&one(
        "  - name: s\n    kind: sequence\n    steps: [open, {write: 4KiB}, fsync, close, read, stat]\n",
    ));
    // A fileset of 0: fine when created files come first, an error when
    // a step picks from the fileset before any `create`.
    ok(&one(
        "  - name: s\n    kind: sequence\n    files: 0\n    steps: [create, close, stat, unlink]\n",
    ));
    let d = errs(&one(
        "  - name: s\n    kind: sequence\n    files: 0\n    steps: [read, create, close]\n",
    ));
    expect(
        &d,
        8,
        5,
        "workloads[0].files",
        "is 0, but `steps[0]` (`read`) picks a file of the fileset",
    );
    let d = errs(&one(
        "  - name: s\n    kind: sequence\n    steps: [create, close]\n    record_size: 4KiB\n    mix: {stat: 1}\n",
    ));
    expect(
        &d,
        9,
        5,
        "workloads[0].record_size",
        "belongs to fsync_heavy",
    );
    expect(&d, 10, 5, "workloads[0].mix", "belongs to metadata");
}

#[test]
fn missing_kind_lists_every_kind() {
    let d = errs(&one("  - name: s\n"));
    expect(
        &d,
        6,
        5,
        "workloads[0].kind",
        "(small_files, fsync_heavy, log_append, read_atime, copy_up, metadata or sequence)",
    );
    let d = errs(&one("  - {name: s, kind: sequense}\n"));
    expect(&d, 6, 15, "workloads[0].kind", "did you mean `sequence`?");
}

#[test]
fn eio_needs_a_size_and_a_loop_device() {
    let base = with(
        "  - {name: e, kind: ext4}\n  - {name: h, kind: hostpath, path: /var/tmp/x}\n",
        "",
    );
    // Lines: 1-3 header, 4 tmp, 5 e, 6 h, 7 workloads:, 8 w, 9 faults:, 10 first.
    let s = ok(&format!(
        "{base}faults:\n  - {{kind: eio, target: e, after: 64MiB, on_error: stop}}\n"
    ));
    let eio = s.faults[0].eio.expect("an eio spec");
    assert_eq!((eio.after, eio.on_error), (64 << 20, OnError::Stop));
    let d = errs(&format!("{base}faults:\n  - kind: eio\n    target: e\n"));
    expect(&d, 10, 5, "faults[0].kind", "needs `after: SIZE`");
    let d = errs(&format!(
        "{base}faults:\n  - kind: eio\n    target: e\n    after: 0B\n"
    ));
    expect(&d, 12, 5, "faults[0].after", "larger than 0B");
    let d = errs(&format!(
        "{base}faults:\n  - kind: eio\n    target: h\n    after: 1MiB\n"
    ));
    expect(
        &d,
        11,
        5,
        "faults[0].target",
        "never fails the host's own disk",
    );
    let d = errs(&format!(
        "{base}faults:\n  - kind: eio\n    target: tmp\n    after: 1MiB\n"
    ));
    expect(&d, 11, 5, "faults[0].target", "tmpfs has no device");
    let d = errs(&format!(
        "{base}faults:\n  - kind: eio\n    target: e\n    after: 1MiB\n    trials: 3\n"
    ));
    expect(&d, 13, 5, "faults[0].trials", "not a key of eio faults");
}

/// A gate's fail-level limits.
fn fails(g: &GateSpec) -> Vec<Limit> {
    g.limits
        .iter()
        .filter(|l| l.level == Level::Fail)
        .map(|l| l.limit)
        .collect()
}

#[test]
fn gates_have_warn_and_fail_levels() {
    let base = with("  - {name: e, kind: ext4}\n", "");
    let s = ok(&format!(
        "{base}gates:\n  - select: {{workload: w}}\n    p95: 3ms\n    fail: {{p99: 9ms}}\n    warn: {{p95: 2ms, throughput: 100/s}}\n  - baseline: {{max_regression: 10%, warn_regression: 5%}}\n"
    ));
    let g = &s.gates[0];
    let levels: Vec<(Level, Limit)> = g.limits.iter().map(|l| (l.level, l.limit)).collect();
    assert_eq!(
        levels,
        [
            (
                Level::Fail,
                Limit::Latency {
                    stat: LatencyStat::P95,
                    max: Duration::from_millis(3)
                }
            ),
            (
                Level::Fail,
                Limit::Latency {
                    stat: LatencyStat::P99,
                    max: Duration::from_millis(9)
                }
            ),
            (
                Level::Warn,
                Limit::Latency {
                    stat: LatencyStat::P95,
                    max: Duration::from_millis(2)
                }
            ),
            (Level::Warn, Limit::Throughput { min_per_sec: 100.0 }),
        ]
    );
    assert_eq!(
        (s.gates[1].max_regression, s.gates[1].warn_regression),
        (Some(0.10), Some(0.05))
    );
    // Lines: 1-3 header, 4 tmp, 5 e, 6 workloads:, 7 w, 8 gates:, 9 first.
    let d = errs(&format!(
        "{base}gates:\n  - select: {{workload: w}}\n    warn: {{p95: 2ms, p59: 1ms}}\n"
    ));
    expect(&d, 10, 22, "gates[0].warn.p59", "did you mean `p50`");
    let d = errs(&format!(
        "{base}gates:\n  - baseline: {{max_regression: 5%, warn_regression: 10%}}\n"
    ));
    expect(
        &d,
        9,
        36,
        "gates[0].baseline.warn_regression",
        "must not exceed",
    );
}

#[test]
fn a_gate_file_is_checked_against_the_run_it_gates() {
    let names = GateNames {
        targets: vec![("ext4[noatime]".into(), "ext4".into())],
        workloads: vec![("wal".into(), "wal".into())],
        faults: vec!["crash".into()],
        scenario: None,
    };
    let file = std::path::Path::new("ci/gate.yaml");
    let gates = crate::scenario::check::load_gates_str(
        "version: 1\ngates:\n  - select: {target: ext4, op: fsync}\n    p95: 2ms\n  - select: {fault: crash}\n    acked_lost: 0\n",
        file,
        &names,
    )
    .unwrap();
    assert_eq!(gates.len(), 2);
    assert_eq!(gates[1].origin, "ci/gate.yaml: gates[1]");
    let d = crate::scenario::check::load_gates_str(
        "version: 1\ngates:\n  - select: {target: xfs}\n    p95: 2ms\n",
        file,
        &names,
    )
    .unwrap_err();
    assert!(d.to_string().contains("`xfs` matches no target"), "{d}");
    let d = crate::scenario::check::load_gates_str("version: 1\n", file, &names).unwrap_err();
    assert!(d.to_string().contains("at least one gate"), "{d}");
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

#[test]
fn deep_flow_nesting_is_refused_where_it_crosses_64_levels() {
    // 200 KB: libyaml alone took minutes on this (its scanner's cost per
    // token grows with the open `[`).
    let n = 100_000;
    let text = format!(
        "version: 1\nname: t\ndescription: {}{}\n",
        "[".repeat(n),
        "]".repeat(n)
    );
    // The 65th `[`: the file's own mapping is the first level.
    refused_quickly(&text, 3, 77, "description", "nested deeper than 64 levels");
    // Just under the limit it is an ordinary type error.
    let text = format!(
        "version: 1\nname: t\ndescription: {}{}\n",
        "[".repeat(63),
        "]".repeat(63)
    );
    expect(&errs(&text), 3, 1, "description", "expected a string");
    // `{` counts as `[` does.
    let text = format!("version: 1\nname: t\ndescription: {}\n", "{a: ".repeat(n));
    refused_quickly(
        &text,
        3,
        14 + 63 * 4,
        "description",
        "nested deeper than 64 levels",
    );
}

#[test]
fn deep_block_nesting_is_refused() {
    // Indentation: each key one level deeper.
    let mut text = String::from("version: 1\nname: t\nd:\n");
    for i in 0..100 {
        text.push_str(&format!("{}k{i}:\n", " ".repeat(i + 1)));
    }
    // k63, on line 67 (col 65), is a key of the 65th mapping.
    refused_quickly(&text, 67, 65, "d", "nested deeper than 64 levels");
    // Compact block sequences on one line.
    let text = format!("version: 1\nname: t\nd:\n{}x\n", "- ".repeat(100_000));
    refused_quickly(&text, 4, 127, "d[0]", "nested deeper than 64 levels");
}

#[test]
fn a_file_over_1_mib_is_refused_where_it_crosses() {
    let text = format!(
        "version: 1\nname: t\ndescription: \"{}\"\n",
        "a".repeat(3 << 20)
    );
    // Byte 1 MiB + 1 is on line 3, after `version: 1\nname: t\n` (19 bytes).
    refused_quickly(&text, 3, (1 << 20) - 19 + 1, "", "larger than 1 MiB");
    // Read from disk, only the first MiB is read.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.yaml");
    std::fs::write(&p, &text).unwrap();
    let d = super::load(&p, &super::NoHost).unwrap_err();
    expect(&d.0, 3, (1 << 20) - 19 + 1, "", "larger than 1 MiB");
    let d = super::load_gates(&p, &GateNames::default()).unwrap_err();
    expect(&d.0, 3, (1 << 20) - 19 + 1, "", "larger than 1 MiB");
}

#[test]
fn many_nodes_and_alias_bombs_are_refused() {
    // A billion laughs: each level repeats the one before ten times.
    let mut text = String::from("version: 1\nname: t\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    refused_quickly(&text, 6, 45, "a3[7]", "more than 10000 YAML nodes");
    // Many aliases of one small anchor.
    let text = format!(
        "version: 1\nname: t\na: &a [x, y, z]\nl:\n{}",
        "  - *a\n".repeat(20_000)
    );
    refused_quickly(
        &text,
        2502,
        5,
        "l[2497]",
        "an alias counting as every node it repeats",
    );
    // Many plain values.
    let text = format!(
        "version: 1\nname: t\nd: [{}]\n",
        vec!["a"; 400_000].join(",")
    );
    refused_quickly(&text, 3, 19991, "d[9993]", "more than 10000 YAML nodes");
    // An alias inside the node it names never ends.
    refused_quickly(
        "version: 1\nname: t\na: &a [x, *a]\n",
        3,
        11,
        "a[1]",
        "recursive alias",
    );
    // Anchors of a sensible size still work.
    ok(&with(
        "",
        "  - &w {name: w2, kind: small_files, threads: 2}\n  - {<<: *w, name: w3}\n",
    ));
}

#[test]
fn gate_files_are_bounded_too() {
    let names = GateNames::default();
    let file = Path::new("g.yaml");
    let text = format!("version: 1\ngates: {}\n", "[".repeat(100_000));
    let started = std::time::Instant::now();
    let d = crate::scenario::check::load_gates_str(&text, file, &names).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    expect(&d.0, 2, 71, "gates", "nested deeper than 64 levels");
    let text = format!(
        "version: 1\na: &a [x, x, x, x, x, x, x, x]\nb: &b [{}]\ngates: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
        vec!["*a"; 100].join(", ")
    );
    let d = crate::scenario::check::load_gates_str(&text, file, &names).unwrap_err();
    expect(&d.0, 4, 49, "gates[10]", "more than 10000 YAML nodes");
}

#[test]
fn long_keys_and_words_are_abbreviated_and_cheap() {
    let key = "k".repeat(500_000);
    let text = format!(
        "version: 1\nname: t\n? {key}\n: [{}]\n",
        vec!["a"; 9000].join(",")
    );
    let started = std::time::Instant::now();
    let d = errs(&text);
    assert!(started.elapsed() < Duration::from_secs(2));
    let shown = d[0].to_string();
    assert!(shown.len() < 1000, "{}", &shown[..1000]);
    assert!(shown.contains("unknown key `kkkk"), "{shown}");
    assert!(shown.contains("…"), "{shown}");
}

#[test]
fn too_many_cells_are_refused_without_materialising_them() {
    let started = std::time::Instant::now();
    let d = errs(&format!("repeat: 4000000000\n{}", with("", "")));
    assert!(started.elapsed() < Duration::from_secs(2));
    expect(
        &d,
        1,
        1,
        "repeat",
        "= 4000000000 cells, more than the 100000",
    );
    expect(&d, 1, 1, "repeat", "`repeat` can be at most 100000");
    // A vary that explodes is pointed at by its section.
    let many = (1..=1000)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let text =
        format!(
        "version: 1\nname: t\ntargets:\n  - name: t\n    kind: tmpfs\n    vary: {{size: [{}]}}\n\
         workloads:\n  - name: w\n    kind: small_files\n    vary: {{threads: [{many}]}}\n",
        (1..=1000).map(|i| format!("{i}MiB")).collect::<Vec<_>>().join(", ")
    );
    let d = errs(&text);
    expect(
        &d,
        3,
        1,
        "targets",
        "1000 targets × 1000 workloads × 1 repeats = 1000000 cells",
    );
    // At the limit it loads.
    let s = ok(&format!("repeat: 100000\n{}", with("", "")));
    assert_eq!(s.repeat, 100000);
    errs(&format!("repeat: 100001\n{}", with("", "")));
    assert!(too_many_cells(1, 1, u64::MAX).is_some());
    assert!(too_many_cells(usize::MAX, usize::MAX, 1).is_some());
    let d = errs(&format!("repeat: 0\n{}", with("", "")));
    expect(&d, 1, 1, "repeat", "must be at least 1");
}

#[test]
fn filesystem_sizes_mkfs_refuses_are_refused_at_load() {
    let t = |target: &str| errs(&with(&format!("  - {target}\n"), ""));
    // xfs's minimum, for a target and an overlay's upper.
    let d = t("{name: x, kind: xfs, size: 299MiB}");
    expect(
        &d,
        5,
        26,
        "targets[1].size",
        "too small for xfs: mkfs.xfs makes no filesystem under 300MiB",
    );
    let d = t("{name: o, kind: overlay, upper: {kind: xfs, size: 100MiB}}");
    expect(&d, 5, 49, "targets[1].upper.size", "too small for xfs");
    let d = t("{name: x, kind: xfs, mkfs: [-d, size=200m]}");
    expect(
        &d,
        5,
        26,
        "targets[1].mkfs",
        "-d size=200MiB is too small for xfs",
    );
    let d = t("{name: x, kind: xfs, size: 1GiB, mkfs: [-d, size=2g]}");
    expect(&d, 5, 38, "targets[1].mkfs", "larger than the image");
    ok(&with("  - {name: x, kind: xfs, size: 300MiB}\n", ""));
    // ext4's minimum: 104 KiB with wpbench's arguments; with -b 4096 the
    // least any arguments allow is 220 KiB.
    let d = t("{name: e, kind: ext4, size: 103KiB}");
    expect(
        &d,
        5,
        27,
        "targets[1].size",
        "mkfs.ext4 cannot format less than 104KiB with wpbench's mkfs arguments",
    );
    ok(&with("  - {name: e, kind: ext4, size: 104KiB}\n", ""));
    let d = t("{name: e, kind: ext4, size: 200KiB, mkfs: [-b, '4096']}");
    expect(
        &d,
        5,
        27,
        "targets[1].size",
        "less than 220KiB whatever the other mkfs arguments",
    );
    let d = t("{name: o, kind: overlay, upper: {kind: ext4, size: 64KiB}}");
    expect(&d, 5, 50, "targets[1].upper.size", "too small for ext4");
    // Too large for any image or for ext4's block counts.
    let d = t("{name: e, kind: ext4, size: 16000000TiB}");
    expect(
        &d,
        5,
        27,
        "targets[1].size",
        "larger than any file Linux can hold",
    );
    let d = t("{name: e, kind: ext4, size: 1048576TiB}");
    expect(
        &d,
        5,
        27,
        "targets[1].size",
        "too large for ext4: it counts at most 2^48 blocks",
    );
    let d = t("{name: m, kind: tmpfs, size: 16000000TiB}");
    expect(&d, 5, 28, "targets[1].size", "larger than any tmpfs can be");
    let d = t("{name: e, kind: ext4, size: 99999999999TiB}");
    expect(&d, 5, 27, "targets[1].size", "is too large");
    // mkfs.ext4's numbers.
    let d = t("{name: e, kind: ext4, size: 1MiB, mkfs: [-N, '5000']}");
    expect(
        &d,
        5,
        39,
        "targets[1].mkfs",
        "-N 5000: 5000 inodes of 256 bytes or more do not fit in 1MiB",
    );
    let d = t("{name: e, kind: ext4, mkfs: [-N, '5000000000']}");
    expect(&d, 5, 34, "targets[1].mkfs[0]", "below 2^32");
    let d = t("{name: e, kind: ext4, mkfs: [-b, '3000']}");
    expect(
        &d,
        5,
        34,
        "targets[1].mkfs[0]",
        "power of two from 1024 to 65536",
    );
    let d = t("{name: e, kind: ext4, mkfs: [-i, '512']}");
    expect(&d, 5, 34, "targets[1].mkfs[0]", "bytes per inode");
    let d = t("{name: e, kind: ext4, mkfs: [-m, '60']}");
    expect(
        &d,
        5,
        34,
        "targets[1].mkfs[0]",
        "reserved-blocks percentage",
    );
    ok(&with(
        "  - {name: e, kind: ext4, size: 2GiB, mkfs: [-N, 400000, -b, 4k, -I, '512', -m, '0.5']}\n",
        "",
    ));
}

#[test]
fn tmpfs_size_is_given_once_and_as_a_number() {
    let t = |target: &str| errs(&with(&format!("  - {target}\n"), ""));
    let d = t("{name: m, kind: tmpfs, size: 1GiB, options: [size=2g]}");
    expect(
        &d,
        5,
        50,
        "targets[1].options[0]",
        "`size=2g` sets the tmpfs size, which `size:` already gives",
    );
    let d = t("{name: m, kind: tmpfs, size: 1GiB, options: [nr_blocks=1000]}");
    expect(&d, 5, 50, "targets[1].options[0]", "already gives");
    let d = t("{name: m, kind: tmpfs, options: [size=2g, nr_blocks=100]}");
    expect(
        &d,
        5,
        47,
        "targets[1].options[1]",
        "`nr_blocks=100` and `size=2g` both set the tmpfs size",
    );
    let d = t("{name: o, kind: overlay, upper: {kind: tmpfs, size: 1GiB, options: [size=50%]}}");
    expect(&d, 5, 73, "targets[1].upper.options[0]", "already gives");
    let d = t("{name: m, kind: tmpfs, options: [size=lots, nr_inodes=99999999999999999999k]}");
    expect(
        &d,
        5,
        38,
        "targets[1].options[0]",
        "tmpfs takes a whole number here",
    );
    expect(
        &d,
        5,
        49,
        "targets[1].options[1]",
        "tmpfs takes a whole number here",
    );
    ok(&with(
        "  - {name: m, kind: tmpfs, options: [size=50%, nr_inodes=10k, mode=755]}\n  - {name: n, kind: tmpfs, options: [nr_blocks=0x100, nr_inodes=0]}\n",
        "",
    ));
}

#[test]
fn mkfs_arguments_that_read_or_write_elsewhere_are_refused() {
    for (kind, args, fragment) in [
        ("ext4", "[-d, /etc]", "copies a host directory"),
        (
            "ext4",
            "[-l, /tmp/bad]",
            "reads a bad-block list from a host file",
        ),
        ("ext4", "[-c]", "scans the image for bad blocks"),
        ("ext4", "[-qcc]", "scans the image for bad blocks"),
        ("ext4", "[-D]", "O_DIRECT"),
        ("ext4", "[-F, -n]", "dry run"),
        ("ext4", "[-S]", "superblock and group descriptors"),
        ("ext4", "[-V]", "only prints mkfs's version"),
        (
            "ext4",
            "[-O, 'extent,journal_dev']",
            "external journal device",
        ),
        ("ext4", "[-E, 'nodiscard,offset=4096']", "`offset=`"),
        ("ext4", "[-t, xfs]", "as ext2, ext3 or ext4"),
        ("ext4", "[-J, device=/dev/vdb]", "names another device"),
        ("xfs", "[-p, /etc/proto]", "reads a prototype file"),
        ("xfs", "[-c, options=/etc/xfs.conf]", "from a host file"),
        (
            "xfs",
            "[-d, 'file,name=/var/tmp/img']",
            "regular file of the host",
        ),
        ("xfs", "[-l, 'file=1']", "regular file of the host"),
        ("xfs", "[-N]", "dry run"),
    ] {
        let size = if kind == "xfs" { "1GiB" } else { "64MiB" };
        let d = errs(&with(
            &format!("  - {{name: f, kind: {kind}, size: {size}, mkfs: {args}}}\n"),
            "",
        ));
        assert!(
            d.iter()
                .any(|d| d.key.starts_with("targets[1].mkfs[") && d.message.contains(fragment)),
            "{kind} {args}: {}",
            Diagnostics(d.clone())
        );
    }
    ok(&with(
        "  - {name: e, kind: ext4, mkfs: [-t, ext4, -O, '^has_journal', -E, 'nodiscard,stride=4', -L, data]}\n\
         \x20 - {name: x, kind: xfs, mkfs: [-K, -m, reflink=0, -d, 'agcount=4', -i, 'maxpct=5']}\n",
        "",
    ));
}

#[test]
fn host_paths_that_cannot_exist_are_refused() {
    let t = |path: &str| {
        errs(&with(
            &format!("  - {{name: h, kind: hostpath, path: \"{path}\"}}\n"),
            "",
        ))
    };
    let d = t("/var/tmp/a\\0b");
    expect(&d, 5, 31, "targets[1].path", "NUL byte");
    let d = t(&format!("/var/tmp/{}", "x".repeat(256)));
    expect(
        &d,
        5,
        31,
        "targets[1].path",
        "is 256 bytes long; Linux file names are at most 255 bytes",
    );
    let d = t(&format!("/var/tmp{}", "/x".repeat(2000)));
    expect(
        &d,
        5,
        31,
        "targets[1].path",
        "Linux paths are at most 4095 bytes",
    );
}

#[test]
fn an_options_list_holds_at_most_64() {
    let opts: Vec<String> = (0..70).map(|i| format!("o{i}=1")).collect();
    let d = errs(&with(
        &format!(
            "  - {{name: m, kind: tmpfs, options: [{}]}}\n",
            opts.join(", ")
        ),
        "",
    ));
    expect(
        &d,
        5,
        28,
        "targets[1].options",
        "70 mount options; a target takes at most 64",
    );
}

#[test]
fn files_made_before_the_clock_must_fit_the_target() {
    let one = |target: &str, workload: &str| {
        load(&format!(
            "version: 1\nname: t\ntargets:\n  - {target}\nworkloads:\n  - {workload}\n"
        ))
    };
    let refused = |target: &str, workload: &str, key: &str, fragment: &str| {
        let d = one(target, workload).expect_err("should be refused").0;
        assert!(
            d.iter()
                .any(|d| d.key == key && d.message.contains(fragment)),
            "{target} / {workload}: {}",
            Diagnostics(d.clone())
        );
    };
    // ext4 of 64 MiB: one inode per 4096 bytes (the stock `small` type).
    refused(
        "{name: e, kind: ext4, size: 64MiB}",
        "{name: r, kind: read_atime, files: 20000, file_size: 0B}",
        "workloads[0].files",
        "target `e` (ext4, 64MiB, one inode per 4096 bytes) has room for at most 16437 files and directories, and this makes 20001 (20000 files, and their directories)",
    );
    one(
        "{name: e, kind: ext4, size: 64MiB}",
        "{name: r, kind: read_atime, files: 16000, file_size: 0B}",
    )
    .unwrap();
    // mkfs -N, per thread for a sequence.
    refused(
        "{name: e, kind: ext4, size: 2GiB, mkfs: [-N, '20000']}",
        "{name: s, kind: sequence, threads: 4, files: 6000, steps: [open, close]}",
        "workloads[0].files",
        "mkfs -N 20000) has room for at most 20501",
    );
    // tmpfs nr_inodes=, less its root directory.
    refused(
        "{name: m, kind: tmpfs, options: [nr_inodes=1000]}",
        "{name: c, kind: copy_up, files: 995}",
        "workloads[0].files",
        "(tmpfs, nr_inodes=1000) has room for at most 999 files and directories, and this makes 1005",
    );
    // An overlay's upper holds what copy_up makes when there is no lower
    // layer; with one, copy_up uses the lower files (on the host's disk).
    refused(
        "{name: o, kind: overlay, upper: {kind: ext4, size: 512MiB, mkfs: [-N, '2048']}}",
        "{name: c, kind: copy_up, files: 5000}",
        "workloads[0].files",
        "its upper filesystem: ext4, 512MiB, mkfs -N 2048",
    );
    one(
        "{name: o, kind: overlay, upper: {kind: ext4, size: 512MiB, mkfs: [-N, '2048']}, lower: {files: 5000}}",
        "{name: c, kind: copy_up, files: 5000}",
    )
    .unwrap();
    // xfs: inodes in at most 25 % of the space, 512 bytes each.
    refused(
        "{name: x, kind: xfs, size: 300MiB}",
        "{name: r, kind: read_atime, files: 200000, file_size: 0B}",
        "workloads[0].files",
        "(xfs, 300MiB, inodes in at most 25% of it) has room for at most 153600",
    );
    // Bytes: a WAL written in full per thread, files of a known size.
    refused(
        "{name: e, kind: ext4, size: 256MiB}",
        "{name: w, kind: fsync_heavy, threads: 8}",
        "workloads[0].file_size",
        "holds at most 256MiB, and this writes 512MiB (a log of 64MiB written in full per thread, 8 threads)",
    );
    refused(
        "{name: m, kind: tmpfs, size: 1MiB}",
        "{name: r, kind: read_atime, files: 100, file_size: 64KiB}",
        "workloads[0].files",
        "holds at most 1MiB, and this writes 6.2MiB",
    );
    // Unknown room (a hostPath, a tmpfs of the default size): left to the run.
    one(
        "{name: h, kind: hostpath, path: /var/tmp/wpbench}",
        "{name: r, kind: read_atime, files: 100000000, file_size: 64KiB}",
    )
    .unwrap();
    one(
        "{name: m, kind: tmpfs}",
        "{name: r, kind: read_atime, files: 100000000}",
    )
    .unwrap();
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

#[test]
fn gate_limits_no_selected_cell_can_have_are_refused_at_load() {
    let tmp = "{name: m, kind: tmpfs}";
    let ext4 = "{name: e, kind: ext4, size: 64MiB}";
    let host = "{name: h, kind: hostpath, path: /var/tmp/wpbench}";
    let ovl_tmp = "{name: mo, kind: overlay, upper: {kind: tmpfs}}";
    let sf = "{name: w, kind: small_files}";
    let ra = "{name: r, kind: read_atime, files: 10}";
    let crash = "{kind: crash, target: e, workload: w, at: 1s}";
    let no_faults: &[&str] = &["{kind: throttle, target: e, write_iops: 100}"];

    // Write amplification: no device on tmpfs or an overlay on tmpfs.
    let d = gated(
        &[tmp, ovl_tmp, ext4],
        &[sf],
        no_faults,
        &["{select: {target: 'm*'}, write_amplification: 2}"],
    );
    expect(
        &d,
        13,
        30,
        "gates[0].write_amplification",
        "have no block device of their own",
    );
    // … nor when the workload writes no data.
    let d = gated(
        &[ext4],
        &[ra],
        no_faults,
        &["{select: {workload: r}, fail: {write_amplification: 2}}"],
    );
    expect(
        &d,
        11,
        36,
        "gates[0].fail.write_amplification",
        "write no data",
    );
    // Among several selected cells, those without the figure are skipped:
    // one that can have it is enough. A hostPath's (shared) disk counts.
    assert!(gated(
        &[tmp, ext4],
        &[sf, ra],
        no_faults,
        &["{select: {}, write_amplification: 2}"]
    )
    .is_empty());
    assert!(gated(
        &[host],
        &[sf],
        &[],
        &["{select: {}, write_amplification: 2}"]
    )
    .is_empty());

    // acked_lost needs a durability verdict: a crash anywhere, enospc/eio
    // only for small_files and fsync_heavy.
    let d = gated(
        &[tmp, ext4],
        &[sf],
        no_faults,
        &["{select: {}, acked_lost: 0}"],
    );
    expect(
        &d,
        12,
        18,
        "gates[0].acked_lost",
        "can have a durability verdict",
    );
    assert!(gated(
        &[tmp, ext4],
        &[sf, ra],
        &[crash],
        &["{select: {}, acked_lost: 0}"]
    )
    .is_empty());
    let d = gated(
        &[tmp, ext4],
        &[sf, ra],
        &[crash],
        &["{select: {target: m}, acked_lost: 0}"],
    );
    expect(&d, 13, 27, "gates[0].acked_lost", "(`m` × `w`, `r`)");
    let enospc_r = "{kind: enospc, target: e, workload: r}";
    let d = gated(
        &[ext4],
        &[ra],
        &[enospc_r],
        &["{select: {fault: enospc}, warn: {acked_lost: 0}}"],
    );
    expect(
        &d,
        11,
        38,
        "gates[0].warn.acked_lost",
        "on a small_files or fsync_heavy workload",
    );
    // With `fault:`, only faults of that kind count.
    let d = gated(
        &[ext4],
        &[sf],
        &[crash, "{kind: throttle, target: e, write_iops: 5}"],
        &["{select: {fault: throttle}, acked_lost: 0}"],
    );
    expect(&d, 12, 33, "gates[0].acked_lost", "faults `throttle`");

    // `fault:` must select a cell that fault applies to.
    let d = gated(
        &[tmp, ext4],
        &[sf, ra],
        &[crash],
        &["{select: {workload: r, fault: crash}, p95: 1ms}"],
    );
    expect(
        &d,
        13,
        28,
        "gates[0].select.fault",
        "selects no cell: no fault of a kind `crash` matches applies",
    );

    // `op:` must be one a selected workload records with its settings.
    let d = gated(&[tmp], &[sf], &[], &["{select: {op: fsync}, p95: 1ms}"]);
    expect(
        &d,
        10,
        15,
        "gates[0].select.op",
        "`w` (small_files) records create, write, close, mkdir, file",
    );
    let d = gated(
        &[tmp],
        &["{name: l, kind: log_append, fsync: end}"],
        &[],
        &["{select: {op: fsync}, throughput: 1/s}"],
    );
    expect(
        &d,
        10,
        15,
        "gates[0].select.op",
        "records create, write, syncfs, close",
    );
    assert!(gated(
        &[tmp],
        &["{name: l, kind: log_append, fsync: end}"],
        &[],
        &["{select: {op: syncfs}, p99: 1ms}"]
    )
    .is_empty());
    assert!(gated(
        &[tmp],
        &[sf, "{name: a, kind: small_files, fsync: always}"],
        &[],
        &["{select: {op: fsync}, p95: 1ms}"]
    )
    .is_empty());
    let d = gated(
        &[tmp],
        &["{name: s, kind: fsync_heavy, sync_call: o_dsync}"],
        &[],
        &["{select: {op: 'f*sync'}, error_rate: 1%}"],
    );
    expect(
        &d,
        10,
        15,
        "gates[0].select.op",
        "records write, close, record",
    );
    // A gate without limits on ops (write amplification only) does not ask.
    assert!(gated(
        &[ext4],
        &[sf],
        &[],
        &["{select: {op: fsync}, write_amplification: 9}"]
    )
    .is_empty());
}

#[test]
fn gate_files_are_checked_against_the_cells_of_the_scenario_they_gate() {
    let s = ok(&with("  - {name: e, kind: ext4}\n", ""));
    let names = GateNames::of(&s);
    let file = Path::new("ci/gate.yaml");
    let d = crate::scenario::check::load_gates_str(
        "version: 1\ngates:\n  - select: {target: tmp}\n    write_amplification: 1.5\n  - select: {}\n    acked_lost: 0\n",
        file,
        &names,
    )
    .unwrap_err();
    expect(
        &d.0,
        4,
        5,
        "gates[0].write_amplification",
        "no block device of their own",
    );
    expect(&d.0, 6, 5, "gates[1].acked_lost", "durability verdict");
    // Without a scenario (a finished run's names), only names are checked.
    let mut names = names;
    names.scenario = None;
    crate::scenario::check::load_gates_str(
        "version: 1\ngates:\n  - select: {target: tmp}\n    write_amplification: 1.5\n",
        file,
        &names,
    )
    .unwrap();
}

#[test]
fn the_shipped_rollout_gate_applies_to_the_rollout_scenario() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let s = super::load(&root.join("scenarios/rollout.yaml"), &super::NoHost).unwrap();
    let gates = super::load_gates(&root.join("ci/gate.yaml"), &GateNames::of(&s)).unwrap();
    assert!(gates.len() >= 4);
}

#[test]
fn a_key_given_twice_is_refused_where_it_repeats() {
    let d = errs("version: 1\nname: t\nduration: 1s\nduration: 2s\n");
    expect(
        &d,
        4,
        1,
        "duration",
        "duplicate key `duration`: given twice in one mapping (first at line 3, column 1)",
    );
    let d = errs(&with(
        "",
        "  - {name: w2, kind: small_files, threads: 2, threads: 3}\n",
    ));
    expect(&d, 7, 47, "workloads[1]", "duplicate key `threads`");
    // A quoted key and a plain one may differ (`"1"` and `1`): not refused here.
    let d = errs("version: 1\nname: t\n1: a\n\"1\": b\n");
    assert!(
        !d.iter().any(|d| d.message.contains("duplicate key")),
        "{}",
        Diagnostics(d.clone())
    );
}

#[test]
fn options_the_kernel_certainly_refuses_are_refused_at_load() {
    let t = |target: &str| errs(&with(&format!("  - {target}\n"), ""));
    let d = t("{name: m, kind: tmpfs, options: [noatime, ro]}");
    expect(
        &d,
        5,
        47,
        "targets[1].options[1]",
        "`ro` mounts the target read-only",
    );
    let d = t("{name: h, kind: hostpath, path: /var/tmp/x, options: [ro]}");
    expect(&d, 5, 59, "targets[1].options[0]", "read-only");
    let d = t("{name: o, kind: overlay, upper: {kind: tmpfs}, options: ['lowerdir+=/etc']}");
    expect(
        &d,
        5,
        62,
        "targets[1].options[0]",
        "wpbench sets lowerdir= itself",
    );
    let d = t("{name: o, kind: overlay, upper: {kind: tmpfs}, options: ['datadir+=/srv']}");
    expect(
        &d,
        5,
        62,
        "targets[1].options[0]",
        "wpbench sets datadir= itself",
    );
    let d = t("{name: e, kind: ext4, options: [data=bogus, errors=stop]}");
    expect(
        &d,
        5,
        37,
        "targets[1].options[0]",
        "ordered, writeback or journal",
    );
    expect(&d, 5, 49, "targets[1].options[1]", "continue or remount-ro");
    let d = t("{name: o, kind: overlay, upper: {kind: ext4, options: [data=ordred]}}");
    expect(
        &d,
        5,
        60,
        "targets[1].upper.options[0]",
        "ordered, writeback or journal",
    );
    let d = t("{name: x, kind: xfs, options: [norecovery]}");
    expect(&d, 5, 36, "targets[1].options[0]", "only read-only");
    ok(&with(
        "  - {name: e, kind: ext4, options: [data=journal, errors=remount-ro, noload]}\n",
        "",
    ));
}

#[test]
fn more_mkfs_values_mkfs_refuses() {
    let t = |target: &str| errs(&with(&format!("  - {target}\n"), ""));
    // 1 KiB blocks below 512 MiB: inodes of at most 1 KiB.
    let d = t("{name: e, kind: ext4, size: 64MiB, mkfs: [-I, '4096']}");
    expect(
        &d,
        5,
        40,
        "targets[1].mkfs",
        "-I 4096: an inode cannot be larger than a block",
    );
    ok(&with(
        "  - {name: e, kind: ext4, size: 64MiB, mkfs: [-I, '4096', -b, '4096']}\n",
        "",
    ));
    let d = t("{name: e, kind: ext4, mkfs: [-G, '3']}");
    expect(
        &d,
        5,
        34,
        "targets[1].mkfs[0]",
        "flex_bg size is a power of two",
    );
    let d = t("{name: e, kind: ext4, mkfs: [-U, bad-uuid]}");
    expect(
        &d,
        5,
        34,
        "targets[1].mkfs[0]",
        "the UUID is clear, random, time or a UUID",
    );
    ok(&with(
        "  - {name: e, kind: ext4, mkfs: [-U, 01234567-89ab-cdef-0123-456789abcdef, -G, '16']}\n",
        "",
    ));
    let d = t("{name: x, kind: xfs, mkfs: [-L, averyveryverylonglabel]}");
    expect(&d, 5, 33, "targets[1].mkfs[0]", "at most 12 characters");
    let d = t("{name: x, kind: xfs, mkfs: [-i, size=256]}");
    expect(&d, 5, 33, "targets[1].mkfs[0]", "add -m crc=0");
    ok(&with(
        "  - {name: x, kind: xfs, mkfs: [-m, crc=0, -i, size=256, -L, data]}\n",
        "",
    ));
}

#[test]
fn a_rate_too_low_to_schedule_is_refused() {
    let d = errs(&with(
        "",
        "  - {name: r, kind: small_files, rate: 0.0000000000000000000001/s}\n",
    ));
    expect(&d, 7, 34, "workloads[1].rate", "584 years");
    ok(&with("", "  - {name: r, kind: small_files, rate: 1/h}\n"));
}

#[test]
fn names_that_cannot_be_file_names_are_refused() {
    let long = "n".repeat(300);
    let d = errs(&format!("version: 1\nname: {long}\ntargets:\n  - {{name: t, kind: tmpfs}}\nworkloads:\n  - {{name: w, kind: small_files}}\n"));
    expect(&d, 2, 1, "name", "is 300 bytes long");
    let (t, w) = ("t".repeat(120), "w".repeat(120));
    let d = errs(&format!("version: 1\nname: x\ntargets:\n  - {{name: {t}, kind: tmpfs}}\nworkloads:\n  - {{name: {w}, kind: small_files}}\n"));
    expect(&d, 4, 6, "targets[0].name", "would be 272 bytes");
    let (t, w) = ("t".repeat(110), "w".repeat(110));
    ok(&format!("version: 1\nname: x\ntargets:\n  - {{name: {t}, kind: tmpfs}}\nworkloads:\n  - {{name: {w}, kind: small_files}}\n"));
}

#[test]
fn more_files_than_any_target_holds_are_refused() {
    // A default tmpfs holds what the host's RAM allows, but not 2^32 files:
    // run aborted allocating their names (1e12) or panicked (1e18).
    for files in ["1000000000000", "1000000000000000000"] {
        let d = errs(&with(
            "",
            &format!("  - {{name: q, kind: sequence, files: {files}, steps: [open, close]}}\n"),
        ));
        expect(
            &d,
            7,
            31,
            "workloads[1].files",
            "more than the 4294967296 files any target can hold",
        );
    }
    let d = errs(&with(
        "  - {name: o, kind: overlay, upper: {kind: tmpfs}, lower: {files: 5000000000}}\n",
        "",
    ));
    expect(&d, 5, 60, "targets[1].lower.files", "5000000000 files");
    let d = errs(&with(
        "  - {name: o, kind: overlay, upper: {kind: tmpfs}, lower: {files: 1000000000, file_size: 1TiB}}\n",
        "",
    ));
    expect(
        &d,
        5,
        60,
        "targets[1].lower.files",
        "more than the 8388608TiB",
    );
    let d = errs(&with(
        "  - {name: o, kind: overlay, upper: {kind: tmpfs}, lower: {layers: 501}}\n",
        "",
    ));
    expect(
        &d,
        5,
        60,
        "targets[1].lower.layers",
        "at most 500 lower layers",
    );
}

#[test]
fn crash_trials_count_as_cell_runs() {
    let text = |trials: u64| {
        format!(
            "version: 1\nname: t\nduration: 5s\nrepeat: 10\ntargets:\n  - {{name: e, kind: ext4}}\n  - {{name: m, kind: tmpfs}}\n\
             workloads:\n  - {{name: w, kind: fsync_heavy}}\n  - {{name: s, kind: small_files}}\n\
             faults:\n  - {{kind: crash, target: e, workload: w, at: 1s, trials: {trials}}}\n\
             \x20 - {{kind: crash, target: '*', at: 1s, trials: 2}}\n"
        )
    };
    // e/w runs 5000 times a repeat (the first crash fault applying wins),
    // e/s, m/w and m/s twice: (5000 + 3 × 2) × 10 = 50060.
    ok(&text(5000));
    let d = errs(&text(4_000_000_000));
    expect(
        &d,
        12,
        51,
        "faults[0].trials",
        "the plan has 40000000060 cell runs, more than the 100000",
    );
    // `run --repeat 20` goes through the same count: (5000 + 6) × 20.
    let repeat = |r| Overrides {
        repeat: Some(r),
        ..Overrides::default()
    };
    let d = errs_with(&text(5000), &repeat(20));
    expect(
        &d,
        0,
        0,
        "",
        "--repeat 20: each crash trial runs its cell again",
    );
    expect(&d, 0, 0, "", "100120 cell runs");
    assert_eq!(ok_with(&text(5000), &repeat(19)).repeat, 19);
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

#[test]
fn overrides_replace_the_files_values_before_the_checks() {
    let file = "version: 1\nname: t\nduration: 5s\nwarmup: 2s\nrepeat: 2\nseed: 1\n\
                targets:\n  - {name: m, kind: tmpfs}\nworkloads:\n  - {name: w, kind: small_files}\n";
    let s = ok_with(file, &Overrides::default());
    assert_eq!(
        (s.stop, s.warmup, s.repeat, s.seed),
        (
            Stop::Duration(Duration::from_secs(5)),
            Duration::from_secs(2),
            2,
            1
        )
    );
    let s = ok_with(
        file,
        &Overrides {
            ops: Some(300),
            warmup: Some(Duration::ZERO),
            repeat: Some(4),
            seed: Some(7),
            ..Overrides::default()
        },
    );
    assert_eq!(
        (s.stop, s.warmup, s.repeat, s.seed),
        (Stop::Ops(300), Duration::ZERO, 4, 7),
        "--ops replaces the file's duration"
    );
    let ops_file = file.replace("duration: 5s", "ops: 1000");
    let duration = |d| Overrides {
        duration: Some(d),
        ..Overrides::default()
    };
    let s = ok_with(&ops_file, &duration(Duration::from_secs(3)));
    assert_eq!(
        s.stop,
        Stop::Duration(Duration::from_secs(3)),
        "--duration replaces ops"
    );
    // The sha256 stays the file's: a gate later finds it unchanged.
    assert_eq!(s.sha256, ok(&ops_file).sha256);
    // A value the checks refuse is reported as the flag's, not at a line.
    let d = errs_with(&ops_file, &duration(Duration::ZERO));
    expect(&d, 0, 0, "", "--duration 0s: must be longer than 0s");
    let both = Overrides {
        duration: Some(Duration::from_secs(1)),
        ops: Some(5),
        ..Overrides::default()
    };
    expect(&errs_with(file, &both), 0, 0, "", "--ops 5: give either");
    // The file's own mistakes are still its own, at their place.
    let d = errs_with(
        &file.replace("seed: 1", "seed: x"),
        &duration(Duration::from_secs(1)),
    );
    expect(&d, 6, 1, "seed", "expected a whole number");
}

#[test]
fn repeat_override_goes_through_the_cell_count_check() {
    let file = "version: 1\nname: t\nduration: 1s\ntargets:\n  - {name: m, kind: tmpfs}\n\
                workloads:\n  - {name: w, kind: small_files}\n";
    let repeat = |r| Overrides {
        repeat: Some(r),
        ..Overrides::default()
    };
    assert_eq!(ok_with(file, &repeat(100_000)).repeat, 100_000);
    let d = errs_with(file, &repeat(4_000_000_000));
    assert_eq!(d.len(), 1, "{}", Diagnostics(d.clone()));
    expect(
        &d,
        0,
        0,
        "",
        "--repeat 4000000000: 1 targets × 1 workloads × 4000000000 repeats",
    );
    expect(&d, 0, 0, "", "more than the 100000 a run may have");
    // A file whose own repeat is too many runs with a smaller one.
    let too_many = file.replace("duration: 1s", "duration: 1s\nrepeat: 200000");
    assert!(!errs(&too_many).is_empty());
    assert_eq!(ok_with(&too_many, &repeat(3)).repeat, 3);
}

#[test]
fn duration_override_shorter_than_a_crash_window_is_refused() {
    let file = "version: 1\nname: t\nduration: 5s\ntargets:\n  - {name: e, kind: ext4}\n\
                workloads:\n  - {name: w, kind: fsync_heavy}\n\
                faults:\n  - {kind: crash, target: e, at: 1s..3s}\n";
    let duration = |secs| Overrides {
        duration: Some(Duration::from_secs(secs)),
        ..Overrides::default()
    };
    ok_with(file, &duration(4));
    let d = errs_with(file, &duration(3));
    assert_eq!(d.len(), 1, "{}", Diagnostics(d.clone()));
    expect(
        &d,
        0,
        0,
        "",
        "--duration 3s: the measured phase ends before the crash of `faults[0]` can fire \
         (its `at` reaches 3s); give a longer --duration",
    );
    assert_eq!(d[0].to_string().lines().count(), 1);
    // A file too short for its own crash runs with a longer --duration,
    // and with --ops (no clock to outrun).
    let short = file.replace("duration: 5s", "duration: 2s");
    expect(
        &errs(&short),
        9,
        30,
        "faults[0].at",
        "must fire before the cell ends",
    );
    ok_with(&short, &duration(10));
    let ops = Overrides {
        ops: Some(1000),
        ..Overrides::default()
    };
    assert_eq!(ok_with(&short, &ops).stop, Stop::Ops(1000));
}
