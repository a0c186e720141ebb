//! Time series on real runs: the last interval of a cell — cut by the
//! end of its duration or by a power cut — is laid out by the interval
//! rule (record/interval.rs), and every interval's rate is its ops over
//! its real length, so no chart ends on a drop the workload did not have.

use std::time::Duration;

use serde_json::Value;
use wpbench::record::interval::Tail;
use wpbench::record::{read_hlog, HlogData, SeriesPoint};

use crate::support::*;

/// The cell's interval log and its unit op's series, as the charts read it.
fn series_of(run: &std::path::Path, cell: &Value, unit: &str) -> (HlogData, Vec<SeriesPoint>) {
    let hlog = read_hlog(&run.join(cell["hlog"].as_str().unwrap())).unwrap();
    let series = hlog.series(
        unit,
        cell["interval_s"].as_f64(),
        cell["duration_s"].as_f64(),
        100_000,
    );
    (hlog, series)
}

/// Every point's rate is its ops over its own length, and the points'
/// ops add up to the cell's count.
fn assert_rates_over_real_lengths(series: &[SeriesPoint], cell: &Value, unit: &str) {
    for p in series {
        assert!(p.length_s > 0.0, "{p:?}");
        let want = p.count as f64 / p.length_s;
        assert!((p.rate() - want).abs() <= want * 1e-9, "{p:?}");
    }
    let total: u64 = series.iter().map(|p| p.count).sum();
    assert_eq!(total, cell["ops"][unit]["count"].as_u64().unwrap());
}

#[test]
#[ignore = "needs root: a tmpfs target"]
fn a_cell_that_is_not_a_whole_number_of_intervals_ends_on_its_real_rate() {
    require(&[Need::Root]);
    let _serial = serial();
    let sb = Sandbox::new();
    // 1.3 s in 200 ms intervals: six whole ones and a last one of 100 ms.
    let file = sb.write(
        "partial.yaml",
        "version: 1\nname: partial\nduration: 1300ms\nwarmup: 200ms\ninterval: 200ms\n\
         targets:\n  - {name: tmpfs, kind: tmpfs, size: 256MiB}\n\
         workloads:\n  - {name: wal, kind: fsync_heavy, threads: 2, file_size: 8MiB, fsync: {every: 8}}\n",
    );
    let out = sb.run(&file, "r", &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let run = sb.out("r");
    let result = read_json(&run.join("result.json"));
    let cell = &result["cells"][0];
    assert_eq!(cell["interval_s"].as_f64(), Some(0.2), "{cell:#}");
    let text = std::fs::read_to_string(run.join(cell["hlog"].as_str().unwrap())).unwrap();
    assert!(text.contains("\n#[Interval: 0.200 (seconds)]\n"), "{text}");

    let (hlog, series) = series_of(&run, cell, "record");
    assert_eq!(hlog.interval_s, Some(0.2));
    // The series ends at the deadline, 1.3 s; the threads a little later.
    let duration_s = cell["duration_s"].as_f64().unwrap();
    assert!(duration_s >= 1.3, "{duration_s}");
    assert_eq!(series.len(), 7, "{series:?}");
    for (k, p) in series[..6].iter().enumerate() {
        assert!((p.start_s - 0.2 * k as f64).abs() < 1e-9, "{p:?}");
        assert!((p.length_s - 0.2).abs() < 1e-9, "{p:?}");
    }
    let last = &series[6];
    assert!((last.start_s - 1.2).abs() < 1e-9, "{last:?}");
    assert!((last.length_s - 0.1).abs() < 1e-9, "{last:?}");
    // Its rate is its records over the 100 ms the cell lived in it, not over
    // a whole 200 ms interval (which would halve it).
    assert!(last.count > 0, "{last:?}");
    assert!(
        (last.rate() - last.count as f64 / 0.1).abs() < 1e-6,
        "{last:?}"
    );
    assert_rates_over_real_lengths(&series, cell, "record");
    // The chart is drawn from it, titled with the interval.
    let svg = std::fs::read_to_string(run.join("charts/timeseries-000-tmpfs-wal-r0.svg")).unwrap();
    assert!(svg.contains("Every 200 ms: tmpfs"), "chart title");
    assert_nothing_left(&sb);
}

#[test]
#[ignore = "needs root, mkfs.ext4: a power cut on an ext4 loop device"]
fn a_crash_cut_interval_is_drawn_over_what_the_cell_lived() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    let _serial = serial();
    let sb = Sandbox::new();
    // A 2 s cell in 1 s intervals, cut at 1.48 s: the second interval
    // holds 0.48 s of work, which a whole second would show as half rate.
    let file = sb.write(
        "cut.yaml",
        "version: 1\nname: cut\nseed: 5\nduration: 2s\nwarmup: 0s\ninterval: 1s\n\
         targets:\n  - {name: ext4, kind: ext4, size: 256MiB}\n\
         workloads:\n  - {name: files, kind: small_files, fsync: always}\n\
         faults:\n  - {kind: crash, at: 1480ms, trials: 1}\n",
    );
    let out = sb.run(&file, "r", &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let run = sb.out("r");
    let result = read_json(&run.join("result.json"));
    let cell = &result["cells"][0];
    let fired = cell["faults"][0]["fired_at_s"].as_f64().unwrap();
    // The cut comes at its moment or a little after (the engine looks
    // every few ms), never before.
    assert!(fired >= 1.48, "{fired}");

    let (_, series) = series_of(&run, cell, "file");
    // Laid out by the rule from the cut, whatever moment it came at.
    let rule = Tail::new(Duration::from_secs(1), Duration::from_secs_f64(fired));
    assert_eq!(series.len() as u64, rule.len(), "{series:?}");
    for (k, p) in series.iter().enumerate() {
        let span = rule.span(k as u64);
        // The .hlog spells times to the millisecond.
        assert!(
            (p.start_s - span.start_s()).abs() < 1e-3,
            "{p:?} vs {span:?}"
        );
        assert!(
            (p.length_s - span.length_s()).abs() < 1.5e-3,
            "{p:?} vs {span:?}"
        );
    }
    let last = series.last().unwrap();
    assert!(
        (last.start_s + last.length_s - fired).abs() < 1.5e-3,
        "{last:?} {fired}"
    );
    // Its rate is its files over the time from its start to the cut.
    let lived = fired - last.start_s;
    let rate = last.count as f64 / lived;
    assert!(
        (last.rate() - rate).abs() <= rate * 0.01,
        "{last:?}: {} files/s, {rate:.0} over the {lived:.3} s it lived",
        last.rate()
    );
    assert_rates_over_real_lengths(&series, cell, "file");
    assert_nothing_left(&sb);
}
