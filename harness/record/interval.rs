//! The intervals of a cell's time series: how long they are, and how the
//! last one is laid out, so that no series shows a drop the workload did
//! not have.
//!
//! **Length.** A cell's intervals are `interval:` long when the scenario
//! says so (≥ [`MIN_INTERVAL`], whole milliseconds); otherwise
//! [`SHORT_INTERVAL`] (100 ms) for cells shorter than [`LONG_CELL`] (20 s)
//! and for cells bound by an op count, whose length is not known before
//! they run, and [`LONG_INTERVAL`] (1 s) for longer cells. A 3 s cell gets
//! 30 points, a 5-minute cell 300.
//!
//! **The end.** A series ends where the measured phase ended: at the
//! duration's deadline, or at a power cut, when the worker threads ended
//! after it (past a deadline they only finish the op in hand and close up;
//! past a cut they only fail), else when the last thread ended (an op
//! count reached, every thread stopped). Ops that completed after the end
//! are counted in the last interval.
//!
//! **The last interval.** The interval the end falls in is cut short; its
//! rate is taken over its real length, never over the nominal one (a crash
//! at 1.48 s into 1 s intervals makes a last interval of 0.48 s, not a
//! second with half the work). When the cut interval is shorter than a
//! quarter of the nominal length — a sliver — it is folded into the
//! interval before it, which is then drawn over its nominal length plus the
//! sliver. A sliver in the very first interval has nothing to fold into and
//! keeps its real length. Every interval before the last has its nominal
//! length, so the lengths add up to the series' end.
//!
//! The collector lays its .hlog out this way as it writes it (the last
//! interval written even when empty), and readers take the layout from the
//! lines of such a log. Older logs wrote every interval a whole second
//! long, the last one included, and ended with the last thread; readers
//! lay those out by this rule from the cell's `duration_s`.

use std::time::Duration;

/// Intervals of cells shorter than [`LONG_CELL`], and of op-bound cells.
pub const SHORT_INTERVAL: Duration = Duration::from_millis(100);
/// Intervals of cells of [`LONG_CELL`] or longer.
pub const LONG_INTERVAL: Duration = Duration::from_secs(1);
/// From this measured length on, a cell gets [`LONG_INTERVAL`]s.
pub const LONG_CELL: Duration = Duration::from_secs(20);
/// The shortest `interval:` a scenario may set: an .hlog's times have
/// millisecond resolution, and shorter intervals would hold too few ops to
/// say anything.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// A cut last interval shorter than 1/FOLD_BELOW of the nominal length is
/// a sliver, folded into the interval before it.
pub const FOLD_BELOW: u64 = 4;

/// The interval of a cell that runs for `duration` (None: until an op
/// count is reached) when the scenario does not set `interval:`.
pub fn default_interval(duration: Option<Duration>) -> Duration {
    match duration {
        Some(d) if d >= LONG_CELL => LONG_INTERVAL,
        _ => SHORT_INTERVAL,
    }
}

/// One interval of a series as it is written and drawn: its index (the
/// nominal interval it starts in), its start from the measured phase's
/// start, and its real length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub index: u64,
    pub start: Duration,
    pub length: Duration,
}

impl Span {
    pub fn start_s(&self) -> f64 {
        self.start.as_secs_f64()
    }

    pub fn length_s(&self) -> f64 {
        self.length.as_secs_f64()
    }
}

/// The layout of a series whose measured phase ended `end` after it began,
/// in intervals of `nominal`: which interval is the last, and how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tail {
    nominal_ns: u64,
    last: u64,
    last_ns: u64,
}

impl Tail {
    pub fn new(nominal: Duration, end: Duration) -> Tail {
        let l = (nominal.as_nanos() as u64).max(1);
        let e = end.as_nanos().min(u128::from(u64::MAX)) as u64;
        if e == 0 {
            // Nothing was measured: one empty interval of the nominal length.
            return Tail {
                nominal_ns: l,
                last: 0,
                last_ns: l,
            };
        }
        // The interval holding the last instant before `end` (an end on a
        // boundary closes the interval before it, whole), and what of it
        // the cell lived through: 1 ns ..= nominal.
        let cut = (e - 1) / l;
        let real = e - cut * l;
        if cut > 0 && real.saturating_mul(FOLD_BELOW) < l {
            Tail {
                nominal_ns: l,
                last: cut - 1,
                last_ns: l + real,
            }
        } else {
            Tail {
                nominal_ns: l,
                last: cut,
                last_ns: real,
            }
        }
    }

    /// The index of the series' last interval.
    pub fn last(&self) -> u64 {
        self.last
    }

    /// How many intervals the series has.
    pub fn len(&self) -> u64 {
        self.last + 1
    }

