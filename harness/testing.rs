//! What a test needs from the machine, decided in one place: for the unit
//! tests (`crate::testing`) and the integration tests (harness/tests/
//! support.rs re-exports it). No wpbench code uses it; it is public only
//! because the integration tests are another crate.
//!
//! A test that needs root or a program is marked `#[ignore = "needs root,
//! mkfs.xfs: why"]`, so `cargo test` lists it as ignored with its reason.
//! Asked for (`cargo test -- --include-ignored` or `--ignored`), it first
//! calls [`require`], which panics naming what is missing and how to get
//! it: a test that was asked for never passes by skipping, in CI or out.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// One thing a test needs.
#[derive(Debug, Clone, Copy)]
pub enum Need {
    /// Effective uid 0: mounts, loop devices, cgroups, chown.
    Root,
    /// A program (on PATH, or in /usr/sbin or /sbin as wpbench looks for
    /// mkfs), and the Debian package that has it.
    Program(&'static str, &'static str),
    /// A module `python3` imports, and the pip package that has it.
    Python(&'static str, &'static str),
}

impl Need {
    /// What makes ext4 targets (and overlays on ext4).
    pub const MKFS_EXT4: Need = Need::Program("mkfs.ext4", "e2fsprogs");
    /// What makes xfs targets.
    pub const MKFS_XFS: Need = Need::Program("mkfs.xfs", "xfsprogs");

    fn met(&self) -> bool {
        match *self {
            Need::Root => rustix::process::geteuid().is_root(),
            Need::Program(name, _) => program(name).is_some(),
            Need::Python(module, _) => Command::new("python3")
                .args(["-c", &format!("import {module}")])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
        }
    }

    /// What is missing, and how to get it.
    fn missing(&self) -> String {
        match *self {
            Need::Root => "root (it mounts, attaches loop devices or makes cgroups): \
                           run the tests as root"
                .to_string(),
            Need::Program(name, package) => {
                format!("{name}: apt-get install {package}")
            }
            Need::Python(module, package) => format!(
                "python3 with {package} (`import {module}` failed): \
                 python3 -m pip install {package}"
            ),
        }
    }
}

/// Panics, naming every need of `needs` that this machine does not meet
/// and how to meet it. Called first by every `#[ignore = "needs …"]` test.
pub fn require(needs: &[Need]) {
    let missing: Vec<String> = needs
        .iter()
        .filter(|n| !n.met())
        .map(Need::missing)
        .collect();
    if missing.is_empty() {
        return;
    }
    let hint = if in_ci() {
        "CI installs these in .ci/run and runs as root: the CI machine is not what it should be"
    } else {
        "this test was asked for (--include-ignored or --ignored), so it fails rather than \
         skip; without those flags it is listed as ignored"
    };
    panic!("this test needs\n  {}\n({hint})", missing.join("\n  "));
}

/// Where `name` is: on PATH, or in /usr/sbin or /sbin (mkfs lives there,
/// and root's PATH does not always name them).
pub fn program(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    path.into_iter()
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .filter(|d| d.is_absolute())
        .map(|d| d.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The one reading of `CI` (set to anything but empty, `0` or `false`, as
/// GitHub Actions, GitLab and .ci/run set it). It changes only what
/// [`require`] says, never whether a test runs or passes.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"))
}
