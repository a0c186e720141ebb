//! The Markdown exporter: summary.md in the run directory, and the text a
//! CI job appends to `$GITHUB_STEP_SUMMARY`.
//!
//! It shows what a reviewer needs to judge a run at a glance — where it ran,
//! on which mounts, the unit-op and sync-op latencies, what reached the
//! device, faults and what they cost, the notes, and links to the charts —
//! and leaves the rest (every syscall, histograms) to result.json and
//! report.html. The tables come from [`super::tables`], shared with the
//! HTML report. Pure: `&RunResult` in, text out.

use std::fmt::Write as _;

use super::tables::{self, Table};
use crate::result::RunResult;

pub use super::tables::{is_summary_op, SYNC_OPS};

/// Makes text safe inside a Markdown table cell: `|` escaped, line breaks
/// turned into spaces.
pub fn escape(text: &str) -> String {
    text.replace('|', "\\|")
        .replace("\r\n", " ")
        .replace(['\n', '\r'], " ")
}

/// A chart the summary links to: `charts/<stem>.svg` (and `.png`).
#[derive(Debug, Clone, PartialEq)]
pub struct ChartLink {
    pub file_stem: String,
    pub title: String,
}

/// The whole summary.md.
pub fn render(run: &RunResult) -> String {
    render_with_charts(run, &[])
}

/// summary.md with a "Charts" section linking the rendered charts.
pub fn render_with_charts(run: &RunResult, charts: &[ChartLink]) -> String {
    let mut out = String::new();
    header(&mut out, run);
    if let Some(t) = super::verdicts::table(run) {
        table(&mut out, &t);
    }
    table(&mut out, &tables::environment(run));
    if let Some(t) = tables::targets(run) {
        table(&mut out, &t);
    }
    let results = tables::results(run);
    if results.rows.is_empty() {
        out.push_str("## Results\n\nNo unit or sync operations recorded.\n\n");
    } else {
        table(&mut out, &results);
    }
    for t in [tables::devices(run), tables::faults(run)]
        .into_iter()
        .flatten()
    {
        table(&mut out, &t);
    }
    let notes = tables::notes(run);
    if !notes.is_empty() {
        out.push_str("## Notes\n\n");
        for (cell, note) in notes {
            let _ = writeln!(out, "- **{cell}**: {note}");
        }
        out.push('\n');
    }
    if !charts.is_empty() {
        out.push_str("## Charts\n\nEach as SVG and PNG; all of them in report.html.\n\n");
        for c in charts {
            let _ = writeln!(
                out,
                "- [{}](charts/{}.svg) ([PNG](charts/{}.png))",
                c.title.replace(['[', ']'], ""),
                c.file_stem,
                c.file_stem
            );
        }
        out.push('\n');
    }
    out
}

