//! `wpbench merge`: many run directories (the nodes of a fleet, or many
//! runs of one machine) combined into one run directory that `report`,
//! `compare` and `gate` read like any other.
//!
//! Cells are matched by (target name, workload name, repeat index). Cells
//! that match are one measurement taken in several places, and combine
//! exactly:
//!
//! - latency: the sources' histograms are **added** (never percentiles
//!   averaged) and every figure (count, mean, p50 … max) is recomputed
//!   from the sum, so the merged p99 is the p99 of all samples;
//! - throughput (`ops_per_sec`) is the **sum** of the sources' rates: the
//!   fleet's aggregate throughput, as if the sources ran side by side;
//!   each source's own rate stays in the cell's `sources`;
//! - errors by errno, payload bytes, warm-up ops and device bytes, write
//!   IOs and flushes are summed; write amplification is recomputed from
//!   the sums (none when any source's device was not attributable);
//!   durations are the longest source's;
//! - fault entries are paired by position and kind, and their durability
//!   counters summed (the loss window in ms is the longest);
//! - interval logs are not merged: each source's .hlog is copied into
//!   `hlog/<node>--<name>.hlog`, the cell's `hlog` points at the first
//!   source's copy and each source's entry at its own.
//!
//! Cells that measured different things are refused — a different
//! scenario file (sha256), different effective mount options, a different
//! workload (kind, threads, parameters) — unless `force`, which merges
//! them anyway and says so in the cell's notes.
//!
//! [`merge`] is pure; `rundir::merge::merge_dirs` reads the sources and writes the run
//! directory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use hdrhistogram::Histogram;
use sha2::{Digest, Sha256};

use super::model::{FaultEntry, RunStatus};
use super::stats::op_stats;
use super::HLOG_DIR;
use super::{CellResult, DeviceStats, OpStats, RunResult, RunSource, SourceCell, SCHEMA};
use crate::error::{Error, Result};
use crate::record::{decode_histogram, new_histogram};

/// One run to merge: the node it stands for, and its result.
#[derive(Debug, Clone)]
pub struct Source {
    pub node: String,
    pub run: RunResult,
}

/// A merged run, and the interval logs to copy into its directory.
#[derive(Debug, Clone)]
pub struct Merged {
    pub run: RunResult,
    pub hlog_copies: Vec<HlogCopy>,
}

/// Copy `from` (relative to source `source`'s run directory) to `to`
/// (relative to the merged run directory).
#[derive(Debug, Clone, PartialEq)]
pub struct HlogCopy {
    pub source: usize,
    pub from: String,
    pub to: String,
}

/// The node name of each source, from (hostname, run directory name):
/// the hostname when it is set and no other source shares it, the run
/// directory's name otherwise; `-2`, `-3` … make names unique.
pub fn node_names(sources: &[(String, String)]) -> Vec<String> {
    let mut hosts: BTreeMap<&str, usize> = BTreeMap::new();
    for (host, _) in sources {
        *hosts.entry(host.as_str()).or_default() += 1;
    }
    let mut used = BTreeSet::new();
    sources
        .iter()
        .map(|(host, dir)| {
            let base = if !host.is_empty() && hosts[host.as_str()] == 1 {
                host.clone()
            } else if !dir.is_empty() {
                dir.clone()
            } else {
                "run".to_string()
            };
            let mut name = base.clone();
            let mut n = 2;
            while !used.insert(name.clone()) {
                name = format!("{base}-{n}");
                n += 1;
            }
            name
        })
        .collect()
}

type Key = (String, String, u32);

fn key_of(c: &CellResult) -> Key {
    (c.target.name.clone(), c.workload.name.clone(), c.repeat)
}

fn cell_label(k: &Key) -> String {
    format!("{}/{} repeat {}", k.0, k.1, k.2)
}

