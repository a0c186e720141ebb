//! run_cell on the mock workload: quotas, pacing, failures, stops.

use super::*;
use crate::workload::mock::Mock;

fn plan<'a>(
    w: &'a dyn Workload,
    root: &'a Path,
    threads: u32,
    stop: Stop,
    rate: Option<f64>,
) -> CellPlan<'a> {
    CellPlan {
        workload: w,
        root,
        threads,
        seed: 1,
        warmup: Duration::ZERO,
        stop,
        rate,
        think_time: None,
        hlog: None,
        interval: crate::record::INTERVAL,
        device: None,
        crash: None,
        on_thread_start: None,
        keep_ledgers: false,
        ledger_history: false,
        stop_on_errnos: &[],
        before_clock: None,
        keep_free: None,
    }
}

#[test]
fn op_quota_is_exact_over_threads() {
    assert_eq!(
        split_quota(Stop::Ops(10), 3),
        vec![Some(4), Some(3), Some(3)]
    );
    let mock = Mock::new(Duration::from_micros(5));
    let dir = tempfile::tempdir().unwrap();
    let m = run_cell(
        &plan(&mock, dir.path(), 3, Stop::Ops(1000), None),
        &Cancel::new(),
        &Silent,
    )
    .unwrap();
    assert_eq!(m.totals.hists[&Op::Record].len(), 1000);
    assert_eq!(m.totals.hists[&Op::Write].len(), 1000);
}

#[test]
fn open_loop_counts_queueing_behind_a_stall_and_service_time_does_not() {
    // 1000 ops/s for 1 s with a 200 ms stall at op 100: about 200 ops
    // queue behind it. Their response time includes the wait.
    let mut mock = Mock::new(Duration::from_micros(20));
    mock.stall = Some((100, Duration::from_millis(200)));
    let dir = tempfile::tempdir().unwrap();
    let m = run_cell(
        &plan(
            &mock,
            dir.path(),
            1,
            Stop::Duration(Duration::from_secs(1)),
            Some(1000.0),
        ),
        &Cancel::new(),
        &Silent,
    )
    .unwrap();
    let response = &m.totals.hists[&Op::Record];
    let service = &m.totals.hists[&Op::RecordService];
    assert_eq!(response.len(), service.len());
    // ≥ 10 % of ops waited ≥ 50 ms: p90 of response time shows the queue.
    assert!(
        response.value_at_quantile(0.90) > 50_000_000,
        "p90 {}",
        response.value_at_quantile(0.90)
    );
    assert!(response.max() >= 200_000_000);
    // Service time sees the stall once, not the queue behind it.
    assert!(
        service.value_at_quantile(0.99) < 50_000_000,
        "service p99 {}",
        service.value_at_quantile(0.99)
    );
    // The schedule catches up: nearly all 1000 intended ops ran.
    assert!(response.len() >= 950, "{} ops", response.len());
}

#[test]
fn closed_loop_hides_the_queue() {
    let mut mock = Mock::new(Duration::from_micros(20));
    mock.stall = Some((100, Duration::from_millis(200)));
    let dir = tempfile::tempdir().unwrap();
    let m = run_cell(
        &plan(&mock, dir.path(), 1, Stop::Ops(2000), None),
        &Cancel::new(),
        &Silent,
    )
    .unwrap();
    let h = &m.totals.hists[&Op::Record];
    assert!(h.max() >= 200_000_000);
    assert!(h.value_at_quantile(0.99) < 50_000_000);
}

#[test]
fn a_unit_op_ends_on_its_last_call_only_when_its_worker_says_so() {
    // One op: 1 ms timed, then 20 ms of untimed work.
    let unit_ms = |ends_at_last_call: bool| {
        let mut mock = Mock::new(Duration::from_millis(1));
        mock.after = Duration::from_millis(20);
        mock.ends_at_last_call = ends_at_last_call;
        let dir = tempfile::tempdir().unwrap();
        let m = run_cell(
            &plan(&mock, dir.path(), 1, Stop::Ops(1), None),
            &Cancel::new(),
            &Silent,
        )
        .unwrap();
        assert_eq!(m.totals.hists[&Op::Write].len(), 1);
        m.totals.hists[&Op::Record].max() as f64 / 1e6
    };
    // The unit op ends on the call's own end reading: the work after it
    // is not in it (in a chained loop it starts the next unit op).
    let on_call = unit_ms(true);
    assert!((1.0..15.0).contains(&on_call), "{on_call} ms");
    // Otherwise the engine reads the clock after the step: all of it.
    let after_step = unit_ms(false);
    assert!(after_step >= 21.0, "{after_step} ms");
}

#[test]
fn chained_unit_ops_leave_no_time_between_them() {
    // 1 ms timed + 1 ms untimed per step, ending on the call: from the
    // second op on, a unit op runs from the previous call's end to its
    // own, which spans the previous step's untimed millisecond.
    let mut mock = Mock::new(Duration::from_millis(1));
    mock.after = Duration::from_millis(1);
    mock.ends_at_last_call = true;
    let dir = tempfile::tempdir().unwrap();
    let m = run_cell(
        &plan(&mock, dir.path(), 1, Stop::Ops(100), None),
        &Cancel::new(),
        &Silent,
    )
    .unwrap();
    let (unit, write) = (&m.totals.hists[&Op::Record], &m.totals.hists[&Op::Write]);
    assert_eq!((unit.len(), write.len()), (100, 100));
    assert!(write.value_at_quantile(0.5) >= 1_000_000);
    assert!(
        unit.value_at_quantile(0.5) >= 2_000_000,
        "{}",
        unit.value_at_quantile(0.5)
    );
    // Every op but the first covers two milliseconds at least.
    let covered = unit.mean() * unit.len() as f64;
    assert!(covered >= 99.0 * 2e6, "{covered} ns");
}

