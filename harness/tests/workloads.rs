//! The workload catalog on real targets: a varmail `sequence` does exactly
//! the operations its steps say, `metadata` churns an overlay's lower
//! files, O_DIRECT writes reach the device, think time paces a loop.

use serde_json::Value;

use crate::support::*;

fn count(cell: &Value, op: &str) -> u64 {
    cell["ops"][op]["count"].as_u64().unwrap_or(0)
}

fn errors(cell: &Value) -> u64 {
    cell["ops"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|s| s["errors"].as_object().unwrap().values())
        .map(|n| n.as_u64().unwrap())
        .sum()
}

#[test]
fn varmail_sequence_counts_match_its_steps() {
    if !require_root("varmail_sequence_counts_match_its_steps") {
        return;
    }
    let _serial = serial();
    let sb = Sandbox::new();
    // The shipped varmail, 300 passes per cell (over its 4 threads), no warm-up.
    let file = repo_root().join("scenarios/varmail.yaml");
    let out = sb.run(
        &file,
        "varmail",
        &["--ops", "300", "--warmup", "0s", "--quiet"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("varmail").join("result.json"));
    for cell in result["cells"].as_array().unwrap() {
        let target = &cell["target"]["name"];
        assert_eq!(errors(cell), 0, "{target}: {}", cell["ops"]);
        assert_eq!(count(cell, "sequence"), 300, "{target}");
        // Per pass: unlink, create, 2 appends, 2 fsyncs, 3 closes, 2 opens, 2 whole-file reads.
        for (op, per_pass) in [
            ("unlink", 1),
            ("create", 1),
            ("write", 2),
            ("fsync", 2),
            ("close", 3),
            ("open", 2),
        ] {
            assert_eq!(count(cell, op), 300 * per_pass, "{target}: {op}");
        }
        // A whole-file read is at least one read(2) plus the one that sees EOF.
        assert!(
            count(cell, "read") >= 300 * 2 * 2,
            "{target}: read {}",
            count(cell, "read")
        );
    }
}

#[test]
fn metadata_churns_an_overlays_lower_files_and_o_direct_reaches_the_device() {
    if !require_root("metadata_churns_an_overlays_lower_files_and_o_direct_reaches_the_device") {
        return;
    }
    let _serial = serial();
    let sb = Sandbox::new();
    let file = sb.write(
        "meta.yaml",
        concat!(
            "version: 1\nname: meta\nops: 2000\nwarmup: 0s\n",
            "targets:\n",
            "  - {name: ovl, kind: overlay, upper: {kind: ext4, size: 256MiB}, lower: {files: 500, file_size: 1KiB, dirs: 5}}\n",
            "  - {name: ext4, kind: ext4, size: 256MiB}\n",
            "workloads:\n",
            "  - {name: meta, kind: metadata, files: 300, mix: {create: 2, rename: 2, unlink: 2, stat: 4, link: 1, mkdir: 1, rmdir: 1}}\n",
            "  - {name: direct, kind: fsync_heavy, o_direct: true, record_size: 4KiB, file_size: 8MiB, fsync: never, think_time: 100us}\n",
        ),
    );
    let out = sb.run(&file, "meta", &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("meta").join("result.json"));
    for cell in result["cells"].as_array().unwrap() {
        let name = format!("{}/{}", cell["target"]["name"], cell["workload"]["name"]);
        assert_eq!(errors(cell), 0, "{name}: {}", cell["ops"]);
        if cell["workload"]["name"] == "meta" {
            assert_eq!(count(cell, "meta"), 2000, "{name}");
            for op in ["create", "rename", "unlink", "stat", "link", "mkdir"] {
                assert!(count(cell, op) > 0, "{name}: no {op}");
            }
        } else {
            // O_DIRECT, no sync calls: every byte written reached the device.
            assert_eq!(cell["workload"]["params"]["o_direct"], "true");
            let written = cell["bytes_written"].as_u64().unwrap();
            assert_eq!(written, 2000 * 4096, "{name}");
            assert!(
                cell["device"]["bytes_written"].as_u64().unwrap() >= written,
                "{name}: {}",
                cell["device"]
            );
            // 2000 think times of 100 µs: at least 0.2 s.
            assert!(cell["duration_s"].as_f64().unwrap() >= 0.2, "{name}");
        }
    }
    assert_nothing_left(&sb);
}
