//! Baselines: a run kept for later runs to be compared with. Compact — per
//! cell and repeat only each op's histogram (from which every percentile is
//! recomputed), its error counts and the measured time — yet complete
//! enough for a significance test over the repeats.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::record::decode_histogram;
use crate::result::stats::op_stats;
use crate::result::{CellResult, MountInfo, RunResult, TargetInfo, WorkloadInfo};

pub const SCHEMA: &str = "wpbench/baseline/v1";
/// Where `baseline save` puts baselines and `--baseline NAME` finds them.
pub const DEFAULT_DIR: &str = "ci/baselines";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub schema: String,
    pub name: String,
    /// The run it was made from.
    pub run_id: String,
    pub scenario: String,
    pub scenario_sha256: String,
    pub kernel: String,
    pub hostname: String,
    pub started_at: String,
    pub cells: Vec<BaselineCell>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineCell {
    pub target: String,
    pub workload: String,
    pub repeat: u32,
    pub duration_s: f64,
    /// Effective mount options, to say when they changed since.
    pub mount_options: String,
    pub ops: BTreeMap<String, BaselineOp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineOp {
    /// Base64 of the V2-deflate HdrHistogram (ns); empty when only errors.
    pub histogram: String,
    #[serde(default)]
    pub errors: BTreeMap<String, u64>,
}

impl Baseline {
    /// A baseline of `run`, named `name`.
    pub fn from_run(run: &RunResult, name: &str) -> Baseline {
        Baseline {
            schema: SCHEMA.into(),
            name: name.into(),
            run_id: run.run_id.clone(),
            scenario: run.scenario.name.clone(),
            scenario_sha256: run.scenario.sha256.clone(),
            kernel: run.env.kernel.clone(),
            hostname: run.env.hostname.clone(),
            started_at: run.started_at.clone(),
            cells: run
                .cells
                .iter()
                .map(|c| BaselineCell {
                    target: c.target.name.clone(),
                    workload: c.workload.name.clone(),
                    repeat: c.repeat,
                    duration_s: c.duration_s,
                    mount_options: c.target.mount.options.clone(),
                    ops: c
                        .ops
                        .iter()
                        .map(|(name, s)| {
                            (
                                name.clone(),
                                BaselineOp {
                                    histogram: s.histogram.clone(),
                                    errors: s.errors.clone(),
                                },
                            )
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// The baseline as a run, its figures recomputed from the histograms,
    /// for comparing with (see [`crate::report::compare`]).
    pub fn to_run(&self) -> RunResult {
        let cells = self
            .cells
            .iter()
            .enumerate()
            .map(|(i, c)| CellResult {
                index: i,
                target: TargetInfo {
                    name: c.target.clone(),
                    kind: String::new(),
                    requested_options: Vec::new(),
                    mount: MountInfo {
                        options: c.mount_options.clone(),
                        ..MountInfo::default()
                    },
                    capacity_bytes: 0,
                    inodes: 0,
                },
                workload: WorkloadInfo {
                    name: c.workload.clone(),
                    kind: String::new(),
                    threads: 0,
                    params: BTreeMap::new(),
                },
                repeat: c.repeat,
                duration_s: c.duration_s,
                warmup_s: 0.0,
                ops: c
                    .ops
                    .iter()
                    .map(|(name, o)| {
                        let h = decode_histogram(&o.histogram);
                        (
                            name.clone(),
                            op_stats(h.as_ref(), o.errors.clone(), c.duration_s),
                        )
                    })
                    .collect(),
                bytes_written: 0,
                warmup_unit_ops: 0,
                device: None,
                faults: Vec::new(),
                hlog: String::new(),
                interval_s: None,
                rate_per_thread: None,
                provision_s: 0.0,
                teardown_s: 0.0,
                notes: Vec::new(),
                interval_cv: None,
                sources: Vec::new(),
            })
            .collect();
        RunResult {
            schema: crate::result::SCHEMA.into(),
            run_id: self.run_id.clone(),
            scenario: crate::result::ScenarioInfo {
                name: self.scenario.clone(),
                file: String::new(),
                sha256: self.scenario_sha256.clone(),
                seed: 0,
                description: String::new(),
                planned_cells: self.cells.len(),
            },
            env: crate::result::Environment {
                kernel: self.kernel.clone(),
                hostname: self.hostname.clone(),
                ..Default::default()
            },
            started_at: self.started_at.clone(),
            finished_at: String::new(),
            status: crate::result::RunStatus::Completed,
            error: String::new(),
            command: Vec::new(),
            cells,
            sources: Vec::new(),
            missing: Vec::new(),
            compare: Default::default(),
            comparisons: Vec::new(),
            noise: Vec::new(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    pub fn read(path: &Path) -> Result<Baseline, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let b: Baseline = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: not a wpbench baseline: {e}", path.display()))?;
        if b.schema != SCHEMA {
            return Err(format!(
                "{}: schema {} is not {SCHEMA}",
                path.display(),
                b.schema
            ));
        }
        Ok(b)
    }
}

/// Where `--baseline ARG` points: a file when ARG names one (or looks like
/// a path), else `DIR/ARG.json`.
pub fn resolve(arg: &str, dir: &Path) -> PathBuf {
    let p = Path::new(arg);
    if p.is_file() || arg.contains('/') || arg.ends_with(".json") {
        p.to_path_buf()
    } else {
        dir.join(format!("{arg}.json"))
    }
}

/// A baseline name that is safe as a file name.
pub fn check_name(name: &str) -> Result<(), String> {
    if !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && !name.starts_with('.')
    {
        Ok(())
    } else {
        Err(format!(
            "baseline name `{name}`: use letters, digits, `.`, `_` and `-` (e.g. `main`, `v1.4`)"
        ))
    }
}

#[cfg(test)]
impl Baseline {
    fn read_bytes(bytes: &[u8]) -> Result<Baseline, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{encode_histogram, new_histogram};
    use crate::report::fixtures::{cell, run};

    #[test]
    fn a_baseline_keeps_histograms_and_recomputes_every_figure() {
        let mut h = new_histogram();
        for v in [1000u64, 2000, 3000, 4000, 100_000] {
            h.record(v).unwrap();
        }
        let mut s = op_stats(Some(&h), BTreeMap::new(), 5.0);
        s.errors.insert("EIO".into(), 2);
        let r = run(vec![cell(0, "ext4", "wal", 0, vec![("record", s.clone())])]);
        let b = Baseline::from_run(&r, "main");
        assert_eq!(b.cells[0].ops["record"].histogram, encode_histogram(&h));
        let back = Baseline::read_bytes(&b.to_bytes()).unwrap();
        assert_eq!(back, b);
        let again = &b.to_run().cells[0].ops["record"];
        assert_eq!(again.p99_ns, s.p99_ns);
        // 5 samples over the cell's 5 s.
        assert_eq!(again.ops_per_sec, 1.0);
        assert_eq!(again.errors["EIO"], 2);
        // Compact: no notes, no hlog paths, no summary figures.
        let text = String::from_utf8(b.to_bytes()).unwrap();
        assert!(!text.contains("p99_ns") && !text.contains("hlog"));
    }

    #[test]
    fn names_and_paths() {
        assert!(check_name("main").is_ok() && check_name("v1.4_rc-2").is_ok());
        assert!(
            check_name("../etc").is_err() && check_name("").is_err() && check_name(".x").is_err()
        );
        let dir = Path::new("ci/baselines");
        assert_eq!(resolve("main", dir), dir.join("main.json"));
        assert_eq!(resolve("old/main.json", dir), Path::new("old/main.json"));
    }
}
