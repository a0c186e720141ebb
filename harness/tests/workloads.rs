//! The workload catalog on real targets: a varmail `sequence` does exactly
//! the operations its steps say, `metadata` churns an overlay's lower
//! files and moves its lower directories (a redirect with redirect_dir=on,
//! EXDEV with it off), O_DIRECT writes reach the device, think time paces
//! a loop, `log_append` with many open task logs matches the logs it leaves.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::*;

fn count(cell: &Value, op: &str) -> u64 {
    cell["ops"][op]["count"].as_u64().unwrap_or(0)
}

fn errors(cell: &Value) -> u64 {
    cell["ops"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|s| s["errors"].as_object().unwrap().values())
        .map(|n| n.as_u64().unwrap())
        .sum()
}

#[test]
#[ignore = "needs root, mkfs.ext4: the shipped varmail on ext4 and tmpfs"]
fn varmail_sequence_counts_match_its_steps() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    let _serial = serial();
    let sb = Sandbox::new();
    // The shipped varmail, 300 passes per cell (over its 4 threads), no warm-up.
    let file = repo_root().join("scenarios/varmail.yaml");
    let out = sb.run(
        &file,
        "varmail",
        &["--ops", "300", "--warmup", "0s", "--quiet"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("varmail").join("result.json"));
    for cell in result["cells"].as_array().unwrap() {
        let target = &cell["target"]["name"];
        assert_eq!(errors(cell), 0, "{target}: {}", cell["ops"]);
        assert_eq!(count(cell, "sequence"), 300, "{target}");
        // Per pass: unlink, create, 2 appends, 2 fsyncs, 3 closes, 2 opens, 2 whole-file reads.
        for (op, per_pass) in [
            ("unlink", 1),
            ("create", 1),
            ("write", 2),
            ("fsync", 2),
            ("close", 3),
            ("open", 2),
        ] {
            assert_eq!(count(cell, op), 300 * per_pass, "{target}: {op}");
        }
        // A whole-file read is at least one read(2) plus the one that sees EOF.
        assert!(
            count(cell, "read") >= 300 * 2 * 2,
            "{target}: read {}",
            count(cell, "read")
        );
    }
}

#[test]
#[ignore = "needs root, mkfs.ext4: an overlay on ext4 and an ext4 loop device"]
fn metadata_churns_an_overlays_lower_files_and_o_direct_reaches_the_device() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    let _serial = serial();
    let sb = Sandbox::new();
    let file = sb.write(
        "meta.yaml",
        concat!(
            "version: 1\nname: meta\nops: 2000\nwarmup: 0s\n",
            "targets:\n",
            "  - {name: ovl, kind: overlay, upper: {kind: ext4, size: 256MiB}, lower: {files: 500, file_size: 1KiB, dirs: 5}}\n",
            "  - {name: ext4, kind: ext4, size: 256MiB}\n",
            "workloads:\n",
            "  - {name: meta, kind: metadata, files: 300, mix: {create: 2, rename: 2, unlink: 2, stat: 4, link: 1, mkdir: 1, rmdir: 1}}\n",
            "  - {name: direct, kind: fsync_heavy, o_direct: true, record_size: 4KiB, file_size: 8MiB, fsync: never, think_time: 100us}\n",
        ),
    );
    let out = sb.run(&file, "meta", &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("meta").join("result.json"));
    for cell in result["cells"].as_array().unwrap() {
        let name = format!("{}/{}", cell["target"]["name"], cell["workload"]["name"]);
        assert_eq!(errors(cell), 0, "{name}: {}", cell["ops"]);
        if cell["workload"]["name"] == "meta" {
            assert_eq!(count(cell, "meta"), 2000, "{name}");
            for op in ["create", "rename", "unlink", "stat", "link", "mkdir"] {
                assert!(count(cell, op) > 0, "{name}: no {op}");
            }
        } else {
            // O_DIRECT, no sync calls: every byte written reached the device.
            assert_eq!(cell["workload"]["params"]["o_direct"], "true");
            let written = cell["bytes_written"].as_u64().unwrap();
            assert_eq!(written, 2000 * 4096, "{name}");
            assert!(
                cell["device"]["bytes_written"].as_u64().unwrap() >= written,
                "{name}: {}",
                cell["device"]
            );
            // 2000 think times of 100 µs: at least 0.2 s.
            assert!(cell["duration_s"].as_f64().unwrap() >= 0.2, "{name}");
        }
    }
    assert_nothing_left(&sb);
}

