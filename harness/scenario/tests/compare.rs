//! `compare:` — baselines by full or written name, `vary` defaults, and
//! `min_effect`.

use super::*;

const VARY: &str = "  - name: ext4\n    kind: ext4\n    vary:\n      options: [[relatime], [noatime], [strictatime]]\n";

fn pairs(s: &Scenario) -> Vec<(String, String)> {
    s.comparison_pairs()
}

fn p(a: &str, b: &str) -> (String, String) {
    (a.into(), b.into())
}

#[test]
fn without_compare_each_vary_group_is_compared_with_its_first_value() {
    let s = ok(&with(VARY, ""));
    assert_eq!(s.compare, CompareSpec::default());
    assert_eq!(s.compare.min_effect, 0.05);
    assert_eq!(
        pairs(&s),
        [
            p("ext4[relatime]", "ext4[noatime]"),
            p("ext4[relatime]", "ext4[strictatime]")
        ]
    );
    // Targets without vary are compared with nothing.
    assert!(pairs(&ok(&with("", ""))).is_empty());
}

#[test]
fn a_baseline_by_full_or_written_name_is_compared_with_every_other_target() {
    let s = ok(&format!(
        "{}compare:\n  baseline: ext4[noatime]\n  min_effect: 10%\n",
        with(VARY, "")
    ));
    assert_eq!(s.compare.baseline.as_deref(), Some("ext4[noatime]"));
    assert_eq!(s.compare.min_effect, 0.10);
    assert_eq!(
        pairs(&s),
        [
            p("ext4[noatime]", "tmp"),
            p("ext4[noatime]", "ext4[relatime]"),
            p("ext4[noatime]", "ext4[strictatime]")
        ]
    );
    // The written name means its first value.
    let s = ok(&format!("{}compare: {{baseline: ext4}}\n", with(VARY, "")));
    assert_eq!(s.compare.baseline.as_deref(), Some("ext4[relatime]"));
    let s = ok(&format!("{}compare: {{baseline: tmp}}\n", with(VARY, "")));
    assert_eq!(pairs(&s).len(), 3);
    assert!(pairs(&s).iter().all(|(b, _)| b == "tmp"));
}

#[test]
fn compare_errors_name_the_key_and_what_exists() {
    let base = with(VARY, "");
    let line = base.lines().count() + 1;
    let d = errs(&format!("{base}compare: {{baseline: ext5}}\n"));
    expect(
        &d,
        line,
        11,
        "compare.baseline",
        "unknown target `ext5`, did you mean `ext4`?",
    );
    let d = errs(&format!("{base}compare: {{min_effect: 150%}}\n"));
    expect(&d, line, 11, "compare.min_effect", "below 100%");
    let d = errs(&format!("{base}compare: {{min_effect: 5}}\n"));
    assert!(
        d.iter()
            .any(|d| d.key == "compare.min_effect" && d.message.contains("`5%`")),
        "{}",
        Diagnostics(d.clone())
    );
    let d = errs(&format!(
        "{base}compare: {{baseline: tmp, min_efect: 5%}}\n"
    ));
    assert!(
        d.iter()
            .any(|d| d.message.contains("did you mean `min_effect`")),
        "{}",
        Diagnostics(d.clone())
    );
    let d = errs(&format!("{base}compare: tmp\n"));
    expect(&d, line, 1, "compare", "is a mapping");
}
