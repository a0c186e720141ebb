//! The result room: the RunResult model (result.json's schema), statistics
//! from histograms, the run directory written as the run goes, and the
//! exact merge of many runs (`wpbench merge`).
pub mod merge;
pub mod model;
pub mod stats;
pub mod writer;

pub use model::*;
