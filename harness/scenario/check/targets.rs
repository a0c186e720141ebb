//! `targets:` entries: options, sizes, hostPath paths, an overlay's upper
//! and lower.

use std::path::{Path, PathBuf};

use super::filesystems::{check_fs_size, check_mkfs, check_tmpfs, MAX_FILE};
use super::names::written_name;
use super::room::MAX_FILES;
use super::vary::{entries_of, expanded_name};
use super::{key_for_kind, At, Ctx, GIB, KIB};
use crate::scenario::diag::{self};
use crate::scenario::options::{
    check_option, contradiction, impossible_option, refused_host_path, unverifiable_option,
};
use crate::scenario::raw::*;
use crate::scenario::spec::*;
use crate::scenario::units::{format_size, SizeRange};
use crate::scenario::yaml::{self, Node};

const TARGET_COMMON: &[&str] = &["name", "kind", "options", "reuse", "vary"];

const TARGET_KEYS: &[(&str, &[&str])] = &[
    ("size", &["tmpfs", "ext4", "xfs"]),
    ("mkfs", &["ext4", "xfs"]),
    ("path", &["hostpath"]),
    ("upper", &["overlay"]),
    ("lower", &["overlay"]),
    ("loop", &["ext4", "xfs"]),
];

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
        Some(kind) => key_for_kind(k, kind.as_str(), "targets", TARGET_COMMON, TARGET_KEYS),
        None => Ok(()),
    };
    let mut base_checked = false;
    entries_of(
        cx,
        &at,
        node,
        &allowed,
        true,
        |cx, raw: &RawTarget, at, opt_paths, label| {
            // Name and kind cannot be varied: check them once.
            let base_name = if base_checked {
                raw.name.clone().unwrap_or_default()
            } else {
                base_checked = true;
                let n = written_name(cx, at, raw.name.as_deref());
                if raw.kind.is_none() {
                    cx.err(
                        &at.key("kind"),
                        "missing required key `kind` (tmpfs, ext4, xfs, overlay or hostpath)",
                    );
                }
                n
            };
            check_target(cx, raw, at, opt_paths, &base_name, label)
        },
    )
    .into_iter()
    .filter_map(|(t, p)| t.map(|t| (t, p)))
    .collect()
}

