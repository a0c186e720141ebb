//! `gates:` entries, in a scenario or a gate file (`--gate`).

use std::path::Path;
use std::time::Duration;

use super::cells::Cells;
use super::faults::{check_glob, fault_name, Names};
use super::{check_version, parse, At, Ctx};
use crate::glob::glob_match;
use crate::record::Op;
use crate::scenario::diag::{self, Diagnostics};
use crate::scenario::raw::*;
use crate::scenario::spec::*;
use crate::scenario::yaml::{self, Node};
use crate::scenario::Overrides;

pub(super) fn gate_entry(
    cx: &mut Ctx,
    i: usize,
    node: &Node,
    // None for a gate file checked alone: its selectors are checked
    // against a run's names only when it gates one.
    names: Option<&Names>,
    faults: &[(&str, &str)],
    cells: Option<&Cells>,
) -> Option<GateSpec> {
    let at = At::new(format!("gates[{i}]"));
    if !yaml::is_mapping(node) {
        cx.err(
            &at.base,
            format!(
                "a gate is a mapping: `select` with limits, or `baseline`; found {}",
                yaml::describe(node)
            ),
        );
        return None;
    }
    let raw: RawGate = match yaml::from_node(node) {
        Ok(r) => r,
        Err(e) => {
            cx.de_err(&at, e);
            return None;
        }
    };
    let mut limits: Vec<GateLimit> = Vec::new();
    let mut limit_keys: Vec<(String, Limit)> = Vec::new();
    for (prefix, level, raw_limits) in [
        ("", Level::Fail, Some(raw.top_limits())),
        ("fail.", Level::Fail, raw.fail),
        ("warn.", Level::Warn, raw.warn),
    ] {
        if let Some(r) = raw_limits {
            for (key, limit) in check_limits(cx, &at, prefix, &r) {
                limits.push(GateLimit { level, limit });
                limit_keys.push((key, limit));
            }
        }
    }

    if let Some(name) = &raw.name {
        super::names::check_name(cx, &at.key("name"), name);
    }
    let select = raw.select.clone().unwrap_or_default();
    check_select(cx, &at, &select, names, faults);
    let (max_regression, warn_regression) = check_baseline(cx, &at, &raw, limits.is_empty());
    let select = Selector {
        target: select.target,
        workload: select.workload,
        op: select.op,
        fault: select.fault,
    };
    if let Some(cells) = cells {
        for (key, m) in cells.inapplicable(&at, &select, &limit_keys) {
            cx.err(&key, m);
        }
    }
    Some(GateSpec {
        select,
        limits,
        max_regression,
        warn_regression,
        origin: at.base.clone(),
        name: raw.name.clone(),
    })
}

/// Gate names are unique in their file: a second use is refused, naming
/// where the first is. `gates` are as `gate_entry` returned them (origin
/// still `gates[i]`).
pub(super) fn unique_gate_names(cx: &mut Ctx, gates: &[GateSpec]) {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for g in gates {
        let Some(name) = g.name.as_deref() else {
            continue;
        };
        match seen.iter().find(|(n, _)| *n == name) {
            Some((_, first)) => {
                let first_key = yaml::join(first, "name");
                let (line, col) = cx.spans.resolve(&first_key);
                cx.err(
                    &yaml::join(&g.origin, "name"),
                    format!(
                        "gate name `{name}` is used twice (first at {first_key}, line {line} \
                         column {col}); gate names must be unique in their file"
                    ),
                );
            }
            None => seen.push((name, &g.origin)),
        }
    }
}

