//! compare's renderers: a [`RunComparison`] (from `analysis::compare`) as
//! text for the terminal, Markdown for a PR comment and a self-contained
//! HTML page with each cell's percentile spectra overlaid.

use std::fmt::Write as _;

use super::charts::{percentile_spectrum, Chart, ChartText, LatencySeries};
use super::summary::escape;
pub use crate::analysis::compare::*;
use crate::analysis::inrun::groups;
use crate::result::{CellResult, Comparison, RunResult, Verdict};
use crate::scenario::units::plural;

/// How the verdicts were reached, in one sentence.
fn method(c: &RunComparison) -> String {
    format!(
        "Ratios new/base of the per-repeat values with 95 % intervals (Welch's t on their \
         logarithms); p-values adjusted together (Benjamini–Hochberg); a verdict names only a \
         change beyond ±{:.0} %.",
        c.min_effect * 100.0
    )
}

/// The columns of one row after target/workload: op, metric, base, new,
/// ratio [interval], adjusted p, repeats, verdict.
fn columns(r: &Comparison) -> [String; 8] {
    let ratio = match (r.ratio, r.ci_low, r.ci_high) {
        (Some(x), Some(lo), Some(hi)) => format!("{x:.2} [{lo:.2}, {hi:.2}]"),
        _ => "-".into(),
    };
    let verdict = match r.verdict {
        Verdict::Faster => "FASTER",
        Verdict::Slower => "SLOWER",
        Verdict::NoDifference => "same",
        Verdict::CannotTell => "?",
    };
    [
        r.op.clone(),
        r.metric.name().into(),
        r.metric.format(r.baseline_value),
        r.metric.format(r.target_value),
        ratio,
        r.p_value.map_or("-".into(), |p| format!("{p:.3}")),
        format!("{}/{}", r.n_baseline, r.n_target),
        verdict.into(),
    ]
}

fn rows_of<'a>(
    c: &'a RunComparison,
    cell: &'a CellVerdict,
) -> impl Iterator<Item = &'a Comparison> {
    c.rows
        .iter()
        .filter(move |r| r.target == cell.target && r.workload == cell.workload)
}

/// A table per cell for the terminal.
pub fn render_text(c: &RunComparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "base {} ({}) → new {} ({})\n{}",
        c.base.run_id,
        c.base.scenario,
        c.new.run_id,
        c.new.scenario,
        method(c)
    );
    for cell in &c.cells {
        let _ = writeln!(out, "\n{} / {}", cell.target, cell.workload);
        if let Some((b, n)) = &cell.options {
            let _ = writeln!(out, "  mount options: {b} → {n}");
        }
        let header = [
            "op",
            "metric",
            "base",
            "new",
            "new/base [95 %]",
            "p",
            "n",
            "verdict",
        ]
        .map(String::from);
        let rows: Vec<[String; 8]> = std::iter::once(header)
            .chain(rows_of(c, cell).map(columns))
            .collect();
        // Each column as wide as its widest cell, so a long op name
        // (`line.service`) cannot push its row out of line.
        let mut widths = [0usize; 8];
        for row in &rows {
            for (w, text) in widths.iter_mut().zip(row) {
                *w = (*w).max(text.chars().count());
            }
        }
        for row in &rows {
            let _ = writeln!(out, "  {}", text_line(row, &widths));
        }
        let _ = writeln!(out, "  verdict ({}): {}", cell.op, cell.line);
    }
    for (which, list) in [("base", &c.only_in_base), ("new", &c.only_in_new)] {
        if !list.is_empty() {
            let _ = writeln!(out, "\nonly in {which}: {}", list.join(", "));
        }
    }
    out
}

