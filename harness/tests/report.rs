//! Reading runs back: `compare` of real runs.

use crate::support::*;

/// Runs `wpbench compare BASE NEW --format FORMAT` and returns its stdout.
fn compare(base: &std::path::Path, new: &std::path::Path, format: &str) -> String {
    let out = wpbench()
        .arg("compare")
        .arg(base)
        .arg(new)
        .args(["--format", format])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
#[ignore = "needs root, mkfs.ext4: ext4 runs with strictatime and noatime"]
fn compare_finds_noatime_faster_than_strictatime_and_a_run_unchanged_against_itself() {
    require(&[Need::Root, Need::MKFS_EXT4]);
    let _serial = serial();
    let sb = Sandbox::new();
    for atime in ["strictatime", "noatime"] {
        let file = sb.write(
            &format!("{atime}.yaml"),
            &format!(
                "version: 1\nname: atime\nseed: 5\nduration: 400ms\nwarmup: 100ms\nrepeat: 5\n\
                 targets:\n  - {{name: ext4, kind: ext4, size: 128MiB, options: [{atime}]}}\n\
                 workloads:\n  - {{name: reads, kind: read_atime, files: 500, file_size: 4KiB}}\n"
            ),
        );
        let out = sb.run(&file, atime, &["--quiet"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let (strict, noatime) = (sb.out("strictatime"), sb.out("noatime"));
    let json = compare(&strict, &noatime, "json");
    let c: serde_json::Value = serde_json::from_str(&json).unwrap();
    let verdict = c["cells"][0]["verdict"].as_str().unwrap();
    // Every read under strictatime dirties the inode; noatime never does.
    // (Four metrics are tested: one tail percentile may go either way by
    // chance, so the verdict may read "mixed" — but never "worse".)
    assert!(
        verdict.starts_with("better: ") || verdict.starts_with("mixed: "),
        "{json}"
    );
    let better = c["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["op"] == "read_file" && r["direction"] == "better")
        .count();
    assert!(better >= 1, "{json}");
    assert!(c["cells"][0]["options"][1]
        .as_str()
        .unwrap()
        .contains("noatime"));

    // Against itself: nothing is significant, in every format.
    let same: serde_json::Value =
        serde_json::from_str(&compare(&noatime, &noatime.join("result.json"), "json")).unwrap();
    assert!(same["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["significant"] == false));
    let md = compare(&noatime, &noatime, "markdown");
    assert!(
        md.contains("| ext4 | reads | read_file | no significant change"),
        "{md}"
    );
    let table = compare(&strict, &noatime, "text");
    assert!(
        table.contains("verdict (read_file): better")
            || table.contains("verdict (read_file): mixed"),
        "{table}"
    );
    // HTML: the same verdicts, and base and new spectra overlaid.
    let html = compare(&strict, &noatime, "html");
    assert_eq!(html.matches("<svg").count(), 1, "one spectrum per cell");
    assert!(html.contains("base (5 repeats)") && html.contains("new (5 repeats)"));
    assert!(html.contains("<td>read_file</td><td>throughput</td>"));
    assert_nothing_left(&sb);
}

#[test]
fn compare_refuses_what_is_not_a_run() {
    let sb = Sandbox::new();
    let out = wpbench()
        .args(["compare", "/nonexistent-run"])
        .arg(sb.out("none"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read a wpbench result"));
}

/// Every file of the run directory's reports: (relative path, bytes).
fn report_files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = ["report.html", "summary.md"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(dir.join(f)).unwrap()))
        .collect();
    let mut charts: Vec<_> = std::fs::read_dir(dir.join("charts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    charts.sort();
    for c in charts {
        let name = format!("charts/{}", c.file_name().unwrap().to_string_lossy());
        files.push((name, std::fs::read(&c).unwrap()));
    }
    files
}

/// Loads `page` in headless Chromium: (its DOM after load, the console
/// lines Chromium logged), and a screenshot at `shot`.
fn chromium(
    browser: &std::path::Path,
    page: &std::path::Path,
    shot: &std::path::Path,
) -> (String, Vec<String>) {
    let url = format!("file://{}", page.display());
    let base = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-logging=stderr",
        "--log-level=0",
        "--window-size=1280,2400",
    ];
    let dom = std::process::Command::new(browser)
        .args(base)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    assert!(dom.status.success(), "{}", text(&dom));
    let shot_run = std::process::Command::new(browser)
        .args(base)
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(shot_run.status.success(), "{}", text(&shot_run));
    let console = [&dom.stderr, &shot_run.stderr]
        .iter()
        .flat_map(|e| {
            String::from_utf8_lossy(e)
                .lines()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect();
    (String::from_utf8_lossy(&dom.stdout).into_owned(), console)
}

#[test]
#[ignore = "needs root, mkfs.ext4, mkfs.xfs, chromium: tmpfs, ext4 and xfs cells with a power cut; report.html loaded in headless chromium"]
fn a_run_renders_every_chart_and_a_report_chromium_loads_without_errors() {
    require(&[
        Need::Root,
        Need::MKFS_EXT4,
        Need::MKFS_XFS,
        Need::Program("chromium", "chromium"),
    ]);
    let browser = program("chromium").unwrap();
    let _serial = serial();
    let sb = Sandbox::new();
    let file = sb.write(
        "charts.yaml",
        concat!(
            "version: 1\nname: charts\nseed: 3\nduration: 1500ms\nwarmup: 0s\n",
            "targets:\n",
            "  - {name: tmpfs, kind: tmpfs, size: 128MiB}\n",
            "  - {name: ext4, kind: ext4, size: 256MiB, options: [noatime]}\n",
            "  - {name: xfs, kind: xfs, size: 320MiB}\n",
            "workloads:\n",
            "  - {name: wal, kind: fsync_heavy, fsync: always, file_size: 16MiB}\n",
            "  - {name: files, kind: small_files, fsync: on_close, file_size: 4KiB}\n",
            "faults:\n",
            "  - {kind: crash, target: ext4, workload: wal, at: 500ms..1s}\n",
        ),
    );
    let out = sb.run(&file, "charts", &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let dir = sb.out("charts");
    let files = report_files(&dir);
    let stems: Vec<&str> = files
        .iter()
        .filter_map(|(n, _)| n.strip_prefix("charts/")?.strip_suffix(".svg"))
        .collect();
    for family in [
        "percentiles-",
        "spectrum-",
        "cdf-",
        "timeseries-",
        "device",
        "durability",
    ] {
        assert!(
            stems.iter().any(|s| s.starts_with(family)),
            "no {family} chart in {stems:?}"
        );
    }
    // Six cells: one time series each.
    assert_eq!(
        stems
            .iter()
            .filter(|s| s.starts_with("timeseries-"))
            .count(),
        6
    );
    for (name, bytes) in &files {
        if name.ends_with(".svg") {
            let text = std::str::from_utf8(bytes).unwrap();
            roxmltree::Document::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        } else if name.ends_with(".png") {
            let decoder = png::Decoder::new(std::io::Cursor::new(bytes.as_slice()));
            let reader = decoder
                .read_info()
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                (reader.info().width, reader.info().height),
                (1200, 700),
                "{name}"
            );
        }
    }
    for stem in &stems {
        assert!(
            files
                .iter()
                .any(|(n, _)| n == &format!("charts/{stem}.png")),
            "{stem}: no PNG"
        );
    }
    let summary = String::from_utf8(files[1].1.clone()).unwrap();
    assert!(summary.contains("## Charts"), "{summary}");
    assert!(summary.contains(&format!("(charts/{}.svg)", stems[0])));

    // Charts are a pure function of the results: re-rendering changes nothing.
    for _ in 0..2 {
        let again = wpbench().arg("report").arg(&dir).output().unwrap();
        assert_eq!(again.status.code(), Some(0), "{}", text(&again));
        let rerendered = report_files(&dir);
        assert_eq!(rerendered.len(), files.len());
        for ((a, x), (b, y)) in files.iter().zip(&rerendered) {
            assert_eq!(a, b);
            assert!(x == y, "{a} changed when rendered again");
        }
    }

    // A real browser: the page loads without console errors and shows
    // every section and every chart.
    let shot = sb.dir.path().join("report.png");
    let (dom, console) = chromium(&browser, &dir.join("report.html"), &shot);
    assert!(console.is_empty(), "console: {console:?}");
    for id in [
        "scenario",
        "environment",
        "targets",
        "results",
        "charts",
        "gates",
        "faults",
        "notes",
    ] {
        assert!(
            dom.contains(&format!("id=\"{id}\"")),
            "section {id} missing"
        );
    }
    assert_eq!(dom.matches("<figure").count(), stems.len());
    assert!(dom.contains("ext4[noatime]") || dom.contains("noatime"));
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    // The checker itself sees console errors when there are some.
    let bad = sb.write(
        "bad.html",
        "<html><body><script>undefinedFn();</script></body></html>",
    );
    let (_, errors) = chromium(&browser, &bad, &sb.dir.path().join("bad.png"));
    assert!(
        errors.iter().any(|l| l.contains("undefinedFn")),
        "{errors:?}"
    );
    assert_nothing_left(&sb);
}
