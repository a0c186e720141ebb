//! `wpbench k8s render`: the manifests pass a real Kubernetes schema
//! validator (kubernetes-validate, with the OpenAPI schemas it bundles;
//! `.ci/run` installs it), and say what they must: one pod per node,
//! privileged, the scenario verbatim, a volume for every target.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_yaml::Value;

use crate::support::*;

const SCENARIO: &str = "\
# A fleet check: RAM and the node's own disk.
version: 1
name: fleet
duration: 2s
targets:
  - name: ram
    kind: tmpfs
    size: 1GiB
    options: [noatime]
  - name: disk
    kind: hostpath
    path: /var/tmp/wpbench-fleet   # made on each node if missing
workloads:
  - name: files
    kind: small_files
    threads: 3
  - name: wal
    kind: fsync_heavy
";

/// The Kubernetes version whose schemas the manifests are checked against.
const KUBERNETES: &str = "1.30.0";

/// The schema validator: a pip package, run as `python3 -m kubernetes_validate`.
const KUBERNETES_VALIDATE: Need = Need::Python("kubernetes_validate", "kubernetes-validate");

/// `kubernetes-validate -k 1.30.0 --strict FILE`: strict rejects any
/// field the schema does not know.
fn validate(file: &Path) -> std::process::Output {
    Command::new("python3")
        .args(["-m", "kubernetes_validate", "-k", KUBERNETES, "--strict"])
        .arg(file)
        .output()
        .unwrap()
}

fn render(sb: &Sandbox, extra: &[&str]) -> std::process::Output {
    let file = sb.write("fleet.yaml", SCENARIO);
    wpbench()
        .args(["k8s", "render"])
        .arg(&file)
        .args(["--image", "registry.example.com/wpbench:0.1"])
        .args(extra)
        .output()
        .unwrap()
}

fn parse(path: &Path) -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_sequence()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("nothing named {name} in {list:?}"))
}

/// `--nodes node-a,node-b,node-c --create-namespace -o DIR`: the three
/// files it writes, in order.
fn render_three_nodes(sb: &Sandbox) -> Vec<PathBuf> {
    let dir = sb.out("k8s");
    let out = render(
        sb,
        &[
            "--nodes",
            "node-a,node-b,node-c",
            "--create-namespace",
            "-o",
            dir.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // It says how to gather the results of what it rendered.
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("wpbench k8s collect --namespace wpbench --name wpbench-fleet -o DIR"),
        "{}",
        text(&out)
    );

    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["00-namespace.yaml", "10-configmap.yaml", "20-job.yaml"]
    );
    files
}

#[test]
#[ignore = "needs python3 kubernetes-validate: checks the manifests against Kubernetes' schemas"]
fn k8s_render_three_nodes_passes_kubernetes_validate() {
    require(&[KUBERNETES_VALIDATE]);
    let sb = Sandbox::new();
    for f in render_three_nodes(&sb) {
        let v = validate(&f);
        assert!(
            v.status.success(),
            "{} does not validate against Kubernetes {KUBERNETES}:\n{}",
            f.display(),
            text(&v)
        );
    }
}

