//! The guardian: a small process that outlives a run killed by SIGKILL and
//! removes what it left on the host's filesystems (hostPath
//! subdirectories, the scratch directory).
//!
//! `wpbench run` starts it before entering its private mount namespace, so
//! the guardian stays in the host's namespace and does not keep the run's
//! namespace (and its mounts) alive. It runs in a session of its own, so a
//! signal to the run's process group does not reach it. It waits for
//! end-of-file on a pipe whose only writer is the run: the kernel closes it
//! when the run exits, however it exits. Then, once the run's process is
//! gone, it applies the run's manifest — if it may trust it (see
//! `scratch`) — including the cgroups it records: those wait until the
//! kernel has let go of the run's last exiting thread. After a normal exit
//! the run has already cleaned up and the guardian finds nothing to do
//! (but a cgroup of this run that teardown could not remove).
//!
//! One death needs help: the emulated device's FUSE daemon is a thread of
//! the run. A SIGKILL ends it, but a run thread waiting uninterruptibly on
//! the device (an unmount's flush, a sync) keeps the run — and so its
//! /dev/fuse descriptor and the pipe — alive forever. So while it waits,
//! the guardian watches the run: once a SIGKILL is pending for it, it
//! aborts the FUSE connections the run's live devices named in its
//! scratch directory, through fusectl; every waiter fails, and the run
//! dies as it should.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::target::scratch::{cleanup_run, trusted_root, CleanupReport, RunState};

/// Keeps the guardian waiting while alive; dropping it (or dying) releases it.
pub struct GuardianHandle {
    _pipe: OwnedFd,
}

/// Starts the guardian of run `run_id` under `scratch_root`. Call before
/// entering the private mount namespace.
pub fn spawn(scratch_root: &Path, run_id: &str) -> Result<GuardianHandle> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::Environment(format!("cannot find wpbench's own executable: {e}")))?;
    // CLOEXEC on both ends: only the guardian's stdin (a dup made by the
    // spawn) and our write end exist, so no other child keeps the pipe open.
    let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| Error::Environment(format!("creating the guardian's pipe: {e}")))?;
    Command::new(exe)
        .arg("guard")
        .arg("--scratch")
        .arg(scratch_root)
        .arg("--run")
        .arg(run_id)
        .stdin(Stdio::from(read))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::Environment(format!("starting the cleanup guardian: {e}")))?;
    Ok(GuardianHandle { _pipe: write })
}

/// The guardian's main: wait for the run to end, then clean up after it.
pub fn guard(scratch_root: &Path, run_id: &str) -> Result<()> {
    // The run, our parent (before we leave its session and process group).
    let run = rustix::process::getppid();
    let _ = rustix::process::setsid();
    // The run checked the root before it started; an unsafe one is not used.
    let dir: PathBuf = trusted_root(scratch_root)?.join(run_id);
    wait_for_the_run(run, &dir);

    // The run's threads may still be finishing throttled I/O after its
    // process is gone (seen here: 200 ms at 100 IOPS); its cgroups can only
    // be removed once the last has exited.
    let remove_cgroups = |run: &str, names: &[String]| {
        crate::fault::throttle::remove_run_cgroups(run, names, CGROUP_PATIENCE)
    };
    // The run's process may linger briefly after closing its files.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut report = CleanupReport::default();
        match cleanup_run(&dir, &mut report, &remove_cgroups) {
            RunState::NotARun | RunState::Removed | RunState::Untrusted => {
                // Nobody reads the guardian's output; a result it cannot
                // mark keeps saying `running`.
                let _ = crate::rundir::mark_killed_runs(&report.killed_results);
                // A cgroup of this run that its own teardown could not
                // remove (the run ended normally, its manifest is gone).
                let left = crate::fault::throttle::run_cgroups(run_id);
                remove_cgroups(run_id, &left);
                return Ok(());
            }
            RunState::Live if Instant::now() > deadline => {
                return Err(Error::Run(format!(
                    "run {run_id} closed its guardian pipe but is still running"
                )))
            }
            RunState::Live => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Waits for end-of-file on stdin (the run has exited), rescuing a killed
/// run stuck on its own emulated device meanwhile.
fn wait_for_the_run(run: Option<rustix::process::Pid>, run_dir: &Path) {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let stdin = std::io::stdin();
    let mut sink = [0u8; 64];
    // Each connection is aborted once: its number may later be reused.
    let mut aborted = Vec::new();
    loop {
        let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
        let ready = poll(
            &mut fds,
            Some(&Timespec {
                tv_sec: 0,
                tv_nsec: 250_000_000,
            }),
        );
        if matches!(ready, Ok(n) if n > 0) {
            if matches!(stdin.lock().read(&mut sink), Ok(0) | Err(_)) {
                return;
            }
            continue;
        }
        if let Some(pid) = run {
            if kill_pending(pid.as_raw_nonzero().get()) {
                abort_emulated_devices(run_dir, &mut aborted);
            }
        }
    }
}

/// Whether a SIGKILL is pending for process `pid` (it is dying).
fn kill_pending(pid: i32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status.lines().any(|l| {
        let Some((key, mask)) = l.split_once(':') else {
            return false;
        };
        (key == "ShdPnd" || key == "SigPnd")
            && u64::from_str_radix(mask.trim(), 16)
                .is_ok_and(|m| m & (1 << (libc::SIGKILL - 1)) != 0)
    })
}

/// Aborts the FUSE connections the run's live emulated devices named in
/// its scratch directory (`fuse-connection-<N>`; no other connection is
/// ever touched), through fusectl — mounted, if it is not already, in a
/// private mount namespace of the guardian's own, never on the host.
fn abort_emulated_devices(run_dir: &Path, aborted: &mut Vec<u32>) {
    use crate::target::emudev::daemon::CONNECTION_FILE;
    let Ok(entries) = std::fs::read_dir(run_dir) else {
        return;
    };
    let connections: Vec<u32> = entries
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_prefix(CONNECTION_FILE)?
                .parse()
                .ok()
        })
        .filter(|c| !aborted.contains(c))
        .collect();
    if connections.is_empty() || !fusectl_here() {
        return;
    }
    for conn in connections {
        if std::fs::write(format!("{FUSECTL}/{conn}/abort"), "1").is_ok() {
            aborted.push(conn);
        }
    }
}

/// Where fusectl lists FUSE connections, each with an `abort` file.
const FUSECTL: &str = "/sys/fs/fuse/connections";
const FUSECTL_MAGIC: i64 = 0x6573_5543;

/// Makes fusectl visible at [`FUSECTL`]: there already, or mounted there
/// in a new private mount namespace of this (single-threaded) process.
fn fusectl_here() -> bool {
    use rustix::mount::{MountFlags, MountPropagationFlags};
    let mounted = || rustix::fs::statfs(FUSECTL).is_ok_and(|s| s.f_type == FUSECTL_MAGIC);
    if mounted() {
        return true;
    }
    // SAFETY: the guardian has no other threads, and NEWNS does not
    // unshare the file descriptor table.
    let private = unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNS) }
        .is_ok()
        && rustix::mount::mount_change(
            "/",
            MountPropagationFlags::REC | MountPropagationFlags::PRIVATE,
        )
        .is_ok();
    private
        && rustix::mount::mount(
            "fusectl",
            FUSECTL,
            "fusectl",
            MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
            None::<&std::ffi::CStr>,
        )
        .is_ok()
        && mounted()
}

/// How long the guardian waits for a dead run's exiting threads to leave
/// its cgroups.
const CGROUP_PATIENCE: Duration = Duration::from_secs(60);
