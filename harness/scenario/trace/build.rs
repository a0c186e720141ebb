//! Lines → model: processes and their fd tables, paths, slots, the calls'
//! dependencies; the files go to `sim`, and the syscalls themselves are
//! decoded in `ops`.

use std::collections::HashMap;
use std::time::Duration;

use super::lex::{self, fd_arg, Event, Ret};
use super::sim::{Fs, Kind, NodeId};
use super::{errno_number, Call, CallOp, RelPath, Slot, Trace, TraceError, TraceThread};

pub(super) fn err(line: usize, message: impl Into<String>) -> TraceError {
    TraceError {
        line,
        message: message.into(),
    }
}

/// What an fd of a process's table refers to.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum FdRef {
    Slot(Slot),
    /// A path outside root (absolute).
    Outside(String),
    /// A pipe, socket, anon inode … (by its kind, for the counts).
    Other,
}

#[derive(Debug, Clone)]
pub(super) struct FdEntry {
    pub r: FdRef,
    pub cloexec: bool,
}

#[derive(Debug, Default)]
pub(super) struct Table {
    pub fds: HashMap<i64, FdEntry>,
    /// Processes (threads) using this table.
    users: u32,
}

#[derive(Debug)]
pub(super) struct Proc {
    pub table: usize,
    /// Absolute working directory.
    pub cwd: String,
    alive: bool,
    /// Line where it first appeared (to tell a clone's child from pid reuse).
    born: usize,
}

/// An open file description: slots made by dup share one.
#[derive(Debug)]
pub(super) struct Desc {
    pub node: Option<NodeId>,
    pub path: RelPath,
    pub pos: u64,
    pub append: bool,
}

#[derive(Debug)]
pub(super) struct SlotInfo {
    pub desc: usize,
    /// Fd table entries referring to this slot.
    pub refs: u32,
    pub made_by: Option<(usize, usize)>,
}

/// The call being decoded.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ctx<'a> {
    pub pid: u32,
    pub line: usize,
    pub time: Duration,
    pub name: &'a str,
    pub ret: Ret<'a>,
}

/// Where a path argument lies.
pub(super) enum Place {
    Under(String),
    /// Absolute, outside root.
    Outside(String),
}

/// An fd argument as the replay sees it: a slot, or a call it drops (and
/// has already counted).
pub(super) enum Use {
    Slot(Slot),
    Dropped,
}

struct Pending {
    line: usize,
    time: Duration,
    name: String,
    args: String,
}

const CLONES: [&str; 4] = ["clone", "clone3", "fork", "vfork"];

#[derive(Default)]
pub(super) struct Builder {
    /// Absolute root; "/" when only relative paths are allowed.
    pub root: String,
    pub relative_only: bool,
    first_time: Option<Duration>,
    threads: Vec<TraceThread>,
    thread_of: HashMap<u32, usize>,
    pub procs: HashMap<u32, Proc>,
    pub tables: Vec<Table>,
    pub slots: Vec<SlotInfo>,
    pub descs: Vec<Desc>,
    pending: HashMap<u32, Pending>,
    pub fs: Fs,
    last_use: HashMap<RelPath, (usize, usize)>,
    not_replayed: HashMap<String, u64>,
    outside: Vec<String>,
    outside_calls: u64,
    /// An error found while emitting a call (reported after its line).
    bad: Option<TraceError>,
}

/// Stands for an errno name not in the table until the call is emitted.
const UNKNOWN_ERRNO: i32 = i32::MIN;

pub(super) fn parse(text: &str, root: Option<&str>) -> Result<Trace, TraceError> {
    let mut b = Builder::default();
    match root {
        Some(r) if r.starts_with('/') => b.root = normalize(r),
        Some(r) => return Err(err(0, format!("root `{r}` must be an absolute path"))),
        None => match first_cwd(text) {
            Some(cwd) => b.root = cwd,
            None => {
                b.root = "/".to_string();
                b.relative_only = true;
            }
        },
    }
    let mut lines = 0;
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim().is_empty() {
            continue;
        }
        lines = i + 1;
        b.line(raw, i + 1)?;
    }
    let unknown_root = root.is_none() && b.relative_only;
    b.finish(lines, unknown_root)
}

/// The cwd of the first `AT_FDCWD</dir>` annotation (`-y`), if any.
fn first_cwd(text: &str) -> Option<String> {
    let at = text.find("AT_FDCWD<")?;
    let (_, annot) = lex::fd_arg(text.get(at..)?.split([',', ')']).next()?)?;
    annot_path(annot?).map(|p| normalize(&p))
}

