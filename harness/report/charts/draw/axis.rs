//! Axes in plot space: their ticks and labels, and the plotters
//! coordinate that draws exactly those ticks as grid lines. Apart from
//! the drawing so tick placement can be read (and tested) on its own.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

use super::units::{Quantity, Unit};

/// One axis in plot space.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// The axis title, with its unit ("latency (ms)").
    pub label: String,
    pub lo: f64,
    pub hi: f64,
    /// Labelled ticks (plot-space position, text).
    pub ticks: Vec<(f64, String)>,
    /// Unlabelled light grid lines.
    pub minor: Vec<f64>,
    /// Data value → plot space: divide by `scale`, then log10 when `log`.
    pub log: bool,
    pub scale: f64,
    /// What the values are: decides how ticks and value labels read.
    pub quantity: Quantity,
}

impl Axis {
    /// A fixed axis with given ticks (value = plot position, scale 1).
    pub fn fixed(label: &str, lo: f64, hi: f64, ticks: Vec<(f64, String)>) -> Axis {
        Axis {
            label: label.to_string(),
            lo,
            hi,
            ticks,
            minor: Vec::new(),
            log: false,
            scale: 1.0,
            quantity: Quantity::Number,
        }
    }

    /// An axis with a title and no ticks (for charts without data).
    pub fn blank(label: &str) -> Axis {
        Axis::fixed(label, 0.0, 1.0, Vec::new())
    }

    /// A linear axis over data values `lo..hi` shown divided by `scale`,
    /// with "nice" ticks.
    pub fn linear(label: &str, lo: f64, hi: f64, scale: f64) -> Axis {
        let (lo, hi) = sane_range(lo / scale, hi / scale);
        let step = nice_step((hi - lo) / 6.0);
        let decimals = decimals_for(step);
        let mut ticks = Vec::new();
        let mut k = (lo / step).ceil();
        while k * step <= hi + step * 1e-9 && ticks.len() < 50 {
            let v = k * step;
            ticks.push((v, format_tick(v, decimals)));
            k += 1.0;
        }
        Axis {
            label: label.to_string(),
            lo,
            hi,
            ticks,
            minor: Vec::new(),
            log: false,
            scale,
            quantity: Quantity::Number,
        }
    }

    /// A linear axis of `quantity` over data values `lo..hi` (base units),
    /// every tick in `unit`: `0`, `250 µs`, `500 µs` …
    /// Ticks that would need two decimals (`0.25 ms`) go one unit down
    /// (`250 µs`).
    pub fn linear_in(label: &str, lo: f64, hi: f64, quantity: Quantity, unit: Unit) -> Axis {
        let mut axis = Axis::linear(label, lo, hi, unit.per);
        let step = match axis.ticks.as_slice() {
            [a, b, ..] => b.0 - a.0,
            _ => 1.0,
        };
        if let Some(finer) = quantity.unit_below(unit) {
            if decimals_for(step) >= 2 && hi / finer.per < 1e5 {
                return Axis::linear_in(label, lo, hi, quantity, finer);
            }
        }
        for (v, text) in &mut axis.ticks {
            *text = if *v == 0.0 {
                "0".to_string()
            } else {
                match quantity {
                    Quantity::Number => text.clone(),
                    Quantity::Ratio => format!("{text}×"),
                    _ => format!("{text} {}", unit.name),
                }
            };
        }
        axis.quantity = quantity;
        axis
    }

    /// A log10 axis of `quantity` over positive data values `lo..hi` (base
    /// units), each tick in its own unit: `100 ns`, `10 µs`, `1 ms`.
    pub fn log_in(label: &str, lo: f64, hi: f64, quantity: Quantity) -> Axis {
        let mut axis = Axis::log(label, lo, hi, 1.0);
        for (p, text) in &mut axis.ticks {
            *text = quantity.format(10f64.powf(*p));
        }
        axis.quantity = quantity;
        axis
    }

