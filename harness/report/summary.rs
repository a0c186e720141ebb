//! The Markdown exporter: summary.md in the run directory, and the text a
//! CI job appends to `$GITHUB_STEP_SUMMARY`.
//!
//! It shows what a reviewer needs to judge a run at a glance — where it ran,
//! on which mounts, the unit-op and sync-op latencies, what reached the
//! device, and the notes — and leaves the rest (every syscall, histograms)
//! to result.json and the HTML report. Pure: `&RunResult` in, text out.

use std::fmt::Write as _;

use super::{format_errors, format_rate, ordered_ops};
use crate::record::Op;
use crate::result::{CellResult, RunResult};
use crate::scenario::units::{format_nanos, format_size};

/// The sync ops shown in the results table next to unit ops.
pub const SYNC_OPS: &[Op] = &[
    Op::Fsync,
    Op::Fdatasync,
    Op::SyncFileRange,
    Op::Syncfs,
    Op::FsyncDir,
];

/// True for the ops the summary's results table shows.
pub fn is_summary_op(name: &str) -> bool {
    Op::from_name(name).is_some_and(|op| op.is_unit() || SYNC_OPS.contains(&op))
}

/// Makes text safe inside a Markdown table cell: `|` escaped, line breaks
/// turned into spaces.
pub fn escape(text: &str) -> String {
    text.replace('|', "\\|")
        .replace("\r\n", " ")
        .replace(['\n', '\r'], " ")
}

/// The whole summary.md.
pub fn render(run: &RunResult) -> String {
    let mut out = String::new();
    header(&mut out, run);
    environment(&mut out, run);
    targets(&mut out, run);
    results(&mut out, run);
    devices(&mut out, run);
    faults(&mut out, run);
    notes(&mut out, run);
    out
}

/// The fault's outcome, plus the syncs that returned only after the cut
/// (counted as unacknowledged) and the fsync probe's verdict, when there
/// are any.
fn outcome_with_late_acks(f: &serde_json::Value) -> String {
    let mut outcome = f["outcome"].as_str().unwrap_or("").to_string();
    if let Some(late) = f["durability"]["acked_after_cut"]
        .as_u64()
        .filter(|n| *n > 0)
    {
        outcome.push_str(&format!(
            "; {late} sync(s) returned success only after the cut"
        ));
    }
    if let Some(verdict) = f["fsync_probe"]["verdict"].as_str() {
        outcome.push_str(&format!("; fsync probe: {verdict}"));
    }
    outcome
}

/// `armed -0.00 · fired 0.14 · healed 0.26`: the fault's timeline (of the
/// first trial, for a crash), in seconds from the start of the measured
/// phase, as on the interval log's time axis.
fn timeline(f: &serde_json::Value) -> String {
    let events = f["timeline"]
        .as_array()
        .or_else(|| f["per_trial"][0]["timeline"].as_array());
    let parts: Vec<String> = events
        .into_iter()
        .flatten()
        .filter(|e| e["event"] != "note")
        .filter_map(|e| {
            Some(format!(
                "{} {:.2}",
                e["event"].as_str()?,
                e["at_s"].as_f64()?
            ))
        })
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(" · ")
    }
}

/// One row per fault of a cell: what was done and, after a crash, what the
/// verifier found — speed and what a crash costs, side by side.
fn faults(out: &mut String, run: &RunResult) {
    let num =
        |v: &serde_json::Value, k: &str| v[k].as_u64().map_or("-".to_string(), |n| n.to_string());
    let rows: Vec<Vec<String>> =
        run.cells
            .iter()
            .flat_map(|c| c.faults.iter().map(move |f| (c, f)))
            .map(|(c, f)| {
                let d = &f["durability"];
                let unit = c.ops.iter().find(|(name, _)| {
                    crate::record::Op::from_name(name).is_some_and(|o| o.is_unit())
                });
                vec![
                    c.target.name.clone(),
                    c.workload.name.clone(),
                    c.workload.params.get("fsync").cloned().unwrap_or_default(),
                    f["kind"].as_str().unwrap_or("?").to_string(),
                    unit.map_or("-".into(), |(_, s)| super::format_rate(s.ops_per_sec)),
                    num(d, "trials"),
                    num(d, "acked_intact"),
                    num(d, "acked_lost"),
                    num(d, "acked_name_lost"),
                    num(d, "unacked_lost"),
                    d["loss_window_ms"]
                        .as_f64()
                        .map_or("-".into(), |ms| format!("{ms:.0} ms")),
                    timeline(f),
                    outcome_with_late_acks(f),
                ]
            })
            .collect();
    if rows.is_empty() {
        return;
    }
    out.push_str("## Faults and durability\n\n");
    out.push_str(
        "`acked lost` counts acknowledged writes lost, short or corrupt after a crash: \
         durability violations. `name lost`: synced data whose directory entry was not.\n\n",
    );
    table(
        out,
        &[
            "target",
            "workload",
            "fsync",
            "fault",
            "unit ops/s",
            "trials",
            "acked intact",
            "acked lost",
            "name lost",
            "unacked lost",
            "loss window",
            "timeline (s)",
            "outcome",
        ],
        &rows,
    );
}

