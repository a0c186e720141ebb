//! What a plan will take from the machine, worked out from the scenario
//! alone: how long it runs, and the most disk, inodes, memory, threads and
//! open files it holds at once. `validate` prints it; `run` holds it
//! against the machine before anything is written (see
//! [`shortfalls`]), so that no scenario that passes can exhaust the node.
//!
//! Cells run one at a time and each provisions a fresh target that is torn
//! down after it, so the peak is the largest cell — plus every `reuse`
//! target, which stays until the end.
//!
//! Memory here is what tmpfs mounts may hold. wpbench's own memory is
//! not in it because it does not grow with the scenario's sizes: files
//! made before the clock starts (lower layers, read sets, copy-up files,
//! preallocated logs) are written a megabyte at a time from one reused
//! buffer (`workload::payload::CHUNK`), whatever `file_size` says, so a
//! worker thread holds a few MiB (its payload pool, that buffer, a read
//! buffer of at most 1 MiB) — which the memory reserve
//! ([`memory_reserve`], at least 512 MiB) covers.
//!
//! Pure: no system access. What depends on the machine (the size of a
//! tmpfs left at its default of half the RAM) is carried as such and
//! resolved by [`shortfalls`].

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::plan::Plan;
use super::units::{format_duration, format_size, plural};
use super::workloads::CellShape;
use super::{FaultKind, Scenario, Stop, TargetKind, TargetSpec, WorkloadSpec};

/// A block of the filesystems wpbench writes to: a file takes whole blocks.
const BLOCK: u64 = 4096;
/// The default size of ext4, xfs and an overlay's block upper (`blockfs::DEFAULT_SIZE`).
pub const DEFAULT_BLOCK_FS_SIZE: u64 = 1 << 30;
/// Room a thin pool keeps for tmpfs's own bookkeeping (`thinpool::SLACK`).
const THIN_POOL_SLACK: u64 = 4 << 20;
/// Open files a run keeps besides its workers' (result files, interval
/// logs, the target's descriptors, the guardian pipe).
const OTHER_FILES: u64 = 256;
/// What the run directory takes per cell: result.json's share, an
/// interval log, charts as SVG and PNG, their share of report.html.
const OUTPUT_PER_CELL: u64 = 1 << 20;
const OUTPUT_FIXED: u64 = 4 << 20;
/// An interval log's line: one op's histogram over one interval, V2
/// deflate in base64 (about 0.6 KiB measured here).
const HLOG_LINE: u64 = 640;
/// Lines per interval: the ops a workload records, at most about this many.
const HLOG_OPS: u64 = 8;

/// Disk the plan holds at its peak on one filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Space {
    pub bytes: u64,
    pub inodes: u64,
}

impl Space {
    fn add(self, o: Space) -> Space {
        Space {
            bytes: self.bytes.saturating_add(o.bytes),
            inodes: self.inodes.saturating_add(o.inodes),
        }
    }
    fn max(self, o: Space) -> Space {
        Space {
            bytes: self.bytes.max(o.bytes),
            inodes: self.inodes.max(o.inodes),
        }
    }
}

/// Memory tmpfs mounts (targets, overlay uppers, thin pools) may fill:
/// `bytes`, plus `half_ram` tmpfs mounts left at the kernel's default
/// size (half the RAM each) whose workload has no bound of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Memory {
    pub bytes: u64,
    pub half_ram: u32,
}

impl Memory {
    fn add(self, o: Memory) -> Memory {
        Memory {
            bytes: self.bytes.saturating_add(o.bytes),
            half_ram: self.half_ram + o.half_ram,
        }
    }
    /// Bytes, with each default-size tmpfs at half of `ram`.
    pub fn resolve(self, ram: u64) -> u64 {
        self.bytes
            .saturating_add(u64::from(self.half_ram).saturating_mul(ram / 2))
    }
}

/// The plan's memory at its peak: every `reuse` target's, plus the largest
/// of the others' (which one is largest can depend on the RAM, so all are
/// kept).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct MemoryPeak {
    pub reused: Memory,
    pub one_at_a_time: Vec<Memory>,
}

impl MemoryPeak {
    /// The peak on a machine with `ram` bytes of RAM.
    pub fn resolve(&self, ram: u64) -> u64 {
        let largest = self
            .one_at_a_time
            .iter()
            .map(|m| m.resolve(ram))
            .max()
            .unwrap_or(0);
        self.reused.resolve(ram).saturating_add(largest)
    }

