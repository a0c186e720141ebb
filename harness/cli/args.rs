//! The command line's shape: clap definitions of every command, flag and
//! help text. Parsing only; the commands live in their own files.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::scenario::units::parse_duration;

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
    pub(super) command: Command,
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
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
        #[command(flatten)]
        link: LinkArgs,
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
        /// The smallest change a verdict names, e.g. `10%`.
        #[arg(long, value_parser = parse_min_effect, default_value = "5%")]
        min_effect: f64,
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
        #[command(flatten)]
        link: LinkArgs,
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
    /// Internal: the guardian process a run starts (see crate::guardian).
    #[command(hide = true)]
    Guard {
        #[arg(long)]
        scratch: PathBuf,
        #[arg(long)]
        run: String,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum K8sCommand {
    /// Render a ConfigMap with the scenario and an Indexed Job whose pods
    /// run it, one per node (privileged only when a target is mounted by
    /// wpbench; and the Namespace, with --create-namespace); each pod
    /// prints its run directory as a tarball between marker lines for
    /// `kubectl logs`.
    Render(K8sRenderArgs),
    /// Gather each pod's run directory from its log (`kubectl logs`) and
    /// merge them into one run directory, as `wpbench merge` does. Exit 4
    /// when a node's results are missing (the others are merged).
    Collect(K8sCollectArgs),
}

#[derive(Debug, clap::Args)]
pub(super) struct K8sCollectArgs {
    /// The Job's namespace.
    #[arg(long, value_name = "NS", default_value = "wpbench")]
    pub(super) namespace: String,
    /// The Job's name (as rendered: wpbench-<scenario>, or `render --name`).
    #[arg(long, value_name = "JOB", required_unless_present = "from_logs")]
    pub(super) name: Option<String>,
    /// The merged run directory to write.
    #[arg(short, long, value_name = "DIR")]
    pub(super) out: PathBuf,
    /// Read the pods' logs from files instead of kubectl: every regular
    /// file in LOGDIR is one pod's log, named after the pod (a `.log` or
    /// `.txt` ending is dropped).
    #[arg(long, value_name = "LOGDIR")]
    pub(super) from_logs: Option<PathBuf>,
    /// Merge cells even when the nodes' runs differ (as `wpbench merge --force`).
    #[arg(long)]
    pub(super) force: bool,
    #[command(flatten)]
    pub(super) link: LinkArgs,
}

#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("placement")
        .required(true)
        .args(["nodes", "node_selector"])
))]
pub(super) struct K8sRenderArgs {
    /// Scenario file (its text goes into the ConfigMap verbatim).
    pub(super) file: PathBuf,
    /// The container image with wpbench in it (built from the Dockerfile).
    #[arg(long)]
    pub(super) image: String,
    /// The nodes to run on, one pod each (names as `kubectl get nodes` shows them).
    #[arg(long, value_name = "NODE,...")]
    pub(super) nodes: Option<String>,
    /// Run on nodes with these labels, at most one pod per node (needs --count).
    #[arg(long, value_name = "KEY=VALUE,...", requires = "count")]
    pub(super) node_selector: Option<String>,
    /// With --node-selector: how many nodes (pods) to run on.
    #[arg(long, value_name = "N", conflicts_with = "nodes",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(super) count: Option<u32>,
    /// The namespace of every object.
    #[arg(long, value_name = "NS", default_value = "wpbench")]
    pub(super) namespace: String,
    /// Render the Namespace too (labelled with the Pod Security level its pods need).
    #[arg(long)]
    pub(super) create_namespace: bool,
    /// The Job's and ConfigMap's name [default: wpbench-<scenario>].
    #[arg(long)]
    pub(super) name: Option<String>,
    /// Write one file per object into DIR [default: a multi-document YAML stream on stdout].
    #[arg(long, short = 'o', value_name = "DIR")]
    pub(super) out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Format {
    /// A table per cell on stdout.
    Text,
    /// result.json on stdout at the end.
    Json,
}

#[derive(Debug, Subcommand)]
pub(super) enum BaselineCommand {
    /// Store a run as a baseline: histograms per cell, repeat and op.
    Save {
        /// The run directory (or its result.json).
        run: PathBuf,
        /// The baseline's name (the file is DIR/NAME.json).
        #[arg(long)]
        name: String,
        /// Where baselines live.
        #[arg(long, default_value = crate::analysis::gate::baseline::DEFAULT_DIR)]
        dir: PathBuf,
    },
}

/// What gates a run, for `gate` and `run`.
#[derive(Debug, Clone, clap::Args)]
pub(super) struct GateOptions {
    /// A gate file (`version: 1`, `gates:` as in a scenario); repeatable.
    #[arg(long = "gate", value_name = "FILE")]
    pub(super) gates: Vec<PathBuf>,
    /// Compare with a baseline: a name in --baseline-dir, or a file.
    #[arg(long, value_name = "NAME|FILE")]
    pub(super) baseline: Option<String>,
    /// Where `--baseline NAME` is looked up.
    #[arg(long, value_name = "DIR", default_value = crate::analysis::gate::baseline::DEFAULT_DIR)]
    pub(super) baseline_dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub(super) struct GateArgs {
    /// The run directory.
    pub(super) run: PathBuf,
    #[command(flatten)]
    pub(super) options: GateOptions,
    #[command(flatten)]
    pub(super) link: LinkArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum CompareFormat {
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
pub(super) struct RunArgs {
    /// Scenario file.
    pub(super) file: PathBuf,
    /// Run directory [default: reports/<scenario>/<run-id>].
    #[arg(long, value_name = "DIR")]
    pub(super) out: Option<PathBuf>,
    /// Only cells matching TARGET/WORKLOAD globs (a bare TARGET means TARGET/*); repeatable.
    #[arg(long, value_name = "TARGET/WORKLOAD")]
    pub(super) only: Vec<String>,
    /// Where a volume, emptydir or rootfs target is on this machine
    /// (a mounted volume, or any directory to measure in its place); repeatable.
    #[arg(long = "volume", value_name = "NAME=DIR", value_parser = crate::scenario::bind::parse_volume_arg)]
    pub(super) volumes: Vec<crate::scenario::bind::VolumeBinding>,
    /// Measured time per cell, overriding the scenario (e.g. 10s).
    #[arg(long, value_parser = parse_duration_arg, conflicts_with = "ops")]
    pub(super) duration: Option<Duration>,
    /// Unit ops per cell, overriding the scenario's duration.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub(super) ops: Option<u64>,
    /// Warm-up per cell, overriding the scenario (e.g. 0s).
    #[arg(long, value_parser = parse_duration_arg)]
    pub(super) warmup: Option<Duration>,
    /// Repetitions, overriding the scenario (interleaved).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub(super) repeat: Option<u32>,
    /// Seed, overriding the scenario.
    #[arg(long)]
    pub(super) seed: Option<u64>,
    /// No progress and no tables; errors only.
    #[arg(long, short)]
    pub(super) quiet: bool,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(super) format: Format,
    /// Keep hostPath subdirectories (what the workloads wrote) after the run.
    #[arg(long)]
    pub(super) keep: bool,
    /// Scratch root [default: /var/tmp/wpbench-runs, or $WPBENCH_SCRATCH].
    #[arg(long, value_name = "DIR")]
    pub(super) scratch: Option<PathBuf>,
    #[command(flatten)]
    pub(super) gating: GateOptions,
    #[command(flatten)]
    pub(super) link: LinkArgs,
}

/// Where the run directory is published, for summary.md's links.
#[derive(Debug, Clone, clap::Args)]
pub(super) struct LinkArgs {
    /// The URL the run directory is published at (http:// or https://):
    /// summary.md links its headline charts and report.html under it.
    /// Without it (and without $WPBENCH_LINK_BASE) summary.md links nothing.
    #[arg(long, value_name = "URL", value_parser = parse_link_base_arg)]
    pub(super) link_base: Option<String>,
}

impl LinkArgs {
    /// The render options: `--link-base`, else `$WPBENCH_LINK_BASE` when
    /// set and not empty (a bad one is a usage error, exit 2).
    pub(super) fn render_options(&self) -> crate::error::Result<crate::report::RenderOptions> {
        let link_base = match &self.link_base {
            Some(url) => Some(url.clone()),
            None => match std::env::var("WPBENCH_LINK_BASE") {
                Ok(v) if !v.is_empty() => {
                    Some(crate::report::summary::parse_link_base(&v).map_err(|e| {
                        crate::error::Error::Usage(format!("$WPBENCH_LINK_BASE: {e}"))
                    })?)
                }
                _ => None,
            },
        };
        Ok(crate::report::RenderOptions { link_base })
    }
}

fn parse_link_base_arg(s: &str) -> std::result::Result<String, String> {
    crate::report::summary::parse_link_base(s)
}

fn parse_min_effect(s: &str) -> std::result::Result<f64, String> {
    match crate::scenario::units::parse_percent(s) {
        Ok(m) if (0.0..1.0).contains(&m) => Ok(m),
        Ok(_) => Err(format!("`{s}`: must be at least 0% and below 100%")),
        Err(e) => Err(e.to_string()),
    }
}

fn parse_duration_arg(s: &str) -> std::result::Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}
