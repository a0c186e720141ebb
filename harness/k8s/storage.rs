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
//! Targets of one written name (a `vary`) share one volume; each cell
//! still works in a fresh subdirectory of it.

use serde_yaml::{Mapping, Value};

use super::{labels, map, quantity, s, seq};
use crate::scenario::{Scenario, TargetParams};

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
}

pub fn pod_storage(scenario: &Scenario, job: &str) -> PodStorage {
    let mut out = PodStorage::default();
    let mut seen: Vec<&str> = Vec::new();
    for t in scenario.targets.iter().filter(|t| t.kind.is_pod_storage()) {
        if seen.contains(&t.base_name.as_str()) {
            continue;
        }
        seen.push(&t.base_name);
        let vol = format!("{}-{}", t.kind.as_str(), seen.len() - 1);
        let path = format!("{VOLUMES_DIR}/{}", t.base_name);
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
                out.args.push("--volume".into());
                out.args.push(format!("{}={ROOTFS_DIR}", t.base_name));
                continue;
            }
        };
        out.volumes.push(map([("name", s(vol.clone())), source]));
        out.mounts
            .push(map([("name", s(vol)), ("mountPath", s(path.clone()))]));
        out.args.push("--volume".into());
        out.args.push(format!("{}={path}", t.base_name));
    }
    out
}
