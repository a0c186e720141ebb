//! `kind: throttle`: a slower volume class, as block-I/O limits on the
//! target's device.

use serde::Deserialize;

use super::{check_device_targets, positive, FaultCx, FaultParams, Kind};
use crate::scenario::check::{At, Ctx};
use crate::scenario::diag;
use crate::scenario::profiles;
use crate::scenario::raw::{SizeRate, U};
use crate::scenario::spec::FaultKind;

/// A block-I/O throttle on the target's device (cgroup v1
/// `blkio.throttle.*` or v2 `io.max` on the loop device's major:minor),
/// emulating a slower volume class. At least one limit or a profile is set;
/// explicit limits override the profile's (see
/// [`crate::scenario::profiles::resolve`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ThrottleSpec {
    /// A named volume class from [`crate::scenario::profiles::PROFILES`]
    /// (`gp3-baseline`, …); checked by the loader.
    pub profile: Option<String>,
    /// Write operations per second, ≥ 1.
    pub write_iops: Option<u64>,
    /// Write bytes per second (`125MiB/s`), ≥ 1.
    pub write_bps: Option<u64>,
    /// Read operations per second, ≥ 1.
    pub read_iops: Option<u64>,
    /// Read bytes per second, ≥ 1.
    pub read_bps: Option<u64>,
}

/// The keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// A named volume class.
    profile: Option<String>,
    write_iops: Option<u64>,
    write_bps: Option<U<SizeRate>>,
    read_iops: Option<u64>,
    read_bps: Option<U<SizeRate>>,
}

impl Kind for ThrottleSpec {
    const KIND: FaultKind = FaultKind::Throttle;
    type Raw = Raw;

    /// A known profile, limits of at least 1, at least one of them, and a
    /// target with a device of its own.
    fn check(raw: Raw, cx: &mut Ctx, at: &At, f: &FaultCx) -> ThrottleSpec {
        let profile = raw.profile.as_deref().and_then(|p| {
            if profiles::profile(p).is_some() {
                Some(p.to_string())
            } else {
                let names = profiles::profile_names();
                cx.err(&at.key("profile"), diag::unknown("profile", p, &names));
                None
            }
        });
        let spec = ThrottleSpec {
            profile,
            write_iops: positive(cx, at, "write_iops", raw.write_iops),
            write_bps: positive(cx, at, "write_bps", raw.write_bps.map(|U(r)| r.0)),
            read_iops: positive(cx, at, "read_iops", raw.read_iops),
            read_bps: positive(cx, at, "read_bps", raw.read_bps.map(|U(r)| r.0)),
        };
        let any_key = raw.profile.is_some()
            || raw.write_iops.is_some()
            || raw.write_bps.is_some()
            || raw.read_iops.is_some()
            || raw.read_bps.is_some();
        if !any_key {
            cx.err(
                &at.key("kind"),
                format!(
                    "a throttle needs at least one limit (write_iops, write_bps, read_iops, read_bps) \
                     or a `profile` ({})",
                    profiles::profile_names().join(", ")
                ),
            );
        }
        check_device_targets(cx, at, Self::KIND, f);
        spec
    }
}

impl From<ThrottleSpec> for FaultParams {
    fn from(p: ThrottleSpec) -> Self {
        FaultParams::Throttle(p)
    }
}
