//! Real filesystems: ext4 and xfs on loop devices, overlayfs, with the
//! options users compare — in effect (read back from the kernel), refused
//! by name when the kernel refuses them, and showing their cost on the
//! device counters.

use serde_json::Value;

use crate::support::*;

fn cells(result: &Value) -> &Vec<Value> {
    result["cells"].as_array().unwrap()
}

fn by_target<'a>(result: &'a Value, target: &str) -> Vec<&'a Value> {
    cells(result)
        .iter()
        .filter(|c| c["target"]["name"] == target)
        .collect()
}

fn device_bytes(cell: &Value) -> u64 {
    cell["device"]["bytes_written"]
        .as_u64()
        .unwrap_or_else(|| panic!("no device counters: {cell}"))
}

fn run_ok(sb: &Sandbox, name: &str, yaml: &str, extra: &[&str]) -> Value {
    let file = sb.write(
        &format!("{name}.yaml"),
        &format!("version: 1\nname: {name}\nseed: 3\n{yaml}"),
    );
    let out = sb.run(&file, name, extra);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    read_json(&sb.out(name).join("result.json"))
}

#[test]
#[ignore = "needs root, mkfs.ext4, mkfs.xfs: mounts every target kind"]
fn every_kind_mounts_with_its_options_in_effect() {
    require(&[Need::Root, Need::MKFS_EXT4, Need::MKFS_XFS]);
    let _serial = serial();
    let sb = Sandbox::new();
    let result = run_ok(
        &sb,
        "kinds",
        "ops: 300\nwarmup: 0s\n\
         targets:\n\
         \x20 - {name: ext4, kind: ext4, size: 256MiB, mkfs: [-N, '4096'], options: [data=writeback, noatime, commit=10, nobarrier, noauto_da_alloc, errors=remount-ro]}\n\
         \x20 - {name: ext4-atime, kind: ext4, size: 128MiB, options: [relatime], vary: {options: [[strictatime], [lazytime]]}}\n\
         \x20 - {name: xfs, kind: xfs, size: 320MiB, options: [noatime, logbsize=256k]}\n\
         \x20 - {name: ovl, kind: overlay, upper: {kind: ext4, size: 256MiB}, lower: {files: 50, file_size: 4KiB, dirs: 5, layers: 2}, options: [metacopy=on, redirect_dir=on, index=off, noatime]}\n\
         \x20 - {name: ovl-tmpfs, kind: overlay, upper: {kind: tmpfs, size: 64MiB}, options: [volatile]}\n\
         workloads:\n\
         \x20 - {name: small, kind: small_files, fsync: always}\n",
        &[],
    );
    let mount = |t: &str| by_target(&result, t)[0]["target"]["mount"].clone();
    let has =
        |m: &Value, field: &str, opt: &str| m[field].as_str().unwrap().split(',').any(|o| o == opt);

    let ext4 = mount("ext4");
    assert_eq!(ext4["fstype"], "ext4");
    assert!(
        ext4["source"].as_str().unwrap().starts_with("/dev/loop"),
        "{ext4}"
    );
    for opt in [
        "data=writeback",
        "noatime",
        "commit=10",
        "nobarrier",
        "noauto_da_alloc",
        "errors=remount-ro",
    ] {
        assert!(
            has(&ext4, "options", opt) || has(&ext4, "fs_options", opt),
            "{opt} not in effect: {ext4}"
        );
    }
    assert!(has(&mount("ext4-atime[lazytime]"), "options", "lazytime"));
    let strict = mount("ext4-atime[strictatime]");
    assert!(
        !has(&strict, "options", "relatime") && !has(&strict, "options", "noatime"),
        "{strict}"
    );
    let xfs = mount("xfs");
    assert_eq!(xfs["fstype"], "xfs");
    assert!(
        has(&xfs, "options", "noatime") && has(&xfs, "options", "logbsize=256k"),
        "{xfs}"
    );
    let ovl = mount("ovl");
    assert_eq!(ovl["fstype"], "overlay");
    for opt in ["metacopy=on", "redirect_dir=on", "noatime"] {
        assert!(has(&ovl, "options", opt), "{opt}: {ovl}");
    }
    let vol = mount("ovl-tmpfs");
    assert!(
        has(&vol, "options", "volatile") || has(&vol, "options", "fsync=volatile"),
        "{vol}"
    );

    for c in cells(&result) {
        let kind = c["target"]["kind"].as_str().unwrap();
        assert_eq!(c["ops"]["file"]["count"], 300, "{}", c["target"]["name"]);
        assert!(c["provision_s"].as_f64().unwrap() > 0.0);
        if c["target"]["name"] == "ovl-tmpfs" {
            assert!(c["device"].is_null(), "a tmpfs upper has no device");
            assert!(c["notes"].to_string().contains("volatile"));
            continue;
        }
        // Loop-backed: the device saw at least the data that was fsynced.
        let dev = &c["device"];
        assert!(dev["name"].as_str().unwrap().starts_with("loop"), "{dev}");
        assert_eq!(dev["shared"], false);
        assert!(device_bytes(c) >= 300 * 4096, "{dev}");
        assert!(
            dev["flushes"].as_u64().unwrap() > 0 || kind == "ext4",
            "{dev}"
        );
        assert!(dev["write_amplification"].as_f64().unwrap() >= 1.0, "{dev}");
    }
    // The inode count asked of mkfs took effect: 4096 inodes, not ~16k.
    let inodes = by_target(&result, "ext4")[0]["target"]["inodes"]
        .as_u64()
        .unwrap();
    assert!((4096..8192).contains(&inodes), "{inodes} inodes");
    assert_nothing_left(&sb);
}

