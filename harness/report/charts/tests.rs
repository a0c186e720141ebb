//! Every chart renders for a synthetic run, as well-formed SVG and a
//! decodable PNG with something drawn on it, identically twice; odd input
//! gives a "no data" chart, never a panic.
//!
//! `WPBENCH_CHART_PREVIEW=1 cargo test --release --lib charts` also writes
//! the synthetic run's charts to /tmp/wpbench-charts-preview/ to look at.

use crate::fault::outcome::testing;
use crate::fault::timeline::Event;
use crate::fault::verify::Durability;
use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::record::{encode_histogram, HlogInterval};
use crate::report::fixtures;
use crate::result::{DeviceStats, OpStats, RunResult};

/// Log-normal latencies around `median_ns`, with a slow tail: one in 200
/// samples takes `tail`× longer. Seeded, so every run sees the same data.
fn latencies(seed: u64, n: usize, median_ns: f64, tail: f64) -> Histogram<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut h = new_histogram();
    for _ in 0..n {
        let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let mut v = median_ns * (0.5 * z).exp();
        if rng.random_range(0..200) == 0 {
            v *= tail;
        }
        h.record(v.max(1.0) as u64).unwrap();
    }
    h
}

fn stats_of(h: &Histogram<u64>, seconds: f64) -> OpStats {
    let mut s = fixtures::op(h.len(), h.len() as f64 / seconds, h.value_at_quantile(0.5));
    s.p95_ns = h.value_at_quantile(0.95);
    s.p99_ns = h.value_at_quantile(0.99);
    s.max_ns = h.max();
    s.histogram = encode_histogram(h);
    s
}

/// 3 targets × 2 workloads × 2 repeats; device counters on the loop-backed
/// targets, crash trials and a throttle timeline on ext4's WAL cells.
fn synthetic_run() -> RunResult {
    let targets = [
        ("tmpfs", 20_000.0, 1.0),
        ("ext4[noatime]", 900_000.0, 1.1),
        ("overlay[metacopy=on]", 1_200_000.0, 1.6),
    ];
    let workloads = [
        ("wal", "record", "fdatasync"),
        ("small-files", "file", "fsync"),
    ];
    let mut cells = Vec::new();
    let mut index = 0;
    for repeat in 0..2u32 {
        for (wi, (workload, unit, sync)) in workloads.iter().enumerate() {
            for (ti, (target, median, wa)) in targets.iter().enumerate() {
                let seed = (repeat as u64) * 100 + (wi as u64) * 10 + ti as u64;
                let unit_h = latencies(seed, 4000, *median * (1.0 + wi as f64), 30.0);
                let sync_h = latencies(seed + 1000, 4000, *median * 0.9, 30.0);
                let write_h = latencies(seed + 2000, 4000, 3_000.0, 8.0);
                let mut c = fixtures::cell(
                    index,
                    target,
                    workload,
                    repeat,
                    vec![
                        (unit, stats_of(&unit_h, 5.0)),
                        (sync, stats_of(&sync_h, 5.0)),
                        ("write", stats_of(&write_h, 5.0)),
                    ],
                );
                if *target != "tmpfs" {
                    c.device = Some(DeviceStats {
                        bytes_written: (c.bytes_written as f64 * wa) as u64,
                        write_amplification: Some(*wa),
                        ..fixtures::loop_device()
                    });
                }
                if target.starts_with("ext4") && *workload == "wal" {
                    c.faults.push(testing::crash(
                        Durability {
                            trials: 5,
                            acked_intact: 5000,
                            acked_after_cut: 1,
                            unacked_survived: 3,
                            unacked_lost: 12,
                            loss_window_records: 12,
                            loss_window_bytes: 49152,
                            loss_window_ms: 8.5 + repeat as f64,
                            ..Durability::default()
                        },
                        Some(2.4),
                        vec![testing::trial(
                            0,
                            &[(Event::Armed, 0.0), (Event::Fired, 2.4)],
                        )],
                    ));
                }
                if target.starts_with("overlay") && *workload == "wal" {
                    c.faults.push(testing::crash(
                        Durability {
                            trials: 5,
                            acked_lost: 3,
                            acked_name_lost: 2,
                            unacked_lost: 40,
                            loss_window_ms: 31.0,
                            ..Durability::default()
                        },
                        None,
                        Vec::new(),
                    ));
                    c.faults.push(testing::throttle(&[
                        (Event::Armed, 1.0),
                        (Event::Healed, 3.5),
                    ]));
                }
                cells.push(c);
                index += 1;
            }
        }
    }
    let mut run = fixtures::run(cells);
    run.scenario.name = "charts-test".to_string();
    run
}

