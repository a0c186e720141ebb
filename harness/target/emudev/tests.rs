//! Tests of the emulated device that need root, /dev/fuse and loop
//! devices: each in its own private mount namespace, images on a real
//! disk, everything torn down by guards (mount, then loop device, then
//! the daemon, then the directory).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::*;
use crate::cancel::Cancel;
use crate::target::loopdev::testing::{
    backing_file, disk_tempdir, private_mounts, wait_detached, MountGuard,
};
use crate::target::loopdev::LoopDevice;
use crate::target::mkfs::{self, FsKind};
use crate::testing::{require, Need};

/// A 4 KiB block aligned for O_DIRECT.
#[repr(C, align(4096))]
struct Block([u8; 4096]);

fn block(fill: u8) -> Box<Block> {
    Box::new(Block([fill; 4096]))
}

/// A fresh image of `size` bytes and an empty mount point in `dir`.
fn image_and_mountpoint(dir: &Path, size: u64) -> (PathBuf, PathBuf) {
    let img = dir.join("real.img");
    mkfs::create_image(&img, size).unwrap();
    let mp = dir.join("dev");
    std::fs::create_dir(&mp).unwrap();
    (img, mp)
}

/// The loop device's own counters: (write IOs, flush IOs, discard IOs)
/// from /sys/block (they are not reset when a device is reused: compare
/// differences).
fn loop_stat(dev: &LoopDevice) -> (u64, u64, u64) {
    let s = std::fs::read_to_string(format!("/sys/block/loop{}/stat", dev.number())).unwrap();
    let f: Vec<u64> = s.split_whitespace().map(|x| x.parse().unwrap()).collect();
    (
        f[4],
        f.get(15).copied().unwrap_or(0),
        f.get(11).copied().unwrap_or(0),
    )
}

/// The rate of 4 KiB writes each followed by fdatasync on `f` over 2 s,
/// printed with what the daemon and the loop device
/// saw meanwhile.
fn fdatasync_rate(dev: &EmulatedDevice, lo: &LoopDevice, f: &File, what: &str) -> f64 {
    let before = (dev.counters(), loop_stat(lo));
    let rate = sync_loop(f, 2.0, |f| f.sync_data().unwrap());
    let after = (dev.counters(), loop_stat(lo));
    eprintln!(
        "{what}: {rate:.1} records/s; daemon: {} writes, {} fsyncs; loop: {} write IOs, {} flushes",
        after.0.writes - before.0.writes,
        after.0.flushes - before.0.flushes,
        after.1 .0 - before.1 .0,
        after.1 .1 - before.1 .1,
    );
    rate
}

/// Whether `mp` is a mount point in this thread's mount namespace
/// (/proc/self is the main thread's, outside the test's namespace).
fn is_mounted(mp: &Path) -> bool {
    let text = std::fs::read_to_string("/proc/thread-self/mountinfo").unwrap();
    let entries = crate::target::mountinfo::parse(&text);
    crate::target::mountinfo::find(&entries, mp).is_some()
}

/// Opens the loop device for O_DIRECT I/O.
fn open_direct(dev: &LoopDevice) -> File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_DIRECT | libc::O_CLOEXEC)
        .open(dev.path())
        .unwrap()
}

