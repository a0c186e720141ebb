//! Raw → checked: defaults, `vary` expansion and every cross-field rule.
//!
//! Errors are collected, not returned at the first one: a user fixing a
//! scenario wants the whole list. Each error carries the key path of what
//! caused it; the span index turns that into line and column.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::diag::{self, Diagnostic, Diagnostics, Place};
use super::mkfs_args::{self, Layout};
use super::options::{
    check_option, contradiction, impossible_option, merge_options, refused_host_path,
    unverifiable_option,
};
use super::raw::*;
use super::spec::*;
use super::units::{format_duration, format_duration_exact, format_size, SizeRange};
use super::yaml::{self, Node, Spans};
use super::{Host, Overrides};
use crate::glob::glob_match;
use crate::record::Op;

const DEFAULT_DURATION: Duration = Duration::from_secs(10);
const DEFAULT_WARMUP: Duration = Duration::from_secs(1);
const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
/// Records and log lines carry a header (sequence, length, checksum).
const MIN_RECORD: u64 = 32;
/// A guard against a `vary` that would expand into an unrunnable matrix.
const MAX_VARY: usize = 1000;

/// The span index and YAML tree of `text`, or, as a diagnostic, the limit
/// it crosses ([`yaml::check_bounds`], checked first so that nothing slow
/// runs on it) or its syntax error.
fn parse(text: &str, file: &Path) -> Result<(Spans, Node), Diagnostics> {
    yaml::check_bounds(text).map_err(|e| {
        Diagnostics(vec![Diagnostic {
            file: file.to_path_buf(),
            line: e.line,
            column: e.column,
            key: e.key,
            message: e.message,
        }])
    })?;
    let spans = Spans::build(text);
    let node = yaml::parse(text).map_err(|e| {
        Diagnostics(vec![Diagnostic {
            file: file.to_path_buf(),
            line: e.line,
            column: e.column,
            key: String::new(),
            message: format!("YAML syntax error: {}", e.message),
        }])
    })?;
    Ok((spans, node))
}

/// `version: 1` is required, and the only one there is.
fn check_version(cx: &mut Ctx, version: Option<u64>) {
    match version {
        None => cx.err(
            "version",
            "missing required key `version`; add `version: 1`",
        ),
        Some(1) => {}
        Some(v) => cx.err(
            "version",
            format!("unsupported version {v}; this wpbench reads version 1"),
        ),
    }
}

/// Reads, checks and expands one scenario text, with `overrides` in place
/// of the file's values.
pub fn load_str(
    text: &str,
    file: &Path,
    overrides: &Overrides,
    host: &dyn Host,
) -> Result<Scenario, Diagnostics> {
    let sha256: String = Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (spans, node) = parse(text, file)?;
    let mut cx = Ctx {
        file,
        spans,
        overrides,
        host,
        diags: Vec::new(),
    };
    let scenario = scenario(&mut cx, &node, file, sha256);
    match scenario {
        Some(s) if cx.diags.is_empty() => Ok(s),
        _ => Err(cx.finish()),
    }
}

struct Ctx<'a> {
    file: &'a Path,
    spans: Spans,
    /// The command line's values, reported as flags rather than places.
    overrides: &'a Overrides,
    /// Facts about this machine that refine messages (never a verdict).
    host: &'a dyn Host,
    diags: Vec<Diagnostic>,
}

impl Ctx<'_> {
    /// Where `key` was written.
    fn place(&self, key: &str) -> Place {
        let (line, column) = self.spans.resolve(key);
        Place {
            file: self.file.to_path_buf(),
            line,
            column,
            key: key.to_string(),
        }
    }

    fn err(&mut self, key: &str, message: impl Into<String>) {
        if let Some(flag) = override_flag(self.overrides, key) {
            // The value is the command line's, not the file's: no place in it.
            self.diags.push(Diagnostic {
                file: self.file.to_path_buf(),
                line: 0,
                column: 0,
                key: String::new(),
                message: format!("{flag}: {}", message.into()),
            });
            return;
        }
        let (line, column) = self.spans.resolve(key);
        self.diags.push(Diagnostic {
            file: self.file.to_path_buf(),
            line,
            column,
            key: key.to_string(),
            message: message.into(),
        });
    }

    fn de_err(&mut self, at: &At, e: yaml::DeError) {
        let key = at.key(&e.path);
        let mut message = diag::rewrite_serde_message(&e.message);
        // serde_yaml's word for a name-valued key given a number or a map.
        if let Some(i) = message.find("a Value::Tagged enum") {
            let names = if key.ends_with("sync_call") {
                "fsync, fdatasync, sync_file_range, o_dsync, o_sync or syncfs"
            } else if key.ends_with("kind") {
                "crash, enospc, eio, throttle or noisy_neighbor"
            } else {
                "one of the names this key takes (see the README's scenario reference)"
            };
            message.replace_range(i.., names);
        }
        self.err(&key, message);
    }

    /// In file order; a `vary` repeats a base entry's mistake per expansion,
    /// so identical diagnostics are reported once.
    fn finish(mut self) -> Diagnostics {
        self.diags.sort_by_key(|d| (d.line, d.column));
        self.diags.dedup();
        Diagnostics(self.diags)
    }
}

/// Where an entry's keys are: `targets[1].size`, or, for a key that a
/// `vary` value replaced, that value (`targets[1].vary.size[2]`).
#[derive(Debug, Clone)]
struct At {
    base: String,
    varied: Vec<(String, usize)>,
}

impl At {
    fn new(base: String) -> At {
        At {
            base,
            varied: Vec::new(),
        }
    }

    fn key(&self, sub: &str) -> String {
        let end = sub.find(['.', '[']).unwrap_or(sub.len());
        let (first, rest) = sub.split_at(end);
        match self.varied.iter().find(|(k, _)| k == first) {
            Some((k, i)) => format!("{}.vary.{k}[{i}]{rest}", self.base),
            None if sub.is_empty() => self.base.clone(),
            None => yaml::join(&self.base, sub),
        }
    }
}

/// The command line's values in place of the file's, before anything is
/// checked; `duration` and `ops` replace each other (both given is the
/// loader's "not both" error).
fn apply_overrides(raw: &mut RawScenario, o: &Overrides) {
    if o.duration.is_some() || o.ops.is_some() {
        raw.duration = o.duration.map(U);
        raw.ops = o.ops;
    }
    if let Some(w) = o.warmup {
        raw.warmup = Some(U(w));
    }
    if let Some(r) = o.repeat {
        raw.repeat = Some(u64::from(r));
    }
    if let Some(s) = o.seed {
        raw.seed = Some(s);
    }
}

/// The flag that replaced top-level `key`, with its value as a user would
/// write it (`--duration 1500ms`).
fn override_flag(o: &Overrides, key: &str) -> Option<String> {
    let exact = |d: Duration| match d.is_zero() {
        true => "0s".to_string(),
        false => format_duration_exact(d),
    };
    match key {
        "duration" => o.duration.map(|d| format!("--duration {}", exact(d))),
        "ops" => o.ops.map(|n| format!("--ops {n}")),
        "warmup" => o.warmup.map(|d| format!("--warmup {}", exact(d))),
        "repeat" => o.repeat.map(|r| format!("--repeat {r}")),
        "seed" => o.seed.map(|s| format!("--seed {s}")),
        _ => None,
    }
}

fn scenario(cx: &mut Ctx, node: &Node, file: &Path, sha256: String) -> Option<Scenario> {
    if !yaml::is_mapping(node) {
        cx.err(
            "",
            format!(
                "a scenario is a mapping of keys (version, name, targets, workloads …); \
                 this file holds {}",
                yaml::describe(node)
            ),
        );
        return None;
    }
    let mut raw: RawScenario = match yaml::from_node(node) {
        Ok(r) => r,
        Err(e) => {
            cx.de_err(&At::new(String::new()), e);
            return None;
        }
    };
    apply_overrides(&mut raw, cx.overrides);

    check_version(cx, raw.version);
    let name = match raw.name {
        None => {
            cx.err("name", "missing required key `name`");
            String::new()
        }
        Some(n) => {
            check_name(cx, "name", &n);
            n
        }
    };
    let stop = match (raw.duration, raw.ops) {
        (Some(_), Some(_)) => {
            cx.err("ops", "give either `duration` or `ops`, not both");
            Stop::Duration(DEFAULT_DURATION)
        }
        (Some(U(d)), None) => {
            if d.is_zero() {
                cx.err("duration", "must be longer than 0s");
            }
            Stop::Duration(d)
        }
        (None, Some(0)) => {
            cx.err("ops", "must be at least 1");
            Stop::Ops(1)
        }
        (None, Some(n)) => Stop::Ops(n),
        (None, None) => Stop::Duration(DEFAULT_DURATION),
    };
    let repeat = match raw.repeat {
        None => 1,
        Some(0) => {
            cx.err("repeat", "must be at least 1, not 0");
            1
        }
        // More than u32::MAX is reported below as too many cells.
        Some(r) => u32::try_from(r).unwrap_or(u32::MAX),
    };

    let mut targets = Vec::new();
    for (i, n) in section(cx, "targets", "target", raw.targets.as_deref())
        .iter()
        .enumerate()
    {
        targets.extend(target_entry(cx, i, n));
    }
    let mut workloads = Vec::new();
    for (i, n) in section(cx, "workloads", "workload", raw.workloads.as_deref())
        .iter()
        .enumerate()
    {
        workloads.extend(workload_entry(cx, i, n));
    }
    unique(
        cx,
        "target",
        targets
            .iter()
            .map(|(t, p)| (t.name.as_str(), p.base.as_str())),
    );
    unique(
        cx,
        "workload",
        workloads
            .iter()
            .map(|(w, p)| (w.name.as_str(), p.base.as_str())),
    );
    check_name_lengths(cx, &name, &targets, &workloads);
    let too_many = too_many_cells(
        targets.len(),
        workloads.len(),
        raw.repeat.unwrap_or(1).max(1),
    );
    match &too_many {
        Some((key, m)) => cx.err(key, m.clone()),
        None => check_room(cx, &targets, &workloads),
    }
    let targets: Vec<TargetSpec> = targets.into_iter().map(|(t, _)| t).collect();
    let workloads: Vec<WorkloadSpec> = workloads.into_iter().map(|(w, _)| w).collect();

    let names = Names {
        targets: targets
            .iter()
            .map(|t| (t.name.as_str(), t.base_name.as_str()))
            .collect(),
        workloads: workloads
            .iter()
            .map(|w| (w.name.as_str(), w.base_name.as_str()))
            .collect(),
    };
    let faults: Vec<FaultSpec> = raw
        .faults
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, n)| fault_entry(cx, i, n, &names, &targets, stop))
        .collect();
    let fault_names: Vec<(&str, &str)> = faults
        .iter()
        .map(|f| (fault_name(f.kind), fault_name(f.kind)))
        .collect();
    // Which limits the cells can have is asked only of a plan that fits.
    let cells = too_many
        .is_none()
        .then(|| Cells::new(&targets, &workloads, &faults));
    if let Some(cells) = &cells {
        if let Some((i, m)) = cells.too_many_runs(u64::from(repeat)) {
            match cx.overrides.repeat {
                Some(_) => cx.err("repeat", m),
                None => cx.err(&format!("faults[{i}].trials"), m),
            }
        }
    }
    let gates: Vec<GateSpec> = raw
        .gates
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, n)| gate_entry(cx, i, n, &names, &fault_names, cells.as_ref()))
        .collect();

    Some(Scenario {
        name,
        description: raw.description.unwrap_or_default(),
        file: file.to_path_buf(),
        sha256,
        seed: raw.seed.unwrap_or(0),
        stop,
        warmup: raw.warmup.map_or(DEFAULT_WARMUP, |U(d)| d),
        repeat,
        targets,
        workloads,
        faults,
        gates,
    })
}