/// Interval logs for the first repeat's WAL cells: 5 one-second intervals,
/// the third stalled (no unit op) on the throttled overlay.
/// One comparison of `target` against tmpfs.
fn ratio(
    w: (&str, &str),
    target: &str,
    metric: crate::result::comparison::Metric,
    r: (f64, f64, f64),
    verdict: crate::result::comparison::Verdict,
) -> crate::result::comparison::Comparison {
    fixtures::comparison(w, (target, "tmpfs"), metric, r, verdict)
}

/// The synthetic run's verdicts: ext4 far slower than tmpfs, overlay
/// not different (made up, as the comparisons would say them).
fn with_comparisons(mut run: RunResult) -> RunResult {
    use crate::result::comparison::{Metric, Verdict};
    for w in [("wal", "record"), ("small-files", "file")] {
        run.comparisons.extend([
            ratio(
                w,
                "ext4[noatime]",
                Metric::Throughput,
                (0.029, 0.011, 0.08),
                Verdict::Slower,
            ),
            ratio(
                w,
                "ext4[noatime]",
                Metric::P95,
                (17.6, 5.7, 54.6),
                Verdict::Slower,
            ),
            ratio(
                w,
                "overlay[metacopy=on]",
                Metric::Throughput,
                (0.99, 0.97, 1.02),
                Verdict::NoDifference,
            ),
            ratio(
                w,
                "overlay[metacopy=on]",
                Metric::P95,
                (1.2, 0.9, 1.6),
                Verdict::CannotTell,
            ),
        ]);
    }
    run
}

fn synthetic_hlogs(run: &RunResult) -> BTreeMap<String, HlogData> {
    let mut out = BTreeMap::new();
    for c in run
        .cells
        .iter()
        .filter(|c| c.repeat == 0 && c.workload.name == "wal")
    {
        let mut intervals = Vec::new();
        for k in 0..5u64 {
            let stalled = c.target.name.starts_with("overlay") && k == 2;
            let n = if stalled { 0 } else { 600 + 80 * k as usize };
            let slow = if k == 3 { 6.0 } else { 1.0 };
            let seed = c.index as u64 * 10 + k;
            for (tag, median) in [("record", 400_000.0 * slow), ("fdatasync", 350_000.0)] {
                if n == 0 && tag == "record" {
                    continue;
                }
                intervals.push(HlogInterval::new(
                    Some(tag),
                    k as f64,
                    1.0,
                    &latencies(seed, n.max(50), median, 20.0),
                ));
            }
        }
        out.insert(
            c.hlog.clone(),
            HlogData {
                start_time_s: Some(1.7e9),
                base_time_s: Some(1.7e9),
                interval_s: None,
                intervals,
            },
        );
    }
    out
}

/// The checks every chart must pass.
fn check(chart: &Chart) {
    let what = &chart.file_stem;
    assert!(!chart.title.is_empty(), "{what}: no title");
    assert!(
        chart
            .file_stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            && !chart.file_stem.starts_with(['.', '-']),
        "{what}: unsafe stem"
    );
    let doc = roxmltree::Document::parse(&chart.svg)
        .unwrap_or_else(|e| panic!("{what}: SVG does not parse: {e}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg", "{what}");
    assert!(
        doc.descendants()
            .any(|n| n.text().map(str::trim) == Some(chart.title.as_str())),
        "{what}: the SVG lacks its title"
    );

    let decoder = png::Decoder::new(std::io::Cursor::new(chart.png.as_slice()));
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("{what}: PNG does not decode: {e}"));
    let mut pixels = vec![0; reader.output_buffer_size().expect("sane size")];
    let frame = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((frame.width, frame.height), CHART_SIZE, "{what}");
    let pixels = &pixels[..frame.buffer_size()];
    // Something is drawn: plenty of non-white pixels, and not all one colour.
    let inked = pixels
        .chunks(3)
        .filter(|p| p.iter().any(|c| *c < 200))
        .count();
    let total = (frame.width * frame.height) as usize;
    assert!(inked > total / 1000, "{what}: only {inked} inked pixels");
    assert!(inked < total / 2, "{what}: {inked} of {total} pixels inked");
}

