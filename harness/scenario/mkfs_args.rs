//! The `mkfs:` arguments a user may write. They are read the way getopt(3)
//! in mke2fs and mkfs.xfs reads them — clusters (`-qF`), values attached
//! (`-N4096`) or separate (`-N 4096`), and a value-taking letter inside a
//! cluster taking the rest of it (`-qepanic` is `-q -e panic`) — so what is
//! refused here is exactly what the program would have received. The
//! scenario check refuses at load time (exit 2, file:line:col); the target
//! room asks again before it runs mkfs.

use super::spec::TargetKind;

/// Options of mke2fs that take no value (its getopt string is
/// `b:cd:e:g:i:jl:m:no:qr:s:t:vC:DE:FG:I:J:KL:M:N:O:R:ST:U:Vz:`).
const EXT4_FLAGS: &[char] = &['c', 'D', 'F', 'j', 'K', 'n', 'q', 'S', 'v', 'V'];
/// Options of mkfs.xfs that take no value (`b:c:d:i:l:L:m:n:KNp:qr:s:CfV`).
const XFS_FLAGS: &[char] = &['C', 'f', 'K', 'N', 'q', 'V'];

/// What mke2fs's `-e` accepts besides `panic`.
pub const EXT4_ERROR_BEHAVIOURS: &[&str] = &["continue", "remount-ro"];

/// One parsed mkfs argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MkfsArg {
    /// A short option and its value, if it takes one; `at` is the index of
    /// the argument holding the letter.
    Short {
        letter: char,
        value: Option<String>,
        at: usize,
    },
    /// `--word`: neither mkfs has long options; passed on for it to refuse.
    Long { text: String, at: usize },
}

impl MkfsArg {
    /// The argv entries that give mkfs this argument.
    pub fn argv(&self) -> Vec<String> {
        match self {
            MkfsArg::Short { letter, value, .. } => std::iter::once(format!("-{letter}"))
                .chain(value.iter().cloned())
                .collect(),
            MkfsArg::Long { text, .. } => vec![text.clone()],
        }
    }
}

/// Why an argument is refused; `at` indexes the argument list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MkfsRefusal {
    pub at: usize,
    pub message: String,
}

fn program(kind: TargetKind) -> &'static str {
    if kind == TargetKind::Xfs {
        "mkfs.xfs"
    } else {
        "mkfs.ext4"
    }
}

/// Parses and checks `args` for mkfs of `kind` (ext4 unless xfs).
///
/// Refused: a bare word that is not an option's value (mkfs would take it
/// as the device), `-` and `--`, values naming another device or file
/// (`/dev/`, `device=`, `logdev=`, `rtdev=`, `name=`), ext4's `-e` with
/// anything but continue or remount-ro — above all `-e panic`, which makes
/// errors=panic the filesystem's default —, options that read the host's
/// files or write outside the image (ext4's `-d` directory, `-l` bad-block
/// list, `-z` undo file, `-E offset=`, `-D` direct I/O, `-O journal_dev`;
/// xfs's `-p` protofile, `-c options=` config file, `file` data, log or
/// realtime sections), options after which no filesystem of the target's
/// kind exists (ext4's `-n`, `-S`, `-V`, `-c` and a `-t` other than
/// ext2/3/4; xfs's `-N`, `-V`), and numbers mkfs would refuse (see
/// [`layout`]).
pub fn parse(kind: TargetKind, args: &[String]) -> Result<Vec<MkfsArg>, MkfsRefusal> {
    let ext4 = kind != TargetKind::Xfs;
    let flags = if ext4 { EXT4_FLAGS } else { XFS_FLAGS };
    let refuse = |at: usize, message: String| Err(MkfsRefusal { at, message });
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" || a == "-" || !a.starts_with('-') {
            return refuse(
                i,
                format!("`{a}` is not an option; wpbench gives mkfs its device itself"),
            );
        }
        if a.starts_with("--") {
            out.push(MkfsArg::Long {
                text: a.clone(),
                at: i,
            });
            i += 1;
            continue;
        }
        let at = i;
        let cluster: Vec<char> = a.chars().skip(1).collect();
        for (j, &letter) in cluster.iter().enumerate() {
            if flags.contains(&letter) {
                if let Err(message) = check_flag(ext4, letter) {
                    return refuse(at, message);
                }
                out.push(MkfsArg::Short {
                    letter,
                    value: None,
                    at,
                });
                continue;
            }
            // Every other letter takes a value: the rest of the cluster, or
            // the next argument (an unknown letter too: mkfs refuses it).
            let rest: String = cluster[j + 1..].iter().collect();
            let value = if !rest.is_empty() {
                rest
            } else {
                i += 1;
                match args.get(i) {
                    Some(v) => v.clone(),
                    None => return refuse(at, format!("option -{letter} needs a value")),
                }
            };
            if let Err(message) = check_value(ext4, letter, &value) {
                return refuse(at, message);
            }
            out.push(MkfsArg::Short {
                letter,
                value: Some(value),
                at,
            });
            break;
        }
        i += 1;
    }
    layout(kind, &out).map_err(|(at, message)| MkfsRefusal { at, message })?;
    Ok(out)
}

