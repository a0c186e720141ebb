//! In-run comparisons: each target of a run against its baseline target
//! (`compare: {baseline: …}`, or the first value of a `vary:`), per
//! workload, for the unit op and its sync op, by throughput, p50, p95
//! and p99 — ratios with intervals and verdicts ([`super::verdict`]), all
//! of a run judged as one report. Pure: a `RunResult` in, comparisons out.

use std::collections::BTreeMap;

use super::verdict::{judge_all, Sides};
use crate::record::op::{op_order_key, SYNC_OPS};
use crate::record::Op;
use crate::result::stats::median;
use crate::result::{CellResult, Comparison, Metric, RunResult};

/// The cells of one target × workload, repeats together.
pub type Group<'a> = Vec<&'a CellResult>;

/// Cells of a run grouped by (target, workload).
pub fn groups(run: &RunResult) -> BTreeMap<(&str, &str), Group<'_>> {
    let mut g: BTreeMap<(&str, &str), Group> = BTreeMap::new();
    for c in &run.cells {
        g.entry((c.target.name.as_str(), c.workload.name.as_str()))
            .or_default()
            .push(c);
    }
    g
}

/// The workloads of a run, in the order their first cell ran.
pub fn workloads(run: &RunResult) -> Vec<&str> {
    let mut w: Vec<&str> = Vec::new();
    for c in &run.cells {
        if !w.contains(&c.workload.name.as_str()) {
            w.push(&c.workload.name);
        }
    }
    w
}

/// The unit op of a group of cells: the first unit op any of them
/// recorded, in op table order (`line` before `task`).
pub fn unit_op<'a>(cells: &[&'a CellResult]) -> Option<&'a str> {
    cells
        .iter()
        .flat_map(|c| c.ops.keys())
        .filter(|op| Op::from_name(op).is_some_and(Op::is_unit))
        .min_by_key(|op| op_order_key(op))
        .map(String::as_str)
}

/// The sync op of a group of cells: the first of [`SYNC_OPS`] recorded.
pub fn sync_op<'a>(cells: &[&'a CellResult]) -> Option<&'a str> {
    SYNC_OPS.iter().find_map(|s| {
        cells
            .iter()
            .find_map(|c| c.ops.get_key_value(s.name()))
            .map(|(k, _)| k.as_str())
    })
}

/// Each repeat's value of `metric` for `op`, in repeat order; repeats
/// where the op never succeeded give none.
pub fn per_repeat(cells: &[&CellResult], op: &str, metric: Metric) -> Vec<f64> {
    cells.iter().filter_map(|c| metric.value(c, op)).collect()
}

/// One comparison before judging: names and each side's values.
pub struct Pending {
    pub workload: String,
    pub op: String,
    pub metric: Metric,
    pub baseline: String,
    pub target: String,
    pub base: Vec<f64>,
    pub new: Vec<f64>,
}

/// Judges `pending` as one report at `min_effect`.
pub fn judge_report(pending: Vec<Pending>, min_effect: f64) -> Vec<Comparison> {
    let sides: Vec<Sides> = pending
        .iter()
        .map(|p| Sides {
            base: &p.base,
            new: &p.new,
            higher_is_better: p.metric.higher_is_better(),
        })
        .collect();
    let judged = judge_all(&sides, min_effect);
    pending
        .iter()
        .zip(judged)
        .map(|(p, j)| Comparison {
            workload: p.workload.clone(),
            op: p.op.clone(),
            metric: p.metric,
            baseline: p.baseline.clone(),
            target: p.target.clone(),
            ratio: j.estimate.map(|e| e.ratio),
            ci_low: j.estimate.map(|e| e.ci_low),
            ci_high: j.estimate.map(|e| e.ci_high),
            p_value: j.p_adjusted,
            verdict: j.verdict,
            baseline_value: median(&p.base),
            target_value: median(&p.new),
            n_baseline: p.base.len(),
            n_target: p.new.len(),
            min_effect,
            warnings: j.warnings,
        })
        .collect()
}

/// Every comparison the run's `compare` pairs ask for: per pair, per
/// workload both targets ran, the unit op and the sync op, each metric.
pub fn comparisons(run: &RunResult) -> Vec<Comparison> {
    let g = groups(run);
    let mut pending = Vec::new();
    for (baseline, target) in &run.compare.pairs {
        for workload in workloads(run) {
            let (Some(base), Some(new)) = (
                g.get(&(baseline.as_str(), workload)),
                g.get(&(target.as_str(), workload)),
            ) else {
                continue;
            };
            let both: Vec<&CellResult> = base.iter().chain(new.iter()).copied().collect();
            let ops = [unit_op(&both), sync_op(&both)];
            for op in ops.into_iter().flatten() {
                for metric in Metric::ALL {
                    pending.push(Pending {
                        workload: workload.to_string(),
                        op: op.to_string(),
                        metric,
                        baseline: baseline.clone(),
                        target: target.clone(),
                        base: per_repeat(base, op, metric),
                        new: per_repeat(new, op, metric),
                    });
                }
            }
        }
    }
    judge_report(pending, run.compare.min_effect)
}

#[cfg(test)]
mod tests;
