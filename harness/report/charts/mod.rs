//! The charts room: a run's results as pictures, each chart both as SVG
//! text and as a PNG file's bytes.
//!
//! Like the other exporters, charts are a pure function of their inputs:
//! the same `RunResult` and interval logs give byte-identical SVG and PNG
//! (no clock, no hash-map order, a font embedded in the binary rather than
//! looked up on the machine). Nothing here reads or writes files; the caller
//! loads the .hlog files (see [`crate::record::read_hlog`]) and writes
//! `charts/<file_stem>.svg|png`.
//!
//! Families, one function each:
//! - [`percentile_spectrum`] and [`latency_cdf`]: one op, one line per
//!   target, all its repeats' histograms merged (the title says so);
//! - [`percentile_bars`]: p50/p95/p99 of a workload's unit op per target —
//!   the median of the per-repeat values with their min–max as whiskers,
//!   exactly what a gate judges ([`over_repeats`]) — with an optional gate
//!   threshold;
//! - [`cell_time_series`]: one cell interval by interval (throughput, p99)
//!   with its fault events;
//! - [`device_chart`]: payload vs device bytes, write amplification (the
//!   median over repeats; none for a device shared with the host);
//! - [`durability_chart`]: what crash trials lost;
//! - for a merged run (`wpbench merge`), the unit op's percentile
//!   spectrum per target with one line per node (`nodes-*`), and each
//!   source's own time series.
//!
//! [`render_all`] decides which apply to a run, and how the repeats of the
//! same target and workload are combined in each.

use std::collections::{BTreeMap, BTreeSet};

use hdrhistogram::Histogram;

use crate::fault::outcome::FaultEntry;
use crate::record::{decode_histogram, new_histogram, HlogData, Op};
use crate::result::comparison::{Comparison, Metric};
use crate::result::stats::over_repeats;
use crate::result::{CellResult, OpStats, RunResult};

pub use draw::{Quantity, Unit};

mod compare;
mod draw;
mod latency;
mod storage;
mod timeseries;

pub use compare::{comparison_chart, RatioBar, RatioGroup};
pub use latency::{
    latency_cdf, percentile_bars, percentile_spectrum, repeats_caption, LatencySeries,
    PercentileGroup,
};
pub use storage::{device_chart, durability_chart, DeviceBar, DurabilityBar};
pub use timeseries::{cell_time_series, fault_marks, FaultMark};

/// Pixel size of the PNGs (and the SVG canvas).
pub const CHART_SIZE: (u32, u32) = draw::SIZE;

/// One rendered chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// File name without extension: `[A-Za-z0-9._-]`, unique within a run.
    pub file_stem: String,
    pub title: String,
    pub svg: String,
    /// A complete PNG file.
    pub png: Vec<u8>,
    /// What it shows, so a report can place it.
    pub kind: ChartKind,
    /// The workload it belongs to, if one.
    pub workload: Option<String>,
    /// The op it shows, if one.
    pub op: Option<String>,
}

/// The families of charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChartKind {
    /// Each target's unit-op throughput and p95 ÷ its baseline.
    Comparison,
    /// The unit op's p50/p95/p99 per target.
    PercentileBars,
    Spectrum,
    Cdf,
    /// A merged run's unit-op spectrum, one line per node.
    PerNode,
    Device,
    Durability,
    /// One cell interval by interval.
    #[default]
    TimeSeries,
}

impl Chart {
    fn about(mut self, kind: ChartKind, workload: &str, op: Option<&str>) -> Chart {
        self.kind = kind;
        self.workload = Some(workload.to_string());
        self.op = op.map(str::to_string);
        self
    }

    /// Whether it shows its workload's unit op.
    pub fn shows_unit_op(&self) -> bool {
        self.op
            .as_deref()
            .and_then(Op::from_name)
            .is_some_and(Op::is_unit)
    }
}

