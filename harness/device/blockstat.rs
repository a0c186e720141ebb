//! Block-device counters: how many bytes, write I/Os and flushes reached the
//! device under a target during a cell.
//!
//! The counters come from `/sys/dev/block/MAJ:MIN/stat` (see the kernel's
//! Documentation/block/stat.rst), read before and after the measured phase;
//! the difference divided by the payload the workload wrote is the write
//! amplification. Filesystems without a block device of their own (tmpfs,
//! overlay, btrfs subvolumes with anonymous `st_dev`) have no counters.
//!
//! A device shared with the rest of the host (a hostPath's disk) is
//! counted as measured, but its counters include every other writer's
//! bytes: they are not *attributable* to the cell, so it has no write
//! amplification.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(from = "DeviceRecord")]
pub struct DeviceStats {
    pub name: String,
    pub bytes_written: u64,
    pub write_ios: u64,
    pub flushes: u64,
    /// Device bytes ÷ payload bytes; None when the workload wrote nothing
    /// or the counters are not attributable to the cell.
    pub write_amplification: Option<f64>,
    /// True when other processes write to the same device (hostPath).
    pub shared: bool,
    /// Whether the counters are the cell's own. False for a device shared
    /// with the rest of the host: the counters are kept as measured, but
    /// no write amplification is derived, drawn, printed or gated.
    pub attributable: bool,
}

/// [`DeviceStats`] as stored, for reading result.json files written
/// before `attributable` existed: then it follows from `shared`.
#[derive(Deserialize)]
struct DeviceRecord {
    name: String,
    bytes_written: u64,
    write_ios: u64,
    flushes: u64,
    #[serde(default)]
    write_amplification: Option<f64>,
    shared: bool,
    #[serde(default)]
    attributable: Option<bool>,
}

impl From<DeviceRecord> for DeviceStats {
    fn from(r: DeviceRecord) -> DeviceStats {
        let attributable = r.attributable.unwrap_or(!r.shared);
        DeviceStats {
            name: r.name,
            bytes_written: r.bytes_written,
            write_ios: r.write_ios,
            flushes: r.flushes,
            // An older file's figure for a shared device is not kept.
            write_amplification: r.write_amplification.filter(|_| attributable),
            shared: r.shared,
            attributable,
        }
    }
}

impl DeviceStats {
    /// Counters of `name` for a cell whose workload wrote `payload` bytes:
    /// write amplification only when there is a payload and the device is
    /// not shared with the host.
    pub fn measured(
        name: &str,
        (bytes_written, write_ios, flushes): (u64, u64, u64),
        payload: u64,
        shared: bool,
    ) -> DeviceStats {
        let attributable = !shared;
        DeviceStats {
            name: name.to_string(),
            bytes_written,
            write_ios,
            flushes,
            write_amplification: (attributable && payload > 0)
                .then(|| bytes_written as f64 / payload as f64),
            shared,
            attributable,
        }
    }
}

/// The kernel's block-layer sector: always 512 bytes, whatever the device's
/// logical block size.
pub const SECTOR_BYTES: u64 = 512;

/// The write-side counters of one block device (cumulative since boot, or a
/// difference of two readings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DiskStat {
    pub sectors_written: u64,
    pub write_ios: u64,
    /// Flush requests; 0 on kernels older than 5.5, which do not count them.
    pub flushes: u64,
}

impl DiskStat {
    /// `self - earlier`, field by field, never below 0 (a counter reset or a
    /// device swapped between readings gives 0, not a wrap-around).
    pub fn delta(&self, earlier: &DiskStat) -> DiskStat {
        DiskStat {
            sectors_written: self.sectors_written.saturating_sub(earlier.sectors_written),
            write_ios: self.write_ios.saturating_sub(earlier.write_ios),
            flushes: self.flushes.saturating_sub(earlier.flushes),
        }
    }

    pub fn bytes_written(&self) -> u64 {
        self.sectors_written.saturating_mul(SECTOR_BYTES)
    }
}

// Field positions in the stat file (0-based).
const WRITE_IOS: usize = 4;
const WRITE_SECTORS: usize = 6;
const FLUSH_IOS: usize = 15;

/// Parses the text of a block device's `stat` file: 11 fields (before 4.18),
/// 15 (with discards) or 17 (with flushes, 5.5+). None when it is not one.
pub fn parse_stat(text: &str) -> Option<DiskStat> {
    let fields: Vec<u64> = text
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    if fields.len() < 11 {
        return None;
    }
    Some(DiskStat {
        sectors_written: fields[WRITE_SECTORS],
        write_ios: fields[WRITE_IOS],
        flushes: fields.get(FLUSH_IOS).copied().unwrap_or(0),
    })
}