/// With WPBENCH_CHART_PREVIEW set, writes the charts to
/// /tmp/wpbench-charts-preview/ for a person to look at.
fn preview(charts: &[Chart]) {
    if std::env::var_os("WPBENCH_CHART_PREVIEW").is_none() {
        return;
    }
    let dir = std::path::Path::new("/tmp/wpbench-charts-preview");
    std::fs::create_dir_all(dir).unwrap();
    for c in charts {
        std::fs::write(dir.join(format!("{}.png", c.file_stem)), &c.png).unwrap();
        std::fs::write(dir.join(format!("{}.svg", c.file_stem)), &c.svg).unwrap();
    }
}

fn find<'a>(charts: &'a [Chart], stem: &str) -> &'a Chart {
    charts
        .iter()
        .find(|c| c.file_stem == stem)
        .unwrap_or_else(|| panic!("no chart {stem} in {:?}", stems(charts)))
}

fn stems(charts: &[Chart]) -> Vec<&str> {
    charts.iter().map(|c| c.file_stem.as_str()).collect()
}

#[test]
fn every_chart_renders_for_a_synthetic_run() {
    let run = with_comparisons(synthetic_run());
    let hlogs = synthetic_hlogs(&run);
    let mut opts = ChartOptions::default();
    opts.unit_op_threshold_ns
        .insert("wal".to_string(), 2_000_000.0);
    let charts = render_all_with(&run, &hlogs, &opts);
    assert_eq!(
        stems(&charts),
        [
            "compare-wal",
            "percentiles-wal-record",
            "spectrum-wal-record",
            "cdf-wal-record",
            "spectrum-wal-write",
            "cdf-wal-write",
            "spectrum-wal-fdatasync",
            "cdf-wal-fdatasync",
            "compare-small-files",
            "percentiles-small-files-file",
            "spectrum-small-files-file",
            "cdf-small-files-file",
            "spectrum-small-files-write",
            "cdf-small-files-write",
            "spectrum-small-files-fsync",
            "cdf-small-files-fsync",
            "device",
            "durability",
            "timeseries-000-tmpfs-wal-r0",
            "timeseries-001-ext4_noatime-wal-r0",
            "timeseries-002-overlay_metacopy_on-wal-r0",
        ]
    );
    preview(&charts);
    for c in &charts {
        check(c);
    }
    // Repeats merged into one line per target; one bar group per target.
    let spectrum = &find(&charts, "spectrum-wal-record").svg;
    assert_eq!(
        spectrum.matches("\next4[noatime]\n</text>").count(),
        1,
        "one legend entry"
    );
    assert!(spectrum.contains("99.99%") && spectrum.contains("latency (log scale)"));
    assert!(charts[1].svg.contains("gate 2 ms"), "threshold drawn");
    // The comparison chart: a bar per target and metric with its verdict,
    // the band too small to name, the line at 1×.
    let compare = find(&charts, "compare-wal");
    assert_eq!(compare.kind, ChartKind::Comparison);
    for words in [
        "34.5× slower",
        "17.6× slower",
        "no difference",
        "cannot tell",
        "within ±5 %: too small to name",
        "1× = same as tmpfs",
        "95 % interval",
        "target ÷ tmpfs (log scale)",
    ] {
        assert!(compare.svg.contains(&format!("\n{words}\n")), "{words}");
    }
    assert_eq!(
        whisker_lines(&compare.svg),
        4 + 1,
        "a CI per bar, and the legend's"
    );
    // The report opens with each workload's comparison and unit-op spectrum.
    let heads: Vec<&str> = headlines(&charts)
        .into_iter()
        .map(|i| charts[i].file_stem.as_str())
        .collect();
    assert_eq!(
        heads,
        [
            "compare-wal",
            "spectrum-wal-record",
            "compare-small-files",
            "spectrum-small-files-file"
        ]
    );
    // Fault events, from the first trial's timeline and the throttle's.
    let ts = &find(&charts, "timeseries-001-ext4_noatime-wal-r0").svg;
    assert!(ts.contains("crash fired 2.4 s") && ts.contains("crash armed 0 s"));
    let ts = &find(&charts, "timeseries-002-overlay_metacopy_on-wal-r0").svg;
    assert!(ts.contains("throttle healed 3.5 s"));
    // Labels name the workload when the chart spans several.
    let durability = &find(&charts, "durability").svg;
    assert!(durability.contains("\nwal (10 trials)\n"), "repeats summed");
    assert!(find(&charts, "device").svg.contains("\nsmall-files\n"));
}

