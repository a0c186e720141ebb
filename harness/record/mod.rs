//! The recording room: per-thread latency histograms on the hot path, and
//! the collector that merges them into intervals (streamed to an
//! HdrHistogram interval log) and cell totals. How long an interval is,
//! and how the last one of a cell is laid out, is in `interval.rs`.
//!
//! The hot path is `Recorder::time`: two reads of the calibrated clock
//! (`clock.rs`), one comparison with the next interval boundary and one
//! bucket increment (`counts.rs`); the increments become an HdrHistogram
//! once per interval. Each worker thread owns its `Recorder`; once an
//! interval (on the first op that completes past the boundary) it hands the
//! finished interval to the collector over a channel, so nothing grows in
//! memory with the length of a run.

pub mod clock;
mod collector;
mod counts;
pub mod errno;
pub mod hlog_read;
pub mod interval;
pub mod op;

use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

pub use clock::{Clock, Stamp};
pub use collector::{
    decode_histogram, encode_histogram, spawn_collector, CellTotals, CollectorHandle,
};
pub use counts::Counts;
pub use hlog_read::{parse_hlog, read_hlog, HlogData, HlogError, HlogInterval, SeriesPoint};
pub use op::Op;

/// Longest latency a histogram holds: one hour, in nanoseconds. (fio's
/// 17 s cap is a known complaint.) Longer samples are clamped and counted.
pub const HIST_MAX_NS: u64 = 3_600_000_000_000;
/// Significant digits: 3 → ≤ 0.1 % value error.
pub const HIST_SIGFIG: u8 = 3;
/// Length of one interval of the time series and the .hlog when nothing
/// else is said (`Recorder::new`); a cell's own is chosen by the rule in
/// [`interval`].
pub const INTERVAL: Duration = interval::LONG_INTERVAL;

/// A new, empty latency histogram with wpbench's bounds.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_NS, HIST_SIGFIG).expect("constant bounds are valid")
}

/// One thread's share of one interval, sent to the collector.
#[derive(Debug)]
pub struct IntervalSample {
    pub thread: u32,
    /// Interval index relative to the start of the measured phase;
    /// negative intervals are warm-up.
    pub interval: i64,
    /// Index of the interval the thread has moved on to (all later samples
    /// of this thread are at or after it); `None` when the thread finished.
    pub next: Option<i64>,
    pub hists: Vec<(Op, Histogram<u64>)>,
    /// In a thread's last sample: when it ended, from the start of the
    /// measured phase (None when it ended before that phase began).
    pub ended: Option<Duration>,
    /// (op, errno, count, when the first of them failed in this interval)
    pub errors: Vec<(Op, i32, u64, Instant)>,
    pub bytes_written: u64,
    /// Samples longer than HIST_MAX_NS, clamped.
    pub clamped: u64,
}

/// A worker thread's recorder. Not shared: one per thread.
pub struct Recorder {
    thread: u32,
    measure_start: Instant,
    /// The length of an interval.
    step: Duration,
    interval: i64,
    next_boundary: Instant,
    clock: Clock,
    /// `next_boundary` on `clock`'s timeline.
    next_boundary_stamp: Stamp,
    hists: Vec<Option<Counts>>,
    errors: Vec<(Op, i32, u64, Instant)>,
    bytes_written: u64,
    clamped: u64,
    /// The end reading of the last op [`Recorder::time`] timed, until
    /// [`Recorder::take_last_end`] takes it.
    last_end: Option<Stamp>,
    sink: Sender<IntervalSample>,
}

impl Recorder {
    /// `measure_start` is when the measured phase begins (after warm-up);
    /// ops completing earlier land in negative (warm-up) intervals.
    /// Intervals of [`INTERVAL`].
    pub fn new(thread: u32, measure_start: Instant, sink: Sender<IntervalSample>) -> Recorder {
        Recorder::with_interval(thread, measure_start, INTERVAL, sink)
    }

