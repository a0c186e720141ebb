//! Faults on real targets. Power cuts: the shutdown ioctl (through its guard) during a cell, a
//! remount that replays the journal, and a verifier that holds the
//! filesystem to what it acknowledged.

use serde_json::Value;

use crate::support::*;

/// The cell's crash durability; printed whole (every trial, its moment and
/// classification) when an assertion on it fails.
fn durability<'a>(result: &'a Value, target: &str, workload: &str) -> Durability<'a> {
    let cell = cell_on(result, target, workload);
    assert_eq!(cell["faults"][0]["kind"], "crash", "{}", cell["faults"]);
    Durability(&cell["faults"][0])
}

#[derive(Clone, Copy)]
struct Durability<'a>(&'a Value);

impl std::ops::Index<&str> for Durability<'_> {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        &self.0["durability"][key]
    }
}

impl std::fmt::Display for Durability<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

fn n(d: Durability, key: &str) -> u64 {
    d[key].as_u64().unwrap_or_else(|| panic!("{key} in {d}"))
}

#[test]
#[ignore = "needs root, mkfs.ext4, mkfs.xfs: power cuts on ext4 and xfs loop devices"]
fn acknowledged_writes_survive_power_cuts_on_ext4_and_xfs() {
    require(&[Need::Root, Need::MKFS_EXT4, Need::MKFS_XFS]);
    let _serial = serial();
    let sb = Sandbox::new();
    let file = sb.write(
        "crash.yaml",
        concat!(
            "version: 1\nname: crash\nseed: 9\nduration: 2s\nwarmup: 0s\n",
            "targets:\n",
            "  - {name: ext4, kind: ext4, size: 256MiB, options: [data=ordered]}\n",
            "  - {name: ext4-wb, kind: ext4, size: 256MiB, options: [data=writeback]}\n",
            "  - {name: xfs, kind: xfs, size: 320MiB}\n",
            // Room for ~1.2 s of unsynced small files at tmpfs speed.
            "  - {name: tmpfs, kind: tmpfs, size: 1GiB}\n",
            "workloads:\n",
            "  - {name: always, kind: fsync_heavy, fsync: always, file_size: 64MiB}\n",
            "  - {name: never, kind: fsync_heavy, fsync: never, file_size: 64MiB}\n",
            "  - {name: files, kind: small_files, fsync: always, fsync_dir: true}\n",
            "faults:\n",
            "  - {kind: crash, at: 300ms..1200ms, trials: 3}\n",
        ),
    );
    let out = sb.run(&file, "crash", &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("crash").join("result.json"));
    for target in ["ext4", "ext4-wb", "xfs"] {
        for workload in ["always", "files"] {
            let d = durability(&result, target, workload);
            assert_eq!(n(d, "trials"), 3, "{target}/{workload}: {d}");
            assert_eq!(
                n(d, "acked_lost"),
                0,
                "{target}/{workload}: durability violation {d}"
            );
            assert_eq!(
                n(d, "acked_name_lost"),
                0,
                "{target}/{workload}: fsync_dir keeps names {d}"
            );
            assert!(n(d, "acked_intact") > 10, "{target}/{workload}: {d}");
        }
        // Nothing was ever synced: the crash loses it, and the loss window says how much.
        let d = durability(&result, target, "never");
        assert_eq!(
            n(d, "acked_intact") + n(d, "acked_lost"),
            0,
            "{target}: {d}"
        );
        assert!(
            n(d, "unacked_lost") > 0 && n(d, "loss_window_bytes") > 0,
            "{target}: {d}"
        );
        assert!(d["loss_window_ms"].as_f64().unwrap() > 0.0, "{target}: {d}");
    }
    // tmpfs: everything is lost by definition, including what fsync "acknowledged".
    let d = durability(&result, "tmpfs", "always");
    assert_eq!(n(d, "acked_intact"), 0, "{d}");
    assert!(n(d, "acked_lost") > 0, "{d}");
    for c in result["cells"].as_array().unwrap() {
        let outcome = c["faults"][0]["per_trial"][0]["outcome"].as_str().unwrap();
        let expected = if c["target"]["kind"] == "tmpfs" {
            "by definition"
        } else {
            "remounted, journal replayed"
        };
        assert!(outcome.contains(expected), "{outcome}");
        // Every trial's timeline, on the interval log's time axis.
        let trial = &c["faults"][0]["per_trial"][0];
        let events: Vec<&str> = trial["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["event"].as_str())
            .collect();
        assert_eq!(events, ["armed", "fired", "healed"], "{trial:#}");
        let fired = trial["timeline"][1]["at_s"].as_f64().unwrap();
        assert!(
            (fired - trial["fired_at_s"].as_f64().unwrap()).abs() < 1e-6,
            "{trial:#}"
        );
        assert!((0.3..1.3).contains(&fired), "{trial:#}");
    }
    assert_nothing_left(&sb);
}

#[test]
#[ignore = "needs root, mkfs.ext4: power cuts on an ext4 loop device"]
fn the_verifier_tells_a_lost_name_from_lost_data() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    let _serial = serial();
    let sb = Sandbox::new();
    // Files fsynced without fsync_dir: their data is acknowledged, their
    // names are not. ext4 usually commits the name with the data's
    // transaction, so losses are rare; whatever is lost must be classified
    // as a lost name, never as a violation.
    let file = sb.write(
        "names.yaml",
        concat!(
            "version: 1\nname: names\nseed: 4\nduration: 2s\nwarmup: 0s\n",
            "targets:\n  - {name: ext4, kind: ext4, size: 256MiB}\n",
            "workloads:\n  - {name: files, kind: small_files, fsync: always, fsync_dir: false}\n",
            "faults:\n  - {kind: crash, at: 200ms..800ms, trials: 3}\n",
        ),
    );
    let out = sb.run(&file, "names", &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("names").join("result.json"));
    let d = durability(&result, "ext4", "files");
    eprintln!("fsync without fsync_dir, 3 power cuts: {d}");
    assert_eq!(n(d, "acked_lost"), 0, "{d}");
    assert!(n(d, "acked_intact") + n(d, "acked_name_lost") > 100, "{d}");
    assert_nothing_left(&sb);
}

