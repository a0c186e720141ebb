//! The .hlog files are standard HdrHistogram interval logs: an independent
//! reader (the Python HdrHistogram implementation) decodes them, and their
//! intervals add up to result.json's totals.

use std::process::Command;

use crate::support::*;

#[test]
#[ignore = "needs python3 hdrhistogram: reads the .hlog files with another implementation"]
fn hlog_files_are_readable_by_another_implementation_and_agree_with_result_json() {
    require(&[Need::Python("hdrh.histogram", "hdrhistogram")]);
    let _serial = serial();
    let sb = Sandbox::new();
    let file = sb.write(
        "hlog.yaml",
        &format!(
            "version: 1\nname: hlog\nduration: 3s\nwarmup: 500ms\n\
             targets:\n  - {{name: host, kind: hostpath, path: {}}}\n\
             workloads:\n  - {{name: wal, kind: fsync_heavy, threads: 2, fsync: {{every: 4}}}}\n",
            sb.hostpath().display()
        ),
    );
    let out = sb.run(&file, "r", &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("r").join("result.json"));
    let cell = &result["cells"][0];
    let hlog = sb.out("r").join(cell["hlog"].as_str().unwrap());
    let py = Command::new("python3")
        .arg(repo_root().join("harness/tests/hlog_read.py"))
        .arg(&hlog)
        .output()
        .unwrap();
    assert!(py.status.success(), "{}", text(&py));
    let read: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();
    assert!(read["_start_time"].as_f64().unwrap() > 1.7e9);
    // A 3 s cell has 100 ms intervals, which the log and result.json say.
    assert_eq!(cell["interval_s"].as_f64(), Some(0.1));
    let log = std::fs::read_to_string(&hlog).unwrap();
    assert!(log.contains("\n#[Interval: 0.100 (seconds)]\n"), "{log}");
    // The package's own log reader takes that line for a comment and
    // reads every interval line.
    let lines = log.lines().filter(|l| l.starts_with("Tag=")).count() as u64;
    assert_eq!(read["_standard_reader"]["intervals"].as_u64(), Some(lines));
    let mut total = 0;
    for op in ["record", "write", "fdatasync"] {
        let ours = &cell["ops"][op];
        let theirs = &read[op];
        assert_eq!(theirs["count"], ours["count"], "{op}: {theirs} vs {ours}");
        total += ours["count"].as_u64().unwrap();
        // At most one interval per 100 ms of the measured phase (3 s: the
        // ops that completed after its deadline count in its last one).
        let n = theirs["intervals"].as_u64().unwrap();
        assert!((1..=30).contains(&n), "{op}: {n} intervals");
        // Bucket by bucket, the other implementation decodes the same
        // distribution that result.json holds.
        let hist = wpbench::record::decode_histogram(ours["histogram"].as_str().unwrap()).unwrap();
        let ours_buckets: Vec<(u64, u64)> = hist
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        let theirs_buckets: Vec<(u64, u64)> = theirs["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (b[0].as_u64().unwrap(), b[1].as_u64().unwrap()))
            .collect();
        assert_eq!(theirs_buckets, ours_buckets, "{op}: buckets differ");
        assert!(ours_buckets.len() > 10, "{op}: a real distribution");
        assert!(hist.equivalent(
            theirs["max"].as_u64().unwrap(),
            ours["max_ns"].as_u64().unwrap()
        ));
    }
    let others: u64 = cell["ops"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(op, _)| !["record", "write", "fdatasync"].contains(&op.as_str()))
        .map(|(_, s)| s["count"].as_u64().unwrap())
        .sum();
    assert_eq!(
        read["_standard_reader"]["count"].as_u64(),
        Some(total + others)
    );
}
