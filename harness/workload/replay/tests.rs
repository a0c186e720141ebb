use std::collections::BTreeMap;
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::Instant;

use super::*;
use crate::scenario::trace::{self, CallOp, Trace};
use crate::scenario::{WorkloadKind, WorkloadParams};
use crate::workload::testing::counts;
use crate::workload::Verification;

const SQLITE: &str = include_str!("../../scenario/trace/testdata/sqlite_wal.trace");
const THREADS: &str = include_str!("../../scenario/trace/testdata/py_threads.trace");

fn spec(trace: Trace, timing: Timing, speed: f64) -> WorkloadSpec {
    let params = scenario::Replay {
        trace_file: "t.trace".into(),
        trace: Arc::new(trace),
        timing,
        speed,
    };
    crate::workload::testing::spec(WorkloadKind::Replay, params.into())
}

fn workload(s: &WorkloadSpec) -> Replay {
    match &s.params {
        WorkloadParams::Replay(p) => Replay::new(s.clone(), p),
        other => panic!("not a replay: {other:?}"),
    }
}

/// How many calls of each op one pass of `t` records.
fn per_pass(t: &Trace) -> BTreeMap<Op, u64> {
    let mut out = BTreeMap::new();
    for c in t.calls() {
        if matches!(c.op, CallOp::Close { last: false, .. }) {
            continue;
        }
        if let Some(op) = call_op(&c.op) {
            *out.entry(op).or_insert(0) += 1;
        }
    }
    out
}

/// Replays `passes` passes of `t` in a fresh directory: the ops recorded
/// (successes, errors) and the worker's notes.
fn replay(t: Trace, passes: u64) -> (BTreeMap<Op, u64>, BTreeMap<Op, u64>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let w = workload(&spec(t, Timing::Fast, 1.0));
    let mut worker = w
        .worker(dir.path(), 0, 7, Verification::Off, &Cancel::new())
        .unwrap();
    let (tx, rx) = channel();
    let mut rec = Recorder::new(0, Instant::now(), tx);
    for _ in 0..passes {
        assert_eq!(worker.step(&mut rec), Step::Done);
        worker.between_units();
    }
    worker.finish(&mut rec);
    let notes = worker.notes();
    rec.finish();
    let (mut ok, err) = counts(&rx);
    ok.remove(&Op::Replay);
    (ok, err, notes)
}

