//! A per-thread latency histogram cut down to what the hot path needs: one
//! bucket index computation and one increment.
//!
//! The buckets are HdrHistogram's own (lowest 1 ns, highest HIST_MAX_NS,
//! 3 significant digits: 2048 sub-buckets per power of two), laid out as
//! HdrHistogram lays out its counts, so turning a `Counts` into a
//! `Histogram` at the end of an interval loses nothing: every count lands
//! in the bucket it would have landed in had it been recorded directly.
//! `hdrhistogram::Histogram::record` also keeps min, max and a total on
//! every call and returns a `Result`; here those are left to the one
//! conversion per interval.

use hdrhistogram::Histogram;

use super::{new_histogram, HIST_MAX_NS};

/// log2 of half the sub-bucket count (1024 for 3 significant digits).
const HALF_MAGNITUDE: u32 = 10;
const HALF_COUNT: usize = 1 << HALF_MAGNITUDE;
const SUB_BUCKET_MASK: u64 = (2 << HALF_MAGNITUDE) - 1;
/// 64 − unit magnitude (0) − half magnitude − 1.
const LEADING_ZERO_BASE: u32 = 64 - HALF_MAGNITUDE - 1;

/// Index of the counts slot that holds `value` (const: it also sizes the
/// array).
#[inline(always)]
const fn index_of(value: u64) -> usize {
    let bucket = LEADING_ZERO_BASE - (value | SUB_BUCKET_MASK).leading_zeros();
    let sub_bucket = (value >> bucket) as usize;
    ((bucket as usize + 1) << HALF_MAGNITUDE) + sub_bucket - HALF_COUNT
}

/// The lowest value that lands in slot `index`.
fn value_of(index: usize) -> u64 {
    let bucket = (index >> HALF_MAGNITUDE) as i64 - 1;
    let sub_bucket = (index & (HALF_COUNT - 1)) + HALF_COUNT;
    if bucket < 0 {
        (sub_bucket - HALF_COUNT) as u64
    } else {
        (sub_bucket as u64) << bucket
    }
}

/// Slots needed to hold values up to HIST_MAX_NS.
const LEN: usize = index_of(HIST_MAX_NS) + 1;

/// Counts per HdrHistogram bucket for one op in one interval.
pub struct Counts {
    slots: Box<[u64]>,
}

impl Default for Counts {
    fn default() -> Self {
        Counts {
            slots: vec![0; LEN].into_boxed_slice(),
        }
    }
}

impl Counts {
    /// Counts one value in 1..=HIST_MAX_NS (the caller clamps). Nothing
    /// else is kept per call: the conversion scans every slot once per
    /// interval (33k slots, ~15 µs), which is cheaper than tracking the
    /// used range on every op.
    #[inline(always)]
    pub fn record(&mut self, value: u64) {
        self.slots[index_of(value)] += 1;
    }

    /// The counts as a `Histogram`, or `None` when there were none;
    /// empties `self` for reuse.
    pub fn drain_into_histogram(&mut self) -> Option<Histogram<u64>> {
        let mut h: Option<Histogram<u64>> = None;
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let n = std::mem::take(slot);
            if n > 0 {
                // Cannot fail: the value is within the histogram's bounds.
                let _ = h.get_or_insert_with(new_histogram).record_n(value_of(i), n);
            }
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_hdrhistograms() {
        let h = new_histogram();
        // HdrHistogram rounds its array up to whole buckets; ours stops at the cap.
        assert!(LEN <= h.distinct_values());
        for v in [
            1u64,
            2,
            1023,
            1024,
            2047,
            2048,
            2049,
            4095,
            4096,
            123_456_789,
        ] {
            let i = index_of(v);
            assert!(
                value_of(i) <= v && h.lowest_equivalent(v) == value_of(i),
                "{v}"
            );
            assert!(index_of(h.highest_equivalent(v)) == i, "{v}");
        }
        assert_eq!(index_of(HIST_MAX_NS), LEN - 1);
    }

    #[test]
    fn converted_counts_equal_direct_recording() {
        let mut counts = Counts::default();
        let mut direct = new_histogram();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            // xorshift: values spread over every magnitude up to an hour.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = (x >> (x % 40)).clamp(1, HIST_MAX_NS);
            counts.record(v);
            direct.record(v).unwrap();
        }
        let converted = counts.drain_into_histogram().unwrap();
        assert_eq!(converted.len(), direct.len());
        assert_eq!(converted.min(), direct.min());
        assert_eq!(converted.max(), direct.max());
        assert_eq!(converted.mean(), direct.mean());
        for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(
                converted.value_at_quantile(q),
                direct.value_at_quantile(q),
                "q={q}"
            );
        }
        let a: Vec<_> = converted
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        let b: Vec<_> = direct
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        assert_eq!(a, b);
        assert!(counts.drain_into_histogram().is_none(), "drained");
    }
}
