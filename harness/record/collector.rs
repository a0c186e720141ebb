//! The collector: merges the threads' interval samples, streams complete
//! intervals to the cell's .hlog, and keeps the cell's totals.
//!
//! An interval is complete once every thread has moved past it (or
//! finished), so a thread blocked in a 3-second fsync delays the log, never
//! loses a sample. The last two complete intervals are held back until the
//! cell ends: the last interval is cut short at the end of the cell, and a
//! sliver of it is folded into the one before (see `interval.rs`), so
//! each is written once, with its real length.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{
    IntervalLogWriter, IntervalLogWriterBuilder, IntervalLogWriterError, Tag,
};
use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

use super::interval::{Span, Tail};
use super::{new_histogram, IntervalSample, Op};

/// What a cell measured, merged over threads.
#[derive(Debug)]
pub struct CellTotals {
    /// Measured phase, per op.
    pub hists: BTreeMap<Op, Histogram<u64>>,
    /// Measured phase: (op, errno) → count.
    pub errors: BTreeMap<(Op, i32), u64>,
    /// Warm-up included: (op, errno) → when it first failed that way, so a
    /// fault's report can say which op saw an error first.
    pub first_errors: BTreeMap<(Op, i32), Instant>,
    pub bytes_written: u64,
    pub warmup_unit_ops: u64,
    pub clamped: u64,
    /// The intervals as written, each with its real length and its unit
    /// ops (gaps with no sample at all included, as zero).
    pub series: Vec<(Span, u64)>,
    /// The nominal length of an interval.
    pub interval: Duration,
}

pub struct CollectorHandle {
    thread: JoinHandle<io::Result<CellTotals>>,
    end: Sender<Option<Duration>>,
}

impl CollectorHandle {
    /// Waits for every thread's final sample and the log's last line.
    ///
    /// `end`, from the measured phase's start: where that phase ended when
    /// it ended before its last thread did — a duration's deadline, after
    /// which threads only finish the op in hand and close up, or a power
    /// cut, after which they only fail. The series then ends there, and
    /// what completed after it counts in its last interval. None: the
    /// phase ended with its last thread (an op count, a stop).
    pub fn join(self, end: Option<Duration>) -> io::Result<CellTotals> {
        let _ = self.end.send(end);
        self.thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the collector thread panicked")))
    }
}

/// Starts a collector for `threads` worker threads, whose recorders cut
/// intervals of `interval`. Samples go to the returned sender (clone it
/// per thread). `hlog` receives one line per op per interval of the
/// measured phase; `start_wall` is the wall-clock time of interval 0,
/// written as the log's StartTime.
pub fn spawn_collector(
    threads: u32,
    unit: Op,
    interval: Duration,
    start_wall: SystemTime,
    hlog: Option<(PathBuf, String)>,
) -> io::Result<(Sender<IntervalSample>, CollectorHandle)> {
    let (tx, rx) = channel();
    let (end_tx, end_rx) = channel();
    let log = match hlog {
        Some((path, comment)) => Some(HlogFile::create(path, &comment, start_wall, interval)?),
        None => None,
    };
    let thread = std::thread::Builder::new()
        .name("wpbench-collector".into())
        .spawn(move || collect(rx, end_rx, threads, unit, interval, log))?;
    Ok((
        tx,
        CollectorHandle {
            thread,
            end: end_tx,
        },
    ))
}

#[derive(Default)]
struct Pending {
    hists: BTreeMap<Op, Histogram<u64>>,
    unit_ops: u64,
}

