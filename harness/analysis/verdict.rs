//! Verdicts a user can trust: "B is 1.31× [1.22, 1.40] faster than A",
//! "no difference within ±5 %", or "cannot tell", from per-repeat values.
//!
//! The method, chosen for few repeats of a noisy machine:
//!
//! - **Per-repeat values, on the log scale.** Each repeat of a cell gives
//!   one value of a metric (its p95, its throughput …). Timing noise is
//!   multiplicative and users quote ratios, so values are compared as
//!   logarithms: the ratio is that of the geometric means, and its 95 %
//!   confidence interval is Welch's t interval of the difference of the
//!   log means, exponentiated. Welch's test gives the p-value; it does not
//!   assume equal variances (a tmpfs and an ext4 are anything but).
//! - **Many metrics at once.** A report compares several metrics and
//!   ops, and a run several targets; the p-values of one report are
//!   adjusted together with Benjamini–Hochberg's step-up method. When no
//!   difference is real (an A/A test) it holds the chance of *any* false
//!   claim at α, like Holm's; when some are real it keeps the power to
//!   find the others, which Holm's spends on the count of metrics.
//! - **An effect worth naming.** A significant difference smaller than
//!   `min_effect` (default 5 %) is not a verdict: a machine's noise floor
//!   makes tiny differences "significant" given enough repeats, and nobody
//!   tunes a mount option for 1 %.
//! - **Saying "no difference" is a claim too.** It is made only when the
//!   whole interval lies within ±`min_effect` (equivalence at the same
//!   confidence); otherwise, with nothing significant, the verdict is
//!   "cannot tell" and says why (too few repeats, an interval wider than
//!   the effect).
//!
//! With fewer than two repeats on a side there is no spread to build an
//! interval from: the verdict is "cannot tell", asking for `repeat: ≥ 3`.

/// Confidence of every interval, and the family-wise significance level.
pub const CONFIDENCE: f64 = 0.95;
pub use crate::scenario::DEFAULT_MIN_EFFECT;

pub use crate::result::Verdict;

/// The ratio new/base of one metric, with its interval and test, before
/// correction for the other comparisons of the report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Ratio of the geometric means, new / base.
    pub ratio: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Welch's two-sided p-value, unadjusted.
    pub p: f64,
    pub n_base: usize,
    pub n_new: usize,
}

/// The ratio of `new` to `base` (per-repeat values, all > 0) with its
/// [`CONFIDENCE`] interval. `None` when a side has fewer than two values
/// or a value is not a positive finite number (a zero throughput has no
/// logarithm: no ratio can be told of it).
pub fn estimate(base: &[f64], new: &[f64]) -> Option<Estimate> {
    let ok = |v: &[f64]| v.len() >= 2 && v.iter().all(|x| x.is_finite() && *x > 0.0);
    if !ok(base) || !ok(new) {
        return None;
    }
    let (mb, vb) = mean_var(base.iter().map(|x| x.ln()));
    let (mn, vn) = mean_var(new.iter().map(|x| x.ln()));
    let (nb, nn) = (base.len() as f64, new.len() as f64);
    let diff = mn - mb;
    let se2 = vb / nb + vn / nn;
    let (p, half) = if se2 <= 0.0 {
        // No spread on either side: the values are what they are.
        (if diff == 0.0 { 1.0 } else { 0.0 }, 0.0)
    } else {
        let se = se2.sqrt();
        // Welch–Satterthwaite degrees of freedom.
        let df = se2 * se2 / ((vb / nb).powi(2) / (nb - 1.0) + (vn / nn).powi(2) / (nn - 1.0));
        (
            t_two_sided_p(diff / se, df),
            t_critical(1.0 - CONFIDENCE, df) * se,
        )
    };
    Some(Estimate {
        ratio: diff.exp(),
        ci_low: (diff - half).exp(),
        ci_high: (diff + half).exp(),
        p,
        n_base: base.len(),
        n_new: new.len(),
    })
}

/// Benjamini–Hochberg's step-up adjustment of `p`: each adjusted value,
/// in the input order, to be compared with α. Monotone in `p`, never
/// below its input, never above 1.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 1.0;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m as f64 / (rank + 1) as f64);
        adjusted[i] = running.min(1.0);
    }
    adjusted
}

/// One comparison to judge: each side's per-repeat values.
#[derive(Debug, Clone, Copy)]
pub struct Sides<'a> {
    pub base: &'a [f64],
    pub new: &'a [f64],
    /// Throughput (a ratio above 1 is faster) rather than latency.
    pub higher_is_better: bool,
}

/// A comparison judged with the others of its report.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub estimate: Option<Estimate>,
    /// The p-value after adjustment over the report.
    pub p_adjusted: Option<f64>,
    pub verdict: Verdict,
    /// Why a verdict is weaker than it looks, or why there is none.
    pub warnings: Vec<String>,
}

