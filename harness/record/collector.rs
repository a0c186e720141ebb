//! The collector: merges the threads' interval samples, streams complete
//! intervals to the cell's .hlog, and keeps the cell's totals.
//!
//! An interval is complete once every thread has moved past it (or
//! finished), so a thread blocked in a 3-second fsync delays the log, never
//! loses a sample.

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

use super::{new_histogram, IntervalSample, Op, INTERVAL};

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
    /// Unit ops per measured interval, for a quick look at stalls.
    pub unit_ops_per_interval: Vec<u64>,
}

pub struct CollectorHandle {
    thread: JoinHandle<io::Result<CellTotals>>,
}

impl CollectorHandle {
    /// Waits for every thread's final sample and the log's last line.
    pub fn join(self) -> io::Result<CellTotals> {
        self.thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the collector thread panicked")))
    }
}

/// Starts a collector for `threads` worker threads. Samples go to the
/// returned sender (clone it per thread). `hlog` receives one line per op
/// per second of the measured phase; `start_wall` is the wall-clock time of
/// interval 0, written as the log's StartTime.
pub fn spawn_collector(
    threads: u32,
    unit: Op,
    start_wall: SystemTime,
    hlog: Option<(PathBuf, String)>,
) -> io::Result<(Sender<IntervalSample>, CollectorHandle)> {
    let (tx, rx) = channel();
    let log = match hlog {
        Some((path, comment)) => Some(HlogFile::create(path, &comment, start_wall)?),
        None => None,
    };
    let thread = std::thread::Builder::new()
        .name("wpbench-collector".into())
        .spawn(move || collect(rx, threads, unit, log))?;
    Ok((tx, CollectorHandle { thread }))
}

#[derive(Default)]
struct Pending {
    hists: BTreeMap<Op, Histogram<u64>>,
    unit_ops: u64,
}

fn collect(
    rx: Receiver<IntervalSample>,
    threads: u32,
    unit: Op,
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
        unit_ops_per_interval: Vec::new(),
    };
    // Where each thread is: Some(interval it is in) or None once finished.
    let mut position: Vec<Option<i64>> = vec![Some(i64::MIN); threads as usize];
    let mut pending: BTreeMap<i64, Pending> = BTreeMap::new();

    while position.iter().any(Option::is_some) {
        let Ok(sample) = rx.recv() else { break };
        if let Some(slot) = position.get_mut(sample.thread as usize) {
            *slot = sample.next;
        }
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
        // Flush every interval that no running thread can still add to.
        let horizon = position.iter().flatten().min().copied().unwrap_or(i64::MAX);
        while let Some((&k, _)) = pending.first_key_value() {
            if k >= horizon {
                break;
            }
            let (k, done) = pending.pop_first().expect("checked non-empty");
            flush(k, done, &mut totals, log.as_mut(), INTERVAL)?;
        }
    }
    // Everything left once all threads finished.
    while let Some((k, done)) = pending.pop_first() {
        flush(k, done, &mut totals, log.as_mut(), INTERVAL)?;
    }
    drop(log);
    if let Some(file) = file {
        file.finish()?;
    }
    Ok(totals)
}

fn flush(
    k: i64,
    done: Pending,
    totals: &mut CellTotals,
    log: Option<&mut HlogWriter<'_>>,
    length: Duration,
) -> io::Result<()> {
    if k < 0 {
        return Ok(());
    }
    let idx = k as usize;
    if totals.unit_ops_per_interval.len() <= idx {
        totals.unit_ops_per_interval.resize(idx + 1, 0);
    }
    totals.unit_ops_per_interval[idx] += done.unit_ops;
    if let Some(log) = log {
        for (op, h) in &done.hists {
            log.write(op.name(), length * k as u32, length, h)?;
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
/// Java HistogramLogWriter writes it): `#` comment lines, `#[StartTime: …]`
/// and `#[BaseTime: …]` (both the measured phase's start), then one
/// `Tag=<op>,<start s>,<length s>,<max ms>,<V2 deflate base64>` line per
/// op and interval. Values are nanoseconds; Interval_Max is in ms (the
/// Java writer's default unit ratio, 1e6), which the crate records in a
/// `#[MaxValueDivisor: 1000000.000]` line. The crate does not write the
/// optional CSV legend line (`"StartTimestamp",…`); every reader skips it
/// when present, and it carries nothing.
pub struct HlogFile {
    out: BufWriter<File>,
    serializer: V2DeflateSerializer,
    comment: String,
    start: SystemTime,
}

/// Writes the intervals of a begun [`HlogFile`].
pub struct HlogWriter<'a> {
    log: IntervalLogWriter<'a, 'a, BufWriter<File>, V2DeflateSerializer>,
}

impl HlogFile {
    pub fn create(path: PathBuf, comment: &str, start: SystemTime) -> io::Result<HlogFile> {
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
        })
    }

    /// Writes the header; the intervals follow through the writer.
    pub fn begin(&mut self) -> io::Result<HlogWriter<'_>> {
        let mut builder = IntervalLogWriterBuilder::new();
        for line in self.comment.lines() {
            builder.add_comment(line);
        }
        let log = builder
            .add_comment("[Histogram log format version 1.3]")
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
        a.finish();
        b.finish();
        let totals = handle.join().unwrap();
        assert_eq!(totals.hists[&Op::File].len(), 200);
        assert_eq!(totals.warmup_unit_ops, 1);
        assert_eq!(totals.unit_ops_per_interval.iter().sum::<u64>(), 200);
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
        assert!(text.contains("Tag=fsync,2.000,1.000,250"), "{text}");
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