fn mkfs_ext4(dev: &Path) {
    let mkfs = mkfs::find(FsKind::Ext4).unwrap();
    mkfs::make(FsKind::Ext4, &mkfs, dev, &[], &Cancel::new()).unwrap();
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
#[ignore = "needs root, /dev/fuse and loop devices"]
fn ext4_on_a_loop_over_the_served_image_keeps_its_data() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    private_mounts();
    let dir = disk_tempdir();
    let (img, mp) = image_and_mountpoint(dir.path(), 64 << 20);
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let served;
    let number;
    {
        let dev = EmulatedDevice::start(&img, &mp, DeviceModel::default(), 1).unwrap();
        served = dev.image_path();
        assert!(is_mounted(&mp));
        assert_eq!(std::fs::metadata(&served).unwrap().len(), 64 << 20);
        let lo = LoopDevice::attach(&served, true).unwrap();
        number = lo.number();
        assert!(lo.direct_io(), "direct I/O on the FUSE-served image");
        // What each step sends: the loop device's counters against the
        // daemon's (how flushes and FUA writes become FUSE requests).
        let step = |what: &str, f: &mut dyn FnMut()| {
            let (c0, l0) = (dev.counters(), loop_stat(&lo));
            f();
            let (c1, l1) = (dev.counters(), loop_stat(&lo));
            eprintln!(
                "{what}: loop {} write IOs, {} flushes, {} discards; daemon {} writes ({} KiB), {} reads, {} fsyncs, {} fallocates",
                l1.0 - l0.0,
                l1.1 - l0.1,
                l1.2 - l0.2,
                c1.writes - c0.writes,
                (c1.write_bytes - c0.write_bytes) >> 10,
                c1.reads - c0.reads,
                c1.flushes - c0.flushes,
                c1.fallocates - c0.fallocates
            );
        };
        step("mkfs.ext4", &mut || mkfs_ext4(lo.path()));
        {
            let _m = MountGuard::mount(lo.path(), &mnt, "ext4", "").unwrap();
            let f = File::create(mnt.join("hello")).unwrap();
            step("write 21 B + fsync of a new file", &mut || {
                f.write_all_at(b"through FUSE and back", 0).unwrap();
                f.sync_all().unwrap();
            });
            step("4 KiB append + fdatasync", &mut || {
                f.write_all_at(&[7u8; 4096], 4096).unwrap();
                f.sync_data().unwrap();
            });
        }
        {
            let _m = MountGuard::mount(lo.path(), &mnt, "ext4", "").unwrap();
            assert_eq!(
                &std::fs::read(mnt.join("hello")).unwrap()[..21],
                b"through FUSE and back"
            );
        }
        let c = dev.counters();
        assert!(c.writes > 0 && c.reads > 0 && c.flushes > 0, "{c:?}");
        drop(lo);
        assert!(
            wait_detached(number, &served),
            "loop{number} still attached"
        );
    }
    // The daemon is gone and its mount with it; the real image is ext4.
    assert!(!is_mounted(&mp), "{} still mounted", mp.display());
    assert_ne!(backing_file(number).as_deref(), Some(served.as_path()));
    assert!(mkfs::ext4_error_behaviour(&img).unwrap().is_some());
}

/// Writes 4 KiB at block `i` of a ring and syncs, for `secs`; returns records/s.
fn sync_loop(f: &File, secs: f64, sync: impl Fn(&File)) -> f64 {
    let buf = block(0x5A);
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        f.write_all_at(&buf.0, (n % 256) * 4096).unwrap();
        sync(f);
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

#[test]
#[ignore = "needs root, /dev/fuse and loop devices"]
fn write_iops_100_gives_100_synced_records_a_second_not_50() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    private_mounts();
    let dir = disk_tempdir();
    let (img, mp) = image_and_mountpoint(dir.path(), 64 << 20);
    let model = DeviceModel {
        write_iops: Some(100),
        ..DeviceModel::default()
    };
    let dev = EmulatedDevice::start(&img, &mp, model, 1).unwrap();
    let lo = LoopDevice::attach(&dev.image_path(), true).unwrap();
    // On the loop device itself: O_DIRECT 4 KiB pwrite + fdatasync.
    let f = open_direct(&lo);
    let rate = fdatasync_rate(
        &dev,
        &lo,
        &f,
        "write_iops 100, O_DIRECT 4 KiB pwrite + fdatasync on the loop device",
    );
    drop(f);
    assert!((70.0..=130.0).contains(&rate), "{rate:.1} records/s");
    drop(lo);
    drop(dev);
    assert!(!is_mounted(&mp));
}

