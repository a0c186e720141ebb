//! exec: the user's command, once per unit op, with the cell's directory
//! as its working directory. Unit op `exec`: the engine times `step()`,
//! which spawns the command (fork and exec included), drains its output
//! and reaps it — the command's wall time as a caller would see it.
//!
//! The command runs as the user wpbench runs as, never through a shell
//! string (argv[0] is looked up in PATH as execvp does), in a process
//! group of its own so that a timeout or a signal to wpbench kills it and
//! whatever it started in that group. Every child is waited for: none is
//! left a zombie. A non-zero exit status counts as `exit_<n>`, a signal
//! as `SIGKILL` and the like, a timeout as `timeout`; the first
//! [`KEPT_FAILURES`] failures' output tails are kept for the run
//! directory ([`Workload::artifacts`]).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Step, Worker, Workload};
use crate::cancel::{Cancel, Interrupted};
use crate::record::errno::{errno_name, errno_of, exit_code, signal_code, TIMEOUT_CODE};
use crate::record::{Op, Recorder};
use crate::scenario::{self, display_argv, TargetSpec, WorkloadSpec};

/// What is kept of each stream of a failed invocation: its last bytes.
pub const TAIL_BYTES: usize = 64 << 10;
/// Failures whose output is kept, per cell (over all its threads).
pub const KEPT_FAILURES: usize = 3;
/// A thread that cannot start the command this many times in a row stops
/// (a command that runs and fails is a result and keeps being run; one
/// that cannot start at all would only spin).
const MAX_SPAWN_FAILURES: u32 = 1000;
/// How often a running command's wait looks at the cancel token.
const CANCEL_POLL: Duration = Duration::from_millis(20);
/// The suffix of the file the kept failures are written to.
pub const FAILURES_FILE: &str = "exec-failures.txt";

pub struct Exec {
    params: scenario::Exec,
    /// WPBENCH_CELL: the cell's name once the engine gives it.
    cell: String,
    kept: Arc<Mutex<Vec<Kept>>>,
}

impl Exec {
    pub fn new(spec: WorkloadSpec, params: &scenario::Exec) -> Exec {
        Exec {
            cell: spec.name,
            params: params.clone(),
            kept: Arc::default(),
        }
    }

    /// What every invocation in the cell's directory `root` starts from.
    fn invocation(
        &self,
        root: &Path,
        argv: &[String],
        timeout: Duration,
    ) -> io::Result<Invocation> {
        Ok(Invocation {
            program: resolve(&argv[0], root)?,
            argv: argv.to_vec(),
            dir: root.to_path_buf(),
            env: vec![
                ("WPBENCH_TARGET_DIR".into(), root.as_os_str().to_owned()),
                ("WPBENCH_CELL".into(), self.cell.clone().into()),
            ],
            timeout,
        })
    }

    /// Runs `setup` once; its failure fails the cell with its status and
    /// the end of its stderr.
    fn setup(&self, root: &Path, setup: &[String], cancel: &Cancel) -> io::Result<()> {
        let inv = self.invocation(root, setup, self.params.setup_timeout)?;
        let out = invoke(&inv, cancel)?;
        let how = match out.ended {
            Ended::Exit(0) => return Ok(()),
            Ended::Cancelled => return Err(Interrupted.into()),
            Ended::TimedOut => format!(
                "did not finish within setup_timeout {}",
                scenario::units::format_duration_exact(inv.timeout)
            ),
            e => format!("ended with {}", errno_name(e.code())),
        };
        Err(io::Error::other(format!(
            "exec setup `{}` {how}; {}",
            display_argv(setup),
            stderr_summary(&out.stderr, 2048, true)
        )))
    }
}

impl Workload for Exec {
    fn unit_op(&self) -> Op {
        Op::Exec
    }

    fn set_cell(&mut self, name: &str) {
        self.cell = name.to_string();
    }

    /// Thread 0 runs `setup` (workers are prepared one after another, so
    /// the others start after it); every thread then checks that the
    /// command can be found.
    fn worker(
        &self,
        root: &Path,
        thread: u32,
        _seed: u64,
        _verification: super::Verification,
        cancel: &Cancel,
    ) -> io::Result<Box<dyn Worker>> {
        if let (0, Some(setup)) = (thread, &self.params.setup) {
            self.setup(root, setup, cancel)?;
        }
        let mut inv = self.invocation(root, &self.params.command, self.params.timeout)?;
        inv.env
            .push(("WPBENCH_THREAD".into(), thread.to_string().into()));
        Ok(Box::new(ExecWorker {
            inv,
            cancel: cancel.clone(),
            kept: self.kept.clone(),
            thread,
            invocations: 0,
            by_code: BTreeMap::new(),
            spawn_failures: 0,
        }))
    }

