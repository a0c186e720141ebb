//! compare: "before" against "after", with an honest word on whether the
//! difference is real.
//!
//! Cells are matched by target and workload name, ops by name. For each op
//! the per-repeat p50, p95, p99 and throughput of both runs are tested
//! against each other with Mann–Whitney U ([`significance`]); a change is
//! significant at p < [`ALPHA`]. Each cell gets a verdict on its unit op,
//! and says when its effective mount options differ between the runs.
//! Everything here is pure: two `RunResult`s in, a `Comparison` out;
//! `report::compare` renders it.

pub mod significance;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::record::op::op_order_key;
use crate::record::Op;
use crate::result::stats::median;
use crate::result::{CellResult, RunResult};
use crate::scenario::units::format_nanos;
use crate::scenario::units::format_rate;
use significance::mann_whitney;

/// Significance level of every test.
pub const ALPHA: f64 = 0.05;

/// What is compared for each op; latencies are better lower, throughput
/// higher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    P50,
    P95,
    P99,
    Throughput,
}

impl Metric {
    pub const ALL: [Metric; 4] = [Metric::P50, Metric::P95, Metric::P99, Metric::Throughput];

    pub fn name(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
            Metric::Throughput => "throughput",
        }
    }

    fn value(self, cell: &CellResult, op: &str) -> Option<f64> {
        let s = cell.ops.get(op)?;
        if s.count == 0 {
            return None;
        }
        Some(match self {
            Metric::P50 => s.p50_ns as f64,
            Metric::P95 => s.p95_ns as f64,
            Metric::P99 => s.p99_ns as f64,
            Metric::Throughput => s.ops_per_sec,
        })
    }

    fn higher_is_better(self) -> bool {
        self == Metric::Throughput
    }

    pub fn format(self, v: f64) -> String {
        match self {
            Metric::Throughput => format!("{}/s", format_rate(v)),
            _ => format_nanos(v.round() as u64),
        }
    }
}

/// Whether a significant change is for the better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Better,
    Worse,
    /// Not significant (or not testable).
    Unchanged,
}

/// One metric of one op of one cell, base against new.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub target: String,
    pub workload: String,
    pub op: String,
    pub metric: Metric,
    /// Medians over the repeats.
    pub base: f64,
    pub new: f64,
    /// new / base − 1.
    pub change: f64,
    pub n_base: usize,
    pub n_new: usize,
    /// Two-sided Mann–Whitney p-value over the per-repeat values.
    pub p: Option<f64>,
    /// The smallest p these repeat counts allow.
    pub min_p: Option<f64>,
    pub significant: bool,
    pub direction: Direction,
}

/// The verdict line of one cell (on its unit op).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellVerdict {
    pub target: String,
    pub workload: String,
    /// The unit op the verdict is about.
    pub op: String,
    pub verdict: String,
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
pub struct Comparison {
    pub base: RunLabel,
    pub new: RunLabel,
    pub alpha: f64,
    pub cells: Vec<CellVerdict>,
    pub rows: Vec<Row>,
    /// `target/workload` of cells only one run has.
    pub only_in_base: Vec<String>,
    pub only_in_new: Vec<String>,
}

/// Cells of a run grouped by (target, workload), repeats together, in plan order.
pub fn groups(run: &RunResult) -> BTreeMap<(String, String), Vec<&CellResult>> {
    let mut g: BTreeMap<(String, String), Vec<&CellResult>> = BTreeMap::new();
    for c in &run.cells {
        g.entry((c.target.name.clone(), c.workload.name.clone()))
            .or_default()
            .push(c);
    }
    g
}