/// The most cells a run may plan: targets × workloads × repeat, after
/// `vary`. Each cell provisions a target and runs for its duration, so
/// this is days of machine time already.
pub const MAX_CELLS: u64 = 100_000;

/// When `targets × workloads × repeat` is more than [`MAX_CELLS`]: the key
/// that made the count explode (`repeat`, or the larger of `targets` and
/// `workloads`) and the message. Counted with checked arithmetic; nothing
/// is materialised, so `repeat: 4000000000` costs nothing.
pub fn too_many_cells(
    targets: usize,
    workloads: usize,
    repeat: u64,
) -> Option<(&'static str, String)> {
    let (t, w) = (targets as u64, workloads as u64);
    let per_repeat = t.checked_mul(w);
    let cells = per_repeat.and_then(|n| n.checked_mul(repeat));
    if cells.is_some_and(|c| c <= MAX_CELLS) {
        return None;
    }
    let key = match per_repeat {
        Some(n) if n <= MAX_CELLS => "repeat",
        _ if t >= w => "targets",
        _ => "workloads",
    };
    let count = match cells {
        Some(c) => c.to_string(),
        None => format!("more than {}", u64::MAX),
    };
    let hint = if key == "repeat" {
        let most = MAX_CELLS / per_repeat.unwrap_or(1).max(1);
        format!("with {t} × {w} cells per repeat, `repeat` can be at most {most}")
    } else {
        format!(
            "fewer `vary` values, or split the scenario (each repeat already has {} cells)",
            per_repeat.map_or_else(|| "too many".to_string(), |n| n.to_string())
        )
    };
    Some((
        key,
        format!(
            "{t} targets × {w} workloads × {repeat} repeats = {count} cells, more than the \
             {MAX_CELLS} a run may have; {hint}"
        ),
    ))
}

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
fn check_name_lengths(
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

// ------------------------------------------------------------------ room

/// At most what a filesystem holds, as far as the scenario alone tells.
struct Holds {
    /// Files and directories that can still be made in it (an upper bound).
    inodes: Option<u64>,
    /// Bytes of file data it can hold (an upper bound).
    bytes: Option<u64>,
    /// `ext4, 2GiB, about 16384 bytes per inode`.
    what: String,
    /// What gives it more inodes.
    more_inodes: &'static str,
}

/// ext4's bytes per inode with the stock mke2fs.conf, by size: floppy
/// below 3 MiB, small below 512 MiB, default, big from 4 TiB, huge from
/// 16 TiB (checked with dumpe2fs on images made with wpbench's arguments).
fn ext4_inode_ratio(size: u64) -> u64 {
    match size {
        s if s < 3 * MIB => 8192,
        s if s < 512 * MIB => 4096,
        s if s < 4 << 40 => 16384,
        s if s < 16 << 40 => 32768,
        _ => 65536,
    }
}

/// What an ext4, xfs or tmpfs of `size` with these options and mkfs
/// arguments holds at most. Inode counts are upper bounds: mkfs rounds
/// each block group's inodes up to whole inode-table blocks, which the
/// slack covers; where an argument could change the count in ways not
/// modelled here (ext4 `-T`, `-O`, …), none is given.
fn fs_holds(kind: TargetKind, size: Option<u64>, options: &[String], mkfs: &[String]) -> Holds {
    let layout = || {
        mkfs_args::parse(kind, mkfs)
            .ok()
            .and_then(|p| mkfs_args::layout(kind, &p).ok())
    };
    match kind {
        TargetKind::Ext4 => {
            let s = size.unwrap_or(GIB);
            let Some(l) = layout() else {
                return Holds {
                    inodes: None,
                    bytes: Some(s),
                    what: format!("ext4, {}", format_size(s)),
                    more_inodes: "",
                };
            };
            // The stock small and floppy types use 1 KiB blocks.
            let bs = l
                .block_size
                .unwrap_or(if s < 512 * MIB { 1024 } else { 4096 });
            let groups = s.div_ceil(8 * bs * bs).max(1);
            let slack = groups.saturating_mul(bs / 128);
            let (base, how) = match (l.inodes, l.inode_ratio) {
                (Some(n), _) => (n, format!("mkfs -N {n}")),
                (None, Some(r)) => (s / r, format!("mkfs -i {r}: one inode per {r} bytes")),
                (None, None) => {
                    let r = ext4_inode_ratio(s);
                    (s / r, format!("one inode per {r} bytes"))
                }
            };
            Holds {
                // Inodes 1 to 11 are reserved or lost+found.
                inodes: (!l.other).then(|| base.saturating_add(slack).saturating_sub(11)),
                bytes: Some(s),
                what: format!("ext4, {}, {how}", format_size(s)),
                more_inodes: "a larger `size`, or more inodes with `mkfs: [-N, COUNT]`",
            }
        }
        TargetKind::Xfs => {
            let s = size.unwrap_or(GIB);
            let l = layout();
            let s = l.and_then(|l| l.data_size).map_or(s, |d| d.min(s));
            // Inodes may take at most maxpct of the space (25 % by default
            // below 1 TiB, less above; 0 means no limit), 512 bytes each
            // (256 with crc=0).
            let inodes = l.map(|l| {
                let pct = match l.inode_max_pct {
                    Some(0) => 100,
                    Some(p) => p,
                    None => 25,
                };
                let isize = l.inode_size.unwrap_or(if l.other { 256 } else { 512 });
                s / 100 * pct / isize
            });
            Holds {
                inodes,
                bytes: Some(s),
                what: format!(
                    "xfs, {}, inodes in at most {}% of it",
                    format_size(s),
                    l.and_then(|l| l.inode_max_pct)
                        .map_or(25, |p| if p == 0 { 100 } else { p })
                ),
                more_inodes: "a larger `size`, or `mkfs: [-i, maxpct=50]`",
            }
        }
        TargetKind::Tmpfs => {
            let value = |key: &str| {
                options
                    .iter()
                    .rev()
                    .find_map(|o| o.strip_prefix(key)?.strip_prefix('='))
            };
            let nr_inodes = value("nr_inodes")
                .and_then(kernel_number)
                .filter(|n| *n > 0);
            // A page is at most 64 KiB, whatever the machine.
            let bytes = size
                .or_else(|| value("size").and_then(kernel_number))
                .or_else(|| {
                    value("nr_blocks")
                        .and_then(kernel_number)
                        .filter(|n| *n > 0)
                        .map(|n| n.saturating_mul(64 * KIB))
                });
            Holds {
                // The root directory takes one.
                inodes: nr_inodes.map(|n| n - 1),
                bytes,
                what: match nr_inodes {
                    Some(n) => format!("tmpfs, nr_inodes={n}"),
                    None => "tmpfs".to_string(),
                },
                more_inodes: "a larger `nr_inodes=`",
            }
        }
        _ => Holds {
            inodes: None,
            bytes: None,
            what: String::new(),
            more_inodes: "",
        },
    }
}

/// What target `t` holds: an overlay's is its upper filesystem's (its
/// lower layers lie on the host's disk, under the run's scratch area).
fn target_holds(t: &TargetSpec) -> Holds {
    match (&t.upper, t.kind) {
        (Some(u), TargetKind::Overlay) => {
            let mut h = fs_holds(u.kind, u.size, &u.options, &u.mkfs);
            h.what = format!("its upper filesystem: {}", h.what);
            h
        }
        (None, TargetKind::Overlay) => fs_holds(TargetKind::Hostpath, None, &[], &[]),
        _ => fs_holds(t.kind, t.size, &t.options, &t.mkfs),
    }
}

/// What a cell of `w` on `t` makes before its clock starts, which must all
/// succeed for the cell to run: (files and directories, bytes, the key
/// that sets them, how they add up).
fn before_clock(w: &WorkloadSpec, t: &TargetSpec) -> Option<(u128, u128, &'static str, String)> {
    let threads = u128::from(w.threads);
    let n = |v: u64| u128::from(v);
    let files_of = |files: u64, min: u64| match min {
        0 => format!("{files} files"),
        _ => format!("{files} files of at least {}", format_size(min)),
    };
    match &w.params {
        WorkloadParams::ReadAtime { files, file_size } => Some((
            n(*files) + threads,
            n(*files) * n(file_size.min),
            "files",
            files_of(*files, file_size.min),
        )),
        WorkloadParams::Sequence {
            files, file_size, ..
        } => Some((
            threads * (n(*files) + 1),
            threads * n(*files) * n(file_size.min),
            "files",
            format!(
                "{} per thread, {} threads",
                files_of(*files, file_size.min),
                w.threads
            ),
        )),
        // On an overlay with lower files, copy_up works on those.
        WorkloadParams::CopyUp {
            files, file_size, ..
        } if t.lower.as_ref().map_or(true, |l| l.files == 0) => Some((
            n(*files) + n((*files).min(10)),
            n(*files) * n(file_size.min),
            "files",
            format!("{} to copy up", files_of(*files, file_size.min)),
        )),
        WorkloadParams::FsyncHeavy { file_size, .. } => Some((
            threads * 2,
            threads * n(*file_size),
            "file_size",
            format!(
                "a log of {} written in full per thread, {} threads",
                format_size(*file_size),
                w.threads
            ),
        )),
        _ => None,
    }
}

/// More files than any target holds (2^32): before its clock a cell would
/// take days making them, and wpbench keeps each name in memory.
const MAX_FILES: u64 = 1 << 32;

/// Files and bytes a workload makes before its clock starts must fit in
/// every target it runs on, where the scenario tells what the target holds
/// (ext4 and xfs by their size and mkfs arguments; tmpfs by `size` and
/// `nr_inodes=`; an overlay by its upper; a hostPath or a default tmpfs
/// depend on the host and are left to the run). Reported once per workload,
/// at the key to change, naming the targets.
fn check_room(cx: &mut Ctx, targets: &[(TargetSpec, At)], workloads: &[(WorkloadSpec, At)]) {
    let holds: Vec<Holds> = targets.iter().map(|(t, _)| target_holds(t)).collect();
    for (w, wpath) in workloads {
        let mut short: Vec<String> = Vec::new();
        let mut key = "files";
        let mut too_many = false;
        for ((t, _), h) in targets.iter().zip(&holds) {
            let Some((inodes, bytes, k, how)) = before_clock(w, t) else {
                continue;
            };
            key = k;
            if inodes > u128::from(MAX_FILES) {
                if !too_many {
                    too_many = true;
                    short.push(format!(
                        "this makes {inodes} ({how}), more than the {MAX_FILES} files any \
                         target can hold (ext4 numbers inodes in 32 bits, a tmpfs inode takes \
                         RAM, and wpbench keeps every name in memory); give fewer files"
                    ));
                }
                continue;
            }
            let problem = match (h.inodes, h.bytes) {
                (Some(max), _) if inodes > u128::from(max) => Some(format!(
                    "target `{}` ({}) has room for at most {max} files and directories, \
                     and this makes {inodes} ({how}, and their directories); give fewer \
                     files, or the target {}",
                    t.name, h.what, h.more_inodes
                )),
                (_, Some(max)) if bytes > u128::from(max) => Some(format!(
                    "target `{}` ({}) holds at most {}, and this writes {} ({how}); give \
                     smaller or fewer files, or the target a larger size",
                    t.name,
                    h.what,
                    format_size(max),
                    u64::try_from(bytes).map_or("more than 16 EiB".into(), format_size)
                )),
                _ => None,
            };
            short.extend(problem);
        }
        if short.is_empty() {
            continue;
        }
        let more = match short.len() {
            n if n > 3 => format!(" (and {} more targets like it)", n - 3),
            _ => String::new(),
        };
        short.truncate(3);
        cx.err(
            &wpath.key(key),
            format!(
                "`{}` makes its files before its clock starts, and they cannot fit (the \
                 target is too small for them): {}{more}",
                w.name,
                short.join("; ")
            ),
        );
    }
}

/// A required, non-empty list section.
fn section<'n>(cx: &mut Ctx, key: &str, what: &str, list: Option<&'n [Node]>) -> &'n [Node] {
    match list {
        None => cx.err(
            key,
            format!("missing required key `{key}`; list at least one {what}"),
        ),
        Some([]) => cx.err(key, format!("needs at least one {what}")),
        Some(_) => {}
    }
    list.unwrap_or_default()
}

