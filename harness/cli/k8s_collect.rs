//! `wpbench k8s collect`: each pod's run directory out of its log
//! (`kubectl logs`, or recorded logs with `--from-logs`), merged into one
//! run directory as `wpbench merge` writes it.
//!
//! kubectl is the user's tool and wpbench only runs it — `$KUBECTL`, or
//! `kubectl` on PATH — with arguments, never through a shell. Exit codes:
//! 2 a wrong command line or `--from-logs` directory, 3 no kubectl, 4
//! kubectl failed, no pods, or a node's results missing (after the others
//! are merged).

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use super::args::K8sCollectArgs;
use crate::error::{Error, Result};
use crate::k8s;
use crate::k8s::collect::{parse_log, rc_meaning, Missing};
use crate::result::MissingSource;
use crate::rundir::unpack::{unpack_run, TempDir};
use crate::rundir::{out_dir_problem, read_result, RESULT_FILE};

/// How much of kubectl's stderr an error message quotes.
const STDERR_MAX_CHARS: usize = 2000;

/// One pod and where its log is read from. Logs are read one at a time,
/// when their turn comes, so a large fleet's logs are never all in memory.
struct Pod {
    name: String,
    log: LogSource,
}

enum LogSource {
    /// A recorded log (`--from-logs`).
    File(PathBuf),
    /// `kubectl logs -n NAMESPACE POD -c wpbench`.
    Kubectl { namespace: String },
}

impl Pod {
    /// Its log's text, or why kubectl could not print it (that pod is
    /// then missing); an error stops the whole collection.
    fn read(&self) -> Result<std::result::Result<String, String>> {
        match &self.log {
            LogSource::File(path) => {
                let bytes = fs::read(path)
                    .map_err(|e| Error::Usage(format!("--from-logs: {}: {e}", path.display())))?;
                Ok(Ok(String::from_utf8_lossy(&bytes).into_owned()))
            }
            LogSource::Kubectl { namespace } => {
                run_kubectl(&["logs", "-n", namespace, &self.name, "-c", "wpbench"])
            }
        }
    }
}

/// What became of one pod's results.
enum Outcome {
    /// Unpacked at `dir`, with wpbench's exit code on its node.
    Ready { node: String, rc: i32, dir: PathBuf },
    Missing {
        node: String,
        reason: String,
        tail: Vec<String>,
    },
}

