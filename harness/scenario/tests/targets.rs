//! `targets:` entries: options, mkfs arguments, sizes, host paths.

use std::path::Path;

use super::*;

#[test]
fn options_are_refused() {
    let d = errs(&with(
        "  - name: e\n    kind: ext4\n    options: [noatime, errors=panic]\n",
        "",
    ));
    expect(
        &d,
        7,
        24,
        "targets[1].options[1]",
        "would panic the kernel on the first I/O error; use errors=remount-ro",
    );
    let d = errs(&with(
        "  - {name: e, kind: ext4, options: [\"noatime,nodev\"]}\n",
        "",
    ));
    expect(&d, 5, 37, "targets[1].options[0]", "contains a comma");
    let d = errs(&with(
        "  - name: o\n    kind: overlay\n    upper: {kind: tmpfs}\n    options: [upperdir=/etc]\n",
        "",
    ));
    expect(
        &d,
        8,
        15,
        "targets[1].options[0]",
        "wpbench sets upperdir= itself",
    );
    let d = errs(&with(
        "  - name: o\n    kind: overlay\n    upper: {kind: tmpfs, options: [lowerdir=/x]}\n",
        "",
    ));
    expect(
        &d,
        7,
        36,
        "targets[1].upper.options[0]",
        "wpbench sets lowerdir= itself",
    );
    let d = errs(&with(
        "  - {name: e, kind: ext4, options: [noatime, relatime]}\n",
        "",
    ));
    expect(&d, 5, 46, "targets[1].options[1]", "contradicts `noatime`");
    let d = errs(&with(
        "  - {name: e, kind: ext4, options: [journal_ioprio=1]}\n",
        "",
    ));
    expect(
        &d,
        5,
        37,
        "targets[1].options[0]",
        "ext4 never shows journal_ioprio",
    );
}

#[test]
fn mkfs_e_panic_is_refused_at_the_entry() {
    let d = errs(&with(
        "  - name: e\n    kind: ext4\n    mkfs: [-N, '100', -e, panic]\n",
        "",
    ));
    expect(
        &d,
        7,
        23,
        "targets[1].mkfs[2]",
        "`-e panic` makes errors=panic the filesystem's default",
    );
    let d = errs(&with("  - {name: e, kind: ext4, mkfs: [-qepanic]}\n", ""));
    expect(
        &d,
        5,
        34,
        "targets[1].mkfs[0]",
        "use -e remount-ro or -e continue",
    );
    // An overlay's upper goes through the same rule.
    let d = errs(&with(
        "  - name: o\n    kind: overlay\n    upper: {kind: ext4, mkfs: [-e, panic]}\n",
        "",
    ));
    expect(&d, 7, 32, "targets[1].upper.mkfs[0]", "errors=panic");
    // So does every value of a `vary`.
    let d = errs(&with(
        "  - name: e\n    kind: ext4\n    vary:\n      mkfs: [[-e, continue], [-e, panic]]\n",
        "",
    ));
    expect(&d, 8, 31, "targets[1].vary.mkfs[1][0]", "errors=panic");
    // The other mkfs rules apply at load time too.
    let d = errs(&with(
        "  - {name: e, kind: ext4, mkfs: [-F, /dev/vda]}\n",
        "",
    ));
    expect(
        &d,
        5,
        38,
        "targets[1].mkfs[1]",
        "wpbench gives mkfs its device itself",
    );
    let d = errs(&with(
        "  - {name: x, kind: xfs, mkfs: [-l, logdev=/dev/vdb]}\n",
        "",
    ));
    expect(&d, 5, 33, "targets[1].mkfs[0]", "names another device");
    // xfs sections take name=value suboptions, never a bare path.
    let d = errs(&with(
        "  - {name: x, kind: xfs, mkfs: [-l, /etc/shadow]}\n",
        "",
    ));
    expect(
        &d,
        5,
        33,
        "targets[1].mkfs[0]",
        "`/etc/shadow` is not a mkfs.xfs suboption",
    );
    let d = errs(&with("  - {name: e, kind: ext4, mkfs: [-e, stop]}\n", ""));
    expect(
        &d,
        5,
        34,
        "targets[1].mkfs[0]",
        "takes continue or remount-ro",
    );
    // Good ones load.
    load(&with(
        "  - {name: e, kind: ext4, mkfs: [-e, remount-ro, -N4096, -qF]}\n  - {name: x, kind: xfs, size: 320MiB, mkfs: [-m, reflink=0, -K]}\n",
        "",
    ))
    .unwrap();
}

