//! metadata: namespace operations drawn from a weighted `mix` — create,
//! rename, rename_dir, unlink, mkdir, rmdir, stat, link — the directory and
//! inode work a package install, a build or an image unpack does, with
//! little data. Unit op: `meta` (one drawn operation).
//!
//! Each thread works in its own `tNN` directory on a *working set*: the
//! files and directories it made, plus its share of the regular files that
//! were already under the target root outside `tNN` directories (an
//! overlay's lower files, split over threads by index as copy_up does).
//! Renaming or unlinking a lower file copies it up and leaves a whiteout
//! at its old name, which is the point of running this on an overlay.
//!
//! `rename_dir` moves a directory that was already there — `mv` of an image
//! directory, as an upgrade or `pip uninstall` does. On an overlay these are
//! the lower directories directly under the root (`dNNNN`), and moving one
//! is what `redirect_dir` is about: with `redirect_dir=on` the first move
//! copies the directory (not its files) up, whites out its old name and
//! records where it came from in a `trusted.overlay.redirect` xattr; with
//! it off the kernel refuses with EXDEV, counted under `rename_dir` (an
//! application without a copy fallback fails there). With `rename_dir` in
//! the mix:
//! - a thread owns whole directories (directory j, sorted, goes to thread
//!   j % threads) and the lower files in them, so that a move never pulls a
//!   file from under another thread; files directly under the root are
//!   still dealt out by index. A lower layer with fewer `dirs` than threads
//!   leaves some threads without one.
//! - each `rename_dir` picks one of the thread's directories at random,
//!   wherever it is now, and moves it to a new name in `tNN` — a container
//!   that keeps reshuffling image directories. Directories are never used
//!   up: a moved directory still has its lower layer, so with
//!   `redirect_dir=off` every later move fails with EXDEV again; with it
//!   on, the kernel keeps the absolute redirect of the first move and
//!   writes no new xattr, so only a directory's first move copies it up.
//!   Its files move with it and stay in the working set.
//! - on a target with no such directory (ext4, tmpfs, a hostPath) the first
//!   thread makes `BASELINE_DIRS_PER_THREAD` empty `dNNNN` per thread before
//!   the clock: the baseline of the same renames without an overlay. The
//!   cell's notes say so.
//! - a thread with no directory of its own does `rename` instead.
//!
//! How a drawn operation becomes the one that runs (the histograms count
//! what ran, under each syscall's own op):
//! - new names go into `tNN`; `rename` and `link` put their new name into
//!   `tNN` or, half of the time when it made some, a directory of the thread;
//!   `mkdir` makes directories directly in `tNN`;
//! - `rmdir` removes a random *empty* directory the thread made; with none,
//!   it does `mkdir` instead;
//! - with no file in the working set, `rename`, `unlink` and `link` do
//!   `create` instead; with an empty working set, `stat` does `create`;
//! - the working set never grows past `files` entries: once it holds that
//!   many, `create`, `link` and `mkdir` shrink it instead — `mkdir` becomes
//!   `rmdir` of an empty directory when there is one, otherwise each of them
//!   becomes `unlink` of a random file.
//!
//! `rmdir` never takes a directory that was already there: removing a lower
//! directory would need all of its files unlinked first.
//!
//! With `fsync_dir`, the directory of the changed entry is fsynced (op
//! `fsync_dir`) after create, rename and rename_dir (source and
//! destination) and unlink.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustix::fs::OFlags;

use super::payload::{thread_seed, Payload};
use super::{cname, failed, sys, Step, Worker, Workload};
use crate::cancel::Cancel;
use crate::record::{Op, Recorder};
use crate::scenario::{self, MetaOp, SizeRange, WorkloadSpec};

pub struct Metadata {
    spec: WorkloadSpec,
    files: u64,
    file_size: SizeRange,
    mix: Vec<(MetaOp, u32)>,
}

/// Directories made per thread for `rename_dir` on a target that has none.
pub const BASELINE_DIRS_PER_THREAD: usize = 10;

impl Metadata {
    pub fn new(spec: WorkloadSpec, params: &scenario::Metadata) -> Metadata {
        let scenario::Metadata {
            files,
            file_size,
            mix,
        } = params.clone();
        Metadata {
            spec,
            files,
            file_size,
            mix,
        }
    }
}

/// True when the mix can draw `rename_dir`.
pub fn moves_dirs(mix: &[(MetaOp, u32)]) -> bool {
    mix.iter().any(|&(op, w)| op == MetaOp::RenameDir && w > 0)
}

