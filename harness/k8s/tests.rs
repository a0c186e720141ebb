use std::path::Path;

use serde_yaml::Value;

use super::*;

const SCENARIO: &str = "\
version: 1
name: Fleet_Check.v2
duration: 2s
targets:
  - name: ram
    kind: tmpfs
    size: 512MiB   # trailing comment, kept verbatim
  - name: disk
    kind: ext4
    size: 2GiB
  - name: host
    kind: hostpath
    path: /var/tmp/wpbench-fleet
workloads:
  - name: files
    kind: small_files
    threads: 4
  - name: wal
    kind: fsync_heavy
";

fn scenario(text: &str) -> Scenario {
    crate::scenario::load_str(text, Path::new("fleet.yaml")).expect("the test scenario loads")
}

fn nodes(names: &[&str]) -> Options {
    Options {
        image: "registry.example.com/wpbench:0.1".into(),
        placement: Placement::Nodes(names.iter().map(|n| n.to_string()).collect()),
        namespace: "wpbench".into(),
        create_namespace: false,
        name: None,
    }
}

fn source(text: &str) -> Source<'_> {
    Source {
        file_name: "fleet.yaml",
        text,
        beside: &[],
    }
}

fn render_ok(text: &str, o: &Options) -> Vec<Manifest> {
    render(&scenario(text), source(text), o).expect("renders")
}

fn render_err(text: &str, o: &Options) -> String {
    render(&scenario(text), source(text), o).expect_err("must be refused")
}

fn doc(manifests: &[Manifest], file: &str) -> Value {
    let m = manifests
        .iter()
        .find(|m| m.file_name == file)
        .unwrap_or_else(|| panic!("no {file}"));
    serde_yaml::from_str(&m.yaml).unwrap()
}

fn pod_spec(job: &Value) -> &Value {
    &job["spec"]["template"]["spec"]
}

#[test]
fn three_nodes_one_pod_each() {
    let m = render_ok(SCENARIO, &nodes(&["node-a", "node-b", "node-c"]));
    let names: Vec<&str> = m.iter().map(|m| m.file_name.as_str()).collect();
    assert_eq!(names, ["10-configmap.yaml", "20-job.yaml"]);
    let job = doc(&m, "20-job.yaml");
    assert_eq!(job["metadata"]["name"], "wpbench-fleet-check-v2");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    assert_eq!(job["spec"]["completions"], 3);
    assert_eq!(job["spec"]["parallelism"], 3);
    assert_eq!(job["spec"]["backoffLimit"], 0);
    assert_eq!(job["spec"]["ttlSecondsAfterFinished"], TTL_SECONDS);
    let pod = pod_spec(&job);
    let term = &pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        ["nodeSelectorTerms"][0]["matchFields"][0];
    assert_eq!(term["key"], "metadata.name");
    assert_eq!(term["operator"], "In");
    assert_eq!(
        term["values"],
        serde_yaml::from_str::<Value>("[node-a, node-b, node-c]").unwrap()
    );
    let anti =
        &pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0];
    assert_eq!(anti["topologyKey"], "kubernetes.io/hostname");
    // The anti-affinity selects exactly this Job's pods.
    let template_labels = &job["spec"]["template"]["metadata"]["labels"];
    for (k, v) in anti["labelSelector"]["matchLabels"].as_mapping().unwrap() {
        assert_eq!(&template_labels[k], v, "{k:?}");
    }
    assert!(pod.get("nodeSelector").is_none());
}

