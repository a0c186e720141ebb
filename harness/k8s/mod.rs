//! `wpbench k8s render`: Kubernetes manifests that run one scenario on
//! every node of a fleet, one pod per node.
//!
//! Pure: a checked [`Scenario`], the scenario file's text and [`Options`]
//! in, `(file name, YAML text)` pairs out. Nothing here reads a file,
//! talks to a cluster or prints; `cli` does the reading and writing.
//!
//! What is rendered, and why (docs/fleet.md, "What is rendered, and why", says the
//! same for users):
//!
//! - an optional `Namespace` (`--create-namespace`), labelled with the Pod
//!   Security level the pods need (see [`security`]);
//! - a `ConfigMap` holding the scenario file's text verbatim, key = the
//!   file name, mounted at `/scenario`;
//! - an Indexed `Job`, `completions = parallelism =` the number of nodes,
//!   whose pods land one per node (see [`placement`]), each running
//!   `wpbench run /scenario/FILE --out /results/$NODE_NAME` in a container
//!   that is privileged only when wpbench mounts a target ([`security`]),
//!   with the pod's own volumes for pod-storage targets ([`storage`]), then
//!   printing the run directory as a base64 tarball
//!   between marker lines so `kubectl logs` can gather it.

pub mod collect;
mod names;
mod resources;
pub mod security;
pub mod storage;
#[cfg(test)]
mod tests;

use std::path::{Component, Path, PathBuf};

use serde_yaml::{Mapping, Value};

use crate::scenario::{Scenario, TargetKind};

pub use names::{parse_nodes, parse_selector};
pub use resources::{estimate, Estimate};
pub use security::{privilege, Privilege};
pub use storage::{ROOTFS_DIR, VOLUMES_DIR};

/// The label every object carries (`app.kubernetes.io/name: wpbench`).
pub const APP_LABEL: (&str, &str) = ("app.kubernetes.io/name", "wpbench");
/// Where the ConfigMap is mounted in the container.
pub const SCENARIO_DIR: &str = "/scenario";
/// Where each run directory is written in the container (`/results/<node>`).
pub const RESULTS_DIR: &str = "/results";
/// wpbench's default scratch root, an emptyDir in the pod.
pub const SCRATCH_DIR: &str = "/var/tmp/wpbench-runs";
/// The marker lines around the results tarball in the pod's log.
pub const BEGIN_MARKER: &str = "BEGIN wpbench-results";
pub const END_MARKER: &str = "END wpbench-results";
/// Finished Jobs (and their pods' logs) are deleted after this: a day to
/// gather the results.
pub const TTL_SECONDS: u64 = 24 * 60 * 60;
/// A ConfigMap holds at most 1 MiB.
const CONFIGMAP_MAX: usize = 1 << 20;

/// Where the pods run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// These nodes (their `metadata.name`), one pod on each.
    Nodes(Vec<String>),
    /// `count` pods on nodes with all these labels, at most one per node.
    Selector {
        labels: Vec<(String, String)>,
        count: u32,
    },
}

impl Placement {
    /// The number of pods: the Job's completions and parallelism.
    pub fn count(&self) -> usize {
        match self {
            Placement::Nodes(n) => n.len(),
            Placement::Selector { count, .. } => *count as usize,
        }
    }
}

/// What `render` needs besides the scenario.
#[derive(Debug, Clone)]
pub struct Options {
    /// The container image holding the wpbench binary (see the Dockerfile).
    pub image: String,
    pub placement: Placement,
    /// The namespace every object is put in.
    pub namespace: String,
    /// Render a `Namespace` object too.
    pub create_namespace: bool,
    /// The Job's (and ConfigMap's) name; `wpbench-<scenario>` when `None`.
    pub name: Option<String>,
}

/// The scenario file as the user wrote it.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// Its file name (no directory): the ConfigMap key and `/scenario/<file>`.
    pub file_name: &'a str,
    /// Its text, byte for byte.
    pub text: &'a str,
    /// The files it names beside it (a replay's `trace:`), shipped in the
    /// same ConfigMap and mounted at the same relative paths.
    pub beside: &'a [Beside],
}