/// Names are used in paths and file names.
fn check_name(cx: &mut Ctx, key: &str, name: &str) {
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
fn written_name(cx: &mut Ctx, at: &At, name: Option<&str>) -> String {
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

fn unique<'a>(cx: &mut Ctx, what: &str, names: impl Iterator<Item = (&'a str, &'a str)>) {
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

/// "ext4 and xfs", "tmpfs, ext4 and xfs".
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Whether `key` is a key of this kind of entry; the error names the kinds
/// that do have it.
fn key_for_kind(
    key: &str,
    kind: &str,
    section: &str,
    common: &[&str],
    table: &[(&str, &[&str])],
) -> Result<(), String> {
    if common.contains(&key) {
        return Ok(());
    }
    match table.iter().find(|(k, _)| *k == key) {
        Some((_, kinds)) if kinds.contains(&kind) => Ok(()),
        Some((_, kinds)) => Err(format!(
            "`{key}` is not a key of {kind} {section}; it belongs to {}",
            and_list(kinds)
        )),
        None => {
            let valid: Vec<&str> = common
                .iter()
                .copied()
                .chain(
                    table
                        .iter()
                        .filter(|(_, kinds)| kinds.contains(&kind))
                        .map(|(k, _)| *k),
                )
                .collect();
            Err(diag::unknown("key", key, &valid))
        }
    }
}

/// One expansion of an entry with `vary`.
struct Expansion {
    node: Node,
    at: At,
    label: String,
    /// Where each merged option came from, when `options` was varied.
    option_paths: Option<Vec<String>>,
}

/// Cartesian product of the `vary` values, first key slowest. Each
/// expansion is the entry with the varied keys replaced (`options` merged).
fn expand(
    cx: &mut Ctx,
    at: &At,
    node: &Node,
    vary: &Node,
    allowed: &dyn Fn(&str) -> Result<(), String>,
    merge_opts: bool,
) -> Vec<Expansion> {
    let vary_key = at.key("vary");
    let Some(entries) = yaml::entries(vary) else {
        cx.err(
            &vary_key,
            format!(
                "`vary` maps keys to lists of values, e.g. `vary: {{options: [[noatime], [relatime]]}}`; found {}",
                yaml::describe(vary)
            ),
        );
        return Vec::new();
    };
    if entries.is_empty() {
        cx.err(
            &vary_key,
            "`vary` is empty; remove it or give a key with values",
        );
        return Vec::new();
    }
    let mut axes: Vec<(String, &[Node])> = Vec::new();
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
        return Vec::new();
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
        return Vec::new();
    };

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
                option_paths = Some(
                    merged
                        .iter()
                        .map(|m| match over.iter().position(|o| o == m) {
                            Some(j) if listed => format!("{vpath}[{j}]"),
                            Some(_) => vpath.clone(),
                            None => {
                                let j = base.iter().position(|b| b == m).unwrap_or(0);
                                format!("{}.options[{j}]", at.base)
                            }
                        })
                        .collect(),
                );
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

/// A raw section entry that may carry `vary`.
trait VaryEntry: serde::de::DeserializeOwned {
    const WHAT: &'static str;
    fn vary(&self) -> Option<&Node>;
}

impl VaryEntry for RawTarget {
    const WHAT: &'static str = "target";
    fn vary(&self) -> Option<&Node> {
        self.vary.as_ref()
    }
}

impl VaryEntry for RawWorkload {
    const WHAT: &'static str = "workload";
    fn vary(&self) -> Option<&Node> {
        self.vary.as_ref()
    }
}

/// Deserializes an entry, expands its `vary`, and checks each expansion.
fn entries_of<R: VaryEntry, S>(
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
    let raw: R = match yaml::from_node(node) {
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
        match yaml::from_node::<R>(&e.node) {
            Ok(r) => out.push((
                check(cx, &r, &e.at, e.option_paths.as_deref(), Some(&e.label)),
                e.at.clone(),
            )),
            Err(err) => cx.de_err(&e.at, err),
        }
    }
    out
}

fn expanded_name(base: &str, label: Option<&str>) -> String {
    match label {
        Some(l) if !base.is_empty() => format!("{base}[{l}]"),
        _ => base.to_string(),
    }
}

// ---------------------------------------------------------------- targets

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

fn target_entry(cx: &mut Ctx, i: usize, node: &Node) -> Vec<(TargetSpec, At)> {
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

fn option_paths(at: &At, prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|j| at.key(&format!("{prefix}[{j}]"))).collect()
}

fn check_size(cx: &mut Ctx, key: &str, size: Option<U<Size>>) -> Option<u64> {
    let size = size.map(|U(Size(s))| s);
    if size == Some(0) {
        cx.err(key, "must be larger than 0B");
    }
    size
}

/// The `mkfs:` arguments of a `kind` filesystem: each must be a non-empty
/// string, and together they must pass the mkfs argument rules
/// (`-e panic`, other devices, undo files … are refused here, before
/// anything is created).
fn check_mkfs(
    cx: &mut Ctx,
    at: &At,
    prefix: &str,
    kind: TargetKind,
    args: &Option<Vec<Arg>>,
) -> (Vec<String>, Option<Layout>) {
    let args: Vec<String> = args.iter().flatten().map(|a| a.0.clone()).collect();
    let mut clean = true;
    for (j, a) in args.iter().enumerate() {
        if a.is_empty() || a.contains('\0') {
            clean = false;
            cx.err(
                &at.key(&format!("{prefix}[{j}]")),
                "an empty argument or one with a NUL byte",
            );
        }
    }
    let mut layout = None;
    if clean {
        match mkfs_args::parse(kind, &args) {
            Ok(parsed) => layout = mkfs_args::layout(kind, &parsed).ok(),
            Err(r) => cx.err(&at.key(&format!("{prefix}[{}]", r.at)), r.message),
        }
    }
    (args, layout)
}

/// tmpfs's size: `size:` and the options that also set it (`size=`,
/// `nr_blocks=`) exclude each other, and the kernel's sizes (`size=`,
/// `nr_blocks=`, `nr_inodes=`) must be numbers it reads (memparse: digits
/// with an optional k m g t p e; `size=` also a percentage of RAM).
fn check_tmpfs(cx: &mut Ctx, size_key: &str, size: Option<u64>, opts: &[String], paths: &[String]) {
    if let Some(s) = size.filter(|s| *s > MAX_FILE) {
        cx.err(
            size_key,
            format!(
                "{} is larger than any tmpfs can be ({}); give a smaller size",
                format_size(s),
                format_size(MAX_FILE)
            ),
        );
    }
    let mut sized_by: Option<&str> = None;
    for (opt, path) in opts.iter().zip(paths) {
        let Some((key, value)) = opt.split_once('=') else {
            continue;
        };
        if !matches!(key, "size" | "nr_blocks" | "nr_inodes") {
            continue;
        }
        let percent = key == "size" && value.ends_with('%');
        let number = if percent {
            value[..value.len() - 1]
                .parse::<u64>()
                .ok()
                .filter(|p| *p <= 100)
        } else {
            kernel_number(value).filter(|n| *n <= MAX_FILE)
        };
        if number.is_none() {
            cx.err(
                path,
                format!(
                    "`{opt}`: tmpfs takes a whole number here, with an optional k, m, g, t, \
                     p or e{}, up to 8 EiB",
                    if key == "size" {
                        " (or a percentage of RAM such as 50%)"
                    } else {
                        ""
                    }
                ),
            );
            continue;
        }
        if key == "nr_inodes" {
            continue;
        }
        if size.is_some() {
            cx.err(
                path,
                format!(
                    "`{opt}` sets the tmpfs size, which `size:` already gives; keep one \
                     (`size: 1GiB` is the usual spelling)"
                ),
            );
        } else if let Some(prev) = sized_by.filter(|p| !p.starts_with(&format!("{key}="))) {
            cx.err(
                path,
                format!("`{opt}` and `{prev}` both set the tmpfs size; keep one"),
            );
        }
        sized_by.get_or_insert(opt);
    }
}

/// A number as the kernel's memparse reads it: decimal, 0x hex or 0
/// octal, then an optional K M G T P E (binary, either case). None when
/// it is not one or does not fit in 64 bits.
fn kernel_number(v: &str) -> Option<u64> {
    let (radix, body) = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => (16, hex),
        None if v.len() > 1 && v.starts_with('0') => (8, &v[1..]),
        None => (10, v),
    };
    let end = body
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(body.len());
    let (digits, suffix) = body.split_at(end);
    if digits.is_empty() && radix != 8 {
        return None;
    }
    let n = if digits.is_empty() {
        0
    } else {
        u64::from_str_radix(digits, radix).ok()?
    };
    let shift = match suffix {
        "" => 0,
        "k" | "K" => 10,
        "m" | "M" => 20,
        "g" | "G" => 30,
        "t" | "T" => 40,
        "p" | "P" => 50,
        "e" | "E" => 60,
        _ => return None,
    };
    n.checked_mul(1u64 << shift)
}

/// The largest file or filesystem Linux has (loff_t): an image, or a
/// tmpfs, cannot be larger.
const MAX_FILE: u64 = i64::MAX as u64;
/// mkfs.ext4 with wpbench's arguments (`-F -q -e continue -E
/// lazy_itable_init=0,lazy_journal_init=0`) and the stock mke2fs.conf
/// fails on images below this: formatting sparse images found 103 KiB
/// failing, 104 KiB working, and every size above it working.
const EXT4_MIN_SIZE: u64 = 104 * KIB;
/// The least any mkfs.ext4 arguments format (1 KiB blocks, 128-byte
/// inodes, `-T small`); with 2 KiB blocks 112 KiB, with 4 KiB 220 KiB.
const EXT4_FLOOR: u64 = 60 * KIB;
const EXT4_FLOOR_2K: u64 = 112 * KIB;
const EXT4_FLOOR_4K: u64 = 220 * KIB;
/// ext4 counts blocks in 48 bits (with its default 64bit feature).
const EXT4_MAX_BLOCKS: u64 = 1 << 48;
/// mkfs.xfs refuses smaller filesystems ("Filesystem must be larger than
/// 300MB"; 300 MiB exactly works).
pub const XFS_MIN_SIZE: u64 = 300 * MIB;

/// Sizes mkfs or the kernel certainly refuse, for an ext4 or xfs of
/// `size` bytes (a target or an overlay's upper) made with `mkfs`
/// arguments whose layout is `layout` (None when they were refused).
/// `size_key` is where a size was written; `mkfs_key` the arguments.
fn check_fs_size(
    cx: &mut Ctx,
    size_key: Option<&str>,
    mkfs_key: &str,
    kind: TargetKind,
    size: u64,
    mkfs: &[String],
    layout: Option<Layout>,
) {
    let Some(l) = layout else { return };
    // Without a written size, the default size is not the user's to fix:
    // their mkfs arguments are.
    let key = size_key.unwrap_or(mkfs_key);
    if size > MAX_FILE {
        cx.err(
            key,
            format!(
                "{} is larger than any file Linux can hold ({}), so no image of it can exist; \
                 give a smaller size",
                format_size(size),
                format_size(MAX_FILE)
            ),
        );
        return;
    }
    match kind {
        TargetKind::Ext4 => {
            let (min, why) = if mkfs.is_empty() {
                (EXT4_MIN_SIZE, "with wpbench's mkfs arguments".to_string())
            } else {
                let floor = match l.block_size {
                    Some(b) if b >= 4096 => EXT4_FLOOR_4K,
                    Some(2048) => EXT4_FLOOR_2K,
                    _ => EXT4_FLOOR,
                };
                let plain = l.inodes.is_none()
                    && l.inode_ratio.is_none()
                    && l.inode_size.is_none()
                    && !l.other;
                match (l.block_size, plain) {
                    (None, true) => (EXT4_MIN_SIZE, "with these mkfs arguments".to_string()),
                    _ => (
                        floor,
                        "whatever the other mkfs arguments (the exact minimum depends on them)"
                            .to_string(),
                    ),
                }
            };
            if size < min {
                cx.err(
                    key,
                    format!(
                        "{} is too small for ext4: mkfs.ext4 cannot format less than {} {why}; \
                         give at least {}",
                        format_size(size),
                        format_size(min),
                        format_size(min)
                    ),
                );
            }
            // Inodes fit in a block: 1 KiB blocks below 512 MiB with the
            // stock mke2fs.conf (other layout arguments may change that).
            let bs =
                l.block_size
                    .or((!l.other).then_some(if size < 512 * MIB { 1024 } else { 4096 }));
            if let (Some(i), Some(b)) = (l.inode_size, bs) {
                if i > b {
                    cx.err(
                        mkfs_key,
                        format!(
                            "-I {i}: an inode cannot be larger than a block, and this ext4's \
                             blocks are {} ({}); use -I {b} or less, or give -b",
                            format_size(b),
                            if l.block_size.is_some() {
                                "from -b"
                            } else {
                                "mkfs.ext4's default below 512MiB is 1KiB"
                            },
                        ),
                    );
                }
            }
            let block = l.block_size.unwrap_or(4096);
            if size / block >= EXT4_MAX_BLOCKS {
                cx.err(
                    key,
                    format!(
                        "{} is too large for ext4: it counts at most 2^48 blocks ({} with {} \
                         blocks)",
                        format_size(size),
                        format_size(EXT4_MAX_BLOCKS.saturating_mul(block) - 1),
                        format_size(block)
                    ),
                );
            }
            if let Some(n) = l.inodes {
                // mke2fs's own rule: the inode tables must fit in the image.
                // Inodes are 256 bytes with the stock mke2fs.conf; other
                // layout arguments may make them 128.
                let isize = l.inode_size.unwrap_or(if l.other { 128 } else { 256 });
                if u128::from(n) * u128::from(isize) >= u128::from(size) {
                    cx.err(
                        mkfs_key,
                        format!(
                            "-N {n}: {n} inodes of {isize} bytes or more do not fit in {}; \
                             mkfs.ext4 refuses that; ask for fewer inodes or a larger size",
                            format_size(size)
                        ),
                    );
                }
            }
        }
        TargetKind::Xfs => {
            if let Some(d) = l.data_size.filter(|d| *d > size) {
                cx.err(
                    mkfs_key,
                    format!(
                        "-d size={} is larger than the image ({}); mkfs.xfs refuses that",
                        format_size(d),
                        format_size(size)
                    ),
                );
            }
            let fs = l.data_size.unwrap_or(size).min(size);
            if fs < XFS_MIN_SIZE {
                let (key, what) = if l.data_size.is_some_and(|d| d < size) {
                    (mkfs_key, format!("-d size={}", format_size(fs)))
                } else {
                    (key, format_size(fs))
                };
                cx.err(
                    key,
                    format!(
                        "{what} is too small for xfs: mkfs.xfs makes no filesystem under {}; \
                         give at least {}",
                        format_size(XFS_MIN_SIZE),
                        format_size(XFS_MIN_SIZE)
                    ),
                );
            }
        }
        _ => {}
    }
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
const NAME_MAX: usize = 255;

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

// -------------------------------------------------------------- workloads

/// Most task logs one log_append thread keeps open (each is a file
/// descriptor; the run raises the soft RLIMIT_NOFILE as far as needed).
const MAX_OPEN_TASKS: u64 = 10_000;

const WORKLOAD_COMMON: &[&str] = &["name", "kind", "threads", "rate", "think_time", "vary"];
const WRITERS: &[&str] = &["small_files", "fsync_heavy", "log_append"];
const WORKLOAD_KEYS: &[(&str, &[&str])] = &[
    ("fsync", WRITERS),
    ("sync_call", WRITERS),
    (
        "fsync_dir",
        &["small_files", "log_append", "metadata", "sequence"],
    ),
    (
        "file_size",
        &[
            "small_files",
            "fsync_heavy",
            "log_append",
            "read_atime",
            "copy_up",
            "metadata",
            "sequence",
        ],
    ),
    ("files", &["read_atime", "copy_up", "metadata", "sequence"]),
    ("action", &["copy_up"]),
    ("files_per_dir", &["small_files"]),
    ("record_size", &["fsync_heavy"]),
    ("line_size", &["log_append"]),
    ("retain", &["log_append"]),
    ("open_tasks", &["log_append"]),
    ("o_direct", &["small_files", "fsync_heavy", "sequence"]),
    (
        "payload",
        &[
            "small_files",
            "fsync_heavy",
            "log_append",
            "metadata",
            "sequence",
        ],
    ),
    ("mix", &["metadata"]),
    ("steps", &["sequence"]),
];

fn workload_entry(cx: &mut Ctx, i: usize, node: &Node) -> Vec<(WorkloadSpec, At)> {
    let at = At::new(format!("workloads[{i}]"));
    let kind: Option<WorkloadKind> = yaml::get(node, "kind").and_then(|k| yaml::from_node(k).ok());
    let allowed = |k: &str| match kind {
        Some(kind) => key_for_kind(
            k,
            kind.as_str(),
            "workloads",
            WORKLOAD_COMMON,
            WORKLOAD_KEYS,
        ),
        None => Ok(()),
    };
    let mut base_checked = false;
    entries_of(
        cx,
        &at,
        node,
        &allowed,
        false,
        |cx, raw: &RawWorkload, at, _, label| {
            let base_name = if base_checked {
                raw.name.clone().unwrap_or_default()
            } else {
                base_checked = true;
                let n = written_name(cx, at, raw.name.as_deref());
                if raw.kind.is_none() {
                    cx.err(
                        &at.key("kind"),
                        "missing required key `kind` (small_files, fsync_heavy, log_append, read_atime, \
                         copy_up, metadata or sequence)",
                    );
                }
                n
            };
            check_workload(cx, raw, at, &base_name, label)
        },
    )
    .into_iter()
    .filter_map(|(w, p)| w.map(|w| (w, p)))
    .collect()
}

fn check_workload(
    cx: &mut Ctx,
    raw: &RawWorkload,
    at: &At,
    base_name: &str,
    label: Option<&str>,
) -> Option<WorkloadSpec> {
    let kind = raw.kind?;
    for k in raw.kind_keys() {
        if let Err(m) = key_for_kind(
            k,
            kind.as_str(),
            "workloads",
            WORKLOAD_COMMON,
            WORKLOAD_KEYS,
        ) {
            cx.err(&at.key(k), m);
        }
    }
    let threads = match raw.threads {
        None => 1,
        Some(t @ 1..=1024) => t as u32,
        Some(t) => {
            cx.err(
                &at.key("threads"),
                format!("must be between 1 and 1024, not {t}"),
            );
            1
        }
    };
    let rate = raw.rate.map(|U(Rate(r))| r);
    if let Some(r) = rate {
        if !(r.is_finite() && r > 0.0) {
            cx.err(
                &at.key("rate"),
                "must be more than 0/s; leave `rate` out for a closed loop",
            );
        } else if 1.0 / r > u64::MAX as f64 / 1e9 {
            // The pacing interval is a Duration of nanoseconds.
            cx.err(
                &at.key("rate"),
                "is too low: one op in more than 584 years, the longest interval wpbench \
                 can schedule; leave `rate` out for a closed loop",
            );
        }
    }
    let heavy = kind == WorkloadKind::FsyncHeavy;
    let fsync = match raw.fsync {
        None if heavy => SyncPolicy::Always,
        None => SyncPolicy::Never,
        Some(RawFsync::Always) => SyncPolicy::Always,
        Some(RawFsync::Never) => SyncPolicy::Never,
        Some(RawFsync::End) => SyncPolicy::End,
        Some(RawFsync::OnClose) => SyncPolicy::OnClose,
        Some(RawFsync::Every(n)) => {
            if n == 0 {
                cx.err(&at.key("fsync.every"), "must be at least 1");
            }
            SyncPolicy::Every(n.max(1))
        }
        Some(RawFsync::EveryBytes(b)) => {
            if b == 0 {
                cx.err(
                    &at.key("fsync.every_bytes"),
                    "must be larger than 0B; for a sync after every write use `fsync: always`",
                );
            }
            SyncPolicy::EveryBytes(b.max(1))
        }
        Some(RawFsync::Interval(d)) => {
            if d.is_zero() {
                cx.err(
                    &at.key("fsync.interval"),
                    "must be longer than 0s; for a sync after every write use `fsync: always`",
                );
            }
            SyncPolicy::Interval(d)
        }
    };
    let sync_call = match raw.sync_call {
        None if heavy => SyncCall::Fdatasync,
        None => SyncCall::Fsync,
        Some(RawSyncCall::Fsync) => SyncCall::Fsync,
        Some(RawSyncCall::Fdatasync) => SyncCall::Fdatasync,
        Some(RawSyncCall::SyncFileRange) => SyncCall::SyncFileRange,
        Some(RawSyncCall::ODsync) => SyncCall::ODsync,
        Some(RawSyncCall::OSync) => SyncCall::OSync,
        Some(RawSyncCall::Syncfs) => SyncCall::Syncfs,
    };
    if sync_call.is_open_flag() && fsync != SyncPolicy::Always {
        cx.err(
            &at.key("sync_call"),
            format!(
                "`{}` is an open flag that makes every write synchronous, so it needs \
                 `fsync: always`; to sync less often use fsync or fdatasync",
                sync_call.as_str()
            ),
        );
    }
    let fsync_dir = !heavy && raw.fsync_dir.unwrap_or(false);
    let size_or = |v: Option<U<SizeRange>>, d: SizeRange| v.map_or(d, |U(r)| r);
    let min_record = |cx: &mut Ctx, key: &str, r: SizeRange| {
        if r.min < MIN_RECORD {
            cx.err(
                &at.key(key),
                format!(
                    "must be at least {MIN_RECORD}B: each one carries a header that \
                     the durability check reads back"
                ),
            );
        }
    };
    let params = match kind {
        WorkloadKind::SmallFiles => WorkloadParams::SmallFiles {
            file_size: size_or(raw.file_size, SizeRange::fixed(4 * KIB)),
            files_per_dir: match raw.files_per_dir {
                Some(0) => {
                    cx.err(&at.key("files_per_dir"), "must be at least 1");
                    1
                }
                Some(n) => n,
                None => 1000,
            },
        },
        WorkloadKind::FsyncHeavy => {
            let record_size = size_or(raw.record_size, SizeRange::fixed(4 * KIB));
            min_record(cx, "record_size", record_size);
            let file = size_or(raw.file_size, SizeRange::fixed(64 * MIB));
            if !file.is_fixed() {
                cx.err(
                    &at.key("file_size"),
                    "is one size for fsync_heavy (each thread's preallocated log), not a range",
                );
            } else if file.max < record_size.max.saturating_mul(2) {
                cx.err(
                    &at.key("file_size"),
                    format!(
                        "must be at least twice the largest record ({}), so the log holds \
                         more than one record before it wraps",
                        format_size(record_size.max.saturating_mul(2))
                    ),
                );
            }
            WorkloadParams::FsyncHeavy {
                record_size,
                file_size: file.max,
            }
        }
        WorkloadKind::LogAppend => {
            let line_size = size_or(raw.line_size, SizeRange { min: 120, max: 400 });
            min_record(cx, "line_size", line_size);
            let file_size = size_or(
                raw.file_size,
                SizeRange {
                    min: 100 * KIB,
                    max: 300 * KIB,
                },
            );
            if file_size.min < line_size.max {
                cx.err(
                    &at.key("file_size"),
                    format!(
                        "must be at least the largest line ({}), or a task's log could not hold one line",
                        format_size(line_size.max)
                    ),
                );
            }
            let open_tasks = match raw.open_tasks {
                None => 1,
                Some(n @ 1..=MAX_OPEN_TASKS) => n as u32,
                Some(n) => {
                    cx.err(
                        &at.key("open_tasks"),
                        format!(
                            "must be between 1 and {MAX_OPEN_TASKS} task logs open per thread, not {n}"
                        ),
                    );
                    1
                }
            };
            WorkloadParams::LogAppend {
                line_size,
                file_size,
                retain: raw.retain.unwrap_or(10),
                open_tasks,
            }
        }
        WorkloadKind::ReadAtime => WorkloadParams::ReadAtime {
            files: files_at_least_one(cx, at, raw.files, 1000),
            file_size: size_or(raw.file_size, SizeRange::fixed(4 * KIB)),
        },
        WorkloadKind::Metadata => WorkloadParams::Metadata {
            files: files_at_least_one(cx, at, raw.files, 1000),
            file_size: size_or(raw.file_size, SizeRange::fixed(0)),
            mix: check_mix(cx, at, raw.mix.as_ref()),
        },
        WorkloadKind::Sequence => {
            let files = raw.files.unwrap_or(100);
            let steps = check_steps(cx, at, raw.steps.as_deref(), files);
            WorkloadParams::Sequence {
                steps,
                files,
                file_size: size_or(raw.file_size, SizeRange::fixed(16 * KIB)),
            }
        }
        WorkloadKind::CopyUp => WorkloadParams::CopyUp {
            action: raw.action.unwrap_or(CopyUpAction::Chmod),
            files: files_at_least_one(cx, at, raw.files, 1000),
            file_size: size_or(raw.file_size, SizeRange::fixed(64 * KIB)),
        },
    };
    let think_time = raw.think_time.map(|U(d)| d);
    if let Some(t) = think_time {
        if rate.is_some() {
            cx.err(
                &at.key("think_time"),
                "`think_time` is a closed-loop pause between unit ops, and `rate` sets an \
                 open-loop schedule; give one or the other",
            );
        } else if t.is_zero() {
            cx.err(
                &at.key("think_time"),
                "must be longer than 0s; leave `think_time` out for no pause",
            );
        }
    }
    // `o_direct` on a kind without it was reported by `key_for_kind`.
    let o_direct = raw.o_direct.unwrap_or(false)
        && matches!(
            kind,
            WorkloadKind::SmallFiles | WorkloadKind::FsyncHeavy | WorkloadKind::Sequence
        );
    if o_direct {
        check_direct_sizes(cx, at, &params);
    }
    check_buffer_sizes(cx, at, &params);
    let payload = match raw.payload {
        None | Some(RawPayload::Random) => PayloadKind::Random,
        Some(RawPayload::Zeros) => PayloadKind::Zeros,
        Some(RawPayload::Compressible(f)) => {
            if !(0.0..=1.0).contains(&f) {
                cx.err(
                    &at.key("payload.compressible"),
                    "must be a fraction from 0 to 1 (or 0% to 100%) of each block that is zeros",
                );
            }
            PayloadKind::Compressible(f.clamp(0.0, 1.0))
        }
    };
    Some(WorkloadSpec {
        name: expanded_name(base_name, label),
        base_name: base_name.to_string(),
        kind,
        threads,
        rate,
        fsync,
        sync_call,
        fsync_dir,
        o_direct,
        think_time,
        payload,
        params,
    })
}

fn files_at_least_one(cx: &mut Ctx, at: &At, files: Option<u64>, default: u64) -> u64 {
    match files {
        Some(0) => {
            cx.err(&at.key("files"), "must be at least 1");
            1
        }
        Some(n) => n,
        None => default,
    }
}

/// Largest file, record, line or step a workload writes or reads: each is
/// one buffer in memory, so a typo such as `4GiB` for `4KiB` would eat the
/// node's memory one thread at a time.
const MAX_BUFFER: u64 = GIB;

/// What one op writes or reads from one buffer, by key: the file of
/// small_files, the record of a WAL, a log line, a sequence's steps.
fn op_sizes(params: &WorkloadParams) -> Vec<(String, SizeRange)> {
    let mut sizes: Vec<(String, SizeRange)> = Vec::new();
    match params {
        WorkloadParams::SmallFiles { file_size, .. }
        | WorkloadParams::ReadAtime { file_size, .. }
        | WorkloadParams::Metadata { file_size, .. }
        | WorkloadParams::CopyUp { file_size, .. } => sizes.push(("file_size".into(), *file_size)),
        WorkloadParams::FsyncHeavy { record_size, .. } => {
            sizes.push(("record_size".into(), *record_size))
        }
        WorkloadParams::LogAppend { line_size, .. } => sizes.push(("line_size".into(), *line_size)),
        WorkloadParams::Sequence {
            steps, file_size, ..
        } => {
            sizes.push(("file_size".into(), *file_size));
            for (j, step) in steps.iter().enumerate() {
                match step {
                    SeqStep::Write(r) => sizes.push((format!("steps[{j}].write"), *r)),
                    SeqStep::Append(r) => sizes.push((format!("steps[{j}].append"), *r)),
                    _ => {}
                }
            }
        }
    }
    sizes
}

fn check_buffer_sizes(cx: &mut Ctx, at: &At, params: &WorkloadParams) {
    for (key, r) in op_sizes(params) {
        if r.max > MAX_BUFFER {
            cx.err(
                &at.key(&key),
                format!(
                    "`{r}` is over {}: each one is written or read from one buffer in memory, per thread; use a size up to {}",
                    format_size(MAX_BUFFER),
                    format_size(MAX_BUFFER)
                ),
            );
        }
    }
}

/// O_DIRECT writes whole blocks from aligned buffers at aligned offsets.
const DIRECT_BLOCK: u64 = 4 * KIB;

/// For the kinds that take `o_direct` (small_files, fsync_heavy, sequence).
fn check_direct_sizes(cx: &mut Ctx, at: &At, params: &WorkloadParams) {
    let aligned = |r: &SizeRange| r.min % DIRECT_BLOCK == 0 && r.max % DIRECT_BLOCK == 0;
    let mut sizes = op_sizes(params);
    if let WorkloadParams::FsyncHeavy { file_size, .. } = params {
        // The preallocated log is written with O_DIRECT too.
        sizes.push(("file_size".into(), SizeRange::fixed(*file_size)));
    }
    for (key, r) in sizes {
        if !aligned(&r) || r.min == 0 {
            cx.err(
                &at.key(&key),
                format!(
                    "`{r}` with `o_direct: true`: O_DIRECT needs sizes in whole 4KiB blocks \
                     (4KiB, 8KiB, 4KiB..64KiB …)"
                ),
            );
        }
    }
}

fn check_mix(cx: &mut Ctx, at: &At, mix: Option<&Node>) -> Vec<(MetaOp, u32)> {
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
fn check_steps(cx: &mut Ctx, at: &At, steps: Option<&[Node]>, files: u64) -> Vec<SeqStep> {
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

// ----------------------------------------------------------------- faults

/// (full name, written name) of every target and workload.
struct Names<'a> {
    targets: Vec<(&'a str, &'a str)>,
    workloads: Vec<(&'a str, &'a str)>,
}

fn fault_name(kind: FaultKind) -> &'static str {
    kind.as_str()
}

/// A glob that must select something (by full or written name); the
/// error lists what exists.
fn check_glob(cx: &mut Ctx, key: &str, glob: &str, what: &str, names: &[(&str, &str)]) {
    if names.iter().any(|(full, base)| selects(glob, full, base)) {
        return;
    }
    let full: Vec<&str> = names.iter().map(|(f, _)| *f).collect();
    let hint = match diag::suggest(glob, &full) {
        Some(s) => format!("did you mean `{s}`? "),
        None => String::new(),
    };
    let list = match full.len() {
        0 => "(none)".to_string(),
        n if n <= MAX_LISTED => full.join(", "),
        n => format!(
            "{} … and {} more",
            full[..MAX_LISTED].join(", "),
            n - MAX_LISTED
        ),
    };
    cx.err(
        key,
        format!(
            "`{}` matches no {what}; {hint}{what}s are: {list}",
            diag::abbreviate(glob, 100)
        ),
    );
}

/// Names listed in one message at most (a `vary` may make a thousand).
const MAX_LISTED: usize = 20;

const FAULT_COMMON: &[&str] = &["kind", "target", "workload"];
const FAULT_KEYS: &[(&str, &[&str])] = &[
    ("at", &["crash"]),
    ("after_ops", &["crash"]),
    ("trials", &["crash"]),
    ("profile", &["throttle"]),
    ("write_iops", &["throttle"]),
    ("write_bps", &["throttle", "noisy_neighbor"]),
    ("read_iops", &["throttle"]),
    ("read_bps", &["throttle"]),
    ("fsync_every", &["noisy_neighbor"]),
    ("pattern", &["noisy_neighbor"]),
    ("file_size", &["noisy_neighbor"]),
    ("resource", &["enospc"]),
    ("on_error", &["enospc", "eio"]),
    ("fill", &["enospc"]),
    ("headroom", &["enospc"]),
    ("headroom_files", &["enospc"]),
    ("after", &["eio"]),
];

/// What a fault that acts on a block device finds under a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Device {
    /// A loop device wpbench attached (ext4, xfs, an overlay on either).
    Loop,
    /// No device at all (tmpfs, an overlay on a tmpfs upper).
    None,
    /// The host's own disk (hostpath).
    Host,
}

fn device_of(t: &TargetSpec) -> Device {
    match t.kind {
        TargetKind::Ext4 | TargetKind::Xfs => Device::Loop,
        TargetKind::Tmpfs => Device::None,
        TargetKind::Hostpath => Device::Host,
        TargetKind::Overlay => match t.upper.as_deref().map(|u| u.kind) {
            Some(TargetKind::Ext4 | TargetKind::Xfs) => Device::Loop,
            _ => Device::None,
        },
    }
}

/// throttle, noisy_neighbor and eio act on the target's block device: the
/// glob must select at least one target that has one, and a throttle or an
/// eio never selects a hostpath (wpbench must not throttle or break the
/// host's own disk).
fn check_device_targets(
    cx: &mut Ctx,
    at: &At,
    kind: FaultKind,
    glob: &str,
    targets: &[TargetSpec],
) {
    let selected: Vec<&TargetSpec> = targets.iter().filter(|t| t.selected_by(glob)).collect();
    if selected.is_empty() {
        return; // check_glob said so
    }
    let what = fault_name(kind);
    if matches!(kind, FaultKind::Throttle | FaultKind::Eio) {
        for t in selected.iter().filter(|t| device_of(t) == Device::Host) {
            cx.err(
                &at.key("target"),
                format!(
                    "`{glob}` selects hostpath target `{}`, which {} cannot hit: \
                     wpbench never {} the host's own disk; narrow `target` \
                     (a noisy_neighbor may share a hostpath's disk)",
                    t.name,
                    if kind == FaultKind::Eio {
                        "an eio fault"
                    } else {
                        "a throttle"
                    },
                    if kind == FaultKind::Eio {
                        "fails"
                    } else {
                        "throttles"
                    },
                ),
            );
        }
    }
    if selected.iter().all(|t| device_of(t) == Device::None) {
        let names: Vec<&str> = selected.iter().map(|t| t.name.as_str()).collect();
        cx.err(
            &at.key("target"),
            format!(
                "`{glob}` selects only {} ({}): tmpfs has no device, so a {what} \
                 fault has nothing to act on; select an ext4 or xfs target, or an overlay on one",
                if names.len() == 1 {
                    "a target without a block device"
                } else {
                    "targets without a block device"
                },
                names.join(", ")
            ),
        );
    }
}

/// A positive count or rate; 0 would mean "no limit" to the kernel.
fn positive(cx: &mut Ctx, at: &At, key: &str, v: Option<u64>) -> Option<u64> {
    match v {
        Some(0) => {
            cx.err(
                &at.key(key),
                "must be at least 1 (leave the key out for no limit)",
            );
            None
        }
        v => v,
    }
}

fn check_throttle(cx: &mut Ctx, at: &At, raw: &RawFault) -> ThrottleSpec {
    let profile = raw.profile.as_deref().and_then(|p| {
        if super::profiles::profile(p).is_some() {
            Some(p.to_string())
        } else {
            let names = super::profiles::profile_names();
            cx.err(&at.key("profile"), diag::unknown("profile", p, &names));
            None
        }
    });
    let spec = ThrottleSpec {
        profile,
        write_iops: positive(cx, at, "write_iops", raw.write_iops),
        write_bps: positive(cx, at, "write_bps", raw.write_bps.map(|U(r)| r.0)),
        read_iops: positive(cx, at, "read_iops", raw.read_iops),
        read_bps: positive(cx, at, "read_bps", raw.read_bps.map(|U(r)| r.0)),
    };
    let any_key = raw.profile.is_some()
        || raw.write_iops.is_some()
        || raw.write_bps.is_some()
        || raw.read_iops.is_some()
        || raw.read_bps.is_some();
    if !any_key {
        cx.err(
            &at.key("kind"),
            format!(
                "a throttle needs at least one limit (write_iops, write_bps, read_iops, read_bps) \
                 or a `profile` ({})",
                super::profiles::profile_names().join(", ")
            ),
        );
    }
    spec
}

fn check_noisy(cx: &mut Ctx, at: &At, raw: &RawFault) -> NoisySpec {
    let write_bps = match raw.write_bps {
        None => {
            cx.err(
                &at.key("kind"),
                "a noisy_neighbor needs `write_bps`, the rate it writes at (e.g. `50MiB/s`)",
            );
            1
        }
        Some(U(r)) => positive(cx, at, "write_bps", Some(r.0)).unwrap_or(1),
    };
    let fsync_every = match raw.fsync_every {
        Some(U(Size(0))) => {
            cx.err(
                &at.key("fsync_every"),
                "must be at least 1B (leave it out to never fsync)",
            );
            None
        }
        v => v.map(|U(s)| s.0),
    };
    let file_size = match raw.file_size {
        None => NoisySpec::DEFAULT_FILE_SIZE,
        Some(U(Size(n))) if n < NoisySpec::BLOCK as u64 => {
            cx.err(
                &at.key("file_size"),
                format!(
                    "must be at least {} (one block), not {}",
                    format_size(NoisySpec::BLOCK as u64),
                    format_size(n)
                ),
            );
            NoisySpec::DEFAULT_FILE_SIZE
        }
        Some(U(Size(n))) => n,
    };
    NoisySpec {
        write_bps,
        fsync_every,
        pattern: raw.pattern.unwrap_or_default(),
        file_size,
    }
}

fn fault_entry(
    cx: &mut Ctx,
    i: usize,
    node: &Node,
    names: &Names,
    targets: &[TargetSpec],
    stop: Stop,
) -> Option<FaultSpec> {
    let at = At::new(format!("faults[{i}]"));
    if !yaml::is_mapping(node) {
        cx.err(
            &at.base,
            format!(
                "a fault is a mapping with `kind` and its keys; found {}",
                yaml::describe(node)
            ),
        );
        return None;
    }
    let raw: RawFault = match yaml::from_node(node) {
        Ok(r) => r,
        Err(e) => {
            cx.de_err(&at, e);
            return None;
        }
    };
    let Some(kind) = raw.kind else {
        cx.err(
            &at.key("kind"),
            "missing required key `kind` (crash, enospc, eio, throttle or noisy_neighbor)",
        );
        return None;
    };
    let kind = match kind {
        RawFaultKind::Crash => FaultKind::Crash,
        RawFaultKind::Enospc => FaultKind::Enospc,
        RawFaultKind::Eio => FaultKind::Eio,
        RawFaultKind::Throttle => FaultKind::Throttle,
        RawFaultKind::NoisyNeighbor => FaultKind::NoisyNeighbor,
    };
    for k in raw.kind_keys() {
        if let Err(m) = key_for_kind(k, fault_name(kind), "faults", FAULT_COMMON, FAULT_KEYS) {
            cx.err(&at.key(k), m);
        }
    }
    let target = raw.target.clone().unwrap_or_else(|| "*".into());
    let workload = raw.workload.clone().unwrap_or_else(|| "*".into());
    check_glob(cx, &at.key("target"), &target, "target", &names.targets);
    check_glob(
        cx,
        &at.key("workload"),
        &workload,
        "workload",
        &names.workloads,
    );

    let at_range = raw.at.map(|U(r)| r);
    let trials = match raw.trials {
        None => 1,
        Some(t) if t >= 1 && t <= u64::from(u32::MAX) => t as u32,
        Some(t) => {
            cx.err(&at.key("trials"), format!("must be at least 1, not {t}"));
            1
        }
    };
    if kind == FaultKind::Crash {
        match (at_range, raw.after_ops) {
            (Some(_), Some(_)) => cx.err(
                &at.key("after_ops"),
                "give either `at` or `after_ops`, not both",
            ),
            (None, None) => cx.err(
                &at.key("at"),
                "a crash needs a moment: `at: 1s..3s` (drawn with the seed) or `after_ops: N`",
            ),
            _ => {}
        }
        if let (Some(r), Stop::Duration(d)) = (at_range, stop) {
            if r.max >= d && cx.overrides.duration.is_some() {
                cx.err(
                    "duration",
                    format!(
                        "the measured phase ends before the crash of `{}` can fire (its `at` \
                         reaches {}); give a longer --duration",
                        at.base,
                        format_duration_exact(r.max)
                    ),
                );
            } else if r.max >= d {
                cx.err(
                    &at.key("at"),
                    format!(
                        "the crash must fire before the cell ends: `at` reaches {} but `duration` is {}",
                        format_duration(r.max),
                        format_duration(d)
                    ),
                );
            }
        }
        for t in targets.iter().filter(|t| t.selected_by(&target)) {
            if t.kind == TargetKind::Hostpath {
                cx.err(
                    &at.key("target"),
                    format!(
                        "`{target}` selects hostpath target `{}`, which a crash cannot hit: \
                         wpbench never shuts down a filesystem it did not create; narrow `target`",
                        t.name
                    ),
                );
            }
        }
    }
    let (throttle, noisy) = match kind {
        FaultKind::Throttle => (Some(check_throttle(cx, &at, &raw)), None),
        FaultKind::NoisyNeighbor => (None, Some(check_noisy(cx, &at, &raw))),
        _ => (None, None),
    };
    if matches!(
        kind,
        FaultKind::Throttle | FaultKind::NoisyNeighbor | FaultKind::Eio
    ) {
        check_device_targets(cx, &at, kind, &target, targets);
    }
    let eio = (kind == FaultKind::Eio).then(|| {
        let after = match raw.after {
            Some(U(Size(0))) => {
                cx.err(
                    &at.key("after"),
                    "must be larger than 0B: the workload's first write would fail before \
                     anything is measured",
                );
                0
            }
            Some(U(Size(s))) => s,
            None => {
                cx.err(
                    &at.key("kind"),
                    "an eio fault needs `after: SIZE`: how much more backing the thin volume \
                     may allocate before its writes fail (e.g. `after: 64MiB`)",
                );
                0
            }
        };
        EioSpec {
            after,
            on_error: raw.on_error.unwrap_or(OnError::Continue),
        }
    });
    let enospc = (kind == FaultKind::Enospc).then(|| {
        let resource = raw.resource.unwrap_or(Resource::Blocks);
        if resource == Resource::Blocks && raw.headroom_files.is_some() {
            cx.err(
                &at.key("headroom_files"),
                "is for `resource: inodes`; use `headroom: SIZE` for blocks",
            );
        }
        if resource == Resource::Inodes && raw.headroom.is_some() {
            cx.err(
                &at.key("headroom"),
                "is for `resource: blocks`; use `headroom_files: N` for inodes",
            );
        }
        for t in targets.iter().filter(|t| t.selected_by(&target)) {
            if t.kind == TargetKind::Hostpath {
                cx.err(
                    &at.key("target"),
                    format!(
                        "`{target}` selects hostpath target `{}`: wpbench never fills the host's \
                         own filesystem; narrow `target`",
                        t.name
                    ),
                );
            }
        }
        EnospcSpec {
            resource,
            on_error: raw.on_error.unwrap_or(OnError::Continue),
            fill: raw.fill.unwrap_or(true),
            headroom: raw.headroom.map_or(4 << 20, |U(Size(s))| s),
            headroom_files: raw.headroom_files.unwrap_or(200),
        }
    });
    Some(FaultSpec {
        kind,
        target,
        workload,
        at: at_range,
        after_ops: raw.after_ops,
        trials,
        throttle,
        noisy,
        enospc,
        eio,
    })
}

// ------------------------------------------------------------------ gates

fn gate_entry(
    cx: &mut Ctx,
    i: usize,
    node: &Node,
    names: &Names,
    faults: &[(&str, &str)],
    cells: Option<&Cells>,
) -> Option<GateSpec> {
    let at = At::new(format!("gates[{i}]"));
    if !yaml::is_mapping(node) {
        cx.err(
            &at.base,
            format!(
                "a gate is a mapping: `select` with limits, or `baseline`; found {}",
                yaml::describe(node)
            ),
        );
        return None;
    }
    let raw: RawGate = match yaml::from_node(node) {
        Ok(r) => r,
        Err(e) => {
            cx.de_err(&at, e);
            return None;
        }
    };
    let mut limits: Vec<GateLimit> = Vec::new();
    let mut limit_keys: Vec<(String, Limit)> = Vec::new();
    for (prefix, level, raw_limits) in [
        ("", Level::Fail, Some(raw.top_limits())),
        ("fail.", Level::Fail, raw.fail),
        ("warn.", Level::Warn, raw.warn),
    ] {
        if let Some(r) = raw_limits {
            for (key, limit) in check_limits(cx, &at, prefix, &r) {
                limits.push(GateLimit { level, limit });
                limit_keys.push((key, limit));
            }
        }
    }

    let select = raw.select.clone().unwrap_or_default();
    if let Some(g) = &select.target {
        check_glob(cx, &at.key("select.target"), g, "target", &names.targets);
    }
    if let Some(g) = &select.workload {
        check_glob(
            cx,
            &at.key("select.workload"),
            g,
            "workload",
            &names.workloads,
        );
    }
    if let Some(op) = &select.op {
        let ops: Vec<&str> = Op::ALL.iter().map(|o| o.name()).collect();
        if !ops.iter().any(|n| glob_match(op, n)) {
            cx.err(&at.key("select.op"), diag::unknown("op", op, &ops));
        }
    }
    if let Some(g) = &select.fault {
        if faults.is_empty() {
            cx.err(
                &at.key("select.fault"),
                format!("`{g}` matches no fault: this scenario declares no `faults`"),
            );
        } else {
            check_glob(cx, &at.key("select.fault"), g, "fault", faults);
        }
    }

    let mut warn_regression = None;
    let max_regression = match &raw.baseline {
        Some(b) => {
            warn_regression = b.warn_regression.map(|U(Percent(p))| p);
            if let (Some(w), Some(U(Percent(m)))) = (warn_regression, b.max_regression) {
                if w > m {
                    cx.err(
                        &at.key("baseline.warn_regression"),
                        "must not exceed `max_regression`: a regression that fails cannot be \
                         smaller than one that only warns",
                    );
                }
            }
            if raw.select.is_some() || !limits.is_empty() {
                cx.err(
                    &at.key("baseline"),
                    "a gate is either `baseline: {max_regression: 10%}` or `select` with \
                     limits; split it into two gates",
                );
            }
            match b.max_regression {
                Some(U(Percent(p))) => Some(p),
                None => {
                    cx.err(
                        &at.key("baseline.max_regression"),
                        "missing required key `max_regression`, e.g. `baseline: {max_regression: 10%}`",
                    );
                    None
                }
            }
        }
        None => {
            if limits.is_empty() {
                let (key, msg) = if raw.select.is_some() {
                    (
                        at.key("select"),
                        "this gate selects cells but sets no limit; add one of p50 p90 p95 \
                         p99 p999 max mean throughput error_rate write_amplification acked_lost",
                    )
                } else {
                    (
                        at.base.clone(),
                        "an empty gate; give `select` with limits, or `baseline: {max_regression: 10%}`",
                    )
                };
                cx.err(&key, msg);
            }
            None
        }
    };
    let select = Selector {
        target: select.target,
        workload: select.workload,
        op: select.op,
        fault: select.fault,
    };
    if let Some(cells) = cells {
        for (key, m) in cells.inapplicable(&at, &select, &limit_keys) {
            cx.err(&key, m);
        }
    }
    Some(GateSpec {
        select,
        limits,
        max_regression,
        warn_regression,
        origin: at.base.clone(),
    })
}

/// A set of targets or workloads (by index), for asking which cells a gate
/// selects in time linear in their number.
#[derive(Debug, Clone)]
struct Bits(Vec<u64>);

impl Bits {
    fn of<T>(items: &[T], f: impl Fn(&T) -> bool) -> Bits {
        let mut words = vec![0u64; items.len().div_ceil(64)];
        for (i, item) in items.iter().enumerate() {
            if f(item) {
                words[i / 64] |= 1 << (i % 64);
            }
        }
        Bits(words)
    }

    fn and(&self, other: &Bits) -> Bits {
        Bits(self.0.iter().zip(&other.0).map(|(a, b)| a & b).collect())
    }

    fn any(&self) -> bool {
        self.0.iter().any(|w| *w != 0)
    }

    fn meets(&self, other: &Bits) -> bool {
        self.0.iter().zip(&other.0).any(|(a, b)| a & b != 0)
    }
}

/// Whether a workload writes file data during its cell, so that write
/// amplification (device bytes / bytes written) has a denominator:
/// read_atime only reads, copy_up writes only when it appends, metadata
/// only makes files of its `file_size`, small_files writes its files.
fn writes_data(w: &WorkloadSpec) -> bool {
    match &w.params {
        WorkloadParams::ReadAtime { .. } => false,
        WorkloadParams::CopyUp { action, .. } => *action == CopyUpAction::Append,
        WorkloadParams::Metadata { file_size, mix, .. } => {
            file_size.max > 0 && mix.iter().any(|(op, w)| *op == MetaOp::Create && *w > 0)
        }
        WorkloadParams::SmallFiles { file_size, .. } => file_size.max > 0,
        WorkloadParams::Sequence { steps, .. } => steps
            .iter()
            .any(|s| matches!(s, SeqStep::Write(_) | SeqStep::Append(_))),
        WorkloadParams::FsyncHeavy { .. } | WorkloadParams::LogAppend { .. } => true,
    }
}

/// The ops a workload may record, from its kind's list
/// ([`WorkloadKind::may_record`]) less those its settings rule out: a
/// writer's sync op follows its `fsync` policy and `sync_call` (none under
/// `never` or with O_DSYNC/O_SYNC; `end` is one syncfs for small_files and
/// log_append), `fsync_dir` only when asked, a sequence's sync ops only
/// from its steps, `.service` twins only with a `rate` (open loop).
fn records(w: &WorkloadSpec) -> Vec<Op> {
    let writer = matches!(
        w.kind,
        WorkloadKind::SmallFiles | WorkloadKind::FsyncHeavy | WorkloadKind::LogAppend
    );
    let call_op = match w.sync_call {
        SyncCall::Fsync => Some(Op::Fsync),
        SyncCall::Fdatasync => Some(Op::Fdatasync),
        SyncCall::SyncFileRange => Some(Op::SyncFileRange),
        SyncCall::Syncfs => Some(Op::Syncfs),
        SyncCall::ODsync | SyncCall::OSync => None,
    };
    let writer_sync = match w.fsync {
        SyncPolicy::Never => None,
        SyncPolicy::End if w.kind != WorkloadKind::FsyncHeavy => Some(Op::Syncfs),
        _ => call_op,
    };
    // A sequence records the syscalls of its steps (`read` opens and
    // closes a fileset file when none is open).
    let step_ops: Option<Vec<Op>> = match &w.params {
        WorkloadParams::Sequence { steps, .. } => Some(
            steps
                .iter()
                .flat_map(|s| match s {
                    SeqStep::Create => vec![Op::Create],
                    SeqStep::Open => vec![Op::Open],
                    SeqStep::Write(_) | SeqStep::Append(_) => vec![Op::Write],
                    SeqStep::Fsync => vec![Op::Fsync],
                    SeqStep::Fdatasync => vec![Op::Fdatasync],
                    SeqStep::Close => vec![Op::Close],
                    SeqStep::Read => vec![Op::Open, Op::Read, Op::Close],
                    SeqStep::Rename => vec![Op::Rename],
                    SeqStep::Unlink => vec![Op::Unlink],
                    SeqStep::Stat => vec![Op::Stat],
                    SeqStep::Sleep(_) => vec![],
                })
                .collect(),
        ),
        _ => None,
    };
    // A copy_up records the syscalls of its action.
    let action_ops: Option<&[Op]> = match &w.params {
        WorkloadParams::CopyUp { action, .. } => Some(match action {
            CopyUpAction::Chmod => &[Op::Chmod],
            CopyUpAction::Chown => &[Op::Chown],
            CopyUpAction::Touch => &[Op::Utimes],
            CopyUpAction::OpenRw => &[Op::Open, Op::Close],
            CopyUpAction::Append => &[Op::Open, Op::Write, Op::Close],
            CopyUpAction::Truncate => &[Op::Open, Op::Truncate, Op::Close],
        }),
        _ => None,
    };
    w.kind
        .may_record()
        .iter()
        .copied()
        .filter(|op| match op {
            op if op.is_unit() => true,
            Op::FsyncDir => w.fsync_dir,
            op if op.name().ends_with(".service") => w.rate.is_some(),
            Op::Fsync | Op::Fdatasync | Op::SyncFileRange | Op::Syncfs if writer => {
                writer_sync == Some(*op)
            }
            op => match (&step_ops, action_ops) {
                (Some(ops), _) => ops.contains(op),
                (_, Some(ops)) => ops.contains(op),
                _ => true,
            },
        })
        .collect()
}

/// The cells of a plan (every target × every workload) and the faults that
/// apply to them, as `gate::evaluate` will find them in the run's result:
/// what a gate can judge is known before the run.
struct Cells<'a> {
    targets: &'a [TargetSpec],
    workloads: &'a [WorkloadSpec],
    faults: &'a [FaultSpec],
    /// Per fault: the targets and workloads it applies to.
    fault_targets: Vec<Bits>,
    fault_workloads: Vec<Bits>,
    /// Targets with device counters: a loop device of their own, or the
    /// shared disk under a hostPath (whose figures the gate room judges
    /// too, marked shared).
    counted: Bits,
    /// Targets on a loop image (where an eio fault acts).
    looped: Bits,
    /// Workloads that write data.
    writing: Bits,
    /// Workloads that keep ledgers under enospc and eio faults (the fault
    /// room verifies small_files and fsync_heavy only).
    verified: Bits,
}