/// The texts of an SVG.
fn texts(svg: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .collect()
}

#[test]
fn no_label_reads_as_a_sliver_of_its_unit() {
    let run = with_comparisons(synthetic_run());
    let charts = render_all(&run, &synthetic_hlogs(&run));
    for c in &charts {
        for t in texts(&c.svg) {
            let number = t.split(' ').next().unwrap_or("");
            // A factor may be small (0.01×); a quantity in a unit may not.
            let bad = number.contains("e-")
                || number.contains("e+")
                || (number.starts_with("0.0")
                    && number.trim_end_matches('0') != "0."
                    && !number.ends_with('×'));
            assert!(!bad, "{}: label {t:?}", c.file_stem);
        }
    }
    // Latency ticks name their unit (a bare tick is 0, a percentile or a
    // count), so the bars in µs and a spectrum in ms cannot be confused.
    let bars = texts(&find(&charts, "percentiles-small-files-file").svg);
    assert!(
        bars.iter()
            .any(|t| t.ends_with(" µs") || t.ends_with(" ms")),
        "{bars:?}"
    );
}

#[test]
fn rendering_twice_gives_identical_bytes() {
    let run = synthetic_run();
    let hlogs = synthetic_hlogs(&run);
    let a = render_all(&run, &hlogs);
    let b = render_all(&run.clone(), &hlogs.clone());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert!(x.svg == y.svg, "{}: SVG differs", x.file_stem);
        assert!(x.png == y.png, "{}: PNG differs", x.file_stem);
    }
}

#[test]
fn charts_that_do_not_apply_are_skipped() {
    // The exporters' one-cell fixture: no histograms, device, faults or logs.
    let run = fixtures::wal_run();
    let charts = render_all(&run, &BTreeMap::new());
    let names = stems(&charts);
    assert!(names.contains(&"percentiles-wal-record"), "{names:?}");
    assert!(!names.iter().any(|n| ["device", "durability"].contains(n)));
    assert!(!names.iter().any(|n| n.starts_with("timeseries")));
    // Bars fall back to the cell's own percentiles; spectra say "no data".
    for c in &charts {
        check(c);
    }
    assert!(find(&charts, "spectrum-wal-record").svg.contains("no data"));
    assert!(!find(&charts, "percentiles-wal-record")
        .svg
        .contains("no data"));
    assert!(render_all(&fixtures::run(vec![]), &BTreeMap::new()).is_empty());
}

