//! The run path end to end — engine::run → result.json → reports — on
//! plain directories (`target::tempdir::PlainDir`): no mount, no root, no
//! namespace, so these run everywhere `cargo test` does.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::*;
use crate::engine::{Observer, Tick};
use crate::report;
use crate::rundir::read_result;
use crate::scenario::plan::plan;
use crate::scenario::TargetSpec;
use crate::target::tempdir::{PlainDir, NOTE};
use crate::target::ProvisionCtx;

/// Where the engine tests say the run directory is published.
const LINK_BASE: &str = "https://ci.example.test/runs/unit-run";

/// One target, a small-files and a WAL workload, each cell op-bound.
const SCENARIO: &str = "\
version: 1
name: unit
seed: 7
ops: 100
warmup: 0s
repeat: 2
targets:
  - name: ram
    kind: tmpfs
    size: 64MiB
    options: [noatime]
workloads:
  - name: files
    kind: small_files
    threads: 2
    file_size: 4KiB
    files_per_dir: 100
    fsync: always
    sync_call: fsync
  - name: wal
    kind: fsync_heavy
    record_size: 4KiB
    file_size: 1MiB
    fsync: always
    sync_call: fdatasync
";

/// A tempdir holding the scratch root and the run directory of one run.
struct Place {
    _tmp: tempfile::TempDir,
    scratch: PathBuf,
    out: PathBuf,
}

impl Place {
    fn new() -> Place {
        let tmp = tempfile::tempdir().unwrap();
        let (scratch, out) = (tmp.path().join("scratch"), tmp.path().join("run"));
        Place {
            _tmp: tmp,
            scratch,
            out,
        }
    }

    fn options<'a>(&self, provisioner: &'a dyn Provisioner) -> RunOptions<'a> {
        RunOptions {
            provisioner,
            run_id: "unit-run".into(),
            out_dir: self.out.clone(),
            scratch_root: self.scratch.clone(),
            keep: false,
            privileged: false,
            command: vec!["wpbench".into(), "run".into(), "unit.yaml".into()],
            render: report::RenderOptions {
                link_base: Some(LINK_BASE.into()),
            },
        }
    }

    /// Nothing of the run is left in the scratch root (which goes too).
    fn assert_scratch_removed(&self) {
        assert!(
            !self.scratch.exists(),
            "left behind: {:?}",
            std::fs::read_dir(&self.scratch)
                .map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
        );
    }
}

fn scenario(text: &str) -> Scenario {
    crate::scenario::load_str(text, Path::new("unit.yaml")).unwrap()
}

/// Records what the run told it; sets `cancel` on the first tick or after
/// the `n`th finished cell when asked to.
#[derive(Default)]
struct Watch {
    started: Mutex<Vec<String>>,
    finished: AtomicUsize,
    messages: Mutex<Vec<String>>,
    ticks: AtomicUsize,
    cancel_after_cells: Option<(usize, Cancel)>,
    cancel_on_tick: Option<Cancel>,
}

impl Observer for Watch {
    fn tick(&self, _: &Tick) {
        self.ticks.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = &self.cancel_on_tick {
            c.set();
        }
    }
}

impl RunObserver for Watch {
    fn cell_started(&self, _: &Cell, label: &str, _: usize) {
        self.started.lock().unwrap().push(label.to_string());
    }

    fn cell_finished(&self, _: &CellResult) {
        let n = self.finished.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some((after, c)) = &self.cancel_after_cells {
            if n == *after {
                c.set();
            }
        }
    }

    fn message(&self, text: &str) {
        self.messages.lock().unwrap().push(text.to_string());
    }
}

/// PlainDir, counting its targets and failing from the `fail_from`th on.
struct Counting {
    made: AtomicUsize,
    fail_from: Option<usize>,
}

impl Provisioner for Counting {
    fn check_environment(&self, spec: &TargetSpec, privileged: bool) -> Result<()> {
        PlainDir.check_environment(spec, privileged)
    }

    fn provision(&self, spec: &TargetSpec, ctx: &mut ProvisionCtx) -> Result<Target> {
        let n = self.made.fetch_add(1, Ordering::Relaxed);
        if self.fail_from.is_some_and(|f| n >= f) {
            return Err(Error::Environment(format!(
                "target {}: no room for another",
                spec.name
            )));
        }
        PlainDir.provision(spec, ctx)
    }
}

fn unit_op(cell: &CellResult) -> &'static str {
    match cell.workload.kind.as_str() {
        "small_files" => "file",
        "fsync_heavy" => "record",
        other => panic!("unexpected workload kind {other}"),
    }
}

