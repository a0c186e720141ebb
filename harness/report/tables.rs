//! The tables every report shows — environment, targets with their
//! effective mount options, results (per repeat, and per workload over the
//! repeats), device, faults and durability, notes —
//! built once from a `RunResult`, so summary.md and report.html say exactly
//! the same thing. Cells are plain text; a `\n` inside one is a line break.

use super::{format_errors, format_rate, ordered_ops};
use crate::fault::outcome::FaultEntry;
use crate::fault::timeline::Event;
use crate::fault::verify::Durability;
use crate::record::Op;
use crate::result::{CellResult, Metric, RunResult};
use crate::scenario::units::{format_nanos, format_size};

pub use crate::record::op::{is_summary_op, SYNC_OPS};

/// One titled table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// A short identifier (an HTML anchor).
    pub id: &'static str,
    pub title: &'static str,
    /// A sentence above the table; `code` in backticks.
    pub intro: Option<String>,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

/// The run's status, with how many of the planned cells ran:
/// `completed (6 of 6 cells)`.
pub fn status(run: &RunResult) -> String {
    match run.scenario.planned_cells {
        0 => run.status.to_string(),
        planned => format!(
            "{} ({} of {})",
            run.status,
            run.cells.len(),
            crate::scenario::units::plural(planned as u64, "cell", "cells")
        ),
    }
}

/// How many repeats the run made: the most any target × workload has.
pub fn repeats(run: &RunResult) -> u32 {
    run.cells.iter().map(|c| c.repeat + 1).max().unwrap_or(0)
}

fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.to_string()
    }
}

pub fn environment(run: &RunResult) -> Table {
    let e = &run.env;
    let mut rows = vec![
        vec!["Kernel".to_string(), or_dash(&e.kernel)],
        vec!["CPU".to_string(), or_dash(&e.cpu)],
        vec!["Cores".to_string(), e.cores.to_string()],
        vec!["Memory".to_string(), format_size(e.memory_bytes)],
        vec!["cgroup".to_string(), or_dash(&e.cgroup)],
    ];
    if !e.hostname.is_empty() {
        rows.push(vec!["Host".to_string(), e.hostname.clone()]);
    }
    rows.push(vec!["wpbench".to_string(), or_dash(&e.wpbench)]);
    for (name, value) in &e.vm {
        rows.push(vec![name.clone(), value.clone()]);
    }
    Table {
        id: "environment",
        title: "Environment",
        intro: None,
        columns: vec!["setting", "value"],
        rows,
    }
}

/// One row per target name, in order of first appearance; a target whose
/// effective mount differed between cells (a new loop device per cell)
/// lists the distinct values, one per line.
pub fn targets(run: &RunResult) -> Option<Table> {
    let mut names: Vec<&str> = Vec::new();
    let mut fields: Vec<[Vec<&str>; 4]> = Vec::new();
    for c in &run.cells {
        let t = &c.target;
        let i = match names.iter().position(|n| *n == t.name) {
            Some(i) => i,
            None => {
                names.push(&t.name);
                fields.push(Default::default());
                names.len() - 1
            }
        };
        let values = [
            t.kind.as_str(),
            t.mount.fstype.as_str(),
            t.mount.source.as_str(),
            t.mount.options.as_str(),
        ];
        for (seen, v) in fields[i].iter_mut().zip(values) {
            if !seen.contains(&v) {
                seen.push(v);
            }
        }
    }
    if names.is_empty() {
        return None;
    }
    let rows = names
        .iter()
        .zip(&fields)
        .map(|(name, f)| {
            let mut row = vec![name.to_string()];
            row.extend(f.iter().map(|vs| or_dash(&vs.join("\n"))));
            row
        })
        .collect();
    Some(Table {
        id: "targets",
        title: "Targets",
        intro: None,
        columns: vec!["target", "kind", "fstype", "source", "mount options"],
        rows,
    })
}

fn cell_key(c: &CellResult) -> Vec<String> {
    vec![
        c.target.name.clone(),
        c.workload.name.clone(),
        c.repeat.to_string(),
    ]
}

/// Unit and sync ops of every cell; empty rows when none was recorded.
pub fn results(run: &RunResult) -> Table {
    let rows = run
        .cells
        .iter()
        .flat_map(|c| {
            ordered_ops(&c.ops)
                .into_iter()
                .filter(|(name, _)| is_summary_op(name))
                .map(move |(name, s)| {
                    let mut row = cell_key(c);
                    row.extend([
                        name.to_string(),
                        s.count.to_string(),
                        format_rate(s.ops_per_sec),
                        format_nanos(s.p50_ns),
                        format_nanos(s.p95_ns),
                        format_nanos(s.p99_ns),
                        format_nanos(s.p999_ns),
                        format_nanos(s.max_ns),
                        format_errors(&s.errors),
                    ]);
                    row
                })
        })
        .collect();
    Table {
        id: "results",
        title: "Results",
        intro: Some(
            "One row per repeat, each with its own percentiles. The percentile charts and the \
             gates take the median of these per-repeat values (whiskers: their min–max); the \
             spectrum and CDF charts merge all repeats' histograms."
                .into(),
        ),
        columns: vec![
            "target", "workload", "repeat", "op", "count", "ops/s", "p50", "p95", "p99", "p99.9",
            "max", "errors",
        ],
        rows,
    }
}

