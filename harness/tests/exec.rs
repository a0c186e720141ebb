//! `kind: exec` on real targets: a real command is one timed `exec` op per
//! invocation (counted against a tally the command keeps outside the
//! target); a failing command's exits are counted as `exit_3`, the cell
//! runs its whole length and the first failures' output is kept, bounded,
//! next to the cell's interval log.

use serde_json::Value;

use crate::support::*;

/// A scenario whose commands keep a tally in `TALLY` (a directory outside
/// the targets, which are torn down).
fn scenario(sb: &Sandbox, name: &str, body: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let tally = sb.dir.path().join("tally");
    std::fs::create_dir_all(&tally).unwrap();
    let file = sb.write(
        &format!("{name}.yaml"),
        &format!("version: 1\nname: {name}\nseed: 3\nwarmup: 0s\nrepeat: 1\n{body}")
            .replace("TALLY", &tally.display().to_string()),
    );
    (file, tally)
}

/// Lines the cell's invocations appended to their tally file.
fn tallied(tally: &std::path::Path, cell: &Value) -> u64 {
    let name = cell["hlog"].as_str().unwrap();
    let stem = name.rsplit('/').next().unwrap().trim_end_matches(".hlog");
    std::fs::read_to_string(tally.join(stem))
        .unwrap_or_default()
        .lines()
        .count() as u64
}

fn cells(result: &Value) -> &Vec<Value> {
    result["cells"].as_array().unwrap()
}

#[test]
#[ignore = "needs root, mkfs.ext4: exec cells on tmpfs and ext4"]
fn exec_of_a_real_command_is_timed_per_invocation_on_tmpfs_and_ext4() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    let _serial = serial();
    let sb = Sandbox::new();
    let (file, tally) = scenario(
        &sb,
        "exec-dd",
        "duration: 2s
targets:
  - {name: tmpfs, kind: tmpfs, size: 256MiB}
  - {name: ext4, kind: ext4, size: 512MiB, options: [noatime]}
workloads:
  - name: dd
    kind: exec
    threads: 2
    setup: [mkdir, out]
    command: [sh, -c, 'dd if=/dev/zero of=out/f$WPBENCH_THREAD bs=4k count=16 conv=fsync 2>/dev/null && echo x >> TALLY/$WPBENCH_CELL']
    timeout: 10s
",
    );
    let out = sb.run(&file, "exec-dd", &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("exec-dd").join("result.json"));
    assert_eq!(cells(&result).len(), 2);
    for cell in cells(&result) {
        let target = &cell["target"]["name"];
        let exec = &cell["ops"]["exec"];
        let count = exec["count"].as_u64().unwrap();
        assert!(count > 0, "{target}: {exec}");
        assert_eq!(
            exec["errors"].as_object().map_or(0, |e| e.len()),
            0,
            "{target}: {exec}"
        );
        // One op per invocation: the commands' own tally agrees.
        assert_eq!(tallied(&tally, cell), count, "{target}");
        // Each is a fork, an exec, 64KiB written and synced: not nothing.
        assert!(
            exec["p50_ns"].as_u64().unwrap() > 100_000,
            "{target}: {exec}"
        );
        assert_eq!(cell["workload"]["kind"], "exec");
        assert!(cell["duration_s"].as_f64().unwrap() >= 2.0, "{target}");
    }
    assert_nothing_left(&sb);
}

#[test]
#[ignore = "needs root: an exec cell on tmpfs"]
fn a_failing_command_is_counted_as_exit_3_and_keeps_running() {
    require(&[Need::Root]);
    let _serial = serial();
    let sb = Sandbox::new();
    let (file, tally) = scenario(
        &sb,
        "exec-fail",
        "duration: 2s
targets:
  - {name: tmpfs, kind: tmpfs, size: 64MiB}
workloads:
  - name: fails
    kind: exec
    command: [sh, -c, 'echo x >> TALLY/$WPBENCH_CELL; head -c 100000 /dev/zero | tr \"\\0\" e >&2; echo >&2; echo it broke >&2; exit 3']
",
    );
    let out = sb.run(&file, "exec-fail", &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("exec-fail").join("result.json"));
    let cell = &cells(&result)[0];
    let exec = &cell["ops"]["exec"];
    let failed = exec["errors"]["exit_3"].as_u64().unwrap();
    assert!(failed > 10, "{exec}");
    assert_eq!(
        failed,
        tallied(&tally, cell),
        "every invocation failed once"
    );
    assert_eq!(exec["count"].as_u64().unwrap_or(0), 0, "{exec}");
    // It ran the cell's whole length: no thread gave up.
    assert!(cell["duration_s"].as_f64().unwrap() >= 2.0);
    let notes: Vec<&str> = cell["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        !notes.iter().any(|n| n.contains("stopped after")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("exit_3 ×") && n.contains("stderr: it broke")),
        "{notes:?}"
    );
    // The first failures' output, bounded, next to the interval log.
    let hlog = cell["hlog"].as_str().unwrap();
    let rel = format!("{}.exec-failures.txt", hlog.trim_end_matches(".hlog"));
    assert!(notes.iter().any(|n| n.contains(&rel)), "{notes:?}");
    let kept = std::fs::read(sb.out("exec-fail").join(&rel)).unwrap();
    assert!(kept.len() <= 3 * 2 * 65536 + 4096, "{}", kept.len());
    let kept = String::from_utf8_lossy(&kept);
    assert!(kept.contains("=== failure 3:"), "{}", &kept[..200]);
    assert!(!kept.contains("=== failure 4:"));
    assert!(kept.contains("exit_3") && kept.contains("it broke"));
    assert_nothing_left(&sb);
}