/// A file a scenario names relative to itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beside {
    /// As the scenario writes it (`traces/app.trace`).
    pub path: String,
    pub text: String,
}

/// The files `scenario` names beside itself (each replay's trace, once),
/// or why one cannot travel with it in a ConfigMap.
pub fn beside_files(scenario: &Scenario) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for w in &scenario.workloads {
        let crate::scenario::WorkloadParams::Replay(r) = &w.params else {
            continue;
        };
        let p = std::path::Path::new(&r.trace_file);
        let plain = p
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !plain {
            return Err(format!(
                "workload `{}`: `trace: {}`: k8s render ships a replay's trace in the \
                 ConfigMap beside the scenario, so name it relative to the scenario file, \
                 without `..` (e.g. traces/app.trace)",
                w.base_name, r.trace_file
            ));
        }
        if !out.contains(&r.trace_file) {
            out.push(r.trace_file.clone());
        }
    }
    Ok(out)
}

/// One rendered manifest: a file name for `-o DIR` and its YAML text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub file_name: String,
    pub yaml: String,
}

/// Renders the manifests, in the order `kubectl apply -f DIR` applies them
/// (file names sort that way). Every error is the user's to fix (exit 2).
pub fn render(
    scenario: &Scenario,
    source: Source<'_>,
    opts: &Options,
) -> Result<Vec<Manifest>, String> {
    let name = match &opts.name {
        Some(n) => {
            names::check_job_name(n).map_err(|e| format!("--name {n:?}: {e}"))?;
            n.clone()
        }
        None => names::job_name_for(&scenario.name),
    };
    names::check_namespace(&opts.namespace)
        .map_err(|e| format!("--namespace {:?}: {e}", opts.namespace))?;
    check_image(&opts.image)?;
    check_placement(&opts.placement)?;
    names::check_configmap_key(source.file_name)
        .map_err(|e| format!("the scenario file name {:?}: {e}", source.file_name))?;
    let bytes = source.text.len() + source.beside.iter().map(|b| b.text.len()).sum::<usize>();
    if bytes > CONFIGMAP_MAX {
        let with = match source.beside.len() {
            0 => String::new(),
            n => format!(" with the {n} files it names beside it"),
        };
        return Err(format!(
            "{}{with}: {bytes} bytes; a ConfigMap holds at most 1 MiB",
            source.file_name,
        ));
    }
    let host_paths = host_paths(scenario)?;
    let privilege = security::privilege(scenario);
    let level = security::pod_security_level(&privilege, !host_paths.is_empty());

    let mut out = Vec::new();
    if opts.create_namespace {
        out.push(Manifest {
            file_name: "00-namespace.yaml".into(),
            yaml: to_yaml(
                &namespace(&opts.namespace, level),
                &namespace_note(&privilege, level),
            ),
        });
    }
    out.push(Manifest {
        file_name: "10-configmap.yaml".into(),
        yaml: to_yaml(&config_map(&name, scenario, source, opts), ""),
    });
    let est = estimate(scenario);
    let pod = PodPlan {
        host_paths: &host_paths,
        storage: storage::pod_storage(scenario, &name),
        privilege: &privilege,
        est: &est,
    };
    out.push(Manifest {
        file_name: "20-job.yaml".into(),
        yaml: to_yaml(
            &job(&name, scenario, source, opts, &pod),
            &job_note(&est, &privilege),
        ),
    });
    Ok(out)
}

/// The manifests as one multi-document YAML stream (for stdout).
pub fn stream(manifests: &[Manifest]) -> String {
    manifests
        .iter()
        .map(|m| format!("---\n{}", m.yaml))
        .collect()
}

fn check_image(image: &str) -> Result<(), String> {
    if image.is_empty() {
        return Err(
            "--image is empty; give the image built from the Dockerfile, \
                    e.g. registry.example.com/wpbench:0.1"
                .into(),
        );
    }
    if image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "--image {image:?}: an image reference has no spaces"
        ));
    }
    Ok(())
}