    /// [`Recorder::new`] with intervals of `step` (at least 1 ns).
    pub fn with_interval(
        thread: u32,
        measure_start: Instant,
        step: Duration,
        sink: Sender<IntervalSample>,
    ) -> Recorder {
        let step = step.max(Duration::from_nanos(1));
        let now = Instant::now();
        let interval = interval_of(measure_start, now, step);
        let clock = Clock::system();
        let next_boundary = boundary_after(measure_start, interval, step);
        Recorder {
            thread,
            measure_start,
            step,
            interval,
            next_boundary,
            clock,
            next_boundary_stamp: clock.stamp_of(next_boundary),
            hists: (0..Op::COUNT).map(|_| None).collect(),
            errors: Vec::new(),
            bytes_written: 0,
            clamped: 0,
            last_end: None,
            sink,
        }
    }

    /// Records one successful op that ran from `start` to `end`.
    #[inline]
    pub fn record(&mut self, op: Op, start: Instant, end: Instant) {
        if end >= self.next_boundary {
            self.rotate(end);
        }
        self.record_ns(op, end.saturating_duration_since(start).as_nanos() as u64);
    }

    #[inline]
    fn record_ns(&mut self, op: Op, ns: u64) {
        let ns = if ns > HIST_MAX_NS {
            self.clamped += 1;
            HIST_MAX_NS
        } else {
            ns.max(1)
        };
        self.hists[op.index()]
            .get_or_insert_with(Counts::default)
            .record(ns);
    }

    /// The index of the interval being counted; it changes when the
    /// recorder rotates.
    #[inline]
    pub fn interval(&self) -> i64 {
        self.interval
    }

    /// True when `t` is in the measured phase (not warm-up).
    pub fn measuring(&self, t: Instant) -> bool {
        t >= self.measure_start
    }

    /// Reads the recorder's clock (cheaper than `Instant::now()` where the
    /// TSC can be trusted).
    #[inline(always)]
    pub fn now(&self) -> Stamp {
        self.clock.now()
    }

    /// The recorder's clock, to turn stamps into instants.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Records one successful op between two stamps of `self.now()`.
    #[inline(always)]
    pub fn record_stamps(&mut self, op: Op, start: Stamp, end: Stamp) {
        if end >= self.next_boundary_stamp {
            self.rotate(self.clock.instant_of(end));
        }
        self.record_ns(op, self.clock.ns_between(start, end));
    }

    /// Records an open-loop unit op: response time from the intended start
    /// (so queueing behind a slow op is counted — no coordinated omission)
    /// under `op`, and service time from the actual start under its
    /// `.service` twin.
    pub fn record_open_loop(&mut self, op: Op, intended: Instant, start: Instant, end: Instant) {
        if end >= self.next_boundary {
            self.rotate(end);
        }
        self.record_ns(
            op,
            end.saturating_duration_since(intended).as_nanos() as u64,
        );
        if let Some(service) = op.service() {
            self.record_ns(
                service,
                end.saturating_duration_since(start).as_nanos() as u64,
            );
        }
    }

    /// Counts a failed op by errno. Failures are counted, never fatal.
    pub fn error(&mut self, op: Op, errno: i32, at: Instant) {
        if at >= self.next_boundary {
            self.rotate(at);
        }
        match self
            .errors
            .iter_mut()
            .find(|(o, e, _, _)| *o == op && *e == errno)
        {
            Some(entry) => entry.2 += 1,
            None => self.errors.push((op, errno, 1, at)),
        }
    }

    /// The end reading of the last op [`time`](Self::time) timed since the
    /// previous call, if any: a unit op that ends with that syscall can
    /// end on it rather than read the clock again.
    #[inline(always)]
    pub fn take_last_end(&mut self) -> Option<Stamp> {
        self.last_end.take()
    }

    /// The end reading of the last op [`time`](Self::time) timed, left in
    /// place (a step that stamps something with its last call's end).
    pub fn last_end(&self) -> Option<Stamp> {
        self.last_end
    }