#[test]
fn k8s_render_three_nodes_pins_one_pod_per_node() {
    let sb = Sandbox::new();
    let files = render_three_nodes(&sb);

    // The Namespace admits privileged pods.
    let ns = parse(&files[0]);
    assert_eq!(ns["kind"], "Namespace");
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );

    // The ConfigMap carries the scenario byte for byte.
    let cm = parse(&files[1]);
    assert_eq!(cm["kind"], "ConfigMap");
    assert_eq!(cm["data"]["fleet.yaml"].as_str(), Some(SCENARIO));

    let job = parse(&files[2]);
    assert_eq!(job["kind"], "Job");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(spec["completions"], 3);
    assert_eq!(spec["parallelism"], 3);
    assert_eq!(spec["backoffLimit"], 0);
    assert!(spec["ttlSecondsAfterFinished"].as_u64().unwrap() > 0);
    for obj in [&ns, &cm, &job, &spec["template"]] {
        assert_eq!(
            obj["metadata"]["labels"]["app.kubernetes.io/name"],
            "wpbench"
        );
    }

    // One pod per node: allowed only on the three nodes, never two on one.
    let pod = &spec["template"]["spec"];
    let fields = &pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        ["nodeSelectorTerms"][0]["matchFields"][0];
    assert_eq!(fields["key"], "metadata.name");
    assert_eq!(fields["operator"], "In");
    let allowed: Vec<&str> = fields["values"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(allowed, ["node-a", "node-b", "node-c"]);
    let anti = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        .as_sequence()
        .unwrap();
    assert_eq!(anti.len(), 1);
    assert_eq!(anti[0]["topologyKey"], "kubernetes.io/hostname");
    let pod_labels = spec["template"]["metadata"]["labels"].as_mapping().unwrap();
    let selector = anti[0]["labelSelector"]["matchLabels"]
        .as_mapping()
        .unwrap();
    assert!(!selector.is_empty());
    for (k, v) in selector {
        assert_eq!(
            pod_labels.get(k),
            Some(v),
            "the anti-affinity must select this Job's pods"
        );
    }

    // Privileged, running the scenario from the ConfigMap into /results/<node>.
    let c = &pod["containers"][0];
    assert_eq!(c["securityContext"]["privileged"], true);
    let command: Vec<&str> = c["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(command.last(), Some(&"/scenario/fleet.yaml"));
    assert!(command
        .iter()
        .any(|a| a.contains("wpbench run \"$scenario\" --out \"$results/$node\" \"$@\"")));
    let env = named(&c["env"], "NODE_NAME");
    assert_eq!(env["valueFrom"]["fieldRef"]["fieldPath"], "spec.nodeName");
    assert!(c["resources"]["requests"]["cpu"].is_string());
    assert!(c["resources"]["limits"]["memory"].is_string());

    // Volumes: the scenario, the host's /dev, the hostPath target, scratch, results.
    let volumes = &pod["volumes"];
    let mounts = &c["volumeMounts"];
    let mounted_at =
        |vol: &Value| named(mounts, vol["name"].as_str().unwrap())["mountPath"].clone();
    let cfg = volumes
        .as_sequence()
        .unwrap()
        .iter()
        .find(|v| v.get("configMap").is_some())
        .unwrap();
    assert_eq!(cfg["configMap"]["name"], cm["metadata"]["name"]);
    assert_eq!(mounted_at(cfg), "/scenario");
    let host = |path: &str| {
        volumes
            .as_sequence()
            .unwrap()
            .iter()
            .find(|v| v["hostPath"]["path"] == path)
            .unwrap_or_else(|| panic!("no hostPath volume for {path}"))
            .clone()
    };
    let target = host("/var/tmp/wpbench-fleet");
    assert_eq!(target["hostPath"]["type"], "DirectoryOrCreate");
    assert_eq!(mounted_at(&target), "/var/tmp/wpbench-fleet");
    assert_eq!(mounted_at(&host("/dev")), "/dev");
    let scratch = volumes
        .as_sequence()
        .unwrap()
        .iter()
        .find(|v| mounted_at(v) == "/var/tmp/wpbench-runs")
        .expect("a volume for the scratch area");
    assert!(scratch.get("emptyDir").is_some() || scratch.get("hostPath").is_some());
    // wpbench mounts the tmpfs target itself, in its own mount namespace;
    // its pages count against the container's memory, so the limit leaves
    // room for the whole 1GiB on top of wpbench's 256Mi.
    assert_eq!(c["resources"]["limits"]["memory"], "1280Mi");
}

/// `--node-selector … --count 4` to stdout: one multi-document stream.
fn render_stream(sb: &Sandbox) -> String {
    let out = render(
        sb,
        &[
            "--node-selector",
            "wpbench.example.com/bench=true",
            "--count",
            "4",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
#[ignore = "needs python3 kubernetes-validate: checks the stream against Kubernetes' schemas"]
fn k8s_render_stdout_passes_kubernetes_validate() {
    require(&[KUBERNETES_VALIDATE]);
    let sb = Sandbox::new();
    let file = sb.write("stream.yaml", &render_stream(&sb));
    let v = validate(&file);
    assert!(v.status.success(), "{}", text(&v));
}

#[test]
fn k8s_render_stdout_is_a_multi_document_stream() {
    let sb = Sandbox::new();
    let stream = render_stream(&sb);
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&stream)
        .map(|d| Value::deserialize(d).unwrap())
        .collect();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ConfigMap", "Job"]);
    let job = &docs[1];
    assert_eq!(job["spec"]["completions"], 4);
    assert_eq!(job["spec"]["parallelism"], 4);
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["nodeSelector"]["wpbench.example.com/bench"], "true");
    assert_eq!(
        pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
            ["topologyKey"],
        "kubernetes.io/hostname"
    );
}

/// The validator is a real one: it refuses what the API server would.
#[test]
#[ignore = "needs python3 kubernetes-validate: the validator the other tests trust"]
fn k8s_validator_refuses_a_broken_job() {
    require(&[KUBERNETES_VALIDATE]);
    let sb = Sandbox::new();
    let out = render(&sb, &["--nodes", "a,b,c"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stream = String::from_utf8(out.stdout).unwrap();
    for (from, to) in [
        ("completions: 3", "completions: three"),
        (
            "privileged: true",
            "privileged: true\n          privilegd: true",
        ),
    ] {
        assert!(stream.contains(from), "{from:?} not in the render");
        let file = sb.write("broken.yaml", &stream.replacen(from, to, 1));
        let v = validate(&file);
        assert!(!v.status.success(), "{to:?} passed:\n{}", text(&v));
    }
}

#[test]
fn k8s_render_bad_flags_exit_2() {
    let sb = Sandbox::new();
    let broken = sb.write("broken.yaml", "version: 1\nname: b\ntargets: []\n");
    let cases: &[(&[&str], &str)] = &[
        (&[], "--nodes"),
        (&["--nodes", ""], "no nodes given"),
        (&["--nodes", " , "], "no nodes given"),
        (
            &["--nodes", "a", "--node-selector", "k=v", "--count", "1"],
            "cannot be used with",
        ),
        (&["--node-selector", "k=v"], "--count"),
        (&["--nodes", "a", "--count", "2"], "cannot be used with"),
        (&["--node-selector", "disk", "--count", "2"], "key=value"),
        (&["--node-selector", "a/b/c=d", "--count", "2"], "label key"),
        (&["--node-selector", "k=v", "--count", "0"], "count"),
        (&["--nodes", "a,a"], "twice"),
        (&["--nodes", "Node_1"], "node name"),
        (&["--nodes", "a", "--namespace", "Bad_NS"], "namespace"),
        (&["--nodes", "a", "--name", "x-"], "--name"),
        (&["--nodes", "a", "--image", ""], "--image"),
    ];
    for (extra, says) in cases {
        let out = render(&sb, extra);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", text(&out));
        assert!(
            err.contains(says),
            "{extra:?}: expected {says:?} in:\n{err}"
        );
    }
    for (file, says) in [
        (broken.clone(), "broken.yaml:"),
        (sb.dir.path().join("missing.yaml"), "cannot read"),
    ] {
        let out = wpbench()
            .args(["k8s", "render"])
            .arg(&file)
            .args(["--image", "x", "--nodes", "a"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{}",
            text(&out)
        );
    }
}

// --- k8s collect ------------------------------------------------------------

/// What the pod's script runs besides wpbench (the image has them).
const SCRIPT_TOOLS: [Need; 3] = [
    Need::Program("tar", "tar"),
    Need::Program("sha256sum", "coreutils"),
    Need::Program("base64", "coreutils"),
];

/// A scenario that runs without root in about a second: two short cells on
/// a hostPath in the sandbox.
fn tiny_scenario(sb: &Sandbox) -> PathBuf {
    sb.write(
        "tiny.yaml",
        &format!(
            "version: 1\nname: tiny\nduration: 300ms\nwarmup: 0s\nrepeat: 1\n\
             targets:\n  - {{name: host, kind: hostpath, path: {}}}\n\
             workloads:\n  - {{name: files, kind: small_files}}\n  - {{name: wal, kind: fsync_heavy}}\n",
            sb.hostpath().display()
        ),
    )
}

/// Runs the pod's script (`k8s::SCRIPT`, as rendered into the Job) the
/// way the container does — `sh -c SCRIPT wpbench SCENARIO ARGS…` with
/// NODE_NAME set — with the results under the sandbox and the built
/// wpbench first on PATH. Returns its stdout and stderr as one stream, as
/// `kubectl logs` prints a container's log.
fn run_pod_script(sb: &Sandbox, scenario: &Path, node: &str) -> String {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_wpbench"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let results = sb.dir.path().join("results").join(node);
    std::fs::create_dir_all(&results).unwrap();
    let log_path = sb.dir.path().join(format!("{node}.stream"));
    let log = std::fs::File::create(&log_path).unwrap();
    let status = Command::new("sh")
        .arg("-c")
        .arg(wpbench::k8s::SCRIPT)
        .arg("wpbench")
        .arg(scenario)
        .arg("--scratch")
        .arg(sb.scratch())
        .env("NODE_NAME", node)
        .env("WPBENCH_RESULTS", &results)
        .env("PATH", path)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .status()
        .unwrap();
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        status.success(),
        "the script exits 0 whatever wpbench did:\n{text}"
    );
    assert!(
        text.contains(&format!("\nEND wpbench-results node={node} rc=0 sha256=")),
        "{text}"
    );
    text
}

/// `text` cut in the middle of its base64, as a pod killed while printing
/// (or a truncated log) leaves it.
fn cut_in_the_middle(text: &str) -> String {
    let begin = text.find("BEGIN wpbench-results").unwrap();
    let end = text.find("\nEND wpbench-results").unwrap();
    assert!(end - begin > 400, "too little base64 to cut:\n{text}");
    text[..(begin + end) / 2].to_string()
}

/// Entry names of `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn collect(extra: &[&str], logs: &Path, out: &Path) -> std::process::Output {
    wpbench()
        .args(["k8s", "collect", "--namespace", "x", "--name", "y"])
        .args(extra)
        .arg("--from-logs")
        .arg(logs)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs tar, sha256sum and base64 (as the pod image has): runs k8s::SCRIPT as a pod would"]
fn collect_merges_recorded_pod_logs_and_reports_a_cut_one_missing() {
    require(&SCRIPT_TOOLS);
    let _serial = serial();
    let sb = Sandbox::new();
    let scenario = tiny_scenario(&sb);
    let logs = sb.dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    for node in ["node-a", "node-b"] {
        let text = run_pod_script(&sb, &scenario, node);
        // wpbench's own output comes before the results.
        assert!(!text.starts_with("BEGIN"), "{text}");
        std::fs::write(logs.join(format!("wpbench-tiny-{node}.log")), text).unwrap();
    }
    let c = run_pod_script(&sb, &scenario, "node-c");
    std::fs::write(logs.join("wpbench-tiny-node-c.log"), cut_in_the_middle(&c)).unwrap();
    assert_nothing_left(&sb);

    let parent = sb.dir.path().join("collected");
    std::fs::create_dir_all(&parent).unwrap();
    let out = parent.join("fleet");
    let o = collect(&[], &logs, &out);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stdout.contains("node-a: rc=0, merged\n"), "{}", text(&o));
    assert!(stdout.contains("node-b: rc=0, merged\n"), "{}", text(&o));
    assert!(
        stdout.contains("node-c: missing — log cut short (BEGIN without END)"),
        "{}",
        text(&o)
    );
    assert!(stderr.contains("node-c"), "{}", text(&o));
    assert!(stderr.contains("cut short"), "{}", text(&o));
    assert!(stderr.contains("node-a, node-b"), "{}", text(&o));

    // The merged run: both nodes' cells, node-c recorded as missing.
    let result = read_json(&out.join("result.json"));
    let sources: Vec<&str> = result["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["node"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["node-a", "node-b"]);
    let cells = result["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2, "host × files, host × wal");
    for cell in cells {
        let nodes: Vec<&str> = cell["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["node"].as_str().unwrap())
            .collect();
        assert_eq!(nodes, ["node-a", "node-b"], "{cell}");
        assert!(out.join(cell["hlog"].as_str().unwrap()).is_file());
    }
    assert_eq!(result["missing"][0]["node"], "node-c");
    assert!(result["missing"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("cut short"));
    assert!(out.join("report.html").is_file());
    // The temporary unpacked runs are gone.
    assert_eq!(names_in(&parent), ["fleet"]);

    // The same -o again: refused as `wpbench merge` refuses it.
    let o = collect(&[], &logs, &out);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("already holds a run"),
        "{}",
        text(&o)
    );
    assert_eq!(names_in(&parent), ["fleet"]);

    // Only the cut log: nothing merged, nothing written, exit 4.
    let only_cut = sb.dir.path().join("only-cut");
    std::fs::create_dir_all(&only_cut).unwrap();
    std::fs::copy(
        logs.join("wpbench-tiny-node-c.log"),
        only_cut.join("wpbench-tiny-node-c.log"),
    )
    .unwrap();
    let o = collect(&[], &only_cut, &parent.join("none"));
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("nothing written"),
        "{}",
        text(&o)
    );
    assert_eq!(names_in(&parent), ["fleet"]);
}

/// A stand-in for kubectl that answers `get pods` with three pod names and
/// `logs` with recorded logs (the third pod's logs fail, as for a pod that
/// never started), and records every command line wpbench gives it. It
/// checks the commands wpbench builds, not kubectl itself.
const FAKE_KUBECTL: &str = r#"#!/bin/sh
for a in "$@"; do printf '%s\n' "$a"; done >> "$FAKE_DIR/argv"
echo -- >> "$FAKE_DIR/argv"
case "${FAKE_MODE:-ok}:$1" in
  ok:get) printf 'wpbench-tiny-1-bbbbb\nwpbench-tiny-0-aaaaa\nwpbench-tiny-2-ccccc\n' ;;
  ok:logs)
    if [ -f "$FAKE_DIR/logs/$4.log" ]; then cat "$FAKE_DIR/logs/$4.log"
    else echo "Error from server (BadRequest): container \"wpbench\" in pod \"$4\" is waiting to start: ContainerCreating" >&2; exit 1
    fi ;;
  empty:get) echo "No resources found in $3 namespace." >&2 ;;
  slow:get) printf 'pod-a\npod-b\n' ;;
  slow:logs) touch "$FAKE_DIR/slow-started"; sleep 2; echo "no results yet" ;;
  denied:get) echo "error: You must be logged in to the server (Unauthorized)" >&2; exit 1 ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
