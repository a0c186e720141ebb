//! Making filesystems: mkfs.ext4 and mkfs.xfs are the only external
//! programs wpbench runs. Arguments go to them as separate argv entries,
//! never through a shell.

use std::fs::OpenOptions;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::scenario::mkfs_args::{self, MkfsArg};
use crate::scenario::TargetKind;

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

    /// The scenario's kind, for the mkfs argument rules.
    fn target_kind(self) -> TargetKind {
        match self {
            FsKind::Ext4 => TargetKind::Ext4,
            FsKind::Xfs => TargetKind::Xfs,
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
/// user `-E` merged in (theirs win on the same key), and `-e continue`
/// unless the user gives `-e`; xfs: `-f -q`.
pub fn make(
    kind: FsKind,
    mkfs: &Path,
    target: &Path,
    extra: &[String],
    cancel: &Cancel,
) -> Result<Duration> {
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
    let out = run_cancellable(&mut cmd, cancel).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
            Error::Environment(format!(
                "cannot run {} ({e}); install it with: apt-get install -y {}",
                mkfs.display(),
                kind.package()
            ))
        }
        std::io::ErrorKind::Interrupted => Error::Interrupted(format!("running {command_line}")),
        _ => Error::run_io(format!("running {command_line}"), e),
    })?;
    let took = start.elapsed();
    if out.status.success() {
        if kind == FsKind::Ext4 {
            refuse_panicking_superblock(target)?;
        }
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

/// Runs `cmd` to its end, collecting its output — unless `cancel` is set
/// first: then the child (ours, by its PID) is killed and reaped, and the
/// error is `Interrupted`. A large mkfs can take seconds; a signal must not
/// wait for it.
fn run_cancellable(cmd: &mut Command, cancel: &Cancel) -> std::io::Result<std::process::Output> {
    let mut child = cmd.spawn()?;
    // Drain both pipes on threads so a chatty child never blocks on a full pipe.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if cancel.is_set() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(cancel.check().unwrap_err().into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// ext4's superblock: magic at byte 56, default error behaviour at 60
/// (1 continue, 2 remount-ro, 3 panic), both little-endian u16, in the
/// superblock 1024 bytes into the device.
const EXT4_SB_OFFSET: u64 = 1024;
const EXT4_MAGIC: u16 = 0xEF53;
const EXT4_ERRORS_PANIC: u16 = 3;

/// The default error behaviour recorded in the ext4 superblock of `dev`
/// (an image or block device), or None when it holds no ext4 superblock.
pub fn ext4_error_behaviour(dev: &Path) -> std::io::Result<Option<u16>> {
    use std::os::unix::fs::FileExt;
    let mut sb = [0u8; 64];
    std::fs::File::open(dev)?.read_exact_at(&mut sb, EXT4_SB_OFFSET)?;
    let le16 = |o: usize| u16::from_le_bytes([sb[o], sb[o + 1]]);
    Ok((le16(56) == EXT4_MAGIC).then(|| le16(60)))
}

/// Refuses a freshly made ext4 whose superblock says errors=panic, before
/// it is ever attached or mounted: whatever put it there (a mke2fs.conf
/// profile wpbench's `-e continue` did not override, a patched mke2fs),
/// the first I/O error on it would panic the kernel.
fn refuse_panicking_superblock(dev: &Path) -> Result<()> {
    let behaviour = ext4_error_behaviour(dev).map_err(|e| {
        Error::run_io(
            format!(
                "reading the superblock mkfs.ext4 wrote on {}",
                dev.display()
            ),
            e,
        )
    })?;
    if behaviour == Some(EXT4_ERRORS_PANIC) {
        return Err(Error::Environment(format!(
            "mkfs.ext4 made {} with errors=panic as its default error behaviour (check \
             /etc/mke2fs.conf and $MKE2FS_CONFIG for `errors = panic`); wpbench never mounts \
             such a filesystem: the first I/O error would panic the kernel",
            dev.display()
        )));
    }
    Ok(())
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
///
/// ext4 gets `-e continue` unless the user chose an error behaviour: a
/// host's /etc/mke2fs.conf (or $MKE2FS_CONFIG) may set `errors = panic` in
/// its profile, and the command line is what overrides a profile. The
/// superblock's default is then what mke2fs would have written anyway
/// (continue), so the mount options the kernel shows do not change.
fn build_args(kind: FsKind, extra: &[String]) -> Result<Vec<String>> {
    let parsed = check_extra(kind, extra)?;
    match kind {
        FsKind::Xfs => Ok(["-f", "-q"]
            .iter()
            .map(|s| s.to_string())
            .chain(extra.iter().cloned())
            .collect()),
        FsKind::Ext4 => {
            let mut user_ext = Vec::new();
            let mut user_errors = false;
            let mut rest = Vec::new();
            for arg in &parsed {
                match arg {
                    MkfsArg::Short {
                        letter: 'E',
                        value: Some(v),
                        ..
                    } => user_ext.push(v.clone()),
                    MkfsArg::Short { letter: 'e', .. } => {
                        user_errors = true;
                        rest.extend(arg.argv());
                    }
                    _ => rest.extend(arg.argv()),
                }
            }
            let mut args: Vec<String> = vec!["-F".into(), "-q".into()];
            if !user_errors {
                args.extend(["-e".into(), "continue".into()]);
            }
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
/// the target, or make a filesystem that panics the kernel on an error
/// (`-e panic`): the scenario check refused them already; this is the
/// same rule asked again where mkfs runs.
fn check_extra(kind: FsKind, extra: &[String]) -> Result<Vec<MkfsArg>> {
    mkfs_args::parse(kind.target_kind(), extra)
        .map_err(|r| Error::Usage(mkfs_args::refusal_text(kind.target_kind(), extra, &r)))
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
    use crate::testing::{require, Need};

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ext4_defaults() {
        assert_eq!(
            build_args(FsKind::Ext4, &[]).unwrap(),
            strings(&[
                "-F",
                "-q",
                "-e",
                "continue",
                "-E",
                "lazy_itable_init=0,lazy_journal_init=0"
            ])
        );
        // The user's own error behaviour replaces wpbench's `-e continue`.
        assert_eq!(
            build_args(FsKind::Ext4, &strings(&["-qe", "remount-ro"])).unwrap(),
            strings(&[
                "-F",
                "-q",
                "-E",
                "lazy_itable_init=0,lazy_journal_init=0",
                "-q",
                "-e",
                "remount-ro"
            ])
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
                "-e",
                "continue",
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
            vec!["-e", "panic"],
            vec!["-qFepanic"],
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
        build_args(FsKind::Xfs, &strings(&["-m", "reflink=0", "-K"])).unwrap();
    }

    /// A host profile that sets `errors = panic` does not get through:
    /// wpbench's `-e continue` overrides it. The image is only read, never
    /// attached or mounted.
    #[test]
    #[ignore = "needs mkfs.ext4: runs it with a hostile mke2fs.conf"]
    fn a_panicking_mke2fs_profile_is_overridden() {
        require(&[Need::MKFS_EXT4]);
        let mkfs = find(FsKind::Ext4).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let profile = dir.path().join("mke2fs.conf");
        std::fs::write(
            &profile,
            "[defaults]\n\terrors = panic\n[fs_types]\n\text4 = {\n\t\terrors = panic\n\t}\n",
        )
        .unwrap();
        for (extra, want) in [(vec![], 1), (vec!["-e", "remount-ro"], 2)] {
            let img = dir.path().join(format!("p{want}.img"));
            create_image(&img, 8 << 20).unwrap();
            let out = Command::new(&mkfs)
                .args(build_args(FsKind::Ext4, &strings(&extra)).unwrap())
                .arg(&img)
                .env("MKE2FS_CONFIG", &profile)
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            assert_eq!(ext4_error_behaviour(&img).unwrap(), Some(want), "{extra:?}");
            refuse_panicking_superblock(&img).unwrap();
        }
    }

    /// A superblock saying errors=panic is refused before anything mounts
    /// it (a crafted one: no test ever makes a real panicking filesystem).
    #[test]
    fn a_panicking_superblock_is_refused() {
        use std::os::unix::fs::FileExt;
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("sb.img");
        create_image(&img, 1 << 20).unwrap();
        assert_eq!(
            ext4_error_behaviour(&img).unwrap(),
            None,
            "no magic, no ext4"
        );
        let f = std::fs::OpenOptions::new().write(true).open(&img).unwrap();
        f.write_all_at(&EXT4_MAGIC.to_le_bytes(), EXT4_SB_OFFSET + 56)
            .unwrap();
        for (behaviour, refused) in [(1u16, false), (2, false), (3, true)] {
            f.write_all_at(&behaviour.to_le_bytes(), EXT4_SB_OFFSET + 60)
                .unwrap();
            assert_eq!(ext4_error_behaviour(&img).unwrap(), Some(behaviour));
            let r = refuse_panicking_superblock(&img);
            assert_eq!(r.is_err(), refused, "{behaviour}: {r:?}");
            if let Err(e) = r {
                assert!(matches!(e, Error::Environment(_)), "{e}");
                assert!(e.to_string().contains("errors=panic"), "{e}");
            }
        }
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
    fn ext4_mounted(extra: &[String], check: impl FnOnce(&Path)) {
        require(&[Need::Root, Need::MKFS_EXT4]);
        private_mounts();
        let dir = disk_tempdir();
        let img = dir.path().join("ext4.img");
        create_image(&img, 64 << 20).unwrap();
        let mkfs = find(FsKind::Ext4).unwrap();
        make(FsKind::Ext4, &mkfs, &img, extra, &Cancel::new()).unwrap();
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
    #[ignore = "needs root, mkfs.ext4: mounts ext4 through a loop device"]
    fn ext4_image_mounts_through_loop() {
        ext4_mounted(&[], |mnt| {
            let files = rustix::fs::statvfs(mnt).unwrap().f_files;
            assert!(files > 4000, "default inode count {files}");
            assert_eq!(std::fs::read(mnt.join("hello")).unwrap().len(), 31);
        });
    }

    #[test]
    #[ignore = "needs root, mkfs.ext4: mounts ext4 through a loop device"]
    fn ext4_user_inode_count() {
        ext4_mounted(&strings(&["-N", "1000"]), |mnt| {
            let files = rustix::fs::statvfs(mnt).unwrap().f_files;
            assert!((1000..2048).contains(&files), "-N 1000 gave {files} inodes");
        });
    }

    #[test]
    #[ignore = "needs mkfs.ext4: runs it with bogus arguments"]
    fn bogus_arguments_give_mkfs_complaint() {
        require(&[Need::MKFS_EXT4]);
        let mkfs = find(FsKind::Ext4).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("b.img");
        create_image(&img, 8 << 20).unwrap();
        let err = make(
            FsKind::Ext4,
            &mkfs,
            &img,
            &strings(&["--nonsense"]),
            &Cancel::new(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::Usage(_)), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("invalid option"), "{msg}");
        assert!(msg.contains("--nonsense"), "{msg}");
        let err = make(
            FsKind::Ext4,
            &mkfs,
            &img,
            &strings(&["-E", "bogus=1"]),
            &Cancel::new(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::Usage(_)), "{err}");
        assert!(
            err.to_string().contains("Bad option(s) specified: bogus"),
            "{err}"
        );
    }

    #[test]
    #[ignore = "needs mkfs.xfs: makes an xfs image"]
    fn xfs_on_300_mib_image() {
        require(&[Need::MKFS_XFS]);
        let mkfs = find(FsKind::Xfs).unwrap();
        let dir = disk_tempdir();
        let img = dir.path().join("xfs.img");
        create_image(&img, 300 << 20).unwrap();
        make(FsKind::Xfs, &mkfs, &img, &[], &Cancel::new()).unwrap();
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
        let err = make(FsKind::Xfs, &mkfs, &small, &[], &Cancel::new()).unwrap_err();
        assert!(err.to_string().contains("larger than 300MB"), "{err}");
    }
}
