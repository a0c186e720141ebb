//! Analysis: pure functions over results — comparing two runs with an
//! honest word on significance ([`compare`]), and judging a run against
//! its gates and a baseline ([`gate`]). No I/O beyond reading a baseline
//! file; every renderer lives in `report`.

pub mod compare;
pub mod gate;
pub mod verdict;
