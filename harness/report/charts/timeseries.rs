//! A cell interval by interval, from its .hlog: unit-op throughput on top,
//! p99 latency below, fault events (armed, fired, healed …) as dashed
//! vertical lines in both. A stall shows as a dip to zero, not as a missing
//! point; the end of a cell or a power cut never shows as one (each
//! interval's rate is over its real length).

use crate::fault::outcome::FaultEntry;
use plotters::style::RGBColor;

use super::draw::{self, Axis, Body, Curve, Panel, Quantity, VLine};
use super::latency::{finish, latency_axis};
use super::{Chart, ChartText};
use crate::record::{HlogData, SeriesPoint};

/// A fault event on the time axis: seconds from the measured phase's start
/// (the .hlog's BaseTime).
#[derive(Debug, Clone, PartialEq)]
pub struct FaultMark {
    pub at_s: f64,
    /// "armed", "fired", "healed" …
    pub event: String,
    /// What the chart prints ("crash fired 2.31 s").
    pub label: String,
}

/// Longest series drawn (intervals); beyond it the log is truncated.
const MAX_INTERVALS: usize = 100_000;

/// The fault events of a cell, in time order.
///
/// Each `faults[]` entry may carry `timeline: [{event, at_s}]`. Crash
/// entries carry one per trial in `per_trial[].timeline`; the cell's ops
/// and .hlog are the first trial's, so only the first trial with a
/// timeline is shown. Without any timeline, `fired_at_s` stands for a
/// single "fired" event.
pub fn fault_marks(faults: &[FaultEntry]) -> Vec<FaultMark> {
    let mut marks = Vec::new();
    for f in faults {
        let kind = f.kind_name();
        let timeline = f
            .timeline()
            .or_else(|| f.trials().iter().find_map(|t| t.timeline()));
        let events: Vec<(String, f64)> = match timeline {
            Some(events) => events
                .iter()
                .map(|e| (e.event.as_str().to_string(), e.at_s))
                .collect(),
            None => f
                .fired_at_s()
                .map(|at| vec![("fired".to_string(), at)])
                .unwrap_or_default(),
        };
        for (event, at_s) in events {
            if at_s.is_finite() {
                marks.push(FaultMark {
                    at_s,
                    label: format!("{kind} {event} {} s", draw::format_value(at_s)),
                    event,
                });
            }
        }
    }
    // Stable: equal times keep the faults' order.
    marks.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    marks
}

fn event_color(event: &str) -> RGBColor {
    match event {
        "fired" | "cut" | "crash" => draw::ALERT,
        "healed" | "recovered" => RGBColor(0, 140, 100),
        "armed" => RGBColor(120, 90, 0),
        _ => RGBColor(120, 60, 160),
    }
}

/// Throughput and p99 latency per interval of one cell, with fault marks.
///
/// The intervals are laid out by [`HlogData::series`]: each with its real
/// length, the last one cut at `duration_s` (or folded into the one before
/// when it is a sliver), so the rate of an interval is its ops over the
/// time the cell really spent in it, and the series never ends on a drop
/// the workload did not have. Each point sits in the middle of its
/// interval. `interval_s` is the cell's nominal interval (result.json's
/// `interval_s`), when known.
pub fn cell_time_series(
    text: &ChartText,
    hlog: &HlogData,
    unit_op: &str,
    duration_s: f64,
    interval_s: Option<f64>,
    marks: &[FaultMark],
) -> Chart {
    let end = (duration_s.is_finite() && duration_s > 0.0).then_some(duration_s);
    let points = hlog.series(unit_op, interval_s, end, MAX_INTERVALS);
    let n = points.len();
    let data_hi = points
        .last()
        .map_or(0.0, |p| p.start_s + p.length_s)
        .max(end.unwrap_or(0.0));
    // Events long after the data (a heal after the cell ended) would squash
    // the series into a corner: show those up to twice the data's span.
    let marks: Vec<&FaultMark> = marks
        .iter()
        .filter(|m| m.at_s.is_finite() && m.at_s <= data_hi * 2.0 + 1.0)
        .collect();
    let mark_max = marks.iter().map(|m| m.at_s).fold(0.0, f64::max);
    let x_hi = data_hi.max(mark_max * 1.02).max(1.0);
    let x = Axis::linear("time since the measured phase began (s)", 0.0, x_hi, 1.0);
    let rates: Vec<f64> = points.iter().map(SeriesPoint::rate).collect();
    let rate_max = rates.iter().copied().fold(0.0, f64::max);
    // `file throughput (k ops/s)`: the op names what is counted.
    let rate_unit = Quantity::Rate.unit_for(rate_max);
    let rate_label = format!("{unit_op} throughput ({})", rate_unit.name);
    let p99s: Vec<Option<f64>> = points.iter().map(|p| p.p99_ns).collect();
    let p99_values: Vec<f64> = p99s.iter().flatten().copied().collect();

    if n == 0 || rate_max == 0.0 && p99_values.is_empty() {
        return finish(text, no_data_panels(&x, &rate_label, &marks));
    }

    let mid = |k: usize| points[k].start_s + points[k].length_s / 2.0;
    // Room above the data for three rows of event labels.
    let headroom = if marks.is_empty() { 0.05 } else { 0.4 };
    let y_rate = Axis::linear_in(
        &rate_label,
        0.0,
        rate_max.max(1.0) / (1.0 - headroom),
        Quantity::Number,
        rate_unit,
    );
    let few = n <= 40;
    let rate_line = Curve {
        label: String::new(),
        color: draw::palette(0),
        segments: vec![(0..n)
            .map(|k| (x.map(mid(k)), y_rate.map(rates[k])))
            .collect()],
        dots: few,
    };
    let y_lat = latency_axis("p99 latency", &p99_values, 0.05, text.latency_unit);
    let p99_line = Curve {
        label: String::new(),
        color: draw::palette(5),
        segments: p99_segments(&p99s, |k, v| (x.map(mid(k)), y_lat.map(v))),
        dots: few,
    };
    // One time axis title, under the bottom panel.
    let top = Panel {
        x: untitled(&x),
        y: y_rate,
        body: Body::Lines(vec![rate_line]),
        legend: false,
        vlines: mark_lines(&marks, true, &x),
        hlines: Vec::new(),
        bands: Vec::new(),
        note: None,
    };
    let bottom = Panel {
        x: x.clone(),
        y: y_lat,
        body: Body::Lines(vec![p99_line]),
        legend: false,
        vlines: mark_lines(&marks, false, &x),
        hlines: Vec::new(),
        bands: Vec::new(),
        note: None,
    };
    finish(text, vec![top, bottom])
}

