//! Gating real runs: exit codes, which gate and cell failed, baselines,
//! and a junit.xml an independent JUnit parser reads.

use std::path::Path;
use std::process::Output;

use crate::support::*;

/// (tests, failures, skipped, names of failed testcases) as junitparser reads them.
fn parse_junit(path: &Path) -> (u64, u64, u64, Vec<String>) {
    let script = r#"
import sys
from junitparser import JUnitXml, Failure, Skipped
xml = JUnitXml.fromfile(sys.argv[1])
tests = failures = skipped = 0
failed = []
for suite in xml:
    for case in suite:
        tests += 1
        kinds = [type(r) for r in case.result]
        if Failure in kinds:
            failures += 1
            failed.append(case.name)
        if Skipped in kinds:
            skipped += 1
print(tests, failures, skipped)
for f in failed:
    print(f)
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut lines = stdout.lines();
    let counts: Vec<u64> = lines
        .next()
        .unwrap()
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    (
        counts[0],
        counts[1],
        counts[2],
        lines.map(String::from).collect(),
    )
}

const SCENARIO: &str = "version: 1\nname: gated\nseed: 2\nduration: 300ms\nwarmup: 0s\nrepeat: 3\n\
targets:\n  - {name: vol, kind: tmpfs, size: 64MiB}\n\
workloads:\n  - {name: wal, kind: fsync_heavy, fsync: always, file_size: 4MiB}\n";

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
#[ignore = "needs root, python3 junitparser: gated tmpfs runs; junit.xml read by junitparser"]
fn a_passing_gate_exits_0_an_impossible_one_exits_1_and_a_typo_exits_2() {
    require(&[Need::Root, Need::Python("junitparser", "junitparser")]);
    let _serial = serial();
    let sb = Sandbox::new();
    // Generous limits in the scenario: pass.
    let file = sb.write(
        "ok.yaml",
        &format!(
            "{SCENARIO}gates:\n  - select: {{workload: wal, op: fdatasync}}\n    p95: 1s\n    \
             warn: {{p99: 1ns}}\n  - select: {{target: vol}}\n    throughput: 1/s\n"
        ),
    );
    let out = sb.run(&file, "ok", &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let verdict = stdout(&out);
    assert!(
        verdict.contains("gates: WARN — 2 passed, 1 warned, 0 failed"),
        "{verdict}"
    );
    let gate: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sb.out("ok").join("gate.json")).unwrap()).unwrap();
    assert_eq!(gate["status"], "WARN");
    assert_eq!(gate["checks"][0]["repeats"], 3);
    let bmf: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sb.out("ok").join("bmf.json")).unwrap()).unwrap();
    assert!(
        bmf["vol/wal/record"]["throughput"]["value"]
            .as_f64()
            .unwrap()
            > 1.0
    );

    // An impossible limit in a gate file, on the finished run: exit 1, and
    // the verdict names the gate, the cell, what was measured and the limit.
    let gate_file = sb.write(
        "gate.yaml",
        "version: 1\ngates:\n  - select: {workload: wal}\n    p50: 1ns\n  - select: {workload: wal}\n    throughput: 1/s\n",
    );
    let summary = sb.dir.path().join("step-summary.md");
    let out = wpbench()
        .arg("gate")
        .arg(sb.out("ok"))
        .arg("--gate")
        .arg(&gate_file)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let table = stdout(&out);
    let first = table.lines().nth(1).unwrap();
    assert!(
        first.starts_with("FAIL")
            && first.contains("gate.yaml: gates[0]")
            && first.contains("vol/wal record")
            && first.contains("p50 ≤ 1ns"),
        "{table}"
    );
    assert!(table.contains("breaks limit p50 ≤ 1ns"), "{table}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("❌ FAIL"), "{md}");
    // The gated limit on the unit op is drawn on its percentile bars.
    let bars =
        std::fs::read_to_string(sb.out("ok").join("charts/percentiles-wal-record.svg")).unwrap();
    assert!(bars.contains(">\ngate "), "no gate line in the bars chart");
    let html = std::fs::read_to_string(sb.out("ok").join("report.html")).unwrap();
    assert!(
        html.contains("<strong class=\"violation\">FAIL</strong>")
            && html.contains("breaks limit p50 ≤ 1ns"),
        "{html}"
    );

    // The JUnit file, read by an independent parser: 2 scenario gates + 2
    // from the file = 5 checks (3 in the scenario: p95, warn p99, throughput).
    let (tests, failures, skipped, failed) = parse_junit(&sb.out("ok").join("junit.xml"));
    assert_eq!((tests, failures, skipped), (5, 1, 0), "{failed:?}");
    assert_eq!(failed, ["vol/wal record: p50 ≤ 1ns"]);

    // A typo in a gate key, or a selector matching nothing: exit 2.
    let typo = sb.write(
        "typo.yaml",
        "version: 1\ngates:\n  - select: {workload: wal}\n    p59: 1ms\n",
    );
    let out = wpbench()
        .arg("gate")
        .arg(sb.out("ok"))
        .arg("--gate")
        .arg(&typo)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown key `p59`, did you mean `p50`?"));
    let nothing = sb.write(
        "nothing.yaml",
        "version: 1\ngates:\n  - select: {workload: w*, fault: crash}\n    p50: 1ms\n",
    );
    let out = wpbench()
        .arg("gate")
        .arg(sb.out("ok"))
        .arg("--gate")
        .arg(&nothing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // Checked before the run too: nothing is created.
    let out = sb.run(
        &file,
        "never",
        &["--quiet", "--gate", typo.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!sb.out("never").exists());
    assert_nothing_left(&sb);
}

#[test]
#[ignore = "needs root, mkfs.ext4: tmpfs and ext4 runs against baselines"]
fn a_run_passes_against_its_own_baseline_and_fails_against_a_faster_one() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    let _serial = serial();
    let sb = Sandbox::new();
    let baselines = sb.dir.path().join("baselines");
    let gate = "gates:\n  - baseline: {max_regression: 10%}\n";
    // The same target name, "vol": tmpfs (fast fdatasync) and ext4 (slow).
    let fast = sb.write(
        "fast.yaml",
        &format!("{}{gate}", SCENARIO.replace("repeat: 3", "repeat: 5")),
    );
    let slow = sb.write(
        "slow.yaml",
        &format!(
            "{}{gate}",
            SCENARIO
                .replace("repeat: 3", "repeat: 5")
                .replace("kind: tmpfs, size: 64MiB", "kind: ext4, size: 128MiB")
        ),
    );
    for (file, out) in [(&fast, "fast"), (&slow, "slow")] {
        // Without --baseline the baseline gate is skipped, not failed.
        let o = sb.run(file, out, &["--quiet"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(stdout(&o).contains("no --baseline given"), "{}", text(&o));
    }
    for (run, name) in [("fast", "fast"), ("slow", "slow")] {
        let o = wpbench()
            .args(["baseline", "save"])
            .arg(sb.out(run))
            .args(["--name", name, "--dir"])
            .arg(&baselines)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    let gate_with = |run: &str, baseline: &str| {
        wpbench()
            .arg("gate")
            .arg(sb.out(run))
            .args(["--baseline", baseline, "--baseline-dir"])
            .arg(&baselines)
            .output()
            .unwrap()
    };
    // Against itself: every metric passes, and none is called slower
    // (ext4's fdatasync on a loop device spreads so much between repeats
    // that some intervals are too wide to say "no difference").
    let o = gate_with("slow", "slow");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let own = stdout(&o);
    assert_eq!(own.matches("(×1.00 [").count(), 4, "{own}");
    assert!(!own.contains("slower"), "{own}");
    // Against the faster configuration: a regression beyond 10 % fails.
    let o = gate_with("slow", "fast");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let table = stdout(&o);
    assert!(
        table.contains("a regression beyond 10%") && table.contains("slower, p="),
        "{table}"
    );
    // And the faster one against the slower baseline improved.
    let o = gate_with("fast", &baselines.join("slow.json").display().to_string());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(stdout(&o).contains("an improvement"), "{}", text(&o));
    // A baseline that does not exist is a usage error.
    let o = gate_with("fast", "nope");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_nothing_left(&sb);
}

#[test]
fn a_limit_no_selected_cell_can_have_is_refused_before_the_run() {
    let sb = Sandbox::new();
    // The scenario's own gate: write amplification of a tmpfs cell.
    let own = sb.write(
        "own.yaml",
        &format!("{SCENARIO}gates:\n  - select: {{target: vol}}\n    write_amplification: 1.5\n"),
    );
    let out = sb.run(&own, "own", &["--quiet"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:13:5: `gates[0].write_amplification`",
            own.display()
        )) && err.contains("no block device of their own"),
        "{err}"
    );
    assert!(!sb.out("own").exists(), "no run directory, no result.json");
    // A gate file given to `run`: durability with no fault, an op the WAL
    // (fdatasync) never records, a fault kind that applies to no cell.
    let scenario = sb.write("s.yaml", SCENARIO);
    let gate = sb.write(
        "gate.yaml",
        "version: 1\ngates:\n  - select: {workload: wal}\n    acked_lost: 0\n  - select: {op: fsync}\n    p99: 5ms\n",
    );
    let out = sb.run(
        &scenario,
        "file",
        &["--quiet", "--gate", gate.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    for says in [
        format!("{}:4:5: `gates[0].acked_lost`", gate.display()),
        "can have a durability verdict".to_string(),
        format!("{}:5:14: `gates[1].select.op`", gate.display()),
        "`wal` (fsync_heavy) records write, fdatasync, close, record".to_string(),
    ] {
        assert!(err.contains(&says), "expected `{says}` in:\n{err}");
    }
    assert!(!sb.out("file").exists(), "no run directory, no result.json");
    assert!(!sb.scratch().exists(), "nothing provisioned");
}

#[test]
fn a_gate_only_leaves_no_cell_to_judge_is_refused_before_the_run() {
    let sb = Sandbox::new();
    // Two targets; the scenario's gate selects `other`, `--only vol` drops it.
    let two = SCENARIO.replace(
        "workloads:",
        "  - {name: other, kind: tmpfs, size: 64MiB}\nworkloads:",
    );
    let gated = format!("{two}gates:\n  - select: {{target: other}}\n    p99: 5ms\n");
    let own = sb.write("own.yaml", &gated);
    // Without --only the gate applies, so the scenario itself is fine.
    let ok = wpbench().arg("validate").arg(&own).output().unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    let out = sb.run(&own, "own", &["--quiet", "--only", "vol"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "gates[0]: select {target: other} matches no cell of this run (its cells: vol/wal)"
        ) && err.contains("--only vol"),
        "{err}"
    );
    assert!(!sb.out("own").exists(), "no run directory, no result.json");
    // The same for a gate file's gate, named by its name and position.
    let scenario = sb.write("s.yaml", &two);
    let gate = sb.write(
        "gate.yaml",
        "version: 1\ngates:\n  - select: {workload: wal}\n    p99: 5ms\n  - name: other-p99\n    select: {target: oth*}\n    p99: 5ms\n",
    );
    let out = sb.run(
        &scenario,
        "file",
        &[
            "--quiet",
            "--only",
            "vol/wal",
            "--gate",
            gate.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let says = format!(
        "other-p99 ({}: gates[1]): select {{target: oth*}} matches no cell of this run (its cells: vol/wal)",
        gate.display()
    );
    assert!(err.contains(&says), "expected `{says}` in:\n{err}");
    assert!(!err.contains("gates[0]"), "the gate on wal applies: {err}");
    assert!(!sb.out("file").exists(), "no run directory, no result.json");
    assert!(!sb.scratch().exists(), "nothing provisioned");
    assert_nothing_left(&sb);
}

#[test]
#[ignore = "needs root: a hostPath cell with a bind mount (noatime)"]
fn a_hostpath_keeps_its_device_counters_but_has_no_write_amplification_to_gate() {
    require(&[Need::Root]);
    let _serial = serial();
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.hostpath()).unwrap();
    let body = format!(
        "version: 1\nname: shared\nseed: 3\nduration: 400ms\nwarmup: 0s\nrepeat: 2\n\
         targets:\n  - {{name: host, kind: hostpath, path: {}, options: [noatime]}}\n\
         workloads:\n  - {{name: wal, kind: fsync_heavy, fsync: always, file_size: 4MiB}}\n",
        sb.hostpath().display()
    );
    // A write-amplification gate of the scenario's own that selects the
    // hostPath is refused before anything runs.
    let gated = sb.write(
        "gated.yaml",
        &format!("{body}gates:\n  - select: {{workload: wal}}\n    write_amplification: 2\n"),
    );
    let out = sb.run(&gated, "gated", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`gates[0].write_amplification`")
            && err.contains("selects hostPath target `host`, whose device is shared"),
        "{err}"
    );
    assert!(!sb.out("gated").exists(), "no run directory");

    let file = sb.write("shared.yaml", &body);
    let out = sb.run(&file, "r", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The terminal prints the counters and no figure.
    let printed = stdout(&out);
    assert!(
        printed.contains("\n  write amplification: not attributable (device shared with the host)"),
        "{printed}"
    );
    assert!(!printed.contains("write amplification 1") && !printed.contains("(shared device)"));

    // result.json: the counters as measured, not attributable, no figure.
    let dir = sb.out("r");
    let result = read_json(&dir.join("result.json"));
    let cells = result["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2);
    let mut device_name = String::new();
    for c in cells {
        let d = &c["device"];
        assert_eq!(d["shared"], true, "{d}");
        assert_eq!(d["attributable"], false, "{d}");
        assert!(
            d.get("write_amplification").is_some_and(|w| w.is_null()),
            "{d}"
        );
        for key in ["bytes_written", "write_ios", "flushes"] {
            assert!(d[key].is_u64(), "{key} in {d}");
        }
        // fsync: always on the host's disk: something reached it.
        assert!(d["write_ios"].as_u64().unwrap() > 0, "{d}");
        device_name = d["name"].as_str().unwrap().to_string();
        assert!(!device_name.is_empty());
    }

    // The device chart has no write-amplification bar (only the legend's
    // swatch in its colour) and says why in the hostPath's place.
    let svg = std::fs::read_to_string(dir.join("charts/device.svg")).unwrap();
    let wa_bars = svg
        .split('<')
        .filter(|e| e.starts_with("rect") && e.contains("fill=\"#E69F00\""))
        .count();
    assert_eq!(wa_bars, 1, "the legend's swatch only");
    assert!(svg.contains("\nnot attributable\n</text>"), "{svg}");
    assert!(svg.contains("\nhost (shared)\n</text>"));

    // summary.md and report.html: no figure, and one sentence why.
    let sentence = format!(
        "write amplification is not attributable: its device {device_name} is shared with \
         the rest of the host, so the device counters include other processes' writes."
    );
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert_eq!(
        summary.matches(&format!("- **host**: {sentence}")).count(),
        1,
        "{summary}"
    );
    assert!(summary.contains(" | not attributable |"), "{summary}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("is shared with the rest of the host"));

    // A gate file asking for it after the run: refused, exit 2, naming the
    // cell and why.
    let gate = sb.write(
        "wa.yaml",
        "version: 1\ngates:\n  - select: {target: host}\n    write_amplification: 2\n",
    );
    let o = wpbench()
        .arg("gate")
        .arg(&dir)
        .arg("--gate")
        .arg(&gate)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "gates[0]: `write_amplification ≤ 2` selects host/wal, whose device \
             {device_name} is shared with the rest of the host"
        )) && err.contains("not attributable"),
        "{err}"
    );
    assert!(!dir.join("gate.json").exists(), "no verdict written");
    assert_nothing_left(&sb);
}