/// Runs a one-cell crash scenario of a wrapping WAL on ext4 (4 KiB
/// records, `file_size` per log) with `fsync`, and returns each trial
/// that fired: its moment (s), records before it, and its durability.
fn wrapping_wal_trials(fsync: &str, file_size: &str) -> Vec<(f64, u64, Value)> {
    let sb = Sandbox::new();
    let file = sb.write(
        "wrap.yaml",
        &format!(
            "version: 1\nname: wrap\nseed: 6\nduration: 1500ms\nwarmup: 100ms\n\
             targets:\n  - {{name: ext4, kind: ext4, size: 256MiB}}\n\
             workloads:\n  - {{name: wal, kind: fsync_heavy, record_size: 4KiB, \
             file_size: {file_size}, fsync: {fsync}}}\n\
             faults:\n  - {{kind: crash, at: 400ms..1000ms, trials: 2}}\n"
        ),
    );
    let out = sb.run(&file, "wrap", &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("wrap").join("result.json"));
    let d = durability(&result, "ext4", "wal");
    assert_eq!(n(d, "acked_lost"), 0, "durability violation {d}");
    let trials: Vec<(f64, u64, Value)> = d.0["per_trial"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["fired"] == true)
        .map(|t| {
            (
                t["fired_at_s"].as_f64().unwrap(),
                t["unit_ops_before"].as_u64().unwrap(),
                t["durability"].clone(),
            )
        })
        .collect();
    assert_eq!(trials.len(), 2, "{d}");
    assert_nothing_left(&sb);
    trials
}

fn get(d: &Value, key: &str) -> u64 {
    d[key].as_u64().unwrap_or_else(|| panic!("{key} in {d:#}"))
}

#[test]
#[ignore = "needs root, mkfs.ext4: power cuts on an ext4 loop device"]
fn a_wal_that_never_syncs_puts_everything_since_it_began_in_the_loss_window() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    let _serial = serial();
    // 64 records per log: it wraps every 64 records, thousands of times
    // before the cut. Nothing is ever synced, so everything written since
    // the warm-up began — overwritten or not — is at risk at the cut.
    for (fired, before, d) in wrapping_wal_trials("never", "256KiB") {
        let ms = d["loss_window_ms"].as_f64().unwrap();
        // At least the time since the measured phase began (the writes of
        // the 100 ms warm-up before it count too); 1 ms for the clocks.
        assert!(ms >= fired * 1e3 - 1.0, "{ms} ms, cut at {fired} s: {d:#}");
        let records = get(&d, "loss_window_records");
        assert!(records >= before, "{records} < {before} records: {d:#}");
        assert_eq!(get(&d, "loss_window_bytes"), records * 4096, "{d:#}");
        // What is still there to look for: the newest record per place.
        let checked = get(&d, "unacked_lost") + get(&d, "unacked_survived");
        assert!(checked <= 64, "{d:#}");
        assert_eq!(
            get(&d, "loss_window_overwritten"),
            records - checked,
            "{d:#}"
        );
        assert!(records > 64 * 10, "it wrapped many times: {d:#}");
        assert_eq!(get(&d, "acked_intact"), 0, "{d:#}");
        // No record reads as torn for having been overwritten.
        assert_eq!(get(&d, "torn"), 0, "{d:#}");
        assert!(get(&d, "unacked_lost") > 0, "{d:#}");
    }
}