    /// The most fixed bytes at once, and how many default-size tmpfs may
    /// be mounted at once, for a plan printed without a machine.
    fn describe(&self) -> Memory {
        let fixed = self
            .one_at_a_time
            .iter()
            .map(|m| m.bytes)
            .max()
            .unwrap_or(0);
        let half = self
            .one_at_a_time
            .iter()
            .map(|m| m.half_ram)
            .max()
            .unwrap_or(0);
        self.reused.add(Memory {
            bytes: fixed,
            half_ram: half,
        })
    }
}

/// What one hostPath target (or a volume, emptydir or rootfs given a
/// directory) may write into the filesystem under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostSpace {
    pub target: String,
    pub kind: TargetKind,
    pub path: PathBuf,
    /// Kept for the whole run (`reuse: true`): adds to the others.
    pub reuse: bool,
    /// None: no bound but the cell's time (wpbench stops the cell when the
    /// filesystem runs low; see `engine`).
    pub bytes: Option<u64>,
    pub inodes: Option<u64>,
}

impl HostSpace {
    /// `hostPath`, or the kind of storage given with `--volume`.
    fn label(&self) -> &'static str {
        match self.kind {
            TargetKind::Hostpath => "hostPath",
            kind => kind.as_str(),
        }
    }
}

/// The wall time of a plan, roughly.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WallTime {
    /// Setup, warm-up, measured phases and teardown of every cell and
    /// crash trial, in seconds.
    pub seconds: f64,
    /// Cells that end after a number of ops (`ops:`): their measured
    /// phase is not in `seconds`.
    pub ops_bound_cells: u64,
}

/// What a plan needs, at its peak.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub cells: u64,
    /// Cell runs, counting each crash trial (each on a fresh target).
    pub runs: u64,
    pub wall: WallTime,
    /// On the scratch filesystem: loop images, lower layers.
    pub scratch: Space,
    /// tmpfs mounts (targets, overlay uppers, thin pools).
    pub memory: MemoryPeak,
    pub hostpaths: Vec<HostSpace>,
    /// Worker threads at once (plus a noisy neighbour's).
    pub threads: u32,
    pub open_files: u64,
    /// The run directory (`--out`).
    pub output_bytes: u64,
}

/// What the plan will take, from the scenario alone.
pub fn estimate(s: &Scenario, plan: &Plan) -> Estimate {
    let cells = plan.len() as u64;
    let mut runs = 0u64;
    let mut seconds = 0.0;
    let mut ops_bound_cells = 0u64;
    let mut hlogs = 0u64;
    for &(t, w) in plan.pairs() {
        let (target, work) = (&s.targets[t], &s.workloads[w]);
        let trials = crash_trials(s, target, work);
        let per_run = setup_seconds(target, work)
            + measured_seconds(s, work).unwrap_or(0.0)
            + f64::from(crash_states(s, target, work)) * SECONDS_PER_STATE;
        let these = u64::from(trials) * u64::from(plan.repeat());
        runs += these;
        hlogs = hlogs.saturating_add(these.saturating_mul(hlog_bytes(s)));
        seconds += per_run * f64::from(trials) * f64::from(plan.repeat());
        if matches!(s.stop, Stop::Ops(_)) {
            ops_bound_cells += u64::from(plan.repeat());
        }
    }

    // Per target: the largest of its workloads' footprints (one cell at a time).
    let mut scratch_reuse = Space::default();
    let mut scratch_peak = Space::default();
    let mut memory_reuse = Memory::default();
    let mut one_at_a_time: Vec<Memory> = Vec::new();
    let mut hostpaths = Vec::new();
    for t in plan.targets() {
        let target = &s.targets[t];
        let works: Vec<&WorkloadSpec> = plan
            .pairs()
            .iter()
            .filter(|&&(pt, _)| pt == t)
            .map(|&(_, w)| &s.workloads[w])
            .collect();
        let thin = s.faults.iter().any(|f| {
            f.kind == FaultKind::Eio
                && target.selected_by(&f.target)
                && works.iter().any(|w| w.selected_by(&f.workload))
        });
        let written = works
            .iter()
            .map(|w| written_bound(w, s, target))
            .try_fold(Space::default(), |acc, b| Some(acc.max(b?)));
        let fp = footprint(target, written, thin);
        if target.reuse {
            scratch_reuse = scratch_reuse.add(fp.scratch);
            memory_reuse = memory_reuse.add(fp.memory);
        } else {
            scratch_peak = scratch_peak.max(fp.scratch);
            one_at_a_time.push(fp.memory);
        }
        if target.kind.is_existing_storage() && target.path().is_some() {
            hostpaths.push(HostSpace {
                target: target.name.clone(),
                kind: target.kind,
                path: target.path().map(|p| p.to_path_buf()).unwrap_or_default(),
                reuse: target.reuse,
                bytes: written.map(|w| w.bytes),
                inodes: written.map(|w| w.inodes),
            });
        }
    }
    one_at_a_time.retain(|m| *m != Memory::default());

    let threads = plan
        .pairs()
        .iter()
        .map(|&(_, w)| s.workloads[w].threads)
        .max()
        .unwrap_or(0)
        + u32::from(s.faults.iter().any(|f| f.kind == FaultKind::NoisyNeighbor));
    let open_files = plan
        .pairs()
        .iter()
        .map(|&(_, w)| open_files(&s.workloads[w]))
        .max()
        .unwrap_or(0)
        .saturating_add(OTHER_FILES);
    Estimate {
        cells,
        runs,
        wall: WallTime {
            seconds,
            ops_bound_cells,
        },
        scratch: scratch_reuse.add(scratch_peak),
        memory: MemoryPeak {
            reused: memory_reuse,
            one_at_a_time,
        },
        hostpaths,
        threads,
        open_files,
        output_bytes: OUTPUT_FIXED
            .saturating_add(cells.saturating_mul(OUTPUT_PER_CELL))
            .saturating_add(hlogs),
    }
}

