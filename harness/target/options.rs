//! Mount options: which become mount(2) flags and which go to the
//! filesystem as data, and whether what was asked for is in effect.

use rustix::mount::MountFlags;

/// Per-mount (VFS) flags, settable on any mount including a bind mount.
const VFS_FLAGS: &[(&str, MountFlags)] = &[
    ("ro", MountFlags::RDONLY),
    ("nosuid", MountFlags::NOSUID),
    ("nodev", MountFlags::NODEV),
    ("noexec", MountFlags::NOEXEC),
    ("noatime", MountFlags::NOATIME),
    ("nodiratime", MountFlags::NODIRATIME),
    ("relatime", MountFlags::RELATIME),
    ("strictatime", MountFlags::STRICTATIME),
];

/// Superblock flags passed as mount(2) flags rather than data.
const SB_FLAGS: &[(&str, MountFlags)] = &[
    ("lazytime", MountFlags::LAZYTIME),
    ("sync", MountFlags::SYNCHRONOUS),
    ("dirsync", MountFlags::DIRSYNC),
];

/// Options that only restate a default and need no flag.
const DEFAULTS: &[&str] = &["rw", "suid", "dev", "exec", "diratime", "async"];

/// Splits options into mount(2) flags and the filesystem's data string.
pub fn split(options: &[String]) -> (MountFlags, Vec<String>) {
    let mut flags = MountFlags::empty();
    let mut data = Vec::new();
    for o in options {
        if let Some((_, f)) = VFS_FLAGS.iter().chain(SB_FLAGS).find(|(n, _)| n == o) {
            flags |= *f;
        } else if !DEFAULTS.contains(&o.as_str()) {
            data.push(o.clone());
        }
    }
    (flags, data)
}

/// The per-mount flags among `options`, for a bind remount; `Err` names the
/// first option that is not a per-mount flag.
pub fn vfs_flags(options: &[String]) -> Result<MountFlags, String> {
    let mut flags = MountFlags::empty();
    for o in options {
        match VFS_FLAGS.iter().find(|(n, _)| n == o) {
            Some((_, f)) => flags |= *f,
            None if DEFAULTS.contains(&o.as_str()) => {}
            None => return Err(o.clone()),
        }
    }
    Ok(flags)
}

/// Parses a size as mount options print it: `1048576k`, `1G`, `4096`.
fn option_size(v: &str) -> Option<u64> {
    let (num, mult) = match v.chars().last()? {
        'k' | 'K' => (&v[..v.len() - 1], 1u64 << 10),
        'm' | 'M' => (&v[..v.len() - 1], 1 << 20),
        'g' | 'G' => (&v[..v.len() - 1], 1 << 30),
        't' | 'T' => (&v[..v.len() - 1], 1 << 40),
        _ => (v, 1),
    };
    num.parse::<u64>().ok().map(|n| n * mult)
}

/// Requested options that `effective` (from mountinfo) does not show.
///
/// Flags must appear by name; `strictatime` shows as the absence of
/// `relatime` and `noatime`; `key=value` must appear with the same value
/// (sizes compared in bytes, since the kernel prints `size=1G` as
/// `size=1048576k`).
pub fn missing(requested: &[String], effective: &[String]) -> Vec<String> {
    let has = |o: &str| effective.iter().any(|e| e == o);
    requested
        .iter()
        .filter(|r| {
            let r = r.as_str();
            let present = match r {
                "strictatime" => !has("relatime") && !has("noatime"),
                _ if DEFAULTS.contains(&r) => true,
                _ => match r.split_once('=') {
                    None => has(r),
                    Some((key, value)) => effective.iter().any(|e| {
                        e.split_once('=').is_some_and(|(k, v)| {
                            k == key
                                && (v == value
                                    || option_size(v).is_some()
                                        && option_size(v) == option_size(value))
                        })
                    }),
                },
            };
            !present
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn splits_flags_from_data() {
        let (flags, data) = split(&s(&[
            "noatime",
            "size=1G",
            "nr_inodes=100",
            "rw",
            "lazytime",
        ]));
        assert_eq!(flags, MountFlags::NOATIME | MountFlags::LAZYTIME);
        assert_eq!(data, s(&["size=1G", "nr_inodes=100"]));
    }

    #[test]
    fn bind_mounts_take_only_vfs_flags() {
        assert_eq!(
            vfs_flags(&s(&["noatime", "nodev"])).unwrap(),
            MountFlags::NOATIME | MountFlags::NODEV
        );
        assert_eq!(
            vfs_flags(&s(&["data=writeback"])).unwrap_err(),
            "data=writeback"
        );
    }

    #[test]
    fn checks_what_is_in_effect() {
        let eff = s(&["rw", "noatime", "size=1048576k", "mode=755"]);
        assert!(missing(&s(&["noatime", "size=1G", "mode=755"]), &eff).is_empty());
        assert_eq!(
            missing(&s(&["nodev", "size=2G"]), &eff),
            s(&["nodev", "size=2G"])
        );
        assert_eq!(missing(&s(&["strictatime"]), &eff), s(&["strictatime"]));
        assert!(missing(&s(&["strictatime"]), &s(&["rw"])).is_empty());
    }
}
