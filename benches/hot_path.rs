//! Criterion benches of wpbench's own per-operation cost: taking two
//! timestamps and recording into the per-thread histogram, and the
//! collector's merge and serialization of an interval.
//!
//!   cargo bench --bench hot_path

use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use wpbench::record::{encode_histogram, new_histogram, Op, Recorder};

fn record(c: &mut Criterion) {
    let (tx, rx) = channel();
    // Drain interval samples so rotation does not pile up memory.
    std::thread::spawn(move || for _ in rx {});
    let mut rec = Recorder::new(0, Instant::now(), tx);
    c.bench_function("timestamp + record", |b| {
        b.iter(|| {
            let t0 = Instant::now();
            let t1 = Instant::now();
            rec.record(black_box(Op::Write), t0, t1);
        })
    });
    c.bench_function("Instant::now", |b| b.iter(Instant::now));
    #[cfg(target_arch = "x86_64")]
    c.bench_function("rdtsc", |b| {
        // SAFETY: rdtsc has no preconditions on x86_64.
        b.iter(|| unsafe { core::arch::x86_64::_rdtsc() })
    });
    let t0 = Instant::now();
    c.bench_function("record only", |b| {
        b.iter(|| rec.record(black_box(Op::Write), t0, t0 + Duration::from_nanos(1234)))
    });
}

fn merge_and_serialize(c: &mut Criterion) {
    let mut h = new_histogram();
    for v in 0..100_000u64 {
        h.record(1_000 + (v * 7919) % 5_000_000).unwrap();
    }
    c.bench_function("merge one interval histogram", |b| {
        let mut total = new_histogram();
        b.iter(|| total.add(black_box(&h)).unwrap())
    });
    c.bench_function("serialize (V2 deflate + base64)", |b| {
        b.iter(|| encode_histogram(black_box(&h)))
    });
}

criterion_group!(benches, record, merge_and_serialize);
criterion_main!(benches);
