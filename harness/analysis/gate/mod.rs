//! The gate room: does a run ship? Pure: `RunResult` × gate specs ×
//! (optional) baseline → a `GateReport` of checks, each PASS, WARN or FAIL.
//!
//! - A gate's `select` (globs over target, workload, op and fault) must
//!   match at least one cell of the run; a selector that matches nothing is
//!   a mistake in the spec (exit 2), never a pass.
//! - Repeats of a cell are judged together: a latency, throughput or error
//!   limit on the **median** of the per-repeat values, with the spread
//!   (min–max) shown ([`over_repeats`], the statistic the percentile
//!   charts draw too); `acked_lost` on the **sum** (any loss counts).
//! - A `write_amplification` limit that selects a cell whose device is
//!   not attributable to it (a hostPath's disk, shared with the rest of
//!   the host) is a mistake in the spec (exit 2), never a skip.
//! - A baseline gate compares against a saved baseline ([`baseline`]) with
//!   the verdicts of `compare` ([`super::verdict`]): a regression fails
//!   only when the unit op is judged `slower` (significant after adjusting
//!   for every metric compared, and beyond `min_effect`) *and* worse than
//!   `max_regression`, so noise does not fail the build; improvements are
//!   reported too.
//!
//! Exporters of a report live beside it: [`render`] (terminal, Markdown),
//! [`junit`], [`bmf`] (Bencher Metric Format).

pub mod baseline;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analysis::compare;
use crate::glob::glob_match;
use crate::record::op::is_summary_op;
use crate::record::Op;
use crate::result::stats::{over_repeats, Spread};
use crate::result::{CellResult, Metric, RunResult, Verdict};
use crate::scenario::plan::Plan;
use crate::scenario::units::format_nanos;
use crate::scenario::{
    GateLimit, GateSpec, LatencyStat, Level, Limit, Scenario, Selector, TargetSpec, WorkloadSpec,
};
use baseline::Baseline;

/// A regression gate given no `max_regression` of its own (a `--baseline`
/// with no baseline gate in the spec).
pub const DEFAULT_MAX_REGRESSION: f64 = 0.10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Pass,
    /// Not judged (a baseline gate without a baseline, a cell without the
    /// figure); said why.
    Skip,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Skip => "SKIP",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

/// A baseline comparison behind a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    pub metric: Metric,
    /// Medians of the per-repeat values.
    pub base: f64,
    pub new: f64,
    /// new / base − 1 of the medians.
    pub change: f64,
    /// new / base with its 95 % interval (geometric means).
    #[serde(default)]
    pub ratio: Option<f64>,
    #[serde(default)]
    pub ci_low: Option<f64>,
    #[serde(default)]
    pub ci_high: Option<f64>,
    /// Adjusted over every metric the baseline gate compared.
    pub p: Option<f64>,
    /// A difference is claimed (faster or slower).
    pub significant: bool,
    #[serde(default = "cannot_tell")]
    pub verdict: Verdict,
    pub test: String,
}

fn cannot_tell() -> Verdict {
    Verdict::CannotTell
}

/// One testcase: a limit of a gate on one cell (all its repeats) and op.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Where the gate is written (`gates[0]`, `ci/gate.yaml: gates[1]`).
    pub gate: String,
    /// The gate's `name:` (`wal-p95`), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub target: String,
    pub workload: String,
    /// The op judged, or `-` for cell-level figures.
    pub op: String,
    pub level: Level,
    /// The limit as written: `p95 ≤ 2ms`, `throughput ≥ 500/s`.
    pub limit: String,
    /// The judged value (median over repeats, or the sum for acked_lost).
    pub value: Option<f64>,
    /// A latency limit in ns (drawn on the percentile-bars chart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_ns: Option<f64>,
    /// `2.41ms (median of 5: 2.10ms–2.93ms)`.
    pub measured: String,
    pub repeats: usize,
    pub status: Status,
    /// One line for a human: why it passed, warned or failed.
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<Delta>,
}

impl Check {
    /// What a verdict calls the check's gate: its name, else where it is
    /// written.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.gate)
    }
}

