//! What mkfs and the kernel refuse: `mkfs:` arguments, filesystem sizes,
//! tmpfs's size options.

use super::{At, Ctx, KIB, MIB};
use crate::scenario::mkfs_args::{self, Layout};
use crate::scenario::raw::*;
use crate::scenario::spec::*;
use crate::scenario::units::format_size;

/// The `mkfs:` arguments of a `kind` filesystem: each must be a non-empty
/// string, and together they must pass the mkfs argument rules
/// (`-e panic`, other devices, undo files … are refused here, before
/// anything is created).
pub(in crate::scenario) fn check_mkfs(
    cx: &mut Ctx,
    at: &At,
    prefix: &str,
    kind: TargetKind,
    args: &Option<Vec<Arg>>,
) -> (Vec<String>, Option<Layout>) {
    let args: Vec<String> = args.iter().flatten().map(|a| a.0.clone()).collect();
    let mut clean = true;
    for (j, a) in args.iter().enumerate() {
        if a.is_empty() || a.contains('\0') {
            clean = false;
            cx.err(
                &at.key(&format!("{prefix}[{j}]")),
                "an empty argument or one with a NUL byte",
            );
        }
    }
    let mut layout = None;
    if clean {
        match mkfs_args::parse(kind, &args) {
            Ok(parsed) => layout = mkfs_args::layout(kind, &parsed).ok(),
            Err(r) => cx.err(&at.key(&format!("{prefix}[{}]", r.at)), r.message),
        }
    }
    (args, layout)
}

/// tmpfs's size: `size:` and the options that also set it (`size=`,
/// `nr_blocks=`) exclude each other, and the kernel's sizes (`size=`,
/// `nr_blocks=`, `nr_inodes=`) must be numbers it reads (memparse: digits
/// with an optional k m g t p e; `size=` also a percentage of RAM).
pub(in crate::scenario) fn check_tmpfs(
    cx: &mut Ctx,
    size_key: &str,
    size: Option<u64>,
    opts: &[String],
    paths: &[String],
) {
    if let Some(s) = size.filter(|s| *s > MAX_FILE) {
        cx.err(
            size_key,
            format!(
                "{} is larger than any tmpfs can be ({}); give a smaller size",
                format_size(s),
                format_size(MAX_FILE)
            ),
        );
    }
    let mut sized_by: Option<&str> = None;
    for (opt, path) in opts.iter().zip(paths) {
        let Some((key, value)) = opt.split_once('=') else {
            continue;
        };
        if !matches!(key, "size" | "nr_blocks" | "nr_inodes") {
            continue;
        }
        let percent = key == "size" && value.ends_with('%');
        let number = if percent {
            value[..value.len() - 1]
                .parse::<u64>()
                .ok()
                .filter(|p| *p <= 100)
        } else {
            kernel_number(value).filter(|n| *n <= MAX_FILE)
        };
        if number.is_none() {
            cx.err(
                path,
                format!(
                    "`{opt}`: tmpfs takes a whole number here, with an optional k, m, g, t, \
                     p or e{}, up to 8 EiB",
                    if key == "size" {
                        " (or a percentage of RAM such as 50%)"
                    } else {
                        ""
                    }
                ),
            );
            continue;
        }
        if key == "nr_inodes" {
            continue;
        }
        if size.is_some() {
            cx.err(
                path,
                format!(
                    "`{opt}` sets the tmpfs size, which `size:` already gives; keep one \
                     (`size: 1GiB` is the usual spelling)"
                ),
            );
        } else if let Some(prev) = sized_by.filter(|p| !p.starts_with(&format!("{key}="))) {
            cx.err(
                path,
                format!("`{opt}` and `{prev}` both set the tmpfs size; keep one"),
            );
        }
        sized_by.get_or_insert(opt);
    }
}

/// A number as the kernel's memparse reads it: decimal, 0x hex or 0
/// octal, then an optional K M G T P E (binary, either case). None when
/// it is not one or does not fit in 64 bits.
pub(super) fn kernel_number(v: &str) -> Option<u64> {
    let (radix, body) = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => (16, hex),
        None if v.len() > 1 && v.starts_with('0') => (8, &v[1..]),
        None => (10, v),
    };
    let end = body
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(body.len());
    let (digits, suffix) = body.split_at(end);
    if digits.is_empty() && radix != 8 {
        return None;
    }
    let n = if digits.is_empty() {
        0
    } else {
        u64::from_str_radix(digits, radix).ok()?
    };
    let shift = match suffix {
        "" => 0,
        "k" | "K" => 10,
        "m" | "M" => 20,
        "g" | "G" => 30,
        "t" | "T" => 40,
        "p" | "P" => 50,
        "e" | "E" => 60,
        _ => return None,
    };
    n.checked_mul(1u64 << shift)
}

/// The largest file or filesystem Linux has (loff_t): an image, or a
/// tmpfs, cannot be larger.
pub(in crate::scenario) const MAX_FILE: u64 = i64::MAX as u64;

/// mkfs.ext4 with wpbench's arguments (`-F -q -e continue -E
/// lazy_itable_init=0,lazy_journal_init=0`) and the stock mke2fs.conf
/// fails on images below this: formatting sparse images found 103 KiB
/// failing, 104 KiB working, and every size above it working.
const EXT4_MIN_SIZE: u64 = 104 * KIB;

/// The least any mkfs.ext4 arguments format (1 KiB blocks, 128-byte
/// inodes, `-T small`); with 2 KiB blocks 112 KiB, with 4 KiB 220 KiB.
const EXT4_FLOOR: u64 = 60 * KIB;

const EXT4_FLOOR_2K: u64 = 112 * KIB;

const EXT4_FLOOR_4K: u64 = 220 * KIB;

