//! One strace line → its parts, without knowing what any syscall means.
//!
//! Works on `&str` slices with `find`/byte scans (no regex): a 100 MB trace
//! is a few million lines, and this runs once per line.

use std::time::Duration;

/// The columns every line starts with: `[PID] TIMESTAMP`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Head {
    /// None when the trace was recorded without `-f` (no pid column).
    pub pid: Option<u32>,
    pub time: Duration,
}

/// What follows the head.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Event<'a> {
    /// `name(args) = ret`: `body` is `args) = ret …`, split by [`split_body`].
    Call { name: &'a str, body: &'a str },
    /// `name(args <unfinished ...>`
    Unfinished { name: &'a str, args: &'a str },
    /// `<... name resumed>tail`: `tail` continues the unfinished args.
    Resumed { name: &'a str, tail: &'a str },
    /// `+++ exited with N +++` / `+++ killed by SIG +++`: the pid is gone.
    Exit,
    /// Signals and other notes strace prints between calls.
    Skip,
}

/// The return column: `= 3</a> <0.1>`, `= -1 ENOENT (…)`, `= ?`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Ret<'a> {
    /// None for `?` (the call did not return: exit, ERESTARTSYS …).
    pub value: Option<i64>,
    pub errno: Option<&'a str>,
    /// The `-y` annotation of a returned fd: `/a` of `3</a>`.
    pub annot: Option<&'a str>,
}

const NO_TIME: &str = "no timestamp: record the trace with `strace -f -ttt -T -y -o FILE CMD`";

/// Splits one line into head and event; `Err` carries the message for
/// [`super::TraceError`].
pub(super) fn line(s: &str) -> Result<(Head, Event<'_>), String> {
    let s = s.trim_start();
    let (first, rest) = word(s);
    let (pid, time_word, rest) = if first.starts_with("[pid") {
        // `[pid  123] ` when strace wrote to a terminal.
        let (num, rest) = word(rest);
        let num = num.trim_end_matches(']');
        let (t, rest) = word(rest);
        (Some(parse_pid(num)?), t, rest)
    } else if is_digits(first) {
        let (t, rest2) = word(rest);
        (Some(parse_pid(first)?), t, rest2)
    } else {
        (None, first, rest)
    };
    let time = match parse_time(time_word) {
        Some(t) => t,
        None if time_word.contains('(') || time_word.contains(':') || is_digits(time_word) => {
            return Err(NO_TIME.to_string())
        }
        None => return Err(garbage()),
    };
    Ok((Head { pid, time }, event(rest.trim_start())?))
}

fn garbage() -> String {
    "not a strace line: expected `[PID] TIMESTAMP SYSCALL(ARGS) = RESULT`".to_string()
}

fn event(s: &str) -> Result<Event<'_>, String> {
    if let Some(r) = s.strip_prefix("+++ ") {
        if r.starts_with("exited with") || r.starts_with("killed by") {
            return Ok(Event::Exit);
        }
        return Ok(Event::Skip);
    }
    if s.starts_with("--- ") {
        return Ok(Event::Skip);
    }
    if let Some(r) = s.strip_prefix("<... ") {
        let Some(end) = r.find(" resumed>") else {
            return Err(garbage());
        };
        let name = &r[..end];
        if !is_name(name) {
            return Err(garbage());
        }
        return Ok(Event::Resumed {
            name,
            tail: &r[end + " resumed>".len()..],
        });
    }
    let Some(open) = s.find('(') else {
        return Err(garbage());
    };
    let name = &s[..open];
    if !is_name(name) {
        return Err(garbage());
    }
    let body = &s[open + 1..];
    if let Some(args) = body.trim_end().strip_suffix("<unfinished ...>") {
        return Ok(Event::Unfinished {
            name,
            args: args.trim_end(),
        });
    }
    Ok(Event::Call { name, body })
}

/// `args) = ret …` → (args, ret). `Err` when there is no return column: the
/// line was cut off.
pub(super) fn split_body(body: &str) -> Result<(&str, Ret<'_>), String> {
    let body = body.trim_end();
    let Some(eq) = body.rfind(" = ") else {
        return Err("truncated line: the call has no `= RESULT`".to_string());
    };
    let Some(args) = body[..eq].trim_end().strip_suffix(')') else {
        return Err("truncated line: the call has no closing `)`".to_string());
    };
    Ok((args, ret(&body[eq + 3..])))
}