#[test]
fn a_run_writes_its_results_and_reports_without_root() {
    let place = Place::new();
    let scenario = scenario(SCENARIO);
    let plan = plan(&scenario, &[]).unwrap();
    let watch = Watch::default();
    let result = run(
        &scenario,
        &plan,
        &place.options(&PlainDir),
        &Cancel::new(),
        &watch,
    )
    .unwrap();

    assert_eq!(result.status, RunStatus::Completed);
    assert_eq!(result.schema, SCHEMA);
    assert_eq!(result.scenario.planned_cells, 4);
    assert!(result.error.is_empty(), "{}", result.error);
    assert!(!result.finished_at.is_empty());
    // Interleaved: files, wal, files, wal.
    let cells: Vec<(usize, &str, &str, u32)> = result
        .cells
        .iter()
        .map(|c| {
            (
                c.index,
                c.target.name.as_str(),
                c.workload.name.as_str(),
                c.repeat,
            )
        })
        .collect();
    assert_eq!(
        cells,
        [
            (0, "ram", "files", 0),
            (1, "ram", "wal", 0),
            (2, "ram", "files", 1),
            (3, "ram", "wal", 1)
        ]
    );
    for cell in &result.cells {
        // The op bound is exact over the threads.
        let unit = &cell.ops[unit_op(cell)];
        assert_eq!(unit.count, 100, "{}", cell.workload.name);
        assert!(unit.ops_per_sec > 0.0 && unit.p50_ns > 0 && unit.max_ns >= unit.p99_ns);
        assert!(unit.errors.is_empty(), "{:?}", unit.errors);
        let sync = if cell.workload.kind == "small_files" {
            "fsync"
        } else {
            "fdatasync"
        };
        assert_eq!(cell.ops[sync].count, 100, "{}", cell.workload.name);
        assert!(cell.bytes_written >= 100 * 4096);
        assert!(cell.duration_s > 0.0);
        assert_eq!(cell.target.kind, "tmpfs");
        assert_eq!(cell.target.requested_options, ["noatime"]);
        assert!(!cell.target.mount.fstype.is_empty());
        assert!(cell.notes.iter().any(|n| n == NOTE), "{:?}", cell.notes);
        assert!(
            cell.device.is_none(),
            "a plain directory has no device of its own"
        );
        assert!(cell.faults.is_empty());
    }
    assert_eq!(
        *watch.started.lock().unwrap(),
        ["ram/files #0", "ram/wal #0", "ram/files #1", "ram/wal #1"]
    );
    assert_eq!(watch.finished.load(Ordering::Relaxed), 4);
    assert!(watch.messages.lock().unwrap().is_empty());

    // result.json says what run() returned.
    let back = read_result(&place.out).unwrap();
    assert_eq!(back, result);
    assert_eq!(
        std::fs::read(place.out.join("result.json")).unwrap(),
        report::json::render(&back)
    );
    // One readable interval log per cell, with the cell's own ops.
    let mut hlogs = std::collections::BTreeMap::new();
    for cell in &back.cells {
        let h = crate::record::read_hlog(&place.out.join(&cell.hlog)).unwrap();
        assert!(h.start_time_s.is_some());
        assert!(h.tags().contains(&unit_op(cell)), "{:?}", h.tags());
        let logged: u64 = h.tagged(unit_op(cell)).map(|i| i.hist().len()).sum();
        assert_eq!(logged, 100, "{}", cell.hlog);
        hlogs.insert(cell.hlog.clone(), h);
    }
    // The reports on disk are what the report room renders from the
    // result read back: `wpbench report` would write the same bytes.
    let files = report::render_files(&back, &hlogs, None, &place.options(&PlainDir).render);
    for name in ["summary.md", "report.html"] {
        assert!(files.iter().any(|(n, _)| n == name), "{name} not rendered");
    }
    assert!(files.iter().any(|(n, _)| n.starts_with("charts/")));
    for (name, bytes) in &files {
        let on_disk = std::fs::read(place.out.join(name)).unwrap();
        assert!(on_disk == *bytes, "{name} differs from its rendering");
    }
    // summary.md has a row per workload for the target's unit op, the
    // median of both repeats, and links its headline charts (one target:
    // no comparison, so the unit op's spectrum) under the link base; every
    // cell's time-series chart is on disk.
    let summary = std::fs::read_to_string(place.out.join("summary.md")).unwrap();
    for cell in &back.cells {
        let section = format!("\n## {}\n", cell.workload.name);
        assert!(summary.contains(&section), "no `{section}` in\n{summary}");
        let row = format!("| {} | {} | ", cell.target.name, unit_op(cell));
        assert!(summary.contains(&row), "no `{row}` in\n{summary}");
        let chart = format!(
            "charts/timeseries-{:03}-{}-{}-r{}.svg",
            cell.index, cell.target.name, cell.workload.name, cell.repeat
        );
        assert!(place.out.join(&chart).is_file(), "{chart}");
        let headline = format!(
            "({LINK_BASE}/charts/spectrum-{}-{}.svg)",
            cell.workload.name,
            unit_op(cell)
        );
        assert!(summary.contains(&headline), "no {headline} in\n{summary}");
    }
    assert!(summary.contains(&format!("({LINK_BASE}/report.html)")));
    assert!(!summary.contains("](charts/"), "{summary}");
    assert!(summary.contains(NOTE), "{summary}");
    place.assert_scratch_removed();
}

