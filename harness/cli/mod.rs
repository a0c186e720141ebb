//! The command line: clap definitions ([`args`]), one file per command, the
//! run's console, and the helpers the gating commands share ([`gating`]).

mod args;
mod baseline;
mod cleanup;
mod compare;
mod console;
mod gate;
mod gating;
mod guard;
mod k8s;
mod k8s_collect;
mod merge;
mod report;
mod run;
mod validate;

use std::process::ExitCode;

use crate::error::Result;
use args::{BaselineCommand, Command, K8sCommand};

pub use args::Cli;

/// Runs a parsed command line.
pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Validate { files, format } => validate::validate(&files, format),
        Command::Run(args) => run::run(args),
        Command::Report { run_dir, link } => report::report(&run_dir, &link.render_options()?),
        Command::Gate(args) => gate::gate(&args),
        Command::Baseline(BaselineCommand::Save { run, name, dir }) => {
            baseline::save(&run, &name, &dir)
        }
        Command::Compare {
            base,
            new,
            format,
            min_effect,
        } => compare::compare(&base, &new, format, min_effect),
        Command::Merge {
            runs,
            out,
            force,
            link,
        } => merge::merge(&runs, &out, force, &link.render_options()?),
        Command::Cleanup { scratch } => cleanup::cleanup(scratch),
        Command::K8s(K8sCommand::Render(args)) => k8s::render(&args),
        Command::K8s(K8sCommand::Collect(args)) => k8s_collect::collect(&args),
        Command::Guard { scratch, run } => guard::guard(&scratch, &run),
    }
}
