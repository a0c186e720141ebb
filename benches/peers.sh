#!/usr/bin/env bash
# Side by side with the peers: the same work through fio, fs_mark and
# wpbench, interleaved (A B A B …, PAIRS pairs per comparison) on the same
# mounts, and one table of medians and ratios.
#
#   sudo benches/peers.sh                # PAIRS=5 DURATION=5 THREADS="1 4"
#   sudo PAIRS=7 DURATION=10 benches/peers.sh
#
# The mounts are made the way wpbench makes its targets — a tmpfs, and an
# ext4 (lazy_itable_init=0, lazy_journal_init=0) on a loop device with
# direct I/O over a sparse image — inside a private mount namespace, so
# they vanish with the script. wpbench runs on them as hostPath targets:
# every tool sees the very same filesystem. Needs root; installs fio and
# fsmark (Debian) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PAIRS=${PAIRS:-5}
DURATION=${DURATION:-5}
THREADS=${THREADS:-"1 4"}

if [ "$(id -u)" != 0 ]; then
  echo "peers.sh needs root (mounts, a loop device)" >&2
  exit 3
fi
if [ -z "${WPBENCH_PEERS_NS:-}" ]; then
  missing=()
  command -v fio >/dev/null || missing+=(fio)
  command -v fs_mark >/dev/null || missing+=(fsmark)
  command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
  cargo build --release --quiet
  # Everything below runs in a private mount namespace.
  exec env WPBENCH_PEERS_NS=1 unshare --mount --propagation private bash ${PEERS_TRACE:+-x} "$0" "$@"
fi

