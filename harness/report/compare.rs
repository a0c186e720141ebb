//! compare's renderers: a [`Comparison`] (from `analysis::compare`) as
//! text for the terminal, Markdown for a PR comment and a self-contained
//! HTML page with each cell's percentile spectra overlaid.

use std::fmt::Write as _;

use super::charts::{percentile_spectrum, Chart, ChartText, LatencySeries};
use super::summary::escape;
pub use crate::analysis::compare::*;
use crate::result::{CellResult, RunResult};

fn p_text(r: &Row) -> String {
    r.p.map_or("-".into(), |p| format!("{p:.3}"))
}

fn mark(r: &Row) -> &'static str {
    match r.direction {
        Direction::Better => "better",
        Direction::Worse => "WORSE",
        Direction::Unchanged => "",
    }
}

/// A table per cell for the terminal.
pub fn render_text(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "base {} ({}) → new {} ({}); Mann–Whitney over repeats, significant at p < {}",
        c.base.run_id, c.base.scenario, c.new.run_id, c.new.scenario, c.alpha
    );
    for cell in &c.cells {
        let _ = writeln!(out, "\n{} / {}", cell.target, cell.workload);
        if let Some((b, n)) = &cell.options {
            let _ = writeln!(out, "  mount options: {b} → {n}");
        }
        let _ = writeln!(
            out,
            "  {:<10} {:<10} {:>10} {:>10} {:>9} {:>7} {:>5}  ",
            "op", "metric", "base", "new", "change", "p", "n"
        );
        for r in c
            .rows
            .iter()
            .filter(|r| r.target == cell.target && r.workload == cell.workload)
        {
            let _ = writeln!(
                out,
                "  {:<10} {:<10} {:>10} {:>10} {:>+8.1}% {:>7} {:>5}  {}",
                r.op,
                r.metric.name(),
                r.metric.format(r.base),
                r.metric.format(r.new),
                r.change * 100.0,
                p_text(r),
                format!("{}/{}", r.n_base, r.n_new),
                mark(r)
            );
        }
        let _ = writeln!(out, "  verdict ({}): {}", cell.op, cell.verdict);
    }
    for (which, list) in [("base", &c.only_in_base), ("new", &c.only_in_new)] {
        if !list.is_empty() {
            let _ = writeln!(out, "\nonly in {which}: {}", list.join(", "));
        }
    }
    out
}

/// The same as Markdown: a verdict table, then the figures.
pub fn render_markdown(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# wpbench compare: {} → {}\n\nbase `{}` ({}), new `{}` ({}). A change is significant \
         when a two-sided Mann–Whitney U test over the per-repeat values gives p < {}.\n",
        escape(&c.base.scenario),
        escape(&c.new.scenario),
        c.base.run_id,
        escape(&c.base.started_at),
        c.new.run_id,
        escape(&c.new.started_at),
        c.alpha
    );
    out.push_str("## Verdicts\n\n| target | workload | op | verdict | mount options |\n|---|---|---|---|---|\n");
    for cell in &c.cells {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            escape(&cell.target),
            escape(&cell.workload),
            escape(&cell.op),
            escape(&cell.verdict),
            cell.options
                .as_ref()
                .map_or("same".into(), |(b, n)| escape(&format!("{b} → {n}")))
        );
    }
    out.push_str(
        "\n## Figures\n\n| target | workload | op | metric | base | new | change | p | repeats | |\n\
         |---|---|---|---|---:|---:|---:|---:|---:|---|\n",
    );
    for r in &c.rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {:+.1} % | {} | {}/{} | {} |",
            escape(&r.target),
            escape(&r.workload),
            escape(&r.op),
            r.metric.name(),
            r.metric.format(r.base),
            r.metric.format(r.new),
            r.change * 100.0,
            p_text(r),
            r.n_base,
            r.n_new,
            mark(r)
        );
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
pub fn spectra(base: &RunResult, new: &RunResult, c: &Comparison) -> Vec<Chart> {
    let (gb, gn) = (groups(base), groups(new));
    c.cells
        .iter()
        .filter_map(|cell| {
            let key = (cell.target.clone(), cell.workload.clone());
            let series = [("base", gb.get(&key)?), ("new", gn.get(&key)?)]
                .into_iter()
                .filter_map(|(label, cells)| {
                    Some(LatencySeries {
                        label: format!("{label} ({} repeats)", cells.len()),
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
                    },
                    &series,
                )
            })
        })
        .collect()
}

