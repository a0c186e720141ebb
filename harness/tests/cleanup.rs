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
             \x20 - {{name: e, kind: ext4, size: 128MiB, device: {{kind: emulated, latency: 1ms}}}}\n\
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
#[ignore = "needs root: kills runs of a tmpfs and a hostPath cell"]
fn sigkill_mid_cell_leaves_nothing_behind() {
    require(&[Need::Root]);
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
        // What was written stays, and says the run was killed; the room
        // the run kept for its last word is freed.
        assert_eq!(run_status(&sb, &format!("killed-{target}")), "killed");
        let out = sb.out(&format!("killed-{target}"));
        assert!(!out.join(".wpbench-reserve").exists());
        assert!(out.join("result.json").is_file());
    }
}

/// An emulated device's FUSE daemon is a thread of the run and its mount
/// lives in the run's namespace: a SIGKILL takes both, the loop device
/// over the served image detaches, and the guardian removes the images.
#[test]
#[ignore = "needs root, /dev/fuse and mkfs.ext4: kills a run on an emulated device"]
fn sigkill_on_an_emulated_device_leaves_nothing_behind() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    let _serial = serial();
    let sb = Sandbox::new();
    let child = long_run(&sb, "killed-e", "e");
    wait_for_cell(&sb);
    kill_and_expect_nothing_left(&sb, child, "killed-e");
}

/// Killed while it mounts and verifies crash states: a state's
/// copy-on-write device, its loop device and mount, the image copy and the
/// write log all go with the run.
#[test]
#[ignore = "needs root, /dev/fuse and mkfs.ext4: kills a run while it explores crash states"]
fn sigkill_while_exploring_crash_states_leaves_nothing_behind() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    let _serial = serial();
    let sb = Sandbox::new();
    let file = sb.write(
        "explore.yaml",
        "version: 1\nname: explore\nduration: 1s\nwarmup: 0s\ntargets:\n\
         \x20 - {name: e, kind: ext4, size: 128MiB, device: {kind: emulated, cache: volatile}}\n\
         workloads:\n  - {name: wal, kind: fsync_heavy, fsync: always}\n\
         faults:\n  - {kind: power_loss, states: 5000}\n",
    );
    let child = sb
        .run_command(&file, "killed-s", &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_cell(&sb);
    // The cell is 1 s; 5 000 states take minutes: 4 s on, it is exploring.
    std::thread::sleep(Duration::from_secs(4));
    let img = entries_with_prefix(&sb.scratch(), "")
        .into_iter()
        .map(|run| run.join("img"))
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect::<Vec<_>>();
    assert!(
        img.iter().any(|n| n.ends_with(".base")) && img.iter().any(|n| n.ends_with(".wlog")),
        "{img:?}"
    );
    kill_and_expect_nothing_left(&sb, child, "killed-s");
}

/// SIGKILLs a run on an emulated device, and checks that it exits and
/// that the guardian leaves nothing and marks its result killed. Killed
/// mid-unmount, a thread of the run waits on the device whose daemon died
/// with it: the guardian must abort the connection, or the run never
/// exits (it did not, before the guardian knew how).
fn kill_and_expect_nothing_left(sb: &Sandbox, mut child: Child, out: &str) {
    signal(&child, rustix::process::Signal::KILL);
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the killed run never exited");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_no_mounts(sb);
    assert!(
        host_mounts_of("wpbench-emudev").is_empty(),
        "{:?}",
        host_mounts_of("wpbench-emudev")
    );
    eventually("the guardian's cleanup", || {
        entries_with_prefix(&sb.scratch(), "").is_empty()
    });
    assert_nothing_left(sb);
    // The guardian marks the result after removing the scratch area.
    eventually("the result marked killed", || {
        run_status(sb, out) == "killed"
    });
}