/// The headline charts of a run, at most [`MAX_HEADLINES`], as indexes
/// into `charts`: per workload its comparison chart and its unit op's
/// percentile spectrum. When that makes too many, the comparison charts
/// win (they carry the verdict); without any, the spectra. In page order.
pub fn headlines(charts: &[Chart]) -> Vec<usize> {
    let of = |kind: ChartKind| -> Vec<usize> {
        (0..charts.len())
            .filter(|&i| {
                let c = &charts[i];
                c.kind == kind && (kind == ChartKind::Comparison || c.shows_unit_op())
            })
            .collect()
    };
    let (compare, spectra) = (of(ChartKind::Comparison), of(ChartKind::Spectrum));
    let mut out: Vec<usize> = if compare.len() + spectra.len() <= MAX_HEADLINES {
        compare.into_iter().chain(spectra).collect()
    } else if !compare.is_empty() {
        compare.into_iter().take(MAX_HEADLINES).collect()
    } else {
        spectra.into_iter().take(MAX_HEADLINES).collect()
    };
    // In page order: by workload as the charts come, comparison first.
    out.sort_unstable();
    out
}

/// The most headline charts a report opens with.
pub const MAX_HEADLINES: usize = 4;

/// The words of a chart: its file stem, the title drawn on top, and a line
/// of small print at the bottom (scenario, run, what was merged).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChartText {
    pub file_stem: String,
    pub title: String,
    pub footer: String,
    /// The unit a workload's latency charts share on their linear axes
    /// (see [`workload_latency_unit`]); None: each chart's own.
    pub latency_unit: Option<Unit>,
}

/// Inputs to [`render_all_with`] that are not in the result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChartOptions {
    /// Per workload name: a latency limit (ns) on its unit op, drawn on
    /// the percentile bars (e.g. the gate's p95 or p99).
    pub unit_op_threshold_ns: BTreeMap<String, f64>,
}

/// Every chart that applies to `run`. `hlogs` holds the parsed interval
/// logs by the cell's `hlog` path (as in result.json); cells without one
/// get no time series.
pub fn render_all(run: &RunResult, hlogs: &BTreeMap<String, HlogData>) -> Vec<Chart> {
    render_all_with(run, hlogs, &ChartOptions::default())
}

/// [`render_all`] with gate thresholds.
pub fn render_all_with(
    run: &RunResult,
    hlogs: &BTreeMap<String, HlogData>,
    opts: &ChartOptions,
) -> Vec<Chart> {
    let mut cells: Vec<&CellResult> = run.cells.iter().collect();
    // Plan order, so series and charts come out in the order the user wrote.
    cells.sort_by_key(|c| c.index);
    let footers = Footers::of(run, &cells);
    // One registry for the whole run: stems are unique across families, and
    // the order charts are made in decides which one gets a `-2`.
    let mut stems = Stems::default();
    let mut out = Vec::new();

    let workloads = first_seen(cells.iter().map(|c| c.workload.name.as_str()));
    // Each workload's shared latency unit, once: its own charts and its
    // cells' time series use it.
    let units: BTreeMap<&str, Option<Unit>> = workloads
        .iter()
        .map(|w| (*w, workload_latency_unit(&cells, w)))
        .collect();
    for w in &workloads {
        let wcells: Vec<&CellResult> = cells
            .iter()
            .copied()
            .filter(|c| c.workload.name == *w)
            .collect();
        let shared = units[w];
        out.extend(workload_charts(
            &mut stems, &footers, run, w, &wcells, opts, shared,
        ));
    }
    let many_workloads = workloads.len() > 1;
    let label = |c: &CellResult| {
        if many_workloads {
            format!("{} · {}", c.target.name, c.workload.name)
        } else {
            c.target.name.clone()
        }
    };
    out.extend(storage_charts(&mut stems, &footers, &cells, &label));
    out.extend(time_series_charts(
        &mut stems,
        &footers.base,
        &cells,
        hlogs,
        &units,
    ));
    out
}

