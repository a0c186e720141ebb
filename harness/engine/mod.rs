//! The engine room: runs one cell — a workload's threads on a provisioned
//! target — through warm-up and the measured phase, with closed-loop or
//! open-loop (rate-controlled) pacing, and reports progress to an observer.
//!
//! Nothing here prints: progress goes to an `Observer`, results to the
//! collector.

pub mod armed;
pub mod crash;
pub mod preflight;
pub mod run;
mod trial;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::cancel::Cancel;
use crate::device::blockstat::{self, BlockDev, DiskStat};
use crate::error::{Error, Result};
use crate::record::errno::errno_name;
use crate::record::{spawn_collector, CellTotals, IntervalSample, Op, Recorder, Stamp};
use crate::scenario::units::format_size;
use crate::scenario::Stop;
use crate::workload::ledger::Ledger;
use crate::workload::{Step, Verification, Worker, Workload};

/// A thread that fails this many unit ops in a row stops, with a note:
/// a full or dead filesystem would otherwise spin (unless its worker says
/// its failures are results, [`Worker::failures_are_results`]).
pub const MAX_CONSECUTIVE_FAILURES: u32 = 1000;

/// Everything one cell needs.
pub struct CellPlan<'a> {
    pub workload: &'a dyn Workload,
    pub root: &'a Path,
    pub threads: u32,
    pub seed: u64,
    pub warmup: Duration,
    pub stop: Stop,
    /// Open-loop rate per thread, unit ops per second.
    pub rate: Option<f64>,
    /// Closed loop: a pause after each unit op.
    pub think_time: Option<Duration>,
    /// Where to stream the interval log, and its header comment.
    pub hlog: Option<(PathBuf, String)>,
    /// The length of the interval log's intervals (see
    /// [`crate::record::interval`]).
    pub interval: Duration,
    /// The block device under the target, whose counters are read around
    /// the cell (after setup, and after a final syncfs).
    pub device: Option<&'a BlockDev>,
    /// A power cut to fire during the measured phase.
    pub crash: Option<CrashPlan<'a>>,
    /// Called by each worker thread with its TID before it starts work
    /// (to put it into a throttled cgroup).
    pub on_thread_start: Option<&'a ThreadStartHook<'a>>,
    /// Keep the workers' ledgers (to verify acknowledged data afterwards).
    pub keep_ledgers: bool,
    /// Keep them with their history, to be read as of any moment (crash
    /// states taken from one run).
    pub ledger_history: bool,
    /// A thread stops at its first failure with one of these errnos
    /// (`on_error: stop`).
    pub stop_on_errnos: &'a [i32],
    /// Called once setup is done and synced, just before the clock starts
    /// (a fault that must see the setup's writes before it arms).
    pub before_clock: Option<&'a (dyn Fn() + Sync)>,
    /// A filesystem the cell shares with the node (a hostPath), and the
    /// free bytes to leave on it: the workers stop when it has less.
    pub keep_free: Option<KeepFree<'a>>,
}

/// Free space the cell must leave on a filesystem it shares with the node.
#[derive(Debug, Clone, Copy)]
pub struct KeepFree<'a> {
    pub path: &'a Path,
    pub bytes: u64,
    /// Whom the free bytes are left to, for the cell's note.
    pub left_to: &'static str,
}

impl KeepFree<'_> {
    /// The bytes an unprivileged writer could still use there.
    fn free(&self) -> Option<u64> {
        let st = rustix::fs::statvfs(self.path).ok()?;
        Some(st.f_bavail.saturating_mul(st.f_frsize))
    }

    /// Free bytes now, when they fell under the reserve or will before the
    /// next look: `last` is the free bytes a look ago, so a fast writer is
    /// stopped a little early rather than a little late.
    fn breached(&self, last: &mut Option<u64>) -> Option<u64> {
        let free = self.free()?;
        let used_since = last.map_or(0, |l| l.saturating_sub(free));
        *last = Some(free);
        // Two looks' worth: the one until the next look, and the writes in
        // flight when the workers are told to stop.
        (free < self.bytes.saturating_add(used_since.saturating_mul(2))).then_some(free)
    }
}

