//! `wpbench run`: load and check a scenario with the command line's
//! overrides, check the machine, run every cell and gate the result.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::args::{Format, RunArgs};
use super::console::Console;
use super::gating::{judge, load_gating};
use crate::cancel::Cancel;
use crate::engine::preflight;
use crate::engine::run::{self as runner, RunOptions};
use crate::error::{Error, Result};
use crate::guardian;
use crate::report;
use crate::rundir::{out_dir_problem, out_flag_problem};
use crate::scenario;
use crate::scenario::plan::plan;
use crate::target::hostpath::MachineHost;
use crate::target::{self, namespace, scratch};

fn new_run_id() -> String {
    let now = std::time::SystemTime::now();
    let stamp: String = humantime::format_rfc3339_seconds(now)
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let nanos = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    format!("{stamp}-{:04x}", (nanos ^ std::process::id()) & 0xffff)
}

/// The first SIGINT or SIGTERM sets `cancel`, which every phase polls; a
/// second exits at once (the namespace still takes the mounts with it, the
/// guardian or `wpbench cleanup` removes the scratch).
pub(super) fn cancel_on_signals() -> Result<Cancel> {
    let cancel = Cancel::new();
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 4, cancel.flag())
            .and_then(|_| signal_hook::flag::register(sig, cancel.flag()))
            .map_err(|e| Error::Environment(format!("installing signal handlers: {e}")))?;
    }
    Ok(cancel)
}

/// The run's last line: the run directory once, then what is in it
/// (report.html first); on a second line when one would pass 80 columns.
fn wrote_line(dir: &std::path::Path, logs: usize) -> String {
    let dir = dir.display().to_string();
    let dir = dir.trim_end_matches('/');
    let files = format!(
        "report.html, summary.md, result.json, {logs} interval log{}",
        if logs == 1 { "" } else { "s" }
    );
    let line = format!("wrote {dir}/ ({files})");
    if line.chars().count() <= 80 {
        line
    } else {
        format!("wrote {dir}/\n  {files}")
    }
}

pub(super) fn run(args: RunArgs) -> Result<ExitCode> {
    // Before anything that can take time: every phase honours a signal.
    let cancel = cancel_on_signals()?;
    // The overrides are checked with the file, by the loader's own rules.
    let overrides = scenario::Overrides {
        duration: args.duration,
        ops: args.ops,
        warmup: args.warmup,
        repeat: args.repeat,
        seed: args.seed,
    };
    let mut scenario = scenario::load_with(&args.file, &overrides, &MachineHost)?;
    let plan = plan(&scenario, &args.only).map_err(Error::Usage)?;
    let cwd = std::env::current_dir()
        .map_err(|e| Error::Environment(format!("reading the current directory: {e}")))?;
    scenario
        .bind_volumes(&args.volumes, &plan.targets(), &cwd)
        .map_err(Error::Usage)?;
    let problem = match &args.out {
        Some(out) => out_flag_problem(out),
        None => out_dir_problem(&PathBuf::from("reports").join(&scenario.name))
            .map(|p| format!("the default run directory: {p}; give --out DIR")),
    };
    if let Some(problem) = problem {
        return Err(Error::Usage(problem));
    }
    // Gate files and the baseline are checked before anything runs.
    let (mut gates, baseline) = load_gating(&args.gating, &scenario::GateNames::of(&scenario))?;
    let render = args.link.render_options()?;
    gates.splice(0..0, scenario.gates.iter().cloned());
    // A gate `--only` leaves no cell to judge is refused now, as the gate
    // room would after the run, before anything is provisioned or written.
    crate::analysis::gate::unmatched_in_plan(&scenario, &plan, &gates).map_err(|e| {
        let gates = if e.0.lines().count() == 1 {
            "this gate"
        } else {
            "these gates"
        };
        Error::Usage(match args.only.as_slice() {
            [] => e.0,
            only => format!(
                "{}\n--only {} leaves {gates} nothing to judge: widen --only, or gate with a \
                 file whose selectors match the cells it keeps",
                e.0,
                only.join(" --only ")
            ),
        })
    })?;
    let privileged = namespace::is_privileged();
    let run_id = new_run_id();
    // A scratch root another user could write is refused before anything
    // starts (exit 3); its checked, absolute form is used from here on.
    let scratch_root =
        scratch::trusted_root(&args.scratch.clone().unwrap_or_else(scratch::default_root))?;
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports").join(&scenario.name).join(&run_id));
    // Everything that can be known before anything is written: each
    // target's environment and mount options, and the plan's budget.
    // Each target kind's own provisioner; the engine is given it.
    let provisioner = &target::ByKind;
    preflight::check_environment(&scenario, &plan, provisioner, privileged)?;
    preflight::check_budget(&scenario, &plan, &scratch_root, &out_dir)?;
    // Started before the namespace, so it stays in the host's; it removes
    // what the run leaves on disk if the run is killed with SIGKILL.
    let _guardian = guardian::spawn(&scratch_root, &run_id)?;
    if privileged {
        // Before any thread exists: threads inherit the namespace.
        namespace::enter_private_mount_namespace()?;
    }

    let opts = RunOptions {
        provisioner,
        run_id,
        out_dir: out_dir.clone(),
        scratch_root,
        keep: args.keep,
        privileged,
        command: std::env::args().collect(),
        render: render.clone(),
    };
    let console = Console::new(&args, &scenario, &plan);
    let result = runner::run(&scenario, &plan, &opts, &cancel, &console);
    console.done();
    let result = result?;
    match args.format {
        Format::Json => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&report::json::render(&result));
        }
        Format::Text if !args.quiet => {
            print!("{}", report::verdicts::render_terminal(&result));
            eprintln!("{}", wrote_line(&out_dir, result.cells.len()));
        }
        Format::Text => {}
    }
    if result.status == crate::result::RunStatus::Interrupted {
        return Err(Error::Run(format!(
            "interrupted by a signal after {} of {} cells; partial results are in {}",
            result.cells.len(),
            plan.len(),
            out_dir.display()
        )));
    }
    if gates.is_empty() && baseline.is_none() {
        return Ok(ExitCode::SUCCESS);
    }
    // stdout may be carrying result.json (--format json).
    judge(
        &out_dir,
        &result,
        &gates,
        baseline.as_ref(),
        args.format == Format::Json,
        &render,
    )
}

#[cfg(test)]
mod tests {
    use super::wrote_line;
    use std::path::Path;

    #[test]
    fn wrote_line_names_the_directory_once_and_report_html() {
        assert_eq!(
            wrote_line(Path::new("out/r1"), 1),
            "wrote out/r1/ (report.html, summary.md, result.json, 1 interval log)"
        );
        let long = wrote_line(Path::new("reports/quickstart/20261206T212731Z-0bfa"), 18);
        assert_eq!(
            long,
            "wrote reports/quickstart/20261206T212731Z-0bfa/\n  \
             report.html, summary.md, result.json, 18 interval logs"
        );
        assert!(long.lines().all(|l| l.chars().count() <= 80));
        assert_eq!(long.matches("20261206T212731Z-0bfa").count(), 1);
    }
}
