//! Units of the scenario language: durations, sizes, rates and ranges of them.
//!
//! Every quantity needs its unit: a bare number where a unit is needed is an
//! error, because `size: 1000` could mean bytes, KiB or blocks and a wrong
//! guess silently skews a benchmark.

use std::fmt;
use std::time::Duration;

/// A parse failure of one quantity, phrased for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitError(pub String);

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits "12.5ms" into (12.5, "ms").
fn split_number(s: &str) -> Option<(f64, &str)> {
    let s = s.trim();
    let end = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.' || *c == '_'))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    let digits: String = s[..end].chars().filter(|c| *c != '_').collect();
    let value: f64 = digits.parse().ok()?;
    Some((value, s[end..].trim()))
}

const DURATION_UNITS: &[(&str, f64)] = &[
    ("ns", 1.0),
    ("us", 1e3),
    ("µs", 1e3),
    ("ms", 1e6),
    ("s", 1e9),
    ("m", 60e9),
    ("h", 3600e9),
];

/// Parses `5s`, `100ms`, `1.5s`, `2m`. Units: ns us ms s m h.
pub fn parse_duration(s: &str) -> Result<Duration, UnitError> {
    let (value, unit) = split_number(s).ok_or_else(|| {
        UnitError(format!(
            "`{s}` is not a duration; write e.g. `5s` or `100ms`"
        ))
    })?;
    if unit.is_empty() {
        return Err(UnitError(format!(
            "`{s}` has no unit; write e.g. `{s}s` or `{s}ms` (units: ns us ms s m h)"
        )));
    }
    let factor = DURATION_UNITS
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|(_, f)| *f)
        .ok_or_else(|| {
            UnitError(format!(
                "`{s}`: unknown duration unit `{unit}` (units: ns us ms s m h)"
            ))
        })?;
    let nanos = value * factor;
    if !nanos.is_finite() || nanos > u64::MAX as f64 {
        return Err(UnitError(format!("`{s}` is too long a duration")));
    }
    Ok(Duration::from_nanos(nanos.round() as u64))
}

const SIZE_UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
    ("K", 1 << 10),
    ("M", 1 << 20),
    ("G", 1 << 30),
    ("T", 1 << 40),
];

/// Parses `4KiB`, `1GiB`, `512B`, `2M` (K M G are binary, as in mount options).
pub fn parse_size(s: &str) -> Result<u64, UnitError> {
    let (value, unit) = split_number(s)
        .ok_or_else(|| UnitError(format!("`{s}` is not a size; write e.g. `4KiB` or `1GiB`")))?;
    if unit.is_empty() {
        return Err(UnitError(format!(
            "`{s}` has no unit; write e.g. `{s}B` or `{s}KiB` (units: B KiB MiB GiB TiB, or K M G T)"
        )));
    }
    let factor = SIZE_UNITS
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|(_, f)| *f)
        .ok_or_else(|| {
            let hint = match unit {
                "KB" | "kB" | "kb" => " (did you mean `KiB`?)",
                "MB" | "mb" => " (did you mean `MiB`?)",
                "GB" | "gb" => " (did you mean `GiB`?)",
                _ => "",
            };
            UnitError(format!(
                "`{s}`: unknown size unit `{unit}`{hint} (units: B KiB MiB GiB TiB, or K M G T)"
            ))
        })?;
    let bytes = value * factor as f64;
    if bytes.fract() != 0.0 {
        return Err(UnitError(format!("`{s}` is not a whole number of bytes")));
    }
    if !bytes.is_finite() || bytes > u64::MAX as f64 {
        return Err(UnitError(format!("`{s}` is too large")));
    }
    Ok(bytes as u64)
}

/// Parses `2000/s`, `50/ms`, `600/m`, returning operations per second.
pub fn parse_rate(s: &str) -> Result<f64, UnitError> {
    let Some((count, per)) = s.split_once('/') else {
        return Err(UnitError(format!(
            "`{s}` is not a rate; write e.g. `2000/s` (per second)"
        )));
    };
    let (value, rest) = split_number(count)
        .filter(|(_, rest)| rest.is_empty())
        .ok_or_else(|| UnitError(format!("`{s}`: `{count}` is not a number")))?;
    debug_assert!(rest.is_empty());
    let per_secs = match per.trim() {
        "s" => 1.0,
        "ms" => 1e-3,
        "us" => 1e-6,
        "m" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(UnitError(format!(
                "`{s}`: unknown rate unit `/{other}` (use /s, /ms, /m or /h)"
            )))
        }
    };
    Ok(value / per_secs)
}