    fn notes(&self, _target: &TargetSpec) -> Vec<String> {
        vec![
            "exec: each `exec` op is the command's wall time from spawn to exit, fork and \
              exec included"
                .into(),
        ]
    }

    /// The kept failures' output, when any failed.
    fn artifacts(&self) -> Vec<(String, Vec<u8>)> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.is_empty() {
            return Vec::new();
        }
        let mut out = format!(
            "wpbench exec failures of cell {}: the first {} (each stream's last {} KiB)\n\
             command: {}\n",
            self.cell,
            kept.len(),
            TAIL_BYTES >> 10,
            display_argv(&self.params.command),
        )
        .into_bytes();
        for (i, k) in kept.iter().enumerate() {
            out.extend_from_slice(
                format!(
                    "\n=== failure {}: thread {}, invocation {}, {} after {:.3} s ===\n",
                    i + 1,
                    k.thread,
                    k.invocation,
                    errno_name(k.code),
                    k.elapsed.as_secs_f64()
                )
                .as_bytes(),
            );
            for (name, tail) in [("stdout", &k.stdout), ("stderr", &k.stderr)] {
                out.extend_from_slice(format!("--- {name}: {} ---\n", tail.describe()).as_bytes());
                out.extend_from_slice(&tail.bytes);
                if !tail.bytes.is_empty() && !tail.bytes.ends_with(b"\n") {
                    out.push(b'\n');
                }
            }
        }
        vec![(FAILURES_FILE.to_string(), out)]
    }
}

/// One failed invocation's output.
struct Kept {
    thread: u32,
    invocation: u64,
    code: i32,
    elapsed: Duration,
    stdout: Tail,
    stderr: Tail,
}

struct ExecWorker {
    inv: Invocation,
    cancel: Cancel,
    kept: Arc<Mutex<Vec<Kept>>>,
    thread: u32,
    invocations: u64,
    /// Failures by code: how many, and the first one's summary.
    by_code: BTreeMap<i32, (u64, String)>,
    /// Failures to start the command, in a row.
    spawn_failures: u32,
}

impl ExecWorker {
    fn failed(&mut self, code: i32, summary: impl FnOnce() -> String) -> Step {
        self.by_code.entry(code).or_insert_with(|| (0, summary())).0 += 1;
        Step::Failed(code)
    }
}

impl Worker for ExecWorker {
    fn step(&mut self, _rec: &mut Recorder) -> Step {
        if self.spawn_failures >= MAX_SPAWN_FAILURES {
            return Step::Exhausted;
        }
        self.invocations += 1;
        let started = Instant::now();
        let out = match invoke(&self.inv, &self.cancel) {
            Ok(out) => out,
            Err(e) => {
                self.spawn_failures += 1;
                return self.failed(errno_of(&e), || format!("could not start the command: {e}"));
            }
        };
        self.spawn_failures = 0;
        let code = match out.ended {
            Ended::Exit(0) => return Step::Done,
            // Cut short by a signal to wpbench: no result, and the cell ends.
            Ended::Cancelled => return Step::Exhausted,
            e => e.code(),
        };
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let summary = stderr_summary(&out.stderr, 200, false);
        if kept.len() < KEPT_FAILURES {
            kept.push(Kept {
                thread: self.thread,
                invocation: self.invocations,
                code,
                elapsed: started.elapsed(),
                stdout: out.stdout,
                stderr: out.stderr,
            });
        }
        drop(kept);
        self.failed(code, || summary)
    }

    fn finish(&mut self, _rec: &mut Recorder) {}

    /// A command that fails is a result: it keeps being run for the
    /// cell's length (or its `ops:`, failures included), however often
    /// it fails.
    fn failures_are_results(&self) -> bool {
        true
    }

    /// One line per kind of failure: `exec: exit_3 ×12; first failure's
    /// stderr: …`.
    fn notes(&self) -> Vec<String> {
        let mut notes: Vec<String> = self
            .by_code
            .iter()
            .map(|(code, (n, first))| {
                format!("exec: {} ×{n}; first failure's {first}", errno_name(*code))
            })
            .collect();
        if self.spawn_failures >= MAX_SPAWN_FAILURES {
            notes.push(format!(
                "exec: stopped after {MAX_SPAWN_FAILURES} failures in a row to start the command"
            ));
        }
        notes
    }
}