#[test]
fn container_is_privileged_and_runs_the_scenario() {
    let m = render_ok(SCENARIO, &nodes(&["a", "b"]));
    let job = doc(&m, "20-job.yaml");
    let c = &pod_spec(&job)["containers"][0];
    assert_eq!(c["securityContext"]["privileged"], true);
    assert_eq!(c["image"], "registry.example.com/wpbench:0.1");
    let cmd: Vec<&str> = c["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(cmd[..2], ["/bin/sh", "-c"]);
    assert_eq!(cmd[2], SCRIPT);
    assert_eq!(cmd[4], "/scenario/fleet.yaml");
    assert!(SCRIPT.contains(r#"results="${WPBENCH_RESULTS:-/results}""#));
    assert!(SCRIPT.contains(r#"wpbench run "$scenario" --out "$results/$node" "$@""#));
    assert_eq!(c["env"][0]["name"], "NODE_NAME");
    assert_eq!(
        c["env"][0]["valueFrom"]["fieldRef"]["fieldPath"],
        "spec.nodeName"
    );
    assert_eq!(pod_spec(&job)["restartPolicy"], "Never");
}

#[test]
fn volumes_cover_every_target() {
    let m = render_ok(SCENARIO, &nodes(&["a"]));
    let job = doc(&m, "20-job.yaml");
    let pod = pod_spec(&job);
    let volume = |name: &str| -> Value {
        pod["volumes"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no volume {name}"))
            .clone()
    };
    let mount = |name: &str| -> String {
        pod["containers"][0]["volumeMounts"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no mount {name}"))["mountPath"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        volume("hostpath-0")["hostPath"]["path"],
        "/var/tmp/wpbench-fleet"
    );
    assert_eq!(
        volume("hostpath-0")["hostPath"]["type"],
        "DirectoryOrCreate"
    );
    assert_eq!(mount("hostpath-0"), "/var/tmp/wpbench-fleet");
    assert_eq!(volume("dev")["hostPath"]["path"], "/dev");
    assert_eq!(mount("dev"), "/dev");
    assert_eq!(
        volume("scenario")["configMap"]["name"],
        "wpbench-fleet-check-v2"
    );
    assert_eq!(mount("scenario"), "/scenario");
    assert!(volume("scratch")["emptyDir"].is_mapping());
    assert_eq!(mount("scratch"), "/var/tmp/wpbench-runs");
    assert_eq!(mount("results"), "/results");
}

#[test]
fn configmap_carries_the_text_verbatim() {
    let m = render_ok(SCENARIO, &nodes(&["a"]));
    let cm = doc(&m, "10-configmap.yaml");
    assert_eq!(cm["kind"], "ConfigMap");
    assert_eq!(cm["data"]["fleet.yaml"].as_str(), Some(SCENARIO));
    // Awkward text too: tabs, trailing spaces, no final newline, quotes.
    let odd = "version: 1\nname: odd\t \nduration: 1s\ntargets:\n  - {name: t, kind: tmpfs}  \nworkloads:\n  - name: 'w'\n    kind: \"small_files\"";
    let m = render_ok(odd, &nodes(&["a"]));
    assert_eq!(
        doc(&m, "10-configmap.yaml")["data"]["fleet.yaml"].as_str(),
        Some(odd)
    );
}

#[test]
fn resources_follow_the_scenario() {
    let m = render_ok(SCENARIO, &nodes(&["a"]));
    let job = doc(&m, "20-job.yaml");
    let r = &pod_spec(&job)["containers"][0]["resources"];
    // 4 threads + 1; 256Mi + the 512MiB tmpfs; 256Mi + the 2GiB image.
    assert_eq!(r["requests"]["cpu"], "5");
    assert_eq!(r["requests"]["memory"], "768Mi");
    assert_eq!(r["limits"]["memory"], "768Mi");
    assert_eq!(r["requests"]["ephemeral-storage"], "2304Mi");
    assert!(
        r["limits"].get("cpu").is_none(),
        "no CPU limit: throttling skews latency"
    );
}

#[test]
fn estimate_takes_the_largest_fresh_target_plus_kept_ones() {
    let text = "version: 1\nname: e\nduration: 1s\ntargets:\n\
        \x20 - {name: a, kind: ext4, size: 3GiB}\n\
        \x20 - {name: b, kind: xfs, size: 1GiB, reuse: true}\n\
        \x20 - {name: c, kind: tmpfs}\n\
        \x20 - {name: d, kind: tmpfs, size: 2GiB}\n\
        workloads:\n  - {name: w, kind: small_files}\n";
    let e = estimate(&scenario(text));
    assert_eq!(e.disk, 4 << 30);
    assert_eq!(e.tmpfs, 2 << 30);
    assert_eq!(e.cpu, 2);
    assert!(!e.noisy);
}

#[test]
fn node_selector_with_count() {
    let mut o = nodes(&[]);
    o.placement = Placement::Selector {
        labels: parse_selector("node-role.kubernetes.io/bench=true, disk=ssd").unwrap(),
        count: 5,
    };
    let m = render_ok(SCENARIO, &o);
    let job = doc(&m, "20-job.yaml");
    assert_eq!(job["spec"]["completions"], 5);
    assert_eq!(job["spec"]["parallelism"], 5);
    let pod = pod_spec(&job);
    assert_eq!(pod["nodeSelector"]["node-role.kubernetes.io/bench"], "true");
    assert_eq!(pod["nodeSelector"]["disk"], "ssd");
    assert!(pod["affinity"].get("nodeAffinity").is_none());
    assert!(pod["affinity"]["podAntiAffinity"].is_mapping());
}

#[test]
fn namespace_on_request_allows_privileged_pods() {
    let mut o = nodes(&["a"]);
    o.namespace = "bench-1".into();
    o.create_namespace = true;
    o.name = Some("nightly".into());
    let m = render_ok(SCENARIO, &o);
    assert_eq!(m[0].file_name, "00-namespace.yaml");
    let ns = doc(&m, "00-namespace.yaml");
    assert_eq!(ns["metadata"]["name"], "bench-1");
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
    for f in ["10-configmap.yaml", "20-job.yaml"] {
        let d = doc(&m, f);
        assert_eq!(d["metadata"]["namespace"], "bench-1");
        assert_eq!(d["metadata"]["name"], "nightly");
        assert_eq!(d["metadata"]["labels"]["app.kubernetes.io/name"], "wpbench");
    }
}

#[test]
fn stream_is_one_document_per_manifest() {
    let mut o = nodes(&["a"]);
    o.create_namespace = true;
    let m = render_ok(SCENARIO, &o);
    let text = stream(&m);
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap())
        .collect();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Namespace", "ConfigMap", "Job"]);
}

use serde::Deserialize;

#[test]
fn user_errors_are_refused_with_a_reason() {
    let cases: Vec<(Options, &str)> = vec![
        (nodes(&[]), "no nodes given"),
        (nodes(&["a", "b", "a"]), "twice"),
        (nodes(&["Node_A"]), "node name"),
        (
            Options {
                namespace: "Bad_NS".into(),
                ..nodes(&["a"])
            },
            "--namespace",
        ),
        (
            Options {
                name: Some("x".repeat(60)),
                ..nodes(&["a"])
            },
            "--name",
        ),
        (
            Options {
                image: "".into(),
                ..nodes(&["a"])
            },
            "--image",
        ),
        (
            Options {
                placement: Placement::Selector {
                    labels: vec![("disk".into(), "ssd".into())],
                    count: 0,
                },
                ..nodes(&[])
            },
            "--count",
        ),
    ];
    for (o, says) in cases {
        let e = render_err(SCENARIO, &o);
        assert!(e.contains(says), "{o:?}: expected {says:?} in {e:?}");
    }
    let bad_key = render(
        &scenario(SCENARIO),
        Source {
            file_name: "my scenario.yaml",
            text: SCENARIO,
            beside: &[],
        },
        &nodes(&["a"]),
    )
    .unwrap_err();
    assert!(bad_key.contains("ConfigMap key"), "{bad_key}");
    let inside = SCENARIO.replace("/var/tmp/wpbench-fleet", "/results/x");
    assert!(render_err(&inside, &nodes(&["a"])).contains("/results"));
}

#[test]
fn selector_syntax() {
    assert_eq!(
        parse_selector("a=b,example.com/role=").unwrap(),
        vec![
            ("a".to_string(), "b".to_string()),
            ("example.com/role".to_string(), String::new())
        ]
    );
    for bad in [
        "disk",
        "=ssd",
        "disk=s s",
        "-disk=ssd",
        "a/b/c=d",
        "Bad_Prefix/x=y",
        "a=b,",
    ] {
        assert!(parse_selector(bad).is_err(), "{bad:?} accepted");
    }
    assert_eq!(parse_nodes(" a, b ,,c"), ["a", "b", "c"]);
    assert!(parse_nodes(" , ").is_empty());
}

#[test]
fn job_names_and_quantities() {
    assert_eq!(
        names::job_name_for("Quick_Start.v2"),
        "wpbench-quick-start-v2"
    );
    let long = names::job_name_for(&"x".repeat(100));
    assert_eq!(long.len(), names::JOB_NAME_MAX);
    assert!(names::check_job_name(&long).is_ok());
    assert_eq!(names::job_name_for("a-_-b-"), "wpbench-a-b");
    assert_eq!(quantity(256 << 20), "256Mi");
    assert_eq!(quantity(1 << 30), "1Gi");
    assert_eq!(quantity(1536 << 20), "1536Mi");
    assert_eq!(quantity(1), "1Mi");
}

#[test]
fn job_yaml_explains_itself() {
    let m = render_ok(SCENARIO, &nodes(&["a"]));
    let job = &m
        .iter()
        .find(|m| m.file_name == "20-job.yaml")
        .unwrap()
        .yaml;
    assert!(job.starts_with("# Rendered by `wpbench k8s render`"));
    assert!(job.contains("# One pod per node"));
}

#[test]
fn a_replays_trace_travels_in_the_configmap_at_its_relative_path() {
    let dir = tempfile::tempdir().unwrap();
    let trace =
        "7 1000.000001 openat(AT_FDCWD</w>, \"a\", O_WRONLY|O_CREAT, 0644) = 3</w/a> <0.000010>\n\
                 7 1000.000002 fsync(3</w/a>) = 0 <0.000010>\n";
    std::fs::create_dir(dir.path().join("traces")).unwrap();
    std::fs::write(dir.path().join("traces/app.trace"), trace).unwrap();
    let text = "version: 1\nname: r\ntargets:\n  - {name: t, kind: tmpfs}\nworkloads:\n  \
                - {name: app, kind: replay, trace: traces/app.trace, root: /w}\n  \
                - {name: again, kind: replay, trace: traces/app.trace, root: /w}\n";
    let file = dir.path().join("fleet.yaml");
    let s = crate::scenario::load_str(text, &file).unwrap();
    let names = beside_files(&s).unwrap();
    assert_eq!(names, ["traces/app.trace"], "named once");
    let beside = [Beside {
        path: names[0].clone(),
        text: trace.into(),
    }];
    let src = Source {
        file_name: "fleet.yaml",
        text,
        beside: &beside,
    };
    let m = render(&s, src, &nodes(&["a"])).unwrap();
    let cm = doc(&m, "10-configmap.yaml");
    assert_eq!(cm["data"]["beside-0"].as_str(), Some(trace));
    let job = doc(&m, "20-job.yaml");
    let vol = &job["spec"]["template"]["spec"]["volumes"][0]["configMap"];
    let items: Vec<(String, String)> = vol["items"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["key"].as_str().unwrap().to_string(),
                i["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        items,
        [
            ("fleet.yaml".to_string(), "fleet.yaml".to_string()),
            ("beside-0".to_string(), "traces/app.trace".to_string())
        ]
    );

    // A trace outside the scenario's directory cannot travel with it.
    let outside = dir.path().join("outside.trace");
    std::fs::write(&outside, trace).unwrap();
    let text = format!(
        "version: 1\nname: r\ntargets:\n  - {{name: t, kind: tmpfs}}\nworkloads:\n  \
         - {{name: app, kind: replay, trace: {}, root: /w}}\n",
        outside.display()
    );
    let s = crate::scenario::load_str(&text, &file).unwrap();
    let e = beside_files(&s).unwrap_err();
    assert!(e.contains("relative to the scenario file"), "{e}");
}

// --- pod storage and least privilege ---------------------------------------

/// Storage only: a StorageClass volume, a memory emptyDir and the
/// container's layer.
const POD_STORAGE: &str = "\
version: 1
name: pods
duration: 2s
targets:
  - {name: pvc, kind: volume, storage_class: fast-ssd, size: 20GiB, access_mode: ReadWriteOncePod}
  - {name: mem, kind: emptydir, medium: Memory, size_limit: 512MiB}
  - {name: layer, kind: rootfs}
workloads:
  - {name: wal, kind: fsync_heavy}
";

fn container_of(job: &Value) -> &Value {
    &pod_spec(job)["containers"][0]
}

fn command_of(job: &Value) -> Vec<String> {
    container_of(job)["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn volume<'a>(job: &'a Value, name: &str) -> &'a Value {
    pod_spec(job)["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no volume {name}"))
}

#[test]
fn pod_storage_becomes_pod_volumes_mapped_with_volume_flags() {
    let m = render_ok(POD_STORAGE, &nodes(&["a"]));
    let job = doc(&m, "20-job.yaml");
    let claim = &volume(&job, "volume-0")["ephemeral"]["volumeClaimTemplate"];
    assert_eq!(claim["spec"]["storageClassName"], "fast-ssd");
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "20Gi");
    assert_eq!(claim["spec"]["accessModes"][0], "ReadWriteOncePod");
    assert_eq!(claim["spec"]["volumeMode"], "Filesystem");
    assert_eq!(
        claim["metadata"]["labels"]["app.kubernetes.io/instance"],
        "wpbench-pods"
    );
    let empty = &volume(&job, "emptydir-1")["emptyDir"];
    assert_eq!(empty["medium"], "Memory");
    assert_eq!(empty["sizeLimit"], "512Mi");
    let cmd = command_of(&job);
    assert_eq!(
        cmd[4..],
        [
            "/scenario/fleet.yaml",
            "--volume=pvc=/wpbench/volumes/pvc",
            "--volume=mem=/wpbench/volumes/mem",
            "--volume=layer=/var/tmp/wpbench-rootfs",
        ]
    );
    let mounts = container_of(&job)["volumeMounts"].as_sequence().unwrap();
    let at = |v: &str| {
        mounts
            .iter()
            .find(|m| m["name"] == v)
            .map(|m| m["mountPath"].as_str().unwrap().to_string())
    };
    assert_eq!(at("volume-0").as_deref(), Some("/wpbench/volumes/pvc"));
    assert_eq!(at("emptydir-1").as_deref(), Some("/wpbench/volumes/mem"));
    // The memory emptyDir is charged to the pod's memory.
    let mem = container_of(&job)["resources"]["limits"]["memory"]
        .as_str()
        .unwrap();
    assert_eq!(mem, "768Mi");
}

#[test]
fn storage_only_pods_are_unprivileged_and_non_root() {
    let mut o = nodes(&["a"]);
    o.create_namespace = true;
    let m = render_ok(POD_STORAGE, &o);
    let job = doc(&m, "20-job.yaml");
    let pod = pod_spec(&job);
    let c = container_of(&job);
    let sc = &c["securityContext"];
    assert_eq!(sc["privileged"], false);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"][0], "ALL");
    assert!(sc["capabilities"].get("add").is_none());
    // A rootfs target writes to the container's layer.
    assert_eq!(sc["readOnlyRootFilesystem"], false);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], security::NONROOT_ID);
    assert_eq!(pod["securityContext"]["fsGroup"], security::NONROOT_ID);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    // No /dev from the host, no hostPath at all.
    let volumes = pod["volumes"].as_sequence().unwrap();
    assert!(
        volumes.iter().all(|v| v.get("hostPath").is_none()),
        "{volumes:?}"
    );
    assert!(c["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .all(|m| m["mountPath"] != "/dev"));
    // The init container: root with CAP_CHOWN only, on the scratch emptyDir
    // and the roots of the pod's own volumes (fsGroup alone does not reach
    // every driver's).
    let init = &pod["initContainers"][0];
    assert_eq!(init["securityContext"]["capabilities"]["add"][0], "CHOWN");
    assert_eq!(init["securityContext"]["capabilities"]["drop"][0], "ALL");
    assert_eq!(
        init["command"][2],
        "chmod 0700 /var/tmp/wpbench-runs && chown 65532:65532 /var/tmp/wpbench-runs \
         && chown 65532:65532 /wpbench/volumes/pvc && chown 65532:65532 /wpbench/volumes/mem"
    );
    let init_mounts: Vec<&str> = init["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    assert_eq!(
        init_mounts,
        [SCRATCH_DIR, "/wpbench/volumes/pvc", "/wpbench/volumes/mem"]
    );
    let ns = doc(&m, "00-namespace.yaml");
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "baseline"
    );
    let yaml = &m
        .iter()
        .find(|m| m.file_name == "20-job.yaml")
        .unwrap()
        .yaml;
    assert!(
        yaml.contains("# Not privileged: wpbench mounts nothing here"),
        "{yaml}"
    );
    assert!(volumes.iter().all(|v| v["name"] != "tmp"));
    // Without a rootfs target the root filesystem is read-only, with an
    // emptyDir for /tmp.
    let no_layer = POD_STORAGE.replace("  - {name: layer, kind: rootfs}\n", "");
    let job = doc(&render_ok(&no_layer, &nodes(&["a"])), "20-job.yaml");
    assert_eq!(
        container_of(&job)["securityContext"]["readOnlyRootFilesystem"],
        true
    );
    assert!(volume(&job, "tmp")["emptyDir"].is_mapping());
}

#[test]
fn a_target_wpbench_mounts_makes_the_pods_privileged_and_says_why() {
    let mixed = POD_STORAGE.replace(
        "targets:\n",
        "targets:\n  - {name: disk, kind: ext4, size: 1GiB}\n",
    );
    let mut o = nodes(&["a"]);
    o.create_namespace = true;
    let m = render_ok(&mixed, &o);
    let job = doc(&m, "20-job.yaml");
    assert_eq!(container_of(&job)["securityContext"]["privileged"], true);
    assert!(pod_spec(&job).get("initContainers").is_none());
    assert!(pod_spec(&job).get("securityContext").is_none());
    assert_eq!(volume(&job, "dev")["hostPath"]["path"], "/dev");
    let yaml = &m
        .iter()
        .find(|m| m.file_name == "20-job.yaml")
        .unwrap()
        .yaml;
    assert!(
        yaml.contains("# Privileged, with the host's /dev")
            && yaml.contains("target `disk` is an ext4"),
        "{yaml}"
    );
    let ns = doc(&m, "00-namespace.yaml");
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
    // Per-mount flags on pod storage need a bind mount: privileged too.
    let flags = POD_STORAGE.replace("kind: rootfs}", "kind: rootfs, options: [noatime]}");
    let p = privilege(&scenario(&flags));
    assert_eq!(
        p,
        Privilege::Privileged(vec![
            "target `layer` asks for [noatime], set on a bind mount".into()
        ])
    );
}

#[test]
fn a_hostpath_without_options_runs_unprivileged_as_uid_0() {
    let host = "version: 1\nname: h\nduration: 1s\ntargets:\n\
                \x20 - {name: node, kind: hostpath, path: /var/tmp/wpbench}\n\
                workloads:\n  - {name: wal, kind: fsync_heavy}\n";
    let mut o = nodes(&["a"]);
    o.create_namespace = true;
    let m = render_ok(host, &o);
    let job = doc(&m, "20-job.yaml");
    let pod = pod_spec(&job);
    assert_eq!(container_of(&job)["securityContext"]["privileged"], false);
    assert_eq!(pod["securityContext"]["runAsUser"], 0);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], false);
    assert!(pod.get("initContainers").is_none());
    assert_eq!(
        container_of(&job)["securityContext"]["readOnlyRootFilesystem"],
        true
    );
    // hostPath volumes need the `privileged` Pod Security level, though
    // the pod is not privileged.
    let ns = doc(&m, "00-namespace.yaml");
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
    let with_flags = host.replace("/var/tmp/wpbench}", "/var/tmp/wpbench, options: [noatime]}");
    assert!(privilege(&scenario(&with_flags)).is_privileged());
}

#[test]
fn a_vary_that_changes_the_volume_gives_each_variant_its_own() {
    let text = POD_STORAGE.replace(
        "access_mode: ReadWriteOncePod}",
        "vary: {storage_class: [fast-ssd, slow-hdd]}}",
    );
    let job = doc(&render_ok(&text, &nodes(&["a"])), "20-job.yaml");
    let cmd = command_of(&job);
    for v in ["pvc[fast-ssd]", "pvc[slow-hdd]"] {
        let arg = format!("--volume={v}=/wpbench/volumes/{v}");
        assert!(cmd.contains(&arg), "{cmd:?}");
    }
    let classes: Vec<&str> = pod_spec(&job)["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v["ephemeral"]["volumeClaimTemplate"]["spec"]["storageClassName"].as_str())
        .collect();
    assert_eq!(classes, ["fast-ssd", "slow-hdd"]);
    // A vary of options alone shares one volume.
    let text = POD_STORAGE.replace(
        "access_mode: ReadWriteOncePod}",
        "vary: {options: [[noatime], [relatime]]}}",
    );
    let job = doc(&render_ok(&text, &nodes(&["a"])), "20-job.yaml");
    assert!(command_of(&job).contains(&"--volume=pvc=/wpbench/volumes/pvc".to_string()));
}

#[test]
fn a_hostpath_over_the_pods_own_directories_is_refused() {
    for over in ["/var/tmp", "/var/tmp/", "/wpbench"] {
        let text = POD_STORAGE.replace(
            "targets:\n",
            &format!("targets:\n  - {{name: h, kind: hostpath, path: {over}}}\n"),
        );
        let e = render_err(&text, &nodes(&["a"]));
        assert!(e.contains("which the pod uses itself"), "{over}: {e}");
    }
}

#[test]
fn a_hostpath_inside_the_pods_own_directories_is_refused() {
    for inside in ["/wpbench/volumes/x", "/var/tmp/wpbench-rootfs"] {
        let text = POD_STORAGE.replace(
            "targets:\n",
            &format!("targets:\n  - {{name: h, kind: hostpath, path: {inside}}}\n"),
        );
        assert!(render_err(&text, &nodes(&["a"])).contains("which the pod uses itself"));
    }
}
