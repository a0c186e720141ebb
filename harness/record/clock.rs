//! The hot path's clock: an invariant TSC read (≈11 ns here) where the
//! kernel itself trusts the TSC, CLOCK_MONOTONIC (`Instant`, ≈30 ns here)
//! everywhere else.
//!
//! The TSC is used only when the CPU says it is invariant (CPUID
//! 0x8000_0007 EDX bit 8: constant rate, runs in every C-state) *and* the
//! kernel's current clocksource is `tsc` — the kernel checks at boot that
//! the TSCs of all CPUs agree and demotes the TSC when they do not, so a
//! thread that migrates between cores reads one timeline. Ticks are turned
//! into nanoseconds with a rate calibrated against CLOCK_MONOTONIC once per
//! process (a fact of the machine, like its core count).
//!
//! A `Stamp` is only meaningful to the `Clock` that made it; `Clock`
//! converts stamps to `Instant`s for the rare places (errors, interval
//! boundaries) that need a shared timeline.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A raw clock reading: TSC ticks, or nanoseconds on the monotonic clock's
/// own scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp(u64);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Source {
    /// `rdtsc`, scaled by `ns_per_tick`.
    Tsc,
    /// `Instant::now()`, as nanoseconds since the anchor.
    Monotonic,
}

/// Fixed-point scale: ns = ticks × mult >> SHIFT.
const SHIFT: u32 = 32;

/// A calibrated clock. Copy: every recorder carries its own.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    source: Source,
    /// (ns per tick) × 2^SHIFT; 2^SHIFT for the monotonic source.
    mult: u64,
    /// The same instant on both timelines.
    anchor_instant: Instant,
    anchor: Stamp,
}

impl Clock {
    /// The process's clock: the TSC when it is safe to use, calibrated on
    /// first use (≈20 ms), else CLOCK_MONOTONIC.
    pub fn system() -> Clock {
        static CLOCK: OnceLock<Clock> = OnceLock::new();
        *CLOCK.get_or_init(|| {
            if tsc_is_trustworthy() {
                Clock::calibrate_tsc().unwrap_or_else(Clock::monotonic)
            } else {
                Clock::monotonic()
            }
        })
    }

    /// CLOCK_MONOTONIC through `Instant`.
    pub fn monotonic() -> Clock {
        Clock {
            source: Source::Monotonic,
            mult: 1 << SHIFT,
            anchor_instant: Instant::now(),
            // Room below the anchor for instants before it.
            anchor: Stamp(1 << 62),
        }
    }

    /// A one-line description for result.json and the README.
    pub fn describe(&self) -> String {
        match self.source {
            Source::Tsc => format!(
                "tsc (invariant, {:.3} GHz calibrated against CLOCK_MONOTONIC)",
                self.ticks_per_ns()
            ),
            Source::Monotonic => "CLOCK_MONOTONIC".to_string(),
        }
    }

    fn ticks_per_ns(&self) -> f64 {
        (1u64 << SHIFT) as f64 / self.mult as f64
    }

    /// Reads the clock.
    #[inline(always)]
    pub fn now(&self) -> Stamp {
        match self.source {
            Source::Tsc => Stamp(rdtsc()),
            Source::Monotonic => {
                Stamp(self.anchor.0 + self.anchor_instant.elapsed().as_nanos() as u64)
            }
        }
    }

    /// Nanoseconds from `start` to `end` (0 if `end` is earlier).
    #[inline(always)]
    pub fn ns_between(&self, start: Stamp, end: Stamp) -> u64 {
        let ticks = end.0.saturating_sub(start.0);
        ((ticks as u128 * self.mult as u128) >> SHIFT) as u64
    }

    /// The `Instant` a stamp was taken at (to within the calibration error).
    pub fn instant_of(&self, s: Stamp) -> Instant {
        if s >= self.anchor {
            self.anchor_instant + Duration::from_nanos(self.ns_between(self.anchor, s))
        } else {
            self.anchor_instant - Duration::from_nanos(self.ns_between(s, self.anchor))
        }
    }

    /// The stamp this clock reads at `t` (to within the calibration error).
    pub fn stamp_of(&self, t: Instant) -> Stamp {
        let ticks = |d: Duration| ((d.as_nanos() << SHIFT) / self.mult as u128) as u64;
        if t >= self.anchor_instant {
            Stamp(self.anchor.0.saturating_add(ticks(t - self.anchor_instant)))
        } else {
            Stamp(self.anchor.0.saturating_sub(ticks(self.anchor_instant - t)))
        }
    }

