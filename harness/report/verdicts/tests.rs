//! The verdict lines and table on runs judged by `analysis::conclude`.

use super::*;
use crate::report::fixtures::{cell, op, run};
use crate::result::CompareInfo;

/// Three repeats of `files` on each target; each target's file p50 is
/// 100 µs × its factor and its rate 1000/s ÷ the factor, ±1 % between
/// repeats.
fn judged(targets: &[(&str, f64)], repeats: u32) -> RunResult {
    let mut cells = Vec::new();
    for r in 0..repeats {
        for (name, slow) in targets {
            let j = 1.0 + 0.01 * (f64::from(r % 3) - 1.0);
            cells.push(cell(
                cells.len(),
                name,
                "files",
                r,
                vec![
                    (
                        "file",
                        op(1000, 1000.0 / slow / j, (100_000.0 * slow * j) as u64),
                    ),
                    (
                        "fsync",
                        op(1000, 1000.0 / slow / j, (90_000.0 * slow * j) as u64),
                    ),
                ],
            ));
        }
    }
    let mut run = run(cells);
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

#[test]
fn the_terminal_ends_with_one_line_per_target_and_workload() {
    let run = judged(
        &[
            ("ext4[relatime]", 1.0),
            ("ext4[noatime]", 0.5),
            ("ext4[lazytime]", 1.0),
        ],
        4,
    );
    let text = render_terminal(&run);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("  files: ext4[noatime] is 2.00× [1.9")
            && lines[0].contains("faster than ext4[relatime] (file p95; throughput 2.00× [")
            && lines[0].contains(" faster; fsync p95 2.00× [")
            && lines[0].ends_with(" faster; 5 more in the table)"),
        "{text}"
    );
    assert!(
        lines[1].starts_with(
            "  files: ext4[lazytime] and ext4[relatime]: no difference within ±5 % (file p95 ×1.00"
        ),
        "{text}"
    );
    assert!(text.contains("a change beyond ±5 % is named"), "{text}");
}

#[test]
fn one_repeat_says_what_a_verdict_needs() {
    let run = judged(&[("a", 1.0), ("b", 3.0)], 1);
    let text = render_terminal(&run);
    assert!(
        text.contains("files: b vs a: cannot tell: 1 repeat: no spread to build an interval from; a verdict needs `repeat: ≥ 3`"),
        "{text}"
    );
}

#[test]
fn the_table_has_a_row_per_op_with_a_verdict_word() {
    let run = judged(&[("a", 1.0), ("b", 2.0)], 3);
    let t = table(&run).unwrap();
    assert_eq!(
        t.columns,
        [
            "workload",
            "target vs baseline",
            "op",
            "verdict",
            "throughput",
            "p50",
            "p95",
            "p99"
        ]
    );
    assert_eq!(t.rows.len(), 2);
    assert_eq!(t.rows[0][..4], ["files", "b vs a", "file", "slower"]);
    assert!(t.rows[0][6].ends_with("slower"), "{:?}", t.rows[0]);
    assert_eq!(t.rows[1][..4], ["files", "b vs a", "fsync", "slower"]);
    assert!(t.intro.unwrap().contains("±5 %"));
    // No sentence in any cell: the rows are short.
    assert!(
        t.rows.iter().flatten().all(|c| !c.contains(" than ")),
        "{:?}",
        t.rows
    );
    // The fuller table keeps the sentence on the unit op's row.
    let d = detailed_table(&run).unwrap();
    assert!(d.rows[0][7].contains("b is 2.00×"), "{:?}", d.rows[0]);
    assert_eq!(d.rows[1][7], "");
    // No comparisons, no table and no lines.
    let mut plain = judged(&[("a", 1.0)], 3);
    plain.comparisons.clear();
    assert!(table(&plain).is_none());
    assert!(detailed_table(&plain).is_none());
    assert!(warnings(&plain).is_empty());
    assert_eq!(render_terminal(&plain), "");
}

#[test]
fn no_difference_is_said_as_such() {
    let run = judged(&[("a", 1.0), ("b", 1.0)], 4);
    let t = table(&run).unwrap();
    assert_eq!(t.rows[0][3], "no difference", "{:?}", t.rows[0]);
    assert!(
        t.rows[0][6].starts_with("×1.00 [") && t.rows[0][6].ends_with("] no difference"),
        "{:?}",
        t.rows[0]
    );
}

#[test]
fn warnings_are_listed_once_not_per_row() {
    let mut wide = judged(&[("a", 1.0), ("b", 1.0)], 3);
    wide.cells[1].ops.get_mut("file").unwrap().p95_ns *= 3;
    crate::analysis::conclude(&mut wide);
    let w = warnings(&wide);
    // Warnings the interval columns already say are left out.
    assert!(w.iter().all(|w| !w.contains("the interval [")), "{w:?}");
    assert!(
        w.iter().any(|w| w.starts_with("files: b: noisy: file p95")),
        "{w:?}"
    );
    let mut sorted = w.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), w.len(), "{w:?}");
    // The fuller table still carries them per row.
    let d = detailed_table(&wide).unwrap();
    assert!(d.rows[0][8].contains("noisy"), "{:?}", d.rows[0]);
}

#[test]
fn noise_is_repeated_at_the_end() {
    let mut run = judged(&[("a", 1.0), ("b", 2.0)], 3);
    run.cells[1].ops.get_mut("file").unwrap().ops_per_sec *= 3.0;
    crate::analysis::conclude(&mut run);
    let text = render_terminal(&run);
    assert!(
        text.contains("\nNoise:\n  b / files: noisy: file throughput across repeats varies"),
        "{text}"
    );
}