/// Names (op, metric, verdict) left-aligned, figures right-aligned, each
/// padded to its column's width: every line of a table is as wide.
fn text_line(row: &[String; 8], widths: &[usize; 8]) -> String {
    row.iter()
        .zip(widths)
        .enumerate()
        .map(|(i, (text, &w))| match i {
            0 | 1 | 7 => format!("{text:<w$}"),
            _ => format!("{text:>w$}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The same as Markdown: a verdict table, then the figures.
pub fn render_markdown(c: &RunComparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# wpbench compare: {} → {}\n\nbase `{}` ({}), new `{}` ({}). {}\n",
        escape(&c.base.scenario),
        escape(&c.new.scenario),
        c.base.run_id,
        escape(&c.base.started_at),
        c.new.run_id,
        escape(&c.new.started_at),
        method(c)
    );
    out.push_str("## Verdicts\n\n| target | workload | op | verdict | mount options |\n|---|---|---|---|---|\n");
    for cell in &c.cells {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            escape(&cell.target),
            escape(&cell.workload),
            escape(&cell.op),
            escape(&cell.line),
            cell.options
                .as_ref()
                .map_or("same".into(), |(b, n)| escape(&format!("{b} → {n}")))
        );
    }
    out.push_str(
        "\n## Figures\n\n| target | workload | op | metric | base | new | new/base [95 %] | p | repeats | verdict |\n\
         |---|---|---|---|---:|---:|---:|---:|---:|---|\n",
    );
    for cell in &c.cells {
        for r in rows_of(c, cell) {
            let cols = columns(r).map(|x| escape(&x));
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                escape(&r.target),
                escape(&r.workload),
                cols.join(" | ")
            );
        }
    }
    for (which, list) in [("base", &c.only_in_base), ("new", &c.only_in_new)] {
        if !list.is_empty() {
            let _ = writeln!(out, "\nOnly in {which}: {}", escape(&list.join(", ")));
        }
    }
    out
}

/// The histogram of `op` over a group's repeats, added (never averaged).
fn merged(cells: &[&CellResult], op: &str) -> Option<hdrhistogram::Histogram<u64>> {
    let mut total = crate::record::new_histogram();
    let mut any = false;
    for h in cells
        .iter()
        .filter_map(|c| crate::record::decode_histogram(&c.ops.get(op)?.histogram))
    {
        // Same bounds on both sides, so adding cannot fail.
        let _ = total.add(&h);
        any = true;
    }
    (any && !total.is_empty()).then_some(total)
}

/// For each compared cell, base and new percentile spectra of its unit op
/// overlaid in one chart.
pub fn spectra(base: &RunResult, new: &RunResult, c: &RunComparison) -> Vec<Chart> {
    let (gb, gn) = (groups(base), groups(new));
    c.cells
        .iter()
        .filter_map(|cell| {
            let key = (cell.target.as_str(), cell.workload.as_str());
            let series = [("base", gb.get(&key)?), ("new", gn.get(&key)?)]
                .into_iter()
                .filter_map(|(label, cells)| {
                    Some(LatencySeries {
                        label: format!(
                            "{label} ({})",
                            plural(cells.len() as u64, "repeat", "repeats")
                        ),
                        hist: merged(cells, &cell.op)?,
                    })
                })
                .collect::<Vec<_>>();
            (series.len() == 2).then(|| {
                let stem: String = format!("compare-{}-{}-{}", cell.target, cell.workload, cell.op)
                    .chars()
                    .map(|ch| {
                        if ch.is_ascii_alphanumeric() || "-_.".contains(ch) {
                            ch
                        } else {
                            '_'
                        }
                    })
                    .collect();
                percentile_spectrum(
                    &ChartText {
                        file_stem: stem,
                        title: format!(
                            "{} latency by percentile · {} / {}",
                            cell.op, cell.target, cell.workload
                        ),
                        footer: format!(
                            "wpbench compare · base {} · new {}",
                            c.base.run_id, c.new.run_id
                        ),
                        latency_unit: None,
                    },
                    &series,
                )
            })
        })
        .collect()
}

/// The comparison as one self-contained page: verdicts, figures, and the
/// overlaid spectra inline.
pub fn render_html(c: &RunComparison, spectra: &[Chart]) -> String {
    use super::html::escape as h;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>wpbench compare: {} → {}</title>\n<style>{}</style>\n</head>\n<body>\n\
         <h1>wpbench compare: {} → {}</h1>\n<p>base <code>{}</code> ({}), new <code>{}</code> ({}). \
         {}</p>\n",
        h(&c.base.scenario),
        h(&c.new.scenario),
        super::html::STYLE,
        h(&c.base.scenario),
        h(&c.new.scenario),
        h(&c.base.run_id),
        h(&c.base.started_at),
        h(&c.new.run_id),
        h(&c.new.started_at),
        h(&method(c))
    );
    out.push_str("<h2 id=\"verdicts\">Verdicts</h2>\n<table>\n<thead><tr><th>target</th><th>workload</th><th>op</th><th>verdict</th><th>mount options</th></tr></thead>\n<tbody>\n");
    for cell in &c.cells {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            h(&cell.target),
            h(&cell.workload),
            h(&cell.op),
            h(&cell.line),
            cell.options
                .as_ref()
                .map_or("same".into(), |(b, n)| h(&format!("{b} → {n}")))
        );
    }
    out.push_str("</tbody>\n</table>\n<h2 id=\"figures\">Figures</h2>\n<table>\n<thead><tr><th>target</th><th>workload</th><th>op</th><th>metric</th><th>base</th><th>new</th><th>new/base [95 %]</th><th>p</th><th>repeats</th><th>verdict</th></tr></thead>\n<tbody>\n");
    for cell in &c.cells {
        for r in rows_of(c, cell) {
            let cols = columns(r);
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td>",
                h(&r.target),
                h(&r.workload)
            );
            for (i, col) in cols.iter().enumerate() {
                let class = if (2..7).contains(&i) {
                    " class=\"num\""
                } else {
                    ""
                };
                let _ = write!(out, "<td{class}>{}</td>", h(col));
            }
            out.push_str("</tr>\n");
        }
    }
    out.push_str("</tbody>\n</table>\n<h2 id=\"spectra\">Percentile spectra</h2>\n");
    if spectra.is_empty() {
        out.push_str("<p>No histograms to overlay.</p>\n");
    }
    for chart in spectra {
        let _ = writeln!(
            out,
            "<figure>\n{}\n<figcaption>{}</figcaption>\n</figure>",
            chart.svg.trim(),
            h(&chart.title)
        );
    }
    for (which, list) in [("base", &c.only_in_base), ("new", &c.only_in_new)] {
        if !list.is_empty() {
            let _ = writeln!(out, "<p>Only in {which}: {}</p>", h(&list.join(", ")));
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::*;
    use crate::result::Metric;

    /// A run of `repeats` repeats of ext4/read with p99s and rates around
    /// the given centres (a little spread, as real repeats have).
    fn run(p99_us: u64, rate: f64, repeats: u32, options: &str) -> RunResult {
        let cells = (0..repeats)
            .map(|rep| {
                let mut s = op(1000, rate + f64::from(rep), 20_000 + u64::from(rep) * 100);
                s.p99_ns = p99_us * 1000 + u64::from(rep) * 500;
                let mut c = cell(rep as usize, "ext4", "read", rep, vec![("file", s)]);
                c.target.mount.options = options.into();
                c
            })
            .collect();
        super::super::fixtures::run(cells)
    }

    #[test]
    fn a_run_against_itself_is_no_different() {
        let r = run(100, 5000.0, 5, "rw,relatime");
        let c = compare(&r, &r, 0.05);
        assert_eq!(c.cells.len(), 1);
        assert!(c
            .rows
            .iter()
            .all(|r| r.verdict == Verdict::NoDifference && r.ratio == Some(1.0)));
        assert_eq!(c.cells[0].verdict, Verdict::NoDifference);
        assert_eq!(c.cells[0].line, "no difference within ±5 %");
        assert!(c.cells[0].options.is_none());
    }

    #[test]
    fn a_real_difference_is_found_and_says_which_way() {
        let base = run(300, 3000.0, 5, "rw,strictatime");
        let new = run(100, 5000.0, 5, "rw,noatime");
        let c = compare(&base, &new, 0.05);
        let p99 = c.rows.iter().find(|r| r.metric == Metric::P99).unwrap();
        assert_eq!(p99.verdict, Verdict::Faster, "{p99:?}");
        let (s, lo, hi) = p99.speedup().unwrap();
        assert!((s - 3.0).abs() < 0.1 && lo < s && s < hi, "{p99:?}");
        let v = &c.cells[0];
        assert_eq!(v.verdict, Verdict::Faster);
        assert!(v.line.starts_with("faster: "), "{}", v.line);
        assert!(v.line.contains("p99 2.9"), "{}", v.line);
        assert_eq!(
            v.options,
            Some(("rw,strictatime".into(), "rw,noatime".into()))
        );
        // And the other way round it is slower.
        let back = compare(&new, &base, 0.05);
        assert!(
            back.cells[0].line.starts_with("slower: "),
            "{:?}",
            back.cells
        );
        let text = render_text(&c);
        assert!(
            text.contains("mount options: rw,strictatime → rw,noatime"),
            "{text}"
        );
        assert!(text.contains("FASTER"), "{text}");
        let md = render_markdown(&c);
        assert!(md.contains("| ext4 | read | file | faster: "), "{md}");
        let html = render_html(&c, &[]);
        assert!(html.contains("<td>ext4</td><td>read</td><td>file</td><td>faster: "));
        assert!(html.contains("rw,strictatime → rw,noatime"));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn too_few_repeats_cannot_tell() {
        let c = compare(&run(300, 3000.0, 1, "rw"), &run(100, 5000.0, 1, "rw"), 0.05);
        assert_eq!(c.cells[0].verdict, Verdict::CannotTell);
        assert!(c.cells[0].line.contains("`repeat: ≥ 3`"), "{:?}", c.cells);
        assert!(c.rows.iter().all(|r| r.verdict == Verdict::CannotTell));
    }

    #[test]
    fn a_larger_min_effect_names_fewer_changes() {
        // Throughput +10 % with little spread: a change at 5 %, none at 20 %.
        let base = run(100, 5000.0, 5, "rw");
        let new = run(100, 5500.0, 5, "rw");
        let tp = |c: &RunComparison| {
            c.rows
                .iter()
                .find(|r| r.metric == Metric::Throughput)
                .unwrap()
                .verdict
        };
        assert_eq!(tp(&compare(&base, &new, 0.05)), Verdict::Faster);
        assert_ne!(tp(&compare(&base, &new, 0.20)), Verdict::Faster);
    }

    #[test]
    fn text_columns_fit_a_long_op_name() {
        let with_long_op = |mut r: RunResult| {
            for c in &mut r.cells {
                let s = c.ops["file"].clone();
                c.ops.insert("line.service".into(), s);
            }
            r
        };
        let base = with_long_op(run(300, 3000.0, 5, "rw"));
        let new = with_long_op(run(100, 5000.0, 5, "rw"));
        let text = render_text(&compare(&base, &new, 0.05));
        let table: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.trim_start().starts_with("op "))
            .take_while(|l| !l.trim_start().starts_with("verdict ("))
            .collect();
        assert!(table.len() > 2, "{text}");
        assert!(table.iter().any(|l| l.contains("line.service")), "{text}");
        let width = table[0].chars().count();
        for l in &table {
            assert_eq!(l.chars().count(), width, "unequal rows:\n{text}");
        }
    }

    #[test]
    fn unmatched_cells_are_listed() {
        let mut other = run(100, 5000.0, 2, "rw");
        for c in &mut other.cells {
            c.workload.name = "write".into();
        }
        let c = compare(&run(100, 5000.0, 2, "rw"), &other, 0.05);
        assert!(c.cells.is_empty());
        assert_eq!(c.only_in_base, ["ext4/read"]);
        assert_eq!(c.only_in_new, ["ext4/write"]);
        assert!(render_text(&c).contains("only in new: ext4/write"));
    }
}
