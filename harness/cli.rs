//! The command line: clap definitions, dispatch, and the console observer
//! that turns engine progress into a progress bar or plain lines.

use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cancel::Cancel;
use crate::engine::preflight;
use crate::engine::run::{self as runner, RunObserver, RunOptions};
use crate::engine::{Observer, Phase, Tick};
use crate::error::{Error, Result};
use crate::report;
use crate::result::writer::{out_dir_problem, out_flag_problem};
use crate::result::CellResult;
use crate::scenario::plan::{plan, Cell};
use crate::scenario::units::{format_duration, parse_duration};
use crate::scenario::{self, Stop};
use crate::target::{guardian, namespace, scratch};

#[derive(Debug, Parser)]
#[command(
    name = "wpbench",
    version,
    about = "Write-path benchmarking and fault-injection harness for container storage",
    long_about = "Runs YAML scenarios (targets × workloads × repeats) against real mounts, \
                  records per-operation latency histograms, and writes result.json, \
                  HdrHistogram interval logs, charts, report.html and a Markdown summary.\n\n\
                  Exit codes: 0 ok · 1 a gate failed · 2 scenario or command line wrong · \
                  3 this machine cannot run it · 4 the run failed"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check scenario files without touching the system, and print each
    /// one's plan: cells, estimated time, and the most disk, inodes,
    /// memory, threads and open files it will hold at once.
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// What to print on stdout.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run a scenario and write its results.
    Run(RunArgs),
    /// Judge a finished run against its scenario's gates, gate files and a
    /// baseline; writes gate.json, junit.xml and bmf.json into the run
    /// directory. Exit 0 when every fail-level gate passes, 1 when one fails.
    Gate(GateArgs),
    /// Baselines for `--baseline`.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Render a run directory's charts, summary.md and report.html again from
    /// its result.json and interval logs (same input, same bytes).
    Report {
        /// The run directory.
        run_dir: PathBuf,
    },
    /// Compare two runs: per cell and op, base vs new p50/p95/p99/throughput,
    /// and whether each change is significant across the repeats.
    Compare {
        /// The "before" run: a run directory or its result.json.
        base: PathBuf,
        /// The "after" run.
        new: PathBuf,
        /// What to print.
        #[arg(long, value_enum, default_value_t = CompareFormat::Text)]
        format: CompareFormat,
    },
    /// Combine run directories (the nodes of a fleet, or many runs) into one
    /// run directory: matching cells' histograms added exactly, counts and
    /// device bytes summed, throughput summed over the sources, each
    /// source's figures and interval logs kept per node.
    Merge {
        /// The runs: run directories or their result.json.
        #[arg(required = true, value_name = "RUN")]
        runs: Vec<PathBuf>,
        /// The merged run directory to write.
        #[arg(short, long, value_name = "OUT")]
        out: PathBuf,
        /// Merge cells even when the runs differ (scenario file, effective
        /// mount options, workload parameters); each such cell notes it.
        #[arg(long)]
        force: bool,
    },
    /// Remove what killed runs left behind (scratch directories, hostPath subdirectories).
    Cleanup {
        /// Scratch root to clean [default: /var/tmp/wpbench-runs, or $WPBENCH_SCRATCH].
        #[arg(long)]
        scratch: Option<PathBuf>,
    },
    /// Kubernetes: run a scenario on a fleet of nodes, one pod per node.
    #[command(subcommand)]
    K8s(K8sCommand),
    /// Internal: the guardian process a run starts (see target::guardian).
    #[command(hide = true)]
    Guard {
        #[arg(long)]
        scratch: PathBuf,
        #[arg(long)]
        run: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum K8sCommand {
    /// Render a Namespace, a ConfigMap with the scenario and an Indexed Job
    /// whose privileged pods run it, one per node; each pod prints its run
    /// directory as a tarball between marker lines for `kubectl logs`.
    Render(K8sRenderArgs),
}

#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("placement")
        .required(true)
        .args(["nodes", "node_selector"])
))]
pub struct K8sRenderArgs {
    /// Scenario file (its text goes into the ConfigMap verbatim).
    pub file: PathBuf,
    /// The container image with wpbench in it (built from the Dockerfile).
    #[arg(long)]
    pub image: String,
    /// The nodes to run on, one pod each (names as `kubectl get nodes` shows them).
    #[arg(long, value_name = "NODE,...")]
    pub nodes: Option<String>,
    /// Run on nodes with these labels, at most one pod per node (needs --count).
    #[arg(long, value_name = "KEY=VALUE,...", requires = "count")]
    pub node_selector: Option<String>,
    /// With --node-selector: how many nodes (pods) to run on.
    #[arg(long, value_name = "N", conflicts_with = "nodes",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub count: Option<u32>,
    /// The namespace of every object.
    #[arg(long, value_name = "NS", default_value = "wpbench")]
    pub namespace: String,
    /// Render the Namespace too (labelled for privileged pods).
    #[arg(long)]
    pub create_namespace: bool,
    /// The Job's and ConfigMap's name [default: wpbench-<scenario>].
    #[arg(long)]
    pub name: Option<String>,
    /// Write one file per object into DIR [default: a multi-document YAML stream on stdout].
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table per cell on stdout.
    Text,
    /// result.json on stdout at the end.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Store a run as a baseline: histograms per cell, repeat and op.
    Save {
        /// The run directory (or its result.json).
        run: PathBuf,
        /// The baseline's name (the file is DIR/NAME.json).
        #[arg(long)]
        name: String,
        /// Where baselines live.
        #[arg(long, default_value = crate::gate::baseline::DEFAULT_DIR)]
        dir: PathBuf,
    },
}

