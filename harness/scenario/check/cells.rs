//! The plan's cells: how many a scenario may have, and what each can
//! record, so that a gate no selected cell can judge is refused at load.

use super::faults::fault_name;
use super::At;
use crate::glob::glob_match;
use crate::record::Op;
use crate::scenario::faults::{device_of, Device};
use crate::scenario::spec::*;

/// The most cells a run may plan: targets × workloads × repeat, after
/// `vary`. Each cell provisions a target and runs for its duration, so
/// this is days of machine time already.
pub const MAX_CELLS: u64 = 100_000;

/// When `targets × workloads × repeat` is more than [`MAX_CELLS`]: the key
/// that made the count explode (`repeat`, or the larger of `targets` and
/// `workloads`) and the message. Counted with checked arithmetic; nothing
/// is materialised, so `repeat: 4000000000` costs nothing.
pub fn too_many_cells(
    targets: usize,
    workloads: usize,
    repeat: u64,
) -> Option<(&'static str, String)> {
    let (t, w) = (targets as u64, workloads as u64);
    let per_repeat = t.checked_mul(w);
    let cells = per_repeat.and_then(|n| n.checked_mul(repeat));
    if cells.is_some_and(|c| c <= MAX_CELLS) {
        return None;
    }
    let key = match per_repeat {
        Some(n) if n <= MAX_CELLS => "repeat",
        _ if t >= w => "targets",
        _ => "workloads",
    };
    let count = match cells {
        Some(c) => c.to_string(),
        None => format!("more than {}", u64::MAX),
    };
    let hint = if key == "repeat" {
        let most = MAX_CELLS / per_repeat.unwrap_or(1).max(1);
        format!("with {t} × {w} cells per repeat, `repeat` can be at most {most}")
    } else {
        format!(
            "fewer `vary` values, or split the scenario (each repeat already has {} cells)",
            per_repeat.map_or_else(|| "too many".to_string(), |n| n.to_string())
        )
    };
    Some((
        key,
        format!(
            "{t} targets × {w} workloads × {repeat} repeats = {count} cells, more than the \
             {MAX_CELLS} a run may have; {hint}"
        ),
    ))
}

/// A set of targets or workloads (by index), for asking which cells a gate
/// selects in time linear in their number.
#[derive(Debug, Clone)]
struct Bits(Vec<u64>);

impl Bits {
    fn of<T>(items: &[T], f: impl Fn(&T) -> bool) -> Bits {
        let mut words = vec![0u64; items.len().div_ceil(64)];
        for (i, item) in items.iter().enumerate() {
            if f(item) {
                words[i / 64] |= 1 << (i % 64);
            }
        }
        Bits(words)
    }

    fn and(&self, other: &Bits) -> Bits {
        Bits(self.0.iter().zip(&other.0).map(|(a, b)| a & b).collect())
    }

    fn any(&self) -> bool {
        self.0.iter().any(|w| *w != 0)
    }

    fn meets(&self, other: &Bits) -> bool {
        self.0.iter().zip(&other.0).any(|(a, b)| a & b != 0)
    }
}

/// The ops a workload may record, from its kind's list
/// ([`WorkloadKind::may_record`]) less those its settings rule out: a
/// writer's sync op follows its `fsync` policy and `sync_call` (none under
/// `never` or with O_DSYNC/O_SYNC; `end` is one syncfs for small_files and
/// log_append), `fsync_dir` only when asked, a sequence's sync ops only
/// from its steps, `.service` twins only with a `rate` (open loop).
fn records(w: &WorkloadSpec) -> Vec<Op> {
    let writes = w.kind.writes();
    let call_op = match w.sync_call {
        SyncCall::Fsync => Some(Op::Fsync),
        SyncCall::Fdatasync => Some(Op::Fdatasync),
        SyncCall::SyncFileRange => Some(Op::SyncFileRange),
        SyncCall::Syncfs => Some(Op::Syncfs),
        SyncCall::ODsync | SyncCall::OSync => None,
    };
    let writer_sync = match w.fsync {
        SyncPolicy::Never => None,
        SyncPolicy::End if writes.end_syncfs => Some(Op::Syncfs),
        _ => call_op,
    };
    let only = w.params.records_only();
    w.kind
        .may_record()
        .iter()
        .copied()
        .filter(|op| match op {
            op if op.is_unit() => true,
            Op::FsyncDir => w.fsync_dir,
            op if op.name().ends_with(".service") => w.rate.is_some(),
            Op::Fsync | Op::Fdatasync | Op::SyncFileRange | Op::Syncfs if writes.sync.is_some() => {
                writer_sync == Some(*op)
            }
            op => only.as_ref().is_none_or(|ops| ops.contains(op)),
        })
        .collect()
}