/// What a worker thread reports itself to before it works.
pub type ThreadStartHook<'a> = dyn Fn(i32) -> std::result::Result<(), String> + Sync + 'a;

/// When and how to cut the power in a cell.
pub struct CrashPlan<'a> {
    pub at: CrashAt,
    /// Issues the (guarded) shutdown; called once, from the engine's thread.
    pub fire: &'a (dyn Fn() -> std::result::Result<(), String> + Sync),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CrashAt {
    /// This long into the measured phase.
    After(Duration),
    /// Once this many unit ops completed in the measured phase.
    AfterOps(u64),
}

/// What happened when the power was cut.
#[derive(Debug, Clone)]
pub struct CrashReport {
    /// Taken just before the shutdown ioctl is issued: the moment of the
    /// power cut. Syncs that return after it do not count as acknowledged.
    pub cut_at: Instant,
    /// Seconds into the measured phase.
    pub fired_at_s: f64,
    /// Unit ops completed before it.
    pub unit_ops_before: u64,
    pub result: std::result::Result<(), String>,
}

/// What the engine measured for one cell.
#[derive(Debug)]
pub struct CellMeasurement {
    pub totals: CellTotals,
    /// From the start of the measured phase to the last thread's end
    /// (including an `fsync: end` flush).
    pub duration: Duration,
    pub warmup: Duration,
    pub notes: Vec<String>,
    /// True when the cell was cut short by a signal.
    pub interrupted: bool,
    /// Device counters (before, after) when the plan named a device.
    pub device: Option<(DiskStat, DiskStat)>,
    /// The power cut, when one was planned and its moment came.
    pub crash: Option<CrashReport>,
    /// The workers' ledgers (kept only when a crash was planned).
    pub ledgers: Vec<Ledger>,
    /// Tasks that ended in the measured phase but had begun before the
    /// cell, so no `task` op counts them (log_append's head start).
    pub uncounted_tasks: u64,
    /// Each (op, errno) and when it first failed that way, earliest first.
    pub first_errors: Vec<FirstError>,
    /// The start of the measured phase: the origin of the interval log and
    /// of every fault's timeline.
    pub measure_start: Instant,
}

/// When an op first failed with an errno.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FirstError {
    pub op: Op,
    pub errno: i32,
    pub at: Instant,
    /// Seconds into the measured phase (negative: during warm-up).
    pub at_s: f64,
}

impl CellMeasurement {
    /// The first failure with `errno`, by any op.
    pub fn first(&self, errno: i32) -> Option<FirstError> {
        self.first_errors.iter().find(|f| f.errno == errno).copied()
    }
}

pub use crate::fault::timeline::seconds_since;

/// Where a cell is. Ticks come only in `Warmup` and `Measure`; the run
/// reports the others as it enters them ([`run::RunObserver::phase`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Provisioning the target and arming faults, before the clock.
    Setup,
    Warmup,
    Measure,
    /// After a crash trial: remounting and verifying what survived.
    Verify,
    /// Tearing the target down.
    Teardown,
}

/// A progress snapshot, about five times a second.
#[derive(Debug, Clone)]
pub struct Tick {
    pub phase: Phase,
    /// Time spent in this phase.
    pub elapsed: Duration,
    /// The phase's planned length, when time-bound.
    pub planned: Option<Duration>,
    /// Unit ops completed in the measured phase so far.
    pub unit_ops: u64,
    /// The planned op count, when op-bound.
    pub planned_ops: Option<u64>,
    /// Unit ops per second over the last second or so.
    pub ops_per_sec: f64,
}

pub trait Observer {
    fn tick(&self, tick: &Tick);
}

/// An observer that ignores everything.
pub struct Silent;