#[test]
#[ignore = "needs root, /dev/fuse and loop devices"]
fn write_iops_100_on_ext4_overwrites_with_fdatasync() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    private_mounts();
    let dir = disk_tempdir();
    let (img, mp) = image_and_mountpoint(dir.path(), 64 << 20);
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let model = DeviceModel {
        write_iops: Some(100),
        ..DeviceModel::default()
    };
    let dev = EmulatedDevice::start(&img, &mp, model, 1).unwrap();
    let lo = LoopDevice::attach(&dev.image_path(), true).unwrap();
    mkfs_ext4(lo.path());
    let m = MountGuard::mount(lo.path(), &mnt, "ext4", "").unwrap();
    // A WAL file written once (allocated, synced), then overwritten in
    // place: fdatasync needs no journal commit, so a record is one write
    // and one flush.
    let f = File::create(mnt.join("wal")).unwrap();
    f.write_all_at(&vec![0u8; 256 * 4096], 0).unwrap();
    f.sync_all().unwrap();
    let rate = fdatasync_rate(
        &dev,
        &lo,
        &f,
        "write_iops 100, ext4 4 KiB overwrite + fdatasync",
    );
    assert!((70.0..=130.0).contains(&rate), "{rate:.1} records/s");
    drop(f);
    drop(m);
    drop(lo);
    drop(dev);
    assert!(!is_mounted(&mp));
}

#[test]
#[ignore = "needs root, /dev/fuse and loop devices"]
fn a_2ms_latency_floors_fdatasync_at_2ms() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    private_mounts();
    let dir = disk_tempdir();
    let (img, mp) = image_and_mountpoint(dir.path(), 64 << 20);
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let model = DeviceModel {
        latency: (Duration::from_millis(2), Duration::from_millis(2)),
        ..DeviceModel::default()
    };
    let dev = EmulatedDevice::start(&img, &mp, model, 1).unwrap();
    let lo = LoopDevice::attach(&dev.image_path(), true).unwrap();
    mkfs_ext4(lo.path());
    let m = MountGuard::mount(lo.path(), &mnt, "ext4", "").unwrap();
    let f = File::create(mnt.join("wal")).unwrap();
    let buf = [0x33u8; 4096];
    let mut lat = Vec::new();
    for i in 0..100u64 {
        f.write_all_at(&buf, i * 4096).unwrap();
        let t = Instant::now();
        f.sync_data().unwrap();
        lat.push(t.elapsed());
    }
    let p50 = median(lat);
    eprintln!("latency 2ms..2ms: ext4 4 KiB append + fdatasync: fdatasync p50 {p50:?}");
    assert!(p50 >= Duration::from_millis(2), "fdatasync p50 {p50:?}");
    drop(f);
    drop(m);
    drop(lo);
    drop(dev);
    assert!(!is_mounted(&mp));
}

/// A volatile cache that destages only when told (a minute).
fn volatile() -> DeviceModel {
    DeviceModel {
        cache: CacheModel::Volatile {
            size: 64 << 20,
            destage_after: Duration::from_secs(60),
        },
        ..DeviceModel::default()
    }
}

fn read_block(f: &File, i: u64) -> [u8; 4096] {
    let mut b = [0u8; 4096];
    f.read_exact_at(&mut b, i * 4096).unwrap();
    b
}