/// The unit a workload's latency charts share: the one its unit op's p99
/// (median over repeats, largest over targets) reads best in. None when
/// no cell completed a unit op.
fn workload_latency_unit(cells: &[&CellResult], w: &str) -> Option<Unit> {
    let wcells: Vec<&CellResult> = cells
        .iter()
        .copied()
        .filter(|c| c.workload.name == w)
        .collect();
    let ops = ops_with_samples(&wcells);
    let unit = ops
        .iter()
        .find(|o| Op::from_name(o).is_some_and(Op::is_unit))?;
    let targets = first_seen(wcells.iter().map(|c| c.target.name.as_str()));
    let p99 = targets
        .iter()
        .filter_map(|t| percentile_group(&wcells, t, unit))
        .map(|g| g.p99.median)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    (p99 > 0.0).then(|| Quantity::Duration.unit_for(p99))
}

/// The small print under a run's charts.
struct Footers {
    /// Scenario and run id.
    base: String,
    /// `base`, and how many repeats were merged per target when more than one.
    merged: String,
    /// `base`, and how the device chart combines repeats when more than one.
    device: String,
    /// Distinct repeat indexes in the run.
    repeats: usize,
}

impl Footers {
    fn of(run: &RunResult, cells: &[&CellResult]) -> Footers {
        let repeats = cells
            .iter()
            .map(|c| c.repeat)
            .collect::<BTreeSet<_>>()
            .len();
        let base = format!("wpbench · {} · run {}", run.scenario.name, run.run_id);
        let (merged, device) = if repeats > 1 {
            (
                format!("{base} · {repeats} repeats merged per target"),
                format!("{base} · bytes: mean, amplification: median of {repeats} repeats"),
            )
        } else {
            (base.clone(), base.clone())
        };
        Footers {
            base,
            merged,
            device,
            repeats,
        }
    }

    /// What a chart of merged histograms adds to its title:
    /// ` · all 3 repeats merged`, or nothing for one repeat.
    fn merged_title(&self) -> String {
        if self.repeats > 1 {
            format!(" · all {} repeats merged", self.repeats)
        } else {
            String::new()
        }
    }
}

/// The charts of one workload: its unit op's percentile bars, every op's
/// spectrum and CDF, and (in a merged run) the unit op per node.
fn workload_charts(
    stems: &mut Stems,
    footers: &Footers,
    run: &RunResult,
    w: &str,
    wcells: &[&CellResult],
    opts: &ChartOptions,
    shared: Option<Unit>,
) -> Vec<Chart> {
    let targets = first_seen(wcells.iter().map(|c| c.target.name.as_str()));
    let ops = ops_with_samples(wcells);
    let unit = ops
        .iter()
        .copied()
        .find(|o| Op::from_name(o).is_some_and(Op::is_unit));
    let mut out = Vec::new();
    if let Some(unit) = unit {
        out.extend(comparison(stems, footers, run, w, unit));
        let groups: Vec<PercentileGroup> = targets
            .iter()
            .filter_map(|t| percentile_group(wcells, t, unit))
            .collect();
        let text = ChartText {
            file_stem: stems.make(&["percentiles", w, unit]),
            title: format!("{unit} latency p50 / p95 / p99 per target · workload {w}"),
            footer: footers.base.clone(),
            latency_unit: shared,
        };
        out.push(
            percentile_bars(&text, &groups, opts.unit_op_threshold_ns.get(w).copied()).about(
                ChartKind::PercentileBars,
                w,
                Some(unit),
            ),
        );
    }
    for op in &ops {
        out.extend(op_latency_charts(
            stems, footers, w, op, &targets, wcells, shared,
        ));
    }
    if let Some(unit) = unit {
        out.extend(node_charts(
            stems, footers, w, unit, &targets, wcells, shared,
        ));
    }
    out
}