    /// Never empty: a series has at least its last interval.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The interval the samples of interval `k` are counted in: `k`
    /// itself, or the last interval for a folded sliver and anything past
    /// the end.
    pub fn home(&self, k: u64) -> u64 {
        k.min(self.last)
    }

    /// Where interval `k` (at most `last`) starts and how long it really is.
    pub fn span(&self, k: u64) -> Span {
        let k = k.min(self.last);
        let length = if k == self.last {
            self.last_ns
        } else {
            self.nominal_ns
        };
        Span {
            index: k,
            start: Duration::from_nanos(k.saturating_mul(self.nominal_ns)),
            length: Duration::from_nanos(length),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn tail(nominal_ms: u64, end: Duration) -> Tail {
        Tail::new(MS * nominal_ms as u32, end)
    }

    #[test]
    fn short_cells_get_short_intervals() {
        assert_eq!(
            default_interval(Some(Duration::from_secs(3))),
            SHORT_INTERVAL
        );
        assert_eq!(
            default_interval(Some(Duration::from_millis(19_999))),
            SHORT_INTERVAL
        );
        assert_eq!(default_interval(Some(LONG_CELL)), LONG_INTERVAL);
        assert_eq!(
            default_interval(Some(Duration::from_secs(600))),
            LONG_INTERVAL
        );
        // An op-bound cell's length is unknown before it runs.
        assert_eq!(default_interval(None), SHORT_INTERVAL);
    }

    #[test]
    fn a_partial_final_interval_keeps_its_real_length() {
        // A 2.5 s cell in 1 s intervals: the third interval is 0.5 s long.
        let t = tail(1000, MS * 2500);
        assert_eq!(t.len(), 3);
        assert_eq!(t.span(0).length, MS * 1000);
        assert_eq!(
            t.span(2),
            Span {
                index: 2,
                start: MS * 2000,
                length: MS * 500
            }
        );
        // Nothing lies past the end.
        assert_eq!(t.home(7), 2);
        // The lengths add up to the cell's duration.
        let total: Duration = (0..t.len()).map(|k| t.span(k).length).sum();
        assert_eq!(total, MS * 2500);
    }

    #[test]
    fn a_crash_cut_interval_is_drawn_over_what_the_cell_lived() {
        // Power cut at 1.48 s, workers gone 2 ms later: the second
        // interval is 0.482 s long, and its rate is its ops over that.
        let end = MS * 1482;
        let t = tail(1000, end);
        assert_eq!(t.last(), 1);
        assert_eq!(t.span(1).start, MS * 1000);
        assert_eq!(t.span(1).length, MS * 482);
        let ops_in_it = 700u64;
        let rate = ops_in_it as f64 / t.span(1).length_s();
        assert!(rate > 1400.0, "{rate}: not 700/s over a whole second");
        // A cut early in an interval is a sliver: folded into the one before.
        let t = tail(1000, MS * 1200);
        assert_eq!(t.last(), 0);
        assert_eq!(t.span(0).length, MS * 1200);
        assert_eq!(t.home(1), 0);
    }

    #[test]
    fn a_tiny_straggler_sliver_is_folded_into_the_interval_before() {
        // A 3 s cell whose last ops completed 0.4 ms after the deadline,
        // in 100 ms intervals: interval 30 would be 0.4 ms long.
        let end = Duration::from_micros(3_000_400);
        let t = tail(100, end);
        assert_eq!(t.last(), 29);
        assert_eq!(t.home(30), 29);
        let last = t.span(29);
        assert_eq!(last.start, MS * 2900);
        assert_eq!(last.length, Duration::from_micros(100_400));
        assert_eq!(t.span(28).length, MS * 100);
        let total: Duration = (0..t.len()).map(|k| t.span(k).length).sum();
        assert_eq!(total, end);
        // At exactly a quarter it is long enough to stand on its own.
        let t = tail(100, MS * 3025);
        assert_eq!((t.last(), t.span(30).length), (30, MS * 25));
    }

    #[test]
    fn edges() {
        // An end on a boundary closes the interval before it, whole.
        let t = tail(100, MS * 3000);
        assert_eq!((t.last(), t.span(29).length), (29, MS * 100));
        // A sliver in the first interval has nothing to fold into.
        let t = tail(1000, MS * 10);
        assert_eq!((t.last(), t.span(0).length), (0, MS * 10));
        // Nothing measured.
        let t = tail(100, Duration::ZERO);
        assert_eq!((t.last(), t.span(0).length), (0, MS * 100));
        // The layout of a laid-out log is the same layout.
        let t = tail(100, Duration::from_micros(3_000_400));
        for k in 0..t.len() {
            assert_eq!(t.span(t.home(t.span(k).index)), t.span(k));
        }
    }
}