impl<'a> Cells<'a> {
    fn new(
        targets: &'a [TargetSpec],
        workloads: &'a [WorkloadSpec],
        faults: &'a [FaultSpec],
    ) -> Cells<'a> {
        Cells {
            targets,
            workloads,
            faults,
            fault_targets: faults
                .iter()
                .map(|f| Bits::of(targets, |t| t.selected_by(&f.target)))
                .collect(),
            fault_workloads: faults
                .iter()
                .map(|f| Bits::of(workloads, |w| w.selected_by(&f.workload)))
                .collect(),
            counted: Bits::of(targets, |t| device_of(t) != Device::None),
            looped: Bits::of(targets, |t| device_of(t) == Device::Loop),
            writing: Bits::of(workloads, writes_data),
            verified: Bits::of(workloads, |w| {
                matches!(w.kind, WorkloadKind::FsyncHeavy | WorkloadKind::SmallFiles)
            }),
        }
    }

    /// Cell runs of the plan: each cell once per repeat, and once per
    /// trial of the first crash fault that applies to it (each trial is a
    /// run of its own). When more than [`MAX_CELLS`]: the index of the
    /// crash fault with the most trials, and the message.
    fn too_many_runs(&self, repeat: u64) -> Option<(usize, String)> {
        let crashes: Vec<usize> = (0..self.faults.len())
            .filter(|i| self.faults[*i].kind == FaultKind::Crash)
            .collect();
        let most = crashes
            .iter()
            .copied()
            .max_by_key(|i| self.faults[*i].trials)
            .filter(|i| self.faults[*i].trials > 1)?;
        let words = self.workloads.len().div_ceil(64);
        let mut runs: u128 = 0;
        for ti in 0..self.targets.len() {
            let mut covered = vec![0u64; words];
            runs += self.workloads.len() as u128;
            for &f in &crashes {
                if self.fault_targets[f].0[ti / 64] & (1 << (ti % 64)) == 0 {
                    continue;
                }
                let extra = u128::from(self.faults[f].trials - 1);
                for (c, w) in covered.iter_mut().zip(&self.fault_workloads[f].0) {
                    runs += u128::from((w & !*c).count_ones()) * extra;
                    *c |= w;
                }
            }
        }
        let runs = runs * u128::from(repeat);
        (runs > u128::from(MAX_CELLS)).then(|| {
            (
                most,
                format!(
                    "each crash trial runs its cell again: with the trials of the crash faults, \
                     the plan has {runs} cell runs, more than the {MAX_CELLS} a run may have; \
                     give fewer trials"
                ),
            )
        })
    }

    /// Whether some cell of `ts` × `ws` is one the gate selects: with
    /// `fault:`, one that a fault of a matching kind applies to (the run
    /// records an entry of that kind in it); `each` narrows the fault
    /// further (its targets and workloads, by kind).
    fn some_cell(
        &self,
        ts: &Bits,
        ws: &Bits,
        fault: Option<&str>,
        each: impl Fn(&FaultSpec, &Bits, &Bits) -> bool,
    ) -> bool {
        match fault {
            None => ts.any() && ws.any(),
            Some(g) => self.faults.iter().enumerate().any(|(i, f)| {
                glob_match(g, fault_name(f.kind)) && {
                    let (ft, fw) = (
                        ts.and(&self.fault_targets[i]),
                        ws.and(&self.fault_workloads[i]),
                    );
                    ft.any() && fw.any() && each(f, &ft, &fw)
                }
            }),
        }
    }

    /// Why limits of a gate (`select`, and its limits with their keys) have
    /// nothing to judge in every cell it selects, key by key. Mirrors
    /// `gate::evaluate`: among selected cells those without the figure are
    /// skipped, and only "no selected cell can have it" is a mistake.
    fn inapplicable(
        &self,
        at: &At,
        select: &Selector,
        limits: &[(String, Limit)],
    ) -> Vec<(String, String)> {
        let ts = Bits::of(self.targets, |t| {
            select.target.as_deref().map_or(true, |g| t.selected_by(g))
        });
        let ws = Bits::of(self.workloads, |w| {
            select
                .workload
                .as_deref()
                .map_or(true, |g| w.selected_by(g))
        });
        if !ts.any() || !ws.any() {
            return Vec::new(); // the glob was reported
        }
        let fault = select.fault.as_deref();
        let names = |bits: &Bits, names: &mut dyn Iterator<Item = &str>| {
            let listed: Vec<&str> = names
                .enumerate()
                .filter(|(i, _)| bits.0[i / 64] & (1 << (i % 64)) != 0)
                .map(|(_, n)| n)
                .collect();
            let more = listed.len().saturating_sub(3);
            let mut text = listed
                .iter()
                .take(3)
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ");
            if more > 0 {
                text.push_str(&format!(" and {more} more"));
            }
            text
        };
        let target_names = names(&ts, &mut self.targets.iter().map(|t| t.name.as_str()));
        let workload_names = names(&ws, &mut self.workloads.iter().map(|w| w.name.as_str()));
        if fault.is_some() && !self.some_cell(&ts, &ws, fault, |_, _, _| true) {
            let g = fault.unwrap_or_default();
            return vec![(
                at.key("select.fault"),
                format!(
                    "selects no cell: no fault of a kind `{g}` matches applies to both a target \
                     ({target_names}) and a workload ({workload_names}) this gate selects; \
                     widen the gate's `target`/`workload`, or the fault's"
                ),
            )];
        }
        let mut out = Vec::new();
        let op_limits = limits.iter().any(|(_, l)| {
            matches!(
                l,
                Limit::Latency { .. } | Limit::Throughput { .. } | Limit::ErrorRate { .. }
            )
        });
        // An op no workload kind records at all was reported already.
        let known = |op: &str| Op::ALL.iter().any(|o| glob_match(op, o.name()));
        if let (Some(op), true) = (select.op.as_deref().filter(|o| known(o)), op_limits) {
            let recording = Bits::of(self.workloads, |w| {
                records(w).iter().any(|o| glob_match(op, o.name()))
            });
            if !self.some_cell(&ts, &ws.and(&recording), fault, |_, _, _| true) {
                let mut kinds: Vec<String> = Vec::new();
                for (i, w) in self.workloads.iter().enumerate() {
                    if ws.0[i / 64] & (1 << (i % 64)) == 0 {
                        continue;
                    }
                    let ops: Vec<&str> = records(w).iter().map(|o| o.name()).collect();
                    let line = format!(
                        "`{}` ({}) records {}",
                        w.name,
                        w.kind.as_str(),
                        ops.join(", ")
                    );
                    if kinds.len() < 3 && !kinds.contains(&line) {
                        kinds.push(line);
                    }
                }
                out.push((
                    at.key("select.op"),
                    format!(
                        "`{op}` is an op no workload this gate selects ({workload_names}) \
                         records, so its limits have nothing to judge: {}",
                        kinds.join("; ")
                    ),
                ));
            }
        }
        for (key, limit) in limits {
            let why = match limit {
                Limit::WriteAmplification { .. } => {
                    let found = self.some_cell(
                        &ts.and(&self.counted),
                        &ws.and(&self.writing),
                        fault,
                        |_, _, _| true,
                    );
                    if found {
                        continue;
                    }
                    if !ts.meets(&self.counted) {
                        format!(
                            "no cell this gate selects can have write amplification: its \
                             targets ({target_names}) have no block device of their own (tmpfs, \
                             or an overlay on tmpfs), so there are no device counters; select \
                             ext4, xfs or hostpath targets, or an overlay on ext4 or xfs"
                        )
                    } else if !ws.meets(&self.writing) {
                        format!(
                            "no cell this gate selects can have write amplification: its \
                             workloads ({workload_names}) write no data to divide the device's \
                             bytes by (read_atime only reads; copy_up writes only with `action: \
                             append`; metadata only with a `file_size` above 0B)"
                        )
                    } else {
                        "no cell this gate selects can have write amplification: the cells \
                         its `fault` selects have no block device of their own or write no data"
                            .to_string()
                    }
                }
                Limit::AckedLost { .. } => {
                    // A crash verifies every workload; enospc and eio only
                    // the ledgers of small_files and fsync_heavy, and eio
                    // acts only on a loop image.
                    let found =
                        self.some_cell(&ts, &ws, Some(fault.unwrap_or("*")), |f, ft, fw| {
                            match f.kind {
                                FaultKind::Crash => true,
                                FaultKind::Enospc => fw.meets(&self.verified),
                                FaultKind::Eio => {
                                    ft.meets(&self.looped) && fw.meets(&self.verified)
                                }
                                FaultKind::Throttle | FaultKind::NoisyNeighbor => false,
                            }
                        });
                    if found {
                        continue;
                    }
                    format!(
                        "no cell this gate selects ({target_names} × {workload_names}{}) can \
                         have a durability verdict: `acked_lost` needs a crash fault, or an \
                         enospc or eio fault on a small_files or fsync_heavy workload (eio on \
                         an ext4 or xfs target), applying to a cell the gate selects; add such \
                         a fault, or select the cells one applies to",
                        fault.map_or(String::new(), |g| format!(", faults `{g}`"))
                    )
                }
                _ => continue,
            };
            out.push((key.clone(), why));
        }
        out
    }
}

