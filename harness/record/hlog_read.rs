//! Reads back the HdrHistogram interval logs (`*.hlog`) that the collector
//! writes, so reports and charts can show a cell interval by interval
//! ([`HlogData::series`], each interval with its real length).
//!
//! The format is the standard one (Java `HistogramLogReader`, version 1.3):
//! `#` comment lines (`#[StartTime: …]` and `#[BaseTime: …]` among them),
//! an optional CSV legend line (`"StartTimestamp","Interval_Length",…`;
//! wpbench's older logs have one), then one line per interval and tag:
//! `Tag=<op>,<start s>,<length s>,<max>,<base64 of a V2-deflate
//! histogram>`. The tag is optional in the format. Start
//! timestamps are relative to BaseTime, which wpbench sets to the start of
//! the measured phase; values are nanoseconds. wpbench's own comment
//! `#[Interval: <seconds> (seconds)]` names the nominal interval length
//! (logs before it had 1 s intervals and no such line).

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::time::Duration;

use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::Histogram;

use super::collector::INTERVAL_HEADER;
use super::decode_histogram;
use super::interval::Tail;

/// One line of the log: one op's histogram over one interval.
#[derive(Debug, Clone, PartialEq)]
pub struct HlogInterval {
    /// The op name (`Tag=`), or `None` for an untagged line.
    pub tag: Option<String>,
    /// Seconds from the log's BaseTime (the measured phase's start).
    pub start_s: f64,
    pub length_s: f64,
    /// The interval's max as written (ms for wpbench's logs); the
    /// histogram's own max is exact, this is only for the record.
    pub max: f64,
    /// The histogram as written (base64 of V2 deflate), checked when read.
    /// Kept encoded: a decoded histogram holds its full bucket array
    /// (~270 KiB), and an hour-long cell has thousands of intervals.
    pub encoded: String,
}

impl HlogInterval {
    pub fn new(tag: Option<&str>, start_s: f64, length_s: f64, hist: &Histogram<u64>) -> Self {
        HlogInterval {
            tag: tag.map(str::to_string),
            start_s,
            length_s,
            max: hist.max() as f64 / 1e6,
            encoded: super::encode_histogram(hist),
        }
    }

    /// Latencies in ns (decoded now; keep it only as long as needed).
    pub fn hist(&self) -> Histogram<u64> {
        decode_histogram(&self.encoded).unwrap_or_else(super::new_histogram)
    }
}

/// A whole interval log, lines in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HlogData {
    /// `#[StartTime: …]`, seconds since the epoch.
    pub start_time_s: Option<f64>,
    /// `#[BaseTime: …]`, seconds since the epoch.
    pub base_time_s: Option<f64>,
    /// `#[Interval: …]`: the nominal interval length, seconds.
    pub interval_s: Option<f64>,
    pub intervals: Vec<HlogInterval>,
}

/// One interval of a series, laid out by the rule in
/// [`crate::record::interval`]: where it starts, its real length, and what
/// one op did in it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPoint {
    pub start_s: f64,
    pub length_s: f64,
    /// Ops completed in it.
    pub count: u64,
    /// Their p99 latency (ns); None when there were none.
    pub p99_ns: Option<f64>,
}

impl SeriesPoint {
    /// Ops per second over the interval's real length.
    pub fn rate(&self) -> f64 {
        if self.length_s > 0.0 {
            self.count as f64 / self.length_s
        } else {
            0.0
        }
    }
}

