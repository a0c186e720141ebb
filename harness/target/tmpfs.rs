//! tmpfs: RAM-backed, fsync is a no-op, nothing survives a crash — the
//! baseline every disk-backed target is compared against.

use std::ffi::CString;
use std::fs;

use super::scratch::Removal;
use super::{options, verify_options, ProvisionCtx, Provisioner, Target};
use crate::error::{Error, Result};
use crate::scenario::{units::format_size, TargetSpec};

pub struct Tmpfs;

impl Provisioner for Tmpfs {
    fn check_environment(&self, spec: &TargetSpec, privileged: bool) -> Result<()> {
        if !privileged {
            return Err(Error::Environment(format!(
                "target {} (tmpfs) needs root to mount; run as root (e.g. sudo), \
                 or use a hostpath-only scenario such as scenarios/unprivileged.yaml",
                spec.name
            )));
        }
        if spec.size.is_some() && spec.options.iter().any(|o| o.starts_with("size=")) {
            return Err(Error::Usage(format!(
                "target {}: size is given twice, as `size:` and as the option `size=`; keep one",
                spec.name
            )));
        }
        Ok(())
    }

    fn provision(&self, spec: &TargetSpec, ctx: &mut ProvisionCtx) -> Result<Target> {
        let mnt = ctx.scratch.dir().join("mnt");
        let mp = mnt.join(format!(
            "c{}-{}",
            ctx.cell,
            super::path_component(&spec.name)
        ));
        fs::create_dir_all(&mnt)
            .map_err(|e| Error::run_io(format!("creating {}", mnt.display()), e))?;
        ctx.scratch
            .register(&mp, Removal::Tree)
            .map_err(|e| Error::run_io("writing the scratch manifest", e))?;
        fs::create_dir(&mp).map_err(|e| Error::run_io(format!("creating {}", mp.display()), e))?;

        let mut requested = spec.options.clone();
        if let Some(size) = spec.size {
            requested.push(format!("size={size}"));
        }
        let (flags, data) = options::split(&requested);
        let data = CString::new(data.join(",")).map_err(|_| {
            Error::Usage(format!(
                "target {}: an option contains a NUL byte",
                spec.name
            ))
        })?;
        let source = format!("wpbench-{}", ctx.run_id);
        rustix::mount::mount(source.as_str(), &mp, "tmpfs", flags, data.as_c_str()).map_err(
            |e| {
                let what = format!(
                    "target {}: mounting tmpfs{} with options [{}] failed: {e}",
                    spec.name,
                    spec.size
                        .map(|s| format!(" of {}", format_size(s)))
                        .unwrap_or_default(),
                    requested.join(",")
                );
                match e {
                    rustix::io::Errno::INVAL => {
                        Error::Usage(format!("{what}; the kernel rejected an option"))
                    }
                    rustix::io::Errno::PERM | rustix::io::Errno::ACCESS => Error::Environment(what),
                    _ => Error::Run(what),
                }
            },
        )?;
        let mut target = Target {
            name: spec.name.clone(),
            kind: spec.kind,
            root: mp.clone(),
            mount: Default::default(),
            requested_options: spec.options.clone(),
            device: None,
            device_shared: false,
            mounts: vec![mp.clone()],
            paths: vec![mp.clone()],
        };
        // On error `target` drops here and unmounts.
        let entry = verify_options(&spec.name, &mp, &requested)?;
        target.mount = entry.to_info();
        Ok(target)
    }
}
