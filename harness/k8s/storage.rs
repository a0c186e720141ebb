//! A pod's own storage for the scenario's `volume`, `emptydir` and
//! `rootfs` targets: the pod volume each needs, where it is mounted, and
//! the `--volume NAME=DIR` the script passes to `wpbench run` so the run
//! finds it there.
//!
//! - `volume` → a generic ephemeral volume: a claim of the target's
//!   StorageClass, size and access mode made for each pod and deleted
//!   with it, so every node measures a fresh volume of the class.
//! - `emptydir` → an emptyDir (`medium: Memory` and `sizeLimit` as given).
//! - `rootfs` → no volume: a directory of the container's own layer.
//!
//! Targets of one written name (a `vary` of options) share one volume;
//! each cell still works in a fresh subdirectory of it. A `vary` that
//! changes the volume itself (class, size, medium) gives each variant a
//! volume of its own, passed by the variant's full name.

use serde_yaml::{Mapping, Value};

use super::{labels, map, quantity, s, seq};
use crate::scenario::{Scenario, TargetParams, TargetSpec};

/// Where pod volumes are mounted: `/wpbench/volumes/<target name>`.
pub const VOLUMES_DIR: &str = "/wpbench/volumes";
/// The rootfs targets' directory, in the container's own layer (/var/tmp
/// is writable by every user in the image).
pub const ROOTFS_DIR: &str = "/var/tmp/wpbench-rootfs";

/// The pod volumes, the container's mounts of them and the arguments for
/// `wpbench run`.
#[derive(Debug, Default)]
pub struct PodStorage {
    pub volumes: Vec<Value>,
    pub mounts: Vec<Value>,
    pub args: Vec<String>,
    /// Where the pod's own volumes are mounted (their roots are handed to
    /// a non-root user by the init container).
    pub paths: Vec<String>,
}

/// What a pod volume is made from: a target's params, without the
/// directory a run binds later.
fn volume_params(t: &TargetSpec) -> TargetParams {
    let mut p = t.params.clone();
    match &mut p {
        TargetParams::Volume(v) => v.dir = None,
        TargetParams::Emptydir(e) => e.dir = None,
        TargetParams::Rootfs(r) => r.dir = None,
        _ => {}
    }
    p
}

pub fn pod_storage(scenario: &Scenario, job: &str) -> PodStorage {
    let mut out = PodStorage::default();
    let pod: Vec<&TargetSpec> = scenario
        .targets
        .iter()
        .filter(|t| t.kind.is_pod_storage())
        .collect();
    let mut done: Vec<&str> = Vec::new();
    for t in &pod {
        // Variants of one written target share its volume unless a `vary`
        // changes what the volume is (its class, size, medium …): then
        // each variant gets a volume of its own, named by its full name.
        let siblings = || pod.iter().filter(|o| o.base_name == t.base_name);
        let same = siblings().all(|o| volume_params(o) == volume_params(t));
        let name = if same { &t.base_name } else { &t.name };
        if done.contains(&name.as_str()) {
            continue;
        }
        done.push(name);
        let arg = |dir: &str| format!("--volume={name}={dir}");
        let vol = format!("{}-{}", t.kind.as_str(), out.volumes.len());
        let path = format!("{VOLUMES_DIR}/{name}");
        let source = match &t.params {
            TargetParams::Volume(v) => {
                let spec = map([
                    ("accessModes", seq([s(v.access_mode.as_str())])),
                    ("storageClassName", s(v.storage_class.as_str())),
                    ("volumeMode", s("Filesystem")),
                    (
                        "resources",
                        map([("requests", map([("storage", s(quantity(v.size)))]))]),
                    ),
                ]);
                (
                    "ephemeral",
                    map([(
                        "volumeClaimTemplate",
                        map([("metadata", map([("labels", labels(job))])), ("spec", spec)]),
                    )]),
                )
            }
            TargetParams::Emptydir(e) => {
                let mut m = Mapping::new();
                if e.memory {
                    m.insert(s("medium"), s("Memory"));
                }
                if let Some(l) = e.size_limit {
                    m.insert(s("sizeLimit"), s(quantity(l)));
                }
                ("emptyDir", Value::Mapping(m))
            }
            _ => {
                out.args.push(arg(ROOTFS_DIR));
                continue;
            }
        };
        out.volumes.push(map([("name", s(vol.clone())), source]));
        out.mounts
            .push(map([("name", s(vol)), ("mountPath", s(path.clone()))]));
        out.paths.push(path.clone());
        out.args.push(arg(&path));
    }
    out
}