fn check_placement(p: &Placement) -> Result<(), String> {
    match p {
        Placement::Nodes(nodes) => {
            if nodes.is_empty() {
                return Err("no nodes given: --nodes takes a comma-separated list of node names (kubectl get nodes)".into());
            }
            for n in nodes {
                names::check_node_name(n).map_err(|e| format!("--nodes: node {n:?}: {e}"))?;
            }
            let mut sorted: Vec<&String> = nodes.iter().collect();
            sorted.sort();
            if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                return Err(format!(
                    "--nodes names {} twice; each node runs one pod",
                    w[0]
                ));
            }
        }
        Placement::Selector { labels, count } => {
            if labels.is_empty() {
                return Err("--node-selector is empty; write it as key=value[,key=value]".into());
            }
            for (k, v) in labels {
                names::check_label(k, v).map_err(|e| format!("--node-selector {k}={v}: {e}"))?;
            }
            if *count == 0 {
                return Err("--count must be at least 1".into());
            }
        }
    }
    Ok(())
}

/// The hostPath targets' directories, as mounted in the pod: absolute,
/// without `..`, clear of the pod's own mount points, deduplicated.
fn host_paths(s: &Scenario) -> Result<Vec<PathBuf>, String> {
    let mut out: Vec<PathBuf> = Vec::new();
    for t in s.targets.iter().filter(|t| t.kind == TargetKind::Hostpath) {
        let Some(p) = t.path() else { continue };
        if p.components()
            .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
        {
            return Err(format!(
                "target {}: path {} has `.` or `..` in it; Kubernetes refuses such a hostPath, \
                 write it plainly",
                t.name,
                p.display()
            ));
        }
        let s = p.to_string_lossy();
        let trimmed = PathBuf::from(if s.len() > 1 {
            s.trim_end_matches('/')
        } else {
            &s
        });
        for reserved in [
            SCENARIO_DIR,
            RESULTS_DIR,
            SCRATCH_DIR,
            "/wpbench",
            ROOTFS_DIR,
        ] {
            if trimmed.starts_with(reserved) {
                return Err(format!(
                    "target {}: path {} is inside {reserved}, which the pod uses itself; \
                     choose another directory such as /var/tmp/wpbench",
                    t.name,
                    p.display()
                ));
            }
            // A hostPath over /var/tmp would put the pod's own directories
            // under it on the node's disk.
            if Path::new(reserved).starts_with(&trimmed) {
                return Err(format!(
                    "target {}: path {} holds {reserved}, which the pod uses itself (its \
                     hostPath would put that on the node's disk); choose a directory of its \
                     own such as /var/tmp/wpbench",
                    t.name,
                    p.display()
                ));
            }
        }
        if !out.contains(&trimmed) {
            out.push(trimmed);
        }
    }
    Ok(out)
}

// --- YAML building --------------------------------------------------------

fn s(v: impl Into<String>) -> Value {
    Value::String(v.into())
}

fn n(v: u64) -> Value {
    Value::Number(v.into())
}

fn map<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Mapping(pairs.into_iter().map(|(k, v)| (s(k), v)).collect())
}

fn seq(items: impl IntoIterator<Item = Value>) -> Value {
    Value::Sequence(items.into_iter().collect())
}

fn to_yaml(v: &Value, note: &str) -> String {
    let body = serde_yaml::to_string(v).expect("a YAML value always serializes");
    let mut out = String::from(
        "# Rendered by `wpbench k8s render`; see docs/fleet.md in the wpbench repository.\n",
    );
    for line in note.lines() {
        out.push_str(if line.is_empty() { "#" } else { "# " });
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&body);
    out
}

fn labels(name: &str) -> Value {
    map([
        (APP_LABEL.0, s(APP_LABEL.1)),
        ("app.kubernetes.io/instance", s(name)),
        ("app.kubernetes.io/component", s("benchmark")),
    ])
}