pub(super) fn collect(a: &K8sCollectArgs) -> Result<ExitCode> {
    let render = a.link.render_options()?;
    if let Some(problem) = out_dir_problem(&a.out) {
        return Err(Error::Usage(format!(
            "-o {}: {problem}; -o names the directory (created if missing) to write the \
             merged run into, e.g. -o reports/fleet",
            a.out.display()
        )));
    }
    if a.out.join(RESULT_FILE).exists() {
        return Err(Error::Usage(format!(
            "{} already holds a run; give -o a new directory",
            a.out.display()
        )));
    }
    let job = a.name.as_deref().unwrap_or("");
    let pods = match &a.from_logs {
        Some(dir) => log_files(dir)?,
        None => {
            k8s::check_job_ref(&a.namespace, job).map_err(Error::Usage)?;
            job_pods(&a.namespace, job)?
        }
    };

    // A signal stops the collection between pods (kubectl, in the same
    // process group, gets a terminal's SIGINT too), so the temporary
    // directory is removed on the way out; a second signal exits at once.
    let cancel = super::run::cancel_on_signals()?;
    let interrupted = || Error::Interrupted("collecting the pods' logs; nothing written".into());
    let temp =
        TempDir::beside(&a.out).map_err(|e| Error::Run(format!("-o {}: {e}", a.out.display())))?;
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(pods.len());
    for (i, pod) in pods.iter().enumerate() {
        if cancel.is_set() {
            return Err(interrupted());
        }
        let log = pod.read()?;
        outcomes.push(outcome(&pod.name, log, &temp.path().join(i.to_string())));
    }
    if cancel.is_set() {
        return Err(interrupted());
    }

    let ready: Vec<(String, PathBuf)> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Ready { node, dir, .. } => Some((node.clone(), dir.clone())),
            Outcome::Missing { .. } => None,
        })
        .collect();
    let missing: Vec<MissingSource> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Missing { node, reason, .. } => Some(MissingSource {
                node: node.clone(),
                reason: reason.clone(),
            }),
            Outcome::Ready { .. } => None,
        })
        .collect();
    let what = match &a.from_logs {
        Some(dir) => format!("the logs in {}", dir.display()),
        None => format!("Job {job} in namespace {}", a.namespace),
    };
    if ready.is_empty() {
        print_outcomes(&outcomes, false);
        return Err(Error::Run(format!(
            "no node's results could be collected from {what} ({}); nothing written\n{}",
            crate::scenario::units::plural(outcomes.len() as u64, "pod", "pods"),
            missing_list(&missing)
        )));
    }

    let (merged, warnings) = crate::rundir::merge::merge_nodes(
        &ready,
        missing.clone(),
        &a.out,
        a.force,
        std::env::args().collect(),
        &render,
    )?;
    drop(temp);
    print_outcomes(&outcomes, true);
    for w in &warnings {
        eprintln!("wpbench: {w}");
    }
    let nodes: Vec<&str> = merged.sources.iter().map(|s| s.node.as_str()).collect();
    println!(
        "merged {} ({}) into {}: wrote {}/result.json, report.html, summary.md, charts/ and hlog/",
        crate::scenario::units::plural(nodes.len() as u64, "node", "nodes"),
        nodes.join(", "),
        crate::scenario::units::plural(merged.cells.len() as u64, "cell", "cells"),
        a.out.display(),
    );
    if missing.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(Error::Run(format!(
        "{} of {} missing from {what}:\n{}\nthe other {} ({}) are merged in {}; rerun the \
         missing ones (k8s render --nodes) and merge them in with `wpbench merge`",
        missing.len(),
        crate::scenario::units::plural(outcomes.len() as u64, "node", "nodes"),
        missing_list(&missing),
        crate::scenario::units::plural(nodes.len() as u64, "node", "nodes"),
        nodes.join(", "),
        a.out.display(),
    )))
}

/// Parses one pod's log and unpacks its run directory into `into`.
fn outcome(pod: &str, log: std::result::Result<String, String>, into: &Path) -> Outcome {
    let missing = |node: String, reason: String| Outcome::Missing {
        node,
        reason,
        tail: Vec::new(),
    };
    let text = match log {
        Ok(text) => text,
        Err(why) => return missing(pod.to_string(), why),
    };
    let results = match parse_log(&text) {
        Ok(r) => r,
        Err(m) => {
            let node = node_of(&m, pod);
            return Outcome::Missing {
                reason: with_pod(m.to_string(), &node, pod),
                node,
                tail: m.log_tail().to_vec(),
            };
        }
    };
    drop(text);
    let missing = |node: String, reason: String| {
        let reason = with_pod(reason, &node, pod);
        missing(node, reason)
    };
    if let Err(e) = fs::create_dir(into) {
        return missing(
            results.node,
            format!("cannot unpack: {}: {e}", into.display()),
        );
    }
    let dir = match unpack_run(&results.tarball, &results.node, into) {
        Ok(dir) => dir,
        Err(e) => {
            return missing(
                results.node,
                format!("its run directory cannot be unpacked: {e}"),
            )
        }
    };
    if let Err(e) = read_result(&dir) {
        return missing(
            results.node,
            format!("its run directory holds no readable {RESULT_FILE}: {e}"),
        );
    }
    Outcome::Ready {
        node: results.node,
        rc: results.rc,
        dir,
    }
}

fn node_of(m: &Missing, pod: &str) -> String {
    m.node().unwrap_or(pod).to_string()
}

/// `reason`, naming the pod when the node is not named after it (to look
/// at its log: `kubectl logs POD`).
fn with_pod(reason: String, node: &str, pod: &str) -> String {
    if node == pod {
        reason
    } else {
        format!("{reason} [pod {pod}]")
    }
}

/// One line per pod on stdout (`node-a: rc=0, merged`), the missing ones'
/// log tails indented under them.
fn print_outcomes(outcomes: &[Outcome], merged: bool) {
    for o in outcomes {
        match o {
            Outcome::Ready { node, rc, .. } => {
                let meaning = rc_meaning(*rc)
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default();
                let verb = if merged { "merged" } else { "unpacked" };
                println!("{node}: rc={rc}{meaning}, {verb}");
            }
            Outcome::Missing { node, reason, tail } => {
                println!("{node}: missing — {reason}");
                for l in tail {
                    println!("    | {l}");
                }
            }
        }
    }
}