/// The limits of one level (`prefix` "", "fail." or "warn."), checked.
fn check_limits(cx: &mut Ctx, at: &At, prefix: &str, raw: &RawLimits) -> Vec<(String, Limit)> {
    let lat = |stat, v: Option<U<Duration>>| v.map(|U(max)| Limit::Latency { stat, max });
    let limits: Vec<(&str, Limit)> = [
        ("p50", lat(LatencyStat::P50, raw.p50)),
        ("p90", lat(LatencyStat::P90, raw.p90)),
        ("p95", lat(LatencyStat::P95, raw.p95)),
        ("p99", lat(LatencyStat::P99, raw.p99)),
        ("p999", lat(LatencyStat::P999, raw.p999)),
        ("max", lat(LatencyStat::Max, raw.max)),
        ("mean", lat(LatencyStat::Mean, raw.mean)),
        (
            "throughput",
            raw.throughput
                .map(|U(Rate(r))| Limit::Throughput { min_per_sec: r }),
        ),
        (
            "error_rate",
            raw.error_rate
                .map(|U(Percent(p))| Limit::ErrorRate { max: p }),
        ),
        (
            "write_amplification",
            raw.write_amplification
                .map(|w| Limit::WriteAmplification { max: w }),
        ),
        (
            "acked_lost",
            raw.acked_lost.map(|n| Limit::AckedLost { max: n }),
        ),
    ]
    .into_iter()
    .filter_map(|(k, l)| l.map(|l| (k, l)))
    .collect();
    for (k, l) in &limits {
        let bad = match *l {
            Limit::Throughput { min_per_sec } => {
                (!(min_per_sec.is_finite() && min_per_sec > 0.0)).then_some("must be more than 0/s")
            }
            Limit::ErrorRate { max } => (max > 1.0).then_some("must be at most 100%"),
            Limit::WriteAmplification { max } => {
                (!(max.is_finite() && max > 0.0)).then_some("must be a number above 0, e.g. 1.5")
            }
            _ => None,
        };
        if let Some(m) = bad {
            cx.err(&at.key(&format!("{prefix}{k}")), m);
        }
    }
    limits
        .into_iter()
        .map(|(k, l)| (at.key(&format!("{prefix}{k}")), l))
        .collect()
}

/// The names a separate gate file is checked against: those of the run it
/// gates (`(full, written)` pairs, as in a scenario).
#[derive(Debug, Clone, Default)]
pub struct GateNames {
    pub targets: Vec<(String, String)>,
    pub workloads: Vec<(String, String)>,
    pub faults: Vec<String>,
    /// The checked scenario whose cells the gates will judge, when they are
    /// loaded before its run: a limit no selected cell can have is then
    /// refused at once, as in the scenario's own `gates:`. None for a
    /// finished run (the gate room judges what it recorded).
    pub scenario: Option<Box<Scenario>>,
}

impl GateNames {
    /// The names, and the cells, of a checked scenario's run.
    pub fn of(s: &Scenario) -> GateNames {
        GateNames {
            targets: s
                .targets
                .iter()
                .map(|t| (t.name.clone(), t.base_name.clone()))
                .collect(),
            workloads: s
                .workloads
                .iter()
                .map(|w| (w.name.clone(), w.base_name.clone()))
                .collect(),
            faults: s
                .faults
                .iter()
                .map(|f| fault_name(f.kind).to_string())
                .collect(),
            scenario: Some(Box::new(s.clone())),
        }
    }
}

/// Reads and checks a gate file (`--gate ci/gate.yaml`): `version: 1` and
/// `gates:`, each gate exactly as in a scenario, checked against `names`.
pub fn load_gates_str(
    text: &str,
    file: &Path,
    names: &GateNames,
) -> Result<Vec<GateSpec>, Diagnostics> {
    gates_of(text, file, Some(names))
}

/// Checks a gate file alone (`wpbench validate ci/gate.yaml`): all but
/// whether its selectors match a run's targets, workloads and faults,
/// which only a run it gates can say.
pub fn load_gates_alone(text: &str, file: &Path) -> Result<Vec<GateSpec>, Diagnostics> {
    gates_of(text, file, None)
}