#[test]
#[ignore = "needs root, mkfs.ext4: power cuts on an ext4 loop device"]
fn a_wal_synced_every_64_records_risks_only_what_followed_its_last_sync() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    let _serial = serial();
    // 256 records per log, a sync every 64: each record overwrites one a
    // sync acknowledged four syncs before.
    for (fired, before, d) in wrapping_wal_trials("{every: 64}", "1MiB") {
        let records = get(&d, "loss_window_records");
        // Everything after the last sync that returned before the cut: at
        // most 64 records, or 64 more when a sync was in flight across the
        // cut (it returned after it, acknowledging nothing).
        assert!(records <= 128, "{d:#}");
        assert_eq!(get(&d, "loss_window_bytes"), records * 4096, "{d:#}");
        // None of them overwritten (64 < 256), so each is still there to
        // look for, and nothing else is unacknowledged.
        assert!(d.get("loss_window_overwritten").is_none(), "{d:#}");
        assert_eq!(
            get(&d, "unacked_lost") + get(&d, "unacked_survived"),
            records,
            "{d:#}"
        );
        // The acknowledged records under the unsynced ones were kept: a
        // lost new record with the old one there reads as lost, not torn.
        assert_eq!(get(&d, "torn"), 0, "{d:#}");
        assert!(get(&d, "acked_intact") >= 256 - records, "{d:#}");
        // The window reaches back to the first record after that sync, no
        // further: with 128 records done in the measured phase before the
        // cut, a sync returned in it (the record after it completed), so
        // the window is shorter than the phase — unlike `never`'s.
        let ms = d["loss_window_ms"].as_f64().unwrap();
        assert!(before >= 128, "{before} records before the cut: {d:#}");
        assert!(ms < fired * 1e3, "{ms} ms, cut at {fired} s: {d:#}");
        assert_eq!(records > 0, ms > 0.0, "{d:#}");
    }
}

