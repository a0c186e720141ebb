//! `wpbench validate`: broken scenarios give exit 2 and point at the line.

use crate::support::*;

struct Case {
    name: &'static str,
    yaml: &'static str,
    /// Expected `file:line:col` prefix (line:col) and fragments of the message.
    at: &'static str,
    says: &'static [&'static str],
}

const BASE_HEAD: &str = "version: 1\nname: broken\nduration: 1s\n";

const CASES: &[Case] = &[
    Case {
        name: "typo",
        yaml: "targets:\n  - name: t\n    kind: tmpfs\nworkloads:\n  - name: w\n    kind: small_files\n    fsnyc: always\n",
        at: ":10:5:",
        says: &["fsnyc", "did you mean `fsync`"],
    },
    Case {
        name: "missing-unit",
        yaml: "targets:\n  - name: t\n    kind: tmpfs\n    size: 1024\nworkloads:\n  - name: w\n    kind: small_files\n",
        at: ":7:",
        says: &["size", "unit"],
    },
    Case {
        name: "wrong-type",
        yaml: "targets:\n  - name: t\n    kind: tmpfs\nworkloads:\n  - name: w\n    kind: small_files\n    threads: many\n",
        at: ":10:",
        says: &["threads"],
    },
    Case {
        name: "zero-threads",
        yaml: "targets:\n  - name: t\n    kind: tmpfs\nworkloads:\n  - name: w\n    kind: small_files\n    threads: 0\n",
        at: ":10:",
        says: &["threads"],
    },
    Case {
        name: "upside-down-range",
        yaml: "targets:\n  - name: t\n    kind: tmpfs\nworkloads:\n  - name: w\n    kind: log_append\n    line_size: 400B..120B\n",
        at: ":10:",
        says: &["upside down"],
    },
    Case {
        name: "gate-on-missing-workload",
        yaml: "targets:\n  - name: t\n    kind: tmpfs\nworkloads:\n  - name: w\n    kind: small_files\ngates:\n  - select: {workload: wall}\n    p95: 2ms\n",
        at: ":11:",
        says: &["wall"],
    },
    Case {
        name: "mkfs-e-panic",
        yaml: "targets:\n  - name: e\n    kind: ext4\n    mkfs: [-N, '4096', -e, panic]\nworkloads:\n  - name: w\n    kind: small_files\n",
        at: ":7:24:",
        says: &["targets[0].mkfs[2]", "-e panic", "errors=panic", "-e remount-ro"],
    },
    Case {
        name: "unknown-kind",
        yaml: "targets:\n  - name: t\n    kind: tmpfz\nworkloads:\n  - name: w\n    kind: small_files\n",
        at: ":6:",
        says: &["tmpfz", "tmpfs"],
    },
];

#[test]
fn broken_scenarios_exit_2_and_point_at_the_line() {
    let sb = Sandbox::new();
    for case in CASES {
        let file = sb.write(
            &format!("{}.yaml", case.name),
            &format!("{BASE_HEAD}{}", case.yaml),
        );
        let out = wpbench().arg("validate").arg(&file).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "case {}: {}",
            case.name,
            text(&out)
        );
        let expected = format!("{}{}", file.display(), case.at);
        assert!(
            err.contains(&expected),
            "case {}: expected `{expected}` in:\n{err}",
            case.name
        );
        for s in case.says {
            assert!(
                err.contains(s),
                "case {}: expected `{s}` in:\n{err}",
                case.name
            );
        }
        assert!(!err.contains("panicked"), "case {}: {err}", case.name);
    }
}