impl Observer for Silent {
    fn tick(&self, _: &Tick) {}
}

#[repr(align(64))]
#[derive(Default)]
struct PaddedCounter(AtomicU64);

struct ThreadEnd {
    finished_at: Instant,
    note: Option<String>,
    ledger: Option<Ledger>,
    uncounted_tasks: u64,
    /// [`crate::workload::Worker::notes`].
    worker_notes: Vec<String>,
}

/// Runs one cell. `cancel` is set by a signal handler; the engine then
/// stops the workers at their next op and returns what it has.
pub fn run_cell(
    plan: &CellPlan,
    cancel: &Cancel,
    observer: &dyn Observer,
) -> Result<CellMeasurement> {
    // Workers prepare (preallocate, mkdir) before any clock starts.
    let workers = prepare_workers(plan, cancel)?;

    // Setup writes (a preallocated WAL, a read set) reach the device now,
    // before the counters are read, not during the measured phase.
    sync_root(plan.root);
    let device_before = plan.device.and_then(|d| blockstat::read_stat(d).ok());
    if let Some(hook) = plan.before_clock {
        hook();
    }

    let start = Instant::now();
    let measure_start = start + plan.warmup;
    let start_wall = SystemTime::now() + plan.warmup;
    let unit = plan.workload.unit_op();
    let (tx, collector) = spawn_collector(
        plan.threads,
        unit,
        plan.interval,
        start_wall,
        plan.hlog.clone(),
    )
    .map_err(|e| Error::run_io("starting the collector", e))?;
    let ran = run_threads(plan, workers, tx, start, measure_start, cancel, observer);

    let mut notes: Vec<String> = ran.low_space.into_iter().collect();
    let ended = gather_ends(ran.ends, measure_start, &mut notes)?;
    // The time series ends at the deadline or the power cut, whichever
    // came first, when the threads ended after it: past it they only
    // finished the op in hand and closed up, or failed.
    let cut = ran
        .crash
        .as_ref()
        .map(|c| c.cut_at.saturating_duration_since(measure_start));
    let series_end = [plan.stop.duration(), cut].into_iter().flatten().min();
    let totals = collector
        .join(series_end)
        .map_err(|e| Error::run_io("writing the interval log", e))?;
    if totals.clamped > 0 {
        notes.push(format!(
            "{} operations took longer than the histogram's 1 h range and were recorded as 1 h",
            totals.clamped
        ));
    }
    let device = device_counters(plan, device_before, ran.crash.is_some());
    let interrupted = cancel.is_set();
    let first_errors = first_errors(&totals, measure_start);
    Ok(CellMeasurement {
        measure_start,
        device,
        crash: ran.crash,
        ledgers: ended.ledgers,
        uncounted_tasks: ended.uncounted_tasks,
        first_errors,
        totals,
        duration: ended.last_end.saturating_duration_since(measure_start),
        warmup: plan.warmup,
        notes,
        interrupted,
    })
}

/// One worker per thread, each prepared (preallocated, its directories
/// made), writing full records and keeping a ledger when the cell verifies
/// afterwards.
fn prepare_workers(plan: &CellPlan, cancel: &Cancel) -> Result<Vec<Box<dyn Worker>>> {
    let mut workers: Vec<Box<dyn Worker>> = Vec::with_capacity(plan.threads as usize);
    let verification = if plan.ledger_history {
        Verification::ArmedWithHistory
    } else if plan.crash.is_some() || plan.keep_ledgers {
        Verification::Armed
    } else {
        Verification::Off
    };
    for t in 0..plan.threads {
        let w = plan
            .workload
            .worker(plan.root, t, plan.seed, verification, cancel)
            .map_err(|e| {
                let what = format!("preparing worker thread {t}");
                if cancel.is_set() {
                    return Error::Interrupted(what);
                }
                if e.kind() == std::io::ErrorKind::InvalidInput {
                    // A workload's own verdict on the target (no O_DIRECT, …).
                    return Error::Usage(format!("{what}: {e}"));
                }
                match e.raw_os_error() {
                    Some(libc::ENOSPC | libc::EDQUOT) => Error::Usage(format!(
                        "{what}: {e}: the target is too small for the workload's setup \
                     (preallocated files, a read set); make the target larger"
                    )),
                    _ => Error::run_io(what, e),
                }
            })?;
        workers.push(w);
    }
    Ok(workers)
}