/// A block device (or partition) by kernel name and device number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDev {
    /// The kernel name: "vda", "nvme0n1p2", "loop3".
    pub name: String,
    pub major: u32,
    pub minor: u32,
}

impl BlockDev {
    /// `/sys/dev/block/MAJ:MIN`.
    pub fn sys_dir(&self) -> PathBuf {
        sys_dev_block(self.major, self.minor)
    }
}

fn sys_dev_block(major: u32, minor: u32) -> PathBuf {
    PathBuf::from(format!("/sys/dev/block/{major}:{minor}"))
}

/// The block device holding `p`, from its `st_dev`. None when the path
/// cannot be stat'd or its filesystem has no block device (tmpfs, overlay:
/// their anonymous `0:NN` has no `/sys/dev/block` entry).
pub fn device_of_path(p: &Path) -> Option<BlockDev> {
    let st = rustix::fs::stat(p).ok()?;
    let (major, minor) = (rustix::fs::major(st.st_dev), rustix::fs::minor(st.st_dev));
    let link = std::fs::read_link(sys_dev_block(major, minor)).ok()?;
    let name = link.file_name()?.to_str()?.to_string();
    Some(BlockDev { name, major, minor })
}

/// Reads the device's current counters (works for partitions too).
pub fn read_stat(dev: &BlockDev) -> std::io::Result<DiskStat> {
    let path = dev.sys_dir().join("stat");
    let text = std::fs::read_to_string(&path)?;
    parse_stat(&text).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{}: not a block stat file: {:?}",
                path.display(),
                text.trim()
            ),
        )
    })
}

