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
    mount_error, new_mount_point, tmpfs, verify_options, ProvisionCtx, Provisioner, Recipe, Target,
};
use crate::error::{Error, Result};
use crate::scenario::{BaseFsSpec, LowerSpec, TargetKind, TargetSpec};
use crate::workload::payload::{thread_seed, Payload};

pub struct Overlay;

fn upper(spec: &TargetSpec) -> Result<&BaseFsSpec> {
    spec.upper
        .as_deref()
        .ok_or_else(|| Error::Usage(format!("target {}: overlay needs `upper:`", spec.name)))
}

/// Whether `option` restates one of overlay's defaults, which the kernel
/// does not display: the module parameters hold them.
fn hidden_default(option: &str) -> bool {
    let Some((key, value)) = option.split_once('=') else {
        return false;
    };
    let param = |name: &str| {
        std::fs::read_to_string(format!("/sys/module/overlay/parameters/{name}"))
            .map(|v| v.trim() == "Y")
            .ok()
    };
    let on_off = |b: Option<bool>| b.map(|b| if b { "on" } else { "off" });
    let default = match key {
        "index" => on_off(param("index")),
        "metacopy" => on_off(param("metacopy")),
        "nfs_export" => on_off(param("nfs_export")),
        "redirect_dir" => on_off(param("redirect_dir")),
        "xino" => param("xino_auto").map(|b| if b { "auto" } else { "off" }),
        "fsync" => Some("auto"),
        "uuid" => Some("auto"),
        "verity" => Some("off"),
        _ => None,
    };
    default == Some(value)
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
        let dir = layers[(i % layers.len() as u64) as usize].join(format!("d{:04}", i % dirs));
        if i < dirs * layers.len() as u64 {
            std::fs::create_dir_all(&dir)?;
        }
        let len = payload.size(lower.file_size) as usize;
        payload.record(&mut buf, u32::MAX, i, len);
        let path = dir.join(format!("f{i:06}"));
        std::fs::write(&path, &buf)?;
        let mtime = std::fs::metadata(&path)?.modified()?;
        let atime = mtime - std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&path)?
            .set_times(
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
            TargetKind::Ext4 | TargetKind::Xfs => blockfs::check(
                &spec.name,
                up.kind,
                up.size.unwrap_or(blockfs::DEFAULT_SIZE),
                privileged,
            ),
            other => Err(Error::Usage(format!(
                "target {}: an overlay's upper must be tmpfs, ext4 or xfs, not {}",
                spec.name,
                other.as_str()
            ))),
        }
    }

    fn provision(&self, spec: &TargetSpec, ctx: &mut ProvisionCtx) -> Result<Target> {
        let started = Instant::now();
        let up = upper(spec)?;
        let label = format!("{}-upper", spec.name);
        let base = match up.kind {
            TargetKind::Tmpfs => tmpfs::mount_tmpfs(&spec.name, &label, up.size, &up.options, ctx)?,
            _ => {
                let params = FsParams {
                    kind: up.kind,
                    size: up.size.unwrap_or(blockfs::DEFAULT_SIZE),
                    options: &up.options,
                    mkfs: &up.mkfs,
                    loop_dev: up.loop_dev,
                };
                blockfs::make_fs(&spec.name, &label, &params, ctx)?
            }
        };
        let (upperdir, workdir) = (base.root.join("upper"), base.root.join("work"));
        for dir in [&upperdir, &workdir] {
            std::fs::create_dir(dir)
                .map_err(|e| Error::run_io(format!("creating {}", dir.display()), e))?;
        }
        let base_mount = base.mount.clone();

        let lower_root = ctx.scratch.dir().join("lower").join(format!(
            "c{}-{}",
            ctx.cell,
            super::path_component(&spec.name)
        ));
        ctx.scratch
            .register(&lower_root, Removal::Tree)
            .map_err(|e| Error::run_io("writing the scratch manifest", e))?;
        let lower = spec.lower.clone().unwrap_or(LowerSpec {
            files: 0,
            file_size: crate::scenario::SizeRange::fixed(0),
            dirs: 1,
            layers: 1,
        });
        let layers = populate_lower(&lower_root, &lower, ctx.seed, &spec.name).map_err(|e| {
            Error::run_io(
                format!("populating the lower layers in {}", lower_root.display()),
                e,
            )
        })?;
        let mp = new_mount_point(ctx, &spec.name)?;

        let mut target = Target::new(&spec.name, TargetKind::Overlay, mp.clone());
        target.adopt(base);
        target.requested_options = spec.options.clone();
        target.paths.push(lower_root.clone());
        target.paths.push(mp.clone());

        let paths = layers.iter().chain([&upperdir, &workdir]);
        if let Some(bad) = paths
            .clone()
            .find(|p| p.to_string_lossy().contains([':', ',']))
        {
            return Err(Error::Usage(format!(
                "target {}: overlay paths cannot contain ':' or ',' ({}); choose another --scratch",
                spec.name,
                bad.display()
            )));
        }
        let lowerdir = layers
            .iter()
            .map(|p| p.to_string_lossy())
            .collect::<Vec<_>>()
            .join(":");
        let internal = [
            ("lowerdir", lowerdir),
            ("upperdir", upperdir.to_string_lossy().into_owned()),
            ("workdir", workdir.to_string_lossy().into_owned()),
        ];
        let source = format!("wpbench-{}", ctx.run_id);
        target
            .mount(Recipe {
                fstype: "overlay".into(),
                source,
                internal: internal.to_vec(),
                options: spec.options.clone(),
                mount_point: mp.clone(),
            })
            .map_err(|e| mount_error(&spec.name, "mounting overlay", &e))?;
        // Since 6.x overlay shows `volatile` as `fsync=volatile`.
        let volatile = spec.options.iter().any(|o| o == "volatile");
        let check: Vec<String> = spec
            .options
            .iter()
            .filter(|o| *o != "volatile")
            .cloned()
            .collect();
        target.mount = verify_options(&spec.name, &mp, &check, &[], &hidden_default)?;
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
