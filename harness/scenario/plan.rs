//! The plan: which cells run, in which order.
//!
//! Cells are target × workload × repeat, with repeats interleaved
//! (A B C A B C) so that drift of a shared, noisy machine spreads over all
//! configurations instead of biasing whichever ran last.

use super::{Scenario, TargetSpec, WorkloadSpec};

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
    pub cells: Vec<Cell>,
}

/// Expands the scenario into cells, keeping those matching any `only`
/// selector (`target/workload` globs; a bare `target` means `target/*`;
/// a written name selects all its `vary` variants).
/// A selector that matches nothing is an error naming what exists.
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
    let mut cells = Vec::new();
    for repeat in 0..scenario.repeat {
        for (ti, t) in scenario.targets.iter().enumerate() {
            for (wi, w) in scenario.workloads.iter().enumerate() {
                if wanted(t, w) {
                    cells.push(Cell {
                        index: cells.len(),
                        target: ti,
                        workload: wi,
                        repeat,
                    });
                }
            }
        }
    }
    Ok(Plan { cells })
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
            .cells
            .iter()
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
        assert!(p.cells.iter().enumerate().all(|(i, c)| c.index == i));
    }

    #[test]
    fn only_selects_and_rejects() {
        let s = scenario();
        assert_eq!(plan(&s, &["a/w2".into()]).unwrap().cells.len(), 2);
        assert_eq!(plan(&s, &["b".into()]).unwrap().cells.len(), 4);
        assert_eq!(
            plan(&s, &["*/w1".into(), "a/*".into()])
                .unwrap()
                .cells
                .len(),
            6
        );
        let err = plan(&s, &["c/w1".into()]).unwrap_err();
        assert!(
            err.contains("matches no cell") && err.contains("a/w1"),
            "{err}"
        );
    }
}