#[test]
fn host_paths_are_refused() {
    let d = errs(&with("  - {name: h, kind: hostpath, path: /}\n", ""));
    expect(&d, 5, 31, "targets[1].path", "host's root");
    let d = errs(&with(
        "  - name: h\n    kind: hostpath\n    path: /etc/foo\n",
        "",
    ));
    expect(&d, 7, 5, "targets[1].path", "under /etc");
    let d = errs(&with("  - name: h\n    kind: hostpath\n", ""));
    expect(&d, 5, 5, "targets[1].path", "missing required key `path`");
    let d = errs(&with(
        "  - name: h\n    kind: hostpath\n    path: /var/tmp/x\n    options: [data=writeback]\n",
        "",
    ));
    expect(
        &d,
        8,
        15,
        "targets[1].options[0]",
        "`data=writeback` is a filesystem option",
    );
    // Asked through the target room's host, it names the filesystem
    // underneath, as /proc/self/mountinfo says.
    let text = with(
        "  - name: h\n    kind: hostpath\n    path: /var/tmp/x\n    options: [data=writeback]\n",
        "",
    );
    let host = crate::target::hostpath::MachineHost;
    let d =
        crate::scenario::check::load_str(&text, Path::new("s.yaml"), &Overrides::default(), &host)
            .unwrap_err()
            .0;
    let entries = crate::target::mountinfo::read().unwrap();
    let real = std::path::Path::new("/var/tmp").canonicalize().unwrap();
    let under = crate::target::mountinfo::containing(&entries, &real).unwrap();
    expect(
        &d,
        8,
        15,
        "targets[1].options[0]",
        &format!(
            "/var/tmp/x lies on {} {} (mounted at {}, options ",
            under.fstype, under.source, under.mount_point
        ),
    );
    // With nothing to look at (a relative path), the message says where it belongs.
    let d = errs(&with(
        "  - {name: h, kind: hostpath, path: rel, options: [data=writeback]}\n",
        "",
    ));
    expect(
        &d,
        5,
        52,
        "targets[1].options[0]",
        "which a bind mount cannot change",
    );
    ok(&with(
        "  - {name: h, kind: hostpath, path: /var/tmp/x, options: [noatime, nodev]}\n",
        "",
    ));
}