fn run_status(sb: &Sandbox, out: &str) -> String {
    let text = std::fs::read_to_string(sb.out(out).join("result.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["status"].as_str().unwrap().to_string()
}

#[test]
#[ignore = "needs root: kills runs and their guardians, then runs a tmpfs cell"]
fn when_the_guardian_dies_too_cleanup_and_the_next_run_remove_the_rest() {
    require(&[Need::Root]);
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
#[ignore = "needs root: interrupts runs of a tmpfs and a hostPath cell"]
fn sigint_and_sigterm_tear_down_and_mark_the_run_interrupted() {
    require(&[Need::Root]);
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
#[ignore = "needs root, mkfs.ext4: signals and panics runs of an ext4 loop-device cell in every phase"]
fn signals_and_panics_in_every_phase_leave_nothing() {
    require(&[Need::Root, Need::MKFS_EXT4]);
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

/// A short run of one tmpfs cell.
fn short_scenario(sb: &Sandbox) -> std::path::PathBuf {
    sb.write(
        "short.yaml",
        "version: 1\nname: short\nduration: 200ms\nwarmup: 0s\n\
         targets:\n  - {name: t, kind: tmpfs}\nworkloads:\n  - {name: w, kind: fsync_heavy, file_size: 1MiB}\n",
    )
}

/// A directory with a file in it, that a forged manifest names.
fn victim(sb: &Sandbox, name: &str) -> std::path::PathBuf {
    let dir = sb.dir.path().join("victims").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("precious"), b"keep me").unwrap();
    dir
}

fn intact(dir: &std::path::Path) -> bool {
    std::fs::read(dir.join("precious")).is_ok_and(|b| b == b"keep me")
}

/// Plants `<root>/<run>/manifest.json` of a run whose process is gone (a
/// PID that cannot exist), recording `created` (JSON entries).
fn forged_run(
    root: &std::path::Path,
    run: &str,
    created: &[serde_json::Value],
) -> std::path::PathBuf {
    use std::os::unix::fs::DirBuilderExt;
    let dir = root.join(run);
    std::fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(&dir)
        .unwrap();
    let manifest = serde_json::json!({
        "run_id": run, "pid": u32::MAX, "start_ticks": 1, "created": created,
    });
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    dir
}

fn tree(path: &std::path::Path) -> serde_json::Value {
    serde_json::json!({"path": path, "removal": "tree"})
}

/// `tree(path)` with a device and inode, as a run records them.
fn tree_with_inode(path: &std::path::Path, dev: u64, ino: u64) -> serde_json::Value {
    serde_json::json!({"path": path, "removal": "tree", "dev": dev, "ino": ino})
}

fn chown(path: &std::path::Path, uid: u32) {
    rustix::fs::chownat(
        rustix::fs::CWD,
        path,
        Some(rustix::fs::Uid::from_raw(uid)),
        None,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .unwrap();
}

fn chmod(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn cleanup(root: &std::path::Path) -> std::process::Output {
    wpbench()
        .arg("cleanup")
        .arg("--scratch")
        .arg(root)
        .output()
        .unwrap()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
#[ignore = "needs root: chowns the scratch root to another user"]
fn a_scratch_root_owned_by_another_user_is_refused_by_cleanup_and_run() {
    require(&[Need::Root]);
    let _serial = serial();
    let sb = Sandbox::new();
    let root = sb.scratch();
    let target = victim(&sb, "victim");
    // What an unprivileged user can do with a scratch root they made:
    // plant a run directory whose manifest names any directory.
    let forged = forged_run(&root, "x", &[tree(&target)]);
    for p in [&root, &forged, &forged.join("manifest.json")] {
        chown(p, 65534);
    }
    chmod(&root, 0o755);
    let file = short_scenario(&sb);
    for (what, out) in [
        ("cleanup", cleanup(&root)),
        ("run", sb.run(&file, "refused", &[])),
    ] {
        assert_eq!(out.status.code(), Some(3), "{what}: {}", text(&out));
        let e = stderr(&out);
        for want in [
            &format!("refusing to use the scratch root {}", root.display()),
            "owned by uid 65534",
            "mode 0755 (drwxr-xr-x)",
            "chmod 700",
            "--scratch",
        ] {
            assert!(e.contains(want), "{what}: {want}: {}", text(&out));
        }
    }
    assert!(intact(&target), "the victim was touched");
    assert!(forged.join("manifest.json").exists());
    assert!(!sb.out("refused").exists(), "the run wrote before refusing");
    eventually("the refused run's guardian to exit", || {
        guardians_of(&root).is_empty()
    });
}

#[test]
#[ignore = "needs root: runs a tmpfs cell against the scratch root"]
fn a_world_writable_scratch_root_is_refused() {
    require(&[Need::Root]);
    let _serial = serial();
    let sb = Sandbox::new();
    let root = sb.scratch();
    let target = victim(&sb, "victim");
    forged_run(&root, "x", &[tree(&target)]);
    chmod(&root, 0o1777);
    let file = short_scenario(&sb);
    for (what, out) in [
        ("cleanup", cleanup(&root)),
        ("run", sb.run(&file, "refused", &[])),
    ] {
        assert_eq!(out.status.code(), Some(3), "{what}: {}", text(&out));
        let e = stderr(&out);
        assert!(
            e.contains("writable by group or others") && e.contains("mode 1777 (drwxrwxrwt)"),
            "{what}: {}",
            text(&out)
        );
    }
    assert!(intact(&target));
    // An empty one, like the Kubernetes emptyDir a pod's runs use (0777):
    // nothing can have been planted in it; made 0700, it is used.
    let empty_dir = sb.dir.path().join("emptydir");
    std::fs::create_dir(&empty_dir).unwrap();
    chmod(&empty_dir, 0o777);
    let out = cleanup(&empty_dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(&empty_dir).unwrap().mode() & 0o7777,
        0o700
    );
    // And an ancestor anyone may write to, without the sticky bit.
    chmod(&root, 0o700);
    let open = sb.dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    chmod(&open, 0o777);
    let out = cleanup(&open.join("runs"));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        stderr(&out).contains(&format!(
            "its ancestor {} is writable by group or others without the sticky bit",
            open.display()
        )),
        "{}",
        text(&out)
    );
}

#[test]
#[ignore = "needs root: runs a tmpfs cell over forged manifests"]
fn an_outside_directory_without_this_runs_marker_and_inode_is_left_alone() {
    require(&[Need::Root]);
    let _serial = serial();
    use std::os::unix::fs::MetadataExt;
    let sb = Sandbox::new();
    let root = sb.scratch();
    let plant = |run: &str| {
        // No device and inode recorded (a forged or an old manifest).
        let plain = victim(&sb, &format!("{run}-plain"));
        // A marker naming the run, but another directory's inode.
        let marked = victim(&sb, &format!("{run}-marked"));
        std::fs::write(marked.join(".wpbench-run"), format!("{run}\n")).unwrap();
        let m = std::fs::metadata(&marked).unwrap();
        // The right device and inode, but no marker.
        let unmarked = victim(&sb, &format!("{run}-unmarked"));
        let u = std::fs::metadata(&unmarked).unwrap();
        forged_run(
            &root,
            run,
            &[
                tree(&plain),
                tree_with_inode(&marked, m.dev(), m.ino() + 1),
                tree_with_inode(&unmarked, u.dev(), u.ino()),
            ],
        );
        [plain, marked, unmarked]
    };
    let check = |what: &str, out: &std::process::Output, victims: &[std::path::PathBuf]| {
        let all = format!("{}{}", stdout(out), stderr(out));
        for v in victims {
            assert!(intact(v), "{what}: {} was touched", v.display());
            assert!(
                all.contains(&format!(
                    "left alone: {}: not created by this run",
                    v.display()
                )),
                "{what}: {}: {}",
                v.display(),
                text(out)
            );
        }
    };
    // The start of a run cleans up after killed runs: it leaves them alone.
    let victims = plant("forged-1");
    let out = sb.run(&short_scenario(&sb), "next", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    check("run", &out, &victims);
    // And so does `wpbench cleanup`.
    let victims = plant("forged-2");
    let out = cleanup(&root);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    check("cleanup", &out, &victims);
    assert!(
        stdout(&out).contains("no marker file .wpbench-run"),
        "{}",
        text(&out)
    );
    assert!(
        stdout(&out).contains("no device and inode were recorded"),
        "{}",
        text(&out)
    );
    assert!(
        stdout(&out).contains("is not the directory the run created"),
        "{}",
        text(&out)
    );
    assert!(
        entries_with_prefix(&root, "").is_empty(),
        "the forged run directories go"
    );
}

#[test]
#[ignore = "needs root: chowns manifests and run directories to another user"]
fn manifests_and_run_directories_not_written_by_this_user_are_left_alone() {
    require(&[Need::Root]);
    let _serial = serial();
    let sb = Sandbox::new();
    let root = sb.scratch();
    std::fs::create_dir(&root).unwrap();
    chmod(&root, 0o700);
    // Each names a directory inside its own run directory, which a trusted
    // manifest of a dead run would have removed.
    let inside = |dir: &std::path::Path| {
        let p = dir.join("mnt");
        std::fs::create_dir(&p).unwrap();
        std::fs::write(p.join("precious"), b"keep me").unwrap();
        p
    };
    // A manifest that is a symlink to one elsewhere.
    let elsewhere = sb.dir.path().join("elsewhere");
    let d1 = root.join("symlinked");
    forged_run(&elsewhere, "symlinked", &[tree(&d1.join("mnt"))]);
    std::fs::create_dir(&d1).unwrap();
    std::os::unix::fs::symlink(
        elsewhere.join("symlinked/manifest.json"),
        d1.join("manifest.json"),
    )
    .unwrap();
    // A manifest owned by another user.
    let d2 = root.join("foreign-manifest");
    forged_run(&root, "foreign-manifest", &[tree(&d2.join("mnt"))]);
    chown(&d2.join("manifest.json"), 65534);
    // A run directory owned by another user.
    let d3 = root.join("foreign-dir");
    forged_run(&root, "foreign-dir", &[tree(&d3.join("mnt"))]);
    chown(&d3, 65534);
    let (m1, m2, m3) = (inside(&d1), inside(&d2), inside(&d3));

    let out = cleanup(&root);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let o = stdout(&out);
    for want in [
        format!(
            "left alone: {}: its manifest.json is a symlink",
            d1.display()
        ),
        format!(
            "left alone: {}: its manifest.json is owned by uid 65534",
            d2.display()
        ),
        format!(
            "left alone: {}: the run directory is owned by uid 65534",
            d3.display()
        ),
    ] {
        assert!(o.contains(&want), "{want}: {}", text(&out));
    }
    for m in [&m1, &m2, &m3] {
        assert!(intact(m), "{} was touched", m.display());
    }
}

#[test]
#[ignore = "needs root: runs cleanup as root, whom a planted symlink is aimed at"]
fn a_symlink_planted_in_a_recorded_path_is_not_followed() {
    require(&[Need::Root]);
    let _serial = serial();
    let sb = Sandbox::new();
    let root = sb.scratch();
    // The victim has the name the run recorded below its `mnt/`.
    let target = victim(&sb, "c0-t");
    let dir = root.join("planted");
    forged_run(&root, "planted", &[tree(&dir.join("mnt/c0-t"))]);
    std::os::unix::fs::symlink(target.parent().unwrap(), dir.join("mnt")).unwrap();
    let out = cleanup(&root);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(intact(&target), "followed the symlink: {}", text(&out));
    assert!(
        stdout(&out).contains(&format!(
            "left alone: {}: {} is a symlink (not followed)",
            dir.join("mnt/c0-t").display(),
            dir.join("mnt").display()
        )),
        "{}",
        text(&out)
    );
    // The run directory goes, the symlink in it as an entry.
    assert!(!dir.exists());
    assert!(intact(&target));
}

#[test]
#[ignore = "needs root, mkfs.ext4: kills a run throttling an ext4 loop device through a cgroup"]
fn sigkill_in_a_throttled_cell_leaves_no_cgroup_of_the_run() {
    require(&[Need::Root, Need::MKFS_EXT4]);
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

#[test]
#[ignore = "needs root, mkfs.ext4: kills a run throttling an ext4 loop device, and its guardian"]
fn when_the_guardian_dies_too_cleanup_removes_the_runs_cgroups() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    let _serial = serial();
    let sb = Sandbox::new();
    let file = sb.write(
        "throttled.yaml",
        "version: 1\nname: throttled\nduration: 60s\nwarmup: 0s\n\
         targets:\n  - {name: e, kind: ext4, size: 128MiB}\n\
         workloads:\n  - {name: wal, kind: fsync_heavy, fsync: always, file_size: 8MiB}\n\
         faults:\n  - {kind: throttle, write_iops: 50}\n",
    );
    let mut child = sb
        .run_command(&file, "orphan", &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let result = sb.out("orphan").join("result.json");
    eventually("the run to start", || result.exists());
    let run_id = read_json(&result)["run_id"].as_str().unwrap().to_string();
    eventually("the throttled cell to start", || {
        !cgroups_of_run(&run_id).is_empty()
    });
    let guardians = guardians_of(&sb.scratch());
    assert_eq!(guardians.len(), 1, "one guardian per run");
    let pid = rustix::process::Pid::from_raw(guardians[0]).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).unwrap();
    signal(&child, rustix::process::Signal::KILL);
    child.wait().unwrap();
    eventually("the guardian to die", || {
        guardians_of(&sb.scratch()).is_empty()
    });
    // Made seconds ago: only the manifest's record lets cleanup take it.
    assert!(
        !cgroups_of_run(&run_id).is_empty(),
        "nobody was left to remove it"
    );
    let out = cleanup(&sb.scratch());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        stdout(&out).lines().any(|l| l.starts_with("removed cgroup ")
            && l.contains(&format!("/wpbench-{run_id}-"))),
        "{}",
        text(&out)
    );
    assert!(cgroups_of_run(&run_id).is_empty(), "{}", text(&out));
    assert_nothing_left(&sb);
    assert_eq!(run_status(&sb, "orphan"), "killed");
}
