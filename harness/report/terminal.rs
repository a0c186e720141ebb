//! The terminal exporter: plain, aligned text a person reads as the run
//! goes — one block per cell, printed as each cell finishes
//! ([`render_cell`]) and all together at the end ([`render`]).
//!
//! No colours and no terminal queries: the text is the same on a TTY, in a
//! CI log and in a test. Widths are counted in characters, so "µs" and "×"
//! align.

use std::fmt::Write as _;
use std::time::Duration;

use super::{format_errors, format_rate, ordered_ops, NOT_ATTRIBUTABLE};
use crate::result::{CellResult, RunResult};
use crate::scenario::units::{format_duration, format_nanos, format_size};

const HEADER: [&str; 8] = ["op", "count", "ops/s", "p50", "p95", "p99", "max", "errors"];

/// The whole run: a one-line header, then every cell's block.
pub fn render(run: &RunResult) -> String {
    let mut out = format!(
        "{}  run {}  {}\n",
        run.scenario.name, run.run_id, run.status
    );
    if run.cells.is_empty() {
        out.push_str("\n(no cells)\n");
    }
    for cell in &run.cells {
        out.push('\n');
        out.push_str(&render_cell(cell));
    }
    out
}

/// One cell: a heading, the ops table, device counters and notes.
pub fn render_cell(cell: &CellResult) -> String {
    let mut out = heading(cell);
    out.push('\n');

    let rows: Vec<[String; 8]> = ordered_ops(&cell.ops)
        .into_iter()
        .map(|(name, s)| {
            [
                name.to_string(),
                s.count.to_string(),
                format_rate(s.ops_per_sec),
                format_nanos(s.p50_ns),
                format_nanos(s.p95_ns),
                format_nanos(s.p99_ns),
                format_nanos(s.max_ns),
                format_errors(&s.errors),
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push_str("  (no operations recorded)\n");
    } else {
        let header = HEADER.map(str::to_string);
        let mut widths = [0usize; 8];
        for row in std::iter::once(&header).chain(&rows) {
            for (w, text) in widths.iter_mut().zip(row) {
                *w = (*w).max(text.chars().count());
            }
        }
        let rule = widths.map(|w| "-".repeat(w));
        for row in std::iter::once(&header)
            .chain(std::iter::once(&rule))
            .chain(&rows)
        {
            out.push_str("  ");
            out.push_str(&table_line(row, &widths));
            out.push('\n');
        }
    }

    let _ = writeln!(out, "  written {}", format_size(cell.bytes_written));
    if let Some(d) = &cell.device {
        let _ = writeln!(
            out,
            "  device {}: {}, {} write IOs, {} flushes",
            d.name,
            format_size(d.bytes_written),
            d.write_ios,
            d.flushes
        );
        if !d.attributable {
            let _ = writeln!(out, "  write amplification: {NOT_ATTRIBUTABLE}");
        } else if let Some(wa) = d.write_amplification {
            let _ = writeln!(out, "  write amplification {wa:.2}");
        }
    }

    for note in &cell.notes {
        out.push_str(&wrap(&format!("note: {note}")));
    }
    for f in &cell.faults {
        let kind = f.kind_name();
        if let Some(d) = f.durability() {
            out.push_str(&wrap(&format!(
                "{kind}: {} {} · acked intact {} · acked LOST {} · name lost {} · unacked lost {} · \
                 loss window {} records, {:.0} ms",
                d.trials,
                if f.states_explored().is_some() {
                    "crash states"
                } else {
                    "trials"
                },
                d.acked_intact,
                d.acked_lost,
                d.acked_name_lost,
                d.unacked_lost,
                d.loss_window_records,
                d.loss_window_ms
            )));
            if d.acked_after_cut > 0 {
                out.push_str(&wrap(&format!(
                    "{kind}: {} sync(s) returned success only after the cut; counted as unacknowledged",
                    d.acked_after_cut
                )));
            }
        }
        // A crash's per-trial outcomes are in the line above; other faults say what happened.
        let said = if kind == "crash" && f.durability().is_some() {
            vec![]
        } else {
            [Some(f.outcome()), f.probe_verdict()]
                .into_iter()
                .flatten()
                .collect()
        };
        for text in said {
            out.push_str(&wrap(&format!("{kind}: {text}")));
        }
    }
    out
}

/// `target / workload  (repeat r, 5.0s, mount options)`.
fn heading(cell: &CellResult) -> String {
    let mut parts = vec![
        format!("repeat {}", cell.repeat),
        format_duration(Duration::try_from_secs_f64(cell.duration_s).unwrap_or_default()),
    ];
    if let Some(rate) = cell.rate_per_thread {
        parts.push(format!("open loop {}/s per thread", format_rate(rate)));
    }
    let head = format!("{} / {}  (", cell.target.name, cell.workload.name);
    let options = &cell.target.mount.options;
    if !options.is_empty() {
        // The options take what the line leaves, cut after a whole option.
        let room =
            WIDTH.saturating_sub(head.chars().count() + parts.join(", ").chars().count() + 3);
        parts.push(cut_options(options, room));
    }
    format!("{head}{})", parts.join(", "))
}

/// Mount options in at most `room` characters: whole options, then `…`
/// when some are left out (all of them when even the first does not fit).
fn cut_options(options: &str, room: usize) -> String {
    if options.chars().count() <= room {
        return options.to_string();
    }
    let mut kept = String::new();
    for o in options.split(',') {
        let next = if kept.is_empty() {
            o.to_string()
        } else {
            format!("{kept},{o}")
        };
        // Room for ",…" after it.
        if next.chars().count() + 2 > room {
            break;
        }
        kept = next;
    }
    if kept.is_empty() {
        "…".to_string()
    } else {
        format!("{kept},…")
    }
}

/// The width every line of a cell's block keeps to.
const WIDTH: usize = 80;

/// A line of prose indented by two, wrapped at spaces to [`WIDTH`] with
/// continuation lines indented by four; a word longer than a line stays
/// whole.
fn wrap(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::from("  ");
    let mut empty = true;
    for word in text.split(' ') {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = String::from("    ");
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// The op name left-aligned, every other column right-aligned, so each line
/// of a table has the same width and none has trailing blanks.
fn table_line(row: &[String; 8], widths: &[usize; 8]) -> String {
    row.iter()
        .zip(widths)
        .enumerate()
        .map(|(i, (text, &w))| {
            if i == 0 {
                format!("{text:<w$}")
            } else {
                format!("{text:>w$}")
            }
        })
        .collect::<Vec<_>>()
        .join("  ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{cell, op, run, wal_run};
    use crate::result::DeviceStats;

    /// The table lines of a rendered cell (those between heading and footer).
    fn table_lines(text: &str) -> Vec<&str> {
        text.lines()
            .skip(1)
            .take_while(|l| !l.starts_with("  written"))
            .collect()
    }

    #[test]
    fn cell_heading_and_rows() {
        let r = wal_run();
        let text = render_cell(&r.cells[0]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "ext4[noatime] / wal  (repeat 0, 5.0s, rw,noatime,data=writeback)"
        );
        let header: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(header, HEADER);
        assert!(lines[2].trim().chars().all(|c| c == '-' || c == ' '));
        let record: Vec<&str> = lines[3].split_whitespace().collect();
        assert_eq!(
            record,
            ["record", "5108", "1022", "890µs", "1.78ms", "3.56ms", "14.2ms", "-"]
        );
        let fsync: Vec<&str> = lines[5].split_whitespace().collect();
        assert_eq!(
            fsync,
            ["fsync", "5108", "1022", "881µs", "1.76ms", "3.52ms", "14.1ms", "EIO×12"]
        );
        assert!(text.contains("\n  written 20MiB\n"), "{text}");
    }

    #[test]
    fn ops_are_ordered_unit_first() {
        let text = render_cell(&wal_run().cells[0]);
        let names: Vec<&str> = table_lines(&text)[2..]
            .iter()
            .map(|l| l.split_whitespace().next().unwrap())
            .collect();
        assert_eq!(names, ["record", "write", "fsync", "close", "zz_custom"]);
    }

    #[test]
    fn table_lines_have_equal_width() {
        let mut r = wal_run();
        r.cells[0]
            .ops
            .insert("file".into(), op(12_345_678, 123_456.7, 999_999_999_999));
        let text = render_cell(&r.cells[0]);
        let table = table_lines(&text);
        assert_eq!(table.len(), 2 + 6);
        let width = table[0].chars().count();
        for line in &table {
            assert_eq!(line.chars().count(), width, "{line:?} in\n{text}");
            assert_eq!(line.trim_end(), *line, "trailing blanks in {line:?}");
            assert!(line.starts_with("  "));
        }
        // Right-aligned numbers end in the same column: "count" header over counts.
        let count_end = table[0].find("count").unwrap() + "count".len();
        let file_row = table
            .iter()
            .find(|l| l.trim_start().starts_with("file"))
            .unwrap();
        assert_eq!(&file_row[count_end - 8..count_end], "12345678");
    }

    #[test]
    fn device_notes_and_rate_are_shown() {
        let mut c = cell(3, "xfs", "logs", 2, vec![("line", op(10, 2.0, 1_000))]);
        c.device = Some(DeviceStats {
            name: "loop3".into(),
            bytes_written: 23_068_672,
            write_ios: 5_200,
            flushes: 5_120,
            write_amplification: Some(1.1),
            shared: false,
            attributable: true,
        });
        c.notes = vec![
            "rate not sustained: 1800/s of 2000/s".into(),
            "EIO seen".into(),
        ];
        c.rate_per_thread = Some(2000.0);
        c.target.mount.options.clear();
        let text = render_cell(&c);
        assert!(text.starts_with("xfs / logs  (repeat 2, 5.0s, open loop 2000/s per thread)\n"));
        assert!(text.contains(
            "  written 20MiB\n  device loop3: 22MiB, 5200 write IOs, 5120 flushes\n  \
             write amplification 1.10\n"
        ));
        assert!(text.ends_with("  note: rate not sustained: 1800/s of 2000/s\n  note: EIO seen\n"));
    }

    #[test]
    fn a_shared_device_prints_its_counters_and_no_write_amplification() {
        let mut c = cell(
            0,
            "hostpath",
            "wal",
            0,
            vec![("record", op(10, 2.0, 1_000))],
        );
        c.bytes_written = 131_072;
        c.device = Some(DeviceStats::measured(
            "vda",
            (21_704_704, 198, 46),
            131_072,
            true,
        ));
        let text = render_cell(&c);
        assert!(
            text.contains(
                "  written 128KiB\n  device vda: 20.7MiB, 198 write IOs, 46 flushes\n  \
                 write amplification: not attributable (device shared with the host)\n"
            ),
            "{text}"
        );
        assert!(!text.contains("165"), "no figure: {text}");
    }

    #[test]
    fn run_renders_every_cell_in_order() {
        let r = run(vec![
            cell(0, "tmpfs", "wal", 0, vec![("record", op(1, 1.0, 300))]),
            cell(1, "ext4", "wal", 0, vec![]),
        ]);
        let text = render(&r);
        assert!(text.starts_with("quickstart  run 20250101T000000Z-ab12  completed\n\n"));
        let tmpfs = text.find("tmpfs / wal  (repeat 0").unwrap();
        let ext4 = text.find("ext4 / wal  (repeat 0").unwrap();
        assert!(tmpfs < ext4);
        assert!(text.contains("  (no operations recorded)\n"));
        assert_eq!(
            render(&run(vec![])),
            "quickstart  run 20250101T000000Z-ab12  completed\n\n(no cells)\n"
        );
    }

    /// Every line of a realistic cell fits 80 columns: long op names, a
    /// shared device, long mount options, open loop, notes and a crash.
    #[test]
    fn every_line_fits_80_columns() {
        let mut c = cell(
            7,
            "hostpath",
            "task-logs",
            3,
            vec![
                ("line", op(12_345_678, 123_456.7, 999_999_999)),
                ("line.service", op(12_345_678, 123_456.7, 33_600)),
                ("fdatasync", op(24_000, 7998.0, 764_000)),
            ],
        );
        c.rate_per_thread = Some(2000.0);
        c.target.mount.options =
            "rw,relatime,discard,errors=remount-ro,commit=5,data=ordered,nodelalloc,barrier".into();
        c.bytes_written = 6_291_456;
        c.device = Some(DeviceStats::measured(
            "nvme0n1p12",
            (21_904_704_000, 1_980_000, 46_000),
            6_291_456,
            true,
        ));
        c.notes = vec![
            "rate not sustained: the open loop fell behind by 1234 ops (1.2 %); its latencies \
             include the wait"
                .into(),
        ];
        assert!(render_cell(&c).contains("\n  write amplification: not attributable"));
        let mut all = wal_run().cells;
        all.push(c);
        for cell in all {
            let text = render_cell(&cell);
            for line in text.lines() {
                assert!(
                    line.chars().count() <= 80,
                    "{} chars: {line:?}",
                    line.chars().count()
                );
            }
        }
        let text = render_cell(&wal_run().cells[0]);
        assert!(text.lines().next().unwrap().ends_with(')'));
    }

    #[test]
    fn long_mount_options_are_cut_after_a_whole_option() {
        assert_eq!(cut_options("rw,noatime", 20), "rw,noatime");
        assert_eq!(cut_options("rw,noatime,discard", 14), "rw,noatime,…");
        assert_eq!(cut_options("relatime,x", 5), "…");
        let w = wrap("note: a b c");
        assert_eq!(w, "  note: a b c\n");
        let long = wrap(&"word ".repeat(30));
        assert!(long.lines().all(|l| l.chars().count() <= 80), "{long}");
        assert!(long.lines().nth(1).unwrap().starts_with("    word"));
    }
}