/// Every check of a run, and what the reader should know besides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    pub schema: String,
    pub run_id: String,
    pub scenario: String,
    /// PASS, WARN or FAIL: the worst check (SKIPs aside).
    pub status: Status,
    pub baseline: Option<String>,
    pub checks: Vec<Check>,
    pub notes: Vec<String>,
}

impl GateReport {
    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    /// Per workload, the tightest fail-level latency limit on its unit op:
    /// the line the percentile-bars chart draws.
    pub fn unit_op_thresholds(&self) -> BTreeMap<String, f64> {
        let mut out: BTreeMap<String, f64> = BTreeMap::new();
        for c in &self.checks {
            let unit = Op::from_name(&c.op).is_some_and(Op::is_unit);
            if let (true, Level::Fail, Some(ns)) = (unit, c.level, c.limit_ns) {
                let e = out.entry(c.workload.clone()).or_insert(ns);
                *e = e.min(ns);
            }
        }
        out
    }
}

/// A mistake in the gate spec: exit 2.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError(pub String);

/// The cells of a run grouped by (target, workload): repeats together.
type Groups<'a> = BTreeMap<(String, String), Vec<&'a CellResult>>;

fn written_name(full: &str) -> &str {
    full.split('[').next().unwrap_or(full)
}

fn selects(glob: &Option<String>, full: &str) -> bool {
    glob.as_deref()
        .is_none_or(|g| glob_match(g, full) || glob_match(g, written_name(full)))
}

fn matching<'a>(run: &'a RunResult, select: &Selector) -> Groups<'a> {
    let mut groups: Groups = BTreeMap::new();
    for c in &run.cells {
        let fault_ok = select
            .fault
            .as_deref()
            .is_none_or(|g| c.faults.iter().any(|f| glob_match(g, f.kind_name())));
        if selects(&select.target, &c.target.name)
            && selects(&select.workload, &c.workload.name)
            && fault_ok
        {
            groups
                .entry((c.target.name.clone(), c.workload.name.clone()))
                .or_default()
                .push(c);
        }
    }
    groups
}

