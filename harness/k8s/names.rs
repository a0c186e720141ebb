//! Kubernetes name and label syntax, checked before anything is rendered
//! so `kubectl apply` never is the first to complain.

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most `max` characters (RFC 1123 label).
fn dns_label(s: &str, max: usize) -> Result<(), String> {
    if s.is_empty() {
        return Err("is empty".into());
    }
    if s.len() > max {
        return Err(format!("is {} characters long; at most {max}", s.len()));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("may hold only lower-case letters, digits and `-`".into());
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
fn dns_subdomain(s: &str) -> Result<(), String> {
    if s.len() > 253 {
        return Err(format!("is {} characters long; at most 253", s.len()));
    }
    for part in s.split('.') {
        dns_label(part, 63).map_err(|e| {
            if part.is_empty() {
                "has an empty part between dots".to_string()
            } else {
                format!("part {part:?} {e}")
            }
        })?;
    }
    Ok(())
}

pub fn check_namespace(ns: &str) -> Result<(), String> {
    dns_label(ns, 63).map_err(|e| format!("a namespace name {e} (e.g. wpbench)"))
}

/// A Job's name: a label value on its pods (`job-name`), and the prefix of
/// their host names `<name>-<index>`, so a short label.
pub const JOB_NAME_MAX: usize = 52;

pub fn check_job_name(name: &str) -> Result<(), String> {
    dns_label(name, JOB_NAME_MAX).map_err(|e| format!("a Job name {e}"))
}

pub fn check_node_name(name: &str) -> Result<(), String> {
    dns_subdomain(name).map_err(|e| format!("a node name {e}"))
}

/// A ConfigMap key: `[-._a-zA-Z0-9]+`, at most 253, not `.` or `..`.
pub fn check_configmap_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key == "." || key == ".." {
        return Err("is not a file name".into());
    }
    if key.len() > 253 {
        return Err("is longer than 253 characters, the most a ConfigMap key may be".into());
    }
    if !key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    {
        return Err(
            "may hold only letters, digits, `-`, `_` and `.` to be a ConfigMap key; rename the file"
                .into(),
        );
    }
    Ok(())
}

/// `wpbench-<scenario name>`, made a valid Job name: lower case, `_` and
/// `.` as `-`, at most [`JOB_NAME_MAX`] characters.
pub fn job_name_for(scenario: &str) -> String {
    let mut name = String::from("wpbench-");
    for c in scenario.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            name.push(c);
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    name.truncate(JOB_NAME_MAX);
    while name.ends_with('-') {
        name.pop();
    }
    name
}

/// `a,b,c` → node names (spaces around names are dropped; an empty list
/// stays empty, for `render` to refuse).
pub fn parse_nodes(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect()
}

/// `k=v[,k2=v2]` → label pairs, each key and value checked.
pub fn parse_selector(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!(
                "--node-selector {s:?}: {part:?} is not key=value; write e.g. \
                 --node-selector node-role.kubernetes.io/bench=true,disktype=ssd"
            ));
        };
        let (k, v) = (k.trim(), v.trim());
        check_label(k, v).map_err(|e| format!("--node-selector {s:?}: {e}"))?;
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most 63; `empty_ok` for values.
fn label_name(s: &str, empty_ok: bool) -> Result<(), String> {
    if s.is_empty() {
        return if empty_ok {
            Ok(())
        } else {
            Err("is empty".into())
        };
    }
    if s.len() > 63 {
        return Err(format!("is {} characters long; at most 63", s.len()));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err("may hold only letters, digits, `-`, `_` and `.`".into());
    }
    let ends_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    if !ends_ok(s.bytes().next()) || !ends_ok(s.bytes().last()) {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

/// A label key (`[prefix/]name`) and value.
pub fn check_label(key: &str, value: &str) -> Result<(), String> {
    let name = match key.split_once('/') {
        Some((prefix, name)) => {
            dns_subdomain(prefix).map_err(|e| format!("label key {key:?}: the prefix {e}"))?;
            name
        }
        None => key,
    };
    label_name(name, false).map_err(|e| format!("label key {key:?}: the name {e}"))?;
    label_name(value, true).map_err(|e| format!("label value {value:?} {e}"))?;
    Ok(())
}