fn gates_of(
    text: &str,
    file: &Path,
    names: Option<&GateNames>,
) -> Result<Vec<GateSpec>, Diagnostics> {
    let empty = GateNames::default();
    let bound = names.is_some();
    let names = names.unwrap_or(&empty);
    let (spans, node) = parse(text, file)?;
    let mut cx = Ctx {
        file,
        spans,
        overrides: &Overrides::default(),
        host: &crate::scenario::NoHost,
        diags: Vec::new(),
    };
    if !yaml::is_mapping(&node) {
        cx.err(
            "",
            format!(
                "a gate file is a mapping with `version: 1` and `gates:`; this file holds {}",
                yaml::describe(&node)
            ),
        );
        return Err(cx.finish());
    }
    let raw: RawGateFile = match yaml::from_node(&node) {
        Ok(r) => r,
        Err(e) => {
            cx.de_err(&At::new(String::new()), e);
            return Err(cx.finish());
        }
    };
    check_version(&mut cx, raw.version);
    fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
        v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
    }
    let names_ref = Names {
        targets: pairs(&names.targets),
        workloads: pairs(&names.workloads),
    };
    let faults: Vec<(&str, &str)> = names
        .faults
        .iter()
        .map(|f| (f.as_str(), f.as_str()))
        .collect();
    let nodes = raw.gates.unwrap_or_default();
    if nodes.is_empty() {
        cx.err(
            "gates",
            "missing or empty `gates:`; a gate file needs at least one gate",
        );
    }
    let display = file.display().to_string();
    let cells = names
        .scenario
        .as_deref()
        .map(|s| Cells::new(&s.targets, &s.workloads, &s.faults));
    let gates: Vec<GateSpec> = nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let names = bound.then_some(&names_ref);
            gate_entry(&mut cx, i, n, names, &faults, cells.as_ref())
        })
        .collect();
    unique_gate_names(&mut cx, &gates);
    let gates: Vec<GateSpec> = gates
        .into_iter()
        .map(|mut g| {
            g.origin = format!("{display}: {}", g.origin);
            g
        })
        .collect();
    if cx.diags.is_empty() {
        Ok(gates)
    } else {
        Err(cx.finish())
    }
}

/// `select`: each glob must select something, `op` must name an op.
fn check_select(
    cx: &mut Ctx,
    at: &At,
    select: &RawSelect,
    names: Option<&Names>,
    faults: &[(&str, &str)],
) {
    if let Some(op) = &select.op {
        let ops: Vec<&str> = Op::ALL.iter().map(|o| o.name()).collect();
        if !ops.iter().any(|n| glob_match(op, n)) {
            cx.err(&at.key("select.op"), diag::unknown("op", op, &ops));
        }
    }
    let Some(names) = names else {
        return;
    };
    if let Some(g) = &select.target {
        check_glob(cx, &at.key("select.target"), g, "target", &names.targets);
    }
    if let Some(g) = &select.workload {
        check_glob(
            cx,
            &at.key("select.workload"),
            g,
            "workload",
            &names.workloads,
        );
    }
    if let Some(g) = &select.fault {
        if faults.is_empty() {
            cx.err(
                &at.key("select.fault"),
                format!("`{g}` matches no fault: this scenario declares no `faults`"),
            );
        } else {
            check_glob(cx, &at.key("select.fault"), g, "fault", faults);
        }
    }
}

/// `baseline`: (max_regression, warn_regression), alone in its gate;
/// without it, a gate needs limits (`no_limits` says it has none).
fn check_baseline(
    cx: &mut Ctx,
    at: &At,
    raw: &RawGate,
    no_limits: bool,
) -> (Option<f64>, Option<f64>) {
    let mut warn_regression = None;
    let max_regression = match &raw.baseline {
        Some(b) => {
            warn_regression = b.warn_regression.map(|U(Percent(p))| p);
            if let (Some(w), Some(U(Percent(m)))) = (warn_regression, b.max_regression) {
                if w > m {
                    cx.err(
                        &at.key("baseline.warn_regression"),
                        "must not exceed `max_regression`: a regression that fails cannot be \
                         smaller than one that only warns",
                    );
                }
            }
            if raw.select.is_some() || !no_limits {
                cx.err(
                    &at.key("baseline"),
                    "a gate is either `baseline: {max_regression: 10%}` or `select` with \
                     limits; split it into two gates",
                );
            }
            match b.max_regression {
                Some(U(Percent(p))) => Some(p),
                None => {
                    cx.err(
                        &at.key("baseline.max_regression"),
                        "missing required key `max_regression`, e.g. `baseline: {max_regression: 10%}`",
                    );
                    None
                }
            }
        }
        None => {
            if no_limits {
                let (key, msg) = if raw.select.is_some() {
                    (
                        at.key("select"),
                        "this gate selects cells but sets no limit; add one of p50 p90 p95 \
                         p99 p999 max mean throughput error_rate write_amplification acked_lost",
                    )
                } else {
                    (
                        at.base.clone(),
                        "an empty gate; give `select` with limits, or `baseline: {max_regression: 10%}`",
                    )
                };
                cx.err(&key, msg);
            }
            None
        }
    };
    (max_regression, warn_regression)
}