#[test]
#[ignore = "needs root, /dev/fuse and loop devices"]
fn power_loss_drops_the_unflushed_write_and_keeps_the_flushed_one() {
    require(&[Need::Root]);
    private_mounts();
    let dir = disk_tempdir();
    let (img, mp) = image_and_mountpoint(dir.path(), 16 << 20);
    let dev = EmulatedDevice::start(&img, &mp, volatile(), 1).unwrap();
    let lo = LoopDevice::attach(&dev.image_path(), true).unwrap();
    let f = open_direct(&lo);
    f.write_all_at(&block(b'A').0, 0).unwrap();
    f.sync_data().unwrap();
    f.write_all_at(&block(b'B').0, 4096).unwrap();
    // The device shows B (from its cache); the image does not have it yet.
    let mut b = block(0);
    f.read_exact_at(&mut b.0, 4096).unwrap();
    assert_eq!(b.0, [b'B'; 4096]);
    let raw = File::open(&img).unwrap();
    assert_eq!(read_block(&raw, 1), [0; 4096]);
    assert_eq!(dev.counters().cached_bytes, 4096);

    let out = dev.power_loss(false).unwrap();
    assert_eq!(out.unflushed, 1);
    assert!(out.survivors.is_empty());
    // The device answers no more.
    let err = f.write_all_at(&block(b'C').0, 8192).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    drop(f);
    drop(lo);
    drop(dev);
    assert!(!is_mounted(&mp));
    assert_eq!(
        read_block(&raw, 0),
        [b'A'; 4096],
        "the flushed write survived"
    );
    assert_eq!(
        read_block(&raw, 1),
        [0; 4096],
        "the unflushed write is lost"
    );
    assert_eq!(read_block(&raw, 2), [0; 4096], "nothing after the cut");
}

/// 64 unflushed 4 KiB writes (block i filled with i+1), then a power loss
/// with reorder and `seed`: which blocks the image holds afterwards.
fn survivors_of(seed: u64) -> Vec<u64> {
    let dir = disk_tempdir();
    let (img, mp) = image_and_mountpoint(dir.path(), 16 << 20);
    let dev = EmulatedDevice::start(&img, &mp, volatile(), seed).unwrap();
    let lo = LoopDevice::attach(&dev.image_path(), true).unwrap();
    let f = open_direct(&lo);
    for i in 0..64u64 {
        f.write_all_at(&block(i as u8 + 1).0, i * 4096).unwrap();
    }
    let out = dev.power_loss(true).unwrap();
    assert_eq!(out.unflushed, 64);
    drop(f);
    drop(lo);
    drop(dev);
    let raw = File::open(&img).unwrap();
    let found: Vec<u64> = (0..64u64)
        .filter(|&i| {
            let b = read_block(&raw, i);
            assert!(b == [0; 4096] || b == [i as u8 + 1; 4096], "block {i} torn");
            b[0] != 0
        })
        .collect();
    let mut reported: Vec<u64> = out.survivors.iter().map(|x| x.offset / 4096).collect();
    reported.sort();
    assert_eq!(
        found, reported,
        "the image holds exactly the reported survivors"
    );
    found
}

#[test]
#[ignore = "needs root, /dev/fuse and loop devices"]
fn power_loss_with_reorder_keeps_a_seeded_strict_subset() {
    require(&[Need::Root]);
    private_mounts();
    let a = survivors_of(42);
    eprintln!(
        "seed 42: {} of 64 unflushed writes survived: {a:?}",
        a.len()
    );
    assert!(!a.is_empty() && a.len() < 64, "a strict subset");
    assert_eq!(survivors_of(42), a, "the same seed, the same survivors");
    assert_ne!(survivors_of(43), a, "another seed, other survivors");
}

/// One side of the FUSE-cost comparison: ext4 on a direct-I/O loop device
/// over `image`, a 4 KiB append + fsync loop for `secs`: (records/s,
/// fsync p50).
fn fsync_loop_on_ext4(image: &Path, mnt: &Path, secs: f64) -> (f64, Duration) {
    let lo = LoopDevice::attach(image, true).unwrap();
    assert!(lo.direct_io());
    mkfs_ext4(lo.path());
    let m = MountGuard::mount(lo.path(), mnt, "ext4", "").unwrap();
    let f = File::create(mnt.join("wal")).unwrap();
    let buf = [0x42u8; 4096];
    let mut lat = Vec::new();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        f.write_all_at(&buf, n * 4096).unwrap();
        let t = Instant::now();
        f.sync_all().unwrap();
        lat.push(t.elapsed());
        n += 1;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    drop(f);
    drop(m);
    drop(lo);
    (rate, median(lat))
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The cost of the FUSE path itself (benches/emudev.sh runs this): the
/// same fsync-per-4 KiB-record loop on ext4 on a loop device over (a) a
/// plain image file and (b) the FUSE-served image with zero latency and no
/// limits, in interleaved pairs; prints each pair, the medians and the
/// ratio. WPBENCH_EMUDEV_PAIRS (default 3) and WPBENCH_EMUDEV_SECS
/// (default 2) set the size. Images on the disk (/var/tmp).
#[test]
#[ignore = "needs root, /dev/fuse and loop devices"]
fn fuse_path_cost() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    private_mounts();
    let dir = disk_tempdir();
    compare_plain_and_fuse("disk", dir.path());
}

