//! `device:` on an ext4 or xfs target: the emulated block device its loop
//! device's image is served from (a FUSE daemon of the run's own; see
//! `target::emudev`). A cloud volume is its latency and its IOPS and
//! bandwidth budget, which — unlike the blkio throttle — never charges a
//! flush; a disk with a volatile write cache loses what was not flushed.
//! Pure: the keys, their checks, and the named profiles.

use std::time::Duration;

use serde::Deserialize;

use super::check::Ctx;
use super::diag;
use super::raw::{Size, SizeRate, U};
use super::units::DurationRange;

const MIB: u64 = 1 << 20;

/// A checked `device:`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceSpec {
    /// The profile it started from, if any (recorded in results).
    pub profile: Option<&'static str>,
    /// Service time of each read or write, uniform in `[min, max]`.
    pub latency: DurationRange,
    pub write_iops: Option<u32>,
    pub read_iops: Option<u32>,
    pub write_bps: Option<u64>,
    pub read_bps: Option<u64>,
    pub flush_latency: Duration,
    pub cache: DeviceCache,
}

/// The device's write cache.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeviceCache {
    /// Acknowledged = durable.
    WriteThrough,
    /// Acknowledged from a cache of `size` bytes, durable at the next flush
    /// or once the cache writes it back on its own (`destage_after` old,
    /// or to make room).
    Volatile { size: u64, destage_after: Duration },
}

/// `cache: volatile` without a size: a 64 MiB cache destaging what is 200 ms old.
pub const VOLATILE_SIZE: u64 = 64 * MIB;
pub const VOLATILE_DESTAGE: Duration = Duration::from_millis(200);

/// A named volume class: its published budget and an assumed typical
/// round trip (providers publish budgets, not latencies: see
/// docs/emulated-device.md for the sources).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeviceProfile {
    pub name: &'static str,
    pub iops: u32,
    pub bps: u64,
    pub latency: (Duration, Duration),
}

const fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

const fn mb(n: u64) -> u64 {
    n * 1_000_000
}

/// The classes `profile:` accepts. IOPS and bandwidth are the provider's
/// figures (each direction gets the whole budget); the latency is a
/// typical round trip, not a promise.
pub const DEVICE_PROFILES: &[DeviceProfile] = &[
    // AWS EBS gp3 baseline: 3,000 IOPS, 125 MiB/s; "single-digit ms".
    DeviceProfile {
        name: "gp3",
        iops: 3000,
        bps: 125 * MIB,
        latency: (us(600), us(1200)),
    },
    // gp2: 3 IOPS/GiB (min 100); 128 MiB/s up to 170 GiB, 250 MiB/s from 334 GiB.
    DeviceProfile {
        name: "gp2-100gib",
        iops: 300,
        bps: 128 * MIB,
        latency: (us(600), us(1200)),
    },
    DeviceProfile {
        name: "gp2-1tib",
        iops: 3072,
        bps: 250 * MIB,
        latency: (us(600), us(1200)),
    },
    // io2 Block Express, 16,000 IOPS provisioned, 1,000 MiB/s; "sub-millisecond".
    DeviceProfile {
        name: "io2-16000",
        iops: 16000,
        bps: 1000 * MIB,
        latency: (us(250), us(500)),
    },
    // GCP pd-balanced, 100 GiB: 3,000 + 6/GiB IOPS, 140 + 0.28/GiB MB/s.
    DeviceProfile {
        name: "pd-balanced-100gib",
        iops: 3600,
        bps: mb(168),
        latency: (us(800), us(1500)),
    },
    // GCP pd-ssd, 100 GiB: 6,000 + 30/GiB IOPS, 240 + 0.48/GiB MB/s.
    DeviceProfile {
        name: "pd-ssd-100gib",
        iops: 9000,
        bps: mb(288),
        latency: (us(500), us(1000)),
    },
    // Azure Premium SSD P10 (128 GiB): 500 IOPS, 100 MB/s; "single-digit ms".
    DeviceProfile {
        name: "azure-p10",
        iops: 500,
        bps: mb(100),
        latency: (us(1000), us(2000)),
    },
    // Azure Premium SSD P30 (1 TiB): 5,000 IOPS, 200 MB/s.
    DeviceProfile {
        name: "azure-p30",
        iops: 5000,
        bps: mb(200),
        latency: (us(1000), us(2000)),
    },
];

pub fn device_profile(name: &str) -> Option<&'static DeviceProfile> {
    DEVICE_PROFILES.iter().find(|p| p.name == name)
}

/// The keys as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDevice {
    kind: Option<String>,
    profile: Option<String>,
    latency: Option<U<DurationRange>>,
    write_iops: Option<u64>,
    read_iops: Option<u64>,
    write_bps: Option<U<SizeRate>>,
    read_bps: Option<U<SizeRate>>,
    flush_latency: Option<U<Duration>>,
    cache: Option<RawCache>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawCache {
    Name(String),
    Map {
        kind: String,
        size: Option<U<Size>>,
        destage_after: Option<U<Duration>>,
    },
}

