//! The run's console: progress on stderr (one line redrawn on a terminal,
//! a plain line per cell otherwise) and a table per finished cell on
//! stdout, as an engine observer.
//!
//! The progress line is built from fields in display order, each with a
//! rank; when the terminal is narrower than the line, the least important
//! fields go first ([`progress_line`]). The run's ETA comes from the plan
//! and the setup time the finished cells took ([`run_eta`]).

use std::cell::RefCell;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::args::{Format, RunArgs};
use crate::engine::run::{crash_fault, RunObserver};
use crate::engine::{Observer, Phase, Tick};
use crate::report;
use crate::result::CellResult;
use crate::scenario::plan::{Cell, Plan};
use crate::scenario::{Scenario, Stop};

/// One field of the progress line: its text and its rank (0 is kept
/// longest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Field {
    pub text: String,
    pub rank: u8,
}

fn field(text: impl Into<String>, rank: u8) -> Field {
    Field {
        text: text.into(),
        rank,
    }
}

/// The fields joined (`[cell 3/12] a · b · c`), leaving out the
/// highest-ranked fields until the line fits `width` characters; a single
/// field still too long is cut with `…`.
pub(super) fn progress_line(fields: &[Field], width: usize) -> String {
    let mut kept: Vec<&Field> = fields.iter().collect();
    loop {
        let line = join(&kept);
        if line.chars().count() <= width || kept.len() <= 1 {
            if line.chars().count() <= width {
                return line;
            }
            let cut: String = line.chars().take(width.saturating_sub(1)).collect();
            return format!("{cut}…");
        }
        // The last of the highest-ranked fields goes first.
        let worst = kept
            .iter()
            .enumerate()
            .max_by_key(|(i, f)| (f.rank, *i))
            .map(|(i, _)| i)
            .expect("more than one field");
        kept.remove(worst);
    }
}

fn join(fields: &[&Field]) -> String {
    let mut line = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            // A bracketed counter is followed by a space, the rest by " · ".
            line.push_str(if i == 1 && fields[0].text.starts_with('[') {
                " "
            } else {
                " · "
            });
        }
        line.push_str(&f.text);
    }
    line
}

/// The time the run has left, when it can be estimated: what is left of
/// the current cell (its planned time and setup, less `cell_elapsed`)
/// plus each later cell's planned time and setup. `planned` is a cell's
/// warm-up and measured time (times its crash trials), `None` when it
/// stops after an op count; `setup` is the setup and teardown a cell took
/// on average so far, `None` before any cell finished.
pub(super) fn run_eta(
    cell_elapsed: Duration,
    current: Option<Duration>,
    later: &[Option<Duration>],
    setup: Option<Duration>,
) -> Option<Duration> {
    let whole = |planned: Option<Duration>| Some(planned? + setup?);
    let left = whole(current)?.saturating_sub(cell_elapsed);
    later.iter().try_fold(left, |sum, &p| Some(sum + whole(p)?))
}

/// `0.4 s`, `3 s`, `42 s`, `1 m 40 s`, `2 h 5 m`.
pub(super) fn short_duration(d: Duration) -> String {
    let tenths = (d.as_secs_f64() * 10.0).round() as u64;
    if tenths < 100 && !tenths.is_multiple_of(10) {
        return format!("{}.{} s", tenths / 10, tenths % 10);
    }
    let secs = d.as_secs_f64().round() as u64;
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 if secs.is_multiple_of(60) => format!("{} m", secs / 60),
        60..=3599 => format!("{} m {} s", secs / 60, secs % 60),
        _ => format!("{} h {} m", secs / 3600, secs % 3600 / 60),
    }
}

/// `850`, `4.1 k`, `41 k`, `1.2 M`.
pub(super) fn short_count(n: f64) -> String {
    if n < 1_000.0 {
        format!("{n:.0}")
    } else if n < 10_000.0 {
        format!("{:.1} k", n / 1e3)
    } else if n < 999_500.0 {
        format!("{:.0} k", n / 1e3)
    } else {
        format!("{:.1} M", n / 1e6)
    }
}

