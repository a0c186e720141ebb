//! Binding a scenario's pod storage to this machine: `wpbench run
//! --volume NAME=DIR` says where a `volume`, `emptydir` or `rootfs`
//! target is (in a pod, the script `k8s render` writes passes the mount
//! paths it made). Pure: names and paths in, the targets' directories set
//! or the user's mistake out.

use std::path::{Path, PathBuf};

use super::diag::suggest;
use super::spec::{Scenario, TargetKind, TargetParams};

/// One `--volume NAME=DIR`, as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeBinding {
    pub name: String,
    pub dir: PathBuf,
}

/// Reads `NAME=DIR` (for clap): a name and an absolute or relative path.
pub fn parse_volume_arg(s: &str) -> Result<VolumeBinding, String> {
    let Some((name, dir)) = s.split_once('=') else {
        return Err(format!(
            "`{s}`: write NAME=DIR, the target's name and the directory where that volume is \
             mounted on this machine (e.g. data=/mnt/data)"
        ));
    };
    if name.is_empty() || dir.is_empty() {
        return Err(format!(
            "`{s}`: write NAME=DIR with both parts (e.g. data=/mnt/data)"
        ));
    }
    Ok(VolumeBinding {
        name: name.to_string(),
        dir: PathBuf::from(dir),
    })
}

