//! Merging is exact: the merged figures are those of one histogram fed
//! every sample; runs that measured different things are refused unless
//! forced.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::report::fixtures;

/// Samples of one node: log-uniform between `lo_ns` and `hi_ns`, seeded.
fn samples(seed: u64, n: usize, lo_ns: f64, hi_ns: f64) -> Vec<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let x: f64 = rng.random();
            (lo_ns * (hi_ns / lo_ns).powf(x)) as u64
        })
        .collect()
}

fn hist_of(values: &[u64]) -> Histogram<u64> {
    let mut h = new_histogram();
    for v in values {
        h.record(*v).unwrap();
    }
    h
}

/// A run of one node: per repeat, a WAL cell on "tmpfs" whose `record`
/// op holds `values[repeat]`, measured for `seconds`.
fn node_run(run_id: &str, host: &str, values: &[Vec<u64>], seconds: f64) -> RunResult {
    let cells = values
        .iter()
        .enumerate()
        .map(|(r, v)| {
            let h = hist_of(v);
            let errors = BTreeMap::from([("EIO".to_string(), r as u64 + 1)]);
            let mut c = fixtures::cell(r, "tmpfs", "wal", r as u32, vec![]);
            c.duration_s = seconds;
            c.ops
                .insert("record".into(), op_stats(Some(&h), errors, seconds));
            c.hlog = format!("hlog/c{r:03}-tmpfs-wal-r{r}.hlog");
            c.device = Some(fixtures::loop_device());
            c
        })
        .collect();
    let mut run = fixtures::run(cells);
    run.run_id = run_id.to_string();
    run.env.hostname = host.to_string();
    run
}

fn src(node: &str, run: RunResult) -> Source {
    Source {
        node: node.to_string(),
        run,
    }
}

#[test]
fn merged_percentiles_are_those_of_one_histogram_of_every_sample() {
    // Three nodes, two repeats each, very different distributions (the
    // third node is an outlier) and different durations.
    let per_node: Vec<Vec<Vec<u64>>> = (0..3u64)
        .map(|n| {
            (0..2u64)
                .map(|r| {
                    let slow = if n == 2 { 20.0 } else { 1.0 };
                    samples(
                        n * 10 + r,
                        3000 + 500 * n as usize,
                        2_000.0,
                        900_000.0 * slow,
                    )
                })
                .collect()
        })
        .collect();
    let seconds = [2.0, 3.0, 4.0];
    let sources: Vec<Source> = per_node
        .iter()
        .enumerate()
        .map(|(n, v)| {
            let name = format!("node-{n}");
            src(
                &name,
                node_run(&format!("run-{n}"), "same-host", v, seconds[n]),
            )
        })
        .collect();
    let merged = merge(&sources, false, vec!["wpbench".into(), "merge".into()])
        .unwrap()
        .run;
    assert_eq!(
        merged.cells.len(),
        2,
        "matched by (target, workload, repeat)"
    );
    for (r, cell) in merged.cells.iter().enumerate() {
        assert_eq!((cell.index, cell.repeat), (r, r as u32));
        let all: Vec<u64> = per_node.iter().flat_map(|n| n[r].clone()).collect();
        let one = hist_of(&all);
        let got = &cell.ops["record"];
        assert_eq!(got.count, all.len() as u64);
        assert_eq!(got.count, 3000 + 3500 + 4000);
        for (q, v) in [
            (0.50, got.p50_ns),
            (0.90, got.p90_ns),
            (0.95, got.p95_ns),
            (0.99, got.p99_ns),
            (0.999, got.p999_ns),
        ] {
            assert_eq!(v, one.value_at_quantile(q), "p{q} of repeat {r}");
        }
        assert_eq!((got.min_ns, got.max_ns), (one.min(), one.max()));
        assert_eq!(got.mean_ns, one.mean());
        assert_eq!(decode_histogram(&got.histogram).unwrap(), one);
        // Throughput: the fleet's aggregate, each node's rate summed.
        let rates: f64 = (0..3)
            .map(|n| per_node[n][r].len() as f64 / seconds[n])
            .sum();
        assert!(
            (got.ops_per_sec - rates).abs() < 1e-9,
            "{}",
            got.ops_per_sec
        );
        assert_eq!(got.errors["EIO"], 3 * (r as u64 + 1));
        assert_eq!(cell.duration_s, 4.0, "the longest source's");
        // Counters summed, write amplification recomputed from the sums.
        assert_eq!(cell.bytes_written, 3 * 20_971_520);
        let d = cell.device.as_ref().unwrap();
        assert_eq!(d.bytes_written, 3 * 23_068_672);
        assert_eq!((d.write_ios, d.flushes), (3 * 5_200, 3 * 5_120));
        let wa = d.write_amplification.unwrap();
        assert!((wa - 23_068_672.0 / 20_971_520.0).abs() < 1e-12);
        // The breakdown keeps each node's own figures and interval log.
        let nodes: Vec<&str> = cell.sources.iter().map(|s| s.node.as_str()).collect();
        assert_eq!(nodes, ["node-0", "node-1", "node-2"]);
        for (n, s) in cell.sources.iter().enumerate() {
            assert_eq!(s.ops["record"], sources[n].run.cells[r].ops["record"]);
            assert_eq!(
                s.hlog,
                format!("hlog/node-{n}--c{r:03}-tmpfs-wal-r{r}.hlog")
            );
        }
        assert_eq!(
            cell.hlog, cell.sources[0].hlog,
            "first source's time series"
        );
        assert!(cell.notes.is_empty(), "{:?}", cell.notes);
    }
    assert_eq!(merged.sources.len(), 3);
    assert_eq!(merged.sources[2].run_id, "run-2");
    assert_eq!(merged.schema, SCHEMA);
    assert!(merged.run_id.starts_with("merge-"));
    // The result reads back (result.json's schema only grew).
    let json = crate::report::json::render(&merged);
    let back: RunResult = serde_json::from_slice(&json).unwrap();
    assert_eq!(back, merged);
    // Deterministic: the same sources give the same run.
    let again = merge(&sources, false, merged.command.clone()).unwrap().run;
    assert_eq!(again, merged);
}

