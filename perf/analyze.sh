#!/usr/bin/env bash
# `enos analyze` on synthetic request records, beside a bare polars scan of the same file, in
# the same loop. For each size (1, 3 and 10 million http request records by default):
#   - an experiment directory made once by perf/analyze-gen.py and kept for later runs: a
#     destroyed local testbed's state.json (3 sites, 6 clients, 3 servers), a bench run's
#     run.json and one http workload's records, web.jsonl, as `enos bench` writes them (4
#     points, the clients interleaved, 1 % warm-up, lognormal latencies by site pair, 0.4 %
#     errors);
#   - `enos analyze --env DIR` (release build): reads the records and writes analysis/ (the
#     Parquet tables, per-point and per-site-pair statistics, as CSV too);
#   - perf/analyze-polars.py, polars from PyPI alone: `pl.scan_ndjson` of the same web.jsonl,
#     the same filters and joins, the same statistics per point and per site pair (count,
#     errors, throughput, p50, p90, p99, p99.9, max), collected, nothing written: the floor.
# Each runs under `/usr/bin/time -f "%e %M"` (wall seconds, peak RSS), its process start
# included. Before the runs of a size the file is read once, untimed, so that both find it in the
# page cache; after the first run of each size, untimed, the per-point counts, errors and
# percentiles of both are compared (they must agree). At a size where `enos analyze` would need
# more than 90 % of the memory available (its peak at the size before, in proportion), it is
# left out (and said so); polars still runs.
# Writes OUTDIR/analyze.csv (every run), OUTDIR/analyze.md (medians) and OUTDIR/table.md (the
# table of docs/performance.md).
# Usage: perf/analyze.sh [RUNS] [OUTDIR]   (default 3 runs, OUTDIR perf-out/analyze)
# Environment: SIZES (default "1000000 3000000 10000000"), DATA (where the experiments are kept,
# default /var/cache/enos-perf/analyze), POLARS_VENV (a venv with polars, made when missing;
# default /var/cache/enos-perf/polars), MEM_CAP_MIB (the address-space cap of each run, default
# 90 % of the memory available), ENOS (an enos binary to use instead of a release build).
set -euo pipefail
runs=${1:-3}
out=$(realpath -m "${2:-${PERF_OUT:-perf-out}/analyze}")
sizes=${SIZES:-1000000 3000000 10000000}
data=$(realpath -m "${DATA:-/var/cache/enos-perf/analyze}")
venv=$(realpath -m "${POLARS_VENV:-/var/cache/enos-perf/polars}")
cd "$(dirname "$0")/.."
. perf/lib.sh
for p in python3 /usr/bin/time; do
    command -v "$p" >/dev/null || { echo "missing: $p (Debian: apt-get install -y python3 python3-venv time)" >&2; exit 1; }
done
enos_binary
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import polars' 2>/dev/null; then
    echo "making $venv (polars from PyPI)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" -q install polars
fi
polars_version=$("$venv/bin/python" -c 'import polars; print(polars.__version__)')
mkdir -p "$out" "$data"
work=$(mktemp -d /tmp/enos-analyze-perf.XXXXXX)
trap 'rm -rf "$work"' EXIT
trap "exit 143" INT TERM   # so that the cleanup runs when the script is stopped

# The experiment of N records, made when missing or made by another version of the generator.
generator=$(sha256sum perf/analyze-gen.py | cut -d' ' -f1)
experiment() { # N -> its directory
    local dir=$data/$1
    if [ "$(cat "$dir/.made-by" 2>/dev/null)" != "$generator" ]; then
        echo "generating $1 records in $dir" >&2
        rm -rf "$dir"
        local t
        t=$(now)
        python3 perf/analyze-gen.py "$1" "$dir" >/dev/null
        echo "  $(elapsed "$t") s, $(du -m "$dir/bench" | tail -n 1 | cut -f1) MB" >&2
        echo "$generator" > "$dir/.made-by"
    fi
    echo "$dir"
}
records_of() { find "$1/bench" -name '*.jsonl' | head -n 1; }
available_kb() { awk '/^MemAvailable:/ {print $2}' /proc/meminfo; }

