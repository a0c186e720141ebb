//! Real runs on tmpfs and hostPath: results parse, counts match what is on
//! disk and what the clock implies, the seed fixes the operation sequence.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::support::*;

fn scenario(sb: &Sandbox, name: &str, body: &str) -> std::path::PathBuf {
    sb.write(
        &format!("{name}.yaml"),
        &format!("version: 1\nname: {name}\nseed: 7\n{body}")
            .replace("HOSTPATH", &sb.hostpath().display().to_string()),
    )
}

fn op<'a>(cell: &'a Value, name: &str) -> &'a Value {
    cell["ops"]
        .get(name)
        .unwrap_or_else(|| panic!("op {name} missing in {}", cell["ops"]))
}

fn count(cell: &Value, name: &str) -> u64 {
    op(cell, name)["count"].as_u64().unwrap()
}

const THREE_WORKLOADS: &str = "\
targets:
  - {name: tmpfs, kind: tmpfs, size: 4GiB, options: [noatime, nodev]}
  - {name: host, kind: hostpath, path: HOSTPATH, options: [noatime]}
workloads:
  - name: small
    kind: small_files
    threads: 2
    file_size: 4KiB
    files_per_dir: 100
    fsync: always
  - name: wal
    kind: fsync_heavy
    record_size: 512B..8KiB
    file_size: 8MiB
  - name: logs
    kind: log_append
    threads: 2
    line_size: 120B..400B
    file_size: 20KiB..40KiB
    rate: 500/s
    fsync: on_close
";