/// The comparison chart of a workload: each target's unit-op throughput
/// and p95 against its baseline, from the run's comparisons. None when
/// nothing was compared.
fn comparison(
    stems: &mut Stems,
    footers: &Footers,
    run: &RunResult,
    w: &str,
    unit: &str,
) -> Option<Chart> {
    let rows: Vec<&Comparison> = run
        .comparisons
        .iter()
        .filter(|c| c.workload == w && c.op == unit)
        .collect();
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for c in &rows {
        if !pairs.contains(&(c.target.as_str(), c.baseline.as_str())) {
            pairs.push((&c.target, &c.baseline));
        }
    }
    let (_, first_baseline) = *pairs.first()?;
    let one_baseline = pairs.iter().all(|(_, b)| *b == first_baseline);
    let bar = |t: &str, b: &str, m: Metric| {
        rows.iter()
            .find(|c| c.target == t && c.baseline == b && c.metric == m)
            .and_then(|c| RatioBar::of(c))
    };
    let groups: Vec<RatioGroup> = pairs
        .iter()
        .map(|(t, b)| RatioGroup {
            label: if one_baseline {
                t.to_string()
            } else {
                format!("{t} · vs {b}")
            },
            throughput: bar(t, b, Metric::Throughput),
            p95: bar(t, b, Metric::P95),
        })
        .collect();
    let baseline = if one_baseline {
        first_baseline
    } else {
        "baseline"
    };
    let text = ChartText {
        file_stem: stems.make(&["compare", w]),
        title: format!("{w}: each target against {baseline} · {unit} throughput and p95"),
        footer: format!(
            "{} · ratios of geometric means over repeats, 95 % intervals",
            footers.base
        ),
        latency_unit: None,
    };
    Some(
        comparison_chart(&text, unit, baseline, &groups, run.compare.min_effect).about(
            ChartKind::Comparison,
            w,
            Some(unit),
        ),
    )
}

/// The ops some cell completed at least once, in the usual op order.
fn ops_with_samples<'a>(wcells: &[&'a CellResult]) -> Vec<&'a str> {
    let mut ops: Vec<&str> = wcells
        .iter()
        .flat_map(|c| c.ops.iter())
        .filter(|(_, s)| s.count > 0)
        .map(|(name, _)| name.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    ops.sort_by(|a, b| super::op_order_key(a).cmp(&super::op_order_key(b)));
    ops
}

/// One op's latency by percentile and as a CDF, one line per target.
fn op_latency_charts(
    stems: &mut Stems,
    footers: &Footers,
    w: &str,
    op: &str,
    targets: &[&str],
    wcells: &[&CellResult],
    shared: Option<Unit>,
) -> [Chart; 2] {
    let series: Vec<LatencySeries> = targets
        .iter()
        .map(|t| LatencySeries {
            label: t.to_string(),
            hist: merged_histogram(wcells, t, op),
        })
        .collect();
    let merged = footers.merged_title();
    let text = ChartText {
        file_stem: stems.make(&["spectrum", w, op]),
        title: format!("{op} latency by percentile · workload {w}{merged}"),
        footer: footers.base.clone(),
        latency_unit: shared,
    };
    let spectrum = percentile_spectrum(&text, &series).about(ChartKind::Spectrum, w, Some(op));
    let text = ChartText {
        file_stem: stems.make(&["cdf", w, op]),
        title: format!("{op} latency CDF · workload {w}{merged}"),
        footer: footers.base.clone(),
        latency_unit: shared,
    };
    [
        spectrum,
        latency_cdf(&text, &series).about(ChartKind::Cdf, w, Some(op)),
    ]
}

