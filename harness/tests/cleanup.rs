//! Nothing outlives a run: after SIGINT or SIGTERM the run tears down and
//! says "interrupted"; after SIGKILL its guardian removes what is left on
//! disk — or, if the guardian died too, the next run or `wpbench cleanup`
//! does — and no mount is ever visible outside the run's namespace.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// A 60-second run of one cell on target `only` (`t` = tmpfs, `h` = hostPath).
fn long_run(sb: &Sandbox, name: &str, only: &str) -> Child {
    let file = sb.write(
        &format!("{name}.yaml"),
        &format!(
            "version: 1\nname: {name}\nduration: 60s\nwarmup: 0s\n\
             targets:\n  - {{name: t, kind: tmpfs, size: 256MiB}}\n  - {{name: h, kind: hostpath, path: {}}}\n\
             workloads:\n  - {{name: logs, kind: log_append, rate: 200/s}}\n",
            sb.hostpath().display()
        ),
    );
    sb.run_command(&file, name, &["--only", only])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until the run is inside its cell: its tmpfs mount point or its
/// hostPath subdirectory exists.
fn wait_for_cell(sb: &Sandbox) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mnt = entries_with_prefix(&sb.scratch(), "")
            .into_iter()
            .map(|run| run.join("mnt"))
            .any(|m| std::fs::read_dir(m).is_ok_and(|mut r| r.next().is_some()));
        if mnt || !entries_with_prefix(&sb.hostpath(), "wpbench-").is_empty() {
            std::thread::sleep(Duration::from_millis(700));
            return;
        }
        assert!(Instant::now() < deadline, "the run never started a cell");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &Child, sig: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, sig).unwrap();
}

/// PIDs of guardian processes watching runs under `scratch`.
fn guardians_of(scratch: &std::path::Path) -> Vec<i32> {
    let needle = scratch.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let args: Vec<String> = c
                    .split(|b| *b == 0)
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                args.iter().any(|a| a == "guard") && args.contains(&needle)
            })
        })
        .collect()
}

#[test]
fn sigkill_mid_cell_leaves_nothing_behind() {
    if !require_root("sigkill_mid_cell_leaves_nothing_behind") {
        return;
    }
    let _serial = serial();
    for target in ["t", "h"] {
        let sb = Sandbox::new();
        let mut child = long_run(&sb, &format!("killed-{target}"), target);
        wait_for_cell(&sb);
        signal(&child, rustix::process::Signal::KILL);
        child.wait().unwrap();
        assert_no_mounts(&sb);
        // The guardian removes the scratch area and the hostPath subdirectory.
        eventually("the guardian's cleanup", || {
            entries_with_prefix(&sb.scratch(), "").is_empty()
                && entries_with_prefix(&sb.hostpath(), "wpbench-").is_empty()
        });
        eventually("the guardian to exit", || {
            guardians_of(&sb.scratch()).is_empty()
        });
        // What was written stays, and says the run was killed.
        assert_eq!(run_status(&sb, &format!("killed-{target}")), "killed");
    }
}