/// Flushes the filesystem under `root` (errors ignored: a dead
/// filesystem's counters stand as they are).
fn sync_root(root: &Path) {
    if let Ok(dir) = std::fs::File::open(root) {
        let _ = rustix::fs::syncfs(&dir);
    }
}

/// What the worker threads and the watch loop came back with.
struct Ran {
    ends: Vec<std::thread::Result<ThreadEnd>>,
    crash: Option<CrashReport>,
    /// Why the cell stopped early for a shared filesystem's free space.
    low_space: Option<String>,
}

/// Runs the workers, one thread each, while this thread watches them
/// (progress, signals, a planned power cut, free space) until all ended.
fn run_threads(
    plan: &CellPlan,
    workers: Vec<Box<dyn Worker>>,
    tx: Sender<IntervalSample>,
    start: Instant,
    measure_start: Instant,
    cancel: &Cancel,
    observer: &dyn Observer,
) -> Ran {
    let measure_end = match plan.stop {
        Stop::Duration(d) => Some(measure_start + d),
        Stop::Ops(_) => None,
    };
    let quotas = split_quota(plan.stop, plan.threads);
    let unit = plan.workload.unit_op();
    let stop = Arc::new(AtomicBool::new(false));
    let counters: Arc<Vec<PaddedCounter>> = Arc::new(
        (0..plan.threads)
            .map(|_| PaddedCounter::default())
            .collect(),
    );
    let period = plan.rate.map(|r| Duration::from_secs_f64(1.0 / r));

    let (ends, (crash, low_space)) = std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for (t, worker) in workers.into_iter().enumerate() {
            let rec = Recorder::with_interval(t as u32, measure_start, plan.interval, tx.clone());
            let (stop, counters) = (stop.clone(), counters.clone());
            let quota = quotas[t];
            let handle = std::thread::Builder::new()
                .name(format!("wpbench-w{t}"))
                .spawn_scoped(scope, move || {
                    drive(Drive {
                        worker,
                        rec,
                        unit,
                        start,
                        measure_start,
                        measure_end,
                        quota,
                        period,
                        think_time: plan.think_time,
                        on_start: plan.on_thread_start,
                        stop_on_errnos: plan.stop_on_errnos,
                        stop: &stop,
                        counter: &counters[t].0,
                    })
                })
                .expect("spawning a worker thread");
            handles.push(handle);
        }
        drop(tx);
        let watched = watch(
            plan,
            &handles,
            start,
            measure_start,
            &stop,
            cancel,
            &counters,
            observer,
        );
        (handles.into_iter().map(|h| h.join()).collect(), watched)
    });
    Ran {
        ends,
        crash,
        low_space,
    }
}

/// What the worker threads left, put together.
struct Ended {
    ledgers: Vec<Ledger>,
    uncounted_tasks: u64,
    /// When the last thread ended (the measured phase's start if none
    /// ended after it).
    last_end: Instant,
}

/// Gathers the threads' ends (their notes into `notes`); a thread that
/// panicked fails the cell.
fn gather_ends(
    ends: Vec<std::thread::Result<ThreadEnd>>,
    measure_start: Instant,
    notes: &mut Vec<String>,
) -> Result<Ended> {
    let mut ended = Ended {
        ledgers: Vec::new(),
        uncounted_tasks: 0,
        last_end: measure_start,
    };
    for (t, end) in ends.into_iter().enumerate() {
        match end {
            Ok(end) => {
                ended.last_end = ended.last_end.max(end.finished_at);
                notes.extend(end.note.map(|n| format!("thread {t}: {n}")));
                notes.extend(end.worker_notes.iter().map(|n| format!("thread {t}: {n}")));
                ended.ledgers.extend(end.ledger);
                ended.uncounted_tasks += end.uncounted_tasks;
            }
            Err(_) => {
                return Err(Error::Run(format!(
                    "worker thread {t} panicked (a bug in wpbench)"
                )))
            }
        }
    }
    Ok(ended)
}

