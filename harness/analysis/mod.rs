//! Analysis: pure functions over results — the statistics of a verdict
//! ([`verdict`]), a run's targets against their baselines ([`inrun`]),
//! its noise ([`noise`]), two runs against each other ([`compare`]), and
//! a run against its gates and a baseline ([`gate`]). No I/O beyond
//! reading a baseline file; every renderer lives in `report`.

pub mod compare;
pub mod gate;
pub mod inrun;
pub mod noise;
pub mod verdict;

use crate::result::RunResult;

/// What a run concludes, recomputed from its cells: its noise, its
/// in-run comparisons, and the warnings each puts on the other and on the
/// cells. Idempotent, so it can run after every cell.
pub fn conclude(run: &mut RunResult) {
    run.noise = noise::noise(run);
    run.comparisons = inrun::comparisons(run);
    noise::annotate(run);
}