fn metadata(name: &str, opts: &Options, scenario: &Scenario) -> Value {
    map([
        ("name", s(name)),
        ("namespace", s(opts.namespace.clone())),
        ("labels", labels(name)),
        (
            "annotations",
            map([
                ("wpbench/scenario", s(scenario.name.clone())),
                ("wpbench/scenario-sha256", s(scenario.sha256.clone())),
            ]),
        ),
    ])
}

fn namespace_note(p: &Privilege, level: &str) -> String {
    match (p.is_privileged(), level) {
        (true, _) => "The pods are privileged, so the namespace allows the `privileged` Pod \
                      Security level."
            .into(),
        (false, "privileged") => "The pods are not privileged, but they mount hostPath \
                                  volumes, which only the `privileged` Pod Security level allows."
            .into(),
        (false, level) => format!(
            "The pods are not privileged; the `{level}` Pod Security level allows them \
             (`restricted` would refuse the init container that hands the scratch emptyDir \
             to the pods' non-root user: it runs as root with CAP_CHOWN)."
        ),
    }
}

fn namespace(ns: &str, level: &str) -> Value {
    map([
        ("apiVersion", s("v1")),
        ("kind", s("Namespace")),
        (
            "metadata",
            map([
                ("name", s(ns)),
                (
                    "labels",
                    map([
                        (APP_LABEL.0, s(APP_LABEL.1)),
                        ("pod-security.kubernetes.io/enforce", s(level)),
                        ("pod-security.kubernetes.io/warn", s(level)),
                        ("pod-security.kubernetes.io/audit", s(level)),
                    ]),
                ),
            ]),
        ),
    ])
}

fn config_map(name: &str, scenario: &Scenario, source: Source<'_>, opts: &Options) -> Value {
    let mut data = Mapping::new();
    data.insert(s(source.file_name), s(source.text));
    for (i, b) in source.beside.iter().enumerate() {
        data.insert(s(beside_key(i)), s(b.text.as_str()));
    }
    map([
        ("apiVersion", s("v1")),
        ("kind", s("ConfigMap")),
        ("metadata", metadata(name, opts, scenario)),
        ("data", Value::Mapping(data)),
    ])
}

/// The ConfigMap key of the `i`th file beside the scenario.
fn beside_key(i: usize) -> String {
    format!("beside-{i}")
}

/// Pinning one pod to each node.
///
/// A Job has one pod template, so an index cannot name its own node
/// (`nodeName` would put every pod on the same node). Instead:
///
/// - `--nodes a,b,c`: a required node affinity on the node's
///   `metadata.name` (`matchFields`, so it is the name `kubectl get nodes`
///   shows even where the `kubernetes.io/hostname` label differs) limits
///   the pods to those nodes, and a required pod anti-affinity on this
///   Job's instance label with `topologyKey: kubernetes.io/hostname` keeps
///   any two of them off the same node. N pods, N allowed nodes, at most
///   one per node: exactly one on each (pigeonhole). A node that cannot
///   take its pod leaves the pod Pending rather than doubling up elsewhere.
/// - `--node-selector k=v --count N`: `nodeSelector` plus the same
///   anti-affinity: N pods on N different matching nodes.
fn placement(name: &str, p: &Placement) -> (Option<Value>, Value) {
    let anti = map([(
        "requiredDuringSchedulingIgnoredDuringExecution",
        seq([map([
            (
                "labelSelector",
                map([(
                    "matchLabels",
                    map([
                        (APP_LABEL.0, s(APP_LABEL.1)),
                        ("app.kubernetes.io/instance", s(name)),
                    ]),
                )]),
            ),
            ("topologyKey", s("kubernetes.io/hostname")),
        ])]),
    )]);
    match p {
        Placement::Nodes(nodes) => {
            let node_affinity = map([(
                "requiredDuringSchedulingIgnoredDuringExecution",
                map([(
                    "nodeSelectorTerms",
                    seq([map([(
                        "matchFields",
                        seq([map([
                            ("key", s("metadata.name")),
                            ("operator", s("In")),
                            ("values", seq(nodes.iter().map(|n| s(n.clone())))),
                        ])]),
                    )])]),
                )]),
            )]);
            (
                None,
                map([("nodeAffinity", node_affinity), ("podAntiAffinity", anti)]),
            )
        }
        Placement::Selector { labels, .. } => {
            let sel: Mapping = labels
                .iter()
                .map(|(k, v)| (s(k.clone()), s(v.clone())))
                .collect();
            (Some(Value::Mapping(sel)), map([("podAntiAffinity", anti)]))
        }
    }
}

