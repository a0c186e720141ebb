//! The report room: exporters that turn a finished (or in-progress)
//! `RunResult` into bytes for a reader — the terminal table, summary.md,
//! result.json, and the charts (SVG and PNG, see [`charts`]). Exporters
//! are pure: they take `&RunResult` and return text or bytes, never
//! measure, never read the clock or the filesystem.
//!
//! The helpers here are shared by the exporters so every view orders ops and
//! spells numbers the same way.

use std::collections::BTreeMap;

use crate::result::OpStats;

pub mod charts;
pub mod compare;
pub mod gate;
pub mod html;
pub mod json;
pub mod summary;
pub mod tables;
pub mod terminal;
pub mod verdicts;

/// How the reports are rendered, besides the run itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RenderOptions {
    /// Where the run directory is published (`https://…`, no trailing
    /// `/`): summary.md links its charts and report.html under it. None:
    /// summary.md links nothing (relative links do not resolve in a PR
    /// comment or a step summary).
    pub link_base: Option<String>,
}

/// Every report file of a finished run, as (path relative to the run
/// directory, bytes): each chart as `charts/<stem>.svg` and `.png`,
/// summary.md (linking the headline charts when `opts` has a link base),
/// and the self-contained report.html (with the gate verdicts, when the
/// run was gated). Pure: `hlogs` are the cells' parsed interval logs,
/// keyed by their `hlog` path.
pub fn render_files(
    run: &crate::result::RunResult,
    hlogs: &BTreeMap<String, crate::record::HlogData>,
    gates: Option<&crate::analysis::gate::GateReport>,
    opts: &RenderOptions,
) -> Vec<(String, Vec<u8>)> {
    let chart_opts = charts::ChartOptions {
        unit_op_threshold_ns: gates.map(|g| g.unit_op_thresholds()).unwrap_or_default(),
    };
    let charts = charts::render_all_with(run, hlogs, &chart_opts);
    let headlines = charts::headlines(&charts);
    let links: Vec<summary::ChartLink> = charts
        .iter()
        .enumerate()
        .map(|(i, c)| summary::ChartLink {
            file_stem: c.file_stem.clone(),
            title: c.title.clone(),
            headline: headlines.contains(&i),
        })
        .collect();
    let mut files = Vec::with_capacity(2 * charts.len() + 2);
    files.push((
        "summary.md".to_string(),
        summary::render_full(run, &links, gates, opts).into_bytes(),
    ));
    files.push((
        "report.html".to_string(),
        html::render(run, &charts, gates).into_bytes(),
    ));
    for c in charts {
        files.push((format!("charts/{}.svg", c.file_stem), c.svg.into_bytes()));
        files.push((format!("charts/{}.png", c.file_stem), c.png));
    }
    files
}

pub use crate::record::op::op_order_key;

/// A cell's ops in report order (see [`op_order_key`]).
pub fn ordered_ops(ops: &BTreeMap<String, OpStats>) -> Vec<(&str, &OpStats)> {
    let mut v: Vec<(&str, &OpStats)> = ops.iter().map(|(k, s)| (k.as_str(), s)).collect();
    v.sort_by(|a, b| op_order_key(a.0).cmp(&op_order_key(b.0)));
    v
}

pub use crate::scenario::units::format_rate;

/// What every exporter says instead of a write amplification figure for a
/// device shared with the host (its counters include other writers).
pub const NOT_ATTRIBUTABLE: &str = "not attributable (device shared with the host)";

