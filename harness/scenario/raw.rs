//! The file as written: serde structs mirroring the YAML, every key optional
//! so that `check` decides defaults and reports every missing key at once.
//!
//! Sections are plain structs rather than tagged enums, because serde
//! buffers tagged enums and the error path is lost: for a target, a
//! workload and a fault, `RawTarget`, `RawWorkload` and `RawFault` with the
//! keys every kind has, and each kind's own struct in its file under
//! `scenario/targets/`, `scenario/workloads/` or `scenario/faults/`. Quantities go through unit newtypes that refuse
//! bare numbers.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::diag;
use super::spec::{TargetKind, WorkloadKind};
use super::units::{self, DurationRange, SizeRange, UnitError};
use super::yaml::Node;

/// A quantity written as a string with a unit (`5s`, `4KiB`, `2000/s`).
pub trait Unit: Sized {
    const EXPECTING: &'static str;
    fn parse(s: &str) -> Result<Self, UnitError>;
    /// Message for a bare number such as `5`.
    fn bare(n: &str) -> String {
        match Self::parse(n) {
            Err(e) => e.0,
            Ok(_) => format!("`{n}` has no unit"),
        }
    }
}

/// Deserializes any [`Unit`]; numbers get the "has no unit" message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct U<T>(pub T);

