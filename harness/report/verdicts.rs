//! Verdicts first: each target against its baseline in one line a person
//! reads before anything else — "small-files: ext4[noatime] is 1.31×
//! [1.22, 1.40] faster than ext4[relatime] (file p95; throughput 1.08×
//! [1.03, 1.12] faster)" — for the end of the terminal output, and the
//! same as the table summary.md and report.html open with. Pure: the
//! run's `comparisons` and `noise` in, text out.

use super::tables::Table;
use crate::result::{Comparison, Metric, RunResult, Verdict};

/// The comparisons of one workload × target against its baseline, in
/// result order (unit op first, then its sync op).
struct Pair<'a> {
    workload: &'a str,
    target: &'a str,
    baseline: &'a str,
    rows: Vec<&'a Comparison>,
}

fn pairs(run: &RunResult) -> Vec<Pair<'_>> {
    let mut out: Vec<Pair> = Vec::new();
    for c in &run.comparisons {
        match out
            .iter_mut()
            .find(|p| p.workload == c.workload && p.target == c.target && p.baseline == c.baseline)
        {
            Some(p) => p.rows.push(c),
            None => out.push(Pair {
                workload: &c.workload,
                target: &c.target,
                baseline: &c.baseline,
                rows: vec![c],
            }),
        }
    }
    out
}

impl Pair<'_> {
    fn unit_op(&self) -> &str {
        &self.rows[0].op
    }

    fn row(&self, op: &str, metric: Metric) -> Option<&Comparison> {
        self.rows
            .iter()
            .find(|r| r.op == op && r.metric == metric)
            .copied()
    }
}

/// "p95 ×1.01 [0.97, 1.04]" / "throughput 1.08× [1.03, 1.12] faster".
fn named(r: &Comparison) -> String {
    format!("{} {}", r.metric.name(), r.factor_text())
}

/// The one-line verdict of a pair: led by the unit op's p95 (what gates
/// judge), else its throughput, with the other in parentheses, then the
/// sync op's p95 when it differs and how many other differences the table
/// holds.
fn line(p: &Pair, min_effect: f64) -> String {
    let op = p.unit_op();
    let (Some(p95), Some(tp)) = (p.row(op, Metric::P95), p.row(op, Metric::Throughput)) else {
        return format!(
            "{}: {} vs {}: cannot tell",
            p.workload, p.target, p.baseline
        );
    };
    let (lead, other) = if p95.verdict.claims_difference() || !tp.verdict.claims_difference() {
        (p95, tp)
    } else {
        (tp, p95)
    };
    // Beyond the two: the sync op's p95, then how many more differences
    // the table holds.
    let rest: Vec<&&Comparison> = p
        .rows
        .iter()
        .filter(|r| {
            r.verdict.claims_difference() && !std::ptr::eq(**r, lead) && !std::ptr::eq(**r, other)
        })
        .collect();
    let sync_p95 = rest
        .iter()
        .find(|r| r.op != op && r.metric == Metric::P95)
        .map(|r| format!("{} {}", r.op, named(r)));
    let more = rest.len() - usize::from(sync_p95.is_some());
    let also = match (sync_p95, more) {
        (None, 0) => String::new(),
        (Some(s), 0) => format!("; {s}"),
        (Some(s), n) => format!("; {s}; {n} more in the table"),
        (None, n) => format!("; {n} more in the table"),
    };
    let (w, t, b) = (p.workload, p.target, p.baseline);
    match lead.verdict {
        Verdict::Faster | Verdict::Slower => format!(
            "{w}: {t} is {} than {b} ({op} {}; {}{also})",
            lead.factor_text(),
            lead.metric.name(),
            named(other)
        ),
        Verdict::NoDifference if other.verdict == Verdict::NoDifference => format!(
            "{w}: {t} and {b}: no difference within ±{:.0} % ({op} {}; {}{also})",
            min_effect * 100.0,
            named(lead),
            named(other)
        ),
        _ => {
            let why = lead
                .warnings
                .first()
                .or(other.warnings.first())
                .map_or(String::new(), |w| format!(": {w}"));
            format!(
                "{w}: {t} vs {b}: cannot tell{why} ({op} {}; {}{also})",
                named(lead),
                named(other)
            )
        }
    }
}

/// Noise warnings worth repeating at the end: target / workload: warning.
fn noise_lines(run: &RunResult) -> Vec<String> {
    run.noise
        .iter()
        .flat_map(|n| {
            n.warnings
                .iter()
                .filter(|w| w.starts_with("noisy"))
                .map(move |w| format!("{} / {}: {w}", n.target, n.workload))
        })
        .collect()
}

/// The block that ends the terminal output: the verdict lines, then the
/// noise; empty when there is neither.
pub fn render_terminal(run: &RunResult) -> String {
    let mut out = String::new();
    let pairs = pairs(run);
    if !pairs.is_empty() {
        out.push_str(&format!(
            "\nVerdicts (95 % intervals; a change beyond ±{:.0} % is named):\n",
            run.compare.min_effect * 100.0
        ));
        for p in &pairs {
            out.push_str(&format!("  {}\n", line(p, run.compare.min_effect)));
        }
    }
    let noise = noise_lines(run);
    if !noise.is_empty() {
        out.push_str("\nNoise:\n");
        for n in noise {
            out.push_str(&format!("  {n}\n"));
        }
    }
    out
}