fn run_status(sb: &Sandbox, out: &str) -> String {
    let text = std::fs::read_to_string(sb.out(out).join("result.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["status"].as_str().unwrap().to_string()
}

#[test]
fn when_the_guardian_dies_too_cleanup_and_the_next_run_remove_the_rest() {
    if !require_root("when_the_guardian_dies_too_cleanup_and_the_next_run_remove_the_rest") {
        return;
    }
    let _serial = serial();
    let sb = Sandbox::new();
    let kill_both = |name: &str, target: &str| {
        let mut child = long_run(&sb, name, target);
        wait_for_cell(&sb);
        let guardians = guardians_of(&sb.scratch());
        assert_eq!(guardians.len(), 1, "one guardian per run");
        // Both were started by this test (the guardian by its wpbench).
        let pid = rustix::process::Pid::from_raw(guardians[0]).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::KILL).unwrap();
        signal(&child, rustix::process::Signal::KILL);
        child.wait().unwrap();
        eventually("the guardian to die", || {
            guardians_of(&sb.scratch()).is_empty()
        });
    };

    kill_both("orphan1", "h");
    assert_no_mounts(&sb);
    assert_eq!(
        entries_with_prefix(&sb.scratch(), "").len(),
        1,
        "left for cleanup"
    );
    assert_eq!(entries_with_prefix(&sb.hostpath(), "wpbench-").len(), 1);
    let out = wpbench()
        .arg("cleanup")
        .arg("--scratch")
        .arg(sb.scratch())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("removed run"),
        "{}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("as killed"),
        "{}",
        text(&out)
    );
    assert_eq!(run_status(&sb, "orphan1"), "killed");
    assert!(entries_with_prefix(&sb.scratch(), "").is_empty());
    assert!(entries_with_prefix(&sb.hostpath(), "wpbench-").is_empty());

    // Again, and this time a new run removes the leftovers before it starts.
    kill_both("orphan2", "h");
    let file = sb.write(
        "short.yaml",
        "version: 1\nname: short\nduration: 200ms\nwarmup: 0s\n\
         targets:\n  - {name: t, kind: tmpfs}\nworkloads:\n  - {name: w, kind: fsync_heavy, file_size: 1MiB}\n",
    );
    let out = sb.run(&file, "short", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("earlier killed run"),
        "{}",
        text(&out)
    );
    assert!(entries_with_prefix(&sb.scratch(), "").is_empty());
    assert!(entries_with_prefix(&sb.hostpath(), "wpbench-").is_empty());
}

#[test]
fn sigint_and_sigterm_tear_down_and_mark_the_run_interrupted() {
    if !require_root("sigint_and_sigterm_tear_down_and_mark_the_run_interrupted") {
        return;
    }
    let _serial = serial();
    for (sig, only) in [
        (rustix::process::Signal::INT, "t"),
        (rustix::process::Signal::TERM, "h"),
    ] {
        let sb = Sandbox::new();
        let name = format!("sig{}", sig.as_raw());
        let child = long_run(&sb, &name, only);
        wait_for_cell(&sb);
        signal(&child, sig);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(4), "{sig:?}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("interrupted"),
            "{}",
            text(&out)
        );
        let result = read_json(&sb.out(&name).join("result.json"));
        assert_eq!(result["status"], "interrupted");
        assert_eq!(
            result["cells"].as_array().unwrap().len(),
            1,
            "the cell in flight is kept"
        );
        assert!(result["cells"][0]["notes"]
            .to_string()
            .contains("interrupted"));
        assert!(
            entries_with_prefix(&sb.scratch(), "").is_empty(),
            "scratch removed"
        );
        assert!(entries_with_prefix(&sb.hostpath(), "wpbench-").is_empty());
        assert_no_mounts(&sb);
    }
}

