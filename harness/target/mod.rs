//! The target room: provisions the filesystem a cell runs on, tells the
//! truth about it (effective mount options from mountinfo), and tears it
//! down so that nothing outlives the cell.
//!
//! Each target kind has a `Provisioner`. Every cell gets a fresh target:
//! a new tmpfs, a new hostPath subdirectory; later kinds a fresh mkfs.

pub mod guardian;
pub mod hostpath;
pub mod mountinfo;
pub mod namespace;
pub mod options;
pub mod scratch;
pub mod tmpfs;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::device::blockstat::BlockDev;
use crate::error::{Error, Result};
use crate::result::MountInfo;
use crate::scenario::{TargetKind, TargetSpec};
use scratch::ScratchArea;

/// What a provisioner needs from the run.
pub struct ProvisionCtx<'a> {
    pub scratch: &'a mut ScratchArea,
    pub run_id: &'a str,
    /// Plan index of the cell, to keep per-cell paths apart.
    pub cell: usize,
    pub privileged: bool,
}

/// Makes targets of one kind.
pub trait Provisioner: Sync {
    /// Fails (exit 3) when this machine cannot provision `spec` at all, so
    /// a run stops before its first cell rather than in its tenth.
    fn check_environment(&self, spec: &TargetSpec, privileged: bool) -> Result<()>;
    /// Creates and mounts a fresh target for one cell.
    fn provision(&self, spec: &TargetSpec, ctx: &mut ProvisionCtx) -> Result<Target>;
}

/// The provisioner of a kind, or exit 3 for kinds this build cannot make.
pub fn provisioner_for(kind: TargetKind) -> Result<&'static dyn Provisioner> {
    match kind {
        TargetKind::Tmpfs => Ok(&tmpfs::Tmpfs),
        TargetKind::Hostpath => Ok(&hostpath::HostPath),
        TargetKind::Ext4 | TargetKind::Xfs | TargetKind::Overlay => {
            Err(Error::Environment(format!(
                "target kind `{}` is not supported by this build of wpbench yet \
                 (tmpfs and hostpath are); use --only to select other targets",
                kind.as_str()
            )))
        }
    }
}

/// A provisioned target. Unmounts on drop; `teardown` also removes its
/// directories and reports problems.
#[derive(Debug)]
pub struct Target {
    pub name: String,
    pub kind: TargetKind,
    /// Where workloads work.
    pub root: PathBuf,
    /// Effective mount, read back from mountinfo.
    pub mount: MountInfo,
    pub requested_options: Vec<String>,
    /// The block device under the target, for write amplification.
    pub device: Option<BlockDev>,
    /// True when other processes share the device (hostPath).
    pub device_shared: bool,
    /// Mounts to undo, innermost last.
    mounts: Vec<PathBuf>,
    /// Paths to remove from the scratch manifest after unmounting.
    paths: Vec<PathBuf>,
}

impl Target {
    /// Unmounts and removes what the target made.
    pub fn teardown(mut self, scratch: &mut ScratchArea) -> Result<()> {
        let mut problems = self.unmount_all();
        for path in std::mem::take(&mut self.paths).into_iter().rev() {
            if let Err(e) = scratch.release(&path) {
                problems.push(format!("removing {}: {e}", path.display()));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Run(format!(
                "tearing down target {}: {}",
                self.name,
                problems.join("; ")
            )))
        }
    }

    fn unmount_all(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        while let Some(mp) = self.mounts.pop() {
            if let Err(e) = unmount(&mp) {
                problems.push(format!("unmounting {}: {e}", mp.display()));
            }
        }
        problems
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        for problem in self.unmount_all() {
            eprintln!("wpbench: {problem}");
        }
    }
}

/// Unmounts, retrying briefly while the filesystem is busy (a worker's
/// last close racing teardown), then lazily as a last resort — the private
/// namespace guarantees it is gone when the run exits in any case.
pub fn unmount(mp: &Path) -> std::io::Result<()> {
    use rustix::mount::{unmount, UnmountFlags};
    for _ in 0..50 {
        match unmount(mp, UnmountFlags::NOFOLLOW) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::BUSY) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(e.into()),
        }
    }
    unmount(mp, UnmountFlags::NOFOLLOW | UnmountFlags::DETACH).map_err(Into::into)
}

/// A target name made safe for a path component.
pub fn path_component(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Reads back what the kernel applied at `mount_point` and fails when a
/// requested option is not in effect — never silently dropped.
pub(crate) fn verify_options(
    target: &str,
    mount_point: &Path,
    requested: &[String],
) -> Result<mountinfo::MountEntry> {
    let entries =
        mountinfo::read().map_err(|e| Error::run_io("reading /proc/self/mountinfo", e))?;
    let entry = mountinfo::find(&entries, mount_point)
        .cloned()
        .ok_or_else(|| {
            Error::Run(format!(
                "target {target}: {} is not in /proc/self/mountinfo after mounting",
                mount_point.display()
            ))
        })?;
    let missing = options::missing(requested, &entry.effective_options());
    if !missing.is_empty() {
        return Err(Error::Environment(format!(
            "target {target}: the kernel did not apply {} (in effect: {})",
            missing.join(", "),
            entry.effective_options().join(",")
        )));
    }
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_components_are_safe() {
        assert_eq!(path_component("ext4[noatime]"), "ext4_noatime_");
        assert_eq!(path_component("a/b c"), "a_b_c");
    }
}