/// Options whose value is the default, or which the kernel spells its own
/// way, are in effect though mountinfo does not show them as written.
#[test]
#[ignore = "needs root, mkfs.ext4, mkfs.xfs: mounts tmpfs, overlay, ext4 and xfs"]
fn defaults_the_kernel_does_not_show_are_in_effect() {
    require(&[Need::Root, Need::MKFS_EXT4, Need::MKFS_XFS]);
    let _serial = serial();
    let sb = Sandbox::new();
    let result = run_ok(
        &sb,
        "defaults",
        "ops: 20\nwarmup: 0s\n\
         targets:\n\
         \x20 - {name: ovl, kind: overlay, upper: {kind: tmpfs, size: 32MiB}, lower: {files: 4}, options: [noatime], vary: {options: [[redirect_dir=follow], [redirect_dir=nofollow], [redirect_dir=on], [redirect_dir=off], [index=off, metacopy=off, xino=off, fsync=auto, uuid=auto, nfs_export=off]]}}\n\
         \x20 - {name: tmp, kind: tmpfs, options: [huge=never, mode=1777, uid=0, gid=0, mpol=default, nolazytime], vary: {options: [[size=50%], [size=25%], [size=1234567]]}}\n\
         \x20 - {name: ext4, kind: ext4, size: 128MiB, options: [data=ordered, barrier=1, auto_da_alloc=1, commit=0, errors=continue, relatime, delalloc, journal_checksum, nodiscard, init_itable, data_err=ignore, journal_ioprio=3, nolazytime]}\n\
         \x20 - {name: xfs, kind: xfs, size: 320MiB, options: [relatime, inode64, logbufs=8, logbsize=32768, noquota, attr2, nolargeio, nodiscard, nogrpid, noikeep]}\n\
         workloads:\n\
         \x20 - {name: small, kind: small_files}\n",
        &[],
    );
    let mount = |t: &str| by_target(&result, t)[0]["target"]["mount"].clone();
    let has = |m: &Value, opt: &str| m["options"].as_str().unwrap().split(',').any(|o| o == opt);
    assert!(has(
        &mount("ovl[redirect_dir=nofollow]"),
        "redirect_dir=nofollow"
    ));
    assert!(has(&mount("ovl[redirect_dir=on]"), "redirect_dir=on"));
    let off = by_target(&result, "ovl[redirect_dir=off]")[0];
    assert!(
        off["notes"]
            .to_string()
            .contains("redirect_dir=off: this kernel applies it as"),
        "{off}"
    );
    // Rounded up to whole pages (1208k with 4 KiB pages).
    let tmp = mount("tmp[size=1234567]");
    let kib: u64 = tmp["options"]
        .as_str()
        .unwrap()
        .split(',')
        .find_map(|o| o.strip_prefix("size=")?.strip_suffix('k')?.parse().ok())
        .unwrap_or_else(|| panic!("{tmp}"));
    assert!((1234567..1234567 + 65536).contains(&(kib * 1024)), "{tmp}");
    assert!(has(&mount("xfs"), "logbsize=32k"));
    for c in cells(&result) {
        assert_eq!(c["ops"]["file"]["count"], 20, "{}", c["target"]["name"]);
    }
    assert_nothing_left(&sb);
}

