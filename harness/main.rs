//! wpbench's entry point: parse the command line, run it, map the outcome
//! to the documented exit code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = wpbench::cli::Cli::parse();
    match std::panic::catch_unwind(|| wpbench::cli::dispatch(cli)) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            eprintln!("wpbench: {e}");
            e.to_exit_code()
        }
        // The panic message is already printed; the unwinding dropped every
        // target (unmounting it) and the scratch area.
        Err(_) => {
            eprintln!("wpbench: internal error (a bug in wpbench); please report it");
            ExitCode::from(4)
        }
    }
}