/// A `## title` section: the intro, then the table. A line break inside a
/// cell becomes `<br>`, which GitHub renders.
fn table(out: &mut String, t: &Table) {
    let _ = writeln!(out, "## {}\n", t.title);
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

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

fn header(out: &mut String, run: &RunResult) {
    let s = &run.scenario;
    let _ = writeln!(out, "# wpbench: {}\n", escape(&s.name));
    if !s.description.is_empty() {
        let _ = writeln!(out, "{}\n", s.description.trim());
    }
    let sha: String = s.sha256.chars().take(12).collect();
    let _ = writeln!(out, "- Scenario: `{}` (sha256 `{}`)", s.file, or_dash(&sha));
    let _ = writeln!(out, "- Seed: {}", s.seed);
    let _ = writeln!(out, "- Run: `{}`", run.run_id);
    let status = tables::status(run);
    let _ = writeln!(out, "- Status: {status}");
    let _ = writeln!(
        out,
        "- Started: {} · Finished: {}\n",
        or_dash(&run.started_at),
        or_dash(&run.finished_at)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{cell, loop_device, op, run, wal_run};
    use crate::result::DeviceStats;

    /// The lines of the section under `## title`, up to the next heading.
    fn section<'a>(md: &'a str, title: &str) -> Vec<&'a str> {
        let start = md.find(&format!("## {title}\n")).expect(title);
        md[start..]
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("## "))
            .filter(|l| !l.is_empty())
            .collect()
    }

    #[test]
    fn header_names_scenario_and_run() {
        let md = render(&wal_run());
        assert!(md.starts_with("# wpbench: quickstart\n\n"));
        assert!(md.contains("- Scenario: `scenarios/quickstart.yaml` (sha256 `0123456789ab`)\n"));
        assert!(md.contains("- Seed: 42\n"));
        assert!(md.contains("- Run: `20250101T000000Z-ab12`\n"));
        assert!(md.contains("- Status: completed (1 of 1 cell)\n"));
        assert!(md.contains("- Started: 2025-01-01T00:00:00Z · Finished: 2025-01-01T00:00:12Z\n"));
    }

    #[test]
    fn environment_table() {
        let md = render(&wal_run());
        let env = section(&md, "Environment");
        for row in [
            "| Kernel | 6.18.44 |",
            "| CPU | Test CPU @ 2.50GHz |",
            "| Cores | 2 |",
            "| Memory | 8GiB |",
            "| cgroup | v2 |",
            "| Host | bench-1 |",
            "| vm.dirty_ratio | 20 |",
            "| vm.dirty_background_ratio | 10 |",
            "| vm.dirty_expire_centisecs | 3000 |",
        ] {
            assert!(env.contains(&row), "{row} not in {env:#?}");
        }
        assert_eq!(env[0], "| setting | value |");
        assert_eq!(env[1], "|---|---|");
    }

    #[test]
    fn results_keep_unit_and_sync_ops_in_order() {
        let mut r = wal_run();
        r.cells[0].ops.insert("fdatasync".into(), op(7, 1.4, 2_000));
        r.cells[0].ops.insert("fsync_dir".into(), op(1, 0.2, 5_000));
        let md = render(&r);
        let rows = section(&md, "Results");
        // Which statistic the rows show, said above them.
        assert!(
            rows[0].starts_with("One row per repeat, each with its own percentiles.")
                && rows[0].contains("take the median of these per-repeat values"),
            "{}",
            rows[0]
        );
        let rows = &rows[1..];
        assert_eq!(
            rows[0],
            "| target | workload | repeat | op | count | ops/s | p50 | p95 | p99 | p99.9 | max | errors |"
        );
        assert_eq!(rows[1], "|---|---|---|---|---|---|---|---|---|---|---|---|");
        assert_eq!(
            &rows[2..],
            [
                "| ext4[noatime] | wal | 0 | record | 5108 | 1022 | 890µs | 1.78ms | 3.56ms | 7.12ms | 14.2ms | - |",
                "| ext4[noatime] | wal | 0 | fsync | 5108 | 1022 | 881µs | 1.76ms | 3.52ms | 7.05ms | 14.1ms | EIO×12 |",
                "| ext4[noatime] | wal | 0 | fdatasync | 7 | 1.40 | 2.00µs | 4.00µs | 8.00µs | 16.0µs | 32.0µs | - |",
                "| ext4[noatime] | wal | 0 | fsync_dir | 1 | 0.20 | 5.00µs | 10.0µs | 20.0µs | 40.0µs | 80.0µs | - |",
            ]
        );
        // write, close and unknown ops stay in result.json only.
        assert!(!md.contains("| write |"));
        assert!(!md.contains("zz_custom"));
    }

    #[test]
    fn targets_one_row_per_name_with_distinct_values() {
        let mut c1 = cell(1, "ext4[noatime]", "logs", 0, vec![]);
        c1.target.mount.source = "/dev/loop4".into();
        let mut c2 = cell(2, "tmp|fs", "wal", 0, vec![]);
        c2.target.kind = "tmpfs".into();
        c2.target.mount = crate::result::MountInfo {
            fstype: "tmpfs".into(),
            source: "tmpfs".into(),
            options: "rw,size=1048576k".into(),
            ..Default::default()
        };
        let mut r = wal_run();
        r.cells.push(c1);
        r.cells.push(c2);
        let md = render(&r);
        let rows = section(&md, "Targets");
        assert_eq!(
            rows,
            [
                "| target | kind | fstype | source | mount options |",
                "|---|---|---|---|---|",
                "| ext4[noatime] | ext4 | ext4 | /dev/loop3<br>/dev/loop4 | rw,noatime,data=writeback |",
                "| tmp\\|fs | tmpfs | tmpfs | tmpfs | rw,size=1048576k |",
            ]
        );
    }

    #[test]
    fn pipes_are_escaped_everywhere() {
        let mut r = wal_run();
        r.cells[0].target.name = "a|b".into();
        r.cells[0].workload.name = "w|1".into();
        r.env.cpu = "CPU | fast".into();
        let md = render(&r);
        assert!(md.contains("| CPU | CPU \\| fast |"));
        assert!(md.contains("| a\\|b | w\\|1 | 0 | record |"));
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
    fn device_rows_and_notes() {
        let mut r = wal_run();
        r.cells[0].device = Some(loop_device());
        r.cells.push(cell(1, "ext4[noatime]", "wal", 1, vec![]));
        r.cells[1].device = Some(DeviceStats {
            write_amplification: None,
            ..loop_device()
        });
        r.cells[1].notes = vec!["EIO from fsync: 12 times".into()];
        // A hostPath, twice: counters as measured, no figure, one note.
        for repeat in 0..2 {
            let mut c = cell(2 + repeat as usize, "hostpath", "wal", repeat, vec![]);
            c.device = Some(DeviceStats::measured(
                "vda",
                (21_704_704, 198, 46),
                131_072,
                true,
            ));
            r.cells.push(c);
        }
        let md = render(&r);
        let rows = section(&md, "Device");
        assert!(
            rows[0].contains("shared with the rest of the host"),
            "{}",
            rows[0]
        );
        assert_eq!(
            &rows[3..],
            [
                "| ext4[noatime] | wal | 0 | loop3 | 22MiB | 5200 | 5120 | 1.10 | no |",
                "| ext4[noatime] | wal | 1 | loop3 | 22MiB | 5200 | 5120 | - | no |",
                "| hostpath | wal | 0 | vda | 20.7MiB | 198 | 46 | not attributable | yes |",
                "| hostpath | wal | 1 | vda | 20.7MiB | 198 | 46 | not attributable | yes |",
            ]
        );
        assert_eq!(
            section(&md, "Notes"),
            [
                "- **ext4[noatime] / wal (repeat 1)**: EIO from fsync: 12 times",
                "- **hostpath**: write amplification is not attributable: its device vda is \
                 shared with the rest of the host, so the device counters include other \
                 processes' writes.",
            ]
        );
        assert!(!md.contains("165"), "no figure for the hostPath");
        assert!(md.find("## Device").unwrap() > md.find("## Results").unwrap());
    }

    #[test]
    fn empty_run_has_no_device_or_notes_sections() {
        let md = render(&run(vec![]));
        assert!(md.contains("## Environment"));
        assert!(md.contains("## Results\n\nNo unit or sync operations recorded.\n"));
        assert!(!md.contains("## Targets"));
        assert!(!md.contains("## Device"));
        assert!(!md.contains("## Notes"));
    }
}