/// One cell run's interval log, beyond what [`OUTPUT_PER_CELL`] holds: a
/// line per op and interval of the measured phase (`interval:` short and
/// `duration:` long make it large). Unknown for op-bound cells.
fn hlog_bytes(s: &Scenario) -> u64 {
    let Some(d) = s.stop.duration() else {
        return 0;
    };
    let intervals = d.as_nanos().div_ceil(s.cell_interval().as_nanos().max(1));
    let intervals = u64::try_from(intervals).unwrap_or(u64::MAX);
    intervals
        .saturating_mul(HLOG_OPS * HLOG_LINE)
        .saturating_sub(OUTPUT_PER_CELL / 2)
}

/// Building, mounting and verifying one crash state (`power_loss` with
/// `states`), measured here: 0.05–0.25 s.
const SECONDS_PER_STATE: f64 = 0.2;

/// Crash states each trial of a cell of `target` × `work` explores.
fn crash_states(s: &Scenario, target: &TargetSpec, work: &WorkloadSpec) -> u32 {
    s.faults
        .iter()
        .find(|f| f.kind.is_cut() && target.selected_by(&f.target) && work.selected_by(&f.workload))
        .and_then(|f| f.power_loss())
        .and_then(|p| p.states)
        .unwrap_or(0)
}

/// Crash trials of a cell of `target` × `work` (1 when none applies).
fn crash_trials(s: &Scenario, target: &TargetSpec, work: &WorkloadSpec) -> u32 {
    s.faults
        .iter()
        .find(|f| f.kind.is_cut() && target.selected_by(&f.target) && work.selected_by(&f.workload))
        .map_or(1, |f| f.trials.max(1))
}

/// Warm-up plus measured phase of one run of a cell, in seconds; None when
/// the cell ends after a number of ops.
fn measured_seconds(s: &Scenario, work: &WorkloadSpec) -> Option<f64> {
    let warmup = if work.kind.cold_start() {
        Duration::ZERO
    } else {
        s.warmup
    };
    match s.stop {
        Stop::Duration(d) => Some((warmup + d).as_secs_f64()),
        Stop::Ops(_) => None,
    }
}

/// Making and removing a target and the files a workload needs before its
/// clock starts: rough figures measured on a 2-core VM (mkfs of 1 GiB in
/// about 20–40 ms; a small file in tens of microseconds).
fn setup_seconds(target: &TargetSpec, work: &WorkloadSpec) -> f64 {
    const PER_FILE: f64 = 100e-6;
    const BYTES_PER_SECOND: f64 = 500e6;
    let fs = |kind: TargetKind, size: Option<u64>| match kind {
        TargetKind::Ext4 | TargetKind::Xfs => {
            0.05 + size.unwrap_or(DEFAULT_BLOCK_FS_SIZE) as f64 / (50u64 << 30) as f64
        }
        _ => 0.01,
    };
    let mut t = 0.1 + fs(target.kind, target.size());
    if let Some(up) = target.upper() {
        t += fs(up.kind, up.size);
    }
    if let Some(l) = target.lower() {
        t += l.files as f64 * PER_FILE
            + (l.files as f64 * l.file_size.max as f64) / BYTES_PER_SECOND;
    }
    let (files, size) = prepared_files(work, target);
    t + files as f64 * PER_FILE + files as f64 * size as f64 / BYTES_PER_SECOND
}