fn describe(select: &Selector) -> String {
    let parts: Vec<String> = [
        ("target", &select.target),
        ("workload", &select.workload),
        ("op", &select.op),
        ("fault", &select.fault),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
    .collect();
    if parts.is_empty() {
        "every cell".into()
    } else {
        format!("{{{}}}", parts.join(", "))
    }
}

/// The ops a gate judges in a group: those its `op` glob matches, or the
/// cell's unit op.
fn ops_of(cells: &[&CellResult], select: &Selector) -> Vec<String> {
    let mut names: Vec<String> = cells
        .iter()
        .flat_map(|c| c.ops.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    match &select.op {
        Some(g) => names.retain(|n| glob_match(g, n)),
        None => names.retain(|n| Op::from_name(n).is_some_and(Op::is_unit)),
    }
    names.sort_by(|a, b| {
        crate::record::op::op_order_key(a).cmp(&crate::record::op::op_order_key(b))
    });
    names
}

fn limit_text(limit: &Limit) -> String {
    match *limit {
        Limit::Latency { stat, max } => format!("{} ≤ {}", stat.as_str(), limit_duration(max)),
        Limit::Throughput { min_per_sec } => format!("throughput ≥ {min_per_sec}/s"),
        Limit::ErrorRate { max } => format!("error_rate ≤ {}%", max * 100.0),
        Limit::WriteAmplification { max } => format!("write_amplification ≤ {max}"),
        Limit::AckedLost { max } => format!("acked_lost ≤ {max}"),
    }
}

/// A latency limit as a user writes it: `2ms`, `500µs`, else 3 figures.
fn limit_duration(d: std::time::Duration) -> String {
    let ns = d.as_nanos();
    match ns {
        n if n > 0 && n % 1_000_000_000 == 0 => format!("{}s", n / 1_000_000_000),
        n if n > 0 && n % 1_000_000 == 0 => format!("{}ms", n / 1_000_000),
        n if n > 0 && n % 1_000 == 0 => format!("{}µs", n / 1_000),
        n => format_nanos(n as u64),
    }
}

/// How to print a value of a limit's kind.
fn format_value(limit: &Limit, v: f64) -> String {
    match limit {
        Limit::Latency { .. } => format_nanos(v.round().max(0.0) as u64),
        Limit::Throughput { .. } => format!("{}/s", crate::scenario::units::format_rate(v)),
        Limit::ErrorRate { .. } => format!("{:.3}%", v * 100.0),
        Limit::WriteAmplification { .. } => format!("{v:.2}"),
        Limit::AckedLost { .. } => format!("{v:.0}"),
    }
}

/// One repeat's figure for a limit: None when the cell does not have it.
fn figure(limit: &Limit, c: &CellResult, op: &str, fault: &Option<String>) -> Option<f64> {
    let s = c.ops.get(op);
    match *limit {
        Limit::Latency { stat, .. } => {
            let s = s.filter(|s| s.count > 0)?;
            Some(match stat {
                LatencyStat::P50 => s.p50_ns as f64,
                LatencyStat::P90 => s.p90_ns as f64,
                LatencyStat::P95 => s.p95_ns as f64,
                LatencyStat::P99 => s.p99_ns as f64,
                LatencyStat::P999 => s.p999_ns as f64,
                LatencyStat::Max => s.max_ns as f64,
                LatencyStat::Mean => s.mean_ns,
            })
        }
        Limit::Throughput { .. } => s.map(|s| s.ops_per_sec),
        Limit::ErrorRate { .. } => {
            let s = s?;
            let errors = s.error_count();
            let all = s.count + errors;
            (all > 0).then(|| errors as f64 / all as f64)
        }
        Limit::WriteAmplification { .. } => c.device.as_ref()?.write_amplification,
        Limit::AckedLost { .. } => {
            let lost: Vec<u64> = c
                .faults
                .iter()
                .filter(|f| {
                    fault
                        .as_deref()
                        .is_none_or(|g| glob_match(g, f.kind_name()))
                })
                .filter_map(|f| f.durability().map(|d| d.acked_lost))
                .collect();
            (!lost.is_empty()).then(|| lost.iter().sum::<u64>() as f64)
        }
    }
}

fn passes(limit: &Limit, v: f64) -> bool {
    match *limit {
        Limit::Latency { max, .. } => v <= max.as_nanos() as f64,
        Limit::Throughput { min_per_sec } => v >= min_per_sec,
        Limit::ErrorRate { max } => v <= max,
        Limit::WriteAmplification { max } => v <= max,
        Limit::AckedLost { max } => v <= max as f64,
    }
}

/// Whether a limit is on the whole cell rather than on an op.
fn cell_level(limit: &Limit) -> bool {
    matches!(
        limit,
        Limit::WriteAmplification { .. } | Limit::AckedLost { .. }
    )
}

/// Judges `run` against `gates` (the scenario's and a gate file's) and,
/// when given, a baseline.
pub fn evaluate(
    run: &RunResult,
    gates: &[GateSpec],
    baseline: Option<&Baseline>,
) -> Result<GateReport, SpecError> {
    let mut checks = Vec::new();
    let mut notes = Vec::new();
    let mut errors = Vec::new();
    let mut baseline_gates = 0;
    for gate in gates {
        let groups = matching(run, &gate.select);
        if groups.is_empty() {
            errors.push(matches_nothing(run, gate));
            continue;
        }
        if let Some(max) = gate.max_regression {
            baseline_gates += 1;
            match baseline {
                Some(b) => checks.extend(regressions(
                    run,
                    b,
                    (&gate.origin, gate.name.as_deref()),
                    &gate.select,
                    max,
                    gate.warn_regression,
                )),
                None => notes.push(format!(
                    "{}: baseline gate skipped: no --baseline given",
                    gate.cited()
                )),
            }
        }
        for gl in &gate.limits {
            if matches!(gl.limit, Limit::WriteAmplification { .. }) {
                let shared = not_attributable(gate, &gl.limit, &groups);
                if !shared.is_empty() {
                    errors.extend(shared);
                    continue;
                }
            }
            let (limit_checks, judged_any) = limit_checks(gate, gl, &groups);
            checks.extend(limit_checks);
            if !judged_any {
                errors.push(nothing_to_judge(gate, &gl.limit));
            }
        }
    }
    // A baseline asked for on the command line is never silently ignored.
    if let (Some(b), 0) = (baseline, baseline_gates) {
        notes.push(format!(
            "--baseline given and no gate has `baseline:`; judged with max_regression {:.0}%",
            DEFAULT_MAX_REGRESSION * 100.0
        ));
        checks.extend(regressions(
            run,
            b,
            ("--baseline", None),
            &Selector::default(),
            DEFAULT_MAX_REGRESSION,
            None,
        ));
    }
    if !errors.is_empty() {
        return Err(SpecError(errors.join("\n")));
    }
    let status = checks
        .iter()
        .map(|c| c.status)
        .filter(|s| *s != Status::Skip)
        .max()
        .unwrap_or(Status::Pass);
    Ok(GateReport {
        schema: "wpbench/gate/v1".into(),
        run_id: run.run_id.clone(),
        scenario: run.scenario.name.clone(),
        status,
        baseline: baseline.map(|b| format!("{} (from run {})", b.name, b.run_id)),
        checks,
        notes,
    })
}

/// The spec error of a gate whose `select` matches no cell, listing the
/// run's cells so the typo shows.
fn matches_nothing(run: &RunResult, gate: &GateSpec) -> String {
    let cells = run
        .cells
        .iter()
        .map(|c| format!("{}/{}", c.target.name, c.workload.name));
    matches_none_of(gate, cells)
}

/// The spec errors of the gates whose `select` matches no cell of `plan`
/// (an `--only` can leave a gate of the scenario or of a gate file
/// nothing to judge), found before the run, in the words [`evaluate`]
/// would use after it. A fault glob matches a cell when a fault of that
/// kind applies to the cell's target and workload.
pub fn unmatched_in_plan(
    scenario: &Scenario,
    plan: &Plan,
    gates: &[GateSpec],
) -> Result<(), SpecError> {
    let pairs: Vec<(&TargetSpec, &WorkloadSpec)> = plan
        .pairs()
        .iter()
        .map(|&(t, w)| (&scenario.targets[t], &scenario.workloads[w]))
        .collect();
    let selected = |select: &Selector, t: &TargetSpec, w: &WorkloadSpec| {
        let fault_ok = select.fault.as_deref().is_none_or(|g| {
            scenario.faults.iter().any(|f| {
                glob_match(g, f.kind.as_str())
                    && t.selected_by(&f.target)
                    && w.selected_by(&f.workload)
            })
        });
        selects(&select.target, &t.name) && selects(&select.workload, &w.name) && fault_ok
    };
    let errors: Vec<String> = gates
        .iter()
        .filter(|g| !pairs.iter().any(|(t, w)| selected(&g.select, t, w)))
        .map(|g| {
            matches_none_of(
                g,
                pairs.iter().map(|(t, w)| format!("{}/{}", t.name, w.name)),
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(SpecError(errors.join("\n")))
    }
}

fn matches_none_of(gate: &GateSpec, cells: impl Iterator<Item = String>) -> String {
    let cells: Vec<String> = cells
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    format!(
        "{}: select {} matches no cell of this run (its cells: {})",
        gate.cited(),
        describe(&gate.select),
        if cells.is_empty() {
            "none".to_string()
        } else {
            cells.join(", ")
        }
    )
}

/// The spec errors of a write-amplification limit that selects cells whose
/// device counters are not attributable to them (a hostPath's disk, shared
/// with the rest of the host): one per such target and workload. Such a
/// gate could only ever judge other processes' writes, so it is refused,
/// never skipped.
fn not_attributable(gate: &GateSpec, limit: &Limit, groups: &Groups) -> Vec<String> {
    groups
        .iter()
        .filter_map(|((target, workload), cells)| {
            let d = cells
                .iter()
                .find_map(|c| c.device.as_ref().filter(|d| !d.attributable))?;
            Some(format!(
                "{}: `{}` selects {target}/{workload}, whose device {} is shared with the rest \
                 of the host: its counters include other processes' writes, so write \
                 amplification is not attributable to the cell; narrow `select` to targets \
                 with a device of their own (ext4, xfs, or an overlay on them)",
                gate.cited(),
                limit_text(limit),
                d.name
            ))
        })
        .collect()
}

/// The spec error of a limit that found nothing to judge in any cell it
/// selects: a gate that cannot fail must not pass.
fn nothing_to_judge(gate: &GateSpec, limit: &Limit) -> String {
    format!(
        "{}: `{}` has nothing to judge in the cells it selects ({})",
        gate.cited(),
        limit_text(limit),
        match limit {
            Limit::WriteAmplification { .. } =>
                "none has a block device of its own; select ext4, xfs or overlay cells",
            Limit::AckedLost { .. } =>
                "none had a crash, enospc or eio fault with a durability verdict",
            _ => "none recorded the op",
        }
    )
}

/// One limit's checks over the selected groups (per op, or once per cell
/// for cell-level limits), and whether any of them judged something.
fn limit_checks(gate: &GateSpec, gl: &GateLimit, groups: &Groups) -> (Vec<Check>, bool) {
    let mut checks = Vec::new();
    let mut judged_any = false;
    for ((target, workload), cells) in groups {
        let ops = if cell_level(&gl.limit) {
            vec!["-".to_string()]
        } else {
            ops_of(cells, &gate.select)
        };
        for op in ops {
            let check = judge(gate, gl, (target, workload), &op, cells);
            // A FAIL for an op that never completed counts as judged.
            judged_any |= check.status != Status::Skip;
            checks.push(check);
        }
    }
    (checks, judged_any)
}

/// The check of one limit on one op of one cell, over its repeats.
fn judge(
    gate: &GateSpec,
    gl: &GateLimit,
    (target, workload): (&str, &str),
    op: &str,
    cells: &[&CellResult],
) -> Check {
    let values: Vec<f64> = cells
        .iter()
        .filter_map(|c| figure(&gl.limit, c, op, &gate.select.fault))
        .collect();
    let mut check = Check {
        gate: gate.origin.clone(),
        name: gate.name.clone(),
        target: target.to_string(),
        workload: workload.to_string(),
        op: op.to_string(),
        level: gl.level,
        limit: limit_text(&gl.limit),
        value: None,
        limit_ns: match gl.limit {
            Limit::Latency { max, .. } => Some(max.as_nanos() as f64),
            _ => None,
        },
        measured: "-".into(),
        repeats: values.len(),
        status: Status::Skip,
        message: String::new(),
        delta: None,
    };
    if values.is_empty() {
        check.message = match gl.limit {
            Limit::WriteAmplification { .. } => {
                "no device counters for this cell (no block device of its own)".into()
            }
            Limit::AckedLost { .. } => "no fault with a durability verdict in this cell".into(),
            _ => {
                // An op that was selected but never completed must not pass.
                check.status = Status::Fail;
                format!("{op} never completed in this cell: nothing to judge")
            }
        };
        return check;
    }
    let Some(spread) = over_repeats(&values) else {
        // Only NaN: a figure that cannot be compared must not pass.
        check.status = Status::Fail;
        check.message = format!("{target}/{workload}: no repeat has a number to judge");
        return check;
    };
    let value = if matches!(gl.limit, Limit::AckedLost { .. }) {
        values.iter().sum()
    } else {
        spread.median
    };
    check.value = Some(value);
    check.measured = measured_text(&gl.limit, value, &spread);
    let ok = passes(&gl.limit, value);
    check.status = match (ok, gl.level) {
        (true, _) => Status::Pass,
        (false, Level::Warn) => Status::Warn,
        (false, Level::Fail) => Status::Fail,
    };
    check.message = format!(
        "{target}/{workload}{}: {} {} limit {}",
        if op == "-" {
            String::new()
        } else {
            format!(" {op}")
        },
        check.measured,
        if ok { "within" } else { "breaks" },
        check.limit
    );
    check
}

/// The judged value as shown: with the spread of the repeats, or the
/// number of repeats summed for acked_lost.
fn measured_text(limit: &Limit, value: f64, spread: &Spread) -> String {
    let (lo, hi) = (spread.min, spread.max);
    match (spread.n, limit) {
        (n, Limit::AckedLost { .. }) => {
            format!(
                "{} (sum of {})",
                format_value(limit, value),
                crate::scenario::units::plural(n as u64, "repeat", "repeats")
            )
        }
        (1, _) => format_value(limit, value),
        (n, _) => format!(
            "{} (median of {n}: {}–{})",
            format_value(limit, value),
            format_value(limit, lo),
            format_value(limit, hi)
        ),
    }
}

/// Baseline checks: per selected cell present in both, the unit op's
/// throughput, p50, p95 and p99 against the baseline's. Unit and sync ops
/// of every cell are judged together, so the correction counts what the
/// gate could have called a regression.
fn regressions(
    run: &RunResult,
    baseline: &Baseline,
    (origin, name): (&str, Option<&str>),
    select: &Selector,
    max: f64,
    warn: Option<f64>,
) -> Vec<Check> {
    let base_run = baseline.to_run();
    let min_effect = run.compare.min_effect;
    let c = compare::compare_ops(&base_run, run, min_effect, &is_summary_op);
    let groups = matching(run, select);
    let mut checks = Vec::new();
    for row in &c.rows {
        let key = (row.target.clone(), row.workload.clone());
        let unit = c
            .cells
            .iter()
            .find(|v| v.target == row.target && v.workload == row.workload)
            .map(|v| v.op.as_str());
        if !groups.contains_key(&key) || unit != Some(row.op.as_str()) {
            continue;
        }
        if select
            .op
            .as_deref()
            .is_some_and(|g| !glob_match(g, &row.op))
        {
            continue;
        }
        let change = row.target_value / row.baseline_value - 1.0;
        // A regression is a change for the worse: latency up, throughput down.
        let worse_by = row.speedup().map_or(0.0, |(s, _, _)| 1.0 / s - 1.0);
        let slower = row.verdict == Verdict::Slower;
        let status = if slower && worse_by > max {
            Status::Fail
        } else if slower && warn.is_some_and(|w| worse_by > w) {
            Status::Warn
        } else {
            Status::Pass
        };
        let p = row.p_value.map_or("-".into(), |p| format!("{p:.3}"));
        let message = format!(
            "{}/{} {} {}: {} → {} ({}, p={p}, {}/{} repeats): {}",
            row.target,
            row.workload,
            row.op,
            row.metric.name(),
            row.metric.format(row.baseline_value),
            row.metric.format(row.target_value),
            row.factor_text(),
            row.n_baseline,
            row.n_target,
            match (status, row.verdict) {
                (Status::Fail, _) => format!("a regression beyond {:.0}%", max * 100.0),
                (Status::Warn, _) => "a regression beyond the warn level".into(),
                (_, Verdict::Faster) => "an improvement".into(),
                (_, Verdict::Slower) => format!(
                    "slower, but within {:.0}% — not a regression that fails",
                    max * 100.0
                ),
                (_, Verdict::NoDifference) => {
                    format!("no difference within ±{:.0} %", min_effect * 100.0)
                }
                (_, Verdict::CannotTell) => format!(
                    "cannot tell: {}",
                    row.warnings.first().map_or("", String::as_str)
                ),
            }
        );
        checks.push(Check {
            gate: origin.to_string(),
            name: name.map(str::to_string),
            target: row.target.clone(),
            workload: row.workload.clone(),
            op: row.op.clone(),
            level: if status == Status::Warn {
                Level::Warn
            } else {
                Level::Fail
            },
            limit: format!("{} regression ≤ {:.0}%", row.metric.name(), max * 100.0),
            value: Some(row.target_value),
            limit_ns: None,
            measured: format!("{:+.1} %", change * 100.0),
            repeats: row.n_target,
            status,
            message,
            delta: Some(Delta {
                metric: row.metric,
                base: row.baseline_value,
                new: row.target_value,
                change,
                ratio: row.ratio,
                ci_low: row.ci_low,
                ci_high: row.ci_high,
                p: row.p_value,
                significant: row.verdict.claims_difference(),
                verdict: row.verdict,
                test: format!(
                    "Welch's t on log per-repeat values, Benjamini–Hochberg adjusted, \
                     min effect {:.0} %",
                    min_effect * 100.0
                ),
            }),
        });
    }
    checks
}

#[cfg(test)]
mod tests;
