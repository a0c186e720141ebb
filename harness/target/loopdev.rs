//! Loop devices, attached through the loop ioctls (never by running
//! losetup): a free device from `/dev/loop-control`, configured in one
//! `LOOP_CONFIGURE` with `LO_FLAGS_AUTOCLEAR`, so the kernel detaches it as
//! soon as nothing (neither our fd nor a mount) holds it any more — even
//! when the run is killed.

use std::ffi::c_void;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::io::Errno;
use rustix::ioctl::{Ioctl, IoctlOutput, Opcode};

use crate::device::blockstat::BlockDev;
use crate::error::{Error, Result};

const LOOP_CONTROL: &str = "/dev/loop-control";

/// `LOOP_CTL_GET_FREE`: returns the number of a free (unbound) device,
/// creating one when none is left.
const LOOP_CTL_GET_FREE: Opcode = 0x4C82;
/// `LOOP_CONFIGURE`: binds a backing fd and sets status in one step.
const LOOP_CONFIGURE: Opcode = 0x4C0A;
/// `LOOP_CLR_FD`: detaches (lazily, at last close, when still in use).
const LOOP_CLR_FD: Opcode = 0x4C01;

pub const LO_FLAGS_AUTOCLEAR: u32 = 4;
pub const LO_FLAGS_DIRECT_IO: u32 = 16;

/// The block major of loop devices.
pub const LOOP_MAJOR: u32 = 7;

/// How often a free device is looked for again after another process took
/// it between `LOOP_CTL_GET_FREE` and `LOOP_CONFIGURE`.
const BUSY_RETRIES: u32 = 20;

const LO_NAME_SIZE: usize = 64;
const LO_KEY_SIZE: usize = 32;

/// `struct loop_info64` from linux/loop.h.
#[repr(C)]
#[derive(Clone, Copy)]
struct LoopInfo64 {
    lo_device: u64,
    lo_inode: u64,
    lo_rdevice: u64,
    lo_offset: u64,
    lo_sizelimit: u64,
    lo_number: u32,
    lo_encrypt_type: u32,
    lo_encrypt_key_size: u32,
    lo_flags: u32,
    lo_file_name: [u8; LO_NAME_SIZE],
    lo_crypt_name: [u8; LO_NAME_SIZE],
    lo_encrypt_key: [u8; LO_KEY_SIZE],
    lo_init: [u64; 2],
}

/// `struct loop_config` from linux/loop.h.
#[repr(C)]
#[derive(Clone, Copy)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    info: LoopInfo64,
    reserved: [u64; 8],
}

// The kernel's layout: loop_info64 is 232 bytes, loop_config 304.
const _: () = assert!(std::mem::size_of::<LoopInfo64>() == 232);
const _: () = assert!(std::mem::size_of::<LoopConfig>() == 304);

impl LoopConfig {
    fn new(backing: &File, image: &Path, flags: u32) -> LoopConfig {
        let mut info = LoopInfo64 {
            lo_device: 0,
            lo_inode: 0,
            lo_rdevice: 0,
            lo_offset: 0,
            lo_sizelimit: 0,
            lo_number: 0,
            lo_encrypt_type: 0,
            lo_encrypt_key_size: 0,
            lo_flags: flags,
            lo_file_name: [0; LO_NAME_SIZE],
            lo_crypt_name: [0; LO_NAME_SIZE],
            lo_encrypt_key: [0; LO_KEY_SIZE],
            lo_init: [0; 2],
        };
        // Truncated, always NUL-terminated.
        let name = image.as_os_str().as_bytes();
        let n = name.len().min(LO_NAME_SIZE - 1);
        info.lo_file_name[..n].copy_from_slice(&name[..n]);
        use std::os::fd::AsRawFd;
        LoopConfig {
            fd: backing.as_raw_fd() as u32,
            block_size: 0,
            info,
            reserved: [0; 8],
        }
    }
}

/// One loop ioctl: an opcode and a pointer-or-integer argument; the output
/// is the ioctl's return value (the device number for `LOOP_CTL_GET_FREE`).
struct LoopIoctl {
    opcode: Opcode,
    arg: *mut c_void,
}

// SAFETY: the opcodes used are the loop ioctls above; `arg` is either null
// (GET_FREE, CLR_FD take no argument) or points to a live `LoopConfig`
// that the kernel only reads (LOOP_CONFIGURE). The output is the plain
// return value; nothing is read back through the pointer.
unsafe impl Ioctl for LoopIoctl {
    type Output = IoctlOutput;
    const IS_MUTATING: bool = true;