/// The verdict word of one op of a pair: the op's p95 when it claims a
/// difference (what gates judge), else its throughput when that does;
/// `no difference` only when both say so.
fn verdict_word(p: &Pair, op: &str) -> &'static str {
    let (p95, tp) = (p.row(op, Metric::P95), p.row(op, Metric::Throughput));
    let claim = [p95, tp]
        .into_iter()
        .flatten()
        .find(|r| r.verdict.claims_difference());
    match claim {
        Some(r) => r.verdict.as_str(),
        None if [p95, tp]
            .into_iter()
            .flatten()
            .all(|r| r.verdict == Verdict::NoDifference)
            && (p95.is_some() || tp.is_some()) =>
        {
            Verdict::NoDifference.as_str()
        }
        None => Verdict::CannotTell.as_str(),
    }
}

/// A metric's cell: the factor with its interval, `no difference` said
/// as such; `-` when the metric was not compared.
fn factor_cell(r: Option<&Comparison>) -> String {
    match r {
        None => "-".into(),
        Some(r) if r.verdict == Verdict::NoDifference && r.speedup().is_some() => {
            format!("{} no difference", r.factor_text())
        }
        Some(r) => r.factor_text(),
    }
}

/// The ops of a pair, in result order.
fn ops<'a>(p: &Pair<'a>) -> Vec<&'a str> {
    let mut ops: Vec<&str> = Vec::new();
    for r in &p.rows {
        if !ops.contains(&r.op.as_str()) {
            ops.push(&r.op);
        }
    }
    ops
}

/// The verdict table the reports open with, compact enough for a PR
/// comment: one row per workload × target × op with a verdict word and
/// each metric's ratio; the warnings are [`warnings`], once, not per row.
/// None without comparisons.
pub fn table(run: &RunResult) -> Option<Table> {
    let pairs = pairs(run);
    if pairs.is_empty() {
        return None;
    }
    let mut rows = Vec::new();
    for p in &pairs {
        for op in ops(p) {
            let cell = |m: Metric| factor_cell(p.row(op, m));
            rows.push(vec![
                p.workload.to_string(),
                format!("{} vs {}", p.target, p.baseline),
                op.to_string(),
                verdict_word(p, op).to_string(),
                cell(Metric::Throughput),
                cell(Metric::P50),
                cell(Metric::P95),
                cell(Metric::P99),
            ]);
        }
    }
    Some(Table {
        id: "verdicts",
        title: "Verdicts",
        intro: Some(format!(
            "Each target against its baseline over the repeats: `×r [lo, hi]` is \
             target/baseline with its 95 % interval; `faster`/`slower` is a difference beyond \
             ±{0:.0} % that holds after adjusting for every comparison of the run \
             (Benjamini–Hochberg); `no difference`: the whole interval lies within ±{0:.0} %.",
            run.compare.min_effect * 100.0
        )),
        columns: vec![
            "workload",
            "target vs baseline",
            "op",
            "verdict",
            "throughput",
            "p50",
            "p95",
            "p99",
        ],
        rows,
    })
}

/// What the verdict table cannot say, once each, as `workload: warning`
/// (noise, too few repeats), in table order. Warnings about an interval
/// are left out: the table shows every interval.
pub fn warnings(run: &RunResult) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in pairs(run) {
        for r in &p.rows {
            for w in r
                .warnings
                .iter()
                .filter(|w| !w.starts_with("the interval ["))
            {
                let w = format!("{}: {w}", p.workload);
                if !out.contains(&w) {
                    out.push(w);
                }
            }
        }
    }
    out
}

/// The fuller verdict table: [`table`]'s rows with the pair's verdict
/// sentence on its unit op's row and each row's warnings — for a page
/// with room for them (report.html). None without comparisons.
pub fn detailed_table(run: &RunResult) -> Option<Table> {
    let pairs = pairs(run);
    if pairs.is_empty() {
        return None;
    }
    let mut rows = Vec::new();
    for p in &pairs {
        for op in ops(p) {
            let cell = |m: Metric| p.row(op, m).map_or("-".into(), |r| r.factor_text());
            let mut warnings: Vec<&str> = Vec::new();
            // The columns show every interval: only what they cannot say.
            for r in p.rows.iter().filter(|r| r.op == op) {
                for w in r
                    .warnings
                    .iter()
                    .filter(|w| !w.starts_with("the interval ["))
                {
                    if !warnings.contains(&w.as_str()) {
                        warnings.push(w);
                    }
                }
            }
            rows.push(vec![
                p.workload.to_string(),
                format!("{} vs {}", p.target, p.baseline),
                op.to_string(),
                cell(Metric::Throughput),
                cell(Metric::P50),
                cell(Metric::P95),
                cell(Metric::P99),
                if op == p.unit_op() {
                    line(p, run.compare.min_effect)
                } else {
                    String::new()
                },
                warnings.join("\n"),
            ]);
        }
    }
    Some(Table {
        id: "verdicts",
        title: "Verdicts",
        intro: Some(format!(
            "Each target against its baseline, from the per-repeat values: `×r [lo, hi]` is \
             target/baseline with its 95 % interval, `faster`/`slower` a difference beyond \
             ±{:.0} % that holds after adjusting for every comparison of the run \
             (Benjamini–Hochberg). Latencies are per-repeat percentiles.",
            run.compare.min_effect * 100.0
        )),
        columns: vec![
            "workload",
            "target vs baseline",
            "op",
            "throughput",
            "p50",
            "p95",
            "p99",
            "verdict",
            "warnings",
        ],
        rows,
    })
}

#[cfg(test)]
mod tests;
