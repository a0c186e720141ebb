//! Criterion benches of wpbench's own per-operation cost:
//!
//! - the recording hot path: a clock read and a record into the
//!   per-thread histogram (target ≤ 25 ns), a whole timed op, and the parts;
//! - each workload's per-op bookkeeping with a null target: the real
//!   `Worker::step` of every workload kind with its syscalls replaced by
//!   no-ops (`workload::sys::null_kernel`), timed and recorded as in a run;
//! - interval rotation: turning a second's counts into histograms, merging
//!   them in the collector and writing the .hlog line;
//! - histogram merge and serialization.
//!
//!   cargo bench --bench hot_path

use std::hint::black_box;
use std::path::Path;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion};
use wpbench::record::{encode_histogram, new_histogram, spawn_collector, Op, Recorder, INTERVAL};
use wpbench::workload::{self, sys::null_kernel, Step};

/// A recorder whose intervals are drained by a thread, so rotation does not
/// pile up memory.
fn recorder() -> Recorder {
    let (tx, rx) = channel();
    std::thread::spawn(move || for _ in rx {});
    Recorder::new(0, Instant::now(), tx)
}

fn record(c: &mut Criterion) {
    let mut rec = recorder();
    let t0 = rec.now();
    c.bench_function("timestamp + record", |b| {
        b.iter(|| {
            let t1 = rec.now();
            rec.record_stamps(black_box(Op::Write), t0, t1);
        })
    });
    c.bench_function("timed op (two timestamps + record)", |b| {
        b.iter(|| rec.time(black_box(Op::Write), || Ok(())))
    });
    c.bench_function("clock read (recorder clock)", |b| b.iter(|| rec.now()));
    c.bench_function("Instant::now", |b| b.iter(Instant::now));
    let start = rec.now();
    c.bench_function("record only", |b| {
        b.iter(|| rec.record_stamps(black_box(Op::Write), start, black_box(start)))
    });
    c.bench_function("record only (hdrhistogram's own record)", |b| {
        let mut h = new_histogram();
        b.iter(|| h.record(black_box(1_234)).unwrap())
    });
}

/// One workload of each kind, as a scenario would give it (1 thread; the
/// null kernel stands in for the target). Not copy_up: it touches each
/// file once and then ends, so it cannot run the millions of steps a bench
/// needs; its step is a name lookup and one timed chmod (the "timed op"
/// bench).
const WORKLOADS: &str = r#"
version: 1
name: bench
duration: 1s
targets:
  - {name: t, kind: tmpfs, size: 64MiB}
workloads:
  - {name: small_files, kind: small_files, file_size: 4KiB, fsync: always}
  - {name: fsync_heavy, kind: fsync_heavy, record_size: 4KiB, file_size: 1MiB, fsync: always}
  - {name: log_append, kind: log_append, line_size: 200B, file_size: 100KiB, fsync: on_close}
  - {name: read_atime, kind: read_atime, files: 100, file_size: 4KiB}
  - {name: metadata, kind: metadata, files: 100}
  - name: sequence
    kind: sequence
    files: 100
    steps: [create, {write: 16KiB}, fsync, close, open, {append: 16KiB}, fsync, close, open, read, close, stat, unlink]
"#;

fn workload_steps(c: &mut Criterion) {
    let scenario = wpbench::scenario::load_str(WORKLOADS, Path::new("bench.yaml"))
        .expect("the bench scenario is valid");
    let mut group = c.benchmark_group("workload step, null target");
    for spec in &scenario.workloads {
        // Setup (pre-created files, a preallocated log) is real, in a
        // temporary directory; only the measured steps meet the null kernel.
        let dir = tempfile::tempdir().expect("a temporary directory");
        let work = workload::build(spec);
        let mut worker = work
            .worker(
                dir.path(),
                0,
                42,
                workload::Verification::Off,
                &wpbench::cancel::Cancel::new(),
            )
            .expect("worker setup");
        let mut rec = recorder();
        let unit = work.unit_op();
        null_kernel::with(|| {
            // The null kernel must leave the workload's path intact: every
            // step completes, as on a healthy target.
            for _ in 0..1000 {
                let step = worker.step(&mut rec);
                assert_eq!(step, Step::Done, "{}: {step:?}", spec.name);
            }
            group.bench_function(spec.name.as_str(), |b| {
                b.iter(|| {
                    // As the engine does: the unit op around the step.
                    let t0 = rec.now();
                    let step = worker.step(&mut rec);
                    let t1 = rec.now();
                    rec.record_stamps(unit, t0, t1);
                    black_box(step)
                })
            });
        });
    }
    group.finish();
}

/// One second of a busy thread: 1000 samples of each of three ops,
/// spread over four decades.
fn fill_interval(rec: &mut Recorder, t: Instant) {
    for k in 0..1000u64 {
        let end = t + Duration::from_nanos(1_000 + k * k * 10);
        for op in [Op::Write, Op::Fsync, Op::Record] {
            rec.record(op, t, end);
        }
    }
}

fn rotation(c: &mut Criterion) {
    // Worker side: the op that crosses into the next interval turns the
    // interval's counts into histograms and hands them to the collector.
    c.bench_function("interval rotation, worker side (3 ops)", |b| {
        b.iter_custom(|iters| {
            let mut rec = recorder();
            let start = Instant::now();
            let mut spent = Duration::ZERO;
            for i in 0..iters as u32 {
                let t = start + INTERVAL * i;
                fill_interval(&mut rec, t);
                let next = t + INTERVAL;
                let timer = Instant::now();
                rec.record(Op::Write, next, next);
                spent += timer.elapsed();
            }
            spent
        })
    });
    // Collector side: merging each interval's samples into the cell's
    // totals and writing its .hlog lines (encoded, buffered, flushed at
    // the end), from a thread that has already finished recording.
    c.bench_function("interval rotation, collector + .hlog (3 ops)", |b| {
        b.iter_custom(|iters| {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let (tx, collector) = spawn_collector(
                1,
                Op::Record,
                INTERVAL,
                SystemTime::now(),
                Some((dir.path().join("cell.hlog"), "bench".into())),
            )
            .expect("collector");
            // Record into a private channel first, so only the collector's
            // work is timed.
            let (own_tx, own_rx) = channel();
            let start = Instant::now();
            let mut rec = Recorder::new(0, start, own_tx);
            for i in 0..iters as u32 {
                fill_interval(&mut rec, start + INTERVAL * i);
            }
            rec.finish();
            let samples: Vec<_> = own_rx.try_iter().collect();
            let timer = Instant::now();
            for s in samples {
                tx.send(s).expect("collector running");
            }
            drop(tx);
            black_box(collector.join(None).expect("collector"));
            timer.elapsed()
        })
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

criterion_group!(
    benches,
    record,
    workload_steps,
    rotation,
    merge_and_serialize
);
criterion_main!(benches);
