//! Units for ticks and value labels. Each quantity picks the unit that
//! keeps its numbers at 1 or more, so a tick reads `250 µs`, `1.5 MiB` or
//! `0.5×` — never `0.00798` or `1e-4` of a unit the reader has to find in
//! the axis title.

use super::axis::format_value;

/// What the numbers on an axis are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quantity {
    /// A plain number; the unit, if any, is in the axis title.
    #[default]
    Number,
    /// A duration in nanoseconds.
    Duration,
    /// A size in bytes.
    Bytes,
    /// Operations per second.
    Rate,
    /// A factor (target ÷ baseline, write amplification): `2×`, `0.5×`.
    Ratio,
}

/// One unit of a quantity: its name and how many base units make one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit {
    pub name: &'static str,
    pub per: f64,
}

const fn unit(name: &'static str, per: f64) -> Unit {
    Unit { name, per }
}

const DURATION: [Unit; 4] = [
    unit("ns", 1.0),
    unit("µs", 1e3),
    unit("ms", 1e6),
    unit("s", 1e9),
];
const KIB: f64 = 1024.0;
const BYTES: [Unit; 5] = [
    unit("B", 1.0),
    unit("KiB", KIB),
    unit("MiB", KIB * KIB),
    unit("GiB", KIB * KIB * KIB),
    unit("TiB", KIB * KIB * KIB * KIB),
];
const RATE: [Unit; 3] = [
    unit("ops/s", 1.0),
    unit("k ops/s", 1e3),
    unit("M ops/s", 1e6),
];
const ONE: [Unit; 1] = [unit("", 1.0)];
const TIMES: [Unit; 1] = [unit("×", 1.0)];

impl Quantity {
    fn units(self) -> &'static [Unit] {
        match self {
            Quantity::Number => &ONE,
            Quantity::Duration => &DURATION,
            Quantity::Bytes => &BYTES,
            Quantity::Rate => &RATE,
            Quantity::Ratio => &TIMES,
        }
    }

    /// The unit for numbers up to `max`: the largest one `max` reaches
    /// (for rates, reaches ten times: `2500 ops/s` reads better than
    /// `2.5 k ops/s`).
    pub fn unit_for(self, max: f64) -> Unit {
        let reach = if self == Quantity::Rate { 10.0 } else { 1.0 };
        let units = self.units();
        units
            .iter()
            .rev()
            .find(|u| max.abs() >= u.per * reach)
            .copied()
            .unwrap_or(units[0])
    }

    /// The next smaller unit (`µs` for `ms`), if there is one.
    pub fn unit_below(self, unit: Unit) -> Option<Unit> {
        let units = self.units();
        let i = units.iter().position(|u| *u == unit)?;
        i.checked_sub(1).map(|j| units[j])
    }

    /// `v` (base units) as `number unit` in `unit`: `250 µs`, `1.5×`.
    pub fn format_in(self, v: f64, unit: Unit) -> String {
        let number = format_value(v / unit.per);
        match self {
            Quantity::Number => number,
            Quantity::Ratio => format!("{number}×"),
            _ => format!("{number} {}", unit.name),
        }
    }

    /// `v` (base units) in its own unit, three significant digits:
    /// `7.98 µs`, `41.2 k ops/s`, `1.5 MiB`; a factor below 0.01 as a
    /// fraction (`1/250×`).
    pub fn format(self, v: f64) -> String {
        if self == Quantity::Ratio && v > 0.0 && v < 0.01 {
            return format!("1/{}×", format_value(1.0 / v));
        }
        self.format_in(v, self.unit_for(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_quantity_picks_a_unit_that_keeps_numbers_at_one_or_more() {
        assert_eq!(Quantity::Duration.unit_for(900.0).name, "ns");
        assert_eq!(Quantity::Duration.unit_for(7_980.0).name, "µs");
        assert_eq!(Quantity::Duration.unit_for(2.5e8).name, "ms");
        assert_eq!(Quantity::Duration.unit_for(3e9).name, "s");
        assert_eq!(Quantity::Duration.unit_for(0.0).name, "ns");
        assert_eq!(Quantity::Bytes.unit_for(500.0).name, "B");
        assert_eq!(Quantity::Bytes.unit_for(23_068_672.0).name, "MiB");
        assert_eq!(Quantity::Rate.unit_for(2_500.0).name, "ops/s");
        assert_eq!(Quantity::Rate.unit_for(41_000.0).name, "k ops/s");
    }

    #[test]
    fn values_read_in_their_own_unit() {
        assert_eq!(Quantity::Duration.format(7_980.0), "7.98 µs");
        assert_eq!(Quantity::Duration.format(250_000.0), "250 µs");
        assert_eq!(Quantity::Duration.format(1.5e6), "1.5 ms");
        assert_eq!(Quantity::Duration.format(100.0), "100 ns");
        assert_eq!(Quantity::Bytes.format(1.5 * KIB * KIB), "1.5 MiB");
        assert_eq!(Quantity::Rate.format(41_234.0), "41.2 k ops/s");
        assert_eq!(Quantity::Ratio.format(17.6), "17.6×");
        assert_eq!(Quantity::Ratio.format(0.5), "0.5×");
        assert_eq!(Quantity::Ratio.format(0.004), "1/250×");
        assert_eq!(Quantity::Number.format(0.25), "0.25");
        // In a given unit, for a shared axis.
        assert_eq!(
            Quantity::Duration.format_in(1.5e6, Quantity::Duration.unit_for(1e3)),
            "1500 µs"
        );
    }
}