/// The limits of one level (`prefix` "", "fail." or "warn."), checked.
fn check_limits(cx: &mut Ctx, at: &At, prefix: &str, raw: &RawLimits) -> Vec<(String, Limit)> {
    let lat = |stat, v: Option<U<Duration>>| v.map(|U(max)| Limit::Latency { stat, max });
    let limits: Vec<(&str, Limit)> = [
        ("p50", lat(LatencyStat::P50, raw.p50)),
        ("p90", lat(LatencyStat::P90, raw.p90)),
        ("p95", lat(LatencyStat::P95, raw.p95)),
        ("p99", lat(LatencyStat::P99, raw.p99)),
        ("p999", lat(LatencyStat::P999, raw.p999)),
        ("max", lat(LatencyStat::Max, raw.max)),
        ("mean", lat(LatencyStat::Mean, raw.mean)),
        (
            "throughput",
            raw.throughput
                .map(|U(Rate(r))| Limit::Throughput { min_per_sec: r }),
        ),
        (
            "error_rate",
            raw.error_rate
                .map(|U(Percent(p))| Limit::ErrorRate { max: p }),
        ),
        (
            "write_amplification",
            raw.write_amplification
                .map(|w| Limit::WriteAmplification { max: w }),
        ),
        (
            "acked_lost",
            raw.acked_lost.map(|n| Limit::AckedLost { max: n }),
        ),
    ]
    .into_iter()
    .filter_map(|(k, l)| l.map(|l| (k, l)))
    .collect();
    for (k, l) in &limits {
        let bad = match *l {
            Limit::Throughput { min_per_sec } => {
                (!(min_per_sec.is_finite() && min_per_sec > 0.0)).then_some("must be more than 0/s")
            }
            Limit::ErrorRate { max } => (max > 1.0).then_some("must be at most 100%"),
            Limit::WriteAmplification { max } => {
                (!(max.is_finite() && max > 0.0)).then_some("must be a number above 0, e.g. 1.5")
            }
            _ => None,
        };
        if let Some(m) = bad {
            cx.err(&at.key(&format!("{prefix}{k}")), m);
        }
    }
    limits
        .into_iter()
        .map(|(k, l)| (at.key(&format!("{prefix}{k}")), l))
        .collect()
}