/// Parses `10%` into the fraction 0.10. A bare number is refused: `10`
/// could mean 10% or 1000%.
pub fn parse_percent(s: &str) -> Result<f64, UnitError> {
    let t = s.trim();
    let Some(num) = t.strip_suffix('%') else {
        return Err(match split_number(t) {
            Some((_, "")) => UnitError(format!("`{s}` has no unit; write e.g. `{t}%`")),
            _ => UnitError(format!("`{s}` is not a percentage; write e.g. `10%`")),
        });
    };
    match split_number(num) {
        Some((value, "")) => Ok(value / 100.0),
        _ => Err(UnitError(format!(
            "`{s}` is not a percentage; write e.g. `10%`"
        ))),
    }
}

/// A quantity that is either fixed (`4KiB`) or drawn uniformly with the
/// scenario's seed from an inclusive range (`120B..400B`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SizeRange {
    pub min: u64,
    pub max: u64,
}

impl SizeRange {
    pub const fn fixed(v: u64) -> Self {
        SizeRange { min: v, max: v }
    }
    pub fn is_fixed(&self) -> bool {
        self.min == self.max
    }
}

impl fmt::Display for SizeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_fixed() {
            write!(f, "{}", format_size(self.min))
        } else {
            write!(f, "{}..{}", format_size(self.min), format_size(self.max))
        }
    }
}

/// Parses `4KiB` or `120B..400B`. The range must not be upside down.
pub fn parse_size_range(s: &str) -> Result<SizeRange, UnitError> {
    match s.split_once("..") {
        None => Ok(SizeRange::fixed(parse_size(s)?)),
        Some((lo, hi)) => {
            let (min, max) = (parse_size(lo)?, parse_size(hi)?);
            if min > max {
                return Err(UnitError(format!(
                    "`{s}` is upside down: the lower bound is larger than the upper"
                )));
            }
            Ok(SizeRange { min, max })
        }
    }
}

/// An inclusive range of durations, e.g. `at: 1s..3s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationRange {
    pub min: Duration,
    pub max: Duration,
}

pub fn parse_duration_range(s: &str) -> Result<DurationRange, UnitError> {
    match s.split_once("..") {
        None => {
            let d = parse_duration(s)?;
            Ok(DurationRange { min: d, max: d })
        }
        Some((lo, hi)) => {
            let (min, max) = (parse_duration(lo)?, parse_duration(hi)?);
            if min > max {
                return Err(UnitError(format!(
                    "`{s}` is upside down: the lower bound is later than the upper"
                )));
            }
            Ok(DurationRange { min, max })
        }
    }
}

/// Human-readable size with a binary unit: 4096 → "4KiB", 1536 → "1.5KiB".
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 {
        format!("{}{}", value as u64, UNITS[unit])
    } else {
        format!("{:.1}{}", value, UNITS[unit])
    }
}

/// A count with its noun, singular for one: `1 repeat`, `3 repeats`.
pub fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Human-readable latency from nanoseconds with three significant figures:
/// 950 → "950ns", 1234 → "1.23µs", 2_500_000 → "2.50ms".
pub fn format_nanos(ns: u64) -> String {
    let v = ns as f64;
    let (value, unit) = if v < 1e3 {
        return format!("{ns}ns");
    } else if v < 1e6 {
        (v / 1e3, "µs")
    } else if v < 1e9 {
        (v / 1e6, "ms")
    } else {
        (v / 1e9, "s")
    };
    if value >= 100.0 {
        format!("{value:.0}{unit}")
    } else if value >= 10.0 {
        format!("{value:.1}{unit}")
    } else {
        format!("{value:.2}{unit}")
    }
}

/// Human-readable duration for progress lines: "4.2s", "1m05s".
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1}s")
    } else {
        let m = (s / 60.0).floor();
        format!("{}m{:02.0}s", m as u64, s - m * 60.0)
    }
}