#[test]
fn a_run_cancelled_between_cells_keeps_the_cells_it_finished() {
    let place = Place::new();
    let scenario = scenario(SCENARIO);
    let plan = plan(&scenario, &[]).unwrap();
    let cancel = Cancel::new();
    let watch = Watch {
        cancel_after_cells: Some((1, cancel.clone())),
        ..Watch::default()
    };
    let result = run(&scenario, &plan, &place.options(&PlainDir), &cancel, &watch).unwrap();
    assert_eq!(result.status, RunStatus::Interrupted);
    assert_eq!(result.cells.len(), 1);
    assert_eq!(result.cells[0].ops["file"].count, 100);
    assert_eq!(result.scenario.planned_cells, 4);
    assert_eq!(*watch.started.lock().unwrap(), ["ram/files #0"]);
    // The partial result is on disk, with its reports.
    let back = read_result(&place.out).unwrap();
    assert_eq!(back.status, RunStatus::Interrupted);
    assert_eq!(back.cells.len(), 1);
    assert!(place.out.join("summary.md").is_file());
    assert!(place.out.join("report.html").is_file());
    place.assert_scratch_removed();
}

#[test]
fn a_run_cancelled_in_a_cell_cuts_it_short_and_stops() {
    let place = Place::new();
    // Time-bound: without the cancel this would take a minute.
    let scenario = scenario(&SCENARIO.replace("ops: 100", "duration: 30s"));
    let plan = plan(&scenario, &[]).unwrap();
    let cancel = Cancel::new();
    let watch = Watch {
        cancel_on_tick: Some(cancel.clone()),
        ..Watch::default()
    };
    let started = Instant::now();
    let result = run(&scenario, &plan, &place.options(&PlainDir), &cancel, &watch).unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(watch.ticks.load(Ordering::Relaxed) >= 1);
    assert_eq!(result.status, RunStatus::Interrupted);
    // The cell in flight is kept, marked as cut short.
    assert_eq!(result.cells.len(), 1);
    let cell = &result.cells[0];
    assert!(cell.duration_s < 10.0, "{}", cell.duration_s);
    assert!(
        cell.notes
            .iter()
            .any(|n| n == "interrupted: the cell was cut short by a signal"),
        "{:?}",
        cell.notes
    );
    assert_eq!(read_result(&place.out).unwrap(), result);
    place.assert_scratch_removed();
}

#[test]
fn a_failed_cell_ends_the_run_failed_with_the_cells_before_it() {
    let place = Place::new();
    let scenario = scenario(SCENARIO);
    let plan = plan(&scenario, &[]).unwrap();
    let provisioner = Counting {
        made: AtomicUsize::new(0),
        fail_from: Some(2),
    };
    let err = run(
        &scenario,
        &plan,
        &place.options(&provisioner),
        &Cancel::new(),
        &Watch::default(),
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), 3, "{err}");
    assert!(err.to_string().contains("no room for another"), "{err}");
    let back = read_result(&place.out).unwrap();
    assert_eq!(back.status, RunStatus::Failed);
    assert_eq!(back.cells.len(), 2);
    assert!(place.out.join("report.html").is_file());
    place.assert_scratch_removed();
}

#[test]
fn a_reused_target_is_provisioned_once_and_each_cell_has_its_own_directory() {
    let place = Place::new();
    let scenario = scenario(&SCENARIO.replace(
        "    options: [noatime]\n",
        "    options: [noatime]\n    reuse: true\n",
    ));
    let plan = plan(&scenario, &[]).unwrap();
    let provisioner = Counting {
        made: AtomicUsize::new(0),
        fail_from: None,
    };
    let result = run(
        &scenario,
        &plan,
        &place.options(&provisioner),
        &Cancel::new(),
        &Watch::default(),
    )
    .unwrap();
    assert_eq!(result.status, RunStatus::Completed);
    assert_eq!(provisioner.made.load(Ordering::Relaxed), 1);
    assert_eq!(result.cells.len(), 4);
    assert!(result.cells[0]
        .notes
        .iter()
        .any(|n| n == "reuse: this target is kept for its later cells"));
    for cell in &result.cells[1..] {
        assert!(
            cell.notes
                .iter()
                .any(|n| n == "reuse: this target already holds earlier cells' files"),
            "{:?}",
            cell.notes
        );
        assert_eq!(cell.provision_s, 0.0);
    }
    place.assert_scratch_removed();
}
