//! From histograms to the numbers in result.json (pure).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use super::OpStats;
use crate::record::encode_histogram;

/// The median of `values` (the mean of the middle two for an even count);
/// NaN when there are none. Repeats and nodes are summarized by it.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// A figure over the repeats of one cell (target × workload): the
/// **median of the per-repeat values**, with their smallest and largest.
/// This is the one statistic a gate judges and every per-target bar and
/// table shows, so a chart never disagrees with the verdict beside it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// [`median`] of the values: what a gate compares with its limit.
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// How many repeats had the figure.
    pub n: usize,
}

impl Spread {
    /// The min–max range, when there is one to show (more than one repeat).
    pub fn range(&self) -> Option<(f64, f64)> {
        (self.n > 1).then_some((self.min, self.max))
    }
}

/// The median of per-repeat `values`, with their min and max; None when
/// there are none. NaN values are left out.
pub fn over_repeats(values: &[f64]) -> Option<Spread> {
    let v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    let (min, max) = v
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(*x), b.max(*x))
        });
    Some(Spread {
        median: median(&v),
        min,
        max,
        n: v.len(),
    })
}

/// Statistics of one op over a phase of `duration_s` seconds. `hist` is
/// None when the op never succeeded (only errors).
pub fn op_stats(
    hist: Option<&Histogram<u64>>,
    errors: BTreeMap<String, u64>,
    duration_s: f64,
) -> OpStats {
    let Some(h) = hist.filter(|h| !h.is_empty()) else {
        return OpStats {
            errors,
            ..OpStats::default()
        };
    };
    OpStats {
        count: h.len(),
        ops_per_sec: if duration_s > 0.0 {
            h.len() as f64 / duration_s
        } else {
            0.0
        },
        errors,
        mean_ns: h.mean(),
        stdev_ns: h.stdev(),
        min_ns: h.min(),
        p50_ns: h.value_at_quantile(0.50),
        p90_ns: h.value_at_quantile(0.90),
        p95_ns: h.value_at_quantile(0.95),
        p99_ns: h.value_at_quantile(0.99),
        p999_ns: h.value_at_quantile(0.999),
        max_ns: h.max(),
        histogram: encode_histogram(h),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{decode_histogram, new_histogram};

    #[test]
    fn percentiles_and_rates() {
        let mut h = new_histogram();
        for v in 1..=1000u64 {
            h.record(v * 1000).unwrap();
        }
        let s = op_stats(Some(&h), BTreeMap::new(), 2.0);
        assert_eq!(s.count, 1000);
        assert_eq!(s.ops_per_sec, 500.0);
        assert!(h.equivalent(s.p50_ns, 500_000));
        assert!(h.equivalent(s.p99_ns, 990_000));
        assert!(h.equivalent(s.max_ns, 1_000_000));
        assert_eq!(decode_histogram(&s.histogram).unwrap(), h);
    }

    #[test]
    fn over_repeats_is_the_median_with_the_range() {
        let s = over_repeats(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (2.0, 1.0, 3.0, 3));
        assert_eq!(s.range(), Some((1.0, 3.0)));
        let even = over_repeats(&[4.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!(even.median, 3.0);
        let one = over_repeats(&[5.0]).unwrap();
        assert_eq!((one.median, one.range()), (5.0, None));
        assert_eq!(over_repeats(&[]), None);
        assert_eq!(over_repeats(&[f64::NAN]), None);
    }

    #[test]
    fn errors_only() {
        let errors = BTreeMap::from([("ENOSPC".to_string(), 3)]);
        let s = op_stats(None, errors.clone(), 1.0);
        assert_eq!((s.count, s.errors), (0, errors));
        assert!(s.histogram.is_empty());
    }
}