#[test]
#[ignore = "needs root, mkfs.ext4: cgroup throttles on ext4 loop devices"]
fn a_throttle_caps_iops_and_a_noisy_neighbour_shares_the_device() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    let _serial = serial();
    let sb = Sandbox::new();
    let file = sb.write(
        "throttle.yaml",
        concat!(
            "version: 1\nname: throttle\nduration: 3s\nwarmup: 0s\n",
            "targets:\n  - {name: ext4, kind: ext4, size: 256MiB}\n",
            "  - {name: nobarrier, kind: ext4, size: 256MiB, options: [nobarrier]}\n",
            "workloads:\n",
            "  - {name: capped, kind: fsync_heavy, fsync: always, file_size: 16MiB}\n",
            "  - {name: free, kind: fsync_heavy, fsync: always, file_size: 16MiB}\n",
            "  - {name: shared, kind: fsync_heavy, fsync: always, file_size: 16MiB}\n",
            "faults:\n",
            "  - {kind: throttle, workload: capped, write_iops: 100}\n",
            "  - {kind: noisy_neighbor, target: ext4, workload: shared, write_bps: 4MiB/s, fsync_every: 1MiB}\n",
        ),
    );
    let out = sb.run(&file, "throttle", &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("throttle").join("result.json"));
    let cell = |w: &str| cell_on(&result, "ext4", w).clone();
    let rate = |w: &str| cell(w)["ops"]["record"]["ops_per_sec"].as_f64().unwrap();
    let (capped, free) = (rate("capped"), rate("free"));
    eprintln!(
        "fsync-per-record WAL: {capped:.0} records/s at 100 write IOPS, {free:.0} unthrottled"
    );
    // Each record is a data write and a cache flush: two of the 100 IOPS.
    assert!(
        (30.0..=110.0).contains(&capped),
        "{capped} records/s under 100 write IOPS"
    );
    // Unthrottled it runs faster (by how much depends on the machine's load).
    assert!(
        free > 1.5 * capped,
        "unthrottled {free} vs throttled {capped}"
    );
    // Without cache flushes (nobarrier) each record is one write: ~100/s.
    let one_io = cell_on(&result, "nobarrier", "capped")["ops"]["record"]["ops_per_sec"]
        .as_f64()
        .unwrap();
    eprintln!("nobarrier: {one_io:.0} records/s at 100 write IOPS");
    assert!(
        (85.0..=115.0).contains(&one_io),
        "{one_io} records/s at 100 write IOPS with one IO per record"
    );
    let throttle = &cell("capped")["faults"][0];
    assert_eq!(throttle["kind"], "throttle");
    let healed = throttle["timeline"][1]["at_s"].as_f64().unwrap_or(0.0);
    assert_eq!(throttle["timeline"][0]["event"], "armed", "{throttle:#}");
    assert!(
        throttle["timeline"][1]["event"] == "healed" && healed >= 3.0,
        "{throttle:#}"
    );
    assert_eq!(throttle["limits"]["write_iops"], 100);
    let neighbour = &cell("shared")["faults"][0]["neighbor"];
    let bytes = neighbour["bytes_written"].as_u64().unwrap();
    assert!(
        bytes >= 8 << 20,
        "the neighbour wrote {bytes} bytes in 3 s at 4 MiB/s"
    );
    assert!(neighbour["fsyncs"].as_u64().unwrap() >= 8);
    assert_nothing_left(&sb);
    // This run's cgroups only: another wpbench may be running beside it.
    let run_id = result["run_id"].as_str().unwrap();
    assert!(
        throttle["cgroup"]
            .as_str()
            .unwrap()
            .contains(&format!("wpbench-{run_id}-")),
        "{throttle:#}"
    );
    let cgroups = cgroups_of_run(run_id);
    assert!(cgroups.is_empty(), "cgroups left: {cgroups:?}");
}