/// The names a separate gate file is checked against: those of the run it
/// gates (`(full, written)` pairs, as in a scenario).
#[derive(Debug, Clone, Default)]
pub struct GateNames {
    pub targets: Vec<(String, String)>,
    pub workloads: Vec<(String, String)>,
    pub faults: Vec<String>,
    /// The checked scenario whose cells the gates will judge, when they are
    /// loaded before its run: a limit no selected cell can have is then
    /// refused at once, as in the scenario's own `gates:`. None for a
    /// finished run (the gate room judges what it recorded).
    pub scenario: Option<Box<Scenario>>,
}

impl GateNames {
    /// The names, and the cells, of a checked scenario's run.
    pub fn of(s: &Scenario) -> GateNames {
        GateNames {
            targets: s
                .targets
                .iter()
                .map(|t| (t.name.clone(), t.base_name.clone()))
                .collect(),
            workloads: s
                .workloads
                .iter()
                .map(|w| (w.name.clone(), w.base_name.clone()))
                .collect(),
            faults: s
                .faults
                .iter()
                .map(|f| fault_name(f.kind).to_string())
                .collect(),
            scenario: Some(Box::new(s.clone())),
        }
    }
}

/// Reads and checks a gate file (`--gate ci/gate.yaml`): `version: 1` and
/// `gates:`, each gate exactly as in a scenario, checked against `names`.
pub fn load_gates_str(
    text: &str,
    file: &Path,
    names: &GateNames,
) -> Result<Vec<GateSpec>, Diagnostics> {
    let (spans, node) = parse(text, file)?;
    let mut cx = Ctx {
        file,
        spans,
        overrides: &Overrides::default(),
        host: &super::NoHost,
        diags: Vec::new(),
    };
    if !yaml::is_mapping(&node) {
        cx.err(
            "",
            format!(
                "a gate file is a mapping with `version: 1` and `gates:`; this file holds {}",
                yaml::describe(&node)
            ),
        );
        return Err(cx.finish());
    }
    let raw: RawGateFile = match yaml::from_node(&node) {
        Ok(r) => r,
        Err(e) => {
            cx.de_err(&At::new(String::new()), e);
            return Err(cx.finish());
        }
    };
    check_version(&mut cx, raw.version);
    fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
        v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
    }
    let names_ref = Names {
        targets: pairs(&names.targets),
        workloads: pairs(&names.workloads),
    };
    let faults: Vec<(&str, &str)> = names
        .faults
        .iter()
        .map(|f| (f.as_str(), f.as_str()))
        .collect();
    let nodes = raw.gates.unwrap_or_default();
    if nodes.is_empty() {
        cx.err(
            "gates",
            "missing or empty `gates:`; a gate file needs at least one gate",
        );
    }
    let display = file.display().to_string();
    let cells = names
        .scenario
        .as_deref()
        .map(|s| Cells::new(&s.targets, &s.workloads, &s.faults));
    let gates: Vec<GateSpec> = nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| gate_entry(&mut cx, i, n, &names_ref, &faults, cells.as_ref()))
        .map(|mut g| {
            g.origin = format!("{display}: {}", g.origin);
            g
        })
        .collect();
    if cx.diags.is_empty() {
        Ok(gates)
    } else {
        Err(cx.finish())
    }
}
