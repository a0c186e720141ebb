#!/usr/bin/env bash
# How close wpbench comes to the physics: each workload's fastest
# configuration on tmpfs against a bare loop of the same syscalls with no
# measuring at all (benches/limit/bare.c, built here), interleaved (A B A
# B …, PAIRS pairs per row), one table of medians and ratios. The ratio is
# wpbench ÷ bare, the median over pairs of each pair's ratio: 1.00 means
# the harness costs nothing measurable.
#
#   sudo benches/limit.sh                # PAIRS=5 DURATION=3 THREADS="1 4"
#   sudo PAIRS=7 DURATION=5 benches/limit.sh
#   sudo ONLY=log_append benches/limit.sh   # the rows whose name matches
#   sudo PROFILE=1 ONLY=pwrite benches/limit.sh
#
# PROFILE=1 adds, per row, one more run of each under `perf record -e
# cpu-clock` (package linux-perf) and splits the loop thread's CPU time
# per unit op into user and kernel, with wpbench's user-space functions
# by cost: where the ratio's missing part goes. Timing on a shared VM
# moves with its neighbours; CPU time per op, from samples, moves less.
#
# The tmpfs is mounted in a private mount namespace, so it vanishes with
# the script; wpbench runs on it as a hostPath target and the bare loop in
# a fresh directory of it. Needs root and a C compiler.
set -euo pipefail
cd "$(dirname "$0")/.."

PAIRS=${PAIRS:-5}
DURATION=${DURATION:-3}
THREADS=${THREADS:-"1 4"}
ONLY=${ONLY:-}
PROFILE=${PROFILE:-}

if [ "$(id -u)" != 0 ]; then
  echo "limit.sh needs root (a tmpfs mount)" >&2
  exit 3
fi
if [ -n "$PROFILE" ] && ! command -v perf >/dev/null; then
  echo "PROFILE=1 needs perf (apt-get install linux-perf)" >&2
  exit 3
fi
if [ -z "${WPBENCH_LIMIT_NS:-}" ]; then
  cargo build --release --quiet
  exec env WPBENCH_LIMIT_NS=1 unshare --mount --propagation private bash "$0" "$@"
fi

WPBENCH=$PWD/target/release/wpbench
work=$(mktemp -d /var/tmp/wpl.XXXX)
cleanup() {
  set +e
  umount "$work/tmpfs" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/tmpfs" "$work/out"
mount -t tmpfs -o size=3g wpbench-limit "$work/tmpfs"
BARE=$work/bare
cc -O2 -pthread -o "$BARE" benches/limit/bare.c

# Drop what earlier runs left so every run starts alike.
reset() { find "$work/tmpfs" -mindepth 1 -maxdepth 1 -exec rm -rf {} +; }

wpbench_run() { # THREADS WORKLOAD-YAML UNIT-OP [PERF-DATA]
  local threads=$1 workload=$2 op=$3 perf_data=${4:-} out
  out="$work/out/w-$RANDOM$RANDOM"
  cat >"$work/s.yaml" <<YAML
version: 1
name: limit
duration: ${DURATION}s
warmup: 0s
targets:
  - {name: t, kind: hostpath, path: $work/tmpfs}
workloads:
  - {name: w, threads: $threads, $workload}
YAML
  local run=("$WPBENCH" run "$work/s.yaml" --out "$out" --quiet --scratch "$work/scratch")
  if [ -n "$perf_data" ]; then
    perf record -q -F 2999 -e cpu-clock -o "$perf_data" "${run[@]}" >/dev/null 2>"$work/perf.err" ||
      { cat "$work/perf.err" >&2; exit 4; }
  else
    "${run[@]}" >/dev/null
  fi
  python3 -c "import json; r=json.load(open('$out/result.json'))['cells'][0]; print(round(r['ops']['$op']['ops_per_sec']))"
}

bare_run() { # MODE THREADS [PERF-DATA]
  local d="$work/tmpfs/bare$RANDOM"
  mkdir "$d"
  if [ -n "${3:-}" ]; then
    perf record -q -F 2999 -e cpu-clock -o "$3" "$BARE" "$1" "$d" "$2" "$DURATION" 2>"$work/perf.err" ||
      { cat "$work/perf.err" >&2; exit 4; }
  else
    "$BARE" "$1" "$d" "$2" "$DURATION"
  fi
}

# CPU time per unit op of the loop threads (COMM: bare-loop, wpbench-w*),
# user and kernel, from a cpu-clock profile at 2999 Hz; and the costliest
# user-space functions. Prints one line per run.
profile_line() { # LABEL PERF-DATA COMM OPS/S
  python3 - "$@" <<'PY'
import re, subprocess, sys
label, data, comm, rate = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
if rate <= 0:
    print(f"  {label:8} no unit op completed: nothing to divide the profile by")
    sys.exit(0)
dur = float(__import__("os").environ["DURATION"])
out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "comm,dso,sym",
                      "--stdio", "-n"], capture_output=True, text=True).stdout