# One timed run, a line of the CSV. Its address space is capped at 90 % of the memory available
# when the size's runs begin (ulimit -v), so that a run that would not fit fails alone, its
# allocation refused, rather than the machine's other processes with it; such a run is recorded
# as out-of-memory and the tool's other runs of the size are left out.
timed() { # LABEL N RUN COMMAND...
    local label=$1 n=$2 run=$3 rc=0
    shift 3
    ( ulimit -v "$cap_kb"; exec /usr/bin/time -f "%e %M" -o "$work/time" "$@" ) > "$work/$label.out" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        if grep -q 'memory allocation of .* failed\|MemoryError\|out of memory\|Cannot allocate memory' "$work/$label.out"; then
            echo "$label ran out of memory on $n records (capped at $((cap_kb / 1024)) MiB)" >&2
            echo "$run,$n,$label,,,out-of-memory" >> "$csv"
            echo "$n $label" >> "$work/oom"
            return
        fi
        echo "$label failed on $n records (exit $rc):" >&2
        tail -n 20 "$work/$label.out" >&2
        exit 1
    fi
    read -r seconds peak < <(tail -n 1 "$work/time")
    echo "$run,$n,$label,$seconds,$peak,ok" >> "$csv"
}
oom() { grep -qx "$1 $2" "$work/oom" 2>/dev/null; }