fn ret(s: &str) -> Ret<'_> {
    let s = s.trim_start();
    let end = s
        .find(|c: char| c.is_whitespace() || c == '<')
        .unwrap_or(s.len());
    let value = parse_int(&s[..end]);
    let mut rest = &s[end..];
    let mut annot = None;
    if rest.starts_with('<') {
        let close = bracket_end(rest);
        annot = rest.get(1..close.saturating_sub(1));
        rest = rest.get(close..).unwrap_or("");
    }
    let (w, _) = word(rest.trim_start());
    let errno = (w.len() > 1
        && w.starts_with('E')
        && w.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
    .then_some(w);
    Ret {
        value,
        errno,
        annot,
    }
}

/// Index just past the `>` matching the `<` at the start of `s` (nested
/// `<…<…>>` of `-yy` included); `s.len()` when it is not closed.
fn bracket_end(s: &str) -> usize {
    let mut depth = 0usize;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'<' => depth += 1,
            b'>' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    s.len()
}

/// Top-level arguments: commas inside strings, `[]`, `{}`, `()` and `<>`
/// annotations do not split.
pub(super) fn split_args(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for (i, b) in s.bytes().enumerate() {
        if in_str {
            match b {
                _ if esc => esc = false,
                b'\\' => esc = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'(' | b'[' | b'{' | b'<' => depth += 1,
            b')' | b']' | b'}' | b'>' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = s[start..].trim();
    if !last.is_empty() || !out.is_empty() {
        out.push(last);
    }
    out
}

/// `3</a>` → (3, Some("/a")); `AT_FDCWD</d>` → (AT_FDCWD, Some("/d")).
pub(super) fn fd_arg(s: &str) -> Option<(i64, Option<&str>)> {
    let s = s.trim();
    let (num, rest) = match s.find('<') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let fd = if num == "AT_FDCWD" {
        i64::from(libc::AT_FDCWD)
    } else {
        parse_int(num)?
    };
    let annot = if rest.is_empty() {
        None
    } else {
        rest.get(1..bracket_end(rest).saturating_sub(1))
    };
    Some((fd, annot))
}

/// A C-escaped string literal as strace prints it → its text. None when
/// `s` is not a string (NULL, an address).
pub(super) fn str_arg(s: &str) -> Option<String> {
    let s = s.trim().strip_prefix('"')?;
    let s = s.strip_suffix("...").unwrap_or(s);
    let s = s.strip_suffix('"')?;
    Some(unescape(s))
}

/// Decodes `\"`, `\\`, `\n`, `\t`, `\xHH`, octal `\NNN`; invalid UTF-8 is
/// replaced rather than refused (a path we cannot name is still a path).
pub(super) fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'v' => out.push(0x0b),
            b'f' => out.push(0x0c),
            b'x' => {
                let hex = s.get(i..(i + 2).min(b.len())).unwrap_or("");
                let n = hex.bytes().take_while(u8::is_ascii_hexdigit).count();
                out.push(u8::from_str_radix(&hex[..n], 16).unwrap_or(b'x'));
                i += n;
            }
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                let mut n = 0;
                while n < 2 && i < b.len() && (b'0'..=b'7').contains(&b[i]) {
                    v = v * 8 + u32::from(b[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push((v & 0xff) as u8);
            }
            other => out.push(other),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decimal, `-N`, or `0x` hex (addresses, returned pointers).
pub(super) fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x") {
        return u64::from_str_radix(h, 16).ok().map(|v| v as i64);
    }
    s.parse::<i64>().ok()
}

/// A mode as strace prints it: octal with a leading 0 (`0666`), else decimal.
pub(super) fn parse_mode(s: &str) -> Option<u32> {
    let s = s.trim();
    if s.len() > 1 && s.starts_with('0') && !s.starts_with("0x") {
        return u32::from_str_radix(&s[1..], 8).ok();
    }
    parse_int(s).and_then(|v| u32::try_from(v).ok())
}

/// `1796606820.805229` → time since the epoch; None for anything else
/// (`-tt`'s `01:28:11.1`, a missing column).
fn parse_time(s: &str) -> Option<Duration> {
    let (secs, frac) = s.split_once('.')?;
    if !is_digits(secs) || !is_digits(frac) || frac.len() > 9 {
        return None;
    }
    let secs = secs.parse::<u64>().ok()?;
    let nanos = frac.parse::<u32>().ok()? * 10u32.pow(9 - frac.len() as u32);
    Some(Duration::new(secs, nanos))
}

fn parse_pid(s: &str) -> Result<u32, String> {
    s.parse::<u32>().map_err(|_| garbage())
}

fn word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    (&s[..end], &s[end..])
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
