#!/usr/bin/env bash
# The OpenStack-WAN experiment (scenarios/openstack-wan.yaml) once, end to end, as root, and
# what it costs the machine:
#   - `enos run --keep` of the scenario: the deploy (Debian's packages, from scratch), Rally at
#     each one-way delay between the control site and the computes, backup and analysis; the
#     deploy's and the bench's seconds from their own records, the whole run's from here;
#   - the machine's peak memory in use (MemTotal − MemAvailable, sampled every second from
#     before the run until the destroy), beside what was in use before it;
#   - then, on the testbed still up (at the last delay), BOOTS servers booted to ACTIVE and
#     deleted one after the other with the `openstack` client, and what they cost: RabbitMQ's
#     bytes (every connection's received and sent octets, `rabbitmqctl list_connections`, those
#     of the controller's own services and those of the computes apart) and
#     each database user's bytes and statements (MariaDB's `userstat`,
#     INFORMATION_SCHEMA.USER_STATISTICS), before and after, divided by BOOTS;
#   - `enos destroy`.
# Then perf/openstack-wan-table.py (polars, from a venv made when missing) turns the run's
# analysis and the traffic into the tables of docs/experiments/openstack-wan.md (under
# OUTDIR/experiment/openstack-wan/, spliced into that page by perf/splice.py), and this script
# writes the cost's for docs/performance.md (OUTDIR/table-cost.md).
# Usage: perf/openstack-wan.sh [BOOTS] [OUTDIR]   (default 10 boots; OUTDIR perf-out/openstack-wan)
# Environment: ENOS, CARGO_TARGET_DIR (lib.sh), POLARS_VENV (default /var/cache/enos-perf/polars).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=perf/lib.sh
. perf/lib.sh
boots=${1:-10}
outdir=$(realpath -m "${2:-${PERF_OUT:-perf-out}/openstack-wan}")
require python3 awk
enos_binary
venv=$(realpath -m "${POLARS_VENV:-/var/cache/enos-perf/polars}")
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import polars' 2>/dev/null; then
    echo "making $venv (polars from PyPI)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" -q install polars
fi
results="$outdir/results"
rm -rf "$results"
mkdir -p "$outdir"
sampler=''
cleanup() {
    if [ -n "$sampler" ]; then kill "$sampler" 2>/dev/null || true; fi
    "$enos" -q destroy --results "$results" >/dev/null 2>&1 || true
}
trap cleanup EXIT

used_mib() { awk '/^MemTotal:/ {t = $2} /^MemAvailable:/ {a = $2} END {printf "%.0f\n", (t - a) / 1024}' /proc/meminfo; }
before_mib=$(used_mib)
( while :; do used_mib; sleep 1; done ) > "$outdir/memory-mib.txt" &
sampler=$!

echo "== enos run --keep scenarios/openstack-wan.yaml ($(machine))"
t0=$(now)
status=0
"$enos" run --keep --results "$results" scenarios/openstack-wan.yaml > "$outdir/run.log" 2>&1 || status=$?
run_s=$(elapsed "$t0")
echo "enos run: exit $status in $run_s s (log: $outdir/run.log)"
[ "$status" -eq 0 ] || { tail -30 "$outdir/run.log" >&2; exit 1; }
experiment=$(find "$results/openstack-wan" -mindepth 1 -maxdepth 1 -type d | sort | tail -1)

# Seconds between two RFC 3339 times.
span() { python3 -c 'import sys, datetime as d; f = lambda s: d.datetime.fromisoformat(s[:26].rstrip("Z") + "+00:00"); print(f"{(f(sys.argv[2]) - f(sys.argv[1])).total_seconds():.0f}")' "$1" "$2"; }
field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
deploy_report=$(find "$experiment/deploy" -mindepth 2 -maxdepth 2 -name report.json -path '*/2*' | sort | head -1)
deploy_s=$(span "$(field "$deploy_report" started)" "$(field "$deploy_report" ended)")
bench_record=$(find "$experiment/bench" -mindepth 2 -maxdepth 2 -name run.json -path '*/2*' | sort | head -1)
bench_s=$(span "$(field "$bench_record" started)" "$(field "$bench_record" ended)")

# Counters on the controller: `rabbit <bytes>` and `db <user> <bytes> <statements>` lines.
counters=$(cat <<'SH'
set -e
here=" $(hostname -I) "
rabbitmqctl -q list_connections peer_host recv_oct send_oct | awk -v here="$here" '
  $2 ~ /^[0-9]+$/ { if (index(here, " " $1 " ")) l += $2 + $3; else r += $2 + $3 }
  END { print "rabbit local", l + 0; print "rabbit remote", r + 0 }'
mariadb -Nse "SELECT USER, BYTES_RECEIVED + BYTES_SENT,
  SELECT_COMMANDS + UPDATE_COMMANDS + OTHER_COMMANDS FROM INFORMATION_SCHEMA.USER_STATISTICS" |
  awk '{ print "db", $1, $2, $3 }'
SH
)
controller() { "$enos" -q exec --results "$results" --roles controller -- "$1"; }
controller "mariadb -e 'SET GLOBAL userstat = 1; FLUSH USER_STATISTICS'" >/dev/null
controller "$counters" | grep -E '^(rabbit|db) ' > "$outdir/counters-before.txt"
"$enos" -q exec --results "$results" --roles client -- ". /root/admin-openrc control >/dev/null
for i in \$(seq $boots); do
  openstack --os-compute-api-version 2.37 server create --flavor m1.tiny --image enos-tiny --nic none --wait enos-perf-\$i >/dev/null
  openstack server delete --wait enos-perf-\$i
done" > /dev/null
controller "$counters" | grep -E '^(rabbit|db) ' > "$outdir/counters-after.txt"
awk -v n="$boots" '
    FNR == NR { if ($1 == "rabbit") r0[$2] = $3; else { b0[$2] = $3; s0[$2] = $4 }; next }
    $1 == "rabbit" { printf "rabbitmq %s %.0f -\n", $2, ($3 - r0[$2]) / n; next }
    { printf "database %s %.0f %.1f\n", $2, ($3 - b0[$2]) / n, ($4 - s0[$2]) / n }
' "$outdir/counters-before.txt" "$outdir/counters-after.txt" > "$outdir/traffic.txt"
"$enos" -q destroy --results "$results" >/dev/null
kill "$sampler" 2>/dev/null || true
sampler=''
peak_mib=$(sort -n "$outdir/memory-mib.txt" | tail -1)

mkdir -p "$outdir/experiment/openstack-wan"
"$venv/bin/python" perf/openstack-wan-table.py "$experiment" "$outdir/traffic.txt" "$boots" \
    "$outdir/experiment/openstack-wan"
python3 perf/splice.py --doc docs/experiments/openstack-wan.md --tables "$outdir/experiment"
{
    echo "| measure | value |"
    echo "|---|---|"
    echo "| deploy (5 hosts in 2 sites, from scratch) | $deploy_s s |"
    echo "| bench (5 delays × 3 Rally scenarios × 20 iterations) | $bench_s s |"
    echo "| the whole \`enos run\` (deploy, bench, backup, analysis) | $(printf '%.0f' "$run_s") s |"
    echo "| the machine's memory in use: before, peak | $(thousands "$before_mib") MiB, $(thousands "$peak_mib") MiB |"
} > "$outdir/table-cost.md"
echo "== cost"
cat "$outdir/table-cost.md"