pub fn devices(run: &RunResult) -> Option<Table> {
    let rows: Vec<Vec<String>> = run
        .cells
        .iter()
        .filter_map(|c| {
            let d = c.device.as_ref()?;
            let mut row = cell_key(c);
            row.extend([
                d.name.clone(),
                format_size(d.bytes_written),
                d.write_ios.to_string(),
                d.flushes.to_string(),
                match d.write_amplification {
                    _ if !d.attributable => "not attributable".to_string(),
                    Some(wa) => format!("{wa:.2}"),
                    None => "-".to_string(),
                },
                if d.shared { "yes" } else { "no" }.to_string(),
            ]);
            Some(row)
        })
        .collect();
    (!rows.is_empty()).then(|| Table {
        id: "device",
        title: "Device",
        intro: Some(
            "What reached the block device; write amplification is device bytes ÷ the bytes \
             the workload wrote. A device shared with the rest of the host (a hostPath's disk) \
             also counts other processes' writes: its counters are shown as measured, with no \
             write amplification."
                .into(),
        ),
        columns: vec![
            "target",
            "workload",
            "repeat",
            "device",
            "bytes written",
            "write IOs",
            "flushes",
            "write amplification",
            "shared",
        ],
        rows,
    })
}

/// The fault's outcome, plus the syncs that returned only after the cut
/// (counted as unacknowledged) and the fsync probe's verdict, when there
/// are any.
fn outcome_with_late_acks(f: &FaultEntry) -> String {
    let mut outcome = f.outcome().to_string();
    if let Some(late) = f.durability().map(|d| d.acked_after_cut).filter(|n| *n > 0) {
        outcome.push_str(&format!(
            "; {late} sync(s) returned success only after the cut"
        ));
    }
    if let Some(verdict) = f.probe_verdict() {
        outcome.push_str(&format!("; fsync probe: {verdict}"));
    }
    outcome
}

/// `armed -0.00 · fired 0.14 · healed 0.26`: the fault's timeline (of the
/// first trial, for a crash), in seconds from the start of the measured
/// phase, as on the interval log's time axis.
fn timeline(f: &FaultEntry) -> String {
    let events = f
        .timeline()
        .or_else(|| f.trials().first().and_then(|t| t.timeline()));
    let parts: Vec<String> = events
        .into_iter()
        .flatten()
        .filter(|e| e.event != Event::Note)
        .map(|e| format!("{} {:.2}", e.event.as_str(), e.at_s))
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(" · ")
    }
}

/// One row per fault of a cell: what was done and, after a crash, what the
/// verifier found — speed and what a crash costs, side by side.
pub fn faults(run: &RunResult) -> Option<Table> {
    let num = |d: Option<&Durability>, k: fn(&Durability) -> u64| {
        d.map_or("-".to_string(), |d| k(d).to_string())
    };
    let rows: Vec<Vec<String>> = run
        .cells
        .iter()
        .flat_map(|c| c.faults.iter().map(move |f| (c, f)))
        .map(|(c, f)| {
            let d = f.durability();
            let unit = c
                .ops
                .iter()
                .find(|(name, _)| Op::from_name(name).is_some_and(|o| o.is_unit()));
            vec![
                c.target.name.clone(),
                c.workload.name.clone(),
                c.workload.params.get("fsync").cloned().unwrap_or_default(),
                f.kind_name().to_string(),
                unit.map_or("-".into(), |(_, s)| format_rate(s.ops_per_sec)),
                match f.states_explored() {
                    Some(_) => num(d, |d| u64::from(d.trials)) + " states",
                    None => num(d, |d| u64::from(d.trials)),
                },
                num(d, |d| d.acked_intact),
                num(d, |d| d.acked_lost),
                num(d, |d| d.acked_name_lost),
                num(d, |d| d.unacked_lost),
                d.map_or("-".into(), |d| format!("{:.0} ms", d.loss_window_ms)),
                timeline(f),
                outcome_with_late_acks(f),
            ]
        })
        .collect();
    (!rows.is_empty()).then(|| Table {
        id: "faults",
        title: "Faults and durability",
        intro: Some(
            "`acked lost` counts acknowledged writes lost, short or corrupt after a crash: \
             durability violations. `name lost`: synced data whose directory entry was not."
                .into(),
        ),
        columns: vec![
            "target",
            "workload",
            "fsync",
            "fault",
            "unit ops/s",
            "trials",
            "acked intact",
            "acked lost",
            "name lost",
            "unacked lost",
            "loss window",
            "timeline (s)",
            "outcome",
        ],
        rows,
    })
}

