//! `volume`, `emptydir` and `rootfs` targets: their keys, defaults and
//! the faults that cannot hit them.

use super::*;

fn pod(targets: &str, faults: &str) -> String {
    format!(
        "version: 1\nname: p\nduration: 2s\ntargets:\n{targets}workloads:\n  \
         - {{name: wal, kind: fsync_heavy}}\n{faults}"
    )
}

#[test]
fn the_three_kinds_load_with_their_defaults() {
    let s = ok(&pod(
        "  - {name: pvc, kind: volume, storage_class: standard, size: 10GiB}\n\
         \x20 - {name: mem, kind: emptydir, medium: Memory, size_limit: 1GiB}\n\
         \x20 - {name: disk, kind: emptydir}\n\
         \x20 - {name: layer, kind: rootfs, options: [noatime]}\n",
        "",
    ));
    let TargetParams::Volume(v) = &s.targets[0].params else {
        panic!("{:?}", s.targets[0].params)
    };
    assert_eq!(v.storage_class, "standard");
    assert_eq!(v.size, 10 << 30);
    assert_eq!(v.access_mode, AccessMode::ReadWriteOnce);
    assert_eq!(s.targets[0].size(), Some(10 << 30));
    assert_eq!(
        s.targets[1].params,
        TargetParams::Emptydir(Emptydir {
            memory: true,
            size_limit: Some(1 << 30),
            dir: None
        })
    );
    assert_eq!(
        s.targets[2].params,
        TargetParams::Emptydir(Emptydir {
            memory: false,
            size_limit: None,
            dir: None
        })
    );
    assert_eq!(s.targets[3].options, ["noatime"]);
    // None has a directory until a run binds it.
    assert!(s.targets.iter().all(|t| t.path().is_none()));
}

#[test]
fn a_volume_needs_a_class_and_a_size_and_a_mode_it_can_write_in() {
    let d = errs(&pod("  - {name: pvc, kind: volume}\n", ""));
    expect(
        &d,
        5,
        5,
        "targets[0].storage_class",
        "missing required key `storage_class`",
    );
    expect(&d, 5, 5, "targets[0].size", "missing required key `size`");
    let d = errs(&pod(
        "  - name: pvc\n    kind: volume\n    storage_class: Fast_SSD\n    size: 1GiB\n    \
         access_mode: ReadOnlyMany\n    volume_mode: Block\n",
        "",
    ));
    expect(&d, 7, 5, "targets[0].storage_class", "lower-case letters");
    expect(
        &d,
        9,
        5,
        "targets[0].access_mode",
        "mounts the volume read-only",
    );
    expect(
        &d,
        10,
        5,
        "targets[0].volume_mode",
        "gives the pod a raw device",
    );
    let d = errs(&pod(
        "  - {name: pvc, kind: volume, storage_class: s, size: 1GiB, access_mode: rwo}\n",
        "",
    ));
    expect(
        &d,
        5,
        61,
        "targets[0].access_mode",
        "`rwo` is not an access mode",
    );
}

#[test]
fn an_emptydir_medium_is_spelled_as_kubernetes_spells_it() {
    let d = errs(&pod("  - {name: m, kind: emptydir, medium: memory}\n", ""));
    expect(&d, 5, 31, "targets[0].medium", "write `Memory`");
    let d = errs(&pod(
        "  - {name: m, kind: emptydir, medium: HugePages-2Mi}\n",
        "",
    ));
    expect(
        &d,
        5,
        31,
        "targets[0].medium",
        "not a medium wpbench measures",
    );
    let d = errs(&pod("  - {name: m, kind: emptydir, size_limit: 0B}\n", ""));
    expect(&d, 5, 31, "targets[0].size_limit", "larger than 0B");
    let d = errs(&pod("  - {name: m, kind: rootfs, size: 1GiB}\n", ""));
    assert!(
        d.iter().any(|d| d.key == "targets[0].size"),
        "{}",
        Diagnostics(d.clone())
    );
}

#[test]
fn only_per_mount_flags_and_no_fault_that_needs_a_filesystem_of_wpbenchs() {
    let d = errs(&pod(
        "  - {name: pvc, kind: volume, storage_class: s, size: 1GiB, options: [data=writeback]}\n",
        "",
    ));
    expect(&d, 5, 71, "targets[0].options[0]", "is a filesystem option");
    for (fault, says) in [
        (
            "{kind: crash, target: pvc, workload: wal, at: 1s}",
            "never shuts down a filesystem it did not create (a pod's volume",
        ),
        (
            "{kind: enospc, target: scratch, workload: wal}",
            "never fills a filesystem it did not make (a pod's emptyDir",
        ),
        (
            "{kind: eio, target: layer, workload: wal, at: 1s}",
            "the container's own layer",
        ),
        (
            "{kind: throttle, target: pvc, write_iops: 100}",
            "never throttles a pod's volume",
        ),
    ] {
        let d = errs(&pod(
            "  - {name: pvc, kind: volume, storage_class: s, size: 1GiB}\n\
             \x20 - {name: scratch, kind: emptydir}\n\
             \x20 - {name: layer, kind: rootfs}\n",
            &format!("faults:\n  - {fault}\n"),
        ));
        assert!(
            d.iter()
                .any(|d| d.key == "faults[0].target" && d.message.contains(says)),
            "{fault}: {}",
            Diagnostics(d.clone())
        );
    }
    // A noisy neighbour may share a pod volume's disk.
    ok(&pod(
        "  - {name: pvc, kind: volume, storage_class: s, size: 1GiB}\n",
        "faults:\n  - {kind: noisy_neighbor, target: pvc, write_bps: 1MiB/s}\n",
    ));
}

#[test]
fn a_missing_kind_lists_every_kind_from_the_registry() {
    let d = errs(&pod("  - {name: x}\n", ""));
    expect(
        &d,
        5,
        5,
        "targets[0].kind",
        "(tmpfs, ext4, xfs, overlay, hostpath, volume, emptydir or rootfs)",
    );
}
