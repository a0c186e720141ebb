//! The scenario room: a YAML file in, a checked [`Scenario`] out.
//!
//! This room is for turning what a user wrote into values every later room
//! can trust without re-checking: units parsed, defaults applied, `vary`
//! expanded, names unique, globs proven to select something, and unsafe
//! settings (system host paths, `errors=panic` as a mount option or through
//! mkfs's `-e panic`, smuggled overlay dirs)
//! refused, and what can be known without touching the system checked:
//! sizes mkfs or the kernel refuse, files that cannot fit a target before
//! the clock, plans over 100,000 cell runs, gate limits no selected cell
//! can have. Every problem is reported at once as `file:line:col: `key`:
//! message`, with "did you mean" for typos. Before any of that, one linear
//! pass bounds the input (1 MiB, 64 levels of nesting, 10,000 nodes), so
//! that no file makes the loader slow.
//!
//! Two steps, as in ripgrep's config: `yaml` + `raw` read the file into
//! serde structs that mirror it (the only place YAML crates appear), and
//! `check` turns them into the `spec` model. Each workload kind has its
//! file in `workloads/`: its parameters, its keys, their defaults and
//! checks, and how result.json records them.

pub mod bind;
pub mod budget;
mod check;
pub mod device;
mod diag;
mod faults;
mod host;
pub mod mkfs_args;
mod options;
pub mod plan;
pub mod profiles;
mod raw;
pub mod spec;
mod targets;
pub mod trace;
pub mod units;
mod workloads;
mod yaml;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::time::Duration;

pub use check::{too_many_cells, GateNames, MAX_CELLS};
pub use diag::{Diagnostic, Diagnostics, Place};
pub use host::{Host, NoHost};
pub use options::{merge_options, refused_host_path};
pub use spec::*;

/// Reads and checks a scenario file, asking `host` what it may read of the
/// machine (see [`Host`]). An unreadable file is one diagnostic at line 0,
/// column 0.
pub fn load(path: &Path, host: &dyn Host) -> Result<Scenario, Diagnostics> {
    load_with(path, &Overrides::default(), host)
}

/// Values given on the command line (`run --duration 10s` …) in place of
/// the file's. `duration` and `ops` replace each other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub duration: Option<Duration>,
    pub ops: Option<u64>,
    pub warmup: Option<Duration>,
    pub repeat: Option<u32>,
    pub seed: Option<u64>,
}

/// [`load`], with `overrides` put in place of the file's values before
/// anything is checked, so that every rule (cell limits, crash `at`
/// windows, gates …) sees them. A problem with an overridden value is
/// reported as the flag's, at line 0: `file:0:0: --repeat 9000000: …`.
pub fn load_with(
    path: &Path,
    overrides: &Overrides,
    host: &dyn Host,
) -> Result<Scenario, Diagnostics> {
    check::load_str(&read_text(path, "the scenario")?, path, overrides, host)
}

/// Reads and checks a gate file (`--gate FILE`) against the names of the
/// run it gates.
pub fn load_gates(path: &Path, names: &GateNames) -> Result<Vec<GateSpec>, Diagnostics> {
    check::load_gates_str(&read_text(path, "the gate file")?, path, names)
}

/// Reads and checks a gate file on its own (`wpbench validate`): whether
/// its selectors match a run's names is checked only when it gates one.
pub fn load_gates_alone(path: &Path) -> Result<Vec<GateSpec>, Diagnostics> {
    check::load_gates_alone(&read_text(path, "the gate file")?, path)
}

/// Whether the file at `path` looks like a gate file rather than a
/// scenario: a mapping with `version` and `gates` and none of a scenario's
/// `targets` or `workloads`. A file that cannot be read, is out of bounds
/// or does not parse is not one (the scenario loader reports why).
pub fn is_gate_file(path: &Path) -> bool {
    let Ok(text) = read_text(path, "the file") else {
        return false;
    };
    if yaml::check_bounds(&text).is_err() {
        return false;
    }
    let Ok(node) = yaml::parse(&text) else {
        return false;
    };
    let has = |k: &str| yaml::get(&node, k).is_some();
    yaml::is_mapping(&node)
        && has("version")
        && has("gates")
        && !has("targets")
        && !has("workloads")
}

/// A file's text, or why it cannot be read, as a diagnostic at line 0.
/// At most [`yaml::MAX_BYTES`] are read: a longer file (or `/dev/zero`) is
/// refused where the limit is crossed, without reading the rest.
fn read_text(path: &Path, what: &str) -> Result<String, Diagnostics> {
    use std::io::Read;
    let diag = |line, column, message| {
        Diagnostics(vec![Diagnostic {
            file: path.to_path_buf(),
            line,
            column,
            key: String::new(),
            message,
        }])
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(yaml::MAX_BYTES as u64 + 1).read_to_end(&mut bytes))
        .map_err(|e| diag(0, 0, format!("cannot read {what}: {e}")))?;
    if let Some(r) = yaml::size_refusal(&bytes) {
        return Err(diag(r.line, r.column, r.message));
    }
    String::from_utf8(bytes).map_err(|e| diag(0, 0, format!("{what} is not UTF-8 text: {e}")))
}

/// Checks scenario text; `file` is only used in diagnostics and
/// `Scenario::file`. `Scenario::sha256` is the hash of the text's bytes.
/// Nothing is read from the machine ([`NoHost`]).
pub fn load_str(text: &str, file: &Path) -> Result<Scenario, Diagnostics> {
    check::load_str(text, file, &Overrides::default(), &NoHost)
}