/// What the console knows of the run and the cell under way.
struct State {
    targets: Vec<String>,
    workloads: Vec<String>,
    repeats: u32,
    /// Per cell of the plan, in order: its planned warm-up and measured
    /// time (times its trials), `None` when op-bound.
    planned: Vec<Option<Duration>>,
    /// Per finished cell with a planned time: what it took beyond it.
    setups: Vec<Duration>,
    /// The cell under way: its position in the plan and when it started.
    cell: Option<(Cell, Instant)>,
    of: usize,
    phase: Phase,
    last_tick: Option<Tick>,
}

impl State {
    fn new(scenario: &Scenario, plan: &Plan) -> State {
        let planned = plan
            .cells()
            .map(|cell| {
                let Stop::Duration(measure) = scenario.stop else {
                    return None;
                };
                let w = &scenario.workloads[cell.workload];
                let warmup = if w.kind.cold_start() {
                    Duration::ZERO
                } else {
                    scenario.warmup
                };
                let trials = crash_fault(scenario, &cell).map_or(1, |f| f.trials.max(1));
                Some((warmup + measure) * trials)
            })
            .collect();
        State {
            targets: scenario.targets.iter().map(|t| t.name.clone()).collect(),
            workloads: scenario.workloads.iter().map(|w| w.name.clone()).collect(),
            repeats: scenario.repeat,
            planned,
            setups: Vec::new(),
            cell: None,
            of: plan.len(),
            phase: Phase::Setup,
            last_tick: None,
        }
    }

    /// The average setup of the finished cells.
    fn setup(&self) -> Option<Duration> {
        let n = u32::try_from(self.setups.len()).ok().filter(|&n| n > 0)?;
        Some(self.setups.iter().sum::<Duration>() / n)
    }

    fn eta(&self) -> Option<Duration> {
        let (cell, started) = self.cell.as_ref()?;
        let later = self.planned.get(cell.index + 1..).unwrap_or_default();
        run_eta(
            started.elapsed(),
            self.planned.get(cell.index).copied().flatten(),
            later,
            self.setup(),
        )
    }

    /// The progress line's fields, in display order.
    fn fields(&self) -> Vec<Field> {
        let Some((cell, _)) = &self.cell else {
            return Vec::new();
        };
        let mut f = vec![
            field(format!("[cell {}/{}]", cell.index + 1, self.of), 0),
            field(self.targets[cell.target].clone(), 3),
            field(self.workloads[cell.workload].clone(), 5),
        ];
        if self.repeats > 1 {
            f.push(field(
                format!("repeat {}/{}", cell.repeat + 1, self.repeats),
                6,
            ));
        }
        let tick = self.last_tick.as_ref().filter(|t| t.phase == self.phase);
        match (self.phase, tick) {
            (Phase::Warmup, Some(t)) => f.push(field(phase_time("warm-up", t), 1)),
            (Phase::Measure, Some(t)) => {
                f.push(field(phase_time("measure", t), 1));
                f.push(field(format!("{} ops/s", short_count(t.ops_per_sec)), 4));
            }
            (phase, _) => f.push(field(phase_name(phase), 1)),
        }
        if let Some(eta) = self.eta() {
            f.push(field(format!("run ETA {}", short_duration(eta)), 2));
        }
        f
    }
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Setup => "setup",
        Phase::Warmup => "warm-up",
        Phase::Measure => "measure",
        Phase::Verify => "verify",
        Phase::Teardown => "teardown",
    }
}

/// `measure 1.2 s / 3 s`, `measure 41 k / 100 k ops`, `warm-up 0.4 s / 1 s`.
fn phase_time(name: &str, t: &Tick) -> String {
    match (t.planned, t.planned_ops) {
        (_, Some(n)) if t.phase == Phase::Measure => format!(
            "{name} {} / {} ops",
            short_count(t.unit_ops as f64),
            short_count(n as f64)
        ),
        (Some(p), _) => format!(
            "{name} {} / {}",
            short_duration(t.elapsed),
            short_duration(p)
        ),
        _ => format!("{name} {}", short_duration(t.elapsed)),
    }
}