    /// Payload bytes handed to the kernel (for write amplification).
    #[inline]
    pub fn add_bytes(&mut self, n: u64) {
        self.bytes_written += n;
    }

    /// Times `f` and records it under `op`, or counts its errno.
    #[inline]
    pub fn time<T>(
        &mut self,
        op: Op,
        f: impl FnOnce() -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        let start = self.clock.now();
        let result = f();
        let end = self.clock.now();
        self.last_end = Some(end);
        match &result {
            Ok(_) => self.record_stamps(op, start, end),
            Err(e) => self.error(op, errno::errno_of(e), self.clock.instant_of(end)),
        }
        result
    }

    fn take_sample(&mut self, next: Option<i64>, ended: Option<Duration>) -> IntervalSample {
        IntervalSample {
            thread: self.thread,
            interval: self.interval,
            next,
            ended,
            hists: self
                .hists
                .iter_mut()
                .enumerate()
                .filter_map(|(i, c)| {
                    let h = c.as_mut()?.drain_into_histogram()?;
                    Some((Op::ALL[i], h))
                })
                .collect(),
            errors: std::mem::take(&mut self.errors),
            bytes_written: std::mem::take(&mut self.bytes_written),
            clamped: std::mem::take(&mut self.clamped),
        }
    }

    #[cold]
    fn rotate(&mut self, now: Instant) {
        // At least one interval on: a stamp past the boundary may convert to
        // an instant a nanosecond short of it.
        let next = interval_of(self.measure_start, now, self.step).max(self.interval + 1);
        let sample = self.take_sample(Some(next), None);
        // A closed collector means the cell is being torn down; nothing to keep.
        let _ = self.sink.send(sample);
        self.interval = next;
        self.next_boundary = boundary_after(self.measure_start, next, self.step);
        self.clock.reanchor();
        self.next_boundary_stamp = self.clock.stamp_of(self.next_boundary);
    }

    /// Sends the last, partial interval; call when the thread is done.
    pub fn finish(self) {
        self.finish_at(Instant::now());
    }

    /// [`Recorder::finish`], the thread having ended at `end`: the
    /// collector ends the cell's last interval at the latest thread's end.
    pub fn finish_at(mut self, end: Instant) {
        let ended = end.checked_duration_since(self.measure_start);
        let sample = self.take_sample(None, ended);
        let _ = self.sink.send(sample);
    }
}

/// Interval index of `t`: floor((t − start) / step), negative before start.
pub fn interval_of(start: Instant, t: Instant, step: Duration) -> i64 {
    let step = (step.as_nanos() as i128).max(1);
    let delta = if t >= start {
        t.duration_since(start).as_nanos() as i128
    } else {
        -(start.duration_since(t).as_nanos() as i128)
    };
    delta.div_euclid(step) as i64
}