"#;

fn fake_kubectl(sb: &Sandbox) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = sb.dir.path().join("fake");
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let program = dir.join("kubectl");
    std::fs::write(&program, FAKE_KUBECTL).unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    (program, dir)
}

fn live_collect(program: &Path, dir: &Path, mode: &str, out: &Path) -> std::process::Output {
    wpbench()
        .args([
            "k8s",
            "collect",
            "--namespace",
            "bench",
            "--name",
            "wpbench-tiny",
            "-o",
        ])
        .arg(out)
        .env("KUBECTL", program)
        .env("FAKE_DIR", dir)
        .env("FAKE_MODE", mode)
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs tar, sha256sum and base64 (as the pod image has): runs k8s::SCRIPT as a pod would"]
fn collect_runs_kubectl_get_pods_and_logs_per_pod() {
    require(&SCRIPT_TOOLS);
    let _serial = serial();
    let sb = Sandbox::new();
    let scenario = tiny_scenario(&sb);
    let (program, dir) = fake_kubectl(&sb);
    for (pod, node) in [
        ("wpbench-tiny-0-aaaaa", "node-a"),
        ("wpbench-tiny-1-bbbbb", "node-b"),
    ] {
        let text = run_pod_script(&sb, &scenario, node);
        std::fs::write(dir.join("logs").join(format!("{pod}.log")), text).unwrap();
    }
    let out = sb.out("fleet");
    let o = live_collect(&program, &dir, "ok", &out);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let argv = std::fs::read_to_string(dir.join("argv")).unwrap();
    let calls: Vec<Vec<&str>> = argv
        .split("--\n")
        .filter(|c| !c.is_empty())
        .map(|c| c.lines().collect())
        .collect();
    let logs = |pod| vec!["logs", "-n", "bench", pod, "-c", "wpbench"];
    assert_eq!(
        calls,
        [
            vec![
                "get",
                "pods",
                "-n",
                "bench",
                "-l",
                "job-name=wpbench-tiny",
                "-o",
                r#"jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}"#,
            ],
            logs("wpbench-tiny-0-aaaaa"),
            logs("wpbench-tiny-1-bbbbb"),
            logs("wpbench-tiny-2-ccccc"),
        ]
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("node-a: rc=0, merged"), "{}", text(&o));
    assert!(stdout.contains("node-b: rc=0, merged"), "{}", text(&o));
    // The pod whose log kubectl could not print is missing, named after
    // the pod, with kubectl's words.
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("wpbench-tiny-2-ccccc: `") && stderr.contains("waiting to start"),
        "{}",
        text(&o)
    );
    let result = read_json(&out.join("result.json"));
    assert_eq!(result["sources"][0]["node"], "node-a");
    assert_eq!(result["sources"][1]["node"], "node-b");
    assert_eq!(result["missing"][0]["node"], "wpbench-tiny-2-ccccc");
}