/// Errors by errno as "EIO×1, ENOSPC×12", or "-" when there were none.
pub fn format_errors(errors: &BTreeMap<String, u64>) -> String {
    let parts: Vec<String> = errors
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(errno, n)| format!("{errno}×{n}"))
        .collect();
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Hand-built results for the exporters' tests.

    use std::collections::BTreeMap;

    use crate::result::comparison::{Comparison, Metric, Verdict};
    use crate::result::*;

    /// The device counters of a loop-backed cell (23 MiB for 20 MiB written).
    pub(crate) fn loop_device() -> DeviceStats {
        DeviceStats {
            name: "loop3".into(),
            bytes_written: 23_068_672,
            write_ios: 5_200,
            flushes: 5_120,
            write_amplification: Some(1.1),
            shared: false,
            attributable: true,
        }
    }

    /// An OpStats with the given count and rate, and latencies derived from
    /// `p50_ns` (p95 = 2×, p99 = 4×, p99.9 = 8×, max = 16×).
    pub(crate) fn op(count: u64, ops_per_sec: f64, p50_ns: u64) -> OpStats {
        OpStats {
            count,
            ops_per_sec,
            errors: BTreeMap::new(),
            mean_ns: (p50_ns + p50_ns / 10) as f64,
            stdev_ns: p50_ns as f64 / 2.0,
            min_ns: p50_ns / 2,
            p50_ns,
            p90_ns: p50_ns * 3 / 2,
            p95_ns: p50_ns * 2,
            p99_ns: p50_ns * 4,
            p999_ns: p50_ns * 8,
            max_ns: p50_ns * 16,
            histogram: String::new(),
        }
    }

    pub(crate) fn with_errors(mut s: OpStats, errors: &[(&str, u64)]) -> OpStats {
        s.errors = errors.iter().map(|(e, n)| (e.to_string(), *n)).collect();
        s
    }

    /// A cell on `target` (kind and fstype "ext4", source /dev/loop3) running
    /// `workload` (kind fsync_heavy, 1 thread) for 5 s.
    pub(crate) fn cell(
        index: usize,
        target: &str,
        workload: &str,
        repeat: u32,
        ops: Vec<(&str, OpStats)>,
    ) -> CellResult {
        CellResult {
            index,
            target: TargetInfo {
                name: target.to_string(),
                kind: "ext4".to_string(),
                requested_options: vec!["noatime".to_string()],
                mount: MountInfo {
                    fstype: "ext4".to_string(),
                    source: "/dev/loop3".to_string(),
                    options: "rw,noatime,data=writeback".to_string(),
                    mount_point: "/run/wpbench/t0".to_string(),
                    fs_options: String::new(),
                },
                capacity_bytes: 1 << 30,
                inodes: 65536,
            },
            workload: WorkloadInfo {
                name: workload.to_string(),
                kind: "fsync_heavy".to_string(),
                threads: 1,
                params: BTreeMap::new(),
            },
            repeat,
            provision_s: 0.2,
            teardown_s: 0.05,
            duration_s: 5.0,
            warmup_s: 1.0,
            ops: ops.into_iter().map(|(k, s)| (k.to_string(), s)).collect(),
            bytes_written: 20_971_520,
            warmup_unit_ops: 0,
            device: None,
            faults: Vec::new(),
            interval_s: None,
            hlog: format!("cell-{index}.hlog"),
            rate_per_thread: None,
            notes: Vec::new(),
            interval_cv: None,
            sources: Vec::new(),
        }
    }

    /// A comparison of `target` against `baseline` on `workload`'s `op`
    /// with the given ratio, 95 % interval and verdict (3 repeats a side).
    pub(crate) fn comparison(
        (workload, op): (&str, &str),
        (target, baseline): (&str, &str),
        metric: Metric,
        (ratio, ci_low, ci_high): (f64, f64, f64),
        verdict: Verdict,
    ) -> Comparison {
        Comparison {
            workload: workload.into(),
            op: op.into(),
            metric,
            baseline: baseline.into(),
            target: target.into(),
            ratio: Some(ratio),
            ci_low: Some(ci_low),
            ci_high: Some(ci_high),
            p_value: Some(0.01),
            verdict,
            baseline_value: 1.0,
            target_value: ratio,
            n_baseline: 3,
            n_target: 3,
            min_effect: 0.05,
            warnings: Vec::new(),
        }
    }

    pub(crate) fn run(cells: Vec<CellResult>) -> RunResult {
        RunResult {
            schema: SCHEMA.to_string(),
            run_id: "20250101T000000Z-ab12".to_string(),
            scenario: ScenarioInfo {
                name: "quickstart".to_string(),
                file: "scenarios/quickstart.yaml".to_string(),
                sha256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                    .to_string(),
                seed: 42,
                description: String::new(),
                planned_cells: cells.len(),
            },
            env: Environment {
                kernel: "6.18.44".to_string(),
                cpu: "Test CPU @ 2.50GHz".to_string(),
                cores: 2,
                memory_bytes: 8 << 30,
                wpbench: "0.1.0".to_string(),
                hostname: "bench-1".to_string(),
                cgroup: "v2".to_string(),
                vm: [
                    ("vm.dirty_ratio", "20"),
                    ("vm.dirty_background_ratio", "10"),
                    ("vm.dirty_expire_centisecs", "3000"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
                euid: 0,
                clock: "CLOCK_MONOTONIC".to_string(),
            },
            started_at: "2025-01-01T00:00:00Z".to_string(),
            finished_at: "2025-01-01T00:00:12Z".to_string(),
            status: crate::result::RunStatus::Completed,
            error: String::new(),
            command: vec!["wpbench".to_string(), "run".to_string()],
            cells,
            sources: Vec::new(),
            missing: Vec::new(),
            compare: Default::default(),
            comparisons: Vec::new(),
            noise: Vec::new(),
        }
    }

    /// A one-cell WAL run: record (unit), write, fsync, close and an op name
    /// outside the table.
    pub(crate) fn wal_run() -> RunResult {
        run(vec![cell(
            0,
            "ext4[noatime]",
            "wal",
            0,
            vec![
                ("write", op(5120, 1024.0, 3_000)),
                ("zz_custom", op(3, 0.6, 500)),
                (
                    "fsync",
                    with_errors(op(5108, 1021.6, 881_000), &[("EIO", 12)]),
                ),
                ("record", op(5108, 1021.6, 890_000)),
                ("close", op(1, 0.2, 700)),
            ],
        )])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_ordered_unit_first_then_table_then_alphabetical() {
        let names = [
            "zeta",
            "fsync",
            "file",
            "write",
            "alpha",
            "record",
            "create",
            "file.service",
        ];
        let ops: BTreeMap<String, OpStats> = names
            .iter()
            .map(|n| (n.to_string(), OpStats::default()))
            .collect();
        let got: Vec<&str> = ordered_ops(&ops).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            got,
            [
                "file",
                "record",
                "create",
                "write",
                "fsync",
                "file.service",
                "alpha",
                "zeta"
            ]
        );
    }

    #[test]
    fn numbers_are_spelled_consistently() {
        assert_eq!(format_rate(1234.6), "1235");
        assert_eq!(format_rate(56.78), "56.8");
        assert_eq!(format_rate(0.5), "0.50");
        assert_eq!(format_rate(f64::NAN), "-");
        let mut errors = BTreeMap::new();
        assert_eq!(format_errors(&errors), "-");
        errors.insert("EIO".to_string(), 0);
        assert_eq!(format_errors(&errors), "-");
        errors.insert("ENOSPC".to_string(), 12);
        errors.insert("EDQUOT".to_string(), 1);
        assert_eq!(format_errors(&errors), "EDQUOT×1, ENOSPC×12");
    }
}
