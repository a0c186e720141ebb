#!/usr/bin/env bash
# The cost of the emulated device's FUSE path itself: ext4 on a direct-I/O
# loop device over a plain image file vs over the FUSE-served image (zero
# latency, no limits), a 4 KiB append + fsync per record, interleaved pairs,
# with the images on the disk (/var/tmp) and on a tmpfs (where the image's
# own fsync is free and only the FUSE round trips are left). Prints each
# pair, the medians and the ratios (docs/emulated-device.md).
#
#   sudo benches/emudev.sh [PAIRS] [SECONDS]     (defaults: 7 pairs of 3 s)
#
# Needs root, /dev/fuse, loop devices and mkfs.ext4. Everything runs in the
# test's private mount namespace and is torn down by it.
set -euo pipefail
cd "$(dirname "$0")/.."
for t in fuse_path_cost fuse_path_cost_on_tmpfs; do
  WPBENCH_EMUDEV_PAIRS="${1:-7}" WPBENCH_EMUDEV_SECS="${2:-3}" \
    cargo test --release --lib "target::emudev::tests::$t" -- \
    --include-ignored --exact --nocapture --test-threads=1 2>&1 |
    grep -oE '(disk|tmpfs)(:| pair).*|^test result.*'
done