/// A run of one ext4 cell that pauses 3 s (or panics) at the start of
/// `phase` through the test hook.
fn hooked_run(sb: &Sandbox, name: &str, hook: &str) -> Child {
    let file = sb.write(
        &format!("{name}.yaml"),
        &format!(
            "version: 1\nname: {name}\nduration: 2s\nwarmup: 0s\n\
             targets:\n  - {{name: e, kind: ext4, size: 128MiB}}\n  - {{name: h, kind: hostpath, path: {}}}\n\
             workloads:\n  - {{name: w, kind: fsync_heavy, file_size: 4MiB}}\n",
            sb.hostpath().display()
        ),
    );
    sb.run_command(&file, name, &[])
        .env("WPBENCH_TEST_HOOK", hook)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn signals_and_panics_in_every_phase_leave_nothing() {
    if !require_root("signals_and_panics_in_every_phase_leave_nothing") {
        return;
    }
    let _serial = serial();
    use rustix::process::Signal;
    let cases = [
        ("provision", Some(Signal::INT)),
        ("provision", Some(Signal::KILL)),
        ("cell", Some(Signal::TERM)),
        ("cell", Some(Signal::KILL)),
        ("teardown", Some(Signal::INT)),
        ("teardown", Some(Signal::KILL)),
        ("provision", None),
        ("cell", None),
        ("teardown", None),
    ];
    for (phase, sig) in cases {
        let sb = Sandbox::new();
        let what = format!("{phase}/{sig:?}");
        let hook = match sig {
            Some(_) => format!("pause:{phase}"),
            None => format!("panic:{phase}"),
        };
        let child = hooked_run(&sb, "phase", &hook);
        if let Some(sig) = sig {
            // The hook pauses 3 s at the start of the phase; the first
            // cell's provisioning (mkfs, loop) is well within 1.5 s.
            std::thread::sleep(Duration::from_millis(1500));
            signal(&child, sig);
        }
        let out = child.wait_with_output().unwrap();
        match sig {
            Some(Signal::KILL) => assert_eq!(out.status.code(), None, "{what}"),
            _ => assert_eq!(out.status.code(), Some(4), "{what}: {}", text(&out)),
        }
        if sig.is_none() {
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("internal error"),
                "{what}: {}",
                text(&out)
            );
        }
        // SIGKILL: the namespace dies with the run, the loop device
        // auto-clears, the guardian removes the files.
        eventually(&format!("{what}: scratch removed"), || {
            entries_with_prefix(&sb.scratch(), "").is_empty()
                && entries_with_prefix(&sb.hostpath(), "wpbench-").is_empty()
        });
        assert_nothing_left(&sb);
        eventually("the guardian to exit", || {
            guardians_of(&sb.scratch()).is_empty()
        });
        // The result says how the run ended.
        let want = match sig {
            Some(Signal::KILL) => "killed",
            Some(_) => "interrupted",
            None => "failed",
        };
        assert_eq!(run_status(&sb, "phase"), want, "{what}");
    }
}

#[test]
fn sigkill_in_a_throttled_cell_leaves_no_cgroup_of_the_run() {
    if !require_root("sigkill_in_a_throttled_cell_leaves_no_cgroup_of_the_run") {
        return;
    }
    let _serial = serial();
    let sb = Sandbox::new();
    // Two threads in throttled fsyncs when the kill comes: they finish
    // their I/O before they exit, after the process is already gone.
    let file = sb.write(
        "throttled.yaml",
        "version: 1\nname: throttled\nduration: 60s\nwarmup: 0s\n\
         targets:\n  - {name: e, kind: ext4, size: 128MiB}\n\
         workloads:\n  - {name: wal, kind: fsync_heavy, fsync: always, file_size: 8MiB, threads: 2}\n\
         faults:\n  - {kind: throttle, write_iops: 50}\n",
    );
    let mut child = sb
        .run_command(&file, "throttled", &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let result = sb.out("throttled").join("result.json");
    eventually("the run to start", || result.exists());
    let run_id = read_json(&result)["run_id"].as_str().unwrap().to_string();
    eventually("the throttled cell to start", || {
        !cgroups_of_run(&run_id).is_empty()
    });
    std::thread::sleep(Duration::from_millis(700));
    signal(&child, rustix::process::Signal::KILL);
    child.wait().unwrap();
    let killed = Instant::now();
    // The guardian, not `wpbench cleanup`.
    while !cgroups_of_run(&run_id).is_empty() {
        assert!(
            killed.elapsed() < Duration::from_secs(5),
            "cgroups of run {run_id} left: {:?}",
            cgroups_of_run(&run_id)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "cgroups of the killed run gone after {:?}",
        killed.elapsed()
    );
    eventually("the guardian to exit", || {
        guardians_of(&sb.scratch()).is_empty()
    });
    assert_nothing_left(&sb);
    assert_eq!(run_status(&sb, "throttled"), "killed");
}
