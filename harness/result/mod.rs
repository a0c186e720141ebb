//! The result room: the RunResult model (result.json's schema), statistics
//! from histograms, the run directory written as the run goes, and the
//! exact merge of many runs (`wpbench merge`).
pub mod comparison;
pub mod merge;
pub mod model;
pub mod stats;

pub use model::*;

/// The directory of a run's interval logs; result.json names each cell's
/// `.hlog` relative to the run directory, under it.
pub const HLOG_DIR: &str = "hlog";
