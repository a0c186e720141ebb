//! Mounting through the new mount API (fsopen → fsconfig → fsmount →
//! move_mount), so that when the kernel refuses an option we know which
//! one, and can show the kernel's own reason (read back from the
//! filesystem context), instead of a bare EINVAL from mount(2).

use std::path::Path;

use rustix::fd::{AsFd, OwnedFd};
use rustix::io::Errno;
use rustix::mount::{
    fsconfig_create, fsconfig_set_flag, fsconfig_set_string, fsmount, fsopen, move_mount,
    FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags,
};

/// Why a mount failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountError {
    /// The step that failed: "fsopen", "option", "create", "fsmount", "move_mount".
    pub step: &'static str,
    /// The option the kernel refused, when it refused one by itself.
    pub option: Option<String>,
    pub errno: Errno,
    /// What the kernel said (fs_context log lines without their `e ` prefix).
    pub kernel: Vec<String>,
    /// The user's options, for naming a refused combination.
    pub options: Vec<String>,
}

impl std::fmt::Display for MountError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.option {
            Some(o) => write!(f, "the kernel refused the option `{o}` ({})", self.errno)?,
            None if self.step == "create" => write!(
                f,
                "the kernel refused this combination of options [{}] ({})",
                self.options.join(", "),
                self.errno
            )?,
            None => write!(f, "{} failed ({})", self.step, self.errno)?,
        }
        if !self.kernel.is_empty() {
            write!(f, ": {}", self.kernel.join("; "))?;
        }
        Ok(())
    }
}

/// Per-mount attributes (set on the mount, not the filesystem).
const ATTRS: &[(&str, MountAttrFlags)] = &[
    ("noatime", MountAttrFlags::MOUNT_ATTR_NOATIME),
    ("strictatime", MountAttrFlags::MOUNT_ATTR_STRICTATIME),
    ("relatime", MountAttrFlags::MOUNT_ATTR_RELATIME),
    ("nodiratime", MountAttrFlags::MOUNT_ATTR_NODIRATIME),
    ("nosuid", MountAttrFlags::MOUNT_ATTR_NOSUID),
    ("nodev", MountAttrFlags::MOUNT_ATTR_NODEV),
    ("noexec", MountAttrFlags::MOUNT_ATTR_NOEXEC),
];

/// Options that restate a per-mount default.
const ATTR_DEFAULTS: &[&str] = &["suid", "dev", "exec", "diratime"];

/// Reads the filesystem context's log: lines like `e ext4: Unknown parameter 'x'`.
fn kernel_log(fs: &OwnedFd) -> Vec<String> {
    let mut lines = Vec::new();
    let mut buf = [0u8; 512];
    // Each read returns one message; ENODATA when the log is empty.
    while let Ok(n) = rustix::io::read(fs, &mut buf) {
        if n == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&buf[..n]).trim().to_string();
        let line = line
            .strip_prefix("e ")
            .or_else(|| line.strip_prefix("w "))
            .or_else(|| line.strip_prefix("i "))
            .unwrap_or(&line)
            .to_string();
        lines.push(line);
    }
    lines
}