/// The time axis without its title (the top panel's: the title is drawn
/// once, under the bottom one).
fn untitled(x: &Axis) -> Axis {
    Axis {
        label: String::new(),
        ..x.clone()
    }
}

/// The fault marks as vertical lines; labelled in one panel only, so each
/// label is printed once.
fn mark_lines(marks: &[&FaultMark], with_labels: bool, x: &Axis) -> Vec<VLine> {
    marks
        .iter()
        .map(|m| VLine {
            x: x.map(m.at_s),
            label: if with_labels {
                m.label.clone()
            } else {
                String::new()
            },
            color: event_color(&m.event),
        })
        .collect()
}

/// Empty axes saying "no data", with the fault marks still shown.
fn no_data_panels(x: &Axis, rate_label: &str, marks: &[&FaultMark]) -> Vec<Panel> {
    let mut top = Panel::empty(untitled(x), Axis::blank(rate_label), "no data");
    top.vlines = mark_lines(marks, true, x);
    let mut bottom = Panel::empty(x.clone(), Axis::blank("p99 latency"), "");
    bottom.note = None;
    bottom.vlines = mark_lines(marks, false, x);
    vec![top, bottom]
}

/// The p99 line as plot points, broken where an interval had no unit op
/// (a gap, not a drop to zero).
fn p99_segments(
    p99s: &[Option<f64>],
    point: impl Fn(usize, f64) -> (f64, f64),
) -> Vec<Vec<(f64, f64)>> {
    let mut segments: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for (k, p) in p99s.iter().enumerate() {
        match p {
            Some(v) => current.push(point(k, *v)),
            None if !current.is_empty() => segments.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_ends_on_the_cells_real_rate() {
        use crate::record::{new_histogram, HlogInterval};
        let line = |start_s: f64, n: u64| {
            let mut hist = new_histogram();
            for v in 1..=n {
                hist.record(v * 1000).unwrap();
            }
            HlogInterval::new(Some("file"), start_s, 1.0, &hist)
        };
        // An older log of a 2 s cell crashed at 1.48 s: 1370 files in the
        // first second, 700 in the 0.48 s after.
        let hlog = HlogData {
            intervals: vec![line(0.0, 1370), line(1.0, 700)],
            ..HlogData::default()
        };
        let text = ChartText {
            file_stem: "ts".into(),
            title: "t".into(),
            footer: String::new(),
            latency_unit: None,
        };
        let chart = cell_time_series(&text, &hlog, "file", 1.48, None, &[]);
        assert!(chart.svg.contains("<svg"));
        let points = hlog.series("file", None, Some(1.48), MAX_INTERVALS);
        assert_eq!(points.len(), 2);
        assert!((points[1].length_s - 0.48).abs() < 1e-9);
        assert!(points[1].rate() > points[0].rate(), "{points:?}");
    }

    #[test]
    fn marks_come_from_timelines_then_trials_then_fired_at() {
        let mut cell = crate::report::fixtures::cell(0, "ext4", "wal", 0, vec![]);
        use crate::fault::outcome::testing::{crash, throttle, trial, unfired};
        use crate::fault::timeline::Event;
        let d = crate::fault::verify::Durability::default();
        cell.faults = vec![
            throttle(&[(Event::Armed, 0.0), (Event::Healed, 4.0)]),
            // The first trial with a timeline stands for the cell.
            crash(
                d.clone(),
                Some(9.0),
                vec![
                    unfired(0),
                    trial(1, &[(Event::Fired, 2.5)]),
                    trial(2, &[(Event::Fired, 3.5)]),
                ],
            ),
            // No timeline at all: when it fired.
            crash(d, Some(1.25), Vec::new()),
        ];
        let marks = fault_marks(&cell.faults);
        let got: Vec<(&str, f64)> = marks.iter().map(|m| (m.label.as_str(), m.at_s)).collect();
        assert_eq!(
            got,
            [
                ("throttle armed 0 s", 0.0),
                ("crash fired 1.25 s", 1.25),
                ("crash fired 2.5 s", 2.5),
                ("throttle healed 4 s", 4.0),
            ]
        );
    }
}