/// The terminal's width in columns, 80 when it cannot be told.
fn term_width() -> usize {
    console::Term::stderr()
        .size_checked()
        .map_or(80, |(_, cols)| usize::from(cols))
}

/// Progress on stderr (a redrawn line on a terminal, plain lines
/// otherwise) and a table per finished cell on stdout.
pub(super) struct Console {
    bar: Option<ProgressBar>,
    plain: bool,
    tables: bool,
    state: RefCell<State>,
}

impl Console {
    pub(super) fn new(args: &RunArgs, scenario: &Scenario, plan: &Plan) -> Console {
        let tty = std::io::stderr().is_terminal();
        let bar = (tty && !args.quiet).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(ProgressStyle::with_template("{msg}").expect("constant template"));
            bar
        });
        Console {
            bar,
            plain: !tty && !args.quiet,
            tables: !args.quiet && args.format == Format::Text,
            state: RefCell::new(State::new(scenario, plan)),
        }
    }

    pub(super) fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Redraws the line (one column is left free so it never wraps).
    fn draw(&self) {
        if let Some(bar) = &self.bar {
            let fields = self.state.borrow().fields();
            bar.set_message(progress_line(&fields, term_width().saturating_sub(1)));
        }
    }
}

impl Observer for Console {
    fn tick(&self, t: &Tick) {
        {
            let mut s = self.state.borrow_mut();
            s.phase = t.phase;
            s.last_tick = Some(t.clone());
        }
        self.draw();
    }
}

impl RunObserver for Console {
    fn cell_started(&self, cell: &Cell, _label: &str, of: usize) {
        {
            let mut s = self.state.borrow_mut();
            s.cell = Some((cell.clone(), Instant::now()));
            s.of = of;
            s.phase = Phase::Setup;
            s.last_tick = None;
        }
        if self.plain {
            eprintln!("{}", progress_line(&self.state.borrow().fields(), 80));
        }
        self.draw();
    }

    fn phase(&self, phase: Phase) {
        self.state.borrow_mut().phase = phase;
        self.draw();
    }

    fn cell_finished(&self, result: &CellResult) {
        {
            let mut s = self.state.borrow_mut();
            if let Some((cell, started)) = s.cell.clone() {
                if let Some(Some(planned)) = s.planned.get(cell.index).copied() {
                    let took = started.elapsed().saturating_sub(planned);
                    s.setups.push(took);
                }
            }
        }
        if !self.tables {
            return;
        }
        let table = report::terminal::render_cell(result);
        match &self.bar {
            Some(bar) => bar.suspend(|| println!("{table}")),
            None => println!("{table}"),
        }
    }

    fn message(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("wpbench: {text}")),
            None => eprintln!("wpbench: {text}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Vec<Field> {
        vec![
            field("[cell 3/12]", 0),
            field("ext4[noatime]", 3),
            field("files", 5),
            field("repeat 2/3", 6),
            field("measure 1.2 s / 3 s", 1),
            field("41 k ops/s", 4),
            field("run ETA 1 m 40 s", 2),
        ]
    }

    #[test]
    fn progress_line_wide_shows_everything() {
        let line = progress_line(&full(), 120);
        assert_eq!(
            line,
            "[cell 3/12] ext4[noatime] · files · repeat 2/3 · measure 1.2 s / 3 s · \
             41 k ops/s · run ETA 1 m 40 s"
        );
        // "·" is two bytes: widths are in characters.
        assert_eq!(line.chars().count(), 100);
        assert!(line.len() > 100);
    }

    #[test]
    fn progress_line_at_80_drops_repeat_and_workload() {
        let line = progress_line(&full(), 80);
        assert_eq!(
            line,
            "[cell 3/12] ext4[noatime] · measure 1.2 s / 3 s · 41 k ops/s · run ETA 1 m 40 s"
        );
        assert!(line.chars().count() <= 80);
    }