/// Where interval `interval` ends (and the next begins).
fn boundary_after(start: Instant, interval: i64, step: Duration) -> Instant {
    let ns = (interval as i128 + 1) * step.as_nanos() as i128;
    let offset = Duration::from_nanos(ns.unsigned_abs().min(u128::from(u64::MAX)) as u64);
    if ns >= 0 {
        start + offset
    } else {
        start - offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn intervals_floor_towards_negative() {
        let start = Instant::now() + Duration::from_secs(10);
        let s = INTERVAL;
        assert_eq!(interval_of(start, start, s), 0);
        assert_eq!(interval_of(start, start + Duration::from_millis(999), s), 0);
        assert_eq!(
            interval_of(start, start + Duration::from_millis(1000), s),
            1
        );
        assert_eq!(interval_of(start, start - Duration::from_millis(1), s), -1);
        assert_eq!(
            interval_of(start, start - Duration::from_millis(1001), s),
            -2
        );
        assert_eq!(boundary_after(start, -1, s), start);
        assert_eq!(boundary_after(start, 0, s), start + INTERVAL);
        assert_eq!(boundary_after(start, -3, s), start - INTERVAL * 2);
        let s = Duration::from_millis(100);
        assert_eq!(interval_of(start, start + Duration::from_millis(250), s), 2);
        assert_eq!(interval_of(start, start - Duration::from_millis(50), s), -1);
        assert_eq!(
            boundary_after(start, 2, s),
            start + Duration::from_millis(300)
        );
    }

    #[test]
    fn short_intervals_rotate_and_the_last_sample_says_when_the_thread_ended() {
        let (tx, rx) = channel();
        let start = Instant::now();
        let mut rec = Recorder::with_interval(0, start, Duration::from_millis(100), tx);
        rec.record(Op::Write, start, start + Duration::from_millis(50));
        rec.record(Op::Write, start, start + Duration::from_millis(250));
        rec.finish_at(start + Duration::from_millis(260));
        let first = rx.try_recv().unwrap();
        assert_eq!(
            (first.interval, first.next, first.ended),
            (0, Some(2), None)
        );
        let last = rx.try_recv().unwrap();
        assert_eq!(last.interval, 2);
        assert_eq!(last.ended, Some(Duration::from_millis(260)));
    }

    #[test]
    fn recorder_rotates_and_counts() {
        let (tx, rx) = channel();
        let start = Instant::now();
        let mut rec = Recorder::new(0, start, tx);
        rec.record(Op::Write, start, start + Duration::from_micros(5));
        rec.record(Op::Write, start, start + Duration::from_micros(7));
        rec.error(Op::Fsync, libc::EIO, start + Duration::from_millis(5));
        rec.error(Op::Fsync, libc::EIO, start + Duration::from_millis(9));
        rec.add_bytes(4096);
        // An op completing in the next interval rotates first.
        rec.record(Op::Fsync, start, start + Duration::from_millis(1500));
        let first = rx.try_recv().unwrap();
        assert_eq!(first.interval, 0);
        assert_eq!(first.next, Some(1));
        assert_eq!(first.hists.len(), 1);
        assert_eq!(first.hists[0].0, Op::Write);
        assert_eq!(first.hists[0].1.len(), 2);
        // Counted, with the moment of the first.
        assert_eq!(
            first.errors,
            vec![(Op::Fsync, libc::EIO, 2, start + Duration::from_millis(5))]
        );
        assert_eq!(first.bytes_written, 4096);
        rec.finish();
        let last = rx.try_recv().unwrap();
        assert_eq!(last.interval, 1);
        assert_eq!(last.next, None);
        assert_eq!(
            last.hists[0].1.max(),
            1_500_000_000u64.max(last.hists[0].1.max())
        );
        assert!(last.hists[0]
            .1
            .equivalent(last.hists[0].1.max(), 1_500_000_000));
    }

    #[test]
    fn open_loop_records_response_and_service() {
        let (tx, rx) = channel();
        let start = Instant::now();
        let mut rec = Recorder::new(0, start, tx);
        let intended = start;
        let actual = start + Duration::from_millis(100); // queued behind a stall
        let end = actual + Duration::from_millis(1);
        rec.record_open_loop(Op::Line, intended, actual, end);
        rec.finish();
        let s = rx.try_recv().unwrap();
        let get = |op| s.hists.iter().find(|(o, _)| *o == op).unwrap().1.max();
        assert!(get(Op::Line) >= 100_000_000);
        assert!(get(Op::LineService) < 2_000_000);
    }

    #[test]
    fn huge_latencies_are_clamped_not_lost() {
        let (tx, rx) = channel();
        let start = Instant::now();
        let mut rec = Recorder::new(0, start, tx);
        rec.record_ns(Op::Fsync, HIST_MAX_NS * 2);
        rec.finish();
        let s = rx.try_recv().unwrap();
        assert_eq!(s.clamped, 1);
        assert_eq!(s.hists[0].1.len(), 1);
    }
}
