//! A run directory that arrives as a gzipped tar (`k8s collect`: a pod
//! prints its run directory into its log), unpacked into a temporary
//! directory beside the merged run's, trusting nothing in the archive:
//! only plain files and directories, only under the one top-level
//! directory the pod's END line names, no absolute path or `..`, and at
//! most [`UNPACK_LIMIT`] bytes in at most [`ENTRY_LIMIT`] entries.

use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

/// The most bytes one run directory may unpack to (1 GiB): a pod's log
/// carries at most a few MiB of compressed results, so more is a
/// compression bomb or not a wpbench run.
pub const UNPACK_LIMIT: u64 = 1 << 30;
/// The most entries (files and directories) one run directory may hold.
pub const ENTRY_LIMIT: usize = 100_000;

/// A fresh directory, removed with everything in it when dropped (on
/// success and on every error path alike).
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Makes `.wpbench-collect-<pid>-<n>` beside `out`: in `out`'s parent,
    /// or the nearest of its ancestors that exists, so nothing is created
    /// on the way and the merge's files stay on the same filesystem.
    pub fn beside(out: &Path) -> io::Result<TempDir> {
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let base = parent
            .ancestors()
            .find(|p| p.as_os_str().is_empty() || p.is_dir())
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        for n in 0..1000 {
            let path = base.join(format!(".wpbench-collect-{}-{n}", std::process::id()));
            match fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("creating a temporary directory in {}: {e}", base.display()),
                    ))
                }
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "creating a temporary directory in {}: every name is taken",
                base.display()
            ),
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Unpacks the gzipped tar `tar_gz` into `into` (an empty directory) and
/// returns `into/top`, the run directory. Every entry must be a plain
/// file or a directory under `top/`; the first that is not, an archive
/// that is not a gzipped tar, or one larger than the limits refuses the
/// whole (the reason is returned; `into` may hold a part, which the
/// caller's [`TempDir`] removes).
pub fn unpack_run(tar_gz: &[u8], top: &str, into: &Path) -> Result<PathBuf, String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tar_gz));
    let entries = archive
        .entries()
        .map_err(|e| format!("not a gzipped tar: {e}"))?;
    let mut total: u64 = 0;
    for (count, entry) in entries.enumerate() {
        if count >= ENTRY_LIMIT {
            return Err(format!(
                "more than {ENTRY_LIMIT} entries; a run directory holds far fewer, refused"
            ));
        }
        let mut entry = entry.map_err(|e| format!("not a readable gzipped tar: {e}"))?;
        let raw = entry
            .path()
            .map_err(|e| format!("an entry's name is unreadable: {e}"))?
            .into_owned();
        let rel = checked_path(&raw, top)?;
        let kind = entry.header().entry_type();
        let dest = into.join(&rel);
        let io_err = |e: io::Error| format!("{}: {e}", dest.display());
        if kind.is_dir() {
            fs::create_dir_all(&dest).map_err(io_err)?;
        } else if kind.is_file() {
            let size = entry.header().size().unwrap_or(u64::MAX);
            if size > UNPACK_LIMIT - total {
                return Err(too_big());
            }
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent).map_err(io_err)?;
            }
            let mut file = fs::File::create(&dest).map_err(io_err)?;
            let room = UNPACK_LIMIT - total;
            let n = io::copy(&mut (&mut entry).take(room + 1), &mut file)
                .map_err(|e| format!("{}: {e}", raw.display()))?;
            if n > room {
                return Err(too_big());
            }
            total += n;
        } else {
            return Err(format!(
                "{}: a {} entry; a run directory holds only plain files and directories, refused",
                raw.display(),
                kind_name(kind)
            ));
        }
    }
    let run = into.join(top);
    if !run.is_dir() {
        return Err(format!(
            "the archive holds no {top}/ directory (it is empty)"
        ));
    }
    Ok(run)
}

fn too_big() -> String {
    format!(
        "unpacks to more than {} GiB; a run directory is far smaller, refused",
        UNPACK_LIMIT >> 30
    )
}

/// `path` as a relative path of plain names whose first is `top`.
fn checked_path(path: &Path, top: &str) -> Result<PathBuf, String> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "{}: an absolute path or one with `..`, refused",
                    path.display()
                ))
            }
        }
    }
    match out.components().next() {
        Some(Component::Normal(first)) if first == top => Ok(out),
        _ => Err(format!(
            "{}: not under {top}/, the node the END line names; refused",
            path.display()
        )),
    }
}

fn kind_name(kind: tar::EntryType) -> String {
    match kind {
        tar::EntryType::Symlink => "symbolic link".into(),
        tar::EntryType::Link => "hard link".into(),
        tar::EntryType::Char => "character device".into(),
        tar::EntryType::Block => "block device".into(),
        tar::EntryType::Fifo => "FIFO".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests;
