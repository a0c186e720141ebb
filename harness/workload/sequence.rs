//! sequence: a user-written loop of file steps (filebench's flowops,
//! simplified), e.g. varmail's delete → create → append → fsync → close →
//! open → read → append → fsync → close → open → read → close. One pass
//! over the steps is one unit op, `sequence`; every step's syscalls are
//! recorded under their own ops (`create`, `open`, `write`, `fsync`,
//! `fdatasync`, `close`, `read`, `rename`, `unlink`, `stat`); `sleep` only
//! sleeps.
//!
//! Each thread has a *fileset* in its own directory: `files` files
//! (`tNN/fNNNNNN`, `file_size` each) written before the clock starts. The
//! steps act on it and on at most one *current* file:
//! - `create` makes a new file (read-write) and makes it current; it joins
//!   the fileset. `open` opens a random fileset file read-write and makes it
//!   current. Either one, while a file is current, first closes that one
//!   (recorded as `close`): the previous file is closed implicitly.
//! - `write` writes at the current offset (0 after create/open; `read` does
//!   not move it); `append` writes at the end of the file.
//! - `read` reads the current file whole from offset 0 (pread); with no
//!   current file it opens a random fileset file, reads it whole and closes
//!   it (recorded as `open`, `read`…, `close`).
//! - `unlink`, `rename` and `stat` pick a random fileset file; an unlinked
//!   name leaves the fileset and a renamed one is replaced by its new name,
//!   so a loop of unlink + create keeps the fileset's size stable.
//! - a step that needs a current file when there is none (only after a
//!   failed pass closed it) opens a random fileset file first.
//!
//! The current file carries over from one pass to the next. When a step
//! fails, the current file is closed and the pass ends as failed. When a
//! step needs the fileset and it is empty (every file unlinked), the
//! thread ends. With `o_direct`, files are opened with O_DIRECT and written
//! from a 4096-aligned buffer; a size drawn from a range is rounded down to
//! whole 4KiB blocks. With `fsync_dir`, the directory is fsynced (op
//! `fsync_dir`) after create, rename and unlink.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustix::fs::OFlags;

use super::payload::{thread_seed, Payload};
use super::sys::AlignedBuf;
use super::{cname, failed, sys, Step, Worker, Workload};
use crate::cancel::Cancel;
use crate::record::{Op, Recorder};
use crate::scenario::{self, SeqStep, SizeRange, WorkloadSpec};

/// O_DIRECT's block and buffer alignment.
const BLOCK: usize = 4096;
/// Reads go through a buffer of at most this size.
const READ_CHUNK: usize = 1 << 20;

pub struct Sequence {
    spec: WorkloadSpec,
    steps: Vec<SeqStep>,
    files: u64,
    file_size: SizeRange,
}

impl Sequence {
    pub fn new(spec: WorkloadSpec, params: &scenario::Sequence) -> Sequence {
        let scenario::Sequence {
            steps,
            files,
            file_size,
        } = params.clone();
        Sequence {
            spec,
            steps,
            files,
            file_size,
        }
    }

    fn build(&self, root: &Path, thread: u32, seed: u64, cancel: &Cancel) -> io::Result<SeqWorker> {
        let dir = sys::thread_dir(root, thread)?;
        if self.spec.o_direct {
            sys::probe_o_direct(dir.as_fd())?;
        }
        let seed = thread_seed(seed, &self.spec.base_name, thread);
        let mut payload = Payload::with_kind(seed, self.spec.payload);
        let mut buf = Vec::new();
        let mut fileset = Vec::with_capacity(self.files as usize);
        for i in 0..self.files {
            cancel.check()?;
            let name = cname(format!("f{i:06}"));
            let len = block_round(payload.size(self.file_size) as usize, self.spec.o_direct);
            let fd = sys::create_new(dir.as_fd(), &name)?;
            sys::write_record_file(
                fd.as_fd(),
                &mut payload,
                &mut buf,
                thread,
                i,
                len as u64,
                cancel,
            )?;
            fileset.push(name);
        }
        Ok(SeqWorker {
            dir,
            thread,
            steps: self.steps.clone(),
            o_direct: self.spec.o_direct,
            fsync_dir: self.spec.fsync_dir,
            fileset,
            next: self.files,
            current: None,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x7365_7175_656e_6365),
            payload,
            buf: Vec::new(),
            aligned: AlignedBuf::default(),
            read_buf: AlignedBuf::default(),
            seq: 0,
        })
    }
}

impl Workload for Sequence {
    fn unit_op(&self) -> Op {
        Op::Sequence
    }

