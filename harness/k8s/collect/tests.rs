use base64::Engine;
use sha2::{Digest, Sha256};

use super::*;

/// Bytes standing in for a tarball: parse_log does not look inside.
fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + 3) as u8).collect()
}

fn sha(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// GNU base64's output: 76 columns.
fn base64_lines(bytes: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::new();
    for chunk in b64.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out
}

/// A pod's log as SCRIPT prints it, after some wpbench output.
fn log(node: &str, rc: i32, bytes: &[u8]) -> String {
    format!(
        "wpbench 0.1.0: scenario tiny, 2 cells\n\
         host/files repeat 0: 1234 file/s\n\
         BEGIN wpbench-results node={node}\n\
         {}\
         END wpbench-results node={node} rc={rc} sha256={}\n",
        base64_lines(bytes),
        sha(bytes)
    )
}

#[test]
fn a_complete_log_yields_node_rc_and_the_tarball() {
    let bytes = payload(1000);
    let got = parse_log(&log("node-a", 0, &bytes)).unwrap();
    assert_eq!(got.node, "node-a");
    assert_eq!(got.rc, 0);
    assert_eq!(got.tarball, bytes);
    assert_eq!(got.sha256, sha(&bytes));
}

#[test]
fn wpbench_output_before_begin_is_ignored_even_when_it_looks_like_base64() {
    let bytes = payload(300);
    let text = format!("QUJD\nSGVsbG8=\n{}", log("n1", 1, &bytes));
    let got = parse_log(&text).unwrap();
    assert_eq!((got.node.as_str(), got.rc), ("n1", 1));
    assert_eq!(got.tarball, bytes);
}

#[test]
fn crlf_and_trailing_whitespace_are_tolerated() {
    let bytes = payload(500);
    let text = log("node-a", 0, &bytes)
        .lines()
        .map(|l| format!("{l}  \t\r\n"))
        .collect::<String>();
    let got = parse_log(&text).unwrap();
    assert_eq!(got.tarball, bytes);
    assert_eq!(got.node, "node-a");
}

#[test]
fn of_two_complete_blocks_the_last_counts() {
    let first = payload(100);
    let second = payload(200);
    let text = format!("{}{}", log("node-a", 4, &first), log("node-a", 0, &second));
    let got = parse_log(&text).unwrap();
    assert_eq!(got.tarball, second);
    assert_eq!(got.rc, 0);
}

#[test]
fn uppercase_hex_on_the_end_line_matches() {
    let bytes = payload(64);
    let text = log("a", 0, &bytes).replace(&sha(&bytes), &sha(&bytes).to_uppercase());
    assert_eq!(parse_log(&text).unwrap().tarball, bytes);
}

#[test]
fn no_begin_keeps_the_last_lines_bounded() {
    let mut text = String::new();
    for i in 0..50 {
        text.push_str(&format!("line {i}\n"));
    }
    text.push_str(&"x".repeat(1000));
    text.push('\n');
    let err = parse_log(&text).unwrap_err();
    let Missing::NoBegin { tail } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(tail.len(), TAIL_LINES);
    assert_eq!(tail[0], "line 41");
    assert_eq!(tail[TAIL_LINES - 1].chars().count(), TAIL_LINE_CHARS + 1);
    assert!(tail[TAIL_LINES - 1].ends_with('…'));
    assert_eq!(err.node(), None);
    assert_eq!(err.log_tail(), &tail[..]);
    let msg = err.to_string();
    assert!(msg.contains("no `BEGIN wpbench-results` line"), "{msg}");
    assert!(msg.contains("xxx…\""), "the last line, bounded: {msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
}

#[test]
fn an_empty_log_says_so() {
    let err = parse_log("").unwrap_err();
    assert_eq!(err, Missing::NoBegin { tail: vec![] });
    assert!(err.to_string().contains("the log is empty"));
}

#[test]
fn begin_without_end_is_a_log_cut_short() {
    let full = log("node-c", 0, &payload(2000));
    let cut = &full[..full.find("\nEND wpbench").unwrap() - 100];
    let err = parse_log(cut).unwrap_err();
    assert!(
        matches!(&err, Missing::NoEnd { node, lines } if node == "node-c" && *lines > 10),
        "{err:?}"
    );
    assert_eq!(err.node(), Some("node-c"));
    assert!(err
        .to_string()
        .starts_with("log cut short (BEGIN without END)"));
}

#[test]
fn end_without_begin_is_a_log_that_lost_its_beginning() {
    let full = log("node-r", 0, &payload(2000));
    let rotated = &full[full.find("BEGIN").unwrap() + 200..];
    let err = parse_log(rotated).unwrap_err();
    assert_eq!(
        err,
        Missing::BeginLost {
            node: "node-r".into(),
            rc: 0
        }
    );
    assert!(err.to_string().contains("10 MiB"), "{err}");
}

#[test]
fn sha256_none_means_no_run_directory_and_gives_rc() {
    let text = "wpbench: run as root or use scenarios/unprivileged.yaml\n\
                BEGIN wpbench-results node=node-x\n\
                END wpbench-results node=node-x rc=3 sha256=none\n";
    let err = parse_log(text).unwrap_err();
    assert_eq!(
        err,
        Missing::NoRunDir {
            node: "node-x".into(),
            rc: 3
        }
    );
    let msg = err.to_string();
    assert!(msg.contains("rc=3"), "{msg}");
    assert!(msg.contains("cannot run it"), "{msg}");
}

#[test]
fn a_line_that_is_not_base64_is_named() {
    let bytes = payload(1000);
    let text = log("n", 0, &bytes).replacen(
        "BEGIN wpbench-results node=n\n",
        "BEGIN wpbench-results node=n\nwpbench: warning!\n",
        1,
    );
    let err = parse_log(&text).unwrap_err();
    let Missing::BadBase64 { node, line, detail } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((node.as_str(), *line), ("n", 4));
    assert!(detail.contains("wpbench: warning!"), "{detail}");
    assert!(detail.contains("column 8"), "{detail}");
}

#[test]
fn base64_of_a_wrong_length_is_refused() {
    let bytes = payload(1000);
    let full = log("n", 0, &bytes);
    // Drop one character of the last base64 line: every line is still
    // made of base64 characters, the whole is not base64.
    let end = full.find("\nEND").unwrap();
    let text = format!("{}{}", &full[..end - 1], &full[end..]);
    let err = parse_log(&text).unwrap_err();
    assert!(matches!(err, Missing::BadBase64 { .. }), "{err:?}");
}

#[test]
fn a_damaged_tarball_is_a_sha256_mismatch() {
    let bytes = payload(1000);
    let text = log("n", 0, &bytes);
    // Swap one base64 character for another, keeping it valid base64.
    let begin = text.find("node=n\n").unwrap() + "node=n\n".len();
    let mut chars: Vec<char> = text.chars().collect();
    chars[begin + 5] = if chars[begin + 5] == 'A' { 'B' } else { 'A' };
    let damaged: String = chars.into_iter().collect();
    let err = parse_log(&damaged).unwrap_err();
    let Missing::ShaMismatch {
        node,
        expected,
        actual,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(node, "n");
    assert_eq!(expected, &sha(&bytes));
    assert_ne!(actual, expected);
    assert!(err.to_string().contains("damaged"));
}

#[test]
fn begin_and_end_naming_different_nodes_is_refused() {
    let text = log("node-a", 0, &payload(10)).replace(
        "END wpbench-results node=node-a",
        "END wpbench-results node=node-b",
    );
    let err = parse_log(&text).unwrap_err();
    assert_eq!(
        err,
        Missing::NodeMismatch {
            begin: "node-a".into(),
            end: "node-b".into()
        }
    );
    assert_eq!(err.node(), Some("node-b"));
}

#[test]
fn marker_lines_that_do_not_parse_are_named() {
    for (from, to) in [
        ("rc=0", "rc=zero"),
        ("sha256=", "sha256=beef"),
        (
            "END wpbench-results node=a",
            "END wpbench-results node=../a",
        ),
        ("BEGIN wpbench-results node=a", "BEGIN wpbench-results"),
        (
            "BEGIN wpbench-results node=a",
            "BEGIN wpbench-results node=a extra",
        ),
    ] {
        let text = log("a", 0, &payload(10)).replacen(from, to, 1);
        let err = parse_log(&text).unwrap_err();
        assert!(
            matches!(&err, Missing::Malformed { text, .. } if text.contains(to)),
            "{to}: {err:?}"
        );
        assert!(err.to_string().contains("does not parse"), "{err}");
    }
}

#[test]
fn a_marker_that_does_not_parse_before_a_complete_block_is_ignored() {
    let bytes = payload(10);
    let text = format!("END wpbench-results garbage\n{}", log("a", 0, &bytes));
    assert_eq!(parse_log(&text).unwrap().tarball, bytes);
}

#[test]
fn lines_that_only_start_like_a_marker_are_not_markers() {
    let bytes = payload(10);
    let text = format!("BEGIN wpbench-resultsXYZ\n{}", log("a", 0, &bytes));
    assert_eq!(parse_log(&text).unwrap().tarball, bytes);
}

#[test]
fn rc_meanings() {
    assert_eq!(rc_meaning(0), None);
    assert_eq!(rc_meaning(1).unwrap(), "a gate failed on that node");
    assert!(rc_meaning(137).unwrap().contains("signal 9"));
    assert_eq!(rc_meaning(77), None);
}