fn missing_list(missing: &[MissingSource]) -> String {
    missing
        .iter()
        .map(|m| format!("  {}: {}", m.node, m.reason))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `--from-logs`: every regular file in `dir`, sorted by name, is one
/// pod's log, named after the file without `.log`/`.txt`.
fn log_files(dir: &Path) -> Result<Vec<Pod>> {
    let usage = |e: std::io::Error| {
        Error::Usage(format!(
            "--from-logs {}: cannot read it: {e} (give a directory holding one file per pod's log)",
            dir.display()
        ))
    };
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for entry in fs::read_dir(dir).map_err(usage)? {
        let path = entry.map_err(usage)?.path();
        if !path.is_file() {
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        files.push((name, path));
    }
    if files.is_empty() {
        return Err(Error::Usage(format!(
            "--from-logs {}: no files in it; give a directory holding one file per pod's log \
             (kubectl logs POD -c wpbench > DIR/POD.log)",
            dir.display()
        )));
    }
    files.sort();
    Ok(files
        .into_iter()
        .map(|(name, path)| Pod {
            name: name
                .strip_suffix(".log")
                .or_else(|| name.strip_suffix(".txt"))
                .unwrap_or(&name)
                .to_string(),
            log: LogSource::File(path),
        })
        .collect())
}

/// `$KUBECTL`, or `kubectl` (on PATH).
fn kubectl() -> (OsString, bool) {
    match std::env::var_os("KUBECTL") {
        Some(k) if !k.is_empty() => (k, true),
        _ => (OsString::from("kubectl"), false),
    }
}

/// Runs kubectl with `args`; its stdout, or why it failed: missing is the
/// environment's problem (exit 3), a failure is the run's (exit 4, with
/// its stderr).
fn run_kubectl(args: &[&str]) -> Result<std::result::Result<String, String>> {
    let (program, from_env) = kubectl();
    let shown = format!("{} {}", program.to_string_lossy(), args.join(" "));
    let out = Command::new(&program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            let which = if from_env {
                format!("$KUBECTL ({})", program.to_string_lossy())
            } else {
                "kubectl (on PATH)".to_string()
            };
            Error::Environment(format!(
                "cannot run {which}: {e}; install kubectl or set KUBECTL to its path"
            ))
        })?;
    if out.status.success() {
        return Ok(Ok(String::from_utf8_lossy(&out.stdout).into_owned()));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Ok(Err(format!(
        "`{shown}` failed ({}): {}",
        out.status,
        bounded_tail(stderr.trim(), STDERR_MAX_CHARS)
    )))
}

/// The last `max` characters of `s` (where an error message ends up).
fn bounded_tail(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let skip = s.char_indices().nth(n - max).map(|(i, _)| i).unwrap_or(0);
    format!("…{}", &s[skip..])
}

/// The Job's pods (label `job-name`, which the Job controller sets), sorted,
/// and each one's log of the wpbench container.
fn job_pods(namespace: &str, job: &str) -> Result<Vec<Pod>> {
    let selector = format!("job-name={job}");
    let listed = run_kubectl(&[
        "get",
        "pods",
        "-n",
        namespace,
        "-l",
        &selector,
        "-o",
        "jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}",
    ])?
    .map_err(Error::Run)?;
    let mut pods: Vec<String> = listed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    pods.sort();
    pods.dedup();
    if pods.is_empty() {
        // Exit 4, not 2: the command line may well be right — a Job and
        // its pods are deleted a day after it finishes (its TTL), and
        // wpbench cannot tell that from a misspelt name.
        return Err(Error::Run(format!(
            "no pods of Job {job} in namespace {namespace} (label job-name={job}): check the \
             name with `kubectl -n {namespace} get jobs`; a finished Job and its pods' logs are \
             deleted {} h after it finishes",
            k8s::TTL_SECONDS / 3600
        )));
    }
    Ok(pods
        .into_iter()
        .map(|name| Pod {
            name,
            log: LogSource::Kubectl {
                namespace: namespace.to_string(),
            },
        })
        .collect())
}
