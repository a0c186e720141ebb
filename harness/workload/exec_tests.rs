//! The exec worker on real commands (`sh`, `true`, `sleep`) in a temp dir.

use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use super::*;
use crate::scenario::WorkloadKind;
use crate::workload::Verification;

fn argv(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

fn exec(command: &[&str], setup: Option<&[&str]>, timeout: Duration) -> Exec {
    let params = scenario::Exec {
        command: argv(command),
        setup: setup.map(argv),
        timeout,
        setup_timeout: Duration::from_secs(10),
    };
    let spec = crate::workload::testing::spec(WorkloadKind::Exec, params.clone().into());
    Exec::new(spec, &params)
}

fn sh(script: &str) -> Exec {
    exec(&["sh", "-c", script], None, Duration::from_secs(10))
}

/// The background process whose pid the command wrote to `bg.pid` is
/// gone, or a zombie waiting for init: killed either way.
#[track_caller]
fn assert_background_killed(dir: &std::path::Path) {
    let bg: i32 = std::fs::read_to_string(dir.join("bg.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let state = std::fs::read_to_string(format!("/proc/{bg}/stat")).unwrap_or_default();
    assert!(
        state.is_empty() || state.contains(") Z "),
        "the background sleep still runs: {state}"
    );
}

fn rec() -> Recorder {
    Recorder::new(0, Instant::now(), channel().0)
}

#[test]
fn a_real_command_is_one_unit_op_per_invocation() {
    let dir = tempfile::tempdir().unwrap();
    let w = exec(&["true"], None, Duration::from_secs(10));
    let mut worker = w
        .worker(dir.path(), 0, 1, Verification::Off, &Cancel::new())
        .unwrap();
    let mut rec = rec();
    for _ in 0..20 {
        let t0 = Instant::now();
        assert_eq!(worker.step(&mut rec), Step::Done);
        // A fork and an exec at the least.
        assert!(t0.elapsed() > Duration::from_micros(50));
    }
    assert!(worker.notes().is_empty());
    assert!(w.artifacts().is_empty());
    assert!(worker.failures_are_results());
}

#[test]
fn a_failing_command_counts_its_exit_status_and_keeps_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let w = sh("echo out; echo first >&2; echo last line >&2; exit 3");
    let mut worker = w
        .worker(dir.path(), 0, 1, Verification::Off, &Cancel::new())
        .unwrap();
    let mut rec = rec();
    for _ in 0..5 {
        assert_eq!(worker.step(&mut rec), Step::Failed(exit_code(3)));
    }
    let notes = worker.notes();
    assert_eq!(
        notes,
        ["exec: exit_3 ×5; first failure's stderr: last line"],
        "{notes:?}"
    );
    let files = w.artifacts();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].0, FAILURES_FILE);
    let text = String::from_utf8(files[0].1.clone()).unwrap();
    assert!(
        text.contains("failure 3: thread 0, invocation 3, exit_3"),
        "{text}"
    );
    assert!(
        !text.contains("failure 4"),
        "only the first 3 are kept: {text}"
    );
    assert!(text.contains("--- stdout: 4 bytes ---\nout\n"), "{text}");
    assert!(text.contains("first\nlast line\n"), "{text}");
}

#[test]
fn a_signal_counts_under_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut worker = sh("kill -TERM $$")
        .worker(dir.path(), 0, 1, Verification::Off, &Cancel::new())
        .unwrap();
    assert_eq!(
        worker.step(&mut rec()),
        Step::Failed(signal_code(libc::SIGTERM))
    );
    assert_eq!(errno_name(signal_code(libc::SIGTERM)), "SIGTERM");
}

#[test]
fn kept_output_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    // 200 kB on each stream: more than a pipe holds, so it must be drained.
    let w = sh(
        "head -c 200000 /dev/zero | tr '\\0' o; head -c 200000 /dev/zero | tr '\\0' e >&2; exit 1",
    );
    let mut worker = w
        .worker(dir.path(), 0, 1, Verification::Off, &Cancel::new())
        .unwrap();
    for _ in 0..5 {
        assert_eq!(worker.step(&mut rec()), Step::Failed(exit_code(1)));
    }
    let bytes = &w.artifacts()[0].1;
    assert!(
        bytes.len() <= KEPT_FAILURES * 2 * TAIL_BYTES + 4096,
        "{}",
        bytes.len()
    );
    assert!(bytes.len() >= KEPT_FAILURES * 2 * TAIL_BYTES);
    let text = String::from_utf8_lossy(bytes);
    assert!(
        text.contains("200000 bytes, the last 65536 kept"),
        "{}",
        &text[..300]
    );
}