#[test]
fn filesystem_sizes_mkfs_refuses_are_refused_at_load() {
    let t = |target: &str| errs(&with(&format!("  - {target}\n"), ""));
    // xfs's minimum, for a target and an overlay's upper.
    let d = t("{name: x, kind: xfs, size: 299MiB}");
    expect(
        &d,
        5,
        26,
        "targets[1].size",
        "too small for xfs: mkfs.xfs makes no filesystem under 300MiB",
    );
    let d = t("{name: o, kind: overlay, upper: {kind: xfs, size: 100MiB}}");
    expect(&d, 5, 49, "targets[1].upper.size", "too small for xfs");
    let d = t("{name: x, kind: xfs, mkfs: [-d, size=200m]}");
    expect(
        &d,
        5,
        26,
        "targets[1].mkfs",
        "-d size=200MiB is too small for xfs",
    );
    let d = t("{name: x, kind: xfs, size: 1GiB, mkfs: [-d, size=2g]}");
    expect(&d, 5, 38, "targets[1].mkfs", "larger than the image");
    ok(&with("  - {name: x, kind: xfs, size: 300MiB}\n", ""));
    // ext4's minimum: 104 KiB with wpbench's arguments; with -b 4096 the
    // least any arguments allow is 220 KiB.
    let d = t("{name: e, kind: ext4, size: 103KiB}");
    expect(
        &d,
        5,
        27,
        "targets[1].size",
        "mkfs.ext4 cannot format less than 104KiB with wpbench's mkfs arguments",
    );
    ok(&with("  - {name: e, kind: ext4, size: 104KiB}\n", ""));
    let d = t("{name: e, kind: ext4, size: 200KiB, mkfs: [-b, '4096']}");
    expect(
        &d,
        5,
        27,
        "targets[1].size",
        "less than 220KiB whatever the other mkfs arguments",
    );
    let d = t("{name: o, kind: overlay, upper: {kind: ext4, size: 64KiB}}");
    expect(&d, 5, 50, "targets[1].upper.size", "too small for ext4");
    // Too large for any image or for ext4's block counts.
    let d = t("{name: e, kind: ext4, size: 16000000TiB}");
    expect(
        &d,
        5,
        27,
        "targets[1].size",
        "larger than any file Linux can hold",
    );
    let d = t("{name: e, kind: ext4, size: 1048576TiB}");
    expect(
        &d,
        5,
        27,
        "targets[1].size",
        "too large for ext4: it counts at most 2^48 blocks",
    );
    let d = t("{name: m, kind: tmpfs, size: 16000000TiB}");
    expect(&d, 5, 28, "targets[1].size", "larger than any tmpfs can be");
    let d = t("{name: e, kind: ext4, size: 99999999999TiB}");
    expect(&d, 5, 27, "targets[1].size", "is too large");
    // mkfs.ext4's numbers.
    let d = t("{name: e, kind: ext4, size: 1MiB, mkfs: [-N, '5000']}");
    expect(
        &d,
        5,
        39,
        "targets[1].mkfs",
        "-N 5000: 5000 inodes of 256 bytes or more do not fit in 1MiB",
    );
    let d = t("{name: e, kind: ext4, mkfs: [-N, '5000000000']}");
    expect(&d, 5, 34, "targets[1].mkfs[0]", "below 2^32");
    let d = t("{name: e, kind: ext4, mkfs: [-b, '3000']}");
    expect(
        &d,
        5,
        34,
        "targets[1].mkfs[0]",
        "power of two from 1024 to 65536",
    );
    let d = t("{name: e, kind: ext4, mkfs: [-i, '512']}");
    expect(&d, 5, 34, "targets[1].mkfs[0]", "bytes per inode");
    let d = t("{name: e, kind: ext4, mkfs: [-m, '60']}");
    expect(
        &d,
        5,
        34,
        "targets[1].mkfs[0]",
        "reserved-blocks percentage",
    );
    ok(&with(
        "  - {name: e, kind: ext4, size: 2GiB, mkfs: [-N, 400000, -b, 4k, -I, '512', -m, '0.5']}\n",
        "",
    ));
}

#[test]
fn tmpfs_size_is_given_once_and_as_a_number() {
    let t = |target: &str| errs(&with(&format!("  - {target}\n"), ""));
    let d = t("{name: m, kind: tmpfs, size: 1GiB, options: [size=2g]}");
    expect(
        &d,
        5,
        50,
        "targets[1].options[0]",
        "`size=2g` sets the tmpfs size, which `size:` already gives",
    );
    let d = t("{name: m, kind: tmpfs, size: 1GiB, options: [nr_blocks=1000]}");
    expect(&d, 5, 50, "targets[1].options[0]", "already gives");
    let d = t("{name: m, kind: tmpfs, options: [size=2g, nr_blocks=100]}");
    expect(
        &d,
        5,
        47,
        "targets[1].options[1]",
        "`nr_blocks=100` and `size=2g` both set the tmpfs size",
    );
    let d = t("{name: o, kind: overlay, upper: {kind: tmpfs, size: 1GiB, options: [size=50%]}}");
    expect(&d, 5, 73, "targets[1].upper.options[0]", "already gives");
    let d = t("{name: m, kind: tmpfs, options: [size=lots, nr_inodes=99999999999999999999k]}");
    expect(
        &d,
        5,
        38,
        "targets[1].options[0]",
        "tmpfs takes a whole number here",
    );
    expect(
        &d,
        5,
        49,
        "targets[1].options[1]",
        "tmpfs takes a whole number here",
    );
    ok(&with(
        "  - {name: m, kind: tmpfs, options: [size=50%, nr_inodes=10k, mode=755]}\n  - {name: n, kind: tmpfs, options: [nr_blocks=0x100, nr_inodes=0]}\n",
        "",
    ));
}