impl HlogData {
    /// The intervals of one op, in file order.
    pub fn tagged<'a>(&'a self, tag: &'a str) -> impl Iterator<Item = &'a HlogInterval> + 'a {
        self.intervals
            .iter()
            .filter(move |i| i.tag.as_deref() == Some(tag))
    }

    /// The series of op `tag`: one point per interval of the measured
    /// phase, with its real length, gaps (no line at all) as zero.
    ///
    /// A log with an `#[Interval: …]` line was laid out by its writer (see
    /// [`crate::record::interval`]): each point takes its lines' own start
    /// and length, and the log's last interval ends the series. An older
    /// log wrote every interval a whole second long, the last one
    /// included: its intervals are laid out here by the same rule, the last
    /// one cut at `end_s` (the cell's `duration_s`; without it, the end of
    /// the log's last line) and folded into the one before when a sliver.
    /// `interval_s` is the nominal interval length when known (result.json's
    /// `interval_s`), else the log's own, else its first line's length. At
    /// most `max_points` points; lines past them are left out.
    pub fn series(
        &self,
        tag: &str,
        interval_s: Option<f64>,
        end_s: Option<f64>,
        max_points: usize,
    ) -> Vec<SeriesPoint> {
        let positive = |v: &f64| v.is_finite() && *v > 0.0;
        let valid = |i: &&HlogInterval| i.start_s.is_finite() && i.start_s >= 0.0;
        let nominal = interval_s
            .filter(positive)
            .or(self.interval_s.filter(positive))
            .or_else(|| self.intervals.iter().map(|i| i.length_s).find(positive))
            .unwrap_or(1.0);
        let index = |start: f64| (start / nominal).round().max(0.0) as u64;
        // Each point's (start, length), and for an older log the layout
        // that says which point a line of index k is counted in.
        let (spans, tail): (Vec<(f64, f64)>, Option<Tail>) = if self.interval_s.is_some() {
            let mut laid: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
            for i in self.intervals.iter().filter(valid) {
                let length = if positive(&i.length_s) {
                    i.length_s
                } else {
                    nominal
                };
                laid.entry(index(i.start_s)).or_insert((i.start_s, length));
            }
            let n = laid.last_key_value().map_or(0, |(k, _)| k + 1);
            let n = n.min(max_points as u64);
            let spans = (0..n)
                .map(|k| {
                    laid.get(&k)
                        .copied()
                        .unwrap_or((k as f64 * nominal, nominal))
                })
                .collect();
            (spans, None)
        } else {
            let lines = || self.tagged(tag).filter(valid);
            // Every line starts before the end (an op completed in it
            // before the cell ended); a `duration_s` that says otherwise is
            // not trusted.
            let last_start = lines().map(|i| i.start_s).fold(0.0, f64::max);
            let log_end = lines()
                .map(|i| i.start_s + i.length_s)
                .filter(|e| e.is_finite())
                .fold(0.0, f64::max);
            let end = match end_s.filter(positive) {
                Some(e) if e > last_start => e,
                _ => log_end.max(last_start),
            };
            if end <= 0.0 {
                return Vec::new();
            }
            let secs = |s: f64| Duration::from_secs_f64(s.clamp(0.0, 1e12));
            let tail = Tail::new(secs(nominal), secs(end));
            let n = tail.len().min(max_points as u64);
            let spans = (0..n)
                .map(|k| {
                    let span = tail.span(k);
                    (span.start_s(), span.length_s())
                })
                .collect();
            (spans, Some(tail))
        };
        let mut points: Vec<SeriesPoint> = spans
            .iter()
            .map(|&(start_s, length_s)| SeriesPoint {
                start_s,
                length_s,
                count: 0,
                p99_ns: None,
            })
            .collect();
        // One point's histogram at a time (usually one line's), so memory
        // does not grow with the length of the cell.
        let mut homed: Vec<(usize, &HlogInterval)> = self
            .tagged(tag)
            .filter(valid)
            .map(|i| {
                let k = index(i.start_s);
                (tail.map_or(k, |t| t.home(k)) as usize, i)
            })
            .filter(|(k, _)| *k < points.len())
            .collect();
        homed.sort_by_key(|(k, _)| *k);
        for group in homed.chunk_by(|a, b| a.0 == b.0) {
            let mut h = super::new_histogram();
            for (_, i) in group {
                // Histograms from other tools may have other bounds: a
                // failed add only loses that line, never the series.
                let _ = h.add(i.hist());
            }
            let p = &mut points[group[0].0];
            p.count = h.len();
            p.p99_ns = (!h.is_empty()).then(|| h.value_at_quantile(0.99) as f64);
        }
        points
    }

    /// The op tags present, sorted and deduplicated.
    pub fn tags(&self) -> Vec<&str> {
        let mut tags: Vec<&str> = self
            .intervals
            .iter()
            .filter_map(|i| i.tag.as_deref())
            .collect();
        tags.sort_unstable();
        tags.dedup();
        tags
    }
}

/// Why a log could not be read, with the 1-based line number.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("hlog line {line}: {what}")]
pub struct HlogError {
    pub line: usize,
    pub what: String,
}

