use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags};

use super::*;
use crate::testing::{require, Need};

fn no_cgroups(_: &str, _: &[String]) -> (Vec<PathBuf>, Vec<String>) {
    (Vec::new(), Vec::new())
}

/// Writes the manifest of a run whose owner is gone (a PID that cannot
/// exist) into `<root>/<run_id>/`.
fn dead_run(root: &Path, run_id: &str, created: Vec<Created>) -> PathBuf {
    let dir = root.join(run_id);
    fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
    let manifest = Manifest {
        run_id: run_id.into(),
        pid: u32::MAX,
        start_ticks: 1,
        created,
        result_dir: Some(PathBuf::from(format!("/results/of/{run_id}"))),
        cgroups: Vec::new(),
    };
    fs::write(dir.join(MANIFEST), serde_json::to_vec(&manifest).unwrap()).unwrap();
    dir
}

fn tree(path: &Path) -> Created {
    Created {
        path: path.to_path_buf(),
        removal: Removal::Tree,
        dev: None,
        ino: None,
    }
}

fn with_identity(mut c: Created) -> Created {
    let m = fs::symlink_metadata(&c.path).unwrap();
    c.dev = Some(m.dev());
    c.ino = Some(m.ino());
    c
}

fn chown(path: &Path, uid: u32) {
    rustix::fs::chownat(
        rustix::fs::CWD,
        path,
        Some(rustix::fs::Uid::from_raw(uid)),
        None,
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .unwrap();
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn removes_what_it_recorded_and_nothing_else() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let bystander = outside.path().join("not-ours");
    fs::create_dir(&bystander).unwrap();
    let fresh = outside.path().join("fresh");
    {
        let mut area = ScratchArea::create(root.path(), "run-1").unwrap();
        area.register(&fresh, Removal::Tree).unwrap();
        fs::create_dir(&fresh).unwrap();
        area.created(&fresh).unwrap();
        assert_eq!(fs::read_to_string(fresh.join(MARKER)).unwrap(), "run-1\n");
        fs::create_dir_all(fresh.join("a/b")).unwrap();
        fs::write(fresh.join("a/b/f"), b"x").unwrap();
        // A symlink out of the tree must not be followed.
        std::os::unix::fs::symlink(&bystander, fresh.join("link")).unwrap();
        std::os::unix::fs::symlink(&bystander, fresh.join("a/link")).unwrap();
        let inside = area.dir().join("mnt");
        area.register(&inside, Removal::Tree).unwrap();
        fs::create_dir(&inside).unwrap();
        fs::write(inside.join("f"), b"x").unwrap();
    }
    assert!(!fresh.exists());
    assert!(bystander.exists());
    assert!(!root.path().join("run-1").exists());
    assert!(!root.path().exists(), "the empty scratch root goes too");
}

#[test]
fn the_scratch_root_and_run_directory_are_made_private() {
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("a/runs");
    let area = ScratchArea::create(&root, "run-1").unwrap();
    let mode = |p: &Path| fs::symlink_metadata(p).unwrap().mode() & 0o7777;
    assert_eq!(mode(&root), 0o700);
    assert_eq!(mode(area.dir()), 0o700);
    assert_eq!(mode(&area.dir().join(MANIFEST)), 0o600);
    assert_eq!(
        fs::symlink_metadata(&root).unwrap().uid(),
        euid(),
        "owned by the running user"
    );
}

#[test]
fn cleanup_removes_dead_runs_only() {
    let root = tempfile::tempdir().unwrap();
    let dead_dir = dead_run(root.path(), "dead-run", Vec::new());
    let inside = dead_dir.join("mnt/c0-t");
    fs::create_dir_all(inside.join("sub")).unwrap();
    dead_run_add(&dead_dir, tree(&inside));
    // A directory without a manifest is not ours.
    fs::create_dir(root.path().join("foreign")).unwrap();
    let live = ScratchArea::create(root.path(), "live-run").unwrap();

    let report = cleanup_stale(root.path(), &no_cgroups).unwrap();
    assert_eq!(report.removed_runs, vec!["dead-run".to_string()]);
    assert_eq!(report.live_runs, vec!["live-run".to_string()]);
    assert_eq!(report.removed_paths, vec![inside.clone()]);
    assert_eq!(
        report.killed_results,
        vec![PathBuf::from("/results/of/dead-run")]
    );
    assert!(report.left_alone.is_empty(), "{:?}", report.left_alone);
    assert!(!dead_dir.exists());
    assert!(root.path().join("foreign").exists());
    assert!(live.dir().exists());
}

fn dead_run_add(dir: &Path, c: Created) {
    let path = dir.join(MANIFEST);
    let mut m: Manifest = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    m.created.push(c);
    fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
}

#[test]
fn a_killed_runs_hostpath_directory_with_its_marker_and_inode_is_removed() {
    let root = tempfile::tempdir().unwrap();
    let host = tempfile::tempdir().unwrap();
    let base = host.path().join("base/deeper");
    let sub = base.join("wpbench-run-9-c0");
    {
        let mut area = ScratchArea::create(root.path(), "run-9").unwrap();
        for dir in [base.parent().unwrap(), &base] {
            area.register(dir, Removal::EmptyDir).unwrap();
            fs::create_dir(dir).unwrap();
            area.created(dir).unwrap();
        }
        area.register(&sub, Removal::Tree).unwrap();
        fs::create_dir(&sub).unwrap();
        area.created(&sub).unwrap();
        fs::create_dir_all(sub.join("t00/d")).unwrap();
        fs::write(sub.join("t00/d/f"), b"x").unwrap();
        // As after a SIGKILL: nothing removed, the owner gone.
        area.manifest.pid = u32::MAX;
        area.persist().unwrap();
        std::mem::forget(area);
    }
    let report = cleanup_stale(root.path(), &no_cgroups).unwrap();
    assert!(report.left_alone.is_empty(), "{:?}", report.left_alone);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.removed_runs, vec!["run-9".to_string()]);
    assert!(!sub.exists());
    assert!(!host.path().join("base").exists(), "the parents it made");
}

