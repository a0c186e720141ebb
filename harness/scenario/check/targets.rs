//! `targets:` entries: the keys every kind has (name, options, size,
//! reuse) and the kind's own, which its file in `scenario/targets/` reads
//! and checks; options lists, capped and checked.

use std::path::Path;

use super::entry::{in_key_order, merged_keys, KeyOwner, Written};
use super::names::written_name;
use super::vary::{entries_of, expanded_name, VaryEntry};
use super::{and_list, At, Ctx};
use crate::scenario::diag;
use crate::scenario::options::{
    check_option, contradiction, impossible_option, unverifiable_option,
};
use crate::scenario::raw::*;
use crate::scenario::spec::*;
use crate::scenario::targets::{size_key, TargetCx, KINDS};
use crate::scenario::yaml::{self, DeError, Node};

/// The order in which messages list a target entry's keys: the order
/// wpbench has always listed them in, which no one struct's fields give
/// now that each kind has its own. Only the order: which keys exist is
/// the structs'. A key missing here is listed after these.
const KEY_ORDER: &[&str] = &[
    "name", "kind", "options", "size", "mkfs", "path", "upper", "lower", "loop", "reuse", "vary",
];

/// Every key some target entry may have.
fn all_keys() -> Vec<&'static str> {
    in_key_order(
        merged_keys(fields_of::<RawTarget>(), KINDS.iter().map(|e| (e.fields)())),
        KEY_ORDER,
    )
}

/// Whether a target of `kind` takes `key`.
fn takes(kind: TargetKind, key: &str) -> bool {
    let e = kind.entry();
    if size_key(key) {
        e.sized
    } else {
        fields_of::<RawTarget>().contains(&key) || (e.fields)().contains(&key)
    }
}

/// Whether `key` is a key of a `kind` target; the error names the kinds
/// that do have it, or the keys it has.
fn key_for_kind(kind: TargetKind, key: &str) -> Result<(), String> {
    if takes(kind, key) {
        return Ok(());
    }
    let owners: Vec<&str> = KINDS
        .iter()
        .filter(|e| takes(e.kind, key))
        .map(|e| e.kind.as_str())
        .collect();
    if !owners.is_empty() {
        return Err(format!(
            "`{key}` is not a key of {} targets; it belongs to {}",
            kind.as_str(),
            and_list(&owners)
        ));
    }
    let common = fields_of::<RawTarget>()
        .iter()
        .copied()
        .filter(|k| !size_key(k));
    let own = fields_of::<RawTarget>()
        .iter()
        .copied()
        .filter(|k| takes(kind, k) && size_key(k))
        .chain((kind.entry().fields)().iter().copied())
        .collect();
    let valid: Vec<&str> = common.chain(in_key_order(own, KEY_ORDER)).collect();
    Err(diag::unknown("key", key, &valid))
}

/// A target entry as written.
pub(super) type WrittenTarget = Written<RawTarget>;

impl VaryEntry for WrittenTarget {
    const WHAT: &'static str = "target";

    fn parse(node: &Node) -> Result<Self, DeError> {
        let owners = KINDS.iter().map(|e| KeyOwner {
            fields: e.fields,
            parse: e.parse,
        });
        Written::read(node, owners, all_keys)
    }

    fn vary(&self) -> Option<&Node> {
        self.common.vary.as_ref()
    }
}

/// Mount options one list may hold. A real mount has a handful; the bound
/// keeps the per-`vary`-value merging and checking of options cheap.
const MAX_OPTIONS: usize = 64;

/// The entry with every overlong `options` list (its own, its upper's, each
/// `vary.options` value) cut to [`MAX_OPTIONS`] items, each reported.
fn cap_options(cx: &mut Ctx, at: &At, node: &Node) -> Node {
    let mut node = node.clone();
    let report = |cx: &mut Ctx, key: String, list: &mut Vec<Node>| {
        if list.len() > MAX_OPTIONS {
            cx.err(
                &key,
                format!(
                    "{} mount options; a target takes at most {MAX_OPTIONS}",
                    list.len()
                ),
            );
            list.truncate(MAX_OPTIONS);
        }
    };
    if let Some(list) = yaml::list_mut(&mut node, &["options"]) {
        report(cx, at.key("options"), list);
    }
    if let Some(list) = yaml::list_mut(&mut node, &["upper", "options"]) {
        report(cx, at.key("upper.options"), list);
    }
    if let Some(values) = yaml::list_mut(&mut node, &["vary", "options"]) {
        for (j, v) in values.iter_mut().enumerate() {
            if let Some(list) = yaml::list_mut(v, &[]) {
                report(cx, at.key(&format!("vary.options[{j}]")), list);
            }
        }
    }
    node
}

