//! Is a difference between two sets of per-repeat values real? The
//! Mann–Whitney U test (Wilcoxon rank-sum), two-sided: no assumption about
//! the distribution (latency percentiles are anything but normal), robust
//! to one wild repeat, and honest about how few repeats can prove.
//!
//! Small samples (up to [`EXACT_MAX`] values in all) get the exact
//! permutation distribution of U — ties included, so identical runs give
//! p = 1 — and larger ones the normal approximation with tie correction and
//! continuity correction.

/// Above this many values in all, the normal approximation is used.
pub const EXACT_MAX: usize = 20;

/// The result of one test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Test {
    /// Two-sided p-value.
    pub p: f64,
    /// The smallest p these sample sizes could ever give: with 3 repeats
    /// per side it is 0.10, so no difference can be significant at 0.05.
    pub min_p: f64,
    pub exact: bool,
}

/// Mann–Whitney U, two-sided, of `a` against `b`. `None` when either side
/// is empty or a value is not finite.
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<Test> {
    if a.is_empty() || b.is_empty() || a.iter().chain(b).any(|v| !v.is_finite()) {
        return None;
    }
    let ranks = midranks(a, b);
    let (n1, n2) = (a.len(), b.len());
    let u_of = |ranks_a: f64| ranks_a - (n1 * (n1 + 1)) as f64 / 2.0;
    let observed = u_of(ranks[..n1].iter().sum());
    let mean = (n1 * n2) as f64 / 2.0;
    let min_p = min_p(n1, n2);
    if n1 + n2 <= EXACT_MAX {
        // Every way of splitting the pooled ranks into groups of n1 and n2.
        let d_obs = (observed - mean).abs();
        let (mut extreme, mut total) = (0u64, 0u64);
        for_each_combination(n1 + n2, n1, &mut |chosen| {
            let sum: f64 = chosen.iter().map(|&i| ranks[i]).sum();
            total += 1;
            if (u_of(sum) - mean).abs() >= d_obs - 1e-9 {
                extreme += 1;
            }
        });
        return Some(Test {
            p: extreme as f64 / total as f64,
            min_p,
            exact: true,
        });
    }
    let n = (n1 + n2) as f64;
    let tie_term: f64 = tie_groups(&ranks)
        .into_iter()
        .map(|t| (t * t * t - t) as f64)
        .sum();
    let var = (n1 * n2) as f64 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    if var <= 0.0 {
        // Every value equal: no difference at all.
        return Some(Test {
            p: 1.0,
            min_p,
            exact: false,
        });
    }
    let z = ((observed - mean).abs() - 0.5).max(0.0) / var.sqrt();
    Some(Test {
        p: (2.0 * normal_sf(z)).min(1.0),
        min_p,
        exact: false,
    })
}

/// Ranks of the pooled values (a's first, then b's), ties sharing the mean
/// of their ranks.
fn midranks(a: &[f64], b: &[f64]) -> Vec<f64> {
    let pooled: Vec<f64> = a.iter().chain(b).copied().collect();
    let mut order: Vec<usize> = (0..pooled.len()).collect();
    order.sort_by(|&i, &j| pooled[i].total_cmp(&pooled[j]));
    let mut ranks = vec![0.0; pooled.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && pooled[order[j + 1]] == pooled[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    ranks
}

/// Sizes of the groups of tied ranks.
fn tie_groups(ranks: &[f64]) -> Vec<usize> {
    let mut sorted = ranks.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut groups = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let j = sorted[i..].iter().take_while(|r| **r == sorted[i]).count();
        groups.push(j);
        i += j;
    }
    groups
}

/// Two-sided p of the most extreme split: 2 / C(n1 + n2, n1), exactly or
/// (for large samples) as the normal approximation's smallest value.
fn min_p(n1: usize, n2: usize) -> f64 {
    let mut c = 1.0f64;
    for i in 0..n1 {
        c = c * (n2 + n1 - i) as f64 / (i + 1) as f64;
    }
    (2.0 / c).min(1.0)
}

/// Calls `f` with every k-subset of 0..n (as sorted indices).
fn for_each_combination(n: usize, k: usize, f: &mut dyn FnMut(&[usize])) {
    if k > n {
        return;
    }
    let mut idx: Vec<usize> = (0..k).collect();
    loop {
        f(&idx);
        // The rightmost index that can still move right.
        let Some(i) = (0..k).rev().find(|&i| idx[i] < n - k + i) else {
            return;
        };
        idx[i] += 1;
        for j in i + 1..k {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

/// P(Z > z) for a standard normal Z (Abramowitz–Stegun 7.1.26 erfc, error
/// below 1.5e-7, plenty for a p-value).
fn normal_sf(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    0.5 * poly * (-x * x).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-3
    }

    #[test]
    fn identical_samples_are_no_difference() {
        let a = [10.0, 11.0, 12.0, 13.0];
        let t = mann_whitney(&a, &a).unwrap();
        assert!(t.exact);
        assert!(t.p > 0.99, "{t:?}");
        let same = [5.0; 30];
        assert_eq!(mann_whitney(&same, &same).unwrap().p, 1.0);
    }

    #[test]
    fn separated_samples_reach_the_smallest_possible_p() {
        // Five repeats per side, completely separated: p = 2 / C(10, 5).
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [6.0, 7.0, 8.0, 9.0, 10.0];
        let t = mann_whitney(&a, &b).unwrap();
        assert!(close(t.p, 2.0 / 252.0), "{t:?}");
        assert!(close(t.min_p, 2.0 / 252.0));
        // Three per side can never get below 0.10.
        let t = mann_whitney(&a[..3], &b[..3]).unwrap();
        assert!(close(t.p, 0.1) && close(t.min_p, 0.1), "{t:?}");
    }

    #[test]
    fn exact_values_match_the_tables() {
        // U = 3 for n1 = n2 = 4: two-sided exact p = 0.200 (published tables).
        let a = [1.0, 2.0, 4.0, 6.0];
        let b = [3.0, 5.0, 7.0, 8.0];
        let t = mann_whitney(&a, &b).unwrap();
        assert!(close(t.p, 0.2), "{t:?}");
    }

    #[test]
    fn the_normal_approximation_agrees_for_large_samples() {
        // Reference values: scipy.stats.mannwhitneyu(a, b, method="asymptotic").
        let a: Vec<f64> = (0..40).map(f64::from).collect();
        let tied: Vec<f64> = (0..40).map(|i| f64::from(i) + 10.0).collect();
        let t = mann_whitney(&a, &tied).unwrap();
        assert!(!t.exact);
        assert!((t.p - 0.000_769_171).abs() < 1e-6, "{t:?}");
        let apart: Vec<f64> = (0..40).map(|i| f64::from(i) + 10.5).collect();
        let t = mann_whitney(&a, &apart).unwrap();
        assert!((t.p - 0.000_452_503).abs() < 1e-6, "{t:?}");
        assert!(close(normal_sf(1.959_964), 0.025));
        assert!(mann_whitney(&[], &a).is_none());
        assert!(mann_whitney(&[f64::NAN], &a).is_none());
    }

    #[test]
    fn combinations_are_all_visited() {
        let mut n = 0;
        for_each_combination(6, 3, &mut |c| {
            assert!(c.windows(2).all(|w| w[0] < w[1]));
            n += 1;
        });
        assert_eq!(n, 20);
        let mut one = 0;
        for_each_combination(1, 1, &mut |_| one += 1);
        assert_eq!(one, 1);
    }
}
