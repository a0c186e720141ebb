//! Limits on the input and the plan: nesting, size, nodes, cells, room.

use std::path::Path;
use std::time::Duration;

use super::*;

#[test]
fn deep_flow_nesting_is_refused_where_it_crosses_64_levels() {
    // 200 KB: libyaml alone took minutes on this (its scanner's cost per
    // token grows with the open `[`).
    let n = 100_000;
    let text = format!(
        "version: 1\nname: t\ndescription: {}{}\n",
        "[".repeat(n),
        "]".repeat(n)
    );
    // The 65th `[`: the file's own mapping is the first level.
    refused_quickly(&text, 3, 77, "description", "nested deeper than 64 levels");
    // Just under the limit it is an ordinary type error.
    let text = format!(
        "version: 1\nname: t\ndescription: {}{}\n",
        "[".repeat(63),
        "]".repeat(63)
    );
    expect(&errs(&text), 3, 1, "description", "expected a string");
    // `{` counts as `[` does.
    let text = format!("version: 1\nname: t\ndescription: {}\n", "{a: ".repeat(n));
    refused_quickly(
        &text,
        3,
        14 + 63 * 4,
        "description",
        "nested deeper than 64 levels",
    );
}

#[test]
fn deep_block_nesting_is_refused() {
    // Indentation: each key one level deeper.
    let mut text = String::from("version: 1\nname: t\nd:\n");
    for i in 0..100 {
        text.push_str(&format!("{}k{i}:\n", " ".repeat(i + 1)));
    }
    // k63, on line 67 (col 65), is a key of the 65th mapping.
    refused_quickly(&text, 67, 65, "d", "nested deeper than 64 levels");
    // Compact block sequences on one line.
    let text = format!("version: 1\nname: t\nd:\n{}x\n", "- ".repeat(100_000));
    refused_quickly(&text, 4, 127, "d[0]", "nested deeper than 64 levels");
}

#[test]
fn a_file_over_1_mib_is_refused_where_it_crosses() {
    let text = format!(
        "version: 1\nname: t\ndescription: \"{}\"\n",
        "a".repeat(3 << 20)
    );
    // Byte 1 MiB + 1 is on line 3, after `version: 1\nname: t\n` (19 bytes).
    refused_quickly(&text, 3, (1 << 20) - 19 + 1, "", "larger than 1 MiB");
    // Read from disk, only the first MiB is read.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.yaml");
    std::fs::write(&p, &text).unwrap();
    let d = crate::scenario::load(&p, &crate::scenario::NoHost).unwrap_err();
    expect(&d.0, 3, (1 << 20) - 19 + 1, "", "larger than 1 MiB");
    let d = crate::scenario::load_gates(&p, &GateNames::default()).unwrap_err();
    expect(&d.0, 3, (1 << 20) - 19 + 1, "", "larger than 1 MiB");
}