fn table(out: &mut String, columns: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", columns.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(columns.len()));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| escape(c)).collect();
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
    let mut status = run.status.clone();
    if s.planned_cells > 0 {
        let _ = write!(
            status,
            " ({} of {} cells)",
            run.cells.len(),
            s.planned_cells
        );
    }
    let _ = writeln!(out, "- Status: {status}");
    let _ = writeln!(
        out,
        "- Started: {} · Finished: {}\n",
        or_dash(&run.started_at),
        or_dash(&run.finished_at)
    );
}

fn environment(out: &mut String, run: &RunResult) {
    let e = &run.env;
    out.push_str("## Environment\n\n");
    let mut rows = vec![
        vec!["Kernel".to_string(), or_dash(&e.kernel).to_string()],
        vec!["CPU".to_string(), or_dash(&e.cpu).to_string()],
        vec!["Cores".to_string(), e.cores.to_string()],
        vec!["Memory".to_string(), format_size(e.memory_bytes)],
        vec!["cgroup".to_string(), or_dash(&e.cgroup).to_string()],
    ];
    if !e.hostname.is_empty() {
        rows.push(vec!["Host".to_string(), e.hostname.clone()]);
    }
    rows.push(vec!["wpbench".to_string(), or_dash(&e.wpbench).to_string()]);
    for (name, value) in &e.vm {
        rows.push(vec![name.clone(), value.clone()]);
    }
    table(out, &["setting", "value"], &rows);
}

/// One row per target name, in order of first appearance; a target whose
/// effective mount differed between cells (a new loop device per cell)
/// lists the distinct values.
fn targets(out: &mut String, run: &RunResult) {
    let mut names: Vec<&str> = Vec::new();
    let mut fields: Vec<[Vec<&str>; 4]> = Vec::new();
    for c in &run.cells {
        let t = &c.target;
        let i = match names.iter().position(|n| *n == t.name) {
            Some(i) => i,
            None => {
                names.push(&t.name);
                fields.push(Default::default());
                names.len() - 1
            }
        };
        let values = [
            t.kind.as_str(),
            t.mount.fstype.as_str(),
            t.mount.source.as_str(),
            t.mount.options.as_str(),
        ];
        for (seen, v) in fields[i].iter_mut().zip(values) {
            if !seen.contains(&v) {
                seen.push(v);
            }
        }
    }
    if names.is_empty() {
        return;
    }
    out.push_str("## Targets\n\n");
    let rows: Vec<Vec<String>> = names
        .iter()
        .zip(&fields)
        .map(|(name, f)| {
            let mut row = vec![name.to_string()];
            row.extend(f.iter().map(|vs| {
                let joined = vs
                    .iter()
                    .map(|v| escape(v))
                    .collect::<Vec<_>>()
                    .join("<br>");
                or_dash(&joined).to_string()
            }));
            row
        })
        .collect();
    // Already escaped above (so "<br>" survives); add no second escape.
    let _ = writeln!(out, "| target | kind | fstype | source | mount options |");
    out.push_str("|---|---|---|---|---|\n");
    for row in rows {
        let name = escape(&row[0]);
        let _ = writeln!(out, "| {} | {} |", name, row[1..].join(" | "));
    }
    out.push('\n');
}

