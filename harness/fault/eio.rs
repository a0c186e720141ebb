//! eio: a thin-provisioned volume runs out of backing, and the device's
//! writes start to fail.
//!
//! The target's loop image lives on a [`ThinPool`]; once the cell's setup
//! is done the pool is capped at `after` more bytes. What this module adds
//! around the cell:
//!
//! - [`KernelLog`]: the kernel's messages about the target's device from
//!   the moment the fault is armed (journal aborted, shut down, remounted
//!   read-only, I/O errors), read from `/dev/kmsg` — read-only, host-wide,
//!   filtered to our loop device.
//! - [`FsyncProbe`]: the fsyncgate question, asked on purpose — new data
//!   is written to a file, fsync fails, and fsync is called again on the
//!   same descriptor: does it claim success for data that never reached the
//!   device? After room is made and the filesystem mounted again, the
//!   probe's data is looked for.
//! - [`reaction`]: the filesystem's state, in words a reader can act on.
//!
//! [`ThinPool`]: crate::target::thinpool::ThinPool

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::timeline::TimedEvent;
use super::verify::Durability;
use crate::record::errno::{errno_name, errno_of};
use crate::scenario::OnError;

/// Kernel log lines kept in the result; the rest are counted.
const MAX_LINES: usize = 40;

/// The kernel's messages since [`KernelLog::open`].
pub struct KernelLog {
    kmsg: Option<File>,
}

/// What the kernel said about one device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KernelMessages {
    pub lines: Vec<String>,
    /// Matching lines beyond the ones kept.
    pub dropped: u64,
}

impl KernelLog {
    /// Starts reading at the end of the kernel log: only what comes later
    /// is returned. Without /dev/kmsg (no privilege) nothing is returned.
    pub fn open() -> KernelLog {
        let kmsg = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/kmsg")
            .ok()
            .and_then(|mut f| f.seek(SeekFrom::End(0)).ok().map(|_| f));
        KernelLog { kmsg }
    }

    /// Messages since opening (or the last call) that name `device`
    /// (e.g. `loop3`).
    pub fn read_for(&mut self, device: &str) -> KernelMessages {
        let mut out = KernelMessages::default();
        let Some(kmsg) = self.kmsg.as_mut() else {
            return out;
        };
        // One record per read; EAGAIN at the end, EPIPE when records were
        // overwritten before we read them (skip on).
        let mut buf = vec![0u8; 8192];
        loop {
            match kmsg.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if let Some(text) = message_text(&String::from_utf8_lossy(&buf[..n])) {
                        if names_device(text, device) {
                            if out.lines.len() < MAX_LINES {
                                out.lines.push(text.to_string());
                            } else {
                                out.dropped += 1;
                            }
                        }
                    }
                }
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
                Err(_) => break,
            }
        }
        out
    }
}

/// The text of a /dev/kmsg record: `prio,seq,usec,flags;text\n` followed by
/// optional ` KEY=value` continuation lines.
fn message_text(record: &str) -> Option<&str> {
    let (_, rest) = record.split_once(';')?;
    Some(rest.lines().next().unwrap_or("").trim_end())
}

/// Whether a message is about `device` (`loop3`, its partitions or its
/// journal `loop3-8`), and not `loop30`.
fn names_device(text: &str, device: &str) -> bool {
    text.match_indices(device).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + device.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

/// What the filesystem did about the failing device, from its messages
/// and whether its mount is read-only now.
pub fn reaction(messages: &KernelMessages, read_only: bool) -> Vec<String> {
    let any = |needles: &[&str]| {
        messages
            .lines
            .iter()
            .any(|l| needles.iter().any(|n| l.contains(n)))
    };
    let mut out = Vec::new();
    if any(&["Aborting journal", "Detected aborted journal"]) {
        out.push("journal aborted".to_string());
    }
    if any(&[
        "shut down",
        "Shutting down filesystem",
        "Corruption of in-memory data",
    ]) {
        out.push("filesystem shut down".to_string());
    }
    if read_only || any(&["Remounting filesystem read-only", "remounted read-only"]) {
        out.push("remounted read-only".to_string());
    }
    let io_errors = messages
        .lines
        .iter()
        .filter(|l| l.contains("I/O error") || l.contains("error -28") || l.contains("error -5"))
        .count();
    if io_errors > 0 {
        out.push(format!(
            "{io_errors}{} device I/O errors logged",
            if messages.dropped > 0 { "+" } else { "" }
        ));
    }
    if out.is_empty() {
        out.push("no reaction logged: the filesystem kept running".to_string());
    }
    out
}

/// An eio fault's entry in result.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EioOutcome {
    pub outcome: String,
    /// Absent when the target had no loop image on a thin pool.
    #[serde(flatten)]
    pub applied: Option<EioApplied>,
}