    /// A log10 axis over positive data values `lo..hi` shown divided by
    /// `scale`: ticks at powers of ten, and at 2× and 5× when the range
    /// spans few decades.
    pub fn log(label: &str, lo: f64, hi: f64, scale: f64) -> Axis {
        let (lo, hi) = sane_range((lo / scale).log10(), (hi / scale).log10());
        let mut ticks = Vec::new();
        let mut minor = Vec::new();
        let first = lo.floor() as i32;
        let last = hi.ceil() as i32;
        let decades = (last - first).max(1);
        let majors: &[i32] = if decades <= 2 { &[1, 2, 5] } else { &[1] };
        // Over many decades: a label every few, grid lines at the others.
        let every = (decades + 7) / 8;
        for d in first..=last {
            for m in 1..10 {
                let p = (m as f64).log10() + d as f64;
                if p < lo - 1e-9 || p > hi + 1e-9 {
                    continue;
                }
                if majors.contains(&m) && (m != 1 || d.rem_euclid(every) == 0) {
                    ticks.push((p, log_tick(m, d)));
                } else if m == 1 || decades <= 6 {
                    minor.push(p);
                }
            }
        }
        if ticks.len() < 2 {
            // Less than a decade without a round number in it: label the minors.
            ticks = minor
                .iter()
                .map(|p| {
                    let d = p.floor() as i32;
                    let m = 10f64.powf(p - d as f64).round() as i32;
                    (*p, log_tick(m, d))
                })
                .collect();
            minor.clear();
        }
        Axis {
            label: label.to_string(),
            lo,
            hi,
            ticks,
            minor,
            log: true,
            scale,
            quantity: Quantity::Number,
        }
    }

    /// A data value as a label on this axis (a bar's value, a threshold):
    /// in its own unit, `7.98 µs`, or a plain number for a plain axis.
    pub fn format_value(&self, v: f64) -> String {
        match self.quantity {
            Quantity::Number => format_value(v / self.scale),
            q => q.format(v),
        }
    }

    /// Data value → plot position, clamped into the axis (values a log
    /// axis cannot show, ≤ 0, sit on its floor).
    pub fn map(&self, v: f64) -> f64 {
        let u = v / self.scale;
        let p = if self.log {
            if u > 0.0 {
                u.log10()
            } else {
                self.lo
            }
        } else {
            u
        };
        if p.is_finite() {
            p.clamp(self.lo, self.hi)
        } else {
            self.lo
        }
    }

    /// Where bars start: zero on a linear axis, the floor on a log one.
    pub fn base(&self) -> f64 {
        if self.log {
            self.lo
        } else {
            0f64.clamp(self.lo, self.hi)
        }
    }

    pub(super) fn tick_label(&self, v: f64) -> String {
        let tol = (self.hi - self.lo).abs() * 1e-6;
        self.ticks
            .iter()
            .find(|(p, _)| (p - v).abs() <= tol)
            .map(|(_, s)| s.clone())
            .unwrap_or_default()
    }
}

/// A finite, non-empty range.
fn sane_range(lo: f64, hi: f64) -> (f64, f64) {
    let lo = if lo.is_finite() { lo } else { 0.0 };
    let hi = if hi.is_finite() { hi } else { lo + 1.0 };
    if hi > lo {
        (lo, hi)
    } else if lo == 0.0 {
        (0.0, 1.0)
    } else {
        (lo - lo.abs() * 0.1, lo + lo.abs() * 0.1)
    }
}

/// 1, 2, 2.5 or 5 × 10^k, the smallest not below `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * mag >= raw * (1.0 - 1e-9) {
            return m * mag;
        }
    }
    10.0 * mag
}

/// Decimals that tell apart ticks `step` apart.
fn decimals_for(step: f64) -> usize {
    if step >= 1.0 || step <= 0.0 || !step.is_finite() {
        0
    } else {
        let d = (-step.log10()).ceil() as usize;
        // 0.25 needs two decimals, not one.
        if ((step * 10f64.powi(d as i32)).round() - step * 10f64.powi(d as i32)).abs() > 1e-6 {
            d + 1
        } else {
            d
        }
        .min(9)
    }
}

/// The label of m × 10^d: plain from 0.001 to 10000, else "5e-9".
fn log_tick(m: i32, d: i32) -> String {
    if (-3..5).contains(&d) {
        let v = m as f64 * 10f64.powi(d);
        format_tick(v, (-d).max(0) as usize)
    } else {
        format!("{m}e{d}")
    }
}

fn format_tick(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s.trim_start_matches(['-', '0', '.']).is_empty() {
        s[1..].to_string()
    } else {
        s
    }
}