/// The container's script: `$1` is the scenario path and the arguments
/// after it go to `wpbench run` as they are (a pod-storage target's
/// `--volume NAME=DIR`); `$NODE_NAME` comes from the downward API, and the
/// run directory is written under `$WPBENCH_RESULTS` (`/results`, the
/// results emptyDir). SIGTERM is passed on to wpbench (which keeps the
/// cell in flight and writes what it has); whatever wpbench's exit code,
/// the run directory is printed as a gzipped tar, base64, between marker
/// lines, with wpbench's exit code and the tarball's sha256 on the END
/// line. Charts and report.html are left out (`wpbench report DIR` renders
/// them again from result.json and the .hlog files) to keep the log small:
/// kubelet rotates a container's log at 10 MiB by default. The script
/// exits 0 so one node's gate failure does not fail the Job, which would
/// stop the other nodes' runs.
pub const SCRIPT: &str = r#"set -u
node="${NODE_NAME:?NODE_NAME is not set}"
results="${WPBENCH_RESULTS:-/results}"
scenario="$1"
shift
wpbench run "$scenario" --out "$results/$node" "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' TERM INT
rc=0
wait "$pid" || rc=$?
while kill -0 "$pid" 2>/dev/null; do rc=0; wait "$pid" || rc=$?; done
sha=none
if [ -d "$results/$node" ] &&
   tar -C "$results" -czf "$results/run.tar.gz" --exclude=charts --exclude=report.html "$node"; then
  sha=$(sha256sum "$results/run.tar.gz" | cut -d' ' -f1)
fi
echo "BEGIN wpbench-results node=$node"
if [ "$sha" != none ]; then base64 "$results/run.tar.gz"; fi
echo "END wpbench-results node=$node rc=$rc sha256=$sha"
exit 0
"#;

fn job_note(est: &Estimate, privilege: &Privilege) -> String {
    format!(
        "One pod per node: a required node affinity on the nodes' names (or a nodeSelector)\n\
         plus a required pod anti-affinity on kubernetes.io/hostname, so no two pods share a node.\n\
         {}\n\
         Resources: cpu {} = the most threads of a workload{} + 1 for wpbench itself\n\
         (a request, no limit: CFS throttling would show up as latency);\n\
         memory {} = 256Mi for wpbench + {} of tmpfs the run may fill at once\n\
         (tmpfs pages count against the container's memory);\n\
         ephemeral-storage {} = 256Mi + {} of loop images in the scratch emptyDir, emptyDir\n\
         targets and the container's layer at once.",
        security::note(privilege),
        est.cpu,
        if est.noisy { " + 1 noisy neighbour" } else { "" },
        quantity(est.memory),
        quantity(est.tmpfs),
        quantity(est.ephemeral),
        quantity(est.disk),
    )
}

/// Bytes as a Kubernetes quantity in whole MiB, rounded up (`1536Mi`), or
/// GiB when exact.
pub fn quantity(bytes: u64) -> String {
    const MI: u64 = 1 << 20;
    let mib = bytes.div_ceil(MI);
    if mib > 0 && mib.is_multiple_of(1024) {
        format!("{}Gi", mib / 1024)
    } else {
        format!("{mib}Mi")
    }
}