#[test]
fn odd_input_gives_a_no_data_chart() {
    let text = |stem: &str| ChartText {
        file_stem: stem.to_string(),
        title: format!("odd {stem}"),
        footer: String::new(),
        latency_unit: None,
    };
    let empty = LatencySeries {
        label: "empty".to_string(),
        hist: new_histogram(),
    };
    let mut one = new_histogram();
    one.record(1_234).unwrap();
    let single = LatencySeries {
        label: "one value".to_string(),
        hist: one,
    };
    let mut zero = new_histogram();
    zero.record(0).unwrap();
    let zero = LatencySeries {
        label: "zero".to_string(),
        hist: zero,
    };

    let none = [
        percentile_spectrum(&text("s0"), &[]),
        percentile_spectrum(&text("s1"), std::slice::from_ref(&empty)),
        latency_cdf(&text("c0"), &[]),
        percentile_bars(&text("b0"), &[], Some(f64::NAN)),
        cell_time_series(&text("t0"), &HlogData::default(), "record", 0.0, None, &[]),
        device_chart(&text("d0"), &[]),
        durability_chart(&text("u0"), &[]),
    ];
    for c in &none {
        check(c);
        assert!(c.svg.contains("no "), "{}: no note", c.file_stem);
    }
    let lone = [
        percentile_spectrum(&text("s2"), &[single.clone(), empty.clone(), zero.clone()]),
        latency_cdf(&text("c2"), &[single.clone(), zero]),
        percentile_bars(
            &text("b2"),
            &[PercentileGroup::single("x", 5.0, f64::INFINITY, 0.0)],
            Some(1e12),
        ),
        cell_time_series(
            &text("t2"),
            &HlogData::default(),
            "record",
            3.0,
            None,
            &[FaultMark {
                at_s: f64::MAX,
                event: "fired".to_string(),
                label: "far away".to_string(),
            }],
        ),
        device_chart(
            &text("d2"),
            &[DeviceBar {
                label: "zero".to_string(),
                payload_bytes: 0.0,
                device_bytes: 0.0,
                write_amplification: None,
                shared: true,
                attributable: false,
            }],
        ),
        durability_chart(&text("u2"), &[DurabilityBar::default()]),
    ];
    // Many targets with long names: the legend stops at three rows.
    let many: Vec<LatencySeries> = (0..40)
        .map(|i| LatencySeries {
            label: format!("overlay[metacopy=on,index=off,redirect_dir=on]-{i}"),
            hist: latencies(i, 200, 1e5 * (1.0 + i as f64), 5.0),
        })
        .collect();
    let groups: Vec<PercentileGroup> = (0..40)
        .map(|i| {
            PercentileGroup::single(
                &format!("target-with-a-long-name-{i} · workload"),
                1e5,
                2e5,
                3e5 + i as f64,
            )
        })
        .collect();
    let lone = [
        lone.to_vec(),
        vec![
            percentile_spectrum(&text("s3"), &many),
            percentile_bars(&text("b3"), &groups, Some(2.5e5)),
        ],
    ]
    .concat();
    assert!(lone[lone.len() - 2].svg.contains("more"));
    for c in &lone {
        check(c);
    }
    preview(&none);
    preview(&lone);
}

#[test]
fn stems_are_safe_and_unique() {
    let mut s = Stems::default();
    assert_eq!(
        s.make(&["spectrum", "ext4[a]", "fsync"]),
        "spectrum-ext4_a-fsync"
    );
    assert_eq!(
        s.make(&["spectrum", "ext4(a)", "fsync"]),
        "spectrum-ext4_a-fsync-2"
    );
    assert_eq!(s.make(&["../..", "", "a b/c"]), "x-x-a_b_c");
    assert_eq!(safe_part(".hidden"), "hidden");
    assert_eq!(safe_part(&"y".repeat(100)).len(), 60);
}

/// The synthetic run as if merged from three nodes: every WAL cell gets
/// per-source figures (the third node 5× slower), and the first repeat's
/// sources their own interval logs.
fn merged_synthetic_run() -> (RunResult, BTreeMap<String, HlogData>) {
    let mut run = synthetic_run();
    let base_logs = synthetic_hlogs(&run);
    let mut hlogs = BTreeMap::new();
    for c in run.cells.iter_mut().filter(|c| c.workload.name == "wal") {
        c.sources = ["node-a", "node-b", "node-c"]
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let slow = if i == 2 { 5.0 } else { 1.0 };
                let h = latencies(c.index as u64 * 7 + i as u64, 2000, 400_000.0 * slow, 20.0);
                let hlog = match base_logs.get(&c.hlog) {
                    Some(log) => {
                        let rel = format!("hlog/{node}--{}", c.hlog);
                        hlogs.insert(rel.clone(), log.clone());
                        rel
                    }
                    None => String::new(),
                };
                crate::result::SourceCell {
                    node: node.to_string(),
                    run_id: format!("run-{i}"),
                    index: c.index,
                    duration_s: 5.0,
                    ops: BTreeMap::from([("record".to_string(), stats_of(&h, 5.0))]),
                    hlog,
                    ..Default::default()
                }
            })
            .collect();
    }
    (run, hlogs)
}

