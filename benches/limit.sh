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

if [ "$(id -u)" != 0 ]; then
  echo "limit.sh needs root (a tmpfs mount)" >&2
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

wpbench_run() { # THREADS WORKLOAD-YAML UNIT-OP
  local threads=$1 workload=$2 op=$3 out
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
  "$WPBENCH" run "$work/s.yaml" --out "$out" --quiet --scratch "$work/scratch" >/dev/null
  python3 -c "import json; r=json.load(open('$out/result.json'))['cells'][0]; print(round(r['ops']['$op']['ops_per_sec']))"
}

bare_run() { # MODE THREADS
  local d="$work/tmpfs/bare$RANDOM"
  mkdir "$d"
  "$BARE" "$1" "$d" "$2" "$DURATION"
}

median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

rows=()
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