#[test]
fn a_command_past_its_timeout_is_killed_with_its_group() {
    let dir = tempfile::tempdir().unwrap();
    // A background sleep in the command's group, holding its pipes open.
    let w = exec(
        &["sh", "-c", "sleep 30 & echo $! > bg.pid; sleep 5"],
        None,
        Duration::from_millis(100),
    );
    let mut worker = w
        .worker(dir.path(), 0, 1, Verification::Off, &Cancel::new())
        .unwrap();
    let t0 = Instant::now();
    assert_eq!(worker.step(&mut rec()), Step::Failed(TIMEOUT_CODE));
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
    assert_eq!(errno_name(TIMEOUT_CODE), "timeout");
    assert_background_killed(dir.path());
    assert!(worker.notes()[0].starts_with("exec: timeout ×1"));
}

#[test]
fn what_a_command_leaves_running_in_its_group_ends_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let w = sh("sleep 30 >/dev/null 2>&1 & echo $! > bg.pid");
    let mut worker = w
        .worker(dir.path(), 0, 1, Verification::Off, &Cancel::new())
        .unwrap();
    assert_eq!(worker.step(&mut rec()), Step::Done);
    assert_background_killed(dir.path());
}

#[test]
fn cancel_stops_a_running_command_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = Cancel::new();
    let w = exec(&["sleep", "10"], None, Duration::from_secs(60));
    let mut worker = w
        .worker(dir.path(), 0, 1, Verification::Off, &cancel)
        .unwrap();
    let setter = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            cancel.set();
            Instant::now()
        })
    };
    let step = worker.step(&mut rec());
    let returned = Instant::now();
    let set_at = setter.join().unwrap();
    assert_eq!(step, Step::Exhausted);
    // The wait polls cancel every 20 ms; a second's bound keeps a loaded CI
    // machine from failing what a ten-second sleep would show plainly.
    let late = returned.saturating_duration_since(set_at);
    assert!(late < Duration::from_secs(1), "{late:?}");
    // Not a failure of the command: nothing counted, nothing kept.
    assert!(worker.notes().is_empty());
    assert!(w.artifacts().is_empty());
}

#[test]
fn the_command_runs_in_the_cells_directory_with_its_environment() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = sh(
        "pwd > out; echo \"$WPBENCH_THREAD $WPBENCH_CELL $WPBENCH_TARGET_DIR\" >> out; \
         test -t 0 || read x || echo stdin-empty >> out",
    );
    w.set_cell("c003-tmp-x-r1");
    let _first = w
        .worker(dir.path(), 0, 1, Verification::Off, &Cancel::new())
        .unwrap();
    let mut worker = w
        .worker(dir.path(), 2, 1, Verification::Off, &Cancel::new())
        .unwrap();
    assert_eq!(worker.step(&mut rec()), Step::Done);
    let out = std::fs::read_to_string(dir.path().join("out")).unwrap();
    let root = dir.path().display();
    assert_eq!(
        out,
        format!("{root}\n2 c003-tmp-x-r1 {root}\nstdin-empty\n")
    );
}

#[test]
fn setup_runs_once_per_cell_before_the_workers_and_its_failure_says_why() {
    let dir = tempfile::tempdir().unwrap();
    // The command is made by the setup: it is looked up after it ran.
    let w = exec(
        &["./made.sh"],
        Some(&[
            "sh",
            "-c",
            "echo run >> setup.log; printf '#!/bin/sh\\nexit 0\\n' > made.sh; chmod +x made.sh",
        ]),
        Duration::from_secs(10),
    );
    let mut workers: Vec<_> = (0..3)
        .map(|t| {
            w.worker(dir.path(), t, 1, Verification::Off, &Cancel::new())
                .unwrap()
        })
        .collect();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("setup.log")).unwrap(),
        "run\n"
    );
    for worker in &mut workers {
        assert_eq!(worker.step(&mut rec()), Step::Done);
    }
    let broken = exec(
        &["true"],
        Some(&["sh", "-c", "echo no space for the layer >&2; exit 7"]),
        Duration::from_secs(10),
    );
    let e = broken
        .worker(dir.path(), 0, 1, Verification::Off, &Cancel::new())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("exit_7"), "{e}");
    assert!(e.contains("stderr: no space for the layer"), "{e}");
}

#[test]
fn a_command_that_cannot_be_found_is_refused_before_the_clock() {
    let dir = tempfile::tempdir().unwrap();
    let e = exec(&["wpbench-no-such-program"], None, Duration::from_secs(1))
        .worker(dir.path(), 0, 1, Verification::Off, &Cancel::new())
        .err()
        .unwrap();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("not found in PATH"), "{e}");
}
