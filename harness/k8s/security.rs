//! Least privilege: whether a scenario's pods must be privileged, and the
//! security settings of the pods that need not be.
//!
//! wpbench needs CAP_SYS_ADMIN and the host's /dev only to mount: a
//! tmpfs, ext4, xfs or overlay target, or per-mount flags on storage that
//! exists (a bind mount). A scenario of volume, emptydir, rootfs and
//! hostpath targets without options mounts nothing, and its pods run
//! without privilege: every capability dropped, no privilege escalation,
//! the RuntimeDefault seccomp profile, a read-only root filesystem unless
//! a rootfs target writes to it, and a non-root user unless a hostPath is
//! written (see [`Unprivileged::as_root`]).

use crate::scenario::{Scenario, TargetKind};

/// The user and group unprivileged pods run as (the `nonroot` user of
/// distroless images; any non-zero id works).
pub const NONROOT_ID: u64 = 65532;

/// How a scenario's pods run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Privilege {
    /// Privileged, with the host's /dev: what each reason needs.
    Privileged(Vec<String>),
    Unprivileged(Unprivileged),
}

/// An unprivileged pod's needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unprivileged {
    /// Run as uid 0 (still without any capability): why, when a hostPath
    /// is written. kubelet makes a missing hostPath directory root's,
    /// mode 0755; uid 0 writes there as its owner, with no capability,
    /// where any other user could not — and wpbench never chowns a
    /// directory of the node that other pods may share.
    pub as_root: Option<String>,
    /// A rootfs target writes to the container's own layer, so the root
    /// filesystem stays writable.
    pub writable_rootfs: bool,
}

impl Privilege {
    pub fn is_privileged(&self) -> bool {
        matches!(self, Privilege::Privileged(_))
    }
}

/// What `scenario`'s pods need (every target and fault, whatever
/// `--only` a run is later given).
pub fn privilege(scenario: &Scenario) -> Privilege {
    let mut reasons = Vec::new();
    for t in &scenario.targets {
        if !t.kind.is_existing_storage() {
            reasons.push(format!(
                "target `{}` is {} wpbench mounts itself",
                t.name,
                match t.kind {
                    TargetKind::Ext4 | TargetKind::Xfs | TargetKind::Overlay => {
                        format!("an {}", t.kind.as_str())
                    }
                    kind => format!("a {}", kind.as_str()),
                }
            ));
        } else if !t.options.is_empty() {
            reasons.push(format!(
                "target `{}` asks for [{}], set on a bind mount",
                t.name,
                t.options.join(",")
            ));
        }
    }
    if !reasons.is_empty() {
        return Privilege::Privileged(reasons);
    }
    let host = scenario
        .targets
        .iter()
        .find(|t| t.kind == TargetKind::Hostpath);
    Privilege::Unprivileged(Unprivileged {
        as_root: host.map(|t| {
            format!(
                "hostpath target `{}` writes in a node directory kubelet makes root's (0755)",
                t.name
            )
        }),
        writable_rootfs: scenario
            .targets
            .iter()
            .any(|t| t.kind == TargetKind::Rootfs),
    })
}

/// The Pod Security Standards level a namespace must allow for these
/// pods: `privileged` for privileged pods or hostPath volumes (which
/// `baseline` forbids), else `baseline` (the init container that hands
/// the scratch emptyDir to the non-root user runs as root with CAP_CHOWN,
/// which `restricted` forbids).
pub fn pod_security_level(p: &Privilege, has_host_path: bool) -> &'static str {
    if p.is_privileged() || has_host_path {
        "privileged"
    } else {
        "baseline"
    }
}

/// The lines of the Job's comment that say how its pods run and why.
pub fn note(p: &Privilege) -> String {
    match p {
        Privilege::Privileged(reasons) => format!(
            "Privileged, with the host's /dev: wpbench mounts filesystems and attaches loop\n\
             devices (CAP_SYS_ADMIN), because\n  {}.",
            reasons.join(";\n  ")
        ),
        Privilege::Unprivileged(u) => {
            let rootfs = if u.writable_rootfs {
                "the root filesystem writable (a rootfs target writes to the container's layer)"
            } else {
                "a read-only root filesystem"
            };
            let user = match &u.as_root {
                Some(why) => format!(
                    "Runs as uid 0 without any capability: {why},\n\
                     where uid 0 writes as its owner; wpbench never chowns a node directory."
                ),
                None => format!(
                    "Runs as uid {NONROOT_ID} (runAsNonRoot; fsGroup {NONROOT_ID} makes pod volumes \
                     writable). An init container\n\
                     (root, CAP_CHOWN only) hands the scratch emptyDir to that user: wpbench \
                     uses a scratch root\n\
                     only its own user can write."
                ),
            };
            format!(
                "Not privileged: wpbench mounts nothing here (pod storage, hostPaths without \
                 options).\n\
                 Every capability dropped, no privilege escalation, seccomp RuntimeDefault,\n\
                 {rootfs}.\n{user}"
            )
        }
    }
}
