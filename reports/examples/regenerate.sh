#!/usr/bin/env bash
# Regenerates the pictures the README shows. Needs root (loop devices and
# mounts), chromium and python3 with Pillow (installed with pip if missing).
#
# 1. Two example charts: a fresh run of scenarios/wal.yaml (4 KiB records,
#    fdatasync per record, on ext4 ordered, ext4 writeback and xfs; one
#    repeat of 5 s).
# 2. report-verdict.png: the verdict section of a fresh quickstart run's
#    report.html (the page cut after that section, loaded in headless
#    Chromium at 1280 px, cropped to what it draws).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d /var/tmp/wpbench-examples.XXXXXX)
trap 'rm -rf "$out"' EXIT
cargo build --release --quiet
wpbench=target/release/wpbench

"$wpbench" run scenarios/wal.yaml \
  --only '*/wal[4KiB]' --repeat 1 --duration 5s --quiet --out "$out/wal"
for chart in spectrum-wal_4KiB-fdatasync percentiles-wal_4KiB-record; do
  cp "$out/wal/charts/$chart.svg" "$out/wal/charts/$chart.png" reports/examples/
done

"$wpbench" run scenarios/quickstart.yaml --quiet --out "$out/quickstart"
python3 -c 'import PIL' 2>/dev/null ||
  python3 -m pip install --quiet --disable-pip-version-check pillow
python3 - "$out/quickstart/report.html" "$out/verdict.html" <<'PY'
import sys
page = open(sys.argv[1], encoding="utf-8").read()
end = page.index("</section>", page.index('<section id="verdict">')) + len("</section>")
open(sys.argv[2], "w", encoding="utf-8").write(page[:end] + "\n</body>\n</html>\n")
PY
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --window-size=1280,4000 --screenshot="$out/verdict-full.png" \
  "file://$out/verdict.html" 2>/dev/null
python3 - "$out/verdict-full.png" reports/examples/report-verdict.png <<'PY'
import sys
from PIL import Image, ImageChops
shot = Image.open(sys.argv[1]).convert("RGB")
# Down to the last row that is not the page's white background.
box = ImageChops.difference(shot, Image.new("RGB", shot.size, "white")).getbbox()
shot.crop((0, 0, shot.width, min(shot.height, box[3] + 16))).save(sys.argv[2], optimize=True)
PY
ls -l reports/examples
