//! hostPath: a directory of the node, bind-mounted as Kubernetes does —
//! and the other storage that exists without wpbench, provisioned the
//! same way: a pod's `volume` or `emptydir` (where `--volume NAME=DIR`
//! says it is) and the container's own layer (`rootfs`).
//!
//! wpbench works only in a fresh subdirectory it creates under `path`
//! (recorded in the scratch manifest before it exists), bind-mounts it
//! onto itself and remounts that bind with the per-mount flags asked for.
//! Filesystem options (`data=…`) belong to the filesystem underneath and
//! cannot be set on a bind mount: that is an error naming it.

use std::fs;
use std::path::Path;

use rustix::mount::MountFlags;

use super::mountinfo::MountEntry;
use super::scratch::Removal;
use super::{
    mountinfo, options, shown_as_written, verify_options, ProvisionCtx, Provisioner, Target,
};
use crate::device::blockstat;
use crate::error::{Error, Result};
use crate::scenario::{refused_host_path, TargetKind, TargetSpec};

pub struct HostPath;

fn base_path(spec: &TargetSpec) -> Result<&Path> {
    spec.path().ok_or_else(|| {
        Error::Usage(match spec.kind {
            TargetKind::Hostpath => format!("target {}: hostpath needs `path`", spec.name),
            kind => format!(
                "target {}: a {} target needs --volume {}=DIR",
                spec.name,
                kind.as_str(),
                spec.base_name
            ),
        })
    })
}

/// A pod-storage target's directory must exist already: it is a volume
/// something else mounted (or a directory standing in for one), not a
/// place wpbench makes. Its errors name the flag that gave it.
fn check_volume_dir(spec: &TargetSpec, dir: &Path) -> Result<()> {
    let flag = format!("--volume {}={}", spec.base_name, dir.display());
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::Usage(format!(
            "target {}: {flag}: not a directory; give the directory where the {} is mounted",
            spec.name,
            spec.kind.as_str()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Err(Error::Environment(format!(
                "target {}: {flag}: {e}; wpbench (uid {}) needs to reach and write in it",
                spec.name,
                rustix::process::geteuid().as_raw()
            )))
        }
        Err(e) => Err(Error::Usage(format!(
            "target {}: {flag}: {e}; give the directory where the {} is mounted",
            spec.name,
            spec.kind.as_str()
        ))),
    }
}

/// The per-mount flags a bind mount takes, for messages.
const PER_MOUNT_FLAGS: &str =
    "noatime, relatime, strictatime, nodiratime, ro, nosuid, nodev, noexec";

/// The mount that holds `path`, or will once it is created: the one
/// containing its nearest existing ancestor, symlinks resolved. None when
/// that cannot be told (a relative path, nothing resolvable).
fn mount_holding(path: &Path, entries: &[MountEntry]) -> Option<MountEntry> {
    if !path.is_absolute() {
        return None;
    }
    let existing = path.ancestors().find(|p| p.exists())?;
    let real = existing.canonicalize().ok()?;
    mountinfo::containing(entries, &real).cloned()
}

/// Why filesystem option `opt` cannot be given to a hostPath at `path`,
/// naming the filesystem underneath (`under`) and its current options, so
/// the user knows where the option would have to be set.
pub(crate) fn fs_option_message(opt: &str, path: &Path, under: Option<&MountEntry>) -> String {
    let head = format!(
        "`{opt}` is a filesystem option, and a hostPath is a bind mount, which takes only \
         per-mount flags ({PER_MOUNT_FLAGS})"
    );
    match under {
        Some(e) => format!(
            "{head}. {} lies on {} {} (mounted at {}, options {}): set {opt} on that \
             filesystem, or measure it on an ext4 or xfs target",
            path.display(),
            e.fstype,
            e.source,
            e.mount_point,
            e.effective_options().join(",")
        ),
        None => format!(
            "{head}; it belongs to the filesystem underneath {}: set it there, or measure it \
             on an ext4 or xfs target",
            path.display()
        ),
    }
}

/// The message for filesystem option `opt` on a hostPath at `path`, with
/// the filesystem underneath read from /proc/self/mountinfo (read-only; fine
/// for `validate`). None when that filesystem cannot be found.
pub fn fs_option_refusal(opt: &str, path: &Path) -> Option<String> {
    let entries = mountinfo::read().ok()?;
    let under = mount_holding(path, &entries)?;
    Some(fs_option_message(opt, path, Some(&under)))
}