#[test]
fn mkfs_arguments_that_read_or_write_elsewhere_are_refused() {
    for (kind, args, fragment) in [
        ("ext4", "[-d, /etc]", "copies a host directory"),
        (
            "ext4",
            "[-l, /tmp/bad]",
            "reads a bad-block list from a host file",
        ),
        ("ext4", "[-c]", "scans the image for bad blocks"),
        ("ext4", "[-qcc]", "scans the image for bad blocks"),
        ("ext4", "[-D]", "O_DIRECT"),
        ("ext4", "[-F, -n]", "dry run"),
        ("ext4", "[-S]", "superblock and group descriptors"),
        ("ext4", "[-V]", "only prints mkfs's version"),
        (
            "ext4",
            "[-O, 'extent,journal_dev']",
            "external journal device",
        ),
        ("ext4", "[-E, 'nodiscard,offset=4096']", "`offset=`"),
        ("ext4", "[-t, xfs]", "as ext2, ext3 or ext4"),
        ("ext4", "[-J, device=/dev/vdb]", "names another device"),
        ("xfs", "[-p, /etc/proto]", "reads a prototype file"),
        ("xfs", "[-c, options=/etc/xfs.conf]", "from a host file"),
        (
            "xfs",
            "[-d, 'file,name=/var/tmp/img']",
            "regular file of the host",
        ),
        ("xfs", "[-l, 'file=1']", "regular file of the host"),
        ("xfs", "[-N]", "dry run"),
    ] {
        let size = if kind == "xfs" { "1GiB" } else { "64MiB" };
        let d = errs(&with(
            &format!("  - {{name: f, kind: {kind}, size: {size}, mkfs: {args}}}\n"),
            "",
        ));
        assert!(
            d.iter()
                .any(|d| d.key.starts_with("targets[1].mkfs[") && d.message.contains(fragment)),
            "{kind} {args}: {}",
            Diagnostics(d.clone())
        );
    }
    ok(&with(
        "  - {name: e, kind: ext4, mkfs: [-t, ext4, -O, '^has_journal', -E, 'nodiscard,stride=4', -L, data]}\n\
         \x20 - {name: x, kind: xfs, mkfs: [-K, -m, reflink=0, -d, 'agcount=4', -i, 'maxpct=5']}\n",
        "",
    ));
}

#[test]
fn host_paths_that_cannot_exist_are_refused() {
    let t = |path: &str| {
        errs(&with(
            &format!("  - {{name: h, kind: hostpath, path: \"{path}\"}}\n"),
            "",
        ))
    };
    let d = t("/var/tmp/a\\0b");
    expect(&d, 5, 31, "targets[1].path", "NUL byte");
    let d = t(&format!("/var/tmp/{}", "x".repeat(256)));
    expect(
        &d,
        5,
        31,
        "targets[1].path",
        "is 256 bytes long; Linux file names are at most 255 bytes",
    );
    let d = t(&format!("/var/tmp{}", "/x".repeat(2000)));
    expect(
        &d,
        5,
        31,
        "targets[1].path",
        "Linux paths are at most 4095 bytes",
    );
}