/// Compares two runs cell by cell.
pub fn compare(base: &RunResult, new: &RunResult) -> Comparison {
    let (gb, gn) = (groups(base), groups(new));
    let label = |(t, w): &(String, String)| format!("{t}/{w}");
    let mut rows = Vec::new();
    let mut cells = Vec::new();
    for (key, base_cells) in &gb {
        let Some(new_cells) = gn.get(key) else {
            continue;
        };
        let mut ops: Vec<&str> = base_cells[0]
            .ops
            .keys()
            .filter(|op| new_cells[0].ops.contains_key(*op))
            .map(String::as_str)
            .collect();
        ops.sort_by_key(|op| op_order_key(op));
        let first_row = rows.len();
        for op in &ops {
            for metric in Metric::ALL {
                let values = |cs: &[&CellResult]| -> Vec<f64> {
                    cs.iter().filter_map(|c| metric.value(c, op)).collect()
                };
                let (b, n) = (values(base_cells), values(new_cells));
                if b.is_empty() || n.is_empty() {
                    continue;
                }
                rows.push(row(key, op, metric, &b, &n));
            }
        }
        let unit = ops
            .iter()
            .find(|op| Op::from_name(op).is_some_and(Op::is_unit))
            .or(ops.first())
            .copied()
            .unwrap_or("-");
        let unit_rows: Vec<&Row> = rows[first_row..].iter().filter(|r| r.op == unit).collect();
        let (bo, no) = (
            &base_cells[0].target.mount.options,
            &new_cells[0].target.mount.options,
        );
        cells.push(CellVerdict {
            target: key.0.clone(),
            workload: key.1.clone(),
            op: unit.to_string(),
            verdict: verdict(&unit_rows),
            options: (bo != no).then(|| (bo.clone(), no.clone())),
        });
    }
    Comparison {
        base: RunLabel::of(base),
        new: RunLabel::of(new),
        alpha: ALPHA,
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

fn row(key: &(String, String), op: &str, metric: Metric, b: &[f64], n: &[f64]) -> Row {
    let (base, new) = (median(b), median(n));
    let change = if base != 0.0 { new / base - 1.0 } else { 0.0 };
    let test = mann_whitney(b, n);
    let significant = test.is_some_and(|t| t.p < ALPHA) && new != base;
    let direction = match (significant, (new > base) == metric.higher_is_better()) {
        (false, _) => Direction::Unchanged,
        (true, true) => Direction::Better,
        (true, false) => Direction::Worse,
    };
    Row {
        target: key.0.clone(),
        workload: key.1.clone(),
        op: op.to_string(),
        metric,
        base,
        new,
        change,
        n_base: b.len(),
        n_new: n.len(),
        p: test.map(|t| t.p),
        min_p: test.map(|t| t.min_p),
        significant,
        direction,
    }
}

fn change_text(r: &Row) -> String {
    format!("{} {:+.1} %", r.metric.name(), r.change * 100.0)
}

/// One line on the unit op: what changed significantly, or why nothing
/// can be said.
fn verdict(rows: &[&Row]) -> String {
    let Some(first) = rows.first() else {
        return "no op in common".into();
    };
    let sig: Vec<String> = rows
        .iter()
        .filter(|r| r.significant)
        .map(|r| format!("{} (p={:.3})", change_text(r), r.p.unwrap_or(1.0)))
        .collect();
    let worse = rows.iter().any(|r| r.direction == Direction::Worse);
    let better = rows.iter().any(|r| r.direction == Direction::Better);
    let word = match (better, worse) {
        (true, true) => "mixed",
        (true, false) => "better",
        (false, true) => "worse",
        (false, false) => {
            let min_p = rows.iter().filter_map(|r| r.min_p).fold(1.0, f64::min);
            return if min_p >= ALPHA {
                format!(
                    "cannot tell: {} vs {} repeats can never reach p < {ALPHA} (the smallest \
                     possible p is {min_p:.2}); run both with `repeat: 4` or more",
                    first.n_base, first.n_new
                )
            } else {
                format!(
                    "no significant change ({} vs {} repeats, Mann–Whitney, p ≥ {ALPHA})",
                    first.n_base, first.n_new
                )
            };
        }
    };
    format!("{word}: {}", sig.join(", "))
}
