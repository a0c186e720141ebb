//! Mount options: the per-mount flags a bind remount takes, and whether
//! what was asked for is in effect.

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

/// Options that only restate a default and need no flag.
const DEFAULTS: &[&str] = &["rw", "suid", "dev", "exec", "diratime", "async"];

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
pub(crate) fn option_size(v: &str) -> Option<u64> {
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
/// `relatime` and `noatime`, `nolazytime` as the absence of `lazytime`;
/// `key=value` must appear with the same value (sizes compared in bytes,
/// since the kernel prints `size=1G` as `size=1048576k`). What a
/// filesystem hides or spells differently is for its provisioner to know.
pub fn missing(requested: &[String], effective: &[String]) -> Vec<String> {
    let has = |o: &str| effective.iter().any(|e| e == o);
    requested
        .iter()
        .filter(|r| {
            let r = r.as_str();
            let present = match r {
                "strictatime" => !has("relatime") && !has("noatime"),
                "nolazytime" => !has("lazytime"),
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

/// The value shown for `key=` among `effective`, if any (the last one).
pub fn shown_value<'a>(effective: &'a [String], key: &str) -> Option<&'a str> {
    effective
        .iter()
        .rev()
        .find_map(|e| e.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v))
}

/// Whether the flag `opt` is among `effective`.
pub fn shows(effective: &[String], opt: &str) -> bool {
    effective.iter().any(|e| e == opt)
}

/// Whether a mount's options (comma-separated, as recorded: mountinfo's
/// view and the filesystem's own full list) say the kernel panics on the
/// first filesystem error.
pub fn panics_on_error(options: &str, fs_options: &str) -> bool {
    options
        .split(',')
        .chain(fs_options.split(','))
        .any(|o| o == "errors=panic")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
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
        assert!(missing(&s(&["nolazytime"]), &s(&["rw", "relatime"])).is_empty());
        assert_eq!(
            missing(&s(&["nolazytime"]), &s(&["rw", "lazytime"])),
            s(&["nolazytime"])
        );
    }

    #[test]
    fn errors_panic_is_seen_in_either_view() {
        assert!(panics_on_error("rw,relatime,errors=panic", ""));
        // ext4 hides a superblock default from mountinfo; its own list shows it.
        assert!(panics_on_error(
            "rw,relatime",
            "rw,barrier,errors=panic,commit=5"
        ));
        assert!(!panics_on_error(
            "rw,relatime,errors=remount-ro",
            "errors=continue,data=ordered"
        ));
        assert!(!panics_on_error("rw", ""));
    }
}