/// True for a thread directory name (`t00`, `t123`).
pub(crate) fn is_thread_dir(name: &str) -> bool {
    name.len() >= 3 && name.starts_with('t') && name[1..].bytes().all(|b| b.is_ascii_digit())
}

fn to_cstring(p: PathBuf) -> io::Result<CString> {
    CString::new(p.into_os_string().into_encoded_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// What `rename_dir` in a metadata mix moves on this target, when that is
/// not an overlay's lower directories, one per thread.
fn rename_dir_note(
    tspec: &scenario::TargetSpec,
    threads: u32,
    mix: &[(MetaOp, u32)],
) -> Option<String> {
    if !moves_dirs(mix) {
        return None;
    }
    let made = || {
        format!(
            "the workload made {} empty directories per thread to move",
            BASELINE_DIRS_PER_THREAD
        )
    };
    let lower = tspec.lower().filter(|l| l.files > 0);
    match (tspec.kind, lower) {
        (scenario::TargetKind::Overlay, None) => Some(format!(
            "rename_dir on an overlay without lower files: {} in the upper layer, so no move \
             needs redirect_dir",
            made()
        )),
        (scenario::TargetKind::Overlay, Some(l)) if l.dirs.min(l.files) < u64::from(threads) => {
            Some(format!(
                "rename_dir: the lower layer has {} directories for {threads} threads; a thread \
                 without one renames files instead",
                l.dirs.min(l.files)
            ))
        }
        (scenario::TargetKind::Overlay, Some(_)) => None,
        (kind, _) => Some(format!(
            "rename_dir on {}: no lower layer, so {} — a baseline of the same renames without \
             overlay's redirect_dir",
            kind.as_str(),
            made()
        )),
    }
}

impl Workload for Metadata {
    fn unit_op(&self) -> Op {
        Op::Meta
    }

    fn notes(&self, target: &scenario::TargetSpec) -> Vec<String> {
        rename_dir_note(target, self.spec.threads, &self.mix)
            .into_iter()
            .collect()
    }

    fn worker(
        &self,
        root: &Path,
        thread: u32,
        seed: u64,
        verification: super::Verification,
        cancel: &Cancel,
    ) -> io::Result<Box<dyn Worker>> {
        let mut w = self.build(root, thread, seed, cancel)?;
        w.verification = verification;
        Ok(Box::new(w))
    }
}

impl Metadata {
    fn build(
        &self,
        root: &Path,
        thread: u32,
        seed: u64,
        cancel: &Cancel,
    ) -> io::Result<MetaWorker> {
        // Scan before making `tNN`; other threads' `tNN` are skipped, so the
        // split is the same for every thread (workers are built one after
        // another, before any of them runs).
        let threads = self.spec.threads.max(1) as usize;
        let mine = |i: usize| i % threads == thread as usize;
        let mut tops = Vec::new();
        if moves_dirs(&self.mix) {
            tops = super::existing_dirs(root)?;
            if tops.is_empty() {
                for i in 0..BASELINE_DIRS_PER_THREAD * threads {
                    std::fs::create_dir(root.join(format!("d{i:04}")))?;
                }
                tops = super::existing_dirs(root)?;
            }
        }
        // With directories to move, a file goes with its top directory.
        let mut loose = 0;
        let mut owned = Vec::new();
        for (i, p) in super::existing_files(root, cancel)?.into_iter().enumerate() {
            let top = match p.components().next() {
                Some(first) if p.parent().is_some_and(|d| !d.as_os_str().is_empty()) => tops
                    .binary_search_by(|t| t.as_os_str().cmp(first.as_os_str()))
                    .ok(),
                _ => None,
            };
            let take = match top {
                Some(j) => mine(j),
                None if tops.is_empty() => mine(i),
                None => {
                    loose += 1;
                    mine(loose - 1)
                }
            };
            if take {
                owned.push(p);
            }
        }
        let moving = tops
            .into_iter()
            .enumerate()
            .filter(|(j, _)| mine(*j))
            .map(|(_, p)| {
                Ok(MovingDir {
                    path: to_cstring(p)?,
                    parent: Parent::Other(cname(".".into())),
                })
            })
            .collect::<io::Result<Vec<_>>>()?;
        let files = owned
            .into_iter()
            .map(|p| {
                let parent = p.parent().map(Path::to_path_buf).unwrap_or_default();
                Ok(FileEnt {
                    path: to_cstring(p)?,
                    parent: Parent::Other(if parent.as_os_str().is_empty() {
                        cname(".".into())
                    } else {
                        to_cstring(parent)?
                    }),
                })
            })
            .collect::<io::Result<Vec<_>>>()?;
        let thread_dir = sys::thread_dir(root, thread)?;
        let s = thread_seed(seed, &self.spec.base_name, thread);
        let mut worker = MetaWorker::new(sys::open_root(root)?, thread_dir, thread, self, files, s);
        worker.moving = moving;
        Ok(worker)
    }
}

/// Where an entry's name lives (the directory `fsync_dir` syncs).
#[derive(Debug, Clone, PartialEq)]
enum Parent {
    /// The thread's `tNN`.
    Thread,
    /// A directory the thread made, by id.
    Own(u64),
    /// Any other directory (a lower file's), relative to the root.
    Other(CString),
}

#[derive(Debug)]
struct FileEnt {
    /// Relative to the root.
    path: CString,
    parent: Parent,
}

/// A directory that was already there, which `rename_dir` moves.
#[derive(Debug)]
struct MovingDir {
    /// Where it is now, relative to the root.
    path: CString,
    /// The root (`.`) until its first move, then `tNN`.
    parent: Parent,
}

#[derive(Debug)]
struct DirEnt {
    id: u64,
    path: CString,
    /// Working-set files in it (a thread's directories hold only files).
    children: u32,
}

fn index(op: MetaOp) -> usize {
    MetaOp::ALL
        .iter()
        .position(|o| *o == op)
        .expect("every op is listed")
}

struct MetaWorker {
    root: OwnedFd,
    thread_dir: OwnedFd,
    /// `tNN`, the prefix of every name the thread makes.
    tdir: String,
    thread: u32,
    cap: usize,
    file_size: SizeRange,
    fsync_dir: bool,
    /// (op, cumulative weight), zero weights left out.
    table: Vec<(MetaOp, u64)>,
    total: u64,
    rng: ChaCha8Rng,
    payload: Payload,
    /// Full records in created files when armed, plain bytes otherwise.
    verification: super::Verification,
    buf: Vec<u8>,
    files: Vec<FileEnt>,
    dirs: Vec<DirEnt>,
    /// Directories that were already there (not in the working set).
    moving: Vec<MovingDir>,
    next: u64,
    /// Draws per op, and what ran instead (see the module doc).
    drawn: [u64; MetaOp::ALL.len()],
    ran: [u64; MetaOp::ALL.len()],
}

impl MetaWorker {
    fn new(
        root: OwnedFd,
        thread_dir: OwnedFd,
        thread: u32,
        w: &Metadata,
        files: Vec<FileEnt>,
        seed: u64,
    ) -> MetaWorker {
        let mut table = Vec::new();
        let mut total = 0u64;
        for &(op, weight) in &w.mix {
            if weight > 0 {
                total += u64::from(weight);
                table.push((op, total));
            }
        }
        MetaWorker {
            root,
            thread_dir,
            tdir: format!("t{thread:02}"),
            thread,
            cap: usize::try_from(w.files).unwrap_or(usize::MAX).max(1),
            file_size: w.file_size,
            fsync_dir: w.spec.fsync_dir,
            table,
            total,
            // The op sequence has its own stream, apart from the payload's.
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x6d65_7461_6f70_7321),
            payload: Payload::with_kind(seed, w.spec.payload),
            verification: super::Verification::Off,
            buf: Vec::new(),
            files,
            dirs: Vec::new(),
            moving: Vec::new(),
            next: 0,
            drawn: [0; MetaOp::ALL.len()],
            ran: [0; MetaOp::ALL.len()],
        }
    }

    fn len(&self) -> usize {
        self.files.len() + self.dirs.len()
    }

    fn draw(&mut self) -> MetaOp {
        if self.total == 0 {
            return MetaOp::Stat;
        }
        let x = self.rng.random_range(0..self.total);
        self.table
            .iter()
            .find(|(_, cum)| x < *cum)
            .map_or(MetaOp::Stat, |(op, _)| *op)
    }

    /// The op that runs for a drawn one (see the module doc).
    fn resolve(&self, drawn: MetaOp) -> MetaOp {
        let full = self.len() >= self.cap;
        let has_file = !self.files.is_empty();
        let has_empty = self.dirs.iter().any(|d| d.children == 0);
        let shrink = |prefer_dir: bool| {
            if (prefer_dir || !has_file) && has_empty {
                MetaOp::Rmdir
            } else {
                // Full means at least one entry; with no empty directory
                // some directory holds a file.
                MetaOp::Unlink
            }
        };
        match drawn {
            MetaOp::RenameDir if self.moving.is_empty() => self.resolve(MetaOp::Rename),
            MetaOp::Create | MetaOp::Link | MetaOp::Mkdir if full => shrink(drawn == MetaOp::Mkdir),
            MetaOp::Rename | MetaOp::Unlink | MetaOp::Link if !has_file => {
                if full {
                    shrink(false)
                } else {
                    MetaOp::Create
                }
            }
            MetaOp::Stat if self.len() == 0 => MetaOp::Create,
            MetaOp::Rmdir if !has_empty => {
                if full {
                    shrink(false)
                } else {
                    MetaOp::Mkdir
                }
            }
            op => op,
        }
    }

    fn new_name(&mut self, parent: &Parent, prefix: char) -> CString {
        let n = self.next;
        self.next += 1;
        let dir = match parent {
            Parent::Own(id) => self
                .dirs
                .iter()
                .find(|d| d.id == *id)
                .map(|d| d.path.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.tdir.clone()),
            _ => self.tdir.clone(),
        };
        cname(format!("{dir}/{prefix}{n:07}"))
    }

    /// `tNN`, or half of the time a random directory of the thread.
    fn place(&mut self) -> Parent {
        if !self.dirs.is_empty() && self.rng.random_bool(0.5) {
            let i = self.rng.random_range(0..self.dirs.len());
            Parent::Own(self.dirs[i].id)
        } else {
            Parent::Thread
        }
    }

    fn adjust(&mut self, parent: &Parent, delta: i32) {
        if let Parent::Own(id) = parent {
            if let Some(d) = self.dirs.iter_mut().find(|d| d.id == *id) {
                d.children = d.children.saturating_add_signed(delta);
            }
        }
    }

    /// A directory moved from `from` to `to`: the paths under it follow.
    fn relocate(&mut self, from: &CStr, to: &CStr) {
        let (from, to) = (from.to_bytes(), to.to_bytes());
        let moved = |p: &CString| -> Option<CString> {
            let rest = p.as_bytes().strip_prefix(from)?;
            (rest.is_empty() || rest[0] == b'/').then(|| {
                let mut path = to.to_vec();
                path.extend_from_slice(rest);
                CString::new(path).expect("paths contain no NUL")
            })
        };
        for f in &mut self.files {
            if let Some(p) = moved(&f.path) {
                f.path = p;
            }
            if let Parent::Other(dir) = &mut f.parent {
                if let Some(p) = moved(dir) {
                    *dir = p;
                }
            }
        }
    }

    fn sync_parent(&self, rec: &mut Recorder, parent: &Parent) -> io::Result<()> {
        if !self.fsync_dir {
            return Ok(());
        }
        let fd = match parent {
            Parent::Thread => return sys::fsync(rec, Op::FsyncDir, self.thread_dir.as_fd()),
            Parent::Own(id) => {
                let Some(d) = self.dirs.iter().find(|d| d.id == *id) else {
                    return Ok(());
                };
                sys::open_dir(self.root.as_fd(), &d.path)?
            }
            Parent::Other(p) => sys::open_dir(self.root.as_fd(), p)?,
        };
        sys::fsync(rec, Op::FsyncDir, fd.as_fd())
    }

    fn run(&mut self, rec: &mut Recorder, op: MetaOp) -> io::Result<()> {
        match op {
            MetaOp::Create => {
                let path = self.new_name(&Parent::Thread, 'm');
                let fd = sys::create(rec, self.root.as_fd(), &path, OFlags::empty())?;
                // The file exists now, whatever happens to its data.
                self.files.push(FileEnt {
                    path,
                    parent: Parent::Thread,
                });
                let len = self.payload.size(self.file_size) as usize;
                if len > 0 {
                    let seq = self.next;
                    let bytes = self.payload.record_for(
                        self.verification,
                        &mut self.buf,
                        self.thread,
                        seq,
                        len,
                    );
                    if let Err(e) = sys::write_all(rec, fd.as_fd(), bytes) {
                        sys::discard(fd);
                        return Err(e);
                    }
                }
                sys::close(rec, fd)?;
                self.sync_parent(rec, &Parent::Thread)
            }
            MetaOp::Rename => {
                let i = self.rng.random_range(0..self.files.len());
                let to_parent = self.place();
                let to = self.new_name(&to_parent, 'm');
                sys::rename(rec, self.root.as_fd(), &self.files[i].path, &to)?;
                let from_parent = std::mem::replace(&mut self.files[i].parent, to_parent.clone());
                self.files[i].path = to;
                self.adjust(&from_parent, -1);
                self.adjust(&to_parent, 1);
                self.sync_parent(rec, &to_parent)?;
                if from_parent != to_parent {
                    self.sync_parent(rec, &from_parent)?;
                }
                Ok(())
            }
            MetaOp::RenameDir => {
                let i = self.rng.random_range(0..self.moving.len());
                let to = self.new_name(&Parent::Thread, 'r');
                sys::rename_dir(rec, self.root.as_fd(), &self.moving[i].path, &to)?;
                let from = std::mem::replace(&mut self.moving[i].path, to.clone());
                let from_parent = std::mem::replace(&mut self.moving[i].parent, Parent::Thread);
                self.relocate(&from, &to);
                self.sync_parent(rec, &Parent::Thread)?;
                if from_parent != Parent::Thread {
                    self.sync_parent(rec, &from_parent)?;
                }
                Ok(())
            }
            MetaOp::Unlink => {
                let i = self.rng.random_range(0..self.files.len());
                sys::unlink(rec, self.root.as_fd(), &self.files[i].path)?;
                let gone = self.files.swap_remove(i);
                self.adjust(&gone.parent, -1);
                self.sync_parent(rec, &gone.parent)
            }
            MetaOp::Mkdir => {
                let path = self.new_name(&Parent::Thread, 'd');
                sys::mkdir(rec, self.root.as_fd(), &path)?;
                let id = self.next;
                self.dirs.push(DirEnt {
                    id,
                    path,
                    children: 0,
                });
                Ok(())
            }
            MetaOp::Rmdir => {
                let empty: Vec<usize> = (0..self.dirs.len())
                    .filter(|&i| self.dirs[i].children == 0)
                    .collect();
                let i = empty[self.rng.random_range(0..empty.len())];
                sys::rmdir(rec, self.root.as_fd(), &self.dirs[i].path)?;
                self.dirs.swap_remove(i);
                Ok(())
            }
            MetaOp::Stat => {
                let i = self.rng.random_range(0..self.len());
                let path = match self.files.get(i) {
                    Some(f) => &f.path,
                    None => &self.dirs[i - self.files.len()].path,
                };
                sys::stat(rec, self.root.as_fd(), path).map(|_| ())
            }
            MetaOp::Link => {
                let i = self.rng.random_range(0..self.files.len());
                let parent = self.place();
                let to = self.new_name(&parent, 'm');
                sys::link(rec, self.root.as_fd(), &self.files[i].path, &to)?;
                self.adjust(&parent, 1);
                self.files.push(FileEnt { path: to, parent });
                Ok(())
            }
        }
    }
}

impl Worker for MetaWorker {
    fn step(&mut self, rec: &mut Recorder) -> Step {
        let drawn = self.draw();
        self.drawn[index(drawn)] += 1;
        let op = self.resolve(drawn);
        self.ran[index(op)] += 1;
        match self.run(rec, op) {
            Ok(()) => Step::Done,
            Err(e) => failed(&e),
        }
    }

    fn finish(&mut self, _rec: &mut Recorder) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{PayloadKind, SyncCall, SyncPolicy, WorkloadKind, WorkloadParams};
    use crate::workload::testing::counts;
    use std::sync::mpsc::channel;
    use std::time::Instant;

    /// The workload of a metadata spec.
    fn workload(s: WorkloadSpec) -> Metadata {
        match &s.params {
            WorkloadParams::Metadata(p) => Metadata::new(s.clone(), p),
            other => panic!("not a metadata spec: {other:?}"),
        }
    }

    fn spec(files: u64, mix: Vec<(MetaOp, u32)>, fsync_dir: bool) -> WorkloadSpec {
        WorkloadSpec {
            name: "meta".into(),
            base_name: "meta".into(),
            kind: WorkloadKind::Metadata,
            threads: 1,
            rate: None,
            fsync: SyncPolicy::Never,
            sync_call: SyncCall::Fsync,
            fsync_dir,
            o_direct: false,
            think_time: None,
            payload: PayloadKind::Random,
            params: WorkloadParams::Metadata(scenario::Metadata {
                files,
                file_size: SizeRange::fixed(100),
                mix,
            }),
        }
    }

    fn default_mix() -> Vec<(MetaOp, u32)> {
        MetaOp::DEFAULT_MIX.to_vec()
    }

    fn worker(w: &Metadata, root: &Path, thread: u32) -> MetaWorker {
        w.build(root, thread, 7, &Cancel::new()).unwrap()
    }

    #[test]
    fn draws_follow_the_weights_and_every_op_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let w = workload(spec(100_000, default_mix(), true));
        let mut mw = worker(&w, dir.path(), 0);
        let (tx, rx) = channel();
        let mut rec = Recorder::new(0, Instant::now(), tx);
        let n = 5000u64;
        for _ in 0..n {
            assert_eq!(mw.step(&mut rec), Step::Done);
        }
        rec.finish();
        let total: u32 = default_mix().iter().map(|(_, w)| w).sum();
        for (op, weight) in default_mix() {
            let expected = n as f64 * f64::from(weight) / f64::from(total);
            let got = mw.drawn[index(op)] as f64;
            assert!(
                (got - expected).abs() <= 0.3 * expected,
                "{op:?}: drew {got}, expected about {expected}"
            );
        }
        assert_eq!(mw.drawn.iter().sum::<u64>(), n);
        assert_eq!(mw.ran.iter().sum::<u64>(), n);
        let (ok, err) = counts(&rx);
        assert!(err.is_empty(), "errors: {err:?}");
        // What ran is what was recorded, op by op.
        let pairs = [
            (MetaOp::Create, Op::Create),
            (MetaOp::Rename, Op::Rename),
            (MetaOp::RenameDir, Op::RenameDir),
            (MetaOp::Unlink, Op::Unlink),
            (MetaOp::Mkdir, Op::Mkdir),
            (MetaOp::Rmdir, Op::Rmdir),
            (MetaOp::Stat, Op::Stat),
            (MetaOp::Link, Op::Link),
        ];
        for (m, op) in pairs {
            assert_eq!(ok.get(&op).copied().unwrap_or(0), mw.ran[index(m)], "{op}");
        }
        // Creates write 100 bytes and close; create/rename/unlink sync a directory.
        assert_eq!(ok[&Op::Write], ok[&Op::Create]);
        assert_eq!(ok[&Op::Close], ok[&Op::Create]);
        assert!(ok[&Op::FsyncDir] >= ok[&Op::Create] + ok[&Op::Rename] + ok[&Op::Unlink]);
        // The bookkeeping matches the disk: every tracked entry exists, and
        // each tracked directory holds exactly its counted children.
        for f in &mw.files {
            let p = dir.path().join(f.path.to_str().unwrap());
            assert!(p.is_file(), "{}", p.display());
        }
        for d in &mw.dirs {
            let p = dir.path().join(d.path.to_str().unwrap());
            assert_eq!(std::fs::read_dir(&p).unwrap().count() as u32, d.children);
        }
    }

    #[test]
    fn working_set_stays_bounded_and_rmdir_only_takes_empty_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let mix = vec![
            (MetaOp::Create, 3),
            (MetaOp::Mkdir, 3),
            (MetaOp::Rmdir, 1),
            (MetaOp::Rename, 3),
            (MetaOp::Link, 2),
        ];
        let w = workload(spec(50, mix, false));
        let mut mw = worker(&w, dir.path(), 0);
        let (tx, rx) = channel();
        let mut rec = Recorder::new(0, Instant::now(), tx);
        for _ in 0..3000 {
            assert_eq!(mw.step(&mut rec), Step::Done);
            assert!(mw.len() <= 50, "working set {}", mw.len());
        }
        rec.finish();
        let (ok, err) = counts(&rx);
        // rmdir of a non-empty directory would fail with ENOTEMPTY.
        assert!(err.is_empty(), "errors: {err:?}");
        assert!(ok.get(&Op::Rmdir).copied().unwrap_or(0) > 0);
        // Unlink was never drawn: it ran only to keep the set bounded.
        assert_eq!(mw.drawn[index(MetaOp::Unlink)], 0);
        assert!(mw.ran[index(MetaOp::Unlink)] > 0);
        let on_disk = walk_count(&dir.path().join("t00"));
        assert_eq!(on_disk, mw.len());
    }

    fn walk_count(p: &Path) -> usize {
        std::fs::read_dir(p)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                1 + if e.file_type().unwrap().is_dir() {
                    walk_count(&e.path())
                } else {
                    0
                }
            })
            .sum()
    }

    #[test]
    fn existing_files_are_split_over_threads_and_used() {
        let dir = tempfile::tempdir().unwrap();
        for d in 0..3 {
            let sub = dir.path().join(format!("d{d:04}"));
            std::fs::create_dir(&sub).unwrap();
            for f in 0..10 {
                std::fs::write(sub.join(format!("f{f:06}")), b"lower").unwrap();
            }
        }
        let mut s = spec(1000, vec![(MetaOp::Unlink, 1)], false);
        s.threads = 2;
        let w = workload(s);
        let mut a = worker(&w, dir.path(), 0);
        let mut b = worker(&w, dir.path(), 1);
        // A second thread's scan skips the first thread's `t00`.
        assert_eq!((a.files.len(), b.files.len()), (15, 15));
        let (tx, rx) = channel();
        let mut rec = Recorder::new(0, Instant::now(), tx);
        for _ in 0..15 {
            assert_eq!(a.step(&mut rec), Step::Done);
            assert_eq!(b.step(&mut rec), Step::Done);
        }
        rec.finish();
        let (ok, err) = counts(&rx);
        assert!(err.is_empty(), "errors: {err:?}");
        assert_eq!(ok[&Op::Unlink], 30);
        assert!(
            super::super::existing_files(dir.path(), &crate::cancel::Cancel::new())
                .unwrap()
                .is_empty()
        );
        // With nothing left to unlink, unlink becomes create.
        let (tx, _rx) = channel();
        let mut rec = Recorder::new(0, Instant::now(), tx);
        assert_eq!(a.step(&mut rec), Step::Done);
        assert_eq!(a.ran[index(MetaOp::Create)], 1);
    }

    #[test]
    fn same_seed_same_operations() {
        let run = || {
            let dir = tempfile::tempdir().unwrap();
            let w = workload(spec(200, default_mix(), false));
            let mut mw = worker(&w, dir.path(), 0);
            let (tx, _rx) = channel();
            let mut rec = Recorder::new(0, Instant::now(), tx);
            for _ in 0..500 {
                mw.step(&mut rec);
            }
            let mut names: Vec<String> = mw
                .files
                .iter()
                .map(|f| f.path.to_string_lossy().into_owned())
                .collect();
            names.sort();
            (mw.ran, names)
        };
        assert_eq!(run(), run());
    }

    /// `dirs` directories of `per_dir` files each, and `loose` files at the root.
    fn image(root: &Path, dirs: usize, per_dir: usize, loose: usize) {
        for d in 0..dirs {
            let sub = root.join(format!("d{d:04}"));
            std::fs::create_dir(&sub).unwrap();
            for f in 0..per_dir {
                std::fs::write(sub.join(format!("f{:06}", d * per_dir + f)), b"lower").unwrap();
            }
        }
        for f in 0..loose {
            std::fs::write(root.join(format!("top{f}")), b"lower").unwrap();
        }
    }

    /// Every entry under `root`, relative, sorted.
    fn tree(root: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p.clone());
                }
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
        out.sort();
        out
    }

    fn moving_mix() -> Vec<(MetaOp, u32)> {
        vec![
            (MetaOp::RenameDir, 3),
            (MetaOp::Rename, 1),
            (MetaOp::Unlink, 1),
            (MetaOp::Link, 1),
            (MetaOp::Stat, 2),
        ]
    }

    #[test]
    fn rename_dir_moves_whole_directories_and_their_files_follow() {
        let run = || {
            let dir = tempfile::tempdir().unwrap();
            image(dir.path(), 4, 5, 2);
            let mut s = spec(1000, moving_mix(), true);
            s.threads = 2;
            let w = workload(s);
            let mut a = worker(&w, dir.path(), 0);
            let mut b = worker(&w, dir.path(), 1);
            // Whole directories per thread, their files with them; the two
            // files at the root dealt out one each.
            let paths = |m: &MetaWorker| -> Vec<String> {
                let mut v: Vec<String> = m
                    .files
                    .iter()
                    .map(|f| f.path.to_string_lossy().into_owned())
                    .collect();
                v.sort();
                v
            };
            let moving = |m: &MetaWorker| -> Vec<String> {
                m.moving
                    .iter()
                    .map(|d| d.path.to_string_lossy().into_owned())
                    .collect()
            };
            assert_eq!(moving(&a), ["d0000", "d0002"]);
            assert_eq!(moving(&b), ["d0001", "d0003"]);
            assert_eq!(a.files.len(), 11);
            assert!(paths(&a)
                .iter()
                .all(|p| p.starts_with("d0000/") || p.starts_with("d0002/") || p == "top0"));
            assert!(paths(&b)
                .iter()
                .all(|p| p.starts_with("d0001/") || p.starts_with("d0003/") || p == "top1"));
            let (tx, rx) = channel();
            let mut rec = Recorder::new(0, Instant::now(), tx);
            for _ in 0..300 {
                assert_eq!(a.step(&mut rec), Step::Done);
                assert_eq!(b.step(&mut rec), Step::Done);
            }
            rec.finish();
            let (ok, err) = counts(&rx);
            // A move never pulls a file from under the other thread.
            assert!(err.is_empty(), "errors: {err:?}");
            let moves = a.ran[index(MetaOp::RenameDir)] + b.ran[index(MetaOp::RenameDir)];
            assert!(moves > 100, "{moves}");
            assert_eq!(ok[&Op::RenameDir], moves);
            // Source (the root, on a first move) and destination synced.
            assert!(ok[&Op::FsyncDir] >= moves);
            for m in [&a, &b] {
                for d in &m.moving {
                    let p = d.path.to_str().unwrap();
                    assert!(p.starts_with(&format!("t{:02}/r", m.thread)), "{p}");
                    assert!(dir.path().join(p).is_dir(), "{p}");
                }
                for f in &m.files {
                    assert!(dir.path().join(f.path.to_str().unwrap()).is_file());
                    if let Parent::Other(p) = &f.parent {
                        assert!(dir.path().join(p.to_str().unwrap()).is_dir());
                    }
                }
            }
            // Every image directory has moved; none is left at the root.
            assert!(!tree(dir.path()).iter().any(|p| p.starts_with('d')));
            (a.ran, b.ran, tree(dir.path()))
        };
        // Same seed, same moves, same tree.
        assert_eq!(run(), run());
    }

    #[test]
    fn rename_dir_without_directories_makes_a_baseline_or_renames_files() {
        // An empty target: the first thread makes the directories to move.
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec(1000, vec![(MetaOp::RenameDir, 1)], false);
        s.threads = 2;
        let w = workload(s);
        let mut a = worker(&w, dir.path(), 0);
        let mut b = worker(&w, dir.path(), 1);
        assert_eq!(a.moving.len(), BASELINE_DIRS_PER_THREAD);
        assert_eq!(b.moving.len(), BASELINE_DIRS_PER_THREAD);
        assert!(a.files.is_empty() && b.files.is_empty());
        let (tx, rx) = channel();
        let mut rec = Recorder::new(0, Instant::now(), tx);
        for _ in 0..50 {
            assert_eq!(a.step(&mut rec), Step::Done);
            assert_eq!(b.step(&mut rec), Step::Done);
        }
        rec.finish();
        let (ok, err) = counts(&rx);
        assert!(err.is_empty(), "errors: {err:?}");
        assert_eq!(ok[&Op::RenameDir], 100);

        // One image directory for two threads: the second renames files
        // (none here, so it creates) instead.
        let dir = tempfile::tempdir().unwrap();
        image(dir.path(), 1, 3, 0);
        let mut s = spec(1000, vec![(MetaOp::RenameDir, 1)], false);
        s.threads = 2;
        let w = workload(s);
        let mut a = worker(&w, dir.path(), 0);
        let mut b = worker(&w, dir.path(), 1);
        assert_eq!((a.moving.len(), a.files.len()), (1, 3));
        assert_eq!((b.moving.len(), b.files.len()), (0, 0));
        let (tx, rx) = channel();
        let mut rec = Recorder::new(0, Instant::now(), tx);
        for _ in 0..3 {
            assert_eq!(a.step(&mut rec), Step::Done);
            assert_eq!(b.step(&mut rec), Step::Done);
        }
        rec.finish();
        let (ok, err) = counts(&rx);
        assert!(err.is_empty(), "errors: {err:?}");
        assert_eq!(ok[&Op::RenameDir], 3);
        assert_eq!(b.ran[index(MetaOp::Create)], 1);
        assert_eq!(b.ran[index(MetaOp::Rename)], 2);
        // a's files moved with their directory.
        for f in &a.files {
            assert!(dir.path().join(f.path.to_str().unwrap()).is_file());
        }
    }
}