/// The same with the images on a tmpfs: the image's own fsync costs
/// nothing, so what is left is the FUSE round trip of each request.
#[test]
#[ignore = "needs root, /dev/fuse and loop devices"]
fn fuse_path_cost_on_tmpfs() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    private_mounts();
    let dir = disk_tempdir();
    let ram = dir.path().join("ram");
    std::fs::create_dir(&ram).unwrap();
    let _t = MountGuard::mount(Path::new("wpbench-test"), &ram, "tmpfs", "size=1g").unwrap();
    compare_plain_and_fuse("tmpfs", &ram);
}

fn compare_plain_and_fuse(label: &str, dir: &Path) {
    let pairs: usize = env_or("WPBENCH_EMUDEV_PAIRS", 3);
    let secs: f64 = env_or("WPBENCH_EMUDEV_SECS", 2.0);
    let mnt = dir.join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let (mut plain, mut fuse) = (Vec::new(), Vec::new());
    for i in 0..pairs {
        let sub = dir.join(format!("pair{i}"));
        std::fs::create_dir(&sub).unwrap();
        let (img, mp) = image_and_mountpoint(&sub, 128 << 20);
        let a = fsync_loop_on_ext4(&img, &mnt, secs);
        std::fs::remove_file(&img).unwrap();
        mkfs::create_image(&img, 128 << 20).unwrap();
        // (b) right after (a): drift between pairs cancels in the ratio.
        let dev = EmulatedDevice::start(&img, &mp, DeviceModel::default(), 1).unwrap();
        let b = fsync_loop_on_ext4(&dev.image_path(), &mnt, secs);
        drop(dev);
        std::fs::remove_dir_all(&sub).unwrap();
        eprintln!(
            "{label} pair {i}: plain {:.0} records/s (fsync p50 {:.0} us), FUSE {:.0} records/s (fsync p50 {:.0} us)",
            a.0,
            a.1.as_secs_f64() * 1e6,
            b.0,
            b.1.as_secs_f64() * 1e6
        );
        plain.push(a);
        fuse.push(b);
    }
    let med = |v: &[(f64, Duration)]| {
        let mut r: Vec<f64> = v.iter().map(|x| x.0).collect();
        r.sort_by(f64::total_cmp);
        let l = median(v.iter().map(|x| x.1).collect());
        (r[r.len() / 2], l)
    };
    let (pr, pl) = med(&plain);
    let (fr, fl) = med(&fuse);
    eprintln!(
        "{label}: median of {pairs} pairs of {secs} s: plain {pr:.0} records/s, fsync p50 {:.0} us; \
         FUSE {fr:.0} records/s, fsync p50 {:.0} us; FUSE/plain: {:.2}x records/s, {:.2}x fsync p50",
        pl.as_secs_f64() * 1e6,
        fl.as_secs_f64() * 1e6,
        fr / pr,
        fl.as_secs_f64() / pl.as_secs_f64()
    );
    assert!(pr > 0.0 && fr > 0.0);
}