impl<'de, T: Unit> Deserialize<'de> for U<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<T: Unit> Visitor<'_> for V<T> {
            type Value = U<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(T::EXPECTING)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<U<T>, E> {
                T::parse(s).map(U).map_err(|e| E::custom(e.0))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<U<T>, E> {
                Err(E::custom(T::bare(&n.to_string())))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<U<T>, E> {
                Err(E::custom(T::bare(&n.to_string())))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<U<T>, E> {
                Err(E::custom(T::bare(&n.to_string())))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// The keys of serde struct `T`, in declaration order: the list its own
/// "unknown field" message names, asked of serde rather than written out.
pub fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("probed"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

impl Unit for Duration {
    const EXPECTING: &'static str = "a duration such as `5s` or `100ms`";
    fn parse(s: &str) -> Result<Self, UnitError> {
        units::parse_duration(s)
    }
}

impl Unit for DurationRange {
    const EXPECTING: &'static str = "a duration or range such as `1s..3s`";
    fn parse(s: &str) -> Result<Self, UnitError> {
        units::parse_duration_range(s)
    }
}

/// A single size (`4KiB`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Size(pub u64);

impl Unit for Size {
    const EXPECTING: &'static str = "a size such as `4KiB` or `1GiB`";
    fn parse(s: &str) -> Result<Self, UnitError> {
        units::parse_size(s).map(Size)
    }
}

impl Unit for SizeRange {
    const EXPECTING: &'static str = "a size or range such as `4KiB` or `120B..400B`";
    fn parse(s: &str) -> Result<Self, UnitError> {
        units::parse_size_range(s)
    }
}

/// Bytes per second, written as a size per second (`125MiB/s`): the part
/// before `/s` goes through the size parser.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizeRate(pub u64);

impl Unit for SizeRate {
    const EXPECTING: &'static str = "a size per second such as `125MiB/s`";
    fn parse(s: &str) -> Result<Self, UnitError> {
        let t = s.trim();
        let Some(size) = t.strip_suffix("/s") else {
            return Err(UnitError(match units::parse_size(t) {
                Ok(_) => format!("`{s}` is a size, not a size per second; write `{t}/s`"),
                Err(_) => format!("`{s}` is not a size per second; write e.g. `125MiB/s`"),
            }));
        };
        units::parse_size(size.trim_end()).map(SizeRate)
    }
    fn bare(n: &str) -> String {
        format!("`{n}` has no unit; write a size per second such as `{n}MiB/s`")
    }
}

/// Operations per second (`2000/s`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate(pub f64);

impl Unit for Rate {
    const EXPECTING: &'static str = "a rate such as `2000/s`";
    fn parse(s: &str) -> Result<Self, UnitError> {
        units::parse_rate(s).map(Rate)
    }
    fn bare(n: &str) -> String {
        format!("`{n}` has no unit; write e.g. `{n}/s`")
    }
}

/// A fraction written as a percentage (`10%`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percent(pub f64);

impl Unit for Percent {
    const EXPECTING: &'static str = "a percentage such as `10%`";
    fn parse(s: &str) -> Result<Self, UnitError> {
        units::parse_percent(s).map(Percent)
    }
}

/// A command-line argument: a string, or a number/boolean taken as written
/// (`mkfs: [-N, 20000]` should not need quotes).
#[derive(Debug, Clone, PartialEq)]
pub struct Arg(pub String);

impl<'de> Deserialize<'de> for Arg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Arg;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Arg, E> {
                Ok(Arg(s.to_string()))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Arg, E> {
                Ok(Arg(n.to_string()))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Arg, E> {
                Ok(Arg(n.to_string()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Arg, E> {
                Ok(Arg(n.to_string()))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Arg, E> {
                Ok(Arg(b.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `fsync:` as written: a word, or a one-key map `{every: N}` /
/// `{interval: 100ms}`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RawFsync {
    Always,
    Never,
    End,
    OnClose,
    Every(u64),
    EveryBytes(u64),
    Interval(Duration),
}

const FSYNC_WORDS: &[&str] = &["always", "never", "end", "on_close"];
const FSYNC_KEYS: &[&str] = &["every", "every_bytes", "interval"];

impl<'de> Deserialize<'de> for RawFsync {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawFsync;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "always, never, end, on_close, {every: N}, {every_bytes: 1MiB} or {interval: 100ms}",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawFsync, E> {
                Ok(match s {
                    "always" => RawFsync::Always,
                    "never" => RawFsync::Never,
                    "end" => RawFsync::End,
                    "on_close" => RawFsync::OnClose,
                    "every" | "every_bytes" | "interval" => {
                        let example = match s {
                            "every" => "8",
                            "every_bytes" => "1MiB",
                            _ => "100ms",
                        };
                        return Err(E::custom(format!(
                            "`{s}` needs a value: write `{{{s}: {example}}}`"
                        )));
                    }
                    _ => return Err(E::custom(fsync_unknown(s))),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawFsync, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(de::Error::custom(
                        "an empty mapping; write e.g. `{every: 8}`, `{every_bytes: 1MiB}` or `{interval: 100ms}`",
                    ));
                };
                let policy = match key.as_str() {
                    "every" => RawFsync::Every(map.next_value()?),
                    "every_bytes" => RawFsync::EveryBytes(map.next_value::<U<Size>>()?.0 .0),
                    "interval" => RawFsync::Interval(map.next_value::<U<Duration>>()?.0),
                    other => {
                        return Err(de::Error::custom(diag::unknown(
                            "fsync policy",
                            other,
                            FSYNC_KEYS,
                        )))
                    }
                };
                if map.next_key::<String>()?.is_some() {
                    return Err(de::Error::custom(
                        "give one policy: `{every: N}`, `{every_bytes: SIZE}` or `{interval: D}`, not several",
                    ));
                }
                Ok(policy)
            }
        }
        d.deserialize_any(V)
    }
}

fn fsync_unknown(s: &str) -> String {
    match diag::suggest(s, FSYNC_WORDS) {
        Some(w) => format!("unknown value `{s}`, did you mean `{w}`?"),
        None => format!(
            "unknown value `{s}`; expected one of: always, never, end, on_close, {{every: N}}, {{every_bytes: 1MiB}}, {{interval: 100ms}}"
        ),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawSyncCall {
    Fsync,
    Fdatasync,
    SyncFileRange,
    ODsync,
    OSync,
    Syncfs,
}

/// `payload:` as written: `random`, `zeros`, or `{compressible: 0.5}`
/// (a fraction, or a percentage such as `50%`). The fraction's range is
/// checked by `check`, which knows the key path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RawPayload {
    Random,
    Zeros,
    Compressible(f64),
}

const PAYLOAD_WORDS: &[&str] = &["random", "zeros", "compressible"];

/// A fraction written as a number (`0.5`) or a percentage (`50%`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fraction(pub f64);

impl<'de> Deserialize<'de> for Fraction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Fraction;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a fraction such as `0.5` or a percentage such as `50%`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Fraction, E> {
                units::parse_percent(s)
                    .map(Fraction)
                    .map_err(|e| E::custom(e.0))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Fraction, E> {
                Ok(Fraction(n as f64))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Fraction, E> {
                Ok(Fraction(n as f64))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Fraction, E> {
                Ok(Fraction(n))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawPayload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawPayload;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("random, zeros or {compressible: 0.5}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawPayload, E> {
                match s {
                    "random" => Ok(RawPayload::Random),
                    "zeros" => Ok(RawPayload::Zeros),
                    "compressible" => Err(E::custom(
                        "`compressible` needs a fraction: write `{compressible: 0.5}` or `{compressible: 50%}`",
                    )),
                    _ => Err(E::custom(match diag::suggest(s, PAYLOAD_WORDS) {
                        Some(w) => format!("unknown value `{s}`, did you mean `{w}`?"),
                        None => format!(
                            "unknown value `{s}`; expected one of: random, zeros, {{compressible: 0.5}}"
                        ),
                    })),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawPayload, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(de::Error::custom(
                        "an empty mapping; write e.g. `{compressible: 0.5}`",
                    ));
                };
                let payload = match key.as_str() {
                    "compressible" => RawPayload::Compressible(map.next_value::<Fraction>()?.0),
                    other => {
                        return Err(de::Error::custom(diag::unknown(
                            "payload",
                            other,
                            &["compressible"],
                        )))
                    }
                };
                if map.next_key::<String>()?.is_some() {
                    return Err(de::Error::custom(
                        "give one payload: `{compressible: 0.5}` has a single key",
                    ));
                }
                Ok(payload)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawFaultKind {
    Crash,
    PowerLoss,
    Enospc,
    Eio,
    Throttle,
    NoisyNeighbor,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub version: Option<u64>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub seed: Option<u64>,
    pub duration: Option<U<Duration>>,
    pub ops: Option<u64>,
    pub warmup: Option<U<Duration>>,
    pub interval: Option<U<Duration>>,
    pub repeat: Option<u64>,
    /// Entries are deserialized one at a time so that one bad entry does
    /// not hide the errors of the others.
    pub targets: Option<Vec<Node>>,
    pub workloads: Option<Vec<Node>>,
    pub faults: Option<Vec<Node>>,
    pub gates: Option<Vec<Node>>,
    pub compare: Option<Node>,
}

/// `compare:` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCompare {
    pub baseline: Option<String>,
    pub min_effect: Option<U<Percent>>,
}

/// The keys every target has: its name and kind, its options, its size
/// (taken by tmpfs, ext4 and xfs), and `reuse`. A kind's own keys are read
/// by its file's raw struct under `scenario/targets/`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub name: Option<String>,
    pub kind: Option<TargetKind>,
    pub options: Option<Vec<String>>,
    pub reuse: Option<bool>,
    pub vary: Option<Node>,
    pub size: Option<U<Size>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpper {
    pub kind: Option<TargetKind>,
    pub size: Option<U<Size>>,
    pub options: Option<Vec<String>>,
    pub mkfs: Option<Vec<Arg>>,
    #[serde(rename = "loop")]
    pub loop_dev: Option<RawLoop>,
    pub device: Option<super::device::RawDevice>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLower {
    pub files: Option<u64>,
    pub file_size: Option<U<SizeRange>>,
    pub dirs: Option<u64>,
    pub layers: Option<u64>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLoop {
    pub direct_io: Option<bool>,
}

/// The keys of a workload entry that are not its kind's own: its name and
/// kind, how it runs, and the writing settings (`fsync` … `payload`) that
/// some kinds take (each kind's file says which). A kind's own keys are
/// read by its file's raw struct.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    pub name: Option<String>,
    pub kind: Option<WorkloadKind>,
    pub threads: Option<u64>,
    pub rate: Option<U<Rate>>,
    pub think_time: Option<U<Duration>>,
    pub vary: Option<Node>,
    pub fsync: Option<RawFsync>,
    pub sync_call: Option<RawSyncCall>,
    pub fsync_dir: Option<bool>,
    pub o_direct: Option<bool>,
    pub payload: Option<RawPayload>,
}

/// The keys every fault has: its kind, what it selects, and its moment
/// and trials (taken by a crash). A kind's own keys are read by its file's
/// raw struct under `scenario/faults/`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    pub kind: Option<RawFaultKind>,
    pub target: Option<String>,
    pub workload: Option<String>,
    pub at: Option<U<DurationRange>>,
    pub after_ops: Option<u64>,
    pub trials: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGate {
    /// What verdicts call the gate (`wal-p95`); its position otherwise.
    pub name: Option<String>,
    pub select: Option<RawSelect>,
    pub baseline: Option<RawBaseline>,
    /// Limits at the warn level.
    pub warn: Option<RawLimits>,
    /// Limits at the fail level (the same as giving them at the top).
    pub fail: Option<RawLimits>,
    pub p50: Option<U<Duration>>,
    pub p90: Option<U<Duration>>,
    pub p95: Option<U<Duration>>,
    pub p99: Option<U<Duration>>,
    pub p999: Option<U<Duration>>,
    pub max: Option<U<Duration>>,
    pub mean: Option<U<Duration>>,
    pub throughput: Option<U<Rate>>,
    pub error_rate: Option<U<Percent>>,
    pub write_amplification: Option<f64>,
    pub acked_lost: Option<u64>,
}

impl RawGate {
    /// The limits given at the top of the gate (fail level).
    pub fn top_limits(&self) -> RawLimits {
        RawLimits {
            p50: self.p50,
            p90: self.p90,
            p95: self.p95,
            p99: self.p99,
            p999: self.p999,
            max: self.max,
            mean: self.mean,
            throughput: self.throughput,
            error_rate: self.error_rate,
            write_amplification: self.write_amplification,
            acked_lost: self.acked_lost,
        }
    }
}

/// The limits of a `warn:` or `fail:` level (the same keys as a gate's top).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub p50: Option<U<Duration>>,
    pub p90: Option<U<Duration>>,
    pub p95: Option<U<Duration>>,
    pub p99: Option<U<Duration>>,
    pub p999: Option<U<Duration>>,
    pub max: Option<U<Duration>>,
    pub mean: Option<U<Duration>>,
    pub throughput: Option<U<Rate>>,
    pub error_rate: Option<U<Percent>>,
    pub write_amplification: Option<f64>,
    pub acked_lost: Option<u64>,
}

/// A gate file (`--gate ci/gate.yaml`): gates without a scenario.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGateFile {
    pub version: Option<u64>,
    pub gates: Option<Vec<Node>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSelect {
    pub target: Option<String>,
    pub workload: Option<String>,
    pub op: Option<String>,
    pub fault: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBaseline {
    pub max_regression: Option<U<Percent>>,
    /// A smaller significant regression that only warns.
    pub warn_regression: Option<U<Percent>>,
}
