//! The target room: provisions the filesystem a cell runs on, tells the
//! truth about it (effective mount options from mountinfo), and tears it
//! down so that nothing outlives the cell.
//!
//! Each target kind has a `Provisioner`. Every cell gets a fresh target:
//! a new tmpfs, a new hostPath subdirectory; later kinds a fresh mkfs.

pub mod blockfs;
pub mod emudev;
pub mod hostpath;
pub mod loopdev;
pub mod mkfs;
pub mod mounter;
pub mod mountinfo;
pub mod namespace;
pub mod options;
pub mod overlay;
pub mod scratch;
#[cfg(test)]
pub mod tempdir;
pub mod thinpool;
pub mod tmpfs;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cancel::Cancel;
use crate::device::blockstat::BlockDev;
use crate::error::{Error, Result};
use crate::scenario::{TargetKind, TargetSpec};
use mountinfo::MountInfo;
use scratch::ScratchArea;

/// What a provisioner needs from the run.
pub struct ProvisionCtx<'a> {
    pub scratch: &'a mut ScratchArea,
    /// Polled by long setup steps (mkfs, lower layers).
    pub cancel: &'a Cancel,
    pub run_id: &'a str,
    /// Plan index of the cell, to keep per-cell paths apart.
    pub cell: usize,
    pub privileged: bool,
    /// The scenario's seed (for what a provisioner populates, e.g. lower layers).
    pub seed: u64,
    /// Put loop images on a thin pool (an eio fault applies to the cell).
    pub thin: bool,
    /// An emulated device logs its writes for crash states (a
    /// `power_loss` with `states` applies to the cell).
    pub write_log: bool,
}

/// Makes targets of one kind.
pub trait Provisioner: Sync {
    /// Fails (exit 3) when this machine cannot provision `spec` at all, so
    /// a run stops before its first cell rather than in its tenth.
    fn check_environment(&self, spec: &TargetSpec, privileged: bool) -> Result<()>;
    /// Creates and mounts a fresh target for one cell.
    fn provision(&self, spec: &TargetSpec, ctx: &mut ProvisionCtx) -> Result<Target>;
}

/// The provisioner of a kind.
pub fn provisioner_for(kind: TargetKind) -> Result<&'static dyn Provisioner> {
    Ok(match kind {
        TargetKind::Tmpfs => &tmpfs::Tmpfs,
        TargetKind::Hostpath | TargetKind::Volume | TargetKind::Emptydir | TargetKind::Rootfs => {
            &hostpath::HostPath
        }
        TargetKind::Ext4 | TargetKind::Xfs => &blockfs::BlockFs,
        TargetKind::Overlay => &overlay::Overlay,
    })
}

/// The provisioning a real run uses: each target spec goes to its kind's
/// own provisioner ([`provisioner_for`]). The engine is given a
/// `&dyn Provisioner` and never chooses one itself, so tests can give it
/// another (in unit tests, `tempdir::PlainDir`: a plain directory).
pub struct ByKind;

impl Provisioner for ByKind {
    fn check_environment(&self, spec: &TargetSpec, privileged: bool) -> Result<()> {
        provisioner_for(spec.kind)?.check_environment(spec, privileged)
    }

    fn provision(&self, spec: &TargetSpec, ctx: &mut ProvisionCtx) -> Result<Target> {
        provisioner_for(spec.kind)?.provision(spec, ctx)
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
    /// What a reader of the result should know (a fallback taken, …).
    pub notes: Vec<String>,
    /// Time to make and mount the target (mkfs, lower layers, mounts).
    pub provision_time: Duration,
    /// Mounts to undo, innermost last.
    mounts: Vec<PathBuf>,
    /// How the mounts made through the mount API were made, in order, so a
    /// crashed target can be mounted again (journal replay).
    recipes: Vec<Recipe>,
    /// The mount whose filesystem a crash shuts down (ext4/xfs: the target;
    /// overlay: its upper's base filesystem).
    crash_point: Option<PathBuf>,
    /// Loop devices under the mounts; dropped (and so auto-cleared) after
    /// the mounts are gone.
    loops: Vec<loopdev::LoopDevice>,
    /// The thin pool holding the loop image (an eio fault), unmounted once
    /// the loop device is gone.
    pool: Option<thinpool::ThinPool>,
    /// The emulated device under the target's image, and what it needs.
    pub(crate) emulated: Option<Emulated>,
    /// Paths to remove from the scratch manifest after unmounting.
    paths: Vec<PathBuf>,
}

impl Target {
    /// A target with nothing mounted yet; its Drop undoes what is added.
    pub(crate) fn new(spec_name: &str, kind: TargetKind, root: PathBuf) -> Target {
        Target {
            name: spec_name.to_string(),
            kind,
            root,
            mount: MountInfo::default(),
            requested_options: Vec::new(),
            device: None,
            device_shared: false,
            notes: Vec::new(),
            provision_time: Duration::ZERO,
            mounts: Vec::new(),
            recipes: Vec::new(),
            crash_point: None,
            loops: Vec::new(),
            pool: None,
            emulated: None,
            paths: Vec::new(),
        }
    }

