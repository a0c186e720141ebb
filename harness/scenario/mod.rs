//! The scenario room: a YAML file in, a checked [`Scenario`] out.
//!
//! This room is for turning what a user wrote into values every later room
//! can trust without re-checking: units parsed, defaults applied, `vary`
//! expanded, names unique, globs proven to select something, and unsafe
//! settings (system host paths, `errors=panic` as a mount option or through
//! mkfs's `-e panic`, smuggled overlay dirs)
//! refused. Every problem is reported at once as `file:line:col: `key`:
//! message`, with "did you mean" for typos.
//!
//! Two steps, as in ripgrep's config: `yaml` + `raw` read the file into
//! serde structs that mirror it (the only place YAML crates appear), and
//! `check` turns them into the `spec` model.

pub mod budget;
mod check;
mod diag;
pub mod mkfs_args;
mod options;
pub mod plan;
mod raw;
pub mod spec;
pub mod units;
mod yaml;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use check::GateNames;
pub use diag::{Diagnostic, Diagnostics};
pub use options::{merge_options, refused_host_path};
pub use spec::*;

/// Reads and checks a scenario file. An unreadable file is one diagnostic
/// at line 0, column 0.
pub fn load(path: &Path) -> Result<Scenario, Diagnostics> {
    load_str(&read_text(path, "the scenario")?, path)
}

/// Reads and checks a gate file (`--gate FILE`) against the names of the
/// run it gates.
pub fn load_gates(path: &Path, names: &GateNames) -> Result<Vec<GateSpec>, Diagnostics> {
    check::load_gates_str(&read_text(path, "the gate file")?, path, names)
}

/// A file's text, or why it cannot be read, as a diagnostic at line 0.
fn read_text(path: &Path, what: &str) -> Result<String, Diagnostics> {
    std::fs::read(path)
        .map_err(|e| format!("cannot read {what}: {e}"))
        .and_then(|b| String::from_utf8(b).map_err(|e| format!("{what} is not UTF-8 text: {e}")))
        .map_err(|message| {
            Diagnostics(vec![Diagnostic {
                file: path.to_path_buf(),
                line: 0,
                column: 0,
                key: String::new(),
                message,
            }])
        })
}

/// Checks scenario text; `file` is only used in diagnostics and
/// `Scenario::file`. `Scenario::sha256` is the hash of the text's bytes.
pub fn load_str(text: &str, file: &Path) -> Result<Scenario, Diagnostics> {
    check::load_str(text, file)
}