pub(super) fn target_entry(cx: &mut Ctx, i: usize, node: &Node) -> Vec<(TargetSpec, At)> {
    let at = At::new(format!("targets[{i}]"));
    let node = &cap_options(cx, &at, node);
    // The kind decides which keys a `vary` may name; read it before the
    // full deserialization reports anything wrong with it.
    let kind: Option<TargetKind> = yaml::get(node, "kind").and_then(|k| yaml::from_node(k).ok());
    let allowed = |k: &str| match kind {
        Some(kind) => key_for_kind(kind, k),
        None => Ok(()),
    };
    let mut base_checked = false;
    entries_of(
        cx,
        &at,
        node,
        &allowed,
        true,
        |cx, w: &WrittenTarget, at, opt_paths, label| {
            // Name and kind cannot be varied: check them once.
            let base_name = if base_checked {
                w.common.name.clone().unwrap_or_default()
            } else {
                base_checked = true;
                let n = written_name(cx, at, w.common.name.as_deref());
                if w.common.kind.is_none() {
                    let kinds: Vec<&str> = KINDS.iter().map(|e| e.kind.as_str()).collect();
                    cx.err(
                        &at.key("kind"),
                        format!(
                            "missing required key `kind` ({})",
                            and_list(&kinds).replace(" and ", " or ")
                        ),
                    );
                }
                n
            };
            check_target(cx, w, at, opt_paths, &base_name, label)
        },
    )
    .into_iter()
    .filter_map(|(t, p)| t.map(|t| (t, p)))
    .collect()
}

fn check_target(
    cx: &mut Ctx,
    w: &WrittenTarget,
    at: &At,
    opt_paths: Option<&[String]>,
    base_name: &str,
    label: Option<&str>,
) -> Option<TargetSpec> {
    let raw = &w.common;
    let kind = raw.kind?;
    for k in &w.keys {
        if let Err(m) = key_for_kind(kind, k) {
            cx.err(&at.key(k), m);
        }
    }
    let options = raw.options.clone().unwrap_or_default();
    let paths = match opt_paths {
        Some(p) => p.to_vec(),
        None => option_paths(at, "options", options.len()),
    };
    let t = TargetCx {
        options: &options,
        paths: &paths,
        size: raw.size,
    };
    let entry = kind.entry();
    let params = (entry.check)(&w.own((entry.fields)()), cx, at, &t)?;
    let spec = TargetSpec {
        name: expanded_name(base_name, label),
        base_name: base_name.to_string(),
        kind,
        option_places: paths.iter().map(|p| cx.place(p)).collect(),
        options,
        path_place: (kind == TargetKind::Hostpath).then(|| cx.place(&at.key("path"))),
        reuse: raw.reuse.unwrap_or(false),
        params,
    };
    Some(spec)
}

/// The options of a `kind` target; `host_path` is a hostPath's `path`.
pub(in crate::scenario) fn check_options(
    cx: &mut Ctx,
    opts: &[String],
    paths: &[String],
    kind: TargetKind,
    host_path: Option<&Path>,
) {
    for (opt, path) in opts.iter().zip(paths) {
        let Some(m) = check_option(opt, kind.is_existing_storage())
            .or_else(|| unverifiable_option(opt, kind))
            .or_else(|| impossible_option(opt, kind))
        else {
            continue;
        };
        // A filesystem option on a hostPath (the only thing wrong with it
        // when it passes as an option of other kinds): say which
        // filesystem lies underneath and how it is mounted, read from
        // /proc/self/mountinfo.
        let underneath = host_path
            .filter(|_| kind == TargetKind::Hostpath && check_option(opt, false).is_none())
            .and_then(|p| cx.host.fs_option_refusal(opt, p));
        cx.err(path, underneath.unwrap_or(m));
    }
    if let Some((i, prev)) = contradiction(opts) {
        cx.err(
            &paths[i],
            format!(
                "`{}` contradicts `{prev}` in the same list; keep one",
                opts[i]
            ),
        );
    }
}

pub(in crate::scenario) fn option_paths(at: &At, prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|j| at.key(&format!("{prefix}[{j}]"))).collect()
}

pub(in crate::scenario) fn check_size(
    cx: &mut Ctx,
    key: &str,
    size: Option<U<Size>>,
) -> Option<u64> {
    let size = size.map(|U(Size(s))| s);
    if size == Some(0) {
        cx.err(key, "must be larger than 0B");
    }
    size
}