    fn worker(
        &self,
        root: &Path,
        thread: u32,
        seed: u64,
        _verification: super::Verification,
        cancel: &Cancel,
    ) -> io::Result<Box<dyn Worker>> {
        Ok(Box::new(self.build(root, thread, seed, cancel)?))
    }
}

/// With O_DIRECT: rounded down to whole blocks, at least one.
fn block_round(len: usize, direct: bool) -> usize {
    if direct {
        (len / BLOCK * BLOCK).max(BLOCK)
    } else {
        len
    }
}

/// Why a pass ended early.
enum Stop {
    Io(io::Error),
    /// A step needed the fileset and every file of it is gone.
    Empty,
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Stop {
        Stop::Io(e)
    }
}

struct SeqWorker {
    dir: OwnedFd,
    thread: u32,
    steps: Vec<SeqStep>,
    o_direct: bool,
    fsync_dir: bool,
    fileset: Vec<CString>,
    /// Number of the next new name (`fNNNNNN`).
    next: u64,
    current: Option<OwnedFd>,
    rng: ChaCha8Rng,
    payload: Payload,
    buf: Vec<u8>,
    aligned: AlignedBuf,
    read_buf: AlignedBuf,
    seq: u64,
}

impl SeqWorker {
    fn direct(&self) -> OFlags {
        if self.o_direct {
            OFlags::DIRECT
        } else {
            OFlags::empty()
        }
    }

    fn pick(&mut self) -> Result<usize, Stop> {
        if self.fileset.is_empty() {
            return Err(Stop::Empty);
        }
        Ok(self.rng.random_range(0..self.fileset.len()))
    }

    fn new_name(&mut self) -> CString {
        let n = self.next;
        self.next += 1;
        cname(format!("f{n:06}"))
    }

    fn close_current(&mut self, rec: &mut Recorder) -> io::Result<()> {
        match self.current.take() {
            Some(fd) => sys::close(rec, fd),
            None => Ok(()),
        }
    }

    fn sync_dir(&self, rec: &mut Recorder) -> io::Result<()> {
        if self.fsync_dir {
            sys::fsync(rec, Op::FsyncDir, self.dir.as_fd())?;
        }
        Ok(())
    }

    fn open_any(&mut self, rec: &mut Recorder, flags: OFlags) -> Result<OwnedFd, Stop> {
        let i = self.pick()?;
        let flags = flags | self.direct();
        Ok(sys::open(rec, self.dir.as_fd(), &self.fileset[i], flags)?)
    }

    /// The current file, opening one when a failed pass left none.
    fn current(&mut self, rec: &mut Recorder) -> Result<BorrowedFd<'_>, Stop> {
        if self.current.is_none() {
            let fd = self.open_any(rec, OFlags::RDWR)?;
            self.current = Some(fd);
        }
        Ok(self.current.as_ref().expect("set above").as_fd())
    }

    /// Writes `range` bytes of payload at the current offset.
    fn write(&mut self, rec: &mut Recorder, range: SizeRange, append: bool) -> Result<(), Stop> {
        let len = block_round(self.payload.size(range) as usize, self.o_direct);
        let seq = self.seq;
        self.seq += 1;
        self.payload.record(&mut self.buf, self.thread, seq, len);
        self.current(rec)?;
        let fd = self.current.as_ref().expect("opened above").as_fd();
        if append {
            sys::seek_end(fd)?;
        }
        if self.o_direct {
            let aligned = self.aligned.slice(len);
            aligned.copy_from_slice(&self.buf);
            sys::write_all(rec, fd, &*aligned)?;
        } else {
            sys::write_all(rec, fd, &self.buf)?;
        }
        Ok(())
    }

    fn run(&mut self, rec: &mut Recorder, step: SeqStep) -> Result<(), Stop> {
        match step {
            SeqStep::Create => {
                self.close_current(rec)?;
                let name = self.new_name();
                let fd = sys::create_rw(rec, self.dir.as_fd(), &name, self.direct())?;
                self.fileset.push(name);
                self.current = Some(fd);
                self.sync_dir(rec)?;
            }
            SeqStep::Open => {
                self.close_current(rec)?;
                let fd = self.open_any(rec, OFlags::RDWR)?;
                self.current = Some(fd);
            }
            SeqStep::Write(r) => self.write(rec, r, false)?,
            SeqStep::Append(r) => self.write(rec, r, true)?,
            SeqStep::Fsync => {
                let fd = self.current(rec)?;
                sys::fsync(rec, Op::Fsync, fd)?;
            }
            SeqStep::Fdatasync => {
                let fd = self.current(rec)?;
                sys::fdatasync(rec, fd)?;
            }
            SeqStep::Close => {
                self.current(rec)?;
                self.close_current(rec)?;
            }
            SeqStep::Read => match &self.current {
                Some(fd) => {
                    let buf = self.read_buf.slice(READ_CHUNK);
                    sys::pread_all(rec, fd.as_fd(), buf)?;
                }
                None => {
                    let fd = self.open_any(rec, OFlags::RDONLY)?;
                    let buf = self.read_buf.slice(READ_CHUNK);
                    if let Err(e) = sys::pread_all(rec, fd.as_fd(), buf) {
                        sys::discard(fd);
                        return Err(e.into());
                    }
                    sys::close(rec, fd)?;
                }
            },
            SeqStep::Rename => {
                let i = self.pick()?;
                let to = self.new_name();
                sys::rename(rec, self.dir.as_fd(), &self.fileset[i], &to)?;
                self.fileset[i] = to;
                self.sync_dir(rec)?;
            }
            SeqStep::Unlink => {
                let i = self.pick()?;
                sys::unlink(rec, self.dir.as_fd(), &self.fileset[i])?;
                self.fileset.swap_remove(i);
                self.sync_dir(rec)?;
            }
            SeqStep::Stat => {
                let i = self.pick()?;
                sys::stat(rec, self.dir.as_fd(), &self.fileset[i])?;
            }
            SeqStep::Sleep(d) => std::thread::sleep(d),
        }
        Ok(())
    }
}

