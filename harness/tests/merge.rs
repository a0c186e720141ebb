//! `wpbench merge`: a simulated fleet — the same scenario run three times
//! as three "nodes" — merged into one run directory that report, compare
//! and gate read like any other.

use std::path::Path;

use crate::support::*;

const FLEET: &str = "version: 1\nname: fleet\nseed: 1\nduration: 300ms\nwarmup: 0s\nrepeat: 2\n\
    targets:\n  - {name: tmpfs, kind: tmpfs, size: 64MiB__OPTIONS__}\n\
    workloads:\n  - {name: wal, kind: fsync_heavy, record_size: 4KiB, file_size: 4MiB}\n";

fn merge(sources: &[&Path], out: &Path, extra: &[&str]) -> std::process::Output {
    wpbench()
        .arg("merge")
        .args(sources)
        .arg("-o")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

/// The cell of `run` (result.json as JSON) for (target, workload, repeat).
fn cell<'a>(run: &'a serde_json::Value, c: &serde_json::Value) -> &'a serde_json::Value {
    run["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| {
            x["target"]["name"] == c["target"]["name"]
                && x["workload"]["name"] == c["workload"]["name"]
                && x["repeat"] == c["repeat"]
        })
        .unwrap()
}

fn hist(op: &serde_json::Value) -> hdrhistogram::Histogram<u64> {
    wpbench::record::decode_histogram(op["histogram"].as_str().unwrap()).unwrap()
}

#[test]
#[ignore = "needs root: three runs of a tmpfs cell"]
fn a_fleet_of_three_runs_merges_exactly_and_reports_gates_and_refuses_other_options() {
    require(&[Need::Root]);
    let _serial = serial();
    let sb = Sandbox::new();
    let file = sb.write("fleet.yaml", &FLEET.replace("__OPTIONS__", ""));
    let nodes = ["node-a", "node-b", "node-c"];
    for (i, node) in nodes.iter().enumerate() {
        // Same scenario, one seed per node (the hostname is the same for all).
        let seed = (i + 1).to_string();
        let out = sb.run(&file, node, &["--quiet", "--seed", &seed]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let dirs: Vec<_> = nodes.iter().map(|n| sb.out(n)).collect();
    let dir_refs: Vec<&Path> = dirs.iter().map(|d| d.as_path()).collect();
    let fleet = sb.out("fleet");
    let out = merge(&dir_refs, &fleet, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("merged 3 runs (node-a, node-b, node-c)"),
        "{}",
        text(&out)
    );

    // Exact: counts add up, and the merged p99 is the p99 of the three
    // runs' histograms added.
    let merged = read_json(&fleet.join("result.json"));
    assert_eq!(merged["schema"], "wpbench/result/v1");
    let runs: Vec<serde_json::Value> = dirs
        .iter()
        .map(|d| read_json(&d.join("result.json")))
        .collect();
    let cells = merged["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2, "one cell per (target, workload, repeat)");
    for c in cells {
        let parts: Vec<&serde_json::Value> = runs.iter().map(|r| cell(r, c)).collect();
        for (op, stats) in c["ops"].as_object().unwrap() {
            let count: u64 = parts
                .iter()
                .map(|p| p["ops"][op]["count"].as_u64().unwrap())
                .sum();
            assert_eq!(stats["count"].as_u64().unwrap(), count, "{op}");
            if count == 0 {
                continue;
            }
            let mut sum = wpbench::record::new_histogram();
            for p in &parts {
                sum.add(hist(&p["ops"][op])).unwrap();
            }
            assert_eq!(
                stats["p99_ns"].as_u64().unwrap(),
                sum.value_at_quantile(0.99),
                "{op}"
            );
            assert_eq!(stats["max_ns"].as_u64().unwrap(), sum.max(), "{op}");
            assert_eq!(hist(stats), sum, "{op}");
            let rate: f64 = parts
                .iter()
                .map(|p| p["ops"][op]["ops_per_sec"].as_f64().unwrap())
                .sum();
            assert!((stats["ops_per_sec"].as_f64().unwrap() - rate).abs() < 1e-6 * rate.max(1.0));
        }
        let bytes: u64 = parts
            .iter()
            .map(|p| p["bytes_written"].as_u64().unwrap())
            .sum();
        assert_eq!(c["bytes_written"].as_u64().unwrap(), bytes);
        // Per node: its own figures and its own interval log, copied.
        let sources = c["sources"].as_array().unwrap();
        let names: Vec<&str> = sources
            .iter()
            .map(|s| s["node"].as_str().unwrap())
            .collect();
        assert_eq!(
            names, nodes,
            "hostnames are equal: named after the run directories"
        );
        for (s, p) in sources.iter().zip(&parts) {
            assert_eq!(s["ops"]["record"]["p99_ns"], p["ops"]["record"]["p99_ns"]);
            let hlog = s["hlog"].as_str().unwrap();
            assert!(hlog.starts_with(&format!("hlog/{}--", s["node"].as_str().unwrap())));
            assert!(fleet.join(hlog).is_file(), "{hlog}");
        }
        assert_eq!(c["hlog"], sources[0]["hlog"]);
    }
    let run_sources = merged["sources"].as_array().unwrap();
    assert_eq!(run_sources.len(), 3);
    assert_eq!(run_sources[1]["run_id"], runs[1]["run_id"]);
    assert_eq!(run_sources[2]["seed"], 3);

    // report: a per-node spectrum with one line per node.
    let out = wpbench().arg("report").arg(&fleet).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let svg = std::fs::read_to_string(fleet.join("charts/nodes-wal-tmpfs-record.svg")).unwrap();
    for node in nodes {
        assert_eq!(
            svg.matches(&format!("\n{node}\n</text>")).count(),
            1,
            "{node}"
        );
    }
    assert!(fleet.join("charts/nodes-wal-tmpfs-record.png").is_file());
    let html = std::fs::read_to_string(fleet.join("report.html")).unwrap();
    assert!(html.contains("per node"));

    // gate: a passing gate passes.
    let gate = sb.write(
        "gate.yaml",
        "version: 1\ngates:\n  - select: {target: tmpfs, workload: wal, op: record}\n    p99: 10s\n    throughput: 1/s\n",
    );
    let out = wpbench()
        .arg("gate")
        .arg(&fleet)
        .arg("--gate")
        .arg(&gate)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(read_json(&fleet.join("gate.json"))["status"], "PASS");
    // compare: a node against the fleet.
    let out = wpbench()
        .arg("compare")
        .arg(&dirs[0])
        .arg(&fleet)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Different effective mount options: refused (exit 2), unless --force.
    let other = sb.write(
        "noatime.yaml",
        &FLEET.replace("__OPTIONS__", ", options: [noatime]"),
    );
    let out = sb.run(&other, "noatime", &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let noatime = sb.out("noatime");
    let pair: Vec<&Path> = vec![dirs[0].as_path(), noatime.as_path()];
    let refused = sb.out("refused");
    let out = merge(&pair, &refused, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cell tmpfs/wal repeat 0") && err.contains("mount options"),
        "{err}"
    );
    assert!(err.contains("noatime") && err.contains("--force"), "{err}");
    assert!(!refused.join("result.json").exists());
    let forced = sb.out("forced");
    let out = merge(&pair, &forced, &["--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let run = read_json(&forced.join("result.json"));
    for c in run["cells"].as_array().unwrap() {
        assert!(
            c["notes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n.as_str().unwrap().starts_with("merged with --force")),
            "{c}"
        );
    }
    // A directory that already holds a run is not overwritten.
    let out = merge(&pair, &forced, &["--force"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_nothing_left(&sb);
}
