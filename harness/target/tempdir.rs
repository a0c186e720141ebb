//! A provisioner for tests of the layers above: every target, whatever
//! its kind, is a fresh plain directory in the run's scratch area. Nothing
//! is mounted, nothing needs root or a private mount namespace; the mount
//! recorded is the filesystem the directory happens to lie on, and a note
//! says so. Its directory is recorded in the scratch manifest like any
//! other, so teardown and the end of the run remove it.

use std::time::Instant;

use super::scratch::Removal;
use super::{mountinfo, path_component, ProvisionCtx, Provisioner, Target};
use crate::error::{Error, Result};
use crate::scenario::TargetSpec;

/// What a result says of a target this provisioner made.
pub const NOTE: &str = "plain directory (test provisioner): nothing was mounted, the requested \
                        options were not applied; the mount shown is the filesystem underneath";

/// Makes `<scratch>/plain/c<cell>-<name>` for every target spec.
pub struct PlainDir;

impl Provisioner for PlainDir {
    fn check_environment(&self, _: &TargetSpec, _: bool) -> Result<()> {
        Ok(())
    }

    fn provision(&self, spec: &TargetSpec, ctx: &mut ProvisionCtx) -> Result<Target> {
        let started = Instant::now();
        let parent = ctx.scratch.dir().join("plain");
        let dir = parent.join(format!("c{}-{}", ctx.cell, path_component(&spec.name)));
        std::fs::create_dir_all(&parent)
            .map_err(|e| Error::run_io(format!("creating {}", parent.display()), e))?;
        ctx.scratch
            .register(&dir, Removal::Tree)
            .map_err(|e| Error::run_io("writing the scratch manifest", e))?;
        // create_dir fails if it exists: the directory is always fresh.
        std::fs::create_dir(&dir)
            .map_err(|e| Error::run_io(format!("creating {}", dir.display()), e))?;
        let mut target = Target::new(&spec.name, spec.kind, dir.clone());
        target.requested_options = spec.options.clone();
        target.paths.push(dir.clone());
        let entries =
            mountinfo::read().map_err(|e| Error::run_io("reading /proc/self/mountinfo", e))?;
        if let Some(e) = mountinfo::containing(&entries, &dir) {
            target.mount = e.to_info();
        }
        target.notes.push(NOTE.into());
        target.provision_time = started.elapsed();
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::Cancel;
    use crate::scenario::TargetKind;
    use crate::target::scratch::ScratchArea;

    fn spec(name: &str, kind: TargetKind) -> TargetSpec {
        let yaml = format!(
            "version: 1\nname: t\nops: 1\ntargets:\n  - name: {name}\n    kind: {}\n    \
             size: 16MiB\nworkloads:\n  - name: w\n    kind: small_files\n",
            kind.as_str()
        );
        crate::scenario::load_str(&yaml, std::path::Path::new("t.yaml"))
            .unwrap()
            .targets
            .remove(0)
    }

    #[test]
    fn a_fresh_directory_per_cell_removed_at_teardown() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("scratch");
        let mut scratch = ScratchArea::create(&root, "run-1").unwrap();
        let cancel = Cancel::new();
        let spec = spec("ram", TargetKind::Tmpfs);
        let mut made = Vec::new();
        for cell in 0..2 {
            let mut ctx = ProvisionCtx {
                scratch: &mut scratch,
                cancel: &cancel,
                run_id: "run-1",
                cell,
                privileged: false,
                seed: 1,
                thin: false,
                write_log: false,
            };
            let target = PlainDir.provision(&spec, &mut ctx).unwrap();
            assert!(target.root.is_dir());
            assert!(target.root.starts_with(scratch.dir()));
            assert_eq!(target.kind, TargetKind::Tmpfs);
            assert!(target.crash_point().is_none() && target.loop_devices().is_empty());
            assert!(target.device.is_none());
            assert!(!target.mount.fstype.is_empty(), "{:?}", target.mount);
            assert_eq!(target.notes, [NOTE]);
            made.push(target);
        }
        assert_ne!(made[0].root, made[1].root);
        for target in made {
            let root = target.root.clone();
            std::fs::write(root.join("f"), b"x").unwrap();
            target.teardown(&mut scratch).unwrap();
            assert!(!root.exists());
        }
        assert!(scratch.remove_all().is_empty());
        // The scratch root goes too when no other run uses it.
        assert!(!root.exists());
    }
}
