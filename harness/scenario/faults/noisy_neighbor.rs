//! `kind: noisy_neighbor`: another tenant of the disk, a background
//! writer on the same device as the target for the cell.

use serde::Deserialize;

use super::{check_device_targets, positive, FaultCx, FaultParams, Kind};
use crate::scenario::check::{At, Ctx};
use crate::scenario::raw::{Size, SizeRate, U};
use crate::scenario::spec::FaultKind;
use crate::scenario::units::format_size;

/// Where a noisy neighbour writes in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoisyPattern {
    /// Sequentially from the start, wrapping at `file_size`.
    #[default]
    Seq,
    /// At seeded random block-aligned offsets within `file_size`.
    Random,
}

/// A background writer on the same device as the target (another tenant
/// of the disk), started for the cell by the fault room's noisy neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoisySpec {
    /// Bytes per second the neighbour writes (`50MiB/s`), ≥ 1.
    pub write_bps: u64,
    /// fsync the neighbour's file after this many bytes; `None` = never
    /// (the kernel's writeback decides when it reaches the disk).
    pub fsync_every: Option<u64>,
    pub pattern: NoisyPattern,
    /// Size of the neighbour's file, rewritten in place (default 1 GiB).
    pub file_size: u64,
}

impl NoisySpec {
    /// The default `file_size`: 1 GiB.
    pub const DEFAULT_FILE_SIZE: u64 = 1 << 30;
    /// The neighbour's chunks and random offsets are multiples of this.
    pub const BLOCK: usize = 4096;
}

/// The keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    write_bps: Option<U<SizeRate>>,
    fsync_every: Option<U<Size>>,
    pattern: Option<NoisyPattern>,
    file_size: Option<U<Size>>,
}

impl Kind for NoisySpec {
    const KIND: FaultKind = FaultKind::NoisyNeighbor;
    type Raw = Raw;

    /// A rate to write at, sizes of at least a block, and a target with a
    /// device.
    fn check(raw: Raw, cx: &mut Ctx, at: &At, f: &FaultCx) -> NoisySpec {
        let write_bps = match raw.write_bps {
            None => {
                cx.err(
                    &at.key("kind"),
                    "a noisy_neighbor needs `write_bps`, the rate it writes at (e.g. `50MiB/s`)",
                );
                1
            }
            Some(U(r)) => positive(cx, at, "write_bps", Some(r.0)).unwrap_or(1),
        };
        let fsync_every = match raw.fsync_every {
            Some(U(Size(0))) => {
                cx.err(
                    &at.key("fsync_every"),
                    "must be at least 1B (leave it out to never fsync)",
                );
                None
            }
            v => v.map(|U(s)| s.0),
        };
        let file_size = match raw.file_size {
            None => NoisySpec::DEFAULT_FILE_SIZE,
            Some(U(Size(n))) if n < NoisySpec::BLOCK as u64 => {
                cx.err(
                    &at.key("file_size"),
                    format!(
                        "must be at least {} (one block), not {}",
                        format_size(NoisySpec::BLOCK as u64),
                        format_size(n)
                    ),
                );
                NoisySpec::DEFAULT_FILE_SIZE
            }
            Some(U(Size(n))) => n,
        };
        check_device_targets(cx, at, Self::KIND, f);
        NoisySpec {
            write_bps,
            fsync_every,
            pattern: raw.pattern.unwrap_or_default(),
            file_size,
        }
    }
}

impl From<NoisySpec> for FaultParams {
    fn from(p: NoisySpec) -> Self {
        FaultParams::NoisyNeighbor(p)
    }
}