ns_per_sample = 1e9 / 2999 / (rate * dur)
user = kernel = 0.0
syms = {}
for line in out.splitlines():
    m = re.match(r"\s+[\d.]+%\s+(\d+)\s+(\S+)\s+(\S+)\s+\[(.)\]\s+(.*)", line)
    if not m or not m.group(2).startswith(comm):
        continue
    ns = int(m.group(1)) * ns_per_sample
    if m.group(4) == "k":
        kernel += ns
    else:
        user += ns
        name = m.group(5).strip()
        syms[name] = syms.get(name, 0.0) + ns
top = ", ".join(f"{n[:48]} {v:.0f}" for n, v in sorted(syms.items(), key=lambda x: -x[1])[:4])
print(f"  {label:8} {1e9 / rate:6.0f} ns/op wall; CPU {user:5.0f} ns user + {kernel:5.0f} ns kernel; user: {top}")
PY
}

median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

rows=()
profiles=()
compare() { # NAME THREADS WORKLOAD-YAML UNIT-OP MODE
  local name=$1 t=$2 workload=$3 op=$4 mode=$5 as=() bs=() x
  [[ -z $ONLY || $name == *"$ONLY"* ]] || return 0
  for _ in $(seq "$PAIRS"); do
    reset; x=$(wpbench_run "$t" "$workload" "$op"); as+=("$x")
    reset; x=$(bare_run "$mode" "$t"); bs+=("$x")
  done
  local ma mb ratio
  ma=$(median "${as[@]}")
  mb=$(median "${bs[@]}")
  # The median of each pair's own ratio: a pair runs back to back, so a
  # neighbour's load that comes and goes moves both of its runs alike.
  ratio=$(python3 -c "import statistics,sys; a,b=sys.argv[1].split(),sys.argv[2].split(); print(f'{statistics.median(float(x)/float(y) for x,y in zip(a,b)):.2f}')" "${as[*]}" "${bs[*]}")
  rows+=("$(printf '%-44s %12.0f %12.0f %7s  %s' "$name, $t thr" "$ma" "$mb" "$ratio" "${as[*]} | ${bs[*]}")")
  echo "${rows[-1]}" >&2
  if [ -n "$PROFILE" ]; then
    local pa pb
    reset; pa=$(wpbench_run "$t" "$workload" "$op" "$work/w.perf")
    reset; pb=$(bare_run "$mode" "$t" "$work/b.perf")
    profiles+=("$name, $t thr")
    profiles+=("$(DURATION=$DURATION profile_line wpbench "$work/w.perf" wpbench-w "$pa")")
    profiles+=("$(DURATION=$DURATION profile_line bare "$work/b.perf" bare-loop "$pb")")
  fi
}

for t in $THREADS; do
  compare "4KiB pwrite, no sync (fsync_heavy)" "$t" \
    "kind: fsync_heavy, record_size: 4KiB, file_size: 256MiB, fsync: never" record seq-write
  compare "create+4KiB+close, no sync (small_files)" "$t" \
    "kind: small_files, file_size: 4KiB, files_per_dir: 1000, fsync: never" file small-files
  compare "256B log lines, no sync (log_append)" "$t" \
    "kind: log_append, line_size: 256B, file_size: 256KiB, retain: 10, fsync: never" line log-lines
  compare "open+read+close 4KiB (read_atime)" "$t" \
    "kind: read_atime, files: 1000, file_size: 4KiB" read_file read-files
  compare "stat 8, create 1, unlink 1 (metadata)" "$t" \
    "kind: metadata, files: 1000, mix: {create: 1, stat: 8, unlink: 1}" meta meta-stat
done

echo
printf '%-44s %12s %12s %7s  %s\n' "unit ops/s (medians of $PAIRS pairs, ${DURATION}s each)" "wpbench" "bare loop" "ratio" "runs (wpbench | bare)"
printf '%s\n' "${rows[@]}"
if [ -n "$PROFILE" ]; then
  echo
  echo "CPU time per unit op of the loop threads (perf record -e cpu-clock, one run each):"
  printf '%s\n' "${profiles[@]}"
fi
