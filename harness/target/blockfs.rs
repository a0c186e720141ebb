//! ext4 and xfs: a fresh filesystem per cell, made by mkfs on a sparse
//! image file in the run's scratch area, attached to a loop device
//! (AUTOCLEAR; direct I/O on the backing file by default, so the host's
//! page cache does not cache the image twice) and mounted with the
//! scenario's options. The loop device's counters give the bytes that
//! reached the "disk".

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::emudev::daemon::Mode;
use super::emudev::log::{copy_sparse, WriteLog};
use super::emudev::{CacheModel, DeviceModel, EmulatedDevice};
use super::loopdev::LoopDevice;
use super::mkfs::{self, FsKind};
use super::scratch::Removal;
use super::thinpool::ThinPool;
use super::{
    mount_error, new_mount_point, options, verify_options, Emulated, ProvisionCtx, Provisioner,
    Recipe, StatesSource, Target,
};
use crate::error::{Error, Result};
use crate::scenario::device::DeviceSpec;
use crate::scenario::{units::format_size, LoopSpec, TargetKind, TargetSpec};

pub struct BlockFs;

/// What an ext4 or xfs filesystem is made of (a target, or an overlay's upper).
pub(crate) struct FsParams<'a> {
    pub kind: TargetKind,
    pub size: u64,
    pub options: &'a [String],
    pub mkfs: &'a [String],
    pub loop_dev: LoopSpec,
    /// Serve the image through an emulated device.
    pub device: Option<&'a DeviceSpec>,
}

/// Default size when a scenario gives none.
pub const DEFAULT_SIZE: u64 = 1 << 30;

fn fs_kind(kind: TargetKind) -> FsKind {
    match kind {
        TargetKind::Xfs => FsKind::Xfs,
        _ => FsKind::Ext4,
    }
}

/// Checks shared with overlays on ext4/xfs: root, mkfs present, sizes.
pub(crate) fn check(name: &str, kind: TargetKind, privileged: bool) -> Result<()> {
    if !privileged {
        return Err(Error::Environment(format!(
            "target {name} ({}) needs root (uid 0 with CAP_SYS_ADMIN): it attaches a loop \
             device and mounts; run as root (e.g. sudo; in a container, --privileged), or use \
             a hostpath-only scenario such as scenarios/unprivileged.yaml",
            kind.as_str()
        )));
    }
    mkfs::find(fs_kind(kind))?;
    if kind == TargetKind::Xfs {
        let mask = std::fs::read_to_string(XFS_PANIC_MASK).ok();
        if let Some(m) = xfs_panic_refusal(mask.as_deref()) {
            return Err(Error::Environment(format!("target {name}: {m}")));
        }
    }
    // Sizes mkfs refuses (xfs under 300 MiB, ext4 too small for its
    // journal) are the loader's to refuse, at `validate`.
    Ok(())
}

/// xfs has no errors=panic; its equivalent is host-wide: a bit set in
/// fs.xfs.panic_mask turns the matching xfs alert — a shutdown after an I/O
/// error or a forced shutdown among them — into a kernel BUG.
const XFS_PANIC_MASK: &str = "/proc/sys/fs/xfs/panic_mask";

/// Why xfs targets are refused, given the sysctl's text (None: xfs is not
/// loaded yet, so the mask is its default 0).
fn xfs_panic_refusal(mask: Option<&str>) -> Option<String> {
    let text = mask?.trim();
    if text == "0" {
        return None;
    }
    Some(format!(
        "fs.xfs.panic_mask is {text}: xfs would turn an error or a shutdown (which wpbench's \
         crash and eio faults cause on purpose) into a kernel BUG; set it to 0 \
         (sysctl -w fs.xfs.panic_mask=0) or drop the xfs targets"
    ))
}

