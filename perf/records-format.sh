#!/usr/bin/env bash
# Which format should bench records take (docs/data.md)? Runs perf/records-format.py in a venv
# with polars and pyarrow from PyPI: N records as JSON Lines, CSV and Arrow IPC, each read back
# by polars with a per-point p99. Usage: perf/records-format.sh [N] [RUNS] [OUTDIR]
# Writes OUTDIR/records-format.md and OUTDIR/table.md (the table of docs/performance.md).
# Environment: VENV (the venv, made when missing; default OUTDIR/venv).
set -euo pipefail
n=${1:-5000000}
runs=${2:-5}
out=$(realpath -m "${3:-${PERF_OUT:-perf-out}/records-format}")
cd "$(dirname "$0")/.."
venv=${VENV:-$out/venv}
mkdir -p "$out"
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" -q install polars pyarrow; }
"$venv/bin/python" perf/records-format.py "$n" "$runs" "$out" | tee "$out/records-format.md"