/// The path of an fd annotation, or None for pipes, sockets, anon inodes.
pub(super) fn annot_path(a: &str) -> Option<String> {
    if !a.starts_with('/') {
        return None;
    }
    // -yy adds `<char 1:3>` to devices; a deleted file shows ` (deleted)`.
    let a = a.split('<').next().unwrap_or(a);
    let a = a.strip_suffix(" (deleted)").unwrap_or(a);
    Some(lex::unescape(a))
}

/// `/a/./b/../c/` → `/a/c` (lexically, as the kernel would without symlinks).
pub(super) fn normalize(abs: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in abs.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut out = String::with_capacity(abs.len());
    for p in &parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

impl Builder {
    fn line(&mut self, raw: &str, n: usize) -> Result<(), TraceError> {
        let (head, ev) = lex::line(raw).map_err(|m| err(n, m))?;
        self.first_time.get_or_insert(head.time);
        let pid = head.pid.unwrap_or(0);
        self.see(pid, n);
        self.event(pid, n, head.time, ev)?;
        match self.bad.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn event(&mut self, pid: u32, n: usize, time: Duration, ev: Event) -> Result<(), TraceError> {
        match ev {
            Event::Exit => self.exit(pid),
            Event::Skip => {}
            Event::Unfinished { name, args } => {
                let p = Pending {
                    line: n,
                    time,
                    name: name.to_string(),
                    args: args.to_string(),
                };
                if let Some(old) = self.pending.insert(pid, p) {
                    self.count(&old.name);
                }
            }
            Event::Resumed { name, tail } => match self.pending.remove(&pid) {
                Some(p) if p.name == name => {
                    let body = format!("{}{}", p.args, tail);
                    let (args, ret) = lex::split_body(&body).map_err(|m| err(n, m))?;
                    let c = Ctx {
                        pid,
                        line: p.line,
                        time: p.time,
                        name,
                        ret,
                    };
                    self.call(&c, args)?;
                }
                // A resumed call whose start we did not see (strace shows
                // some around vfork): nothing to replay.
                Some(p) => {
                    self.count(&p.name);
                    self.count(name);
                }
                None => self.count(name),
            },
            Event::Call { name, body } => {
                let (args, ret) = lex::split_body(body).map_err(|m| err(n, m))?;
                let c = Ctx {
                    pid,
                    line: n,
                    time,
                    name,
                    ret,
                };
                self.call(&c, args)?;
            }
        }
        Ok(())
    }

    fn finish(mut self, lines: usize, unknown_root: bool) -> Result<Trace, TraceError> {
        for p in std::mem::take(&mut self.pending).into_values() {
            self.count(&p.name);
        }
        let mut not_replayed: Vec<(String, u64)> = self.not_replayed.into_iter().collect();
        not_replayed.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(Trace {
            root: if unknown_root {
                String::new()
            } else {
                self.root
            },
            threads: self.threads,
            slots: self.slots.len(),
            before: self.fs.before(),
            after: self.fs.after(),
            not_replayed,
            outside: self.outside,
            outside_calls: self.outside_calls,
            lines,
        })
    }

    /// A pid's line: its thread, and its process (a clone's child appears
    /// before the clone returns in its parent).
    fn see(&mut self, pid: u32, line: usize) {
        if !self.thread_of.contains_key(&pid) {
            self.thread_of.insert(pid, self.threads.len());
            self.threads.push(TraceThread {
                pid,
                calls: Vec::new(),
            });
        }
        if self.procs.get(&pid).is_some_and(|p| p.alive) {
            return;
        }
        let parent = self
            .pending
            .iter()
            .filter(|(_, p)| CLONES.contains(&p.name.as_str()))
            .max_by_key(|(_, p)| p.line)
            .map(|(&ppid, p)| (ppid, p.args.contains("CLONE_FILES")));
        match parent {
            Some((ppid, share)) if ppid != pid => self.child(ppid, pid, share, line),
            _ => {
                self.tables.push(Table {
                    fds: HashMap::new(),
                    users: 1,
                });
                let cwd = self.root.clone();
                let p = Proc {
                    table: self.tables.len() - 1,
                    cwd,
                    alive: true,
                    born: line,
                };
                self.procs.insert(pid, p);
            }
        }
    }

    /// `child` made by `parent`: the same fd table (CLONE_FILES) or a copy.
    pub(super) fn child(&mut self, parent: u32, child: u32, share: bool, line: usize) {
        let Some(pp) = self.procs.get(&parent) else {
            return;
        };
        let (ptable, cwd) = (pp.table, pp.cwd.clone());
        if self.procs.get(&child).is_some_and(|p| p.alive) {
            self.exit(child);
        }
        let table = if share {
            ptable
        } else {
            let fds = self
                .tables
                .get(ptable)
                .map(|t| t.fds.clone())
                .unwrap_or_default();
            for e in fds.values() {
                if let FdRef::Slot(s) = e.r {
                    if let Some(si) = self.slots.get_mut(s) {
                        si.refs = si.refs.saturating_add(1);
                    }
                }
            }
            self.tables.push(Table { fds, users: 0 });
            self.tables.len() - 1
        };
        if let Some(t) = self.tables.get_mut(table) {
            t.users = t.users.saturating_add(1);
        }
        self.procs.insert(
            child,
            Proc {
                table,
                cwd,
                alive: true,
                born: line,
            },
        );
    }

    /// Whether `child` was already made from a clone that started at `line`.
    pub(super) fn born_since(&self, child: u32, line: usize) -> bool {
        self.procs
            .get(&child)
            .is_some_and(|p| p.alive && p.born >= line)
    }

    /// A process is gone: its table goes when no thread uses it.
    pub(super) fn exit(&mut self, pid: u32) {
        if let Some(p) = self.pending.remove(&pid) {
            self.count(&p.name);
        }
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        if !p.alive {
            return;
        }
        p.alive = false;
        let Some(t) = self.tables.get_mut(p.table) else {
            return;
        };
        t.users = t.users.saturating_sub(1);
        if t.users == 0 {
            let fds = std::mem::take(&mut t.fds);
            for e in fds.into_values() {
                self.unref(&e.r);
            }
        }
    }

    pub(super) fn unref(&mut self, r: &FdRef) -> bool {
        if let FdRef::Slot(s) = r {
            if let Some(si) = self.slots.get_mut(*s) {
                si.refs = si.refs.saturating_sub(1);
                return si.refs == 0;
            }
        }
        false
    }

    pub(super) fn table_mut(&mut self, pid: u32) -> Option<&mut Table> {
        let t = self.procs.get(&pid)?.table;
        self.tables.get_mut(t)
    }

    pub(super) fn get_fd(&self, pid: u32, fd: i64) -> Option<&FdEntry> {
        let t = self.procs.get(&pid)?.table;
        self.tables.get(t)?.fds.get(&fd)
    }

    /// Puts `e` at `fd`, dropping what was there (dup2 onto an open fd).
    pub(super) fn set_fd(&mut self, pid: u32, fd: i64, e: FdEntry) {
        if let FdRef::Slot(s) = e.r {
            if let Some(si) = self.slots.get_mut(s) {
                si.refs = si.refs.saturating_add(1);
            }
        }
        let old = self.table_mut(pid).and_then(|t| t.fds.insert(fd, e));
        if let Some(old) = old {
            self.unref(&old.r);
        }
    }

    pub(super) fn remove_fd(&mut self, pid: u32, fd: i64) -> Option<FdEntry> {
        self.table_mut(pid)?.fds.remove(&fd)
    }

    /// execve: the O_CLOEXEC fds go.
    pub(super) fn exec(&mut self, pid: u32) {
        let Some(t) = self.table_mut(pid) else { return };
        let gone: Vec<i64> = t
            .fds
            .iter()
            .filter(|(_, e)| e.cloexec)
            .map(|(fd, _)| *fd)
            .collect();
        for fd in gone {
            if let Some(e) = self.remove_fd(pid, fd) {
                self.unref(&e.r);
            }
        }
    }

    /// A new open file description of `path` at `fd` of `pid`, in a new slot.
    pub(super) fn open_fd(
        &mut self,
        pid: u32,
        fd: i64,
        path: &str,
        node: Option<NodeId>,
        append: bool,
        cloexec: bool,
    ) -> Slot {
        let desc = self.new_desc(path, node, append);
        let slot = self.new_slot(desc);
        self.set_fd(
            pid,
            fd,
            FdEntry {
                r: FdRef::Slot(slot),
                cloexec,
            },
        );
        slot
    }

    pub(super) fn new_slot(&mut self, desc: usize) -> Slot {
        self.slots.push(SlotInfo {
            desc,
            refs: 0,
            made_by: None,
        });
        self.slots.len() - 1
    }

    pub(super) fn new_desc(&mut self, path: &str, node: Option<NodeId>, append: bool) -> usize {
        self.descs.push(Desc {
            node,
            path: path.to_string(),
            pos: 0,
            append,
        });
        self.descs.len() - 1
    }

    pub(super) fn count(&mut self, name: &str) {
        match self.not_replayed.get_mut(name) {
            Some(n) => *n += 1,
            None => {
                self.not_replayed.insert(name.to_string(), 1);
            }
        }
    }

    pub(super) fn count_outside(&mut self, path: &str) {
        self.outside_calls += 1;
        if self.outside.len() < 20 && !self.outside.iter().any(|p| p == path) {
            self.outside.push(path.to_string());
        }
    }

    /// The call's result as the model keeps it; None when it did not return
    /// (`= ?`, ERESTARTSYS): such calls are not replayed.
    pub(super) fn result(&self, c: &Ctx) -> Result<Option<Result<i64, i32>>, TraceError> {
        let Some(v) = c.ret.value else {
            return Ok(None);
        };
        match c.ret.errno {
            Some(name) if v < 0 => match errno_number(name) {
                Some(e) => Ok(Some(Err(e))),
                None if name.starts_with("ERESTART") => Ok(None),
                // Only an error if the call is replayed (see `emit`): a
                // socket's or pipe's odd errno does not matter.
                None => Ok(Some(Err(UNKNOWN_ERRNO))),
            },
            _ => Ok(Some(Ok(v))),
        }
    }

    /// Appends a call to its thread, with the calls of other threads it
    /// must wait for: the makers of its slots and the last users of its
    /// paths. Returns (thread, index).
    pub(super) fn emit(
        &mut self,
        c: &Ctx,
        op: CallOp,
        result: Result<i64, i32>,
        slots: &[Slot],
        paths: &[&str],
    ) -> (usize, usize) {
        let t = self.thread_of.get(&c.pid).copied().unwrap_or(0);
        let Some(thread) = self.threads.get(t) else {
            return (0, 0);
        };
        let idx = thread.calls.len();
        let mut after: Vec<(usize, usize)> = Vec::new();
        let deps = slots
            .iter()
            .filter_map(|s| self.slots.get(*s).and_then(|si| si.made_by))
            .chain(paths.iter().filter_map(|p| self.last_use.get(*p).copied()));
        for (dt, di) in deps {
            if dt == t {
                continue;
            }
            match after.iter_mut().find(|e| e.0 == dt) {
                Some(e) => e.1 = e.1.max(di),
                None => after.push((dt, di)),
            }
        }
        after.sort_unstable();
        if result == Err(UNKNOWN_ERRNO) && self.bad.is_none() {
            let name = c.ret.errno.unwrap_or("?");
            self.bad = Some(err(c.line, format!("unknown errno {name} in {}()", c.name)));
        }
        let at = c.time.saturating_sub(self.first_time.unwrap_or_default());
        if let Some(thread) = self.threads.get_mut(t) {
            thread.calls.push(Call {
                line: c.line,
                at,
                op,
                result,
                after,
            });
        }
        for p in paths {
            match self.last_use.get_mut(*p) {
                Some(v) => *v = (t, idx),
                None => {
                    self.last_use.insert(p.to_string(), (t, idx));
                }
            }
        }
        (t, idx)
    }
}

/// Paths and fd arguments: where they lie, which slot they use.
impl Builder {
    pub(super) fn slot_path(&self, s: Slot) -> (usize, Option<NodeId>, String) {
        let d = self.slots.get(s).map_or(0, |si| si.desc);
        match self.descs.get(d) {
            Some(desc) => (d, desc.node, desc.path.clone()),
            None => (d, None, String::new()),
        }
    }

    pub(super) fn under(&self, abs: &str) -> Option<String> {
        if self.root == "/" {
            return Some(abs.trim_start_matches('/').to_string());
        }
        if abs == self.root {
            return Some(String::new());
        }
        abs.strip_prefix(self.root.as_str())?
            .strip_prefix('/')
            .map(str::to_string)
    }

    pub(super) fn join_root(&self, rel: &str) -> String {
        match (rel.is_empty(), self.root == "/") {
            (true, _) => self.root.clone(),
            (false, true) => format!("/{rel}"),
            (false, false) => format!("{}/{rel}", self.root),
        }
    }

    pub(super) fn cwd(&self, pid: u32) -> String {
        self.procs
            .get(&pid)
            .map_or_else(|| self.root.clone(), |p| p.cwd.clone())
    }

    /// The absolute directory a dirfd argument names (None: no dirfd, the
    /// cwd). Err for an fd the trace never opened.
    pub(super) fn base(&self, c: &Ctx, dirfd: Option<&&str>) -> Result<Option<String>, TraceError> {
        let Some((fd, annot)) = dirfd.and_then(|d| fd_arg(d)) else {
            return Ok(Some(self.cwd(c.pid)));
        };
        if let Some(p) = annot.and_then(annot_path) {
            return Ok(Some(p));
        }
        if fd == i64::from(libc::AT_FDCWD) {
            return Ok(Some(self.cwd(c.pid)));
        }
        match self.get_fd(c.pid, fd).map(|e| &e.r) {
            Some(FdRef::Slot(s)) => Ok(Some(self.join_root(&self.slot_path(*s).2))),
            Some(FdRef::Outside(p)) => Ok(Some(p.clone())),
            Some(FdRef::Other) => Ok(None),
            None => Err(never_opened(c.line, fd)),
        }
    }

    pub(super) fn resolve(
        &self,
        c: &Ctx,
        dirfd: Option<&&str>,
        path: &str,
    ) -> Result<Place, TraceError> {
        let abs = if path.starts_with('/') {
            if self.relative_only {
                return Err(err(
                    c.line,
                    format!(
                        "absolute path {path} in a trace without -y: give `root:` (the directory \
                         the program worked in), or record with `strace -f -ttt -T -y`"
                    ),
                ));
            }
            normalize(path)
        } else {
            match self.base(c, dirfd)? {
                Some(base) => normalize(&format!("{base}/{path}")),
                None => return Ok(Place::Outside(format!("<fd>/{path}"))),
            }
        };
        Ok(match self.under(&abs) {
            Some(rel) => Place::Under(rel),
            None => Place::Outside(abs),
        })
    }

    /// The slot an fd argument uses. An fd inherited from before the trace
    /// whose `-y` path is under root is opened (O_RDWR) right here.
    pub(super) fn fd_use(&mut self, c: &Ctx, fd_s: Option<&&str>) -> Result<Use, TraceError> {
        let Some((fd, annot)) = fd_s.and_then(|s| fd_arg(s)).filter(|f| f.0 >= 0) else {
            // Not an fd (close(-1), AT_FDCWD with AT_EMPTY_PATH): nothing to replay.
            self.count(c.name);
            return Ok(Use::Dropped);
        };
        match self.get_fd(c.pid, fd).map(|e| e.r.clone()) {
            Some(FdRef::Slot(s)) => return Ok(Use::Slot(s)),
            Some(FdRef::Outside(p)) => {
                self.count_outside(&p);
                return Ok(Use::Dropped);
            }
            Some(FdRef::Other) => {
                self.count(c.name);
                return Ok(Use::Dropped);
            }
            None => {}
        }
        let Some(a) = annot else {
            if (0..=2).contains(&fd) {
                self.count(c.name);
                return Ok(Use::Dropped);
            }
            return Err(never_opened(c.line, fd));
        };
        let Some(abs) = annot_path(a).map(|p| normalize(&p)) else {
            self.set_fd(
                c.pid,
                fd,
                FdEntry {
                    r: FdRef::Other,
                    cloexec: false,
                },
            );
            self.count(c.name);
            return Ok(Use::Dropped);
        };
        let Some(rel) = self.under(&abs) else {
            self.set_fd(
                c.pid,
                fd,
                FdEntry {
                    r: FdRef::Outside(abs.clone()),
                    cloexec: false,
                },
            );
            self.count_outside(&abs);
            return Ok(Use::Dropped);
        };
        let node = self.fs.existing(&rel, Kind::File);
        let slot = self.open_fd(c.pid, fd, &rel, node, false, false);
        let op = CallOp::Open {
            path: rel.clone(),
            flags: libc::O_RDWR,
            mode: 0,
            slot: Some(slot),
        };
        let made = self.emit(c, op, Ok(fd), &[], &[&rel]);
        self.made(slot, made);
        Ok(Use::Slot(slot))
    }

    pub(super) fn made(&mut self, slot: Slot, by: (usize, usize)) {
        if let Some(si) = self.slots.get_mut(slot) {
            si.made_by = Some(by);
        }
    }
}

fn never_opened(line: usize, fd: i64) -> TraceError {
    err(
        line,
        format!(
            "fd {fd} was never opened in the trace (record from the program's start, or with -y)"
        ),
    )
}