fn collect(
    rx: Receiver<IntervalSample>,
    end_rx: Receiver<Option<Duration>>,
    threads: u32,
    unit: Op,
    interval: Duration,
    mut file: Option<HlogFile>,
) -> io::Result<CellTotals> {
    let mut log = file.as_mut().map(HlogFile::begin).transpose()?;
    let mut totals = CellTotals {
        hists: BTreeMap::new(),
        errors: BTreeMap::new(),
        first_errors: BTreeMap::new(),
        bytes_written: 0,
        warmup_unit_ops: 0,
        clamped: 0,
        series: Vec::new(),
        interval,
    };
    // Where each thread is: Some(interval it is in) or None once finished.
    let mut position: Vec<Option<i64>> = vec![Some(i64::MIN); threads as usize];
    let mut pending: BTreeMap<i64, Pending> = BTreeMap::new();
    // When the last thread ended, from the measured phase's start.
    let mut end = Duration::ZERO;

    while position.iter().any(Option::is_some) {
        let Ok(sample) = rx.recv() else { break };
        if let Some(slot) = position.get_mut(sample.thread as usize) {
            *slot = sample.next;
        }
        end = end.max(sample.ended.unwrap_or_default());
        let measured = sample.interval >= 0;
        totals.clamped += sample.clamped;
        for (op, errno, n, at) in &sample.errors {
            let first = totals.first_errors.entry((*op, *errno)).or_insert(*at);
            *first = (*first).min(*at);
            if measured {
                *totals.errors.entry((*op, *errno)).or_default() += n;
            }
        }
        if measured {
            totals.bytes_written += sample.bytes_written;
        }
        let slot = pending.entry(sample.interval).or_default();
        for (op, h) in sample.hists {
            // The workload's own unit (log_append's `line`, not also its `task`).
            if op == unit {
                if measured {
                    slot.unit_ops += h.len();
                } else {
                    totals.warmup_unit_ops += h.len();
                }
            }
            if measured {
                merge_into(&mut totals.hists, op, &h);
                merge_into(&mut slot.hists, op, &h);
            }
        }
        // Write every interval that no running thread can still add to and
        // that cannot be the last (or the one a sliver folds into): a
        // running thread in interval h ends at h × interval or later, so
        // the last interval is h − 2 or later.
        // Once none runs, the end is known: the tail below writes the rest.
        let Some(horizon) = position.iter().flatten().min().copied() else {
            break;
        };
        while let Some((&k, _)) = pending.first_key_value() {
            if k >= horizon.saturating_sub(2) {
                break;
            }
            let (k, done) = pending.pop_first().expect("checked non-empty");
            if let Ok(k) = u64::try_from(k) {
                let span = Span {
                    index: k,
                    start: nth(interval, k),
                    length: interval,
                };
                write_interval(span, &done, &mut totals, log.as_mut())?;
            }
        }
    }
    // Everything left once all threads finished: laid out from the end
    // (the join's, when the phase ended before its last thread).
    if let Ok(Some(cap)) = end_rx.recv() {
        end = end.min(cap);
    }
    let tail = Tail::new(interval, end);
    if !end.is_zero() {
        // The last interval is written even when nothing completed in it,
        // so the log itself says where the series ends.
        last_entry(&mut pending, tail.last());
    }
    let mut last: BTreeMap<u64, Pending> = BTreeMap::new();
    while let Some((k, done)) = pending.pop_first() {
        let Ok(k) = u64::try_from(k) else { continue };
        let into = last.entry(tail.home(k)).or_default();
        into.unit_ops += done.unit_ops;
        for (op, h) in &done.hists {
            merge_into(&mut into.hists, *op, h);
        }
    }
    for (k, mut done) in last {
        if k == tail.last() {
            done.hists.entry(unit).or_insert_with(new_histogram);
        }
        write_interval(tail.span(k), &done, &mut totals, log.as_mut())?;
    }
    drop(log);
    if let Some(file) = file {
        file.finish()?;
    }
    Ok(totals)
}

/// Makes sure interval `k` is pending.
fn last_entry(pending: &mut BTreeMap<i64, Pending>, k: u64) {
    if let Ok(k) = i64::try_from(k) {
        pending.entry(k).or_default();
    }
}

/// Where interval `k` starts.
fn nth(interval: Duration, k: u64) -> Duration {
    Duration::from_nanos((interval.as_nanos() as u64).saturating_mul(k))
}

