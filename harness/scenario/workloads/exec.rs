//! `kind: exec`: the user's command, run once per unit op. Unit op:
//! `exec`, the command's wall time from spawn to exit (fork and exec
//! included). A non-zero exit status, a signal or the `timeout` counts as
//! an error of the op.
//!
//! The command is an argument list, run without a shell (unless the list
//! names one): nothing a scenario writes is ever pasted into a shell
//! string.

use std::time::Duration;

use serde::Deserialize;

use super::{CellShape, Kind, Params, WorkloadKind, WorkloadParams, Writes, Written};
use crate::record::Op;
use crate::scenario::check::{At, Ctx};
use crate::scenario::raw::U;
use crate::scenario::units::{format_duration_exact, SizeRange};
use crate::scenario::yaml::{self, Node};

#[derive(Debug, Clone, PartialEq)]
pub struct Exec {
    /// Run once per unit op: argv[0] is looked up in PATH as execvp does
    /// (a relative path with a `/` is relative to the cell's directory).
    pub command: Vec<String>,
    /// Run once per cell, before the clock.
    pub setup: Option<Vec<String>>,
    /// The most one invocation of `command` may take; it is then killed.
    pub timeout: Duration,
    /// The most `setup` may take.
    pub setup_timeout: Duration,
}

/// The keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Read item by item, so that a number in the list is reported at its
    /// own position.
    command: Option<Node>,
    setup: Option<Node>,
    timeout: Option<U<Duration>>,
    setup_timeout: Option<U<Duration>>,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_SETUP_TIMEOUT: Duration = Duration::from_secs(600);

impl Kind for Exec {
    const KIND: WorkloadKind = WorkloadKind::Exec;
    const WRITES: Writes = Writes::NOTHING;
    const MAY_RECORD: &'static [Op] = &[Op::Exec, Op::ExecService];
    type Raw = Raw;

    fn check(raw: Raw, cx: &mut Ctx, at: &At) -> Exec {
        let command = match raw.command.as_ref() {
            Some(node) => check_argv(cx, at, "command", node),
            None => {
                cx.err(
                    &at.key("command"),
                    "missing required key `command`, an argument list such as \
                     `[sh, -c, 'dd if=/dev/zero of=f bs=4k count=16 conv=fsync']`",
                );
                Vec::new()
            }
        };
        let setup = raw
            .setup
            .as_ref()
            .filter(|n| !matches!(n, Node::Null))
            .map(|node| check_argv(cx, at, "setup", node));
        Exec {
            command,
            setup,
            timeout: positive(cx, at, "timeout", raw.timeout, DEFAULT_TIMEOUT),
            setup_timeout: positive(
                cx,
                at,
                "setup_timeout",
                raw.setup_timeout,
                DEFAULT_SETUP_TIMEOUT,
            ),
        }
    }
}

/// A duration longer than 0, or `default`.
fn positive(
    cx: &mut Ctx,
    at: &At,
    key: &str,
    v: Option<U<Duration>>,
    default: Duration,
) -> Duration {
    match v {
        Some(U(d)) if d.is_zero() => {
            cx.err(&at.key(key), "must be longer than 0s");
            default
        }
        Some(U(d)) => d,
        None => default,
    }
}

/// An argument list: a YAML list of strings, the first the program.
fn check_argv(cx: &mut Ctx, at: &At, key: &str, node: &Node) -> Vec<String> {
    let Some(items) = yaml::as_list(node) else {
        let hint = match node {
            Node::String(_) => {
                "; wpbench runs no shell and does not split a string: write the arguments as \
                 a list, e.g. `[sh, -c, 'echo hi > f']`"
            }
            _ => ", e.g. `[sh, -c, 'echo hi > f']`",
        };
        cx.err(
            &at.key(key),
            format!(
                "must be a list of arguments, found {}{hint}",
                yaml::describe(node)
            ),
        );
        return Vec::new();
    };
    if items.is_empty() {
        cx.err(&at.key(key), "needs at least the program to run");
        return Vec::new();
    }
    let mut argv = Vec::with_capacity(items.len());
    let mut ok = true;
    for (j, item) in items.iter().enumerate() {
        let k = at.key(&format!("{key}[{j}]"));
        match item {
            Node::String(s) if s.contains('\0') => {
                cx.err(&k, "an argument cannot contain a NUL byte");
                ok = false;
            }
            Node::String(s) if j == 0 && s.is_empty() => {
                cx.err(&k, "the program to run is empty");
                ok = false;
            }
            Node::String(s) => argv.push(s.clone()),
            Node::Number(_) | Node::Bool(_) => {
                cx.err(
                    &k,
                    format!(
                        "must be a string, found {}: quote it (`\"{}\"`) so the argument is \
                         exactly what you wrote",
                        yaml::describe(item),
                        yaml::label(item)
                    ),
                );
                ok = false;
            }
            other => {
                cx.err(
                    &k,
                    format!("must be a string, found {}", yaml::describe(other)),
                );
                ok = false;
            }
        }
    }
    if ok {
        argv
    } else {
        Vec::new()
    }
}

/// An argument list as a shell user would read it (for display only:
/// nothing runs it through a shell).
pub fn display_argv(argv: &[String]) -> String {
    argv.iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_quote(a: &str) -> String {
    let plain = !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./=:,@%+".contains(c));
    if plain {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

impl Params for Exec {
    fn record(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![("command", display_argv(&self.command))];
        if let Some(setup) = &self.setup {
            out.push(("setup", display_argv(setup)));
        }
        out.push(("timeout", format_duration_exact(self.timeout)));
        if self.setup.is_some() {
            out.push(("setup_timeout", format_duration_exact(self.setup_timeout)));
        }
        out
    }

    /// It may write, but wpbench cannot count what it writes: write
    /// amplification has no denominator.
    fn writes_data(&self) -> bool {
        false
    }

    fn op_sizes(&self) -> Vec<(String, SizeRange)> {
        Vec::new()
    }

    /// Unknown: the command decides.
    fn most_written(&self, _cell: &CellShape) -> Option<Written> {
        None
    }
}

impl From<Exec> for WorkloadParams {
    fn from(p: Exec) -> Self {
        WorkloadParams::Exec(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_quoted_for_display_only_where_needed() {
        let argv: Vec<String> = ["sh", "-c", "echo 'hi' > f", "a=b", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(display_argv(&argv), r#"sh -c 'echo '\''hi'\'' > f' a=b ''"#);
    }
}
