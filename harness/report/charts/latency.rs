//! Latency charts: the percentile spectrum, the CDF, and grouped bars of
//! p50/p95/p99 with an optional gate threshold. Spectra and CDFs take
//! histograms (all repeats merged); the bars take the median of the
//! per-repeat percentiles with their min–max, as a gate judges them.
//! Values are in nanoseconds; axes switch to a log scale when the values
//! span more than 100×, so a tmpfs and a disk can share a chart.

use hdrhistogram::Histogram;

use super::draw::{self, Axis, BarSeries, Body, Curve, Figure, HLine, Panel, Quantity, Unit};
use super::{Chart, ChartKind, ChartText};
use crate::result::stats::Spread;

/// One line of a latency chart: a label (the target) and its histogram.
#[derive(Debug, Clone)]
pub struct LatencySeries {
    pub label: String,
    /// Latencies in ns.
    pub hist: Histogram<u64>,
}

/// One group of the percentile bars (a target): each percentile over the
/// repeats ([`crate::result::stats::over_repeats`] of the per-repeat
/// values), in ns. The bar is the median, the whisker the min–max.
#[derive(Debug, Clone, PartialEq)]
pub struct PercentileGroup {
    pub label: String,
    pub p50: Spread,
    pub p95: Spread,
    pub p99: Spread,
}

impl PercentileGroup {
    /// A group of one repeat (no whiskers).
    pub fn single(label: &str, p50_ns: f64, p95_ns: f64, p99_ns: f64) -> PercentileGroup {
        let one = |v: f64| Spread {
            median: v,
            min: v,
            max: v,
            n: 1,
        };
        PercentileGroup {
            label: label.to_string(),
            p50: one(p50_ns),
            p95: one(p95_ns),
            p99: one(p99_ns),
        }
    }

    fn spreads(&self) -> [&Spread; 3] {
        [&self.p50, &self.p95, &self.p99]
    }
}

/// The legend entry of the bars' whiskers: `median of 3 repeats, whiskers
/// min–max` (`2–3 repeats` when targets differ); None with one repeat each.
pub fn repeats_caption(groups: &[PercentileGroup]) -> Option<String> {
    let ns = groups.iter().flat_map(|g| g.spreads().map(|s| s.n));
    let (lo, hi) = ns.fold((usize::MAX, 0), |(a, b), n| (a.min(n), b.max(n)));
    match (lo, hi) {
        (_, 0 | 1) => None,
        (lo, hi) if lo == hi => Some(format!("median of {hi} repeats, whiskers min–max")),
        (lo, hi) => Some(format!("median of {lo}–{hi} repeats, whiskers min–max")),
    }
}

/// Spread beyond which a latency axis goes logarithmic.
const LOG_SPREAD: f64 = 100.0;

/// A latency axis for these values (ns): log scale when they spread more
/// than 100× (each tick in its own unit: `10 µs`, `1 ms`), else linear in
/// `shared` — the unit the workload's charts share — when it suits the
/// values, or in the values' own unit. `headroom` is the share of the axis
/// kept free above the largest value (for legends and labels).
pub(crate) fn latency_axis(
    what: &str,
    values_ns: &[f64],
    headroom: f64,
    shared: Option<Unit>,
) -> Axis {
    latency_axis_padded(what, values_ns, headroom, 0.04, shared)
}