/// Merges `sources` (at least one) into one run. `command` is recorded as
/// the run's command line. Errors are the user's to fix (exit 2).
pub fn merge(sources: &[Source], force: bool, command: Vec<String>) -> Result<Merged> {
    let Some(first) = sources.first() else {
        return Err(Error::Usage(
            "nothing to merge: give at least one run".into(),
        ));
    };
    refuse_repeated_runs(sources)?;
    let (order, groups) = matching_cells(sources)?;
    let differences = differing_cells(sources, &order, &groups, force)?;

    let mut copies = Vec::new();
    let mut cells = Vec::with_capacity(order.len());
    for (index, key) in order.iter().enumerate() {
        let group = &groups[key];
        let mut cell = merge_cell(sources, group, &mut copies)?;
        cell.index = index;
        cell.notes
            .extend(merge_notes(sources, group, differences.get(key)));
        cells.push(cell);
    }
    let run = merged_run(sources, first, command, cells);
    Ok(Merged {
        run,
        hlog_copies: copies,
    })
}

/// A run given twice (under two names) would count every sample twice.
fn refuse_repeated_runs(sources: &[Source]) -> Result<()> {
    let mut seen_ids: BTreeMap<&str, &str> = BTreeMap::new();
    for s in sources {
        if let Some(other) = seen_ids.insert(&s.run.run_id, &s.node) {
            return Err(Error::Usage(format!(
                "run {} is given twice ({other} and {}): merging it with itself would count it twice",
                s.run.run_id, s.node
            )));
        }
    }
    Ok(())
}

/// The sources' cells grouped by key, and the keys in first-seen order
/// (the first source's plan order).
type Matched<'a> = (Vec<Key>, BTreeMap<Key, Vec<(usize, &'a CellResult)>>);

/// Matching cells across the sources; a source with two cells of one key
/// is refused, since either could be the one to merge.
fn matching_cells(sources: &[Source]) -> Result<Matched<'_>> {
    let mut order: Vec<Key> = Vec::new();
    let mut groups: BTreeMap<Key, Vec<(usize, &CellResult)>> = BTreeMap::new();
    for (si, s) in sources.iter().enumerate() {
        let mut cells: Vec<&CellResult> = s.run.cells.iter().collect();
        cells.sort_by_key(|c| c.index);
        for c in cells {
            let key = key_of(c);
            let group = groups.entry(key.clone()).or_insert_with(|| {
                order.push(key.clone());
                Vec::new()
            });
            if group.iter().any(|(i, _)| *i == si) {
                return Err(Error::Usage(format!(
                    "{}: run {} has two cells {}; cannot tell which to merge",
                    s.node,
                    s.run.run_id,
                    cell_label(&key)
                )));
            }
            group.push((si, c));
        }
    }
    Ok((order, groups))
}

/// Per cell, what its sources measured differently. Without `force` any
/// difference refuses the merge, all of them listed in one message so one
/// attempt names every problem.
fn differing_cells(
    sources: &[Source],
    order: &[Key],
    groups: &BTreeMap<Key, Vec<(usize, &CellResult)>>,
    force: bool,
) -> Result<BTreeMap<Key, Vec<String>>> {
    let mut refused: Vec<String> = Vec::new();
    let mut differences: BTreeMap<Key, Vec<String>> = BTreeMap::new();
    for key in order {
        let diffs = differences_of(sources, &groups[key]);
        if !diffs.is_empty() {
            refused.push(format!("cell {}: {}", cell_label(key), diffs.join("; ")));
            differences.insert(key.clone(), diffs);
        }
    }
    if !refused.is_empty() && !force {
        let shown: Vec<&String> = refused.iter().take(5).collect();
        let more = refused.len().saturating_sub(shown.len());
        return Err(Error::Usage(format!(
            "refusing to merge runs that measured different things:\n  {}{}\n\
             merge runs of the same scenario file and options, or give --force to merge them \
             anyway (each merged cell then notes the differences)",
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n  "),
            if more > 0 {
                format!("\n  … and {more} more cells")
            } else {
                String::new()
            }
        )));
    }
    Ok(differences)
}

