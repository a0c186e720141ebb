//! `faults:` entries.

use super::*;

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
    let t = s.faults[0].throttle().unwrap();
    assert_eq!(
        (t.write_iops, t.write_bps, t.profile.as_deref()),
        (Some(100), Some(125 << 20), None)
    );
    assert!(s.faults[0].noisy().is_none());
    let l = crate::fault::throttle::resolve(s.faults[1].throttle().unwrap());
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
    assert!(s.faults[0].noisy().is_some());
}

#[test]
fn noisy_neighbor_fault_keys() {
    let base = with("  - {name: e, kind: ext4}\n", "");
    let s = ok(&format!(
        "{base}faults:\n  - {{kind: noisy_neighbor, target: e, write_bps: 50MiB/s}}\n  - {{kind: noisy_neighbor, target: e, write_bps: 1MiB/s, fsync_every: 4MiB, pattern: random, file_size: 64MiB}}\n"
    ));
    let n = *s.faults[0].noisy().unwrap();
    assert_eq!(
        n,
        NoisySpec {
            write_bps: 50 << 20,
            fsync_every: None,
            pattern: NoisyPattern::Seq,
            file_size: 1 << 30,
        }
    );
    assert!(s.faults[0].throttle().is_none());
    let n = *s.faults[1].noisy().unwrap();
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
fn eio_needs_a_size_and_a_loop_device() {
    let base = with(
        "  - {name: e, kind: ext4}\n  - {name: h, kind: hostpath, path: /var/tmp/x}\n",
        "",
    );
    // Lines: 1-3 header, 4 tmp, 5 e, 6 h, 7 workloads:, 8 w, 9 faults:, 10 first.
    let s = ok(&format!(
        "{base}faults:\n  - {{kind: eio, target: e, after: 64MiB, on_error: stop}}\n"
    ));
    let eio = s.faults[0].eio().copied().expect("an eio spec");
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

#[test]
fn crash_states_take_no_moment_and_a_sane_count() {
    let base = "version: 1\nname: p\nduration: 3s\ntargets:\n\
                \x20 - {name: v, kind: ext4, device: {kind: emulated, cache: volatile}}\n\
                \x20 - {name: h, kind: hostpath, path: /var/tmp}\n\
                workloads:\n  - {name: w, kind: fsync_heavy}\nfaults:\n";
    let s = ok(&format!(
        "{base}  - {{kind: power_loss, target: v, states: 200}}\n"
    ));
    let p = s.faults[0].power_loss().copied().unwrap();
    assert_eq!((p.states, p.reorder), (Some(200), false));
    let d = errs(&format!(
        "{base}  - {{kind: power_loss, target: v, states: 0}}\n  \
         - {{kind: power_loss, target: v, states: 20000}}\n  \
         - {{kind: power_loss, target: v, states: 5, at: 1s, reorder: true}}\n  \
         - {{kind: power_loss, target: h, states: 5}}\n"
    ));
    for (key, says) in [
        ("faults[0].states", "1 to 10000 (got 0)"),
        ("faults[1].states", "1 to 10000 (got 20000)"),
        (
            "faults[2].at",
            "the crash moments are the flushes of the cell's write log",
        ),
        ("faults[2].reorder", "already keeps a seeded subset"),
        ("faults[3].target", "which has no emulated device"),
    ] {
        assert!(
            d.iter().any(|d| d.key == key && d.message.contains(says)),
            "{key}: {says:?} not in\n{}",
            Diagnostics(d.clone())
        );
    }
    // A moment is not asked for.
    assert!(!d.iter().any(|d| d.message.contains("needs a moment")));
}

#[test]
fn a_power_loss_needs_an_emulated_device_and_a_moment() {
    let base = "version: 1\nname: p\nduration: 3s\ntargets:\n\
                \x20 - {name: v, kind: ext4, device: {kind: emulated, cache: volatile}}\n\
                \x20 - {name: o, kind: overlay, upper: {kind: ext4, device: {kind: emulated}}}\n\
                \x20 - {name: plain, kind: ext4}\n\
                workloads:\n  - {name: w, kind: fsync_heavy}\nfaults:\n";
    let s = ok(&format!(
        "{base}  - {{kind: power_loss, target: v, at: 1s, reorder: true}}\n  \
         - {{kind: power_loss, target: o, after_ops: 100, trials: 4}}\n"
    ));
    assert_eq!(s.faults[0].kind, FaultKind::PowerLoss);
    assert_eq!(s.faults[0].power_loss().map(|p| p.reorder), Some(true));
    assert_eq!(s.faults[1].power_loss().map(|p| p.reorder), Some(false));
    assert_eq!(s.faults[1].trials, 4);
    let d = errs(&format!("{base}  - {{kind: power_loss, target: plain}}\n"));
    assert!(
        d.iter()
            .any(|d| d.key == "faults[0].at" && d.message.contains("a power loss needs a moment")),
        "{}",
        Diagnostics(d.clone())
    );
    assert!(
        d.iter()
            .any(|d| d.key == "faults[0].target"
                && d.message.contains("has no emulated device to cut")),
        "{}",
        Diagnostics(d.clone())
    );
}
