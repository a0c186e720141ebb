//! `gates:` entries and gate files.

use std::path::Path;
use std::time::Duration;

use super::*;

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
    // one that can have it is enough.
    assert!(gated(
        &[tmp, ext4],
        &[sf, ra],
        no_faults,
        &["{select: {}, write_amplification: 2}"]
    )
    .is_empty());
    // A hostPath's disk is shared with the rest of the host: its counters
    // are not the cell's, so a write-amplification limit selecting it is
    // refused, alone or among targets that have a device of their own.
    for targets in [&[host][..], &[ext4, host][..]] {
        let d = gated(
            targets,
            &[sf],
            &[],
            &["{select: {}, write_amplification: 2}"],
        );
        expect(
            &d,
            9 + targets.len(),
            18,
            "gates[0].write_amplification",
            "selects hostPath target `h`, whose device is shared with the rest of the host",
        );
    }
    // Narrowed to the ext4 target, it stands.
    assert!(gated(
        &[ext4, host],
        &[sf],
        &[],
        &["{select: {target: e}, write_amplification: 2}"]
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
    let s = crate::scenario::load(
        &root.join("scenarios/rollout.yaml"),
        &crate::scenario::NoHost,
    )
    .unwrap();
    let gates =
        crate::scenario::load_gates(&root.join("ci/gate.yaml"), &GateNames::of(&s)).unwrap();
    assert!(gates.len() >= 4);
}

#[test]
fn gates_may_have_names_unique_in_their_file() {
    let base = with("", "");
    let s = ok(&format!(
        "{base}gates:\n  - name: wal-p95\n    p95: 2ms\n  - p99: 9ms\n"
    ));
    assert_eq!(s.gates[0].name.as_deref(), Some("wal-p95"));
    assert_eq!(s.gates[0].label(), "wal-p95");
    assert_eq!(s.gates[0].cited(), "wal-p95 (gates[0])");
    assert_eq!(
        (s.gates[1].name.as_deref(), s.gates[1].label()),
        (None, "gates[1]")
    );
    let d = errs(&format!("{base}gates:\n  - name: wal p95\n    p95: 2ms\n"));
    expect(&d, 8, 5, "gates[0].name", "`wal p95` is not a valid name");
    let d = errs(&format!(
        "{base}gates:\n  - name: wal\n    p95: 2ms\n  - name: wal\n    p99: 3ms\n"
    ));
    expect(
        &d,
        10,
        5,
        "gates[1].name",
        "gate name `wal` is used twice (first at gates[0].name, line 8 column 5)",
    );
    // In a gate file too, where the name is what its verdicts show.
    let file = Path::new("ci/gate.yaml");
    let names = GateNames {
        targets: vec![("tmp".into(), "tmp".into())],
        workloads: vec![("w".into(), "w".into())],
        faults: Vec::new(),
        scenario: None,
    };
    let gates = crate::scenario::check::load_gates_str(
        "version: 1\ngates:\n  - name: w.p95\n    p95: 2ms\n",
        file,
        &names,
    )
    .unwrap();
    assert_eq!(gates[0].cited(), "w.p95 (ci/gate.yaml: gates[0])");
    let d = crate::scenario::check::load_gates_str(
        "version: 1\ngates:\n  - name: a\n    p95: 2ms\n  - name: a\n    p99: 2ms\n",
        file,
        &names,
    )
    .unwrap_err();
    expect(
        &d.0,
        5,
        5,
        "gates[1].name",
        "first at gates[0].name, line 3 column 5",
    );
}
