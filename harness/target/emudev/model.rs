//! The device model: how long a request takes and how fast requests may
//! start. Pure — time is passed in as a `Duration` since the device started
//! — so every rule here is unit-tested without a clock.
//!
//! A request starts when the token buckets allow it (IOPS: one token per
//! read or write; bandwidth: one token per byte) and completes a latency
//! later, drawn uniformly from `latency` with the device's seed. Flushes
//! are **never charged** against a bucket (cloud volumes do not count them
//! as IOs, unlike the blkio/io.max throttle); they complete after
//! `flush_latency`.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What the emulated device is like.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceModel {
    /// Service time of a read or write: uniform in `[lo, hi]`, seeded.
    pub latency: (Duration, Duration),
    pub write_iops: Option<u32>,
    pub read_iops: Option<u32>,
    /// Bytes per second.
    pub write_bps: Option<u64>,
    pub read_bps: Option<u64>,
    /// Service time of a flush (a cache flush: fsync of the image).
    pub flush_latency: Duration,
    pub cache: CacheModel,
}

impl Default for DeviceModel {
    /// No latency, no limits, write-through: the cost of the FUSE path alone.
    fn default() -> DeviceModel {
        DeviceModel {
            latency: (Duration::ZERO, Duration::ZERO),
            write_iops: None,
            read_iops: None,
            write_bps: None,
            read_bps: None,
            flush_latency: Duration::ZERO,
            cache: CacheModel::WriteThrough,
        }
    }
}

/// The device's write cache.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CacheModel {
    /// A write is on stable storage when it is acknowledged.
    WriteThrough,
    /// A write is acknowledged from a cache of `size` bytes and becomes
    /// durable at the next flush, or when the cache writes it back on its
    /// own: once it is `destage_after` old, or to make room (oldest first).
    Volatile { size: u64, destage_after: Duration },
}

impl CacheModel {
    /// Defaults of `cache: volatile`: a 64 MiB cache that writes back
    /// what is 200 ms old.
    pub const VOLATILE_DEFAULT: CacheModel = CacheModel::Volatile {
        size: 64 << 20,
        destage_after: Duration::from_millis(200),
    };
}

/// One request to the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Read(u64),
    Write(u64),
    Flush,
}

/// How much a bucket lets through at once: this long at its rate (at
/// least one request). Small, so a rate holds over fractions of a second
/// as a cloud volume's baseline does; a burst-credit model (gp2) would be
/// another bucket in front.
pub const BURST: Duration = Duration::from_millis(10);

/// A token bucket with time passed in. Requests reserve in arrival order:
/// a request waits until the bucket holds `min(cost, burst)` tokens, then
/// takes `cost` (the bucket may go into debt, so a request larger than the
/// burst is admitted once the bucket is full and pays it off after).
#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Tokens per second.
    rate: f64,
    burst: f64,
    tokens: f64,
    /// The time `tokens` refers to (the start of the last admitted request,
    /// which may lie ahead of the caller's now when requests are queued).
    at: Duration,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64) -> TokenBucket {
        assert!(
            rate > 0.0 && burst > 0.0,
            "a bucket needs a positive rate and burst"
        );
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            at: Duration::ZERO,
        }
    }

    /// A bucket of `rate` per second holding [`BURST`] worth, at least `min_burst`.
    pub fn with_rate(rate: f64, min_burst: f64) -> TokenBucket {
        TokenBucket::new(rate, (rate * BURST.as_secs_f64()).max(min_burst))
    }

    /// Reserves `cost` tokens for a request arriving at `now`; returns when
    /// it may start (never before `now`).
    pub fn reserve(&mut self, now: Duration, cost: f64) -> Duration {
        let t = now.max(self.at);
        self.tokens = (self.tokens + (t - self.at).as_secs_f64() * self.rate).min(self.burst);
        let need = cost.min(self.burst);
        let start = if self.tokens >= need {
            t
        } else {
            t + Duration::from_secs_f64((need - self.tokens) / self.rate)
        };
        let tokens_at_start = if start == t { self.tokens } else { need };
        self.tokens = tokens_at_start - cost;
        self.at = start;
        start
    }
}