#[test]
fn an_unmerged_result_has_no_sources_in_its_json() {
    let run = fixtures::wal_run();
    let json = String::from_utf8(crate::report::json::render(&run)).unwrap();
    assert!(!json.contains("\"sources\""), "{json}");
}

#[test]
fn missing_nodes_are_left_out_of_json_when_none_and_read_back_when_some() {
    let mut run = fixtures::wal_run();
    let json = String::from_utf8(crate::report::json::render(&run)).unwrap();
    assert!(!json.contains("\"missing\""), "{json}");
    // A result.json written before the field existed reads as none missing.
    let back: RunResult = serde_json::from_str(&json).unwrap();
    assert!(back.missing.is_empty());
    run.missing.push(crate::result::MissingSource {
        node: "node-c".into(),
        reason: "log cut short (BEGIN without END)".into(),
    });
    let json = String::from_utf8(crate::report::json::render(&run)).unwrap();
    let back: RunResult = serde_json::from_str(&json).unwrap();
    assert_eq!(back.missing, run.missing);
    let summary = crate::report::summary::render(&run);
    assert!(
        summary.contains("**Missing nodes**: 1 of 1 node")
            && summary.contains("- node-c: log cut short"),
        "{summary}"
    );
}

#[test]
fn a_merge_keeps_the_missing_nodes_of_its_sources() {
    let mut a = node_run("a", "ha", &[samples(1, 100, 1e3, 1e6)], 1.0);
    a.missing.push(crate::result::MissingSource {
        node: "node-c".into(),
        reason: "cut short".into(),
    });
    let b = node_run("b", "hb", &[samples(2, 100, 1e3, 1e6)], 1.0);
    let merged = merge(&[src("a", a), src("b", b)], false, vec![])
        .unwrap()
        .run;
    assert_eq!(merged.missing.len(), 1);
    assert_eq!(merged.missing[0].node, "node-c");
}

#[test]
fn runs_that_measured_different_things_are_refused_unless_forced() {
    let values = vec![samples(1, 100, 1_000.0, 50_000.0)];
    let a = node_run("run-a", "", &values, 1.0);
    let mut b = node_run("run-b", "", &values, 1.0);
    b.cells[0].target.mount.options = "rw,relatime,data=ordered".into();
    let sources = [src("a", a.clone()), src("b", b.clone())];
    let Err(Error::Usage(msg)) = merge(&sources, false, vec![]) else {
        panic!("merged runs with different mount options");
    };
    assert!(msg.contains("cell tmpfs/wal repeat 0"), "{msg}");
    assert!(
        msg.contains(
            "mount options `rw,noatime,data=writeback` (a) vs `rw,relatime,data=ordered` (b)"
        ),
        "{msg}"
    );
    assert!(msg.contains("--force"), "{msg}");

    // Forced: merged, and the cell says what differed.
    let merged = merge(&sources, true, vec![]).unwrap().run;
    let cell = &merged.cells[0];
    assert_eq!(cell.ops["record"].count, 200);
    assert!(
        cell.notes
            .iter()
            .any(|n| n.starts_with("merged with --force") && n.contains("rw,relatime")),
        "{:?}",
        cell.notes
    );

    // Workload parameters and the scenario file count too.
    let mut c = a.clone();
    c.run_id = "run-c".into();
    c.cells[0]
        .workload
        .params
        .insert("fsync".into(), "never".into());
    c.scenario.sha256 = "f".repeat(64);
    let Err(Error::Usage(msg)) = merge(&[src("a", a.clone()), src("c", c)], false, vec![]) else {
        panic!("merged different workloads");
    };
    assert!(
        msg.contains("workload params") && msg.contains("fsync=never"),
        "{msg}"
    );
    assert!(msg.contains("scenario sha256 0123456789ab (a"), "{msg}");

    // The same run twice would be counted twice.
    let Err(Error::Usage(msg)) = merge(&[src("a", a.clone()), src("a2", a)], true, vec![]) else {
        panic!("merged a run with itself");
    };
    assert!(msg.contains("given twice"), "{msg}");
}