    fn opcode(&self) -> Opcode {
        self.opcode
    }

    fn as_ptr(&mut self) -> *mut c_void {
        self.arg
    }

    unsafe fn output_from_ptr(out: IoctlOutput, _: *mut c_void) -> rustix::io::Result<IoctlOutput> {
        Ok(out)
    }
}

fn loop_ioctl<F: AsFd>(fd: F, opcode: Opcode, arg: *mut c_void) -> rustix::io::Result<IoctlOutput> {
    // SAFETY: see the `Ioctl` impl of `LoopIoctl`; callers pass null or a
    // pointer to a `LoopConfig` that outlives the call.
    unsafe { rustix::ioctl::ioctl(fd, LoopIoctl { opcode, arg }) }
}

/// An attached loop device. Dropping it releases the device: with
/// AUTOCLEAR the kernel detaches it once nothing else (a mount) holds it.
#[derive(Debug)]
pub struct LoopDevice {
    fd: OwnedFd,
    number: u32,
    path: PathBuf,
    direct_io: bool,
    rdev: u64,
}

impl LoopDevice {
    /// Attaches `image` (a regular file) to a free loop device with
    /// `LO_FLAGS_AUTOCLEAR`, and `LO_FLAGS_DIRECT_IO` when `direct_io`
    /// (falling back to buffered I/O when the backing filesystem refuses
    /// direct I/O, e.g. tmpfs; `direct_io()` tells which is in effect).
    pub fn attach(image: &Path, direct_io: bool) -> Result<LoopDevice> {
        let meta = std::fs::metadata(image)
            .map_err(|e| Error::run_io(format!("loop image {}", image.display()), e))?;
        if !meta.file_type().is_file() {
            return Err(Error::Run(format!(
                "loop image {} is not a regular file",
                image.display()
            )));
        }
        let backing = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(image)
            .map_err(|e| Error::run_io(format!("opening loop image {}", image.display()), e))?;
        let control = open_control()?;

        let mut want_dio = direct_io;
        let mut last_busy = None;
        for attempt in 0..BUSY_RETRIES {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(2 * u64::from(attempt)));
            }
            let number = loop_ioctl(&control, LOOP_CTL_GET_FREE, std::ptr::null_mut()).map_err(
                |e| match e {
                    Errno::PERM | Errno::ACCESS => needs_root(e),
                    _ => Error::Run(format!("{LOOP_CONTROL}: LOOP_CTL_GET_FREE failed: {e}")),
                },
            )?;
            let number = u32::try_from(number)
                .map_err(|_| Error::Run(format!("LOOP_CTL_GET_FREE returned {number}")))?;
            let path = PathBuf::from(format!("/dev/loop{number}"));
            let Some((fd, rdev)) = open_device(&path, number)? else {
                // ENXIO: the device is being torn down (another user's
                // detach in progress); look for another free one.
                last_busy = Some(path);
                continue;
            };

