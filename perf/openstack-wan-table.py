#!/usr/bin/env python3
"""The tables of docs/experiments/openstack-wan.md, from one run of scenarios/openstack-wan.yaml
(perf/openstack-wan.sh runs it and calls this).

From the run's analysis (`analysis/requests.parquet`, `analysis/samples.parquet`), per one-way
delay (the workload's point; the delay read from the point's label) and Rally scenario (the
iterations' `operation`):

- table.md: iterations, mean and p90 in seconds; under it, the seconds each scenario's mean
  gains per millisecond of round trip (least squares over the five delays, RTT = 2 × delay);
- table-published.md: Boot & Delete and Pause & Unpause beside the published means of the
  OpenStack-WAN study (Grid'5000, 1 control + 10 computes, real VMs), with the same fit over
  the published figures;
- table-traffic.md: per Boot & Delete iteration at each delay, over the span of the scenario's
  iterations (first start to last end): CPU seconds of each site's hosts (`processes.cpu_cores`),
  the joules of every host by the power model (`energy.host`), and the bytes the computes sent
  and received (every interface of the edge site's hosts: what crossed the WAN); then, from
  TRAFFIC (written by perf/openstack-wan.sh: counters read before and after BOOTS boots with the
  `openstack` client), RabbitMQ's bytes and each database user's bytes and statements per boot.

Usage: openstack-wan-table.py EXPERIMENT_DIR TRAFFIC BOOTS OUTDIR
"""
import json
import os
import re
import sys

import polars as pl

BOOT = "NovaServers.boot_and_delete_server"
PAUSE = "NovaServers.pause_and_unpause_server"
KEYSTONE = "KeystoneBasic.authenticate_user_and_validate_token"
NAMES = {BOOT: "Boot & Delete", PAUSE: "Pause & Unpause", KEYSTONE: "Keystone authenticate & validate"}
# The published means, in seconds, per one-way delay in ms (anchors: the OpenStack-WAN study).
PUBLISHED = {
    BOOT: {0: 15.13, 10: 17.85, 25: 20.34, 50: 23.77, 100: 30.86},
    PAUSE: {0: 17.25, 100: 28.86},
}


def delay_of(params):
    """The one-way delay in ms a point's label names (`… delay=25ms`)."""
    found = re.search(r"delay=(\d+(?:\.\d+)?)ms", params)
    if not found:
        sys.exit(f"no delay in the point's label {params!r}")
    return float(found.group(1))


