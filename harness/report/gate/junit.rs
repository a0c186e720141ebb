//! junit.xml: one testcase per gate × cell × limit, so a CI system
//! (GitLab's `artifacts:reports:junit`, Jenkins, a GitHub test reporter)
//! shows each gate as a test. FAIL is a `<failure>`, SKIP a `<skipped>`,
//! WARN a pass whose `<system-out>` says so (JUnit has no warning).

use std::fmt::Write as _;

use crate::analysis::gate::{GateReport, Status};
use crate::report::html::escape;

pub fn render(r: &GateReport) -> String {
    let (tests, failures, skipped) = (r.checks.len(), r.count(Status::Fail), r.count(Status::Skip));
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"wpbench gates\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"0\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"wpbench gates: {}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"0\">",
        escape(&r.scenario)
    );
    let _ = writeln!(
        out,
        "    <properties><property name=\"run_id\" value=\"{}\"/>{}</properties>",
        escape(&r.run_id),
        r.baseline
            .as_ref()
            .map(|b| format!("<property name=\"baseline\" value=\"{}\"/>", escape(b)))
            .unwrap_or_default()
    );
    for c in &r.checks {
        // A named gate leads its testcases' names, so a CI's test view
        // shows `wal-p95: ext4/wal record: p95 ≤ 2ms`.
        let name = format!(
            "{}{}/{}{}: {}",
            c.name
                .as_deref()
                .map_or(String::new(), |n| format!("{n}: ")),
            c.target,
            c.workload,
            if c.op == "-" {
                String::new()
            } else {
                format!(" {}", c.op)
            },
            c.limit
        );
        let _ = write!(
            out,
            "    <testcase classname=\"wpbench.{}\" name=\"{}\" time=\"0\">",
            escape(c.label()),
            escape(&name)
        );
        match c.status {
            Status::Fail => {
                let _ = write!(
                    out,
                    "<failure type=\"{}\" message=\"{}\">{}</failure>",
                    c.status.as_str(),
                    escape(&c.message),
                    escape(&format!("measured {}; limit {}", c.measured, c.limit))
                );
            }
            Status::Skip => {
                let _ = write!(out, "<skipped message=\"{}\"/>", escape(&c.message));
            }
            Status::Warn | Status::Pass => {
                let _ = write!(
                    out,
                    "<system-out>{}: {}</system-out>",
                    c.status.as_str(),
                    escape(&c.message)
                );
            }
        }
        out.push_str("</testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