            let mut flags = LO_FLAGS_AUTOCLEAR;
            if want_dio {
                flags |= LO_FLAGS_DIRECT_IO;
            }
            let mut result = configure(&fd, &backing, image, flags);
            if want_dio && result == Err(Errno::INVAL) {
                // The backing filesystem cannot do O_DIRECT (tmpfs):
                // buffered is the only way.
                want_dio = false;
                result = configure(&fd, &backing, image, LO_FLAGS_AUTOCLEAR);
            }
            match result {
                Ok(()) => {}
                Err(Errno::BUSY | Errno::NXIO) => {
                    // Someone else bound it first; it is theirs. Close ours
                    // (without touching its state) and look again.
                    last_busy = Some(path);
                    drop(fd);
                    continue;
                }
                Err(e @ (Errno::PERM | Errno::ACCESS)) => return Err(needs_root(e)),
                Err(e) => {
                    return Err(Error::Run(format!(
                        "LOOP_CONFIGURE of {} with {} failed: {e}",
                        path.display(),
                        image.display()
                    )))
                }
            }
            // From here on the device is bound to our image: dropping the
            // value releases it on every error path.
            let mut dev = LoopDevice {
                fd,
                number,
                path,
                direct_io: want_dio,
                rdev,
            };
            dev.verify(want_dio)?;
            return Ok(dev);
        }
        Err(Error::Run(format!(
            "no free loop device could be bound after {BUSY_RETRIES} attempts \
             (last tried: {}, busy or being detached — other processes are using loop devices)",
            last_busy
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "none".into())
        )))
    }

    /// Checks in sysfs that the kernel applied AUTOCLEAR and reads back
    /// whether direct I/O is really in effect.
    fn verify(&mut self, requested_dio: bool) -> Result<()> {
        let dir = PathBuf::from(format!("/sys/block/loop{}/loop", self.number));
        let read = |name: &str| -> Result<String> {
            let p = dir.join(name);
            std::fs::read_to_string(&p)
                .map(|s| s.trim().to_string())
                .map_err(|e| Error::run_io(format!("reading {}", p.display()), e))
        };
        let autoclear = read("autoclear")?;
        if autoclear != "1" {
            return Err(Error::Run(format!(
                "{}: the kernel did not apply LO_FLAGS_AUTOCLEAR (autoclear = {autoclear}); \
                 detached it",
                self.path.display()
            )));
        }
        let dio = read("dio")? == "1";
        if dio && !requested_dio {
            return Err(Error::Run(format!(
                "{}: direct I/O is in effect although buffered I/O was asked for; detached it",
                self.path.display()
            )));
        }
        // Requested but not in effect: some kernels accept the flag and
        // fall back silently instead of failing with EINVAL. Report it.
        self.direct_io = dio;
        Ok(())
    }

    /// `/dev/loopN`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn number(&self) -> u32 {
        self.number
    }

    /// Whether direct I/O to the backing file is actually in effect.
    pub fn direct_io(&self) -> bool {
        self.direct_io
    }

    /// The device for the block counters: "loopN", major:minor from st_rdev.
    pub fn block_dev(&self) -> BlockDev {
        BlockDev {
            name: format!("loop{}", self.number),
            major: rustix::fs::major(self.rdev),
            minor: rustix::fs::minor(self.rdev),
        }
    }

    /// st_rdev of `/dev/loopN`: a filesystem mounted from it has this st_dev.
    pub fn rdev(&self) -> u64 {
        self.rdev
    }
}

/// Whether loopN is still backed by `image` (/sys says so until the kernel
/// has detached it).
pub fn backs(number: u32, image: &Path) -> bool {
    std::fs::read_to_string(format!("/sys/block/loop{number}/loop/backing_file"))
        .is_ok_and(|s| Path::new(s.trim_end_matches('\n')) == image)
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        // LOOP_CLR_FD only marks the device for detaching at last close
        // (it is AUTOCLEAR already) and, when our fd is the only opener,
        // stops new openers; a mount still holding the device keeps it
        // until unmounted. While our fd is open the device is certainly
        // still ours, so this never touches another process's device.
        // ENXIO (already unbound) is fine.
        let _ = loop_ioctl(&self.fd, LOOP_CLR_FD, std::ptr::null_mut());
        // Closing the fd (OwnedFd's drop) lets the kernel detach it.
    }
}

fn configure(fd: &OwnedFd, backing: &File, image: &Path, flags: u32) -> rustix::io::Result<()> {
    let mut config = LoopConfig::new(backing, image, flags);
    loop_ioctl(fd, LOOP_CONFIGURE, (&mut config as *mut LoopConfig).cast()).map(|_| ())
}

fn needs_root(e: Errno) -> Error {
    Error::Environment(format!(
        "attaching a loop device needs root (CAP_SYS_ADMIN): {LOOP_CONTROL}: {e}"
    ))
}

fn open_control() -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(LOOP_CONTROL)
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Error::Environment(
                "loop devices are not available: load the loop module (modprobe loop)".into(),
            ),
            io::ErrorKind::PermissionDenied => {
                needs_root(Errno::from_io_error(&e).unwrap_or(Errno::PERM))
            }
            _ => Error::run_io(format!("opening {LOOP_CONTROL}"), e),
        })
}

/// Opens `/dev/loopN` read-write. A device just created by
/// `LOOP_CTL_GET_FREE` may not have its node yet: wait briefly for devtmpfs
/// (or udev), then make the node from sysfs's major:minor.
/// `None` when the device is going away (ENXIO) and another should be
/// tried.
fn open_device(path: &Path, number: u32) -> Result<Option<(OwnedFd, u64)>> {
    let open = || {
        OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
    };
    let mut result = open();
    for _ in 0..50 {
        match &result {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::thread::sleep(Duration::from_millis(10));
                result = open();
            }
            _ => break,
        }
    }
    if matches!(&result, Err(e) if e.kind() == io::ErrorKind::NotFound) {
        make_node(path, number)?;
        result = open();
    }
    if matches!(&result, Err(e) if e.raw_os_error() == Some(libc::ENXIO)) {
        return Ok(None);
    }
    let file = result.map_err(|e| match e.kind() {
        io::ErrorKind::PermissionDenied => {
            needs_root(Errno::from_io_error(&e).unwrap_or(Errno::PERM))
        }
        _ => Error::run_io(format!("opening {}", path.display()), e),
    })?;
    let meta = file
        .metadata()
        .map_err(|e| Error::run_io(format!("stat {}", path.display()), e))?;
    use std::os::unix::fs::MetadataExt;
    let rdev = meta.rdev();
    if !meta.file_type().is_block_device() || rustix::fs::major(rdev) != LOOP_MAJOR {
        return Err(Error::Environment(format!(
            "{} is not a loop block device (major {LOOP_MAJOR})",
            path.display()
        )));
    }
    Ok(Some((file.into(), rdev)))
}