/// Files a workload writes before its clock starts, and their largest size.
fn prepared_files(work: &WorkloadSpec, target: &TargetSpec) -> (u64, u64) {
    work.params
        .before_clock(&CellShape::of(work, None, target))
        .map_or((0, 0), |b| {
            (u64::try_from(b.files).unwrap_or(u64::MAX), b.size.max)
        })
}

/// Bytes a file of up to `size` bytes takes on disk, in whole blocks.
fn blocks(size: u64) -> u64 {
    size.div_ceil(BLOCK).saturating_mul(BLOCK)
}

/// The most a workload can have written into its target at once, or None
/// when only the cell's time bounds it (a duration-bound small_files
/// cell writes as many files as it can).
fn written_bound(work: &WorkloadSpec, s: &Scenario, target: &TargetSpec) -> Option<Space> {
    // A count-bound cell without warm-up makes exactly that many unit ops.
    let unit_ops = match s.stop {
        Stop::Ops(n) if s.warmup.is_zero() || work.kind.cold_start() => Some(n),
        _ => None,
    };
    let w = work
        .params
        .most_written(&CellShape::of(work, unit_ops, target))?;
    Some(Space {
        bytes: w.files.saturating_mul(blocks(w.file_size)),
        inodes: w.files.saturating_add(w.more_inodes),
    })
}

/// What one target holds while a cell runs on it; `written` is the most
/// its workloads can write (None: unbounded but for the target's size).
struct Footprint {
    scratch: Space,
    memory: Memory,
}

fn footprint(target: &TargetSpec, written: Option<Space>, thin: bool) -> Footprint {
    let mut fp = Footprint {
        scratch: Space::default(),
        memory: Memory::default(),
    };
    let mut filesystem = |kind: TargetKind, size: Option<u64>, options: &[String]| match kind {
        TargetKind::Tmpfs => {
            let size = size.or_else(|| tmpfs_size_option(options));
            fp.memory = fp.memory.add(match (size, written) {
                (Some(size), Some(w)) => Memory {
                    bytes: size.min(w.bytes),
                    half_ram: 0,
                },
                (Some(size), None) => Memory {
                    bytes: size,
                    half_ram: 0,
                },
                (None, Some(w)) => Memory {
                    bytes: w.bytes,
                    half_ram: 0,
                },
                (None, None) => Memory {
                    bytes: 0,
                    half_ram: 1,
                },
            });
        }
        TargetKind::Ext4 | TargetKind::Xfs => {
            // A sparse image fills up to its size.
            let size = size.unwrap_or(DEFAULT_BLOCK_FS_SIZE);
            if thin {
                fp.memory = fp.memory.add(Memory {
                    bytes: size.saturating_add(THIN_POOL_SLACK),
                    half_ram: 0,
                });
            } else {
                fp.scratch = fp.scratch.add(Space {
                    bytes: size,
                    inodes: 2,
                });
            }
        }
        TargetKind::Overlay
        | TargetKind::Hostpath
        | TargetKind::Volume
        | TargetKind::Emptydir
        | TargetKind::Rootfs => {}
    };
    match target.kind {
        TargetKind::Overlay => {
            if let Some(up) = target.upper() {
                filesystem(up.kind, up.size, &up.options);
            }
            if let Some(l) = target.lower() {
                let layers = u64::from(l.layers.max(1));
                fp.scratch = fp.scratch.add(Space {
                    bytes: l.files.saturating_mul(blocks(l.file_size.max)),
                    inodes: l
                        .files
                        .saturating_add(l.dirs.max(1).saturating_mul(layers))
                        .saturating_add(layers),
                });
            }
        }
        // A rootfs not given a directory works in the scratch area.
        TargetKind::Rootfs if target.path().is_none() => {
            fp.scratch = fp.scratch.add(written.unwrap_or_default());
        }
        kind => filesystem(kind, target.size(), &target.options),
    }
    fp
}