#[test]
#[ignore = "needs root, mkfs.ext4, mkfs.xfs: mounts ext4, xfs and overlay with bad options"]
fn refused_options_are_named_and_nothing_is_left() {
    require(&[Need::Root, Need::MKFS_EXT4, Need::MKFS_XFS]);
    let _serial = serial();
    let sb = Sandbox::new();
    // An option the kernel does not know is found by the preflight probe,
    // before anything is written; a combination only the mount refuses,
    // and mkfs's own refusal, come once the run has started.
    for (name, target, says, before_anything) in [
        ("bad-ext4", "{name: e, kind: ext4, size: 64MiB, options: [frobnicate]}", "frobnicate", true),
        ("bad-xfs", "{name: x, kind: xfs, size: 320MiB, options: [data=writeback]}", "data", true),
        ("bad-combo", "{name: o, kind: overlay, upper: {kind: tmpfs}, options: [metacopy=on, redirect_dir=off]}", "metacopy", false),
        ("bad-mkfs", "{name: m, kind: ext4, size: 64MiB, mkfs: [--no-such-flag]}", "mkfs", false),
    ] {
        let file = sb.write(
            &format!("{name}.yaml"),
            &format!(
                "version: 1\nname: {name}\nduration: 1s\ntargets:\n  - {target}\n\
                 workloads:\n  - {{name: w, kind: small_files}}\n"
            ),
        );
        let out = sb.run(&file, name, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", text(&out));
        assert!(err.contains(says), "{name}: expected `{says}` in {err}");
        if before_anything {
            assert!(!sb.out(name).exists(), "{name}: nothing is written");
        } else {
            let result = read_json(&sb.out(name).join("result.json"));
            assert_eq!(result["status"], "failed", "{name}");
        }
        assert_nothing_left(&sb);
    }
}

#[test]
#[ignore = "needs root, mkfs.ext4: ext4 loop devices under three atime options"]
fn strictatime_reads_write_to_the_device_and_noatime_reads_do_not() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    let _serial = serial();
    let sb = Sandbox::new();
    let result = run_ok(
        &sb,
        "atime",
        // An op count, not a duration: exactly two passes over the 2000
        // files however slow a loaded machine reads them.
        "ops: 4000\nwarmup: 0s\n\
         targets:\n\
         \x20 - {name: ext4, kind: ext4, size: 256MiB, options: [relatime], vary: {options: [[strictatime], [relatime], [noatime]]}}\n\
         workloads:\n\
         \x20 - {name: reads, kind: read_atime, files: 2000, file_size: 4KiB}\n",
        &[],
    );
    let bytes = |t: &str| device_bytes(by_target(&result, t)[0]);
    let (strict, rel, no) = (
        bytes("ext4[strictatime]"),
        bytes("ext4[relatime]"),
        bytes("ext4[noatime]"),
    );
    eprintln!("device bytes during reads: strictatime {strict}, relatime {rel}, noatime {no}");
    // 2000 inodes' atime: at least a few hundred KiB of inode table and journal.
    assert!(
        strict >= 256 * 1024,
        "strictatime wrote only {strict} bytes"
    );
    assert!(
        strict > 4 * no.max(4096),
        "strictatime {strict} vs noatime {no}"
    );
    // relatime updates each file once (atime was older than mtime): between the two.
    assert!(rel > no, "relatime {rel} vs noatime {no}");
    for c in cells(&result) {
        assert_eq!(c["bytes_written"], 0, "a read-only workload");
        assert_eq!(c["ops"]["read_file"]["count"], 4000);
    }
    assert_nothing_left(&sb);
}