/// Parses the text of an interval log with the hdrhistogram crate's
/// `IntervalLogIterator`, one line at a time: the crate reports a bad line
/// only as a byte offset and rejects blank lines and a last line without a
/// newline, so the lines are split here, which keeps the line numbers and
/// accepts what the format's other readers (Java, Python) accept.
pub fn parse_hlog(text: &str) -> Result<HlogData, HlogError> {
    let mut data = HlogData::default();
    let mut buf = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let err = |what: &str| HlogError {
            line: i + 1,
            what: what.to_string(),
        };
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line
            .strip_prefix('#')
            .and_then(|l| l.strip_prefix(INTERVAL_HEADER))
        {
            let secs = rest.split_whitespace().next().unwrap_or("");
            match secs.trim_end_matches(']').parse::<f64>() {
                Ok(v) if v.is_finite() && v > 0.0 => data.interval_s = Some(v),
                _ => {
                    return Err(err(
                        "the interval length is not a positive number of seconds",
                    ))
                }
            }
            continue;
        }
        buf.clear();
        buf.push_str(line);
        buf.push('\n');
        match IntervalLogIterator::new(buf.as_bytes()).next() {
            // A comment or the CSV legend line.
            None => {}
            Some(Err(_)) => {
                return Err(err(
                    "expected a comment or `[Tag=<tag>,]<start>,<length>,<max>,<histogram>` \
                     (times in seconds, with a decimal point)",
                ))
            }
            Some(Ok(LogEntry::StartTime(t))) => data.start_time_s = Some(t.as_secs_f64()),
            Some(Ok(LogEntry::BaseTime(t))) => data.base_time_s = Some(t.as_secs_f64()),
            Some(Ok(LogEntry::Interval(h))) => {
                let encoded = h.encoded_histogram().trim();
                decode_histogram(encoded)
                    .ok_or_else(|| err("the histogram is not base64 of a V2 histogram"))?;
                if !h.max().is_finite() {
                    return Err(err("the max is not a number"));
                }
                data.intervals.push(HlogInterval {
                    tag: h.tag().map(|t| t.as_str().to_string()),
                    start_s: h.start_timestamp().as_secs_f64(),
                    length_s: h.duration().as_secs_f64(),
                    max: h.max(),
                    encoded: encoded.to_string(),
                });
            }
        }
    }
    Ok(data)
}

