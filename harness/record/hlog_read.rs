//! Reads back the HdrHistogram interval logs (`*.hlog`) that the collector
//! writes, so reports and charts can show a cell second by second.
//!
//! The format is the standard one (Java `HistogramLogReader`, version 1.3):
//! `#` comment lines (`#[StartTime: …]` and `#[BaseTime: …]` among them),
//! an optional CSV legend line (`"StartTimestamp","Interval_Length",…`;
//! wpbench's older logs have one), then one line per interval and tag:
//! `Tag=<op>,<start s>,<length s>,<max>,<base64 of a V2-deflate
//! histogram>`. The tag is optional in the format. Start
//! timestamps are relative to BaseTime, which wpbench sets to the start of
//! the measured phase; values are nanoseconds.

use std::io;
use std::path::Path;

use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::Histogram;

use super::decode_histogram;

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
    pub intervals: Vec<HlogInterval>,
}

impl HlogData {
    /// The intervals of one op, in file order.
    pub fn tagged<'a>(&'a self, tag: &'a str) -> impl Iterator<Item = &'a HlogInterval> + 'a {
        self.intervals
            .iter()
            .filter(move |i| i.tag.as_deref() == Some(tag))
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
        let mut f = HlogFile::create(path.clone(), "wpbench test\nsecond line", start).unwrap();
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
        // plus the crate's note of the max's unit.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with(
                "#wpbench test\n#second line\n#[Histogram log format version 1.3]\n\
                 #[StartTime: 1700000000.250 (seconds since epoch)]\n\
                 #[BaseTime: 1700000000.250 (seconds since epoch)]\n\
                 #[MaxValueDivisor: 1000000.000]\nTag=file,0.000,1.000,3.000,HISTF"
            ),
            "{text}"
        );

        let data = read_hlog(&path).unwrap();
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
        assert_eq!(parse_hlog("").unwrap(), HlogData::default());
    }
}