/// The device's counters before and after the cell, when the plan names
/// a device. Writeback the cell caused (atime updates, a journal commit
/// due in 5 s) is the cell's cost: it is flushed before reading them.
fn device_counters(
    plan: &CellPlan,
    before: Option<DiskStat>,
    crashed: bool,
) -> Option<(DiskStat, DiskStat)> {
    match (plan.device, before) {
        // A crashed filesystem cannot be synced; its counters stand as they are.
        (Some(d), Some(before)) if crashed => {
            blockstat::read_stat(d).ok().map(|after| (before, after))
        }
        (Some(d), Some(before)) => {
            sync_root(plan.root);
            blockstat::read_stat(d).ok().map(|after| (before, after))
        }
        _ => None,
    }
}

/// Each (op, errno) and when it first failed that way, earliest first.
fn first_errors(totals: &CellTotals, measure_start: Instant) -> Vec<FirstError> {
    let mut first_errors: Vec<FirstError> = totals
        .first_errors
        .iter()
        .map(|(&(op, errno), &at)| FirstError {
            op,
            errno,
            at,
            at_s: seconds_since(measure_start, at),
        })
        .collect();
    first_errors.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    first_errors
}

/// Splits an op count over threads: the first `ops % threads` threads do one more.
fn split_quota(stop: Stop, threads: u32) -> Vec<Option<u64>> {
    (0..u64::from(threads))
        .map(|t| match stop {
            Stop::Ops(n) => {
                let threads = u64::from(threads);
                Some(n / threads + u64::from(t < n % threads))
            }
            Stop::Duration(_) => None,
        })
        .collect()
}