/// What the pod is given besides the scenario: hostPaths, its own
/// storage, its privilege and its resources.
struct PodPlan<'a> {
    host_paths: &'a [PathBuf],
    storage: storage::PodStorage,
    privilege: &'a Privilege,
    est: &'a Estimate,
}

/// The Indexed Job: one pod per node (`completions` = `parallelism` =
/// the node count), never retried, removed a while after it finishes.
fn job(
    name: &str,
    scenario: &Scenario,
    source: Source<'_>,
    opts: &Options,
    plan: &PodPlan<'_>,
) -> Value {
    let count = opts.placement.count() as u64;
    let scenario_path = format!("{SCENARIO_DIR}/{}", source.file_name);
    let (volumes, mounts) = volumes_and_mounts(name, plan, source);
    let container = container(opts, scenario_path, plan, mounts);
    let pod = pod_spec(name, opts, plan, container, volumes);
    map([
        ("apiVersion", s("batch/v1")),
        ("kind", s("Job")),
        ("metadata", metadata(name, opts, scenario)),
        (
            "spec",
            map([
                ("completionMode", s("Indexed")),
                ("completions", n(count)),
                ("parallelism", n(count)),
                ("backoffLimit", n(0)),
                ("ttlSecondsAfterFinished", n(TTL_SECONDS)),
                (
                    "template",
                    map([
                        ("metadata", map([("labels", labels(name))])),
                        ("spec", Value::Mapping(pod)),
                    ]),
                ),
            ]),
        ),
    ])
}

/// The pod's volumes and the container's mounts of them: the scenario
/// (ConfigMap), the host's /dev (privileged pods only), scratch and
/// results (emptyDirs), one hostPath per hostpath target, and the pod
/// storage of volume and emptydir targets.
fn volumes_and_mounts(
    name: &str,
    plan: &PodPlan<'_>,
    source: Source<'_>,
) -> (Vec<Value>, Vec<Value>) {
    let host_paths = plan.host_paths;
    // Keys cannot hold a `/`: files beside the scenario are keyed by number
    // and projected to their relative paths.
    let mut config = Mapping::new();
    config.insert(s("name"), s(name));
    if !source.beside.is_empty() {
        let mut items = vec![map([
            ("key", s(source.file_name)),
            ("path", s(source.file_name)),
        ])];
        for (i, b) in source.beside.iter().enumerate() {
            items.push(map([
                ("key", s(beside_key(i))),
                ("path", s(b.path.as_str())),
            ]));
        }
        config.insert(s("items"), seq(items));
    }
    let mut mounts = vec![
        map([
            ("name", s("scenario")),
            ("mountPath", s(SCENARIO_DIR)),
            ("readOnly", Value::Bool(true)),
        ]),
        map([("name", s("scratch")), ("mountPath", s(SCRATCH_DIR))]),
        map([("name", s("results")), ("mountPath", s(RESULTS_DIR))]),
    ];
    let mut volumes = vec![
        map([
            ("name", s("scenario")),
            ("configMap", Value::Mapping(config)),
        ]),
        // An emptyDir, not a hostPath: kubelet deletes it with the pod
        // (loop images can be GiBs), and no other pod's wpbench, whose
        // process ids mean nothing here, ever cleans it up.
        map([
            ("name", s("scratch")),
            ("emptyDir", Value::Mapping(Mapping::new())),
        ]),
        map([
            ("name", s("results")),
            ("emptyDir", Value::Mapping(Mapping::new())),
        ]),
    ];
    if plan.privilege.is_privileged() {
        // The host's /dev (devtmpfs): a privileged container gets a copy
        // of /dev made when it starts, where loop devices attached later
        // never appear.
        mounts.insert(1, map([("name", s("dev")), ("mountPath", s("/dev"))]));
        volumes.insert(
            1,
            map([
                ("name", s("dev")),
                (
                    "hostPath",
                    map([("path", s("/dev")), ("type", s("Directory"))]),
                ),
            ]),
        );
    }
    volumes.extend(plan.storage.volumes.iter().cloned());
    mounts.extend(plan.storage.mounts.iter().cloned());
    if let Privilege::Unprivileged(u) = plan.privilege {
        if !u.writable_rootfs {
            // A read-only root filesystem: an exec workload's command may
            // still want a /tmp.
            mounts.push(map([("name", s("tmp")), ("mountPath", s("/tmp"))]));
            volumes.push(map([
                ("name", s("tmp")),
                ("emptyDir", Value::Mapping(Mapping::new())),
            ]));
        }
    }
    for (i, p) in host_paths.iter().enumerate() {
        let vol = format!("hostpath-{i}");
        let path = p.to_string_lossy().into_owned();
        mounts.push(map([
            ("name", s(vol.clone())),
            ("mountPath", s(path.clone())),
        ]));
        volumes.push(map([
            ("name", s(vol)),
            (
                "hostPath",
                map([("path", s(path)), ("type", s("DirectoryOrCreate"))]),
            ),
        ]));
    }
    (volumes, mounts)
}

