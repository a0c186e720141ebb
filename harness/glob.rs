//! Shell-style glob matching (`*`, `?`) for `--only`, fault and gate selectors.

/// True when `text` matches `pattern`, where `*` matches any run of
/// characters (including none) and `?` one character.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Position of the last `*` and the text index it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("*", "anything"));
        assert!(glob_match("ext4*", "ext4[noatime]"));
        assert!(!glob_match("ext4*", "xfs"));
        assert!(glob_match("wal", "wal"));
        assert!(!glob_match("wal", "wal2"));
        assert!(glob_match("*[noatime]", "ext4[noatime]"));
        assert!(glob_match("t?pfs", "tmpfs"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(glob_match("", ""));
        assert!(!glob_match("", "x"));
    }
}
