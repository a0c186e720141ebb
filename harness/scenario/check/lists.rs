//! The list-valued workload keys: metadata's `mix` and a sequence's `steps`.

use std::time::Duration;

use super::{At, Ctx};
use crate::scenario::diag::{self};
use crate::scenario::raw::*;
use crate::scenario::spec::*;
use crate::scenario::units::SizeRange;
use crate::scenario::yaml::{self, Node};

pub(super) fn check_mix(cx: &mut Ctx, at: &At, mix: Option<&Node>) -> Vec<(MetaOp, u32)> {
    let Some(node) = mix else {
        return MetaOp::DEFAULT_MIX.to_vec();
    };
    let key = at.key("mix");
    let Some(entries) = yaml::entries(node) else {
        cx.err(
            &key,
            format!(
                "`mix` maps operations to weights, e.g. `{{create: 4, stat: 8}}`; found {}",
                yaml::describe(node)
            ),
        );
        return MetaOp::DEFAULT_MIX.to_vec();
    };
    let names: Vec<&str> = MetaOp::ALL.iter().map(|o| o.as_str()).collect();
    let mut out = Vec::new();
    let mut ok = true;
    for (k, v) in entries {
        let kp = at.key(&format!("mix.{k}"));
        let Some(&op) = MetaOp::ALL.iter().find(|o| o.as_str() == k) else {
            cx.err(&kp, diag::unknown("operation", &k, &names));
            ok = false;
            continue;
        };
        match yaml::from_node::<u32>(v) {
            Ok(w) => out.push((op, w)),
            Err(_) => {
                cx.err(
                    &kp,
                    format!(
                        "a weight is a whole number from 0 to {}, e.g. `{k}: 4`; found {}",
                        u32::MAX,
                        yaml::describe(v)
                    ),
                );
                ok = false;
            }
        }
    }
    if ok && out.iter().all(|(_, w)| *w == 0) {
        cx.err(
            &key,
            "every weight is 0 (or the mix is empty): give at least one operation a weight above 0",
        );
    }
    if out.is_empty() {
        return MetaOp::DEFAULT_MIX.to_vec();
    }
    out
}

const STEP_WORDS: &[(&str, SeqStep)] = &[
    ("create", SeqStep::Create),
    ("open", SeqStep::Open),
    ("fsync", SeqStep::Fsync),
    ("fdatasync", SeqStep::Fdatasync),
    ("close", SeqStep::Close),
    ("read", SeqStep::Read),
    ("rename", SeqStep::Rename),
    ("unlink", SeqStep::Unlink),
    ("stat", SeqStep::Stat),
];

const STEP_VALUED: &[&str] = &["write", "append", "sleep"];

fn step_name(step: &SeqStep) -> &'static str {
    match step {
        SeqStep::Write(_) => "write",
        SeqStep::Append(_) => "append",
        SeqStep::Sleep(_) => "sleep",
        other => STEP_WORDS
            .iter()
            .find(|(_, s)| s == other)
            .map_or("?", |(n, _)| n),
    }
}

fn all_step_names() -> Vec<&'static str> {
    STEP_WORDS
        .iter()
        .map(|(n, _)| *n)
        .chain(STEP_VALUED.iter().copied())
        .collect()
}

