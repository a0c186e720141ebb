//! `compare:` — the baseline target (a full name such as `ext4[relatime]`,
//! or a name as written, which means its first `vary` value) and
//! `min_effect`.

use super::{At, Ctx};
use crate::scenario::diag;
use crate::scenario::raw::{Percent, RawCompare, U};
use crate::scenario::spec::{CompareSpec, TargetSpec, DEFAULT_MIN_EFFECT};
use crate::scenario::yaml::{self, Node};

pub(super) fn compare_spec(
    cx: &mut Ctx,
    node: Option<&Node>,
    targets: &[TargetSpec],
) -> CompareSpec {
    let Some(node) = node else {
        return CompareSpec::default();
    };
    let at = At::new("compare".into());
    if !yaml::is_mapping(node) {
        cx.err(
            "compare",
            format!(
                "`compare` is a mapping such as `{{baseline: ext4[relatime], min_effect: 5%}}`; \
                 found {}",
                yaml::describe(node)
            ),
        );
        return CompareSpec::default();
    }
    let raw: RawCompare = match yaml::from_node(node) {
        Ok(r) => r,
        Err(e) => {
            cx.de_err(&at, e);
            return CompareSpec::default();
        }
    };
    let min_effect = match raw.min_effect {
        None => DEFAULT_MIN_EFFECT,
        Some(U(Percent(m))) if (0.0..1.0).contains(&m) => m,
        Some(U(Percent(m))) => {
            cx.err(
                "compare.min_effect",
                format!(
                    "must be at least 0% and below 100%, not {}%: it is the smallest change \
                     a verdict names",
                    m * 100.0
                ),
            );
            DEFAULT_MIN_EFFECT
        }
    };
    let baseline = raw.baseline.and_then(|b| {
        let found = targets
            .iter()
            .find(|t| t.name == b)
            .or_else(|| targets.iter().find(|t| t.base_name == b));
        if found.is_none() && !targets.is_empty() {
            let mut names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
            for t in targets {
                if !names.contains(&t.base_name.as_str()) {
                    names.push(&t.base_name);
                }
            }
            cx.err("compare.baseline", diag::unknown("target", &b, &names));
        }
        found.map(|t| t.name.clone())
    });
    CompareSpec {
        baseline,
        min_effect,
    }
}