    /// The thin pool under the target's image, when an eio fault put it on one.
    pub fn pool(&self) -> Option<&thinpool::ThinPool> {
        self.pool.as_ref()
    }

    /// Mounts a filesystem as `recipe` says and remembers how.
    pub(crate) fn mount(&mut self, recipe: Recipe) -> std::result::Result<(), mounter::MountError> {
        recipe.mount()?;
        self.mounts.push(recipe.mount_point.clone());
        self.recipes.push(recipe);
        Ok(())
    }

    /// st_rdev of the loop devices under this target.
    pub fn loop_devices(&self) -> Vec<u64> {
        self.loops.iter().map(|l| l.rdev()).collect()
    }

    /// The mount point a crash shuts down, if the target can crash.
    pub fn crash_point(&self) -> Option<&Path> {
        self.crash_point.as_deref()
    }

    /// After a crash: unmount everything and mount it again as before, so
    /// the filesystem replays its journal. An overlay marked volatile
    /// refuses this (its upper must be discarded): that is the error.
    pub fn remount_after_crash(&mut self) -> Result<()> {
        let problems = self.unmount_all();
        if !problems.is_empty() {
            return Err(Error::Run(problems.join("; ")));
        }
        for recipe in &self.recipes {
            recipe.mount().map_err(|e| {
                mount_error(
                    &self.name,
                    &format!("mounting {} again after the crash", recipe.fstype),
                    &e,
                )
            })?;
            self.mounts.push(recipe.mount_point.clone());
        }
        Ok(())
    }

    /// Takes over another target's mounts, loop devices and paths (an
    /// overlay's base filesystem), to be undone after this target's own.
    pub(crate) fn adopt(&mut self, mut base: Target) {
        let mut mounts = std::mem::take(&mut base.mounts);
        mounts.append(&mut self.mounts);
        self.mounts = mounts;
        self.loops.append(&mut base.loops);
        let mut paths = std::mem::take(&mut base.paths);
        paths.append(&mut self.paths);
        self.paths = paths;
        let mut recipes = std::mem::take(&mut base.recipes);
        recipes.append(&mut self.recipes);
        self.recipes = recipes;
        self.crash_point = base.crash_point.take();
        self.pool = base.pool.take();
        self.emulated = base.emulated.take();
        self.device = base.device.take();
        self.notes.append(&mut base.notes);
    }

