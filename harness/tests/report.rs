//! Reading runs back: `compare` of real runs.

use crate::support::*;

/// Runs `wpbench compare BASE NEW --format FORMAT` and returns its stdout.
fn compare(base: &std::path::Path, new: &std::path::Path, format: &str) -> String {
    let out = wpbench()
        .arg("compare")
        .arg(base)
        .arg(new)
        .args(["--format", format])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn compare_finds_noatime_faster_than_strictatime_and_a_run_unchanged_against_itself() {
    if !require_root(
        "compare_finds_noatime_faster_than_strictatime_and_a_run_unchanged_against_itself",
    ) {
        return;
    }
    let _serial = serial();
    let sb = Sandbox::new();
    for atime in ["strictatime", "noatime"] {
        let file = sb.write(
            &format!("{atime}.yaml"),
            &format!(
                "version: 1\nname: atime\nseed: 5\nduration: 400ms\nwarmup: 100ms\nrepeat: 5\n\
                 targets:\n  - {{name: ext4, kind: ext4, size: 128MiB, options: [{atime}]}}\n\
                 workloads:\n  - {{name: reads, kind: read_atime, files: 500, file_size: 4KiB}}\n"
            ),
        );
        let out = sb.run(&file, atime, &["--quiet"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let (strict, noatime) = (sb.out("strictatime"), sb.out("noatime"));
    let json = compare(&strict, &noatime, "json");
    let c: serde_json::Value = serde_json::from_str(&json).unwrap();
    let verdict = c["cells"][0]["verdict"].as_str().unwrap();
    // Every read under strictatime dirties the inode; noatime never does.
    // (Four metrics are tested: one tail percentile may go either way by
    // chance, so the verdict may read "mixed" — but never "worse".)
    assert!(
        verdict.starts_with("better: ") || verdict.starts_with("mixed: "),
        "{json}"
    );
    assert!(verdict.contains("throughput +"), "{verdict}");
    let throughput = c["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["op"] == "read_file" && r["metric"] == "throughput")
        .unwrap();
    assert_eq!(throughput["significant"], true, "{throughput}");
    assert!(throughput["p"].as_f64().unwrap() < 0.05);
    assert!(throughput["change"].as_f64().unwrap() > 0.0);
    assert!(c["cells"][0]["options"][1]
        .as_str()
        .unwrap()
        .contains("noatime"));

    // Against itself: nothing is significant, in every format.
    let same: serde_json::Value =
        serde_json::from_str(&compare(&noatime, &noatime.join("result.json"), "json")).unwrap();
    assert!(same["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["significant"] == false));
    let md = compare(&noatime, &noatime, "markdown");
    assert!(
        md.contains("| ext4 | reads | read_file | no significant change"),
        "{md}"
    );
    let table = compare(&strict, &noatime, "text");
    assert!(table.contains("verdict (read_file): better"), "{table}");
    assert_nothing_left(&sb);
}

#[test]
fn compare_refuses_what_is_not_a_run() {
    let sb = Sandbox::new();
    let out = wpbench()
        .args(["compare", "/nonexistent-run"])
        .arg(sb.out("none"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read a wpbench result"));
}
