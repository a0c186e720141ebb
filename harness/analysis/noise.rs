//! Noise, reported rather than hidden: for each target × workload, how
//! much the unit op's throughput and p95 vary across repeats, and how
//! steadily its cells ran second by second. A coefficient of variation
//! above [`NOISY_CV`] is a warning next to every verdict it touches.

use super::inrun::{groups, per_repeat, unit_op};
use crate::result::stats::median;
use crate::result::{Metric, Noise, RunResult};

/// Above this coefficient of variation a figure is called noisy.
pub const NOISY_CV: f64 = 0.10;

/// Coefficient of variation (sample stdev / mean); None with fewer than
/// two values or a mean of zero.
pub fn cv(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if mean == 0.0 || !mean.is_finite() {
        return None;
    }
    let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some(var.sqrt() / mean.abs())
}

/// How steadily one cell ran: the coefficient of variation of its unit
/// op's rate over its full intervals, each `(length_s, ops)`. A cut-short
/// interval (the last one, or the one a power cut ends) is left out: its
/// rate is real but its length differs. None with fewer than two full
/// intervals.
pub fn interval_cv(series: &[(f64, u64)], nominal_s: f64) -> Option<f64> {
    let rates: Vec<f64> = series
        .iter()
        .filter(|(len, _)| *len >= nominal_s * 0.999)
        .map(|(len, n)| *n as f64 / len)
        .collect();
    cv(&rates)
}

/// The noise of every target × workload of `run`, in cell order.
pub fn noise(run: &RunResult) -> Vec<Noise> {
    let g = groups(run);
    let mut order: Vec<(&str, &str)> = Vec::new();
    for c in &run.cells {
        let key = (c.target.name.as_str(), c.workload.name.as_str());
        if !order.contains(&key) {
            order.push(key);
        }
    }
    order
        .into_iter()
        .filter_map(|key| {
            let cells = &g[&key];
            let op = unit_op(cells)?;
            let throughput_cv = cv(&per_repeat(cells, op, Metric::Throughput));
            let p95_cv = cv(&per_repeat(cells, op, Metric::P95));
            let within: Vec<f64> = cells.iter().filter_map(|c| c.interval_cv).collect();
            let interval_cv = (!within.is_empty()).then(|| median(&within));
            let mut warnings = Vec::new();
            for (what, v) in [
                ("throughput across repeats", throughput_cv),
                ("p95 across repeats", p95_cv),
                ("throughput from interval to interval", interval_cv),
            ] {
                if let Some(v) = v.filter(|v| *v > NOISY_CV) {
                    warnings.push(format!(
                        "noisy: {op} {what} varies {:.1} % (CV above {:.0} %)",
                        v * 100.0,
                        NOISY_CV * 100.0
                    ));
                }
            }
            if cells.len() < 3 {
                warnings.push(format!(
                    "{} repeat{}: a verdict needs `repeat: ≥ 3`",
                    cells.len(),
                    if cells.len() == 1 { "" } else { "s" }
                ));
            }
            Some(Noise {
                target: key.0.to_string(),
                workload: key.1.to_string(),
                op: op.to_string(),
                repeats: cells.len(),
                throughput_cv,
                p95_cv,
                interval_cv,
                warnings,
            })
        })
        .collect()
}

/// Adds each noise warning to the comparisons it touches (either side's
/// target in that workload), and to the notes of the cells it is about.
pub fn annotate(run: &mut RunResult) {
    for n in &run.noise {
        let noisy: Vec<&String> = n
            .warnings
            .iter()
            .filter(|w| w.starts_with("noisy"))
            .collect();
        for c in run.comparisons.iter_mut().filter(|c| {
            c.workload == n.workload && (c.target == n.target || c.baseline == n.target)
        }) {
            for w in &noisy {
                let w = format!("{}: {w}", n.target);
                if !c.warnings.contains(&w) {
                    c.warnings.push(w);
                }
            }
        }
        for cell in run
            .cells
            .iter_mut()
            .filter(|c| c.target.name == n.target && c.workload.name == n.workload)
        {
            for w in &noisy {
                if !cell.notes.contains(w) {
                    cell.notes.push((*w).clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cv_is_stdev_over_mean() {
        assert_eq!(cv(&[1.0]), None);
        assert_eq!(cv(&[0.0, 0.0]), None);
        let c = cv(&[90.0, 100.0, 110.0]).unwrap();
        assert!((c - 0.1).abs() < 1e-12, "{c}");
        assert_eq!(cv(&[5.0, 5.0, 5.0]), Some(0.0));
    }

    #[test]
    fn interval_cv_leaves_out_the_cut_interval() {
        // Three full 100 ms intervals of 90, 100, 110 ops; a cut 30 ms one.
        let s = [(0.1, 90), (0.1, 100), (0.1, 110), (0.03, 1)];
        let c = interval_cv(&s, 0.1).unwrap();
        assert!((c - 0.1).abs() < 1e-9, "{c}");
        assert_eq!(interval_cv(&[(0.1, 5), (0.05, 1)], 0.1), None);
    }
}
