//! tmpfs: RAM-backed, fsync is a no-op, nothing survives a crash — the
//! baseline every disk-backed target is compared against, and a possible
//! base for an overlay's upper layer.

use std::time::Instant;

use super::{
    mount_error, new_mount_point, no_hidden_defaults, verify_options, ProvisionCtx, Provisioner,
    Recipe, Target,
};
use crate::error::{Error, Result};
use crate::scenario::{units::format_size, TargetKind, TargetSpec};

pub struct Tmpfs;

/// The privilege check shared with overlays on tmpfs.
pub(crate) fn check(
    name: &str,
    size: Option<u64>,
    options: &[String],
    privileged: bool,
) -> Result<()> {
    if !privileged {
        return Err(Error::Environment(format!(
            "target {name} (tmpfs) needs root to mount; run as root (e.g. sudo), \
             or use a hostpath-only scenario such as scenarios/unprivileged.yaml"
        )));
    }
    if size.is_some() && options.iter().any(|o| o.starts_with("size=")) {
        return Err(Error::Usage(format!(
            "target {name}: size is given twice, as `size:` and as the option `size=`; keep one"
        )));
    }
    Ok(())
}

/// Mounts a fresh tmpfs at `mnt/c<cell>-<label>`.
pub(crate) fn mount_tmpfs(
    name: &str,
    label: &str,
    size: Option<u64>,
    options: &[String],
    ctx: &mut ProvisionCtx,
) -> Result<Target> {
    let started = Instant::now();
    let mp = new_mount_point(ctx, label)?;
    let mut requested = options.to_vec();
    if let Some(size) = size {
        requested.push(format!("size={size}"));
    }
    let source = format!("wpbench-{}", ctx.run_id);
    let mut target = Target::new(name, TargetKind::Tmpfs, mp.clone());
    target.requested_options = options.to_vec();
    target.paths.push(mp.clone());
    target
        .mount(Recipe {
            fstype: "tmpfs".into(),
            source,
            internal: Vec::new(),
            options: requested.clone(),
            mount_point: mp.clone(),
        })
        .map_err(|e| {
            let what = format!(
                "mounting tmpfs{}",
                size.map(|s| format!(" of {}", format_size(s)))
                    .unwrap_or_default()
            );
            mount_error(name, &what, &e)
        })?;
    // On error `target` drops here and unmounts.
    target.mount = verify_options(name, &mp, &requested, &[], &no_hidden_defaults)?;
    target.provision_time = started.elapsed();
    Ok(target)
}

impl Provisioner for Tmpfs {
    fn check_environment(&self, spec: &TargetSpec, privileged: bool) -> Result<()> {
        check(&spec.name, spec.size, &spec.options, privileged)
    }

    fn provision(&self, spec: &TargetSpec, ctx: &mut ProvisionCtx) -> Result<Target> {
        mount_tmpfs(&spec.name, &spec.name, spec.size, &spec.options, ctx)
    }
}
