//! Raw → checked: defaults, `vary` expansion and every cross-field rule.
//!
//! Errors are collected, not returned at the first one: a user fixing a
//! scenario wants the whole list. Each error carries the key path of what
//! caused it; the span index turns that into line and column.

mod cells;
mod compare;
mod entry;
mod faults;
mod filesystems;
mod gates;
mod names;
mod room;
mod targets;
mod vary;
mod workloads;

use std::path::Path;
use std::time::Duration;

use super::diag::{self, Diagnostic, Diagnostics, Place};
use super::raw::*;
use super::spec::*;
use super::units::format_duration_exact;
use super::yaml::{self, Node, Spans};
use super::{Host, Overrides};
use cells::Cells;
use faults::{fault_entry, fault_name, Names};
use gates::gate_entry;
use names::{check_name, check_name_lengths, unique};
use room::check_room;
use sha2::{Digest, Sha256};
use targets::target_entry;
use workloads::workload_entry;

pub use cells::{too_many_cells, MAX_CELLS};
pub(in crate::scenario) use filesystems::{check_fs_size, check_mkfs, check_tmpfs, MAX_FILE};
pub use gates::{load_gates_alone, load_gates_str, GateNames};
pub(in crate::scenario) use room::MAX_FILES;
pub(in crate::scenario) use targets::{check_options, check_size, option_paths};

const DEFAULT_DURATION: Duration = Duration::from_secs(10);

const DEFAULT_WARMUP: Duration = Duration::from_secs(1);

pub(in crate::scenario) const KIB: u64 = 1 << 10;

pub(super) const MIB: u64 = 1 << 20;

pub(in crate::scenario) const GIB: u64 = 1 << 30;

/// A guard against a `vary` that would expand into an unrunnable matrix.
pub(super) const MAX_VARY: usize = 1000;

