//! Real traces (strace 6.1, recorded on this machine and trimmed of the
//! dynamic loader's lines) and small hand-made ones for the error paths.

use super::*;

const SQLITE: &str = include_str!("testdata/sqlite_wal.trace");
const PY_THREADS: &str = include_str!("testdata/py_threads.trace");
const SH_FORK: &str = include_str!("testdata/sh_fork.trace");
const NO_F: &str = include_str!("testdata/no_f.trace");
const YY: &str = include_str!("testdata/yy.trace");
const NO_Y: &str = include_str!("testdata/no_y.trace");

fn ops(t: &Trace) -> impl Iterator<Item = &Call> {
    t.threads.iter().flat_map(|th| th.calls.iter())
}

fn file(path: &str, size: u64) -> Entry {
    Entry {
        path: path.to_string(),
        kind: EntryKind::File { size },
    }
}

fn dir(path: &str) -> Entry {
    Entry {
        path: path.to_string(),
        kind: EntryKind::Dir,
    }
}

/// Index of the first call of `thread` matching `f`.
fn find(t: &Trace, thread: usize, f: impl Fn(&CallOp) -> bool) -> usize {
    t.threads[thread]
        .calls
        .iter()
        .position(|c| f(&c.op))
        .expect("call not found")
}

#[test]
fn sqlite_wal_syncs_writes_and_bytes() {
    // Recorded with `strace -f -ttt -T -y sqlite3 db 'PRAGMA journal_mode=WAL;
    // PRAGMA synchronous=FULL; create table t(x); insert …; insert …;'`.
    let t = parse(SQLITE, None).unwrap();
    assert_eq!(t.root, "/tmp/tr/sq");
    assert_eq!(t.lines, 186);
    assert_eq!(t.threads.len(), 1);
    // grep -cE ' fdatasync\(' → 11; grep -cE ' fsync\(' → 0
    let count = |f: fn(&CallOp) -> bool| ops(&t).filter(|c| f(&c.op)).count();
    assert_eq!(count(|o| matches!(o, CallOp::Fdatasync { .. })), 11);
    assert_eq!(count(|o| matches!(o, CallOp::Fsync { .. })), 0);
    // grep -E ' (pwrite64|write)\([0-9]+</tmp/tr/sq/' | wc -l → 22, and the
    // sum of their return values → 29332 (stdout's "wal\n" is outside root).
    let writes: Vec<u64> = ops(&t)
        .filter_map(|c| match c.op {
            CallOp::Write { len, .. } => Some(len),
            _ => None,
        })
        .collect();
    assert_eq!(writes.len(), 22);
    assert_eq!(writes.iter().sum::<u64>(), 29332);
    // Same grep for reads: 7.
    assert_eq!(count(|o| matches!(o, CallOp::Read { .. })), 7);
    // The journal, WAL and shm are unlinked; db ends as two 4 KiB pages.
    assert_eq!(t.after, vec![file("db", 8192)]);
    assert!(t.before.is_empty(), "{:?}", t.before);
    // The directory fsync opens root itself.
    assert!(ops(&t).any(|c| matches!(&c.op, CallOp::Open { path, .. } if path.is_empty())));
    assert!(t.outside.iter().any(|p| p.starts_with("/etc/")));
    assert!(t.not_replayed.iter().any(|(n, c)| n == "fcntl" && *c > 0));
    // Most frequent first.
    assert!(t.not_replayed.windows(2).all(|w| w[0].1 >= w[1].1));
    let first = &t.threads[0].calls[0];
    assert!(first.at > std::time::Duration::ZERO);
}

