#!/usr/bin/env python3
"""Which format should bench records take? Writes N http-like records (the fields the `http`
workload records, plus a point's parameters) as JSON Lines, CSV and Arrow IPC, then times how
fast polars reads each back and computes the per-point latency p99 (what an analysis does
first). Medians of RUNS. Needs polars and pyarrow (perf/records-format.sh makes a venv).

Writes OUTDIR/table.md, the table of docs/performance.md.

Usage: records-format.py N RUNS OUTDIR
"""
import json
import os
import statistics
import sys
import time

import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc


def records(n):
    """N records of 4 points, as the http workload would stream them."""
    for i in range(n):
        intended = i * 1_000_000
        yield {
            "v": 1,
            "point": i % 4,
            "rate": [100, 200, 400, 800][i % 4],
            "host": f"paris-client-{i % 3 + 1}",
            "intended_ns": intended,
            "sent_ns": intended + (i * 7919) % 50_000,
            "latency_ns": 2_000_000 + (i * 104729) % 3_000_000,
            "status": 200 if i % 97 else 503,
            "bytes": 612,
        }


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    n, runs, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    os.makedirs(out, exist_ok=True)
    paths = {f: os.path.join(out, f"records.{f}") for f in ("jsonl", "csv", "arrow")}
    rows = list(records(n))
    writes = {
        "jsonl": lambda: open(paths["jsonl"], "w").writelines(json.dumps(r) + "\n" for r in rows),
        "csv": lambda: pl.DataFrame(rows).write_csv(paths["csv"]),
        "arrow": lambda: pl.DataFrame(rows).write_ipc(paths["arrow"]),
    }
    reads = {
        "jsonl": lambda: pl.scan_ndjson(paths["jsonl"]),
        "csv": lambda: pl.scan_csv(paths["csv"]),
        "arrow": lambda: pl.scan_ipc(paths["arrow"]),
    }
    table = []
    for fmt in ("jsonl", "csv", "arrow"):
        writes[fmt]()
        size = os.path.getsize(paths[fmt])
        read = [
            timed(lambda: reads[fmt]().group_by("point").agg(pl.col("latency_ns").quantile(0.99)).collect())
            for _ in range(runs)
        ]
        table.append((fmt, size, statistics.median(read)))
    names = {"jsonl": "JSON Lines", "csv": "CSV", "arrow": "Arrow IPC"}
    base = table[0][2]
    lines = ["| format | size (MB) | read + per-point p99 (s) | time / JSON Lines' |", "|---|---|---|---|"]
    lines += [f"| {names[fmt]} | {size / 1e6:.1f} | {seconds:.3f} | {seconds / base:.2f} |"
              for fmt, size, seconds in table]
    # The table of docs/performance.md.
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"# {n:,} records, polars {pl.__version__}, medians of {runs}\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