/// The result record for one cell: what reached `dev` between two readings,
/// and its ratio to the `workload_bytes` the workload handed to write()
/// (None when the workload wrote nothing). `shared` marks a device other
/// processes also write to: its counters are kept, but not attributed to
/// the cell (no write amplification).
pub fn device_stats(
    dev: &BlockDev,
    before: &DiskStat,
    after: &DiskStat,
    workload_bytes: u64,
    shared: bool,
) -> DeviceStats {
    let d = after.delta(before);
    DeviceStats::measured(
        &dev.name,
        (d.bytes_written(), d.write_ios, d.flushes),
        workload_bytes,
        shared,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // A 5.5+ kernel: 17 fields (as printed, with column padding).
    const STAT_17: &str = "   14405     4166  1083098     5765    51207    44393  2374768    83870        0    95212   118219        0        0        0        0    20566    28583\n";
    // A 4.x kernel: 11 fields, no discard or flush counters.
    const STAT_11: &str = "  1000 20 80000 300 2500 70 40960 900 0 1200 1500\n";
    // 4.18..5.4: 15 fields, discards but no flushes.
    const STAT_15: &str = "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n";

    #[test]
    fn parses_all_stat_generations() {
        assert_eq!(
            parse_stat(STAT_17),
            Some(DiskStat {
                sectors_written: 2_374_768,
                write_ios: 51_207,
                flushes: 20_566
            })
        );
        assert_eq!(
            parse_stat(STAT_11),
            Some(DiskStat {
                sectors_written: 40_960,
                write_ios: 2_500,
                flushes: 0
            })
        );
        assert_eq!(
            parse_stat(STAT_15),
            Some(DiskStat {
                sectors_written: 7,
                write_ios: 5,
                flushes: 0
            })
        );
        assert_eq!(parse_stat(STAT_11).unwrap().bytes_written(), 40_960 * 512);
    }

    #[test]
    fn rejects_what_is_not_a_stat_file() {
        assert_eq!(parse_stat(""), None);
        assert_eq!(parse_stat("1 2 3 4 5 6 7 8 9 10"), None);
        assert_eq!(parse_stat("1 2 3 4 5 6 x 8 9 10 11"), None);
        assert_eq!(parse_stat("-1 2 3 4 5 6 7 8 9 10 11"), None);
    }

    #[test]
    fn delta_saturates() {
        let before = DiskStat {
            sectors_written: 100,
            write_ios: 10,
            flushes: 5,
        };
        let after = DiskStat {
            sectors_written: 180,
            write_ios: 9,
            flushes: 7,
        };
        assert_eq!(
            after.delta(&before),
            DiskStat {
                sectors_written: 80,
                write_ios: 0,
                flushes: 2
            }
        );
        assert_eq!(after.delta(&before).bytes_written(), 80 * 512);
    }

    #[test]
    fn device_stats_compute_write_amplification() {
        let dev = BlockDev {
            name: "loop3".into(),
            major: 7,
            minor: 3,
        };
        let before = DiskStat {
            sectors_written: 1_000,
            write_ios: 100,
            flushes: 10,
        };
        let after = DiskStat {
            sectors_written: 1_000 + 45_056,
            write_ios: 5_300,
            flushes: 5_130,
        };
        let s = device_stats(&dev, &before, &after, 20_971_520, false);
        assert_eq!(s.name, "loop3");
        assert_eq!(s.bytes_written, 23_068_672);
        assert_eq!(s.write_ios, 5_200);
        assert_eq!(s.flushes, 5_120);
        assert_eq!(s.write_amplification, Some(1.1));
        assert!(!s.shared && s.attributable);
        let none = device_stats(&dev, &before, &after, 0, false);
        assert_eq!(none.write_amplification, None);
        assert!(none.attributable);
    }

    #[test]
    fn a_shared_device_keeps_its_counters_and_has_no_write_amplification() {
        let dev = BlockDev {
            name: "vda".into(),
            major: 254,
            minor: 0,
        };
        let before = DiskStat::default();
        let after = DiskStat {
            sectors_written: 40_960,
            write_ios: 300,
            flushes: 20,
        };
        let s = device_stats(&dev, &before, &after, 4096, true);
        assert_eq!(
            (s.bytes_written, s.write_ios, s.flushes),
            (40_960 * 512, 300, 20)
        );
        assert!(s.shared && !s.attributable);
        assert_eq!(s.write_amplification, None, "not 5120×");
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["attributable"], false);
        assert!(json["write_amplification"].is_null());
        assert_eq!(json["shared"], true);
        assert_eq!(json["bytes_written"], 40_960 * 512);
        // Read back: the same.
        assert_eq!(serde_json::from_value::<DeviceStats>(json).unwrap(), s);
    }

    #[test]
    fn old_results_without_attributable_derive_it_from_shared() {
        let old = |shared: bool| {
            serde_json::json!({"name": "vda", "bytes_written": 20_971_520, "write_ios": 198,
                               "flushes": 46, "write_amplification": 165.59, "shared": shared})
        };
        let host: DeviceStats = serde_json::from_value(old(true)).unwrap();
        assert!(!host.attributable);
        assert_eq!(host.write_amplification, None, "a shared figure is dropped");
        assert_eq!(host.bytes_written, 20_971_520, "counters kept");
        let own: DeviceStats = serde_json::from_value(old(false)).unwrap();
        assert!(own.attributable);
        assert_eq!(own.write_amplification, Some(165.59));
        // An explicit value wins.
        let mut explicit = old(false);
        explicit["attributable"] = false.into();
        let s: DeviceStats = serde_json::from_value(explicit).unwrap();
        assert!(!s.attributable && s.write_amplification.is_none());
    }

    #[test]
    fn root_device_counters_parse() {
        // / may be an overlay in a container; then try other mounts.
        let found = ["/", "/work", "/tmp", "/var", "/home"]
            .iter()
            .find_map(|p| device_of_path(Path::new(p)));
        let Some(dev) = found else {
            eprintln!("skipped: no block-device filesystem among /, /work, /tmp, /var, /home");
            return;
        };
        assert!(!dev.name.is_empty());
        assert!(!dev.name.contains('/'));
        assert!(dev.major > 0, "{dev:?}");
        let first = read_stat(&dev).expect("stat of a resolved device parses");
        let second = read_stat(&dev).unwrap();
        // Counters only grow.
        assert!(second.sectors_written >= first.sectors_written);
        assert!(second.write_ios >= first.write_ios);
        assert_eq!(
            second.delta(&first).sectors_written,
            second.sectors_written - first.sectors_written
        );
    }

    #[test]
    fn anonymous_and_missing_paths_have_no_device() {
        assert_eq!(device_of_path(Path::new("/nonexistent/wpbench/path")), None);
        // /proc is procfs, always on an anonymous 0:NN device.
        let st = rustix::fs::stat("/proc").unwrap();
        assert_eq!(rustix::fs::major(st.st_dev), 0);
        assert_eq!(device_of_path(Path::new("/proc")), None);
    }
}