/// A device's IOPS ceiling: a bucket of a few hundred thousand tokens a
/// second is beyond what the FUSE path itself can serve.
const MAX_IOPS: u64 = 1_000_000;

/// Checks `device:` at `at` (its key path); None when it is wrong (reported).
pub(in crate::scenario) fn check_device(
    raw: RawDevice,
    cx: &mut Ctx,
    at: &str,
) -> Option<DeviceSpec> {
    let key = |k: &str| super::yaml::join(at, k);
    let before = cx.error_count();
    match raw.kind.as_deref() {
        Some("emulated") => {}
        None => cx.err(
            &key("kind"),
            "missing required key `kind`: `emulated` (the image is served by wpbench's own \
             device, with a latency, an IOPS budget and a cache)",
        ),
        Some(k) => cx.err(
            &key("kind"),
            format!("`{k}` is not a device kind; the one kind is `emulated`"),
        ),
    }
    let profile = raw
        .profile
        .as_deref()
        .and_then(|p| match device_profile(p) {
            Some(p) => Some(p),
            None => {
                let names: Vec<&str> = DEVICE_PROFILES.iter().map(|p| p.name).collect();
                cx.err(&key("profile"), diag::unknown("profile", p, &names));
                None
            }
        });
    let iops = |cx: &mut Ctx, k: &str, v: Option<u64>| -> Option<u32> {
        match v {
            Some(0) => {
                cx.err(
                    &key(k),
                    "must be at least 1 (leave the key out for no limit)",
                );
                None
            }
            Some(n) if n > MAX_IOPS => {
                cx.err(
                    &key(k),
                    format!("at most {MAX_IOPS} (leave the key out for no limit)"),
                );
                None
            }
            Some(n) => Some(n as u32),
            None => None,
        }
    };
    let bps = |cx: &mut Ctx, k: &str, v: Option<U<SizeRate>>| -> Option<u64> {
        match v.map(|U(r)| r.0) {
            Some(0) => {
                cx.err(
                    &key(k),
                    "must be at least 1B/s (leave the key out for no limit)",
                );
                None
            }
            other => other,
        }
    };
    let write_iops = iops(cx, "write_iops", raw.write_iops);
    let read_iops = iops(cx, "read_iops", raw.read_iops);
    let write_bps = bps(cx, "write_bps", raw.write_bps);
    let read_bps = bps(cx, "read_bps", raw.read_bps);
    let second = Duration::from_secs(1);
    let latency = raw.latency.map(|U(l)| l);
    if latency.is_some_and(|l| l.max > second) {
        cx.err(&key("latency"), "at most 1s a request: a device slower than that stalls the filesystem's journal, not the workload");
    }
    let flush_latency = raw.flush_latency.map_or(Duration::ZERO, |U(d)| d);
    if flush_latency > second {
        cx.err(&key("flush_latency"), "at most 1s");
    }
    let cache = match &raw.cache {
        None => DeviceCache::WriteThrough,
        Some(RawCache::Name(n)) if n == "write_through" => DeviceCache::WriteThrough,
        Some(RawCache::Name(n)) if n == "volatile" => DeviceCache::Volatile {
            size: VOLATILE_SIZE,
            destage_after: VOLATILE_DESTAGE,
        },
        Some(RawCache::Map {
            kind,
            size,
            destage_after,
        }) if kind == "volatile" => {
            let size = size.map_or(VOLATILE_SIZE, |U(Size(s))| s);
            if size < MIB {
                cx.err(&key("cache"), "a volatile cache of less than 1MiB holds less than one large write; give size: 1MiB or more");
            }
            DeviceCache::Volatile {
                size,
                destage_after: destage_after.map_or(VOLATILE_DESTAGE, |U(d)| d),
            }
        }
        Some(RawCache::Name(n) | RawCache::Map { kind: n, .. }) => {
            cx.err(
                &key("cache"),
                format!("`{n}` is not a cache; use write_through (the default) or volatile (or {{kind: volatile, size: 64MiB, destage_after: 200ms}})"),
            );
            DeviceCache::WriteThrough
        }
    };
    if cx.error_count() > before {
        return None;
    }
    let p = profile;
    Some(DeviceSpec {
        profile: p.map(|p| p.name),
        latency: latency.unwrap_or(DurationRange {
            min: p.map_or(Duration::ZERO, |p| p.latency.0),
            max: p.map_or(Duration::ZERO, |p| p.latency.1),
        }),
        write_iops: write_iops.or(p.map(|p| p.iops)),
        read_iops: read_iops.or(p.map(|p| p.iops)),
        write_bps: write_bps.or(p.map(|p| p.bps)),
        read_bps: read_bps.or(p.map(|p| p.bps)),
        flush_latency,
        cache,
    })
}