/// The span index and YAML tree of `text`, or, as a diagnostic, the limit
/// it crosses ([`yaml::check_bounds`], checked first so that nothing slow
/// runs on it) or its syntax error.
pub(super) fn parse(text: &str, file: &Path) -> Result<(Spans, Node), Diagnostics> {
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
pub(super) fn check_version(cx: &mut Ctx, version: Option<u64>) {
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

pub(in crate::scenario) struct Ctx<'a> {
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
    pub(in crate::scenario) fn place(&self, key: &str) -> Place {
        let (line, column) = self.spans.resolve(key);
        Place {
            file: self.file.to_path_buf(),
            line,
            column,
            key: key.to_string(),
        }
    }

    /// The scenario file (a replay's trace is named relative to it).
    pub(in crate::scenario) fn file(&self) -> &Path {
        self.file
    }

    /// The command line's values in place of the file's.
    pub(in crate::scenario) fn overrides(&self) -> &Overrides {
        self.overrides
    }

    /// How many problems have been reported so far.
    pub(in crate::scenario) fn error_count(&self) -> usize {
        self.diags.len()
    }

    pub(in crate::scenario) fn err(&mut self, key: &str, message: impl Into<String>) {
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

    pub(in crate::scenario) fn de_err(&mut self, at: &At, e: yaml::DeError) {
        let key = at.key(&e.path);
        let mut message = diag::rewrite_serde_message(&e.message);
        // serde_yaml's word for a name-valued key given a number or a map.
        if let Some(i) = message.find("a Value::Tagged enum") {
            let names = if key.ends_with("sync_call") {
                "fsync, fdatasync, sync_file_range, o_dsync, o_sync or syncfs"
            } else if key.ends_with("kind") {
                "crash, enospc, eio, throttle or noisy_neighbor"
            } else {
                "one of the names this key takes (see docs/scenarios.md)"
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
pub(in crate::scenario) struct At {
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

    /// The entry itself (`faults[2]`).
    pub(in crate::scenario) fn base(&self) -> &str {
        &self.base
    }

    pub(in crate::scenario) fn key(&self, sub: &str) -> String {
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
    let mut raw = raw_scenario(cx, node)?;
    apply_overrides(&mut raw, cx.overrides);
    check_version(cx, raw.version);
    let name = scenario_name(cx, raw.name.take());
    let stop = check_stop(cx, raw.duration, raw.ops);
    let repeat = check_repeat(cx, raw.repeat);
    let (targets, workloads, fits) = targets_and_workloads(cx, &raw, &name);

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
    let cells = fits.then(|| Cells::new(&targets, &workloads, &faults));
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
        .filter_map(|(i, n)| gate_entry(cx, i, n, Some(&names), &fault_names, cells.as_ref()))
        .collect();
    gates::unique_gate_names(cx, &gates);

    let compare = compare::compare_spec(cx, raw.compare.as_ref(), &targets);

    Some(Scenario {
        name,
        description: raw.description.unwrap_or_default(),
        file: file.to_path_buf(),
        sha256,
        seed: raw.seed.unwrap_or(0),
        stop,
        warmup: raw.warmup.map_or(DEFAULT_WARMUP, |U(d)| d),
        interval: check_interval(cx, raw.interval),
        repeat,
        targets,
        workloads,
        faults,
        gates,
        compare,
    })
}

/// The file's top level as written, or None (reported).
fn raw_scenario(cx: &mut Ctx, node: &Node) -> Option<RawScenario> {
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
    match yaml::from_node(node) {
        Ok(r) => Some(r),
        Err(e) => {
            cx.de_err(&At::new(String::new()), e);
            None
        }
    }
}

/// The scenario's `name`, required; empty when missing (reported).
fn scenario_name(cx: &mut Ctx, name: Option<String>) -> String {
    match name {
        None => {
            cx.err("name", "missing required key `name`");
            String::new()
        }
        Some(n) => {
            check_name(cx, "name", &n);
            n
        }
    }
}

/// When each cell's measured phase ends: `duration` or `ops`, not both.
fn check_stop(cx: &mut Ctx, duration: Option<U<Duration>>, ops: Option<u64>) -> Stop {
    match (duration, ops) {
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
    }
}

/// `interval:`, the length of each cell's time-series intervals: at least
/// 10 ms, in whole milliseconds (the .hlog's times have millisecond
/// resolution).
fn check_interval(cx: &mut Ctx, interval: Option<U<Duration>>) -> Option<Duration> {
    use crate::record::interval::MIN_INTERVAL;
    let U(d) = interval?;
    if d < MIN_INTERVAL {
        cx.err(
            "interval",
            format!(
                "must be at least {} (a cell's time series needs intervals long enough to \
                 hold ops; leave `interval` out for 100ms under 20s cells and 1s from 20s on)",
                format_duration_exact(MIN_INTERVAL)
            ),
        );
        return None;
    }
    if d.subsec_nanos() % 1_000_000 != 0 {
        cx.err(
            "interval",
            format!(
                "must be a whole number of milliseconds (the interval log's times are in \
                 milliseconds), e.g. `{}ms`",
                d.as_millis().max(MIN_INTERVAL.as_millis())
            ),
        );
        return None;
    }
    Some(d)
}

fn check_repeat(cx: &mut Ctx, repeat: Option<u64>) -> u32 {
    match repeat {
        None => 1,
        Some(0) => {
            cx.err("repeat", "must be at least 1, not 0");
            1
        }
        // More than u32::MAX is reported below as too many cells.
        Some(r) => u32::try_from(r).unwrap_or(u32::MAX),
    }
}

/// Every target and workload, `vary` expanded and checked, then checked
/// together: unique names, names short enough, a plan of at most
/// [`MAX_CELLS`] cells, and room in each target for what each workload
/// makes before its clock. The last is whether the plan fits.
fn targets_and_workloads(
    cx: &mut Ctx,
    raw: &RawScenario,
    name: &str,
) -> (Vec<TargetSpec>, Vec<WorkloadSpec>, bool) {
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
    check_name_lengths(cx, name, &targets, &workloads);
    let too_many = too_many_cells(
        targets.len(),
        workloads.len(),
        raw.repeat.unwrap_or(1).max(1),
    );
    match &too_many {
        Some((key, m)) => cx.err(key, m.clone()),
        None => check_room(cx, &targets, &workloads),
    }
    (
        targets.into_iter().map(|(t, _)| t).collect(),
        workloads.into_iter().map(|(w, _)| w).collect(),
        too_many.is_none(),
    )
}

/// A required, non-empty list section.
pub(super) fn section<'n>(
    cx: &mut Ctx,
    key: &str,
    what: &str,
    list: Option<&'n [Node]>,
) -> &'n [Node] {
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

/// "ext4 and xfs", "tmpfs, ext4 and xfs".
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