#[test]
fn nonsense_input_never_panics() {
    let sb = Sandbox::new();
    for (i, yaml) in [
        "",
        "- a\n- b\n",
        "version: [1\n",
        "\t\u{0}",
        "targets: 5\n",
        "version: 1\nname: x\n",
    ]
    .iter()
    .enumerate()
    {
        let file = sb.write(&format!("n{i}.yaml"), yaml);
        let out = wpbench().arg("validate").arg(&file).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{yaml:?}: {}", text(&out));
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{}",
            text(&out)
        );
    }
    let out = wpbench()
        .args(["validate", "/nonexistent/x.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn every_shipped_scenario_validates() {
    let dir = repo_root().join("scenarios");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    assert!(files.iter().any(|f| f.ends_with("quickstart.yaml")));
    let out = wpbench().arg("validate").args(&files).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("ok "))
            .count(),
        files.len()
    );
}

#[test]
fn bad_command_lines_exit_2() {
    let sb = Sandbox::new();
    let file = repo_root().join("scenarios/quickstart.yaml");
    for args in [
        vec!["--only", "nosuch/target"],
        vec!["--duration", "5"],
        vec!["--repeat", "0"],
    ] {
        let out = sb.run(&file, "x", &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
    let out = wpbench().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The mount holding `path` in this process's /proc/self/mountinfo:
/// (fstype, source, mount point).
fn mount_holding(path: &std::path::Path) -> (String, String, String) {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    text.lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let mp = left.split(' ').nth(4)?.replace("\\040", " ");
            let mut r = right.split(' ');
            let (fstype, source) = (r.next()?.to_string(), r.next()?.to_string());
            path.starts_with(&mp).then_some((fstype, source, mp))
        })
        .max_by_key(|(_, _, mp)| mp.len())
        .unwrap()
}

#[test]
fn a_filesystem_option_on_a_hostpath_names_the_filesystem_underneath() {
    let sb = Sandbox::new();
    let host = sb.dir.path().join("not-yet/wpbench");
    let file = sb.write(
        "fsopt.yaml",
        &format!(
            "version: 1\nname: fsopt\ntargets:\n  - name: h\n    kind: hostpath\n    path: {}\n\
             \x20   options: [noatime, data=writeback]\nworkloads:\n  - {{name: w, kind: small_files}}\n",
            host.display()
        ),
    );
    let out = wpbench().arg("validate").arg(&file).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let (fstype, source, mp) = mount_holding(&sb.dir.path().canonicalize().unwrap());
    for says in [
        format!("{}:7:24: `targets[0].options[1]`", file.display()),
        "`data=writeback` is a filesystem option".to_string(),
        "per-mount flags (noatime".to_string(),
        format!(
            "{} lies on {fstype} {source} (mounted at {mp}, options ",
            host.display()
        ),
        "set data=writeback on that filesystem".to_string(),
    ] {
        assert!(err.contains(&says), "expected `{says}` in:\n{err}");
    }
    assert!(!host.exists(), "validate creates nothing");
}

#[test]
fn unsafe_targets_are_refused_before_anything_is_mounted() {
    let sb = Sandbox::new();
    for (i, target) in [
        "{name: h, kind: hostpath, path: /}",
        "{name: h, kind: hostpath, path: /var/tmp/x, options: [data=writeback]}",
        "{name: e, kind: ext4, options: [errors=panic]}",
        "{name: e, kind: ext4, mkfs: [-e, panic]}",
        "{name: o, kind: overlay, upper: {kind: ext4, mkfs: [-qepanic]}}",
        "{name: e, kind: ext4, options: ['noatime,nodev']}",
        "{name: o, kind: overlay, upper: {kind: tmpfs}, options: [upperdir=/etc]}",
    ]
    .iter()
    .enumerate()
    {
        let file = sb.write(
            &format!("unsafe{i}.yaml"),
            &format!(
                "version: 1\nname: unsafe\nduration: 1s\ntargets:\n  - {target}\n\
                 workloads:\n  - {{name: w, kind: small_files}}\n"
            ),
        );
        let out = sb.run(&file, &format!("u{i}"), &[]);
        assert_eq!(out.status.code(), Some(2), "{target}: {}", text(&out));
        assert!(
            !sb.out(&format!("u{i}")).exists(),
            "{target}: nothing may be created"
        );
        assert!(!sb.scratch().exists(), "{target}: no scratch area");
    }
}

#[test]
fn validate_refuses_huge_deep_and_bomb_inputs_quickly_with_a_position() {
    let sb = Sandbox::new();
    let n = 100_000;
    let nested = sb.write(
        "nested.yaml",
        &format!(
            "version: 1\nname: x\ndescription: {}{}\n",
            "[".repeat(n),
            "]".repeat(n)
        ),
    );
    let mut bomb = String::from("version: 1\nname: x\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        bomb.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{}", i - 1); 10].join(", ")
        ));
    }
    let bomb = sb.write("bomb.yaml", &bomb);
    let gate = sb.write(
        "gate.yaml",
        &format!("version: 1\ngates: {}\n", "{a: ".repeat(n)),
    );
    let zero = std::path::PathBuf::from("/dev/zero");
    for (file, at, says) in [
        (
            &nested,
            ":3:77: `description`:",
            "nested deeper than 64 levels",
        ),
        (&bomb, ":6:45: `a3[7]`:", "more than 10000 YAML nodes"),
        (&zero, ":1:1048577:", "larger than 1 MiB"),
    ] {
        let started = std::time::Instant::now();
        let out = wpbench().arg("validate").arg(file).output().unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}: {}",
            file.display(),
            text(&out)
        );
        assert!(err.contains(&format!("{}{at}", file.display())), "{err}");
        assert!(err.contains(says), "{err}");
    }
    // A gate file given to `run` is refused the same way, before anything runs.
    let scenario = repo_root().join("scenarios/quickstart.yaml");
    let started = std::time::Instant::now();
    let out = sb.run(&scenario, "g", &["--gate", gate.to_str().unwrap()]);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:2:", gate.display())), "{err}");
    assert!(err.contains("nested deeper than 64 levels"), "{err}");
    assert!(!sb.out("g").exists());
}