/// A duration in the largest unit that holds it exactly ("5ms", "1500us",
/// "2m"): what a scenario would say, and parses back to the same value.
pub fn format_duration_exact(d: Duration) -> String {
    let ns = d.as_nanos();
    const UNITS: [(u128, &str); 6] = [
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
        (1, "ns"),
    ];
    let (scale, unit) = UNITS
        .iter()
        .find(|(scale, _)| ns.is_multiple_of(*scale) && ns >= *scale)
        .copied()
        .unwrap_or((1, "ns"));
    format!("{}{unit}", ns / scale)
}

/// Throughput with sensible precision: 1234.6 → "1235", 56.78 → "56.8", 0.5 → "0.50".
pub fn format_rate(per_sec: f64) -> String {
    if !per_sec.is_finite() {
        "-".to_string()
    } else if per_sec >= 100.0 {
        format!("{per_sec:.0}")
    } else if per_sec >= 10.0 {
        format!("{per_sec:.1}")
    } else {
        format!("{per_sec:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_the_singular_for_one() {
        assert_eq!(plural(1u64, "repeat", "repeats"), "1 repeat");
        assert_eq!(plural(0u64, "cell", "cells"), "0 cells");
        assert_eq!(plural(3u32, "cell run", "cell runs"), "3 cell runs");
    }

    #[test]
    fn exact_durations_round_trip() {
        for text in ["5ms", "100us", "1500ms", "2m", "1h", "7ns", "0ns", "90s"] {
            let d = parse_duration(text).unwrap();
            assert_eq!(format_duration_exact(d), text);
            assert_eq!(parse_duration(&format_duration_exact(d)).unwrap(), d);
        }
    }

    #[test]
    fn durations_need_units() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250us").unwrap(), Duration::from_micros(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert!(parse_duration("5").unwrap_err().0.contains("no unit"));
        assert!(parse_duration("5 parsecs")
            .unwrap_err()
            .0
            .contains("unknown"));
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn sizes_are_binary_and_need_units() {
        assert_eq!(parse_size("4KiB").unwrap(), 4096);
        assert_eq!(parse_size("4K").unwrap(), 4096);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("1.5KiB").unwrap(), 1536);
        assert_eq!(parse_size("120B").unwrap(), 120);
        assert!(parse_size("4096").unwrap_err().0.contains("no unit"));
        assert!(parse_size("4KB").unwrap_err().0.contains("KiB"));
        assert!(parse_size("0.3B").is_err());
    }

    #[test]
    fn ranges_must_not_be_upside_down() {
        assert_eq!(
            parse_size_range("120B..400B").unwrap(),
            SizeRange { min: 120, max: 400 }
        );
        assert_eq!(parse_size_range("4KiB").unwrap(), SizeRange::fixed(4096));
        assert!(parse_size_range("400B..120B")
            .unwrap_err()
            .0
            .contains("upside down"));
        assert!(parse_duration_range("3s..1s").is_err());
        let r = parse_duration_range("1s..3s").unwrap();
        assert_eq!(r.max, Duration::from_secs(3));
    }

    #[test]
    fn rates_are_per_second() {
        assert_eq!(parse_rate("2000/s").unwrap(), 2000.0);
        assert_eq!(parse_rate("60/m").unwrap(), 1.0);
        assert_eq!(parse_rate("2/ms").unwrap(), 2000.0);
        assert!(parse_rate("2000").is_err());
        assert!(parse_rate("2000/fortnight").is_err());
    }

    #[test]
    fn percents_are_fractions() {
        assert_eq!(parse_percent("10%").unwrap(), 0.10);
        assert_eq!(parse_percent("0.5%").unwrap(), 0.005);
        assert!(parse_percent("10").unwrap_err().0.contains("no unit"));
        assert!(parse_percent("ten%").is_err());
        assert!(parse_percent("-5%").is_err());
    }

    #[test]
    fn formatting_is_readable() {
        assert_eq!(format_size(4096), "4KiB");
        assert_eq!(format_size(1536), "1.5KiB");
        assert_eq!(format_nanos(950), "950ns");
        assert_eq!(format_nanos(1234), "1.23µs");
        assert_eq!(format_nanos(2_500_000), "2.50ms");
        assert_eq!(format_nanos(123_456_789), "123ms");
    }
}
