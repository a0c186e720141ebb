//! The gate on synthetic results: every limit kind, levels, globs, empty
//! selections, and baselines with and without a real change.

use std::time::Duration;

use super::*;
use crate::record::new_histogram;
use crate::report::fixtures::{cell, loop_device, op, run, with_errors};
use crate::report::gate::{bmf, junit, render};
use crate::result::stats::op_stats;
use crate::scenario::GateLimit;

fn gate(select: Selector, limits: Vec<(Level, Limit)>) -> GateSpec {
    GateSpec {
        select,
        limits: limits
            .into_iter()
            .map(|(level, limit)| GateLimit { level, limit })
            .collect(),
        max_regression: None,
        warn_regression: None,
        origin: "gates[0]".into(),
        name: None,
    }
}

fn sel(target: &str, workload: &str, op: Option<&str>) -> Selector {
    Selector {
        target: Some(target.into()),
        workload: Some(workload.into()),
        op: op.map(String::from),
        fault: None,
    }
}

fn p95(ms: u64) -> Limit {
    Limit::Latency {
        stat: LatencyStat::P95,
        max: Duration::from_millis(ms),
    }
}

/// Five repeats of ext4[noatime]/wal: fsync p95 = 2 × p50, p50 1.0–1.4 ms
/// (so p95 2.0–2.8 ms, median 2.4 ms), one EIO per repeat, and a crash
/// that lost nothing; plus one tmpfs/wal cell.
fn five_repeats() -> RunResult {
    let mut cells: Vec<CellResult> = (0..5u32)
        .map(|r| {
            let p50 = 1_000_000 + u64::from(r) * 100_000;
            let mut c = cell(
                r as usize,
                "ext4[noatime]",
                "wal",
                r,
                vec![
                    ("record", op(1000, 500.0 + f64::from(r), p50)),
                    ("fsync", with_errors(op(999, 499.0, p50), &[("EIO", 1)])),
                ],
            );
            c.device = Some(loop_device());
            c.faults.push(crate::fault::outcome::testing::crash(
                crate::fault::verify::Durability {
                    acked_intact: 100,
                    ..Default::default()
                },
                None,
                Vec::new(),
            ));
            c
        })
        .collect();
    cells.push(cell(
        5,
        "tmpfs",
        "wal",
        0,
        vec![("record", op(1000, 9000.0, 10_000))],
    ));
    run(cells)
}

fn only(report: &GateReport) -> &Check {
    assert_eq!(report.checks.len(), 1, "{:#?}", report.checks);
    &report.checks[0]
}

#[test]
fn a_latency_limit_is_judged_on_the_median_of_the_repeats() {
    let r = five_repeats();
    let g = gate(
        sel("ext4", "wal", Some("fsync")),
        vec![(Level::Fail, p95(3))],
    );
    let rep = evaluate(&r, &[g], None).unwrap();
    let c = only(&rep);
    assert_eq!((c.status, c.repeats), (Status::Pass, 5));
    assert_eq!(c.value, Some(2_400_000.0));
    assert_eq!(c.measured, "2.40ms (median of 5: 2.00ms–2.80ms)");
    assert_eq!(c.limit, "p95 ≤ 3ms");
    assert_eq!(rep.status, Status::Pass);
    // 2 ms is broken by the median even though one repeat met it.
    let g = gate(
        sel("ext4*", "wal", Some("fsync")),
        vec![(Level::Fail, p95(2))],
    );
    let rep = evaluate(&r, &[g], None).unwrap();
    assert_eq!(
        (rep.status, only(&rep).status),
        (Status::Fail, Status::Fail)
    );
    assert!(only(&rep).message.contains("breaks limit p95 ≤ 2ms"));
}

#[test]
fn warn_and_fail_levels() {
    let r = five_repeats();
    let g = gate(
        sel("ext4", "wal", Some("fsync")),
        vec![(Level::Fail, p95(3)), (Level::Warn, p95(2))],
    );
    let rep = evaluate(&r, &[g], None).unwrap();
    let statuses: Vec<Status> = rep.checks.iter().map(|c| c.status).collect();
    assert_eq!(statuses, [Status::Pass, Status::Warn]);
    assert_eq!(rep.status, Status::Warn);
}