#[test]
#[ignore = "needs root, mkfs.ext4, mkfs.xfs: power cuts on overlays over ext4 and xfs"]
fn an_overlay_crashes_through_its_upper_and_a_volatile_one_must_be_discarded() {
    require(&[Need::Root, Need::MKFS_EXT4, Need::MKFS_XFS]);
    let _serial = serial();
    let sb = Sandbox::new();
    let file = sb.write(
        "ovl.yaml",
        concat!(
            "version: 1\nname: ovl\nduration: 2s\nwarmup: 0s\n",
            "targets:\n",
            "  - {name: ovl, kind: overlay, upper: {kind: ext4, size: 256MiB}, lower: {files: 20, file_size: 4KiB}}\n",
            "  - {name: vol, kind: overlay, upper: {kind: xfs, size: 320MiB}, options: [volatile]}\n",
            "workloads:\n  - {name: wal, kind: fsync_heavy, fsync: always, file_size: 32MiB}\n",
            "faults:\n  - {kind: crash, at: 300ms..900ms, trials: 2}\n",
        ),
    );
    let out = sb.run(&file, "ovl", &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("ovl").join("result.json"));
    let d = durability(&result, "ovl", "wal");
    assert_eq!(n(d, "acked_lost"), 0, "{d}");
    assert!(n(d, "acked_intact") > 10, "{d}");
    // volatile: fsync returned without syncing; the upper cannot be mounted again.
    let d = durability(&result, "vol", "wal");
    assert!(n(d, "acked_lost") > 0, "{d}");
    let cell = result["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["target"]["name"] == "vol")
        .unwrap();
    let outcome = cell["faults"][0]["per_trial"][0]["outcome"]
        .as_str()
        .unwrap();
    assert!(outcome.contains("must be discarded"), "{outcome}");
    assert_nothing_left(&sb);
}

#[test]
#[ignore = "needs root, mkfs.ext4: fills an overlay's ext4 upper"]
fn a_full_filesystem_reports_its_first_enospc_and_keeps_what_it_acknowledged() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    let _serial = serial();
    let sb = Sandbox::new();
    let file = repo_root().join("scenarios/upperdir-inodes.yaml");
    // An op count, not a duration, so a slow (shared) machine still gets
    // past the upper's 2048 inodes: the writers fill it, then fail 1000
    // times in a row and stop.
    let out = sb.run(&file, "inodes", &["--ops", "4000", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("inodes").join("result.json"));
    for cell in result["cells"].as_array().unwrap() {
        let name = format!("{}/{}", cell["target"]["name"], cell["workload"]["name"]);
        let f = &cell["faults"][0];
        assert_eq!(f["kind"], "enospc", "{name}");
        let first = f["first_enospc_s"]
            .as_f64()
            .unwrap_or_else(|| panic!("{name}: no ENOSPC {f}"));
        assert!(first > 0.0, "{name}: {first}");
        let errors = &cell["ops"]["file"]["errors"]["ENOSPC"];
        assert!(
            errors.as_u64().unwrap() >= 1,
            "{name}: {}",
            cell["ops"]["file"]
        );
        let d = Durability(f);
        assert_eq!(n(d, "acked_lost"), 0, "{name}: {d}");
        assert!(n(d, "acked_intact") > 0, "{name}: {d}");
        if f["on_error"] == "stop" {
            assert_eq!(errors, 1, "{name}: stops at the first");
        }
    }
    assert_nothing_left(&sb);
}

#[test]
#[ignore = "needs root, mkfs.ext4, mkfs.xfs: thin volumes under ext4 and xfs running dry"]
fn a_thin_volume_running_dry_reports_eio_the_fsync_retry_and_the_filesystems_reaction() {
    require(&[Need::Root, Need::MKFS_EXT4, Need::MKFS_XFS]);
    let _serial = serial();
    let sb = Sandbox::new();
    let file = repo_root().join("scenarios/thin-volume-eio.yaml");
    let out = sb.run(
        &file,
        "eio",
        &["--only", "*/files", "--duration", "3s", "--quiet"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("eio").join("result.json"));
    let cells = result["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2);
    for cell in cells {
        let name = cell["target"]["name"].as_str().unwrap();
        let f = &cell["faults"][0];
        assert_eq!(f["kind"], "eio", "{name}: {f:#}");
        eprintln!("{name}: {}; probe: {}", f["outcome"], f["fsync_probe"]);
        // The pool was capped once setup was done, at its use plus `after`.
        let pool = &f["pool"];
        assert_eq!(
            pool["pool_capped_at_bytes"].as_u64().unwrap(),
            (pool["pool_used_bytes"].as_u64().unwrap() + (16 << 20)).div_ceil(4096) * 4096,
            "{name}: {pool}"
        );
        // Which op saw the device fail first, and with what.
        let first = &f["first_errors"][0];
        let errno = first["errno"].as_str().unwrap_or("");
        assert!(["EIO", "ENOSPC", "EROFS"].contains(&errno), "{name}: {f:#}");
        if name == "ext4" {
            // Verified on this kernel: ext4 reports EIO from fsync and aborts its journal.
            assert_eq!(
                (first["op"].as_str(), errno),
                (Some("fsync"), "EIO"),
                "{f:#}"
            );
            let reaction: Vec<&str> = f["reaction"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|r| r.as_str())
                .collect();
            assert!(reaction.contains(&"journal aborted"), "{reaction:?}");
            assert!(f["ext4_errors_count"].as_u64().unwrap() >= 1, "{f:#}");
        }
        assert!(
            cell["ops"]["fsync"]["errors"]
                .as_object()
                .is_some_and(|e| !e.is_empty()),
            "{name}: fsync errors counted: {}",
            cell["ops"]["fsync"]
        );
        // The fsyncgate probe asked fsync twice, and its data was looked for.
        let probe = &f["fsync_probe"];
        for key in ["write", "fsync", "fsync_retry", "verdict"] {
            assert!(probe[key].is_string(), "{name}: {key} in {probe}");
        }
        assert_ne!(probe["data_after_remount"], "unknown", "{name}: {probe}");
        // Room was made, the filesystem mounted again, and what it
        // acknowledged before the pool ran dry is intact.
        let d = Durability(f);
        assert!(n(d, "acked_intact") > 10, "{name}: {d}");
        assert_eq!(n(d, "acked_lost"), 0, "{name}: {d}");
        let events: Vec<&str> = f["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["event"].as_str())
            .filter(|e| *e != "note")
            .collect();
        assert_eq!(events, ["armed", "fired", "healed"], "{name}: {f:#}");
    }
    let summary = std::fs::read_to_string(sb.out("eio").join("summary.md")).unwrap();
    assert!(summary.contains("fsync probe:"), "{summary}");
    assert_nothing_left(&sb);
}
