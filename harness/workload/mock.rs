//! A mock workload for unit-testing the engine and the layers above it:
//! each step sleeps or spins for a set time, with optional stalls. Never a
//! substitute for a real workload in integration tests.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Step, Worker, Workload};
use crate::cancel::Cancel;
use crate::record::{Op, Recorder};

#[derive(Clone)]
pub struct Mock {
    /// Busy time of one step.
    pub service: Duration,
    /// (step index, extra time): a stall injected at that step of thread 0.
    pub stall: Option<(u64, Duration)>,
    /// Steps that fail with this errno (every n-th step), if any.
    pub fail_every: Option<(u64, i32)>,
    /// What its workers answer to [`Worker::failures_are_results`].
    pub failures_are_results: bool,
    /// Untimed work after the step's timed op.
    pub after: Duration,
    /// What its workers answer to [`Worker::ends_at_its_last_call`].
    pub ends_at_last_call: bool,
    /// Counts steps over all workers, for assertions.
    pub steps: Arc<std::sync::atomic::AtomicU64>,
}

impl Mock {
    pub fn new(service: Duration) -> Mock {
        Mock {
            service,
            stall: None,
            fail_every: None,
            failures_are_results: false,
            after: Duration::ZERO,
            ends_at_last_call: false,
            steps: Arc::default(),
        }
    }
}

impl Workload for Mock {
    fn unit_op(&self) -> Op {
        Op::Record
    }

    fn worker(
        &self,
        _root: &Path,
        thread: u32,
        _seed: u64,
        _verification: super::Verification,
        _cancel: &Cancel,
    ) -> io::Result<Box<dyn Worker>> {
        Ok(Box::new(MockWorker {
            mock: self.clone(),
            thread,
            n: 0,
        }))
    }
}

struct MockWorker {
    mock: Mock,
    thread: u32,
    n: u64,
}

fn busy(d: Duration) {
    let end = Instant::now() + d;
    if d > Duration::from_micros(200) {
        std::thread::sleep(d);
    }
    while Instant::now() < end {
        std::hint::spin_loop();
    }
}

impl Worker for MockWorker {
    fn step(&mut self, rec: &mut Recorder) -> Step {
        self.n += 1;
        self.mock
            .steps
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some((every, errno)) = self.mock.fail_every {
            if self.n.is_multiple_of(every) {
                rec.error(Op::Write, errno, Instant::now());
                return Step::Failed(errno);
            }
        }
        let mut d = self.mock.service;
        if let Some((at, extra)) = self.mock.stall {
            if self.thread == 0 && self.n == at {
                d += extra;
            }
        }
        let _ = rec.time(Op::Write, || {
            busy(d);
            Ok(())
        });
        busy(self.mock.after);
        Step::Done
    }

    fn ends_at_its_last_call(&self) -> bool {
        self.mock.ends_at_last_call
    }

    fn finish(&mut self, _rec: &mut Recorder) {}

    fn failures_are_results(&self) -> bool {
        self.mock.failures_are_results
    }
}
