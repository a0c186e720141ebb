//! A pod's own storage, on one machine: volume, emptydir and rootfs
//! targets run where `--volume NAME=DIR` says (a real ext4 of its own
//! stands in for a claim), and `k8s render` gives them pod volumes in
//! manifests a Kubernetes schema validator accepts.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::*;

const POD: &str = "\
version: 1
name: pods
seed: 4
ops: 200
warmup: 0s
targets:
  - {name: pvc, kind: volume, storage_class: standard, size: 1GiB}
  - {name: scratch, kind: emptydir, size_limit: 256MiB}
  - {name: layer, kind: rootfs}
workloads:
  - {name: wal, kind: fsync_heavy, record_size: 4KiB, fsync: always, sync_call: fdatasync}
";

fn notes(cell: &Value) -> String {
    cell["notes"].to_string()
}

#[test]
fn pod_storage_runs_in_the_directories_volume_names() {
    let _serial = serial();
    let sb = Sandbox::new();
    let (pvc, scratch) = (sb.dir.path().join("pvc"), sb.dir.path().join("empty"));
    std::fs::create_dir_all(&pvc).unwrap();
    std::fs::create_dir_all(&scratch).unwrap();
    let file = sb.write("pods.yaml", POD);
    let out = sb.run(
        &file,
        "pods",
        &[
            "--volume",
            &format!("pvc={}", pvc.display()),
            "--volume",
            &format!("scratch={}", scratch.display()),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("pods").join("result.json"));
    // The scratch root itself is removed after the run.
    let scratch_root = sb.dir.path().canonicalize().unwrap().join("scratch");
    for (target, dir) in [
        ("pvc", &pvc),
        ("scratch", &scratch),
        ("layer", &scratch_root),
    ] {
        let c = cell_of(&result, target);
        assert_eq!(c["ops"]["record"]["count"], 200, "{c}");
        assert_eq!(c["ops"]["fdatasync"]["count"], 200, "{c}");
        let at = c["target"]["mount"]["mount_point"].as_str().unwrap();
        let dir = dir.canonicalize().unwrap_or(dir.to_path_buf());
        assert!(
            Path::new(at).starts_with(&dir),
            "{target}: {at} not under {dir:?}"
        );
        // A directory of the machine's disk: shared, not the cell's alone.
        assert_eq!(c["device"]["shared"], true, "{c}");
        assert!(notes(c).contains("holds other files and mounts too"), "{c}");
    }
    assert!(notes(cell_of(&result, "pvc")).contains("volume `pvc`: "));
    assert!(notes(cell_of(&result, "layer")).contains("not a container's overlay layer"));
    assert!(notes(cell_of(&result, "layer")).contains("the scratch area's filesystem"));
    // Each cell's fresh subdirectory is gone; the volumes themselves stay.
    for dir in [&pvc, &scratch] {
        assert!(dir.is_dir());
        assert_eq!(std::fs::read_dir(dir).unwrap().count(), 0, "{dir:?}");
    }
    assert_nothing_left(&sb);
}

#[test]
fn a_volume_or_emptydir_without_its_directory_is_a_usage_error() {
    let sb = Sandbox::new();
    let file = sb.write("pods.yaml", POD);
    let out = sb.run(&file, "pods", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "target `pvc` (kind: volume) needs a directory on this machine: give --volume pvc=DIR"
        ),
        "{err}"
    );
    assert!(err.contains("--volume scratch=DIR"), "{err}");
    // A directory that is not there, a name the scenario lacks, a kind
    // --volume does not map: each exit 2, nothing written.
    let missing = sb.dir.path().join("nowhere");
    for (args, says) in [
        (
            vec![
                format!("pvc={}", missing.display()),
                "scratch=/var/tmp".into(),
            ],
            "--volume pvc=".to_string(),
        ),
        (
            vec!["pvx=/var/tmp".into(), "scratch=/var/tmp".into()],
            "did you mean `pvc`?".into(),
        ),
        (vec!["nonsense".into()], "write NAME=DIR".into()),
    ] {
        let mut extra = Vec::new();
        for a in &args {
            extra.push("--volume");
            extra.push(a.as_str());
        }
        let out = sb.run(&file, "pods", &extra);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(&says), "{args:?}: {}", text(&out));
        assert!(!sb.out("pods").exists());
    }
    assert_nothing_left(&sb);
}

