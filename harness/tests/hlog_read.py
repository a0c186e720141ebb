#!/usr/bin/env python3
"""Independent reader of wpbench's .hlog files (HdrHistogram interval log
format), using the Python HdrHistogram implementation (PyPI: hdrhistogram).

Prints JSON: {tag: {"intervals": n, "count": c, "max": v, "buckets": [[v, n], ...]}}
with every interval of a tag added into one histogram; `buckets` lists each
recorded bucket (its highest equivalent value) and its count. Under
"_standard_reader", what the package's own log reader
(hdrh.log.HistogramLogReader, which knows nothing of wpbench's comment
lines) read: {"intervals": n, "count": c}.
"""
import json
import sys

from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader

totals = {}
intervals = {}
start_time = None
with open(sys.argv[1]) as f:
    for line in f:
        line = line.strip()
        if line.startswith("#[StartTime:"):
            start_time = float(line.split()[1])
        if not line.startswith("Tag="):
            continue
        tag, rest = line[4:].split(",", 1)
        start, length, max_ms, payload = rest.split(",", 3)
        float(start), float(length), float(max_ms)
        h = HdrHistogram.decode(payload)
        if tag in totals:
            totals[tag].add(h)
        else:
            totals[tag] = h
        intervals[tag] = intervals.get(tag, 0) + 1

out = {
    tag: {
        "intervals": intervals[tag],
        "count": h.get_total_count(),
        "max": h.get_max_value(),
        "buckets": [
            [it.value_iterated_to, it.count_at_value_iterated_to]
            for it in h.get_recorded_iterator()
        ],
    }
    for tag, h in totals.items()
}
out["_start_time"] = start_time

reader = HistogramLogReader(sys.argv[1], HdrHistogram(1, 3600 * 10**9, 3))
read = {"intervals": 0, "count": 0}
while True:
    h = reader.get_next_interval_histogram()
    if h is None:
        break
    read["intervals"] += 1
    read["count"] += h.get_total_count()
out["_standard_reader"] = read
print(json.dumps(out))