    /// Unmounts and removes what the target made.
    pub fn teardown(mut self, scratch: &mut ScratchArea) -> Result<()> {
        let mut problems = self.unmount_all();
        problems.extend(self.release_devices());
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

    /// Closes the loop devices — which detaches them (AUTOCLEAR) now that
    /// nothing is mounted on them — then unmounts the pool under their images.
    /// Closes the loop devices and then stops the emulated device under
    /// them: the loop device lets go of the served image when the kernel
    /// detaches it, just after its last close, and the device's FUSE mount
    /// can go only then.
    fn release_loops(&mut self) {
        let numbers: Vec<u32> = self.loops.iter().map(|l| l.number()).collect();
        self.loops.clear();
        if let Some(dev) = self.emulated.as_mut().and_then(|e| e.device.take()) {
            let image = dev.image_path();
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while numbers.iter().any(|&n| loopdev::backs(n, &image))
                && std::time::Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            drop(dev);
        }
    }

    /// A `power_loss` fault: the emulated device stops acknowledging and
    /// drops what its volatile cache had not flushed.
    pub fn cut_power(&self, reorder: bool) -> std::result::Result<(), String> {
        let dev = self
            .emulated
            .as_ref()
            .and_then(|e| e.device.as_ref())
            .ok_or("no emulated device under this target")?;
        dev.power_loss(reorder)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// After a power loss: unmount, let the dead device go, and mount what
    /// the disk holds — the real image, on a fresh loop device — as before,
    /// so the filesystem replays its journal. The rest of the cell's life
    /// runs on the plain image.
    pub fn remount_after_power_loss(&mut self) -> Result<()> {
        let problems = self.unmount_all();
        if !problems.is_empty() {
            return Err(Error::Run(problems.join("; ")));
        }
        let image = self.emulated_parts()?.image.clone();
        self.release_loops();
        self.mount_image(&image)
    }

    fn emulated_parts(&self) -> Result<&Emulated> {
        self.emulated
            .as_ref()
            .ok_or_else(|| Error::Run(format!("target {}: no emulated device", self.name)))
    }

    /// Attaches `image` on a fresh loop device in place of the emulated
    /// device's, and mounts everything as before (with nothing mounted).
    fn mount_image(&mut self, image: &Path) -> Result<()> {
        self.attach_image(image)?;
        self.remount_after_crash()
    }

    /// Attaches `image` on a fresh loop device, which the mounts name from
    /// now on in place of the emulated device's.
    fn attach_image(&mut self, image: &Path) -> Result<()> {
        let lo = loopdev::LoopDevice::attach(image, true)?;
        let source = lo.path().to_string_lossy().into_owned();
        let e = self.emulated.as_mut().expect("checked by the caller");
        let old = std::mem::replace(&mut e.source, source.clone());
        for r in &mut self.recipes {
            if r.source == old {
                r.source = source.clone();
            }
        }
        self.device = Some(lo.block_dev());
        self.loops.push(lo);
        Ok(())
    }

    /// The emulated device's write log (a `power_loss` with `states`), and
    /// the image as it was when logging began. Logging stops.
    pub fn take_write_log(&mut self) -> Option<RecordedWrites> {
        let e = self.emulated.as_mut()?;
        let log = e.device.as_ref()?.take_log()?;
        let states = e.states.as_ref()?;
        Some(RecordedWrites {
            log,
            base: states.base.clone(),
            volatile: states.volatile,
        })
    }

    /// Unmounts everything and lets the emulated device go: before the
    /// crash states are mounted (it writes its cache back, as a disk told
    /// to stop does; the states are built from the log, not from the
    /// image), and after each state.
    pub fn stop_device(&mut self) -> Result<()> {
        let problems = self.unmount_all();
        self.release_loops();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Run(problems.join("; ")))
        }
    }

    /// Serves `image` with `overlay` over it — a crash state; the image is
    /// only read — and mounts the target on it as before, so the
    /// filesystem replays its journal into the overlay.
    pub fn mount_crash_state(
        &mut self,
        image: &Path,
        overlay: emudev::overlay::Overlay,
    ) -> std::result::Result<(), StateMountError> {
        let parts = self.emulated_parts().map_err(StateMountError::Device)?;
        let (dir, connections) = (parts.dir.clone(), parts.connections.clone());
        let dev = emudev::EmulatedDevice::start_with(
            image,
            &dir,
            emudev::DeviceModel::default(),
            0,
            emudev::daemon::Mode::Snapshot(overlay),
            Some(&connections),
        )
        .map_err(StateMountError::Device)?;
        let served = dev.image_path();
        self.emulated.as_mut().expect("checked above").device = Some(dev);
        self.attach_image(&served)
            .map_err(StateMountError::Device)?;
        self.remount_after_crash()
            .map_err(StateMountError::Filesystem)
    }

