//! The Markdown exporter: summary.md in the run directory, sized for a PR
//! comment or `$GITHUB_STEP_SUMMARY`.
//!
//! It opens with the verdict — each target against its baseline — then
//! the gates when the run was gated, one compact table per workload (the
//! unit op and the sync op, median of the repeats with their range),
//! faults and what they cost, the notes once each, and the environment in
//! one line. Per-repeat figures, the targets' mount options and every
//! chart stay in report.html and result.json; summary.md links the
//! headline charts only when told where the run directory is published
//! ([`RenderOptions::link_base`]), since a relative link does not resolve
//! in a PR. The tables come from [`super::tables`] and
//! [`super::verdicts`], shared with the HTML report. Pure: `&RunResult`
//! in, text out.

use std::fmt::Write as _;

use super::tables::{self, Table};
use super::RenderOptions;
use crate::analysis::gate::GateReport;
use crate::result::RunResult;

pub use super::tables::{is_summary_op, SYNC_OPS};

/// Makes text safe inside a Markdown table cell: `|` escaped, line breaks
/// turned into spaces.
pub fn escape(text: &str) -> String {
    text.replace('|', "\\|")
        .replace("\r\n", " ")
        .replace(['\n', '\r'], " ")
}

/// A chart of the run: `charts/<stem>.svg` (and `.png`).
#[derive(Debug, Clone, PartialEq)]
pub struct ChartLink {
    pub file_stem: String,
    pub title: String,
    /// One of the few charts summary.md links (per workload the
    /// comparison and the unit op's latency); the rest are in report.html.
    pub headline: bool,
}

/// A link base as given to `--link-base` or `$WPBENCH_LINK_BASE`: an
/// `http://` or `https://` URL without whitespace; a trailing `/` is
/// dropped.
pub fn parse_link_base(s: &str) -> Result<String, String> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    match rest {
        _ if s.chars().any(char::is_whitespace) => Err(format!(
            "`{s}` holds whitespace: give the URL the run directory is published at"
        )),
        Some(host) if !host.trim_end_matches('/').is_empty() => {
            Ok(s.trim_end_matches('/').to_string())
        }
        _ => Err(format!(
            "`{s}` is not an http:// or https:// URL: give the URL the run directory is \
             published at (summary.md links URL/charts/… and URL/report.html)"
        )),
    }
}

/// summary.md without links or gates: what the run directory holds while
/// the run is still going.
pub fn render(run: &RunResult) -> String {
    render_full(run, &[], None, &RenderOptions::default())
}

/// The whole summary.md of a run: its gates when it was gated, links to
/// the headline `charts` and report.html when `opts` has a link base.
pub fn render_full(
    run: &RunResult,
    charts: &[ChartLink],
    gates: Option<&GateReport>,
    opts: &RenderOptions,
) -> String {
    let mut out = String::new();
    // The verdict is the first heading: a PR comment opens with the answer.
    out.push_str("## Verdict\n\n");
    header(&mut out, run);
    verdict(&mut out, run);
    if let Some(g) = gates {
        gates_section(&mut out, g);
    }
    let workloads = tables::workloads(run);
    if workloads.is_empty() {
        out.push_str("## Results\n\nNo cell ran.\n\n");
    }
    for w in &workloads {
        let t = tables::workload_summary(run, w);
        let _ = writeln!(out, "## {}\n", escape(w));
        if t.rows.is_empty() {
            out.push_str("No unit or sync operations recorded.\n\n");
        } else {
            body(&mut out, &t);
        }
    }
    if let Some(t) = tables::faults(run) {
        section(&mut out, &t);
    }
    notes(&mut out, run);
    links(&mut out, charts, opts);
    // The footer: where the rest is, and the environment.
    out.push_str("---\n\n");
    if opts.link_base.is_none() {
        out.push_str(
            "Charts, per-repeat figures, the targets' mount options and the environment: \
             report.html in the run directory.\n\n",
        );
    }
    environment(&mut out, run);
    out
}

/// A `## title` section: the intro, then the table.
fn section(out: &mut String, t: &Table) {
    let _ = writeln!(out, "## {}\n", t.title);
    body(out, t);
}