/// Writes one interval's lines, and notes it (and any gap before it) in
/// the cell's series.
fn write_interval(
    span: Span,
    done: &Pending,
    totals: &mut CellTotals,
    log: Option<&mut HlogWriter<'_>>,
) -> io::Result<()> {
    let next = totals.series.last().map_or(0, |(s, _)| s.index + 1);
    for k in next..span.index {
        let gap = Span {
            index: k,
            start: nth(totals.interval, k),
            length: totals.interval,
        };
        totals.series.push((gap, 0));
    }
    totals.series.push((span, done.unit_ops));
    if let Some(log) = log {
        for (op, h) in &done.hists {
            log.write(op.name(), span.start, span.length, h)?;
        }
    }
    Ok(())
}

fn merge_into(map: &mut BTreeMap<Op, Histogram<u64>>, op: Op, h: &Histogram<u64>) {
    let into = map.entry(op).or_insert_with(new_histogram);
    // Same bounds on both sides, so adding cannot fail.
    let _ = into.add(h);
}

/// The cell's .hlog, created but not yet begun. Written with the
/// hdrhistogram crate's interval log writer (format version 1.3, as the
/// Java HistogramLogWriter writes it): `#` comment lines — among them
/// `#[Interval: 0.100 (seconds)]`, the nominal interval length, and a line
/// saying how the last interval is laid out —, `#[StartTime: …]` and
/// `#[BaseTime: …]` (both the measured phase's start), then one
/// `Tag=<op>,<start s>,<length s>,<max ms>,<V2 deflate base64>` line per
/// op and interval, the length being the interval's real one. Values are
/// nanoseconds; Interval_Max is in ms (the Java writer's default unit
/// ratio, 1e6), which the crate records in a
/// `#[MaxValueDivisor: 1000000.000]` line. Standard readers take the
/// `#[Interval: …]` line for a comment. The crate does not write the
/// optional CSV legend line (`"StartTimestamp",…`); every reader skips it
/// when present, and it carries nothing.
pub struct HlogFile {
    out: BufWriter<File>,
    serializer: V2DeflateSerializer,
    comment: String,
    start: SystemTime,
    interval: Duration,
}

/// The comment line that names a log's nominal interval length.
pub const INTERVAL_HEADER: &str = "[Interval: ";

/// Writes the intervals of a begun [`HlogFile`].
pub struct HlogWriter<'a> {
    log: IntervalLogWriter<'a, 'a, BufWriter<File>, V2DeflateSerializer>,
}

impl HlogFile {
    pub fn create(
        path: PathBuf,
        comment: &str,
        start: SystemTime,
        interval: Duration,
    ) -> io::Result<HlogFile> {
        // Never through a symlink planted in a results directory others can
        // write: whatever is there is unlinked (unlink does not follow
        // links) and the log created afresh.
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)?;
        Ok(HlogFile {
            out: BufWriter::new(file),
            serializer: V2DeflateSerializer::new(),
            comment: comment.to_string(),
            start,
            interval,
        })
    }

    /// Writes the header; the intervals follow through the writer.
    pub fn begin(&mut self) -> io::Result<HlogWriter<'_>> {
        let mut builder = IntervalLogWriterBuilder::new();
        for line in self.comment.lines() {
            builder.add_comment(line);
        }
        let interval = format!(
            "{INTERVAL_HEADER}{:.3} (seconds)]",
            self.interval.as_secs_f64()
        );
        let log = builder
            .add_comment("[Histogram log format version 1.3]")
            .add_comment(&interval)
            .add_comment(
                "intervals are written with their real length: the last one ends with the \
                 cell, and is folded into the one before when shorter than a quarter interval",
            )
            .with_start_time(self.start)
            .with_base_time(self.start)
            .with_max_value_divisor(1e6)
            .begin_log_with(&mut self.out, &mut self.serializer)?;
        Ok(HlogWriter { log })
    }

    /// Flushes the log to disk (its writer dropped first).
    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().sync_all()
    }
}

impl HlogWriter<'_> {
    pub fn write(
        &mut self,
        tag: &str,
        start: Duration,
        length: Duration,
        h: &Histogram<u64>,
    ) -> io::Result<()> {
        // Op names never hold the characters a tag cannot (`,` `\r` `\n` ` `).
        let tag = Tag::new(tag)
            .ok_or_else(|| io::Error::other(format!("`{tag}` cannot be an interval log tag")))?;
        self.log
            .write_histogram(h, start, length, Some(tag))
            .map_err(|e| match e {
                IntervalLogWriterError::IoError(e) => e,
                IntervalLogWriterError::SerializeError(e) => {
                    io::Error::other(format!("histogram serialization: {e:?}"))
                }
            })
    }
}