    fn release_devices(&mut self) -> Vec<String> {
        self.release_loops();
        match self.pool.take() {
            Some(pool) => unmount(pool.mount_point())
                .err()
                .map(|e| format!("unmounting {}: {e}", pool.mount_point().display()))
                .into_iter()
                .collect(),
            None => Vec::new(),
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
        let mut problems = self.unmount_all();
        problems.extend(self.release_devices());
        for problem in problems {
            eprintln!("wpbench: {problem}");
        }
    }
}

/// Why a crash state could not be mounted: its filesystem refused (what
/// the state is), or the device or loop device under it failed (what the
/// run is: nothing about the state is known).
#[derive(Debug)]
pub enum StateMountError {
    Filesystem(Error),
    Device(Error),
}

/// An emulated device under a target's image (`device:`).
#[derive(Debug)]
pub(crate) struct Emulated {
    /// Running until the loop device on it is let go.
    pub device: Option<emudev::EmulatedDevice>,
    /// Where its FUSE file system is mounted.
    pub dir: PathBuf,
    /// Where it names its FUSE connection for the guardian (the run's
    /// scratch directory).
    pub connections: PathBuf,
    /// The image it serves, as the disk holds it: what a power loss
    /// leaves to mount again.
    pub image: PathBuf,
    /// The loop device the target's mounts name as their source.
    pub source: String,
    /// When it logs its writes for crash states.
    pub states: Option<StatesSource>,
}

/// What crash states are built from besides the log.
#[derive(Debug)]
pub(crate) struct StatesSource {
    /// The image as it was when logging began (after mkfs).
    pub base: PathBuf,
    /// A volatile cache (flush boundaries) or write-through.
    pub volatile: bool,
}

/// A device's write log, handed over after its cell.
#[derive(Debug)]
pub struct RecordedWrites {
    pub log: emudev::log::WriteLog,
    /// The image as it was when logging began; the states roll it forward.
    pub base: PathBuf,
    pub volatile: bool,
}

/// How one mount was made through the mount API.
#[derive(Debug, Clone)]
pub(crate) struct Recipe {
    pub fstype: String,
    pub source: String,
    pub internal: Vec<(&'static str, String)>,
    pub options: Vec<String>,
    pub mount_point: PathBuf,
}

impl Recipe {
    fn mount(&self) -> std::result::Result<(), mounter::MountError> {
        mounter::mount(
            &self.fstype,
            Some(&self.source),
            &self.internal,
            &self.options,
            &self.mount_point,
        )
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

/// Turns a refused mount into the error a user can act on: a refused
/// option or combination is the scenario's fault (exit 2), a missing
/// privilege or filesystem type the machine's (exit 3).
pub(crate) fn mount_error(target: &str, what: &str, e: &mounter::MountError) -> Error {
    let text = format!("target {target}: {what}: {e}");
    match e.errno {
        rustix::io::Errno::PERM | rustix::io::Errno::ACCESS => {
            Error::Environment(format!("{text}; mounting needs root (CAP_SYS_ADMIN)"))
        }
        rustix::io::Errno::NODEV if e.step == "fsopen" => Error::Environment(format!(
            "{text}; this kernel does not support the filesystem type"
        )),
        rustix::io::Errno::INVAL | rustix::io::Errno::OPNOTSUPP => Error::Usage(text),
        _ if e.option.is_some() => Error::Usage(text),
        _ => Error::Run(text),
    }
}

/// Creates (and records) a fresh mount point `mnt/c<cell>-<label>` in the
/// run's scratch directory.
pub(crate) fn new_mount_point(ctx: &mut ProvisionCtx, label: &str) -> Result<PathBuf> {
    let mnt = ctx.scratch.dir().join("mnt");
    let mp = mnt.join(format!("c{}-{}", ctx.cell, path_component(label)));
    std::fs::create_dir_all(&mnt)
        .map_err(|e| Error::run_io(format!("creating {}", mnt.display()), e))?;
    ctx.scratch
        .register(&mp, scratch::Removal::Tree)
        .map_err(|e| Error::run_io("writing the scratch manifest", e))?;
    std::fs::create_dir(&mp).map_err(|e| Error::run_io(format!("creating {}", mp.display()), e))?;
    Ok(mp)
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
///
/// `fs_options` is the filesystem's own full view where it has one (ext4's
/// /proc/fs/ext4/<dev>/options lists defaults that mountinfo hides);
/// `in_effect` is asked about each requested option not shown as written,
/// with everything that is shown: the kernel hides defaults (tmpfs's
/// `mode=1777`, overlay's module defaults) and shows some options in
/// another spelling (ext4's `barrier=1` as `barrier`).
pub(crate) fn verify_options(
    target: &str,
    mount_point: &Path,
    requested: &[String],
    fs_options: &[String],
    in_effect: &dyn Fn(&str, &[String]) -> bool,
) -> Result<MountInfo> {
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
    let mut effective = entry.effective_options();
    effective.extend(fs_options.iter().cloned());
    let missing: Vec<String> = options::missing(requested, &effective)
        .into_iter()
        .filter(|o| !in_effect(o, &effective))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Environment(format!(
            "target {target}: the kernel did not apply {} (in effect: {})",
            missing.join(", "),
            effective.join(",")
        )));
    }
    let mut info = entry.to_info();
    info.fs_options = fs_options.join(",");
    Ok(info)
}

/// For a mount that shows every option as written (a bind mount's flags).
pub(crate) fn shown_as_written(_: &str, _: &[String]) -> bool {
    false
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