/// A thin pool that ran dry under the cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EioApplied {
    /// Backing the image could still allocate once armed.
    pub after_bytes: u64,
    pub on_error: OnError,
    /// How the pool was capped; None when the cell never reached its clock.
    pub pool: Option<Pool>,
    /// Each (op, errno) that first failed, earliest first.
    pub first_errors: Vec<FirstFailure>,
    pub fired_at_s: Option<f64>,
    /// What the filesystem did: journal aborted, shut down, read-only …
    pub reaction: Vec<String>,
    pub read_only: bool,
    pub ext4_errors_count: Option<u64>,
    pub kernel_log: KernelMessages,
    pub fsync_probe: Option<ProbeOutcome>,
    pub durability: Option<Durability>,
    pub timeline: Vec<TimedEvent>,
}

/// The thin pool when the clock started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Pool {
    Capped {
        pool_used_bytes: u64,
        pool_capped_at_bytes: u64,
        after_bytes: u64,
    },
    Failed {
        error: String,
    },
}

/// The first time an op failed with an errno.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirstFailure {
    pub op: String,
    pub errno: String,
    pub at_s: f64,
}

/// The fsyncgate probe: a file with one synced block, opened before the
/// pool was capped, and kept open for [`FsyncProbe::ask`].
pub struct FsyncProbe {
    path: PathBuf,
    file: File,
}

/// Where new probe data goes: after the synced first block.
const PROBE_OFFSET: u64 = 4096;
const PROBE_LEN: usize = 256 << 10;

/// What the probe saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeOutcome {
    /// The write of new data: "ok" or an errno name.
    pub write: String,
    /// The first fsync after it.
    pub fsync: String,
    /// fsync again on the same descriptor.
    pub fsync_retry: String,
    /// After room was made and the filesystem mounted again: "intact",
    /// "lost", or "unknown" when it could not be looked at.
    pub data_after_remount: String,
    /// The finding in one sentence.
    pub verdict: String,
}

fn outcome<T>(r: &std::io::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => errno_name(errno_of(e)),
    }
}

/// The probe's bytes: a pattern that zeros or stale data cannot match.
fn probe_bytes() -> Vec<u8> {
    (0..PROBE_LEN)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] | 1)
        .collect()
}

impl FsyncProbe {
    /// Creates `dir/.wpbench-eio-probe` with one synced block, while the
    /// device still has room.
    pub fn create(dir: &Path) -> std::io::Result<FsyncProbe> {
        let path = dir.join(".wpbench-eio-probe");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        file.write_all_at(&[0x5a; 4096], 0)?;
        file.sync_all()?;
        File::open(dir)?.sync_all()?;
        Ok(FsyncProbe { path, file })
    }

    /// Writes new data and fsyncs twice on the same descriptor, while the
    /// device is out of room. Returns what each call said; the data's fate
    /// comes from [`PendingProbe::look`] after the remount.
    pub fn ask(self) -> PendingProbe {
        let write = self.file.write_all_at(&probe_bytes(), PROBE_OFFSET);
        let fsync = self.file.sync_all();
        let fsync_retry = self.file.sync_all();
        PendingProbe {
            path: self.path,
            write: outcome(&write),
            fsync: outcome(&fsync),
            fsync_retry: outcome(&fsync_retry),
        }
    }
}

/// The probe's answers before the remount.
pub struct PendingProbe {
    path: PathBuf,
    write: String,
    fsync: String,
    fsync_retry: String,
}

