//! copy_up: the first write-open, chmod, chown or timestamp change of a
//! file that exists only in an overlay's lower layer copies it into the
//! upper layer — the whole file, or with `metacopy=on` only its metadata
//! until data is written. Each unit op (`copy_up`) does the `action` to
//! the next lower file; each file once (a second time would cost nothing),
//! so a thread ends when its share of the files is done.
//!
//! On a target without lower files (ext4, tmpfs, a hostPath) the workload
//! first makes `files` files itself and does the same actions to them: the
//! baseline of the same syscalls without copy-up. The result says which.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::OFlags;

use super::payload::{thread_seed, Payload};
use super::{failed, sys, Step, Worker, Workload};
use crate::cancel::Cancel;
use crate::record::{Op, Recorder};
use crate::scenario::{self, CopyUpAction, SizeRange, WorkloadSpec};

pub struct CopyUp {
    spec: WorkloadSpec,
    action: CopyUpAction,
    files: u64,
    file_size: SizeRange,
}

impl CopyUp {
    pub fn new(spec: WorkloadSpec, params: &scenario::CopyUp) -> CopyUp {
        let scenario::CopyUp {
            action,
            files,
            file_size,
        } = params.clone();
        CopyUp {
            spec,
            action,
            files,
            file_size,
        }
    }
}

/// The baseline's files, laid out like an overlay lower (`dNNNN/fNNNNNN`).
fn make_files(
    root: &Path,
    files: u64,
    size: SizeRange,
    seed: u64,
    name: &str,
    cancel: &Cancel,
) -> io::Result<()> {
    let mut payload = Payload::new(thread_seed(seed, name, u32::MAX));
    let mut buf = Vec::new();
    for i in 0..files {
        cancel.check()?;
        let dir = root.join(format!("d{:04}", i % 10));
        std::fs::create_dir_all(&dir)?;
        let len = payload.size(size);
        sys::record_file(
            &dir.join(format!("f{i:06}")),
            &mut payload,
            &mut buf,
            i,
            len,
            cancel,
        )?;
    }
    Ok(())
}

impl Workload for CopyUp {
    fn unit_op(&self) -> Op {
        Op::CopyUp
    }

    fn notes(&self, target: &scenario::TargetSpec) -> Vec<String> {
        if target.kind == scenario::TargetKind::Overlay {
            return Vec::new();
        }
        vec![format!(
            "copy_up on a {} target: no lower layer, so the workload made its own files — a \
             baseline of the same syscalls without copy-up",
            target.kind.as_str()
        )]
    }

    fn worker(
        &self,
        root: &Path,
        thread: u32,
        seed: u64,
        _verification: super::Verification,
        cancel: &Cancel,
    ) -> io::Result<Box<dyn Worker>> {
        let mut all = super::existing_files(root, cancel)?;
        if all.is_empty() {
            make_files(
                root,
                self.files,
                self.file_size,
                seed,
                &self.spec.base_name,
                cancel,
            )?;
            all = super::existing_files(root, cancel)?;
        }
        let threads = self.spec.threads as usize;
        let mine = all
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % threads == thread as usize)
            .map(|(_, p)| CString::new(p.into_os_string().into_encoded_bytes()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let mut payload = Payload::new(thread_seed(seed, &self.spec.base_name, thread));
        let mut append = Vec::new();
        payload.fill(&mut append, 4096);
        Ok(Box::new(CopyUpWorker {
            root: sys::open_root(root)?,
            action: self.action,
            files: mine,
            next: 0,
            append,
        }))
    }
}

struct CopyUpWorker {
    root: OwnedFd,
    action: CopyUpAction,
    files: Vec<CString>,
    next: usize,
    append: Vec<u8>,
}

impl CopyUpWorker {
    fn act(&mut self, rec: &mut Recorder, name: &CString) -> io::Result<()> {
        let dir = self.root.as_fd();
        match self.action {
            CopyUpAction::Chmod => sys::chmod(rec, dir, name, 0o600),
            CopyUpAction::Chown => sys::chown_to_self(rec, dir, name),
            CopyUpAction::Touch => sys::touch(rec, dir, name),
            CopyUpAction::OpenRw => {
                let fd = sys::open(rec, dir, name, OFlags::RDWR)?;
                sys::close(rec, fd)
            }
            CopyUpAction::Append => {
                let fd = sys::open(rec, dir, name, OFlags::WRONLY | OFlags::APPEND)?;
                if let Err(e) = sys::write_all(rec, fd.as_fd(), &self.append) {
                    sys::discard(fd);
                    return Err(e);
                }
                sys::close(rec, fd)
            }
            CopyUpAction::Truncate => {
                let fd = sys::open(rec, dir, name, OFlags::WRONLY)?;
                let size = sys::size_of(fd.as_fd()) / 2;
                if let Err(e) = sys::truncate(rec, fd.as_fd(), size) {
                    sys::discard(fd);
                    return Err(e);
                }
                sys::close(rec, fd)
            }
        }
    }
}

impl Worker for CopyUpWorker {
    fn step(&mut self, rec: &mut Recorder) -> Step {
        let Some(name) = self.files.get(self.next).cloned() else {
            return Step::Exhausted;
        };
        self.next += 1;
        match self.act(rec, &name) {
            Ok(()) => Step::Done,
            Err(e) => failed(&e),
        }
    }

    fn finish(&mut self, _rec: &mut Recorder) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::Interrupted;

    #[test]
    fn baseline_files_are_the_seeded_records_and_a_signal_stops_them() {
        let dir = tempfile::tempdir().unwrap();
        let size = SizeRange {
            min: 100,
            max: 3 << 20,
        };
        make_files(dir.path(), 3, size, 11, "c", &Cancel::new()).unwrap();
        // The bytes a whole-file build gives for the same seed.
        let mut p = Payload::new(thread_seed(11, "c", u32::MAX));
        let mut want = Vec::new();
        for i in 0..3u64 {
            let len = p.size(size) as usize;
            p.record(&mut want, u32::MAX, i, len);
            let got = std::fs::read(dir.path().join(format!("d{:04}/f{i:06}", i % 10))).unwrap();
            assert!(got == want, "file {i} differs");
        }
        let cancel = Cancel::new();
        cancel.set();
        let e = make_files(dir.path(), 3, size, 11, "c2", &cancel).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Interrupted);
        assert_eq!(e.to_string(), Interrupted.to_string());
    }
}