#[test]
fn every_limit_kind() {
    let r = five_repeats();
    let cases: Vec<(Limit, Status, &str)> = vec![
        // Unit op by default: record.
        (
            Limit::Throughput { min_per_sec: 400.0 },
            Status::Pass,
            "502/s (median of 5",
        ),
        (
            Limit::Throughput { min_per_sec: 600.0 },
            Status::Fail,
            "502/s",
        ),
        (Limit::ErrorRate { max: 0.01 }, Status::Pass, "0.000%"),
        (Limit::WriteAmplification { max: 1.5 }, Status::Pass, "1.10"),
        (
            Limit::WriteAmplification { max: 1.05 },
            Status::Fail,
            "1.10",
        ),
        (
            Limit::AckedLost { max: 0 },
            Status::Pass,
            "0 (sum of 5 repeats)",
        ),
        (
            Limit::Latency {
                stat: LatencyStat::Max,
                max: Duration::from_millis(10),
            },
            Status::Fail,
            "19.2ms",
        ),
        (
            Limit::Latency {
                stat: LatencyStat::Mean,
                max: Duration::from_millis(2),
            },
            Status::Pass,
            "1.32ms",
        ),
    ];
    for (limit, status, measured) in cases {
        let rep = evaluate(
            &r,
            &[gate(sel("ext4", "*", None), vec![(Level::Fail, limit)])],
            None,
        )
        .unwrap();
        let c = only(&rep);
        assert_eq!(c.status, status, "{limit:?}: {c:?}");
        assert!(
            c.measured.starts_with(measured),
            "{limit:?}: {}",
            c.measured
        );
    }
    // error_rate on the op that had errors: 1 of 1000 per repeat.
    let rep = evaluate(
        &r,
        &[gate(
            sel("ext4", "wal", Some("fsync")),
            vec![(Level::Fail, Limit::ErrorRate { max: 0.0005 })],
        )],
        None,
    )
    .unwrap();
    assert_eq!(only(&rep).status, Status::Fail);
    assert!(
        only(&rep).measured.starts_with("0.100%"),
        "{}",
        only(&rep).measured
    );
}

#[test]
fn globs_select_cells_by_full_or_written_name() {
    let r = five_repeats();
    let g = gate(sel("*", "w?l", None), vec![(Level::Fail, p95(100))]);
    let rep = evaluate(&r, &[g], None).unwrap();
    let cells: Vec<&str> = rep.checks.iter().map(|c| c.target.as_str()).collect();
    assert_eq!(cells, ["ext4[noatime]", "tmpfs"]);
    let g = gate(
        sel("ext4[noatime]", "wal", Some("f*")),
        vec![(Level::Fail, p95(100))],
    );
    assert_eq!(evaluate(&r, &[g], None).unwrap().checks[0].op, "fsync");
}

#[test]
fn a_selector_that_matches_nothing_is_a_spec_error() {
    let r = five_repeats();
    let g = gate(sel("xfs*", "wal", None), vec![(Level::Fail, p95(2))]);
    let e = evaluate(&r, &[g], None).unwrap_err();
    assert!(
        e.0.contains("gates[0]: select {target: xfs*, workload: wal} matches no cell"),
        "{}",
        e.0
    );
    assert!(e.0.contains("ext4[noatime]/wal, tmpfs/wal"), "{}", e.0);
    // A cell-level figure no selected cell has is a spec error too…
    let g = gate(
        sel("tmpfs", "wal", None),
        vec![(Level::Fail, Limit::WriteAmplification { max: 2.0 })],
    );
    let e = evaluate(&r, &[g], None).unwrap_err();
    assert!(
        e.0.contains("none has a block device of its own"),
        "{}",
        e.0
    );
    // …but among other cells that have it, the one without is skipped.
    let g = gate(
        sel("*", "wal", None),
        vec![(Level::Fail, Limit::WriteAmplification { max: 2.0 })],
    );
    let rep = evaluate(&r, &[g], None).unwrap();
    let s: Vec<Status> = rep.checks.iter().map(|c| c.status).collect();
    assert_eq!(s, [Status::Pass, Status::Skip]);
    assert_eq!(rep.status, Status::Pass);
    // A fault selector with a fault nobody had.
    let mut g = gate(
        sel("*", "*", None),
        vec![(Level::Fail, Limit::AckedLost { max: 0 })],
    );
    g.select.fault = Some("eio".into());
    assert!(evaluate(&r, &[g], None).is_err());
}

