//! overlayfs: the container root filesystem. Read-only lower layers (the
//! image, populated from the scenario's `lower:` spec before the cell) and
//! an upper + work directory on a fresh base filesystem (tmpfs, ext4 or
//! xfs, from `upper:`), mounted with the scenario's overlay options. For a
//! crash or a device counter, the base filesystem is what matters: its
//! loop device is the target's device.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::blockfs::{self, FsParams};
use super::scratch::Removal;
use super::{
    mount_error, new_mount_point, options, tmpfs, verify_options, ProvisionCtx, Provisioner,
    Recipe, Target,
};
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::scenario::{BaseFsSpec, LowerSpec, TargetKind, TargetSpec};
use crate::workload::payload::{thread_seed, Payload};
use crate::workload::sys;

pub struct Overlay;

fn upper(spec: &TargetSpec) -> Result<&BaseFsSpec> {
    spec.upper()
        .ok_or_else(|| Error::Usage(format!("target {}: overlay needs `upper:`", spec.name)))
}

/// overlay's module parameters (/sys/module/overlay/parameters): the
/// defaults of the mount options, which the kernel shows only when a
/// mount's value differs from them.
#[derive(Debug, Clone, Copy, Default)]
struct ModuleDefaults {
    index: bool,
    metacopy: bool,
    nfs_export: bool,
    redirect_dir: bool,
    redirect_always_follow: bool,
    xino_auto: bool,
}

impl ModuleDefaults {
    /// None when the parameters cannot be read (overlay not loaded).
    fn read() -> Option<ModuleDefaults> {
        let param = |name: &str| {
            std::fs::read_to_string(format!("/sys/module/overlay/parameters/{name}"))
                .map(|v| v.trim() == "Y")
                .ok()
        };
        Some(ModuleDefaults {
            index: param("index")?,
            metacopy: param("metacopy")?,
            nfs_export: param("nfs_export")?,
            redirect_dir: param("redirect_dir")?,
            redirect_always_follow: param("redirect_always_follow")?,
            xino_auto: param("xino_auto")?,
        })
    }

    /// What `redirect_dir` is when a mount does not say (fs/overlayfs/
    /// params.c, ovl_redirect_mode_def): `on` if the redirect_dir
    /// parameter is set, else `follow` if redirect_always_follow is, else
    /// `nofollow`. Never `off`.
    fn redirect_dir(self) -> &'static str {
        if self.redirect_dir {
            "on"
        } else if self.redirect_always_follow {
            "follow"
        } else {
            "nofollow"
        }
    }

    /// What the kernel makes of `redirect_dir=value`: `off` is stored as
    /// `follow` or `nofollow` (redirects not created, followed as
    /// redirect_always_follow says).
    fn redirect_applied(self, value: &str) -> &str {
        match value {
            "off" if self.redirect_always_follow => "follow",
            "off" => "nofollow",
            v => v,
        }
    }
}

/// Whether `option`, not shown as written, is in effect on an overlay
/// showing `effective`: a default the kernel hides, or `redirect_dir=off`
/// under the name the kernel stores it as.
fn overlay_in_effect(option: &str, effective: &[String], defaults: Option<ModuleDefaults>) -> bool {
    let Some((key, value)) = option.split_once('=') else {
        return false;
    };
    let shown = options::shown_value(effective, key);
    let on_off = |b: bool| if b { "on" } else { "off" };
    // Defaults that do not depend on the module's parameters.
    match (key, value) {
        ("fsync", "auto") | ("verity", "off") => return shown.is_none(),
        // auto is resolved at mount time and shown as what it resolved to.
        ("uuid", "auto") => return true,
        // auto falls back to off (shown as nothing) when the layers cannot
        // use it, as here with a tmpfs upper; it is shown when it is on.
        ("xino", "auto") => return shown.is_none(),
        _ => {}
    }
    let Some(d) = defaults else {
        return false;
    };
    let default = match key {
        "redirect_dir" => {
            let applied = d.redirect_applied(value);
            return match shown {
                Some(v) => v == applied,
                None => applied == d.redirect_dir(),
            };
        }
        "index" => on_off(d.index),
        "metacopy" => on_off(d.metacopy),
        "nfs_export" => on_off(d.nfs_export),
        "xino" => {
            if d.xino_auto {
                "auto"
            } else {
                "off"
            }
        }
        _ => return false,
    };
    shown.is_none() && value == default
}

