//! How much room the machine has for a plan: free bytes and inodes of the
//! filesystems a run writes to, memory available, the open-file limit.
//! Read just before a run (`engine::preflight`) and held against the
//! plan's [`Estimate`](crate::scenario::budget::Estimate) by the pure
//! [`shortfalls`](crate::scenario::budget::shortfalls).

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::scenario::budget::{FsRoom, Machine};

/// The nearest existing ancestor of `path` (itself when it exists): where
/// a directory that does not exist yet will be made.
pub fn nearest_existing(path: &Path) -> Option<PathBuf> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    absolute
        .ancestors()
        .find(|p| p.symlink_metadata().is_ok())
        .map(Path::to_path_buf)
}

/// Free room on the filesystem that holds (or will hold) `path`.
pub fn fs_room(path: &Path) -> io::Result<FsRoom> {
    let at = nearest_existing(path).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("no part of {} exists", path.display()),
        )
    })?;
    let st = rustix::fs::statvfs(&at)?;
    let frsize = st.f_frsize.max(1);
    Ok(FsRoom {
        path: at.clone(),
        dev: std::fs::metadata(&at)?.dev(),
        total_bytes: st.f_blocks.saturating_mul(frsize),
        free_bytes: st.f_bavail.saturating_mul(frsize),
        free_inodes: st.f_favail,
    })
}

/// The machine's room for a run writing its scratch area under
/// `scratch`, its results under `output`, and into each `(target,
/// hostPath)`.
pub fn machine(
    scratch: &Path,
    output: &Path,
    hostpaths: &[(String, PathBuf)],
) -> io::Result<Machine> {
    let meminfo = std::fs::read_to_string("/proc/meminfo")?;
    let field = |name| {
        super::env::parse_meminfo(&meminfo, name).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("/proc/meminfo has no {name}"),
            )
        })
    };
    let nofile = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    let mut rooms = Vec::new();
    for (target, path) in hostpaths {
        rooms.push((target.clone(), fs_room(path)?));
    }
    Ok(Machine {
        ram: field("MemTotal")?,
        mem_available: field("MemAvailable")?,
        nofile_hard: nofile.maximum,
        scratch: fs_room(scratch)?,
        output: fs_room(output)?,
        hostpaths: rooms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_room_of_a_path_not_yet_made_is_its_ancestors() {
        let dir = tempfile::tempdir().unwrap();
        let later = dir.path().join("a/b/c");
        let room = fs_room(&later).unwrap();
        assert_eq!(room.path, dir.path());
        assert_eq!(room.dev, std::fs::metadata(dir.path()).unwrap().dev());
        assert!(room.total_bytes >= room.free_bytes);
        let m = machine(dir.path(), &later, &[("h".into(), later.clone())]).unwrap();
        assert!(m.ram > 0 && m.mem_available > 0 && m.mem_available <= m.ram);
        assert_eq!(m.hostpaths[0].1.dev, room.dev);
    }
}