impl Worker for SeqWorker {
    fn step(&mut self, rec: &mut Recorder) -> Step {
        for i in 0..self.steps.len() {
            let step = self.steps[i];
            if let Err(stop) = self.run(rec, step) {
                if let Some(fd) = self.current.take() {
                    sys::discard(fd);
                }
                return match stop {
                    Stop::Io(e) => failed(&e),
                    Stop::Empty => Step::Exhausted,
                };
            }
        }
        Step::Done
    }

    fn finish(&mut self, _rec: &mut Recorder) {
        if let Some(fd) = self.current.take() {
            sys::discard(fd);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{PayloadKind, SyncCall, SyncPolicy, WorkloadKind, WorkloadParams};
    use crate::workload::testing::counts;
    use std::sync::mpsc::channel;
    use std::time::Instant;

    /// The workload of a sequence spec.
    fn workload(s: WorkloadSpec) -> Sequence {
        match &s.params {
            WorkloadParams::Sequence(p) => Sequence::new(s.clone(), p),
            other => panic!("not a sequence spec: {other:?}"),
        }
    }

    const K16: SizeRange = SizeRange {
        min: 16 << 10,
        max: 16 << 10,
    };

    fn spec(steps: Vec<SeqStep>, files: u64, o_direct: bool, fsync_dir: bool) -> WorkloadSpec {
        WorkloadSpec {
            name: "seq".into(),
            base_name: "seq".into(),
            kind: WorkloadKind::Sequence,
            threads: 1,
            rate: None,
            fsync: SyncPolicy::Never,
            sync_call: SyncCall::Fsync,
            fsync_dir,
            o_direct,
            think_time: None,
            payload: PayloadKind::Random,
            params: WorkloadParams::Sequence(scenario::Sequence {
                steps,
                files,
                file_size: K16,
            }),
        }
    }

    fn varmail() -> Vec<SeqStep> {
        use SeqStep::*;
        vec![
            Unlink,
            Create,
            Append(K16),
            Fsync,
            Close,
            Open,
            Read,
            Append(K16),
            Fsync,
            Close,
            Open,
            Read,
            Close,
        ]
    }

    fn files_in(dir: &Path) -> usize {
        std::fs::read_dir(dir.join("t00")).unwrap().count()
    }

    #[test]
    fn varmail_loop_makes_exactly_the_ops_its_steps_imply() {
        let dir = tempfile::tempdir().unwrap();
        let w = workload(spec(varmail(), 20, false, true));
        let mut sw = w.build(dir.path(), 0, 1, &Cancel::new()).unwrap();
        assert_eq!(files_in(dir.path()), 20);
        let (tx, rx) = channel();
        let mut rec = Recorder::new(0, Instant::now(), tx);
        let n = 50;
        for _ in 0..n {
            assert_eq!(sw.step(&mut rec), Step::Done);
        }
        rec.finish();
        let (ok, err) = counts(&rx);
        assert!(err.is_empty(), "errors: {err:?}");
        assert_eq!(ok[&Op::Unlink], n);
        assert_eq!(ok[&Op::Create], n);
        assert_eq!(ok[&Op::Write], 2 * n);
        assert_eq!(ok[&Op::Fsync], 2 * n);
        assert_eq!(ok[&Op::Open], 2 * n);
        assert_eq!(ok[&Op::Close], 3 * n);
        assert_eq!(ok[&Op::FsyncDir], 2 * n);
        // Each whole-file read ends with a zero-length pread.
        assert!(ok[&Op::Read] >= 4 * n);
        assert!(!ok.contains_key(&Op::Fdatasync) && !ok.contains_key(&Op::Rename));
        // Delete + create keeps the fileset's size.
        assert_eq!(sw.fileset.len(), 20);
        assert_eq!(files_in(dir.path()), 20);
        assert!(sw.current.is_none());
    }

    #[test]
    fn current_file_carries_over_and_reopen_closes_implicitly() {
        use SeqStep::*;
        let dir = tempfile::tempdir().unwrap();
        // The file opened at the end of a pass is written by the next one;
        // the `open` then closes it implicitly.
        let steps = vec![Write(SizeRange::fixed(100)), Fdatasync, Stat, Rename, Open];
        let w = workload(spec(steps, 5, false, false));
        let mut sw = w.build(dir.path(), 0, 2, &Cancel::new()).unwrap();
        let (tx, rx) = channel();
        let mut rec = Recorder::new(0, Instant::now(), tx);
        // The first pass has no current file: `write` opens one.
        for _ in 0..10 {
            assert_eq!(sw.step(&mut rec), Step::Done);
        }
        rec.finish();
        let (ok, err) = counts(&rx);
        assert!(err.is_empty(), "errors: {err:?}");
        assert_eq!(ok[&Op::Open], 11);
        assert_eq!(ok[&Op::Close], 10);
        assert_eq!(ok[&Op::Write], 10);
        assert_eq!(ok[&Op::Fdatasync], 10);
        assert_eq!((ok[&Op::Stat], ok[&Op::Rename]), (10, 10));
        assert_eq!(files_in(dir.path()), 5);
        assert!(sw.current.is_some());
        sw.finish(&mut Recorder::new(0, Instant::now(), channel().0));
        assert!(sw.current.is_none());
    }

    #[test]
    fn an_emptied_fileset_ends_the_thread_and_failures_close_the_file() {
        use SeqStep::*;
        let dir = tempfile::tempdir().unwrap();
        let w = workload(spec(vec![Unlink], 3, false, false));
        let mut sw = w.build(dir.path(), 0, 3, &Cancel::new()).unwrap();
        let (tx, _rx) = channel();
        let mut rec = Recorder::new(0, Instant::now(), tx);
        for _ in 0..3 {
            assert_eq!(sw.step(&mut rec), Step::Done);
        }
        assert_eq!(sw.step(&mut rec), Step::Exhausted);

        // A step that fails closes the current file: the rename's new name
        // is taken by a directory, behind the workload's back.
        let dir = tempfile::tempdir().unwrap();
        let w = workload(spec(vec![Open, Rename], 1, false, false));
        let mut sw = w.build(dir.path(), 0, 4, &Cancel::new()).unwrap();
        std::fs::create_dir_all(dir.path().join("t00/f000001/x")).unwrap();
        match sw.step(&mut rec) {
            Step::Failed(e) => assert_eq!(e, libc::EISDIR),
            other => panic!("expected a failure, got {other:?}"),
        }
        assert!(sw.current.is_none());
    }

    #[test]
    fn o_direct_writes_whole_aligned_blocks() {
        use SeqStep::*;
        let dir = tempfile::tempdir().unwrap();
        let steps = vec![
            Create,
            Write(SizeRange {
                min: 4096,
                max: 3 * 4096 + 100,
            }),
            Append(SizeRange::fixed(8192)),
            Fsync,
            Read,
            Close,
        ];
        let w = workload(spec(steps, 2, true, false));
        let mut sw = w.build(dir.path(), 0, 5, &Cancel::new()).unwrap();
        let (tx, rx) = channel();
        let mut rec = Recorder::new(0, Instant::now(), tx);
        let step = sw.step(&mut rec);
        rec.finish();
        let (ok, err) = counts(&rx);
        if err.get(&Op::Create) == Some(&1) {
            // The filesystem under the temporary directory has no O_DIRECT.
            eprintln!("skipped: no O_DIRECT here");
            return;
        }
        assert_eq!(step, Step::Done, "errors: {err:?}");
        assert_eq!(ok[&Op::Write], 2);
        for e in std::fs::read_dir(dir.path().join("t00")).unwrap() {
            let len = e.unwrap().metadata().unwrap().len();
            assert_eq!(len % 4096, 0, "{len}");
        }
        let mut b = sys::AlignedBuf::default();
        assert_eq!(b.slice(5000).as_ptr() as usize % 4096, 0);
        assert_eq!(block_round(3 * 4096 + 100, true), 3 * 4096);
        assert_eq!(block_round(100, true), 4096);
        assert_eq!(block_round(100, false), 100);
    }
}