#[test]
fn python_threads_share_the_fd_table() {
    // Two threading.Thread write f{i}.tmp, fsync, rename to f{i}; then the
    // main thread: mkdir d, rename f0 → d/g, unlink f1 (clone3 CLONE_FILES).
    let t = parse(PY_THREADS, None).unwrap();
    assert_eq!(
        t.threads.iter().map(|th| th.pid).collect::<Vec<_>>(),
        vec![3005, 3007, 3008]
    );
    let f0 = find(
        &t,
        1,
        |o| matches!(o, CallOp::Rename { to, .. } if to == "f0"),
    );
    let f1 = find(
        &t,
        2,
        |o| matches!(o, CallOp::Rename { to, .. } if to == "f1"),
    );
    let g = find(
        &t,
        0,
        |o| matches!(o, CallOp::Rename { to, .. } if to == "d/g"),
    );
    assert_eq!(t.threads[0].calls[g].after, vec![(1, f0)]);
    let u = find(
        &t,
        0,
        |o| matches!(o, CallOp::Unlink { path } if path == "f1"),
    );
    assert_eq!(t.threads[0].calls[u].after, vec![(2, f1)]);
    assert_eq!(count_op(&t, 1, |o| matches!(o, CallOp::Fsync { .. })), 1);
    assert_eq!(count_op(&t, 2, |o| matches!(o, CallOp::Fsync { .. })), 1);
    assert_eq!(t.before, vec![file("input.txt", 18)]);
    assert_eq!(
        t.after,
        vec![dir("d"), file("d/g", 100), file("input.txt", 18)]
    );
    assert!(ops(&t).all(|c| c.result.is_ok()));
}

fn count_op(t: &Trace, thread: usize, f: impl Fn(&CallOp) -> bool) -> usize {
    t.threads[thread].calls.iter().filter(|c| f(&c.op)).count()
}

#[test]
fn fork_copies_the_fd_table() {
    // sh -c 'cat in.txt > a; echo hi >> a; cat a > b; mv b c; rm -f a':
    // vfork children inherit the redirected stdout (a copy of the table).
    let t = parse(SH_FORK, None).unwrap();
    assert_eq!(t.threads.len(), 5);
    // The child closes its inherited stdout; the parent still holds it.
    let c = &t.threads[1].calls;
    let close = c
        .iter()
        .rev()
        .find(|c| matches!(c.op, CallOp::Close { .. }))
        .unwrap();
    assert!(
        matches!(close.op, CallOp::Close { last: false, .. }),
        "{close:?}"
    );
    // Its fstat of that stdout waits for the parent's dup2 that made the slot.
    let fstat = &c[0];
    assert!(matches!(fstat.op, CallOp::Fstat { .. }));
    assert_eq!(fstat.after.len(), 1);
    assert_eq!(fstat.after[0].0, 0);
    let mv = find(
        &t,
        3,
        |o| matches!(o, CallOp::Rename { flags, .. } if *flags == libc::RENAME_NOREPLACE),
    );
    assert_eq!(t.threads[3].calls[mv].after.len(), 1);
    assert_eq!(t.before, vec![file("in.txt", 5)]);
    // a = in.txt (5, by copy_file_range) + "hi\n"; b = a; b → c; a removed.
    assert_eq!(t.after, vec![file("c", 8), file("in.txt", 5)]);
    assert!(t.not_replayed.iter().any(|(n, _)| n == "copy_file_range"));
}

#[test]
fn without_f_there_is_one_thread() {
    let t = parse(NO_F, None).unwrap();
    assert_eq!(t.threads.len(), 1);
    assert_eq!(t.threads[0].pid, 0);
    assert_eq!(t.root, "/tmp/tr/nf");
    // echo hi > x; echo more >> x (O_APPEND)
    assert_eq!(t.after, vec![file("x", 8)]);
    assert!(t.outside.contains(&"/dev/null".to_string()));
}

#[test]
fn yy_pipes_are_not_replayed() {
    // sh -c 'echo b | cat > y' under -yy: pipe ends are not replayed.
    let t = parse(YY, None).unwrap();
    assert_eq!(t.after, vec![file("y", 2)]);
    let writes: Vec<&Call> = ops(&t)
        .filter(|c| matches!(c.op, CallOp::Write { .. }))
        .collect();
    assert_eq!(writes.len(), 1);
    assert!(!ops(&t).any(|c| matches!(c.op, CallOp::Read { .. })));
    assert!(t.not_replayed.iter().any(|(n, _)| n == "read"));
}

