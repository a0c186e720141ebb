//! report.html: the page a reviewer is sent. One self-contained file —
//! inline CSS and inline SVG charts, no script, nothing fetched — with the
//! scenario, the environment, the effective mount options, the results,
//! every chart, the gate verdicts and the fault outcomes. Pure: the same
//! `RunResult` and charts give the same bytes.

use std::fmt::Write as _;

use super::charts::Chart;
use super::tables::{self, Table};
use crate::analysis::gate::{GateReport, Status};
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
nav a { margin-right: .9rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #d0d0d0; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; }
figure { margin: 1rem 0 2rem; }
figure svg { max-width: 100%; height: auto; border: 1px solid #e5e5e5; }
figcaption { font-size: .9rem; color: #444; }
.meta dt { font-weight: 600; float: left; clear: left; width: 8rem; }
.meta dd { margin-left: 8.5rem; }
.violation { color: #b00020; font-weight: 600; }
code { background: #f3f3f3; padding: 0 .2rem; border-radius: 3px; }
";

/// The whole page.
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
    if !s.description.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", escape(s.description.trim()));
    }
    let verdicts = super::verdicts::table(run);
    let sections = [
        ("verdicts", "Verdicts"),
        ("scenario", "Scenario"),
        ("environment", "Environment"),
        ("targets", "Targets"),
        ("results", "Results"),
        ("charts", "Charts"),
        ("gates", "Gates"),
        ("faults", "Faults"),
        ("notes", "Notes"),
    ];
    out.push_str("<nav>");
    for (id, title) in sections {
        let _ = write!(out, "<a href=\"#{id}\">{title}</a>");
    }
    out.push_str("</nav>\n");

    match &verdicts {
        Some(t) => table(&mut out, t),
        None => empty(
            &mut out,
            "verdicts",
            "Verdicts",
            "No targets were compared: give `compare: {baseline: TARGET}`, or `vary:` a target.",
        ),
    }
    scenario(&mut out, run);
    table(&mut out, &tables::environment(run));
    match tables::targets(run) {
        Some(t) => table(&mut out, &t),
        None => empty(&mut out, "targets", "Targets", "No cell ran."),
    }
    let results = tables::results(run);
    if results.rows.is_empty() {
        empty(
            &mut out,
            "results",
            "Results",
            "No unit or sync operations recorded.",
        );
    } else {
        table(&mut out, &results);
    }
    if let Some(t) = tables::devices(run) {
        table(&mut out, &t);
    }
    charts_section(&mut out, charts);
    match gates {
        Some(g) => gates_section(&mut out, g),
        None => empty(
            &mut out,
            "gates",
            "Gates",
            "This run was not gated: no gate verdicts to show.",
        ),
    }
    match tables::faults(run) {
        Some(t) => table(&mut out, &t),
        None => empty(&mut out, "faults", "Faults", "No faults were injected."),
    }
    let notes = tables::notes(run);
    let _ = writeln!(out, "<h2 id=\"notes\">Notes</h2>");
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
    out.push_str("</body>\n</html>\n");
    out
}

fn scenario(out: &mut String, run: &RunResult) {
    let s = &run.scenario;
    let _ = writeln!(
        out,
        "<h2 id=\"scenario\">Scenario</h2>\n<dl class=\"meta\">"
    );
    let status = tables::status(run);
    let rows = [
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
    out.push_str("</dl>\n");
}

fn empty(out: &mut String, id: &str, title: &str, text: &str) {
    let _ = writeln!(out, "<h2 id=\"{id}\">{title}</h2>\n<p>{}</p>", escape(text));
}

/// Whether a cell holds a figure (right-aligned).
fn numeric(text: &str) -> bool {
    text.chars().next().is_some_and(|c| c.is_ascii_digit()) && !text.contains(char::is_whitespace)
}

fn table(out: &mut String, t: &Table) {
    let _ = writeln!(out, "<h2 id=\"{}\">{}</h2>", t.id, escape(t.title));
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
            let class = if numeric(cell) { " class=\"num\"" } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", lines.join("<br>"));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
}

fn gates_section(out: &mut String, g: &GateReport) {
    let _ = writeln!(
        out,
        "<h2 id=\"gates\">Gates</h2>\n<p><strong class=\"{}\">{}</strong>: {} passed, {} warned, {} failed, {} skipped{}</p>",
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
    table_body(out, &t);
    for n in &g.notes {
        let _ = writeln!(out, "<p>{}</p>", escape(n));
    }
}

fn charts_section(out: &mut String, charts: &[Chart]) {
    let _ = writeln!(out, "<h2 id=\"charts\">Charts</h2>");
    if charts.is_empty() {
        out.push_str("<p>No charts: nothing was measured.</p>\n");
        return;
    }
    for c in charts {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::wal_run;

    #[test]
    fn the_page_is_self_contained_and_has_every_section() {
        let mut run = wal_run();
        run.cells[0]
            .notes
            .push("DURABILITY VIOLATION: <3> lost".into());
        let chart = Chart {
            file_stem: "spectrum-wal-record".into(),
            title: "record latency".into(),
            svg: "<svg viewBox=\"0 0 10 10\" xmlns=\"http://www.w3.org/2000/svg\"></svg>".into(),
            png: Vec::new(),
            kind: crate::report::charts::ChartKind::Spectrum,
            workload: Some("wal".into()),
            op: Some("record".into()),
        };
        let html = render(&run, std::slice::from_ref(&chart), None);
        for id in [
            "scenario",
            "environment",
            "targets",
            "results",
            "charts",
            "gates",
            "faults",
            "notes",
        ] {
            assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert!(html.contains("<svg viewBox"));
        assert!(html.contains("href=\"charts/spectrum-wal-record.png\""));
        // Nothing fetched, nothing run.
        for banned in ["<script", "http://", "https://", "@import", "url("] {
            let outside_svg_ns = html.replace("http://www.w3.org/2000/svg", "");
            assert!(!outside_svg_ns.contains(banned), "{banned}");
        }
        assert!(html.contains("class=\"violation\""));
        assert!(html.contains("DURABILITY VIOLATION: &lt;3&gt; lost"));
        assert_eq!(html, render(&run, &[chart], None), "pure");
    }

    #[test]
    fn escaping() {
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
        assert_eq!(inline_code("x `a<b` y"), "x <code>a&lt;b</code> y");
    }
}
