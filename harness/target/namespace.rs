//! The private mount namespace every privileged run lives in.
//!
//! Mounts made inside it are invisible to the host and vanish when the
//! process exits — normally, by signal, by SIGKILL or by panic — so no
//! mount can outlive a run whatever ends it.

use crate::error::{Error, Result};

/// Moves this process into a new mount namespace and makes every mount in
/// it private, so nothing propagates back to the host.
///
/// Must be called before any thread is spawned: a namespace belongs to a
/// thread, and threads started later inherit it from the thread that
/// starts them.
pub fn enter_private_mount_namespace() -> Result<()> {
    // SAFETY: NEWNS does not unshare the file descriptor table, the hazard
    // `unshare_unsafe` warns about.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNS) }.map_err(
        |e| {
            Error::Environment(format!(
                "cannot create a private mount namespace (unshare(CLONE_NEWNS): {e}); \
                 wpbench needs CAP_SYS_ADMIN — run as root or use a hostpath-only scenario \
                 such as scenarios/unprivileged.yaml"
            ))
        },
    )?;
    rustix::mount::mount_change(
        "/",
        rustix::mount::MountPropagationFlags::REC | rustix::mount::MountPropagationFlags::PRIVATE,
    )
    .map_err(|e| Error::Environment(format!("cannot make / private in the new namespace: {e}")))
}

/// True when this process may mount: uid 0 with CAP_SYS_ADMIN in its
/// effective set. Not the uid alone: uid 0 without capabilities (an
/// unprivileged pod that writes to a hostPath, `docker run` without
/// --privileged) cannot mount, and must run as unprivileged runs do; and
/// not the capability alone, since loop-control and cgroups are root's.
pub fn is_privileged() -> bool {
    rustix::process::geteuid().is_root()
        && rustix::thread::capabilities(None).is_ok_and(|c| {
            c.effective
                .contains(rustix::thread::CapabilitySet::SYS_ADMIN)
        })
}