#[test]
fn without_y_root_is_needed() {
    // sh -c 'echo hi > x; mv x y; mkdir d; ln -s y d/l; ln y z' without -y.
    let e = parse(NO_Y, None).unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("root"), "{e}");
    let t = parse(NO_Y, Some("/tmp/tr/ny/")).unwrap();
    assert_eq!(t.root, "/tmp/tr/ny");
    let l = Entry {
        path: "d/l".into(),
        kind: EntryKind::Symlink { target: "y".into() },
    };
    assert_eq!(t.after, vec![dir("d"), l, file("y", 3), file("z", 3)]);
    assert!(t.before.is_empty(), "{:?}", t.before);
    assert!(ops(&t).any(|c| matches!(&c.op, CallOp::Link { from, to } if from == "y" && to == "z")));
}

#[test]
fn relative_paths_without_y_or_root() {
    let text = "1 1.5 openat(AT_FDCWD, \"a\", O_RDONLY) = 3 <0.1>\n\
                1 1.6 read(3, \"xyz\", 10) = 3 <0.1>\n\
                1 1.7 close(3) = 0 <0.1>\n";
    let t = parse(text, None).unwrap();
    assert_eq!(t.root, "");
    assert_eq!(t.before, vec![file("a", 3)]);
    assert_eq!(
        t.threads[0].calls[1].at,
        std::time::Duration::from_millis(100)
    );
}

#[test]
fn inherited_fd_under_root_is_opened() {
    let text = "7 10.0 fstat(5</r/d/f>, {st_mode=S_IFREG|0644, st_size=40, ...}) = 0 <0.1>\n\
                7 10.1 write(5</r/d/f>, \"x\", 1) = 1 <0.1>\n";
    let t = parse(text, Some("/r")).unwrap();
    let c = &t.threads[0].calls;
    assert_eq!(c.len(), 3);
    assert!(
        matches!(&c[0].op, CallOp::Open { path, flags, slot: Some(0), .. } if path == "d/f" && *flags == libc::O_RDWR)
    );
    assert_eq!(c[0].line, 1);
    assert_eq!(t.before, vec![dir("d"), file("d/f", 40)]);
    assert_eq!(t.after, vec![dir("d"), file("d/f", 40)]);
}

#[test]
fn escaped_paths_and_errno() {
    let text = "1 1.0 mkdir(\"/r/a\\x62\\143 \\\"q\\\"\", 0755) = -1 EEXIST (File exists) <0.1>\n\
                1 1.1 unlink(\"/r/nope\") = -1 ENOENT (No such file or directory) <0.1>\n";
    let t = parse(text, Some("/r")).unwrap();
    let c = &t.threads[0].calls;
    assert_eq!(
        c[0].op,
        CallOp::Mkdir {
            path: "abc \"q\"".into(),
            mode: 0o755
        }
    );
    assert_eq!(c[0].result, Err(libc::EEXIST));
    assert_eq!(c[1].result, Err(libc::ENOENT));
    assert_eq!(t.before, vec![dir("abc \"q\"")]);
    let bad = "1 1.0 unlink(\"/r/x\") = -1 EWEIRD (Odd) <0.1>\n";
    assert_eq!(parse(bad, Some("/r")).unwrap_err().line, 1);
}

#[test]
fn unfinished_calls_join_their_resumption() {
    let text =
        "1 1.0 openat(AT_FDCWD</r>, \"f\", O_WRONLY|O_CREAT|O_TRUNC, 0644 <unfinished ...>\n\
                2 1.1 getpid() = 2 <0.1>\n\
                1 1.2 <... openat resumed>) = 3</r/f> <0.2>\n\
                1 1.3 write(3</r/f>, \"ab\", 2) = 2 <0.1>\n";
    let t = parse(text, None).unwrap();
    let open = &t.threads[0].calls[0];
    assert_eq!(open.line, 1);
    assert_eq!(open.at, std::time::Duration::ZERO);
    assert!(matches!(
        open.op,
        CallOp::Open {
            slot: Some(0),
            mode: 0o644,
            ..
        }
    ));
    assert_eq!(t.after, vec![file("f", 2)]);
    assert_eq!(t.slots, 1);
}

