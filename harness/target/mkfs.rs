//! Making filesystems: mkfs.ext4 and mkfs.xfs are the only external
//! programs wpbench runs. Arguments go to them as separate argv entries,
//! never through a shell.

use std::fs::OpenOptions;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsKind {
    Ext4,
    Xfs,
}

impl FsKind {
    /// The mkfs program.
    pub fn program(self) -> &'static str {
        match self {
            FsKind::Ext4 => "mkfs.ext4",
            FsKind::Xfs => "mkfs.xfs",
        }
    }

    /// The Debian package that ships the program.
    pub fn package(self) -> &'static str {
        match self {
            FsKind::Ext4 => "e2fsprogs",
            FsKind::Xfs => "xfsprogs",
        }
    }

    /// The filesystem type for mount(2).
    pub fn fstype(self) -> &'static str {
        match self {
            FsKind::Ext4 => "ext4",
            FsKind::Xfs => "xfs",
        }
    }

    /// Short options of this mkfs that take no value; every other
    /// two-character option takes the next argument as its value.
    fn flag_options(self) -> &'static [char] {
        match self {
            FsKind::Ext4 => &['c', 'D', 'F', 'j', 'K', 'n', 'q', 'S', 'v', 'V'],
            FsKind::Xfs => &['f', 'K', 'N', 'q', 'V'],
        }
    }
}

/// Directories searched after PATH: mkfs lives in sbin, which a non-login
/// root shell or a sudo environment may not have on PATH.
const SBIN_DIRS: [&str; 2] = ["/sbin", "/usr/sbin"];

/// Finds mkfs.ext4 / mkfs.xfs on PATH or in /sbin, /usr/sbin.
pub fn find(kind: FsKind) -> Result<PathBuf> {
    find_program(kind.program(), kind.package())
}

/// Finds the executable `name` on PATH or in /sbin, /usr/sbin; when it is
/// missing the error names the Debian `package` to install.
pub(crate) fn find_program(name: &str, package: &str) -> Result<PathBuf> {
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(SBIN_DIRS.iter().map(PathBuf::from))
        .filter(|d| d.is_absolute())
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
        .ok_or_else(|| {
            Error::Environment(format!(
                "{name} is not installed (looked on PATH and in {}); \
                 install it with: apt-get install -y {package}",
                SBIN_DIRS.join(", ")
            ))
        })
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Creates a sparse image file of `size` bytes; fails if it exists.
pub fn create_image(path: &Path, size: u64) -> Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::run_io(format!("creating image {}", path.display()), e))?;
    file.set_len(size).map_err(|e| {
        Error::run_io(
            format!("sizing image {} to {size} bytes", path.display()),
            e,
        )
    })
}

/// wpbench's ext4 extended options: initialise inode tables and journal
/// now, so no background ext4lazyinit writes pollute the device counters
/// of a measured cell.
const EXT4_EXTENDED_DEFAULTS: [&str; 2] = ["lazy_itable_init=0", "lazy_journal_init=0"];

/// Runs mkfs on `target` (an image file or block device) with wpbench's
/// defaults plus the user's `extra` arguments, and returns how long it
/// took. ext4: `-F -q -E lazy_itable_init=0,lazy_journal_init=0`, with a
/// user `-E` merged in (theirs win on the same key); xfs: `-f -q`.
pub fn make(kind: FsKind, mkfs: &Path, target: &Path, extra: &[String]) -> Result<Duration> {
    let mut args = build_args(kind, extra)?;
    args.push(target.as_os_str().to_string_lossy().into_owned());
    let command_line = std::iter::once(mkfs.display().to_string())
        .chain(args.iter().map(|a| quote(a)))
        .collect::<Vec<_>>()
        .join(" ");
    // Arguments are built as Strings for the message; the target path goes
    // to the program exactly as given.
    let mut cmd = Command::new(mkfs);
    cmd.args(&args[..args.len() - 1])
        .arg(target)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let out = cmd.output().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
            Error::Environment(format!(
                "cannot run {} ({e}); install it with: apt-get install -y {}",
                mkfs.display(),
                kind.package()
            ))
        }
        _ => Error::run_io(format!("running {command_line}"), e),
    })?;
    let took = start.elapsed();
    if out.status.success() {
        return Ok(took);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let complaint = if stderr.trim().is_empty() {
        stdout.trim()
    } else {
        stderr.trim()
    };
    let complaint = truncate(complaint, 4000);
    let status = match out.status.code() {
        Some(c) => format!("exit status {c}"),
        None => format!("{}", out.status),
    };
    let message = format!(
        "{} failed ({status}): {complaint} [command: {command_line}]",
        kind.program()
    );
    if out.status.code() == Some(1) && blames_arguments(&stderr) {
        Err(Error::Usage(message))
    } else {
        Err(Error::Run(message))
    }
}