# Per-point count, errors and percentiles of enos's summary.csv and polars' CSV agree.
same_figures() { # ENOS_SUMMARY POLARS_CSV
    python3 - "$1" "$2" <<'EOF'
import csv, math, sys
enos = {(r["workload"], r["point"]): r for r in csv.DictReader(open(sys.argv[1]))}
peer = {(r["workload"], r["point"]): r for r in csv.DictReader(open(sys.argv[2]))}
if set(enos) != set(peer):
    sys.exit(f"points differ: enos {sorted(enos)}, polars {sorted(peer)}")
for k in enos:
    for c in ("count", "errors"):
        if int(enos[k][c]) != int(peer[k][c]):
            sys.exit(f"{k} {c}: enos {enos[k][c]}, polars {peer[k][c]}")
    for c in ("p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "max_ms", "throughput_per_s"):
        a, b = float(enos[k][c]), float(peer[k][c])
        if not math.isclose(a, b, rel_tol=1e-6):
            sys.exit(f"{k} {c}: enos {a}, polars {b}")
EOF
}

csv=$out/analyze.csv
echo "run,records,tool,seconds,peak_rss_kb,status" > "$csv"
: > "$work/sizes"
prev_n='' prev_peak=''
for n in $sizes; do
    dir=$(experiment "$n")
    file=$(records_of "$dir")
    echo "$n $(du -m "$file" | cut -f1)" >> "$work/sizes"
    skip=''
    if [ -n "$prev_peak" ]; then
        need=$(awk -v p="$prev_peak" -v a="$prev_n" -v b="$n" 'BEGIN { printf "%.0f", p * b / a }')
        free=$(available_kb)
        if [ "$need" -gt $((free * 9 / 10)) ]; then
            echo "enos analyze left out at $n records: it would need about $((need / 1024)) MiB, $((free / 1024)) MiB available" >&2
            echo "$n $((need / 1024)) $((free / 1024))" >> "$work/skipped"
            skip=1
        fi
    fi
    cat "$file" > /dev/null   # into the page cache, for both
    cap_kb=$(($(available_kb) * 9 / 10))
    [ -z "${MEM_CAP_MIB:-}" ] || cap_kb=$((MEM_CAP_MIB * 1024))
    for run in $(seq "$runs"); do
        echo "$n records, run $run of $runs" >&2
        [ -n "$skip" ] || oom "$n" enos-analyze || timed enos-analyze "$n" "$run" "$enos" analyze --env "$dir"
        oom "$n" polars || timed polars "$n" "$run" "$venv/bin/python" perf/analyze-polars.py "$dir" "$file" "$work/polars.csv"
        if [ "$run" -eq 1 ] && [ -z "$skip" ] && ! oom "$n" enos-analyze && ! oom "$n" polars; then
            same_figures "$dir/analysis/summary.csv" "$work/polars.csv" ||
                { echo "enos analyze and polars disagree on $n records" >&2; exit 1; }
        fi
    done
    if [ -z "$skip" ] && ! oom "$n" enos-analyze; then
        prev_n=$n
        prev_peak=$(awk -F, -v n="$n" '$2 == n && $3 == "enos-analyze" && $6 == "ok" { print $5 }' "$csv" | sort -n | tail -n 1)
    fi
done

m() { awk -F, -v n="$1" -v t="$2" -v c="$3" 'NR > 1 && $2 == n && $3 == t && $6 == "ok" { print $c }' "$csv" | median "${4:-2}"; }
mib() { awk -v k="$1" 'BEGIN { if (k == "-") print "-"; else printf "%.0f", k / 1024 }'; }
per_million() { awk -v s="$1" -v n="$2" 'BEGIN { if (s == "-") print "-"; else printf "%.2f", s / (n / 1e6) }'; }
# The table of docs/performance.md, also in analyze.md.
{
    echo "| records | JSON Lines (MB) | \`enos analyze\` (s) | its peak RSS (MiB) | polars scan + group-by (s) | its peak RSS (MiB) | time ÷ polars's | s per million records: enos / polars |"
    echo "|---|---|---|---|---|---|---|---|"
    while read -r n mb; do
        e=$(m "$n" enos-analyze 4) p=$(m "$n" polars 4)
        e_cell=$(sig3 "$e") e_peak=$(thousands "$(mib "$(m "$n" enos-analyze 5 0)")")
        p_cell=$(sig3 "$p") p_peak=$(thousands "$(mib "$(m "$n" polars 5 0)")")
        if grep -q "^$n " "$work/skipped" 2>/dev/null; then
            e_cell="not run: about $(thousands "$(awk -v n="$n" '$1 == n { print $2 }' "$work/skipped")") MiB needed"
        fi
        oom "$n" enos-analyze && e_cell="out of memory" && e_peak="over $(thousands "$((cap_kb / 1024))")"
        oom "$n" polars && p_cell="out of memory" && p_peak="over $(thousands "$((cap_kb / 1024))")"
        echo "| $(thousands "$n") | $(thousands "$mb") | $e_cell | $e_peak | $p_cell | $p_peak | $(ratio "$e" "$p") | $(per_million "$e" "$n") / $(per_million "$p" "$n") |"
    done < "$work/sizes"
} > "$out/table.md"
{
    echo "# \`enos analyze\` beside a bare polars scan of the same records (medians of $runs)"
    echo
    echo "Machine: $(machine). polars $polars_version (Python, PyPI); enos $("$enos" --version 2>/dev/null | awk '{print $NF}')."
    echo
    echo "Synthetic http request records (perf/analyze-gen.py), one file per size; wall time and peak"
    echo "RSS of the whole process (\`/usr/bin/time\`), start included; the file in the page cache."
    echo
    cat "$out/table.md"
    if [ -s "$work/skipped" ]; then
        echo
        while read -r n need free; do
            echo "\`enos analyze\` not run on $(thousands "$n") records: it would need about $(thousands "$need") MiB (its peak at the size before, in proportion), $(thousands "$free") MiB available."
        done < "$work/skipped"
    fi
    if [ -s "$work/oom" ]; then
        echo
        while read -r n tool; do
            echo "$tool ran out of memory on $(thousands "$n") records (address space capped at $(thousands "$((cap_kb / 1024))") MiB)."
        done < "$work/oom"
    fi
} > "$out/analyze.md"
cat "$out/analyze.md"
echo "raw: $csv"
