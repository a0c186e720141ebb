//! The files under root as the calls show them: what must exist before the
//! trace (so the replay can lay it out) and what the calls leave.
//!
//! Files are nodes (inodes) and names point at them, so a rename or a hard
//! link keeps an open description's file. Sizes are u64, saturating.

use std::collections::{HashMap, HashSet};

use super::{Entry, EntryKind, RelPath};

pub(super) type NodeId = usize;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind {
    File,
    Dir,
    Symlink(String),
}

/// Whether a node existed before the trace's first call.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Origin {
    Before,
    Created,
    /// Opened with O_CREAT only: it existed if the trace reads data from it
    /// (or stats a size) before it writes.
    Maybe,
}

#[derive(Debug)]
struct Node {
    kind: Kind,
    size: u64,
    /// The size it had before the trace, as far as the calls show it.
    pre_size: u64,
    origin: Origin,
    /// Written or truncated: later evidence says nothing of the old size.
    written: bool,
}

#[derive(Debug, Default)]
pub(super) struct Fs {
    nodes: Vec<Node>,
    names: HashMap<RelPath, NodeId>,
    /// Paths the trace created, removed or renamed: never "before".
    touched: HashSet<RelPath>,
    /// Nodes that may be listed in `before`, under their first name.
    before: Vec<(RelPath, NodeId)>,
}

impl Fs {
    pub fn lookup(&self, path: &str) -> Option<NodeId> {
        self.names.get(path).copied()
    }

    fn add(&mut self, kind: Kind, origin: Origin) -> NodeId {
        self.nodes.push(Node {
            kind,
            size: 0,
            pre_size: 0,
            origin,
            written: false,
        });
        self.nodes.len() - 1
    }

    /// The node at `path`, which the call shows existed: if the trace has
    /// not seen it, it existed before the trace. None for root and for
    /// paths the trace itself removed.
    pub fn existing(&mut self, path: &str, kind: Kind) -> Option<NodeId> {
        if path.is_empty() {
            return None;
        }
        if let Some(id) = self.lookup(path) {
            return Some(id);
        }
        if self.touched.contains(path) {
            return None;
        }
        self.parents(path);
        let id = self.add(kind, Origin::Before);
        self.names.insert(path.to_string(), id);
        self.before.push((path.to_string(), id));
        Some(id)
    }

    /// Every directory `path` lies in existed (it was used successfully).
    fn parents(&mut self, path: &str) {
        let mut end = 0;
        while let Some(i) = path[end..].find('/') {
            let dir = &path[..end + i];
            end += i + 1;
            match self.lookup(dir) {
                // Opened without O_DIRECTORY and taken for a file: it holds
                // entries, so it is a directory.
                Some(id) => self.set_kind(id, Kind::Dir),
                None if self.touched.contains(dir) => {}
                None => {
                    let id = self.add(Kind::Dir, Origin::Before);
                    self.names.insert(dir.to_string(), id);
                    self.before.push((dir.to_string(), id));
                }
            }
        }
    }

    fn create(&mut self, path: &str, kind: Kind, origin: Origin) -> Option<NodeId> {
        if path.is_empty() {
            return None;
        }
        self.parents(path);
        let id = self.add(kind, origin);
        self.names.insert(path.to_string(), id);
        self.touched.insert(path.to_string());
        if origin == Origin::Maybe {
            self.before.push((path.to_string(), id));
        }
        Some(id)
    }

    /// A successful open: the node it opened.
    pub fn open(&mut self, path: &str, flags: i32) -> Option<NodeId> {
        let dir = flags & libc::O_DIRECTORY != 0;
        let kind = if dir { Kind::Dir } else { Kind::File };
        let creat = flags & libc::O_CREAT != 0;
        let id = match self.lookup(path) {
            Some(id) => id,
            None if !creat => return self.existing(path, kind),
            None if self.touched.contains(path) => return self.create(path, kind, Origin::Created),
            None if flags & (libc::O_EXCL | libc::O_TRUNC) != 0 => {
                return self.create(path, kind, Origin::Created)
            }
            None => return self.create(path, kind, Origin::Maybe),
        };
        if flags & libc::O_TRUNC != 0 {
            self.truncate(id, 0);
        }
        Some(id)
    }

    /// The trace shows the node had at least `size` bytes before any write.
    pub fn evidence(&mut self, id: NodeId, size: u64) {
        let Some(n) = self.nodes.get_mut(id) else {
            return;
        };
        if n.written || n.kind != Kind::File {
            return;
        }
        n.pre_size = n.pre_size.max(size);
        n.size = n.size.max(size);
        if n.origin == Origin::Maybe && size > 0 {
            n.origin = Origin::Before;
        }
    }

    /// A stat says the node is a directory or symlink, not a file.
    pub fn set_kind(&mut self, id: NodeId, kind: Kind) {
        if let Some(n) = self.nodes.get_mut(id) {
            if !n.written && n.size == 0 {
                n.kind = kind;
            }
        }
    }