#[test]
fn a_killed_runs_recorded_cgroups_go_and_a_failure_keeps_its_manifest() {
    let root = tempfile::tempdir().unwrap();
    let mut area = ScratchArea::create(root.path(), "run-c").unwrap();
    area.register_cgroup("wpbench-run-c-0").unwrap();
    area.register_cgroup("wpbench-run-c-0").unwrap();
    area.register_cgroup("wpbench-run-c-3").unwrap();
    area.manifest.pid = u32::MAX;
    area.persist().unwrap();
    let dir = area.dir().to_path_buf();
    std::mem::forget(area);
    let asked = std::cell::RefCell::new(Vec::new());
    let busy = |run: &str, names: &[String]| {
        asked.borrow_mut().push((run.to_string(), names.to_vec()));
        (Vec::new(), vec!["removing cgroup …: busy".to_string()])
    };
    let report = cleanup_stale(root.path(), &busy).unwrap();
    let names = vec!["wpbench-run-c-0".to_string(), "wpbench-run-c-3".to_string()];
    assert_eq!(*asked.borrow(), vec![("run-c".to_string(), names.clone())]);
    assert_eq!(report.problems.len(), 1);
    assert!(dir.join(MANIFEST).exists(), "kept for a later cleanup");
    let gone = |_: &str, names: &[String]| {
        let removed = names.iter().map(|n| PathBuf::from("/cg").join(n)).collect();
        (removed, Vec::new())
    };
    let report = cleanup_stale(root.path(), &gone).unwrap();
    assert_eq!(report.removed_cgroups.len(), 2);
    assert_eq!(report.removed_runs, vec!["run-c".to_string()]);
    assert!(!dir.exists());
}

