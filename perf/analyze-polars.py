#!/usr/bin/env python3
"""The peer of `enos analyze` in perf/analyze.sh: polars alone, reading the same JSON Lines and
computing the same statistics, nothing written. The floor of what the analysis costs.

One pass of `pl.scan_ndjson(FILE)` (only the fields the statistics need): each `request` line
(warm-up left out) with its host's `start` line's `start_unix_ns` (the origin of the offsets)
and URL, the sites of the source host and of the URL's address from DIR/state.json; then per
workload and point, and per workload, point, source site and destination site: count, errors
(an `error`, a status of 400 or more, or no status), throughput (count over the span of the
start times), latency p50, p90, p99, p99.9 (linear interpolation, as enos) and max in ms. Prints the per-point rows, and writes them to
CSV when given (for perf/analyze.sh to check that both found the same figures).

Usage: analyze-polars.py DIR FILE [CSV]
"""
import json
import os
import sys

import polars as pl

SCHEMA = {
    "workload": pl.String,
    "point": pl.UInt32,
    "repeat": pl.UInt32,
    "host": pl.String,
    "http": pl.String,
    "url": pl.String,
    "start_unix_ns": pl.Int64,
    "sent_ns": pl.Int64,
    "latency_ns": pl.Int64,
    "status": pl.Int64,
    "error": pl.String,
    "warmup": pl.Boolean,
}
# A host's run of a point: its start line, requests and summary.
KEYS = ["workload", "point", "repeat", "host"]


def stats(frame, by):
    q = lambda p, name: pl.col("latency_ms").quantile(p, interpolation="linear").alias(name)  # noqa: E731
    return (
        frame.group_by(by)
        .agg(
            pl.len().alias("count"),
            pl.col("failed").sum().alias("errors"),
            pl.col("start").min().alias("first"),
            pl.col("start").max().alias("last"),
            q(0.5, "p50_ms"), q(0.9, "p90_ms"), q(0.99, "p99_ms"), q(0.999, "p99_9_ms"),
            pl.col("latency_ms").max().alias("max_ms"),
        )
        .with_columns(
            (pl.col("errors") / pl.col("count")).alias("error_rate"),
            (pl.col("count") / ((pl.col("last") - pl.col("first")) / 1e9)).alias("throughput_per_s"),
        )
        .drop("first", "last")
        .sort(by)
    )


def main():
    root, path = sys.argv[1], sys.argv[2]
    state = json.load(open(os.path.join(root, "state.json")))
    hosts = state["testbed"]["hosts"]
    sites = pl.LazyFrame({
        "name": [h["name"] for h in hosts] + [h["address"] for h in hosts],
        "site": [h["site"] for h in hosts] * 2,
    })
    # (`params`, the point's labels, is the same in every record of a point: not read.)
    # One pass: each request takes its host's start line's origin and URL (a window over the
    # host's point and repetition), then only the requests are kept.
    requests = (
        pl.scan_ndjson(path, schema=SCHEMA)
        .filter(pl.col("http").is_in(["start", "request"]))
        .with_columns(
            pl.col("start_unix_ns").max().over(KEYS).alias("origin"),
            pl.col("url").max().over(KEYS)
            .str.extract(r"^[a-z]+://\[?([^\]/:?]+)", 1).alias("address"),
        )
        .filter((pl.col("http") == "request") & ~pl.col("warmup"))
        .join(sites.rename({"name": "address", "site": "destination_site"}), on="address", how="left")
        .join(sites.rename({"name": "host"}), on="host", how="left")
        .select(
            "workload", "point", "site", "destination_site",
            (pl.col("origin") + pl.col("sent_ns")).alias("start"),
            (pl.col("latency_ns") / 1e6).alias("latency_ms"),
            (pl.col("error").is_not_null() | pl.col("status").is_null() | (pl.col("status") >= 400))
            .cast(pl.UInt64).alias("failed"),
        )
        .collect()
        .lazy()
    )
    per_point, pairs = pl.collect_all([
        stats(requests, ["workload", "point"]),
        stats(requests, ["workload", "point", "site", "destination_site"]),
    ])
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200):
        print(per_point)
    if len(sys.argv) > 3:
        per_point.write_csv(sys.argv[3])
    print(f"{len(pairs)} site-pair rows")


if __name__ == "__main__":
    main()