    pub fn size(&self, id: NodeId) -> u64 {
        self.nodes.get(id).map_or(0, |n| n.size)
    }

    pub fn write(&mut self, id: NodeId, at: u64, len: u64) {
        let Some(n) = self.nodes.get_mut(id) else {
            return;
        };
        n.size = n.size.max(at.saturating_add(len));
        Self::modified(n);
    }

    pub fn truncate(&mut self, id: NodeId, len: u64) {
        let Some(n) = self.nodes.get_mut(id) else {
            return;
        };
        n.size = len;
        Self::modified(n);
    }

    fn modified(n: &mut Node) {
        n.written = true;
        if n.origin == Origin::Maybe {
            n.origin = Origin::Created;
        }
    }

    pub fn remove(&mut self, path: &str) {
        self.names.remove(path);
        self.touched.insert(path.to_string());
    }

    pub fn mkdir(&mut self, path: &str) {
        self.create(path, Kind::Dir, Origin::Created);
    }

    pub fn symlink(&mut self, target: &str, path: &str) {
        self.create(path, Kind::Symlink(target.to_string()), Origin::Created);
    }

    /// A name made for a new file (rename or link from outside root …).
    pub fn new_file(&mut self, path: &str) {
        self.create(path, Kind::File, Origin::Created);
    }

    pub fn link(&mut self, from: &str, to: &str) {
        let Some(id) = self.existing(from, Kind::File) else {
            return;
        };
        self.parents(to);
        self.names.insert(to.to_string(), id);
        self.touched.insert(to.to_string());
    }

    /// rename(2), with RENAME_EXCHANGE swapping; a directory takes its
    /// children along (linear in the names: renames of directories are rare).
    pub fn rename(&mut self, from: &str, to: &str, exchange: bool) {
        if from == to {
            return;
        }
        let Some(a) = self.existing(from, Kind::File) else {
            return;
        };
        let b = if exchange {
            self.existing(to, Kind::File)
        } else {
            None
        };
        self.parents(to);
        let moved = self.take_children(from);
        let swapped = if exchange {
            self.take_children(to)
        } else {
            Vec::new()
        };
        if !exchange {
            // What `to` was (a file, an empty directory) is replaced.
            let _ = self.take_children(to);
        }
        self.names.remove(from);
        self.names.insert(to.to_string(), a);
        if let Some(b) = b {
            self.names.insert(from.to_string(), b);
        }
        for (rest, id) in moved {
            self.names.insert(format!("{to}{rest}"), id);
        }
        for (rest, id) in swapped {
            self.names.insert(format!("{from}{rest}"), id);
        }
        self.touched.insert(from.to_string());
        self.touched.insert(to.to_string());
    }

    /// Removes the names under `dir/`, returning them as `/rest` suffixes.
    fn take_children(&mut self, dir: &str) -> Vec<(String, NodeId)> {
        if !matches!(self.lookup(dir).and_then(|id| self.nodes.get(id)), Some(n) if n.kind == Kind::Dir)
        {
            return Vec::new();
        }
        let prefix = format!("{dir}/");
        let keys: Vec<String> = self
            .names
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .cloned()
            .collect();
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            if let Some(id) = self.names.remove(&k) {
                self.touched.insert(k.clone());
                out.push((k[dir.len()..].to_string(), id));
            }
        }
        out
    }

    fn entry(&self, path: &str, id: NodeId, pre: bool) -> Option<Entry> {
        let n = self.nodes.get(id)?;
        let kind = match &n.kind {
            Kind::File => EntryKind::File {
                size: if pre { n.pre_size } else { n.size },
            },
            Kind::Dir => EntryKind::Dir,
            Kind::Symlink(t) => EntryKind::Symlink { target: t.clone() },
        };
        Some(Entry {
            path: path.to_string(),
            kind,
        })
    }

    pub fn before(&self) -> Vec<Entry> {
        let mut out: Vec<Entry> = self
            .before
            .iter()
            .filter(|(_, id)| {
                self.nodes
                    .get(*id)
                    .is_some_and(|n| n.origin == Origin::Before)
            })
            .filter_map(|(p, id)| self.entry(p, *id, true))
            .collect();
        out.sort_by(|a, b| by_components(&a.path, &b.path));
        out
    }

    pub fn after(&self) -> Vec<Entry> {
        let mut out: Vec<Entry> = self
            .names
            .iter()
            .filter_map(|(p, id)| self.entry(p, *id, false))
            .collect();
        out.sort_by(|a, b| by_components(&a.path, &b.path));
        out
    }
}

/// Path order with parents before children: `a` < `a/b` < `a-b`.
fn by_components(a: &str, b: &str) -> std::cmp::Ordering {
    a.split('/').cmp(b.split('/'))
}
