//! The plan's estimate and what a machine lacks for it.

use super::*;
use crate::scenario::plan::plan;

fn load(text: &str) -> Scenario {
    crate::scenario::load_str(text, std::path::Path::new("b.yaml")).unwrap()
}

fn est(text: &str) -> Estimate {
    let s = load(text);
    let p = plan(&s, &[]).unwrap();
    estimate(&s, &p)
}

const HEAD: &str = "version: 1\nname: b\nduration: 2s\nwarmup: 1s\n";

#[test]
fn lower_layers_and_images_count_on_the_scratch_filesystem() {
    let e = est(&format!(
        "{HEAD}targets:\n  - name: o\n    kind: overlay\n    upper: {{kind: ext4, size: 512MiB}}\n    \
         lower: {{files: 1000, file_size: 10KiB, dirs: 10}}\n\
         workloads:\n  - {{name: w, kind: fsync_heavy, file_size: 64MiB}}\n"
    ));
    // 512 MiB image + 1000 × 12 KiB (three blocks each).
    assert_eq!(e.scratch.bytes, (512 << 20) + 1000 * 12 * 1024);
    assert_eq!(e.scratch.inodes, 2 + 1000 + 10 + 1);
    assert_eq!(e.memory, MemoryPeak::default());
    assert_eq!(e.cells, 1);
    assert!(
        e.wall.seconds > 3.0 && e.wall.seconds < 10.0,
        "{:?}",
        e.wall
    );
}

#[test]
fn memory_does_not_grow_with_the_size_of_setup_files() {
    // Lower files, copy-up files and read sets are written a megabyte at a
    // time: gigabyte files cost the plan no more memory than small ones
    // (the tmpfs upper's size, which holds what is copied up), and only
    // the scratch area grows.
    let overlay = |size: &str| {
        est(&format!(
            "{HEAD}targets:\n  - name: o\n    kind: overlay\n    upper: {{kind: tmpfs, size: 64MiB}}\n    \
             lower: {{files: 2, file_size: {size}}}\n\
             workloads:\n  - {{name: c, kind: copy_up}}\n"
        ))
    };
    let (small, large) = (overlay("64MiB"), overlay("4GiB"));
    assert_eq!(large.memory, small.memory);
    assert_eq!(large.memory.resolve(8 << 30), 64 << 20);
    assert_eq!(
        large.scratch.bytes - small.scratch.bytes,
        2 * ((4 << 30) - (64 << 20))
    );
    let on_ext4 = |size: &str| {
        est(&format!(
            "{HEAD}targets:\n  - {{name: e, kind: ext4, size: 16GiB}}\n\
             workloads:\n  - {{name: c, kind: copy_up, files: 2, file_size: {size}}}\n  \
             - {{name: r, kind: read_atime, files: 2, file_size: {size}}}\n"
        ))
    };
    assert_eq!(on_ext4("1MiB").memory, MemoryPeak::default());
    assert_eq!(on_ext4("1GiB").memory, MemoryPeak::default());
}

#[test]
fn terabytes_of_lower_files_are_counted_not_overflowed() {
    let e = est(&format!(
        "{HEAD}targets:\n  - name: o\n    kind: overlay\n    upper: {{kind: tmpfs, size: 1GiB}}\n    \
         lower: {{files: 2000000, file_size: 1MiB}}\n\
         workloads:\n  - {{name: w, kind: small_files}}\n"
    ));
    assert_eq!(e.scratch.bytes, 2_000_000 << 20);
    let tight = Machine {
        ram: 8 << 30,
        mem_available: 6 << 30,
        nofile_hard: Some(1 << 20),
        scratch: room("/var/tmp", 1, 100 << 30, 50 << 30),
        output: room("/work", 2, 100 << 30, 50 << 30),
        hostpaths: Vec::new(),
    };
    let short = shortfalls(&e, &tight);
    assert_eq!(short.len(), 1, "{short:?}");
    assert!(short[0].contains("1.9TiB"), "{}", short[0]);
    assert!(short[0].contains("/var/tmp"), "{}", short[0]);
    assert!(short[0].contains("50GiB free"), "{}", short[0]);
}

