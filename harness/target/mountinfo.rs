//! /proc/self/mountinfo, read back after mounting: the truth about which
//! options the kernel applied, as opposed to which were asked for.

use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct MountInfo {
    pub fstype: String,
    pub source: String,
    /// Per-mount options and superblock options, comma-joined ("rw,noatime,size=1048576k").
    pub options: String,
    /// The mount point inside wpbench's private namespace (or the hostPath directory).
    #[serde(default)]
    pub mount_point: String,
    /// The filesystem's own complete list where it has one, defaults
    /// included (ext4: /proc/fs/ext4/<dev>/options); empty otherwise.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fs_options: String,
}

/// One line of mountinfo (see proc(5)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub mount_id: u32,
    pub major: u32,
    pub minor: u32,
    /// The directory of the filesystem mounted here (`/` for a whole
    /// filesystem; a subdirectory for a bind mount of part of one).
    pub root: String,
    pub mount_point: String,
    pub mount_options: String,
    pub fstype: String,
    pub source: String,
    pub super_options: String,
}

/// Undoes mountinfo's octal escapes (`\040` is a space).
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        if let (b'\\', Some(digits)) = (bytes[i], octal) {
            let v = digits
                .iter()
                .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
            out.push(v as u8);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses the whole of a mountinfo file; malformed lines are skipped.
pub fn parse(text: &str) -> Vec<MountEntry> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<MountEntry> {
    let (left, right) = line.split_once(" - ")?;
    let l: Vec<&str> = left.split(' ').collect();
    let r: Vec<&str> = right.split(' ').collect();
    if l.len() < 6 || r.len() < 3 {
        return None;
    }
    let (major, minor) = l[2].split_once(':')?;
    Some(MountEntry {
        mount_id: l[0].parse().ok()?,
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
        root: unescape(l[3]),
        mount_point: unescape(l[4]),
        mount_options: l[5].to_string(),
        fstype: r[0].to_string(),
        source: unescape(r[1]),
        super_options: r[2].to_string(),
    })
}

/// Reads this process's mountinfo.
pub fn read() -> std::io::Result<Vec<MountEntry>> {
    Ok(parse(&std::fs::read_to_string("/proc/self/mountinfo")?))
}

/// The entry mounted exactly at `mount_point` (the topmost one, when
/// several are stacked there).
pub fn find<'a>(entries: &'a [MountEntry], mount_point: &Path) -> Option<&'a MountEntry> {
    let want = mount_point.to_string_lossy();
    entries.iter().rev().find(|e| e.mount_point == want)
}

/// The mount that contains `path`: the longest mount point that is a
/// prefix of it (the last one mounted wins on ties).
pub fn containing<'a>(entries: &'a [MountEntry], path: &Path) -> Option<&'a MountEntry> {
    entries
        .iter()
        .enumerate()
        .filter(|(_, e)| path.starts_with(&e.mount_point))
        .max_by_key(|(i, e)| (e.mount_point.len(), *i))
        .map(|(_, e)| e)
}

/// Every mount point at or below `dir` (for refusing to delete through a mount).
pub fn mounts_under<'a>(entries: &'a [MountEntry], dir: &Path) -> Vec<&'a MountEntry> {
    entries
        .iter()
        .filter(|e| Path::new(&e.mount_point).starts_with(dir))
        .collect()
}

impl MountEntry {
    /// Per-mount options, then superblock options, without repeats.
    pub fn effective_options(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for o in self
            .mount_options
            .split(',')
            .chain(self.super_options.split(','))
        {
            if !o.is_empty() && !out.iter().any(|x| x == o) {
                out.push(o.to_string());
            }
        }
        out
    }

    pub fn to_info(&self) -> MountInfo {
        MountInfo {
            fstype: self.fstype.clone(),
            source: self.source.clone(),
            options: self.effective_options().join(","),
            mount_point: self.mount_point.clone(),
            fs_options: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
98 22 0:45 / /var/tmp/wpbench\\040x rw,nosuid,noatime - tmpfs wpbench rw,size=1048576k,mode=755
99 22 254:0 /var/tmp/h /var/tmp/h rw,noatime - ext4 /dev/vda rw,discard
";

    #[test]
    fn parses_and_unescapes() {
        let e = parse(SAMPLE);
        assert_eq!(e.len(), 3);
        assert_eq!(e[1].mount_point, "/var/tmp/wpbench x");
        assert_eq!(e[1].fstype, "tmpfs");
        assert_eq!((e[0].major, e[0].minor), (254, 0));
        assert_eq!(
            e[1].effective_options(),
            vec!["rw", "nosuid", "noatime", "size=1048576k", "mode=755"]
        );
        assert_eq!(
            e[1].to_info().options,
            "rw,nosuid,noatime,size=1048576k,mode=755"
        );
    }

    #[test]
    fn finds_exact_and_containing_mounts() {
        let e = parse(SAMPLE);
        assert_eq!(find(&e, Path::new("/var/tmp/h")).unwrap().mount_id, 99);
        assert!(find(&e, Path::new("/var/tmp")).is_none());
        assert_eq!(
            containing(&e, Path::new("/var/tmp/h/x/y"))
                .unwrap()
                .mount_id,
            99
        );
        assert_eq!(containing(&e, Path::new("/home")).unwrap().mount_id, 22);
        assert_eq!(mounts_under(&e, Path::new("/var/tmp")).len(), 2);
    }

    #[test]
    fn reads_this_process() {
        let entries = read().unwrap();
        assert!(containing(&entries, Path::new("/")).is_some());
    }
}