#[test]
fn errors_have_their_line() {
    let ok = "1 1.0 getpid() = 1 <0.1>\n";
    let cases = [
        (format!("{ok}{ok}1 1.2 write(1, \"abc"), 3, "truncated"),
        (
            format!("{ok}1 1.1 write(9, \"a\", 1) = 1 <0.1>\n"),
            2,
            "fd 9 was never opened",
        ),
        (format!("{ok}{ok}{ok}hello world\n"), 4, "not a strace line"),
        (format!("{ok}1 write(1, \"a\", 1) = 1\n"), 2, "-ttt"),
        (
            "openat(AT_FDCWD, \"a\", O_RDONLY) = 3\n".to_string(),
            1,
            "-ttt",
        ),
        (format!("{ok}1 01:28:11.123 getpid() = 1\n"), 2, "-ttt"),
    ];
    for (text, line, msg) in cases {
        let e = parse(&text, Some("/r")).unwrap_err();
        assert_eq!(e.line, line, "{e}");
        assert!(e.message.contains(msg), "{e}");
    }
    assert!(parse("x", Some("relative")).is_err());
}

#[test]
fn dup_and_fork_refcounts() {
    let text = "1 1.0 openat(AT_FDCWD</r>, \"f\", O_RDWR|O_CREAT|O_EXCL, 0600) = 3</r/f> <0.1>\n\
                1 1.1 dup(3</r/f>) = 4</r/f> <0.1>\n\
                1 1.2 fork() = 2 <0.1>\n\
                2 1.3 close(3</r/f>) = 0 <0.1>\n\
                1 1.4 close(3</r/f>) = 0 <0.1>\n\
                1 1.5 write(4</r/f>, \"abcd\", 4) = 4 <0.1>\n\
                1 1.6 lseek(4</r/f>, 0, SEEK_SET) = 0 <0.1>\n\
                1 1.7 pwrite64(4</r/f>, \"z\", 1, 9) = 1 <0.1>\n\
                2 1.8 +++ exited with 0 +++\n";
    let t = parse(text, None).unwrap();
    let p = &t.threads[0].calls;
    assert_eq!(p[1].op, CallOp::Dup { from: 0, to: 1 });
    assert_eq!(
        t.threads[1].calls[0].op,
        CallOp::Close {
            slot: 0,
            last: false
        }
    );
    assert_eq!(t.threads[1].calls[0].after, vec![(0, 1)]);
    assert_eq!(
        p[2].op,
        CallOp::Close {
            slot: 0,
            last: true
        }
    );
    assert_eq!(
        p[4].op,
        CallOp::Lseek {
            slot: 1,
            offset: 0,
            whence: libc::SEEK_SET
        }
    );
    assert_eq!(t.after, vec![file("f", 10)]);
    assert!(t.before.is_empty());
    assert_eq!(t.not_replayed, vec![("fork".to_string(), 1)]);
}

#[test]
fn execve_drops_cloexec_fds() {
    let text = "1 1.0 openat(AT_FDCWD</r>, \"f\", O_RDONLY|O_CLOEXEC) = 3</r/f> <0.1>\n\
                1 1.1 execve(\"/bin/x\", [\"x\"], 0x1 /* 1 var */) = 0 <0.1>\n\
                1 1.2 read(3, \"\", 1) = -1 EBADF (Bad file descriptor) <0.1>\n";
    let e = parse(text, None).unwrap_err();
    assert_eq!(e.line, 3);
}