#[test]
#[ignore = "needs root: mounts tmpfs cells"]
fn tmpfs_and_hostpath_cells_produce_consistent_results() {
    require(&[Need::Root]);
    let _serial = serial();
    let sb = Sandbox::new();
    let file = scenario(
        &sb,
        "consistent",
        &format!("duration: 2s\nwarmup: 500ms\n{THREE_WORKLOADS}"),
    );
    let out = sb.run(&file, "r", &["--keep"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("r").join("result.json"));
    assert_eq!(result["schema"], "wpbench/result/v1");
    assert_eq!(result["status"], "completed");
    assert!(
        !sb.out("r").join(".wpbench-reserve").exists(),
        "the room kept for the last result is freed at the end"
    );
    assert_eq!(result["scenario"]["seed"], 7);
    assert_eq!(result["cells"].as_array().unwrap().len(), 6);
    assert!(result["env"]["kernel"].as_str().unwrap().len() > 2);
    assert!(result["env"]["cores"].as_u64().unwrap() >= 1);
    assert!(result["env"]["memory_bytes"].as_u64().unwrap() > 0);

    // Effective options, read back from mountinfo.
    let t = &cell_on(&result, "tmpfs", "small")["target"]["mount"];
    assert_eq!(t["fstype"], "tmpfs");
    let opts = t["options"].as_str().unwrap();
    assert!(
        opts.contains("noatime") && opts.contains("nodev") && opts.contains("size=4194304k"),
        "{opts}"
    );
    let h = &cell_on(&result, "host", "small")["target"]["mount"];
    assert!(h["options"].as_str().unwrap().contains("noatime"), "{h}");
    assert_ne!(h["fstype"], "tmpfs");

    for c in result["cells"].as_array().unwrap() {
        // Nothing went wrong; on a shared machine a cell may be noisy, and
        // says so.
        let problems: Vec<&serde_json::Value> = c["notes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| !n.as_str().unwrap().starts_with("noisy: "))
            .collect();
        assert!(problems.is_empty(), "{}: {problems:?}", c["target"]);
        let d = c["duration_s"].as_f64().unwrap();
        assert!((1.9..4.0).contains(&d), "duration {d}");
        for (name, stats) in c["ops"].as_object().unwrap() {
            let n = stats["count"].as_u64().unwrap();
            if n == 0 {
                continue;
            }
            let p = |k: &str| stats[k].as_u64().unwrap();
            assert!(
                p("min_ns") <= p("p50_ns") && p("p50_ns") <= p("p95_ns"),
                "{name}: {stats}"
            );
            assert!(
                p("p95_ns") <= p("p99_ns") && p("p99_ns") <= p("max_ns"),
                "{name}: {stats}"
            );
            let rate = stats["ops_per_sec"].as_f64().unwrap();
            assert!(
                (rate * d - n as f64).abs() < 1.0,
                "{name}: {rate} × {d} ≠ {n}"
            );
        }
        assert!(c["workload"]["params"]["sync_call"].is_string());
    }

    // small_files: one file op = one create, one write, one fsync, one close.
    for target in ["tmpfs", "host"] {
        let c = cell_on(&result, target, "small");
        let files = count(c, "file");
        assert!(files > 100, "{target}: {files} files");
        // A unit straddling the end of warm-up counts in the measured
        // phase while its first syscalls ended in warm-up: at most one per thread.
        for sys in ["create", "write", "fsync", "close"] {
            assert!(
                files - count(c, sys) <= 2,
                "{target}: {sys} {} vs {files} files",
                count(c, sys)
            );
        }
        let bytes = c["bytes_written"].as_u64().unwrap();
        assert!(
            bytes.abs_diff(files * 4096) <= 2 * 4096,
            "{target}: {bytes} bytes for {files} files"
        );
        // WAL: one record = one write and one fdatasync (defaults).
        let w = cell_on(&result, target, "wal");
        assert!(count(w, "record") - count(w, "write") <= 1, "{target}");
        assert!(count(w, "record") - count(w, "fdatasync") <= 1, "{target}");
        // Open loop at 500/s × 2 threads × 2 s: the schedule is kept.
        let l = cell_on(&result, target, "logs");
        let lines = count(l, "line") as f64;
        assert!(
            (lines - 2000.0).abs() <= 40.0,
            "{target}: {lines} lines at 1000/s for 2 s"
        );
        assert_eq!(count(l, "line.service"), count(l, "line"));
        assert!(count(l, "task") > 10, "{target}: tasks");
        // on_close: one fsync per task that ended (the task cut short by
        // the end of the cell is closed unsynced); a task whose sync fell in
        // warm-up and whose close did not: at most one per thread.
        let (fsyncs, tasks) = (count(l, "fsync"), count(l, "task"));
        assert!(
            fsyncs <= tasks && fsyncs + 2 >= tasks,
            "{target}: {fsyncs} fsyncs, {tasks} tasks"
        );
    }

    // On disk (hostPath, kept): files = measured + warm-up file ops.
    let c = cell_on(&result, "host", "small");
    let kept = entries_with_prefix(&sb.hostpath(), "wpbench-");
    assert_eq!(kept.len(), 3, "{kept:?}");
    let small_dir = kept
        .iter()
        .find(|p| p.to_string_lossy().ends_with(&format!("-c{}", c["index"])))
        .unwrap();
    let mut on_disk = 0u64;
    for t in std::fs::read_dir(small_dir).unwrap().flatten() {
        for d in std::fs::read_dir(t.path()).unwrap().flatten() {
            let n = std::fs::read_dir(d.path()).unwrap().count() as u64;
            assert!(n <= 100, "files_per_dir exceeded: {n}");
            on_disk += n;
        }
    }
    assert_eq!(
        on_disk,
        count(c, "file") + c["warmup_unit_ops"].as_u64().unwrap()
    );

    // The WAL keeps its preallocated size, and the bytes its records wrote
    // are there: nothing verifies this cell, so they are plain seeded bytes
    // (docs/scenarios.md, "What is written"; their self-describing form,
    // with sequence numbers and CRCs, is checked where a crash is armed),
    // and no 4 KiB page of what was written is zeros.
    let w = cell_on(&result, "host", "wal");
    let wal_dir = kept
        .iter()
        .find(|p| p.to_string_lossy().ends_with(&format!("-c{}", w["index"])))
        .unwrap();
    let wal = std::fs::read(wal_dir.join("wal-t00.log")).unwrap();
    assert_eq!(wal.len(), 8 << 20, "preallocated size kept");
    let written = (w["bytes_written"].as_u64().unwrap() as usize).min(wal.len());
    assert!(written > 64 << 10, "{written} bytes written");
    for (i, page) in wal[..written / 4096 * 4096].chunks(4096).enumerate() {
        assert!(page.iter().any(|b| *b != 0), "page {i} of the WAL is zeros");
    }

    // summary.md and the hlog files exist.
    let summary = std::fs::read_to_string(sb.out("r").join("summary.md")).unwrap();
    assert!(
        summary.contains("| tmpfs") && summary.contains("fsync"),
        "{summary}"
    );
    for c in result["cells"].as_array().unwrap() {
        assert!(sb.out("r").join(c["hlog"].as_str().unwrap()).exists());
    }
    // Terminal table printed per cell.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("p95") && stdout.contains("host / wal"),
        "{stdout}"
    );
}

/// (relative path, size, crc32) of every file under `dir`.
fn tree(dir: &Path) -> BTreeMap<String, (u64, u32)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, (bytes.len() as u64, crc32fast::hash(&bytes)));
            }
        }
    }
    out
}