/// A tmpfs `size=` option in bytes (`size=512m`), when it is absolute; a
/// percentage of the RAM is left to the kernel's reading (None).
fn tmpfs_size_option(options: &[String]) -> Option<u64> {
    let v = options.iter().find_map(|o| o.strip_prefix("size="))?;
    let (digits, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len()));
    let n: u64 = digits.parse().ok()?;
    let shift = match unit {
        "" => 0,
        "k" | "K" => 10,
        "m" | "M" => 20,
        "g" | "G" => 30,
        "t" | "T" => 40,
        _ => return None,
    };
    n.checked_mul(1 << shift)
}

/// Descriptors one cell of `work` keeps open at once.
fn open_files(work: &WorkloadSpec) -> u64 {
    u64::from(work.threads).saturating_mul(work.params.open_files_per_thread())
}

/// The machine, as far as a plan's needs go (read by the engine).
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    pub ram: u64,
    pub mem_available: u64,
    /// RLIMIT_NOFILE's hard limit (None: unlimited).
    pub nofile_hard: Option<u64>,
    /// The scratch root's filesystem.
    pub scratch: FsRoom,
    /// The run directory's filesystem.
    pub output: FsRoom,
    /// Each hostPath target's filesystem, by target name.
    pub hostpaths: Vec<(String, FsRoom)>,
}

/// Free room on one filesystem.
#[derive(Debug, Clone, PartialEq)]
pub struct FsRoom {
    /// The directory asked about (or its nearest existing ancestor).
    pub path: PathBuf,
    /// The filesystem's device number, to add up needs that share it.
    pub dev: u64,
    pub total_bytes: u64,
    pub free_bytes: u64,
    pub free_inodes: u64,
}

impl FsRoom {
    /// What wpbench leaves free on this filesystem (see [`reserve`]).
    pub fn reserve(&self) -> u64 {
        reserve(self.total_bytes)
    }
}

/// What wpbench leaves free on a filesystem of `total_bytes` it writes to:
/// 5 % of it, at least 256 MiB (or a tenth of a small filesystem) and at
/// most 4 GiB — a node must keep running.
pub fn reserve(total_bytes: u64) -> u64 {
    let floor = (256u64 << 20).min(total_bytes / 10);
    (total_bytes / 20).clamp(floor, 4 << 30)
}

/// What wpbench leaves of the machine's memory: 10 % of it, at least 512 MiB.
pub fn memory_reserve(ram: u64) -> u64 {
    (ram / 10).max(512 << 20)
}

/// Every need of `e` that `m` cannot meet, as sentences naming what is
/// needed, what is free and what to change. Empty when the plan fits.
pub fn shortfalls(e: &Estimate, m: &Machine) -> Vec<String> {
    let mut out = Vec::new();
    // Needs on the same filesystem add up.
    let mut on_dev: Vec<(&FsRoom, Space, Vec<String>)> = Vec::new();
    if e.scratch != Space::default() {
        add_need(
            &mut on_dev,
            &m.scratch,
            e.scratch,
            "loop images and lower layers in the scratch area".into(),
        );
    }
    add_need(
        &mut on_dev,
        &m.output,
        Space {
            bytes: e.output_bytes,
            inodes: e.cells.saturating_mul(4),
        },
        "the run directory".into(),
    );
    // hostPaths: reused ones add up, the others are one at a time.
    let mut host_peak: Vec<(&FsRoom, Space, Space, Vec<String>)> = Vec::new();
    for h in &e.hostpaths {
        let (Some(bytes), Some(inodes)) = (h.bytes, h.inodes) else {
            continue; // Unbounded: the engine stops the cell when room runs low.
        };
        let Some((_, fs)) = m.hostpaths.iter().find(|(t, _)| *t == h.target) else {
            continue;
        };
        let space = Space { bytes, inodes };
        let label = format!("{} target {} ({})", h.label(), h.target, h.path.display());
        match host_peak.iter_mut().find(|(r, ..)| r.dev == fs.dev) {
            Some((_, reused, peak, labels)) => {
                if h.reuse {
                    *reused = reused.add(space);
                } else {
                    *peak = peak.max(space);
                }
                labels.push(label);
            }
            None => host_peak.push((
                fs,
                if h.reuse { space } else { Space::default() },
                if h.reuse { Space::default() } else { space },
                vec![label],
            )),
        }
    }
    for (fs, reused, peak, labels) in host_peak {
        add_need(&mut on_dev, fs, reused.add(peak), labels.join(", "));
    }
    for (fs, space, what) in on_dev {
        let room = fs.free_bytes.saturating_sub(fs.reserve());
        if space.bytes > room {
            out.push(format!(
                "{}: up to {} needed on the filesystem of {}, which has {} free; wpbench keeps {} \
                 of it free, so {} are usable — free some space, give the targets smaller \
                 `size:`, fewer or smaller lower files, or another --scratch / --out",
                what.join(" and "),
                format_size(space.bytes),
                fs.path.display(),
                format_size(fs.free_bytes),
                format_size(fs.reserve()),
                format_size(room)
            ));
        }
        let inode_room = fs.free_inodes.saturating_sub(fs.free_inodes / 20);
        if fs.free_inodes > 0 && space.inodes > inode_room {
            out.push(format!(
                "{}: up to {} inodes needed on the filesystem of {}, which has {} free (wpbench \
                 keeps 5 % of them free) — use fewer files",
                what.join(" and "),
                space.inodes,
                fs.path.display(),
                fs.free_inodes
            ));
        }
    }
    let memory = e.memory.resolve(m.ram);
    let mem_room = m.mem_available.saturating_sub(memory_reserve(m.ram));
    if memory > mem_room {
        out.push(format!(
            "tmpfs mounts may hold up to {}{}, and {} of memory is available (wpbench keeps {} \
             free) — give tmpfs targets and uppers a smaller `size:`",
            format_size(memory),
            if e.memory.describe().half_ram > 0 {
                " (a tmpfs without `size:` counted at the kernel's default, half the RAM)"
                    .to_string()
            } else {
                String::new()
            },
            format_size(m.mem_available),
            format_size(memory_reserve(m.ram))
        ));
    }
    if let Some(hard) = m.nofile_hard.filter(|&h| e.open_files > h) {
        out.push(format!(
            "up to {} open files are needed and the hard limit (RLIMIT_NOFILE) is {hard}; raise \
             it (ulimit -Hn, LimitNOFILE=) or use fewer threads or open_tasks",
            e.open_files
        ));
    }
    out
}

