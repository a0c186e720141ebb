//! Comparisons as result.json records them: one target against its
//! baseline (another target of the run, or the same target in an earlier
//! run), per op and metric, as a ratio with its interval and a verdict.
//! `analysis` computes them; this room only holds their shape.

use serde::{Deserialize, Serialize};

use super::CellResult;
use crate::scenario::units::{format_nanos, format_rate};

/// What is compared for each op; latencies are better lower, throughput
/// higher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Throughput,
    P50,
    P95,
    P99,
}

impl Metric {
    pub const ALL: [Metric; 4] = [Metric::Throughput, Metric::P50, Metric::P95, Metric::P99];

    pub fn name(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
            Metric::Throughput => "throughput",
        }
    }

    /// This metric of `op` in one cell (one repeat); None when the op never
    /// succeeded there.
    pub fn value(self, cell: &CellResult, op: &str) -> Option<f64> {
        let s = cell.ops.get(op)?;
        if s.count == 0 {
            return None;
        }
        Some(match self {
            Metric::P50 => s.p50_ns as f64,
            Metric::P95 => s.p95_ns as f64,
            Metric::P99 => s.p99_ns as f64,
            Metric::Throughput => s.ops_per_sec,
        })
    }

    pub fn higher_is_better(self) -> bool {
        self == Metric::Throughput
    }

    pub fn format(self, v: f64) -> String {
        match self {
            Metric::Throughput => format!("{}/s", format_rate(v)),
            _ => format_nanos(v.round().max(0.0) as u64),
        }
    }
}

/// What one comparison concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Better by more than `min_effect`, and significant after correction.
    Faster,
    /// Worse by more than `min_effect`, and significant after correction.
    Slower,
    /// The whole interval lies within ±`min_effect`.
    NoDifference,
    /// Neither: too few repeats, or an interval too wide to say.
    CannotTell,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Faster => "faster",
            Verdict::Slower => "slower",
            Verdict::NoDifference => "no difference",
            Verdict::CannotTell => "cannot tell",
        }
    }

    /// Faster or slower: a difference is claimed.
    pub fn claims_difference(self) -> bool {
        matches!(self, Verdict::Faster | Verdict::Slower)
    }
}

/// One metric of one op: `target` against `baseline`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub workload: String,
    pub op: String,
    pub metric: Metric,
    pub baseline: String,
    pub target: String,
    /// target / baseline of the metric's value (ratio of the geometric
    /// means of the per-repeat values): below 1 is faster for a latency,
    /// above 1 is faster for throughput. None when it cannot be estimated.
    pub ratio: Option<f64>,
    /// The ratio's 95 % confidence interval.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Welch's two-sided p-value, adjusted (Benjamini–Hochberg) over every
    /// comparison of the same report.
    pub p_value: Option<f64>,
    pub verdict: Verdict,
    /// The median of the per-repeat values, each side.
    pub baseline_value: f64,
    pub target_value: f64,
    /// Repeats on each side.
    pub n_baseline: usize,
    pub n_target: usize,
    /// The smallest change a verdict names (0.05 = 5 %).
    pub min_effect: f64,
    /// Why the verdict is what it is when that is not plain: "needs
    /// `repeat: ≥ 3`", "interval wider than the effect it names", noise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Comparison {
    /// How many times faster (> 1) the target is than the baseline by this
    /// metric, and that factor's interval, low to high; for a latency it is
    /// baseline / target.
    pub fn speedup(&self) -> Option<(f64, f64, f64)> {
        let (r, lo, hi) = (self.ratio?, self.ci_low?, self.ci_high?);
        Some(if self.metric.higher_is_better() {
            (r, lo, hi)
        } else {
            (1.0 / r, 1.0 / hi, 1.0 / lo)
        })
    }

    /// The ratio in words: "1.31× [1.22, 1.40] faster", "1.25× [1.10,
    /// 1.41] slower", or for no verdict the plain ratio target/baseline,
    /// "×1.01 [0.97, 1.04]"; "no ratio" when there is none.
    pub fn factor_text(&self) -> String {
        let Some((s, lo, hi)) = self.speedup() else {
            return "no ratio".into();
        };
        let f = format_factor;
        match self.verdict {
            Verdict::Faster => format!("{}× [{}, {}] faster", f(s), f(lo), f(hi)),
            Verdict::Slower => format!("{}× [{}, {}] slower", f(1.0 / s), f(1.0 / hi), f(1.0 / lo)),
            _ => format!(
                "×{} [{}, {}]",
                f(self.ratio.unwrap_or(f64::NAN)),
                f(self.ci_low.unwrap_or(f64::NAN)),
                f(self.ci_high.unwrap_or(f64::NAN))
            ),
        }
    }
}

/// A factor with two decimals, fewer once it is large: 1.31, 44.7, 446.
pub fn format_factor(x: f64) -> String {
    if x >= 99.95 {
        format!("{x:.0}")
    } else if x >= 9.995 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// How a run compares its targets: which target is each one's baseline,
/// and the smallest effect a verdict names. Recorded in result.json so
/// that `wpbench report` and `wpbench merge` compare as the run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareInfo {
    /// (baseline, target) pairs of target names, in scenario order.
    pub pairs: Vec<(String, String)>,
    /// The default in a result written before verdicts existed.
    #[serde(default = "default_min_effect")]
    pub min_effect: f64,
}

fn default_min_effect() -> f64 {
    crate::scenario::DEFAULT_MIN_EFFECT
}

impl Default for CompareInfo {
    fn default() -> Self {
        CompareInfo {
            pairs: Vec::new(),
            min_effect: default_min_effect(),
        }
    }
}

/// The spread of one target × workload across its repeats (and within
/// its cells), for the unit op.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Noise {
    pub target: String,
    pub workload: String,
    pub op: String,
    pub repeats: usize,
    /// Coefficient of variation (stdev / mean) of the per-repeat values;
    /// None with fewer than two repeats.
    pub throughput_cv: Option<f64>,
    pub p95_cv: Option<f64>,
    /// The median over the repeats of the CV of per-interval throughput
    /// within a cell; None when no cell has two full intervals.
    pub interval_cv: Option<f64>,
    /// What a reader should know: a CV above 10 %, a single repeat.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}