/// The comparison as one self-contained page: verdicts, figures, and the
/// overlaid spectra inline.
pub fn render_html(c: &Comparison, spectra: &[Chart]) -> String {
    use super::html::escape as h;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>wpbench compare: {} → {}</title>\n<style>{}</style>\n</head>\n<body>\n\
         <h1>wpbench compare: {} → {}</h1>\n<p>base <code>{}</code> ({}), new <code>{}</code> ({}). \
         A change is significant when a two-sided Mann–Whitney U test over the per-repeat values \
         gives p &lt; {}.</p>\n",
        h(&c.base.scenario),
        h(&c.new.scenario),
        super::html::STYLE,
        h(&c.base.scenario),
        h(&c.new.scenario),
        h(&c.base.run_id),
        h(&c.base.started_at),
        h(&c.new.run_id),
        h(&c.new.started_at),
        c.alpha
    );
    out.push_str("<h2 id=\"verdicts\">Verdicts</h2>\n<table>\n<thead><tr><th>target</th><th>workload</th><th>op</th><th>verdict</th><th>mount options</th></tr></thead>\n<tbody>\n");
    for cell in &c.cells {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            h(&cell.target),
            h(&cell.workload),
            h(&cell.op),
            h(&cell.verdict),
            cell.options
                .as_ref()
                .map_or("same".into(), |(b, n)| h(&format!("{b} → {n}")))
        );
    }
    out.push_str("</tbody>\n</table>\n<h2 id=\"figures\">Figures</h2>\n<table>\n<thead><tr><th>target</th><th>workload</th><th>op</th><th>metric</th><th>base</th><th>new</th><th>change</th><th>p</th><th>repeats</th><th></th></tr></thead>\n<tbody>\n");
    for r in &c.rows {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:+.1} %</td><td class=\"num\">{}</td><td class=\"num\">{}/{}</td><td>{}</td></tr>",
            h(&r.target),
            h(&r.workload),
            h(&r.op),
            r.metric.name(),
            h(&r.metric.format(r.base)),
            h(&r.metric.format(r.new)),
            r.change * 100.0,
            p_text(r),
            r.n_base,
            r.n_new,
            mark(r)
        );
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
    fn a_run_against_itself_changes_nothing() {
        let r = run(100, 5000.0, 5, "rw,relatime");
        let c = compare(&r, &r);
        assert_eq!(c.cells.len(), 1);
        assert!(c.rows.iter().all(|r| !r.significant && r.change == 0.0));
        assert!(
            c.cells[0].verdict.starts_with("no significant change"),
            "{:?}",
            c.cells
        );
        assert!(c.cells[0].options.is_none());
    }

    #[test]
    fn a_real_difference_is_significant_and_says_which_way() {
        let base = run(300, 3000.0, 5, "rw,strictatime");
        let new = run(100, 5000.0, 5, "rw,noatime");
        let c = compare(&base, &new);
        let p99 = c.rows.iter().find(|r| r.metric == Metric::P99).unwrap();
        assert!(
            p99.significant && p99.direction == Direction::Better,
            "{p99:?}"
        );
        assert!((p99.p.unwrap() - 2.0 / 252.0).abs() < 1e-9);
        let v = &c.cells[0];
        assert!(v.verdict.starts_with("better: "), "{}", v.verdict);
        assert!(v.verdict.contains("p99 -66."), "{}", v.verdict);
        assert_eq!(
            v.options,
            Some(("rw,strictatime".into(), "rw,noatime".into()))
        );
        // And the other way round it is worse.
        let back = compare(&new, &base);
        assert!(back.cells[0].verdict.starts_with("worse: "));
        let text = render_text(&c);
        assert!(
            text.contains("mount options: rw,strictatime → rw,noatime"),
            "{text}"
        );
        assert!(text.contains("better"), "{text}");
        let md = render_markdown(&c);
        assert!(md.contains("| ext4 | read | file | better: "), "{md}");
        let html = render_html(&c, &[]);
        assert!(html.contains("<td>ext4</td><td>read</td><td>file</td><td>better: "));
        assert!(html.contains("rw,strictatime → rw,noatime"));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn too_few_repeats_cannot_tell() {
        let c = compare(&run(300, 3000.0, 1, "rw"), &run(100, 5000.0, 1, "rw"));
        assert!(
            c.cells[0]
                .verdict
                .starts_with("cannot tell: 1 vs 1 repeats"),
            "{:?}",
            c.cells
        );
        assert!(c.rows.iter().all(|r| !r.significant));
    }

    #[test]
    fn unmatched_cells_are_listed() {
        let mut other = run(100, 5000.0, 2, "rw");
        for c in &mut other.cells {
            c.workload.name = "write".into();
        }
        let c = compare(&run(100, 5000.0, 2, "rw"), &other);
        assert!(c.cells.is_empty());
        assert_eq!(c.only_in_base, ["ext4/read"]);
        assert_eq!(c.only_in_new, ["ext4/write"]);
        assert!(render_text(&c).contains("only in new: ext4/write"));
    }
}