/// Reads and parses an interval log file.
pub fn read_hlog(path: &Path) -> io::Result<HlogData> {
    let text = std::fs::read_to_string(path)?;
    parse_hlog(&text).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::record::collector::HlogFile;
    use crate::record::new_histogram;

    fn hist(values: &[u64]) -> Histogram<u64> {
        let mut h = new_histogram();
        for v in values {
            h.record(*v).unwrap();
        }
        h
    }

    #[test]
    fn reads_what_the_writer_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cell.hlog");
        let start = UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
        let mut f = HlogFile::create(
            path.clone(),
            "wpbench test\nsecond line",
            start,
            Duration::from_millis(250),
        )
        .unwrap();
        let mut w = f.begin().unwrap();
        let a = hist(&[1_000, 2_000, 3_000_000]);
        let b = hist(&[50_000]);
        let empty = new_histogram();
        let sec = Duration::from_secs(1);
        w.write("file", Duration::ZERO, sec, &a).unwrap();
        w.write("fsync", Duration::ZERO, sec, &b).unwrap();
        w.write("file", sec, sec, &b).unwrap();
        w.write("file", sec * 2, sec, &empty).unwrap();
        drop(w);
        f.finish().unwrap();

        // The header wpbench has always written (less the legend line),
        // plus its interval length and rule, and the crate's note of the
        // max's unit.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with(
                "#wpbench test\n#second line\n#[Histogram log format version 1.3]\n\
                 #[Interval: 0.250 (seconds)]\n\
                 #intervals are written with their real length: the last one ends with the \
                 cell, and is folded into the one before when shorter than a quarter interval\n\
                 #[StartTime: 1700000000.250 (seconds since epoch)]\n\
                 #[BaseTime: 1700000000.250 (seconds since epoch)]\n\
                 #[MaxValueDivisor: 1000000.000]\nTag=file,0.000,1.000,3.000,HISTF"
            ),
            "{text}"
        );

        let data = read_hlog(&path).unwrap();
        assert_eq!(data.interval_s, Some(0.25));
        assert_eq!(data.start_time_s, Some(1_700_000_000.25));
        assert_eq!(data.base_time_s, Some(1_700_000_000.25));
        assert_eq!(data.intervals.len(), 4);
        assert_eq!(data.tags(), ["file", "fsync"]);
        let file: Vec<&HlogInterval> = data.tagged("file").collect();
        assert_eq!(file.len(), 3);
        assert_eq!(file[0].hist(), a);
        assert_eq!(file[0].start_s, 0.0);
        assert_eq!(file[0].length_s, 1.0);
        assert_eq!(file[0].max, 3.0); // ms, as the writer spells it
        assert_eq!(file[1].start_s, 1.0);
        assert_eq!(file[1].hist(), b);
        assert_eq!(file[2].hist().len(), 0);
    }

    #[test]
    fn accepts_untagged_lines_and_names_bad_lines() {
        let b64 = crate::record::encode_histogram(&hist(&[7]));
        let text = format!("#[BaseTime: 10.000 (seconds since epoch)]\n\n0.5,1.0,0.0,{b64}\n");
        let data = parse_hlog(&text).unwrap();
        assert_eq!(data.start_time_s, None);
        assert_eq!(data.base_time_s, Some(10.0));
        assert_eq!(data.intervals[0].tag, None);
        assert_eq!(data.intervals[0].start_s, 0.5);

        let e = parse_hlog("#c\nTag=file,0.0,1.0,0.0,!!!\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.to_string().contains("base64"), "{e}");
        // The crate's parser says only that a line is bad, not why.
        let e = parse_hlog(&format!("#c\n\nTag=file,x,1.0,0.0,{b64}")).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.to_string().contains("expected a comment or"), "{e}");
        let e = parse_hlog("Tag=file,1.0,2.0").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse_hlog("#c\n#[Interval: soon (seconds)]\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(parse_hlog("").unwrap(), HlogData::default());
    }

    fn line(tag: &str, start_s: f64, length_s: f64, n: u64) -> HlogInterval {
        let values: Vec<u64> = (1..=n).map(|v| v * 1000).collect();
        HlogInterval::new(Some(tag), start_s, length_s, &hist(&values))
    }

    fn summary(points: &[SeriesPoint]) -> Vec<(f64, f64, u64)> {
        // Rounded to µs: the spans come from nanoseconds.
        let r = |v: f64| (v * 1e6).round() / 1e6;
        points
            .iter()
            .map(|p| (r(p.start_s), r(p.length_s), p.count))
            .collect()
    }

    #[test]
    fn an_old_log_gets_its_last_interval_cut_at_the_cells_end() {
        // Written before intervals had real lengths: 1 s each, the last
        // one included, for a cell that ran 2.48 s.
        let data = HlogData {
            intervals: vec![
                line("record", 0.0, 1.0, 1370),
                line("fsync", 0.0, 1.0, 5),
                line("record", 1.0, 1.0, 1400),
                line("record", 2.0, 1.0, 700),
            ],
            ..HlogData::default()
        };
        let s = data.series("record", None, Some(2.48), 1000);
        assert_eq!(
            summary(&s),
            [(0.0, 1.0, 1370), (1.0, 1.0, 1400), (2.0, 0.48, 700)]
        );
        // 700 ops over 0.48 s, not over a second: no invented drop.
        assert!(s[2].rate() > 1400.0, "{}", s[2].rate());
        // A 7 ms straggler second is folded into the one before.
        let data = HlogData {
            intervals: vec![line("record", 0.0, 1.0, 1000), line("record", 1.0, 1.0, 3)],
            ..HlogData::default()
        };
        let s = data.series("record", None, Some(1.007), 1000);
        assert_eq!(summary(&s), [(0.0, 1.007, 1003)]);
        // No duration: the log's own end.
        assert_eq!(data.series("record", None, None, 1000).len(), 2);
        assert!(data.series("read", None, Some(1.007), 1000)[0]
            .p99_ns
            .is_none());
    }

    #[test]
    fn a_new_log_reads_as_written_and_gaps_are_zero() {
        let data = HlogData {
            interval_s: Some(0.1),
            intervals: vec![
                line("record", 0.0, 0.1, 10),
                line("record", 0.2, 0.1, 12),
                // Another source's line of the same interval adds up.
                line("record", 0.2, 0.1, 3),
                // The last, folded with a 0.4 ms sliver when written
                // (lengths are written to the millisecond).
                line("record", 0.3, 0.1, 9),
            ],
            ..HlogData::default()
        };
        // Its own layout, whatever the cell's duration (the series ends at
        // the deadline; the threads a little later).
        let s = data.series("record", None, Some(0.4104), 1000);
        assert_eq!(
            summary(&s),
            [(0.0, 0.1, 10), (0.1, 0.1, 0), (0.2, 0.1, 15), (0.3, 0.1, 9)]
        );
        assert!(s[1].p99_ns.is_none() && s[0].p99_ns.is_some());
        // Capped.
        assert_eq!(data.series("record", None, Some(0.4004), 2).len(), 2);
        // A last interval cut at 48 ms, in which nothing completed, ends
        // the series as an empty line.
        let data = HlogData {
            interval_s: Some(0.1),
            intervals: vec![line("record", 0.0, 0.1, 10), line("record", 0.1, 0.048, 0)],
            ..HlogData::default()
        };
        let s = data.series("record", None, Some(0.2), 1000);
        assert_eq!(summary(&s), [(0.0, 0.1, 10), (0.1, 0.048, 0)]);
        // The layout is every op's: the series of an op without lines
        // still spans the cell.
        assert_eq!(data.series("fsync", None, None, 1000).len(), 2);
    }
}