/// What gates a run, for `gate` and `run`.
#[derive(Debug, Clone, clap::Args)]
pub struct GateOptions {
    /// A gate file (`version: 1`, `gates:` as in a scenario); repeatable.
    #[arg(long = "gate", value_name = "FILE")]
    pub gates: Vec<PathBuf>,
    /// Compare with a baseline: a name in --baseline-dir, or a file.
    #[arg(long, value_name = "NAME|FILE")]
    pub baseline: Option<String>,
    /// Where `--baseline NAME` is looked up.
    #[arg(long, value_name = "DIR", default_value = crate::gate::baseline::DEFAULT_DIR)]
    pub baseline_dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct GateArgs {
    /// The run directory.
    pub run: PathBuf,
    #[command(flatten)]
    pub options: GateOptions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareFormat {
    /// Tables for the terminal.
    Text,
    /// Markdown (a PR comment, a step summary).
    Markdown,
    /// The comparison as JSON.
    Json,
    /// One self-contained HTML page, with base and new percentile spectra
    /// overlaid per cell.
    Html,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario file.
    pub file: PathBuf,
    /// Run directory [default: reports/<scenario>/<run-id>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Only cells matching TARGET/WORKLOAD globs (a bare TARGET means TARGET/*); repeatable.
    #[arg(long, value_name = "TARGET/WORKLOAD")]
    pub only: Vec<String>,
    /// Measured time per cell, overriding the scenario (e.g. 10s).
    #[arg(long, value_parser = parse_duration_arg, conflicts_with = "ops")]
    pub duration: Option<Duration>,
    /// Unit ops per cell, overriding the scenario's duration.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub ops: Option<u64>,
    /// Warm-up per cell, overriding the scenario (e.g. 0s).
    #[arg(long, value_parser = parse_duration_arg)]
    pub warmup: Option<Duration>,
    /// Repetitions, overriding the scenario (interleaved).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: Option<u32>,
    /// Seed, overriding the scenario.
    #[arg(long)]
    pub seed: Option<u64>,
    /// No progress and no tables; errors only.
    #[arg(long, short)]
    pub quiet: bool,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Keep hostPath subdirectories (what the workloads wrote) after the run.
    #[arg(long)]
    pub keep: bool,
    /// Scratch root [default: /var/tmp/wpbench-runs, or $WPBENCH_SCRATCH].
    #[arg(long, value_name = "DIR")]
    pub scratch: Option<PathBuf>,
    #[command(flatten)]
    pub gating: GateOptions,
}

fn parse_duration_arg(s: &str) -> std::result::Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

/// Runs a parsed command line.
pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Validate { files, format } => validate(&files, format),
        Command::Run(args) => run(args),
        Command::Report { run_dir } => report_run(&run_dir),
        Command::Gate(args) => gate_command(&args),
        Command::Baseline(BaselineCommand::Save { run, name, dir }) => {
            baseline_save(&run, &name, &dir)
        }
        Command::Compare { base, new, format } => compare(&base, &new, format),
        Command::Merge { runs, out, force } => merge_runs(&runs, &out, force),
        Command::Cleanup { scratch } => cleanup(scratch),
        Command::K8s(K8sCommand::Render(args)) => k8s_render(&args),
        Command::Guard { scratch, run } => {
            guardian::guard(&scratch, &run)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Reads a run for `report`/`compare`: a run directory or a result.json.
/// Anything unreadable is the user's to fix (exit 2).
fn read_run(path: &std::path::Path) -> Result<crate::result::RunResult> {
    crate::result::writer::read_result(path).map_err(|e| {
        Error::Usage(format!(
            "{}: cannot read a wpbench result there: {e} (give a run directory or its result.json)",
            path.display()
        ))
    })
}

/// The names a gate file is checked against: a run's cells.
fn gate_names(run: &crate::result::RunResult) -> scenario::GateNames {
    let mut names = scenario::GateNames::default();
    let written = |full: &str| full.split('[').next().unwrap_or(full).to_string();
    for c in &run.cells {
        let t = (c.target.name.clone(), written(&c.target.name));
        if !names.targets.contains(&t) {
            names.targets.push(t);
        }
        let w = (c.workload.name.clone(), written(&c.workload.name));
        if !names.workloads.contains(&w) {
            names.workloads.push(w);
        }
        for kind in c.faults.iter().map(|f| f.kind_name()) {
            if !names.faults.iter().any(|f| f == kind) {
                names.faults.push(kind.to_string());
            }
        }
    }
    names
}

/// The names of a scenario's plan, and its cells, to check gate files
/// before a run.
fn scenario_gate_names(s: &scenario::Scenario) -> scenario::GateNames {
    scenario::GateNames::of(s)
}

/// Gate files and the baseline, loaded (and checked against `names`) up front.
fn load_gating(
    o: &GateOptions,
    names: &scenario::GateNames,
) -> Result<(
    Vec<scenario::GateSpec>,
    Option<crate::gate::baseline::Baseline>,
)> {
    let mut gates = Vec::new();
    for f in &o.gates {
        gates.extend(scenario::load_gates(f, names)?);
    }
    let baseline = match &o.baseline {
        Some(arg) => {
            let path = crate::gate::baseline::resolve(arg, &o.baseline_dir);
            Some(crate::gate::baseline::Baseline::read(&path).map_err(|e| {
                Error::Usage(format!(
                    "--baseline {arg}: {e} (save one with `wpbench baseline save RUN --name NAME`)"
                ))
            })?)
        }
        None => None,
    };
    Ok((gates, baseline))
}

/// Judges `run` and writes gate.json, junit.xml and bmf.json into
/// `run_dir`, appends Markdown to $GITHUB_STEP_SUMMARY when set, prints
/// the verdict table. Exit 1 when a fail-level gate failed.
fn judge(
    run_dir: &std::path::Path,
    run: &crate::result::RunResult,
    gates: &[scenario::GateSpec],
    baseline: Option<&crate::gate::baseline::Baseline>,
    verdict_to_stderr: bool,
) -> Result<ExitCode> {
    use crate::gate;
    let report = gate::evaluate(run, gates, baseline).map_err(|e| Error::Usage(e.0))?;
    let write = |name: &str, bytes: &[u8]| {
        crate::result::writer::write_atomic(&run_dir.join(name), bytes)
            .map_err(|e| Error::run_io(format!("writing {}", run_dir.join(name).display()), e))
    };
    let mut json = serde_json::to_vec_pretty(&report).map_err(|e| Error::Run(e.to_string()))?;
    json.push(b'\n');
    write("gate.json", &json)?;
    write("junit.xml", gate::junit::render(&report).as_bytes())?;
    write("bmf.json", &gate::bmf::render(run))?;
    // report.html shows the verdicts: render it again now that they exist.
    crate::result::writer::RunDir::open(run_dir)
        .and_then(|d| d.write_reports(run))
        .map_err(|e| Error::run_io(format!("writing the reports to {}", run_dir.display()), e))?;
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(gate::render::markdown(&report).as_bytes()));
        if let Err(e) = appended {
            eprintln!(
                "wpbench: could not append to $GITHUB_STEP_SUMMARY ({}): {e}",
                std::path::Path::new(&path).display()
            );
        }
    }
    let verdict = format!(
        "{}wrote {1}/gate.json, {1}/junit.xml and {1}/bmf.json\n",
        gate::render::text(&report),
        run_dir.display()
    );
    if verdict_to_stderr {
        eprint!("{verdict}");
    } else {
        print!("{verdict}");
    }
    Ok(if report.status == gate::Status::Fail {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn gate_command(args: &GateArgs) -> Result<ExitCode> {
    let run = read_run(&args.run)?;
    let run_dir = if args.run.is_dir() {
        args.run.clone()
    } else {
        args.run
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default()
    };
    let (mut gates, baseline) = load_gating(&args.options, &gate_names(&run))?;
    // The scenario's own gates, when its file is still the one that ran.
    let file = std::path::Path::new(&run.scenario.file);
    match scenario::load(file) {
        Ok(s) if s.sha256 == run.scenario.sha256 => {
            let mut own = s.gates;
            own.append(&mut gates);
            gates = own;
        }
        Ok(_) => eprintln!(
            "wpbench: {} changed since the run; its gates are not applied (give them with --gate)",
            file.display()
        ),
        Err(_) => eprintln!(
            "wpbench: {} is not readable; its gates are not applied (give them with --gate)",
            file.display()
        ),
    }
    if gates.is_empty() && baseline.is_none() {
        return Err(Error::Usage(
            "nothing to gate: no `gates:` in the scenario, and no --gate or --baseline given"
                .into(),
        ));
    }
    judge(&run_dir, &run, &gates, baseline.as_ref(), false)
}

fn baseline_save(run: &std::path::Path, name: &str, dir: &std::path::Path) -> Result<ExitCode> {
    crate::gate::baseline::check_name(name).map_err(Error::Usage)?;
    let result = read_run(run)?;
    if result.cells.is_empty() {
        return Err(Error::Usage(format!(
            "{}: the run has no cells to keep as a baseline",
            run.display()
        )));
    }
    let b = crate::gate::baseline::Baseline::from_run(&result, name);
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::run_io(format!("creating {}", dir.display()), e))?;
    let path = dir.join(format!("{name}.json"));
    crate::result::writer::write_atomic(&path, &b.to_bytes())
        .map_err(|e| Error::run_io(format!("writing {}", path.display()), e))?;
    println!(
        "saved baseline {name} ({} cells of run {}) to {}",
        b.cells.len(),
        b.run_id,
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn report_run(dir: &std::path::Path) -> Result<ExitCode> {
    let run = read_run(dir)?;
    let run_dir = crate::result::writer::RunDir::open(dir).map_err(|e| {
        Error::Usage(format!(
            "{e}: `wpbench report` takes a run directory (it writes next to result.json)"
        ))
    })?;
    let (written, unreadable) = run_dir
        .write_reports(&run)
        .map_err(|e| Error::run_io(format!("writing the reports to {}", dir.display()), e))?;
    for u in &unreadable {
        eprintln!("wpbench: no time-series chart for {u}");
    }
    let charts = written
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        .count();
    println!(
        "wrote {} and {}, and {charts} charts as SVG and PNG in {}",
        dir.join(crate::result::writer::HTML_FILE).display(),
        dir.join(crate::result::writer::SUMMARY_FILE).display(),
        dir.join(crate::result::writer::CHARTS_DIR).display()
    );
    Ok(ExitCode::SUCCESS)
}

fn compare(
    base: &std::path::Path,
    new: &std::path::Path,
    format: CompareFormat,
) -> Result<ExitCode> {
    let (base, new) = (read_run(base)?, read_run(new)?);
    let c = report::compare::compare(&base, &new);
    let text = match format {
        CompareFormat::Text => report::compare::render_text(&c),
        CompareFormat::Markdown => report::compare::render_markdown(&c),
        CompareFormat::Html => {
            report::compare::render_html(&c, &report::compare::spectra(&base, &new, &c))
        }
        CompareFormat::Json => {
            let mut s = serde_json::to_string_pretty(&c).map_err(|e| Error::Run(e.to_string()))?;
            s.push('\n');
            s
        }
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn merge_runs(runs: &[PathBuf], out: &std::path::Path, force: bool) -> Result<ExitCode> {
    let (merged, warnings) =
        crate::result::merge::merge_dirs(runs, out, force, std::env::args().collect())?;
    for w in &warnings {
        eprintln!("wpbench: {w}");
    }
    let nodes: Vec<&str> = merged.sources.iter().map(|s| s.node.as_str()).collect();
    let forced = merged
        .cells
        .iter()
        .filter(|c| c.notes.iter().any(|n| n.starts_with("merged with --force")))
        .count();
    println!(
        "merged {} runs ({}) into {} cells: wrote {}/result.json, report.html, summary.md, charts/ and hlog/{}",
        merged.sources.len(),
        nodes.join(", "),
        merged.cells.len(),
        out.display(),
        if forced > 0 {
            format!(" ({forced} cells merged with --force despite differences: see their notes)")
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn validate(files: &[PathBuf], format: Format) -> Result<ExitCode> {
    let mut failed = false;
    let mut json = Vec::new();
    for file in files {
        let checked = scenario::load(file).and_then(|s| {
            // A plan over the whole scenario (no --only): the cell count
            // limit is the loader's, so this cannot fail on a loaded file.
            let plan = plan(&s, &[]).map_err(|message| {
                scenario::Diagnostics(vec![scenario::Diagnostic {
                    file: file.clone(),
                    line: 1,
                    column: 1,
                    key: "repeat".into(),
                    message,
                }])
            })?;
            let estimate = scenario::budget::estimate(&s, &plan);
            Ok((s, estimate))
        });
        match (checked, format) {
            (Ok((s, estimate)), Format::Text) => {
                let plural = |n: usize, one: &str, many: &str| {
                    format!("{n} {}", if n == 1 { one } else { many })
                };
                println!(
                    "ok {}: {} × {} × {} = {}",
                    file.display(),
                    plural(s.targets.len(), "target", "targets"),
                    plural(s.workloads.len(), "workload", "workloads"),
                    plural(s.repeat as usize, "repeat", "repeats"),
                    plural(estimate.cells as usize, "cell", "cells"),
                );
                for line in estimate.describe() {
                    println!("  {line}");
                }
            }
            (Ok((_, estimate)), Format::Json) => json.push(serde_json::json!({
                "file": file,
                "ok": true,
                "plan": estimate,
            })),
            (Err(d), Format::Text) => {
                failed = true;
                eprintln!("{d}");
            }
            (Err(d), Format::Json) => {
                failed = true;
                json.push(serde_json::json!({
                    "file": file,
                    "ok": false,
                    "diagnostics": d.0.iter().map(|d| serde_json::json!({
                        "line": d.line,
                        "column": d.column,
                        "key": d.key,
                        "message": d.message,
                    })).collect::<Vec<_>>(),
                }));
            }
        }
    }
    if format == Format::Json {
        let mut text =
            serde_json::to_string_pretty(&json).map_err(|e| Error::Run(e.to_string()))?;
        text.push('\n');
        print!("{text}");
    }
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn cleanup(root: Option<PathBuf>) -> Result<ExitCode> {
    let root = root.unwrap_or_else(scratch::default_root);
    // Dead runs: their threads are long gone, so their cgroups go at once.
    let remove_cgroups = |run: &str, names: &[String]| {
        crate::fault::throttle::remove_run_cgroups(run, names, std::time::Duration::from_secs(2))
    };
    // Refuses (exit 3) a scratch root another user could have written.
    let report = scratch::cleanup_stale(&root, &remove_cgroups)?;
    for path in &report.removed_paths {
        println!("removed {}", path.display());
    }
    for run in &report.removed_runs {
        println!("removed run {run}");
    }
    for cgroup in &report.removed_cgroups {
        println!("removed cgroup {}", cgroup.display());
    }
    let (marked, problems) = crate::result::writer::mark_killed_runs(&report.killed_results);
    for dir in marked {
        println!("marked {} as killed", dir.display());
    }
    for problem in problems {
        eprintln!("wpbench: {problem}");
    }
    // Old empty cgroups no manifest records (a live run's holds its threads).
    for cgroup in crate::fault::throttle::remove_stale(&report.live_runs) {
        println!("removed cgroup {}", cgroup.display());
    }
    for run in &report.live_runs {
        println!("left alone: run {run} is still running");
    }
    for what in &report.left_alone {
        println!("left alone: {what}");
    }
    if report.removed_runs.is_empty() && report.problems.is_empty() && report.left_alone.is_empty()
    {
        println!("nothing to clean up under {}", root.display());
    }
    if report.problems.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Error::Run(format!(
            "cleanup incomplete: {}",
            report.problems.join("; ")
        )))
    }
}

fn k8s_render(a: &K8sRenderArgs) -> Result<ExitCode> {
    use crate::k8s;
    let bytes = std::fs::read(&a.file).map_err(|e| {
        Error::Usage(format!(
            "{}: cannot read the scenario: {e}",
            a.file.display()
        ))
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::Usage(format!(
            "{}: the scenario is not UTF-8 text: {e}",
            a.file.display()
        ))
    })?;
    let scenario = scenario::load_str(&text, &a.file)?;
    let file_name = k8s::file_name(&a.file)
        .ok_or_else(|| Error::Usage(format!("{}: not a file name", a.file.display())))?;
    let placement = match (&a.nodes, &a.node_selector, a.count) {
        (Some(nodes), _, _) => k8s::Placement::Nodes(k8s::parse_nodes(nodes)),
        (None, Some(sel), Some(count)) => k8s::Placement::Selector {
            labels: k8s::parse_selector(sel).map_err(Error::Usage)?,
            count,
        },
        _ => {
            return Err(Error::Usage(
                "give --nodes a,b,c or --node-selector key=value --count N".into(),
            ))
        }
    };
    let opts = k8s::Options {
        image: a.image.clone(),
        placement,
        namespace: a.namespace.clone(),
        create_namespace: a.create_namespace,
        name: a.name.clone(),
    };
    let source = k8s::Source {
        file_name,
        text: &text,
    };
    let manifests = k8s::render(&scenario, source, &opts).map_err(Error::Usage)?;
    let Some(dir) = &a.out else {
        print!("{}", k8s::stream(&manifests));
        return Ok(ExitCode::SUCCESS);
    };
    if let Some(problem) = out_flag_problem(dir) {
        return Err(Error::Usage(problem));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::run_io(format!("creating {}", dir.display()), e))?;
    for m in &manifests {
        let path = dir.join(&m.file_name);
        std::fs::write(&path, &m.yaml)
            .map_err(|e| Error::run_io(format!("writing {}", path.display()), e))?;
        println!("wrote {}", path.display());
    }
    println!(
        "apply with: kubectl apply -f {}  (README.md, \"Running on a fleet\", gathers the results)",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

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
fn cancel_on_signals() -> Result<Cancel> {
    let cancel = Cancel::new();
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 4, cancel.flag())
            .and_then(|_| signal_hook::flag::register(sig, cancel.flag()))
            .map_err(|e| Error::Environment(format!("installing signal handlers: {e}")))?;
    }
    Ok(cancel)
}

fn run(args: RunArgs) -> Result<ExitCode> {
    // Before anything that can take time: every phase honours a signal.
    let cancel = cancel_on_signals()?;
    let mut scenario = scenario::load(&args.file)?;
    if let Some(d) = args.duration {
        if d.is_zero() {
            return Err(Error::Usage("--duration must be longer than 0s".into()));
        }
        scenario.stop = Stop::Duration(d);
    }
    if let Some(n) = args.ops {
        scenario.stop = Stop::Ops(n);
    }
    if let Some(w) = args.warmup {
        scenario.warmup = w;
    }
    if let Some(r) = args.repeat {
        scenario.repeat = r;
        if let Some(m) = scenario::plan_too_large(&scenario) {
            return Err(Error::Usage(format!("--repeat {r}: {m}")));
        }
    }
    if let Some(s) = args.seed {
        scenario.seed = s;
    }
    if let Stop::Duration(d) = scenario.stop {
        // The loader checked the file's own duration; an override may not
        // end the cells before their power cut.
        if let Some(at) = scenario
            .faults
            .iter()
            .filter_map(|f| f.at)
            .find(|at| at.max >= d)
        {
            return Err(Error::Usage(format!(
                "the measured phase ({}) ends before a crash fault's `at` window ({}..{}) does; \
                 give a longer --duration",
                format_duration(d),
                format_duration(at.min),
                format_duration(at.max)
            )));
        }
    }
    let plan = plan(&scenario, &args.only).map_err(Error::Usage)?;
    let problem = match &args.out {
        Some(out) => out_flag_problem(out),
        None => out_dir_problem(&PathBuf::from("reports").join(&scenario.name))
            .map(|p| format!("the default run directory: {p}; give --out DIR")),
    };
    if let Some(problem) = problem {
        return Err(Error::Usage(problem));
    }
    // Gate files and the baseline are checked before anything runs.
    let (mut gates, baseline) = load_gating(&args.gating, &scenario_gate_names(&scenario))?;
    gates.splice(0..0, scenario.gates.iter().cloned());
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
    preflight::check_environment(&scenario, &plan, privileged)?;
    preflight::check_budget(&scenario, &plan, &scratch_root, &out_dir)?;
    // Started before the namespace, so it stays in the host's; it removes
    // what the run leaves on disk if the run is killed with SIGKILL.
    let _guardian = guardian::spawn(&scratch_root, &run_id)?;
    if privileged {
        // Before any thread exists: threads inherit the namespace.
        namespace::enter_private_mount_namespace()?;
    }

    let opts = RunOptions {
        run_id,
        out_dir: out_dir.clone(),
        scratch_root,
        keep: args.keep,
        privileged,
        command: std::env::args().collect(),
    };
    let console = Console::new(&args);
    let result = runner::run(&scenario, &plan, &opts, &cancel, &console);
    console.done();
    let result = result?;
    match args.format {
        Format::Json => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&report::json::render(&result));
        }
        Format::Text if !args.quiet => {
            eprintln!(
                "wrote {0}/result.json, {0}/report.html, {0}/summary.md, charts/ and {1} interval logs",
                out_dir.display(),
                result.cells.len()
            );
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
    )
}

/// Progress on stderr (a bar on a terminal, plain lines otherwise) and a
/// table per finished cell on stdout.
struct Console {
    bar: Option<ProgressBar>,
    plain: bool,
    tables: bool,
    label: RefCell<String>,
}

impl Console {
    fn new(args: &RunArgs) -> Console {
        let tty = std::io::stderr().is_terminal();
        let bar = (tty && !args.quiet).then(|| {
            let bar = ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{prefix:.bold} [{bar:25}] {msg}")
                    .expect("constant template")
                    .progress_chars("=> "),
            );
            bar
        });
        Console {
            bar,
            plain: !tty && !args.quiet,
            tables: !args.quiet && args.format == Format::Text,
            label: RefCell::new(String::new()),
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Console {
    fn tick(&self, t: &Tick) {
        let Some(bar) = &self.bar else { return };
        let fraction = match (t.phase, t.planned, t.planned_ops) {
            (Phase::Warmup, _, _) => 0.0,
            (Phase::Measure, _, Some(n)) if n > 0 => t.unit_ops as f64 / n as f64,
            (Phase::Measure, Some(p), _) if !p.is_zero() => {
                t.elapsed.as_secs_f64() / p.as_secs_f64()
            }
            _ => 0.0,
        };
        bar.set_position((fraction.clamp(0.0, 1.0) * 1000.0) as u64);
        let phase = match t.phase {
            Phase::Warmup => "warm-up",
            Phase::Measure => "measure",
        };
        let time = match t.planned {
            Some(p) => format!(
                "{} / {} ({} left)",
                format_duration(t.elapsed),
                format_duration(p),
                format_duration(p.saturating_sub(t.elapsed))
            ),
            None => format_duration(t.elapsed),
        };
        bar.set_message(format!(
            "{phase} {time} · {:.0} ops/s · {} ops",
            t.ops_per_sec, t.unit_ops
        ));
    }
}

impl RunObserver for Console {
    fn cell_started(&self, cell: &Cell, label: &str, of: usize) {
        let line = format!("[{}/{}] {label}", cell.index + 1, of);
        if let Some(bar) = &self.bar {
            bar.set_position(0);
            bar.set_prefix(line.clone());
        } else if self.plain {
            eprintln!("{line} …");
        }
        *self.label.borrow_mut() = line;
    }

    fn cell_finished(&self, result: &CellResult) {
        if !self.tables {
            return;
        }
        let table = report::terminal::render_cell(result);
        match &self.bar {
            Some(bar) => bar.suspend(|| println!("{table}")),
            None => println!("{table}"),
        }
    }

    fn message(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("wpbench: {text}")),
            None => eprintln!("wpbench: {text}"),
        }
    }
}
