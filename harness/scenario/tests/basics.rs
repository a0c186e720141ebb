//! The file as a whole: keys, types, units, required keys, names, syntax.

use std::path::Path;
use std::time::Duration;

use super::*;

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
    assert_eq!(ext4.mkfs(), ["-N", "20000"]);
    assert_eq!(ext4.size(), Some(2 << 30));
    assert_eq!(s.targets[2].options, ["data=writeback", "noatime"]);
    let overlay = &s.targets[4];
    let upper = overlay.upper().unwrap();
    assert_eq!((upper.kind, upper.size), (TargetKind::Ext4, Some(2 << 30)));
    let lower = overlay.lower().unwrap();
    assert_eq!((lower.files, lower.dirs, lower.layers), (1000, 10, 1));
    assert_eq!(lower.file_size, SizeRange::fixed(64 << 10));
    assert_eq!(overlay.options, ["metacopy=on", "index=off"]);
    assert_eq!(s.targets[5].path(), Some(Path::new("/var/tmp/wpbench")));

    let sf = &s.workloads[0];
    assert_eq!(
        (sf.threads, sf.fsync, sf.sync_call),
        (4, SyncPolicy::Always, SyncCall::Fsync)
    );
    let wal = &s.workloads[1];
    assert_eq!(wal.sync_call, SyncCall::Fdatasync);
    assert_eq!(
        wal.params,
        WorkloadParams::FsyncHeavy(FsyncHeavy {
            record_size: SizeRange::fixed(4096),
            file_size: 64 << 20
        })
    );
    let logs = &s.workloads[2];
    assert_eq!(logs.rate, Some(2000.0));
    assert_eq!(logs.fsync, SyncPolicy::OnClose);
    assert_eq!(
        logs.params,
        WorkloadParams::LogAppend(LogAppend {
            line_size: SizeRange { min: 120, max: 400 },
            file_size: SizeRange {
                min: 100 << 10,
                max: 300 << 10
            },
            retain: 10,
            open_tasks: 1
        })
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
    assert_eq!((tmp.size(), tmp.options.len()), (None, 0));
    assert_eq!(e.size(), Some(1 << 30));
    assert!(e.loop_dev().direct_io);
    let upper = o.upper().unwrap();
    assert_eq!((upper.kind, upper.size), (TargetKind::Tmpfs, None));
    let lower = o.lower().unwrap();
    assert_eq!((lower.files, lower.dirs, lower.layers), (0, 1, 1));
    assert_eq!(lower.file_size, SizeRange::fixed(4096));

    let [w, wal, logs] = &s.workloads[..] else {
        panic!("three workloads")
    };
    assert_eq!((w.threads, w.rate, w.fsync_dir), (1, None, false));
    assert_eq!((w.fsync, w.sync_call), (SyncPolicy::Never, SyncCall::Fsync));
    assert_eq!(
        w.params,
        WorkloadParams::SmallFiles(SmallFiles {
            file_size: SizeRange::fixed(4096),
            files_per_dir: 1000
        })
    );
    assert_eq!(
        (wal.fsync, wal.sync_call),
        (SyncPolicy::Always, SyncCall::Fdatasync)
    );
    assert_eq!(
        logs.params,
        WorkloadParams::LogAppend(LogAppend {
            line_size: SizeRange { min: 120, max: 400 },
            file_size: SizeRange {
                min: 100 << 10,
                max: 300 << 10
            },
            retain: 10,
            open_tasks: 1
        })
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
fn duration_and_ops_exclude_each_other() {
    let d = errs(&format!("{}duration: 5s\nops: 100\n", with("", "")));
    expect(&d, 8, 1, "ops", "give either `duration` or `ops`, not both");
    let s = ok(&format!("{}ops: 100\n", with("", "")));
    assert_eq!(s.stop, Stop::Ops(100));
    let d = errs(&format!("{}duration: 0s\n", with("", "")));
    expect(&d, 7, 1, "duration", "longer than 0s");
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
    let d = crate::scenario::load(
        Path::new("/nonexistent/wpbench/s.yaml"),
        &crate::scenario::NoHost,
    )
    .unwrap_err();
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
    let s = crate::scenario::load(&p, &crate::scenario::NoHost).unwrap();
    assert_eq!(s.file, p);
    assert_eq!(s.sha256, ok(DESIGN_EXAMPLE).sha256);
}

#[test]
fn missing_kind_lists_every_kind() {
    let d = errs(&one("  - name: s\n"));
    expect(
        &d,
        6,
        5,
        "workloads[0].kind",
        "(small_files, fsync_heavy, log_append, read_atime, copy_up, metadata, sequence, replay or exec)",
    );
    let d = errs(&one("  - {name: s, kind: sequense}\n"));
    expect(&d, 6, 15, "workloads[0].kind", "did you mean `sequence`?");
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
fn interval_sets_the_time_series_step_and_defaults_by_the_cells_length() {
    let head = |extra: &str| {
        format!(
            "version: 1\nname: t\n{extra}targets: [{{name: a, kind: tmpfs}}]\n\
             workloads: [{{name: w, kind: small_files}}]\n"
        )
    };
    // By default: 100 ms under 20 s and for op-bound cells, 1 s from 20 s on.
    let s = ok(&head("duration: 3s\n"));
    assert_eq!(s.interval, None);
    assert_eq!(s.cell_interval(), Duration::from_millis(100));
    assert_eq!(
        ok(&head("duration: 20s\n")).cell_interval(),
        Duration::from_secs(1)
    );
    assert_eq!(
        ok(&head("ops: 5000\n")).cell_interval(),
        Duration::from_millis(100)
    );
    // Given: as written.
    let s = ok(&head("duration: 60s\ninterval: 250ms\n"));
    assert_eq!(s.cell_interval(), Duration::from_millis(250));
    assert_eq!(
        ok(&head("interval: 10ms\n")).cell_interval(),
        Duration::from_millis(10)
    );

    let d = errs(&head("duration: 3s\ninterval: 5ms\n"));
    expect(&d, 4, 1, "interval", "must be at least 10ms");
    let d = errs(&head("interval: 12500us\n"));
    expect(&d, 3, 1, "interval", "whole number of milliseconds");
    let d = errs(&head("interval: 100\n"));
    expect(&d, 3, 1, "interval", "`100` has no unit");
    let d = errs(&head("intreval: 1s\n"));
    expect(&d, 3, 1, "intreval", "did you mean `interval`?");
}