#[test]
fn collect_without_kubectl_or_pods_says_what_to_do() {
    let sb = Sandbox::new();
    let (program, dir) = fake_kubectl(&sb);
    let out = sb.out("fleet");

    // No kubectl: exit 3, whether $KUBECTL names a missing program or
    // PATH has none.
    let missing = sb.dir.path().join("no-such-kubectl");
    let o = live_collect(&missing, &dir, "ok", &out);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("$KUBECTL"), "{}", text(&o));
    assert!(
        err.contains("install kubectl or set KUBECTL"),
        "{}",
        text(&o)
    );
    let o = wpbench()
        .args(["k8s", "collect", "--name", "wpbench-tiny", "-o"])
        .arg(&out)
        .env_remove("KUBECTL")
        .env("PATH", sb.dir.path().join("empty-path"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("kubectl (on PATH)"),
        "{}",
        text(&o)
    );

    // kubectl fails: exit 4 with its stderr.
    let o = live_collect(&program, &dir, "denied", &out);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("(Unauthorized)"),
        "{}",
        text(&o)
    );

    // No pods: exit 4 naming the namespace and the Job.
    let o = live_collect(&program, &dir, "empty", &out);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no pods of Job wpbench-tiny in namespace bench"),
        "{}",
        text(&o)
    );
    assert!(!out.exists(), "nothing written");

    // SIGTERM while kubectl prints a log: exit 4, interrupted, and the
    // temporary directory beside -o is gone.
    let mut child = wpbench()
        .args([
            "k8s",
            "collect",
            "--namespace",
            "bench",
            "--name",
            "wpbench-tiny",
            "-o",
        ])
        .arg(&out)
        .env("KUBECTL", &program)
        .env("FAKE_DIR", &dir)
        .env("FAKE_MODE", "slow")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    eventually("kubectl logs to start", || {
        dir.join("slow-started").exists()
    });
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(4), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(!out.exists());
    assert!(
        entries_with_prefix(out.parent().unwrap(), ".wpbench-collect").is_empty()
            && entries_with_prefix(sb.dir.path(), ".wpbench-collect").is_empty(),
        "temporary directory left"
    );

    // Wrong names or logs directory: exit 2, before kubectl runs.
    std::fs::remove_file(dir.join("argv")).unwrap();
    for (args, says) in [
        (&["--name", "Bad_Job"][..], "--name"),
        (
            &["--name", "ok", "--namespace", "Bad NS"][..],
            "--namespace",
        ),
        (&["--from-logs", "/nonexistent/logs"][..], "cannot read it"),
        (
            &[
                "--from-logs",
                sb.dir.path().join("fake/logs").to_str().unwrap(),
            ][..],
            "no files",
        ),
        (&[][..], "--name"),
    ] {
        let o = wpbench()
            .args(["k8s", "collect"])
            .args(args)
            .arg("-o")
            .arg(&out)
            .env("KUBECTL", &program)
            .env("FAKE_DIR", &dir)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(says),
            "{args:?}: {}",
            text(&o)
        );
    }
    // An -o that is a file.
    let afile = sb.dir.path().join("afile");
    std::fs::write(&afile, b"mine").unwrap();
    let o = wpbench()
        .args(["k8s", "collect", "--name", "wpbench-tiny", "-o"])
        .arg(&afile)
        .env("KUBECTL", &program)
        .env("FAKE_DIR", &dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("is a file, not a directory"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read(&afile).unwrap(), b"mine");
    assert!(!dir.join("argv").exists(), "kubectl ran");
    assert!(!out.exists());
}