/// Flags that leave no filesystem of the target's kind behind, or make
/// mkfs do something else than format the image.
fn check_flag(ext4: bool, letter: char) -> Result<(), String> {
    let why = match (ext4, letter) {
        (true, 'c') => {
            "-c scans the image for bad blocks (reading it whole, or with -cc writing it \
             four times) instead of only formatting it; leave it out"
        }
        (true, 'D') => {
            "-D makes mkfs.ext4 write with O_DIRECT, which the filesystem holding the image \
             may refuse (a tmpfs, as under an eio fault, does); leave it out"
        }
        (true, 'n') | (false, 'N') => {
            "is a dry run: mkfs would make no filesystem, and mounting the empty image \
             would fail; leave it out"
        }
        (true, 'S') => {
            "-S writes only the superblock and group descriptors, over a filesystem that is \
             not there: the image would not mount; leave it out"
        }
        (_, 'V') => "-V only prints mkfs's version; no filesystem would be made; leave it out",
        _ => return Ok(()),
    };
    Err(if why.starts_with('-') {
        why.to_string()
    } else {
        format!("-{letter} {why}")
    })
}

fn check_value(ext4: bool, letter: char, value: &str) -> Result<(), String> {
    if ext4 && letter == 'z' {
        return Err("-z (undo file) writes outside the target; it is not allowed".into());
    }
    if ext4 && letter == 'd' {
        return Err(format!(
            "-d {value} copies a host directory into the new filesystem; wpbench makes its \
             files itself (an overlay's `lower` for image content)"
        ));
    }
    if ext4 && letter == 'l' {
        return Err(format!(
            "-l {value} reads a bad-block list from a host file; an image has no bad blocks"
        ));
    }
    if ext4 && letter == 'O' {
        let makes_journal_dev = value
            .split(',')
            .any(|f| f.trim().eq_ignore_ascii_case("journal_dev"));
        if makes_journal_dev {
            return Err(
                "-O journal_dev makes an external journal device, not a filesystem: the \
                 target would not mount"
                    .into(),
            );
        }
    }
    if ext4 && letter == 'E' {
        let offset = value
            .split(',')
            .any(|o| o.split('=').next().is_some_and(|k| k.trim() == "offset"));
        if offset {
            return Err(format!(
                "-E {value}: `offset=` makes mkfs write the filesystem at an offset in the \
                 image, where the mount does not look for it; leave it out"
            ));
        }
    }
    if ext4 && letter == 't' && !["ext2", "ext3", "ext4"].contains(&value) {
        return Err(format!(
            "-t {value}: an ext4 target is made by mkfs.ext4 as ext2, ext3 or ext4 (its \
             default); for another filesystem use another target kind"
        ));
    }
    if !ext4 && letter == 'p' {
        return Err(format!(
            "-p {value} reads a prototype file (and the host files it names) into the new \
             filesystem; wpbench makes its files itself"
        ));
    }
    if !ext4 && letter == 'c' {
        return Err(format!(
            "-c {value} reads mkfs.xfs's options from a host file; give them here instead"
        ));
    }
    if !ext4 && matches!(letter, 'd' | 'l' | 'r') {
        let file = value
            .split(',')
            .any(|o| o.split('=').next().is_some_and(|k| k.trim() == "file"));
        if file {
            return Err(format!(
                "-{letter} {value}: `file` puts a section in a regular file of the host; \
                 wpbench gives mkfs the target's own image"
            ));
        }
    }
    if ext4 && letter == 'e' && !EXT4_ERROR_BEHAVIOURS.contains(&value) {
        if value.trim().eq_ignore_ascii_case("panic") {
            return Err(format!(
                "`-e {value}` makes errors=panic the filesystem's default: the kernel would \
                 panic on the first ext4 error (an eio fault causes one on purpose); \
                 use -e remount-ro or -e continue"
            ));
        }
        return Err(format!(
            "`-e {value}`: mkfs.ext4 -e takes {}",
            EXT4_ERROR_BEHAVIOURS.join(" or ")
        ));
    }
    let lower = value.to_ascii_lowercase();
    for bad in ["/dev/", "device=", "logdev=", "rtdev=", "name="] {
        if lower.contains(bad) {
            return Err(format!(
                "`{value}` names another device or file (`{bad}`); \
                 wpbench only makes filesystems on its own targets"
            ));
        }
    }
    if !ext4 {
        xfs_suboptions(letter, value)?;
    }
    Ok(())
}

