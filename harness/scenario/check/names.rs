//! Entry names: valid as file names, unique after `vary`, short enough
//! for the files they name.

use std::collections::HashMap;

use super::{At, Ctx};
use crate::scenario::diag::{self};
use crate::scenario::spec::*;
use crate::scenario::yaml::{self};

/// Longest file name Linux takes.
const NAME_MAX_BYTES: usize = 255;

/// What an interval log's name adds to a target's and a workload's name:
/// `c<cell>-<target>-<workload>-r<repeat>-t<trial>.hlog`, with a cell and
/// a repeat of up to 5 digits (100,000 cells) and a trial of up to 10.
const HLOG_NAME_EXTRA: usize = 32;

/// Names become file and directory names: the scenario's is the run's
/// directory under reports/, and a target's and a workload's together
/// name each cell's interval log. Refused where they cannot fit in 255
/// bytes (Linux's NAME_MAX), which `run` would only find mid-run.
pub(super) fn check_name_lengths(
    cx: &mut Ctx,
    name: &str,
    targets: &[(TargetSpec, At)],
    workloads: &[(WorkloadSpec, At)],
) {
    if name.len() > NAME_MAX_BYTES {
        cx.err(
            "name",
            format!(
                "is {} bytes long; it names the run's directory (reports/<name>/), and Linux \
                 file names are at most {NAME_MAX_BYTES} bytes",
                name.len()
            ),
        );
    }
    let longest_t = targets.iter().max_by_key(|(t, _)| t.name.chars().count());
    let longest_w = workloads.iter().max_by_key(|(w, _)| w.name.chars().count());
    if let (Some((t, tat)), Some((w, wat))) = (longest_t, longest_w) {
        let (tl, wl) = (t.name.chars().count(), w.name.chars().count());
        if tl + wl + HLOG_NAME_EXTRA > NAME_MAX_BYTES {
            let key = if tl >= wl { tat } else { wat };
            cx.err(
                &key.key("name"),
                format!(
                    "target `{}` ({tl} characters with its vary label) and workload `{}` \
                     ({wl}) together name the cell's interval log, which would be {} bytes; \
                     Linux file names are at most {NAME_MAX_BYTES}: shorten them to {} \
                     characters together",
                    diag::abbreviate(&t.name, 40),
                    diag::abbreviate(&w.name, 40),
                    tl + wl + HLOG_NAME_EXTRA,
                    NAME_MAX_BYTES - HLOG_NAME_EXTRA
                ),
            );
        }
    }
}

/// Names are used in paths and file names.
pub(super) fn check_name(cx: &mut Ctx, key: &str, name: &str) {
    let charset = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || !name.chars().all(charset) || name.chars().all(|c| c == '.') {
        cx.err(
            key,
            format!(
                "`{name}` is not a valid name: use letters, digits, `.`, `_` and `-` \
                 (names become directory and file names)"
            ),
        );
    }
}

/// The written name of an entry, checked; empty when missing (reported).
pub(super) fn written_name(cx: &mut Ctx, at: &At, name: Option<&str>) -> String {
    match name {
        None => {
            cx.err(&at.key("name"), "missing required key `name`");
            String::new()
        }
        Some(n) => {
            check_name(cx, &at.key("name"), n);
            n.to_string()
        }
    }
}

pub(super) fn unique<'a>(
    cx: &mut Ctx,
    what: &str,
    names: impl Iterator<Item = (&'a str, &'a str)>,
) {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (name, path) in names {
        if name.is_empty() {
            continue;
        }
        if let Some(first) = seen.get(name) {
            cx.err(
                &yaml::join(path, "name"),
                format!(
                    "{what} name `{name}` is used twice (first at {first}); \
                     names must be unique after vary expansion"
                ),
            );
        } else {
            seen.insert(name, path);
        }
    }
}
