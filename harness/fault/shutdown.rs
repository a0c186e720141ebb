//! The shutdown ioctl — a simulated power cut — behind the one guard that
//! makes it safe on a production node.
//!
//! EXT4_IOC_SHUTDOWN = XFS_IOC_GOINGDOWN = _IOR('X', 125, u32). With
//! NOLOGFLUSH the filesystem stops at once: nothing more reaches the
//! device, unsynced data is gone, the journal replays at the next mount.
//! Issued on the wrong filesystem (the root filesystem) it makes the whole
//! machine return EIO until reboot. So this is the only function in
//! wpbench that issues it, and it refuses unless the filesystem's st_dev is
//! a loop device this run attached — checked on the open descriptor the
//! ioctl then uses, so nothing can change in between.

use std::path::Path;

use rustix::fs::{Mode, OFlags};

/// The shutdown ioctl's request number.
const FS_IOC_SHUTDOWN: u32 = 0x8004_587d;
/// Stop without flushing the log: a power cut.
const SHUTDOWN_NOLOGFLUSH: u32 = 2;
/// Loop devices' block major.
const LOOP_MAJOR: u32 = 7;

/// Shuts down the filesystem mounted at `mount_point`, if and only if its
/// device is one of `attached` (st_rdev of the loop devices this run
/// attached). Returns why it refused otherwise.
pub fn shutdown_guarded(mount_point: &Path, attached: &[u64]) -> Result<(), String> {
    let fd = rustix::fs::open(
        mount_point,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("opening {}: {e}", mount_point.display()))?;
    let dev = rustix::fs::fstat(&fd)
        .map_err(|e| format!("fstat {}: {e}", mount_point.display()))?
        .st_dev;
    let major = rustix::fs::major(dev);
    if major != LOOP_MAJOR {
        return Err(format!(
            "refusing to shut down {}: its device {major}:{} is not a loop device",
            mount_point.display(),
            rustix::fs::minor(dev)
        ));
    }
    if !attached.contains(&dev) {
        return Err(format!(
            "refusing to shut down {}: loop device {major}:{} was not attached by this run",
            mount_point.display(),
            rustix::fs::minor(dev)
        ));
    }
    let mut flag = SHUTDOWN_NOLOGFLUSH;
    // SAFETY: the request takes a pointer to a u32 flag, which lives on the
    // stack for the duration of the call; the guard above established that
    // `fd` is on a loop device this run attached.
    let rc = unsafe {
        libc::ioctl(
            rustix::fd::AsRawFd::as_raw_fd(&fd),
            FS_IOC_SHUTDOWN as _,
            &mut flag as *mut u32,
        )
    };
    if rc != 0 {
        return Err(format!(
            "shutdown ioctl on {}: {}",
            mount_point.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_the_root_filesystem_and_anything_not_attached() {
        // "/" is never a loop device this run attached — whatever it is.
        let root_dev = rustix::fs::stat("/").unwrap().st_dev;
        let err = shutdown_guarded(Path::new("/"), &[]).unwrap_err();
        assert!(err.starts_with("refusing"), "{err}");
        // Even when told (wrongly) that /'s device was attached, a non-loop
        // device is refused.
        if rustix::fs::major(root_dev) != LOOP_MAJOR {
            let err = shutdown_guarded(Path::new("/"), &[root_dev]).unwrap_err();
            assert!(err.contains("not a loop device"), "{err}");
        }
        // A directory on some other filesystem (/proc, /sys, a tempdir).
        for p in ["/proc", "/sys", "/tmp"] {
            let err = shutdown_guarded(Path::new(p), &[]).unwrap_err();
            assert!(err.starts_with("refusing"), "{p}: {err}");
        }
        let dir = tempfile::tempdir().unwrap();
        assert!(shutdown_guarded(dir.path(), &[])
            .unwrap_err()
            .starts_with("refusing"));
        // A symlink is not followed to its target.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/", &link).unwrap();
        assert!(shutdown_guarded(&link, &[root_dev]).is_err());
    }
}
