//! `kind: replay` with traces captured here and now: a fresh strace of a
//! real program replays on tmpfs and ext4 with the trace's sync calls,
//! writes and bytes in every pass; a traced program with threads, renames
//! and unlinks ends each pass as the trace left it; a broken trace is a
//! usage error that names its line.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::*;

const STRACE: Need = Need::Program("strace", "strace");
const SQLITE3: Need = Need::Program("sqlite3", "sqlite3");

/// Runs `argv` under strace in `dir` (created), writing the trace to `trace`.
fn record(dir: &Path, trace: &Path, argv: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    let out = Command::new("strace")
        .args(["-f", "-ttt", "-T", "-y", "-o"])
        .arg(trace)
        .args(argv)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

/// What the trace did under `dir`, counted from its text alone (not with
/// wpbench's parser): successful calls of `name` on descriptors in `dir`,
/// and the bytes they returned.
fn traced(trace: &str, dir: &Path, names: &[&str]) -> (u64, u64) {
    // A descriptor of the directory itself (sqlite syncs it) or of a file in it.
    let (fd_of_dir, fd_in_dir) = (
        format!("<{}>", dir.display()),
        format!("<{}/", dir.display()),
    );
    let (mut calls, mut bytes) = (0, 0);
    for line in trace.lines() {
        let Some(call) = line.split_whitespace().nth(2) else {
            continue;
        };
        let Some((name, args)) = call.split_once('(') else {
            continue;
        };
        if !names.contains(&name) || !(args.contains(&fd_in_dir) || args.contains(&fd_of_dir)) {
            continue;
        }
        let Some(ret) = line.rsplit_once(" = ").map(|(_, r)| r) else {
            continue;
        };
        let ret: i64 = ret.split_whitespace().next().unwrap().parse().unwrap();
        if ret >= 0 {
            calls += 1;
            bytes += ret as u64;
        }
    }
    (calls, bytes)
}

fn count(cell: &Value, op: &str) -> u64 {
    cell["ops"][op]["count"].as_u64().unwrap_or(0)
}

fn errors(cell: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for (op, s) in cell["ops"].as_object().unwrap() {
        if !s["errors"].as_object().unwrap().is_empty() {
            out.insert(op.clone(), s["errors"].clone());
        }
    }
    Value::Object(out)
}

#[test]
#[ignore = "needs root, mkfs.ext4, strace, sqlite3: a fresh trace replayed on tmpfs and ext4"]
fn a_fresh_sqlite_trace_replays_its_sync_calls_writes_and_bytes_in_every_pass() {
    require(&[Need::Root, Need::MKFS_EXT4, STRACE, SQLITE3]);
    let _serial = serial();
    let sb = Sandbox::new();
    let app = sb.dir.path().join("app");
    let trace = sb.dir.path().join("sqlite.trace");
    let inserts: String = (0..20)
        .map(|i| format!("insert into t values({i}, randomblob(600));"))
        .collect();
    record(
        &app,
        &trace,
        &[
            "sqlite3",
            "app.db",
            &format!(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                 create table t(x, y); {inserts}"
            ),
        ],
    );
    let text_of_trace = std::fs::read_to_string(&trace).unwrap();
    let (fdatasyncs, _) = traced(&text_of_trace, &app, &["fdatasync"]);
    let (fsyncs, _) = traced(&text_of_trace, &app, &["fsync"]);
    let (writes, bytes) = traced(&text_of_trace, &app, &["write", "pwrite64"]);
    assert!(fdatasyncs + fsyncs >= 20, "one sync per insert at least");
    let scenario = sb.write(
        "replay.yaml",
        &format!(
            "version: 1\nname: replay-sqlite\nseed: 3\nwarmup: 0s\nops: 15\n\
             targets:\n  - {{name: tmpfs, kind: tmpfs, size: 64MiB}}\n  \
             - {{name: ext4, kind: ext4, size: 128MiB}}\n\
             workloads:\n  - name: sqlite\n    kind: replay\n    trace: {}\n    timing: fast\n",
            trace.display()
        ),
    );
    let out = sb.run(&scenario, "replay", &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("replay").join("result.json"));
    for cell in result["cells"].as_array().unwrap() {
        let target = &cell["target"]["name"];
        assert_eq!(errors(cell), serde_json::json!({}), "{target}");
        let passes = count(cell, "replay");
        assert_eq!(passes, 15, "{target}");
        assert_eq!(count(cell, "fdatasync"), passes * fdatasyncs, "{target}");
        assert_eq!(count(cell, "fsync"), passes * fsyncs, "{target}");
        assert_eq!(count(cell, "write"), passes * writes, "{target}");
        assert_eq!(
            cell["bytes_written"].as_u64(),
            Some(passes * bytes),
            "{target}"
        );
        let notes: Vec<&str> = cell["notes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            !notes.iter().any(|n| n.contains("ended differently")),
            "{target}: {notes:?}"
        );
        assert!(
            notes.iter().any(|n| n.contains("not replayed")),
            "{notes:?}"
        );
    }
    assert_nothing_left(&sb);
}

const THREADS_PY: &str = r#"
import os, threading
def work(i):
    with open(f"f{i}.tmp", "wb") as f:
        for _ in range(8):
            f.write(os.urandom(3000))
        f.flush()
        os.fsync(f.fileno())
    os.rename(f"f{i}.tmp", f"f{i}")
os.mkdir("d")
ts = [threading.Thread(target=work, args=(i,)) for i in range(3)]
for t in ts: t.start()
for t in ts: t.join()
os.rename("f0", "d/g")
os.unlink("f1")
with open("f2", "ab") as f:
    f.write(b"tail")
"#;

#[test]
#[ignore = "needs root, strace, python3: a fresh trace with threads replayed on tmpfs"]
fn threads_renames_and_unlinks_replay_to_the_traces_end_state() {
    require(&[Need::Root, STRACE, Need::Program("python3", "python3")]);
    let _serial = serial();
    let sb = Sandbox::new();
    let app = sb.dir.path().join("app");
    let trace = sb.dir.path().join("threads.trace");
    let script = sb.write("threads.py", THREADS_PY);
    record(
        &app,
        &trace,
        &["python3", "-S", "-I", script.to_str().unwrap()],
    );
    let scenario = sb.write(
        "replay.yaml",
        &format!(
            "version: 1\nname: replay-threads\nseed: 3\nwarmup: 0s\nops: 25\n\
             targets:\n  - {{name: tmpfs, kind: tmpfs, size: 64MiB}}\n\
             workloads:\n  - name: threads\n    kind: replay\n    trace: {}\n    \
             timing: original\n    speed: 4\n    threads: 2\n",
            trace.display()
        ),
    );
    let out = sb.run(&scenario, "threads", &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("threads").join("result.json"));
    let cell = &result["cells"][0];
    assert_eq!(errors(cell), serde_json::json!({}));
    // 25 passes over 2 wpbench threads, each pass with the trace's 3 fsyncs,
    // 4 renames and 1 unlink; the end state checked after every pass.
    let passes = count(cell, "replay");
    assert!(passes >= 25, "{passes}");
    assert_eq!(count(cell, "fsync"), 3 * passes);
    assert_eq!(count(cell, "rename"), 4 * passes);
    assert_eq!(count(cell, "unlink"), passes);
    assert_eq!(count(cell, "mkdir"), passes);
    let notes = cell["notes"].to_string();
    assert!(!notes.contains("ended differently"), "{notes}");
    assert_nothing_left(&sb);
}

#[test]
fn a_broken_trace_is_a_usage_error_naming_its_line() {
    let sb = Sandbox::new();
    let good =
        "7 1000.000001 openat(AT_FDCWD</w>, \"a\", O_WRONLY|O_CREAT, 0644) = 3</w/a> <0.000010>\n";
    let cases = [
        (
            "truncated",
            format!("{good}7 1000.000002 write(3</w/a>, \"x\", 1"),
            ":2:",
        ),
        (
            "unknown-fd",
            "7 1000.000001 fsync(9) = 0 <0.000010>\n".to_string(),
            ":1:",
        ),
        ("garbage", format!("{good}{good}%%% not strace\n"), ":3:"),
    ];
    for (name, trace, line) in cases {
        let path = sb.write(&format!("{name}.trace"), &trace);
        let scenario = sb.write(
            &format!("{name}.yaml"),
            &format!(
                "version: 1\nname: broken\ntargets:\n  - {{name: t, kind: tmpfs}}\n\
                 workloads:\n  - {{name: r, kind: replay, trace: {}, root: /w}}\n",
                path.display()
            ),
        );
        let out = wpbench().arg("validate").arg(&scenario).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        let named = format!("{}{line}", path.display());
        assert!(err.contains(&named), "{name}: wants {named}: {err}");
    }
}