fn results(out: &mut String, run: &RunResult) {
    let rows: Vec<Vec<String>> = run
        .cells
        .iter()
        .flat_map(|c| {
            ordered_ops(&c.ops)
                .into_iter()
                .filter(|(name, _)| is_summary_op(name))
                .map(move |(name, s)| {
                    let mut row = cell_key(c);
                    row.extend([
                        name.to_string(),
                        s.count.to_string(),
                        format_rate(s.ops_per_sec),
                        format_nanos(s.p50_ns),
                        format_nanos(s.p95_ns),
                        format_nanos(s.p99_ns),
                        format_nanos(s.p999_ns),
                        format_nanos(s.max_ns),
                        format_errors(&s.errors),
                    ]);
                    row
                })
        })
        .collect();
    out.push_str("## Results\n\n");
    if rows.is_empty() {
        out.push_str("No unit or sync operations recorded.\n\n");
        return;
    }
    table(
        out,
        &[
            "target", "workload", "repeat", "op", "count", "ops/s", "p50", "p95", "p99", "p99.9",
            "max", "errors",
        ],
        &rows,
    );
}

fn cell_key(c: &CellResult) -> Vec<String> {
    vec![
        c.target.name.clone(),
        c.workload.name.clone(),
        c.repeat.to_string(),
    ]
}

fn devices(out: &mut String, run: &RunResult) {
    let rows: Vec<Vec<String>> = run
        .cells
        .iter()
        .filter_map(|c| {
            let d = c.device.as_ref()?;
            let mut row = cell_key(c);
            row.extend([
                d.name.clone(),
                format_size(d.bytes_written),
                d.write_ios.to_string(),
                d.flushes.to_string(),
                d.write_amplification
                    .map_or_else(|| "-".to_string(), |wa| format!("{wa:.2}")),
                if d.shared { "yes" } else { "no" }.to_string(),
            ]);
            Some(row)
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    out.push_str("## Device\n\n");
    table(
        out,
        &[
            "target",
            "workload",
            "repeat",
            "device",
            "bytes written",
            "write IOs",
            "flushes",
            "write amplification",
            "shared",
        ],
        &rows,
    );
}

fn notes(out: &mut String, run: &RunResult) {
    let notes: Vec<String> = run
        .cells
        .iter()
        .flat_map(|c| {
            c.notes.iter().map(move |n| {
                format!(
                    "- **{} / {} (repeat {})**: {}",
                    c.target.name,
                    c.workload.name,
                    c.repeat,
                    n.replace('\n', " ")
                )
            })
        })
        .collect();
    if notes.is_empty() {
        return;
    }
    out.push_str("## Notes\n\n");
    for n in notes {
        out.push_str(&n);
        out.push('\n');
    }
    out.push('\n');
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
        assert!(md.contains("- Status: completed (1 of 1 cells)\n"));
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
        r.cells[0].faults.push(serde_json::json!({
            "kind": "crash", "outcome": "3 of 3 trials crashed and were verified",
            "durability": {"trials": 3, "acked_intact": 900, "acked_lost": 0, "acked_name_lost": 0,
                           "unacked_lost": 12, "loss_window_ms": 4.2, "acked_after_cut": 2},
            "per_trial": [{"timeline": [{"event": "armed", "at_s": 0.0},
                                        {"event": "fired", "at_s": 1.234},
                                        {"event": "healed", "at_s": 1.5}]}],
        }));
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
            name: "vda".into(),
            bytes_written: 0,
            write_ios: 0,
            flushes: 0,
            write_amplification: None,
            shared: true,
        });
        r.cells[1].notes = vec!["EIO from fsync: 12 times".into()];
        let md = render(&r);
        let rows = section(&md, "Device");
        assert_eq!(
            &rows[2..],
            [
                "| ext4[noatime] | wal | 0 | loop3 | 22MiB | 5200 | 5120 | 1.10 | no |",
                "| ext4[noatime] | wal | 1 | vda | 0B | 0 | 0 | - | yes |",
            ]
        );
        assert_eq!(
            section(&md, "Notes"),
            ["- **ext4[noatime] / wal (repeat 1)**: EIO from fsync: 12 times"]
        );
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
