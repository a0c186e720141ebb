//! A fault's timeline: when it was armed, when it fired, when it was
//! healed, and what else happened to it on the way. Events are taken as
//! `Instant`s while the cell runs and written as seconds from the start of
//! the measured phase — the origin of the cell's interval log — so a chart
//! can mark them on the per-second series.

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// What happened to a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// In place: the cgroup made, the neighbour started, the pool capped,
    /// the filesystem filled, the crash scheduled.
    Armed,
    /// It took effect: the power cut, the first error a worker saw.
    Fired,
    /// Undone: the cgroup removed, the neighbour stopped, room made and the
    /// filesystem mounted again.
    Healed,
    /// A step in between worth placing on the time axis (a probe).
    Note,
}

impl Event {
    /// The name result.json gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Armed => "armed",
            Event::Fired => "fired",
            Event::Healed => "healed",
            Event::Note => "note",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Timeline {
    events: Vec<(Event, Instant, String)>,
}

/// One event as written to result.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimedEvent {
    pub event: Event,
    /// Seconds from the start of the measured phase (negative: before it,
    /// during setup or warm-up).
    pub at_s: f64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl Timeline {
    /// Records `event` as happening now.
    pub fn mark(&mut self, event: Event, detail: impl Into<String>) {
        self.mark_at(event, Instant::now(), detail);
    }

    /// Records `event` as happening at `at` (a moment measured elsewhere,
    /// such as a worker's first error).
    pub fn mark_at(&mut self, event: Event, at: Instant, detail: impl Into<String>) {
        self.events.push((event, at, detail.into()));
    }

    /// Whether `event` was recorded.
    pub fn has(&self, event: Event) -> bool {
        self.events.iter().any(|(e, _, _)| *e == event)
    }

    /// The events in time order, relative to `origin` (the start of the
    /// measured phase).
    pub fn relative_to(&self, origin: Instant) -> Vec<TimedEvent> {
        let mut out: Vec<TimedEvent> = self
            .events
            .iter()
            .map(|(event, at, detail)| TimedEvent {
                event: *event,
                at_s: seconds_since(origin, *at),
                detail: detail.clone(),
            })
            .collect();
        out.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        out
    }
}

/// Seconds from `origin` to `t`, negative when `t` is earlier.
pub fn seconds_since(origin: Instant, t: Instant) -> f64 {
    if t >= origin {
        t.duration_since(origin).as_secs_f64()
    } else {
        -origin.duration_since(t).as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn events_are_ordered_and_relative_to_the_measured_phase() {
        let origin = Instant::now() + Duration::from_secs(1);
        let mut t = Timeline::default();
        t.mark_at(Event::Healed, origin + Duration::from_millis(2500), "");
        t.mark_at(Event::Armed, origin - Duration::from_millis(500), "capped");
        t.mark_at(Event::Fired, origin + Duration::from_millis(1200), "EIO");
        let rel = t.relative_to(origin);
        let order: Vec<Event> = rel.iter().map(|e| e.event).collect();
        assert_eq!(order, [Event::Armed, Event::Fired, Event::Healed]);
        assert!((rel[0].at_s + 0.5).abs() < 1e-9, "{}", rel[0].at_s);
        assert!((rel[1].at_s - 1.2).abs() < 1e-9);
        let json = serde_json::to_value(t.relative_to(origin)).unwrap();
        assert_eq!(json[0]["event"], "armed");
        assert_eq!(json[0]["detail"], "capped");
        assert!(
            json[2].get("detail").is_none(),
            "empty details are left out"
        );
        assert!(t.has(Event::Fired) && !t.has(Event::Note));
    }
}