    /// Takes a fresh (Instant, stamp) pair as the anchor, so conversions
    /// near now carry neither the rate's calibration error (≈10⁻⁶)
    /// accumulated since the last anchor nor CLOCK_MONOTONIC's NTP slew.
    /// Cheap (≈100 ns): recorders call it once per interval.
    pub fn reanchor(&mut self) {
        match self.source {
            Source::Tsc => {
                let (i, t) = tight_pair();
                self.anchor_instant = i;
                self.anchor = Stamp(t);
            }
            Source::Monotonic => {}
        }
    }

    /// Measures the TSC rate against CLOCK_MONOTONIC over ≈20 ms. Each end
    /// is the tightest (Instant, tsc) pair of a few tries, so a preemption
    /// between the two reads cannot skew the rate.
    fn calibrate_tsc() -> Option<Clock> {
        let (i0, t0) = tight_pair();
        std::thread::sleep(Duration::from_millis(20));
        let (i1, t1) = tight_pair();
        let ns = i1.duration_since(i0).as_nanos() as f64;
        let ticks = t1.checked_sub(t0)? as f64;
        let ns_per_tick = ns / ticks;
        // A rate outside 0.1–20 GHz is not a TSC we understand.
        if !(0.05..=10.0).contains(&ns_per_tick) {
            return None;
        }
        Some(Clock {
            source: Source::Tsc,
            mult: (ns_per_tick * (1u64 << SHIFT) as f64).round() as u64,
            anchor_instant: i1,
            anchor: Stamp(t1),
        })
    }
}

/// The tightest (Instant, tsc) pair of a few tries: a preemption between
/// the reads widens a pair, so the narrowest is the truest.
fn tight_pair() -> (Instant, u64) {
    (0..8)
        .map(|_| {
            let a = rdtsc();
            let i = Instant::now();
            let b = rdtsc();
            (b.wrapping_sub(a), i, a / 2 + b / 2)
        })
        .min_by_key(|(width, _, _)| *width)
        .map(|(_, i, t)| (i, t))
        .expect("eight tries")
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn rdtsc() -> u64 {
    // SAFETY: rdtsc has no preconditions on x86_64.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn rdtsc() -> u64 {
    unreachable!("the TSC source is only chosen on x86_64")
}

/// Invariant TSC per CPUID, and the kernel's clocksource is the TSC.
fn tsc_is_trustworthy() -> bool {
    invariant_tsc()
        && std::fs::read_to_string(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource",
        )
        .is_ok_and(|s| s.trim() == "tsc")
}

#[cfg(target_arch = "x86_64")]
fn invariant_tsc() -> bool {
    use core::arch::x86_64::__cpuid;
    // Leaf 0x8000_0000 reports the highest extended leaf, checked before
    // 0x8000_0007 is asked.
    __cpuid(0x8000_0000).eax >= 0x8000_0007 && __cpuid(0x8000_0007).edx & (1 << 8) != 0
}

#[cfg(not(target_arch = "x86_64"))]
fn invariant_tsc() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_agrees_with_monotonic() {
        let clock = Clock::system();
        let (i0, s0) = (Instant::now(), clock.now());
        std::thread::sleep(Duration::from_millis(30));
        let (s1, i1) = (clock.now(), Instant::now());
        let ns = clock.ns_between(s0, s1) as f64;
        let mono = i1.duration_since(i0).as_nanos() as f64;
        // Within 1 % over 30 ms, with room for a preemption between reads.
        assert!((ns / mono - 1.0).abs() < 0.01, "{ns} vs {mono}");
        assert!(clock.ns_between(s1, s0) == 0, "backwards is zero, not huge");
    }

    #[test]
    fn stamps_and_instants_round_trip() {
        for clock in [Clock::system(), Clock::monotonic()] {
            let t = Instant::now() + Duration::from_millis(1500);
            let back = clock.instant_of(clock.stamp_of(t));
            let err = if back > t { back - t } else { t - back };
            assert!(
                err < Duration::from_micros(1),
                "{err:?} ({})",
                clock.describe()
            );
            let early = clock.anchor_instant - Duration::from_millis(3);
            let back = clock.instant_of(clock.stamp_of(early));
            let err = if back > early {
                back - early
            } else {
                early - back
            };
            assert!(err < Duration::from_micros(1), "{err:?}");
        }
    }

    #[test]
    fn monotonic_stamps_are_nanoseconds() {
        let clock = Clock::monotonic();
        assert_eq!(clock.ns_between(Stamp(1_000), Stamp(3_500)), 2_500);
        assert!(clock.describe().contains("MONOTONIC"));
    }
}