    #[test]
    fn progress_line_at_60_keeps_cell_phase_and_eta() {
        let line = progress_line(&full(), 60);
        assert_eq!(line, "[cell 3/12] measure 1.2 s / 3 s · run ETA 1 m 40 s");
        assert!(line.chars().count() <= 60, "{line}");
    }

    #[test]
    fn progress_line_narrower_than_a_field_is_cut() {
        let line = progress_line(&full(), 8);
        assert_eq!(line, "[cell 3…");
        assert_eq!(line.chars().count(), 8);
        let micro = progress_line(&[field("µµµµ · µµµµ", 0)], 6);
        assert_eq!(micro.chars().count(), 6);
    }

    #[test]
    fn warm_up_shows_its_own_progress_and_no_ops() {
        let mut s = State {
            targets: vec!["ext4[noatime]".into()],
            workloads: vec!["files".into()],
            repeats: 1,
            planned: vec![Some(Duration::from_secs(4))],
            setups: vec![],
            cell: Some((
                Cell {
                    index: 0,
                    target: 0,
                    workload: 0,
                    repeat: 0,
                },
                Instant::now(),
            )),
            of: 1,
            phase: Phase::Setup,
            last_tick: None,
        };
        assert_eq!(
            progress_line(&s.fields(), 80),
            "[cell 1/1] ext4[noatime] · files · setup"
        );
        let tick = Tick {
            phase: Phase::Warmup,
            elapsed: Duration::from_millis(400),
            planned: Some(Duration::from_secs(1)),
            unit_ops: 0,
            planned_ops: None,
            ops_per_sec: 0.0,
        };
        s.phase = Phase::Warmup;
        s.last_tick = Some(tick);
        let line = progress_line(&s.fields(), 80);
        assert_eq!(
            line,
            "[cell 1/1] ext4[noatime] · files · warm-up 0.4 s / 1 s"
        );
        assert!(!line.contains("ops"));
    }

    #[test]
    fn eta_from_the_plan_and_the_setup_so_far() {
        let s = Duration::from_secs;
        // No cell finished: the setup is not known, so no ETA.
        assert_eq!(run_eta(s(1), Some(s(4)), &[Some(s(4))], None), None);
        // 2 s into a 4 s cell with 1 s setup, two such cells after it.
        assert_eq!(
            run_eta(s(2), Some(s(4)), &[Some(s(4)), Some(s(4))], Some(s(1))),
            Some(s(3 + 5 + 5))
        );
        // An op-bound cell ahead: no ETA.
        assert_eq!(run_eta(s(0), Some(s(4)), &[None], Some(s(1))), None);
        // The last cell, overrunning: nothing left, not negative.
        assert_eq!(run_eta(s(9), Some(s(4)), &[], Some(s(1))), Some(s(0)));
    }

    #[test]
    fn short_units() {
        let ms = Duration::from_millis;
        assert_eq!(short_duration(ms(400)), "0.4 s");
        assert_eq!(short_duration(ms(3000)), "3 s");
        assert_eq!(short_duration(ms(1200)), "1.2 s");
        assert_eq!(short_duration(ms(42_300)), "42 s");
        assert_eq!(short_duration(ms(8_960)), "9 s");
        assert_eq!(short_duration(ms(9_040)), "9 s");
        assert_eq!(short_duration(ms(100_000)), "1 m 40 s");
        assert_eq!(short_duration(ms(120_000)), "2 m");
        assert_eq!(short_duration(ms(7_500_000)), "2 h 5 m");
        assert_eq!(short_count(850.0), "850");
        assert_eq!(short_count(4_120.0), "4.1 k");
        assert_eq!(short_count(41_000.0), "41 k");
        assert_eq!(short_count(999_700.0), "1.0 M");
        assert_eq!(short_count(1_240_000.0), "1.2 M");
    }
}
