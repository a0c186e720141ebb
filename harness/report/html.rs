//! report.html: the page a reviewer is sent, answer first. One
//! self-contained file — inline CSS and inline SVG charts, no script,
//! nothing fetched. It opens with `<section id="verdict">`: the scenario's
//! question, the verdicts, the gates, at most four headline charts. Then a
//! section per workload (its table over the repeats, the charts that
//! matter), storage and faults, and an appendix of `<details>` blocks with
//! every other chart, the per-repeat results, the effective mount options,
//! the environment and the scenario. Pure: the same `RunResult` and charts
//! give the same bytes.

use std::fmt::Write as _;

use super::charts::{Chart, ChartKind};
use super::tables::{self, Table};
use crate::analysis::gate::{GateReport, Status};
use crate::record::Op;
use crate::result::RunResult;

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Text with `code` spans in backticks, as HTML.
fn inline_code(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", escape(part))
            } else {
                escape(part)
            }
        })
        .collect()
}

pub(crate) const STYLE: &str = "
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 0 auto;
       max-width: 1280px; padding: 1.5rem; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .25rem; }
h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .3rem; }
nav a { margin-right: .9rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #d0d0d0; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.slower { color: #b00020; font-weight: 600; }
td.faster { color: #00703c; font-weight: 600; }
.scroll { overflow-x: auto; }
figure { margin: 1rem 0 2rem; }
figure svg { max-width: 100%; height: auto; border: 1px solid #e5e5e5; }
figcaption { font-size: .9rem; color: #444; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 0 1.2rem; }
.grid figure { margin: .6rem 0 1rem; }
#verdict { border: 1px solid #d8d8d8; border-radius: 6px; padding: .4rem 1.2rem .6rem; background: #fcfcfc; }
#verdict h2 { margin-top: .8rem; }
.question { font-size: 1.1rem; margin: .4rem 0; }
.status { color: #444; font-size: .9rem; margin: .2rem 0 .6rem; }
.warnings { font-size: .88rem; color: #444; }
details { margin: .6rem 0; border: 1px solid #e2e2e2; border-radius: 4px; padding: .3rem .8rem; }
summary { cursor: pointer; font-weight: 600; padding: .2rem 0; }
.meta dt { font-weight: 600; float: left; clear: left; width: 8rem; }
.meta dd { margin-left: 8.5rem; }
.violation { color: #b00020; font-weight: 600; }
code { background: #f3f3f3; padding: 0 .2rem; border-radius: 3px; }
";

/// The whole page: the answer first (the verdict section: the question,
/// the verdicts, the gates, at most four headline charts), then one
/// section per workload with its table and the charts that matter, then
/// storage and faults, then an appendix of `<details>` with everything
/// else.
pub fn render(run: &RunResult, charts: &[Chart], gates: Option<&GateReport>) -> String {
    let mut out = String::new();
    let s = &run.scenario;
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>wpbench: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&s.name)
    );
    let _ = writeln!(out, "<h1>wpbench: {}</h1>", escape(&s.name));
    let headlines = super::charts::headlines(charts);
    verdict_section(&mut out, run, charts, &headlines, gates);

    let workloads = tables::workloads(run);
    out.push_str("<nav>");
    for (i, w) in workloads.iter().enumerate() {
        let _ = write!(out, "<a href=\"#workload-{i}\">{}</a>", escape(w));
    }
    for (id, title) in [("storage", "Storage and faults"), ("appendix", "Appendix")] {
        let _ = write!(out, "<a href=\"#{id}\">{title}</a>");
    }
    out.push_str("</nav>\n");

    for (i, w) in workloads.iter().enumerate() {
        workload_section(&mut out, run, i, w, charts, &headlines);
    }
    storage_section(&mut out, run, charts);
    appendix(&mut out, run, charts, &headlines);
    out.push_str("</body>\n</html>\n");
    out
}

/// The answer: what was asked, how the run went, the verdicts, the gates,
/// and the headline charts.
fn verdict_section(
    out: &mut String,
    run: &RunResult,
    charts: &[Chart],
    headlines: &[usize],
    gates: Option<&GateReport>,
) {
    let s = &run.scenario;
    out.push_str("<section id=\"verdict\">\n");
    if !s.description.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"question\">{}</p>",
            escape(s.description.trim())
        );
    }
    let _ = writeln!(out, "<p class=\"status\">{}</p>", escape(&status_line(run)));
    match super::verdicts::table(run) {
        Some(t) => {
            table(out, &t);
            let warnings = super::verdicts::warnings(run);
            // A few are read; many would push the charts off the first
            // screen: folded, with their count.
            let folded = warnings.len() > 4;
            if folded {
                let _ = writeln!(
                    out,
                    "<details class=\"warnings\"><summary>{} (noise, too few repeats)</summary>",
                    crate::scenario::units::plural(warnings.len() as u64, "warning", "warnings")
                );
            }
            if !warnings.is_empty() {
                out.push_str("<ul class=\"warnings\">\n");
                for w in warnings {
                    let _ = writeln!(out, "<li>{}</li>", inline_code(&w));
                }
                out.push_str("</ul>\n");
            }
            if folded {
                out.push_str("</details>\n");
            }
        }
        None => {
            let _ = writeln!(
                out,
                "<h2 id=\"verdicts\">Verdict</h2>\n<p>{}</p>",
                inline_code(
                    "No targets were compared: give `compare: {baseline: TARGET}`, or `vary:` \
                     a target, and `repeat: 3` or more."
                )
            );
        }
    }
    if let Some(g) = gates {
        gates_section(out, g);
    }
    if !headlines.is_empty() {
        out.push_str("<div class=\"grid\">\n");
        for &i in headlines {
            figure(out, &charts[i]);
        }
        out.push_str("</div>\n");
    }
    out.push_str("</section>\n");
}

/// `run 2025…-ab12 · completed (6 of 6 cells) · 3 repeats · seed 42 ·
/// scenarios/x.yaml · 2025-01-01T00:00:00Z`.
fn status_line(run: &RunResult) -> String {
    let mut parts = vec![
        format!("run {}", run.run_id),
        tables::status(run),
        crate::scenario::units::plural(u64::from(tables::repeats(run)), "repeat", "repeats"),
        format!("seed {}", run.scenario.seed),
    ];
    parts.extend(
        [&run.scenario.file, &run.started_at]
            .into_iter()
            .filter(|t| !t.is_empty())
            .cloned(),
    );
    parts.join(" · ")
}

/// Where a chart goes: the verdict section, its workload's section, or
/// the appendix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Headline,
    Workload,
    Storage,
    Appendix,
}

fn place(c: &Chart, index: usize, headlines: &[usize]) -> Place {
    if headlines.contains(&index) {
        return Place::Headline;
    }
    let sync_op =
        c.op.as_deref()
            .and_then(Op::from_name)
            .is_some_and(|o| tables::SYNC_OPS.contains(&o));
    match c.kind {
        // A merged run's spectrum per node: where an outlier node shows.
        ChartKind::Comparison | ChartKind::PercentileBars | ChartKind::PerNode => Place::Workload,
        ChartKind::Spectrum if c.shows_unit_op() || sync_op => Place::Workload,
        ChartKind::Device | ChartKind::Durability => Place::Storage,
        _ => Place::Appendix,
    }
}

/// One workload: its table over the repeats and the charts that matter
/// (comparison and unit-op spectrum when not headlines, the percentile
/// bars, the sync op's spectrum).
fn workload_section(
    out: &mut String,
    run: &RunResult,
    i: usize,
    w: &str,
    charts: &[Chart],
    headlines: &[usize],
) {
    let _ = writeln!(
        out,
        "<section id=\"workload-{i}\">\n<h2>Workload {}</h2>",
        escape(w)
    );
    if let Some(c) = run.cells.iter().find(|c| c.workload.name == w) {
        let params: Vec<String> = c
            .workload
            .params
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let _ = writeln!(
            out,
            "<p class=\"status\">{} · {} · {}</p>",
            escape(&c.workload.kind),
            crate::scenario::units::plural(c.workload.threads as u64, "thread", "threads"),
            escape(&params.join(", "))
        );
    }
    let t = tables::workload_summary(run, w);
    if let Some(intro) = &t.intro {
        let _ = writeln!(out, "<p>{}</p>", inline_code(intro));
    }
    table_body(out, &t);
    out.push_str("<div class=\"grid\">\n");
    for (k, c) in charts.iter().enumerate() {
        if c.workload.as_deref() == Some(w) && place(c, k, headlines) == Place::Workload {
            figure(out, c);
        }
    }
    out.push_str("</div>\n</section>\n");
}

/// What reached the device, faults and what they cost, and the notes.
fn storage_section(out: &mut String, run: &RunResult, charts: &[Chart]) {
    out.push_str("<section id=\"storage\">\n<h2>Storage and faults</h2>\n");
    let devices = tables::devices(run);
    let faults = tables::faults(run);
    if devices.is_none() && faults.is_none() {
        out.push_str("<p>No device counters and no faults in this run.</p>\n");
    }
    if let Some(t) = devices {
        sub_table(out, &t);
    }
    for c in charts.iter().filter(|c| c.kind == ChartKind::Device) {
        figure(out, c);
    }
    match faults {
        Some(t) => sub_table(out, &t),
        None => out.push_str("<h3 id=\"faults\">Faults</h3>\n<p>No faults were injected.</p>\n"),
    }
    for c in charts.iter().filter(|c| c.kind == ChartKind::Durability) {
        figure(out, c);
    }
    let notes = tables::notes(run);
    out.push_str("<h3 id=\"notes\">Notes</h3>\n");
    if notes.is_empty() {
        out.push_str("<p>None.</p>\n");
    } else {
        out.push_str("<ul>\n");
        for (cell, note) in notes {
            let class = if note.contains("DURABILITY VIOLATION") {
                " class=\"violation\""
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "<li{class}><strong>{}</strong>: {}</li>",
                escape(&cell),
                escape(&note)
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}

/// Everything else, folded: every op's spectrum and CDF, the per-cell
/// time series, per-repeat results, the verdicts in detail, the targets
/// with their effective mount options, the environment, the scenario.
fn appendix(out: &mut String, run: &RunResult, charts: &[Chart], headlines: &[usize]) {
    out.push_str("<section id=\"appendix\">\n<h2>Appendix</h2>\n");
    let rest: Vec<&Chart> = charts
        .iter()
        .enumerate()
        .filter(|(k, c)| place(c, *k, headlines) == Place::Appendix)
        .map(|(_, c)| c)
        .collect();
    let (series, latency): (Vec<&Chart>, Vec<&Chart>) = rest
        .into_iter()
        .partition(|c| c.kind == ChartKind::TimeSeries);
    for (id, what, group) in [
        ("charts", "Every op's latency: spectra and CDFs", latency),
        ("time-series", "Each cell interval by interval", series),
    ] {
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "<details id=\"{id}\">\n<summary>{what} ({})</summary>",
            crate::scenario::units::plural(group.len() as u64, "chart", "charts")
        );
        for c in group {
            figure(out, c);
        }
        out.push_str("</details>\n");
    }
    let results = tables::results(run);
    details_table(out, &results, results.rows.is_empty());
    if let Some(t) = super::verdicts::detailed_table(run) {
        details_table(
            out,
            &Table {
                id: "verdicts-detail",
                title: "Verdicts in detail",
                ..t
            },
            false,
        );
    }
    if let Some(t) = tables::targets(run) {
        details_table(out, &t, false);
    }
    details_table(out, &tables::environment(run), false);
    scenario(out, run);
    out.push_str("</section>\n");
}

/// A table folded in a `<details>` block named after it; `empty` says
/// so instead of an empty table.
fn details_table(out: &mut String, t: &Table, empty: bool) {
    let _ = writeln!(
        out,
        "<details id=\"{}\">\n<summary>{}</summary>",
        t.id,
        escape(t.title)
    );
    if empty {
        out.push_str("<p>Nothing recorded.</p>\n");
    } else {
        if let Some(intro) = &t.intro {
            let _ = writeln!(out, "<p>{}</p>", inline_code(intro));
        }
        table_body(out, t);
    }
    out.push_str("</details>\n");
}

fn scenario(out: &mut String, run: &RunResult) {
    let s = &run.scenario;
    out.push_str(
        "<details id=\"scenario\">\n<summary>Scenario and run</summary>\n<dl class=\"meta\">\n",
    );
    let status = tables::status(run);
    let rows = [
        ("Name", s.name.clone()),
        ("File", s.file.clone()),
        ("sha256", s.sha256.clone()),
        ("Seed", s.seed.to_string()),
        ("Run", run.run_id.clone()),
        ("Status", status),
        ("Started", run.started_at.clone()),
        ("Finished", run.finished_at.clone()),
        ("Command", run.command.join(" ")),
    ];
    for (k, v) in rows {
        let v = if v.is_empty() { "-".to_string() } else { v };
        let _ = writeln!(out, "<dt>{k}</dt><dd>{}</dd>", escape(&v));
    }
    out.push_str("</dl>\n</details>\n");
}

/// Whether a cell holds a figure (right-aligned).
fn numeric(text: &str) -> bool {
    text.chars().next().is_some_and(|c| c.is_ascii_digit()) && !text.contains(char::is_whitespace)
}

/// A cell's class: figures right-aligned, verdict words coloured.
fn cell_class(text: &str) -> &'static str {
    match text {
        "slower" => " class=\"slower\"",
        "faster" => " class=\"faster\"",
        t if numeric(t) => " class=\"num\"",
        _ => "",
    }
}

/// A `<h2>` table with its intro.
fn table(out: &mut String, t: &Table) {
    let _ = writeln!(out, "<h2 id=\"{}\">{}</h2>", t.id, escape(t.title));
    if let Some(intro) = &t.intro {
        let _ = writeln!(out, "<p>{}</p>", inline_code(intro));
    }
    table_body(out, t);
}

/// A `<h3>` table with its intro, inside a section.
fn sub_table(out: &mut String, t: &Table) {
    let _ = writeln!(out, "<h3 id=\"{}\">{}</h3>", t.id, escape(t.title));
    if let Some(intro) = &t.intro {
        let _ = writeln!(out, "<p>{}</p>", inline_code(intro));
    }
    table_body(out, t);
}

fn table_body(out: &mut String, t: &Table) {
    out.push_str("<div class=\"scroll\"><table>\n<thead><tr>");
    for c in &t.columns {
        let _ = write!(out, "<th>{}</th>", escape(c));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for cell in row {
            let lines: Vec<String> = cell.split('\n').map(escape).collect();
            let _ = write!(out, "<td{}>{}</td>", cell_class(cell), lines.join("<br>"));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
}

fn gates_section(out: &mut String, g: &GateReport) {
    let _ = writeln!(
        out,
        "<h3 id=\"gates\">Gates</h3>\n<p><strong class=\"{}\">{}</strong>: {} passed, {} warned, {} failed, {} skipped{}</p>",
        if g.status == Status::Fail { "violation" } else { "" },
        g.status.as_str(),
        g.count(Status::Pass),
        g.count(Status::Warn),
        g.count(Status::Fail),
        g.count(Status::Skip),
        g.baseline
            .as_ref()
            .map(|b| format!(" · baseline {}", escape(b)))
            .unwrap_or_default()
    );
    let rows = g
        .checks
        .iter()
        .map(|c| {
            vec![
                c.status.as_str().to_string(),
                c.label().to_string(),
                format!("{}/{}", c.target, c.workload),
                c.op.clone(),
                c.limit.clone(),
                c.measured.clone(),
                c.message.clone(),
            ]
        })
        .collect();
    let mut t = Table {
        id: "gate-checks",
        title: "Gate checks",
        intro: None,
        columns: vec!["", "gate", "cell", "op", "limit", "measured", "detail"],
        rows,
    };
    t.rows.sort_by_key(|r| std::cmp::Reverse(r[0] == "FAIL"));
    if !t.rows.is_empty() {
        table_body(out, &t);
    }
    for n in &g.notes {
        let _ = writeln!(out, "<p>{}</p>", escape(n));
    }
}

/// A chart inline, with links to its files.
fn figure(out: &mut String, c: &Chart) {
    // plotters' SVG is a bare <svg> element with a viewBox: inline as is.
    let svg = c.svg.trim_start_matches(|ch: char| ch != '<');
    let svg = match svg.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(svg, |(_, s)| s.trim_start()),
        None => svg,
    };
    let _ = writeln!(
        out,
        "<figure id=\"chart-{stem}\">\n{svg}\n<figcaption>{title} · \
         <a href=\"charts/{stem}.svg\">SVG</a> · <a href=\"charts/{stem}.png\">PNG</a>\
         </figcaption>\n</figure>",
        stem = escape(&c.file_stem),
        title = escape(&c.title),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::wal_run;

    fn chart(stem: &str, kind: ChartKind, op: Option<&str>) -> Chart {
        Chart {
            file_stem: stem.into(),
            title: format!("title of {stem}"),
            svg: "<svg viewBox=\"0 0 10 10\" xmlns=\"http://www.w3.org/2000/svg\"></svg>".into(),
            png: Vec::new(),
            kind,
            workload: Some("wal".into()),
            op: op.map(str::to_string),
        }
    }

    /// One chart of each family for the WAL run.
    fn charts() -> Vec<Chart> {
        vec![
            chart("compare-wal", ChartKind::Comparison, Some("record")),
            chart(
                "percentiles-wal-record",
                ChartKind::PercentileBars,
                Some("record"),
            ),
            chart("spectrum-wal-record", ChartKind::Spectrum, Some("record")),
            chart("cdf-wal-record", ChartKind::Cdf, Some("record")),
            chart("spectrum-wal-fsync", ChartKind::Spectrum, Some("fsync")),
            chart("spectrum-wal-write", ChartKind::Spectrum, Some("write")),
            Chart {
                workload: None,
                ..chart("device", ChartKind::Device, None)
            },
            chart(
                "timeseries-000-ext4-wal-r0",
                ChartKind::TimeSeries,
                Some("record"),
            ),
        ]
    }

    /// The part of `html` from `<tag id="id"` to the end of that element
    /// (elements of that tag are not nested in the page).
    fn element<'a>(html: &'a str, tag: &str, id: &str) -> &'a str {
        let start = html
            .find(&format!("<{tag} id=\"{id}\""))
            .unwrap_or_else(|| panic!("no <{tag} id={id}>"));
        let end = html[start..].find(&format!("</{tag}>")).unwrap() + start;
        &html[start..end]
    }

    #[test]
    fn the_page_opens_with_the_verdict_and_folds_the_rest() {
        let mut run = wal_run();
        run.scenario.description = "Does noatime help the WAL?".into();
        run.cells[0]
            .notes
            .push("DURABILITY VIOLATION: <3> lost".into());
        let charts = charts();
        let html = render(&run, &charts, None);
        // The first element after the title is the verdict section, with
        // the scenario's question in it.
        let body = &html[html.find("<body>").unwrap()..];
        let after_title = body.split_once("</h1>\n").unwrap().1;
        assert!(
            after_title.starts_with("<section id=\"verdict\">"),
            "{after_title}"
        );
        let verdict = element(&html, "section", "verdict");
        assert!(verdict.contains("Does noatime help the WAL?"));
        assert!(
            verdict.contains("No targets were compared"),
            "says why no verdict"
        );
        // Headlines: the comparison chart and the unit op's spectrum.
        let figures = |part: &str| {
            part.match_indices("<figure id=\"chart-")
                .map(|(i, _)| part[i + 18..].split('"').next().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(figures(verdict), ["compare-wal", "spectrum-wal-record"]);
        // The workload's section: its table and the charts that matter.
        let wal = element(&html, "section", "workload-0");
        assert!(wal.contains("<h2>Workload wal</h2>"));
        assert!(
            wal.contains("<th>write amp.</th>"),
            "the table over repeats"
        );
        assert_eq!(
            figures(wal),
            ["percentiles-wal-record", "spectrum-wal-fsync"]
        );
        let storage = element(&html, "section", "storage");
        assert_eq!(figures(storage), ["device"]);
        assert!(storage.contains("class=\"violation\""));
        assert!(storage.contains("DURABILITY VIOLATION: &lt;3&gt; lost"));
        // Everything else folded in the appendix, each in its <details>.
        let appendix = element(&html, "section", "appendix");
        assert_eq!(
            figures(element(appendix, "details", "charts")),
            ["cdf-wal-record", "spectrum-wal-write"]
        );
        assert_eq!(
            figures(element(appendix, "details", "time-series")),
            ["timeseries-000-ext4-wal-r0"]
        );
        for id in ["results", "targets", "environment", "scenario"] {
            assert!(
                element(appendix, "details", id).contains("<summary>"),
                "{id}"
            );
        }
        assert!(element(appendix, "details", "environment").contains("vm.dirty_ratio"));
        // Every chart once, with links to its files.
        assert_eq!(html.matches("<figure").count(), charts.len());
        assert!(html.contains("href=\"charts/spectrum-wal-record.png\""));
        // Nothing fetched, nothing run.
        let outside_svg_ns = html.replace("http://www.w3.org/2000/svg", "");
        for banned in ["<script", "http://", "https://", "@import", "url("] {
            assert!(!outside_svg_ns.contains(banned), "{banned}");
        }
        assert_eq!(html, render(&run, &charts, None), "pure");
    }

    #[test]
    fn verdicts_and_gates_are_in_the_verdict_section() {
        use crate::result::comparison::{Metric, Verdict};
        let mut run = wal_run();
        let mut other = run.cells[0].clone();
        other.target.name = "tmpfs".into();
        run.cells.push(other);
        run.compare.min_effect = 0.05;
        let mut slower = crate::report::fixtures::comparison(
            ("wal", "record"),
            ("ext4[noatime]", "tmpfs"),
            Metric::P95,
            (2.0, 1.8, 2.2),
            Verdict::Slower,
        );
        slower.warnings = vec!["tmpfs: noisy: record p95 across repeats varies 12.0 %".into()];
        run.comparisons.push(slower);
        let gates = GateReport {
            schema: String::new(),
            run_id: run.run_id.clone(),
            scenario: "quickstart".into(),
            status: Status::Fail,
            baseline: None,
            checks: Vec::new(),
            notes: Vec::new(),
        };
        let html = render(&run, &[], Some(&gates));
        let verdict = element(&html, "section", "verdict");
        assert!(
            verdict.contains("<td class=\"slower\">slower</td>"),
            "{verdict}"
        );
        assert!(verdict.contains("2.00× [1.80, 2.20] slower"));
        assert!(
            verdict.contains("<li>wal: tmpfs: noisy: record p95"),
            "warnings once"
        );
        assert!(verdict.contains("<h3 id=\"gates\">Gates</h3>"));
        assert!(
            verdict.contains("class=\"violation\">FAIL</strong>"),
            "{verdict}"
        );
    }

    #[test]
    fn escaping() {
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
        assert_eq!(inline_code("x `a<b` y"), "x <code>a&lt;b</code> y");
    }
}