#[test]
fn a_write_amplification_gate_on_a_shared_device_is_refused() {
    // five_repeats, plus two repeats of a hostPath whose disk counted
    // other processes' writes (165× what the workload wrote).
    let mut r = five_repeats();
    for repeat in 0..2u32 {
        let mut c = cell(
            6 + repeat as usize,
            "hostpath",
            "wal",
            repeat,
            vec![("record", op(1000, 500.0, 1_000_000))],
        );
        c.bytes_written = 131_072;
        c.device = Some(crate::result::DeviceStats::measured(
            "vda",
            (21_704_704, 198, 46),
            131_072,
            true,
        ));
        r.cells.push(c);
    }
    let wa = |target: &str| {
        gate(
            sel(target, "wal", None),
            vec![(Level::Fail, Limit::WriteAmplification { max: 2.0 })],
        )
    };
    // Selecting it, alone or among cells with a device of their own: a
    // spec error (exit 2) naming the target, the device and why.
    for target in ["hostpath", "*"] {
        let e = evaluate(&r, &[wa(target)], None).unwrap_err();
        assert!(
            e.0.contains(
                "gates[0]: `write_amplification ≤ 2` selects hostpath/wal, whose device vda \
                 is shared with the rest of the host"
            ) && e.0.contains("not attributable"),
            "{}",
            e.0
        );
        assert!(
            !e.0.contains("ext4[noatime]/wal,"),
            "names only the shared cell: {}",
            e.0
        );
    }
    // Other figures of the same cell are judged as usual.
    let rep = evaluate(
        &r,
        &[gate(
            sel("hostpath", "wal", None),
            vec![(Level::Fail, p95(3))],
        )],
        None,
    )
    .unwrap();
    assert_eq!(only(&rep).status, Status::Pass);
    // Narrowed to the device of its own, the limit is judged.
    let rep = evaluate(&r, &[wa("ext4*")], None).unwrap();
    assert_eq!(only(&rep).value, Some(1.1));
}

/// A run of `repeats` repeats of ext4/wal whose record latencies are
/// spread around `center_us` (a real histogram per repeat).
fn wal_run(center_us: u64, repeats: u32, seed: u64) -> RunResult {
    let cells = (0..repeats)
        .map(|r| {
            let mut h = new_histogram();
            let jitter = (seed + u64::from(r) * 7919) % 13;
            for i in 0..2000u64 {
                let v = center_us * 1000 + (i * 37 + jitter * 11) % (center_us * 200);
                h.record(v).unwrap();
            }
            // The fixture cell lasts 5 s: the rate is recomputed from it.
            let s = op_stats(Some(&h), Default::default(), 5.0);
            cell(r as usize, "ext4", "wal", r, vec![("record", s)])
        })
        .collect();
    run(cells)
}

fn baseline_gate(max: f64) -> GateSpec {
    GateSpec {
        select: Selector::default(),
        limits: Vec::new(),
        max_regression: Some(max),
        warn_regression: Some(0.05),
        origin: "gates[1]".into(),
        name: None,
    }
}

#[test]
fn a_run_against_its_own_baseline_passes() {
    let r = wal_run(500, 5, 1);
    let b = Baseline::from_run(&r, "main");
    let rep = evaluate(&r, &[baseline_gate(0.10)], Some(&b)).unwrap();
    assert_eq!(rep.checks.len(), 4, "p50, p95, p99, throughput");
    assert!(
        rep.checks.iter().all(|c| c.status == Status::Pass),
        "{rep:#?}"
    );
    assert!(
        rep.checks[0].message.contains("no difference within ±5 %"),
        "{}",
        rep.checks[0].message
    );
    assert_eq!(
        rep.baseline.as_deref(),
        Some("main (from run 20250101T000000Z-ab12)")
    );
}

#[test]
fn a_significant_regression_beyond_the_limit_fails_and_an_improvement_is_reported() {
    let fast = wal_run(500, 5, 1);
    let slow = wal_run(700, 5, 2);
    let b = Baseline::from_run(&fast, "fast");
    let rep = evaluate(&slow, &[baseline_gate(0.10)], Some(&b)).unwrap();
    assert_eq!(rep.status, Status::Fail);
    let p95 = rep
        .checks
        .iter()
        .find(|c| c.limit.starts_with("p95"))
        .unwrap();
    assert_eq!(p95.status, Status::Fail);
    let d = p95.delta.as_ref().unwrap();
    assert!(
        d.significant && d.verdict == Verdict::Slower && d.change > 0.3 && d.p.unwrap() < 0.01,
        "{d:?}"
    );
    let (lo, hi) = (d.ci_low.unwrap(), d.ci_high.unwrap());
    assert!(
        lo <= d.ratio.unwrap() && d.ratio.unwrap() <= hi && lo > 1.3,
        "{d:?}"
    );
    assert!(p95.message.contains("× ["), "{}", p95.message);
    assert!(p95.message.contains("slower, p="), "{}", p95.message);
    assert!(d.test.starts_with("Welch's t"), "{}", d.test);
    // The other way round: an improvement, not a failure.
    let b = Baseline::from_run(&slow, "slow");
    let rep = evaluate(&fast, &[baseline_gate(0.10)], Some(&b)).unwrap();
    assert_eq!(rep.status, Status::Pass);
    assert!(rep
        .checks
        .iter()
        .any(|c| c.message.contains("an improvement")));
}

