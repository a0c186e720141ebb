//! metadata: namespace operations drawn from a weighted `mix` — create,
//! rename, unlink, mkdir, rmdir, stat, link — the directory and inode work
//! a package install, a build or an image unpack does, with little data.
//! Unit op: `meta` (one drawn operation).
//!
//! Each thread works in its own `tNN` directory on a *working set*: the
//! files and directories it made, plus its share of the regular files that
//! were already under the target root outside `tNN` directories (an
//! overlay's lower files, split over threads by index as copy_up does).
//! Renaming or unlinking a lower file makes the overlay write a whiteout
//! or a redirect, which is the point of running this on an overlay.
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
//! With `fsync_dir`, the directory of the changed entry is fsynced (op
//! `fsync_dir`) after create, rename (source and destination) and unlink.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustix::fs::OFlags;

use super::payload::{thread_seed, Payload};
use super::{cname, failed, sys, Step, Worker, Workload};
use crate::record::{Op, Recorder};
use crate::scenario::{MetaOp, SizeRange, WorkloadParams, WorkloadSpec};

pub struct Metadata {
    spec: WorkloadSpec,
    files: u64,
    file_size: SizeRange,
    mix: Vec<(MetaOp, u32)>,
}

impl Metadata {
    pub fn new(spec: WorkloadSpec) -> Metadata {
        let WorkloadParams::Metadata {
            files,
            file_size,
            ref mix,
        } = spec.params
        else {
            unreachable!("built from a metadata spec")
        };
        let mix = mix.clone();
        Metadata {
            spec,
            files,
            file_size,
            mix,
        }
    }
}

/// True for a thread directory name (`t00`, `t123`).
pub(crate) fn is_thread_dir(name: &str) -> bool {
    name.len() >= 3 && name.starts_with('t') && name[1..].bytes().all(|b| b.is_ascii_digit())
}

fn to_cstring(p: PathBuf) -> io::Result<CString> {
    CString::new(p.into_os_string().into_encoded_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

impl Workload for Metadata {
    fn unit_op(&self) -> Op {
        Op::Meta
    }

    fn worker(&self, root: &Path, thread: u32, seed: u64) -> io::Result<Box<dyn Worker>> {
        Ok(Box::new(self.build(root, thread, seed)?))
    }
}

impl Metadata {
    fn build(&self, root: &Path, thread: u32, seed: u64) -> io::Result<MetaWorker> {
        // Scan before making `tNN`; other threads' `tNN` are skipped, so the
        // split is the same for every thread.
        let threads = self.spec.threads.max(1) as usize;
        let files = super::existing_files(root)?
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % threads == thread as usize)
            .map(|(_, p)| {
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
        Ok(MetaWorker::new(
            sys::open_root(root)?,
            thread_dir,
            thread,
            self,
            files,
            s,
        ))
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

#[derive(Debug)]
struct DirEnt {
    id: u64,
    path: CString,
    /// Working-set files in it (a thread's directories hold only files).
    children: u32,
}

const OPS: [MetaOp; 7] = [
    MetaOp::Create,
    MetaOp::Rename,
    MetaOp::Unlink,
    MetaOp::Mkdir,
    MetaOp::Rmdir,
    MetaOp::Stat,
    MetaOp::Link,
];

fn index(op: MetaOp) -> usize {
    OPS.iter()
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
    buf: Vec<u8>,
    files: Vec<FileEnt>,
    dirs: Vec<DirEnt>,
    next: u64,
    /// Draws per op, and what ran instead (see the module doc).
    drawn: [u64; 7],
    ran: [u64; 7],
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
            buf: Vec::new(),
            files,
            dirs: Vec::new(),
            next: 0,
            drawn: [0; 7],
            ran: [0; 7],
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
                    self.payload.record(&mut self.buf, self.thread, seq, len);
                    if let Err(e) = sys::write_all(rec, fd.as_fd(), &self.buf) {
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
    use crate::scenario::{PayloadKind, SyncCall, SyncPolicy, WorkloadKind};
    use crate::workload::testing::counts;
    use std::sync::mpsc::channel;
    use std::time::Instant;

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
            params: WorkloadParams::Metadata {
                files,
                file_size: SizeRange::fixed(100),
                mix,
            },
        }
    }

    fn default_mix() -> Vec<(MetaOp, u32)> {
        MetaOp::DEFAULT_MIX.to_vec()
    }

    fn worker(w: &Metadata, root: &Path, thread: u32) -> MetaWorker {
        w.build(root, thread, 7).unwrap()
    }

    #[test]
    fn draws_follow_the_weights_and_every_op_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let w = Metadata::new(spec(100_000, default_mix(), true));
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
        let w = Metadata::new(spec(50, mix, false));
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
        let w = Metadata::new(s);
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
        assert!(super::super::existing_files(dir.path()).unwrap().is_empty());
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
            let w = Metadata::new(spec(200, default_mix(), false));
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
}