/// [`latency_axis`] with `floor_pad` (share of the log span) below the
/// smallest value: bars on a log axis need some, or the smallest is a sliver.
pub(crate) fn latency_axis_padded(
    what: &str,
    values_ns: &[f64],
    headroom: f64,
    floor_pad: f64,
    shared: Option<Unit>,
) -> Axis {
    let finite: Vec<f64> = values_ns
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let max = finite.iter().copied().fold(0.0, f64::max);
    let min_pos = finite
        .iter()
        .copied()
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    if max > 0.0 && min_pos.is_finite() && max / min_pos > LOG_SPREAD {
        // Pad below by `floor_pad` of the log span, and the headroom above.
        let (lo, hi) = (min_pos.log10(), max.log10());
        let span = hi - lo;
        let hi_padded = lo + span / (1.0 - headroom).max(0.1) + span * 0.04;
        Axis::log_in(
            &format!("{what} (log scale)"),
            10f64.powf(lo - span * floor_pad),
            10f64.powf(hi_padded),
            Quantity::Duration,
        )
    } else {
        // The shared unit, while it keeps the ticks between 1 and 9999.
        let unit = shared
            .filter(|u| (1.0..1e4).contains(&(max / u.per)))
            .unwrap_or_else(|| Quantity::Duration.unit_for(max));
        let top = if max > 0.0 { max } else { unit.per };
        Axis::linear_in(
            what,
            0.0,
            top / (1.0 - headroom).max(0.1) * 1.02,
            Quantity::Duration,
            unit,
        )
    }
}

/// Draws a chart's figure and packs it with its names.
pub(crate) fn finish(text: &ChartText, panels: Vec<Panel>) -> Chart {
    let fig = Figure {
        title: text.title.clone(),
        panels,
        footer: text.footer.clone(),
    };
    let (svg, png) = draw::render(&fig);
    Chart {
        file_stem: text.file_stem.clone(),
        title: text.title.clone(),
        svg,
        png,
        kind: ChartKind::default(),
        workload: None,
        op: None,
    }
}

/// The x axis of the spectrum: percentiles on the HdrHistogram scale,
/// x = log10(1 / (1 − p)), so 90 %, 99 %, 99.9 % … are equally spaced.
fn spectrum_x_axis(max_nines: f64) -> Axis {
    let named = [
        (0.0, "0%"),
        (2f64.log10(), "50%"),
        (1.0, "90%"),
        (2.0, "99%"),
        (3.0, "99.9%"),
        (4.0, "99.99%"),
        (5.0, "99.999%"),
        (6.0, "99.9999%"),
    ];
    let ticks = named
        .iter()
        .filter(|(x, _)| *x <= max_nines + 1e-9)
        .map(|(x, s)| (*x, s.to_string()))
        .collect();
    Axis::fixed("percentile", 0.0, max_nines + 0.05, ticks)
}

fn quantile_at(x: f64) -> f64 {
    1.0 - 10f64.powf(-x)
}

/// How far right a histogram's spectrum is meaningful: log10 of its count
/// (beyond it every percentile is the max).
fn nines_of(h: &Histogram<u64>) -> f64 {
    (h.len().max(1) as f64).log10()
}

/// Percentile spectrum of one op, one line per series.
pub fn percentile_spectrum(text: &ChartText, series: &[LatencySeries]) -> Chart {
    let with_data: Vec<&LatencySeries> = series.iter().filter(|s| !s.hist.is_empty()).collect();
    let max_nines = with_data
        .iter()
        .map(|s| nines_of(&s.hist).floor())
        .fold(4.0, f64::max)
        .min(6.0);
    let x = spectrum_x_axis(max_nines);
    if with_data.is_empty() {
        return finish(
            text,
            vec![Panel::empty(x, Axis::blank("latency"), "no data")],
        );
    }
    // Per series: (x, ns) on a fixed grid, up to where its data ends.
    const STEP: f64 = 0.025;
    let curves: Vec<Vec<(f64, f64)>> = with_data
        .iter()
        .map(|s| {
            // Even a handful of samples has a median: reach 50 % at least.
            let cap = nines_of(&s.hist).max(2f64.log10()).min(max_nines);
            let mut pts = Vec::new();
            let mut k = 0u32;
            while (k as f64) * STEP < cap - 1e-9 {
                let xk = k as f64 * STEP;
                pts.push((xk, s.hist.value_at_quantile(quantile_at(xk)) as f64));
                k += 1;
            }
            pts.push((cap, s.hist.value_at_quantile(quantile_at(cap)) as f64));
            pts
        })
        .collect();
    let values: Vec<f64> = curves.iter().flatten().map(|p| p.1).collect();
    let y = latency_axis_padded("latency", &values, 0.1, 0.2, text.latency_unit);
    let points = curves
        .iter()
        .map(|pts| pts.iter().map(|(px, v)| (*px, y.map(*v))).collect())
        .collect();
    finish(text, vec![lines_panel(x, y, &with_data, points)])
}