/// Writes the lower layers: `files` files spread over `dirs` directories
/// and `layers` layers (file i in layer i % layers), sizes drawn with the
/// seed, with atime an hour before mtime so that relatime's first read
/// updates it. Returns the layer directories, top layer first.
fn populate_lower(
    root: &Path,
    lower: &LowerSpec,
    seed: u64,
    name: &str,
    cancel: &Cancel,
) -> std::io::Result<Vec<PathBuf>> {
    let layers: Vec<PathBuf> = (0..lower.layers.max(1))
        .map(|l| root.join(format!("L{l}")))
        .collect();
    for layer in &layers {
        std::fs::create_dir_all(layer)?;
    }
    let mut payload = Payload::new(thread_seed(seed, name, u32::MAX));
    let mut buf = Vec::new();
    let dirs = lower.dirs.max(1);
    for i in 0..lower.files {
        cancel.check()?;
        let dir = layers[(i % layers.len() as u64) as usize].join(format!("d{:04}", i % dirs));
        if i < dirs * layers.len() as u64 {
            std::fs::create_dir_all(&dir)?;
        }
        let len = payload.size(lower.file_size);
        // A megabyte at a time, polling for a signal between them.
        let file = sys::record_file(
            &dir.join(format!("f{i:06}")),
            &mut payload,
            &mut buf,
            i,
            len,
            cancel,
        )?;
        let mtime = file.metadata()?.modified()?;
        let atime = mtime - std::time::Duration::from_secs(3600);
        file.set_times(
            std::fs::FileTimes::new()
                .set_accessed(atime)
                .set_modified(mtime),
        )?;
    }
    // Top layer first, as overlay's lowerdir lists them.
    Ok(layers.into_iter().rev().collect())
}

impl Provisioner for Overlay {
    fn check_environment(&self, spec: &TargetSpec, privileged: bool) -> Result<()> {
        let up = upper(spec)?;
        match up.kind {
            TargetKind::Tmpfs => tmpfs::check(&spec.name, up.size, &up.options, privileged),
            TargetKind::Ext4 | TargetKind::Xfs => blockfs::check(&spec.name, up.kind, privileged),
            other => Err(Error::Usage(format!(
                "target {}: an overlay's upper must be tmpfs, ext4 or xfs, not {}",
                spec.name,
                other.as_str()
            ))),
        }
    }

    fn provision(&self, spec: &TargetSpec, ctx: &mut ProvisionCtx) -> Result<Target> {
        let started = Instant::now();
        let base = mount_base(spec, upper(spec)?, ctx)?;
        let (upperdir, workdir) = (base.root.join("upper"), base.root.join("work"));
        for dir in [&upperdir, &workdir] {
            std::fs::create_dir(dir)
                .map_err(|e| Error::run_io(format!("creating {}", dir.display()), e))?;
        }
        let base_mount = base.mount.clone();
        let (lower_root, layers) = make_lower(spec, ctx)?;
        let mp = new_mount_point(ctx, &spec.name)?;

        let mut target = Target::new(&spec.name, TargetKind::Overlay, mp.clone());
        target.adopt(base);
        target.requested_options = spec.options.clone();
        target.paths.push(lower_root);
        target.paths.push(mp);
        let dirs = OverlayDirs {
            layers: &layers,
            upperdir: &upperdir,
            workdir: &workdir,
        };
        mount_overlay(&mut target, spec, &dirs, ctx.run_id)?;
        verify_overlay(&mut target, spec)?;
        // The base filesystem's own truth, for the record.
        target.mount.fs_options = format!(
            "upper on {} {} ({})",
            base_mount.fstype, base_mount.source, base_mount.options
        );
        if spec.options.iter().any(|o| o == "volatile") {
            target.notes.push(
                "volatile: overlay skips every sync to the upper filesystem; wpbench discards \
                 the upper layer after the cell (overlay refuses to mount it again)"
                    .into(),
            );
        }
        target.provision_time = started.elapsed();
        Ok(target)
    }
}