/// One item of `steps`, or None (reported).
fn check_step(cx: &mut Ctx, key: &str, node: &Node) -> Option<SeqStep> {
    if let Some(word) = node.as_str() {
        if let Some((_, s)) = STEP_WORDS.iter().find(|(n, _)| *n == word) {
            return Some(*s);
        }
        if STEP_VALUED.contains(&word) {
            let example = if word == "sleep" { "10ms" } else { "16KiB" };
            cx.err(
                key,
                format!("`{word}` needs a value: write `{{{word}: {example}}}`"),
            );
        } else {
            cx.err(key, diag::unknown("step", word, &all_step_names()));
        }
        return None;
    }
    let entries = match yaml::entries(node) {
        Some(e) if e.len() == 1 => e,
        _ => {
            cx.err(
                key,
                format!(
                    "a step is a name such as `fsync` or a one-key mapping such as \
                     `{{write: 16KiB}}`; found {}",
                    if yaml::is_mapping(node) {
                        "a mapping with more than one key"
                    } else {
                        yaml::describe(node)
                    }
                ),
            );
            return None;
        }
    };
    let (k, v) = &entries[0];
    let kp = yaml::join(key, k);
    match k.as_str() {
        "write" | "append" => match yaml::from_node::<U<SizeRange>>(v) {
            Ok(U(r)) if r.max == 0 => {
                cx.err(&kp, "must be larger than 0B");
                None
            }
            Ok(U(r)) if k == "write" => Some(SeqStep::Write(r)),
            Ok(U(r)) => Some(SeqStep::Append(r)),
            Err(e) => {
                cx.err(&kp, diag::rewrite_serde_message(&e.message));
                None
            }
        },
        "sleep" => match yaml::from_node::<U<Duration>>(v) {
            Ok(U(d)) if d.is_zero() => {
                cx.err(&kp, "must be longer than 0s");
                None
            }
            Ok(U(d)) => Some(SeqStep::Sleep(d)),
            Err(e) => {
                cx.err(&kp, diag::rewrite_serde_message(&e.message));
                None
            }
        },
        w if STEP_WORDS.iter().any(|(n, _)| *n == w) => {
            cx.err(&kp, format!("`{w}` takes no value; write it as `- {w}`"));
            None
        }
        other => {
            cx.err(&kp, diag::unknown("step", other, &all_step_names()));
            None
        }
    }
}

/// Checks `steps` by running the loop twice on paper (the current file
/// carries from one pass to the next, as it does when the workload runs).
pub(super) fn check_steps(
    cx: &mut Ctx,
    at: &At,
    steps: Option<&[Node]>,
    files: u64,
) -> Vec<SeqStep> {
    let key = at.key("steps");
    let items = match steps {
        None => {
            cx.err(
                &key,
                "missing required key `steps`, e.g. \
                 `steps: [create, {append: 16KiB}, fsync, close]`",
            );
            return Vec::new();
        }
        Some([]) => {
            cx.err(&key, "needs at least one step");
            return Vec::new();
        }
        Some(items) => items,
    };
    let parsed: Vec<Option<SeqStep>> = items
        .iter()
        .enumerate()
        .map(|(j, n)| check_step(cx, &at.key(&format!("steps[{j}]")), n))
        .collect();
    if parsed.iter().any(Option::is_none) {
        return Vec::new();
    }
    let steps: Vec<SeqStep> = parsed.into_iter().flatten().collect();
    let mut open = false;
    let mut fileset = files;
    let mut reported = vec![false; steps.len()];
    let mut fileset_reported = false;
    for _pass in 0..2 {
        for (j, step) in steps.iter().enumerate() {
            let name = step_name(step);
            let needs_open = matches!(
                step,
                SeqStep::Write(_)
                    | SeqStep::Append(_)
                    | SeqStep::Fsync
                    | SeqStep::Fdatasync
                    | SeqStep::Close
            );
            if needs_open && !open && !reported[j] {
                reported[j] = true;
                cx.err(
                    &at.key(&format!("steps[{j}]")),
                    format!(
                        "`steps[{j}]` (`{name}`) has no open file: put `create` or `open` before it"
                    ),
                );
            }
            let needs_fileset = match step {
                SeqStep::Open | SeqStep::Rename | SeqStep::Unlink | SeqStep::Stat => true,
                SeqStep::Read => !open,
                _ => false,
            };
            if needs_fileset && fileset == 0 && !fileset_reported {
                fileset_reported = true;
                cx.err(
                    &at.key("files"),
                    format!(
                        "is 0, but `steps[{j}]` (`{name}`) picks a file of the fileset \
                         before any `create` adds one; make `files` at least 1"
                    ),
                );
            }
            match step {
                SeqStep::Create => {
                    open = true;
                    fileset += 1;
                }
                SeqStep::Open => open = true,
                SeqStep::Close => open = false,
                SeqStep::Unlink => fileset = fileset.saturating_sub(1),
                _ => {}
            }
        }
    }
    steps
}