fn room(path: &str, dev: u64, total: u64, free: u64) -> FsRoom {
    FsRoom {
        path: PathBuf::from(path),
        dev,
        total_bytes: total,
        free_bytes: free,
        free_inodes: 1 << 24,
    }
}

#[test]
fn a_tmpfs_without_size_holds_half_the_ram_unless_its_workload_is_bounded() {
    let unbounded = est(&format!(
        "{HEAD}targets:\n  - {{name: t, kind: tmpfs}}\nworkloads:\n  - {{name: w, kind: small_files}}\n"
    ));
    assert_eq!(unbounded.memory.resolve(8 << 30), 4 << 30);
    let bounded = est(&format!(
        "{HEAD}targets:\n  - {{name: t, kind: tmpfs}}\n\
         workloads:\n  - {{name: w, kind: fsync_heavy, threads: 2, file_size: 64MiB}}\n"
    ));
    assert_eq!(bounded.memory.resolve(8 << 30), 128 << 20);
    let m = Machine {
        ram: 8 << 30,
        mem_available: 3 << 30,
        nofile_hard: None,
        scratch: room("/s", 1, 100 << 30, 50 << 30),
        output: room("/s", 1, 100 << 30, 50 << 30),
        hostpaths: Vec::new(),
    };
    let short = shortfalls(&unbounded, &m);
    assert_eq!(short.len(), 1, "{short:?}");
    assert!(short[0].contains("up to 4GiB"), "{}", short[0]);
    assert!(short[0].contains("half the RAM"), "{}", short[0]);
    assert!(shortfalls(&bounded, &m).is_empty());
}

#[test]
fn reused_targets_add_up_and_the_others_take_turns() {
    let e = est(&format!(
        "{HEAD}targets:\n  - {{name: a, kind: ext4, size: 1GiB}}\n  - {{name: b, kind: ext4, size: 2GiB}}\n  \
         - {{name: c, kind: ext4, size: 512MiB, reuse: true}}\n\
         workloads:\n  - {{name: w, kind: fsync_heavy, file_size: 1MiB}}\n"
    ));
    assert_eq!(e.scratch.bytes, (2 << 30) + (512 << 20));
}

#[test]
fn repeats_and_crash_trials_multiply_the_time_not_the_space() {
    let one = est(&format!(
        "{HEAD}targets:\n  - {{name: e, kind: ext4}}\nworkloads:\n  - {{name: w, kind: fsync_heavy}}\n"
    ));
    let many = est(&format!(
        "{HEAD}repeat: 3\ntargets:\n  - {{name: e, kind: ext4}}\nworkloads:\n  - {{name: w, kind: fsync_heavy}}\n\
         faults:\n  - {{kind: crash, at: 1s, trials: 4}}\n"
    ));
    assert_eq!((one.cells, one.runs), (1, 1));
    assert_eq!((many.cells, many.runs), (3, 12));
    assert!((many.wall.seconds / one.wall.seconds - 12.0).abs() < 1e-6);
    assert_eq!(one.scratch, many.scratch);
}

#[test]
fn hostpath_writes_are_bounded_only_where_the_workload_is() {
    let e = est(&format!(
        "{HEAD}targets:\n  - {{name: h, kind: hostpath, path: /var/tmp/x}}\n\
         workloads:\n  - {{name: wal, kind: fsync_heavy, threads: 2, file_size: 8MiB}}\n  \
         - {{name: files, kind: small_files}}\n"
    ));
    // small_files for 2 s writes as much as it can: no bound.
    assert_eq!(e.hostpaths.len(), 1);
    assert_eq!(e.hostpaths[0].bytes, None);
    let lines = e.describe().join("\n");
    assert!(lines.contains("as much as the workload writes"), "{lines}");
    let e = est(&format!(
        "{HEAD}targets:\n  - {{name: h, kind: hostpath, path: /var/tmp/x}}\n\
         workloads:\n  - {{name: wal, kind: fsync_heavy, threads: 2, file_size: 8MiB}}\n"
    ));
    assert_eq!(e.hostpaths[0].bytes, Some(16 << 20));
    let m = Machine {
        ram: 8 << 30,
        mem_available: 6 << 30,
        nofile_hard: None,
        scratch: room("/s", 1, 100 << 30, 50 << 30),
        output: room("/var/tmp/out", 3, 1 << 30, 100 << 20),
        hostpaths: vec![("h".into(), room("/var/tmp/x", 3, 1 << 30, 100 << 20))],
    };
    // 100 MiB free on a 1 GiB filesystem, 102 MiB kept: nothing usable.
    let short = shortfalls(&e, &m);
    assert_eq!(short.len(), 1, "{short:?}");
    assert!(short[0].contains("hostPath target h"), "{}", short[0]);
    // The output directory shares that filesystem, and is named too.
    assert!(short[0].contains("the run directory"), "{}", short[0]);
}