/// The model's state while a device runs: its buckets and its seeded
/// latency draws.
#[derive(Debug, Clone)]
pub struct Timing {
    latency: (Duration, Duration),
    flush_latency: Duration,
    write_iops: Option<TokenBucket>,
    read_iops: Option<TokenBucket>,
    write_bps: Option<TokenBucket>,
    read_bps: Option<TokenBucket>,
    rng: ChaCha8Rng,
}

impl Timing {
    pub fn new(model: &DeviceModel, seed: u64) -> Timing {
        let iops = |r: Option<u32>| {
            r.filter(|&r| r > 0)
                .map(|r| TokenBucket::with_rate(f64::from(r), 1.0))
        };
        // A byte bucket holds at least one 4 KiB block.
        let bps = |r: Option<u64>| {
            r.filter(|&r| r > 0)
                .map(|r| TokenBucket::with_rate(r as f64, 4096.0))
        };
        let (lo, hi) = model.latency;
        Timing {
            latency: (lo.min(hi), lo.max(hi)),
            flush_latency: model.flush_latency,
            write_iops: iops(model.write_iops),
            read_iops: iops(model.read_iops),
            write_bps: bps(model.write_bps),
            read_bps: bps(model.read_bps),
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// When a request arriving at `now` may start: after the IOPS bucket,
    /// then the bandwidth bucket, let it. Flushes start at once.
    pub fn start_at(&mut self, now: Duration, op: Op) -> Duration {
        let (iops, bps, bytes) = match op {
            Op::Flush => return now,
            Op::Write(n) => (&mut self.write_iops, &mut self.write_bps, n),
            Op::Read(n) => (&mut self.read_iops, &mut self.read_bps, n),
        };
        let mut start = now;
        if let Some(b) = iops {
            start = b.reserve(start, 1.0);
        }
        if let Some(b) = bps {
            start = b.reserve(start, bytes as f64);
        }
        start
    }

    /// When a request arriving at `now` may complete: its start plus its
    /// service time (a latency draw; `flush_latency` for a flush).
    pub fn complete_at(&mut self, now: Duration, op: Op) -> Duration {
        let start = self.start_at(now, op);
        start + self.service_time(op)
    }

    fn service_time(&mut self, op: Op) -> Duration {
        if op == Op::Flush {
            return self.flush_latency;
        }
        let (lo, hi) = self.latency;
        if lo == hi {
            return lo;
        }
        Duration::from_nanos(
            self.rng
                .random_range(lo.as_nanos() as u64..=hi.as_nanos() as u64),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn an_iops_bucket_spaces_requests_at_its_rate() {
        let mut b = TokenBucket::new(100.0, 1.0);
        // Ten requests at once: the first starts now, the rest 10 ms apart.
        let starts: Vec<Duration> = (0..10).map(|_| b.reserve(ms(0), 1.0)).collect();
        for (i, s) in starts.iter().enumerate() {
            let want = ms(10 * i as u64);
            assert!(s.abs_diff(want) < Duration::from_micros(1), "{i}: {s:?}");
        }
        // After a quiet second the bucket is full again (burst 1): at once.
        assert_eq!(b.reserve(ms(2000), 1.0), ms(2000));
        assert!(b.reserve(ms(2000), 1.0).abs_diff(ms(2010)) < Duration::from_micros(1));
    }

    #[test]
    fn a_burst_lets_that_many_through_at_once() {
        let mut b = TokenBucket::new(1000.0, 10.0);
        let starts: Vec<Duration> = (0..12).map(|_| b.reserve(ms(0), 1.0)).collect();
        assert!(starts[..10].iter().all(|s| *s == ms(0)));
        assert!(starts[10].abs_diff(ms(1)) < Duration::from_micros(1));
        assert!(starts[11].abs_diff(ms(2)) < Duration::from_micros(1));
    }

    #[test]
    fn a_request_larger_than_the_burst_waits_for_a_full_bucket_and_pays_after() {
        // 1 MB/s, burst 4096 B: a 100 kB write starts at once (full
        // bucket) and leaves a debt; the next 4096 B waits until the debt
        // is paid and its own 4096 B are there again: 100 ms.
        let mut b = TokenBucket::new(1e6, 4096.0);
        assert_eq!(b.reserve(ms(0), 100_000.0), ms(0));
        let next = b.reserve(ms(0), 4096.0);
        assert!(
            next.abs_diff(Duration::from_micros(100_000)) < Duration::from_micros(1),
            "{next:?}"
        );
    }

    #[test]
    fn a_closed_loop_of_write_and_flush_is_not_slowed_by_flushes() {
        // write_iops 100: a write + flush per record, each taking no time,
        // runs 100 records per simulated second — flushes cost no token.
        let model = DeviceModel {
            write_iops: Some(100),
            ..DeviceModel::default()
        };
        let mut t = Timing::new(&model, 1);
        let mut now = Duration::ZERO;
        let mut records = 0;
        while now < Duration::from_secs(1) {
            now = t.complete_at(now, Op::Write(4096));
            now = t.complete_at(now, Op::Flush);
            records += 1;
        }
        assert!((100..=101).contains(&records), "{records} records in 1 s");
    }

    #[test]
    fn flushes_take_their_own_latency_and_reads_their_own_buckets() {
        let model = DeviceModel {
            latency: (ms(1), ms(1)),
            flush_latency: ms(5),
            write_iops: Some(10),
            ..DeviceModel::default()
        };
        let mut t = Timing::new(&model, 1);
        assert_eq!(t.complete_at(ms(0), Op::Write(4096)), ms(1));
        assert_eq!(t.complete_at(ms(0), Op::Flush), ms(5));
        // Reads are not limited by the write bucket.
        assert_eq!(t.complete_at(ms(0), Op::Read(4096)), ms(1));
        assert_eq!(t.complete_at(ms(0), Op::Read(4096)), ms(1));
        // The second write waits 100 ms for its token.
        assert_eq!(t.complete_at(ms(0), Op::Write(4096)), ms(101));
    }

    #[test]
    fn bandwidth_limits_bytes() {
        let model = DeviceModel {
            write_bps: Some(1 << 20),
            ..DeviceModel::default()
        };
        let mut t = Timing::new(&model, 1);
        // 4 MiB in 64 KiB writes issued at once: the last starts ~4 s later
        // (less the first bucket's worth).
        let mut last = Duration::ZERO;
        for _ in 0..64 {
            last = t.complete_at(ms(0), Op::Write(64 << 10));
        }
        let want = Duration::from_secs_f64(63.0 * 65536.0 / 1048576.0);
        assert!(last.abs_diff(want) < ms(20), "{last:?} vs {want:?}");
    }

    #[test]
    fn latency_is_drawn_in_its_range_and_the_seed_repeats_it() {
        let model = DeviceModel {
            latency: (Duration::from_micros(600), Duration::from_micros(1200)),
            ..DeviceModel::default()
        };
        let draws = |seed| {
            let mut t = Timing::new(&model, seed);
            (0..1000)
                .map(|_| t.complete_at(ms(0), Op::Write(4096)))
                .collect::<Vec<_>>()
        };
        let a = draws(7);
        assert_eq!(a, draws(7));
        assert_ne!(a, draws(8));
        assert!(a
            .iter()
            .all(|d| (Duration::from_micros(600)..=Duration::from_micros(1200)).contains(d)));
        let mean = a.iter().sum::<Duration>() / a.len() as u32;
        assert!(
            mean.abs_diff(Duration::from_micros(900)) < Duration::from_micros(50),
            "{mean:?}"
        );
    }
}