/// Mounts a filesystem of `fstype` from `source` at `target`.
///
/// `internal` are wpbench's own parameters (overlay's lowerdir, upperdir,
/// workdir), set first; `options` are the user's, each set on its own so a
/// refusal names it.
pub fn mount(
    fstype: &str,
    source: Option<&str>,
    internal: &[(&str, String)],
    options: &[String],
    target: &Path,
) -> Result<(), MountError> {
    let fail = failure(options);
    let (fs, attrs) = configure(fstype, source, internal, options)?;
    fsconfig_create(fs.as_fd()).map_err(|e| fail("create", None, e, Some(&fs)))?;
    let mnt = fsmount(fs.as_fd(), FsMountFlags::FSMOUNT_CLOEXEC, attrs)
        .map_err(|e| fail("fsmount", None, e, Some(&fs)))?;
    move_mount(
        mnt.as_fd(),
        "",
        rustix::fs::CWD,
        target,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .map_err(|e| fail("move_mount", None, e, None))
}

/// Asks the kernel whether `fstype` takes each of `options`, without
/// making a filesystem or mounting anything: a filesystem context is opened
/// and each option set on it, so an unknown option (`relatme`) or a bad
/// value (`data=writebak`) is refused here exactly as a mount would refuse
/// it. What only a real device can tell (an option the superblock does not
/// support, a combination checked at creation) is left to the mount.
pub fn probe(fstype: &str, options: &[String]) -> Result<(), MountError> {
    configure(fstype, None, &[], options).map(|_| ())
}

/// Builds the error for a failed step, with the kernel's log when a
/// filesystem context exists.
fn failure(
    options: &[String],
) -> impl Fn(&'static str, Option<&str>, Errno, Option<&OwnedFd>) -> MountError + '_ {
    move |step, option, errno, fs| MountError {
        step,
        option: option.map(str::to_string),
        errno,
        kernel: fs.map(kernel_log).unwrap_or_default(),
        options: options.to_vec(),
    }
}

/// Opens a filesystem context for `fstype` and sets the source, wpbench's
/// own parameters and the user's options on it; returns it with the
/// per-mount attributes the options asked for.
fn configure(
    fstype: &str,
    source: Option<&str>,
    internal: &[(&str, String)],
    options: &[String],
) -> Result<(OwnedFd, MountAttrFlags), MountError> {
    let fail = failure(options);
    let fs =
        fsopen(fstype, FsOpenFlags::FSOPEN_CLOEXEC).map_err(|e| fail("fsopen", None, e, None))?;
    if let Some(source) = source {
        fsconfig_set_string(fs.as_fd(), "source", source)
            .map_err(|e| fail("option", Some("source"), e, Some(&fs)))?;
    }
    for (key, value) in internal {
        fsconfig_set_string(fs.as_fd(), *key, value.as_str())
            .map_err(|e| fail("option", Some(key), e, Some(&fs)))?;
    }
    let mut attrs = MountAttrFlags::empty();
    for option in options {
        if let Some((_, flag)) = ATTRS.iter().find(|(name, _)| name == option) {
            attrs |= *flag;
            continue;
        }
        if ATTR_DEFAULTS.contains(&option.as_str()) {
            continue;
        }
        let set = match option.split_once('=') {
            Some((key, value)) => fsconfig_set_string(fs.as_fd(), key, value),
            // `ro`, `rw`, `sync`, `lazytime` … are handled by the VFS here too.
            None => fsconfig_set_flag(fs.as_fd(), option.as_str()),
        };
        set.map_err(|e| fail("option", Some(option), e, Some(&fs)))?;
    }
    Ok((fs, attrs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::loopdev::testing::private_mounts;
    use crate::testing::{require, Need};

    #[test]
    #[ignore = "needs root: mounts a tmpfs"]
    fn mounts_tmpfs_with_attrs_and_data() {
        require(&[Need::Root]);
        private_mounts();
        let dir = tempfile::tempdir().unwrap();
        let mp = dir.path().to_path_buf();
        let verdict = (|| -> Result<(), String> {
            let opts: Vec<String> = ["noatime", "nodev", "size=8M", "nr_inodes=100"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            mount("tmpfs", Some("wpbench-test"), &[], &opts, &mp).map_err(|e| e.to_string())?;
            // This thread's namespace (/proc/self would show the process leader's).
            let text = std::fs::read_to_string("/proc/thread-self/mountinfo")
                .map_err(|e| e.to_string())?;
            let entries = crate::target::mountinfo::parse(&text);
            let e = crate::target::mountinfo::find(&entries, &mp).ok_or("not mounted")?;
            let eff = e.effective_options();
            for want in ["noatime", "nodev", "size=8192k", "nr_inodes=100"] {
                if !eff.iter().any(|o| o == want) {
                    return Err(format!("{want} not in {eff:?}"));
                }
            }
            Ok(())
        })();
        // Unmount before the tempdir is removed, whatever the verdict.
        let unmounted = crate::target::unmount(&mp);
        verdict.unwrap();
        unmounted.unwrap();
    }

    #[test]
    #[ignore = "needs root: opens filesystem contexts (fsopen) to ask the kernel about options"]
    fn a_probe_refuses_a_typo_without_mounting_anything() {
        require(&[Need::Root]);
        let ok = |fstype: &str, opts: &[&str]| {
            probe(
                fstype,
                &opts.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
        };
        ok(
            "tmpfs",
            &["noatime", "size=8M", "nr_inodes=100", "huge=never"],
        )
        .unwrap();
        ok(
            "ext4",
            &["data=writeback", "commit=30", "relatime", "barrier=0"],
        )
        .unwrap();
        ok("overlay", &["metacopy=on", "index=off", "volatile"]).unwrap();
        let e = ok("ext4", &["noatime", "relatme"]).unwrap_err();
        assert_eq!(e.option.as_deref(), Some("relatme"), "{e:?}");
        assert!(e.to_string().contains("relatme"), "{e}");
        let e = ok("ext4", &["data=writebak"]).unwrap_err();
        assert_eq!(e.option.as_deref(), Some("data=writebak"), "{e:?}");
        let e = ok("overlay", &["metacopy=maybe"]).unwrap_err();
        assert_eq!(e.option.as_deref(), Some("metacopy=maybe"), "{e:?}");
    }

    #[test]
    #[ignore = "needs root: mounts a tmpfs"]
    fn a_refused_option_is_named_with_the_kernels_reason() {
        require(&[Need::Root]);
        private_mounts();
        let dir = tempfile::tempdir().unwrap();
        let mp = dir.path().to_path_buf();
        (|| -> Result<(), String> {
            let opts = vec!["noatime".to_string(), "frobnicate=3".to_string()];
            let err = mount("tmpfs", Some("x"), &[], &opts, &mp).expect_err("must fail");
            if err.option.as_deref() != Some("frobnicate=3") || err.errno != Errno::INVAL {
                return Err(format!("{err:?}"));
            }
            let text = err.to_string();
            if !text.contains("frobnicate") || err.kernel.is_empty() {
                return Err(format!("no kernel reason: {text}"));
            }
            Ok(())
        })()
        .unwrap();
    }
}
