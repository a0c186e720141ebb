//! Which crash states to build from a write log, pure: what a power cut
//! could have left on the device, by the block layer's contract (the one
//! dm-log-writes and CrashMonkey explore). A write received before a
//! completed flush is durable; of the writes received after the last
//! flush, a cache may have written any subset (in the order it received
//! them) and lost the rest. So a state is a *boundary* — every entry
//! before it applied — plus a subset of the writes in flight after it, up
//! to the next flush.
//!
//! A state's moment (`cut_at`) is when the power went: at the latest when
//! the next flush was received — an application's sync that returned
//! before it relied only on flushes already in the boundary — or earlier,
//! when a later write was received (the writes in flight are then those
//! received before it). Everything acknowledged before `cut_at` must be
//! found in the state. Without barriers a whole cell can be one epoch:
//! the moments within it are what tell its states apart. On a write-through device every write is
//! durable when received: its boundaries are after each write, with
//! nothing in flight.

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::log::{LogEntry, LogKind};

/// One crash state to build and verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashState {
    /// Log entries applied in full: the device as it stood after them.
    pub prefix: usize,
    /// Flushes among them.
    pub flushes: usize,
    /// Writes received after the boundary and before the state's moment.
    pub in_flight: usize,
    /// Which of them survived (log indices, in log order).
    pub kept: Vec<usize>,
    /// Syncs acknowledged before this must have left their data here.
    pub cut_at: Instant,
}

/// The states chosen, and what they were chosen from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatesPlan {
    /// In the order of their boundaries (so the image under them is
    /// rolled forward only).
    pub states: Vec<CrashState>,
    /// Boundaries in the measured phase that states could be taken at.
    pub boundaries: usize,
}

/// What to choose from a log.
#[derive(Debug, Clone, Copy)]
pub struct Choose {
    /// States at most.
    pub n: u32,
    /// Only boundaries whose moment is after this (the measured phase).
    pub from: Instant,
    /// The moment of the last boundary: when logging ended.
    pub end: Instant,
    /// A volatile cache (flush boundaries, subsets in flight), or
    /// write-through (a boundary after every write).
    pub volatile: bool,
    pub seed: u64,
    /// In-flight bytes one state may keep (they are held in memory).
    pub max_kept_bytes: u64,
}

struct Boundary {
    prefix: usize,
    flushes: usize,
    /// Log indices of the writes in flight after it.
    in_flight: Vec<usize>,
    cut_at: Instant,
}

fn is_write(e: &LogEntry) -> bool {
    matches!(e.kind, LogKind::Write { .. })
}

/// Every boundary of the log whose moment falls after `c.from`.
fn boundaries(log: &[LogEntry], c: &Choose) -> Vec<Boundary> {
    let mut out = Vec::new();
    let mut flushes = 0;
    for p in 0..=log.len() {
        if p > 0 && log[p - 1].kind == LogKind::Flush {
            flushes += 1;
        }
        let starts_one = p == 0
            || if c.volatile {
                log[p - 1].kind == LogKind::Flush
            } else {
                is_write(&log[p - 1])
            };
        if !starts_one {
            continue;
        }
        // Until the next flush (volatile), or the next write (write-through).
        let next = log[p..]
            .iter()
            .position(|e| {
                if c.volatile {
                    e.kind == LogKind::Flush
                } else {
                    is_write(e)
                }
            })
            .map(|i| p + i);
        let cut_at = next.map_or(c.end, |i| log[i].at);
        if cut_at <= c.from {
            continue;
        }
        let in_flight = if c.volatile {
            (p..next.unwrap_or(log.len()))
                .filter(|&i| is_write(&log[i]))
                .collect()
        } else {
            Vec::new()
        };
        out.push(Boundary {
            prefix: p,
            flushes,
            in_flight,
            cut_at,
        });
    }
    out
}