/// The overlay's upper layers as the run sees them: its mounts live in its
/// private namespace, reached through /proc/PID/root.
fn uppers(pid: u32, scratch: &std::path::Path, target: &str) -> Vec<std::path::PathBuf> {
    let seen = std::path::PathBuf::from(format!("/proc/{pid}/root"))
        .join(scratch.strip_prefix("/").unwrap());
    entries_with_prefix(&seen, "")
        .into_iter()
        .flat_map(|run| entries_with_prefix(&run.join("mnt"), ""))
        .filter(|m| m.to_string_lossy().ends_with(&format!("-{target}-upper")))
        .map(|m| m.join("upper"))
        .collect()
}

/// One look at an upper layer: (`tNN/name` of a moved directory → its
/// `trusted.overlay.redirect`, sorted) and the whiteouts at the top (sorted).
type Upper = (Vec<(String, String)>, Vec<String>);

fn redirects(upper: &std::path::Path) -> Upper {
    use std::os::unix::fs::FileTypeExt;
    let mut moved = Vec::new();
    for t in ["t00", "t01"] {
        for dir in entries_with_prefix(&upper.join(t), "r") {
            let mut buf = [0u8; 256];
            // A directory may move again between the listing and the read.
            if let Ok(n) = rustix::fs::lgetxattr(&dir, "trusted.overlay.redirect", &mut buf[..]) {
                let name = dir.file_name().unwrap().to_string_lossy();
                moved.push((
                    format!("{t}/{name}"),
                    String::from_utf8_lossy(&buf[..n]).into_owned(),
                ));
            }
        }
    }
    moved.sort();
    let mut whiteouts: Vec<String> = entries_with_prefix(upper, "d")
        .into_iter()
        .filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_char_device()))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    whiteouts.sort();
    (moved, whiteouts)
}

