//! What the loader may learn from the machine it runs on, asked through a
//! trait so that the scenario room never reads the system itself: the
//! caller (the CLI) passes the target room's implementation, tests and
//! `k8s render` (which checks a scenario for other nodes) pass [`NoHost`].

use std::path::Path;

/// Read-only facts about this machine that make a diagnostic more useful.
/// Each answer only refines a message; a scenario is valid or not
/// whatever the host says.
pub trait Host {
    /// Why filesystem option `opt` cannot be set on a hostPath at `path`,
    /// naming the filesystem that lies underneath it; None when that
    /// cannot be found (the loader then gives its general message).
    fn fs_option_refusal(&self, opt: &str, path: &Path) -> Option<String>;
}

/// A host that knows nothing.
pub struct NoHost;

impl Host for NoHost {
    fn fs_option_refusal(&self, _opt: &str, _path: &Path) -> Option<String> {
        None
    }
}