#[test]
fn a_large_change_that_cannot_be_told_does_not_fail() {
    // One repeat per side has no spread to judge by: no failure, and it says why.
    let b = Baseline::from_run(&wal_run(500, 1, 1), "main");
    let rep = evaluate(&wal_run(900, 1, 2), &[baseline_gate(0.10)], Some(&b)).unwrap();
    assert_eq!(rep.status, Status::Pass, "{rep:#?}");
    assert!(
        rep.checks[0].message.contains("cannot tell: 1 repeat"),
        "{}",
        rep.checks[0].message
    );
}

#[test]
fn a_baseline_gate_without_a_baseline_is_skipped_and_a_baseline_without_a_gate_uses_the_default() {
    let r = wal_run(500, 3, 1);
    let rep = evaluate(&r, &[baseline_gate(0.10)], None).unwrap();
    assert!(rep.checks.is_empty());
    assert!(rep.notes[0].contains("no --baseline given"));
    let b = Baseline::from_run(&r, "main");
    let rep = evaluate(&r, &[], Some(&b)).unwrap();
    assert_eq!(rep.checks.len(), 4);
    assert!(rep.notes[0].contains("max_regression 10%"));
}

#[test]
fn exporters_agree_with_the_report() {
    let r = five_repeats();
    let g = gate(
        sel("ext4", "wal", Some("fsync")),
        vec![
            (Level::Fail, p95(2)),
            (Level::Warn, p95(2)),
            (Level::Fail, p95(9)),
        ],
    );
    let rep = evaluate(&r, &[g], None).unwrap();
    let xml = junit::render(&rep);
    assert!(xml.contains("tests=\"3\" failures=\"1\""), "{xml}");
    assert_eq!(xml.matches("<failure").count(), 1);
    assert!(xml.contains("<system-out>WARN: "));
    let text = render::text(&rep);
    assert!(
        text.lines().nth(1).unwrap().starts_with("FAIL"),
        "failures first:\n{text}"
    );
    assert!(text.contains("gates: FAIL — 1 passed, 1 warned, 1 failed, 0 skipped"));
    let md = render::markdown(&rep);
    assert!(
        md.contains("| ❌ FAIL | gates[0] | ext4[noatime]/wal fsync | p95 ≤ 2ms |"),
        "{md}"
    );
    let bmf: serde_json::Value = serde_json::from_slice(&bmf::render(&r)).unwrap();
    let m = &bmf["ext4[noatime]/wal/fsync"];
    assert_eq!(m["p95-latency"]["value"], 2_400_000.0);
    assert_eq!(m["p95-latency"]["lower_value"], 2_000_000.0);
    assert!(bmf["ext4[noatime]/wal/record"]["throughput"]["value"].is_number());
}

#[test]
fn a_named_gate_is_shown_by_its_name() {
    let r = five_repeats();
    let mut g = gate(
        sel("ext4", "wal", Some("fsync")),
        vec![(Level::Fail, p95(2))],
    );
    g.name = Some("wal-p95".into());
    let rep = evaluate(&r, &[g], None).unwrap();
    let c = only(&rep);
    assert_eq!((c.gate.as_str(), c.label()), ("gates[0]", "wal-p95"));
    // gate.json keeps `gate` (where it is written) and adds `name`.
    let json = serde_json::to_value(&rep).unwrap();
    assert_eq!(json["checks"][0]["gate"], "gates[0]");
    assert_eq!(json["checks"][0]["name"], "wal-p95");
    let back: GateReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, rep);
    let xml = junit::render(&rep);
    assert!(
        xml.contains(
            "classname=\"wpbench.wal-p95\" name=\"wal-p95: ext4[noatime]/wal fsync: p95 ≤ 2ms\""
        ),
        "{xml}"
    );
    let text = render::text(&rep);
    assert!(text.lines().nth(1).unwrap().contains("wal-p95"), "{text}");
    assert!(render::markdown(&rep).contains("| ❌ FAIL | wal-p95 |"));
    // An unnamed gate's checks carry no `name` key: gate.json as before.
    let rep = evaluate(
        &r,
        &[gate(
            sel("ext4", "wal", Some("fsync")),
            vec![(Level::Fail, p95(2))],
        )],
        None,
    )
    .unwrap();
    let json = serde_json::to_value(&rep).unwrap();
    assert!(json["checks"][0].get("name").is_none());
    assert!(junit::render(&rep).contains("name=\"ext4[noatime]/wal fsync: p95 ≤ 2ms\""));
}
