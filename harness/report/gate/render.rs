//! The verdict at one glance: a table of checks with PASS / WARN / FAIL,
//! the measured value, the limit, and for baselines the change and its
//! significance — for the terminal and as Markdown (`$GITHUB_STEP_SUMMARY`).

use std::fmt::Write as _;

use crate::analysis::gate::{GateReport, Status};
use crate::report::summary::escape;

fn cell_name(c: &crate::analysis::gate::Check) -> String {
    let op = if c.op == "-" {
        String::new()
    } else {
        format!(" {}", c.op)
    };
    format!("{}/{}{op}", c.target, c.workload)
}

fn headline(r: &GateReport) -> String {
    format!("gates: {} — {}", r.status.as_str(), counts(r))
}

/// `3 passed, 0 warned, 1 failed, 0 skipped`.
pub fn counts(r: &GateReport) -> String {
    format!(
        "{} passed, {} warned, {} failed, {} skipped",
        r.count(Status::Pass),
        r.count(Status::Warn),
        r.count(Status::Fail),
        r.count(Status::Skip)
    )
}

/// The terminal table; failures first so they cannot scroll away.
pub fn text(r: &GateReport) -> String {
    let mut rows: Vec<&crate::analysis::gate::Check> = r.checks.iter().collect();
    rows.sort_by_key(|c| std::cmp::Reverse(c.status));
    let cols: Vec<[String; 5]> = rows
        .iter()
        .map(|c| {
            [
                c.status.as_str().to_string(),
                c.label().to_string(),
                cell_name(c),
                c.limit.clone(),
                c.measured.clone(),
            ]
        })
        .collect();
    let header = ["", "gate", "cell", "limit", "measured"];
    let width = |i: usize| {
        cols.iter()
            .map(|r| r[i].chars().count())
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..5).map(width).collect();
    let mut out = String::new();
    let line = |out: &mut String, cells: &[&str]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(c.chars().count()))))
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(&mut out, &header);
    for (c, row) in rows.iter().zip(&cols) {
        let refs: Vec<&str> = row.iter().map(String::as_str).collect();
        line(&mut out, &refs);
        if c.status != Status::Pass || c.delta.is_some() {
            let _ = writeln!(out, "      {}", c.message);
        }
    }
    for n in &r.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let _ = writeln!(out, "{}", headline(r));
    out
}

/// Markdown for a step summary or a PR comment.
pub fn markdown(r: &GateReport) -> String {
    let mut out = format!(
        "## wpbench gates: {}\n\n{}\n\n",
        escape(&r.scenario),
        headline(r)
    );
    if let Some(b) = &r.baseline {
        let _ = writeln!(out, "Baseline: {}\n", escape(b));
    }
    out.push_str("| | gate | cell | limit | measured | detail |\n|---|---|---|---|---|---|\n");
    let mut rows: Vec<&crate::analysis::gate::Check> = r.checks.iter().collect();
    rows.sort_by_key(|c| std::cmp::Reverse(c.status));
    for c in rows {
        let icon = match c.status {
            Status::Pass => "✅ PASS",
            Status::Warn => "⚠️ WARN",
            Status::Fail => "❌ FAIL",
            Status::Skip => "⏭️ SKIP",
        };
        let _ = writeln!(
            out,
            "| {icon} | {} | {} | {} | {} | {} |",
            escape(c.label()),
            escape(&cell_name(c)),
            escape(&c.limit),
            escape(&c.measured),
            escape(&c.message)
        );
    }
    for n in &r.notes {
        let _ = writeln!(out, "\n- {}", escape(n));
    }
    out.push('\n');
    out
}
