//! The run's console: progress on stderr (a bar on a terminal, plain lines
//! otherwise) and a table per finished cell on stdout, as an engine observer.

use std::cell::RefCell;
use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::args::{Format, RunArgs};
use crate::engine::run::RunObserver;
use crate::engine::{Observer, Phase, Tick};
use crate::report;
use crate::result::CellResult;
use crate::scenario::plan::Cell;
use crate::scenario::units::format_duration;

/// Progress on stderr (a bar on a terminal, plain lines otherwise) and a
/// table per finished cell on stdout.
pub(super) struct Console {
    bar: Option<ProgressBar>,
    plain: bool,
    tables: bool,
    label: RefCell<String>,
}

impl Console {
    pub(super) fn new(args: &RunArgs) -> Console {
        let tty = std::io::stderr().is_terminal();
        let bar = (tty && !args.quiet).then(|| {
            let bar = ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{prefix:.bold} [{bar:25}] {msg}")
                    .expect("constant template")
                    .progress_chars("=> "),
            );
            bar
        });
        Console {
            bar,
            plain: !tty && !args.quiet,
            tables: !args.quiet && args.format == Format::Text,
            label: RefCell::new(String::new()),
        }
    }

    pub(super) fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Console {
    fn tick(&self, t: &Tick) {
        let Some(bar) = &self.bar else { return };
        let fraction = match (t.phase, t.planned, t.planned_ops) {
            (Phase::Warmup, _, _) => 0.0,
            (Phase::Measure, _, Some(n)) if n > 0 => t.unit_ops as f64 / n as f64,
            (Phase::Measure, Some(p), _) if !p.is_zero() => {
                t.elapsed.as_secs_f64() / p.as_secs_f64()
            }
            _ => 0.0,
        };
        bar.set_position((fraction.clamp(0.0, 1.0) * 1000.0) as u64);
        let phase = match t.phase {
            Phase::Warmup => "warm-up",
            Phase::Measure => "measure",
        };
        let time = match t.planned {
            Some(p) => format!(
                "{} / {} ({} left)",
                format_duration(t.elapsed),
                format_duration(p),
                format_duration(p.saturating_sub(t.elapsed))
            ),
            None => format_duration(t.elapsed),
        };
        bar.set_message(format!(
            "{phase} {time} · {:.0} ops/s · {} ops",
            t.ops_per_sec, t.unit_ops
        ));
    }
}

impl RunObserver for Console {
    fn cell_started(&self, cell: &Cell, label: &str, of: usize) {
        let line = format!("[{}/{}] {label}", cell.index + 1, of);
        if let Some(bar) = &self.bar {
            bar.set_position(0);
            bar.set_prefix(line.clone());
        } else if self.plain {
            eprintln!("{line} …");
        }
        *self.label.borrow_mut() = line;
    }

    fn cell_finished(&self, result: &CellResult) {
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