/// What the scenario loader may learn of this machine: read from
/// /proc/self/mountinfo, never changed.
pub struct MachineHost;

impl crate::scenario::Host for MachineHost {
    fn fs_option_refusal(&self, opt: &str, path: &Path) -> Option<String> {
        fs_option_refusal(opt, path)
    }
}

/// An error about a hostPath's `path`, at the file:line:column where the
/// scenario wrote it (like the loader's own errors), with the same exit
/// code.
fn at_path(spec: &TargetSpec, e: Error) -> Error {
    let Some(place) = &spec.path_place else {
        return e;
    };
    let at = |m: String| place.diagnostic(m).to_string();
    match e {
        Error::Usage(m) => Error::Usage(at(m)),
        Error::Environment(m) => Error::Environment(at(m)),
        e => e,
    }
}

/// What must hold of a hostPath's `path` itself: no system directory, not
/// through a symlink either, and a directory this user can write in (or
/// make). Its errors name the target; [`at_path`] adds where `path` is
/// written.
fn check_path(spec: &TargetSpec) -> Result<()> {
    let base = base_path(spec)?;
    // Resolve symlinks in the part that exists, before anything is
    // created and before asking whether this user may write there, so a
    // path into /etc is refused as such, by root or not. (A relative
    // path is check_base's error.)
    let existing = base.ancestors().find(|p| p.exists());
    if let Some(existing) = existing.filter(|_| base.is_absolute()) {
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
    check_base(&spec.name, base)
}

impl Provisioner for HostPath {
    fn check_environment(&self, spec: &TargetSpec, privileged: bool) -> Result<()> {
        if !privileged && !spec.options.is_empty() {
            return Err(Error::Environment(format!(
                "target {}: options [{}] need a bind mount, which needs root (CAP_SYS_ADMIN); run as root or drop the options",
                spec.name,
                spec.options.join(",")
            )));
        }
        // A rootfs given no directory works in the scratch area, which the
        // run checks itself.
        if spec.kind == TargetKind::Rootfs && spec.path().is_none() {
            return Ok(());
        }
        let base = base_path(spec)?;
        if matches!(spec.kind, TargetKind::Volume | TargetKind::Emptydir) {
            check_volume_dir(spec, base)?;
        }
        check_path(spec).map_err(|e| at_path(spec, e))?;
        if let Err(bad) = options::vfs_flags(&spec.options) {
            let entries = mountinfo::read().unwrap_or_default();
            let under = mount_holding(base, &entries);
            let text = format!(
                "target {}: {}",
                spec.name,
                fs_option_message(&bad, base, under.as_ref())
            );
            // At the option a bind mount cannot take, where it is written.
            let place = spec
                .options
                .iter()
                .position(|o| *o == bad)
                .and_then(|i| spec.option_places.get(i));
            return Err(Error::Usage(match place {
                Some(p) => p.diagnostic(text).to_string(),
                None => text,
            }));
        }
        Ok(())
    }

    fn provision(&self, spec: &TargetSpec, ctx: &mut ProvisionCtx) -> Result<Target> {
        let scratch_dir = ctx.scratch.dir().to_path_buf();
        let base = match spec.path() {
            None if spec.kind == TargetKind::Rootfs => scratch_dir.as_path(),
            _ => base_path(spec)?,
        };
        match spec.kind {
            TargetKind::Volume | TargetKind::Emptydir => check_volume_dir(spec, base)?,
            _ => create_base(base, ctx)?,
        }
        // Resolve symlinks now: a harmless-looking path must not lead into /etc.
        let canonical = base
            .canonicalize()
            .map_err(|e| Error::run_io(format!("resolving {}", base.display()), e))?;
        if let Some(reason) = refused_host_path(&canonical) {
            return Err(at_path(
                spec,
                Error::Usage(format!(
                    "target {}: path {} resolves to {}: {reason}",
                    spec.name,
                    base.display(),
                    canonical.display()
                )),
            ));
        }
        let dir = canonical.join(format!("wpbench-{}-c{}", ctx.run_id, ctx.cell));
        ctx.scratch
            .register(&dir, Removal::Tree)
            .map_err(|e| Error::run_io("writing the scratch manifest", e))?;
        // create_dir fails if it exists: the directory is always fresh.
        fs::create_dir(&dir)
            .map_err(|e| Error::run_io(format!("creating {}", dir.display()), e))?;
        // Its marker file (.wpbench-run) and inode: the proof a cleanup
        // needs before it removes a directory outside the scratch area.
        ctx.scratch
            .created(&dir)
            .map_err(|e| Error::run_io(format!("marking {} as this run's", dir.display()), e))?;

        let mut target = Target::new(&spec.name, spec.kind, dir.clone());
        target.requested_options = spec.options.clone();
        target.device = blockstat::device_of_path(&dir);
        let entries =
            mountinfo::read().map_err(|e| Error::run_io("reading /proc/self/mountinfo", e))?;
        // A device is this target's alone only when the volume is a whole
        // filesystem mounted at the directory given (not a bind of part
        // of one, as a local-path volume is) and nothing else here mounts
        // that device: a claim's own disk. A directory of a larger
        // filesystem, or the node's disk behind an emptyDir, is shared.
        // Read before the bind below adds a mount of the device.
        let under = mountinfo::containing(&entries, &dir);
        let own_mount =
            under.is_some_and(|e| Path::new(&e.mount_point) == canonical && e.root == "/");
        target.device_shared = spec.kind == TargetKind::Hostpath
            || !own_mount
            || target
                .device
                .as_ref()
                .is_none_or(|d| mounts_of_device(&entries, d.major, d.minor) != 1);
        if let Some(e) = under {
            target.notes.extend(storage_note(spec, e, &target));
        }
        target.paths.push(dir.clone());
        if ctx.privileged {
            bind_with_flags(spec, &dir)?;
            target.mounts.push(dir.clone());
            target.mount = verify_options(&spec.name, &dir, &spec.options, &[], &shown_as_written)?;
        } else if let Some(e) = mountinfo::containing(&entries, &dir) {
            target.mount = e.to_info();
        }
        Ok(target)
    }
}

/// How many mounts show the filesystem of device `major:minor`: one is a
/// device only this volume uses (a claim's own disk); more means others
/// write to it too (the node's disk behind an emptyDir, /etc/hosts, …).
fn mounts_of_device(entries: &[MountEntry], major: u32, minor: u32) -> usize {
    entries
        .iter()
        .filter(|e| e.major == major && e.minor == minor)
        .count()
}

/// What a reader of the result should know about storage wpbench did not
/// make: what filesystem it is, and whether the device counters are the
/// cell's own. None for a hostPath (its `mount` says it all).
fn storage_note(spec: &TargetSpec, under: &MountEntry, target: &Target) -> Option<String> {
    let fs = if under.source == under.fstype || under.source == "none" {
        format!("{} mounted at {}", under.fstype, under.mount_point)
    } else {
        format!(
            "{} on {} mounted at {}",
            under.fstype, under.source, under.mount_point
        )
    };
    let device = match (&target.device, target.device_shared) {
        (None, _) => "no block device to count writes on".to_string(),
        (Some(d), true) => format!(
            "device {} holds other files and mounts too, so its writes are not the cell's alone",
            d.name
        ),
        (Some(d), false) => format!(
            "device {} is mounted only here, so its write amplification is the cell's",
            d.name
        ),
    };
    let what = match spec.kind {
        TargetKind::Hostpath => return None,
        TargetKind::Rootfs if under.fstype == "overlay" => {
            let layers = under
                .super_options
                .split(',')
                .find_map(|o| o.strip_prefix("lowerdir="))
                .map_or(0, |l| l.split(':').count());
            format!(
                "the container's own writable layer: {fs} ({layers} lower layers{})",
                if under.super_options.contains("metacopy=on") {
                    ", metacopy=on"
                } else {
                    ""
                }
            )
        }
        TargetKind::Rootfs => format!(
            "not a container's overlay layer: {} lies on {fs}{}",
            target.root.display(),
            if spec.path().is_none() {
                " (the scratch area's filesystem)"
            } else {
                ""
            }
        ),
        kind => format!("{} `{}`: {fs}", kind.as_str(), spec.base_name),
    };
    Some(format!("{what}; {device}"))
}

/// What must hold of a hostPath's `path` before a run: it is (or can
/// become) a directory that this user can write in. A file there, or a
/// file where a parent directory should be, is the scenario's error (exit
/// 2); a read-only filesystem or a denied write is the machine's (exit 3).
fn check_base(target: &str, base: &Path) -> Result<()> {
    if !base.is_absolute() {
        return Err(Error::Usage(format!(
            "target {target}: path {} must be absolute",
            base.display()
        )));
    }
    let Some(existing) = base.ancestors().find(|p| p.symlink_metadata().is_ok()) else {
        return Ok(());
    };
    // Follow symlinks here: the refusal of system directories above
    // already saw where they lead.
    let meta = std::fs::metadata(existing).map_err(|e| {
        Error::Usage(format!(
            "target {target}: path {}: {} cannot be followed: {e}",
            base.display(),
            existing.display()
        ))
    })?;
    if !meta.is_dir() {
        return Err(Error::Usage(if existing == base {
            format!(
                "target {target}: path {} is a file, not a directory; a hostPath names a \
                 directory wpbench makes a fresh subdirectory in",
                base.display()
            )
        } else {
            format!(
                "target {target}: path {} cannot be made: {} is a file, not a directory",
                base.display(),
                existing.display()
            )
        }));
    }
    rustix::fs::access(
        existing,
        rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK,
    )
    .map_err(|e| {
        Error::Environment(format!(
            "target {target}: wpbench cannot write in {} ({e}){}",
            existing.display(),
            if existing == base {
                String::new()
            } else {
                format!(", where it would make {}", base.display())
            }
        ))
    })
}

/// Creates `base` if missing, recording each directory made so it is
/// removed again (only if empty) at the end. The paths recorded are those
/// of the existing part with symlinks resolved (removal never follows one),
/// each with its device and inode right after its creation: a cleanup
/// removes one only if the directory there is still that one. No marker
/// file here — these directories are the user's base, shared with other
/// runs and other programs — and none is needed: rmdir removes only an
/// empty directory, so even a directory that took the same inode later
/// loses nothing but its emptiness.
fn create_base(base: &Path, ctx: &mut ProvisionCtx) -> Result<()> {
    let Some(existing) = base.ancestors().find(|p| p.exists()) else {
        return Ok(());
    };
    if existing == base {
        return Ok(());
    }
    let real = existing
        .canonicalize()
        .map_err(|e| Error::run_io(format!("resolving {}", existing.display()), e))?;
    let mut dir = real;
    for part in base
        .strip_prefix(existing)
        .unwrap_or(Path::new(""))
        .components()
    {
        dir.push(part);
        ctx.scratch
            .register(&dir, Removal::EmptyDir)
            .map_err(|e| Error::run_io("writing the scratch manifest", e))?;
        fs::create_dir(&dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => Error::Environment(format!(
                "cannot create the hostPath directory {}: {e}; create it with write access for \
                 this user, or run as root",
                dir.display()
            )),
            _ => Error::run_io(format!("creating {}", dir.display()), e),
        })?;
        ctx.scratch
            .created(&dir)
            .map_err(|e| Error::run_io("writing the scratch manifest", e))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict
98 27 0:45 / /var/tmp/t rw,nosuid,noatime - tmpfs wpbench rw,size=1048576k
";

    #[test]
    fn the_message_names_the_filesystem_underneath() {
        let entries = mountinfo::parse(MOUNTINFO);
        let m = fs_option_message(
            "data=writeback",
            Path::new("/var/tmp/wpbench"),
            mountinfo::containing(&entries, Path::new("/var/tmp/wpbench")),
        );
        assert!(m.contains("`data=writeback` is a filesystem option"), "{m}");
        assert!(m.contains("per-mount flags (noatime, relatime"), "{m}");
        assert!(
            m.contains(
                "/var/tmp/wpbench lies on ext4 /dev/vda (mounted at /, options \
                 rw,relatime,discard,resv_strict): set data=writeback on that filesystem"
            ),
            "{m}"
        );
        let m = fs_option_message(
            "size=1G",
            Path::new("/var/tmp/t/x"),
            mountinfo::containing(&entries, Path::new("/var/tmp/t/x")),
        );
        assert!(
            m.contains("lies on tmpfs wpbench (mounted at /var/tmp/t"),
            "{m}"
        );
        // Nothing found: the generic message, still saying where it belongs.
        let m = fs_option_message("data=writeback", Path::new("/x"), None);
        assert!(m.contains("the filesystem underneath /x"), "{m}");
    }

    #[test]
    fn the_mount_of_a_path_not_yet_created_is_its_ancestors() {
        let entries = mountinfo::read().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("a/b/c");
        let m = mount_holding(&missing, &entries).unwrap();
        assert_eq!(
            Some(&m),
            mountinfo::containing(&entries, &dir.path().canonicalize().unwrap())
        );
        assert!(mount_holding(Path::new("relative/x"), &entries).is_none());
        assert!(fs_option_refusal("data=writeback", &missing)
            .unwrap()
            .contains(&format!("lies on {} ", m.fstype)));
    }
}
