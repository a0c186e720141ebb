#!/usr/bin/env bash
# Regenerates the example charts the README shows: a fresh run of
# scenarios/wal.yaml (4 KiB records, fdatasync per record, on ext4 ordered,
# ext4 writeback and xfs; one repeat of 5 s), then copies two of its charts
# here. Needs root (loop devices and mounts).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d /var/tmp/wpbench-examples.XXXXXX)
trap 'rm -rf "$out"' EXIT
cargo run --release --quiet -- run scenarios/wal.yaml \
  --only '*/wal[4KiB]' --repeat 1 --duration 5s --quiet --out "$out/run"
for chart in spectrum-wal_4KiB-fdatasync percentiles-wal_4KiB-record; do
  cp "$out/run/charts/$chart.svg" "$out/run/charts/$chart.png" reports/examples/
done
ls -l reports/examples
