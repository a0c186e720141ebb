//! `kind: metadata`: namespace operations drawn from a weighted `mix`
//! (create, rename, unlink, mkdir, rmdir, stat, link …) over a working set
//! of `files` per thread. Unit op: `meta`.

use serde::Deserialize;

use super::{
    files_at_least_one, size_or, CellShape, Kind, Params, WorkloadKind, WorkloadParams, Writes,
    Written,
};
use crate::record::Op;
use crate::scenario::check::{At, Ctx};
use crate::scenario::diag;
use crate::scenario::raw::U;
use crate::scenario::units::SizeRange;
use crate::scenario::yaml::{self, Node};

#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    /// Entries each thread keeps in its working set (files it made,
    /// plus an overlay's lower files, which it renames and unlinks
    /// into whiteouts and redirects).
    pub files: u64,
    /// Size of the files `create` makes (default 0B: metadata only).
    pub file_size: SizeRange,
    /// Operations and their weights; each unit op draws one.
    pub mix: Vec<(MetaOp, u32)>,
}

/// One operation of the metadata workload's mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetaOp {
    Create,
    Rename,
    /// Moves a directory that was already there (an overlay's lower
    /// directory): on an overlay this needs `redirect_dir=on` (else EXDEV).
    RenameDir,
    Unlink,
    Mkdir,
    Rmdir,
    Stat,
    Link,
}

impl MetaOp {
    /// Every op, in the order results and tables list them.
    pub const ALL: [MetaOp; 8] = [
        MetaOp::Create,
        MetaOp::Rename,
        MetaOp::RenameDir,
        MetaOp::Unlink,
        MetaOp::Mkdir,
        MetaOp::Rmdir,
        MetaOp::Stat,
        MetaOp::Link,
    ];

    /// The name a scenario's `mix:` keys it by.
    pub fn as_str(self) -> &'static str {
        match self {
            MetaOp::Create => "create",
            MetaOp::Rename => "rename",
            MetaOp::RenameDir => "rename_dir",
            MetaOp::Unlink => "unlink",
            MetaOp::Mkdir => "mkdir",
            MetaOp::Rmdir => "rmdir",
            MetaOp::Stat => "stat",
            MetaOp::Link => "link",
        }
    }

    /// The default mix: a namespace-heavy blend where lookups dominate.
    pub const DEFAULT_MIX: &'static [(MetaOp, u32)] = &[
        (MetaOp::Create, 4),
        (MetaOp::Rename, 2),
        (MetaOp::Unlink, 2),
        (MetaOp::Mkdir, 1),
        (MetaOp::Rmdir, 1),
        (MetaOp::Stat, 8),
        (MetaOp::Link, 1),
    ];
}

/// The keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    file_size: Option<U<SizeRange>>,
    files: Option<u64>,
    /// op → weight; read entry by entry so every bad op or weight is
    /// reported at its own key.
    mix: Option<Node>,
}

const DEFAULT_FILES: u64 = 1000;
const DEFAULT_FILE_SIZE: SizeRange = SizeRange::fixed(0);

impl Kind for Metadata {
    const KIND: WorkloadKind = WorkloadKind::Metadata;
    const WRITES: Writes = Writes {
        sync: None,
        end_syncfs: false,
        fsync_dir: true,
        o_direct: false,
        payload: true,
    };
    const MAY_RECORD: &'static [Op] = &[
        Op::Create,
        Op::Write,
        Op::Close,
        Op::Rename,
        Op::RenameDir,
        Op::Unlink,
        Op::Mkdir,
        Op::Rmdir,
        Op::Stat,
        Op::Link,
        Op::FsyncDir,
        Op::Meta,
        Op::MetaService,
    ];
    type Raw = Raw;

    fn check(raw: Raw, cx: &mut Ctx, at: &At) -> Metadata {
        Metadata {
            files: files_at_least_one(cx, at, raw.files, DEFAULT_FILES),
            file_size: size_or(raw.file_size, DEFAULT_FILE_SIZE),
            mix: check_mix(cx, at, raw.mix.as_ref()),
        }
    }
}

impl Params for Metadata {
    fn most_written(&self, cell: &CellShape) -> Option<Written> {
        Some(Written::files(
            cell.threads.saturating_mul(self.files),
            self.file_size.max,
        ))
    }

    fn record(&self) -> Vec<(&'static str, String)> {
        let mix: Vec<String> = self
            .mix
            .iter()
            .map(|(op, w)| format!("{}:{w}", op.as_str()))
            .collect();
        vec![
            ("files", self.files.to_string()),
            ("file_size", self.file_size.to_string()),
            ("mix", mix.join(",")),
        ]
    }

    /// Only the files `create` makes, of its `file_size`.
    fn writes_data(&self) -> bool {
        self.file_size.max > 0
            && self
                .mix
                .iter()
                .any(|(op, w)| *op == MetaOp::Create && *w > 0)
    }

    fn op_sizes(&self) -> Vec<(String, SizeRange)> {
        vec![("file_size".into(), self.file_size)]
    }
}

impl From<Metadata> for WorkloadParams {
    fn from(p: Metadata) -> Self {
        WorkloadParams::Metadata(p)
    }
}

fn check_mix(cx: &mut Ctx, at: &At, mix: Option<&Node>) -> Vec<(MetaOp, u32)> {
    let Some(node) = mix else {
        return MetaOp::DEFAULT_MIX.to_vec();
    };
    let key = at.key("mix");
    let Some(entries) = yaml::entries(node) else {
        cx.err(
            &key,
            format!(
                "`mix` maps operations to weights, e.g. `{{create: 4, stat: 8}}`; found {}",
                yaml::describe(node)
            ),
        );
        return MetaOp::DEFAULT_MIX.to_vec();
    };
    let names: Vec<&str> = MetaOp::ALL.iter().map(|o| o.as_str()).collect();
    let mut out = Vec::new();
    let mut ok = true;
    for (k, v) in entries {
        let kp = at.key(&format!("mix.{k}"));
        let Some(&op) = MetaOp::ALL.iter().find(|o| o.as_str() == k) else {
            cx.err(&kp, diag::unknown("operation", &k, &names));
            ok = false;
            continue;
        };
        match yaml::from_node::<u32>(v) {
            Ok(w) => out.push((op, w)),
            Err(_) => {
                cx.err(
                    &kp,
                    format!(
                        "a weight is a whole number from 0 to {}, e.g. `{k}: 4`; found {}",
                        u32::MAX,
                        yaml::describe(v)
                    ),
                );
                ok = false;
            }
        }
    }
    if ok && out.iter().all(|(_, w)| *w == 0) {
        cx.err(
            &key,
            "every weight is 0 (or the mix is empty): give at least one operation a weight above 0",
        );
    }
    if out.is_empty() {
        return MetaOp::DEFAULT_MIX.to_vec();
    }
    out
}