#[test]
fn many_nodes_and_alias_bombs_are_refused() {
    // A billion laughs: each level repeats the one before ten times.
    let mut text = String::from("version: 1\nname: t\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    refused_quickly(&text, 6, 45, "a3[7]", "more than 10000 YAML nodes");
    // Many aliases of one small anchor.
    let text = format!(
        "version: 1\nname: t\na: &a [x, y, z]\nl:\n{}",
        "  - *a\n".repeat(20_000)
    );
    refused_quickly(
        &text,
        2502,
        5,
        "l[2497]",
        "an alias counting as every node it repeats",
    );
    // Many plain values.
    let text = format!(
        "version: 1\nname: t\nd: [{}]\n",
        vec!["a"; 400_000].join(",")
    );
    refused_quickly(&text, 3, 19991, "d[9993]", "more than 10000 YAML nodes");
    // An alias inside the node it names never ends.
    refused_quickly(
        "version: 1\nname: t\na: &a [x, *a]\n",
        3,
        11,
        "a[1]",
        "recursive alias",
    );
    // Anchors of a sensible size still work.
    ok(&with(
        "",
        "  - &w {name: w2, kind: small_files, threads: 2}\n  - {<<: *w, name: w3}\n",
    ));
}

#[test]
fn gate_files_are_bounded_too() {
    let names = GateNames::default();
    let file = Path::new("g.yaml");
    let text = format!("version: 1\ngates: {}\n", "[".repeat(100_000));
    let started = std::time::Instant::now();
    let d = crate::scenario::check::load_gates_str(&text, file, &names).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    expect(&d.0, 2, 71, "gates", "nested deeper than 64 levels");
    let text = format!(
        "version: 1\na: &a [x, x, x, x, x, x, x, x]\nb: &b [{}]\ngates: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
        vec!["*a"; 100].join(", ")
    );
    let d = crate::scenario::check::load_gates_str(&text, file, &names).unwrap_err();
    expect(&d.0, 4, 49, "gates[10]", "more than 10000 YAML nodes");
}

#[test]
fn long_keys_and_words_are_abbreviated_and_cheap() {
    let key = "k".repeat(500_000);
    let text = format!(
        "version: 1\nname: t\n? {key}\n: [{}]\n",
        vec!["a"; 9000].join(",")
    );
    let started = std::time::Instant::now();
    let d = errs(&text);
    assert!(started.elapsed() < Duration::from_secs(2));
    let shown = d[0].to_string();
    assert!(shown.len() < 1000, "{}", &shown[..1000]);
    assert!(shown.contains("unknown key `kkkk"), "{shown}");
    assert!(shown.contains("…"), "{shown}");
}

#[test]
fn too_many_cells_are_refused_without_materialising_them() {
    let started = std::time::Instant::now();
    let d = errs(&format!("repeat: 4000000000\n{}", with("", "")));
    assert!(started.elapsed() < Duration::from_secs(2));
    expect(
        &d,
        1,
        1,
        "repeat",
        "= 4000000000 cells, more than the 100000",
    );
    expect(&d, 1, 1, "repeat", "`repeat` can be at most 100000");
    // A vary that explodes is pointed at by its section.
    let many = (1..=1000)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let text =
        format!(
        "version: 1\nname: t\ntargets:\n  - name: t\n    kind: tmpfs\n    vary: {{size: [{}]}}\n\
         workloads:\n  - name: w\n    kind: small_files\n    vary: {{threads: [{many}]}}\n",
        (1..=1000).map(|i| format!("{i}MiB")).collect::<Vec<_>>().join(", ")
    );
    let d = errs(&text);
    expect(
        &d,
        3,
        1,
        "targets",
        "1000 targets × 1000 workloads × 1 repeats = 1000000 cells",
    );
    // At the limit it loads.
    let s = ok(&format!("repeat: 100000\n{}", with("", "")));
    assert_eq!(s.repeat, 100000);
    errs(&format!("repeat: 100001\n{}", with("", "")));
    assert!(too_many_cells(1, 1, u64::MAX).is_some());
    assert!(too_many_cells(usize::MAX, usize::MAX, 1).is_some());
    let d = errs(&format!("repeat: 0\n{}", with("", "")));
    expect(&d, 1, 1, "repeat", "must be at least 1");
}

#[test]
fn files_made_before_the_clock_must_fit_the_target() {
    let one = |target: &str, workload: &str| {
        load(&format!(
            "version: 1\nname: t\ntargets:\n  - {target}\nworkloads:\n  - {workload}\n"
        ))
    };
    let refused = |target: &str, workload: &str, key: &str, fragment: &str| {
        let d = one(target, workload).expect_err("should be refused").0;
        assert!(
            d.iter()
                .any(|d| d.key == key && d.message.contains(fragment)),
            "{target} / {workload}: {}",
            Diagnostics(d.clone())
        );
    };
    // ext4 of 64 MiB: one inode per 4096 bytes (the stock `small` type).
    refused(
        "{name: e, kind: ext4, size: 64MiB}",
        "{name: r, kind: read_atime, files: 20000, file_size: 0B}",
        "workloads[0].files",
        "target `e` (ext4, 64MiB, one inode per 4096 bytes) has room for at most 16437 files and directories, and this makes 20001 (20000 files, and their directories)",
    );
    one(
        "{name: e, kind: ext4, size: 64MiB}",
        "{name: r, kind: read_atime, files: 16000, file_size: 0B}",
    )
    .unwrap();
    // mkfs -N, per thread for a sequence.
    refused(
        "{name: e, kind: ext4, size: 2GiB, mkfs: [-N, '20000']}",
        "{name: s, kind: sequence, threads: 4, files: 6000, steps: [open, close]}",
        "workloads[0].files",
        "mkfs -N 20000) has room for at most 20501",
    );
    // tmpfs nr_inodes=, less its root directory.
    refused(
        "{name: m, kind: tmpfs, options: [nr_inodes=1000]}",
        "{name: c, kind: copy_up, files: 995}",
        "workloads[0].files",
        "(tmpfs, nr_inodes=1000) has room for at most 999 files and directories, and this makes 1005",
    );
    // An overlay's upper holds what copy_up makes when there is no lower
    // layer; with one, copy_up uses the lower files (on the host's disk).
    refused(
        "{name: o, kind: overlay, upper: {kind: ext4, size: 512MiB, mkfs: [-N, '2048']}}",
        "{name: c, kind: copy_up, files: 5000}",
        "workloads[0].files",
        "its upper filesystem: ext4, 512MiB, mkfs -N 2048",
    );
    one(
        "{name: o, kind: overlay, upper: {kind: ext4, size: 512MiB, mkfs: [-N, '2048']}, lower: {files: 5000}}",
        "{name: c, kind: copy_up, files: 5000}",
    )
    .unwrap();
    // xfs: inodes in at most 25 % of the space, 512 bytes each.
    refused(
        "{name: x, kind: xfs, size: 300MiB}",
        "{name: r, kind: read_atime, files: 200000, file_size: 0B}",
        "workloads[0].files",
        "(xfs, 300MiB, inodes in at most 25% of it) has room for at most 153600",
    );
    // Bytes: a WAL written in full per thread, files of a known size.
    refused(
        "{name: e, kind: ext4, size: 256MiB}",
        "{name: w, kind: fsync_heavy, threads: 8}",
        "workloads[0].file_size",
        "holds at most 256MiB, and this writes 512MiB (a log of 64MiB written in full per thread, 8 threads)",
    );
    refused(
        "{name: m, kind: tmpfs, size: 1MiB}",
        "{name: r, kind: read_atime, files: 100, file_size: 64KiB}",
        "workloads[0].files",
        "holds at most 1MiB, and this writes 6.2MiB",
    );
    // Unknown room (a hostPath, a tmpfs of the default size): left to the run.
    one(
        "{name: h, kind: hostpath, path: /var/tmp/wpbench}",
        "{name: r, kind: read_atime, files: 100000000, file_size: 64KiB}",
    )
    .unwrap();
    one(
        "{name: m, kind: tmpfs}",
        "{name: r, kind: read_atime, files: 100000000}",
    )
    .unwrap();
}

#[test]
fn more_files_than_any_target_holds_are_refused() {
    // A default tmpfs holds what the host's RAM allows, but not 2^32 files:
    // run aborted allocating their names (1e12) or panicked (1e18).
    for files in ["1000000000000", "1000000000000000000"] {
        let d = errs(&with(
            "",
            &format!("  - {{name: q, kind: sequence, files: {files}, steps: [open, close]}}\n"),
        ));
        expect(
            &d,
            7,
            31,
            "workloads[1].files",
            "more than the 4294967296 files any target can hold",
        );
    }
    let d = errs(&with(
        "  - {name: o, kind: overlay, upper: {kind: tmpfs}, lower: {files: 5000000000}}\n",
        "",
    ));
    expect(&d, 5, 60, "targets[1].lower.files", "5000000000 files");
    let d = errs(&with(
        "  - {name: o, kind: overlay, upper: {kind: tmpfs}, lower: {files: 1000000000, file_size: 1TiB}}\n",
        "",
    ));
    expect(
        &d,
        5,
        60,
        "targets[1].lower.files",
        "more than the 8388608TiB",
    );
    let d = errs(&with(
        "  - {name: o, kind: overlay, upper: {kind: tmpfs}, lower: {layers: 501}}\n",
        "",
    ));
    expect(
        &d,
        5,
        60,
        "targets[1].lower.layers",
        "at most 500 lower layers",
    );
}
