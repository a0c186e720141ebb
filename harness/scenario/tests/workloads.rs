//! `workloads:` entries: sizes, sync policies, payloads, each kind's keys.

use std::time::Duration;

use super::*;

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
fn open_tasks_is_a_bounded_log_append_key() {
    let s = ok(&with(
        "",
        "  - name: l\n    kind: log_append\n    open_tasks: 600\n    vary:\n      open_tasks: [1, 50]\n",
    ));
    let open: Vec<u32> = s.workloads[1..]
        .iter()
        .map(|w| match w.params {
            WorkloadParams::LogAppend(LogAppend { open_tasks, .. }) => open_tasks,
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
        "not a key of read_atime workloads; it belongs to small_files, fsync_heavy, log_append, metadata, sequence and replay",
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
        WorkloadParams::Metadata(Metadata {
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
        })
    );
    let m = &s.workloads[1];
    assert!(m.fsync_dir);
    assert_eq!(
        m.params,
        WorkloadParams::Metadata(Metadata {
            files: 10,
            file_size: SizeRange::fixed(1024),
            mix: vec![
                (MetaOp::Create, 3),
                (MetaOp::Stat, 0),
                (MetaOp::Rmdir, 2),
                (MetaOp::RenameDir, 1),
            ],
        })
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
    let WorkloadParams::Sequence(Sequence {
        steps,
        files,
        file_size,
    }) = &w.params
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
fn a_rate_too_low_to_schedule_is_refused() {
    let d = errs(&with(
        "",
        "  - {name: r, kind: small_files, rate: 0.0000000000000000000001/s}\n",
    ));
    expect(&d, 7, 34, "workloads[1].rate", "584 years");
    ok(&with("", "  - {name: r, kind: small_files, rate: 1/h}\n"));
}

#[test]
fn exec_keys() {
    let s = ok(&one(
        "  - name: dd\n    kind: exec\n    threads: 2\n    command: [sh, -c, 'dd if=/dev/zero of=f bs=4k count=16 conv=fsync']\n    setup: [mkdir, -p, layer]\n    timeout: 5s\n",
    ));
    let w = &s.workloads[0];
    assert_eq!((w.kind, w.threads), (WorkloadKind::Exec, 2));
    let WorkloadParams::Exec(e) = &w.params else {
        panic!("an exec")
    };
    assert_eq!(
        e.command,
        ["sh", "-c", "dd if=/dev/zero of=f bs=4k count=16 conv=fsync"]
    );
    assert_eq!(
        e.setup.as_deref(),
        Some(&["mkdir".to_string(), "-p".into(), "layer".into()][..])
    );
    assert_eq!(e.timeout, Duration::from_secs(5));
    assert_eq!(
        w.params.record(),
        [
            (
                "command",
                "sh -c 'dd if=/dev/zero of=f bs=4k count=16 conv=fsync'".to_string()
            ),
            ("setup", "mkdir -p layer".into()),
            ("timeout", "5s".into()),
            ("setup_timeout", "10m".into()),
        ]
    );
    assert!(!w.params.writes_data());
    // Defaults: no setup, a 60 s timeout.
    let s = ok(&one("  - {name: t, kind: exec, command: [\"true\"]}\n"));
    let WorkloadParams::Exec(e) = &s.workloads[0].params else {
        panic!("an exec")
    };
    assert_eq!(
        (e.setup.clone(), e.timeout),
        (None, Duration::from_secs(60))
    );
}

#[test]
fn exec_errors_are_at_their_keys() {
    let d = errs(&one("  - name: e\n    kind: exec\n"));
    expect(
        &d,
        6,
        5,
        "workloads[0].command",
        "missing required key `command`",
    );
    let d = errs(&one("  - name: e\n    kind: exec\n    command: []\n"));
    expect(
        &d,
        8,
        5,
        "workloads[0].command",
        "needs at least the program to run",
    );
    let d = errs(&one(
        "  - name: e\n    kind: exec\n    command: 'dd if=/dev/zero of=f'\n",
    ));
    expect(
        &d,
        8,
        5,
        "workloads[0].command",
        "wpbench runs no shell and does not split a string",
    );
    let d = errs(&one(
        "  - name: e\n    kind: exec\n    command:\n      - sleep\n      - 5\n    setup: [mkdir, {a: b}]\n",
    ));
    expect(
        &d,
        10,
        9,
        "workloads[0].command[1]",
        "must be a string, found a number: quote it (`\"5\"`)",
    );
    expect(
        &d,
        11,
        20,
        "workloads[0].setup[1]",
        "must be a string, found a mapping",
    );
    for (t, msg) in [("0s", "must be longer than 0s"), ("5", "has no unit")] {
        let d = errs(&one(&format!(
            "  - name: e\n    kind: exec\n    command: [\"true\"]\n    timeout: {t}\n"
        )));
        expect(&d, 9, 5, "workloads[0].timeout", msg);
    }
    let d = errs(&one(
        "  - name: e\n    kind: exec\n    command: [\"true\"]\n    timeuot: 1s\n",
    ));
    expect(&d, 9, 5, "workloads[0].timeuot", "did you mean `timeout`?");
    let d = errs(&one(
        "  - name: e\n    kind: exec\n    command: [\"true\"]\n    fsync: always\n",
    ));
    expect(
        &d,
        9,
        5,
        "workloads[0].fsync",
        "not a key of exec workloads",
    );
}

/// A trace file in a fresh directory, and that directory (kept alive).
fn trace_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.trace");
    std::fs::write(&path, text).unwrap();
    let p = path.display().to_string();
    (dir, p)
}

const TRACE: &str =
    "7 1000.000001 openat(AT_FDCWD</w>, \"a\", O_WRONLY|O_CREAT, 0644) = 3</w/a> <0.000010>\n\
                     7 1000.000002 write(3</w/a>, \"xyz\", 3) = 3 <0.000010>\n\
                     7 1000.000003 fdatasync(3</w/a>) = 0 <0.000010>\n\
                     7 1000.000004 close(3</w/a>) = 0 <0.000010>\n";

#[test]
fn replay_reads_its_trace_at_load_and_records_its_keys() {
    let (_dir, path) = trace_file(TRACE);
    let s = ok(&one(&format!(
        "  - {{name: r, kind: replay, trace: {path}, timing: original, speed: 2.5, payload: zeros}}\n"
    )));
    let w = &s.workloads[0];
    assert_eq!(w.kind, WorkloadKind::Replay);
    assert_eq!(w.payload, PayloadKind::Zeros);
    let WorkloadParams::Replay(r) = &w.params else {
        panic!("{:?}", w.params)
    };
    assert_eq!((r.timing, r.speed), (Timing::Original, 2.5));
    assert_eq!(r.calls(), 4);
    assert_eq!(r.trace.root, "/w");
    let rec: Vec<(&str, String)> = w.params.record();
    assert!(rec.contains(&("calls", "4".into())), "{rec:?}");
    assert!(rec.contains(&("timing", "original".into())), "{rec:?}");
    // Default: the trace's own timing, at its own speed.
    let s = ok(&one(&format!(
        "  - {{name: r, kind: replay, trace: {path}}}\n"
    )));
    let WorkloadParams::Replay(r) = &s.workloads[0].params else {
        panic!()
    };
    assert_eq!((r.timing, r.speed), (Timing::Original, 1.0));
}

#[test]
fn replay_errors_are_at_their_keys_with_the_traces_line() {
    let d = errs(&one("  - name: r\n    kind: replay\n"));
    expect(
        &d,
        6,
        5,
        "workloads[0].trace",
        "missing required key `trace`",
    );
    let d = errs(&one(
        "  - name: r\n    kind: replay\n    trace: /nonexistent/x.trace\n",
    ));
    expect(
        &d,
        8,
        5,
        "workloads[0].trace",
        "cannot read /nonexistent/x.trace",
    );
    let (_dir, path) = trace_file(TRACE);
    let d = errs(&one(&format!(
        "  - name: r\n    kind: replay\n    trace: {path}\n    speed: 0\n"
    )));
    expect(&d, 9, 5, "workloads[0].speed", "must be from 0.001 to 1000");
    let d = errs(&one(&format!(
        "  - name: r\n    kind: replay\n    trace: {path}\n    timing: fast\n    speed: 2\n"
    )));
    expect(
        &d,
        10,
        5,
        "workloads[0].speed",
        "with `timing: fast` there are none",
    );
    let d = errs(&one(&format!(
        "  - name: r\n    kind: replay\n    trace: {path}\n    timing: later\n"
    )));
    expect(
        &d,
        9,
        5,
        "workloads[0].timing",
        "unknown value `later`; expected one of: original, fast",
    );
    // A broken line: the scenario's key, and the trace's file and line.
    let (_dir, broken) = trace_file(&format!("{TRACE}7 1000.000005 fsync(3</w/a>"));
    let d = errs(&one(&format!(
        "  - name: r\n    kind: replay\n    trace: {broken}\n"
    )));
    expect(&d, 8, 5, "workloads[0].trace", &format!("{broken}:5:"));
    // A trace with no file calls under its directory has nothing to replay.
    let (_dir, empty) = trace_file("7 1000.000001 getpid() = 7 <0.000010>\n");
    let d = errs(&one(&format!(
        "  - name: r\n    kind: replay\n    trace: {empty}\n    root: /w\n"
    )));
    expect(&d, 8, 5, "workloads[0].trace", "no file calls");
}
