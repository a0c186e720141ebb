//! compare: "before" against "after", with an honest word on whether the
//! difference is real.
//!
//! Cells are matched by target and workload name, ops by name. For each op
//! the per-repeat throughput, p50, p95 and p99 of both runs are compared
//! as a ratio with a 95 % interval and a verdict ([`super::verdict`]): all
//! rows of one comparison are one report, their p-values adjusted
//! together, and a verdict names only a change beyond `min_effect`. Each
//! cell gets a verdict line on its unit op, and says when its effective
//! mount options differ between the runs. Pure: two `RunResult`s in, a
//! [`RunComparison`] out; `report::compare` renders it.

use serde::Serialize;

use super::inrun::{groups, judge_report, per_repeat, unit_op, Pending};
use crate::record::op::op_order_key;
use crate::result::{CellResult, Comparison, Metric, RunResult, Verdict};

/// The verdict line of one cell (on its unit op).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellVerdict {
    pub target: String,
    pub workload: String,
    /// The unit op the verdict is about.
    pub op: String,
    /// The strongest verdict of the unit op's metrics: slower when any is
    /// slower (faster when none is), no difference when all are.
    pub verdict: Verdict,
    pub line: String,
    /// Effective mount options (base, new) when they differ.
    pub options: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunLabel {
    pub run_id: String,
    pub scenario: String,
    pub started_at: String,
}

impl RunLabel {
    fn of(run: &RunResult) -> RunLabel {
        RunLabel {
            run_id: run.run_id.clone(),
            scenario: run.scenario.name.clone(),
            started_at: run.started_at.clone(),
        }
    }
}

/// Base against new.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunComparison {
    pub base: RunLabel,
    pub new: RunLabel,
    pub min_effect: f64,
    pub cells: Vec<CellVerdict>,
    /// Every op and metric of the matched cells; `baseline` and `target`
    /// both name the cell's target (the base run's and the new run's).
    pub rows: Vec<Comparison>,
    /// `target/workload` of cells only one run has.
    pub only_in_base: Vec<String>,
    pub only_in_new: Vec<String>,
}

/// Compares two runs cell by cell, every op.
pub fn compare(base: &RunResult, new: &RunResult, min_effect: f64) -> RunComparison {
    compare_ops(base, new, min_effect, &|_| true)
}

/// Compares two runs cell by cell, the ops `keep` accepts; only those are
/// judged together.
pub fn compare_ops(
    base: &RunResult,
    new: &RunResult,
    min_effect: f64,
    keep: &dyn Fn(&str) -> bool,
) -> RunComparison {
    let (gb, gn) = (groups(base), groups(new));
    let label = |(t, w): &(&str, &str)| format!("{t}/{w}");
    let mut pending = Vec::new();
    let mut cells = Vec::new();
    for (key, base_cells) in &gb {
        let Some(new_cells) = gn.get(key) else {
            continue;
        };
        let mut ops: Vec<&str> = base_cells
            .iter()
            .flat_map(|c| c.ops.keys())
            .filter(|op| new_cells.iter().any(|c| c.ops.contains_key(*op)) && keep(op))
            .map(String::as_str)
            .collect();
        ops.sort_by_key(|op| op_order_key(op));
        ops.dedup();
        for op in &ops {
            for metric in Metric::ALL {
                let (b, n) = (
                    per_repeat(base_cells, op, metric),
                    per_repeat(new_cells, op, metric),
                );
                if b.is_empty() || n.is_empty() {
                    continue;
                }
                pending.push(Pending {
                    workload: key.1.to_string(),
                    op: op.to_string(),
                    metric,
                    baseline: key.0.to_string(),
                    target: key.0.to_string(),
                    base: b,
                    new: n,
                });
            }
        }
        let both: Vec<&CellResult> = base_cells.iter().chain(new_cells.iter()).copied().collect();
        let unit = unit_op(&both).or(ops.first().copied()).unwrap_or("-");
        let (bo, no) = (
            &base_cells[0].target.mount.options,
            &new_cells[0].target.mount.options,
        );
        cells.push(CellVerdict {
            target: key.0.to_string(),
            workload: key.1.to_string(),
            op: unit.to_string(),
            verdict: Verdict::CannotTell,
            line: String::new(),
            options: (bo != no).then(|| (bo.clone(), no.clone())),
        });
    }
    let rows = judge_report(pending, min_effect);
    for cell in &mut cells {
        let unit_rows: Vec<&Comparison> = rows
            .iter()
            .filter(|r| r.target == cell.target && r.workload == cell.workload && r.op == cell.op)
            .collect();
        (cell.verdict, cell.line) = verdict_line(&unit_rows, min_effect);
    }
    RunComparison {
        base: RunLabel::of(base),
        new: RunLabel::of(new),
        min_effect,
        cells,
        rows,
        only_in_base: gb
            .keys()
            .filter(|k| !gn.contains_key(*k))
            .map(label)
            .collect(),
        only_in_new: gn
            .keys()
            .filter(|k| !gb.contains_key(*k))
            .map(label)
            .collect(),
    }
}

/// The verdict on one op from its metrics' rows, and a line saying it:
/// "slower: p95 1.31× [1.22, 1.40] slower, throughput …", "no difference
/// within ±5 %", "cannot tell: …".
pub fn verdict_line(rows: &[&Comparison], min_effect: f64) -> (Verdict, String) {
    if rows.is_empty() {
        return (Verdict::CannotTell, "cannot tell: no op in common".into());
    }
    let claimed: Vec<String> = rows
        .iter()
        .filter(|r| r.verdict.claims_difference())
        .map(|r| format!("{} {}", r.metric.name(), r.factor_text()))
        .collect();
    let slower = rows.iter().any(|r| r.verdict == Verdict::Slower);
    let faster = rows.iter().any(|r| r.verdict == Verdict::Faster);
    let within = format!("±{:.0} %", min_effect * 100.0);
    match (faster, slower) {
        (true, true) => (Verdict::Slower, format!("mixed: {}", claimed.join(", "))),
        (false, true) => (Verdict::Slower, format!("slower: {}", claimed.join(", "))),
        (true, false) => (Verdict::Faster, format!("faster: {}", claimed.join(", "))),
        (false, false) if rows.iter().all(|r| r.verdict == Verdict::NoDifference) => (
            Verdict::NoDifference,
            format!("no difference within {within}"),
        ),
        (false, false) => {
            let why = rows
                .iter()
                .flat_map(|r| r.warnings.first())
                .next()
                .cloned()
                .unwrap_or_else(|| format!("intervals reach beyond {within}"));
            (Verdict::CannotTell, format!("cannot tell: {why}"))
        }
    }
}