#[test]
fn an_outside_path_without_the_runs_marker_or_inode_is_left_alone() {
    let root = tempfile::tempdir().unwrap();
    let victims = tempfile::tempdir().unwrap();
    let victim = |name: &str| {
        let p = victims.path().join(name);
        fs::create_dir(&p).unwrap();
        fs::write(p.join("precious"), b"x").unwrap();
        p
    };
    // No device and inode (a forged or old manifest).
    let plain = victim("plain");
    // The right device and inode, no marker.
    let unmarked = with_identity(tree(&victim("unmarked")));
    // A marker of the run, but another directory's inode.
    let marked = victim("marked");
    fs::write(marked.join(MARKER), "forged\n").unwrap();
    let mut wrong_inode = with_identity(tree(&marked));
    wrong_inode.ino = Some(wrong_inode.ino.unwrap() + 1);
    // A marker naming another run.
    let other_run = victim("other-run");
    fs::write(other_run.join(MARKER), "someone-else\n").unwrap();
    let other_run = with_identity(tree(&other_run));
    // An empty directory, but not the one the run made.
    let empty = victims.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let mut not_it = with_identity(Created {
        removal: Removal::EmptyDir,
        ..tree(&empty)
    });
    not_it.dev = Some(not_it.dev.unwrap() + 1);
    dead_run(
        root.path(),
        "forged",
        vec![tree(&plain), unmarked, wrong_inode, other_run, not_it],
    );
    let report = cleanup_stale(root.path(), &no_cgroups).unwrap();
    let text = report.left_alone.join("\n");
    assert_eq!(report.left_alone.len(), 5, "{text}");
    assert!(text.contains("no device and inode were recorded"), "{text}");
    assert!(text.contains("no marker file .wpbench-run"), "{text}");
    assert!(
        text.contains("is not the directory the run created"),
        "{text}"
    );
    assert!(text.contains("names run \"someone-else\""), "{text}");
    assert!(
        report.removed_paths.is_empty(),
        "{:?}",
        report.removed_paths
    );
    for name in ["plain", "unmarked", "marked", "other-run"] {
        assert!(
            victims.path().join(name).join("precious").exists(),
            "{name}"
        );
    }
    assert!(empty.exists());
}

#[test]
fn a_symlink_in_a_recorded_path_is_never_followed() {
    let root = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let victim = elsewhere.path().join("c0-t");
    fs::create_dir(&victim).unwrap();
    fs::write(victim.join("precious"), b"x").unwrap();
    let dir = dead_run(root.path(), "run-s", Vec::new());
    // mnt is a symlink to elsewhere: run-s/mnt/c0-t would be the victim.
    std::os::unix::fs::symlink(elsewhere.path(), dir.join("mnt")).unwrap();
    dead_run_add(&dir, tree(&dir.join("mnt/c0-t")));
    // And a hostPath path through a symlink, with the victim's identity.
    let link = elsewhere.path().join("link");
    std::os::unix::fs::symlink(elsewhere.path(), &link).unwrap();
    fs::write(victim.join(MARKER), "run-s\n").unwrap();
    let mut through = with_identity(tree(&victim));
    through.path = link.join("c0-t");
    dead_run_add(&dir, through);

    let report = cleanup_stale(root.path(), &no_cgroups).unwrap();
    assert!(victim.join("precious").exists());
    let text = report.left_alone.join("\n");
    assert!(text.contains("is a symlink (not followed)"), "{text}");
    assert_eq!(report.left_alone.len(), 2, "{text}");
    // The run directory goes; the symlink in it is removed, not followed.
    assert!(!dir.exists());
    assert!(victim.join("precious").exists());
}