#[test]
fn a_gate_file_is_validated_as_a_gate_file() {
    let shipped = repo_root().join("ci/gate.yaml");
    let out = wpbench().arg("validate").arg(&shipped).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(&format!("ok {}: gate file, 5 gates\n", shipped.display())),
        "{stdout}"
    );
    assert!(stdout.contains("when it gates one"), "{stdout}");
    let out = wpbench()
        .args(["validate", "--format", "json"])
        .arg(&shipped)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v[0]["kind"].as_str(), v[0]["gates"].as_u64()),
        (Some("gate_file"), Some(5))
    );
    // What can be checked without a run is: units, names, duplicates, ops.
    let sb = Sandbox::new();
    let bad = sb.write(
        "gate.yaml",
        "version: 1\ngates:\n  - name: wal p95\n    p95: 2ms\n  - select: {op: fsnyc}\n    p95: 2ms\n  - name: x\n    p99: 1ms\n  - name: x\n    p99: 2\n  - name: x\n    p50: 1ms\n",
    );
    let out = wpbench().arg("validate").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let d = bad.display();
    for (at, says) in [
        (":3:5: `gates[0].name`", "`wal p95` is not a valid name"),
        (":5:14: `gates[1].select.op`", "did you mean `fsync`?"),
        (":10:5: `gates[3].p99`", "has no unit"),
        (
            ":11:5: `gates[4].name`",
            "used twice (first at gates[2].name, line 7 column 5)",
        ),
    ] {
        assert!(
            err.contains(&format!("{d}{at}")) && err.contains(says),
            "{at} {says}:\n{err}"
        );
    }
    assert!(!err.contains("missing required key `name`"), "{err}");
    // A one-gate file says so in the singular.
    let one = sb.write(
        "one.yaml",
        "version: 1\ngates:\n  - select: {target: any}\n    p95: 2ms\n",
    );
    let out = wpbench().arg("validate").arg(&one).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("gate file, 1 gate\n"));
}