/// A table with its intro. A line break inside a cell becomes `<br>`,
/// which GitHub renders.
fn body(out: &mut String, t: &Table) {
    if let Some(intro) = &t.intro {
        let _ = writeln!(out, "{intro}\n");
    }
    let _ = writeln!(out, "| {} |", t.columns.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(t.columns.len()));
    for row in &t.rows {
        let cells: Vec<String> = row
            .iter()
            .map(|c| c.split('\n').map(escape).collect::<Vec<_>>().join("<br>"))
            .collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

/// What was asked — the scenario's name and its description, in one line —
/// and one status line.
fn header(out: &mut String, run: &RunResult) {
    let s = &run.scenario;
    let description = s
        .description
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if description.is_empty() {
        let _ = writeln!(out, "**wpbench: {}**\n", escape(&s.name));
    } else {
        let _ = writeln!(out, "**wpbench: {}**: {description}\n", escape(&s.name));
    }
    let _ = writeln!(
        out,
        "Run `{}` · {} · {} · seed {} · `{}`\n",
        run.run_id,
        tables::status(run),
        crate::scenario::units::plural(u64::from(tables::repeats(run)), "repeat", "repeats"),
        s.seed,
        s.file
    );
    if !run.error.is_empty() {
        let _ = writeln!(out, "Error: {}\n", escape(run.error.trim()));
    }
    if !run.missing.is_empty() {
        let _ = writeln!(
            out,
            "**Missing nodes**: {} of {} — their results could not be collected, so they are not in these figures:\n",
            run.missing.len(),
            crate::scenario::units::plural(
                (run.missing.len() + run.sources.len()) as u64,
                "node",
                "nodes"
            )
        );
        for m in &run.missing {
            let _ = writeln!(out, "- {}: {}", escape(&m.node), escape(&m.reason));
        }
        out.push('\n');
    }
}

/// Under `## Verdict`, the first heading: the verdict table and, once
/// each under it, what it cannot say.
fn verdict(out: &mut String, run: &RunResult) {
    let Some(t) = super::verdicts::table(run) else {
        out.push_str(
            "No targets were compared: give `compare: {baseline: TARGET}`, or `vary:` a \
             target.\n\n",
        );
        return;
    };
    body(out, &t);
    let warnings = super::verdicts::warnings(run);
    if !warnings.is_empty() {
        out.push_str("Warnings:\n\n");
        for w in warnings {
            let _ = writeln!(out, "- {}", escape(&w));
        }
        out.push('\n');
    }
}

/// `## Gates`: the headline, then one row per check, failures first.
fn gates_section(out: &mut String, g: &GateReport) {
    use crate::analysis::gate::Status;
    let _ = writeln!(
        out,
        "## Gates\n\n**{}** — {}\n",
        g.status.as_str(),
        super::gate::render::counts(g)
    );
    if let Some(b) = &g.baseline {
        let _ = writeln!(out, "Baseline: {}\n", escape(b));
    }
    let mut checks: Vec<&crate::analysis::gate::Check> = g.checks.iter().collect();
    checks.sort_by_key(|c| std::cmp::Reverse(c.status));
    let t = Table {
        id: "gates",
        title: "Gates",
        intro: None,
        columns: vec!["status", "gate", "cell", "op", "limit", "measured"],
        rows: checks
            .iter()
            .map(|c| {
                let status = match c.status {
                    Status::Pass => "✅ PASS",
                    Status::Warn => "⚠️ WARN",
                    Status::Fail => "❌ FAIL",
                    Status::Skip => "⏭️ SKIP",
                };
                vec![
                    status.to_string(),
                    c.label().to_string(),
                    format!("{}/{}", c.target, c.workload),
                    c.op.clone(),
                    c.limit.clone(),
                    c.measured.clone(),
                ]
            })
            .collect(),
    };
    body(out, &t);
    for n in &g.notes {
        let _ = writeln!(out, "- {}", escape(n));
    }
    if !g.notes.is_empty() {
        out.push('\n');
    }
}

/// `## Notes`: each cell's notes once per target × workload (naming the
/// repeats when not all of them had it), leaving out the noise the
/// verdict's warnings already say; then why a target has no write
/// amplification.
fn notes(out: &mut String, run: &RunResult) {
    let warned = super::verdicts::warnings(run);
    // How many cells (repeats) each target × workload has.
    let cells_of = |key: &str| {
        run.cells
            .iter()
            .filter(|c| format!("{} / {}", c.target.name, c.workload.name) == key)
            .count()
    };
    // (target / workload, note, repeats)
    let mut found: Vec<(String, String, Vec<u32>)> = Vec::new();
    for c in &run.cells {
        for n in &c.notes {
            let n = n.replace('\n', " ");
            let said = format!("{}: {}: {n}", c.workload.name, c.target.name);
            if warned.contains(&said) {
                continue;
            }
            let key = format!("{} / {}", c.target.name, c.workload.name);
            match found
                .iter_mut()
                .find(|(k, text, _)| *k == key && *text == n)
            {
                Some((_, _, reps)) => reps.push(c.repeat),
                None => found.push((key, n, vec![c.repeat])),
            }
        }
    }
    let mut lines: Vec<String> = found
        .into_iter()
        .map(|(key, note, reps)| {
            let which = match reps.len() {
                n if n >= cells_of(&key) => String::new(),
                1 => format!(" (repeat {})", reps[0]),
                _ => format!(
                    " (repeats {})",
                    reps.iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            format!("- **{}{which}**: {}", escape(&key), escape(&note))
        })
        .collect();
    let mut seen: Vec<&str> = Vec::new();
    for c in &run.cells {
        let Some(d) = c.device.as_ref().filter(|d| !d.attributable) else {
            continue;
        };
        if !seen.contains(&c.target.name.as_str()) {
            seen.push(&c.target.name);
            lines.push(format!(
                "- **{}**: {}",
                escape(&c.target.name),
                tables::not_attributable_note(&d.name)
            ));
        }
    }
    if !lines.is_empty() {
        out.push_str("## Notes\n\n");
        for l in lines {
            let _ = writeln!(out, "{l}");
        }
        out.push('\n');
    }
}

/// With a link base: `## Charts`, the headline charts and report.html as
/// absolute links. Without, nothing (the footer names report.html).
fn links(out: &mut String, charts: &[ChartLink], opts: &RenderOptions) {
    let Some(base) = &opts.link_base else {
        return;
    };
    out.push_str("## Charts\n\n");
    for c in charts.iter().filter(|c| c.headline) {
        let _ = writeln!(
            out,
            "- [{}]({base}/charts/{stem}.svg) ([PNG]({base}/charts/{stem}.png))",
            escape(&c.title.replace(['[', ']'], "")),
            stem = c.file_stem
        );
    }
    let _ = writeln!(
        out,
        "- [report.html]({base}/report.html): every chart, per-repeat figures, the targets' \
         mount options and the environment\n"
    );
}

/// The environment in one line.
fn environment(out: &mut String, run: &RunResult) {
    let e = &run.env;
    let mut parts = vec![
        format!("kernel {}", or_dash(&e.kernel)),
        crate::scenario::units::plural(u64::from(e.cores), "core", "cores"),
        format!(
            "{} memory",
            crate::scenario::units::format_size(e.memory_bytes)
        ),
        format!("cgroup {}", or_dash(&e.cgroup)),
    ];
    if !e.hostname.is_empty() {
        parts.push(format!("host {}", e.hostname));
    }
    parts.push(format!("wpbench {}", or_dash(&e.wpbench)));
    let _ = writeln!(out, "Environment: {}", escape(&parts.join(" · ")));
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::gate::{Check, Status};
    use crate::report::fixtures::{cell, loop_device, op, run, wal_run, with_errors};
    use crate::result::{CompareInfo, DeviceStats};

    /// The lines of the section under `## title`, up to the next heading
    /// (under `## Verdict`, after what was asked and the status line).
    fn section<'a>(md: &'a str, title: &str) -> Vec<&'a str> {
        let start = md.find(&format!("## {title}\n")).expect(title);
        md[start..]
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("## ") && *l != "---")
            .filter(|l| !l.is_empty())
            .filter(|l| !l.starts_with("**wpbench: ") && !l.starts_with("Run `"))
            .collect()
    }

    fn headings(md: &str) -> Vec<&str> {
        md.lines().filter(|l| l.starts_with("## ")).collect()
    }

    fn linked() -> RenderOptions {
        RenderOptions {
            link_base: Some("https://ci.example.test/runs/42".into()),
        }
    }

    /// A chart per kind of the report's charts: the headline ones and two
    /// that only report.html shows.
    fn charts() -> Vec<ChartLink> {
        [
            (
                "percentiles-wal-record",
                "record latency [p50] per target",
                true,
            ),
            ("spectrum-wal-record", "record latency by percentile", false),
            (
                "timeseries-000-ext4-wal-r0",
                "Every 100 ms: ext4 · wal",
                false,
            ),
        ]
        .into_iter()
        .map(|(stem, title, headline)| ChartLink {
            file_stem: stem.into(),
            title: title.into(),
            headline,
        })
        .collect()
    }

    /// A run as the quickstart makes them, or bigger: every workload on
    /// every target for `repeats` repeats, each target slower than the
    /// first by its factor, judged against it; the last target's device
    /// is shared with the host, the first's is a loop device.
    fn realistic(targets: &[(&str, f64)], repeats: u32) -> RunResult {
        let workloads = [
            ("small-files", "file", "fsync"),
            ("wal", "record", "fdatasync"),
            ("task-logs", "line", "fsync"),
        ];
        let mut cells = Vec::new();
        for r in 0..repeats {
            for (ti, (target, slow)) in targets.iter().enumerate() {
                for (w, unit, sync) in workloads {
                    let j = 1.0 + 0.04 * (f64::from(r % 3) - 1.0);
                    let mut c = cell(
                        cells.len(),
                        target,
                        w,
                        r,
                        vec![
                            (
                                unit,
                                op(5000, 1000.0 / slow / j, (90_000.0 * slow * j) as u64),
                            ),
                            (
                                sync,
                                op(5000, 1000.0 / slow / j, (80_000.0 * slow * j) as u64),
                            ),
                            ("write", op(5000, 1000.0, 3_000)),
                            ("close", op(5000, 1000.0, 700)),
                        ],
                    );
                    c.device = Some(if ti + 1 == targets.len() {
                        DeviceStats::measured("vda", (21_704_704, 198, 46), 131_072, true)
                    } else {
                        loop_device()
                    });
                    cells.push(c);
                }
            }
        }
        let mut run = run(cells);
        run.scenario.description = "small files, a WAL and task logs\non every target".into();
        run.compare = CompareInfo {
            pairs: targets[1..]
                .iter()
                .map(|(t, _)| (targets[0].0.to_string(), t.to_string()))
                .collect(),
            min_effect: 0.05,
        };
        crate::analysis::conclude(&mut run);
        run
    }

    fn check(status: Status, name: &str, target: &str, workload: &str, op: &str) -> Check {
        Check {
            gate: "gates[0]".into(),
            name: Some(name.into()),
            target: target.into(),
            workload: workload.into(),
            op: op.into(),
            level: crate::scenario::Level::Fail,
            limit: "p95 ≤ 2ms".into(),
            value: Some(2_410_000.0),
            limit_ns: Some(2_000_000.0),
            measured: "2.41ms (median of 5: 2.10ms–2.93ms)".into(),
            repeats: 5,
            status,
            message: "p95 2.41ms is above 2ms".into(),
            delta: None,
        }
    }

    fn gate_report(checks: Vec<Check>) -> GateReport {
        GateReport {
            schema: "wpbench.gate/v1".into(),
            run_id: "20250101T000000Z-ab12".into(),
            scenario: "quickstart".into(),
            status: checks
                .iter()
                .map(|c| c.status)
                .max()
                .unwrap_or(Status::Pass),
            baseline: None,
            checks,
            notes: vec!["hostpath: no write amplification to judge".into()],
        }
    }

    #[test]
    fn the_verdict_first_then_what_was_asked_and_a_status_line() {
        let md = render_full(
            &realistic(&[("tmpfs", 1.0), ("hostpath", 3.0)], 3),
            &charts(),
            None,
            &RenderOptions::default(),
        );
        // The first line of all is the verdict's heading: no other heading
        // before it, not even a title.
        assert!(md.starts_with("## Verdict\n\n"), "{md}");
        let before_table: Vec<&str> = md["## Verdict\n".len()..md.find("\nEach target").unwrap()]
            .lines()
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(
            before_table,
            [
                "**wpbench: quickstart**: small files, a WAL and task logs on every target",
                "Run `20250101T000000Z-ab12` · completed (18 of 18 cells) · 3 repeats · seed 42 \
                 · `scenarios/quickstart.yaml`",
            ]
        );
        assert_eq!(
            headings(&md),
            [
                "## Verdict",
                "## small-files",
                "## wal",
                "## task-logs",
                "## Notes"
            ]
        );
        // A run without comparisons still opens with its verdict: none.
        let plain = render(&wal_run());
        assert_eq!(headings(&plain)[0], "## Verdict");
        assert!(section(&plain, "Verdict")[0].starts_with("No targets were compared"));
    }

    #[test]
    fn the_verdict_table_is_compact_and_warnings_come_once() {
        let mut r = realistic(&[("tmpfs", 1.0), ("hostpath", 3.0)], 3);
        // Noise on one target: every repeat's note, and the comparisons'
        // warnings, say it.
        r.cells
            .iter_mut()
            .filter(|c| c.target.name == "hostpath" && c.workload.name == "wal")
            .for_each(|c| {
                let j = if c.repeat == 1 { 2.0 } else { 1.0 };
                c.ops.get_mut("record").unwrap().ops_per_sec *= j;
            });
        crate::analysis::conclude(&mut r);
        let md = render(&r);
        let rows = section(&md, "Verdict");
        assert_eq!(
            rows[1],
            "| workload | target vs baseline | op | verdict | throughput | p50 | p95 | p99 |"
        );
        assert_eq!(rows.iter().filter(|l| l.starts_with("| wal |")).count(), 2);
        assert!(
            rows.iter()
                .any(|l| l.starts_with("| wal | hostpath vs tmpfs | record | slower | ")),
            "{rows:#?}"
        );
        // The warning is said once, under the table, not per row nor again
        // in the notes.
        let warning = "noisy: record throughput across repeats varies";
        assert_eq!(md.matches(warning).count(), 1, "{md}");
        assert!(
            rows.iter()
                .any(|l| l.starts_with("- wal: hostpath: noisy: record throughput across")),
            "{rows:#?}"
        );
        assert!(rows
            .iter()
            .filter(|l| l.starts_with('|'))
            .all(|l| !l.contains("noisy")));
    }

    #[test]
    fn no_chart_links_without_a_link_base() {
        let md = render_full(&wal_run(), &charts(), None, &RenderOptions::default());
        assert!(!md.contains("charts/"), "{md}");
        assert!(!md.contains("](") && !md.contains("## Charts"), "{md}");
        assert!(md.contains(
            "Charts, per-repeat figures, the targets' mount options and the environment: \
             report.html in the run directory.\n"
        ));
    }

    #[test]
    fn headline_charts_and_report_html_linked_under_the_link_base() {
        let md = render_full(&wal_run(), &charts(), None, &linked());
        assert_eq!(
            section(&md, "Charts"),
            [
                "- [record latency p50 per target](https://ci.example.test/runs/42/charts/\
                 percentiles-wal-record.svg) ([PNG](https://ci.example.test/runs/42/charts/\
                 percentiles-wal-record.png))",
                "- [report.html](https://ci.example.test/runs/42/report.html): every chart, \
                 per-repeat figures, the targets' mount options and the environment",
            ]
        );
        assert!(!md.contains("spectrum-") && !md.contains("timeseries-"));
        assert!(!md.contains("in the run directory"));
    }

    #[test]
    fn link_bases_are_checked() {
        assert_eq!(
            parse_link_base("https://example.org/a/b/").unwrap(),
            "https://example.org/a/b"
        );
        assert_eq!(
            parse_link_base("http://h:8080/x").unwrap(),
            "http://h:8080/x"
        );
        for bad in [
            "ftp://h/x",
            "example.org/x",
            "https://",
            "https://h/a b",
            "/tmp/run",
        ] {
            let e = parse_link_base(bad).unwrap_err();
            assert!(e.contains(&format!("`{bad}`")), "{e}");
        }
        assert!(parse_link_base("https://h/a\tb")
            .unwrap_err()
            .contains("whitespace"));
    }

    #[test]
    fn fits_a_pr_comment() {
        // The quickstart's shape: 2 targets × 3 workloads × 3 repeats.
        let quickstart = render_full(
            &realistic(&[("tmpfs", 1.0), ("hostpath", 3.0)], 3),
            &charts(),
            None,
            &linked(),
        );
        assert!(
            quickstart.len() <= 8 * 1024,
            "{} bytes:\n{quickstart}",
            quickstart.len()
        );
        // Bigger: 3 targets, 5 repeats, gated, linked.
        let r = realistic(&[("ext4", 1.0), ("xfs", 1.5), ("hostpath", 3.0)], 5);
        let gates = gate_report(
            ["small-files", "wal", "task-logs"]
                .iter()
                .flat_map(|w| {
                    ["ext4", "xfs", "hostpath"]
                        .map(|t| check(Status::Pass, &format!("{w}-p95"), t, w, "file"))
                })
                .collect(),
        );
        let md = render_full(&r, &charts(), Some(&gates), &linked());
        assert!(md.len() < 12 * 1024, "{} bytes:\n{md}", md.len());
        // No per-repeat rows: a target's op has one row per workload.
        assert_eq!(md.matches("| xfs | record |").count(), 1, "{md}");
    }

    #[test]
    fn shared_device_is_not_attributable() {
        let r = realistic(&[("ext4", 1.0), ("hostpath", 3.0)], 3);
        let md = render(&r);
        let rows = section(&md, "wal");
        let host = rows
            .iter()
            .find(|l| l.starts_with("| hostpath | record |"))
            .unwrap();
        assert!(host.ends_with(" | - | not attributable |"), "{host}");
        let ext4 = rows
            .iter()
            .find(|l| l.starts_with("| ext4 | record |"))
            .unwrap();
        assert!(ext4.ends_with(" | - | 1.10 |"), "{ext4}");
        // The write amplification is the target's: on its unit op's row.
        let sync = rows
            .iter()
            .find(|l| l.starts_with("| hostpath | fdatasync |"))
            .unwrap();
        assert!(sync.ends_with(" | - |  |"), "{sync}");
        // Never a figure for the shared device, and one sentence why.
        assert!(!md.contains("165"), "{md}");
        assert_eq!(
            section(&md, "Notes"),
            [
                "- **hostpath**: write amplification is not attributable: its device vda is \
              shared with the rest of the host, so the device counters include other \
              processes' writes."
            ]
        );
    }

    #[test]
    fn median_of_repeats_with_their_range() {
        // Three repeats: rates 1000, 900, 1100 and p50s 100, 300, 200 µs
        // (p95 = 2×, p99 = 4×); EIO 2 and 3 times.
        let mut cells = Vec::new();
        for (r, (rate, p50, eio)) in [
            (1000.0, 100_000, 2),
            (900.0, 300_000, 0),
            (1100.0, 200_000, 3),
        ]
        .into_iter()
        .enumerate()
        {
            let mut c = cell(
                r,
                "ext4",
                "wal",
                r as u32,
                vec![
                    ("record", with_errors(op(100, rate, p50), &[("EIO", eio)])),
                    ("fdatasync", op(100, rate, p50 / 2)),
                ],
            );
            c.device = Some(DeviceStats {
                write_amplification: Some([1.2, 1.0, 1.1][r]),
                ..loop_device()
            });
            cells.push(c);
        }
        let md = render(&run(cells.clone()));
        assert_eq!(
            &section(&md, "wal")[1..],
            [
                "| target | op | ops/s | p50 | p95 | p99 | errors | write amp. |",
                "|---|---|---|---|---|---|---|---|",
                "| ext4 | record | 1000 (900–1100) | 200µs (100µs–300µs) | 400µs (200µs–600µs) \
                 | 800µs (400µs–1.20ms) | EIO×5 | 1.10 (1.00–1.20) |",
                "| ext4 | fdatasync | 1000 (900–1100) | 100µs (50.0µs–150µs) | 200µs \
                 (100µs–300µs) | 400µs (200µs–600µs) | - |  |",
            ]
        );
        assert!(section(&md, "wal")[0].starts_with("Median of 3 repeats (min–max)"));
        // Four repeats: the median is the mean of the middle two.
        let mut c = cells[0].clone();
        c.repeat = 3;
        c.ops.insert("record".into(), op(100, 1040.0, 260_000));
        cells.push(c);
        let md = render(&run(cells));
        let row = section(&md, "wal")[3];
        assert!(
            row.starts_with("| ext4 | record | 1020 (900–1100) | 230µs (100µs–300µs) |"),
            "{row}"
        );
        // One repeat: the value alone.
        let one = render(&wal_run());
        assert!(
            section(&one, "wal")[3]
                .starts_with("| ext4[noatime] | record | 1022 | 890µs | 1.78ms |"),
            "{one}"
        );
    }

    #[test]
    fn gates_shown_when_gated() {
        let r = realistic(&[("tmpfs", 1.0), ("hostpath", 3.0)], 3);
        assert!(!render_full(&r, &[], None, &RenderOptions::default()).contains("## Gates"));
        let gates = gate_report(vec![
            check(Status::Pass, "files-p95", "tmpfs", "small-files", "file"),
            check(Status::Fail, "wal-p95", "hostpath", "wal", "record"),
        ]);
        let md = render_full(&r, &[], Some(&gates), &RenderOptions::default());
        assert_eq!(
            &headings(&md)[..2],
            ["## Verdict", "## Gates"],
            "gates right after the verdict"
        );
        assert_eq!(
            section(&md, "Gates"),
            [
                "**FAIL** — 1 passed, 0 warned, 1 failed, 0 skipped",
                "| status | gate | cell | op | limit | measured |",
                "|---|---|---|---|---|---|",
                "| ❌ FAIL | wal-p95 | hostpath/wal | record | p95 ≤ 2ms | 2.41ms (median of 5: \
                 2.10ms–2.93ms) |",
                "| ✅ PASS | files-p95 | tmpfs/small-files | file | p95 ≤ 2ms | 2.41ms (median \
                 of 5: 2.10ms–2.93ms) |",
                "- hostpath: no write amplification to judge",
            ]
        );
    }

    #[test]
    fn notes_once_per_target_and_workload() {
        let mut r = run(Vec::new());
        for repeat in 0..3 {
            let mut c = cell(
                repeat as usize,
                "ext4",
                "wal",
                repeat,
                vec![("record", op(10, 1.0, 1_000))],
            );
            c.notes = vec!["fsync: EIO 12 times".into()];
            if repeat == 1 {
                c.notes.push("the pool ran dry".into());
            }
            r.cells.push(c);
        }
        r.scenario.planned_cells = 3;
        let md = render(&r);
        assert_eq!(
            section(&md, "Notes"),
            [
                "- **ext4 / wal**: fsync: EIO 12 times",
                "- **ext4 / wal (repeat 1)**: the pool ran dry",
            ]
        );
    }

    #[test]
    fn environment_in_one_line_at_the_end() {
        let md = render(&wal_run());
        assert!(
            md.ends_with(
                "\nEnvironment: kernel 6.18.44 · 2 cores · 8GiB memory · cgroup v2 · host bench-1 \
                 · wpbench 0.1.0\n"
            ),
            "{md}"
        );
        for gone in [
            "## Environment",
            "## Targets",
            "## Device",
            "/dev/loop3",
            "vm.dirty_ratio",
        ] {
            assert!(!md.contains(gone), "{gone} in {md}");
        }
    }

    #[test]
    fn pipes_are_escaped_everywhere() {
        let mut r = wal_run();
        r.cells[0].target.name = "a|b".into();
        r.cells[0].workload.name = "w|1".into();
        r.env.cpu = "CPU | fast".into();
        r.env.hostname = "h|1".into();
        let md = render(&r);
        assert!(md.contains("## w\\|1\n"));
        assert!(md.contains("| a\\|b | record |"));
        assert!(md.contains("host h\\|1"));
        assert!(!md.contains("a|b"));
        assert_eq!(escape("x|y\nz"), "x\\|y z");
    }

    #[test]
    fn crash_durability_sits_next_to_speed() {
        let mut r = wal_run();
        r.cells[0]
            .workload
            .params
            .insert("fsync".into(), "always".into());
        use crate::fault::timeline::Event;
        r.cells[0]
            .faults
            .push(crate::fault::outcome::testing::crash(
                crate::fault::verify::Durability {
                    trials: 3,
                    acked_intact: 900,
                    unacked_lost: 12,
                    loss_window_ms: 4.2,
                    acked_after_cut: 2,
                    ..Default::default()
                },
                Some(1.234),
                vec![crate::fault::outcome::testing::trial(
                    0,
                    &[
                        (Event::Armed, 0.0),
                        (Event::Fired, 1.234),
                        (Event::Healed, 1.5),
                    ],
                )],
            ));
        let md = render(&r);
        let rows = section(&md, "Faults and durability");
        assert!(
            rows.iter().any(|l| l.contains("| always | crash |")
                && l.contains("| 3 | 900 | 0 | 0 | 12 | 4 ms |")
                && l.contains("| armed 0.00 · fired 1.23 · healed 1.50 |")
                && l.contains("2 sync(s) returned success only after the cut")),
            "{rows:?}"
        );
        assert!(!render(&wal_run()).contains("## Faults"));
    }

    #[test]
    fn empty_run_says_so() {
        let md = render(&run(vec![]));
        assert_eq!(headings(&md), ["## Verdict", "## Results"]);
        assert!(md.contains("## Results\n\nNo cell ran.\n"));
    }
}