/// What a reader of a merged cell should know: the sources it lacks, and
/// the differences `--force` merged over.
fn merge_notes(
    sources: &[Source],
    group: &[(usize, &CellResult)],
    differences: Option<&Vec<String>>,
) -> Vec<String> {
    let mut notes = Vec::new();
    if group.len() < sources.len() {
        let missing: Vec<&str> = (0..sources.len())
            .filter(|i| !group.iter().any(|(g, _)| g == i))
            .map(|i| sources[i].node.as_str())
            .collect();
        notes.push(format!(
            "merged from {} of {} runs (not in: {})",
            group.len(),
            sources.len(),
            missing.join(", ")
        ));
    }
    if let Some(diffs) = differences {
        notes.push(format!(
            "merged with --force although the runs differ: {}",
            diffs.join("; ")
        ));
    }
    notes
}

/// The merged run around its cells: the first source's scenario and
/// environment, the span of the sources' times, the first status that is
/// not `completed`, and an id derived from the sources' ids.
fn merged_run(
    sources: &[Source],
    first: &Source,
    command: Vec<String>,
    cells: Vec<CellResult>,
) -> RunResult {
    let mut scenario = first.run.scenario.clone();
    scenario.planned_cells = sources
        .iter()
        .map(|s| s.run.scenario.planned_cells)
        .max()
        .unwrap_or(0)
        .max(cells.len());
    let started_at = sources
        .iter()
        .map(|s| s.run.started_at.clone())
        .filter(|t| !t.is_empty())
        .min()
        .unwrap_or_default();
    // Unfinished while any source is.
    let finished_at = if sources.iter().any(|s| s.run.finished_at.is_empty()) {
        String::new()
    } else {
        sources
            .iter()
            .map(|s| s.run.finished_at.clone())
            .max()
            .unwrap_or_default()
    };
    let status = sources
        .iter()
        .map(|s| s.run.status)
        .find(|s| *s != RunStatus::Completed)
        .unwrap_or(RunStatus::Completed);
    RunResult {
        schema: SCHEMA.to_string(),
        run_id: merged_run_id(sources),
        scenario,
        env: first.run.env.clone(),
        started_at,
        finished_at,
        status,
        error: String::new(),
        command,
        cells,
        compare: first.run.compare.clone(),
        comparisons: Vec::new(),
        noise: Vec::new(),
        // A collected run merged again keeps the nodes it lacked.
        missing: sources
            .iter()
            .flat_map(|s| s.run.missing.iter().cloned())
            .collect(),
        sources: sources
            .iter()
            .map(|s| RunSource {
                node: s.node.clone(),
                run_id: s.run.run_id.clone(),
                started_at: s.run.started_at.clone(),
                kernel: s.run.env.kernel.clone(),
                hostname: s.run.env.hostname.clone(),
                seed: s.run.scenario.seed,
                status: s.run.status,
            })
            .collect(),
    }
}