/// Up to `c.n` states: every boundary if there are no more than that (each
/// first exactly at the boundary, then seeded subsets of what was in
/// flight after it, round the boundaries, until `n`), else `n` boundaries
/// spread evenly, each with a seeded subset.
pub fn choose(log: &[LogEntry], c: &Choose) -> StatesPlan {
    let all = boundaries(log, c);
    let n = c.n as usize;
    if all.is_empty() || n == 0 {
        return StatesPlan {
            states: Vec::new(),
            boundaries: all.len(),
        };
    }
    // (boundary, how many states it has had before this one)
    let mut picks: Vec<(usize, usize)> = Vec::new();
    if n <= all.len() {
        let mut last = None;
        for i in 0..n {
            let b = if n == 1 {
                all.len() - 1
            } else {
                i * (all.len() - 1) / (n - 1)
            };
            if last != Some(b) {
                picks.push((b, 1));
                last = Some(b);
            }
        }
    } else {
        picks.extend((0..all.len()).map(|b| (b, 0)));
        let with_flight: Vec<usize> = (0..all.len())
            .filter(|&b| !all[b].in_flight.is_empty())
            .collect();
        let mut round = 1;
        while picks.len() < n && !with_flight.is_empty() {
            for &b in &with_flight {
                if picks.len() == n {
                    break;
                }
                picks.push((b, round));
            }
            round += 1;
        }
        picks.sort_by_key(|&(b, k)| (b, k));
    }
    let states = picks
        .into_iter()
        .enumerate()
        .map(|(i, (b, k))| {
            let b = &all[b];
            // The first state of a boundary is the boundary itself, at
            // its latest moment (the next flush); the others a seeded
            // moment in the epoch and a seeded subset of what came before.
            let mut rng = ChaCha8Rng::seed_from_u64(
                c.seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            let (received, cut_at) = match (k, b.in_flight.len()) {
                (0, w) => (w, b.cut_at),
                (_, 0) => (0, b.cut_at),
                (_, w) => match rng.random_range(1..=w) {
                    n if n == w => (w, b.cut_at),
                    n => (n, log[b.in_flight[n]].at),
                },
            };
            let kept = if k == 0 {
                Vec::new()
            } else {
                subset(log, &b.in_flight[..received], c, &mut rng)
            };
            CrashState {
                prefix: b.prefix,
                flushes: b.flushes,
                in_flight: received,
                kept,
                cut_at,
            }
        })
        .collect();
    StatesPlan {
        states,
        boundaries: all.len(),
    }
}

/// A seeded subset of `in_flight`: a share drawn for the state, then each
/// write kept with that probability, while the kept bytes fit.
fn subset(log: &[LogEntry], in_flight: &[usize], c: &Choose, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let share: f64 = rng.random();
    let mut bytes = 0u64;
    let mut kept = Vec::new();
    for &i in in_flight {
        let LogKind::Write { len, .. } = log[i].kind else {
            continue;
        };
        if rng.random::<f64>() < share && bytes + len <= c.max_kept_bytes {
            bytes += len;
            kept.push(i);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A log from a pattern: `w` a 4 KiB write, `f` a flush, one per ms.
    fn log(pattern: &str, t0: Instant) -> Vec<LogEntry> {
        pattern
            .chars()
            .enumerate()
            .map(|(i, ch)| LogEntry {
                at: t0 + Duration::from_millis(i as u64 + 1),
                kind: match ch {
                    'w' => LogKind::Write {
                        offset: i as u64 * 4096,
                        len: 4096,
                        data_at: i as u64 * 4096,
                    },
                    _ => LogKind::Flush,
                },
            })
            .collect()
    }

    fn choose_with(pattern: &str, n: u32, volatile: bool) -> (Vec<LogEntry>, StatesPlan) {
        let t0 = Instant::now();
        let l = log(pattern, t0);
        let c = Choose {
            n,
            from: t0,
            end: t0 + Duration::from_secs(1),
            volatile,
            seed: 7,
            max_kept_bytes: 1 << 30,
        };
        let p = choose(&l, &c);
        (l, p)
    }

    #[test]
    fn every_flush_boundary_first_then_subsets_of_what_was_in_flight() {
        // Boundaries: 0 (before anything), after each of the two flushes.
        let (l, p) = choose_with("wwfwwwfw", 9, true);
        assert_eq!(p.boundaries, 3);
        assert_eq!(p.states.len(), 9);
        let at = |prefix: usize| p.states.iter().filter(|s| s.prefix == prefix).count();
        assert_eq!((at(0), at(3), at(7)), (3, 3, 3));
        // Each boundary's first state is the boundary itself.
        for prefix in [0, 3, 7] {
            let first = p.states.iter().find(|s| s.prefix == prefix).unwrap();
            assert!(first.kept.is_empty());
        }
        let b3 = p.states.iter().find(|s| s.prefix == 3).unwrap();
        assert_eq!((b3.flushes, b3.in_flight), (1, 3));
        // Its moment is the next flush's; the last boundary's is the end.
        assert_eq!(b3.cut_at, l[6].at);
        assert_eq!(p.states.last().unwrap().in_flight, 1);
        // Kept writes are in flight after their boundary, in log order.
        for s in &p.states {
            assert!(s.kept.windows(2).all(|w| w[0] < w[1]));
            assert!(s
                .kept
                .iter()
                .all(|&i| i >= s.prefix && i < s.prefix + s.in_flight + 1));
        }
        // Rolled forward only.
        assert!(p.states.windows(2).all(|w| w[0].prefix <= w[1].prefix));
    }

    #[test]
    fn more_boundaries_than_states_are_spread_evenly_and_seeded() {
        let pattern = "wf".repeat(100);
        let (_, p) = choose_with(&pattern, 10, true);
        assert_eq!(p.boundaries, 101);
        assert_eq!(p.states.len(), 10);
        assert_eq!(p.states[0].prefix, 0);
        assert_eq!(p.states[9].prefix, 200);
        let (_, again) = choose_with(&pattern, 10, true);
        assert_eq!(
            p.states.iter().map(|s| &s.kept).collect::<Vec<_>>(),
            again.states.iter().map(|s| &s.kept).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_log_without_flushes_is_one_boundary_with_many_subsets() {
        // nobarrier: the whole cell is in flight after the start.
        let (l, p) = choose_with(&"w".repeat(50), 20, true);
        assert_eq!(p.boundaries, 1);
        assert_eq!(p.states.len(), 20);
        let distinct: std::collections::BTreeSet<_> = p.states.iter().map(|s| &s.kept).collect();
        assert!(distinct.len() >= 15, "{} distinct subsets", distinct.len());
        // Their moments spread over the epoch, and a state keeps only
        // writes received before its moment.
        let moments: std::collections::BTreeSet<_> = p.states.iter().map(|s| s.cut_at).collect();
        assert!(moments.len() >= 10, "{} distinct moments", moments.len());
        for s in &p.states {
            assert!(s.kept.iter().all(|&i| i < s.in_flight));
            assert!(s.in_flight == 50 || l[s.in_flight].at == s.cut_at);
        }
    }

    #[test]
    fn write_through_boundaries_follow_every_write_with_nothing_in_flight() {
        let (l, p) = choose_with("wwfw", 100, false);
        assert_eq!(p.boundaries, 4);
        assert_eq!(p.states.len(), 4, "no subsets to add");
        assert!(p
            .states
            .iter()
            .all(|s| s.kept.is_empty() && s.in_flight == 0));
        // After the second write, the next write is the moment.
        assert_eq!(p.states[2].prefix, 2);
        assert_eq!(p.states[2].cut_at, l[3].at);
    }

    #[test]
    fn only_boundaries_in_the_measured_phase_and_kept_bytes_are_capped() {
        let t0 = Instant::now();
        let l = log("wfwfwfwwww", t0);
        let c = Choose {
            n: 50,
            // After the second flush (entry 3, at t0+4ms).
            from: t0 + Duration::from_millis(4),
            end: t0 + Duration::from_secs(1),
            volatile: true,
            seed: 1,
            max_kept_bytes: 8192,
        };
        let p = choose(&l, &c);
        // Boundaries at 0 and 2 end by t0+4ms; 4 and 6 remain.
        assert_eq!(p.boundaries, 2);
        assert!(p.states.iter().all(|s| s.prefix >= 4));
        assert!(p.states.iter().all(|s| s.kept.len() <= 2));
    }
}