def slope(points):
    """Least squares: seconds per ms of RTT over (rtt_ms, seconds) points; None under two."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def fmt(x, d=2):
    return "-" if x is None else f"{x:.{d}f}"


def write(outdir, name, lines):
    with open(os.path.join(outdir, name), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    experiment, traffic, boots, outdir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    analysis = os.path.join(experiment, "analysis")
    requests = pl.read_parquet(os.path.join(analysis, "requests.parquet")).filter(
        (pl.col("kind") == "rally") & ~pl.col("warmup")
    )
    if requests.height == 0:
        sys.exit("no Rally iteration in the run's analysis")
    requests = requests.with_columns(
        pl.col("params").map_elements(delay_of, return_dtype=pl.Float64).alias("delay_ms"),
        (pl.col("start") + pl.duration(milliseconds=pl.col("latency_ms"))).alias("end"),
    )
    stats = (
        requests.group_by("delay_ms", "operation")
        .agg(
            pl.len().alias("n"),
            (~pl.col("ok")).sum().alias("errors"),
            (pl.col("latency_ms").mean() / 1e3).alias("mean_s"),
            (pl.col("latency_ms").quantile(0.9, interpolation="linear") / 1e3).alias("p90_s"),
            pl.col("start").min().alias("first"),
            pl.col("end").max().alias("last"),
        )
        .sort("delay_ms", "operation")
    )
    at = {(r["delay_ms"], r["operation"]): r for r in stats.iter_rows(named=True)}
    delays = sorted({d for d, _ in at})
    scenarios = [s for s in (BOOT, PAUSE, KEYSTONE) if any((d, s) in at for d in delays)]

    # table.md: mean and p90 per delay and scenario, and the slope.
    head = "| one-way delay (RTT) |" + "".join(f" {NAMES[s]}: mean s | p90 s |" for s in scenarios)
    lines = [head, "|---|" + "---:|---:|" * len(scenarios)]
    for d in delays:
        cells = []
        for s in scenarios:
            r = at.get((d, s))
            note = "" if r is None or r["errors"] == 0 else f" ({r['errors']} failed)"
            cells.append(f" {fmt(r and r['mean_s'])}{note} | {fmt(r and r['p90_s'])} |")
        lines.append(f"| {d:g} ms ({2 * d:g} ms) |" + "".join(cells))
    slopes = {
        s: slope([(2 * d, at[(d, s)]["mean_s"]) for d in delays if (d, s) in at]) for s in scenarios
    }
    lines.append(
        "| **s per ms of RTT** |"
        + "".join(f" **{fmt(slopes[s], 4)}** | |" for s in scenarios)
    )
    lines.append("")
    lines.append(
        "Iterations per cell: "
        + ", ".join(
            f"{NAMES[s]} {min(at[(d, s)]['n'] for d in delays if (d, s) in at)}" for s in scenarios
        )
        + "."
    )
    write(outdir, "table.md", lines)

    # table-published.md: beside the published means.
    lines = [
        "| one-way delay (RTT) | Boot & Delete: published s | ours s | Pause & Unpause: published s | ours s |",
        "|---|---:|---:|---:|---:|",
    ]
    for d in sorted(set(delays) | set(PUBLISHED[BOOT])):
        cells = []
        for s in (BOOT, PAUSE):
            ours = at.get((d, s))
            cells.append(f" {fmt(PUBLISHED[s].get(d))} | {fmt(ours and ours['mean_s'])} |")
        lines.append(f"| {d:g} ms ({2 * d:g} ms) |" + "".join(cells))
    published_slopes = {s: slope([(2 * d, v) for d, v in PUBLISHED[s].items()]) for s in (BOOT, PAUSE)}
    lines.append(
        "| **s per ms of RTT** |"
        + "".join(f" **{fmt(published_slopes[s], 4)}** | **{fmt(slopes.get(s), 4)}** |" for s in (BOOT, PAUSE))
    )
    write(outdir, "table-published.md", lines)

    # table-traffic.md: CPU, energy and WAN bytes per Boot & Delete, from the samples.
    samples = pl.read_parquet(os.path.join(analysis, "samples.parquet"))
    sites = sorted(samples["site"].unique().to_list())
    edge = [s for s in sites if s != "control"]
    lines = [
        "| one-way delay | "
        + " | ".join(f"CPU s on {s}" for s in sites)
        + " | energy J (model, all hosts) | bytes the computes sent and received |",
        "|---|" + "---:|" * (len(sites) + 2),
    ]
    for d in delays:
        r = at.get((d, BOOT))
        if r is None:
            continue
        window = samples.filter(
            (pl.col("time") > r["first"]) & (pl.col("time") <= r["last"] + pl.duration(seconds=1))
        )
        # Each sample covers the interval before it: about one period (1 s).
        period = 1.0
        per = r["n"]
        cpu = {
            s: window.filter((pl.col("metric") == "processes.cpu_cores") & (pl.col("site") == s))[
                "value"
            ].sum()
            * period
            / per
            for s in sites
        }
        joules = window.filter((pl.col("metric") == "energy.host") & (pl.col("source") == "model"))[
            "value"
        ].sum() / per
        net = window.filter(
            pl.col("site").is_in(edge)
            & pl.col("metric").str.starts_with("net.")
            & ~pl.col("metric").str.starts_with("net.lo.")
            & pl.col("metric").str.ends_with("_bytes_per_s")
        )["value"].sum() * period / per
        lines.append(
            f"| {d:g} ms | "
            + " | ".join(f"{cpu[s]:.2f}" for s in sites)
            + f" | {joules:.0f} | {net / 1024:.0f} KiB |"
        )
    lines.append("")
    lines.append(f"Per boot and delete with the `openstack` client ({boots} boots, at the last delay):")
    lines.append("")
    lines.append("| what | bytes per boot | statements per boot |")
    lines.append("|---|---:|---:|")
    with open(traffic) as f:
        for row in f:
            kind, who, nbytes, statements = row.split()
            if kind == "rabbitmq":
                what = {"local": "RabbitMQ: the controller's services", "remote": "RabbitMQ: the computes"}[who]
            elif int(float(nbytes)) == 0 or who == "root":
                # `root` is the counters' own queries.
                continue
            else:
                what = f"database: user `{who}`"
            lines.append(f"| {what} | {int(float(nbytes)):,} | {statements} |".replace(",", " "))
    write(outdir, "table-traffic.md", lines)
    for name in ("table.md", "table-published.md", "table-traffic.md"):
        print(f"== {name}")
        print(open(os.path.join(outdir, name)).read())


if __name__ == "__main__":
    main()