/// The options of a `kind` target; `host_path` is a hostPath's `path`.
fn check_options(
    cx: &mut Ctx,
    opts: &[String],
    paths: &[String],
    kind: TargetKind,
    host_path: Option<&Path>,
) {
    for (opt, path) in opts.iter().zip(paths) {
        let Some(m) = check_option(opt, kind == TargetKind::Hostpath)
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

pub(super) fn option_paths(at: &At, prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|j| at.key(&format!("{prefix}[{j}]"))).collect()
}

fn check_size(cx: &mut Ctx, key: &str, size: Option<U<Size>>) -> Option<u64> {
    let size = size.map(|U(Size(s))| s);
    if size == Some(0) {
        cx.err(key, "must be larger than 0B");
    }
    size
}

fn check_target(
    cx: &mut Ctx,
    raw: &RawTarget,
    at: &At,
    opt_paths: Option<&[String]>,
    base_name: &str,
    label: Option<&str>,
) -> Option<TargetSpec> {
    let kind = raw.kind?;
    for k in raw.kind_keys() {
        if let Err(m) = key_for_kind(k, kind.as_str(), "targets", TARGET_COMMON, TARGET_KEYS) {
            cx.err(&at.key(k), m);
        }
    }
    let options = raw.options.clone().unwrap_or_default();
    let paths = match opt_paths {
        Some(p) => p.to_vec(),
        None => option_paths(at, "options", options.len()),
    };
    check_options(
        cx,
        &options,
        &paths,
        kind,
        raw.path.as_deref().map(Path::new),
    );

    let block = matches!(kind, TargetKind::Ext4 | TargetKind::Xfs);
    let size = check_size(cx, &at.key("size"), raw.size);
    let size = match kind {
        TargetKind::Ext4 | TargetKind::Xfs => Some(size.unwrap_or(GIB)),
        TargetKind::Tmpfs => size,
        _ => None,
    };
    let mkfs = if block {
        let (mkfs, layout) = check_mkfs(cx, at, "mkfs", kind, &raw.mkfs);
        check_fs_size(
            cx,
            raw.size.is_some().then(|| at.key("size")).as_deref(),
            &at.key("mkfs"),
            kind,
            size.unwrap_or(GIB),
            &mkfs,
            layout,
        );
        mkfs
    } else {
        Vec::new()
    };
    if kind == TargetKind::Tmpfs {
        check_tmpfs(cx, &at.key("size"), size, &options, &paths);
    }
    let path = match (kind, &raw.path) {
        (TargetKind::Hostpath, None) => {
            cx.err(
                &at.key("path"),
                "missing required key `path`: the host directory under which wpbench \
                 works in a fresh subdirectory, e.g. /var/tmp/wpbench",
            );
            None
        }
        (TargetKind::Hostpath, Some(p)) => {
            if let Some(m) = impossible_path(p).or_else(|| refused_host_path(Path::new(p))) {
                cx.err(&at.key("path"), m);
            }
            Some(PathBuf::from(p))
        }
        _ => None,
    };
    let (upper, lower) = if kind == TargetKind::Overlay {
        let upper = match &raw.upper {
            None => {
                cx.err(
                    &at.key("upper"),
                    "missing required key `upper`: the filesystem under upperdir and \
                     workdir, e.g. `upper: {kind: ext4, size: 2GiB}`",
                );
                None
            }
            Some(u) => check_upper(cx, u, at),
        };
        (upper, Some(check_lower(cx, raw.lower.as_ref(), at)))
    } else {
        (None, None)
    };
    let loop_dev = match (block, raw.loop_dev) {
        (true, Some(l)) => loop_spec(l),
        _ => LoopSpec::default(),
    };
    Some(TargetSpec {
        name: expanded_name(base_name, label),
        base_name: base_name.to_string(),
        kind,
        option_places: paths.iter().map(|p| cx.place(p)).collect(),
        options,
        size,
        mkfs,
        path,
        upper,
        lower,
        loop_dev,
        reuse: raw.reuse.unwrap_or(false),
    })
}

/// Longest path and file name Linux takes (PATH_MAX with its NUL,
/// NAME_MAX); wpbench adds its own directories under a hostPath, so the
/// path itself must leave room.
const PATH_MAX: usize = 4095;

pub(super) const NAME_MAX: usize = 255;

/// Why `p` cannot name a directory at all: a NUL byte (the kernel ends a
/// path there), a component longer than 255 bytes, or more than 4095 bytes.
fn impossible_path(p: &str) -> Option<String> {
    if p.contains('\0') {
        return Some(
            "the path holds a NUL byte, which no path can contain (the kernel would end it there)"
                .into(),
        );
    }
    if let Some(long) = p.split('/').find(|c| c.len() > NAME_MAX) {
        return Some(format!(
            "the name `{}` is {} bytes long; Linux file names are at most {NAME_MAX} bytes",
            diag::abbreviate(long, 40),
            long.len()
        ));
    }
    if p.len() > PATH_MAX - 128 {
        return Some(format!(
            "the path is {} bytes long; Linux paths are at most {PATH_MAX} bytes, and wpbench \
             needs about 128 of them for its own directories under it",
            p.len()
        ));
    }
    None
}

fn loop_spec(l: RawLoop) -> LoopSpec {
    LoopSpec {
        direct_io: l.direct_io.unwrap_or(LoopSpec::default().direct_io),
    }
}

fn check_upper(cx: &mut Ctx, u: &RawUpper, at: &At) -> Option<Box<BaseFsSpec>> {
    let key = |k: &str| at.key(&format!("upper.{k}"));
    let kind = match u.kind {
        None => {
            cx.err(
                &key("kind"),
                "missing required key `kind` (tmpfs, ext4 or xfs)",
            );
            return None;
        }
        Some(k @ (TargetKind::Tmpfs | TargetKind::Ext4 | TargetKind::Xfs)) => k,
        Some(k) => {
            cx.err(
                &key("kind"),
                format!(
                    "an overlay's upper filesystem is tmpfs, ext4 or xfs, not {}",
                    k.as_str()
                ),
            );
            return None;
        }
    };
    let block = kind != TargetKind::Tmpfs;
    if !block {
        for (present, k) in [(u.mkfs.is_some(), "mkfs"), (u.loop_dev.is_some(), "loop")] {
            if present {
                cx.err(
                    &key(k),
                    format!("`{k}` is not a key of a tmpfs upper; it belongs to ext4 and xfs"),
                );
            }
        }
    }
    let options = u.options.clone().unwrap_or_default();
    let option_keys = option_paths(at, "upper.options", options.len());
    check_options(cx, &options, &option_keys, kind, None);
    let size = check_size(cx, &key("size"), u.size);
    let mkfs = if block {
        let (mkfs, layout) = check_mkfs(cx, at, "upper.mkfs", kind, &u.mkfs);
        check_fs_size(
            cx,
            u.size.is_some().then(|| key("size")).as_deref(),
            &key("mkfs"),
            kind,
            size.unwrap_or(GIB),
            &mkfs,
            layout,
        );
        mkfs
    } else {
        check_tmpfs(
            cx,
            &key("size"),
            size,
            &options,
            &option_paths(at, "upper.options", options.len()),
        );
        Vec::new()
    };
    Some(Box::new(BaseFsSpec {
        kind,
        option_places: option_keys.iter().map(|p| cx.place(p)).collect(),
        size: if block {
            Some(size.unwrap_or(GIB))
        } else {
            size
        },
        options,
        mkfs,
        loop_dev: match (block, u.loop_dev) {
            (true, Some(l)) => loop_spec(l),
            _ => LoopSpec::default(),
        },
    }))
}

fn check_lower(cx: &mut Ctx, l: Option<&RawLower>, at: &At) -> LowerSpec {
    let at_least_one = |cx: &mut Ctx, k: &str, v: Option<u64>| match v {
        Some(0) => {
            cx.err(&at.key(&format!("lower.{k}")), "must be at least 1");
            1
        }
        Some(n) => n,
        None => 1,
    };
    let dirs = at_least_one(cx, "dirs", l.and_then(|l| l.dirs));
    let layers = at_least_one(cx, "layers", l.and_then(|l| l.layers));
    let layers = match u32::try_from(layers) {
        Ok(n) if n <= MAX_LOWER_LAYERS => n,
        _ => {
            cx.err(
                &at.key("lower.layers"),
                format!(
                    "{layers} layers; overlayfs stacks at most {MAX_LOWER_LAYERS} lower layers"
                ),
            );
            1
        }
    };
    let files = l.and_then(|l| l.files).unwrap_or(0);
    let file_size = l
        .and_then(|l| l.file_size)
        .map_or(SizeRange::fixed(4 * KIB), |U(r)| r);
    // The lower layers are written on the host's disk before the run;
    // how much room it has is asked at run time, but no disk holds this.
    if files > MAX_FILES {
        cx.err(
            &at.key("lower.files"),
            format!(
                "{files} files; no filesystem wpbench writes the lower layers on holds more \
                 than {MAX_FILES} (ext4 numbers inodes in 32 bits)"
            ),
        );
    } else if u128::from(files) * u128::from(file_size.min) > u128::from(MAX_FILE) {
        cx.err(
            &at.key("lower.files"),
            format!(
                "{files} files of at least {} are more than the {} a Linux filesystem holds",
                format_size(file_size.min),
                format_size(MAX_FILE)
            ),
        );
    }
    LowerSpec {
        files,
        file_size,
        dirs,
        layers,
    }
}

/// overlayfs's OVL_MAX_STACK.
const MAX_LOWER_LAYERS: u32 = 500;