/// The main thread's loop while workers run: progress ticks, signals, a
/// planned power cut, and the free space of a filesystem shared with the
/// node (a note when the cell had to stop for it).
#[allow(clippy::too_many_arguments)]
fn watch<T>(
    plan: &CellPlan,
    handles: &[std::thread::ScopedJoinHandle<'_, T>],
    start: Instant,
    measure_start: Instant,
    stop: &AtomicBool,
    cancel: &Cancel,
    counters: &[PaddedCounter],
    observer: &dyn Observer,
) -> (Option<CrashReport>, Option<String>) {
    let mut history: std::collections::VecDeque<(Instant, u64)> = Default::default();
    let mut crash: Option<CrashReport> = None;
    let mut low_space = None;
    // Free bytes now, so the first look already knows how fast they go: a
    // writer at GB/s fills a small filesystem between two looks otherwise.
    let mut last_free = plan.keep_free.as_ref().and_then(KeepFree::free);
    let mut last_tick = start;
    while !handles.iter().all(|h| h.is_finished()) {
        // A pending crash is checked every few ms so it fires near its moment.
        let pending = plan.crash.is_some() && crash.is_none();
        // A shared filesystem's free space every 20 ms (statvfs is cheap);
        // otherwise a signal is seen within 100 ms.
        let look_ms = if pending {
            2
        } else if plan.keep_free.is_some() && low_space.is_none() {
            20
        } else {
            100
        };
        std::thread::sleep(Duration::from_millis(look_ms));
        if cancel.is_set() {
            stop.store(true, Ordering::Relaxed);
        }
        let now = Instant::now();
        let done: u64 = counters.iter().map(|c| c.0.load(Ordering::Relaxed)).sum();
        if let (Some(plan_crash), true) = (&plan.crash, pending) {
            let due = match plan_crash.at {
                CrashAt::After(d) => now >= measure_start + d,
                CrashAt::AfterOps(n) => done >= n,
            };
            if due {
                let cut_at = Instant::now();
                let result = (plan_crash.fire)();
                // The workers see EIO from here on; stop them.
                stop.store(true, Ordering::Relaxed);
                crash = Some(CrashReport {
                    cut_at,
                    fired_at_s: cut_at
                        .saturating_duration_since(measure_start)
                        .as_secs_f64(),
                    unit_ops_before: done,
                    result,
                });
            }
        }
        if let (Some(k), None) = (&plan.keep_free, &low_space) {
            if let Some(free) = k.breached(&mut last_free) {
                stop.store(true, Ordering::Relaxed);
                low_space = Some(format!(
                    "stopped early: the filesystem of {} had {} free, under the {} wpbench \
                     leaves {}; the cell's figures cover the time before",
                    k.path.display(),
                    format_size(free),
                    format_size(k.bytes),
                    k.left_to
                ));
            }
        }
        if now.duration_since(last_tick) < Duration::from_millis(200) {
            continue;
        }
        last_tick = now;
        history.push_back((now, done));
        while history.len() > 6 {
            history.pop_front();
        }
        let (t0, n0) = history.front().copied().unwrap_or((now, done));
        let ops_per_sec = if now > t0 {
            (done - n0) as f64 / now.duration_since(t0).as_secs_f64()
        } else {
            0.0
        };
        let (phase, elapsed, planned) = if now < measure_start {
            (Phase::Warmup, now - start, Some(plan.warmup))
        } else {
            let planned = match plan.stop {
                Stop::Duration(d) => Some(d),
                Stop::Ops(_) => None,
            };
            (Phase::Measure, now - measure_start, planned)
        };
        observer.tick(&Tick {
            phase,
            elapsed,
            planned,
            unit_ops: done,
            planned_ops: match plan.stop {
                Stop::Ops(n) => Some(n),
                Stop::Duration(_) => None,
            },
            ops_per_sec,
        });
    }
    (crash, low_space)
}

struct Drive<'a> {
    worker: Box<dyn Worker>,
    rec: Recorder,
    unit: Op,
    start: Instant,
    measure_start: Instant,
    measure_end: Option<Instant>,
    quota: Option<u64>,
    period: Option<Duration>,
    think_time: Option<Duration>,
    on_start: Option<&'a ThreadStartHook<'a>>,
    stop_on_errnos: &'a [i32],
    stop: &'a AtomicBool,
    counter: &'a AtomicU64,
}