/// `stderr: <its end>`: its last line (`lines` false) or its last lines,
/// at most `max` bytes of them; or `stderr: empty`.
fn stderr_summary(tail: &Tail, max: usize, lines: bool) -> String {
    let text = String::from_utf8_lossy(&tail.bytes);
    let trimmed = text.trim_end();
    if trimmed.is_empty() {
        return "stderr: empty".into();
    }
    let end = if lines {
        trimmed
    } else {
        trimmed.lines().last().unwrap_or("")
    };
    let start = end.len().saturating_sub(max);
    let start = (start..end.len())
        .find(|&i| end.is_char_boundary(i))
        .unwrap_or(end.len());
    let cut = if start > 0 { "…" } else { "" };
    format!("stderr: {cut}{}", &end[start..])
}

// ------------------------------------------------------ one invocation

/// A command ready to run.
struct Invocation {
    /// argv[0] resolved (see [`resolve`]).
    program: PathBuf,
    argv: Vec<String>,
    dir: PathBuf,
    env: Vec<(OsString, OsString)>,
    timeout: Duration,
}

/// How an invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Exit(i32),
    Signal(i32),
    /// Killed by wpbench at its timeout.
    TimedOut,
    /// Killed by wpbench because the run was cancelled.
    Cancelled,
}

impl Ended {
    fn of(status: ExitStatus) -> Ended {
        match (status.code(), status.signal()) {
            (Some(c), _) => Ended::Exit(c),
            (None, Some(s)) => Ended::Signal(s),
            (None, None) => Ended::Exit(-1),
        }
    }

    /// The code the error table counts it under.
    fn code(self) -> i32 {
        match self {
            Ended::Exit(c) => exit_code(c),
            Ended::Signal(s) => signal_code(s),
            Ended::TimedOut | Ended::Cancelled => TIMEOUT_CODE,
        }
    }
}

/// What an invocation left.
struct Outcome {
    ended: Ended,
    stdout: Tail,
    stderr: Tail,
}

/// The last [`TAIL_BYTES`] of a stream, and how much it wrote in all.
#[derive(Debug, Default)]
struct Tail {
    bytes: Vec<u8>,
    total: u64,
}

impl Tail {
    fn push(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        self.bytes.extend_from_slice(data);
        if self.bytes.len() > TAIL_BYTES {
            let cut = self.bytes.len() - TAIL_BYTES;
            self.bytes.drain(..cut);
        }
    }

    fn describe(&self) -> String {
        if self.total > self.bytes.len() as u64 {
            format!("{} bytes, the last {} kept", self.total, self.bytes.len())
        } else {
            format!("{} bytes", self.total)
        }
    }
}

/// argv[0] as execvp would find it: a name with a `/` as a path (relative
/// ones from the cell's directory `root`, where the command runs), other
/// names in PATH (an empty PATH entry being the working directory).
fn resolve(arg0: &str, root: &Path) -> io::Result<PathBuf> {
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if arg0.contains('/') {
        let p = root.join(arg0);
        return if executable(&p) {
            Ok(p)
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "exec: `{arg0}` is not an executable file (from {})",
                    root.display()
                ),
            ))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| {
            if dir.as_os_str().is_empty() {
                root.join(arg0)
            } else {
                dir.join(arg0)
            }
        })
        .find(|p| executable(p))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "exec: `{arg0}` was not found in PATH ({}); give its full path",
                    path.to_string_lossy()
                ),
            )
        })
}

/// Runs one invocation to its end: spawned in its own process group with
/// stdin on /dev/null, its output drained (so it never blocks on a full
/// pipe) into tails, killed with its group at the timeout or when
/// `cancel` is set, and always reaped.
fn invoke(inv: &Invocation, cancel: &Cancel) -> io::Result<Outcome> {
    let mut child = Command::new(&inv.program)
        .arg0(&inv.argv[0])
        .args(&inv.argv[1..])
        .current_dir(&inv.dir)
        .envs(inv.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let deadline = Instant::now() + inv.timeout;
    let mut streams = Streams::of(&mut child);
    let pidfd = pidfd_open(child.id());
    let ended = loop {
        if exited_unreaped(child.id()) {
            // What it left running in its group (`srv &`) ends with it; the
            // leader, not yet reaped, keeps the group's id from reuse.
            // SAFETY: kill(2) on the process group the child leads.
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL);
            }
        }
        match child.try_wait() {
            Ok(Some(status)) => break Ended::of(status),
            Ok(None) => {}
            Err(e) => {
                kill_group(&mut child);
                return Err(e);
            }
        }
        let now = Instant::now();
        if cancel.is_set() {
            kill_group(&mut child);
            break Ended::Cancelled;
        }
        if now >= deadline {
            kill_group(&mut child);
            break Ended::TimedOut;
        }
        // Without a pidfd, nothing wakes the wait at the child's exit: look often.
        let most = if pidfd.is_some() {
            CANCEL_POLL
        } else {
            Duration::from_millis(1)
        };
        streams.wait(pidfd.as_ref(), (deadline - now).min(most));
    };
    streams.drain_rest();
    Ok(Outcome {
        ended,
        stdout: std::mem::take(&mut streams.tails[0]),
        stderr: std::mem::take(&mut streams.tails[1]),
    })
}