#[test]
fn an_options_list_holds_at_most_64() {
    let opts: Vec<String> = (0..70).map(|i| format!("o{i}=1")).collect();
    let d = errs(&with(
        &format!(
            "  - {{name: m, kind: tmpfs, options: [{}]}}\n",
            opts.join(", ")
        ),
        "",
    ));
    expect(
        &d,
        5,
        28,
        "targets[1].options",
        "70 mount options; a target takes at most 64",
    );
}

#[test]
fn options_the_kernel_certainly_refuses_are_refused_at_load() {
    let t = |target: &str| errs(&with(&format!("  - {target}\n"), ""));
    let d = t("{name: m, kind: tmpfs, options: [noatime, ro]}");
    expect(
        &d,
        5,
        47,
        "targets[1].options[1]",
        "`ro` mounts the target read-only",
    );
    let d = t("{name: h, kind: hostpath, path: /var/tmp/x, options: [ro]}");
    expect(&d, 5, 59, "targets[1].options[0]", "read-only");
    let d = t("{name: o, kind: overlay, upper: {kind: tmpfs}, options: ['lowerdir+=/etc']}");
    expect(
        &d,
        5,
        62,
        "targets[1].options[0]",
        "wpbench sets lowerdir= itself",
    );
    let d = t("{name: o, kind: overlay, upper: {kind: tmpfs}, options: ['datadir+=/srv']}");
    expect(
        &d,
        5,
        62,
        "targets[1].options[0]",
        "wpbench sets datadir= itself",
    );
    let d = t("{name: e, kind: ext4, options: [data=bogus, errors=stop]}");
    expect(
        &d,
        5,
        37,
        "targets[1].options[0]",
        "ordered, writeback or journal",
    );
    expect(&d, 5, 49, "targets[1].options[1]", "continue or remount-ro");
    let d = t("{name: o, kind: overlay, upper: {kind: ext4, options: [data=ordred]}}");
    expect(
        &d,
        5,
        60,
        "targets[1].upper.options[0]",
        "ordered, writeback or journal",
    );
    let d = t("{name: x, kind: xfs, options: [norecovery]}");
    expect(&d, 5, 36, "targets[1].options[0]", "only read-only");
    ok(&with(
        "  - {name: e, kind: ext4, options: [data=journal, errors=remount-ro, noload]}\n",
        "",
    ));
}

#[test]
fn more_mkfs_values_mkfs_refuses() {
    let t = |target: &str| errs(&with(&format!("  - {target}\n"), ""));
    // 1 KiB blocks below 512 MiB: inodes of at most 1 KiB.
    let d = t("{name: e, kind: ext4, size: 64MiB, mkfs: [-I, '4096']}");
    expect(
        &d,
        5,
        40,
        "targets[1].mkfs",
        "-I 4096: an inode cannot be larger than a block",
    );
    ok(&with(
        "  - {name: e, kind: ext4, size: 64MiB, mkfs: [-I, '4096', -b, '4096']}\n",
        "",
    ));
    let d = t("{name: e, kind: ext4, mkfs: [-G, '3']}");
    expect(
        &d,
        5,
        34,
        "targets[1].mkfs[0]",
        "flex_bg size is a power of two",
    );
    let d = t("{name: e, kind: ext4, mkfs: [-U, bad-uuid]}");
    expect(
        &d,
        5,
        34,
        "targets[1].mkfs[0]",
        "the UUID is clear, random, time or a UUID",
    );
    ok(&with(
        "  - {name: e, kind: ext4, mkfs: [-U, 01234567-89ab-cdef-0123-456789abcdef, -G, '16']}\n",
        "",
    ));
    let d = t("{name: x, kind: xfs, mkfs: [-L, averyveryverylonglabel]}");
    expect(&d, 5, 33, "targets[1].mkfs[0]", "at most 12 characters");
    let d = t("{name: x, kind: xfs, mkfs: [-i, size=256]}");
    expect(&d, 5, 33, "targets[1].mkfs[0]", "add -m crc=0");
    ok(&with(
        "  - {name: x, kind: xfs, mkfs: [-m, crc=0, -i, size=256, -L, data]}\n",
        "",
    ));
}