#[test]
#[ignore = "needs root, mkfs.ext4: overlays on ext4 with redirect_dir on and off"]
fn rename_dir_redirects_with_redirect_dir_on_and_fails_with_exdev_off() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    let _serial = serial();
    let sb = Sandbox::new();
    let lower = "upper: {kind: ext4, size: 128MiB}, lower: {files: 40, file_size: 1KiB, dirs: 4}";
    let file = sb.write(
        "mv.yaml",
        &format!(
            "version: 1\nname: mv\nops: 400\nwarmup: 0s\n\
             targets:\n\
             \x20 - {{name: on, kind: overlay, {lower}, options: [redirect_dir=on]}}\n\
             \x20 - {{name: off, kind: overlay, {lower}, options: [redirect_dir=off]}}\n\
             workloads:\n\
             \x20 - {{name: mv, kind: metadata, threads: 2, mix: {{rename_dir: 1, stat: 1}}}}\n"
        ),
    );
    // Each cell pauses 3 s before its teardown: time to look at the upper
    // layer the run is about to discard.
    let mut child = sb
        .run_command(&file, "mv", &["--quiet"])
        .env("WPBENCH_TEST_HOOK", "pause:teardown")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (mut on, mut off): (Upper, usize) = Default::default();
    while child.try_wait().unwrap().is_none() {
        for upper in uppers(pid, &sb.scratch(), "on") {
            let seen = redirects(&upper);
            // The fullest look wins: once the cell ends, its teardown
            // removes the whiteouts before the moved directories.
            if (seen.0.len(), seen.1.len()) >= (on.0.len(), on.1.len()) {
                on = seen;
            }
        }
        for upper in uppers(pid, &sb.scratch(), "off") {
            let moved = ["t00", "t01"].map(|t| entries_with_prefix(&upper.join(t), "r").len());
            off = off.max(moved.iter().sum());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // redirect_dir=on: the four lower directories moved into their thread's
    // `tNN` (thread 0 owns d0000 and d0002), each carrying where it came
    // from, and their old names are whiteouts.
    let (moved, whiteouts) = on;
    assert_eq!(
        moved.len(),
        4,
        "redirected directories seen in the upper layer: {moved:?}"
    );
    for (name, redirect) in &moved {
        let owner = if ["/d0000", "/d0002"].contains(&redirect.as_str()) {
            "t00/"
        } else {
            "t01/"
        };
        assert!(name.starts_with(owner), "{name}: redirect {redirect:?}");
    }
    let mut origins: Vec<&str> = moved.iter().map(|(_, r)| r.as_str()).collect();
    origins.sort();
    assert_eq!(origins, ["/d0000", "/d0001", "/d0002", "/d0003"]);
    assert_eq!(whiteouts, ["d0000", "d0001", "d0002", "d0003"]);
    // redirect_dir=off: nothing moved.
    assert_eq!(off, 0);

    let result = read_json(&sb.out("mv").join("result.json"));
    let cells = result["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2);
    for cell in cells {
        let target = cell["target"]["name"].as_str().unwrap();
        let mv = &cell["ops"]["rename_dir"];
        let exdev = mv["errors"]["EXDEV"].as_u64().unwrap_or(0);
        assert!(count(cell, "stat") > 100, "{target}: {}", cell["ops"]);
        if target == "on" {
            assert!(count(cell, "rename_dir") > 100, "{target}: {mv}");
            assert_eq!(errors(cell), 0, "{target}: {}", cell["ops"]);
        } else {
            // Every move refused, counted by errno under rename_dir and its
            // unit op, and the run carried on: `ops:` counts completed unit
            // ops, so all 400 are stats.
            assert_eq!(count(cell, "rename_dir"), 0, "{target}: {mv}");
            assert!(exdev > 100, "{target}: {mv}");
            assert_eq!(cell["ops"]["meta"]["errors"]["EXDEV"], exdev, "{target}");
            assert_eq!(count(cell, "stat"), 400, "{target}");
            assert_eq!(count(cell, "meta"), 400, "{target}");
            assert_eq!(errors(cell), 2 * exdev, "{target}: {}", cell["ops"]);
        }
    }
    assert_nothing_left(&sb);
}

/// The `task` op's count from a cell's note on head-start tasks, if any.
fn head_starts_ended(cell: &Value) -> u64 {
    cell["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str())
        .find(|n| n.contains("head start"))
        .map_or(0, |n| n.split(' ').next().unwrap().parse().unwrap())
}

/// Task logs under a kept hostPath cell directory: thread dir → (name, bytes).
fn task_logs(dir: &std::path::Path) -> BTreeMap<String, Vec<(String, Vec<u8>)>> {
    let mut out: BTreeMap<String, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if p.is_dir() {
                stack.push(p);
            } else if name.starts_with("task") {
                let thread = d.file_name().unwrap().to_string_lossy().to_string();
                out.entry(thread)
                    .or_default()
                    .push((name, std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

#[test]
#[ignore = "needs root: a tmpfs and a hostPath cell"]
fn log_append_open_tasks_live_long_and_match_the_logs_on_disk() {
    require(&[Need::Root]);
    let _serial = serial();
    let sb = Sandbox::new();
    // Fixed sizes make the bookkeeping exact: a task is 128 lines of 128 B.
    // 2 threads × 2000 lines/s; with 50 open logs a thread's tasks each get
    // 40 lines/s and live ≈ 3.2 s; with one, ≈ 64 ms.
    let file = sb.write(
        "logs.yaml",
        &concat!(
            "version: 1\nname: logs\nseed: 3\nduration: 6s\nwarmup: 0s\n",
            "targets:\n",
            "  - {name: tmpfs, kind: tmpfs, size: 512MiB}\n",
            "  - {name: host, kind: hostpath, path: HOSTPATH}\n",
            "workloads:\n",
            "  - name: logs\n    kind: log_append\n    threads: 2\n    line_size: 128B\n",
            "    file_size: 16KiB\n    retain: 100000\n    rate: 2000/s\n    fsync: on_close\n",
            "    vary: {open_tasks: [1, 50]}\n",
        )
        .replace("HOSTPATH", &sb.hostpath().display().to_string()),
    );
    let out = sb.run(&file, "logs", &["--keep", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("logs").join("result.json"));
    let task_p50 = |target: &str, open: &str| {
        let c = result["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| {
                c["target"]["name"] == target && c["workload"]["params"]["open_tasks"] == open
            })
            .unwrap();
        c["ops"]["task"]["p50_ns"].as_f64().unwrap() / 1e9
    };
    for cell in result["cells"].as_array().unwrap() {
        let target = cell["target"]["name"].as_str().unwrap();
        let open: u64 = cell["workload"]["params"]["open_tasks"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let name = format!("{target}/{}", cell["workload"]["name"]);
        assert_eq!(errors(cell), 0, "{name}: {}", cell["ops"]);
        let lines = count(cell, "line");
        assert!(lines >= 22_800, "{name}: {lines} lines of 24 000");
        assert_eq!(
            cell["bytes_written"].as_u64().unwrap(),
            lines * 128,
            "{name}"
        );
        let (tasks, heads) = (count(cell, "task"), head_starts_ended(cell));
        assert_eq!(heads == 0, open == 1, "{name}: {}", cell["notes"]);
        // on_close: one sync per ended task; the ones cut short by the end
        // of the cell were neither synced nor counted.
        assert_eq!(count(cell, "fsync"), tasks + heads, "{name}");
        assert!(tasks > 20, "{name}: {tasks} tasks");
        if target != "host" {
            continue;
        }
        let dir = entries_with_prefix(&sb.hostpath(), "wpbench-")
            .into_iter()
            .find(|d| {
                d.to_string_lossy()
                    .ends_with(&format!("-c{}", cell["index"]))
            })
            .unwrap_or_else(|| panic!("{name}: no kept directory"));
        let logs = task_logs(&dir);
        assert_eq!(logs.len(), 2, "{name}: one directory per thread");
        let (mut complete, mut disk_bytes) = (0, 0);
        for (thread, files) in &logs {
            let cut = files.iter().filter(|(_, b)| b.len() < 16 << 10).count() as u64;
            assert!(cut <= open, "{name} {thread}: {cut} logs cut short");
            complete += files.len() as u64 - cut;
            // Whole lines only. Nothing verifies this cell, so its lines are
            // plain text without sequence numbers (docs/scenarios.md, "What
            // is written"); the byte count below accounts for every line.
            for l in files
                .iter()
                .flat_map(|(_, b)| b.split(|c| *c == b'\n').filter(|l| !l.is_empty()))
            {
                assert_eq!(l.len(), 127, "{name}: a line of 128 B with its newline");
                assert!(
                    l.iter().all(|c| c.is_ascii_graphic() || *c == b' '),
                    "{name} {thread}: a line of printable text"
                );
            }
            disk_bytes += files.iter().map(|(_, b)| b.len() as u64).sum::<u64>();
        }
        // Every ended task is a full log on disk.
        assert_eq!(complete, tasks + heads, "{name}");
        // What is on disk beyond the run's lines was written before the
        // clock: the head start, less than one log per open slot.
        let head = disk_bytes - lines * 128;
        assert!(
            head < 2 * open * (16 << 10),
            "{name}: {head} B of head start"
        );
        assert_eq!(head == 0, open == 1, "{name}: {head} B of head start");
    }
    // Fifty logs open per thread: each task lives about fifty times longer.
    for target in ["tmpfs", "host"] {
        let (one, fifty) = (task_p50(target, "1"), task_p50(target, "50"));
        assert!((2.4..4.5).contains(&fifty), "{target}: task p50 {fifty} s");
        assert!(
            (25.0..75.0).contains(&(fifty / one)),
            "{target}: {fifty} s vs {one} s"
        );
    }
    for d in entries_with_prefix(&sb.hostpath(), "wpbench-") {
        std::fs::remove_dir_all(d).unwrap();
    }
    assert_nothing_left(&sb);
}
