//! The plan: which cells run, in which order.
//!
//! Cells are target × workload × repeat, with repeats interleaved
//! (A B C A B C) so that drift of a shared, noisy machine spreads over all
//! configurations instead of biasing whichever ran last.
//!
//! The plan is iterated, never materialised: it holds the selected
//! (target, workload) pairs and the repeat count, so its memory does not
//! grow with `repeat`.

use super::{Scenario, TargetSpec, WorkloadSpec, MAX_CELLS};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// Position in the plan, 0-based.
    pub index: usize,
    /// Index into `Scenario::targets`.
    pub target: usize,
    /// Index into `Scenario::workloads`.
    pub workload: usize,
    pub repeat: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Selected (target, workload) index pairs, in scenario order.
    pairs: Vec<(usize, usize)>,
    repeat: u32,
}

impl Plan {
    /// Every cell, in run order.
    pub fn cells(&self) -> impl Iterator<Item = Cell> + '_ {
        let per_repeat = self.pairs.len();
        (0..self.repeat).flat_map(move |repeat| {
            self.pairs
                .iter()
                .enumerate()
                .map(move |(i, &(target, workload))| Cell {
                    index: repeat as usize * per_repeat + i,
                    target,
                    workload,
                    repeat,
                })
        })
    }

    /// The number of cells (at most [`MAX_CELLS`]).
    pub fn len(&self) -> usize {
        self.pairs.len() * self.repeat as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The distinct (target, workload) pairs, each run `repeat` times.
    pub fn pairs(&self) -> &[(usize, usize)] {
        &self.pairs
    }

    pub fn repeat(&self) -> u32 {
        self.repeat
    }

    /// The distinct targets the plan provisions, in scenario order.
    pub fn targets(&self) -> Vec<usize> {
        let mut t: Vec<usize> = self.pairs.iter().map(|&(t, _)| t).collect();
        t.sort_unstable();
        t.dedup();
        t
    }
}

/// Expands the scenario into cells, keeping those matching any `only`
/// selector (`target/workload` globs; a bare `target` means `target/*`;
/// a written name selects all its `vary` variants).
/// A selector that matches nothing is an error naming what exists, and so
/// is a plan of more than [`MAX_CELLS`] cells (a `--repeat` override can
/// make one).
pub fn plan(scenario: &Scenario, only: &[String]) -> Result<Plan, String> {
    let selectors: Vec<(&str, &str)> = only
        .iter()
        .map(|s| s.split_once('/').unwrap_or((s.as_str(), "*")))
        .collect();
    for (sel, (t, w)) in only.iter().zip(&selectors) {
        let hit = scenario.targets.iter().any(|tg| tg.selected_by(t))
            && scenario.workloads.iter().any(|wl| wl.selected_by(w));
        if !hit {
            let names: Vec<String> = scenario
                .targets
                .iter()
                .flat_map(|tg| {
                    scenario
                        .workloads
                        .iter()
                        .map(move |wl| format!("{}/{}", tg.name, wl.name))
                })
                .collect();
            return Err(format!(
                "--only {sel} matches no cell; the cells are: {}",
                names.join(", ")
            ));
        }
    }
    let wanted = |t: &TargetSpec, w: &WorkloadSpec| {
        selectors.is_empty()
            || selectors
                .iter()
                .any(|(st, sw)| t.selected_by(st) && w.selected_by(sw))
    };
    let mut pairs = Vec::new();
    for (ti, t) in scenario.targets.iter().enumerate() {
        for (wi, w) in scenario.workloads.iter().enumerate() {
            if wanted(t, w) {
                pairs.push((ti, wi));
            }
        }
    }
    let cells = (pairs.len() as u64).saturating_mul(u64::from(scenario.repeat));
    if cells > MAX_CELLS {
        return Err(format!(
            "{} target/workload pairs × {} repeats = {cells} cells; a run takes at most \
             {MAX_CELLS} — lower the repeats (--repeat) or select cells with --only",
            pairs.len(),
            scenario.repeat
        ));
    }
    Ok(Plan {
        pairs,
        repeat: scenario.repeat,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        let text = "version: 1\nname: p\nrepeat: 2\nduration: 1s\n\
            targets:\n  - {name: a, kind: tmpfs}\n  - {name: b, kind: hostpath, path: /var/tmp/x}\n\
            workloads:\n  - {name: w1, kind: small_files}\n  - {name: w2, kind: fsync_heavy}\n";
        crate::scenario::load_str(text, std::path::Path::new("p.yaml")).unwrap()
    }

    #[test]
    fn repeats_are_interleaved() {
        let p = plan(&scenario(), &[]).unwrap();
        let order: Vec<(usize, usize, u32)> = p
            .cells()
            .map(|c| (c.target, c.workload, c.repeat))
            .collect();
        assert_eq!(
            order,
            vec![
                (0, 0, 0),
                (0, 1, 0),
                (1, 0, 0),
                (1, 1, 0),
                (0, 0, 1),
                (0, 1, 1),
                (1, 0, 1),
                (1, 1, 1)
            ]
        );
        assert!(p.cells().enumerate().all(|(i, c)| c.index == i));
        assert_eq!(p.len(), 8);
    }

    #[test]
    fn only_selects_and_rejects() {
        let s = scenario();
        assert_eq!(plan(&s, &["a/w2".into()]).unwrap().len(), 2);
        assert_eq!(plan(&s, &["b".into()]).unwrap().len(), 4);
        assert_eq!(plan(&s, &["*/w1".into(), "a/*".into()]).unwrap().len(), 6);
        assert_eq!(plan(&s, &["b".into()]).unwrap().targets(), vec![1]);
        let err = plan(&s, &["c/w1".into()]).unwrap_err();
        assert!(
            err.contains("matches no cell") && err.contains("a/w1"),
            "{err}"
        );
    }

    #[test]
    fn a_plan_of_billions_of_repeats_is_refused_without_materialising_it() {
        let mut s = scenario();
        s.repeat = 4_000_000_000;
        let err = plan(&s, &[]).unwrap_err();
        assert!(err.contains("16000000000 cells"), "{err}");
        assert!(err.contains("at most 100000"), "{err}");
        // At the limit the plan is a few pairs and a count, not a list.
        s.repeat = 25_000;
        let p = plan(&s, &[]).unwrap();
        assert_eq!(p.len(), 100_000);
        assert_eq!(p.pairs().len(), 4);
        assert_eq!(p.cells().last().unwrap().index, 99_999);
    }
}