/// A claim's own filesystem and a container's layer: in a mount
/// namespace of its own, the test mounts a fresh ext4 image (through a
/// loop device) as the `pvc` volume and an overlay with two lower layers
/// as the `layer`, and runs wpbench there. The volume is a device nothing
/// else mounts, so its write amplification is the cell's; the layer is
/// recorded as the overlay it is.
#[test]
#[ignore = "needs root, mkfs.ext4 and unshare: mounts an ext4 as the volume and an overlay as the layer"]
fn a_volume_on_a_device_of_its_own_counts_its_writes_as_the_cells() {
    require(&[
        Need::Root,
        Need::MKFS_EXT4,
        Need::Program("unshare", "util-linux"),
    ]);
    let _serial = serial();
    let sb = Sandbox::new();
    let (img, pvc, scratch) = (
        sb.dir.path().join("pvc.img"),
        sb.dir.path().join("pvc"),
        sb.dir.path().join("empty"),
    );
    for d in [&pvc, &scratch] {
        std::fs::create_dir_all(d).unwrap();
    }
    let file = sb.write("pods.yaml", POD);
    // The namespace (and so the mount, and the loop device it holds,
    // attached with autoclear by mount -o loop) ends with the shell.
    let ovl = sb.dir.path().join("ovl");
    let script = format!(
        "set -e; truncate -s 256M {img}; mkfs.ext4 -q -F {img}; \
         mount -o loop,noatime {img} {pvc}; \
         mkdir -p {o}/l1 {o}/l2 {o}/up {o}/work {o}/root; echo a > {o}/l1/a; echo b > {o}/l2/b; \
         mount -t overlay overlay -o lowerdir={o}/l1:{o}/l2,upperdir={o}/up,workdir={o}/work {o}/root; \
         \"$0\" run {file} --out {out} --scratch {sc} --only pvc --only layer \
           --volume pvc={pvc} --volume scratch={scratch} --volume layer={o}/root/tmp",
        o = ovl.display(),
        img = img.display(),
        pvc = pvc.display(),
        file = file.display(),
        out = sb.out("own").display(),
        sc = sb.scratch().display(),
        scratch = scratch.display(),
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .arg(env!("CARGO_BIN_EXE_wpbench"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = read_json(&sb.out("own").join("result.json"));
    let c = cell_of(&result, "pvc");
    assert_eq!(c["target"]["mount"]["fstype"], "ext4", "{c}");
    assert!(c["target"]["mount"]["source"]
        .as_str()
        .unwrap()
        .starts_with("/dev/loop"));
    assert_eq!(c["device"]["shared"], false, "{c}");
    let wa = c["device"]["write_amplification"].as_f64().unwrap();
    // 200 fdatasync'd 4 KiB records: journal and metadata on top.
    assert!(wa >= 1.0, "{c}");
    assert!(
        notes(c).contains("is mounted only here, so its write amplification is the cell's"),
        "{c}"
    );
    let layer = cell_of(&result, "layer");
    let mount = &layer["target"]["mount"];
    assert_eq!(mount["fstype"], "overlay", "{layer}");
    let options = mount["options"].as_str().unwrap();
    assert!(
        options.contains("lowerdir=") && options.contains("upperdir="),
        "{options}"
    );
    assert!(
        notes(layer).contains("the container's own writable layer: overlay mounted at"),
        "{layer}"
    );
    assert!(notes(layer).contains("(2 lower layers)"), "{layer}");
    assert_eq!(layer["ops"]["record"]["count"], 200, "{layer}");
    assert_nothing_left(&sb);
}

/// The Kubernetes versions rendered manifests are checked against (docs/fleet.md).
const KUBERNETES_VERSIONS: [&str; 3] = ["1.29.0", "1.32.0", "1.35.0"];

fn validate_all(file: &Path) {
    for v in KUBERNETES_VERSIONS {
        let out = Command::new("python3")
            .args(["-m", "kubernetes_validate", "-k", v, "--strict"])
            .arg(file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{v}: {}", text(&out));
    }
}

fn render(sb: &Sandbox, scenario: &Path, name: &str) -> std::path::PathBuf {
    let out = sb.out(name);
    let o = wpbench()
        .args(["k8s", "render"])
        .arg(scenario)
        .args([
            "--image",
            "registry.example.com/wpbench:0.1",
            "--nodes",
            "a,b",
        ])
        .arg("--create-namespace")
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    out
}

fn job(dir: &Path) -> serde_yaml::Value {
    serde_yaml::from_str(&std::fs::read_to_string(dir.join("20-job.yaml")).unwrap()).unwrap()
}

#[test]
#[ignore = "needs python3 kubernetes-validate: checks pod-storage manifests against Kubernetes' schemas"]
fn pod_storage_manifests_validate_and_run_without_privilege() {
    require(&[Need::Python("kubernetes_validate", "kubernetes-validate")]);
    let sb = Sandbox::new();
    // Storage only: unprivileged, non-root.
    let only = render(&sb, &sb.write("pods.yaml", POD), "only");
    for f in ["00-namespace.yaml", "10-configmap.yaml", "20-job.yaml"] {
        validate_all(&only.join(f));
    }
    let j = job(&only);
    let pod = &j["spec"]["template"]["spec"];
    assert_eq!(pod["containers"][0]["securityContext"]["privileged"], false);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let claim = &pod["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|v| v.get("ephemeral").is_some())
        .unwrap()["ephemeral"]["volumeClaimTemplate"]["spec"];
    assert_eq!(claim["storageClassName"], "standard");
    assert_eq!(claim["resources"]["requests"]["storage"], "1Gi");
    // With an ext4 target wpbench mounts: privileged, and the Job says why.
    let mixed = POD.replace(
        "targets:\n",
        "targets:\n  - {name: disk, kind: ext4, size: 256MiB}\n",
    );
    let dir = render(&sb, &sb.write("mixed.yaml", &mixed), "mixed");
    validate_all(&dir.join("20-job.yaml"));
    assert_eq!(
        job(&dir)["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"],
        true
    );
    let text = std::fs::read_to_string(dir.join("20-job.yaml")).unwrap();
    assert!(
        text.contains("target `disk` is an ext4 wpbench mounts itself"),
        "{text}"
    );
    // The shipped scenario renders valid manifests too.
    let shipped = render(
        &sb,
        &repo_root().join("scenarios/pod-storage.yaml"),
        "shipped",
    );
    validate_all(&shipped.join("20-job.yaml"));
}