/// One line per series (points already in plot space), with a legend.
fn lines_panel(x: Axis, y: Axis, series: &[&LatencySeries], points: Vec<Vec<(f64, f64)>>) -> Panel {
    let lines = series
        .iter()
        .zip(points)
        .enumerate()
        .map(|(i, (s, pts))| Curve {
            label: s.label.clone(),
            color: draw::palette(i),
            segments: vec![pts],
            dots: false,
        })
        .collect();
    Panel {
        x,
        y,
        body: Body::Lines(lines),
        legend: true,
        vlines: Vec::new(),
        hlines: Vec::new(),
        bands: Vec::new(),
        note: None,
    }
}

/// CDF of one op's latency, one line per series.
pub fn latency_cdf(text: &ChartText, series: &[LatencySeries]) -> Chart {
    let with_data: Vec<&LatencySeries> = series.iter().filter(|s| !s.hist.is_empty()).collect();
    let mut y = Axis::linear("share of operations at or below (%)", 0.0, 100.0, 1.0);
    y.hi = 101.0; // keep the 100 % plateau off the frame
    if with_data.is_empty() {
        return finish(
            text,
            vec![Panel::empty(Axis::blank("latency"), y, "no data")],
        );
    }
    // Quantiles: a linear grid for the body, a log grid for the tail.
    let mut qs: Vec<f64> = (0..=200).map(|k| k as f64 / 200.0).collect();
    let mut t = 2.0;
    while t <= 6.0 + 1e-9 {
        qs.push(quantile_at(t));
        t += 0.1;
    }
    qs.sort_by(f64::total_cmp);
    qs.dedup();
    let curves: Vec<Vec<(f64, f64)>> = with_data
        .iter()
        .map(|s| {
            let mut pts: Vec<(f64, f64)> = qs
                .iter()
                .map(|q| (s.hist.value_at_quantile(*q) as f64, q * 100.0))
                .collect();
            pts.dedup();
            pts
        })
        .collect();
    let values: Vec<f64> = curves.iter().flatten().map(|p| p.0).collect();
    let x = latency_axis("latency", &values, 0.0, text.latency_unit);
    let points = curves
        .iter()
        .map(|pts| pts.iter().map(|(v, q)| (x.map(*v), *q)).collect())
        .collect();
    finish(text, vec![lines_panel(x, y, &with_data, points)])
}