/// Per mkfs.xfs(8) (xfsprogs 6.1): the suboptions of `letter`'s section
/// that may be written without `=value` (`noalign`, `internal`, and those
/// shown as `name[=value]`); every other suboption is `name=value`.
/// (`file` is refused before this.)
fn xfs_bare_suboptions(letter: char) -> &'static [&'static str] {
    match letter {
        'd' | 'r' => &["noalign"],
        'i' => &["align", "projid32bit", "sparse", "nrext64"],
        'l' => &["internal"],
        _ => &[],
    }
}

/// mkfs.xfs's `-b -d -i -l -m -n -r -s` take a comma-separated list of
/// suboptions, each `name=value` (or one of the few bare names of
/// [`xfs_bare_suboptions`]): anything else — a bare path such as
/// `-l /etc/shadow`, an empty suboption, a value holding a path — is
/// refused here, at load time, rather than by mkfs once the run has begun.
fn xfs_suboptions(letter: char, value: &str) -> Result<(), String> {
    let example = match letter {
        'b' | 's' => "size=4096",
        'd' => "agcount=4",
        'i' => "size=512",
        'l' => "size=64m",
        'm' => "crc=1,reflink=0",
        'n' => "size=8192",
        'r' => "extsize=64k",
        _ => return Ok(()),
    };
    let bare = xfs_bare_suboptions(letter);
    let name_ok = |k: &str| {
        !k.is_empty()
            && k.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    };
    for sub in value.split(',') {
        let ok = match sub.split_once('=') {
            Some((k, v)) => name_ok(k) && !v.is_empty() && !v.contains('/'),
            None => bare.contains(&sub),
        };
        if !ok {
            let bare_note = if bare.is_empty() {
                String::new()
            } else {
                format!(", or {}", bare.join(", "))
            };
            return Err(format!(
                "-{letter} {value}: `{sub}` is not a mkfs.xfs suboption; -{letter} takes \
                 comma-separated name=value suboptions (e.g. -{letter} {example}{bare_note}), \
                 never a path"
            ));
        }
    }
    Ok(())
}

/// What the mkfs arguments decide about the filesystem's layout, for the
/// loader's size and inode checks. Numbers mkfs would refuse are refused
/// by [`parse`] already.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Layout {
    /// ext4 `-b`, xfs `-b size=`.
    pub block_size: Option<u64>,
    /// ext4 `-N`.
    pub inodes: Option<u64>,
    /// ext4 `-i` (bytes per inode).
    pub inode_ratio: Option<u64>,
    /// ext4 `-I`, xfs `-i size=`.
    pub inode_size: Option<u64>,
    /// xfs `-i maxpct=` (percent of the space inodes may take).
    pub inode_max_pct: Option<u64>,
    /// xfs `-d size=`: the filesystem's size when smaller than the image.
    pub data_size: Option<u64>,
    /// xfs `-m crc=0` (metadata without checksums, which allows 256-byte inodes).
    pub crc_off: bool,
    /// Another option that can change the layout (ext4 `-T`, `-t`, `-O`,
    /// `-g`, `-G`, `-C`, `-E`, `-J`, `-r`; xfs `-m`, `-n`, `-l`, `-r`, `-s`,
    /// other `-d`/`-i`/`-b` keys): the loader's minimum then falls back to
    /// the least any arguments allow, and inode counts are not estimated.
    pub other: bool,
}