/// Judges every comparison of one report together: estimates, the
/// p-values adjusted over all of them, verdicts at `min_effect`.
pub fn judge_all(all: &[Sides], min_effect: f64) -> Vec<Judged> {
    let estimates: Vec<Option<Estimate>> = all.iter().map(|s| estimate(s.base, s.new)).collect();
    let raw: Vec<f64> = estimates.iter().flatten().map(|e| e.p).collect();
    let mut adjusted = benjamini_hochberg(&raw).into_iter();
    all.iter()
        .zip(estimates)
        .map(|(sides, e)| {
            let Some(e) = e else {
                return Judged {
                    estimate: None,
                    p_adjusted: None,
                    verdict: Verdict::CannotTell,
                    warnings: vec![why_no_estimate(sides)],
                };
            };
            let p = adjusted.next().unwrap_or(1.0);
            let verdict = judge(&e, p, min_effect, sides.higher_is_better);
            Judged {
                estimate: Some(e),
                p_adjusted: Some(p),
                verdict,
                warnings: caveats(&e, verdict, min_effect),
            }
        })
        .collect()
}

/// Why a pair of samples has no ratio.
fn why_no_estimate(s: &Sides) -> String {
    match s.base.len().min(s.new.len()) {
        0 => "one side has no repeat where the op succeeded".to_string(),
        1 => "1 repeat: no spread to build an interval from; a verdict needs `repeat: ≥ 3`"
            .to_string(),
        _ => "a value of zero (or not a number) has no ratio".to_string(),
    }
}

/// What a reader should know about a verdict beyond its word.
fn caveats(e: &Estimate, verdict: Verdict, min_effect: f64) -> Vec<String> {
    let mut w = Vec::new();
    let effect = e.ratio.max(1.0 / e.ratio) - 1.0;
    let width = e.ci_high / e.ci_low - 1.0;
    match verdict {
        Verdict::Faster | Verdict::Slower if width > effect => w.push(format!(
            "the interval ({:.0} % wide) is wider than the effect it names ({:.0} %)",
            width * 100.0,
            effect * 100.0
        )),
        Verdict::CannotTell => w.push(format!(
            "the interval [{:.2}, {:.2}] reaches beyond ±{:.0} %; more repeats narrow it",
            e.ci_low,
            e.ci_high,
            min_effect * 100.0
        )),
        _ => {}
    }
    if e.n_base.min(e.n_new) < 3 {
        w.push("fewer than 3 repeats: the interval is wide; use `repeat: ≥ 3`".into());
    }
    w
}

/// The verdict on one estimate whose p-value was adjusted to `p_adjusted`.
/// `higher_is_better`: throughput (a ratio above 1 is faster) rather than
/// latency (below 1 is faster).
pub fn judge(e: &Estimate, p_adjusted: f64, min_effect: f64, higher_is_better: bool) -> Verdict {
    let bound = 1.0 + min_effect;
    let beyond = e.ratio > bound || e.ratio < 1.0 / bound;
    if p_adjusted < 1.0 - CONFIDENCE && beyond {
        return if (e.ratio > 1.0) == higher_is_better {
            Verdict::Faster
        } else {
            Verdict::Slower
        };
    }
    if e.ci_low >= 1.0 / bound && e.ci_high <= bound {
        return Verdict::NoDifference;
    }
    Verdict::CannotTell
}

/// Mean and unbiased variance.
fn mean_var(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = values.clone().count() as f64;
    let mean = values.clone().sum::<f64>() / n;
    let var = values.map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

/// Two-sided p-value of Student's t with `df` degrees of freedom:
/// P(|T| ≥ |t|) = I_{df/(df+t²)}(df/2, 1/2).
fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return 0.0;
    }
    regularized_beta(df / (df + t * t), df / 2.0, 0.5)
}

/// The t such that P(|T| ≥ t) = `alpha`, by bisection (the p-value falls
/// monotonically in t).
fn t_critical(alpha: f64, df: f64) -> f64 {
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while t_two_sided_p(hi, df) > alpha {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_two_sided_p(mid, df) > alpha {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The regularized incomplete beta function I_x(a, b), by its continued
/// fraction (Numerical Recipes §6.4), using the symmetry relation where the
/// fraction converges slowly.
fn regularized_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_fraction(1.0 - x, b, a) / b
    }
}

/// The continued fraction of the incomplete beta function (modified Lentz).
fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: ~15 significant digits).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        return std::f64::consts::PI.ln()
            - (std::f64::consts::PI * x).sin().ln()
            - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let series = G[1..]
        .iter()
        .enumerate()
        .fold(G[0], |acc, (i, g)| acc + g / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

#[cfg(test)]
mod tests;
