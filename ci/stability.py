#!/usr/bin/env python3
"""How many repeats does a stable gate need? Reads a run with many repeats
(e.g. `wpbench run scenarios/rollout.yaml --only ext4/wal --repeat 15`)
and, for each cell and metric, resamples N of its repeats 10,000 times:
how far does the median of N repeats stray from the median of all of
them? A gate whose limit sits further from the typical value than that
band cannot flap on noise. Usage: ci/stability.py RUN_DIR [OP]"""
import json
import random
import statistics
import sys
from collections import defaultdict

run = json.load(open(sys.argv[1].rstrip("/") + "/result.json"))
op_filter = sys.argv[2] if len(sys.argv) > 2 else None
groups = defaultdict(list)
for c in run["cells"]:
    groups[(c["target"]["name"], c["workload"]["name"])].append(c)
rng = random.Random(1)
print("cell  op  metric  repeats  cv  | 95% band of the median of N repeats, ± % of the overall median")
for (target, workload), cells in sorted(groups.items()):
    ops = sorted({op for c in cells for op in c["ops"]})
    for op in ops:
        if op_filter and op != op_filter:
            continue
        for metric in ("p95_ns", "p99_ns", "ops_per_sec"):
            values = [c["ops"][op][metric] for c in cells if op in c["ops"] and c["ops"][op]["count"] > 0]
            if len(values) < 5:
                continue
            center = statistics.median(values)
            cv = statistics.pstdev(values) / statistics.mean(values)
            bands = []
            for n in (1, 3, 5, 7, 9):
                meds = sorted(statistics.median(rng.choices(values, k=n)) for _ in range(10000))
                lo, hi = meds[250], meds[9750]
                bands.append(f"N={n}: ±{100 * max(center - lo, hi - center) / center:.0f}%")
            print(f"{target}/{workload}  {op}  {metric.replace('_ns', '')}  {len(values)}  {100 * cv:.0f}%  | " + "  ".join(bands))
