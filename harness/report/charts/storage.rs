//! What reached the device and what survived a crash: payload vs device
//! bytes and write amplification per target, and durability outcomes of
//! crash trials per configuration.

use crate::fault::verify::Durability;
use plotters::style::RGBColor;

use super::draw::{self, Axis, BarSeries, HLine, Panel, Quantity};
use super::latency::finish;
use super::{Chart, ChartText};

/// Device counters of one configuration: bytes the mean over its
/// repeats, write amplification their median.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceBar {
    pub label: String,
    /// Bytes the workload handed to write().
    pub payload_bytes: f64,
    /// Bytes the block device saw written.
    pub device_bytes: f64,
    /// Device ÷ payload, when the model has it.
    pub write_amplification: Option<f64>,
    /// Other writers share the device (hostPath).
    pub shared: bool,
    /// False when the device's counters are not the cell's own (shared
    /// with the host): then neither its device bytes nor a write
    /// amplification is drawn, only a "not attributable" note.
    pub attributable: bool,
}

/// What the device chart writes where a device is not attributable.
pub const NOT_ATTRIBUTABLE: &str = "not attributable";

/// Durability of one configuration over all its crash trials.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DurabilityBar {
    pub label: String,
    pub trials: u64,
    pub acked_lost: u64,
    pub acked_name_lost: u64,
    pub unacked_lost: u64,
    pub loss_window_records: u64,
    /// Worst trial.
    pub loss_window_ms: f64,
}

impl DurabilityBar {
    /// Reads `faults[].durability` of a crash entry (missing fields are 0).
    pub fn of(label: &str, d: &Durability) -> DurabilityBar {
        DurabilityBar {
            label: label.to_string(),
            trials: u64::from(d.trials),
            acked_lost: d.acked_lost,
            acked_name_lost: d.acked_name_lost,
            unacked_lost: d.unacked_lost,
            loss_window_records: d.loss_window_records,
            loss_window_ms: Some(d.loss_window_ms)
                .filter(|v| v.is_finite())
                .unwrap_or(0.0),
        }
    }

    /// Adds another cell's trials (sums; the loss window is the worst).
    pub fn add(&mut self, o: &DurabilityBar) {
        self.trials += o.trials;
        self.acked_lost += o.acked_lost;
        self.acked_name_lost += o.acked_name_lost;
        self.unacked_lost += o.unacked_lost;
        self.loss_window_records += o.loss_window_records;
        self.loss_window_ms = self.loss_window_ms.max(o.loss_window_ms);
    }
}

/// Bar heights and their labels, each value in its own unit (`1.5 MiB`,
/// `1.1×`, `4.2 ms`).
fn bar_values(values: &[Option<f64>], axis: &Axis) -> Vec<Option<(f64, String)>> {
    values
        .iter()
        .map(|v| {
            v.filter(|v| v.is_finite())
                .map(|v| (axis.map(v), axis.format_value(v)))
        })
        .collect()
}

/// Bytes written (payload and device) and write amplification per
/// configuration.
pub fn device_chart(text: &ChartText, bars: &[DeviceBar]) -> Chart {
    let labels: Vec<String> = bars
        .iter()
        .map(|b| {
            if b.shared {
                format!("{} (shared)", b.label)
            } else {
                b.label.clone()
            }
        })
        .collect();
    let payload: Vec<Option<f64>> = bars.iter().map(|b| Some(b.payload_bytes)).collect();
    // A device shared with the host: its bytes are not the cell's, and
    // would dwarf the others'; the device table has them.
    let device: Vec<Option<f64>> = bars
        .iter()
        .map(|b| b.attributable.then_some(b.device_bytes))
        .collect();
    let max_bytes = bars
        .iter()
        .flat_map(|b| {
            [
                Some(b.payload_bytes),
                b.attributable.then_some(b.device_bytes),
            ]
        })
        .flatten()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let unit = Quantity::Bytes.unit_for(max_bytes);
    let top_hi = if max_bytes > 0.0 { max_bytes } else { unit.per };
    let y_bytes = Axis::linear_in("bytes written", 0.0, top_hi * 1.15, Quantity::Bytes, unit);
    let mut top = Panel::bars(
        labels.clone(),
        y_bytes.clone(),
        vec![
            BarSeries {
                label: "payload (write() calls)".to_string(),
                color: RGBColor(150, 195, 225),
                values: bar_values(&payload, &y_bytes),
                whiskers: Vec::new(),
                label_colors: Vec::new(),
            },
            BarSeries {
                label: "device (block layer)".to_string(),
                color: RGBColor(10, 60, 130),
                values: bar_values(&device, &y_bytes),
                whiskers: Vec::new(),
                label_colors: Vec::new(),
            },
        ],
    );
    if bars.is_empty() {
        top.note = Some("no device counters".to_string());
        top.legend = false;
    }

    let was: Vec<Option<f64>> = bars
        .iter()
        .map(|b| b.write_amplification.filter(|_| b.attributable))
        .collect();
    let wa_max = was
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .fold(1.0, f64::max);
    let y_wa = Axis::linear_in(
        "write amplification",
        0.0,
        wa_max * 1.15,
        Quantity::Ratio,
        Quantity::Ratio.unit_for(wa_max),
    );
    let mut bottom = Panel::bars(
        labels,
        y_wa.clone(),
        vec![BarSeries {
            label: "device ÷ payload".to_string(),
            color: draw::palette(1),
            values: bar_values(&was, &y_wa),
            whiskers: Vec::new(),
            label_colors: Vec::new(),
        }],
    )
    .with_slot_notes(
        bars.iter()
            .map(|b| (!b.attributable).then(|| NOT_ATTRIBUTABLE.to_string()))
            .collect(),
    );
    bottom.hlines.push(HLine {
        y: y_wa.map(1.0),
        label: "1× = no amplification".to_string(),
        color: draw::NEUTRAL,
    });
    // A device that is not attributable says so in its own slot.
    if bars.is_empty() || (was.iter().all(Option::is_none) && bars.iter().all(|b| b.attributable)) {
        bottom.note = Some("no write amplification (no payload or no device)".to_string());
    }
    finish(text, vec![top, bottom])
}