WPBENCH=$PWD/target/release/wpbench
# fs_mark refuses directory paths of 40 bytes or more: keep them short.
work=$(mktemp -d /var/tmp/wpp.XXXX)
loop=""
cleanup() {
  set +e
  umount "$work/tmpfs" "$work/ext4" 2>/dev/null
  [ -n "$loop" ] && losetup -d "$loop" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/tmpfs" "$work/ext4" "$work/out"
mount -t tmpfs -o size=2g wpbench-peers "$work/tmpfs"
truncate -s 2G "$work/ext4.img"
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$work/ext4.img"
loop=$(losetup --find --show --direct-io=on "$work/ext4.img")
mount -o noatime "$loop" "$work/ext4"

# A fresh, empty directory on a mount for one run.
fresh() {
  local d
  d="$1/r$RANDOM"
  mkdir -p "$d"
  echo "$d"
}
# Drop what earlier runs left so every run starts alike.
reset() {
  find "$1" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
  sync
}

# wpbench on a hostPath of MOUNT: prints one figure from result.json
# (python expression over `r`, the first cell).
wpbench_run() { # MOUNT THREADS WORKLOAD-YAML EXPR
  local mount=$1 threads=$2 workload=$3 expr=$4 out
  out="$work/out/wpbench-$RANDOM$RANDOM"
  cat >"$work/s.yaml" <<EOF
version: 1
name: peers
duration: ${DURATION}s
warmup: 0s
targets:
  - {name: t, kind: hostpath, path: $mount}
workloads:
  - {name: w, threads: $threads, $workload}
EOF
  "$WPBENCH" run "$work/s.yaml" --out "$out" --quiet --scratch "$work/scratch" >/dev/null
  python3 -c "import json,sys; r=json.load(open('$out/result.json'))['cells'][0]; print($expr)"
}

# fio: prints one figure from its JSON (expression over `j`, the group's job).
fio_run() { # DIR THREADS EXPR ARGS...
  local dir=$1 threads=$2 expr=$3
  shift 3
  fio --name=peer --directory="$dir" --numjobs="$threads" --group_reporting \
    --time_based --runtime="$DURATION" --output-format=json "$@" >"$work/fio.json" 2>/dev/null
  python3 -c "import json; j=json.load(open('$work/fio.json'))['jobs'][0]; print($expr)"
}

# fs_mark: files/s of one iteration of N files per thread.
fsmark_run() { # DIR THREADS SYNC FILES
  local dir=$1 threads=$2 sync=$3 files=$4 args=()
  for t in $(seq "$threads"); do
    mkdir -p "$dir/t$t"
    args+=(-d "$dir/t$t")
  done
  # -l: its log file goes to the scratch directory, not the working one.
  if ! fs_mark "${args[@]}" -s 4096 -n "$files" -L 1 -S "$sync" -k -l "$work/fs_log.txt" >"$work/fsmark.out" 2>&1; then
    echo "peers.sh: fs_mark failed:" >&2
    head -5 "$work/fsmark.out" >&2
    return 1
  fi
  awk '/^ *[0-9]+ +[0-9]+ +4096 / {print $4}' "$work/fsmark.out" | tail -1
}

median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

rows=()
# One comparison: NAME UNIT GOAL then two commands (A = wpbench, B = peer),
# run alternately PAIRS times; the ratio is A/B.
compare() { # NAME UNIT GOAL CMD_A CMD_B
  local name=$1 unit=$2 goal=$3 a=$4 b=$5 as=() bs=()
  local x
  for _ in $(seq "$PAIRS"); do
    for side in a b; do
      if [ $side = a ]; then x=$(eval "$a"); else x=$(eval "$b"); fi
      if [ -z "$x" ]; then
        echo "peers.sh: $name: the $([ $side = a ] && echo wpbench || echo peer) run gave no figure" >&2
        exit 4
      fi
      if [ $side = a ]; then as+=("$x"); else bs+=("$x"); fi
    done
  done
  local ma mb ratio
  ma=$(median "${as[@]}")
  mb=$(median "${bs[@]}")
  # wpbench / peer: for rates above 1 is faster, for latencies near 1 agrees.
  ratio=$(python3 -c "print(f'{$ma/$mb:.2f}')")
  rows+=("$(printf '%-52s %12.1f %12.1f %7s  %s' "$name ($unit)" "$ma" "$mb" "$ratio" "$goal")")
  echo "${rows[-1]}" >&2
}

for t in $THREADS; do
  # 1. 4 KiB sequential buffered writes to tmpfs: ops/s vs fio IOPS.
  compare "4KiB seq writes, tmpfs, $t thr: wpbench vs fio" "ops/s" "≥ 1.00" \
    "reset $work/tmpfs; wpbench_run $work/tmpfs $t 'kind: fsync_heavy, record_size: 4KiB, file_size: 256MiB, fsync: never' \"r['ops']['record']['ops_per_sec']\"" \
    "reset $work/tmpfs; fio_run \$(fresh $work/tmpfs) $t \"j['write']['iops']\" --rw=write --bs=4k --size=256M --ioengine=psync"
  # 2. 4 KiB files, create+write+close, no sync, tmpfs: files/s vs fs_mark -S 0.
  files=$((20000 * DURATION / 5))
  compare "4KiB files no sync, tmpfs, $t thr: wpbench vs fs_mark -S0" "files/s" "≥ 1.00" \
    "reset $work/tmpfs; wpbench_run $work/tmpfs $t 'kind: small_files, file_size: 4KiB, files_per_dir: 10000000, fsync: never' \"r['ops']['file']['ops_per_sec']\"" \
    "reset $work/tmpfs; fsmark_run \$(fresh $work/tmpfs) $t 0 $files"
  # 3. The same with fsync per file on ext4: vs fs_mark -S 1.
  compare "4KiB files fsync each, ext4, $t thr: wpbench vs fs_mark -S1" "files/s" "≥ 0.95" \
    "reset $work/ext4; wpbench_run $work/ext4 $t 'kind: small_files, file_size: 4KiB, files_per_dir: 10000000, fsync: on_close' \"r['ops']['file']['ops_per_sec']\"" \
    "reset $work/ext4; fsmark_run \$(fresh $work/ext4) $t 1 $((500 * DURATION))"
  # 4. 4 KiB append + fsync on ext4: fsync latency p50 and p99 vs fio --fsync=1.
  for p in 50 99; do
    compare "4KiB append+fsync, ext4, $t thr: fsync p$p wpbench/fio" "µs" "0.90–1.10" \
      "reset $work/ext4; wpbench_run $work/ext4 $t 'kind: log_append, line_size: 4KiB, file_size: 64MiB, retain: 1, fsync: always' \"r['ops']['fsync']['p${p}_ns']/1000\"" \
      "reset $work/ext4; fio_run \$(fresh $work/ext4) $t \"j['sync']['lat_ns']['percentile']['$p.000000']/1000\" --rw=write --bs=4k --size=64M --ioengine=psync --fsync=1 --fallocate=none"
  done
done

echo
printf '%-52s %12s %12s %7s  %s\n' "comparison (medians of $PAIRS interleaved pairs, ${DURATION}s each)" "wpbench" "peer" "ratio" "goal"
printf '%s\n' "${rows[@]}"
