//! `vary` expansion and where its errors point.

use super::*;

#[test]
fn vary_expands_targets_with_merged_options() {
    let s = ok(&with(
        "  - name: ext4\n    kind: ext4\n    options: [data=writeback, noatime]\n    vary:\n      options: [[relatime], [noatime, nobarrier]]\n",
        "",
    ));
    let t = &s.targets[1];
    assert_eq!(
        (t.name.as_str(), t.base_name.as_str()),
        ("ext4[relatime]", "ext4")
    );
    assert_eq!(t.options, ["data=writeback", "relatime"]);
    let t = &s.targets[2];
    assert_eq!(t.name, "ext4[noatime,nobarrier]");
    assert_eq!(t.options, ["data=writeback", "noatime", "nobarrier"]);
}

#[test]
fn vary_expands_workloads() {
    let s = ok(&with(
        "",
        "  - name: wal\n    kind: fsync_heavy\n    vary:\n      threads: [1, 4]\n      fsync: [always, {every: 8}]\n",
    ));
    let names: Vec<&str> = s.workloads.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "w",
            "wal[1,always]",
            "wal[1,every=8]",
            "wal[4,always]",
            "wal[4,every=8]"
        ]
    );
    assert_eq!(s.workloads[2].fsync, SyncPolicy::Every(8));
    assert_eq!(s.workloads[4].threads, 4);
    let s = ok(&with(
        "",
        "  - name: wal\n    kind: fsync_heavy\n    vary: {fsync: [{every: 8}]}\n",
    ));
    assert_eq!(s.workloads[1].name, "wal[every=8]");
}

#[test]
fn vary_errors_point_at_the_value() {
    let d = errs(&with(
        "  - name: e\n    kind: ext4\n    vary:\n      options: [[noatime], [relatime, errors=panic]]\n",
        "",
    ));
    expect(
        &d,
        8,
        39,
        "targets[1].vary.options[1][1]",
        "panic the kernel",
    );
    let d = errs(&with(
        "",
        "  - name: v\n    kind: small_files\n    vary:\n      threads: [1, 0]\n",
    ));
    expect(
        &d,
        10,
        20,
        "workloads[1].vary.threads[1]",
        "between 1 and 1024",
    );
    let d = errs(&with(
        "",
        "  - name: v\n    kind: small_files\n    vary:\n      threads: [1, lots]\n",
    ));
    expect(
        &d,
        10,
        20,
        "workloads[1].vary.threads[1]",
        "expected a whole number",
    );
    let d = errs(&with(
        "",
        "  - name: v\n    kind: small_files\n    vary:\n      record_size: [4KiB]\n",
    ));
    expect(
        &d,
        10,
        7,
        "workloads[1].vary.record_size",
        "belongs to fsync_heavy",
    );
    let d = errs(&with(
        "",
        "  - name: v\n    kind: small_files\n    vary:\n      name: [a, b]\n",
    ));
    expect(&d, 10, 7, "workloads[1].vary.name", "cannot be varied");
    let d = errs(&with(
        "",
        "  - name: v\n    kind: small_files\n    vary:\n      threads: 4\n",
    ));
    expect(
        &d,
        10,
        7,
        "workloads[1].vary.threads",
        "a list of at least one value",
    );
    let d = errs(&with(
        "",
        "  - name: v\n    kind: small_files\n    vary:\n      threads: [2, 2]\n",
    ));
    expect(&d, 7, 5, "workloads[1].name", "`v[2]` is used twice");
}
