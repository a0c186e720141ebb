//! `wpbench guard` (hidden): the guardian process a run starts, which
//! removes what the run leaves on disk if it is killed (see crate::guardian).

use std::path::Path;
use std::process::ExitCode;

use crate::error::Result;
use crate::guardian;

pub(super) fn guard(scratch: &Path, run: &str) -> Result<ExitCode> {
    guardian::guard(scratch, run)?;
    Ok(ExitCode::SUCCESS)
}
