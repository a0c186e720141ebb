//! Errors a user can cause or meet, each with its documented exit code.
//!
//! 0 ran and every gate passed · 1 a gate failed · 2 the scenario or the
//! command line is wrong · 3 the environment cannot run it · 4 the run
//! itself failed.

use std::process::ExitCode;

use crate::scenario::Diagnostics;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scenario file is wrong (exit 2).
    #[error("{0}")]
    Scenario(Diagnostics),
    /// The command line or a scenario value is wrong (exit 2).
    #[error("{0}")]
    Usage(String),
    /// This machine cannot run it: privileges, kernel, missing tools (exit 3).
    #[error("{0}")]
    Environment(String),
    /// The run failed while running (exit 4).
    #[error("{0}")]
    Run(String),
    /// A signal stopped the run while it was doing this (exit 4, status
    /// `interrupted`).
    #[error("interrupted by a signal while {0}")]
    Interrupted(String),
    /// A gate failed (exit 1).
    #[error("{0}")]
    GateFailed(String),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::GateFailed(_) => 1,
            Error::Scenario(_) | Error::Usage(_) => 2,
            Error::Environment(_) => 3,
            Error::Run(_) | Error::Interrupted(_) => 4,
        }
    }

    pub fn to_exit_code(&self) -> ExitCode {
        ExitCode::from(self.exit_code())
    }

    /// An I/O failure while running, with what was being done.
    pub fn run_io(what: impl std::fmt::Display, err: std::io::Error) -> Error {
        Error::Run(format!("{what}: {err}"))
    }
}

impl From<Diagnostics> for Error {
    fn from(d: Diagnostics) -> Self {
        Error::Scenario(d)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