/// The fresh base filesystem of the upper and work directories.
fn mount_base(spec: &TargetSpec, up: &BaseFsSpec, ctx: &mut ProvisionCtx) -> Result<Target> {
    let label = format!("{}-upper", spec.name);
    match up.kind {
        TargetKind::Tmpfs => tmpfs::mount_tmpfs(&spec.name, &label, up.size, &up.options, ctx),
        _ => {
            let params = FsParams {
                kind: up.kind,
                size: up.size.unwrap_or(blockfs::DEFAULT_SIZE),
                options: &up.options,
                mkfs: &up.mkfs,
                loop_dev: up.loop_dev,
                device: up.device.as_ref(),
            };
            blockfs::make_fs(&spec.name, &label, &params, ctx)
        }
    }
}

/// Writes the lower layers (an empty one when the spec has no `lower:`)
/// into the scratch area: their root, recorded for removal, and the layer
/// directories, top layer first.
fn make_lower(spec: &TargetSpec, ctx: &mut ProvisionCtx) -> Result<(PathBuf, Vec<PathBuf>)> {
    let lower_root = ctx.scratch.dir().join("lower").join(format!(
        "c{}-{}",
        ctx.cell,
        super::path_component(&spec.name)
    ));
    ctx.scratch
        .register(&lower_root, Removal::Tree)
        .map_err(|e| Error::run_io("writing the scratch manifest", e))?;
    let lower = spec.lower().cloned().unwrap_or(LowerSpec {
        files: 0,
        file_size: crate::scenario::SizeRange::fixed(0),
        dirs: 1,
        layers: 1,
    });
    let layers =
        populate_lower(&lower_root, &lower, ctx.seed, &spec.name, ctx.cancel).map_err(|e| {
            if e.kind() == std::io::ErrorKind::Interrupted {
                return Error::Interrupted("populating the lower layers".into());
            }
            Error::run_io(
                format!("populating the lower layers in {}", lower_root.display()),
                e,
            )
        })?;
    Ok((lower_root, layers))
}

/// The directories an overlay is mounted from.
struct OverlayDirs<'a> {
    /// Top layer first.
    layers: &'a [PathBuf],
    upperdir: &'a Path,
    workdir: &'a Path,
}

/// Mounts the overlay at the target's root, with the scenario's options.
fn mount_overlay(
    target: &mut Target,
    spec: &TargetSpec,
    dirs: &OverlayDirs,
    run_id: &str,
) -> Result<()> {
    let paths = dirs.layers.iter().map(PathBuf::as_path);
    let mut paths = paths.chain([dirs.upperdir, dirs.workdir]);
    if let Some(bad) = paths.find(|p| p.to_string_lossy().contains([':', ','])) {
        return Err(Error::Usage(format!(
            "target {}: overlay paths cannot contain ':' or ',' ({}); choose another --scratch",
            spec.name,
            bad.display()
        )));
    }
    let lowerdir = dirs
        .layers
        .iter()
        .map(|p| p.to_string_lossy())
        .collect::<Vec<_>>()
        .join(":");
    let internal = [
        ("lowerdir", lowerdir),
        ("upperdir", dirs.upperdir.to_string_lossy().into_owned()),
        ("workdir", dirs.workdir.to_string_lossy().into_owned()),
    ];
    let source = format!("wpbench-{run_id}");
    let mount_point = target.root.clone();
    target
        .mount(Recipe {
            fstype: "overlay".into(),
            source,
            internal: internal.to_vec(),
            options: spec.options.clone(),
            mount_point,
        })
        .map_err(|e| mount_error(&spec.name, "mounting overlay", &e))
}

