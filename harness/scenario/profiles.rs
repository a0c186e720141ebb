//! Throttle profiles: the named volume classes `profile:` accepts and the
//! limits a throttle spec resolves to. Pure data, part of the scenario
//! model; `fault::throttle` puts them on a device.

use serde::{Deserialize, Serialize};

use super::ThrottleSpec;

const MIB: u64 = 1 << 20;

/// The limits to put on one device; `None` = unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Limits {
    pub write_iops: Option<u64>,
    pub write_bps: Option<u64>,
    pub read_iops: Option<u64>,
    pub read_bps: Option<u64>,
}

impl Limits {
    /// True when no limit is set.
    pub fn is_empty(&self) -> bool {
        *self == Limits::default()
    }
}

/// A named volume class: the limits a cloud provider puts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    pub name: &'static str,
    pub limits: Limits,
}

const fn both(iops: u64, bps: u64) -> Limits {
    Limits {
        write_iops: Some(iops),
        write_bps: Some(bps),
        read_iops: Some(iops),
        read_bps: Some(bps),
    }
}

/// The volume classes `profile:` accepts. Providers' IOPS limits are
/// usually shared by reads and writes; a cgroup limits each direction on
/// its own, so each direction gets the whole figure (a mixed workload gets
/// up to twice the provider's total).
pub const PROFILES: &[Profile] = &[
    // AWS EBS gp3 baseline, any size: 3,000 IOPS and 125 MiB/s included
    // (docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html).
    Profile {
        name: "gp3-baseline",
        limits: both(3000, 125 * MIB),
    },
    // AWS EBS gp2: 3 IOPS per GiB (minimum 100), so 300 IOPS at 100 GiB;
    // throughput 128 MiB/s for volumes of 170 GiB or less (same page).
    Profile {
        name: "gp2-100gib",
        limits: both(300, 128 * MIB),
    },
    // GCP pd-standard, 500 GiB: 0.75 IOPS per GiB = 375 IOPS and
    // 0.12 MiB/s per GiB = 60 MiB/s (cloud.google.com/compute/docs/disks/performance).
    Profile {
        name: "pd-standard-500gib",
        limits: both(375, 60 * MIB),
    },
    // Azure Premium SSD P10 (128 GiB): 500 IOPS, 100 MB/s provisioned
    // (learn.microsoft.com/azure/virtual-machines/disks-types#premium-ssds);
    // taken as 100 MiB/s.
    Profile {
        name: "azure-p10",
        limits: both(500, 100 * MIB),
    },
];

/// The profile of this name.
pub fn profile(name: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.name == name)
}

/// Every profile name, for messages and "did you mean".
pub fn profile_names() -> Vec<&'static str> {
    PROFILES.iter().map(|p| p.name).collect()
}

/// The limits a checked spec asks for: the profile's, with every explicit
/// limit overriding the profile's value for that key.
pub fn resolve(spec: &ThrottleSpec) -> Limits {
    let base = spec
        .profile
        .as_deref()
        .and_then(profile)
        .map(|p| p.limits)
        .unwrap_or_default();
    Limits {
        write_iops: spec.write_iops.or(base.write_iops),
        write_bps: spec.write_bps.or(base.write_bps),
        read_iops: spec.read_iops.or(base.read_iops),
        read_bps: spec.read_bps.or(base.read_bps),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_and_overrides() {
        let spec = ThrottleSpec {
            profile: Some("gp3-baseline".into()),
            write_iops: Some(100),
            ..ThrottleSpec::default()
        };
        let l = resolve(&spec);
        assert_eq!(l.write_iops, Some(100));
        assert_eq!(l.write_bps, Some(125 * MIB));
        assert_eq!(l.read_iops, Some(3000));
        let only = resolve(&ThrottleSpec {
            write_bps: Some(MIB),
            ..ThrottleSpec::default()
        });
        assert_eq!(
            only,
            Limits {
                write_bps: Some(MIB),
                ..Limits::default()
            }
        );
        assert_eq!(
            profile("pd-standard-500gib").unwrap().limits.write_iops,
            Some(375)
        );
        assert_eq!(
            profile("pd-standard-500gib").unwrap().limits.write_bps,
            Some(60 * MIB)
        );
        assert_eq!(profile("gp2-100gib").unwrap().limits.write_iops, Some(300));
        assert_eq!(
            profile("azure-p10").unwrap().limits.write_bps,
            Some(100 * MIB)
        );
        assert_eq!(profile_names().len(), PROFILES.len());
    }
}