/// ext4 counts blocks in 48 bits (with its default 64bit feature).
const EXT4_MAX_BLOCKS: u64 = 1 << 48;

/// mkfs.xfs refuses smaller filesystems ("Filesystem must be larger than
/// 300MB"; 300 MiB exactly works).
pub const XFS_MIN_SIZE: u64 = 300 * MIB;

/// Sizes mkfs or the kernel certainly refuse, for an ext4 or xfs of
/// `size` bytes (a target or an overlay's upper) made with `mkfs`
/// arguments whose layout is `layout` (None when they were refused).
/// `size_key` is where a size was written; `mkfs_key` the arguments.
pub(in crate::scenario) fn check_fs_size(
    cx: &mut Ctx,
    size_key: Option<&str>,
    mkfs_key: &str,
    kind: TargetKind,
    size: u64,
    mkfs: &[String],
    layout: Option<Layout>,
) {
    let Some(l) = layout else { return };
    // Without a written size, the default size is not the user's to fix:
    // their mkfs arguments are.
    let key = size_key.unwrap_or(mkfs_key);
    if size > MAX_FILE {
        cx.err(
            key,
            format!(
                "{} is larger than any file Linux can hold ({}), so no image of it can exist; \
                 give a smaller size",
                format_size(size),
                format_size(MAX_FILE)
            ),
        );
        return;
    }
    match kind {
        TargetKind::Ext4 => check_ext4_size(cx, key, mkfs_key, size, mkfs, l),
        TargetKind::Xfs => check_xfs_size(cx, key, mkfs_key, size, l),
        _ => {}
    }
}

/// [`check_fs_size`] for ext4: mkfs.ext4's least size, inodes no larger
/// than a block, at most 2^48 blocks, inode tables that fit.
fn check_ext4_size(cx: &mut Ctx, key: &str, mkfs_key: &str, size: u64, mkfs: &[String], l: Layout) {
    let (min, why) = if mkfs.is_empty() {
        (EXT4_MIN_SIZE, "with wpbench's mkfs arguments".to_string())
    } else {
        let floor = match l.block_size {
            Some(b) if b >= 4096 => EXT4_FLOOR_4K,
            Some(2048) => EXT4_FLOOR_2K,
            _ => EXT4_FLOOR,
        };
        let plain =
            l.inodes.is_none() && l.inode_ratio.is_none() && l.inode_size.is_none() && !l.other;
        match (l.block_size, plain) {
            (None, true) => (EXT4_MIN_SIZE, "with these mkfs arguments".to_string()),
            _ => (
                floor,
                "whatever the other mkfs arguments (the exact minimum depends on them)".to_string(),
            ),
        }
    };
    if size < min {
        cx.err(
            key,
            format!(
                "{} is too small for ext4: mkfs.ext4 cannot format less than {} {why}; \
                 give at least {}",
                format_size(size),
                format_size(min),
                format_size(min)
            ),
        );
    }
    // Inodes fit in a block: 1 KiB blocks below 512 MiB with the
    // stock mke2fs.conf (other layout arguments may change that).
    let bs = l
        .block_size
        .or((!l.other).then_some(if size < 512 * MIB { 1024 } else { 4096 }));
    if let (Some(i), Some(b)) = (l.inode_size, bs) {
        if i > b {
            cx.err(
                mkfs_key,
                format!(
                    "-I {i}: an inode cannot be larger than a block, and this ext4's \
                     blocks are {} ({}); use -I {b} or less, or give -b",
                    format_size(b),
                    if l.block_size.is_some() {
                        "from -b"
                    } else {
                        "mkfs.ext4's default below 512MiB is 1KiB"
                    },
                ),
            );
        }
    }
    let block = l.block_size.unwrap_or(4096);
    if size / block >= EXT4_MAX_BLOCKS {
        cx.err(
            key,
            format!(
                "{} is too large for ext4: it counts at most 2^48 blocks ({} with {} \
                 blocks)",
                format_size(size),
                format_size(EXT4_MAX_BLOCKS.saturating_mul(block) - 1),
                format_size(block)
            ),
        );
    }
    if let Some(n) = l.inodes {
        // mke2fs's own rule: the inode tables must fit in the image.
        // Inodes are 256 bytes with the stock mke2fs.conf; other
        // layout arguments may make them 128.
        let isize = l.inode_size.unwrap_or(if l.other { 128 } else { 256 });
        if u128::from(n) * u128::from(isize) >= u128::from(size) {
            cx.err(
                mkfs_key,
                format!(
                    "-N {n}: {n} inodes of {isize} bytes or more do not fit in {}; \
                     mkfs.ext4 refuses that; ask for fewer inodes or a larger size",
                    format_size(size)
                ),
            );
        }
    }
}

/// [`check_fs_size`] for xfs: `-d size=` within the image, and mkfs.xfs's
/// least size.
fn check_xfs_size(cx: &mut Ctx, key: &str, mkfs_key: &str, size: u64, l: Layout) {
    if let Some(d) = l.data_size.filter(|d| *d > size) {
        cx.err(
            mkfs_key,
            format!(
                "-d size={} is larger than the image ({}); mkfs.xfs refuses that",
                format_size(d),
                format_size(size)
            ),
        );
    }
    let fs = l.data_size.unwrap_or(size).min(size);
    if fs < XFS_MIN_SIZE {
        let (key, what) = if l.data_size.is_some_and(|d| d < size) {
            (mkfs_key, format!("-d size={}", format_size(fs)))
        } else {
            (key, format_size(fs))
        };
        cx.err(
            key,
            format!(
                "{what} is too small for xfs: mkfs.xfs makes no filesystem under {}; \
                 give at least {}",
                format_size(XFS_MIN_SIZE),
                format_size(XFS_MIN_SIZE)
            ),
        );
    }
}