/// Reads back the options the kernel applied (never a requested option
/// silently dropped), with notes on those it applies its own way.
fn verify_overlay(target: &mut Target, spec: &TargetSpec) -> Result<()> {
    // Since 6.x overlay shows `volatile` as `fsync=volatile`.
    let volatile = spec.options.iter().any(|o| o == "volatile");
    let check: Vec<String> = spec
        .options
        .iter()
        .filter(|o| *o != "volatile")
        .cloned()
        .collect();
    let defaults = ModuleDefaults::read();
    target.mount = verify_options(&spec.name, &target.root, &check, &[], &|o, eff| {
        overlay_in_effect(o, eff, defaults)
    })?;
    let asked = |o: &str| spec.options.iter().any(|x| x == o);
    if asked("xino=auto")
        && !target
            .mount
            .options
            .split(',')
            .any(|o| o.starts_with("xino="))
    {
        target.notes.push(
            "xino=auto: the kernel resolved it to off on these layers (it shows no xino=)".into(),
        );
    }
    if let Some(d) = defaults.filter(|_| asked("redirect_dir=off")) {
        target.notes.push(format!(
            "redirect_dir=off: this kernel applies it as redirect_dir={} (redirects are \
             not created; existing ones are {}followed, as the module parameter \
             redirect_always_follow={} says)",
            d.redirect_applied("off"),
            if d.redirect_always_follow { "" } else { "not " },
            if d.redirect_always_follow { "Y" } else { "N" }
        ));
    }
    let shown = target
        .mount
        .options
        .split(',')
        .any(|o| o == "volatile" || o == "fsync=volatile");
    if volatile && !shown {
        return Err(Error::Environment(format!(
            "target {}: the kernel did not apply volatile (in effect: {})",
            spec.name, target.mount.options
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    /// This machine's parameters (Linux 6.18): redirect_dir=N,
    /// redirect_always_follow=Y, everything else N.
    const HERE: ModuleDefaults = ModuleDefaults {
        index: false,
        metacopy: false,
        nfs_export: false,
        redirect_dir: false,
        redirect_always_follow: true,
        xino_auto: false,
    };

    #[test]
    fn redirect_dir_default_follows_the_module_parameters() {
        assert_eq!(HERE.redirect_dir(), "follow");
        let nofollow = ModuleDefaults {
            redirect_always_follow: false,
            ..HERE
        };
        assert_eq!(nofollow.redirect_dir(), "nofollow");
        let on = ModuleDefaults {
            redirect_dir: true,
            ..HERE
        };
        assert_eq!(on.redirect_dir(), "on");
    }

    #[test]
    fn redirect_dir_values_as_the_kernel_shows_them() {
        // What 6.18 showed here: follow and off → nothing; nofollow and on by name.
        let plain = s(&["rw", "uuid=on"]);
        let d = Some(HERE);
        assert!(overlay_in_effect("redirect_dir=follow", &plain, d));
        assert!(overlay_in_effect("redirect_dir=off", &plain, d));
        assert!(!overlay_in_effect("redirect_dir=nofollow", &plain, d));
        assert!(!overlay_in_effect("redirect_dir=on", &plain, d));
        // Shown values decide when present (off stored as nofollow without always_follow).
        let nofollow = ModuleDefaults {
            redirect_always_follow: false,
            ..HERE
        };
        let shown = s(&["rw", "redirect_dir=nofollow"]);
        assert!(overlay_in_effect(
            "redirect_dir=off",
            &plain,
            Some(nofollow)
        ));
        // Here off is stored as follow, so a mount showing nofollow is not it.
        assert!(!overlay_in_effect("redirect_dir=off", &shown, d));
        assert!(!overlay_in_effect(
            "redirect_dir=follow",
            &plain,
            Some(nofollow)
        ));
        // With redirect_dir=Y, off is shown as follow.
        let on = ModuleDefaults {
            redirect_dir: true,
            ..HERE
        };
        assert!(overlay_in_effect(
            "redirect_dir=off",
            &s(&["redirect_dir=follow"]),
            Some(on)
        ));
        assert!(overlay_in_effect("redirect_dir=on", &plain, Some(on)));
        // Unknown parameters: nothing is assumed.
        assert!(!overlay_in_effect("redirect_dir=follow", &plain, None));
    }

    #[test]
    fn other_module_defaults_are_hidden() {
        let plain = s(&["rw", "uuid=on"]);
        let d = Some(HERE);
        for hidden in [
            "index=off",
            "metacopy=off",
            "nfs_export=off",
            "xino=off",
            "fsync=auto",
            "verity=off",
            "uuid=auto",
        ] {
            assert!(overlay_in_effect(hidden, &plain, d), "{hidden}");
        }
        // xino=auto that fell back to off shows nothing, like the default.
        assert!(overlay_in_effect("xino=auto", &plain, d));
        assert!(!overlay_in_effect("xino=auto", &s(&["xino=on"]), d));
        for not_default in [
            "index=on",
            "metacopy=on",
            "xino=on",
            "fsync=strict",
            "noatime",
        ] {
            assert!(!overlay_in_effect(not_default, &plain, d), "{not_default}");
        }
        // Shown with another value: not in effect.
        assert!(!overlay_in_effect("index=off", &s(&["index=on"]), d));
    }
}