#[test]
fn the_seed_fixes_names_sizes_and_bytes() {
    let _serial = serial();
    let sb = Sandbox::new();
    // hostPath without options works unprivileged, so this test needs no root.
    let file = scenario(
        &sb,
        "seeded",
        concat!(
            "ops: 300\nwarmup: 0s\n",
            "targets:\n",
            "  - {name: host, kind: hostpath, path: HOSTPATH}\n",
            "workloads:\n",
            "  - {name: small, kind: small_files, file_size: 100B..9KiB, files_per_dir: 50}\n",
            "  - {name: logs, kind: log_append, line_size: 40B..200B, file_size: 1KiB..4KiB, retain: 1000}\n",
            "  - {name: many, kind: log_append, line_size: 40B..200B, file_size: 1KiB..4KiB, retain: 1000, open_tasks: 8}\n",
        ),
    );
    let snapshot = |out: &str, seed: &str| {
        let o = sb.run(&file, out, &["--keep", "--seed", seed, "--quiet"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let mut trees = Vec::new();
        let mut dirs = entries_with_prefix(&sb.hostpath(), "wpbench-");
        dirs.sort_by_key(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .rsplit('-')
                .next()
                .unwrap()
                .to_string()
        });
        for d in &dirs {
            trees.push(tree(d));
            std::fs::remove_dir_all(d).unwrap();
        }
        trees
    };
    let a = snapshot("a", "7");
    let b = snapshot("b", "7");
    let c = snapshot("c", "8");
    assert_eq!(a.len(), 3);
    assert_eq!(a[0].len(), 300, "300 small files");
    assert!(a[2].len() > 8, "tasks ended and began with 8 open logs");
    assert_eq!(a, b, "same seed, same files");
    assert_ne!(a[0], c[0], "another seed, other sizes and bytes");
    assert_ne!(a[2], c[2], "another seed, other logs");
    let sizes: std::collections::BTreeSet<u64> = a[0].values().map(|(s, _)| *s).collect();
    assert!(sizes.len() > 100, "sizes are drawn from the range");
}

#[test]
fn a_crash_and_an_eio_on_one_cell_exit_2_before_touching_anything() {
    let _serial = serial();
    let sb = Sandbox::new();
    let file = scenario(
        &sb,
        "both",
        concat!(
            "duration: 5s\n",
            "targets:\n  - {name: e, kind: ext4, size: 64MiB}\n",
            "workloads:\n  - {name: w, kind: fsync_heavy, file_size: 1MiB}\n",
            "faults:\n  - {kind: eio, target: e, workload: w, after: 1MiB}\n",
            "  - {kind: crash, at: 1s..2s}\n",
        ),
    );
    let out = sb.run(&file, "x", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("a crash and an eio fault both select it"),
        "{}",
        text(&out)
    );
    assert!(
        !sb.out("x").exists(),
        "nothing written before the environment check"
    );
}

#[test]
#[ignore = "needs root: a tmpfs target"]
fn a_target_too_small_for_the_setup_is_a_usage_error() {
    require(&[Need::Root]);
    let _serial = serial();
    let sb = Sandbox::new();
    let file = scenario(
        &sb,
        "small",
        concat!(
            "duration: 1s\n",
            "targets:\n  - {name: t, kind: tmpfs, size: 16MiB}\n",
            "workloads:\n  - {name: w, kind: fsync_heavy, file_size: 64MiB}\n",
        ),
    );
    let out = sb.run(&file, "small", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("too small"),
        "{}",
        text(&out)
    );
    assert_nothing_left(&sb);
}

#[test]
fn refusals_exit_2_before_anything_is_created() {
    let sb = Sandbox::new();
    // A harmless-looking hostPath that leads into /etc through a symlink.
    let link = sb.dir.path().join("sneaky");
    std::os::unix::fs::symlink("/etc", &link).unwrap();
    let file = sb.write(
        "sneaky.yaml",
        &format!(
            "version: 1\nname: sneaky\nduration: 1s\n\
             targets:\n  - {{name: h, kind: hostpath, path: {}}}\n\
             workloads:\n  - {{name: w, kind: small_files}}\n",
            link.join("wpbench").display()
        ),
    );
    let out = sb.run(&file, "sneaky", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("resolves to /etc"),
        "{}",
        text(&out)
    );
    assert!(!sb.out("sneaky").exists());
    assert!(!Path::new("/etc/wpbench").exists());

    // An --out that already holds a run is not overwritten.
    let taken = sb.out("taken");
    std::fs::create_dir_all(&taken).unwrap();
    std::fs::write(taken.join("result.json"), b"{}").unwrap();
    let file = sb.write(
        "plain.yaml",
        &format!(
            "version: 1\nname: plain\nduration: 100ms\nwarmup: 0s\n\
             targets:\n  - {{name: h, kind: hostpath, path: {}}}\n\
             workloads:\n  - {{name: w, kind: small_files}}\n",
            sb.hostpath().display()
        ),
    );
    let out = sb.run(&file, "taken", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already holds a run"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read(taken.join("result.json")).unwrap(), b"{}");

    // An --out that is a regular file: a usage error with advice, before
    // anything is created (it used to be exit 4, "Not a directory").
    let afile = sb.out("afile");
    std::fs::write(&afile, b"mine").unwrap();
    for out in ["afile", "afile/run"] {
        let out = sb.run(&file, out, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(err.contains("is a file"), "{err}");
        assert!(err.contains("--out names a directory"), "{err}");
        assert!(!sb.scratch().exists(), "no scratch area: {err}");
    }
    assert_eq!(std::fs::read(&afile).unwrap(), b"mine");
}

#[test]
fn an_open_loop_that_cannot_keep_its_rate_says_so() {
    let _serial = serial();
    let sb = Sandbox::new();
    let file = scenario(
        &sb,
        "shortfall",
        concat!(
            "duration: 1s\nwarmup: 0s\n",
            "targets:\n  - {name: host, kind: hostpath, path: HOSTPATH}\n",
            "workloads:\n",
            "  - {name: easy, kind: log_append, rate: 500/s}\n",
            "  - {name: hard, kind: log_append, rate: 1000000/s, fsync: always}\n",
        ),
    );
    let out = sb.run(&file, "r", &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("r").join("result.json"));
    let easy = cell_on(&result, "host", "easy");
    // 500/s is sustainable: no note but, on a shared machine, noise.
    assert!(
        easy["notes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n.as_str().unwrap().starts_with("noisy: ")),
        "{}",
        easy["notes"]
    );
    let lines = count(easy, "line") as f64;
    assert!(
        (lines - 500.0).abs() <= 10.0,
        "{lines} lines at 500/s for 1 s"
    );
    let hard = cell_on(&result, "host", "hard");
    let notes = hard["notes"].to_string();
    assert!(
        notes.contains("achieved") && notes.contains("1000000/s"),
        "{notes}"
    );
}

#[test]
fn a_bad_link_base_is_a_usage_error_before_anything_runs() {
    let sb = Sandbox::new();
    let file = scenario(
        &sb,
        "linked",
        "duration: 100ms\nwarmup: 0s\n\
         targets:\n  - {name: h, kind: hostpath, path: HOSTPATH}\n\
         workloads:\n  - {name: w, kind: small_files}\n",
    );
    // The flag, on every command that renders summary.md.
    for (bad, why) in [
        (
            "ftp://ci.example.test/run",
            "is not an http:// or https:// URL",
        ),
        ("ci.example.test/run", "is not an http:// or https:// URL"),
        ("https://ci.example.test/a run", "holds whitespace"),
    ] {
        let out = sb.run(&file, "flag", &["--link-base", bad]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(
            err.contains("--link-base") && err.contains(&format!("`{bad}` {why}")),
            "{}",
            text(&out)
        );
        assert!(!sb.out("flag").exists(), "nothing is written");
    }
    for args in [
        vec!["report", "some-run"],
        vec!["merge", "a", "b", "--out", "merged"],
        vec!["gate", "some-run"],
    ] {
        let out = wpbench()
            .args(&args)
            .args(["--link-base", "file:///srv/runs"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("is not an http:// or https:// URL"),
            "{args:?}: {}",
            text(&out)
        );
    }
    // $WPBENCH_LINK_BASE is checked the same way, and named.
    let out = sb
        .run_command(&file, "env", &[])
        .env("WPBENCH_LINK_BASE", "/srv/runs")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("$WPBENCH_LINK_BASE: `/srv/runs` is not an http:// or https:// URL"),
        "{}",
        text(&out)
    );
    assert!(!sb.out("env").exists(), "nothing is written");
    // The flag wins over the variable: only the missing run is wrong.
    let out = wpbench()
        .args([
            "report",
            "/nonexistent-run",
            "--link-base",
            "https://ci.example.test/r",
        ])
        .env("WPBENCH_LINK_BASE", "/srv/runs")
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("WPBENCH_LINK_BASE"),
        "{}",
        text(&out)
    );
}