/// One worker thread: step until the cell ends.
fn drive(mut d: Drive) -> ThreadEnd {
    set_timer_slack();
    let mut note = None;
    if let Some(hook) = d.on_start {
        if let Err(e) = hook(rustix::thread::gettid().as_raw_nonzero().get()) {
            note = Some(format!(
                "could not join the fault's cgroup, ran unthrottled: {e}"
            ));
        }
    }
    let mut next_intended = d.start;
    let mut measured = 0u64;
    let mut consecutive_failures = 0u32;
    let results = d.worker.failures_are_results();
    // Closed-loop ops are timed on the recorder's clock (the TSC where it
    // can be trusted: a third of the cost of `Instant::now()`); the cell's
    // bounds are converted to it once.
    let clock = *d.rec.clock();
    let measure_start = clock.stamp_of(d.measure_start);
    let measure_end = d.measure_end.map(|end| clock.stamp_of(end));
    // In a closed loop with nothing between units (no think time, no
    // untimed work, no interval rotation), the next unit op begins where
    // the last one ended: its start is that end's clock reading, which
    // saves one of the four clock reads a buffered write costs.
    let chain = d.period.is_none() && d.think_time.is_none();
    let mut carried: Option<Stamp> = None;
    // And where a step ends with its last timed syscall, the unit op ends
    // on that syscall's end reading: two clock reads a buffered write.
    let end_at_last_call = chain && d.worker.ends_at_its_last_call();
    // This thread's successes, published with a plain store: no other
    // thread writes its counter.
    let mut counted = 0u64;
    loop {
        if d.stop.load(Ordering::Relaxed) {
            break;
        }
        if d.quota.is_some_and(|q| measured >= q) {
            break;
        }
        let now = carried.take().unwrap_or_else(|| clock.now());
        if measure_end.is_some_and(|end| now >= end) {
            break;
        }
        // Open loop: each op has an intended start on a fixed schedule; a
        // late op is measured from when it should have started, so time
        // spent queued behind a slow op counts (no coordinated omission).
        let intended = match d.period {
            Some(p) => {
                let i = next_intended;
                next_intended += p;
                if d.measure_end.is_some_and(|end| i >= end) {
                    break;
                }
                crate::cancel::wait_until(i, || false);
                Some(i)
            }
            None => None,
        };
        let step;
        let mut rotated = false;
        let t1 = match intended {
            // Open loop: response time runs from an intended start on the
            // Instant timeline, so both ends are read there.
            Some(i) => {
                let t0 = Instant::now();
                step = d.worker.step(&mut d.rec);
                let t1 = Instant::now();
                if matches!(step, Step::Done) {
                    d.rec.record_open_loop(d.unit, i, t0, t1);
                }
                clock.stamp_of(t1)
            }
            None => {
                // Read before the step: a rotation inside it (its last
                // call's record) falls after that call's end reading, so
                // it must break the chain as one here does.
                let interval = d.rec.interval();
                step = d.worker.step(&mut d.rec);
                // Taken after every step, so never a stale step's reading.
                let t1 = if end_at_last_call {
                    d.rec.take_last_end().unwrap_or_else(|| clock.now())
                } else {
                    clock.now()
                };
                if matches!(step, Step::Done) {
                    d.rec.record_stamps(d.unit, now, t1);
                }
                rotated = d.rec.interval() != interval;
                t1
            }
        };
        match step {
            Step::Done => {
                consecutive_failures = 0;
                if t1 >= measure_start {
                    measured += 1;
                    counted += 1;
                    d.counter.store(counted, Ordering::Relaxed);
                }
            }
            Step::Exhausted => break,
            Step::Failed(errno) => {
                let at = d.rec.clock().instant_of(t1);
                d.rec.error(d.unit, errno, at);
                if d.stop_on_errnos.contains(&errno) {
                    note = Some(format!(
                        "stopped at its first {} (on_error: stop)",
                        errno_name(errno)
                    ));
                    break;
                }
                consecutive_failures += 1;
                // A failure that is a result is one of the cell's unit ops.
                measured += u64::from(results && t1 >= measure_start);
                if !results && consecutive_failures >= MAX_CONSECUTIVE_FAILURES {
                    note = Some(format!(
                        "stopped after {consecutive_failures} consecutive failed {} ops (last error {})",
                        d.unit,
                        errno_name(errno)
                    ));
                    break;
                }
            }
        }
        let worked = d.worker.between_units();
        if let Some(think) = d.think_time {
            std::thread::sleep(think);
        }
        if chain && !worked && !rotated && matches!(step, Step::Done) {
            carried = Some(t1);
        }
    }
    d.worker.finish(&mut d.rec);
    let finished_at = Instant::now();
    // The cell's last interval ends with its last thread: the same instant
    // as the measured duration's end.
    d.rec.finish_at(finished_at);
    ThreadEnd {
        finished_at,
        note,
        ledger: d.worker.take_ledger(),
        uncounted_tasks: d.worker.uncounted_tasks(),
        worker_notes: d.worker.notes(),
    }
}

/// Shrinks this thread's timer slack (default 50 µs) so sleeps end on time.
fn set_timer_slack() {
    // SAFETY: prctl(PR_SET_TIMERSLACK) only changes this thread's timer slack.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
    }
}

#[cfg(test)]
mod tests;