fn inodes(n: u64) -> String {
    format!("{n} inode{}", if n == 1 { "" } else { "s" })
}

/// Adds `space` for `what` to the need on `fs`'s filesystem.
fn add_need<'a>(
    on_dev: &mut Vec<(&'a FsRoom, Space, Vec<String>)>,
    fs: &'a FsRoom,
    space: Space,
    what: String,
) {
    match on_dev.iter_mut().find(|(r, _, _)| r.dev == fs.dev) {
        Some((_, s, w)) => {
            *s = s.add(space);
            w.push(what);
        }
        None => on_dev.push((fs, space, vec![what])),
    }
}

impl Estimate {
    /// The plan in a few lines, for `validate`.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let time = format_duration(Duration::from_secs_f64(self.wall.seconds.max(0.0)));
        lines.push(format!(
            "time      ≈ {time} for {}{}",
            plural(self.runs, "cell run", "cell runs"),
            match self.wall.ops_bound_cells {
                0 => String::new(),
                n => format!(
                    ", plus the measured phases of {} that end after `ops:`",
                    plural(n, "cell", "cells")
                ),
            }
        ));
        if self.scratch != Space::default() {
            lines.push(format!(
                "scratch   up to {} and {} (loop images, lower layers)",
                format_size(self.scratch.bytes),
                inodes(self.scratch.inodes)
            ));
        }
        let shown = self.memory.describe();
        if shown != Memory::default() {
            let mut memory = format!("up to {}", format_size(shown.bytes));
            if shown.half_ram > 0 {
                memory = format!(
                    "{}half the RAM for {} without `size:`",
                    if shown.bytes > 0 {
                        format!("{memory} + ")
                    } else {
                        "up to ".into()
                    },
                    match shown.half_ram {
                        1 => "a tmpfs".to_string(),
                        n => format!("each of {n} tmpfs"),
                    }
                );
            }
            lines.push(format!("memory    {memory} (tmpfs)"));
        }
        for h in &self.hostpaths {
            lines.push(match (h.bytes, h.inodes) {
                (Some(b), Some(i)) => format!(
                    "{:<9} {} ({}): up to {} and {}",
                    h.label(),
                    h.target,
                    h.path.display(),
                    format_size(b),
                    inodes(i)
                ),
                _ => format!(
                    "{:<9} {} ({}): as much as the workload writes in its time; the cell \
                     stops if the filesystem runs low",
                    h.label(),
                    h.target,
                    h.path.display()
                ),
            });
        }
        lines.push(format!(
            "threads   {} at once; open files up to {}",
            self.threads, self.open_files
        ));
        lines.push(format!(
            "output    about {} in the run directory",
            format_size(self.output_bytes)
        ));
        lines
    }
}

#[cfg(test)]
mod tests;
