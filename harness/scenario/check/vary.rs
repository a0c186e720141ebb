//! `vary`: one entry expanded into one per value (or combination).

use super::{At, Ctx, MAX_VARY};
use crate::scenario::options::merge_options;
use crate::scenario::yaml::{self, Node};

/// One expansion of an entry with `vary`.
pub(super) struct Expansion {
    node: Node,
    at: At,
    label: String,
    /// Where each merged option came from, when `options` was varied.
    option_paths: Option<Vec<String>>,
}

/// Cartesian product of the `vary` values, first key slowest. Each
/// expansion is the entry with the varied keys replaced (`options` merged).
pub(super) fn expand(
    cx: &mut Ctx,
    at: &At,
    node: &Node,
    vary: &Node,
    allowed: &dyn Fn(&str) -> Result<(), String>,
    merge_opts: bool,
) -> Vec<Expansion> {
    let Some((axes, total)) = axes(cx, at, vary, allowed) else {
        return Vec::new();
    };
    let vary_key = at.key("vary");
    let base_node = yaml::with_key(node, "vary", None);
    let base_opts: Option<Vec<String>> = match yaml::get(node, "options") {
        None => Some(Vec::new()),
        Some(n) => yaml::string_list(n),
    };
    let mut out = Vec::with_capacity(total);
    for combo in 0..total {
        let mut idx = vec![0; axes.len()];
        let mut rem = combo;
        for (a, (_, vals)) in axes.iter().enumerate().rev() {
            idx[a] = rem % vals.len();
            rem /= vals.len();
        }
        let mut n = base_node.clone();
        let mut labels = Vec::new();
        let mut varied = Vec::new();
        let mut option_paths = None;
        for ((k, vals), &i) in axes.iter().zip(&idx) {
            let v = &vals[i];
            labels.push(yaml::label(v));
            varied.push((k.clone(), i));
            let over = yaml::string_list(v);
            if let (true, "options", Some(base), Some(over)) =
                (merge_opts, k.as_str(), &base_opts, over)
            {
                let merged = merge_options(base, &over);
                let vpath = format!("{vary_key}.{k}[{i}]");
                let listed = yaml::as_list(v).is_some();
                option_paths = Some(merged_option_paths(
                    at, &merged, base, &over, &vpath, listed,
                ));
                n = yaml::with_key(&n, "options", Some(yaml::strings_node(&merged)));
            } else {
                n = yaml::with_key(&n, k, Some(v.clone()));
            }
        }
        out.push(Expansion {
            node: n,
            at: At {
                base: at.base.clone(),
                varied,
            },
            label: labels.join(","),
            option_paths,
        });
    }
    out
}

/// A varied key and its values.
type Axis<'n> = (String, &'n [Node]);

/// The varied keys with their values, and how many expansions they make;
/// None when `vary` is not a mapping of allowed keys to non-empty lists,
/// or makes more than [`MAX_VARY`] (reported).
fn axes<'n>(
    cx: &mut Ctx,
    at: &At,
    vary: &'n Node,
    allowed: &dyn Fn(&str) -> Result<(), String>,
) -> Option<(Vec<Axis<'n>>, usize)> {
    let vary_key = at.key("vary");
    let Some(entries) = yaml::entries(vary) else {
        cx.err(
            &vary_key,
            format!(
                "`vary` maps keys to lists of values, e.g. `vary: {{options: [[noatime], [relatime]]}}`; found {}",
                yaml::describe(vary)
            ),
        );
        return None;
    };
    if entries.is_empty() {
        cx.err(
            &vary_key,
            "`vary` is empty; remove it or give a key with values",
        );
        return None;
    }
    let mut axes: Vec<Axis> = Vec::new();
    let mut ok = true;
    for (k, v) in entries {
        let kp = yaml::join(&vary_key, &k);
        let problem = if matches!(k.as_str(), "name" | "kind" | "vary") {
            Some(format!("`{k}` cannot be varied"))
        } else {
            allowed(&k).err()
        };
        if let Some(m) = problem {
            cx.err(&kp, m);
            ok = false;
            continue;
        }
        match yaml::as_list(v) {
            Some(vals) if !vals.is_empty() => axes.push((k, vals)),
            _ => {
                cx.err(
                    &kp,
                    format!("a varied key takes a list of at least one value, e.g. `{k}: [a, b]`"),
                );
                ok = false;
            }
        }
    }
    if !ok {
        return None;
    }
    let total = axes
        .iter()
        .try_fold(1usize, |acc, (_, vals)| acc.checked_mul(vals.len()))
        .filter(|t| *t <= MAX_VARY);
    let Some(total) = total else {
        cx.err(
            &vary_key,
            format!("`vary` expands into more than {MAX_VARY} entries; split the scenario"),
        );
        return None;
    };
    Some((axes, total))
}

/// Where each of the `merged` options was written: in the varied value
/// at `vpath` (item by item when it is a list), or in the entry's own
/// `options`.
fn merged_option_paths(
    at: &At,
    merged: &[String],
    base: &[String],
    over: &[String],
    vpath: &str,
    listed: bool,
) -> Vec<String> {
    merged
        .iter()
        .map(|m| match over.iter().position(|o| o == m) {
            Some(j) if listed => format!("{vpath}[{j}]"),
            Some(_) => vpath.to_string(),
            None => {
                let j = base.iter().position(|b| b == m).unwrap_or(0);
                format!("{}.options[{j}]", at.base)
            }
        })
        .collect()
}

/// A raw section entry that may carry `vary`.
pub(super) trait VaryEntry: Sized {
    const WHAT: &'static str;
    /// The entry as written, or the first key that cannot be read.
    fn parse(node: &Node) -> Result<Self, yaml::DeError>;
    fn vary(&self) -> Option<&Node>;
}

/// Deserializes an entry, expands its `vary`, and checks each expansion.
pub(super) fn entries_of<R: VaryEntry, S>(
    cx: &mut Ctx,
    at: &At,
    node: &Node,
    allowed: &dyn Fn(&str) -> Result<(), String>,
    merge_opts: bool,
    mut check: impl FnMut(&mut Ctx, &R, &At, Option<&[String]>, Option<&str>) -> S,
) -> Vec<(S, At)> {
    if !yaml::is_mapping(node) {
        cx.err(
            &at.base,
            format!(
                "a {} is a mapping with `name`, `kind` and its keys; found {}",
                R::WHAT,
                yaml::describe(node)
            ),
        );
        return Vec::new();
    }
    let raw: R = match R::parse(node) {
        Ok(r) => r,
        Err(e) => {
            cx.de_err(at, e);
            return Vec::new();
        }
    };
    let Some(vary_node) = raw.vary() else {
        return vec![(check(cx, &raw, at, None, None), at.clone())];
    };
    let mut out = Vec::new();
    for e in expand(cx, at, node, vary_node, allowed, merge_opts) {
        match R::parse(&e.node) {
            Ok(r) => out.push((
                check(cx, &r, &e.at, e.option_paths.as_deref(), Some(&e.label)),
                e.at.clone(),
            )),
            Err(err) => cx.de_err(&e.at, err),
        }
    }
    out
}

pub(super) fn expanded_name(base: &str, label: Option<&str>) -> String {
    match label {
        Some(l) if !base.is_empty() => format!("{base}[{l}]"),
        _ => base.to_string(),
    }
}
