//! Environment capture: the machine a run measured, recorded flat in
//! result.json so two runs' environments can be diffed.
//!
//! Everything here is best effort: a file that cannot be read (no /proc in a
//! sandbox, an architecture without "model name") gives an empty string or
//! 0, never a panic or an error, because a benchmark should not fail for
//! want of its own metadata. The parsers are pure and take the file text.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The machine the run measured. Kept flat so users can diff two runs' env.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Environment {
    pub kernel: String,
    pub cpu: String,
    pub cores: u32,
    pub memory_bytes: u64,
    pub wpbench: String,
    #[serde(default)]
    pub hostname: String,
    /// "v1", "v2" or "hybrid".
    #[serde(default)]
    pub cgroup: String,
    /// vm.dirty_* and related writeback sysctls, by name.
    #[serde(default)]
    pub vm: BTreeMap<String, String>,
    #[serde(default)]
    pub euid: u32,
    /// The clock latencies were timed with (a calibrated invariant TSC, or
    /// CLOCK_MONOTONIC).
    #[serde(default)]
    pub clock: String,
}

/// The writeback sysctls recorded under `env.vm`, as named by sysctl(8).
pub const VM_SYSCTLS: &[&str] = &[
    "vm.dirty_ratio",
    "vm.dirty_background_ratio",
    "vm.dirty_bytes",
    "vm.dirty_background_bytes",
    "vm.dirty_expire_centisecs",
    "vm.dirty_writeback_centisecs",
];

/// `CGROUP2_SUPER_MAGIC` from linux/magic.h.
pub const CGROUP2_SUPER_MAGIC: u64 = 0x6367_7270;

/// Captures the environment of this process's machine. Never panics.
pub fn capture() -> Environment {
    let uname = rustix::system::uname();
    let cpuinfo = read_or_empty("/proc/cpuinfo");
    let meminfo = read_or_empty("/proc/meminfo");
    Environment {
        kernel: uname.release().to_string_lossy().into_owned(),
        cpu: parse_cpuinfo_model(&cpuinfo).unwrap_or_default(),
        cores: cores(),
        memory_bytes: parse_meminfo_total(&meminfo).unwrap_or(0),
        wpbench: env!("CARGO_PKG_VERSION").to_string(),
        hostname: uname.nodename().to_string_lossy().into_owned(),
        cgroup: cgroup_version(
            fs_magic("/sys/fs/cgroup"),
            fs_magic("/sys/fs/cgroup/unified"),
        )
        .to_string(),
        vm: read_vm_sysctls(Path::new("/proc/sys")),
        euid: rustix::process::geteuid().as_raw(),
        clock: crate::record::Clock::system().describe(),
    }
}

fn read_or_empty(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// CPUs this process may run on; falls back to the online CPU list.
fn cores() -> u32 {
    match std::thread::available_parallelism() {
        Ok(n) => u32::try_from(n.get()).unwrap_or(u32::MAX),
        Err(_) => {
            parse_cpu_list(read_or_empty("/sys/devices/system/cpu/online").trim()).unwrap_or(0)
        }
    }
}

/// The filesystem magic of `path`, or None when it cannot be statfs'd.
#[allow(clippy::unnecessary_cast)] // f_type's integer type differs by architecture
fn fs_magic(path: &str) -> Option<u64> {
    rustix::fs::statfs(path)
        .ok()
        .map(|st| st.f_type as u64 & 0xffff_ffff)
}

/// "v2" when the cgroup root is cgroup2fs, "hybrid" when only
/// `/sys/fs/cgroup/unified` is, "v1" otherwise (including unknown).
pub fn cgroup_version(root_magic: Option<u64>, unified_magic: Option<u64>) -> &'static str {
    if root_magic == Some(CGROUP2_SUPER_MAGIC) {
        "v2"
    } else if unified_magic == Some(CGROUP2_SUPER_MAGIC) {
        "hybrid"
    } else {
        "v1"
    }
}

/// The CPU model from /proc/cpuinfo text: x86's "model name", else the keys
/// other architectures use ("Processor", "cpu model", "cpu", "Hardware").
pub fn parse_cpuinfo_model(text: &str) -> Option<String> {
    const KEYS: &[&str] = &["model name", "Processor", "cpu model", "cpu", "Hardware"];
    KEYS.iter().find_map(|want| {
        text.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            let value = value.trim();
            (key.trim() == *want && !value.is_empty()).then(|| value.to_string())
        })
    })
}

/// MemTotal from /proc/meminfo text, in bytes ("MemTotal: 16384 kB").
pub fn parse_meminfo_total(text: &str) -> Option<u64> {
    parse_meminfo(text, "MemTotal")
}

/// A field of /proc/meminfo text, in bytes (`MemAvailable`, …).
pub fn parse_meminfo(text: &str, field: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        let mut parts = rest.split_whitespace();
        let value: u64 = parts.next()?.parse().ok()?;
        let factor = match parts.next() {
            None | Some("B") => 1,
            Some("kB") | Some("KB") | Some("KiB") => 1024,
            Some("mB") | Some("MB") | Some("MiB") => 1 << 20,
            Some(_) => return None,
        };
        value.checked_mul(factor)
    })
}