/// Whether mkfs's complaint is about its arguments (it then prints its
/// usage text or names the bad option).
fn blames_arguments(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    [
        "usage:",
        "invalid option",
        "unrecognized option",
        "unknown option",
        "bad option",
        ": bad ",
    ]
    .iter()
    .any(|m| s.contains(m))
}

/// The argv (without the target) for `kind`: defaults, then the user's
/// arguments, which are checked first.
fn build_args(kind: FsKind, extra: &[String]) -> Result<Vec<String>> {
    check_extra(kind, extra)?;
    match kind {
        FsKind::Xfs => Ok(["-f", "-q"]
            .iter()
            .map(|s| s.to_string())
            .chain(extra.iter().cloned())
            .collect()),
        FsKind::Ext4 => {
            let mut user_ext = Vec::new();
            let mut rest = Vec::new();
            let mut i = 0;
            while i < extra.len() {
                let a = &extra[i];
                if a == "-E" {
                    // check_extra made sure a value follows.
                    user_ext.push(extra[i + 1].clone());
                    i += 2;
                    continue;
                }
                if let Some(v) = a.strip_prefix("-E") {
                    user_ext.push(v.to_string());
                } else {
                    rest.push(a.clone());
                }
                i += 1;
            }
            let mut args: Vec<String> = vec!["-F".into(), "-q".into()];
            args.push("-E".into());
            args.push(merge_extended(&EXT4_EXTENDED_DEFAULTS, &user_ext));
            args.extend(rest);
            Ok(args)
        }
    }
}

/// Merges comma-separated extended options: ours first, the user's after;
/// on the same key the user's value replaces ours in place.
fn merge_extended(ours: &[&str], theirs: &[String]) -> String {
    let key = |o: &str| o.split_once('=').map_or(o, |(k, _)| k).to_string();
    let mut merged: Vec<String> = ours.iter().map(|s| s.to_string()).collect();
    for opt in theirs
        .iter()
        .flat_map(|s| s.split(','))
        .filter(|o| !o.is_empty())
    {
        match merged.iter_mut().find(|m| key(m) == key(opt)) {
            Some(slot) => *slot = opt.to_string(),
            None => merged.push(opt.to_string()),
        }
    }
    merged.join(",")
}