/// The wpbench container running [`SCRIPT`] on the scenario (with the
/// pod storage's `--volume` arguments), told its node's name, with the
/// estimate's resources and the security its privilege allows.
fn container(
    opts: &Options,
    scenario_path: String,
    plan: &PodPlan<'_>,
    mounts: Vec<Value>,
) -> Value {
    let est = plan.est;
    let mut command = vec![
        s("/bin/sh"),
        s("-c"),
        s(SCRIPT),
        s("wpbench"),
        s(scenario_path),
    ];
    command.extend(plan.storage.args.iter().map(|a| s(a.as_str())));
    map([
        ("name", s("wpbench")),
        ("image", s(opts.image.clone())),
        ("imagePullPolicy", s("IfNotPresent")),
        ("command", Value::Sequence(command)),
        (
            "env",
            seq([
                map([
                    ("name", s("NODE_NAME")),
                    (
                        "valueFrom",
                        map([("fieldRef", map([("fieldPath", s("spec.nodeName"))]))]),
                    ),
                ]),
                // The scratch emptyDir, whoever wpbench runs as.
                map([("name", s("WPBENCH_SCRATCH")), ("value", s(SCRATCH_DIR))]),
            ]),
        ),
        ("securityContext", container_security(plan.privilege)),
        (
            "resources",
            map([
                (
                    "requests",
                    map([
                        ("cpu", s(est.cpu.to_string())),
                        ("memory", s(quantity(est.memory))),
                        ("ephemeral-storage", s(quantity(est.ephemeral))),
                    ]),
                ),
                ("limits", map([("memory", s(quantity(est.memory)))])),
            ]),
        ),
        ("volumeMounts", Value::Sequence(mounts)),
    ])
}

/// The container's securityContext: privileged, or nothing but what an
/// unprivileged run needs (see [`security`]).
fn container_security(p: &Privilege) -> Value {
    match p {
        Privilege::Privileged(_) => map([("privileged", Value::Bool(true))]),
        Privilege::Unprivileged(u) => map([
            ("privileged", Value::Bool(false)),
            ("allowPrivilegeEscalation", Value::Bool(false)),
            ("capabilities", map([("drop", seq([s("ALL")]))])),
            ("readOnlyRootFilesystem", Value::Bool(!u.writable_rootfs)),
        ]),
    }
}

/// An unprivileged pod's own securityContext: its user (non-root unless a
/// hostPath needs uid 0), fsGroup so pod volumes are writable, seccomp.
fn pod_security(u: &security::Unprivileged) -> Value {
    let id = if u.as_root.is_some() {
        0
    } else {
        security::NONROOT_ID
    };
    map([
        ("runAsUser", n(id)),
        ("runAsGroup", n(id)),
        ("runAsNonRoot", Value::Bool(u.as_root.is_none())),
        ("fsGroup", n(security::NONROOT_ID)),
        ("fsGroupChangePolicy", s("OnRootMismatch")),
        ("seccompProfile", map([("type", s("RuntimeDefault"))])),
    ])
}

