use std::io::Write;

use super::*;

/// A header named `name` byte for byte (the builder's own path setter
/// refuses `..` and absolute names, which these tests need).
fn header(name: &str, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    let bytes = name.as_bytes();
    h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_cksum();
    h
}

/// A gzipped tar of `entries`: (name, kind, data).
fn tar_gz(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, data) in entries {
        let h = header(name, *kind, data.len() as u64);
        b.append(&h, *data).unwrap();
    }
    gzip(&b.into_inner().unwrap())
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

const DIR: tar::EntryType = tar::EntryType::Directory;
const FILE: tar::EntryType = tar::EntryType::Regular;

#[test]
fn a_run_directory_unpacks_under_its_node() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tar_gz(&[
        ("node-a/", DIR, b""),
        ("node-a/result.json", FILE, b"{}"),
        ("node-a/hlog/c0.hlog", FILE, b"#hlog\n"),
    ]);
    let run = unpack_run(&archive, "node-a", tmp.path()).unwrap();
    assert_eq!(run, tmp.path().join("node-a"));
    assert_eq!(fs::read(run.join("result.json")).unwrap(), b"{}");
    assert_eq!(fs::read(run.join("hlog/c0.hlog")).unwrap(), b"#hlog\n");
}

#[test]
fn what_is_not_a_plain_file_or_directory_under_the_node_is_refused() {
    let cases: &[(&str, tar::EntryType, &str)] = &[
        ("node-a/link", tar::EntryType::Symlink, "symbolic link"),
        ("node-a/hard", tar::EntryType::Link, "hard link"),
        ("node-a/fifo", tar::EntryType::Fifo, "FIFO"),
        ("node-a/dev", tar::EntryType::Char, "character device"),
        ("node-a/../escape", FILE, "`..`"),
        ("/etc/node-a", FILE, "absolute"),
        ("node-b/result.json", FILE, "not under node-a/"),
        ("result.json", FILE, "not under node-a/"),
    ];
    for (name, kind, says) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tar_gz(&[("node-a/", DIR, b""), (name, *kind, b"")]);
        let err = unpack_run(&archive, "node-a", tmp.path()).unwrap_err();
        assert!(err.contains(says), "{name}: {err}");
        assert!(err.contains("refused"), "{name}: {err}");
        assert!(!tmp.path().join("escape").exists());
        assert!(!tmp.path().join("node-b").exists());
    }
}

#[test]
fn an_entry_larger_than_the_limit_is_refused_before_it_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    // The header claims 2 GiB; the data is not there (and is never read).
    let h = header("node-a/huge", FILE, 2 << 30);
    let mut raw = h.as_bytes().to_vec();
    raw.extend_from_slice(&[0u8; 1024]);
    let err = unpack_run(&gzip(&raw), "node-a", tmp.path()).unwrap_err();
    assert!(err.contains("more than 1 GiB"), "{err}");
}

#[test]
fn not_a_gzipped_tar_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let err = unpack_run(b"plain text, not gzip", "node-a", tmp.path()).unwrap_err();
    assert!(err.contains("gzipped tar"), "{err}");
    let err = unpack_run(&gzip(&[]), "node-a", tmp.path()).unwrap_err();
    assert!(err.contains("holds no node-a/"), "{err}");
}

#[test]
fn the_temporary_directory_goes_beside_out_and_is_removed_when_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    // `out`'s parent does not exist: the nearest existing ancestor holds it.
    let out = tmp.path().join("a/b/fleet");
    let t = TempDir::beside(&out).unwrap();
    assert_eq!(t.path().parent(), Some(tmp.path()));
    fs::create_dir_all(t.path().join("x/y")).unwrap();
    fs::write(t.path().join("x/y/f"), b"1").unwrap();
    let path = t.path().to_path_buf();
    let second = TempDir::beside(&out).unwrap();
    assert_ne!(second.path(), path);
    drop(t);
    drop(second);
    assert!(!path.exists());
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
}
