//! Stored outputs of an earlier wpbench, held against this one: a run
//! with a cell for every fault kind (data/every-fault: scenario.yaml, its
//! result.json and interval logs, and the sha256 of every file `wpbench
//! report` rendered from them). Restructuring the code must not change
//! what users script against or what reviewers see.

use std::path::{Path, PathBuf};

use crate::support::*;

fn fixture() -> PathBuf {
    repo_root().join("harness/tests/data/every-fault")
}

/// A copy of the fixture's result.json and interval logs in `dir`.
fn copy_fixture(dir: &Path) {
    std::fs::copy(fixture().join("result.json"), dir.join("result.json")).unwrap();
    std::fs::create_dir(dir.join("hlog")).unwrap();
    for e in std::fs::read_dir(fixture().join("hlog")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join("hlog").join(e.file_name())).unwrap();
    }
}

#[test]
fn a_stored_result_of_every_fault_kind_reads_and_writes_back_the_same_json() {
    let text = std::fs::read_to_string(fixture().join("result.json")).unwrap();
    let stored: serde_json::Value = serde_json::from_str(&text).unwrap();
    let kinds: std::collections::BTreeSet<String> = stored["cells"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["faults"].as_array().unwrap().iter())
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["crash", "eio", "enospc", "noisy_neighbor", "throttle"]
    );
    // Through the typed model and back: the same JSON, key for key.
    let typed: wpbench::result::RunResult = serde_json::from_str(&text).unwrap();
    let again = serde_json::to_value(&typed).unwrap();
    assert_eq!(again, stored);
}

#[test]
fn report_renders_the_stored_run_to_the_same_bytes() {
    let sb = Sandbox::new();
    let dir = sb.dir.path().join("run");
    std::fs::create_dir(&dir).unwrap();
    copy_fixture(&dir);
    let out = wpbench().arg("report").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let sums = std::fs::read_to_string(fixture().join("rendered.sha256")).unwrap();
    let mut differ = Vec::new();
    for line in sums.lines() {
        let (want, file) = line.split_once("  ").unwrap();
        let bytes = std::fs::read(dir.join(file)).unwrap_or_default();
        let got = sha256_hex(&bytes);
        if got != want {
            differ.push(file.to_string());
        }
    }
    let rendered = std::fs::read_dir(dir.join("charts")).unwrap().count() + 2;
    assert_eq!(rendered, sums.lines().count(), "the same set of files");
    assert!(differ.is_empty(), "rendered differently: {differ:?}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