/// A merged run: per target, the unit op's spectrum one line per node, so
/// an outlier node stands out. None for targets measured on one node.
fn node_charts(
    stems: &mut Stems,
    footers: &Footers,
    w: &str,
    unit: &str,
    targets: &[&str],
    wcells: &[&CellResult],
    shared: Option<Unit>,
) -> Vec<Chart> {
    let mut out = Vec::new();
    for t in targets {
        let series = node_series(wcells, t, unit);
        if series.len() < 2 {
            continue;
        }
        let text = ChartText {
            file_stem: stems.make(&["nodes", w, t, unit]),
            title: format!("{unit} latency by percentile per node · {t} · workload {w}"),
            footer: format!(
                "{} · {} nodes{}",
                footers.base,
                series.len(),
                if footers.repeats > 1 {
                    ", repeats merged per node"
                } else {
                    ""
                }
            ),
            latency_unit: shared,
        };
        out.push(percentile_spectrum(&text, &series).about(ChartKind::PerNode, w, Some(unit)));
    }
    out
}

/// Device bytes and crash durability per configuration, when any cell
/// has them.
fn storage_charts(
    stems: &mut Stems,
    footers: &Footers,
    cells: &[&CellResult],
    label: &dyn Fn(&CellResult) -> String,
) -> Vec<Chart> {
    let mut out = Vec::new();
    let device = device_bars(cells, label);
    if !device.is_empty() {
        let text = ChartText {
            file_stem: stems.make(&["device"]),
            title: "Bytes written and write amplification per target".to_string(),
            footer: footers.device.clone(),
            latency_unit: None,
        };
        out.push(Chart {
            kind: ChartKind::Device,
            ..device_chart(&text, &device)
        });
    }
    let durability = durability_bars(cells, label);
    if !durability.is_empty() {
        let text = ChartText {
            file_stem: stems.make(&["durability"]),
            title: "Writes lost after crash trials".to_string(),
            footer: footers.merged.clone(),
            latency_unit: None,
        };
        out.push(Chart {
            kind: ChartKind::Durability,
            ..durability_chart(&text, &durability)
        });
    }
    out
}

/// Every cell's time-series chart from its .hlog; a merged cell gets one
/// per source, since interval logs are never merged.
fn time_series_charts(
    stems: &mut Stems,
    base_footer: &str,
    cells: &[&CellResult],
    hlogs: &BTreeMap<String, HlogData>,
    units: &BTreeMap<&str, Option<Unit>>,
) -> Vec<Chart> {
    let mut out = Vec::new();
    for c in cells {
        let shared = units.get(c.workload.name.as_str()).copied().flatten();
        if c.sources.len() > 1 {
            for src in &c.sources {
                if let Some(hlog) = hlogs.get(&src.hlog) {
                    let source = Source {
                        hlog: (hlog, &src.hlog),
                        node: Some(&src.node),
                        timing: (src.duration_s, src.interval_s),
                        faults: &src.faults,
                    };
                    out.push(time_series(stems, base_footer, c, source, shared));
                }
            }
        } else if let Some(hlog) = hlogs.get(&c.hlog) {
            let source = Source {
                hlog: (hlog, &c.hlog),
                node: None,
                timing: (c.duration_s, c.interval_s),
                faults: &c.faults,
            };
            out.push(time_series(stems, base_footer, c, source, shared));
        }
    }
    out
}

/// What one time series is drawn from: a cell's interval log (and its
/// path), or one source node's in a merged cell, with its timing and faults.
struct Source<'a> {
    hlog: (&'a HlogData, &'a str),
    node: Option<&'a str>,
    /// The measured phase's length and the nominal interval, in seconds.
    timing: (f64, Option<f64>),
    faults: &'a [FaultEntry],
}