/// Writes lost after crash trials (acknowledged, names, unacknowledged)
/// and the loss window, per configuration.
pub fn durability_chart(text: &ChartText, bars: &[DurabilityBar]) -> Chart {
    let labels: Vec<String> = bars
        .iter()
        .map(|b| {
            let s = if b.trials == 1 { "" } else { "s" };
            format!("{} ({} trial{s})", b.label, b.trials)
        })
        .collect();
    let counts_max = bars
        .iter()
        .flat_map(|b| [b.acked_lost, b.acked_name_lost, b.unacked_lost])
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let y_counts = Axis::linear("writes lost (count)", 0.0, counts_max * 1.15, 1.0);
    let col = |f: fn(&DurabilityBar) -> u64| -> Vec<Option<f64>> {
        bars.iter().map(|b| Some(f(b) as f64)).collect()
    };
    let mut top = Panel::bars(
        labels.clone(),
        y_counts.clone(),
        vec![
            BarSeries {
                label: "acknowledged, lost (violation)".to_string(),
                color: draw::ALERT,
                values: bar_values(&col(|b| b.acked_lost), &y_counts),
                whiskers: Vec::new(),
                label_colors: Vec::new(),
            },
            BarSeries {
                label: "acknowledged, name lost".to_string(),
                color: draw::palette(1),
                values: bar_values(&col(|b| b.acked_name_lost), &y_counts),
                whiskers: Vec::new(),
                label_colors: Vec::new(),
            },
            BarSeries {
                label: "unacknowledged, lost".to_string(),
                color: RGBColor(120, 120, 120),
                values: bar_values(&col(|b| b.unacked_lost), &y_counts),
                whiskers: Vec::new(),
                label_colors: Vec::new(),
            },
        ],
    );
    if bars.is_empty() {
        top.note = Some("no crash trials".to_string());
        top.legend = false;
    }
    let window_max = bars
        .iter()
        .map(|b| b.loss_window_ms)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    // In ns, so the axis can say `500 µs` or `2 s`.
    let window_max_ns = window_max * 1e6;
    let y_window = Axis::linear_in(
        "loss window",
        0.0,
        if window_max_ns > 0.0 {
            window_max_ns * 1.15
        } else {
            1e6
        },
        Quantity::Duration,
        Quantity::Duration.unit_for(window_max_ns.max(1e6)),
    );
    let windows: Vec<Option<f64>> = bars.iter().map(|b| Some(b.loss_window_ms * 1e6)).collect();
    let mut bottom = Panel::bars(
        labels,
        y_window.clone(),
        vec![BarSeries {
            label: "worst trial: oldest lost write → power cut".to_string(),
            color: draw::palette(0),
            values: bar_values(&windows, &y_window),
            whiskers: Vec::new(),
            label_colors: Vec::new(),
        }],
    );
    if bars.is_empty() {
        bottom.legend = false;
    }
    finish(text, vec![top, bottom])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durability_reads_and_adds() {
        let d = Durability {
            trials: 10,
            acked_lost: 1,
            unacked_lost: 7,
            loss_window_ms: 12.5,
            loss_window_records: 7,
            ..Durability::default()
        };
        let mut a = DurabilityBar::of("ext4 · wal", &d);
        assert_eq!((a.trials, a.acked_lost, a.acked_name_lost), (10, 1, 0));
        let b = DurabilityBar::of(
            "x",
            &Durability {
                loss_window_ms: 30.0,
                ..Durability::default()
            },
        );
        a.add(&b);
        assert_eq!(a.loss_window_ms, 30.0);
        assert_eq!(a.unacked_lost, 7);
        let odd = DurabilityBar::of(
            "x",
            &Durability {
                loss_window_ms: f64::NAN,
                ..Durability::default()
            },
        );
        assert_eq!(odd.loss_window_ms, 0.0, "not a number is drawn as none");
    }
}