/// SIGKILL to the child's process group (and the child, should it have
/// left it), then reaps it.
fn kill_group(child: &mut Child) {
    let pid = child.id() as i32;
    // SAFETY: kill(2) with a negative pid signals the process group the
    // child leads (made with process_group(0)); nothing else is touched.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Whether the child `pid` has exited, without reaping it (WNOWAIT).
fn exited_unreaped(pid: u32) -> bool {
    // SAFETY: waitid(2) fills the zeroed siginfo it is given; WNOWAIT
    // leaves the child to be reaped by `try_wait`.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let r = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        r == 0 && info.si_pid() == pid as i32
    }
}

/// A pidfd for `pid`, readable once it exits (None on kernels before 5.3).
fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    // SAFETY: a non-negative return is a descriptor this process now owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The child's stdout and stderr while it runs.
struct Streams {
    pipes: [Option<Box<dyn ReadFd>>; 2],
    tails: [Tail; 2],
    buf: Vec<u8>,
}

trait ReadFd: Read + AsRawFd {}
impl<T: Read + AsRawFd> ReadFd for T {}

impl Streams {
    fn of(child: &mut Child) -> Streams {
        Streams {
            pipes: [
                child.stdout.take().map(|p| Box::new(p) as Box<dyn ReadFd>),
                child.stderr.take().map(|p| Box::new(p) as Box<dyn ReadFd>),
            ],
            tails: [Tail::default(), Tail::default()],
            buf: vec![0; 16 << 10],
        }
    }

    /// Waits up to `most` for output or the child's exit (`pidfd`), and
    /// reads what came.
    fn wait(&mut self, pidfd: Option<&OwnedFd>, most: Duration) {
        let mut fds: Vec<libc::pollfd> = self
            .pipes
            .iter()
            .map(|p| libc::pollfd {
                fd: p.as_ref().map_or(-1, |p| p.as_raw_fd()),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        fds.extend(pidfd.map(|fd| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }));
        let ms = most.as_millis().clamp(1, 1000) as libc::c_int;
        // SAFETY: `fds` is a valid array of pollfd of the length given;
        // negative fds are ignored by poll(2).
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n <= 0 {
            return;
        }
        for (i, fd) in fds[..2].iter().enumerate() {
            if fd.revents != 0 {
                self.read_once(i);
            }
        }
    }

    /// One read from stream `i` (poll said it will not block); EOF or an
    /// error closes it.
    fn read_once(&mut self, i: usize) {
        let Some(pipe) = self.pipes[i].as_mut() else {
            return;
        };
        match pipe.read(&mut self.buf) {
            Ok(0) | Err(_) => self.pipes[i] = None,
            Ok(n) => self.tails[i].push(&self.buf[..n]),
        }
    }

    /// After the child ended: what is left in the pipes, without waiting
    /// for a descendant that still holds them open (at most a few tails'
    /// worth, so a chatty descendant cannot hold the step).
    fn drain_rest(&mut self) {
        for i in 0..2 {
            if let Some(pipe) = &self.pipes[i] {
                let fd = pipe.as_raw_fd();
                // SAFETY: fcntl on a descriptor this process owns.
                unsafe {
                    let fl = libc::fcntl(fd, libc::F_GETFL);
                    libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
                }
            }
            let mut budget = 4 * TAIL_BYTES;
            while budget > 0 {
                let Some(pipe) = self.pipes[i].as_mut() else {
                    break;
                };
                match pipe.read(&mut self.buf) {
                    Ok(0) | Err(_) => self.pipes[i] = None,
                    Ok(n) => {
                        self.tails[i].push(&self.buf[..n]);
                        budget = budget.saturating_sub(n);
                    }
                }
            }
            self.pipes[i] = None;
        }
    }
}

#[cfg(test)]
#[path = "exec_tests.rs"]
mod tests;