#[test]
fn failures_are_counted_and_a_hopeless_thread_stops() {
    let mut mock = Mock::new(Duration::ZERO);
    mock.fail_every = Some((1, libc::ENOSPC));
    let dir = tempfile::tempdir().unwrap();
    let m = run_cell(
        &plan(
            &mock,
            dir.path(),
            1,
            Stop::Duration(Duration::from_secs(5)),
            None,
        ),
        &Cancel::new(),
        &Silent,
    )
    .unwrap();
    assert_eq!(
        m.totals.errors[&(Op::Record, libc::ENOSPC)],
        u64::from(MAX_CONSECUTIVE_FAILURES)
    );
    assert!(m.notes[0].contains("ENOSPC"), "{:?}", m.notes);
    assert!(m.duration < Duration::from_secs(5));
}

#[test]
fn failures_that_are_results_never_stop_the_thread_and_count_towards_ops() {
    let mut mock = Mock::new(Duration::ZERO);
    mock.fail_every = Some((1, libc::ENOSPC));
    mock.failures_are_results = true;
    let dir = tempfile::tempdir().unwrap();
    let lasting = Duration::from_millis(300);
    let m = run_cell(
        &plan(&mock, dir.path(), 1, Stop::Duration(lasting), None),
        &Cancel::new(),
        &Silent,
    )
    .unwrap();
    assert!(
        m.totals.errors[&(Op::Record, libc::ENOSPC)] > u64::from(MAX_CONSECUTIVE_FAILURES),
        "{:?}",
        m.totals.errors
    );
    assert!(m.notes.is_empty(), "{:?}", m.notes);
    // It ran to the cell's deadline (a thread stopped after 1000 failures
    // of a zero-latency mock would end within a millisecond); the measured
    // duration is read on another clock than the deadline, so a hair under
    // it is the same.
    assert!(m.duration >= lasting * 9 / 10, "{:?}", m.duration);
    // `ops:` counts the failed attempts: the cell ends.
    let m = run_cell(
        &plan(&mock, dir.path(), 2, Stop::Ops(50), None),
        &Cancel::new(),
        &Silent,
    )
    .unwrap();
    assert_eq!(m.totals.errors[&(Op::Record, libc::ENOSPC)], 50);
}

#[test]
fn think_time_paces_a_closed_loop() {
    let mock = Mock::new(Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let mut p = plan(&mock, dir.path(), 1, Stop::Ops(20), None);
    p.think_time = Some(Duration::from_millis(10));
    let started = std::time::Instant::now();
    let m = run_cell(&p, &Cancel::new(), &Silent).unwrap();
    assert_eq!(m.totals.hists[&Op::Record].len(), 20);
    // 20 pauses of 10 ms; the ops themselves take next to nothing.
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(
        m.totals.hists[&Op::Record].max() < 10_000_000,
        "think time is not service time"
    );
}

#[test]
fn a_cell_stops_when_the_shared_filesystem_runs_low() {
    let mock = Mock::new(Duration::from_micros(50));
    let dir = tempfile::tempdir().unwrap();
    let mut p = plan(
        &mock,
        dir.path(),
        1,
        Stop::Duration(Duration::from_secs(30)),
        None,
    );
    // No filesystem has this much free: the reserve is breached at once.
    p.keep_free = Some(KeepFree {
        path: dir.path(),
        bytes: u64::MAX,
        left_to: "to the node",
    });
    let m = run_cell(&p, &Cancel::new(), &Silent).unwrap();
    assert!(m.duration < Duration::from_secs(5), "{:?}", m.duration);
    assert!(
        m.notes
            .iter()
            .any(|n| n.starts_with("stopped early: the filesystem of")),
        "{:?}",
        m.notes
    );
    assert!(!m.interrupted, "not a signal");
}

#[test]
fn cancel_stops_a_cell_early() {
    let mock = Mock::new(Duration::from_micros(50));
    let dir = tempfile::tempdir().unwrap();
    let cancel = Cancel::new();
    cancel.set();
    let m = run_cell(
        &plan(
            &mock,
            dir.path(),
            2,
            Stop::Duration(Duration::from_secs(30)),
            None,
        ),
        &cancel,
        &Silent,
    )
    .unwrap();
    assert!(m.interrupted);
    assert!(m.duration < Duration::from_secs(5));
}

#[test]
fn the_series_ends_where_the_cell_ends_and_adds_up_to_its_duration() {
    // 250 ms in 100 ms intervals: the last interval is cut at the end of
    // the measured phase (or, were it a sliver, folded into the one before).
    let mock = Mock::new(Duration::from_micros(50));
    let dir = tempfile::tempdir().unwrap();
    let mut p = plan(
        &mock,
        dir.path(),
        2,
        Stop::Duration(Duration::from_millis(250)),
        None,
    );
    p.interval = Duration::from_millis(100);
    let m = run_cell(&p, &Cancel::new(), &Silent).unwrap();
    let series = &m.totals.series;
    // It ends at the deadline (the threads end a little after it).
    let end = m.duration.min(Duration::from_millis(250));
    let total: Duration = series.iter().map(|(s, _)| s.length).sum();
    assert_eq!(total, end, "{series:?}");
    let ops: u64 = series.iter().map(|(_, n)| n).sum();
    assert_eq!(ops, m.totals.hists[&Op::Record].len());
    let (last, _) = series.last().unwrap();
    assert_eq!(last.start + last.length, end);
    // No interval shorter than a quarter, none but the last not 100 ms.
    for (s, _) in &series[..series.len() - 1] {
        assert_eq!(s.length, Duration::from_millis(100), "{series:?}");
    }
    assert!(last.length * 4 >= Duration::from_millis(100), "{series:?}");
}
