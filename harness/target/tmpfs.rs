//! tmpfs: RAM-backed, fsync is a no-op, nothing survives a crash — the
//! baseline every disk-backed target is compared against, and a possible
//! base for an overlay's upper layer.

use std::time::Instant;

use super::options::{option_size, shown_value, shows};
use super::{
    mount_error, new_mount_point, verify_options, ProvisionCtx, Provisioner, Recipe, Target,
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
            "target {name} (tmpfs) needs root to mount (uid 0 with CAP_SYS_ADMIN); run as \
             root (e.g. sudo; in a container, --privileged), or use a hostpath-only scenario \
             such as scenarios/unprivileged.yaml"
        )));
    }
    if size.is_some() && options.iter().any(|o| o.starts_with("size=")) {
        return Err(Error::Usage(format!(
            "target {name}: size is given twice, as `size:` and as the option `size=`; keep one"
        )));
    }
    Ok(())
}

/// What tmpfs sizes are computed from: RAM (MemTotal, which is the
/// kernel's totalram_pages) and the page size.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Memory {
    pub total: u64,
    pub page: u64,
}

impl Memory {
    fn read() -> Option<Memory> {
        let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
        let kib: u64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()?;
        Some(Memory {
            total: kib << 10,
            page: u64::try_from(rustix::param::page_size()).ok()?,
        })
    }

    /// The bytes a tmpfs `size=` gives: a size with an optional k/m/g/t
    /// suffix or a percentage of RAM, rounded up to whole pages
    /// (mm/shmem.c: `size=12345` is shown as `size=16k`).
    fn size(self, value: &str) -> Option<u64> {
        let bytes = match value.strip_suffix('%') {
            Some(pct) => {
                let pct: u128 = pct.parse().ok()?;
                let pages = u128::from(self.total / self.page);
                u64::try_from(pct * u128::from(self.page) * pages / 100).ok()?
            }
            None => option_size(value)?,
        };
        Some(bytes.div_ceil(self.page) * self.page)
    }

    /// tmpfs's default size, half of RAM, which the kernel does not show.
    fn default_size(self) -> u64 {
        (self.total / self.page / 2) * self.page
    }
}

/// Whether `option`, not shown as written, is in effect on a tmpfs
/// showing `effective`. shmem_show_options (Linux 6.18) hides the
/// defaults: mode=1777, uid=0, gid=0, huge=never, mpol=default, the
/// default size (50% of RAM), and inode32 or inode64, whichever the kernel
/// was built to use; sizes are shown in KiB.
pub(crate) fn tmpfs_in_effect(option: &str, effective: &[String], mem: Option<Memory>) -> bool {
    match option {
        "inode32" => return !shows(effective, "inode64"),
        "inode64" => return !shows(effective, "inode32"),
        _ => {}
    }
    let Some((key, value)) = option.split_once('=') else {
        return false;
    };
    let shown = shown_value(effective, key);
    match key {
        "mode" => shown.is_none() && u32::from_str_radix(value, 8) == Ok(0o1777),
        "uid" | "gid" => shown.is_none() && value == "0",
        "huge" => shown.is_none() && value == "never",
        "mpol" => shown.is_none() && value == "default",
        "size" => {
            let Some(mem) = mem else { return false };
            match (mem.size(value), shown) {
                (Some(want), Some(v)) => option_size(v) == Some(want),
                (Some(want), None) => want == mem.default_size(),
                (None, _) => false,
            }
        }
        _ => false,
    }
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
    let mem = Memory::read();
    target.mount = verify_options(name, &mp, &requested, &[], &|o, eff| {
        tmpfs_in_effect(o, eff, mem)
    })?;
    target.provision_time = started.elapsed();
    Ok(target)
}

impl Provisioner for Tmpfs {
    fn check_environment(&self, spec: &TargetSpec, privileged: bool) -> Result<()> {
        check(&spec.name, spec.size(), &spec.options, privileged)
    }

    fn provision(&self, spec: &TargetSpec, ctx: &mut ProvisionCtx) -> Result<Target> {
        mount_tmpfs(&spec.name, &spec.name, spec.size(), &spec.options, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    /// This machine: MemTotal 24682416 kB, 4 KiB pages.
    const MEM: Memory = Memory {
        total: 24682416 << 10,
        page: 4096,
    };

    #[test]
    fn hidden_defaults_are_in_effect() {
        // What 6.18 showed for each of these: just `rw`.
        let plain = s(&["rw", "relatime"]);
        for o in [
            "huge=never",
            "mode=1777",
            "mode=01777",
            "uid=0",
            "gid=0",
            "mpol=default",
            "inode32",
            "size=50%",
        ] {
            assert!(tmpfs_in_effect(o, &plain, Some(MEM)), "{o}");
        }
        for o in ["huge=always", "mode=755", "uid=1000", "noswap", "size=25%"] {
            assert!(!tmpfs_in_effect(o, &plain, Some(MEM)), "{o}");
        }
        // Shown with another value: not in effect.
        assert!(!tmpfs_in_effect(
            "huge=never",
            &s(&["rw", "huge=always"]),
            Some(MEM)
        ));
        assert!(!tmpfs_in_effect(
            "mode=1777",
            &s(&["rw", "mode=755"]),
            Some(MEM)
        ));
        assert!(!tmpfs_in_effect(
            "inode32",
            &s(&["rw", "inode64"]),
            Some(MEM)
        ));
        // A kernel built with CONFIG_TMPFS_INODE64 hides inode64 and shows inode32.
        assert!(tmpfs_in_effect("inode64", &s(&["rw"]), Some(MEM)));
    }

    #[test]
    fn sizes_as_the_kernel_shows_them() {
        // Observed here: size=25% → size=6170604k, size=100% → 24682416k,
        // size=12345 → size=16k.
        assert!(tmpfs_in_effect(
            "size=25%",
            &s(&["rw", "size=6170604k"]),
            Some(MEM)
        ));
        assert!(tmpfs_in_effect(
            "size=100%",
            &s(&["rw", "size=24682416k"]),
            Some(MEM)
        ));
        assert!(tmpfs_in_effect(
            "size=12345",
            &s(&["rw", "size=16k"]),
            Some(MEM)
        ));
        assert!(!tmpfs_in_effect(
            "size=25%",
            &s(&["rw", "size=16k"]),
            Some(MEM)
        ));
        // Half of RAM in bytes is the hidden default too.
        let half = format!("size={}", MEM.default_size());
        assert!(tmpfs_in_effect(&half, &s(&["rw"]), Some(MEM)));
        assert!(!tmpfs_in_effect("size=50%", &s(&["rw"]), None));
    }
}
