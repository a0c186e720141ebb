//! hostPath: a directory of the node, bind-mounted as Kubernetes does.
//!
//! wpbench works only in a fresh subdirectory it creates under `path`
//! (recorded in the scratch manifest before it exists), bind-mounts it
//! onto itself and remounts that bind with the per-mount flags asked for.
//! Filesystem options (`data=…`) belong to the filesystem underneath and
//! cannot be set on a bind mount: that is an error naming it.

use std::fs;
use std::path::{Path, PathBuf};

use rustix::mount::MountFlags;

use super::scratch::Removal;
use super::{
    mountinfo, options, shown_as_written, verify_options, ProvisionCtx, Provisioner, Target,
};
use crate::device::blockstat;
use crate::error::{Error, Result};
use crate::scenario::{refused_host_path, TargetSpec};

pub struct HostPath;

fn base_path(spec: &TargetSpec) -> Result<&Path> {
    spec.path
        .as_deref()
        .ok_or_else(|| Error::Usage(format!("target {}: hostpath needs `path`", spec.name)))
}

/// Describes the filesystem holding `dir`, for error messages.
fn underlying(dir: &Path) -> String {
    let entries = mountinfo::read().unwrap_or_default();
    match mountinfo::containing(&entries, dir) {
        Some(e) => format!(
            "{} lies on {} ({} mounted at {}, options {})",
            dir.display(),
            e.fstype,
            e.source,
            e.mount_point,
            e.effective_options().join(",")
        ),
        None => format!("{} lies on an unknown filesystem", dir.display()),
    }
}

impl Provisioner for HostPath {
    fn check_environment(&self, spec: &TargetSpec, privileged: bool) -> Result<()> {
        let base = base_path(spec)?;
        // Resolve symlinks in the part that exists, before anything is created.
        if let Some(existing) = base.ancestors().find(|p| p.exists()) {
            if let Ok(real) = existing.canonicalize() {
                let resolved = real.join(base.strip_prefix(existing).unwrap_or(Path::new("")));
                if let Some(reason) = refused_host_path(&resolved) {
                    return Err(Error::Usage(format!(
                        "target {}: path {} resolves to {}: {reason}",
                        spec.name,
                        base.display(),
                        resolved.display()
                    )));
                }
            }
        }
        if let Err(bad) = options::vfs_flags(&spec.options) {
            let existing = base
                .ancestors()
                .find(|p| p.exists())
                .unwrap_or(Path::new("/"));
            return Err(Error::Usage(format!(
                "target {}: `{bad}` is a filesystem option, and a hostPath is a bind mount, \
                 which takes only per-mount flags (noatime, relatime, strictatime, nodiratime, \
                 ro, nosuid, nodev, noexec); {} — set it on that filesystem, or use an ext4 target",
                spec.name,
                underlying(existing)
            )));
        }
        if !privileged && !spec.options.is_empty() {
            return Err(Error::Environment(format!(
                "target {}: hostPath options [{}] need a bind mount, which needs root; \
                 run as root or drop the options",
                spec.name,
                spec.options.join(",")
            )));
        }
        Ok(())
    }

    fn provision(&self, spec: &TargetSpec, ctx: &mut ProvisionCtx) -> Result<Target> {
        let base = base_path(spec)?;
        create_base(base, ctx)?;
        // Resolve symlinks now: a harmless-looking path must not lead into /etc.
        let canonical = base
            .canonicalize()
            .map_err(|e| Error::run_io(format!("resolving {}", base.display()), e))?;
        if let Some(reason) = refused_host_path(&canonical) {
            return Err(Error::Usage(format!(
                "target {}: path {} resolves to {}: {reason}",
                spec.name,
                base.display(),
                canonical.display()
            )));
        }
        let dir = canonical.join(format!("wpbench-{}-c{}", ctx.run_id, ctx.cell));
        ctx.scratch
            .register(&dir, Removal::Tree)
            .map_err(|e| Error::run_io("writing the scratch manifest", e))?;
        // create_dir fails if it exists: the directory is always fresh.
        fs::create_dir(&dir)
            .map_err(|e| Error::run_io(format!("creating {}", dir.display()), e))?;

        let mut target = Target::new(&spec.name, spec.kind, dir.clone());
        target.requested_options = spec.options.clone();
        target.device = blockstat::device_of_path(&dir);
        target.device_shared = true;
        target.paths.push(dir.clone());
        if ctx.privileged {
            bind_with_flags(spec, &dir)?;
            target.mounts.push(dir.clone());
            target.mount = verify_options(&spec.name, &dir, &spec.options, &[], &shown_as_written)?;
        } else {
            let entries =
                mountinfo::read().map_err(|e| Error::run_io("reading /proc/self/mountinfo", e))?;
            if let Some(e) = mountinfo::containing(&entries, &dir) {
                target.mount = e.to_info();
            }
        }
        Ok(target)
    }
}

/// Creates `base` if missing, recording each directory made so it is
/// removed again (only if empty) at the end.
fn create_base(base: &Path, ctx: &mut ProvisionCtx) -> Result<()> {
    let missing: Vec<PathBuf> = base
        .ancestors()
        .take_while(|p| !p.exists())
        .map(Path::to_path_buf)
        .collect();
    for dir in missing.iter().rev() {
        ctx.scratch
            .register(dir, Removal::EmptyDir)
            .map_err(|e| Error::run_io("writing the scratch manifest", e))?;
        fs::create_dir(dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => Error::Environment(format!(
                "cannot create the hostPath directory {}: {e}; create it with write access for \
                 this user, or run as root",
                dir.display()
            )),
            _ => Error::run_io(format!("creating {}", dir.display()), e),
        })?;
    }
    Ok(())
}

fn bind_with_flags(spec: &TargetSpec, dir: &Path) -> Result<()> {
    rustix::mount::mount_bind(dir, dir).map_err(|e| {
        Error::Environment(format!(
            "target {}: bind-mounting {}: {e}",
            spec.name,
            dir.display()
        ))
    })?;
    let flags = options::vfs_flags(&spec.options).map_err(|bad| {
        Error::Usage(format!(
            "target {}: `{bad}` is not a per-mount flag",
            spec.name
        ))
    })?;
    rustix::mount::mount_remount(dir, MountFlags::BIND | flags, "").map_err(|e| {
        // Undo the bind so the caller's cleanup sees a plain directory.
        let _ = super::unmount(dir);
        Error::Environment(format!(
            "target {}: remounting the bind of {} with [{}]: {e}",
            spec.name,
            dir.display(),
            spec.options.join(",")
        ))
    })
}
