//! errno → symbolic name, so results say `ENOSPC` rather than `28`.
//!
//! An `exec` workload's failures are not errnos but a command's exit status
//! or the signal that ended it; they are counted in the same table under
//! codes no errno reaches ([`exit_code`], [`signal_code`]), named `exit_3`
//! and `SIGKILL`.

/// Where exit statuses start: errnos stay below 4096 (the kernel's
/// MAX_ERRNO).
const EXIT_BASE: i32 = 1 << 20;
/// Where terminating signals start.
const SIGNAL_BASE: i32 = 2 << 20;

/// The code a command killed for outliving its `timeout` is counted
/// under, named `timeout` (not `SIGKILL`: a kill by wpbench's timeout and
/// one by the OOM killer are different findings).
pub const TIMEOUT_CODE: i32 = 3 << 20;

/// The code a command's non-zero exit `status` is counted under.
pub fn exit_code(status: i32) -> i32 {
    EXIT_BASE + (status & 0xff)
}

/// The code a command ended by `signal` is counted under.
pub fn signal_code(signal: i32) -> i32 {
    SIGNAL_BASE + (signal & 0xff)
}

/// The symbolic name of an errno value; `E<n>` for ones not in the table.
pub fn errno_name(errno: i32) -> String {
    if (SIGNAL_BASE..SIGNAL_BASE + 256).contains(&errno) {
        return signal_name(errno - SIGNAL_BASE);
    }
    if errno == TIMEOUT_CODE {
        return "timeout".to_string();
    }
    if (EXIT_BASE..EXIT_BASE + 256).contains(&errno) {
        return format!("exit_{}", errno - EXIT_BASE);
    }
    let name = match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::EMLINK => "EMLINK",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::ELOOP => "ELOOP",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::ESTALE => "ESTALE",
        libc::EDQUOT => "EDQUOT",
        libc::EUCLEAN => "EUCLEAN",
        libc::ESHUTDOWN => "ESHUTDOWN",
        _ => return format!("E{errno}"),
    };
    name.to_string()
}

/// `SIGKILL`, or `SIG<n>` for a signal not in the table.
fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        _ => return format!("SIG{signal}"),
    };
    name.to_string()
}

/// errno of an io::Error; errors without one (short writes) are EIO-like
/// failures of our own making and are reported as `EIO`.
pub fn errno_of(err: &std::io::Error) -> i32 {
    err.raw_os_error().unwrap_or(libc::EIO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(errno_name(libc::ENOSPC), "ENOSPC");
        assert_eq!(errno_name(libc::EIO), "EIO");
        assert_eq!(errno_name(4242), "E4242");
        assert_eq!(errno_name(exit_code(3)), "exit_3");
        assert_eq!(errno_name(signal_code(libc::SIGKILL)), "SIGKILL");
        assert_eq!(errno_name(TIMEOUT_CODE), "timeout");
    }
}