#[test]
fn open_files_follow_open_tasks_and_the_hard_limit_is_named() {
    let e = est(&format!(
        "{HEAD}targets:\n  - {{name: t, kind: tmpfs, size: 64MiB}}\n\
         workloads:\n  - {{name: l, kind: log_append, threads: 4, open_tasks: 1000, file_size: 1KiB}}\n"
    ));
    assert_eq!(e.open_files, 4 * 1002 + OTHER_FILES);
    let m = Machine {
        ram: 8 << 30,
        mem_available: 6 << 30,
        nofile_hard: Some(1024),
        scratch: room("/s", 1, 100 << 30, 50 << 30),
        output: room("/s", 1, 100 << 30, 50 << 30),
        hostpaths: Vec::new(),
    };
    let short = shortfalls(&e, &m);
    assert_eq!(short.len(), 1, "{short:?}");
    assert!(short[0].contains("RLIMIT_NOFILE) is 1024"), "{}", short[0]);
}

#[test]
fn the_reserve_is_five_percent_within_bounds() {
    assert_eq!(reserve(100 << 30), 4 << 30);
    assert_eq!(reserve(20 << 30), 1 << 30);
    assert_eq!(reserve(4 << 30), 256 << 20);
    assert_eq!(reserve(2 << 30), (2 << 30) / 10);
    assert_eq!(reserve(1 << 30), (1 << 30) / 10);
    assert_eq!(reserve(30 << 20), 3 << 20);
}

#[test]
fn the_largest_tmpfs_is_found_whatever_the_ram() {
    let e = est(&format!(
        "{HEAD}targets:\n  - {{name: big, kind: tmpfs, size: 16GiB}}\n  - {{name: dflt, kind: tmpfs}}\n\
         workloads:\n  - {{name: w, kind: small_files}}\n"
    ));
    // Two tmpfs one after the other: the peak is the larger, not the sum.
    assert_eq!(e.memory.resolve(24 << 30), 16 << 30);
    assert_eq!(e.memory.resolve(64 << 30), 32 << 30);
}

#[test]
fn tmpfs_size_options_are_read() {
    assert_eq!(tmpfs_size_option(&["size=512m".into()]), Some(512 << 20));
    assert_eq!(tmpfs_size_option(&["size=2G".into()]), Some(2 << 30));
    assert_eq!(tmpfs_size_option(&["size=4096".into()]), Some(4096));
    assert_eq!(tmpfs_size_option(&["size=25%".into()]), None);
    assert_eq!(tmpfs_size_option(&["noatime".into()]), None);
}

#[test]
fn short_intervals_over_long_cells_count_in_the_run_directory() {
    let body = "targets: [{name: t, kind: tmpfs}]\nworkloads: [{name: w, kind: small_files}]\n";
    let plain = est(&format!("{HEAD}{body}"));
    // 2 s in 100 ms intervals: within what a cell's outputs are given.
    assert_eq!(plain.output_bytes, OUTPUT_FIXED + OUTPUT_PER_CELL);
    // An hour in 10 ms intervals: 360 000 intervals of up to 8 lines.
    let long = est(&format!(
        "version: 1\nname: b\nduration: 1h\ninterval: 10ms\n{body}"
    ));
    assert_eq!(
        long.output_bytes,
        OUTPUT_FIXED + OUTPUT_PER_CELL + 360_000 * HLOG_OPS * HLOG_LINE - OUTPUT_PER_CELL / 2
    );
}