fn make_node(path: &Path, number: u32) -> Result<()> {
    let sys = format!("/sys/block/loop{number}/dev");
    let text = std::fs::read_to_string(&sys).map_err(|e| {
        Error::Environment(format!(
            "{} does not exist and {sys} cannot be read ({e}); is /dev a devtmpfs?",
            path.display()
        ))
    })?;
    let (major, minor) = text
        .trim()
        .split_once(':')
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
        .ok_or_else(|| Error::Run(format!("{sys}: unexpected content {text:?}")))?;
    match rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::BlockDevice,
        rustix::fs::Mode::from_raw_mode(0o660),
        rustix::fs::makedev(major, minor),
    ) {
        Ok(()) | Err(Errno::EXIST) => Ok(()),
        Err(e) => Err(Error::Environment(format!(
            "{} does not exist and creating it failed: {e}",
            path.display()
        ))),
    }
}

/// Helpers shared by the tests of the target modules that need root,
/// loop devices and mounts.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};

    /// Moves this test's thread into its own private mount namespace:
    /// whatever the test mounts is invisible to the host and vanishes when
    /// the thread ends, even if a guard never runs. (NEWNS unshares only
    /// the calling thread's fs context.)
    pub fn private_mounts() {
        crate::target::namespace::enter_private_mount_namespace()
            .expect("entering a private mount namespace");
    }

    /// A temporary directory on a real disk (/var/tmp, not a tmpfs).
    pub fn disk_tempdir() -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix("wpbench-test-")
            .tempdir_in("/var/tmp")
            .expect("creating a tempdir in /var/tmp")
    }

    /// Unmounts on drop (lazily as a last resort).
    pub struct MountGuard(pub PathBuf);

    impl MountGuard {
        pub fn mount(
            source: &Path,
            target: &Path,
            fstype: &str,
            data: &str,
        ) -> rustix::io::Result<MountGuard> {
            let data = std::ffi::CString::new(data).unwrap();
            rustix::mount::mount(
                source,
                target,
                fstype,
                rustix::mount::MountFlags::empty(),
                data.as_c_str(),
            )?;
            Ok(MountGuard(target.to_path_buf()))
        }
    }

    impl Drop for MountGuard {
        fn drop(&mut self) {
            if let Err(e) = crate::target::unmount(&self.0) {
                eprintln!("unmounting {}: {e}", self.0.display());
            }
        }
    }

    /// What /sys says loopN is backed by, None when it is detached.
    pub fn backing_file(number: u32) -> Option<PathBuf> {
        std::fs::read_to_string(format!("/sys/block/loop{number}/loop/backing_file"))
            .ok()
            .map(|s| PathBuf::from(s.trim_end_matches('\n')))
    }

    /// Waits until loopN is no longer backed by `image` (another test may
    /// bind the same number right after it is freed).
    pub fn wait_detached(number: u32, image: &Path) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match backing_file(number) {
                Some(b) if b == image => {}
                _ => return true,
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::testing::{require, Need};

    fn image(dir: &Path, name: &str, size: u64) -> PathBuf {
        let p = dir.join(name);
        let f = File::create_new(&p).unwrap();
        f.set_len(size).unwrap();
        p
    }

    fn sys(number: u32, name: &str) -> String {
        std::fs::read_to_string(format!("/sys/block/loop{number}/loop/{name}"))
            .unwrap()
            .trim()
            .to_string()
    }

    #[test]
    #[ignore = "needs root: attaches a loop device"]
    fn attach_with_direct_io_and_autoclear() {
        require(&[Need::Root]);
        let dir = disk_tempdir();
        let img = image(dir.path(), "dio.img", 16 << 20);
        let dev = LoopDevice::attach(&img, true).unwrap();
        let n = dev.number();
        assert_eq!(dev.path(), Path::new(&format!("/dev/loop{n}")));
        assert_eq!(backing_file(n).as_deref(), Some(img.as_path()));
        assert_eq!(sys(n, "autoclear"), "1");
        assert_eq!(sys(n, "dio"), "1");
        assert!(dev.direct_io());
        let bd = dev.block_dev();
        assert_eq!(bd.name, format!("loop{n}"));
        assert_eq!(bd.major, LOOP_MAJOR);
        assert_eq!(rustix::fs::makedev(bd.major, bd.minor), dev.rdev());
        drop(dev);
        assert!(
            wait_detached(n, &img),
            "loop{n} still attached to {}",
            img.display()
        );
    }

    #[test]
    #[ignore = "needs root: attaches a loop device"]
    fn attach_buffered_when_asked() {
        require(&[Need::Root]);
        let dir = disk_tempdir();
        let img = image(dir.path(), "buf.img", 16 << 20);
        let dev = LoopDevice::attach(&img, false).unwrap();
        let n = dev.number();
        assert!(!dev.direct_io());
        assert_eq!(sys(n, "dio"), "0");
        drop(dev);
        assert!(wait_detached(n, &img));
    }

    /// Attaches an image on a fresh `fstype` mount (in this thread's private
    /// mount namespace) asking for direct I/O; returns what the device says.
    fn dio_on(fstype: &str) -> bool {
        require(&[Need::Root]);
        private_mounts();
        let dir = disk_tempdir();
        let mnt = dir.path().join(fstype);
        std::fs::create_dir(&mnt).unwrap();
        let data = if fstype == "tmpfs" { "size=32m" } else { "" };
        let _mount = MountGuard::mount(Path::new("wpbench-test"), &mnt, fstype, data)
            .unwrap_or_else(|e| panic!("mounting a {fstype}: {e}"));
        let img = image(&mnt, "t.img", 16 << 20);
        let dev = LoopDevice::attach(&img, true).unwrap();
        let n = dev.number();
        let dio = dev.direct_io();
        assert_eq!(sys(n, "dio"), if dio { "1" } else { "0" });
        assert_eq!(sys(n, "autoclear"), "1");
        assert_eq!(backing_file(n).as_deref(), Some(img.as_path()));
        drop(dev);
        assert!(wait_detached(n, &img));
        dio
    }

    /// ramfs has no O_DIRECT at all: LOOP_CONFIGURE refuses DIRECT_IO with
    /// EINVAL and attach falls back to buffered.
    #[test]
    #[ignore = "needs root: mounts a ramfs and attaches a loop device on it"]
    fn direct_io_falls_back_on_ramfs() {
        assert!(!dio_on("ramfs"), "ramfs cannot do direct I/O");
    }

    /// tmpfs accepts O_DIRECT since Linux 6.6 (before, it refused it like
    /// ramfs): whichever this kernel does, `direct_io()` tells the truth.
    #[test]
    #[ignore = "needs root: mounts a tmpfs and attaches a loop device on it"]
    fn direct_io_on_tmpfs_reports_what_is_in_effect() {
        let dio = dio_on("tmpfs");
        eprintln!("tmpfs-backed loop device: direct I/O in effect = {dio}");
    }

    #[test]
    fn attach_rejects_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let err = LoopDevice::attach(dir.path(), false).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    #[ignore = "needs root: attaches four loop devices"]
    fn parallel_attaches_get_distinct_devices() {
        require(&[Need::Root]);
        let dir = disk_tempdir();
        let imgs: Vec<PathBuf> = (0..4)
            .map(|i| image(dir.path(), &format!("p{i}.img"), 4 << 20))
            .collect();
        let devs: Vec<LoopDevice> = std::thread::scope(|s| {
            let hs: Vec<_> = imgs
                .iter()
                .map(|img| s.spawn(move || LoopDevice::attach(img, false)))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap().unwrap()).collect()
        });
        let mut numbers: Vec<u32> = devs.iter().map(|d| d.number()).collect();
        for (d, img) in devs.iter().zip(&imgs) {
            assert_eq!(backing_file(d.number()).as_deref(), Some(img.as_path()));
        }
        numbers.sort();
        numbers.dedup();
        assert_eq!(numbers.len(), 4);
        let pairs: Vec<(u32, PathBuf)> = devs.iter().map(|d| d.number()).zip(imgs).collect();
        drop(devs);
        for (n, img) in pairs {
            assert!(wait_detached(n, &img));
        }
    }
}
