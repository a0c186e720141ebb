//! The comparison chart, the one a reviewer pastes: per workload, each
//! target's unit-op throughput and p95 as a ratio to its baseline, with the
//! 95 % interval as whiskers, a line at 1× (no change), the ±`min_effect`
//! band too small to name shaded, and the verdict written on each bar.
//! Ratios are target ÷ baseline on a log axis, so 2× and ½× are equally
//! far from 1×: throughput above 1× is faster, p95 above 1× is slower.

use plotters::style::RGBColor;

use super::draw::{self, Axis, Band, BarSeries, HLine, Panel, Quantity};
use super::latency::finish;
use super::{Chart, ChartText};
use crate::result::comparison::{format_factor, Comparison, Verdict};

/// One bar: a ratio target ÷ baseline with its interval and verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct RatioBar {
    pub ratio: f64,
    /// The 95 % interval of the ratio.
    pub ci: Option<(f64, f64)>,
    pub verdict: Verdict,
    /// The verdict in words: `34.6× slower`, `no difference`, `cannot tell`.
    pub words: String,
}

impl RatioBar {
    /// The bar of one comparison; None when it has no ratio.
    pub fn of(c: &Comparison) -> Option<RatioBar> {
        let ratio = c.ratio.filter(|r| r.is_finite() && *r > 0.0)?;
        let ci = c
            .ci_low
            .zip(c.ci_high)
            .filter(|(lo, hi)| lo.is_finite() && hi.is_finite() && *lo > 0.0 && lo <= hi);
        let words = match (c.verdict, c.speedup()) {
            (Verdict::Faster, Some((s, _, _))) => format!("{}× faster", format_factor(s)),
            (Verdict::Slower, Some((s, _, _))) => format!("{}× slower", format_factor(1.0 / s)),
            (v, _) => v.as_str().to_string(),
        };
        Some(RatioBar {
            ratio,
            ci,
            verdict: c.verdict,
            words,
        })
    }
}

/// One group of bars: a target (against its baseline).
#[derive(Debug, Clone, PartialEq)]
pub struct RatioGroup {
    pub label: String,
    pub throughput: Option<RatioBar>,
    pub p95: Option<RatioBar>,
}

const FASTER: RGBColor = RGBColor(0, 125, 60);

fn verdict_color(v: Verdict) -> RGBColor {
    match v {
        Verdict::Faster => FASTER,
        Verdict::Slower => draw::ALERT,
        _ => draw::NEUTRAL,
    }
}

