//! A run's cancellation: set by the first SIGINT or SIGTERM, polled by
//! every loop that can take long — the measured phase, and just as much
//! the setup around it (writing lower layers and read sets, filling a
//! target for ENOSPC, waiting for mkfs, verifying after a crash) — so a
//! signal ends the run within a second in every phase.
//!
//! A token is passed down explicitly; nothing reads a global.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Shared by the signal handler (which sets it) and everything that polls it.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// The flag itself, for `signal_hook::flag::register`.
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }

    /// Asks everything polling this token to stop.
    pub fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(Interrupted)` once cancelled: one line in a setup loop,
    /// `cancel.check()?`, with the error converting into an `io::Error`.
    pub fn check(&self) -> Result<(), Interrupted> {
        if self.is_set() {
            Err(Interrupted)
        } else {
            Ok(())
        }
    }
}

/// What a loop returns when it stopped because of a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted by a signal")
    }
}

impl std::error::Error for Interrupted {}

impl From<Interrupted> for io::Error {
    fn from(e: Interrupted) -> io::Error {
        io::Error::new(io::ErrorKind::Interrupted, e)
    }
}

/// Sleeps until `t`, the bulk in sleeps of at most 50 ms and the last
/// stretch spinning, so a paced op starts on time without burning a core;
/// false (at once) when `stop` says so meanwhile, which is polled between
/// the sleeps (a replayed trace's gap can be minutes long).
pub fn wait_until(t: std::time::Instant, stop: impl Fn() -> bool) -> bool {
    use std::time::{Duration, Instant};
    const SPIN: Duration = Duration::from_micros(30);
    const POLL: Duration = Duration::from_millis(50);
    loop {
        if stop() {
            return false;
        }
        let now = Instant::now();
        if t <= now + SPIN {
            break;
        }
        std::thread::sleep((t - now - SPIN).min(POLL));
    }
    while Instant::now() < t {
        std::hint::spin_loop();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_token_stops_every_clone() {
        let cancel = Cancel::new();
        let seen_by_loop = cancel.clone();
        assert_eq!(seen_by_loop.check(), Ok(()));
        cancel.set();
        assert_eq!(seen_by_loop.check(), Err(Interrupted));
        let e: io::Error = seen_by_loop.check().unwrap_err().into();
        assert_eq!(e.kind(), io::ErrorKind::Interrupted);
        assert_eq!(e.to_string(), "interrupted by a signal");
    }

    #[test]
    fn the_signal_flag_is_the_token() {
        let cancel = Cancel::new();
        cancel.flag().store(true, Ordering::Relaxed);
        assert!(cancel.is_set());
    }
}