/// The cells of a plan (every target × every workload) and the faults that
/// apply to them, as `gate::evaluate` will find them in the run's result:
/// what a gate can judge is known before the run.
pub(super) struct Cells<'a> {
    targets: &'a [TargetSpec],
    workloads: &'a [WorkloadSpec],
    faults: &'a [FaultSpec],
    /// Per fault: the targets and workloads it applies to.
    fault_targets: Vec<Bits>,
    fault_workloads: Vec<Bits>,
    /// Targets with device counters of their own: a loop device. (A
    /// hostPath's disk is shared with the rest of the host: its counters
    /// are recorded, but not attributable to a cell.)
    counted: Bits,
    /// hostPath targets: on a disk shared with the rest of the host.
    host: Bits,
    /// Targets on a loop image (where an eio fault acts).
    looped: Bits,
    /// Workloads that write data.
    writing: Bits,
    /// Workloads that keep ledgers under enospc and eio faults (the fault
    /// room verifies small_files and fsync_heavy only).
    verified: Bits,
}

impl<'a> Cells<'a> {
    pub(super) fn new(
        targets: &'a [TargetSpec],
        workloads: &'a [WorkloadSpec],
        faults: &'a [FaultSpec],
    ) -> Cells<'a> {
        Cells {
            targets,
            workloads,
            faults,
            fault_targets: faults
                .iter()
                .map(|f| Bits::of(targets, |t| t.selected_by(&f.target)))
                .collect(),
            fault_workloads: faults
                .iter()
                .map(|f| Bits::of(workloads, |w| w.selected_by(&f.workload)))
                .collect(),
            counted: Bits::of(targets, |t| device_of(t) == Device::Loop),
            host: Bits::of(targets, |t| device_of(t) == Device::Host),
            looped: Bits::of(targets, |t| device_of(t) == Device::Loop),
            writing: Bits::of(workloads, |w| w.params.writes_data()),
            verified: Bits::of(workloads, |w| w.kind.verifiable()),
        }
    }

    /// Cell runs of the plan: each cell once per repeat, and once per
    /// trial of the first crash fault that applies to it (each trial is a
    /// run of its own). When more than [`MAX_CELLS`]: the index of the
    /// crash fault with the most trials, and the message.
    pub(super) fn too_many_runs(&self, repeat: u64) -> Option<(usize, String)> {
        let crashes: Vec<usize> = (0..self.faults.len())
            .filter(|i| self.faults[*i].kind.is_cut())
            .collect();
        let most = crashes
            .iter()
            .copied()
            .max_by_key(|i| self.faults[*i].trials)
            .filter(|i| self.faults[*i].trials > 1)?;
        let words = self.workloads.len().div_ceil(64);
        let mut runs: u128 = 0;
        for ti in 0..self.targets.len() {
            let mut covered = vec![0u64; words];
            runs += self.workloads.len() as u128;
            for &f in &crashes {
                if self.fault_targets[f].0[ti / 64] & (1 << (ti % 64)) == 0 {
                    continue;
                }
                let extra = u128::from(self.faults[f].trials - 1);
                for (c, w) in covered.iter_mut().zip(&self.fault_workloads[f].0) {
                    runs += u128::from((w & !*c).count_ones()) * extra;
                    *c |= w;
                }
            }
        }
        let runs = runs * u128::from(repeat);
        (runs > u128::from(MAX_CELLS)).then(|| {
            (
                most,
                format!(
                    "each crash trial runs its cell again: with the trials of the crash faults, \
                     the plan has {runs} cell runs, more than the {MAX_CELLS} a run may have; \
                     give fewer trials"
                ),
            )
        })
    }

    /// Whether some cell of `ts` × `ws` is one the gate selects: with
    /// `fault:`, one that a fault of a matching kind applies to (the run
    /// records an entry of that kind in it); `each` narrows the fault
    /// further (its targets and workloads, by kind).
    fn some_cell(
        &self,
        ts: &Bits,
        ws: &Bits,
        fault: Option<&str>,
        each: impl Fn(&FaultSpec, &Bits, &Bits) -> bool,
    ) -> bool {
        match fault {
            None => ts.any() && ws.any(),
            Some(g) => self.faults.iter().enumerate().any(|(i, f)| {
                glob_match(g, fault_name(f.kind)) && {
                    let (ft, fw) = (
                        ts.and(&self.fault_targets[i]),
                        ws.and(&self.fault_workloads[i]),
                    );
                    ft.any() && fw.any() && each(f, &ft, &fw)
                }
            }),
        }
    }

    /// Why limits of a gate (`select`, and its limits with their keys) have
    /// nothing to judge in every cell it selects, key by key. Mirrors
    /// `gate::evaluate`: among selected cells those without the figure are
    /// skipped, and only "no selected cell can have it" is a mistake.
    pub(super) fn inapplicable(
        &self,
        at: &At,
        select: &Selector,
        limits: &[(String, Limit)],
    ) -> Vec<(String, String)> {
        let ts = Bits::of(self.targets, |t| {
            select.target.as_deref().is_none_or(|g| t.selected_by(g))
        });
        let ws = Bits::of(self.workloads, |w| {
            select.workload.as_deref().is_none_or(|g| w.selected_by(g))
        });
        if !ts.any() || !ws.any() {
            return Vec::new(); // the glob was reported
        }
        let sel = Selected {
            target_names: listed(&ts, &mut self.targets.iter().map(|t| t.name.as_str())),
            workload_names: listed(&ws, &mut self.workloads.iter().map(|w| w.name.as_str())),
            ts,
            ws,
            fault: select.fault.as_deref(),
        };
        if sel.fault.is_some() && !self.some_cell(&sel.ts, &sel.ws, sel.fault, |_, _, _| true) {
            let g = sel.fault.unwrap_or_default();
            return vec![(
                at.key("select.fault"),
                format!(
                    "selects no cell: no fault of a kind `{g}` matches applies to both a target \
                     ({}) and a workload ({}) this gate selects; \
                     widen the gate's `target`/`workload`, or the fault's",
                    sel.target_names, sel.workload_names
                ),
            )];
        }
        let mut out = Vec::new();
        let op_limits = limits.iter().any(|(_, l)| {
            matches!(
                l,
                Limit::Latency { .. } | Limit::Throughput { .. } | Limit::ErrorRate { .. }
            )
        });
        // An op no workload kind records at all was reported already.
        let known = |op: &str| Op::ALL.iter().any(|o| glob_match(op, o.name()));
        if let (Some(op), true) = (select.op.as_deref().filter(|o| known(o)), op_limits) {
            if let Some(m) = self.unrecorded_op(&sel, op) {
                out.push((at.key("select.op"), m));
            }
        }
        for (key, limit) in limits {
            let why = match limit {
                Limit::WriteAmplification { .. } => self
                    .shared_device(&sel)
                    .or_else(|| self.no_write_amplification(&sel)),
                Limit::AckedLost { .. } => self.no_durability(&sel),
                _ => None,
            };
            if let Some(why) = why {
                out.push((key.clone(), why));
            }
        }
        out
    }

    /// Why no selected cell records `op`, naming what the selected
    /// workloads do record; None when some cell does.
    fn unrecorded_op(&self, sel: &Selected, op: &str) -> Option<String> {
        let recording = Bits::of(self.workloads, |w| {
            records(w).iter().any(|o| glob_match(op, o.name()))
        });
        if self.some_cell(&sel.ts, &sel.ws.and(&recording), sel.fault, |_, _, _| true) {
            return None;
        }
        let mut kinds: Vec<String> = Vec::new();
        for (i, w) in self.workloads.iter().enumerate() {
            if sel.ws.0[i / 64] & (1 << (i % 64)) == 0 {
                continue;
            }
            let ops: Vec<&str> = records(w).iter().map(|o| o.name()).collect();
            let line = format!(
                "`{}` ({}) records {}",
                w.name,
                w.kind.as_str(),
                ops.join(", ")
            );
            if kinds.len() < 3 && !kinds.contains(&line) {
                kinds.push(line);
            }
        }
        Some(format!(
            "`{op}` is an op no workload this gate selects ({}) \
             records, so its limits have nothing to judge: {}",
            sel.workload_names,
            kinds.join("; ")
        ))
    }

    /// Why a write-amplification limit is refused: it selects hostPath
    /// targets, whose disk is shared with the rest of the host (as
    /// `gate::evaluate` refuses it); None when it selects none.
    fn shared_device(&self, sel: &Selected) -> Option<String> {
        let hosts = sel.ts.and(&self.host);
        if !self.some_cell(&hosts, &sel.ws, sel.fault, |_, ft, _| ft.any()) {
            return None;
        }
        Some(format!(
            "selects hostPath target {}, whose device is shared with the rest of the \
             host: its counters include other processes' writes, so write amplification \
             is not attributable to a cell; narrow `select.target` to targets with a \
             device of their own (ext4, xfs, or an overlay on them)",
            listed(&hosts, &mut self.targets.iter().map(|t| t.name.as_str()))
        ))
    }

    /// Why no selected cell can have write amplification (device
    /// counters and data written); None when some cell can.
    fn no_write_amplification(&self, sel: &Selected) -> Option<String> {
        let (ts, ws) = (&sel.ts, &sel.ws);
        let found = self.some_cell(
            &ts.and(&self.counted),
            &ws.and(&self.writing),
            sel.fault,
            |_, _, _| true,
        );
        if found {
            return None;
        }
        Some(if !ts.meets(&self.counted) {
            format!(
                "no cell this gate selects can have write amplification: its \
                 targets ({}) have no block device of their own (tmpfs, \
                 or an overlay on tmpfs), so there are no device counters; select \
                 ext4 or xfs targets, or an overlay on ext4 or xfs",
                sel.target_names
            )
        } else if !ws.meets(&self.writing) {
            format!(
                "no cell this gate selects can have write amplification: its \
                 workloads ({}) write no data to divide the device's \
                 bytes by (read_atime only reads; copy_up writes only with `action: \
                 append`; metadata only with a `file_size` above 0B)",
                sel.workload_names
            )
        } else {
            "no cell this gate selects can have write amplification: the cells \
             its `fault` selects have no block device of their own or write no data"
                .to_string()
        })
    }

    /// Why no selected cell can have a durability verdict (`acked_lost`);
    /// None when some cell can.
    fn no_durability(&self, sel: &Selected) -> Option<String> {
        // A crash verifies every workload; enospc and eio only the ledgers
        // of small_files and fsync_heavy, and eio acts only on a loop image.
        let found = self.some_cell(
            &sel.ts,
            &sel.ws,
            Some(sel.fault.unwrap_or("*")),
            |f, ft, fw| match f.kind {
                FaultKind::Crash | FaultKind::PowerLoss => true,
                FaultKind::Enospc => fw.meets(&self.verified),
                FaultKind::Eio => ft.meets(&self.looped) && fw.meets(&self.verified),
                FaultKind::Throttle | FaultKind::NoisyNeighbor => false,
            },
        );
        if found {
            return None;
        }
        Some(format!(
            "no cell this gate selects ({} × {}{}) can \
             have a durability verdict: `acked_lost` needs a crash fault, or an \
             enospc or eio fault on a small_files or fsync_heavy workload (eio on \
             an ext4 or xfs target), applying to a cell the gate selects; add such \
             a fault, or select the cells one applies to",
            sel.target_names,
            sel.workload_names,
            sel.fault
                .map_or(String::new(), |g| format!(", faults `{g}`"))
        ))
    }
}

/// The cells a gate selects: its targets and workloads (with their names
/// for messages) and its `fault` glob.
struct Selected<'g> {
    ts: Bits,
    ws: Bits,
    fault: Option<&'g str>,
    target_names: String,
    workload_names: String,
}

/// The first three of `names` that are in `bits`, and how many more.
fn listed(bits: &Bits, names: &mut dyn Iterator<Item = &str>) -> String {
    let listed: Vec<&str> = names
        .enumerate()
        .filter(|(i, _)| bits.0[i / 64] & (1 << (i % 64)) != 0)
        .map(|(_, n)| n)
        .collect();
    let more = listed.len().saturating_sub(3);
    let mut text = listed
        .iter()
        .take(3)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    text
}