/// A value for a label: three significant digits, no trailing zeros.
pub fn format_value(v: f64) -> String {
    if !v.is_finite() {
        return "-".to_string();
    }
    let a = v.abs();
    if a > 0.0 && a < 1e-3 {
        let s = format!("{v:.2e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        return format!("{mantissa}e{exp}");
    }
    let decimals = if a >= 100.0 || a == 0.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        ((-a.log10()).floor() as usize + 3).min(9)
    };
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A linear plotters coordinate whose grid lines are exactly the axis's
/// ticks (bold) and minor positions (light). plotters' own `with_key_points`
/// loses the default label formatting that `configure_mesh` needs.
pub(super) struct Ticked {
    lo: f64,
    hi: f64,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl Ticked {
    pub(super) fn of(axis: &Axis) -> Ticked {
        Ticked {
            lo: axis.lo,
            hi: axis.hi,
            bold: axis.ticks.iter().map(|t| t.0).collect(),
            light: axis.minor.clone(),
        }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let t = (v - self.lo) / (self.hi - self.lo);
        let t = if t.is_finite() {
            t.clamp(-1.0, 2.0)
        } else {
            0.5
        };
        (limit.0 as f64 + t * (limit.1 - limit.0) as f64).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps_and_labels() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.7), 2.0);
        assert_eq!(nice_step(2.2), 2.5);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(0.0), 1.0);
        assert_eq!(decimals_for(0.25), 2);
        assert_eq!(decimals_for(0.5), 1);
        assert_eq!(decimals_for(5.0), 0);
        assert_eq!(format_value(1234.6), "1235");
        assert_eq!(format_value(12.34), "12.3");
        assert_eq!(format_value(2.0), "2");
        assert_eq!(format_value(0.01234), "0.0123");
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(0.000000005), "5e-9");
        assert_eq!(format_value(0.000123456), "1.23e-4");
    }

    #[test]
    fn ticks_carry_units_and_never_need_two_decimals() {
        let labels = |a: &Axis| a.ticks.iter().map(|t| t.1.clone()).collect::<Vec<_>>();
        let ms = Quantity::Duration.unit_for(1.3e6);
        // 0–1.3 ms would tick at 0.25 ms: one unit down instead.
        let a = Axis::linear_in("latency", 0.0, 1.3e6, Quantity::Duration, ms);
        assert_eq!(
            labels(&a),
            ["0", "250 µs", "500 µs", "750 µs", "1000 µs", "1250 µs"]
        );
        assert_eq!(a.map(5e5), 500.0);
        let b = Axis::linear_in("latency", 0.0, 2.2e6, Quantity::Duration, ms);
        assert_eq!(labels(&b)[..3], ["0", "0.5 ms", "1.0 ms"]);
        let r = Axis::linear_in(
            "x",
            0.0,
            1.3,
            Quantity::Ratio,
            Quantity::Ratio.unit_for(1.3),
        );
        assert_eq!(labels(&r)[1], "0.25×", "a factor has no smaller unit");
        let l = Axis::log_in("latency", 150.0, 2e6, Quantity::Duration);
        assert_eq!(labels(&l), ["1 µs", "10 µs", "100 µs", "1 ms"]);
        assert_eq!(l.format_value(7_980.0), "7.98 µs");
    }

    #[test]
    fn axes_tick_and_map() {
        let a = Axis::linear("x", 0.0, 10.0, 1.0);
        assert_eq!(a.ticks.first().unwrap().1, "0");
        assert_eq!(a.ticks.last().unwrap().1, "10");
        assert_eq!(a.map(20.0), 10.0);
        assert_eq!(a.map(f64::NAN), 0.0);

        let l = Axis::log("y", 1e3, 1e7, 1e3);
        let labels: Vec<&str> = l.ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["1", "10", "100", "1000", "10000"]);
        assert_eq!(l.map(1e5), 2.0);
        assert_eq!(l.map(0.0), l.lo);
        assert_eq!(l.base(), l.lo);

        // Many decades: compact labels, a few of them.
        let huge = Axis::log("y", 5.0, 1e12, 1.0);
        assert!(huge.ticks.len() <= 9, "{:?}", huge.ticks);
        assert!(huge.ticks.iter().any(|t| t.1 == "1e6"), "{:?}", huge.ticks);
        assert_eq!(log_tick(5, -9), "5e-9");
        assert_eq!(log_tick(2, -2), "0.02");
        assert_eq!(log_tick(1, 4), "10000");
        // Less than a decade still gets labelled ticks.
        let short = Axis::log("y", 3.0, 8.0, 1.0);
        assert!(short.ticks.len() >= 2, "{:?}", short.ticks);
        // A degenerate range becomes a usable one.
        let flat = Axis::linear("y", 5.0, 5.0, 1.0);
        assert!(flat.hi > flat.lo);
    }
}