/// A number as mke2fs reads one (`20000`, `4k`, `1M`: binary suffixes k m g t).
fn ext4_number(v: &str) -> Option<u64> {
    let v = v.trim();
    let (digits, mult) = match v.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_lowercase() {
                'k' => 10,
                'm' => 20,
                'g' => 30,
                't' => 40,
                _ => return None,
            };
            (&v[..i], 1u64 << shift)
        }
        _ => (v, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

/// A size as mkfs.xfs reads one: bytes, or with a suffix k m g t p e
/// (binary), s (512-byte sectors) or b (filesystem blocks, of `block`).
fn xfs_number(v: &str, block: u64) -> Option<u64> {
    let v = v.trim();
    let last = v.chars().last()?;
    let (digits, mult) = if last.is_ascii_alphabetic() {
        let mult = match last.to_ascii_lowercase() {
            's' => 512,
            'b' => block,
            'k' => 1 << 10,
            'm' => 1 << 20,
            'g' => 1 << 30,
            't' => 1 << 40,
            'p' => 1 << 50,
            'e' => 1 << 60,
            _ => return None,
        };
        (&v[..v.len() - 1], mult)
    } else {
        (v, 1)
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

/// The layout the parsed arguments ask for, or (argument index, why mkfs
/// would refuse it).
pub fn layout(kind: TargetKind, args: &[MkfsArg]) -> Result<Layout, (usize, String)> {
    let mut l = Layout::default();
    let ext4 = kind != TargetKind::Xfs;
    for arg in args {
        let MkfsArg::Short {
            letter,
            value: Some(value),
            at,
        } = arg
        else {
            continue;
        };
        let read = if ext4 {
            ext4_layout(&mut l, *letter, value)
        } else {
            xfs_layout(&mut l, *letter, value)
        };
        read.map_err(|what| (*at, format!("-{letter} {value}: {what}")))?;
    }
    if !ext4 && !l.crc_off && l.inode_size.is_some_and(|n| n < 512) {
        let at = args
            .iter()
            .rev()
            .find_map(|a| match a {
                MkfsArg::Short {
                    letter: 'i', at, ..
                } => Some(*at),
                _ => None,
            })
            .unwrap_or(0);
        return Err((
            at,
            "-i size=256: xfs inodes with checksums (the default, crc=1) are at least 512 \
             bytes; add -m crc=0 or use size=512"
                .into(),
        ));
    }
    Ok(l)
}

/// What one mkfs.ext4 option `-letter value` sets in `l`, or why mkfs
/// refuses the value.
fn ext4_layout(l: &mut Layout, letter: char, value: &str) -> Result<(), &'static str> {
    match letter {
        'b' => match ext4_number(value) {
            Some(b) if b.is_power_of_two() && (1024..=65536).contains(&b) => l.block_size = Some(b),
            _ => return Err("the block size is a power of two from 1024 to 65536"),
        },
        'N' => match ext4_number(value) {
            Some(n) if n <= u64::from(u32::MAX) => l.inodes = Some(n),
            _ => return Err("the inode count is a whole number below 2^32"),
        },
        'i' => match ext4_number(value) {
            Some(r) if (1024..=64 << 20).contains(&r) => l.inode_ratio = Some(r),
            _ => return Err("bytes per inode is a number from 1024 to 67108864"),
        },
        'I' => match ext4_number(value) {
            Some(n) if n.is_power_of_two() && (128..=65536).contains(&n) => l.inode_size = Some(n),
            _ => return Err("the inode size is a power of two from 128 up to the block size"),
        },
        'm' => match value.trim().parse::<f64>() {
            Ok(p) if (0.0..=50.0).contains(&p) => {}
            _ => return Err("the reserved-blocks percentage is a number from 0 to 50"),
        },
        'G' => match ext4_number(value) {
            Some(g) if g.is_power_of_two() => l.other = true,
            _ => return Err("the flex_bg size is a power of two"),
        },
        'U' => {
            let v = value.trim();
            let uuid = v.len() == 36
                && v.char_indices().all(|(i, c)| match i {
                    8 | 13 | 18 | 23 => c == '-',
                    _ => c.is_ascii_hexdigit(),
                });
            if !(uuid || ["clear", "random", "time", "null"].contains(&v)) {
                return Err("the UUID is clear, random, time or a UUID such as \
                     01234567-89ab-cdef-0123-456789abcdef");
            }
        }
        'T' | 't' | 'O' | 'g' | 'C' | 'E' | 'J' | 'r' => l.other = true,
        _ => {}
    }
    Ok(())
}

/// What one mkfs.xfs option `-letter value` sets in `l`, or why mkfs
/// refuses the value.
fn xfs_layout(l: &mut Layout, letter: char, value: &str) -> Result<(), &'static str> {
    let subopts = || {
        value.split(',').map(|o| {
            o.split_once('=')
                .map_or((o.trim(), ""), |(k, v)| (k.trim(), v))
        })
    };
    match letter {
        'b' => {
            for (k, v) in subopts() {
                match (k, xfs_number(v, 0)) {
                    ("size", Some(b)) if b.is_power_of_two() && (512..=65536).contains(&b) => {
                        l.block_size = Some(b)
                    }
                    ("size", _) => return Err("`size=` is a power of two from 512 to 65536 bytes"),
                    _ => l.other = true,
                }
            }
        }
        'd' => {
            for (k, v) in subopts() {
                if k == "size" {
                    match xfs_number(v, l.block_size.unwrap_or(4096)) {
                        Some(n) => l.data_size = Some(n),
                        None => {
                            return Err("`size=` is a number of bytes, with k m g t p e, s or b")
                        }
                    }
                } else {
                    l.other = true;
                }
            }
        }
        'L' if value.len() > 12 => return Err("an xfs label is at most 12 characters"),
        'm' => {
            l.other = true;
            if subopts().any(|(k, v)| k == "crc" && v.trim() == "0") {
                l.crc_off = true;
            }
        }
        'i' => {
            for (k, v) in subopts() {
                match k {
                    "size" => match xfs_number(v, 0) {
                        Some(n) if n.is_power_of_two() && (256..=2048).contains(&n) => {
                            l.inode_size = Some(n)
                        }
                        _ => return Err("the inode `size=` is a power of two from 256 to 2048"),
                    },
                    "maxpct" => match v.trim().parse::<u64>() {
                        Ok(p) if p <= 100 => l.inode_max_pct = Some(p),
                        _ => return Err("`maxpct=` is a percentage from 0 to 100"),
                    },
                    _ => l.other = true,
                }
            }
        }
        _ => l.other = true,
    }
    Ok(())
}

/// The refusal as one line naming the program and the whole argument list
/// (for the target room, which has no file position to point at).
pub fn refusal_text(kind: TargetKind, args: &[String], r: &MkfsRefusal) -> String {
    format!("{} arguments {:?}: {}", program(kind), args, r.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn short(letter: char, value: Option<&str>, at: usize) -> MkfsArg {
        MkfsArg::Short {
            letter,
            value: value.map(str::to_string),
            at,
        }
    }

    #[test]
    fn reads_argv_as_getopt_does() {
        assert_eq!(
            parse(
                TargetKind::Ext4,
                &s(&["-qF", "-N4096", "-b", "1024", "-Enodiscard"])
            )
            .unwrap(),
            vec![
                short('q', None, 0),
                short('F', None, 0),
                short('N', Some("4096"), 1),
                short('b', Some("1024"), 2),
                short('E', Some("nodiscard"), 4),
            ]
        );
        // A value-taking letter inside a cluster takes the rest, or the next argument.
        assert_eq!(
            parse(TargetKind::Ext4, &s(&["-qL", "data"])).unwrap(),
            vec![short('q', None, 0), short('L', Some("data"), 0)]
        );
        assert_eq!(
            parse(TargetKind::Xfs, &s(&["-fm", "reflink=0", "-K"])).unwrap(),
            vec![
                short('f', None, 0),
                short('m', Some("reflink=0"), 0),
                short('K', None, 2),
            ]
        );
        assert_eq!(
            parse(TargetKind::Ext4, &s(&["--nonsense"])).unwrap(),
            vec![MkfsArg::Long {
                text: "--nonsense".into(),
                at: 0
            }]
        );
        assert_eq!(short('N', Some("1"), 0).argv(), s(&["-N", "1"]));
    }

    #[test]
    fn every_spelling_of_e_panic_is_refused() {
        for (args, at) in [
            (vec!["-e", "panic"], 0),
            (vec!["-epanic"], 0),
            (vec!["-N", "100", "-e", "panic"], 2),
            (vec!["-qepanic"], 0),
            (vec!["-Fqe", "panic"], 0),
            (vec!["-e", "continue", "-e", "panic"], 2),
            (vec!["-e", "PANIC"], 0),
            (vec!["-e", " panic"], 0),
        ] {
            let r = parse(TargetKind::Ext4, &s(&args)).unwrap_err();
            assert_eq!(r.at, at, "{args:?}");
            assert!(
                r.message.contains("errors=panic"),
                "{args:?}: {}",
                r.message
            );
            assert!(r.message.contains("-e remount-ro"), "{}", r.message);
        }
        let r = parse(TargetKind::Ext4, &s(&["-e", "stop"])).unwrap_err();
        assert!(
            r.message.contains("continue or remount-ro"),
            "{}",
            r.message
        );
        for ok in ["continue", "remount-ro"] {
            parse(TargetKind::Ext4, &s(&["-e", ok])).unwrap();
        }
        // xfs has no -e; its `-e` is not an error behaviour (mkfs.xfs refuses it).
        parse(TargetKind::Xfs, &s(&["-e", "panic"])).unwrap();
    }

    #[test]
    fn other_devices_and_bare_words_are_refused() {
        for (kind, args, at) in [
            (TargetKind::Ext4, vec!["/dev/vda"], 0),
            (TargetKind::Ext4, vec!["-F", "/dev/vda"], 1),
            (TargetKind::Ext4, vec!["--"], 0),
            (TargetKind::Ext4, vec!["-J", "device=/dev/vdb"], 0),
            (TargetKind::Ext4, vec!["-z", "/tmp/undo"], 0),
            (TargetKind::Ext4, vec!["-qz/tmp/undo"], 0),
            (TargetKind::Ext4, vec!["-N"], 0),
            (TargetKind::Ext4, vec!["-qe"], 0),
            (TargetKind::Xfs, vec!["-d", "name=/var/tmp/x"], 0),
            (TargetKind::Xfs, vec!["-l", "logdev=/dev/vdb"], 0),
            (TargetKind::Xfs, vec!["-fl", "logdev=/dev/vdb"], 0),
            (TargetKind::Xfs, vec!["-K", "x"], 1),
        ] {
            let r = parse(kind, &s(&args)).unwrap_err();
            assert_eq!(r.at, at, "{args:?}: {}", r.message);
        }
        parse(
            TargetKind::Ext4,
            &s(&["-L", "data", "-O", "^has_journal", "-b4096"]),
        )
        .unwrap();
    }

    #[test]
    fn xfs_section_options_must_be_name_value_suboptions() {
        // A bare path where mkfs.xfs expects suboptions, in every spelling.
        for (args, at) in [
            (vec!["-l", "/etc/shadow"], 0),
            (vec!["-l/etc/shadow"], 0),
            (vec!["-fl", "/etc/shadow"], 0),
            (vec!["-K", "-d", "/etc/passwd"], 1),
            (vec!["-b", "4096"], 0),
            (vec!["-i", "size=512,/etc/shadow"], 0),
            (vec!["-m", "crc=1,"], 0),
            (vec!["-n", "=8192"], 0),
            (vec!["-s", "size="], 0),
            (vec!["-r", "extsize=../../etc/x"], 0),
            (vec!["-m", "CRC=1"], 0),
            (vec!["-l", "noalign"], 0),
            (vec!["-d", "internal"], 0),
        ] {
            let r = parse(TargetKind::Xfs, &s(&args)).unwrap_err();
            assert_eq!(r.at, at, "{args:?}: {}", r.message);
            assert!(
                r.message.contains("is not a mkfs.xfs suboption")
                    && r.message.contains("name=value"),
                "{args:?}: {}",
                r.message
            );
        }
        let r = parse(TargetKind::Xfs, &s(&["-l", "/etc/shadow"])).unwrap_err();
        assert!(
            r.message
                .starts_with("-l /etc/shadow: `/etc/shadow` is not a mkfs.xfs suboption")
                && r.message.contains("-l size=64m, or internal"),
            "{}",
            r.message
        );
        // What mkfs.xfs(8) documents is kept, bare names included.
        for ok in [
            vec!["-b", "size=4096"],
            vec!["-m", "crc=0,finobt=1,reflink=0"],
            vec!["-d", "agcount=4,su=64k,sw=2"],
            vec!["-d", "noalign"],
            vec!["-i", "size=512,maxpct=25,sparse"],
            vec!["-i", "align,projid32bit=1"],
            vec!["-l", "internal,size=64m,lazy-count=1"],
            vec!["-n", "size=8192,ftype=1"],
            vec!["-r", "extsize=64k"],
            vec!["-s", "size=4096"],
            vec!["-L", "data", "-f", "-K"],
        ] {
            parse(TargetKind::Xfs, &s(&ok)).unwrap_or_else(|r| panic!("{ok:?}: {}", r.message));
        }
        // Other letters keep their own rules; ext4's -b takes a plain number.
        parse(TargetKind::Ext4, &s(&["-b", "4096", "-l", "x"])).unwrap_err();
        parse(TargetKind::Ext4, &s(&["-b", "4096"])).unwrap();
    }
}
