//! Safe on a production node: a plan is printed and held against the
//! machine before anything is written, every target's options are asked of
//! the kernel up front, a signal ends any phase within a second, output
//! faults are the machine's (exit 3) and never end in `completed`, and a
//! hostPath cell never fills the node's filesystem.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// Runs `script` with `sh` in a private mount namespace of its own, so
/// the small filesystems it mounts vanish with it whatever happens.
/// `$WPBENCH` is the binary.
fn in_private_namespace(script: &str, args: &[&Path]) -> Output {
    Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .args(args)
        .env("WPBENCH", env!("CARGO_BIN_EXE_wpbench"))
        .output()
        .expect("unshare (util-linux) runs")
}

#[test]
fn validate_prints_the_plan_time_disk_memory_threads_and_files() {
    let sb = Sandbox::new();
    let file = sb.write(
        "plan.yaml",
        "version: 1\nname: plan\nduration: 2s\nwarmup: 1s\nrepeat: 2\n\
         targets:\n  - name: o\n    kind: overlay\n    upper: {kind: ext4, size: 256MiB}\n    \
         lower: {files: 1000, file_size: 64KiB}\n  - {name: t, kind: tmpfs, size: 128MiB}\n\
         workloads:\n  - {name: wal, kind: fsync_heavy, threads: 3, file_size: 8MiB}\n",
    );
    let out = wpbench().arg("validate").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for want in [
        "2 targets × 1 workload × 2 repeats = 4 cells",
        "time      ≈",
        // 256 MiB image + 1000 × 64 KiB lower files.
        "scratch   up to 318.5MiB and 1004 inodes",
        // The tmpfs holds what the WAL can write: 3 × 8 MiB.
        "memory    up to 24MiB (tmpfs)",
        "threads   3 at once",
    ] {
        assert!(stdout.contains(want), "missing {want:?} in\n{stdout}");
    }
    let out = wpbench()
        .args(["validate", "--format", "json"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let plan = &json[0]["plan"];
    assert_eq!(json[0]["ok"], true);
    assert_eq!(plan["cells"], 4);
    assert_eq!(plan["scratch"]["bytes"], (256u64 << 20) + 1000 * (64 << 10));
    assert_eq!(plan["threads"], 3);
    assert!(plan["wall"]["seconds"].as_f64().unwrap() > 12.0, "{plan}");
}

#[test]
fn a_billion_repeats_on_the_command_line_is_refused_at_once() {
    let sb = Sandbox::new();
    let file = sb.write(
        "r.yaml",
        "version: 1\nname: r\nduration: 1s\ntargets:\n  - {name: t, kind: tmpfs}\n\
         workloads:\n  - {name: w, kind: small_files}\n",
    );
    let started = Instant::now();
    let out = sb.run(&file, "r", &["--repeat", "4000000000"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("100000"),
        "{}",
        text(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(5), "not at once");
    assert!(!sb.out("r").exists());
}

#[test]
#[ignore = "needs root: an overlay target, checked against the free space"]
fn terabytes_of_lower_files_are_refused_before_anything_is_written() {
    require(&[Need::Root]);
    let sb = Sandbox::new();
    let file = sb.write(
        "huge.yaml",
        "version: 1\nname: huge\nduration: 1s\n\
         targets:\n  - name: o\n    kind: overlay\n    upper: {kind: tmpfs, size: 64MiB}\n    \
         lower: {files: 2000000, file_size: 1MiB}\n\
         workloads:\n  - {name: w, kind: small_files}\n",
    );
    let started = Instant::now();
    let out = sb.run(&file, "huge", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing was written"), "{err}");
    assert!(err.contains("1.9TiB needed"), "{err}");
    assert!(err.contains(" free"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!sb.out("huge").exists(), "no run directory");
    assert!(!sb.scratch().exists(), "no scratch area");
}

#[test]
#[ignore = "needs root, mkfs.ext4: asks the kernel about every target's options"]
fn a_typo_in_the_fifth_targets_options_fails_in_the_first_second() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    let _serial = serial();
    let sb = Sandbox::new();
    let file = sb.write(
        "typo.yaml",
        "version: 1\nname: typo\nduration: 5s\nwarmup: 0s\n\
         targets:\n  - {name: t1, kind: tmpfs, size: 64MiB}\n  - {name: t2, kind: tmpfs, size: 64MiB, options: [noatime]}\n  \
         - {name: e3, kind: ext4, size: 64MiB, options: [data=writeback]}\n  \
         - {name: o4, kind: overlay, upper: {kind: tmpfs, size: 64MiB}, options: [metacopy=on]}\n  \
         - {name: e5, kind: ext4, size: 64MiB, options: [noatime, relatme]}\n\
         workloads:\n  - {name: w, kind: fsync_heavy, file_size: 1MiB}\n",
    );
    let started = Instant::now();
    let out = sb.run(&file, "typo", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("target e5"), "{err}");
    // Where the file wrote it, as the loader's own diagnostics say.
    assert!(err.contains("typo.yaml:10:"), "{err}");
    assert!(err.contains("`targets[4].options[1]`"), "{err}");
    assert!(err.contains("`relatme`"), "{err}");
    assert!(
        err.contains("Unknown parameter"),
        "the kernel's word: {err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(!sb.out("typo").exists(), "no cell ran");
}

#[test]
fn a_hostpath_that_is_a_file_or_leads_into_etc_is_refused_before_the_first_cell() {
    let sb = Sandbox::new();
    let file_there = sb.write("a-file", "x");
    let link = sb.dir.path().join("to-etc");
    std::os::unix::fs::symlink("/etc", &link).unwrap();
    let file = sb.write(
        "hp.yaml",
        &format!(
            "version: 1\nname: hp\nduration: 1s\nwarmup: 0s\n\
             targets:\n  - {{name: ok, kind: hostpath, path: {ok}}}\n  - {{name: file, kind: hostpath, path: {f}}}\n  \
             - {{name: under-file, kind: hostpath, path: {f}/sub}}\n  - {{name: etc, kind: hostpath, path: {l}/x}}\n\
             workloads:\n  - {{name: w, kind: fsync_heavy, file_size: 1MiB}}\n",
            ok = sb.hostpath().display(),
            f = file_there.display(),
            l = link.display()
        ),
    );
    let out = sb.run(&file, "hp", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    // All three at once, not the first only.
    assert!(
        err.contains("target file: path") && err.contains("is a file"),
        "{err}"
    );
    assert!(
        err.contains("target under-file") && err.contains("cannot be made"),
        "{err}"
    );
    assert!(
        err.contains("target etc") && err.contains("resolves to /etc/x"),
        "{err}"
    );
    // Each at the file:line:column of its `path`, like the loader's errors.
    // (line, column of the `path` key, target index)
    for (line, column, i) in [(7, 34, 1), (8, 40, 2), (9, 33, 3)] {
        let at = format!(
            "{}:{line}:{column}: `targets[{i}].path`: target ",
            file.display()
        );
        assert!(err.contains(&at), "expected `{at}` in:\n{err}");
    }
    assert!(!sb.out("hp").exists());
    assert!(entries_with_prefix(&sb.hostpath(), "wpbench-").is_empty());
}

#[test]
#[ignore = "needs root: interrupts the setup of an overlay"]
fn sigint_during_a_long_setup_ends_the_run_within_a_second() {
    require(&[Need::Root]);
    let _serial = serial();
    let sb = Sandbox::new();
    // A lower layer of a million files takes about a minute to write.
    let file = sb.write(
        "setup.yaml",
        "version: 1\nname: setup\nduration: 1s\nwarmup: 0s\n\
         targets:\n  - name: o\n    kind: overlay\n    upper: {kind: tmpfs, size: 64MiB}\n    \
         lower: {files: 1000000, file_size: 0B}\n\
         workloads:\n  - {name: w, kind: fsync_heavy, file_size: 1MiB}\n",
    );
    // Wait until the lower layer is being written, then three seconds more.
    let (out, took, _) = interrupt_during_setup(&sb, &file, "setup", Duration::from_secs(3));
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("interrupted"),
        "{}",
        text(&out)
    );
    // Removing what three seconds wrote is part of ending; a loop that
    // ignored the signal would have taken the rest of the minute.
    assert!(
        took < Duration::from_secs(5),
        "the run took {took:?} to end"
    );
    let result = read_json(&sb.out("setup").join("result.json"));
    assert_eq!(result["status"], "interrupted");
    assert_nothing_left(&sb);
}

/// Runs `file` into `out`, waits until its lower layer is being written
/// and `wait` more, then sends SIGINT: the run's output, how long it took
/// to end after the signal, and its peak memory just before it.
fn interrupt_during_setup(
    sb: &Sandbox,
    file: &std::path::Path,
    out: &str,
    wait: Duration,
) -> (std::process::Output, Duration, u64) {
    let child = sb
        .run_command(file, out, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    eventually("the lower layer to be written", || {
        entries_with_prefix(&sb.scratch(), "")
            .iter()
            .any(|run| run.join("lower").exists())
    });
    std::thread::sleep(wait);
    let peak = peak_rss(child.id());
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    let signalled = Instant::now();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let output = child.wait_with_output().unwrap();
    (output, signalled.elapsed(), peak)
}

/// A process's peak resident memory (VmHWM), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    kib << 10
}

#[test]
#[ignore = "needs root: interrupts the setup of an overlay with 12 GiB of lower files (needs the room in /var/tmp)"]
fn sigint_while_large_lower_files_are_written_ends_the_run_within_a_second_in_bounded_memory() {
    require(&[Need::Root]);
    let _serial = serial();
    let sb = Sandbox::new();
    // Three 4 GiB lower files: tens of seconds of writing, in 1 MiB pieces
    // with a signal poll between them and one reused buffer (once, each
    // file was one buffer in memory written in one go).
    let file = sb.write(
        "large.yaml",
        "version: 1\nname: large\nduration: 1s\nwarmup: 0s\n\
         targets:\n  - name: o\n    kind: overlay\n    upper: {kind: tmpfs, size: 64MiB}\n    \
         lower: {files: 3, file_size: 4GiB}\n\
         workloads:\n  - {name: w, kind: fsync_heavy, file_size: 1MiB}\n",
    );
    let (out, took, peak) = interrupt_during_setup(&sb, &file, "large", Duration::from_secs(2));
    eprintln!(
        "SIGINT to exit: {took:?}; peak RSS before it: {} MiB",
        peak >> 20
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("interrupted"),
        "{}",
        text(&out)
    );
    assert!(
        took < Duration::from_secs(2),
        "the run took {took:?} to end"
    );
    assert!(
        peak < 256 << 20,
        "wpbench held {} MiB while writing the lower layer",
        peak >> 20
    );
    let result = read_json(&sb.out("large").join("result.json"));
    assert_eq!(result["status"], "interrupted");
    assert_nothing_left(&sb);
}

#[test]
#[ignore = "needs root, unshare, mount: writes the results to small tmpfs mounts in a private namespace"]
fn output_on_a_read_only_or_full_filesystem_is_exit_3_and_never_completed() {
    require(&[
        Need::Root,
        Need::Program("unshare", "util-linux"),
        Need::Program("mount", "mount"),
    ]);
    let _serial = serial();
    let sb = Sandbox::new();
    let file = sb.write(
        "out.yaml",
        "version: 1\nname: out\nduration: 300ms\nwarmup: 0s\n\
         targets:\n  - {name: t, kind: tmpfs, size: 64MiB}\n\
         workloads:\n  - {name: w, kind: fsync_heavy, file_size: 1MiB}\n",
    );
    let (ro, full) = (sb.dir.path().join("ro"), sb.dir.path().join("full"));
    std::fs::create_dir(&ro).unwrap();
    std::fs::create_dir(&full).unwrap();
    // Read-only: refused before the first cell, nothing written.
    let out = in_private_namespace(
        r#"mount -t tmpfs -o ro,size=32m none "$2" || exit 99
           exec "$WPBENCH" run "$1" --out "$2/run" --scratch "$3""#,
        &[&file, &ro, &sb.scratch()],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}/run", ro.display())), "{err}");
    assert!(err.contains("Read-only file system"), "{err}");
    // Full once the cell is measured (filled while the run pauses before
    // its teardown): exit 3, and result.json never says `completed` nor
    // stays `running`: it says `failed`, and why (the room reserved since
    // the run directory was made is freed to write it).
    let out = in_private_namespace(
        r#"mount -t tmpfs -o size=32m none "$2" || exit 99
           WPBENCH_TEST_HOOK=pause:teardown "$WPBENCH" run "$1" --out "$2/run" --scratch "$3" &
           pid=$!
           sleep 1.5
           dd if=/dev/zero of="$2/filler" bs=64k 2>/dev/null
           wait $pid; rc=$?
           status=$(grep -o '"status": "[a-z]*"' "$2/run/result.json")
           error=$(grep -o '"error": "[^"]*"' "$2/run/result.json")
           tmps=$(find "$2/run" -name '*.tmp' | wc -l)
           reserve=$(find "$2/run" -name '.wpbench-reserve' | wc -l)
           echo "rc=$rc $status tmps=$tmps reserve=$reserve"
           echo "$error"
           exit $rc"#,
        &[&file, &full, &sb.scratch()],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(!stdout.contains("completed"), "{stdout}");
    assert!(stdout.contains(r#""status": "failed""#), "{stdout}");
    assert!(stdout.contains("tmps=0"), "no half-written file: {stdout}");
    assert!(
        stdout.contains("reserve=0"),
        "the reservation is freed: {stdout}"
    );
    let error = stdout.lines().find(|l| l.starts_with(r#""error""#));
    assert!(
        error.is_some_and(|e| e.contains("No space left on device")
            && e.contains(&format!("{}/run", full.display()))),
        "result.json names the errno and the path: {stdout}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("No space left on device"), "{err}");
    assert!(entries_with_prefix(&sb.scratch(), "").is_empty());
}

#[test]
#[ignore = "needs root, unshare, mount: a hostPath on a small tmpfs in a private namespace"]
fn a_hostpath_cell_stops_before_the_nodes_filesystem_fills() {
    require(&[
        Need::Root,
        Need::Program("unshare", "util-linux"),
        Need::Program("mount", "mount"),
    ]);
    let _serial = serial();
    let sb = Sandbox::new();
    let base = sb.dir.path().join("node");
    std::fs::create_dir(&base).unwrap();
    // small_files without sync for 20 s would fill any small filesystem.
    let file = sb.write(
        "fill.yaml",
        &format!(
            "version: 1\nname: fill\nduration: 20s\nwarmup: 0s\n\
             targets:\n  - {{name: h, kind: hostpath, path: {}}}\n\
             workloads:\n  - {{name: w, kind: small_files, file_size: 64KiB, fsync: never}}\n",
            base.display()
        ),
    );
    let out = in_private_namespace(
        r#"mount -t tmpfs -o size=400m none "$2" || exit 99
           exec "$WPBENCH" run "$1" --out "$3" --scratch "$4" --quiet"#,
        &[&file, &base, &sb.out("fill"), &sb.scratch()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("fill").join("result.json"));
    let notes = result["cells"][0]["notes"].to_string();
    assert!(
        notes.contains("stopped early: the filesystem of"),
        "{notes}"
    );
    assert!(
        result["cells"][0]["duration_s"].as_f64().unwrap() < 19.0,
        "{}",
        result["cells"][0]["duration_s"]
    );
    // The reserve of a 400 MiB filesystem is 40 MiB; the cell stopped
    // before writing it away, and no write failed for want of room.
    assert!(
        !result["cells"][0]["ops"].to_string().contains("ENOSPC"),
        "{}",
        result["cells"][0]["ops"]
    );
}