/// Refuses user arguments that could make mkfs write somewhere other than
/// the target: a bare word that is not an option's value would be taken as
/// the device; data/log/realtime/journal device options and undo files
/// name other devices or files.
fn check_extra(kind: FsKind, extra: &[String]) -> Result<()> {
    let refuse = |what: String| {
        Err(Error::Usage(format!(
            "{} arguments {:?}: {what}",
            kind.program(),
            extra
        )))
    };
    let mut i = 0;
    while i < extra.len() {
        let a = &extra[i];
        if a == "--" || a == "-" || !a.starts_with('-') {
            return refuse(format!(
                "`{a}` is not an option; wpbench gives mkfs its device itself"
            ));
        }
        let mut chars = a.chars().skip(1);
        let (letter, attached) = (chars.next(), chars.next().is_some());
        let takes_value =
            matches!(letter, Some(c) if c != '-' && !kind.flag_options().contains(&c));
        if kind == FsKind::Ext4 && letter == Some('z') {
            return refuse("-z (undo file) writes outside the target; it is not allowed".into());
        }
        let value = if takes_value && !attached {
            match extra.get(i + 1) {
                Some(v) => {
                    i += 1;
                    Some(v.as_str())
                }
                None => return refuse(format!("option {a} needs a value")),
            }
        } else if takes_value {
            Some(&a[2..])
        } else {
            None
        };
        if let Some(v) = value {
            let lower = v.to_ascii_lowercase();
            for bad in ["/dev/", "device=", "logdev=", "rtdev=", "name="] {
                if lower.contains(bad) {
                    return refuse(format!(
                        "`{v}` names another device or file (`{bad}`); \
                         wpbench only makes filesystems on its own targets"
                    ));
                }
            }
        }
        i += 1;
    }
    Ok(())
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// For messages: an argument as a shell would need it (display only; no
/// shell ever runs it).
fn quote(a: &str) -> String {
    let plain = !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=,:+@%".contains(c));
    if plain {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::loopdev::testing::*;
    use super::super::loopdev::LoopDevice;
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ext4_defaults() {
        assert_eq!(
            build_args(FsKind::Ext4, &[]).unwrap(),
            strings(&["-F", "-q", "-E", "lazy_itable_init=0,lazy_journal_init=0"])
        );
        assert_eq!(
            build_args(FsKind::Xfs, &[]).unwrap(),
            strings(&["-f", "-q"])
        );
    }

    #[test]
    fn ext4_user_extended_options_are_merged() {
        let args = build_args(
            FsKind::Ext4,
            &strings(&[
                "-N",
                "1000",
                "-E",
                "lazy_itable_init=1,stride=4",
                "-Enodiscard",
            ]),
        )
        .unwrap();
        assert_eq!(
            args,
            strings(&[
                "-F",
                "-q",
                "-E",
                "lazy_itable_init=1,lazy_journal_init=0,stride=4,nodiscard",
                "-N",
                "1000"
            ])
        );
    }

    #[test]
    fn dangerous_extra_arguments_are_refused() {
        for extra in [
            vec!["/dev/vda"],
            vec!["-F", "/dev/vda"],
            vec!["--"],
            vec!["-J", "device=/dev/vdb"],
            vec!["-z", "/tmp/undo"],
            vec!["-N"],
        ] {
            let err = build_args(FsKind::Ext4, &strings(&extra)).unwrap_err();
            assert!(matches!(err, Error::Usage(_)), "{extra:?}: {err}");
        }
        for extra in [
            vec!["-d", "name=/var/tmp/x"],
            vec!["-l", "logdev=/dev/vdb"],
            vec!["-N", "x"],
        ] {
            let err = build_args(FsKind::Xfs, &strings(&extra)).unwrap_err();
            assert!(matches!(err, Error::Usage(_)), "{extra:?}: {err}");
        }
        // Values are fine, including ones that look like words.
        build_args(
            FsKind::Ext4,
            &strings(&["-L", "data", "-O", "^has_journal", "-b4096"]),
        )
        .unwrap();
        build_args(FsKind::Xfs, &strings(&["-m", "reflink=0", "-N"])).unwrap();
    }

    #[test]
    fn missing_program_names_the_package() {
        let err = find_program("mkfs.wpbench-does-not-exist", "wpbench-fake-progs").unwrap_err();
        assert!(matches!(err, Error::Environment(_)), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("apt-get install -y wpbench-fake-progs"),
            "{msg}"
        );
        assert!(msg.contains("mkfs.wpbench-does-not-exist"), "{msg}");
        assert_eq!(FsKind::Xfs.package(), "xfsprogs");
        assert_eq!(FsKind::Ext4.package(), "e2fsprogs");
    }

    #[test]
    fn create_image_is_sparse_and_new() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("i.img");
        create_image(&p, 1 << 30).unwrap();
        let m = std::fs::metadata(&p).unwrap();
        assert_eq!(m.len(), 1 << 30);
        use std::os::unix::fs::MetadataExt;
        assert!(
            m.blocks() * 512 < 1 << 20,
            "not sparse: {} blocks",
            m.blocks()
        );
        assert!(create_image(&p, 1 << 20).is_err(), "must not overwrite");
    }

    /// mkfs.ext4, attach, mount, write, unmount; the device autoclears.
    fn ext4_mounted(test: &str, extra: &[String], check: impl FnOnce(&Path)) {
        if !require_root(test) {
            return;
        }
        private_mounts();
        let dir = disk_tempdir();
        let img = dir.path().join("ext4.img");
        create_image(&img, 64 << 20).unwrap();
        let mkfs = find(FsKind::Ext4).unwrap();
        make(FsKind::Ext4, &mkfs, &img, extra).unwrap();
        let dev = LoopDevice::attach(&img, true).unwrap();
        let n = dev.number();
        let mnt = dir.path().join("mnt");
        std::fs::create_dir(&mnt).unwrap();
        {
            let _m = MountGuard::mount(dev.path(), &mnt, "ext4", "").expect("mounting ext4");
            use std::os::unix::fs::MetadataExt;
            assert_eq!(std::fs::metadata(&mnt).unwrap().dev(), dev.rdev());
            std::fs::write(mnt.join("hello"), b"written through the loop device").unwrap();
            check(&mnt);
            // Released while mounted: the mount keeps the device until
            // it is unmounted, then AUTOCLEAR detaches it.
            drop(dev);
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert_eq!(backing_file(n).as_deref(), Some(img.as_path()));
            std::fs::write(mnt.join("after"), b"still mounted").unwrap();
        }
        assert!(wait_detached(n, &img), "loop{n} did not autoclear");
    }

    #[test]
    fn ext4_image_mounts_through_loop() {
        ext4_mounted("ext4_image_mounts_through_loop", &[], |mnt| {
            let files = rustix::fs::statvfs(mnt).unwrap().f_files;
            assert!(files > 4000, "default inode count {files}");
            assert_eq!(std::fs::read(mnt.join("hello")).unwrap().len(), 31);
        });
    }

    #[test]
    fn ext4_user_inode_count() {
        ext4_mounted("ext4_user_inode_count", &strings(&["-N", "1000"]), |mnt| {
            let files = rustix::fs::statvfs(mnt).unwrap().f_files;
            assert!((1000..2048).contains(&files), "-N 1000 gave {files} inodes");
        });
    }

    #[test]
    fn bogus_arguments_give_mkfs_complaint() {
        let Ok(mkfs) = find(FsKind::Ext4) else {
            eprintln!("SKIP bogus_arguments_give_mkfs_complaint: mkfs.ext4 missing");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("b.img");
        create_image(&img, 8 << 20).unwrap();
        let err = make(FsKind::Ext4, &mkfs, &img, &strings(&["--nonsense"])).unwrap_err();
        assert!(matches!(err, Error::Usage(_)), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("invalid option"), "{msg}");
        assert!(msg.contains("--nonsense"), "{msg}");
        let err = make(FsKind::Ext4, &mkfs, &img, &strings(&["-E", "bogus=1"])).unwrap_err();
        assert!(matches!(err, Error::Usage(_)), "{err}");
        assert!(
            err.to_string().contains("Bad option(s) specified: bogus"),
            "{err}"
        );
    }

    #[test]
    fn xfs_on_300_mib_image() {
        let mkfs = match find(FsKind::Xfs) {
            Ok(p) => p,
            Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("{e}"),
            Err(e) => {
                eprintln!("SKIP xfs_on_300_mib_image: {e}");
                return;
            }
        };
        let dir = disk_tempdir();
        let img = dir.path().join("xfs.img");
        create_image(&img, 300 << 20).unwrap();
        make(FsKind::Xfs, &mkfs, &img, &[]).unwrap();
        let mut magic = [0u8; 4];
        use std::io::Read;
        std::fs::File::open(&img)
            .unwrap()
            .read_exact(&mut magic)
            .unwrap();
        assert_eq!(&magic, b"XFSB");
        // Too small: mkfs.xfs's complaint comes through.
        let small = dir.path().join("small.img");
        create_image(&small, 64 << 20).unwrap();
        let err = make(FsKind::Xfs, &mkfs, &small, &[]).unwrap_err();
        assert!(err.to_string().contains("larger than 300MB"), "{err}");
    }
}