/// ext4's own list of every option in effect, defaults included.
fn ext4_options(dev: &str) -> Vec<String> {
    std::fs::read_to_string(format!("/proc/fs/ext4/{dev}/options"))
        .map(|t| {
            t.lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `option`, not shown as written, is in effect on an ext4 whose
/// mountinfo and /proc/fs/ext4/<dev>/options together are `effective`.
/// ext4's own list names every option with its value, defaults included,
/// but some options are accepted in a spelling it does not print:
/// `barrier=1`/`barrier=0` (shown as barrier/nobarrier), `auto_da_alloc=N`
/// likewise, `commit=0` (the default, shown as commit=5), `init_itable`
/// (init_itable=10), `noload` (norecovery),
/// `data_err=ignore` (the default; only abort is shown), and
/// `journal_ioprio=3`, the default of an option ext4 never shows.
pub(crate) fn ext4_in_effect(option: &str, effective: &[String]) -> bool {
    let has = |o: &str| options::shows(effective, o);
    match option {
        "init_itable" => return options::shown_value(effective, "init_itable").is_some(),
        "noload" => return has("norecovery"),
        "data_err=ignore" => return !has("data_err=abort"),
        "commit=0" => return has("commit=5"),
        "journal_ioprio=3" => return true,
        _ => {}
    }
    match option.split_once('=') {
        Some((flag @ ("barrier" | "auto_da_alloc"), n)) => match n.parse::<u32>() {
            Ok(0) => has(&format!("no{flag}")),
            Ok(_) => has(flag),
            Err(_) => false,
        },
        _ => false,
    }
}

/// Whether `option`, not shown as written, is in effect on an xfs showing
/// `effective`. xfs_showargs (Linux 6.18) hides the defaults: attr2 (always
/// on), nolargeio, nodiscard, nogrpid/sysvgroups, noikeep; it shows
/// bsdgroups as grpid. Since Linux 4.19 xfs has no barrier option: it
/// always flushes, and the kernel refuses barrier/nobarrier.
pub(crate) fn xfs_in_effect(option: &str, effective: &[String]) -> bool {
    let has = |o: &str| options::shows(effective, o);
    match option {
        "attr2" | "noikeep" => true,
        "nolargeio" => !has("largeio"),
        "nodiscard" => !has("discard"),
        "nogrpid" | "sysvgroups" => !has("grpid"),
        "bsdgroups" => has("grpid"),
        _ => false,
    }
}

/// Makes, attaches and mounts a fresh ext4 or xfs at `mnt/c<cell>-<label>`.
pub(crate) fn make_fs(
    name: &str,
    label: &str,
    p: &FsParams,
    ctx: &mut ProvisionCtx,
) -> Result<Target> {
    let started = Instant::now();
    let kind = fs_kind(p.kind);
    // A thin pool (eio) is unmounted by the target's Drop if a later step fails.
    let pool = if ctx.thin {
        Some(ThinPool::create(ctx, label, p.size)?)
    } else {
        None
    };
    let img_dir = match &pool {
        Some(pool) => pool.mount_point().to_path_buf(),
        None => ctx.scratch.dir().join("img"),
    };
    let mp_pool = pool.as_ref().map(|p| p.mount_point().to_path_buf());
    let mut target = Target::new(name, p.kind, PathBuf::new());
    target.pool = pool;
    target.paths.extend(mp_pool);
    std::fs::create_dir_all(&img_dir)
        .map_err(|e| Error::run_io(format!("creating {}", img_dir.display()), e))?;
    // The cell's files in the image directory, each recorded before it exists.
    // Crash states' copy and log stay on the scratch disk, never on a pool.
    let states_dir = ctx.scratch.dir().join("img");
    let mut cell_file = |dir: &Path, ext: &str| -> Result<PathBuf> {
        let path = dir.join(format!(
            "c{}-{}.{ext}",
            ctx.cell,
            super::path_component(label)
        ));
        ctx.scratch
            .register(&path, Removal::Tree)
            .map_err(|e| Error::run_io("writing the scratch manifest", e))?;
        Ok(path)
    };
    let image = cell_file(&img_dir, "img")?;
    let device_dir = p.device.map(|_| cell_file(&img_dir, "dev")).transpose()?;
    mkfs::create_image(&image, p.size)?;
    let mkfs_time =
        mkfs::make(kind, &mkfs::find(kind)?, &image, p.mkfs, ctx.cancel).map_err(|e| match e {
            Error::Usage(m) => Error::Usage(format!("target {name}: {m}")),
            other => other,
        })?;
    // mkfs wrote the plain image; from here on an emulated device serves it.
    let backing = match p.device.zip(device_dir) {
        Some((device, at)) => {
            std::fs::create_dir(&at)
                .map_err(|e| Error::run_io(format!("creating {}", at.display()), e))?;
            target.paths.push(at.clone());
            let model = DeviceModel::from(device);
            let volatile = matches!(model.cache, CacheModel::Volatile { .. });
            let (mode, states) = if ctx.write_log {
                std::fs::create_dir_all(&states_dir)
                    .map_err(|e| Error::run_io(format!("creating {}", states_dir.display()), e))?;
                let base = cell_file(&states_dir, "base")?;
                let log = cell_file(&states_dir, "wlog")?;
                let (mode, note) = start_write_log(&image, &base, &log, p.size)?;
                target.notes.push(note);
                target.paths.extend([base.clone(), log]);
                (mode, Some(StatesSource { base, volatile }))
            } else {
                (Mode::Plain, None)
            };
            let connections = ctx.scratch.dir().to_path_buf();
            let dev = EmulatedDevice::start_with(
                &image,
                &at,
                model,
                ctx.seed ^ ctx.cell as u64,
                mode,
                Some(&connections),
            )?;
            target.notes.push(super::emudev::describe(device));
            let served = dev.image_path();
            target.emulated = Some(Emulated {
                device: Some(dev),
                connections,
                dir: at,
                image: image.clone(),
                source: String::new(),
                states,
            });
            served
        }
        None => image.clone(),
    };
    let lo = LoopDevice::attach(&backing, p.loop_dev.direct_io)?;
    if let Some(e) = target.emulated.as_mut() {
        e.source = lo.path().to_string_lossy().into_owned();
    }
    let mp = new_mount_point(ctx, label)?;

    target.root = mp.clone();
    target.requested_options = p.options.to_vec();
    target.device = Some(lo.block_dev());
    target.device_shared = false;
    target.paths.push(image.clone());
    target.paths.push(mp.clone());
    if p.loop_dev.direct_io && !lo.direct_io() {
        target.notes.push(format!(
            "{}: the image's filesystem refused direct I/O; the loop device is buffered",
            lo.path().display()
        ));
    }
    let source = lo.path().to_string_lossy().into_owned();
    target.loops.push(lo);
    let what = format!(
        "mounting {} ({}, {source})",
        p.kind.as_str(),
        format_size(p.size)
    );
    target
        .mount(Recipe {
            fstype: p.kind.as_str().into(),
            source: source.clone(),
            internal: Vec::new(),
            options: p.options.to_vec(),
            mount_point: mp.clone(),
        })
        .map_err(|e| mount_error(name, &what, &e))?;
    target.crash_point = Some(mp.clone());

    let dev = source.trim_start_matches("/dev/").to_string();
    target.mount = match p.kind {
        TargetKind::Ext4 => {
            verify_options(name, &mp, p.options, &ext4_options(&dev), &ext4_in_effect)?
        }
        _ => verify_options(name, &mp, p.options, &[], &xfs_in_effect)?,
    };
    // mkfs made sure of it before the mount; this is the kernel's word.
    if options::panics_on_error(&target.mount.options, &target.mount.fs_options) {
        // Returning drops `target`, which unmounts it at once.
        return Err(Error::Environment(format!(
            "target {name}: the kernel mounted {source} with errors=panic (in effect: {}; {}), \
             so the first I/O error would panic it; wpbench unmounted it. Check \
             /etc/mke2fs.conf and $MKE2FS_CONFIG for `errors = panic`",
            target.mount.options, target.mount.fs_options
        )));
    }
    if target.pool.is_some() && p.kind == TargetKind::Xfs {
        let note = xfs_fail_fast(&dev)
            .map_err(|e| Error::run_io(format!("configuring xfs error handling on {dev}"), e))?;
        target.notes.push(note);
    }
    target.notes.extend(
        (mkfs_time.as_secs_f64() > 5.0)
            .then(|| format!("mkfs took {:.1}s", mkfs_time.as_secs_f64())),
    );
    target.provision_time = started.elapsed();
    Ok(target)
}

/// The most write data a log may hold, whatever the free space.
const MAX_LOG_BYTES: u64 = 8 << 30;

/// For crash states: copies the image as mkfs left it to `base` (holes
/// kept) and starts a write log at `log`, allowed half the free space
/// left once the image and the copy may each grow to `size` (at most
/// [`MAX_LOG_BYTES`]); the device's mode, and a note.
fn start_write_log(image: &Path, base: &Path, log: &Path, size: u64) -> Result<(Mode, String)> {
    copy_sparse(image, base)
        .map_err(|e| Error::run_io(format!("copying {} for crash states", image.display()), e))?;
    let dir = log.parent().unwrap_or(Path::new("/"));
    let free = rustix::fs::statvfs(dir)
        .map(|s| s.f_bavail.saturating_mul(s.f_frsize))
        .unwrap_or(0);
    let cap = (free.saturating_sub(size.saturating_mul(2)) / 2).min(MAX_LOG_BYTES);
    let wlog = WriteLog::create(log, cap)
        .map_err(|e| Error::run_io(format!("creating the write log {}", log.display()), e))?;
    Ok((
        Mode::Logged(wlog),
        format!(
            "the emulated device logs every write and flush for crash states (up to {} of \
             data, in the scratch area); the cell's timings include that",
            format_size(cap)
        ),
    ))
}

/// On a thin pool, xfs by default retries a failed metadata write forever
/// (`error/metadata/*/max_retries` = -1): the log fills and every writer
/// blocks, so a cell would never end. Make such errors fail at once — xfs
/// then shuts down, as it does on a dead disk — and say so in the result.
fn xfs_fail_fast(dev: &str) -> std::io::Result<String> {
    let base = std::path::Path::new("/sys/fs/xfs")
        .join(dev)
        .join("error/metadata");
    let mut set = Vec::new();
    for class in ["default", "EIO", "ENOSPC"] {
        let knob = base.join(class).join("max_retries");
        if knob.exists() {
            std::fs::write(&knob, "0")?;
            set.push(class);
        }
    }
    Ok(format!(
        "xfs on a thin pool: metadata write errors ({}) fail at once instead of being \
         retried forever (error/metadata/*/max_retries = 0), so a full pool shuts the \
         filesystem down rather than hanging the cell",
        set.join(", ")
    ))
}

impl Provisioner for BlockFs {
    fn check_environment(&self, spec: &TargetSpec, privileged: bool) -> Result<()> {
        check(&spec.name, spec.kind, privileged)
    }

    fn provision(&self, spec: &TargetSpec, ctx: &mut ProvisionCtx) -> Result<Target> {
        let params = FsParams {
            kind: spec.kind,
            size: spec.size().unwrap_or(DEFAULT_SIZE),
            options: &spec.options,
            mkfs: spec.mkfs(),
            loop_dev: spec.loop_dev(),
            device: spec.device(),
        };
        make_fs(&spec.name, &spec.name, &params, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    /// What 6.18 showed here (mountinfo + /proc/fs/ext4/loopN/options) for
    /// a default mount.
    const EXT4_DEFAULT: &str = "rw,relatime,bsddf,nogrpid,block_validity,dioread_nolock,\
        nodiscard,delalloc,nowarn_on_error,journal_checksum,barrier,auto_da_alloc,user_xattr,\
        acl,noquota,resuid=0,resgid=0,errors=continue,commit=5,min_batch_time=0,\
        max_batch_time=15000,i_version,stripe=0,data=ordered,inode_readahead_blks=32,\
        init_itable=10,max_dir_size_kb=0,prefetch_block_bitmaps";

    fn ext4_ok(requested: &str, effective: &str) -> bool {
        let eff: Vec<String> = effective.split(',').map(str::to_string).collect();
        let req = s(&[requested]);
        options::missing(&req, &eff)
            .iter()
            .all(|o| ext4_in_effect(o, &eff))
    }

    #[test]
    fn ext4_defaults_are_in_effect_in_any_spelling() {
        for o in [
            "data=ordered",
            "barrier",
            "barrier=1",
            "auto_da_alloc",
            "auto_da_alloc=1",
            "commit=5",
            "commit=0",
            "errors=continue",
            "relatime",
            "delalloc",
            "journal_checksum",
            "nodiscard",
            "i_version",
            "init_itable",
            "data_err=ignore",
            "journal_ioprio=3",
            "nolazytime",
            "async",
            "block_validity",
            "dioread_nolock",
            "user_xattr",
            "acl",
        ] {
            assert!(ext4_ok(o, EXT4_DEFAULT), "{o}");
        }
        // Not in effect on a default mount.
        for o in [
            "barrier=0",
            "nobarrier",
            "auto_da_alloc=0",
            "commit=10",
            "data=writeback",
            "lazytime",
            "noload",
            "data_err=abort",
            "journal_ioprio=4",
            "noiversion",
            "strictatime",
        ] {
            assert!(!ext4_ok(o, EXT4_DEFAULT), "{o}");
        }
        // The other spellings, as 6.18 showed them.
        assert!(ext4_ok("barrier=0", "rw,relatime,nobarrier"));
        assert!(ext4_ok("auto_da_alloc=0", "rw,noauto_da_alloc"));
        assert!(ext4_ok("noload", "rw,norecovery"));
    }

    #[test]
    fn xfs_defaults_are_in_effect() {
        let eff = s(&[
            "rw",
            "relatime",
            "inode64",
            "logbufs=8",
            "logbsize=32k",
            "noquota",
        ]);
        let ok = |o: &str| {
            options::missing(&s(&[o]), &eff)
                .iter()
                .all(|m| xfs_in_effect(m, &eff))
        };
        for o in [
            "relatime",
            "inode64",
            "logbufs=8",
            "logbsize=32k",
            "logbsize=32768",
            "noquota",
            "attr2",
            "nolargeio",
            "nodiscard",
            "nogrpid",
            "sysvgroups",
            "noikeep",
            "nolazytime",
        ] {
            assert!(ok(o), "{o}");
        }
        for o in [
            "inode32",
            "logbsize=256k",
            "largeio",
            "discard",
            "grpid",
            "bsdgroups",
            "noattr2",
        ] {
            assert!(!ok(o), "{o}");
        }
        assert!(xfs_in_effect("bsdgroups", &s(&["rw", "grpid"])));
    }

    #[test]
    fn a_set_xfs_panic_mask_refuses_xfs() {
        assert_eq!(xfs_panic_refusal(None), None);
        assert_eq!(xfs_panic_refusal(Some("0\n")), None);
        let m = xfs_panic_refusal(Some("32\n")).unwrap();
        assert!(m.contains("panic_mask is 32"), "{m}");
        assert!(m.contains("fs.xfs.panic_mask=0"), "{m}");
    }
}
