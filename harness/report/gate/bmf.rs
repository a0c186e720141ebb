//! Bencher Metric Format (https://bencher.dev/docs/reference/bencher-metric-format/):
//! `{"<benchmark>": {"<measure>": {"value", "lower_value", "upper_value"}}}`,
//! so runs can be tracked in Bencher (`bencher run --adapter json`).
//!
//! One benchmark per cell and shown op (`target/workload/op`); measures
//! `latency` (p50, ns — Bencher's built-in), `p95-latency`, `p99-latency`
//! (ns) and `throughput` (ops/s). The value is the median over repeats,
//! the bounds the smallest and largest repeat.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::report::tables::is_summary_op;
use crate::result::stats::over_repeats;
use crate::result::RunResult;

pub fn render(run: &RunResult) -> Vec<u8> {
    // benchmark → measure → per-repeat values
    let mut values: BTreeMap<String, BTreeMap<&str, Vec<f64>>> = BTreeMap::new();
    for c in &run.cells {
        for (op, s) in c
            .ops
            .iter()
            .filter(|(op, s)| is_summary_op(op) && s.count > 0)
        {
            let m = values
                .entry(format!("{}/{}/{op}", c.target.name, c.workload.name))
                .or_default();
            for (measure, v) in [
                ("latency", s.p50_ns as f64),
                ("p95-latency", s.p95_ns as f64),
                ("p99-latency", s.p99_ns as f64),
                ("throughput", s.ops_per_sec),
            ] {
                m.entry(measure).or_default().push(v);
            }
        }
    }
    let out: BTreeMap<String, BTreeMap<&str, Value>> = values
        .into_iter()
        .map(|(bench, measures)| {
            let m = measures
                .into_iter()
                .filter_map(|(k, v)| {
                    let s = over_repeats(&v)?;
                    Some((
                        k,
                        json!({"value": s.median, "lower_value": s.min, "upper_value": s.max}),
                    ))
                })
                .collect();
            (bench, m)
        })
        .collect();
    let mut bytes = serde_json::to_vec_pretty(&out).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}
