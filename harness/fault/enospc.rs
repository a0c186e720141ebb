//! The enospc fault: a full filesystem. The target is filled before the
//! cell (leaving the spec's headroom), or its own size is the limit; the
//! result says when the first ENOSPC came, from which op, and whether what
//! was acknowledged before it survived.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::timeline::TimedEvent;
use super::verify::Durability;
use crate::cancel::Cancel;
use crate::scenario::{EnospcSpec, OnError, Resource};

/// An enospc fault's entry in result.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnospcOutcome {
    pub resource: Resource,
    pub on_error: OnError,
    /// What filling the target took; None when it was not filled.
    pub fill: Option<Fill>,
    pub first_enospc_s: Option<f64>,
    pub first_enospc_op: Option<String>,
    pub outcome: String,
    /// What was acknowledged before the disk filled, verified; None when
    /// the workload keeps no ledger.
    pub durability: Option<Durability>,
    pub timeline: Vec<TimedEvent>,
}

/// What filling the target before the cell took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Fill {
    Blocks {
        filler_bytes: u64,
        headroom_bytes: u64,
    },
    Inodes {
        filler_files: u64,
        headroom_files: u64,
    },
}

/// Fills the target's filesystem before an enospc cell, leaving the spec's
/// headroom: a file of zeros for blocks, empty files for inodes. Both live
/// in `.wpbench-fill`, which workloads never touch.
pub fn fill_target(root: &Path, spec: &EnospcSpec, cancel: &Cancel) -> std::io::Result<Fill> {
    use std::io::Write;
    let dir = root.join(".wpbench-fill");
    std::fs::create_dir(&dir)?;
    let full = |e: &std::io::Error| matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT));
    match spec.resource {
        Resource::Blocks => {
            let path = dir.join("blocks");
            let mut file = std::fs::File::create(&path)?;
            let chunk = vec![0u8; 1 << 20];
            let mut written = 0u64;
            loop {
                cancel.check()?;
                match file.write(&chunk) {
                    Ok(0) => break,
                    Ok(n) => written += n as u64,
                    Err(e) if full(&e) => break,
                    Err(e) => return Err(e),
                }
            }
            // Delayed allocation may only now find out it is full.
            match file.sync_all() {
                Err(e) if !full(&e) => return Err(e),
                _ => {}
            }
            let kept = written.saturating_sub(spec.headroom);
            file.set_len(kept)?;
            file.sync_all()?;
            Ok(Fill::Blocks {
                filler_bytes: kept,
                headroom_bytes: spec.headroom,
            })
        }
        Resource::Inodes => {
            let mut made = 0u64;
            loop {
                cancel.check()?;
                match std::fs::File::create(dir.join(format!("i{made:08}"))) {
                    Ok(_) => made += 1,
                    Err(e) if full(&e) => break,
                    Err(e) => return Err(e),
                }
            }
            let freed = spec.headroom_files.min(made);
            for i in made - freed..made {
                std::fs::remove_file(dir.join(format!("i{i:08}")))?;
            }
            rustix::fs::syncfs(std::fs::File::open(&dir)?)?;
            Ok(Fill::Inodes {
                filler_files: made - freed,
                headroom_files: freed,
            })
        }
    }
}