/// Counts the CPUs in a kernel CPU list ("0-3,6,8-9" → 7).
pub fn parse_cpu_list(text: &str) -> Option<u32> {
    let mut total = 0u32;
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let n = match part.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi): (u32, u32) = (lo.trim().parse().ok()?, hi.trim().parse().ok()?);
                hi.checked_sub(lo)?.checked_add(1)?
            }
            None => {
                part.parse::<u32>().ok()?;
                1
            }
        };
        total = total.checked_add(n)?;
    }
    (total > 0).then_some(total)
}

/// Reads [`VM_SYSCTLS`] below a /proc/sys directory; unreadable ones are left out.
pub fn read_vm_sysctls(proc_sys: &Path) -> BTreeMap<String, String> {
    VM_SYSCTLS
        .iter()
        .filter_map(|name| {
            let file = proc_sys.join(name.replace('.', "/"));
            let value = std::fs::read_to_string(file).ok()?;
            Some((name.to_string(), value.trim().to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const X86_CPUINFO: &str = "processor\t: 0\n\
        vendor_id\t: GenuineIntel\n\
        cpu family\t: 6\n\
        model\t\t: 85\n\
        model name\t: Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz\n\
        cpu MHz\t\t: 2499.998\n\
        cpu cores\t: 1\n\n\
        processor\t: 1\n\
        model name\t: Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz\n";

    #[test]
    fn cpu_model_from_x86_and_others() {
        assert_eq!(
            parse_cpuinfo_model(X86_CPUINFO).as_deref(),
            Some("Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz")
        );
        // "cpu family"/"cpu MHz" must not be mistaken for "cpu".
        assert_eq!(
            parse_cpuinfo_model("cpu family\t: 6\ncpu MHz\t: 2000\n"),
            None
        );
        assert_eq!(
            parse_cpuinfo_model(
                "processor\t: 0\ncpu\t\t: POWER9 (architected), altivec supported\n"
            )
            .as_deref(),
            Some("POWER9 (architected), altivec supported")
        );
        assert_eq!(
            parse_cpuinfo_model("processor\t: 0\nBogoMIPS\t: 50.00\nHardware\t: BCM2835\n")
                .as_deref(),
            Some("BCM2835")
        );
        assert_eq!(parse_cpuinfo_model(""), None);
    }

    #[test]
    fn meminfo_total_in_bytes() {
        let text = "MemTotal:        8029016 kB\nMemFree:          123456 kB\n";
        assert_eq!(parse_meminfo_total(text), Some(8_029_016 * 1024));
        assert_eq!(parse_meminfo_total("MemFree: 1 kB\n"), None);
        assert_eq!(parse_meminfo_total("MemTotal: lots kB\n"), None);
        assert_eq!(parse_meminfo_total(""), None);
    }

    #[test]
    fn cpu_lists_count() {
        assert_eq!(parse_cpu_list("0-3"), Some(4));
        assert_eq!(parse_cpu_list("0-3,6,8-9\n".trim()), Some(7));
        assert_eq!(parse_cpu_list("0"), Some(1));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn cgroup_version_from_magics() {
        const TMPFS: u64 = 0x0102_1994;
        assert_eq!(cgroup_version(Some(CGROUP2_SUPER_MAGIC), None), "v2");
        assert_eq!(
            cgroup_version(Some(TMPFS), Some(CGROUP2_SUPER_MAGIC)),
            "hybrid"
        );
        assert_eq!(cgroup_version(Some(TMPFS), None), "v1");
        assert_eq!(cgroup_version(None, None), "v1");
    }

    #[test]
    fn vm_sysctls_read_trimmed_and_missing_left_out() {
        let dir = std::env::temp_dir().join(format!("wpbench-env-test-{}", std::process::id()));
        let vm = dir.join("vm");
        std::fs::create_dir_all(&vm).unwrap();
        std::fs::write(vm.join("dirty_ratio"), "20\n").unwrap();
        std::fs::write(vm.join("dirty_expire_centisecs"), "  3000 \n").unwrap();
        let got = read_vm_sysctls(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        let want: BTreeMap<String, String> = [
            ("vm.dirty_expire_centisecs".to_string(), "3000".to_string()),
            ("vm.dirty_ratio".to_string(), "20".to_string()),
        ]
        .into_iter()
        .collect();
        assert_eq!(got, want);
        assert!(read_vm_sysctls(Path::new("/nonexistent/wpbench")).is_empty());
    }

    #[test]
    fn capture_describes_this_machine() {
        let env = capture();
        assert_eq!(env.wpbench, env!("CARGO_PKG_VERSION"));
        assert!(!env.kernel.is_empty());
        assert!(
            env.kernel.chars().next().unwrap().is_ascii_digit(),
            "{}",
            env.kernel
        );
        assert!(env.cores >= 1);
        assert!(["v1", "v2", "hybrid"].contains(&env.cgroup.as_str()));
        assert_eq!(env.euid, rustix::process::geteuid().as_raw());
        if let Ok(text) = std::fs::read_to_string("/proc/meminfo") {
            assert_eq!(Some(env.memory_bytes), parse_meminfo_total(&text));
            assert!(env.memory_bytes > 0);
        }
        if Path::new("/proc/sys/vm/dirty_ratio").exists() {
            let ratio = &env.vm["vm.dirty_ratio"];
            assert!(ratio.parse::<u64>().is_ok(), "{ratio:?}");
        }
    }
}