impl PendingProbe {
    /// Looks for the probe's data after the filesystem was mounted again
    /// (`mounted: false` when it could not be).
    pub fn look(self, mounted: bool) -> ProbeOutcome {
        let data = if !mounted {
            "unknown".to_string()
        } else {
            let mut buf = vec![0u8; PROBE_LEN];
            match File::open(&self.path).and_then(|f| f.read_exact_at(&mut buf, PROBE_OFFSET)) {
                Ok(()) if buf == probe_bytes() => "intact".into(),
                _ => "lost".into(),
            }
        };
        let verdict = verdict(&self.write, &self.fsync, &self.fsync_retry, &data);
        ProbeOutcome {
            write: self.write,
            fsync: self.fsync,
            fsync_retry: self.fsync_retry,
            data_after_remount: data,
            verdict,
        }
    }
}

fn verdict(write: &str, fsync: &str, retry: &str, data: &str) -> String {
    match (write, fsync, retry, data) {
        ("ok", "ok", _, "intact") => {
            "the device still had room for the probe: fsync succeeded and the data survived".into()
        }
        ("ok", "ok", _, "lost") => "fsync returned success, yet the probe's data was not there \
                                    after the remount: a durability violation"
            .into(),
        ("ok", e, "ok", "lost") => format!(
            "fsync reported {e}, then a retry on the same descriptor claimed success although \
             the data was lost (the fsyncgate behaviour: the error is reported once and the \
             dirty pages are dropped)"
        ),
        ("ok", e, "ok", "intact") => {
            format!("fsync reported {e}, a retry claimed success, and the data did survive")
        }
        ("ok", e, r, _) => format!("fsync reported {e}, and again {r} on retry: the error sticks"),
        (w, _, _, _) => {
            format!("the write itself failed with {w}: the filesystem refused new data at once")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmsg_records_are_filtered_by_device() {
        let rec = "3,1234,5678,-;EXT4-fs error (device loop3): ext4_journal_check_start:84: Detected aborted journal\n SUBSYSTEM=block\n";
        let text = message_text(rec).unwrap();
        assert!(text.starts_with("EXT4-fs error (device loop3)"));
        assert!(names_device(text, "loop3"));
        assert!(!names_device(text, "loop30"));
        assert!(!names_device("I/O error, dev loop30, sector 8", "loop3"));
        assert!(names_device("Aborting journal on device loop3-8.", "loop3"));
        assert!(names_device("XFS (loop3): log I/O error -28", "loop3"));
        assert!(message_text("no separator").is_none());
    }

    #[test]
    fn reactions_are_named() {
        let m = KernelMessages {
            lines: vec![
                "Aborting journal on device loop3-8.".into(),
                "EXT4-fs (loop3): Remounting filesystem read-only".into(),
                "I/O error, dev loop3, sector 2048 op 0x1:(WRITE)".into(),
            ],
            dropped: 2,
        };
        let r = reaction(&m, false);
        assert_eq!(
            r,
            [
                "journal aborted",
                "remounted read-only",
                "1+ device I/O errors logged"
            ]
        );
        let x = KernelMessages {
            lines: vec![
                "XFS (loop4): Filesystem has been shut down due to log error (0x2).".into(),
            ],
            dropped: 0,
        };
        assert_eq!(reaction(&x, false), ["filesystem shut down"]);
        assert_eq!(
            reaction(&KernelMessages::default(), false),
            ["no reaction logged: the filesystem kept running"]
        );
        assert_eq!(
            reaction(&KernelMessages::default(), true),
            ["remounted read-only"]
        );
    }

    #[test]
    fn the_probe_tells_fsyncgate_from_a_sticky_error() {
        assert!(verdict("ok", "EIO", "ok", "lost").contains("fsyncgate"));
        assert!(verdict("ok", "EIO", "EIO", "lost").contains("sticks"));
        assert!(verdict("ok", "ok", "ok", "lost").contains("violation"));
        assert!(verdict("EROFS", "EROFS", "EROFS", "lost").contains("write itself failed"));
    }

    #[test]
    fn a_probe_on_a_healthy_filesystem_keeps_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let p = FsyncProbe::create(dir.path()).unwrap().ask();
        let o = p.look(true);
        assert_eq!((o.write.as_str(), o.fsync.as_str()), ("ok", "ok"));
        assert_eq!(o.data_after_remount, "intact", "{o:?}");
        assert!(o.verdict.contains("still had room"));
    }
}
