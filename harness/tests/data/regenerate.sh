#!/bin/sh
# Regenerates the every-fault fixture's expectations after a deliberate
# change of the result model or the reports: result.json read and written
# back through the typed model (new keys with their defaults), and the
# sha256 of every file `wpbench report` renders from it. Review the diff:
# it is what users and reviewers will see change.
#   sh harness/tests/data/regenerate.sh [path/to/wpbench]
set -eu
here=$(cd "$(dirname "$0")/every-fault" && pwd)
bin=${1:-target/release/wpbench}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/result.json" "$work/result.json"
cp -r "$here/hlog" "$work/hlog"
"$bin" report "$work" >/dev/null
python3 - "$work/result.json" "$here/result.json" <<'PY'
import json, sys
# `wpbench report` does not rewrite result.json: add the model's new keys
# here, in the order serde writes them, keeping every stored value.
run = json.load(open(sys.argv[1]))
run.setdefault("compare", {"pairs": [], "min_effect": 0.05})
run.setdefault("comparisons", [])
run.setdefault("noise", [])
open(sys.argv[2], "w").write(json.dumps(run, indent=2, ensure_ascii=False) + "\n")
PY
(cd "$work" && { sha256sum summary.md report.html; find charts -type f | sort | xargs sha256sum; }) > "$here/rendered.sha256"
echo "regenerated $here"