#[test]
fn a_merged_run_gets_a_spectrum_with_one_line_per_node() {
    assert!(
        !stems(&render_all(&synthetic_run(), &BTreeMap::new()))
            .iter()
            .any(|s| s.starts_with("nodes-")),
        "no per-node chart without sources"
    );
    let (run, hlogs) = merged_synthetic_run();
    let charts = render_all(&run, &hlogs);
    let names = stems(&charts);
    let nodes: Vec<&str> = names
        .iter()
        .copied()
        .filter(|s| s.starts_with("nodes-"))
        .collect();
    assert_eq!(
        nodes,
        [
            "nodes-wal-tmpfs-record",
            "nodes-wal-ext4_noatime-record",
            "nodes-wal-overlay_metacopy_on-record",
        ]
    );
    preview(&charts);
    for stem in &nodes {
        let chart = find(&charts, stem);
        check(chart);
        for node in ["node-a", "node-b", "node-c"] {
            assert_eq!(
                chart.svg.matches(&format!("\n{node}\n</text>")).count(),
                1,
                "{stem}: one legend entry for {node}"
            );
        }
        assert!(chart.title.contains("per node"), "{}", chart.title);
    }
    // Time series stay per source: one per node for the first repeat's WAL cells.
    let ts: Vec<&str> = names
        .iter()
        .copied()
        .filter(|s| s.starts_with("timeseries-000-tmpfs-wal-r0"))
        .collect();
    assert_eq!(
        ts,
        [
            "timeseries-000-tmpfs-wal-r0-node-a",
            "timeseries-000-tmpfs-wal-r0-node-b",
            "timeseries-000-tmpfs-wal-r0-node-c",
        ]
    );
    assert!(find(&charts, ts[2]).title.ends_with("node node-c"));
    // Pure: the same input, the same bytes.
    let again = render_all(&run.clone(), &hlogs.clone());
    assert_eq!(again.len(), charts.len());
    for (x, y) in charts.iter().zip(&again) {
        assert!(x.svg == y.svg && x.png == y.png, "{} differs", x.file_stem);
    }
}

/// Three repeats of ext4/wal whose `record` latencies are 1..=1000 µs
/// scaled by 1.0, 1.3 and 2.0: per-repeat p95 ≈ 950 µs, 1.24 ms and
/// 1.90 ms. Merged, the repeats' p95 would be ≈ 1.6 ms — not what a gate
/// judges.
fn three_repeats() -> (RunResult, [f64; 3]) {
    let mut cells = Vec::new();
    let mut p95s = [0.0; 3];
    for (r, scale) in [1.0, 1.3, 2.0].iter().enumerate() {
        let mut h = new_histogram();
        for v in 1..=1000u64 {
            h.record((v as f64 * 1000.0 * scale) as u64).unwrap();
        }
        let s = stats_of(&h, 5.0);
        p95s[r] = s.p95_ns as f64;
        cells.push(fixtures::cell(
            r,
            "ext4",
            "wal",
            r as u32,
            vec![("record", s)],
        ));
    }
    (fixtures::run(cells), p95s)
}