/// ext4 mounted with `options` on a volatile-cache device: a file written
/// and fsynced (and its directory), then power is cut (nothing unflushed
/// survives). Returns what a fresh mount of the real image finds in the
/// file (None: no file).
fn fsynced_file_after_power_loss(options: &str) -> Option<Vec<u8>> {
    let dir = disk_tempdir();
    let (img, mp) = image_and_mountpoint(dir.path(), 64 << 20);
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let payload = vec![0xA5u8; 64 << 10];
    {
        let dev = EmulatedDevice::start(&img, &mp, volatile(), 1).unwrap();
        let lo = LoopDevice::attach(&dev.image_path(), true).unwrap();
        mkfs_ext4(lo.path());
        let m = MountGuard::mount(lo.path(), &mnt, "ext4", options).unwrap();
        let f = File::create(mnt.join("acked")).unwrap();
        f.write_all_at(&payload, 0).unwrap();
        f.sync_all().unwrap();
        File::open(&mnt).unwrap().sync_all().unwrap();
        drop(f);
        let out = dev.power_loss(false).unwrap();
        eprintln!(
            "ext4 [{options}]: {} unflushed writes lost at the cut; daemon {:?}",
            out.unflushed,
            dev.counters()
        );
        drop(m); // writes fail now: ext4 reports them and unmounts
        drop(lo);
        drop(dev);
    }
    // The real image, as the disk holds it after power comes back.
    let lo = LoopDevice::attach(&img, true).unwrap();
    let _m = MountGuard::mount(lo.path(), &mnt, "ext4", "").unwrap();
    let found = std::fs::read(mnt.join("acked")).ok();
    if let Some(data) = &found {
        assert!(
            data.is_empty() || data == &payload,
            "{} bytes, neither empty nor whole",
            data.len()
        );
    }
    found
}

/// What the emulated device exists for: with barriers, an fsynced file
/// survives a power cut that drops the volatile cache; with `nobarrier`,
/// ext4 sends no flush and the acknowledged file is lost.
#[test]
#[ignore = "needs root, /dev/fuse and loop devices"]
fn power_loss_keeps_fsynced_data_with_barriers_and_loses_it_with_nobarrier() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    private_mounts();
    let with = fsynced_file_after_power_loss("");
    assert_eq!(
        with.map(|d| d.len()),
        Some(64 << 10),
        "barrier: the fsynced file survives"
    );
    let without = fsynced_file_after_power_loss("nobarrier");
    assert!(
        without.as_ref().is_none_or(|d| d.is_empty()),
        "nobarrier: the fsynced file should be lost, found {:?} bytes",
        without.map(|d| d.len())
    );
}

/// Requests are served concurrently: with a 10 ms latency, eight writers
/// on the loop device get far more than the 100 writes/s one would.
#[test]
#[ignore = "needs root, /dev/fuse and loop devices"]
fn a_latency_does_not_cap_a_deeper_queue() {
    require(&[Need::Root]);
    private_mounts();
    let dir = disk_tempdir();
    let (img, mp) = image_and_mountpoint(dir.path(), 16 << 20);
    let model = DeviceModel {
        latency: (Duration::from_millis(10), Duration::from_millis(10)),
        ..DeviceModel::default()
    };
    let dev = EmulatedDevice::start(&img, &mp, model, 1).unwrap();
    let lo = LoopDevice::attach(&dev.image_path(), true).unwrap();
    let secs = 1.5;
    let total: u64 = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8u64)
            .map(|t| {
                let f = open_direct(&lo);
                s.spawn(move || {
                    let buf = block(t as u8);
                    let start = Instant::now();
                    let mut n = 0u64;
                    while start.elapsed().as_secs_f64() < secs {
                        f.write_all_at(&buf.0, (t * 64 + n % 64) * 4096).unwrap();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let rate = total as f64 / secs;
    eprintln!("latency 10 ms, 8 O_DIRECT writers on the loop device: {rate:.0} writes/s");
    assert!(
        rate > 400.0,
        "{rate:.0} writes/s: requests are not served concurrently"
    );
    drop(lo);
    drop(dev);
    assert!(!is_mounted(&mp));
}
