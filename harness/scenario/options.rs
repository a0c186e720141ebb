//! Mount option rules: what a user may write, how a `vary` value overrides
//! a base list, and which host paths are never worked in.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use super::spec::TargetKind;

/// Per-mount flags: all a bind mount can change. Everything else belongs to
/// the filesystem underneath.
const BIND_FLAGS: &[&str] = &[
    "noatime",
    "relatime",
    "strictatime",
    "nodiratime",
    "diratime",
    "ro",
    "rw",
    "nosuid",
    "suid",
    "nodev",
    "dev",
    "noexec",
    "exec",
];

const ATIME: &[&str] = &["noatime", "relatime", "strictatime"];

/// The family an option belongs to: options of one family override each
/// other. The atime modes are one family, `ro`/`rw` another, `X`/`noX` a
/// pair (barrier/nobarrier, dev/nodev …), `key=value` by key.
fn family(opt: &str) -> String {
    if ATIME.contains(&opt) {
        return "atime".into();
    }
    if opt == "ro" || opt == "rw" {
        return "ro/rw".into();
    }
    if let Some((key, _)) = opt.split_once('=') {
        return format!("{key}=");
    }
    // `noatime` is handled above, so stripping `no` only pairs X with noX.
    opt.strip_prefix("no").unwrap_or(opt).to_string()
}

/// `base` with every option of `over` replacing the base options of the
/// same family, then `over` appended; identical strings appear once.
///
/// `merge_options(&[data=writeback, noatime], &[relatime])` →
/// `[data=writeback, relatime]`.
pub fn merge_options(base: &[String], over: &[String]) -> Vec<String> {
    let over_families: HashSet<String> = over.iter().map(|o| family(o)).collect();
    let mut seen: HashSet<&String> = HashSet::new();
    let mut out: Vec<String> = Vec::with_capacity(base.len() + over.len());
    for opt in base
        .iter()
        .filter(|b| !over_families.contains(&family(b)))
        .chain(over)
    {
        if seen.insert(opt) {
            out.push(opt.clone());
        }
    }
    out
}

/// Why one option string is refused, if it is. `hostpath` restricts the
/// option to per-mount flags.
pub fn check_option(opt: &str, hostpath: bool) -> Option<String> {
    if opt.is_empty() {
        return Some("an empty option; remove it".into());
    }
    if opt.contains(',') {
        return Some(format!(
            "`{opt}` contains a comma; write each option as its own list item, e.g. [{}]",
            opt.split(',').collect::<Vec<_>>().join(", ")
        ));
    }
    if opt.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some(format!(
            "`{opt}` contains whitespace or a control character"
        ));
    }
    if opt == "errors=panic" {
        return Some(
            "`errors=panic` would panic the kernel on the first I/O error; \
             use errors=remount-ro or errors=continue"
                .into(),
        );
    }
    let key = opt.split_once('=').map_or(opt, |(k, _)| k);
    if ["logdev", "rtdev", "journal_path", "journal_dev"].contains(&key) {
        return Some(format!(
            "`{opt}` names another device for the filesystem's log or journal; wpbench's \
             filesystems keep theirs inside their own image, and it never writes to a \
             device it did not attach"
        ));
    }
    // `lowerdir+=` and `datadir+=` (Linux 6.8) add layers one at a time.
    for key in ["lowerdir", "upperdir", "workdir", "datadir"] {
        let given = opt.split_once('=').map_or(opt, |(k, _)| k);
        if given.strip_suffix('+').unwrap_or(given) == key {
            return Some(format!(
                "`{opt}`: wpbench sets {key}= itself; describe the overlay with `upper` and `lower`"
            ));
        }
    }
    if opt == "ro" {
        return Some(
            "`ro` mounts the target read-only, and every workload writes its files there \
             (read_atime its read set, before the clock); leave it out"
                .into(),
        );
    }
    if hostpath && !BIND_FLAGS.contains(&opt) {
        return Some(format!(
            "`{opt}` is a filesystem option; it belongs to the filesystem underneath the \
             directory, which a bind mount cannot change. A hostpath, volume, emptydir or \
             rootfs target takes only per-mount flags: {}",
            BIND_FLAGS.join(" ")
        ));
    }
    None
}

/// Why an option of a `kind` target is refused because the kernel never
/// shows it, so wpbench could not prove it in effect: ext4's
/// `journal_ioprio` appears neither in mountinfo nor in
/// /proc/fs/ext4/<dev>/options, so only its default (3) can be given.
pub fn unverifiable_option(opt: &str, kind: TargetKind) -> Option<String> {
    match (kind, opt.split_once('=')) {
        (TargetKind::Ext4, Some(("journal_ioprio", v))) if v != "3" => Some(format!(
            "`{opt}`: ext4 never shows journal_ioprio (not in /proc/self/mountinfo, not in \
             /proc/fs/ext4/<dev>/options), so wpbench cannot show it is in effect and records \
             only options it can; only its default, journal_ioprio=3, can be given"
        )),
        _ => None,
    }
}