/// The ratio axis: log, symmetric enough around 1× to show ½× and 2×,
/// with room past the longest bar for its words.
fn ratio_axis(baseline: &str, values: &[f64], min_effect: f64) -> Axis {
    let band = 1.0 + min_effect.max(0.0);
    let (lo, hi) = values
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((1.0 / band, band), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = (lo.min(0.5).log10(), hi.max(2.0).log10());
    // A tenth of the span beyond each end, for the words on the bars.
    let pad = (hi - lo) * 0.12;
    Axis::log_in(
        &format!("target ÷ {baseline} (log scale)"),
        10f64.powf(lo - pad),
        10f64.powf(hi + pad),
        Quantity::Ratio,
    )
}

/// The comparison chart of one workload: per group, its unit op's
/// throughput and p95 ratios. `baseline` names the axis (`target ÷ tmpfs`,
/// or `target ÷ baseline` when groups have different ones).
pub fn comparison_chart(
    text: &ChartText,
    unit_op: &str,
    baseline: &str,
    groups: &[RatioGroup],
    min_effect: f64,
) -> Chart {
    let bars = |g: &RatioGroup| [g.throughput.clone(), g.p95.clone()];
    let values: Vec<f64> = groups
        .iter()
        .flat_map(bars)
        .flatten()
        .flat_map(|b| [Some(b.ratio), b.ci.map(|c| c.0), b.ci.map(|c| c.1)])
        .flatten()
        .collect();
    let y = ratio_axis(baseline, &values, min_effect);
    let labels: Vec<String> = groups.iter().map(|g| g.label.clone()).collect();
    if values.is_empty() {
        let mut p = Panel::bars(labels, y, Vec::new());
        p.note = Some("no ratios: too few repeats to compare".to_string());
        p.legend = false;
        return finish(text, vec![p]);
    }
    let series = [
        (
            format!("{unit_op} throughput (above 1× is faster)"),
            draw::palette(0),
        ),
        (
            format!("{unit_op} p95 latency (above 1× is slower)"),
            draw::palette(1),
        ),
    ]
    .into_iter()
    .enumerate()
    .map(|(j, (label, color))| {
        let pick = |g: &RatioGroup| bars(g)[j].clone();
        BarSeries {
            label,
            color,
            values: groups
                .iter()
                .map(|g| pick(g).map(|b| (y.map(b.ratio), b.words)))
                .collect(),
            whiskers: groups
                .iter()
                .map(|g| pick(g)?.ci.map(|(lo, hi)| (y.map(lo), y.map(hi))))
                .collect(),
            label_colors: groups
                .iter()
                .map(|g| pick(g).map(|b| verdict_color(b.verdict)))
                .collect(),
        }
    })
    .collect();
    let one = y.map(1.0);
    let band = 1.0 + min_effect.max(0.0);
    let mut panel = Panel::bars(labels, y.clone(), series)
        .with_origin(one)
        .with_whisker_label("95 % interval");
    panel.bands.push(Band {
        lo: y.map(1.0 / band),
        hi: y.map(band),
        label: format!(
            "within ±{} %: too small to name",
            draw::format_value(min_effect * 100.0)
        ),
        color: RGBColor(226, 226, 226),
    });
    panel.hlines.push(HLine {
        y: one,
        label: format!("1× = same as {baseline}"),
        color: draw::NEUTRAL,
    });
    finish(text, vec![panel])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::comparison::Metric;

    fn comparison(metric: Metric, ratio: f64, ci: (f64, f64), verdict: Verdict) -> Comparison {
        crate::report::fixtures::comparison(
            ("wal", "record"),
            ("ext4", "tmpfs"),
            metric,
            (ratio, ci.0, ci.1),
            verdict,
        )
    }

    #[test]
    fn bars_say_their_verdict_in_words() {
        let slower = comparison(Metric::Throughput, 0.25, (0.2, 0.3), Verdict::Slower);
        assert_eq!(RatioBar::of(&slower).unwrap().words, "4.00× slower");
        let slower_p95 = comparison(Metric::P95, 17.6, (5.7, 54.6), Verdict::Slower);
        assert_eq!(RatioBar::of(&slower_p95).unwrap().words, "17.6× slower");
        let faster_p95 = comparison(Metric::P95, 0.5, (0.45, 0.55), Verdict::Faster);
        assert_eq!(RatioBar::of(&faster_p95).unwrap().words, "2.00× faster");
        let same = comparison(Metric::P95, 1.01, (0.98, 1.03), Verdict::NoDifference);
        assert_eq!(RatioBar::of(&same).unwrap().words, "no difference");
        let unsure = comparison(Metric::P95, 1.4, (0.7, 2.7), Verdict::CannotTell);
        assert_eq!(RatioBar::of(&unsure).unwrap().words, "cannot tell");
        let none = Comparison {
            ratio: None,
            ..same
        };
        assert_eq!(RatioBar::of(&none), None);
    }

    #[test]
    fn the_axis_reads_in_factors_and_keeps_the_band_in_view() {
        let y = ratio_axis("tmpfs", &[0.029, 17.6], 0.05);
        let labels: Vec<&str> = y.ticks.iter().map(|t| t.1.as_str()).collect();
        assert!(
            labels.contains(&"1×") && labels.contains(&"10×"),
            "{labels:?}"
        );
        assert!(labels.contains(&"0.1×"), "{labels:?}");
        assert!(labels.iter().all(|l| l.ends_with('×')), "{labels:?}");
        // Nothing beyond the band: still ½× to 2×, so the band is a band.
        let flat = ratio_axis("tmpfs", &[1.01], 0.05);
        assert!(flat.map(0.5) > flat.lo && flat.map(2.0) < flat.hi);
        assert!(flat.ticks.len() >= 3, "{:?}", flat.ticks);
    }
}
