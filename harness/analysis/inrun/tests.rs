//! In-run comparisons on synthetic runs: which pairs, ops and metrics are
//! compared, and verdicts that follow the data both ways.

use super::*;
use crate::report::fixtures::{cell, op, run};
use crate::result::{CompareInfo, Verdict};

/// `repeats` cells per target of `wal` with record and fdatasync; each
/// target's record p50 and rate scaled by its factor, with ±2 % spread
/// between repeats.
fn wal(targets: &[(&str, f64)], repeats: u32) -> RunResult {
    let mut cells = Vec::new();
    for r in 0..repeats {
        for (name, slow) in targets {
            let jitter = 1.0 + 0.02 * (f64::from(r % 3) - 1.0);
            let p50 = (100_000.0 * slow * jitter) as u64;
            let rate = 1000.0 / slow / jitter;
            cells.push(cell(
                cells.len(),
                name,
                "wal",
                r,
                vec![
                    ("record", op(1000, rate, p50)),
                    ("fdatasync", op(1000, rate, p50 * 9 / 10)),
                    ("write", op(1000, rate, 2_000)),
                ],
            ));
        }
    }
    run(cells)
}

fn pairs(p: &[(&str, &str)]) -> CompareInfo {
    CompareInfo {
        pairs: p
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        min_effect: 0.05,
    }
}

#[test]
fn each_pair_compares_the_unit_and_sync_op_by_four_metrics() {
    let mut r = wal(&[("a", 1.0), ("b", 1.5)], 4);
    r.compare = pairs(&[("a", "b")]);
    let c = comparisons(&r);
    assert_eq!(c.len(), 8, "{c:#?}");
    let ops: Vec<&str> = c.iter().map(|c| c.op.as_str()).collect();
    assert_eq!(ops[..4], ["record"; 4]);
    assert_eq!(ops[4..], ["fdatasync"; 4]);
    for x in &c {
        assert_eq!((x.baseline.as_str(), x.target.as_str()), ("a", "b"));
        assert_eq!(x.verdict, Verdict::Slower, "{x:?}");
        assert_eq!((x.n_baseline, x.n_target), (4, 4));
        let r = x.ratio.unwrap();
        assert!(x.ci_low.unwrap() <= r && r <= x.ci_high.unwrap());
    }
    let p95 = c.iter().find(|x| x.metric == Metric::P95).unwrap();
    assert!((p95.ratio.unwrap() - 1.5).abs() < 0.02, "{p95:?}");
    let (s, lo, hi) = p95.speedup().unwrap();
    assert!(s < 1.0 && lo <= s && s <= hi);
    let tp = c.iter().find(|x| x.metric == Metric::Throughput).unwrap();
    assert!((tp.ratio.unwrap() - 1.0 / 1.5).abs() < 0.02, "{tp:?}");
}

#[test]
fn identical_targets_are_no_different_and_one_repeat_cannot_tell() {
    let mut r = wal(&[("a", 1.0), ("b", 1.0)], 5);
    r.compare = pairs(&[("a", "b")]);
    assert!(comparisons(&r)
        .iter()
        .all(|c| c.verdict == Verdict::NoDifference));

    let mut r = wal(&[("a", 1.0), ("b", 2.0)], 1);
    r.compare = pairs(&[("a", "b")]);
    let c = comparisons(&r);
    assert_eq!(c.len(), 8);
    for x in &c {
        assert_eq!(x.verdict, Verdict::CannotTell);
        assert_eq!(x.ratio, None);
        assert!(x.warnings[0].contains("`repeat: ≥ 3`"), "{x:?}");
    }
}

#[test]
fn no_pairs_no_comparisons_and_missing_targets_are_skipped() {
    let r = wal(&[("a", 1.0), ("b", 1.5)], 3);
    assert!(comparisons(&r).is_empty());
    let mut r = wal(&[("a", 1.0)], 3);
    r.compare = pairs(&[("a", "gone")]);
    assert!(comparisons(&r).is_empty());
}

#[test]
fn conclude_warns_of_noise_next_to_verdicts_and_in_cell_notes() {
    let mut r = wal(&[("a", 1.0), ("b", 1.5)], 3);
    // One wild repeat of b: its throughput CV is far above 10 %.
    let wild = r.cells.iter_mut().rfind(|c| c.target.name == "b").unwrap();
    wild.ops.get_mut("record").unwrap().ops_per_sec *= 2.0;
    r.compare = pairs(&[("a", "b")]);
    crate::analysis::conclude(&mut r);
    let nb = r.noise.iter().find(|n| n.target == "b").unwrap();
    assert!(nb.throughput_cv.unwrap() > 0.10, "{nb:?}");
    assert!(nb.warnings.iter().any(|w| w.starts_with("noisy")), "{nb:?}");
    let na = r.noise.iter().find(|n| n.target == "a").unwrap();
    assert!(na.warnings.is_empty(), "{na:?}");
    assert!(r
        .comparisons
        .iter()
        .all(|c| c.warnings.iter().any(|w| w.starts_with("b: noisy"))));
    for c in r.cells.iter().filter(|c| c.target.name == "b") {
        assert!(
            c.notes.iter().any(|n| n.starts_with("noisy")),
            "{:?}",
            c.notes
        );
    }
    // Idempotent: a second pass adds nothing.
    let before = r.clone();
    crate::analysis::conclude(&mut r);
    assert_eq!(r, before);
}