/// `(target / workload (repeat r), note)` for every cell's notes; then
/// `(target, why)` once for each target whose device counters are not
/// attributable to its cells.
pub fn notes(run: &RunResult) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = run
        .cells
        .iter()
        .flat_map(|c| {
            c.notes.iter().map(move |n| {
                (
                    format!(
                        "{} / {} (repeat {})",
                        c.target.name, c.workload.name, c.repeat
                    ),
                    n.replace('\n', " "),
                )
            })
        })
        .collect();
    let mut seen: Vec<&str> = Vec::new();
    for c in &run.cells {
        let Some(d) = c.device.as_ref().filter(|d| !d.attributable) else {
            continue;
        };
        if seen.contains(&c.target.name.as_str()) {
            continue;
        }
        seen.push(&c.target.name);
        out.push((c.target.name.clone(), not_attributable_note(&d.name)));
    }
    out
}

/// The one sentence that says why a target has no write amplification.
pub fn not_attributable_note(device: &str) -> String {
    format!(
        "write amplification is not attributable: its device {device} is shared with the rest \
         of the host, so the device counters include other processes' writes."
    )
}

/// The workloads of a run, in plan order (the order their first cells ran).
pub fn workloads(run: &RunResult) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in &run.cells {
        if !out.contains(&c.workload.name) {
            out.push(c.workload.name.clone());
        }
    }
    out
}

/// `1022 (980–1050)`: the median of the per-repeat values with their
/// range; the value alone for a single repeat or when the range reads as
/// one number; `-` when no repeat had it.
fn over_repeats_text(values: &[f64], format: impl Fn(f64) -> String) -> String {
    let Some(s) = crate::result::stats::over_repeats(values) else {
        return "-".into();
    };
    let median = format(s.median);
    match s.range().map(|(lo, hi)| (format(lo), format(hi))) {
        Some((lo, hi)) if lo != hi => format!("{median} ({lo}–{hi})"),
        _ => median,
    }
}

fn nanos(v: f64) -> String {
    format_nanos(v.round().max(0.0) as u64)
}

/// One workload at a glance: one row per target × op for its unit op and
/// its sync op, each figure the **median of the repeats** with their
/// min–max (the statistic gates judge and the percentile charts draw),
/// errors summed over the repeats, and write amplification where the
/// device is the target's own — `not attributable` where it is shared.
pub fn workload_summary(run: &RunResult, workload: &str) -> Table {
    let mut targets: Vec<&str> = Vec::new();
    for c in run.cells.iter().filter(|c| c.workload.name == workload) {
        if !targets.contains(&c.target.name.as_str()) {
            targets.push(&c.target.name);
        }
    }
    let mut rows = Vec::new();
    let mut repeats = 0;
    for target in targets {
        let cells: Vec<&CellResult> = run
            .cells
            .iter()
            .filter(|c| c.workload.name == workload && c.target.name == target)
            .collect();
        repeats = repeats.max(cells.len());
        let mut ops: Vec<&str> = Vec::new();
        for op in [
            crate::analysis::inrun::unit_op(&cells),
            crate::analysis::inrun::sync_op(&cells),
        ]
        .into_iter()
        .flatten()
        {
            if !ops.contains(&op) {
                ops.push(op);
            }
        }
        let wa = write_amplification(&cells);
        for (i, op) in ops.into_iter().enumerate() {
            let per_repeat =
                |m: Metric| -> Vec<f64> { cells.iter().filter_map(|c| m.value(c, op)).collect() };
            let mut errors = std::collections::BTreeMap::new();
            for s in cells.iter().filter_map(|c| c.ops.get(op)) {
                for (errno, n) in &s.errors {
                    *errors.entry(errno.clone()).or_insert(0) += n;
                }
            }
            rows.push(vec![
                target.to_string(),
                op.to_string(),
                over_repeats_text(&per_repeat(Metric::Throughput), format_rate),
                over_repeats_text(&per_repeat(Metric::P50), nanos),
                over_repeats_text(&per_repeat(Metric::P95), nanos),
                over_repeats_text(&per_repeat(Metric::P99), nanos),
                format_errors(&errors),
                if i == 0 { wa.clone() } else { String::new() },
            ]);
        }
    }
    Table {
        id: "results",
        title: "Results",
        intro: Some(match repeats {
            0 | 1 => "One repeat. Write amp.: device bytes ÷ bytes the workload wrote.".to_string(),
            n => format!(
                "Median of {n} repeats (min–max); latencies are each repeat's percentiles. \
                 Write amp.: device bytes ÷ bytes the workload wrote."
            ),
        }),
        columns: vec![
            "target",
            "op",
            "ops/s",
            "p50",
            "p95",
            "p99",
            "errors",
            "write amp.",
        ],
        rows,
    }
}

/// A target's write amplification over its repeats; `not attributable`
/// when any repeat's device was shared with the host, `-` without device
/// counters.
fn write_amplification(cells: &[&CellResult]) -> String {
    let devices: Vec<&crate::result::DeviceStats> =
        cells.iter().filter_map(|c| c.device.as_ref()).collect();
    if devices.iter().any(|d| !d.attributable) {
        return "not attributable".into();
    }
    let was: Vec<f64> = devices
        .iter()
        .filter_map(|d| d.write_amplification)
        .collect();
    over_repeats_text(&was, |v| format!("{v:.2}"))
}