/// The time-series chart of one cell — or of one source node of a merged
/// cell — with its own fault marks.
fn time_series(
    stems: &mut Stems,
    base_footer: &str,
    c: &CellResult,
    source: Source,
    shared: Option<Unit>,
) -> Chart {
    let Source {
        hlog: (hlog, hlog_path),
        node,
        timing: (duration_s, interval_s),
        faults,
    } = source;
    let unit = unit_op_of(c, hlog);
    let repeat = format!("r{}", c.repeat);
    let index = format!("{:03}", c.index);
    let mut parts = vec![
        "timeseries",
        index.as_str(),
        c.target.name.as_str(),
        c.workload.name.as_str(),
        repeat.as_str(),
    ];
    parts.extend(node);
    let text = ChartText {
        file_stem: stems.make(&parts),
        title: format!(
            "Every {}: {} · {} · repeat {}{}",
            interval_words(interval_s.or(hlog.interval_s).unwrap_or(1.0)),
            c.target.name,
            c.workload.name,
            c.repeat,
            node.map(|n| format!(" · node {n}")).unwrap_or_default()
        ),
        footer: format!("{base_footer} · cell {} · {hlog_path}", c.index),
        latency_unit: shared,
    };
    cell_time_series(
        &text,
        hlog,
        &unit,
        duration_s,
        interval_s,
        &fault_marks(faults),
    )
    .about(ChartKind::TimeSeries, &c.workload.name, Some(&unit))
}

/// An interval length as a title says it: `100 ms`, `second`, `2 s`.
fn interval_words(s: f64) -> String {
    if (s - 1.0).abs() < 1e-9 {
        "second".to_string()
    } else if s < 1.0 {
        format!("{} ms", draw::format_value(s * 1e3))
    } else {
        format!("{} s", draw::format_value(s))
    }
}

/// Distinct values in first-seen order.
fn first_seen<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = BTreeSet::new();
    items.filter(|s| seen.insert(*s)).collect()
}

/// The repeats of `target` added into one histogram (empty when none of
/// them carries a readable one).
fn merged_histogram(cells: &[&CellResult], target: &str, op: &str) -> Histogram<u64> {
    let mut sum = new_histogram();
    for c in cells.iter().filter(|c| c.target.name == target) {
        if let Some(h) = c.ops.get(op).and_then(|s| decode_histogram(&s.histogram)) {
            // Bounds differ only for foreign histograms: skip, don't fail.
            let _ = sum.add(&h);
        }
    }
    sum
}

/// For the cells of one workload in a merged run: per node (first-seen
/// order) the histograms of `op` on `target`, repeats added. Empty unless
/// some cell has per-source figures.
fn node_series(cells: &[&CellResult], target: &str, op: &str) -> Vec<LatencySeries> {
    let mut series: Vec<LatencySeries> = Vec::new();
    for c in cells.iter().filter(|c| c.target.name == target) {
        for src in &c.sources {
            let i = match series.iter().position(|s| s.label == src.node) {
                Some(i) => i,
                None => {
                    series.push(LatencySeries {
                        label: src.node.clone(),
                        hist: new_histogram(),
                    });
                    series.len() - 1
                }
            };
            if let Some(h) = src.ops.get(op).and_then(|s| decode_histogram(&s.histogram)) {
                let _ = series[i].hist.add(&h);
            }
        }
    }
    series
}

/// p50/p95/p99 of `op` on `target` over its repeats: the median of each
/// repeat's own percentile, min–max as whiskers — what a gate judges
/// (repeats where the op never completed have no figure, as in the gate).
fn percentile_group(cells: &[&CellResult], target: &str, op: &str) -> Option<PercentileGroup> {
    let stats: Vec<&OpStats> = cells
        .iter()
        .filter(|c| c.target.name == target)
        .filter_map(|c| c.ops.get(op))
        .filter(|s| s.count > 0)
        .collect();
    let over = |f: fn(&OpStats) -> u64| {
        over_repeats(&stats.iter().map(|s| f(s) as f64).collect::<Vec<_>>())
    };
    Some(PercentileGroup {
        label: target.to_string(),
        p50: over(|s| s.p50_ns)?,
        p95: over(|s| s.p95_ns)?,
        p99: over(|s| s.p99_ns)?,
    })
}