/// Why an option of a `kind` target is refused because the kernel
/// certainly refuses it: a value ext4's `data=` or `errors=` does not
/// take, xfs's `norecovery` on a read-write mount.
pub fn impossible_option(opt: &str, kind: TargetKind) -> Option<String> {
    match (kind, opt.split_once('=')) {
        (TargetKind::Ext4, Some(("data", v)))
            if !["ordered", "writeback", "journal"].contains(&v) =>
        {
            Some(format!(
                "`{opt}`: ext4's data mode is ordered, writeback or journal"
            ))
        }
        (TargetKind::Ext4, Some(("errors", v)))
            if !["continue", "remount-ro", "panic"].contains(&v) =>
        {
            Some(format!("`{opt}`: ext4's errors= is continue or remount-ro"))
        }
        (TargetKind::Xfs, None) if opt == "norecovery" => Some(
            "`norecovery`: xfs mounts without log recovery only read-only, and wpbench's \
             targets are written to; leave it out"
                .into(),
        ),
        _ => None,
    }
}

/// Two options in one list that contradict each other (`noatime` and
/// `relatime`): the index of the later one and the earlier option.
pub fn contradiction(opts: &[String]) -> Option<(usize, &str)> {
    // The first option of each family: once another one of the family
    // differs from it, that is the answer, so all earlier ones of a family
    // are repeats of its first.
    let mut first: HashMap<String, &str> = HashMap::new();
    for (i, opt) in opts.iter().enumerate() {
        match first.get(&family(opt)) {
            Some(prev) if *prev != opt => return Some((i, prev)),
            Some(_) => {}
            None => {
                first.insert(family(opt), opt);
            }
        }
    }
    None
}

const REFUSED: &[&str] = &[
    "/proc",
    "/sys",
    "/dev",
    "/etc",
    "/usr",
    "/boot",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/run",
    "/var/run",
    "/var/lib",
    "/var/log",
    "/var/cache",
    "/snap",
    "/efi",
];

/// Why a hostpath `path` is refused, if it is: relative paths, `/`, and
/// system locations. Lexical (`.`, `..` and `//` normalized); the runtime
/// canonicalizes symlinks and asks again.
pub fn refused_host_path(p: &Path) -> Option<String> {
    if !p.is_absolute() {
        return Some(format!(
            "`{}` is relative; write an absolute path such as /var/tmp/wpbench",
            p.display()
        ));
    }
    let mut norm = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::Normal(s) => norm.push(s),
            Component::ParentDir => {
                norm.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    if norm == Path::new("/") {
        return Some(
            "`/` is the host's root; choose a scratch directory such as /var/tmp/wpbench".into(),
        );
    }
    REFUSED.iter().find(|r| norm.starts_with(r)).map(|r| {
        format!(
            "`{}` is under {r}, a system location wpbench never writes in; \
                 choose a scratch directory such as /var/tmp/wpbench",
            p.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn merging_replaces_families() {
        assert_eq!(
            merge_options(&v(&["data=writeback", "noatime"]), &v(&["relatime"])),
            v(&["data=writeback", "relatime"])
        );
        assert_eq!(
            merge_options(
                &v(&["barrier", "data=ordered"]),
                &v(&["nobarrier", "data=journal"])
            ),
            v(&["nobarrier", "data=journal"])
        );
        assert_eq!(
            merge_options(&v(&["noatime", "nodev"]), &v(&["noatime"])),
            v(&["nodev", "noatime"])
        );
        assert_eq!(merge_options(&v(&["ro"]), &v(&["rw", "rw"])), v(&["rw"]));
        assert_eq!(
            merge_options(&v(&["lazytime"]), &v(&["nolazytime", "nodiratime"])),
            v(&["nolazytime", "nodiratime"])
        );
        assert_eq!(merge_options(&[], &v(&["noatime"])), v(&["noatime"]));
    }

    #[test]
    fn options_are_validated() {
        assert!(check_option("errors=panic", false)
            .unwrap()
            .contains("panic the kernel"));
        assert!(check_option("a,b", false).unwrap().contains("comma"));
        assert!(check_option("upperdir=/x", false)
            .unwrap()
            .contains("sets upperdir="));
        assert!(check_option("data=writeback", true)
            .unwrap()
            .contains("bind mount"));
        assert!(check_option("noatime", true).is_none());
        for dev in [
            "logdev=/dev/vdb",
            "rtdev=/dev/vdc",
            "journal_path=/dev/vdb",
            "journal_dev=2049",
        ] {
            assert!(
                check_option(dev, false).unwrap().contains("another device"),
                "{dev}"
            );
        }
        assert!(check_option("logbsize=256k", false).is_none());
        assert!(unverifiable_option("journal_ioprio=1", TargetKind::Ext4)
            .unwrap()
            .contains("never shows journal_ioprio"));
        assert!(unverifiable_option("journal_ioprio=3", TargetKind::Ext4).is_none());
        assert!(unverifiable_option("journal_ioprio=1", TargetKind::Tmpfs).is_none());
        assert!(check_option("", false).is_some());
        assert_eq!(
            contradiction(&v(&["noatime", "x", "relatime"])),
            Some((2, "noatime"))
        );
        assert_eq!(contradiction(&v(&["noatime", "nodev"])), None);
    }

    #[test]
    fn host_paths() {
        for bad in [
            "/",
            "/etc",
            "/etc/foo",
            "//etc//x",
            "/tmp/../etc",
            "/var/lib/docker",
            "/proc/1",
            "relative",
            "/./",
        ] {
            assert!(refused_host_path(Path::new(bad)).is_some(), "{bad}");
        }
        for good in [
            "/var/tmp/wpbench",
            "/tmp/x",
            "/mnt/data",
            "/var/libx",
            "/etcetera",
            "/home/u/../u",
        ] {
            assert!(refused_host_path(Path::new(good)).is_none(), "{good}");
        }
    }
}
