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
/// (`/dev/`, `device=`, `logdev=`, `rtdev=`, `name=`), ext4's `-z` (undo
/// file), and ext4's `-e` with anything but continue or remount-ro — above
/// all `-e panic`, which makes errors=panic the filesystem's default.
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
    Ok(out)
}

fn check_value(ext4: bool, letter: char, value: &str) -> Result<(), String> {
    if ext4 && letter == 'z' {
        return Err("-z (undo file) writes outside the target; it is not allowed".into());
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
            parse(TargetKind::Xfs, &s(&["-fm", "reflink=0", "-N"])).unwrap(),
            vec![
                short('f', None, 0),
                short('m', Some("reflink=0"), 0),
                short('N', None, 2),
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
            (TargetKind::Xfs, vec!["-N", "x"], 1),
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
}