/// The unit op of a cell: from its ops, else from its log's tags.
fn unit_op_of(c: &CellResult, hlog: &HlogData) -> String {
    let from_ops = super::ordered_ops(&c.ops)
        .into_iter()
        .map(|(name, _)| name)
        .find(|o| Op::from_name(o).is_some_and(Op::is_unit));
    if let Some(op) = from_ops {
        return op.to_string();
    }
    let mut tags = hlog.tags();
    tags.sort_by(|a, b| super::op_order_key(a).cmp(&super::op_order_key(b)));
    tags.first()
        .map(|t| t.to_string())
        .unwrap_or_else(|| "op".to_string())
}

/// Device counters per configuration (target × workload): bytes averaged
/// over the repeats, write amplification their median (what a gate
/// judges); none at all when a repeat's device is not attributable.
fn device_bars(cells: &[&CellResult], label: &dyn Fn(&CellResult) -> String) -> Vec<DeviceBar> {
    let mut order: Vec<String> = Vec::new();
    let mut acc: BTreeMap<String, (DeviceBar, Vec<f64>, usize)> = BTreeMap::new();
    for c in cells {
        let Some(d) = &c.device else { continue };
        let key = label(c);
        let entry = acc.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            (
                DeviceBar {
                    label: key.clone(),
                    payload_bytes: 0.0,
                    device_bytes: 0.0,
                    write_amplification: None,
                    shared: false,
                    attributable: true,
                },
                Vec::new(),
                0,
            )
        });
        entry.0.payload_bytes += c.bytes_written as f64;
        entry.0.device_bytes += d.bytes_written as f64;
        entry.0.shared |= d.shared;
        entry.0.attributable &= d.attributable;
        entry
            .1
            .extend(d.write_amplification.filter(|w| w.is_finite()));
        entry.2 += 1;
    }
    order
        .iter()
        .filter_map(|k| acc.remove(k))
        .map(|(mut bar, was, n)| {
            bar.payload_bytes /= n as f64;
            bar.device_bytes /= n as f64;
            bar.write_amplification = over_repeats(&was)
                .filter(|_| bar.attributable)
                .map(|s| s.median);
            bar
        })
        .collect()
}

/// Crash durability per configuration, summed over repeats.
fn durability_bars(
    cells: &[&CellResult],
    label: &dyn Fn(&CellResult) -> String,
) -> Vec<DurabilityBar> {
    let mut out: Vec<DurabilityBar> = Vec::new();
    for c in cells {
        for f in &c.faults {
            if !f.kind().is_cut() {
                continue;
            }
            let Some(d) = f.durability() else {
                continue;
            };
            let bar = DurabilityBar::of(&label(c), d);
            match out.iter_mut().find(|b| b.label == bar.label) {
                Some(b) => b.add(&bar),
                None => out.push(bar),
            }
        }
    }
    out
}

/// Hands out file stems: parts joined by '-', each reduced to
/// `[A-Za-z0-9._-]`, and a `-2`, `-3` … suffix when two charts would clash
/// (e.g. `ext4[a]` and `ext4(a)`).
#[derive(Default)]
struct Stems {
    used: BTreeSet<String>,
}

impl Stems {
    fn make(&mut self, parts: &[&str]) -> String {
        let base: Vec<String> = parts.iter().map(|p| safe_part(p)).collect();
        let base = base.join("-");
        let mut stem = base.clone();
        let mut n = 2;
        while !self.used.insert(stem.clone()) {
            stem = format!("{base}-{n}");
            n += 1;
        }
        stem
    }
}

/// `ext4[noatime,data=writeback]` → `ext4_noatime_data_writeback`.
fn safe_part(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        let c = if ch.is_ascii_alphanumeric() || ch == '.' || ch == '-' {
            ch
        } else {
            '_'
        };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    // No hidden files, no edge underscores, bounded length.
    let trimmed: String = out.trim_matches(['_', '.', '-']).chars().take(60).collect();
    if trimmed.is_empty() {
        "x".to_string()
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests;
