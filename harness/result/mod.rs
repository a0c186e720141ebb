//! The result room: the RunResult model (result.json's schema), statistics
//! from histograms, and the run directory written as the run goes.
pub mod model;
pub mod stats;
pub mod writer;

pub use model::*;
