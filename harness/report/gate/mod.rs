//! The gate's verdicts as files and text: JUnit XML for CI test views,
//! Bencher Metric Format JSON, and the text and Markdown summaries.

pub mod bmf;
pub mod junit;
pub mod render;