/// Serializes a histogram as result.json carries it: base64 of V2-deflate.
pub fn encode_histogram(h: &Histogram<u64>) -> String {
    let mut buf = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut buf) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(&buf),
        Err(_) => String::new(),
    }
}

/// Inverse of `encode_histogram`.
pub fn decode_histogram(s: &str) -> Option<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut io::Cursor::new(bytes))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Recorder;
    use std::time::Instant;

    #[test]
    fn merges_threads_and_streams_intervals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cell.hlog");
        let (tx, handle) = spawn_collector(
            2,
            Op::File,
            Duration::from_secs(1),
            SystemTime::now(),
            Some((path.clone(), "test".into())),
        )
        .unwrap();
        // The measured phase starts 2 s from now, as after a warm-up.
        let start = Instant::now() + Duration::from_secs(2);
        let mut a = Recorder::new(0, start, tx.clone());
        let mut b = Recorder::new(1, start, tx);
        // Warm-up op (before start) must not count in the totals.
        a.record(
            Op::File,
            start - Duration::from_secs(2),
            start - Duration::from_millis(1500),
        );
        for i in 0..100u64 {
            let t = start + Duration::from_millis(10 * i);
            a.record(Op::File, t, t + Duration::from_micros(10 + i));
            b.record(Op::File, t, t + Duration::from_micros(20 + i));
        }
        b.record(Op::Fsync, start, start + Duration::from_millis(2500));
        // Another unit-like op of the workload is not its unit.
        a.record(
            Op::Task,
            start - Duration::from_secs(2),
            start - Duration::from_secs(1),
        );
        a.finish_at(start + Duration::from_millis(1000));
        // The cell ends with b, 2.6 s in: its last interval is 0.6 s long.
        b.finish_at(start + Duration::from_millis(2600));
        let totals = handle.join(None).unwrap();
        assert_eq!(totals.hists[&Op::File].len(), 200);
        assert_eq!(totals.warmup_unit_ops, 1);
        let series: Vec<(f64, f64, u64)> = totals
            .series
            .iter()
            .map(|(s, n)| (s.start_s(), s.length_s(), *n))
            .collect();
        assert_eq!(series, [(0.0, 1.0, 200), (1.0, 1.0, 0), (2.0, 0.6, 0)]);
        assert_eq!(totals.hists[&Op::Fsync].len(), 1);

        // The log's intervals add up to the totals.
        let text = std::fs::read_to_string(&path).unwrap();
        let mut sum = new_histogram();
        for line in text.lines().filter(|l| l.starts_with("Tag=file,")) {
            let b64 = line.rsplit(',').next().unwrap();
            sum.add(decode_histogram(b64).unwrap()).unwrap();
        }
        assert_eq!(sum, totals.hists[&Op::File]);
        assert!(text.contains("#[StartTime: "));
        assert!(text.contains("#[Interval: 1.000 (seconds)]"), "{text}");
        assert!(text.contains("Tag=fsync,2.000,0.600,250"), "{text}");
    }

    /// Runs a collector over one thread's ops (ending so many µs after the
    /// measured phase's start, each 1 µs long) that ends at `end_us`, the
    /// phase having ended at `cap_us` when given; the .hlog's `record`
    /// lines as (start, length, count).
    fn lines_of(
        interval_ms: u64,
        ops_us: &[u64],
        end_us: u64,
        cap_us: Option<u64>,
    ) -> Vec<(String, String, u64)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cell.hlog");
        let interval = Duration::from_millis(interval_ms);
        let (tx, handle) = spawn_collector(
            1,
            Op::Record,
            interval,
            SystemTime::now(),
            Some((path.clone(), "test".into())),
        )
        .unwrap();
        let start = Instant::now() + Duration::from_secs(60);
        let mut rec = Recorder::with_interval(0, start, interval, tx);
        for us in ops_us {
            let end = start + Duration::from_micros(*us);
            rec.record(Op::Record, end - Duration::from_micros(1), end);
        }
        rec.finish_at(start + Duration::from_micros(end_us));
        let totals = handle.join(cap_us.map(Duration::from_micros)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(&format!(
            "#[Interval: {:.3} (seconds)]",
            interval.as_secs_f64()
        )));
        let lines: Vec<(String, String, u64)> = text
            .lines()
            .filter_map(|l| l.strip_prefix("Tag=record,"))
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                let n = decode_histogram(f[3]).unwrap().len();
                (f[0].to_string(), f[1].to_string(), n)
            })
            .collect();
        // The series agrees with the log, and its lengths add up to the cell.
        let total: Duration = totals.series.iter().map(|(s, _)| s.length).sum();
        assert_eq!(
            total,
            Duration::from_micros(end_us.min(cap_us.unwrap_or(end_us)))
        );
        lines
    }

    fn line(start: &str, length: &str, n: u64) -> (String, String, u64) {
        (start.to_string(), length.to_string(), n)
    }

    #[test]
    fn the_last_interval_is_written_with_its_real_length() {
        // 100 ms intervals, a cell of 250 ms: the third is 50 ms long.
        let got = lines_of(
            100,
            &[10_000, 20_000, 150_000, 210_000, 240_000],
            250_000,
            None,
        );
        assert_eq!(
            got,
            [
                line("0.000", "0.100", 2),
                line("0.100", "0.100", 1),
                line("0.200", "0.050", 2)
            ]
        );
    }

    #[test]
    fn a_straggler_sliver_is_folded_into_the_interval_before() {
        // A 300 ms cell whose last op completed 0.4 ms late: no 0.4 ms
        // interval of its own.
        let got = lines_of(
            100,
            &[50_000, 150_000, 250_000, 299_000, 300_300],
            300_400,
            None,
        );
        assert_eq!(
            got,
            [
                line("0.000", "0.100", 1),
                line("0.100", "0.100", 1),
                line("0.200", "0.100", 3)
            ]
        );
        // A crash 1.2 s into 1 s intervals: 0.2 s is a sliver too.
        let got = lines_of(
            1000,
            &[100_000, 900_000, 1_001_000, 1_150_000],
            1_203_000,
            Some(1_200_000),
        );
        assert_eq!(got, [line("0.000", "1.200", 4)]);
    }

    #[test]
    fn the_series_ends_at_the_deadline_or_the_cut_not_when_threads_closed_up() {
        // A 250 ms cell whose thread finished its last op 0.3 ms after the
        // deadline and closed up 12 ms later: the last interval is the
        // 50 ms up to the deadline, the late op counted in it.
        let got = lines_of(
            100,
            &[10_000, 150_000, 220_000, 250_300],
            262_000,
            Some(250_000),
        );
        assert_eq!(
            got,
            [
                line("0.000", "0.100", 1),
                line("0.100", "0.100", 1),
                line("0.200", "0.050", 2)
            ]
        );
        // A power cut at 1.48 s, the workers gone 3 ms later: 0.48 s of
        // its own, over which its ops are counted.
        let got = lines_of(
            1000,
            &[100_000, 1_100_000, 1_400_000],
            1_483_000,
            Some(1_480_000),
        );
        assert_eq!(got, [line("0.000", "1.000", 1), line("1.000", "0.480", 2)]);
        // Nothing completed in the cut interval: it is written all the same
        // (empty), so the log says where the series ends.
        let got = lines_of(100, &[10_000, 120_000], 290_000, Some(280_000));
        assert_eq!(
            got,
            [
                line("0.000", "0.100", 1),
                line("0.100", "0.100", 1),
                line("0.200", "0.080", 0)
            ]
        );
    }

    #[test]
    fn histogram_round_trips_through_base64() {
        let mut h = new_histogram();
        for v in [1u64, 10, 1000, 123_456_789] {
            h.record(v).unwrap();
        }
        assert_eq!(decode_histogram(&encode_histogram(&h)).unwrap(), h);
        assert!(decode_histogram("not base64!").is_none());
    }
}