#[test]
fn a_count_without_a_histogram_cannot_be_merged_exactly() {
    let values = vec![samples(1, 10, 1_000.0, 5_000.0)];
    let a = node_run("run-a", "", &values, 1.0);
    let mut b = node_run("run-b", "", &values, 1.0);
    b.cells[0].ops.get_mut("record").unwrap().histogram.clear();
    let Err(Error::Usage(msg)) = merge(&[src("a", a), src("b", b)], true, vec![]) else {
        panic!("merged without a histogram");
    };
    assert!(msg.contains("no readable histogram"), "{msg}");
}

#[test]
fn cells_of_some_sources_and_faults_merge_with_notes_and_summed_durability() {
    let values = vec![samples(1, 10, 1_000.0, 5_000.0)];
    let mut a = node_run("run-a", "", &values, 1.0);
    let mut b = node_run("run-b", "", &values, 1.0);
    let crash = |lost: u64, window: f64| {
        crate::fault::outcome::testing::crash(
            crate::fault::verify::Durability {
                trials: 5,
                acked_lost: lost,
                unacked_lost: 7,
                loss_window_ms: window,
                ..Default::default()
            },
            Some(1.0),
            Vec::new(),
        )
    };
    a.cells[0].faults.push(crash(0, 3.0));
    b.cells[0].faults.push(crash(2, 9.5));
    a.cells[0].notes.push("rate not sustained".into());
    // A cell only b has.
    let mut extra = b.cells[0].clone();
    extra.workload.name = "logs".into();
    extra.index = 1;
    b.cells.push(extra);
    let merged = merge(&[src("a", a), src("b", b)], false, vec![])
        .unwrap()
        .run;
    let wal = &merged.cells[0];
    let d = wal.faults[0].durability().unwrap();
    assert_eq!(d.trials, 10);
    assert_eq!(d.acked_lost, 2);
    assert_eq!(d.unacked_lost, 14);
    assert_eq!(d.loss_window_ms, 9.5);
    assert_eq!(wal.faults[0].merged_sources, Some(2));
    assert_eq!(wal.notes, ["[a] rate not sustained"]);
    let logs = &merged.cells[1];
    assert_eq!((logs.index, logs.workload.name.as_str()), (1, "logs"));
    assert_eq!(logs.sources.len(), 1);
    assert_eq!(logs.notes, ["merged from 1 of 2 runs (not in: a)"]);
}

#[test]
fn node_names_fall_back_to_the_run_directory() {
    let names = node_names(&[
        ("web-1".into(), "r1".into()),
        ("same".into(), "r2".into()),
        ("same".into(), "r3".into()),
        (String::new(), "r4".into()),
        (String::new(), "r4".into()),
        (String::new(), String::new()),
    ]);
    assert_eq!(names, ["web-1", "r2", "r3", "r4", "r4-2", "run"]);
}

#[test]
fn a_shared_device_of_one_source_leaves_the_merged_cell_unattributable() {
    let values = vec![samples(1, 500, 2_000.0, 90_000.0)];
    let own = node_run("run-0", "a", &values, 2.0);
    let mut host = node_run("run-1", "b", &values, 2.0);
    host.cells[0].device = Some(DeviceStats::measured(
        "vda",
        (21_704_704, 198, 46),
        host.cells[0].bytes_written,
        true,
    ));
    let merged = merge(&[src("a", own), src("b", host)], false, Vec::new())
        .unwrap()
        .run;
    let d = merged.cells[0].device.as_ref().unwrap();
    // Counters still summed; no figure, since half of them are not the cell's.
    assert_eq!(d.bytes_written, 23_068_672 + 21_704_704);
    assert_eq!((d.write_ios, d.flushes), (5_200 + 198, 5_120 + 46));
    assert!(d.shared && !d.attributable);
    assert_eq!(d.write_amplification, None);
}