/// The init container of a non-root pod: kubelet makes the scratch
/// emptyDir root's and writable by all, and wpbench uses as its scratch
/// root only a directory its own user owns and no other can write (it
/// removes what manifests there name). It also hands over the roots of
/// the pod's own volumes (fresh claims and emptyDirs, this pod's alone):
/// fsGroup makes them writable only where the volume's driver applies it
/// (not for most ReadWriteMany classes). Root with CAP_CHOWN only.
fn scratch_owner(image: &str, storage: &storage::PodStorage) -> Value {
    let id = security::NONROOT_ID;
    let mut script = format!("chmod 0700 {SCRATCH_DIR} && chown {id}:{id} {SCRATCH_DIR}");
    let mut mounts = vec![map([("name", s("scratch")), ("mountPath", s(SCRATCH_DIR))])];
    for (path, m) in storage.paths.iter().zip(&storage.mounts) {
        script.push_str(&format!(" && chown {id}:{id} {path}"));
        mounts.push(m.clone());
    }
    map([
        ("name", s("scratch-owner")),
        ("image", s(image)),
        ("imagePullPolicy", s("IfNotPresent")),
        ("command", seq([s("/bin/sh"), s("-c"), s(script)])),
        (
            "securityContext",
            map([
                ("runAsUser", n(0)),
                ("runAsNonRoot", Value::Bool(false)),
                ("allowPrivilegeEscalation", Value::Bool(false)),
                (
                    "capabilities",
                    map([("drop", seq([s("ALL")])), ("add", seq([s("CHOWN")]))]),
                ),
                ("readOnlyRootFilesystem", Value::Bool(true)),
            ]),
        ),
        ("volumeMounts", Value::Sequence(mounts)),
    ])
}

/// The pod template's spec: placement, security, the container and its
/// volumes.
fn pod_spec(
    name: &str,
    opts: &Options,
    plan: &PodPlan<'_>,
    container: Value,
    volumes: Vec<Value>,
) -> Mapping {
    let (node_selector, affinity) = placement(name, &opts.placement);
    let mut pod = Mapping::new();
    pod.insert(s("restartPolicy"), s("Never"));
    pod.insert(s("automountServiceAccountToken"), Value::Bool(false));
    pod.insert(s("enableServiceLinks"), Value::Bool(false));
    // wpbench stops the cell in flight on SIGTERM and writes what it has;
    // the tarball then needs a moment too.
    pod.insert(s("terminationGracePeriodSeconds"), n(120));
    if let Some(sel) = node_selector {
        pod.insert(s("nodeSelector"), sel);
    }
    pod.insert(s("affinity"), affinity);
    if let Privilege::Unprivileged(u) = plan.privilege {
        pod.insert(s("securityContext"), pod_security(u));
        if u.as_root.is_none() {
            pod.insert(
                s("initContainers"),
                seq([scratch_owner(&opts.image, &plan.storage)]),
            );
        }
    }
    pod.insert(s("containers"), seq([container]));
    pod.insert(s("volumes"), Value::Sequence(volumes));
    pod
}

/// The Job's name `render` gives it: `--name`, or `wpbench-<scenario>`.
pub fn job_name(scenario: &Scenario, opts: &Options) -> String {
    opts.name
        .clone()
        .unwrap_or_else(|| names::job_name_for(&scenario.name))
}

/// Checks `--namespace` and `--name` of `k8s collect` as `render` checks
/// them (they become kubectl's arguments and a label selector).
pub fn check_job_ref(namespace: &str, name: &str) -> Result<(), String> {
    names::check_namespace(namespace).map_err(|e| format!("--namespace {namespace:?}: {e}"))?;
    names::check_job_name(name).map_err(|e| format!("--name {name:?}: {e}"))
}

/// The file name of a scenario path, for [`Source::file_name`].
pub fn file_name(path: &Path) -> Option<&str> {
    path.file_name().and_then(|f| f.to_str())
}