#[test]
#[ignore = "needs root, mkfs.ext4: overlays on ext4 with metacopy off and on"]
fn metacopy_copies_metadata_and_not_data() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    let _serial = serial();
    let sb = Sandbox::new();
    let result = run_ok(
        &sb,
        "metacopy",
        "duration: 30s\nwarmup: 0s\n\
         targets:\n\
         \x20 - {name: ovl, kind: overlay, upper: {kind: ext4, size: 512MiB, options: [noatime]}, lower: {files: 100, file_size: 1MiB, dirs: 10}, options: [metacopy=off], vary: {options: [[metacopy=off], [metacopy=on]]}}\n\
         \x20 - {name: plain, kind: ext4, size: 512MiB}\n\
         workloads:\n\
         \x20 - {name: chmod, kind: copy_up, action: chmod, files: 100, file_size: 1MiB}\n",
        &[],
    );
    let cell = |t: &str| by_target(&result, t)[0];
    let (off, on) = (
        device_bytes(cell("ovl[metacopy=off]")),
        device_bytes(cell("ovl[metacopy=on]")),
    );
    eprintln!("device bytes for chmod of 100 × 1 MiB lower files: metacopy=off {off}, on {on}");
    assert!(off >= 90 << 20, "metacopy=off copied only {off} bytes");
    assert!(on < off / 5, "metacopy=on wrote {on} of {off}");
    for t in ["ovl[metacopy=off]", "ovl[metacopy=on]"] {
        assert_eq!(
            cell(t)["ops"]["copy_up"]["count"],
            100,
            "{t}: every lower file once"
        );
    }
    let p50 = |t: &str| cell(t)["ops"]["copy_up"]["p50_ns"].as_u64().unwrap();
    assert!(
        p50("ovl[metacopy=off]") > p50("ovl[metacopy=on]"),
        "a data copy-up is slower"
    );
    // On a plain ext4 the workload makes its own files and says so.
    assert!(cell("plain")["notes"].to_string().contains("baseline"));
    assert_nothing_left(&sb);
}

#[test]
#[ignore = "needs root, mkfs.ext4: one ext4 loop device across cells"]
fn reuse_keeps_one_target_across_its_cells() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    let _serial = serial();
    let sb = Sandbox::new();
    let result = run_ok(
        &sb,
        "reuse",
        "ops: 200\nwarmup: 0s\nrepeat: 3\n\
         targets:\n\
         \x20 - {name: aged, kind: ext4, size: 128MiB, reuse: true}\n\
         workloads:\n\
         \x20 - {name: small, kind: small_files}\n",
        &[],
    );
    let cells = by_target(&result, "aged");
    assert_eq!(cells.len(), 3);
    assert!(cells[0]["provision_s"].as_f64().unwrap() > 0.0);
    for c in &cells[1..] {
        assert_eq!(c["provision_s"], 0.0, "no new filesystem");
        assert_eq!(
            c["target"]["mount"]["source"],
            cells[0]["target"]["mount"]["source"]
        );
        assert!(
            c["notes"].to_string().contains("earlier cells"),
            "{}",
            c["notes"]
        );
        assert_eq!(c["ops"]["file"]["count"], 200);
    }
    assert_nothing_left(&sb);
}