/// `merge-` and 8 hex digits of the sources' run ids: merging the same
/// runs again gives the same id.
fn merged_run_id(sources: &[Source]) -> String {
    let mut id = Sha256::new();
    for s in sources {
        id.update(s.run.run_id.as_bytes());
        id.update(b"\n");
    }
    let digest = id.finalize();
    format!(
        "merge-{}",
        digest[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// What differs between the group's first cell and the others, naming the
/// nodes: scenario file, mount options, workload.
fn differences_of(sources: &[Source], group: &[(usize, &CellResult)]) -> Vec<String> {
    let mut out = Vec::new();
    let Some(&(f, fc)) = group.first() else {
        return out;
    };
    let fnode = &sources[f].node;
    for &(o, oc) in &group[1..] {
        let onode = &sources[o].node;
        let (fs, os) = (&sources[f].run.scenario, &sources[o].run.scenario);
        if fs.sha256 != os.sha256 {
            out.push(format!(
                "scenario sha256 {} ({fnode}, {}) vs {} ({onode}, {})",
                short(&fs.sha256),
                fs.file,
                short(&os.sha256),
                os.file
            ));
        }
        if fc.target.mount.options != oc.target.mount.options {
            out.push(format!(
                "mount options `{}` ({fnode}) vs `{}` ({onode})",
                fc.target.mount.options, oc.target.mount.options
            ));
        }
        if fc.target.kind != oc.target.kind {
            out.push(format!(
                "target kind {} ({fnode}) vs {} ({onode})",
                fc.target.kind, oc.target.kind
            ));
        }
        let (fw, ow) = (&fc.workload, &oc.workload);
        if fw.kind != ow.kind || fw.threads != ow.threads || fw.params != ow.params {
            out.push(format!(
                "workload params {} ({fnode}) vs {} ({onode})",
                workload_text(fw),
                workload_text(ow)
            ));
        }
    }
    out
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn workload_text(w: &super::WorkloadInfo) -> String {
    let mut parts = vec![format!("kind={}", w.kind), format!("threads={}", w.threads)];
    parts.extend(w.params.iter().map(|(k, v)| format!("{k}={v}")));
    format!("[{}]", parts.join(", "))
}

/// A file name that is safe in `hlog/`: `[A-Za-z0-9._-]`, other
/// characters as `_`.
fn safe_name(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let out = out.trim_start_matches('.').to_string();
    if out.is_empty() {
        "x".to_string()
    } else {
        out
    }
}

/// One cell from its matching cells in the sources (`group`, at least
/// one); the interval logs to copy are added to `copies`.
fn merge_cell(
    sources: &[Source],
    group: &[(usize, &CellResult)],
    copies: &mut Vec<HlogCopy>,
) -> Result<CellResult> {
    let (_, first) = group[0];
    let duration_s = group.iter().map(|(_, c)| c.duration_s).fold(0.0, f64::max);
    let ops = merged_ops(sources, group, duration_s)?;
    let device = merged_device(group);
    let faults = merged_faults(sources, group);
    let (cell_sources, notes) = per_source(sources, group, copies);
    let max = |g: fn(&CellResult) -> f64| group.iter().map(|(_, c)| g(c)).fold(0.0, f64::max);
    Ok(CellResult {
        index: 0,
        target: first.target.clone(),
        workload: first.workload.clone(),
        repeat: first.repeat,
        duration_s,
        warmup_s: max(|c| c.warmup_s),
        ops,
        bytes_written: group.iter().map(|(_, c)| c.bytes_written).sum(),
        warmup_unit_ops: group.iter().map(|(_, c)| c.warmup_unit_ops).sum(),
        device,
        faults,
        hlog: cell_sources[0].hlog.clone(),
        interval_s: cell_sources[0].interval_s,
        rate_per_thread: first.rate_per_thread,
        provision_s: max(|c| c.provision_s),
        teardown_s: max(|c| c.teardown_s),
        notes,
        // The least steady source speaks for the merged cell.
        interval_cv: group
            .iter()
            .filter_map(|(_, c)| c.interval_cv)
            .reduce(f64::max),
        sources: cell_sources,
    })
}

/// Per op: the sources' histograms added and every figure recomputed from
/// the sum; errors and rates summed. A count without a readable histogram
/// is refused: its percentiles could only be guessed.
fn merged_ops(
    sources: &[Source],
    group: &[(usize, &CellResult)],
    duration_s: f64,
) -> Result<BTreeMap<String, OpStats>> {
    let names: BTreeSet<&String> = group.iter().flat_map(|(_, c)| c.ops.keys()).collect();
    let mut ops = BTreeMap::new();
    for name in names {
        let mut sum: Histogram<u64> = new_histogram();
        let mut errors: BTreeMap<String, u64> = BTreeMap::new();
        let mut rate = 0.0;
        for &(si, c) in group {
            let Some(s) = c.ops.get(name) else { continue };
            for (errno, n) in &s.errors {
                *errors.entry(errno.clone()).or_default() += n;
            }
            rate += s.ops_per_sec;
            if s.count == 0 {
                continue;
            }
            let h = decode_histogram(&s.histogram).ok_or_else(|| {
                Error::Usage(format!(
                    "{}: cell {} op {} has {} samples but no readable histogram; \
                     cannot merge it exactly",
                    sources[si].node,
                    cell_label(&key_of(c)),
                    name,
                    s.count
                ))
            })?;
            sum.add(&h).map_err(|e| {
                Error::Usage(format!(
                    "{}: cell {} op {}: its histogram cannot be added to the others ({e:?})",
                    sources[si].node,
                    cell_label(&key_of(c)),
                    name
                ))
            })?;
        }
        let mut stats: OpStats = op_stats(Some(&sum), errors, duration_s);
        stats.ops_per_sec = rate;
        ops.insert(name.clone(), stats);
    }
    Ok(ops)
}

/// Device counters summed over the sources that have them, write
/// amplification recomputed from the sums.
fn merged_device(group: &[(usize, &CellResult)]) -> Option<DeviceStats> {
    let with_device: Vec<(&CellResult, &DeviceStats)> = group
        .iter()
        .filter_map(|(_, c)| c.device.as_ref().map(|d| (*c, d)))
        .collect();
    (!with_device.is_empty()).then(|| {
        let mut names: Vec<&str> = Vec::new();
        for (_, d) in &with_device {
            if !names.contains(&d.name.as_str()) {
                names.push(&d.name);
            }
        }
        let payload: u64 = with_device.iter().map(|(c, _)| c.bytes_written).sum();
        let mut merged = DeviceStats::measured(
            &names.join(","),
            (
                with_device.iter().map(|(_, d)| d.bytes_written).sum(),
                with_device.iter().map(|(_, d)| d.write_ios).sum(),
                with_device.iter().map(|(_, d)| d.flushes).sum(),
            ),
            payload,
            with_device.iter().any(|(_, d)| d.shared),
        );
        // One source's counters that are not its own spoil the sum.
        if with_device.iter().any(|(_, d)| !d.attributable) {
            merged.attributable = false;
            merged.write_amplification = None;
        }
        merged
    })
}

/// Fault entries paired by position and kind, durability counters summed;
/// an entry without a partner is kept, marked with its source's node.
fn merged_faults(sources: &[Source], group: &[(usize, &CellResult)]) -> Vec<FaultEntry> {
    let (_, first) = group[0];
    let mut faults: Vec<FaultEntry> = first.faults.clone();
    let mut paired = vec![1u32; faults.len()];
    for &(si, c) in &group[1..] {
        for (i, fault) in c.faults.iter().enumerate() {
            match faults.get_mut(i) {
                Some(m) if m.kind() == fault.kind() => {
                    if let (Some(into), Some(from)) = (m.durability_mut(), fault.durability()) {
                        into.add(from);
                    }
                    m.add_states_explored(fault.states_explored());
                    paired[i] += 1;
                }
                _ => {
                    let mut unpaired = fault.clone();
                    unpaired.source = Some(sources[si].node.clone());
                    faults.push(unpaired);
                }
            }
        }
    }
    if group.len() > 1 {
        for (m, n) in faults.iter_mut().zip(&paired) {
            if m.source.is_none() {
                m.merged_sources = Some(*n);
            }
        }
    }
    faults
}

/// Each source's own figures, with its interval log's new place (copied,
/// never merged: added to `copies`); and the sources' notes, prefixed
/// with their node when there are several sources.
fn per_source(
    sources: &[Source],
    group: &[(usize, &CellResult)],
    copies: &mut Vec<HlogCopy>,
) -> (Vec<SourceCell>, Vec<String>) {
    let many = sources.len() > 1;
    let mut cell_sources = Vec::with_capacity(group.len());
    let mut notes = Vec::new();
    for &(si, c) in group {
        let node = &sources[si].node;
        let hlog = if c.hlog.is_empty() {
            String::new()
        } else {
            let file = Path::new(&c.hlog)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| c.hlog.clone());
            let to = format!("{HLOG_DIR}/{}--{}", safe_name(node), safe_name(&file));
            copies.push(HlogCopy {
                source: si,
                from: c.hlog.clone(),
                to: to.clone(),
            });
            to
        };
        for n in &c.notes {
            notes.push(if many {
                format!("[{node}] {n}")
            } else {
                n.clone()
            });
        }
        cell_sources.push(SourceCell {
            node: node.clone(),
            run_id: sources[si].run.run_id.clone(),
            index: c.index,
            duration_s: c.duration_s,
            ops: c.ops.clone(),
            bytes_written: c.bytes_written,
            device: c.device.clone(),
            faults: c.faults.clone(),
            hlog,
            interval_s: c.interval_s,
        });
    }
    (cell_sources, notes)
}

#[cfg(test)]
mod tests;
