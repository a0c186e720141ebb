//! The JSON exporter: result.json, the schema-versioned public contract
//! (`wpbench/result/v1`) users script against. Pretty-printed so a diff of
//! two runs is readable, with a trailing newline so it is a proper text file.

use crate::result::RunResult;

/// The run as pretty JSON (two-space indent) ending in a newline.
pub fn render(run: &RunResult) -> Vec<u8> {
    // The model has only string map keys and no custom serializers, so
    // serialization cannot fail (non-finite floats become `null`).
    let mut bytes = serde_json::to_vec_pretty(run).expect("RunResult serializes to JSON");
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::loop_device;
    use crate::report::fixtures::wal_run;

    #[test]
    fn round_trips_and_ends_in_newline() {
        let mut r = wal_run();
        r.cells[0].device = Some(loop_device());
        let bytes = render(&r);
        assert_eq!(bytes.last(), Some(&b'\n'));
        assert_ne!(bytes[bytes.len() - 2], b'\n');
        let back: RunResult = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn keeps_the_contract_names_pretty_printed() {
        let text = String::from_utf8(render(&wal_run())).unwrap();
        assert!(text.starts_with("{\n  \"schema\": \"wpbench/result/v1\",\n"));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["scenario"]["seed"], 42);
        assert_eq!(v["env"]["kernel"], "6.18.44");
        assert_eq!(
            v["cells"][0]["target"]["mount"]["options"],
            "rw,noatime,data=writeback"
        );
        assert_eq!(v["cells"][0]["ops"]["fsync"]["errors"]["EIO"], 12);
        assert_eq!(v["cells"][0]["ops"]["record"]["p99_ns"], 3_560_000);
        assert_eq!(v["cells"][0]["bytes_written"], 20_971_520);
        assert!(v["cells"][0]["device"].is_null());
    }
}