#[test]
fn removal_does_not_enter_another_filesystem() {
    let top = tempfile::tempdir().unwrap();
    fs::create_dir_all(top.path().join("a/b")).unwrap();
    fs::write(top.path().join("a/b/f"), b"x").unwrap();
    let dir = match open_dir_nofollow(top.path()).unwrap() {
        Opened::Dir(fd) => rustix::fs::openat(
            &fd,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap(),
        _ => panic!("cannot open {}", top.path().display()),
    };
    // As if `a` were on another device than the top of the tree.
    let dev = dev_ino(&rustix::fs::fstat(&dir).unwrap()).0;
    let e = empty_tree(&dir, dev + 1, top.path(), None).unwrap_err();
    assert!(
        e.to_string().contains("another filesystem is mounted at"),
        "{e}"
    );
    assert!(top.path().join("a/b/f").exists());
}

#[test]
#[ignore = "needs root: mounts a tmpfs below a directory it removes"]
fn a_mount_below_is_never_removed() {
    require(&[Need::Root]);
    use crate::target::loopdev::testing::{private_mounts, MountGuard};
    let top = tempfile::tempdir().unwrap();
    let (a, b) = (top.path().join("a"), top.path().join("b"));
    let (tmp, bound) = (a.join("tmp"), b.join("bound"));
    let source = top.path().join("source");
    for d in [&tmp, &bound, &source] {
        fs::create_dir_all(d).unwrap();
    }
    fs::write(source.join("precious"), b"x").unwrap();
    let (tmp2, bound2, source2) = (tmp.clone(), bound.clone(), source.clone());
    // In a thread of its own mount namespace: the mounts die with it.
    std::thread::spawn(move || {
        private_mounts();
        let _t = MountGuard::mount(Path::new("none"), &tmp2, "tmpfs", "size=1m").unwrap();
        fs::write(tmp2.join("precious"), b"x").unwrap();
        rustix::mount::mount_bind(&source2, &bound2).unwrap();
        let _b = MountGuard(bound2.clone());
        // Another filesystem (st_dev), and a bind mount of the same one
        // (statx's mount root): neither is entered, as a tree's top or
        // below it. (This thread's mounts are not in
        // /proc/self/mountinfo, which shows the process's namespace.)
        for path in [&tmp2, &bound2] {
            for top in [path, path.parent().unwrap()] {
                let e = remove_path(top, Removal::Tree, Proof::Inside).unwrap_err();
                assert!(
                    e.to_string().contains("refusing to remove it"),
                    "{}: {e}",
                    top.display()
                );
                assert!(path.join("precious").exists(), "{}", top.display());
            }
        }
    })
    .join()
    .unwrap();
    assert!(source.join("precious").exists());
}

#[test]
#[ignore = "needs root: chowns manifests and run directories to another user"]
fn untrusted_manifests_and_run_directories_are_left_alone() {
    require(&[Need::Root]);
    let root = tempfile::tempdir().unwrap();
    let victims = tempfile::tempdir().unwrap();
    let victim = victims.path().join("v");
    fs::create_dir(&victim).unwrap();
    // Each run directory names a path inside itself, which a trusted
    // manifest would have removed.
    let inside = |dir: &Path| {
        let p = dir.join("mnt");
        fs::create_dir(&p).unwrap();
        dead_run_add(dir, tree(&p));
        p
    };
    // The manifest is a symlink to a manifest elsewhere.
    let elsewhere = dead_run(victims.path(), "symlinked", Vec::new());
    let d1 = root.path().join("symlinked");
    fs::DirBuilder::new().mode(0o700).create(&d1).unwrap();
    std::os::unix::fs::symlink(elsewhere.join(MANIFEST), d1.join(MANIFEST)).unwrap();
    let m1 = d1.join("mnt");
    fs::create_dir(&m1).unwrap();
    dead_run_add(&elsewhere, tree(&m1));
    // The manifest is owned by another user.
    let d2 = dead_run(root.path(), "foreign-manifest", Vec::new());
    let m2 = inside(&d2);
    chown(&d2.join(MANIFEST), 65534);
    // The run directory is owned by another user.
    let d3 = dead_run(root.path(), "foreign-dir", Vec::new());
    let m3 = inside(&d3);
    chown(&d3, 65534);
    // The run directory is writable by others.
    let d4 = dead_run(root.path(), "open-dir", Vec::new());
    let m4 = inside(&d4);
    chmod(&d4, 0o777);
    // The manifest is of another run.
    let d5 = dead_run(root.path(), "renamed", Vec::new());
    let m5 = inside(&d5);
    fs::rename(&d5, root.path().join("renamed-2")).unwrap();
    let m5 = root.path().join("renamed-2").join(m5.file_name().unwrap());
    // A symlink to a run directory elsewhere.
    let d6 = dead_run(victims.path(), "linked-dir", Vec::new());
    let m6 = inside(&d6);
    std::os::unix::fs::symlink(&d6, root.path().join("linked-dir")).unwrap();

    let report = cleanup_stale(root.path(), &no_cgroups).unwrap();
    let text = report.left_alone.join("\n");
    assert_eq!(report.left_alone.len(), 6, "{text}");
    for want in [
        "symlinked: its manifest.json is a symlink",
        "foreign-manifest: its manifest.json is owned by uid 65534",
        "foreign-dir: the run directory is owned by uid 65534",
        "open-dir: the run directory is owned by uid 0",
        "mode 0777",
        "renamed-2: its manifest.json is of run \"renamed\"",
        "linked-dir: a symlink, not a run directory",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    assert!(report.removed_runs.is_empty() && report.removed_paths.is_empty());
    for m in [&m1, &m2, &m3, &m4, &m5, &m6] {
        assert!(m.exists(), "{}", m.display());
    }
    assert!(victim.exists());
}

#[test]
#[ignore = "needs root: chowns the scratch root to another user"]
fn a_scratch_root_of_another_user_is_refused_naming_owner_and_mode() {
    require(&[Need::Root]);
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("runs");
    fs::create_dir(&root).unwrap();
    chmod(&root, 0o755);
    chown(&root, 65534);
    let victim = base.path().join("victim");
    fs::create_dir(&victim).unwrap();
    dead_run(&root, "forged", vec![tree(&victim)]);
    for e in [
        trusted_root(&root).unwrap_err(),
        cleanup_stale(&root, &no_cgroups).unwrap_err(),
        ScratchArea::create(&root, "run-1").unwrap_err(),
    ] {
        assert_eq!(e.exit_code(), 3, "{e}");
        let m = e.to_string();
        assert!(m.contains(&root.display().to_string()), "{m}");
        assert!(m.contains("owned by uid 65534"), "{m}");
        assert!(m.contains("mode 0755 (drwxr-xr-x)"), "{m}");
        assert!(m.contains("chmod 700"), "{m}");
        assert!(m.contains("--scratch"), "{m}");
    }
    assert!(victim.exists());
    assert!(!root.join("run-1").exists());
}

#[test]
fn a_scratch_root_writable_by_others_is_refused_unless_empty() {
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("runs");
    fs::create_dir(&root).unwrap();
    fs::create_dir(root.join("someone-elses")).unwrap();
    let mode = |p: &Path| fs::symlink_metadata(p).unwrap().mode() & 0o7777;
    for m in [0o777, 0o770, 0o1777] {
        chmod(&root, m);
        let e = trusted_root(&root).unwrap_err();
        assert_eq!(e.exit_code(), 3, "{e}");
        assert!(
            e.to_string()
                .contains("writable by group or others and not empty"),
            "{e}"
        );
        assert_eq!(mode(&root), m, "refused untouched");
    }
    chmod(&root, 0o755);
    assert_eq!(trusted_root(&root).unwrap(), root.canonicalize().unwrap());
    // Empty (a Kubernetes emptyDir is 0777): made 0700, then used.
    fs::remove_dir(root.join("someone-elses")).unwrap();
    chmod(&root, 0o777);
    assert_eq!(trusted_root(&root).unwrap(), root.canonicalize().unwrap());
    assert_eq!(mode(&root), 0o700);
}

#[test]
fn an_ancestor_writable_by_others_needs_the_sticky_bit() {
    let base = tempfile::tempdir().unwrap();
    let open = base.path().join("open");
    fs::create_dir(&open).unwrap();
    let root = open.join("not-yet/runs");
    chmod(&open, 0o777);
    let e = trusted_root(&root).unwrap_err();
    assert_eq!(e.exit_code(), 3, "{e}");
    let m = e.to_string();
    assert!(
        m.contains(&format!(
            "its ancestor {} is writable by group or others without the sticky bit",
            open.display()
        )),
        "{m}"
    );
    assert!(m.contains("mode 0777 (drwxrwxrwx)"), "{m}");
    // Sticky, like /tmp: fine.
    chmod(&open, 0o1777);
    assert!(trusted_root(&root).is_ok());
    // Relative paths and symlinks are resolved first.
    let link = base.path().join("link");
    std::os::unix::fs::symlink(&open, &link).unwrap();
    assert_eq!(
        trusted_root(&link.join("runs")).unwrap(),
        open.canonicalize().unwrap().join("runs")
    );
}

#[test]
fn empty_dir_removal_keeps_content() {
    let root = tempfile::tempdir().unwrap();
    let parent = root.path().join("parent");
    fs::create_dir(&parent).unwrap();
    fs::write(parent.join("someone-else"), b"x").unwrap();
    assert_eq!(
        remove_path(&parent, Removal::EmptyDir, Proof::Inside).unwrap(),
        Outcome::NotEmpty
    );
    assert!(parent.exists());
}

#[test]
fn own_start_time_is_readable() {
    assert!(start_ticks(std::process::id()).is_some());
}

#[test]
fn modes_read_like_ls() {
    assert_eq!(describe_mode(0o40755), "0755 (drwxr-xr-x)");
    assert_eq!(describe_mode(0o1777), "1777 (drwxrwxrwt)");
    assert_eq!(describe_mode(0o1770), "1770 (drwxrwx--T)");
    assert_eq!(describe_mode(0o700), "0700 (drwx------)");
    assert!(describe_owner(0).starts_with("uid 0"));
}
