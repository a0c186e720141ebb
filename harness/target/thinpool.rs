//! A thin pool: a size-capped tmpfs that holds a loop device's image, the
//! way a thin-provisioned volume is backed by a pool that can run dry.
//!
//! The image is sparse, so the pool only spends memory on blocks the
//! filesystem has written. It starts large enough for the whole image
//! (mkfs and the cell's setup never run out); [`ThinPool::cap`] then lets
//! it grow by only so much more, after which the loop device's writes to
//! unallocated blocks fail and the filesystem sees I/O errors;
//! [`ThinPool::grow`] makes room again so the filesystem can be mounted and
//! verified.

use std::path::{Path, PathBuf};

use rustix::mount::{mount_remount, MountFlags};

use super::{new_mount_point, ProvisionCtx};
use crate::error::{Error, Result};

/// Room for tmpfs's own bookkeeping on top of the image.
const SLACK: u64 = 4 << 20;

#[derive(Debug)]
pub struct ThinPool {
    mount_point: PathBuf,
    /// Size when uncapped: the whole image fits.
    full_size: u64,
}

impl ThinPool {
    /// Mounts a fresh pool for an image of `image_size` bytes at
    /// `mnt/c<cell>-<label>-pool`. The caller unmounts it (after the loop
    /// device on its image is gone).
    pub(crate) fn create(ctx: &mut ProvisionCtx, label: &str, image_size: u64) -> Result<ThinPool> {
        let mount_point = new_mount_point(ctx, &format!("{label}-pool"))?;
        let full_size = round_up_page(image_size) + SLACK;
        super::mounter::mount(
            "tmpfs",
            Some(&format!("wpbench-pool-{}", ctx.run_id)),
            &[],
            &[format!("size={full_size}"), "mode=0700".into()],
            &mount_point,
        )
        .map_err(|e| {
            Error::Run(format!(
                "mounting the thin pool at {}: {e}",
                mount_point.display()
            ))
        })?;
        Ok(ThinPool {
            mount_point,
            full_size,
        })
    }

    pub fn mount_point(&self) -> &Path {
        &self.mount_point
    }

    /// Bytes the pool has allocated (the image's written blocks).
    pub fn used(&self) -> std::io::Result<u64> {
        let s = rustix::fs::statvfs(&self.mount_point)?;
        Ok((s.f_blocks - s.f_bfree) * s.f_frsize)
    }

    /// Lets the pool grow by only `after` more bytes from now; returns the
    /// new capacity.
    pub fn cap(&self, after: u64) -> std::io::Result<u64> {
        // The pool may grow between reading its use and resizing (writeback
        // still running): tmpfs refuses a size below its use, so retry.
        let mut last = None;
        for _ in 0..5 {
            let size = round_up_page(self.used()? + after);
            match self.resize(size) {
                Ok(()) => return Ok(size),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("resizing the thin pool")))
    }

    /// Makes room: the whole image fits again.
    pub fn grow(&self) -> std::io::Result<()> {
        self.resize(self.full_size)
    }

    fn resize(&self, size: u64) -> std::io::Result<()> {
        // A remount with only `size=` changes the size and nothing else.
        mount_remount(
            &self.mount_point,
            MountFlags::empty(),
            format!("size={size}").as_str(),
        )
        .map_err(Into::into)
    }
}

fn round_up_page(n: u64) -> u64 {
    n.div_ceil(4096) * 4096
}