/// Grouped bars of p50/p95/p99 per group — the median over the repeats,
/// whiskers from the smallest to the largest repeat — with the gate
/// threshold (ns) as a dashed line when there is one.
pub fn percentile_bars(
    text: &ChartText,
    groups: &[PercentileGroup],
    threshold_ns: Option<f64>,
) -> Chart {
    let threshold_ns = threshold_ns.filter(|t| t.is_finite() && *t > 0.0);
    let mut values: Vec<f64> = groups
        .iter()
        .flat_map(|g| g.spreads().map(|s| [s.median, s.min, s.max]))
        .flatten()
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    if values.is_empty() {
        let y = Axis::blank("latency");
        let mut p = Panel::bars(groups.iter().map(|g| g.label.clone()).collect(), y, vec![]);
        p.note = Some("no data".to_string());
        p.legend = false;
        return finish(text, vec![p]);
    }
    values.extend(threshold_ns);
    let y = latency_axis_padded("latency", &values, 0.1, 0.2, text.latency_unit);
    // Light to dark: the tail reads as the heaviest bar.
    let shades = [
        ("p50", plotters::style::RGBColor(150, 195, 225)),
        ("p95", plotters::style::RGBColor(50, 130, 190)),
        ("p99", plotters::style::RGBColor(10, 60, 130)),
    ];
    let series = shades
        .iter()
        .enumerate()
        .map(|(j, (name, color))| BarSeries {
            label: name.to_string(),
            color: *color,
            values: groups
                .iter()
                .map(|g| {
                    let v = g.spreads()[j].median;
                    (v.is_finite() && v >= 0.0).then(|| (y.map(v), y.format_value(v)))
                })
                .collect(),
            whiskers: groups
                .iter()
                .map(|g| {
                    let (lo, hi) = g.spreads()[j].range()?;
                    (lo.is_finite() && hi.is_finite() && lo >= 0.0).then(|| (y.map(lo), y.map(hi)))
                })
                .collect(),
            label_colors: Vec::new(),
        })
        .collect();
    let mut panel = Panel::bars(groups.iter().map(|g| g.label.clone()).collect(), y, series);
    if let Some(caption) = repeats_caption(groups) {
        panel = panel.with_whisker_label(&caption);
    }
    if let Some(t) = threshold_ns {
        panel.hlines.push(HLine {
            y: panel.y.map(t),
            label: format!("gate {}", panel.y.format_value(t)),
            color: draw::ALERT,
        });
    }
    finish(text, vec![panel])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_ticks_carry_their_unit() {
        let labels = |a: &Axis| a.ticks.iter().map(|t| t.1.clone()).collect::<Vec<_>>();
        let narrow = latency_axis("latency", &[1e6, 5e6], 0.0, None);
        assert!(!narrow.log && narrow.label == "latency", "{narrow:?}");
        assert_eq!(labels(&narrow)[..3], ["0", "1 ms", "2 ms"]);
        // Nanoseconds on a log axis: each tick in its own unit, none in
        // a unit it is a sliver of (no `1e-4`, no `0.001`).
        let wide = latency_axis("latency", &[300.0, 5e6], 0.0, None);
        assert!(wide.log && wide.label == "latency (log scale)", "{wide:?}");
        let wide_labels = labels(&wide);
        assert!(
            wide_labels.contains(&"1 µs".to_string()) && wide_labels.contains(&"1 ms".to_string()),
            "{wide:?}"
        );
        assert!(wide_labels
            .iter()
            .all(|t| [" ns", " µs", " ms"].iter().any(|u| t.ends_with(u))));
        // Small values: their own unit, whatever the shared one.
        let ms = Quantity::Duration.unit_for(2e6);
        let small = latency_axis("latency", &[2_000.0, 7_980.0], 0.0, Some(ms));
        assert!(labels(&small)
            .iter()
            .all(|t| t == "0" || t.ends_with(" µs")));
        assert_eq!(small.format_value(7_980.0), "7.98 µs");
        // The shared unit when the values suit it: 1500 µs beside µs bars.
        let us = Quantity::Duration.unit_for(5e3);
        let shared = latency_axis("latency", &[2e5, 1.5e6], 0.0, Some(us));
        assert!(labels(&shared)
            .iter()
            .all(|t| t == "0" || t.ends_with(" µs")));
        // Nothing to show still makes a usable axis.
        let none = latency_axis("latency", &[], 0.0, None);
        assert!(none.hi > none.lo);
        let zeros = latency_axis("latency", &[0.0, f64::NAN], 0.0, None);
        assert!(zeros.hi > zeros.lo && !zeros.log);
    }

    #[test]
    fn spectrum_ticks_are_the_nines() {
        let x = spectrum_x_axis(4.0);
        let labels: Vec<&str> = x.ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["0%", "50%", "90%", "99%", "99.9%", "99.99%"]);
        assert!((quantile_at(3.0) - 0.999).abs() < 1e-12);
    }
}