#[test]
fn every_call_of_a_sqlite_trace_is_made_once_per_pass() {
    let t = trace::parse(SQLITE, None).unwrap();
    let expected = per_pass(&t);
    assert!(expected[&Op::Fdatasync] >= 4, "{expected:?}");
    assert!(expected[&Op::Write] >= 4, "{expected:?}");
    let (ok, err, notes) = replay(t, 3);
    assert!(err.is_empty(), "errors: {err:?}");
    let tripled: BTreeMap<Op, u64> = expected.iter().map(|(op, n)| (*op, 3 * n)).collect();
    assert_eq!(ok, tripled);
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn threads_renames_and_unlinks_end_as_the_trace_left_them() {
    let t = trace::parse(THREADS, None).unwrap();
    assert!(t.threads.len() >= 3, "three traced threads");
    let expected = per_pass(&t);
    assert!(expected.contains_key(&Op::Rename) && expected.contains_key(&Op::Unlink));
    // The directory is compared with the trace's end state after each pass:
    // a difference would be a note.
    let (ok, err, notes) = replay(t, 5);
    assert!(err.is_empty(), "errors: {err:?}");
    let times5: BTreeMap<Op, u64> = expected.iter().map(|(op, n)| (*op, 5 * n)).collect();
    assert_eq!(ok, times5);
    assert!(notes.is_empty(), "{notes:?}");
}

/// A line of a trace as strace -f -ttt -T -y writes it, in `/w`.
fn line(ts: &str, call: &str) -> String {
    format!("100  {ts} {call} <0.000010>\n")
}

#[test]
fn a_symlink_out_of_the_directory_is_never_followed() {
    let victim = tempfile::tempdir().unwrap();
    let outside = victim.path().join("target");
    std::fs::create_dir(&outside).unwrap();
    let text = [
        line(
            "1000.000001",
            &format!("symlink(\"{}\", \"x\") = 0", outside.display()),
        ),
        line(
            "1000.000002",
            "openat(AT_FDCWD</w>, \"x/owned\", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3</w/x/owned>",
        ),
        line("1000.000003", "write(3</w/x/owned>, \"pwned\", 5) = 5"),
        line("1000.000004", "close(3</w/x/owned>) = 0"),
    ]
    .concat();
    let t = trace::parse(&text, Some("/w")).unwrap();
    let (ok, err, _) = replay(t, 2);
    assert_eq!(ok.get(&Op::Symlink), Some(&2));
    // openat2(RESOLVE_BENEATH) refuses the way out; the write and the close
    // then find no descriptor.
    assert_eq!(err.get(&Op::Create), Some(&2), "{err:?}");
    assert!(!outside.join("owned").exists());
}

#[test]
fn stat_chmod_and_utimens_through_a_symlink_out_stay_beneath() {
    let victim = tempfile::tempdir().unwrap();
    let outside = victim.path().join("f");
    std::fs::write(&outside, "x").unwrap();
    std::fs::set_permissions(
        &outside,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let text = [
        line(
            "1000.000001",
            &format!("symlink(\"{}\", \"x\") = 0", outside.display()),
        ),
        line(
            "1000.000002",
            "stat(\"x\", {st_mode=S_IFREG|0644, st_size=1, ...}) = 0",
        ),
        line("1000.000003", "chmod(\"x\", 0600) = 0"),
        line("1000.000004", "utimensat(AT_FDCWD</w>, \"x\", NULL, 0) = 0"),
        line(
            "1000.000005",
            "lstat(\"x\", {st_mode=S_IFLNK|0777, st_size=9, ...}) = 0",
        ),
    ]
    .concat();
    let t = trace::parse(&text, Some("/w")).unwrap();
    let (ok, err, _) = replay(t, 1);
    // Each of the three that follows the link is refused (EXDEV); the lstat
    // of the link itself is made.
    assert_eq!(err.get(&Op::Stat), Some(&1), "{err:?}");
    assert_eq!(err.get(&Op::Chmod), Some(&1), "{err:?}");
    assert_eq!(err.get(&Op::Utimes), Some(&1), "{err:?}");
    assert_eq!(ok.get(&Op::Stat), Some(&1), "{ok:?}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&outside).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o644, "the outside file's mode is untouched");
}

#[test]
fn a_symlink_the_trace_only_lstated_is_remade_and_replays() {
    let text = [
        line(
            "1000.000001",
            "lstat(\"cur\", {st_mode=S_IFLNK|0777, st_size=5, ...}) = 0",
        ),
        line("1000.000002", "unlink(\"cur\") = 0"),
    ]
    .concat();
    let t = trace::parse(&text, Some("/w")).unwrap();
    let (ok, err, _) = replay(t, 3);
    assert!(err.is_empty(), "{err:?}");
    assert_eq!(ok.get(&Op::Unlink), Some(&3));
}

#[test]
fn original_timing_keeps_the_traces_gaps_scaled_by_speed() {
    let text = [
        line(
            "1000.000000",
            "openat(AT_FDCWD</w>, \"a\", O_WRONLY|O_CREAT, 0644) = 3</w/a>",
        ),
        line("1000.080000", "write(3</w/a>, \"x\", 1) = 1"),
        line("1000.080100", "close(3</w/a>) = 0"),
    ]
    .concat();
    let t = trace::parse(&text, Some("/w")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let w = workload(&spec(t, Timing::Original, 2.0));
    let mut worker = w
        .worker(dir.path(), 0, 7, Verification::Off, &Cancel::new())
        .unwrap();
    let (tx, _rx) = channel();
    let mut rec = Recorder::new(0, Instant::now(), tx);
    let start = Instant::now();
    assert_eq!(worker.step(&mut rec), Step::Done);
    // 80 ms in the trace at speed 2: the write starts 40 ms into the pass.
    assert!(start.elapsed() >= Duration::from_millis(40));
}

#[test]
fn a_cancelled_pass_stops_between_calls() {
    let text = [
        line(
            "1000.000000",
            "openat(AT_FDCWD</w>, \"a\", O_WRONLY|O_CREAT, 0644) = 3</w/a>",
        ),
        line("1060.000000", "close(3</w/a>) = 0"),
    ]
    .concat();
    let t = trace::parse(&text, Some("/w")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let w = workload(&spec(t, Timing::Original, 1.0));
    let cancel = Cancel::new();
    let mut worker = w
        .worker(dir.path(), 0, 7, Verification::Off, &cancel)
        .unwrap();
    let (tx, _rx) = channel();
    let mut rec = Recorder::new(0, Instant::now(), tx);
    let signal = cancel.clone();
    let setter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        signal.set();
    });
    // The trace waits a minute before its close; a signal ends the wait.
    let start = Instant::now();
    assert_eq!(worker.step(&mut rec), Step::Failed(libc::EINTR));
    assert!(start.elapsed() < Duration::from_secs(30));
    setter.join().unwrap();
}

#[test]
fn the_shipped_traces_replay_without_errors_to_their_end_state() {
    for name in ["sqlite-wal", "git-commit"] {
        let path = format!(
            "{}/scenarios/traces/{name}.trace",
            env!("CARGO_MANIFEST_DIR")
        );
        let t = trace::parse(&std::fs::read_to_string(path).unwrap(), None).unwrap();
        let expected = per_pass(&t);
        let (ok, err, notes) = replay(t, 2);
        assert!(err.is_empty(), "{name}: errors {err:?}");
        let twice: BTreeMap<Op, u64> = expected.iter().map(|(op, n)| (*op, 2 * n)).collect();
        assert_eq!(ok, twice, "{name}");
        assert!(notes.is_empty(), "{name}: {notes:?}");
    }
}