impl Scenario {
    /// Sets the directory of each pod-storage target the bindings name,
    /// and checks that every volume or emptydir target among `used` (the
    /// plan's target indices) has one. `cwd` makes relative directories
    /// absolute. Errors are the command line's (exit 2), one per line.
    pub fn bind_volumes(
        &mut self,
        bindings: &[VolumeBinding],
        used: &[usize],
        cwd: &Path,
    ) -> Result<(), String> {
        let mut problems = Vec::new();
        let mut pod_names: Vec<String> = self
            .targets
            .iter()
            .filter(|t| t.kind.is_pod_storage())
            .map(|t| t.base_name.clone())
            .collect();
        pod_names.dedup();
        let pod_names: Vec<&str> = pod_names.iter().map(String::as_str).collect();
        for (i, b) in bindings.iter().enumerate() {
            if bindings[..i].iter().any(|o| o.name == b.name) {
                problems.push(format!(
                    "--volume {}=…: `{}` is mapped twice; give each target one directory",
                    b.name, b.name
                ));
                continue;
            }
            let Some(t) = self
                .targets
                .iter()
                .find(|t| t.base_name == b.name || t.name == b.name)
            else {
                let hint = match suggest(&b.name, &pod_names) {
                    Some(s) => format!("did you mean `{s}`? "),
                    None => String::new(),
                };
                problems.push(format!(
                    "--volume {}={}: the scenario has no target `{}`; {hint}{}",
                    b.name,
                    b.dir.display(),
                    b.name,
                    match pod_names.as_slice() {
                        [] => "it has no volume, emptydir or rootfs target to map".to_string(),
                        names => format!("its pod-storage targets are {}", names.join(", ")),
                    }
                ));
                continue;
            };
            if !t.kind.is_pod_storage() {
                problems.push(format!(
                    "--volume {}={}: target `{}` is a {} target; --volume maps only volume, \
                     emptydir and rootfs targets{}",
                    b.name,
                    b.dir.display(),
                    t.base_name,
                    t.kind.as_str(),
                    if t.kind == TargetKind::Hostpath {
                        " (a hostpath's directory is its `path`)"
                    } else {
                        ""
                    }
                ));
                continue;
            }
            let dir = cwd.join(&b.dir);
            let name = b.name.clone();
            for t in self
                .targets
                .iter_mut()
                .filter(|t| t.base_name == name || t.name == name)
            {
                match &mut t.params {
                    TargetParams::Volume(v) => v.dir = Some(dir.clone()),
                    TargetParams::Emptydir(e) => e.dir = Some(dir.clone()),
                    TargetParams::Rootfs(r) => r.dir = Some(dir.clone()),
                    _ => {}
                }
            }
        }
        let mut named: Vec<&str> = Vec::new();
        for t in used.iter().filter_map(|&i| self.targets.get(i)) {
            let needs = matches!(t.kind, TargetKind::Volume | TargetKind::Emptydir);
            if !needs || t.path().is_some() || named.contains(&t.base_name.as_str()) {
                continue;
            }
            named.push(&t.base_name);
            let what = match &t.params {
                TargetParams::Volume(v) => {
                    format!("a mounted volume of StorageClass {}", v.storage_class)
                }
                _ => "the pod's emptyDir".to_string(),
            };
            problems.push(format!(
                "target `{}` (kind: {}) needs a directory on this machine: give --volume {}=DIR \
                 ({what}, or any directory to measure in its place); `wpbench k8s render` \
                 makes the volume in a pod",
                t.base_name,
                t.kind.as_str(),
                t.base_name
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_str;

    const POD: &str = "version: 1\nname: p\nduration: 1s\ntargets:\n\
        \x20 - {name: data, kind: volume, storage_class: standard, size: 10GiB, \
        vary: {options: [[noatime], [relatime]]}}\n\
        \x20 - {name: scratch, kind: emptydir}\n\
        \x20 - {name: layer, kind: rootfs}\n\
        \x20 - {name: node, kind: hostpath, path: /var/tmp/x}\n\
        workloads:\n  - {name: w, kind: fsync_heavy}\n";

    fn pod() -> Scenario {
        load_str(POD, Path::new("p.yaml")).unwrap()
    }

    fn bind(s: &mut Scenario, args: &[&str]) -> Result<(), String> {
        let b: Vec<VolumeBinding> = args.iter().map(|a| parse_volume_arg(a).unwrap()).collect();
        let used: Vec<usize> = (0..s.targets.len()).collect();
        s.bind_volumes(&b, &used, Path::new("/work"))
    }

    #[test]
    fn every_variant_of_a_named_target_gets_the_directory() {
        let mut s = pod();
        bind(&mut s, &["data=/mnt/data", "scratch=rel/dir"]).unwrap();
        let dirs: Vec<Option<&Path>> = s.targets.iter().map(|t| t.path()).collect();
        assert_eq!(
            dirs,
            [
                Some(Path::new("/mnt/data")),
                Some(Path::new("/mnt/data")),
                Some(Path::new("/work/rel/dir")),
                None,
                Some(Path::new("/var/tmp/x")),
            ]
        );
    }

    #[test]
    fn a_volume_or_emptydir_without_a_directory_is_named_with_the_flag() {
        let mut s = pod();
        let e = bind(&mut s, &["data=/mnt/data"]).unwrap_err();
        assert!(
            e.contains(
                "target `scratch` (kind: emptydir) needs a directory on this machine: \
                 give --volume scratch=DIR"
            ),
            "{e}"
        );
        let e = bind(&mut pod(), &[]).unwrap_err();
        assert_eq!(e.lines().count(), 2, "{e}");
        assert!(e.contains("StorageClass standard"), "{e}");
        // Only the targets the plan uses need one.
        let mut s = pod();
        let b = [parse_volume_arg("scratch=/x").unwrap()];
        s.bind_volumes(&b, &[2, 3, 4], Path::new("/")).unwrap();
    }

    #[test]
    fn wrong_names_and_kinds_are_refused() {
        let e = bind(&mut pod(), &["dta=/a", "scratch=/b"]).unwrap_err();
        assert!(e.contains("no target `dta`; did you mean `data`?"), "{e}");
        let e = bind(&mut pod(), &["data=/a", "scratch=/b", "node=/c"]).unwrap_err();
        assert!(e.contains("target `node` is a hostpath target"), "{e}");
        assert!(e.contains("its `path`"), "{e}");
        let e = bind(&mut pod(), &["data=/a", "scratch=/b", "data=/c"]).unwrap_err();
        assert!(e.contains("mapped twice"), "{e}");
        assert!(parse_volume_arg("data").unwrap_err().contains("NAME=DIR"));
        assert!(parse_volume_arg("=x").is_err());
        assert!(parse_volume_arg("x=").is_err());
    }
}