/// The `<polyline>`s of `svg` stroked in the whiskers' colour.
fn whisker_lines(svg: &str) -> usize {
    let c = draw::WHISKER;
    let stroke = format!("stroke=\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2);
    svg.split('<')
        .filter(|e| e.starts_with("polyline") && e.contains(&stroke))
        .count()
}

#[test]
fn percentile_bars_show_what_the_gate_judges_with_min_max_whiskers() {
    use crate::analysis::gate::{evaluate, Status};
    use crate::scenario::{GateLimit, GateSpec, LatencyStat, Level, Limit, Selector};
    let (run, p95s) = three_repeats();
    let gate = GateSpec {
        select: Selector {
            target: Some("ext4".into()),
            workload: Some("wal".into()),
            op: Some("record".into()),
            fault: None,
        },
        limits: vec![GateLimit {
            level: Level::Fail,
            limit: Limit::Latency {
                stat: LatencyStat::P95,
                max: std::time::Duration::from_millis(5),
            },
        }],
        max_regression: None,
        warn_regression: None,
        origin: "gates[0]".into(),
        name: None,
    };
    let report = evaluate(&run, &[gate], None).unwrap();
    let check = &report.checks[0];
    assert_eq!((check.status, check.repeats), (Status::Pass, 3));
    let judged = check.value.unwrap();

    // The bar is the gate's value; the whisker the repeats' min and max.
    let cells: Vec<&CellResult> = run.cells.iter().collect();
    let group = percentile_group(&cells, "ext4", "record").unwrap();
    assert_eq!(group.p95.median, judged);
    assert_eq!(group.p95.median, p95s[1], "the middle repeat's p95");
    assert_eq!((group.p95.min, group.p95.max), (p95s[0], p95s[2]));
    assert_eq!(group.p95.range(), Some((p95s[0], p95s[2])));
    assert_eq!(group.p95.n, 3);
    // Not the p95 of the repeats merged, which the spectrum shows.
    let merged = merged_histogram(&cells, "ext4", "record").value_at_quantile(0.95) as f64;
    assert!(merged > judged * 1.2, "merged {merged} vs judged {judged}");

    // Drawn: one whisker per bar (p50, p95, p99) plus the legend's, and
    // the legend says what the bars are.
    let charts = render_all(&run, &BTreeMap::new());
    let bars = find(&charts, "percentiles-wal-record");
    self::check(bars);
    assert_eq!(whisker_lines(&bars.svg), 3 + 1, "{}", bars.svg);
    assert!(bars.svg.contains("median of 3 repeats, whiskers min–max"));
    // The bar's label is the judged value (1.24 ms), not the merged one.
    let label = |v: f64| format!(">\n{}\n</text>", Quantity::Duration.format(v));
    assert!(bars.svg.contains(&label(judged)), "{}", label(judged));
    assert!(!bars.svg.contains(&label(merged)), "{}", label(merged));
    // Spectra and CDFs say they merge the repeats.
    for stem in ["spectrum-wal-record", "cdf-wal-record"] {
        let c = find(&charts, stem);
        assert!(c.title.ends_with(" · all 3 repeats merged"), "{}", c.title);
        assert!(c.svg.contains("all 3 repeats merged"));
    }

    // One repeat: a bar, no whisker, no caption.
    let one = fixtures::run(vec![run.cells[0].clone()]);
    let charts = render_all(&one, &BTreeMap::new());
    let bars = find(&charts, "percentiles-wal-record");
    assert_eq!(whisker_lines(&bars.svg), 0);
    assert!(!bars.svg.contains("whiskers"));
    assert!(!find(&charts, "spectrum-wal-record")
        .title
        .contains("merged"));
}

/// The `<rect>`s of `svg` filled with `c`.
fn rects_filled(svg: &str, c: plotters::style::RGBColor) -> usize {
    let fill = format!("fill=\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2);
    svg.split('<')
        .filter(|e| e.starts_with("rect") && e.contains(&fill))
        .count()
}

#[test]
fn a_shared_device_gets_no_write_amplification_bar() {
    // ext4 on its own loop device, and a hostPath whose disk also counted
    // other processes' writes: 165.6× what the workload wrote.
    let mut run = synthetic_run();
    run.cells.retain(|c| c.target.name == "ext4[noatime]");
    for c in run.cells.clone() {
        let mut h = c;
        h.index += 100;
        h.target.name = "hostpath".into();
        h.bytes_written = 131_072;
        h.device = Some(DeviceStats::measured(
            "vda",
            (21_704_704, 198, 46),
            131_072,
            true,
        ));
        run.cells.push(h);
    }
    let charts = render_all(&run, &BTreeMap::new());
    preview(&charts);
    let device = find(&charts, "device");
    check(device);
    let svg = &device.svg;
    // One write-amplification bar per workload (ext4's), plus the legend's.
    let wa_color = draw::palette(1);
    assert_eq!(rects_filled(svg, wa_color), 2 + 1, "{svg}");
    assert!(svg.contains("\n1.1×\n</text>"), "ext4's bar is labelled");
    let texts: Vec<String> = roxmltree::Document::parse(svg)
        .unwrap()
        .descendants()
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .collect();
    assert!(
        !texts.iter().any(|t| t.contains("165") || t.contains("166")),
        "no figure: {texts:?}"
    );
    // In its place a labelled placeholder; nor are its device bytes drawn.
    assert_eq!(svg.matches("\nnot attributable\n</text>").count(), 2);
    let device_color = plotters::style::RGBColor(10, 60, 130);
    assert_eq!(
        rects_filled(svg, device_color),
        2 + 1,
        "ext4's and the legend's"
    );
    assert!(
        svg.contains("\nwal (shared)\n</text>"),
        "hostpath · wal (shared)"
    );
}
