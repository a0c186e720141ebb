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