/// Truncations and byte flips of a real trace: Ok or Err, never a panic.
#[test]
fn mutations_never_panic() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for base in [SQLITE, SH_FORK, PY_THREADS] {
        let bytes = base.as_bytes();
        for _ in 0..150 {
            let cut = (next() % bytes.len() as u64) as usize;
            let _ = parse(&String::from_utf8_lossy(&bytes[..cut]), None);
            let mut m = bytes.to_vec();
            for _ in 0..8 {
                let i = (next() % m.len() as u64) as usize;
                let pool = b"()<>\",=\\ 0x9-.\n[";
                m[i] = pool[(next() % pool.len() as u64) as usize];
            }
            let _ = parse(&String::from_utf8_lossy(&m), None);
            let _ = parse(&String::from_utf8_lossy(&m), Some("/tmp"));
        }
    }
}

/// No quadratic work: 200 copies of the sqlite trace (4 MB, 37,000 lines)
/// parse in well under the time a 100 MB trace may take.
#[test]
fn large_trace_is_linear() {
    let text = SQLITE.repeat(200);
    let start = std::time::Instant::now();
    let t = parse(&text, None).unwrap();
    let took = start.elapsed();
    assert_eq!(t.lines, 186 * 200);
    assert_eq!(
        ops(&t)
            .filter(|c| matches!(c.op, CallOp::Fdatasync { .. }))
            .count(),
        11 * 200
    );
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    eprintln!("4 MB in {took:?}");
}

#[test]
fn sockets_and_their_odd_errnos_are_not_replayed() {
    let head = "1 1.0 socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 3<TCP:[5]> <0.1>\n\
                1 1.1 write(3<TCP:[1.2.3.4:5->6.7.8.9:10]>, \"a\", 1) = -1 EWEIRD (x) <0.1>\n\
                1 1.2 write(7<UNIX-STREAM:[99]>, \"a\", 1) = 1 <0.1>\n";
    let t = parse(head, Some("/r")).unwrap();
    assert_eq!(ops(&t).count(), 0);
    assert_eq!(
        t.not_replayed,
        vec![("write".to_string(), 2), ("socket".to_string(), 1)]
    );
    let text = format!("{head}1 1.3 openat(AT_FDCWD</r>, \"f\", O_RDONLY) = -1 EWEIRD (x) <0.1>\n");
    let e = parse(&text, None).unwrap_err();
    assert_eq!(e.line, 4);
    assert!(e.message.contains("EWEIRD"), "{e}");
}

#[test]
fn a_directory_opened_like_a_file_becomes_a_directory() {
    // fsync of a directory opened without O_DIRECTORY, then a file in it.
    let text = "1 1.0 openat(AT_FDCWD</r>, \"d\", O_RDONLY) = 3</r/d> <0.1>\n\
                1 1.1 fsync(3</r/d>) = 0 <0.1>\n\
                1 1.2 openat(AT_FDCWD</r>, \"d/f\", O_RDONLY) = 4</r/d/f> <0.1>\n\
                1 1.3 pread64(4</r/d/f>, \"abc\", 3, 7) = 3 <0.1>\n\
                1 1.4 lseek(4</r/d/f>, 0, SEEK_END) = 12 <0.1>\n";
    let t = parse(text, None).unwrap();
    assert_eq!(t.before, vec![dir("d"), file("d/f", 12)]);
    assert_eq!(t.after, t.before);
}

#[test]
fn append_creates_unless_the_trace_shows_old_data() {
    // Python's open(…, "a") on a new file, and on one with 5 bytes.
    let text = "1 1.0 openat(AT_FDCWD</r>, \"new\", O_WRONLY|O_CREAT|O_APPEND, 0644) = 3</r/new> <0.1>\n\
                1 1.1 write(3</r/new>, \"ab\", 2) = 2 <0.1>\n\
                1 1.2 openat(AT_FDCWD</r>, \"old\", O_WRONLY|O_CREAT|O_APPEND, 0644) = 4</r/old> <0.1>\n\
                1 1.3 lseek(4</r/old>, 0, SEEK_END) = 5 <0.1>\n\
                1 1.4 write(4</r/old>, \"ab\", 2) = 2 <0.1>\n";
    let t = parse(text, None).unwrap();
    assert_eq!(t.before, vec![file("old", 5)]);
    assert_eq!(t.after, vec![file("new", 2), file("old", 7)]);
}
