//! Command-line overrides, checked like the file's values.

use std::time::Duration;

use super::*;

#[test]
fn overrides_replace_the_files_values_before_the_checks() {
    let file = "version: 1\nname: t\nduration: 5s\nwarmup: 2s\nrepeat: 2\nseed: 1\n\
                targets:\n  - {name: m, kind: tmpfs}\nworkloads:\n  - {name: w, kind: small_files}\n";
    let s = ok_with(file, &Overrides::default());
    assert_eq!(
        (s.stop, s.warmup, s.repeat, s.seed),
        (
            Stop::Duration(Duration::from_secs(5)),
            Duration::from_secs(2),
            2,
            1
        )
    );
    let s = ok_with(
        file,
        &Overrides {
            ops: Some(300),
            warmup: Some(Duration::ZERO),
            repeat: Some(4),
            seed: Some(7),
            ..Overrides::default()
        },
    );
    assert_eq!(
        (s.stop, s.warmup, s.repeat, s.seed),
        (Stop::Ops(300), Duration::ZERO, 4, 7),
        "--ops replaces the file's duration"
    );
    let ops_file = file.replace("duration: 5s", "ops: 1000");
    let duration = |d| Overrides {
        duration: Some(d),
        ..Overrides::default()
    };
    let s = ok_with(&ops_file, &duration(Duration::from_secs(3)));
    assert_eq!(
        s.stop,
        Stop::Duration(Duration::from_secs(3)),
        "--duration replaces ops"
    );
    // The sha256 stays the file's: a gate later finds it unchanged.
    assert_eq!(s.sha256, ok(&ops_file).sha256);
    // A value the checks refuse is reported as the flag's, not at a line.
    let d = errs_with(&ops_file, &duration(Duration::ZERO));
    expect(&d, 0, 0, "", "--duration 0s: must be longer than 0s");
    let both = Overrides {
        duration: Some(Duration::from_secs(1)),
        ops: Some(5),
        ..Overrides::default()
    };
    expect(&errs_with(file, &both), 0, 0, "", "--ops 5: give either");
    // The file's own mistakes are still its own, at their place.
    let d = errs_with(
        &file.replace("seed: 1", "seed: x"),
        &duration(Duration::from_secs(1)),
    );
    expect(&d, 6, 1, "seed", "expected a whole number");
}

#[test]
fn repeat_override_goes_through_the_cell_count_check() {
    let file = "version: 1\nname: t\nduration: 1s\ntargets:\n  - {name: m, kind: tmpfs}\n\
                workloads:\n  - {name: w, kind: small_files}\n";
    let repeat = |r| Overrides {
        repeat: Some(r),
        ..Overrides::default()
    };
    assert_eq!(ok_with(file, &repeat(100_000)).repeat, 100_000);
    let d = errs_with(file, &repeat(4_000_000_000));
    assert_eq!(d.len(), 1, "{}", Diagnostics(d.clone()));
    expect(
        &d,
        0,
        0,
        "",
        "--repeat 4000000000: 1 targets × 1 workloads × 4000000000 repeats",
    );
    expect(&d, 0, 0, "", "more than the 100000 a run may have");
    // A file whose own repeat is too many runs with a smaller one.
    let too_many = file.replace("duration: 1s", "duration: 1s\nrepeat: 200000");
    assert!(!errs(&too_many).is_empty());
    assert_eq!(ok_with(&too_many, &repeat(3)).repeat, 3);
}

#[test]
fn duration_override_shorter_than_a_crash_window_is_refused() {
    let file = "version: 1\nname: t\nduration: 5s\ntargets:\n  - {name: e, kind: ext4}\n\
                workloads:\n  - {name: w, kind: fsync_heavy}\n\
                faults:\n  - {kind: crash, target: e, at: 1s..3s}\n";
    let duration = |secs| Overrides {
        duration: Some(Duration::from_secs(secs)),
        ..Overrides::default()
    };
    ok_with(file, &duration(4));
    let d = errs_with(file, &duration(3));
    assert_eq!(d.len(), 1, "{}", Diagnostics(d.clone()));
    expect(
        &d,
        0,
        0,
        "",
        "--duration 3s: the measured phase ends before the crash of `faults[0]` can fire \
         (its `at` reaches 3s); give a longer --duration",
    );
    assert_eq!(d[0].to_string().lines().count(), 1);
    // A file too short for its own crash runs with a longer --duration,
    // and with --ops (no clock to outrun).
    let short = file.replace("duration: 5s", "duration: 2s");
    expect(
        &errs(&short),
        9,
        30,
        "faults[0].at",
        "must fire before the cell ends",
    );
    ok_with(&short, &duration(10));
    let ops = Overrides {
        ops: Some(1000),
        ..Overrides::default()
    };
    assert_eq!(ok_with(&short, &ops).stop, Stop::Ops(1000));
}
