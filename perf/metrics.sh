#!/usr/bin/env bash
# The cost of collecting metrics, peers side by side in the same run (as root, on this machine,
# no testbed): enos's metrics agent beside Debian's prometheus-node-exporter scraped at the same
# period. For each period (PERIODS, default 1 s and 100 ms), RUNS times, for SECONDS, at the same
# time:
#   - `enos daemon metrics --period P --energy model --model '{"kind":"linear",…}'` (system
#     samples on, written to JSON Lines in a temporary directory), stopped with SIGTERM;
#   - `prometheus-node-exporter` (its default collectors) in the foreground of this script on
#     127.0.0.1:<a free port>, stopped with SIGTERM;
#   - its scraper: one `curl --rate` process fetching /metrics once per period over one kept-alive
#     connection (as Prometheus does), the bodies thrown away and their sizes kept.
# Each of the three runs under `/usr/bin/time -f "%e %U %S %M"`: CPU is user + system time over
# the process's life (its start and stop included) as a % of one core, peak memory is its
# maximum RSS. Written: the agent's bytes per sample and per hour (system.jsonl + energy.jsonl);
# node-exporter's bytes per scrape (uncompressed, and gzip as Prometheus asks for, from one
# scrape before the runs) and per hour. Values per sample: the numbers in one system line and one
# energy line of the agent (v, unix_ms and interval_s left out); the samples of one scrape of
# node-exporter (all of them, and those named node_*, the rest being the exporter's own Go and
# process metrics). The machine's process count (which the agent reads one /proc/PID/stat each
# of) is the median of the agent's processes.count.
# prometheus-node-exporter is installed with apt-get when missing; if its systemd unit runs, it
# is stopped for the measure and started again at the end (disabled if this script installed the
# package and the package started it).
# Writes OUTDIR/metrics.csv (every run), OUTDIR/metrics.md (medians) and OUTDIR/table.md (the
# table of docs/performance.md).
# Usage: perf/metrics.sh [SECONDS] [OUTDIR]   (default 60 s, OUTDIR perf-out/metrics)
# Environment: RUNS (default 3), PERIODS (default "1s 100ms"; each a whole number of ms dividing
# 60 s), ENOS (an enos binary to use instead of a release build).
set -euo pipefail
seconds=${1:-60}
out=$(realpath -m "${2:-${PERF_OUT:-perf-out}/metrics}")
runs=${RUNS:-3}
periods=${PERIODS:-1s 100ms}
model='{"kind":"linear","idle_w":50,"max_w":150}'
unit=prometheus-node-exporter.service
cd "$(dirname "$0")/.."
. perf/lib.sh
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
installed=
if ! command -v prometheus-node-exporter >/dev/null; then
    apt-get install -y -q prometheus-node-exporter >/dev/null
    installed=1
fi
require prometheus-node-exporter curl jq python3 pgrep /usr/bin/time
enos_binary
mkdir -p "$out"
work=$(mktemp -d /tmp/enos-perf.XXXXXX)
restart_unit=
if command -v systemctl >/dev/null && systemctl is-active --quiet "$unit" 2>/dev/null; then
    if [ -n "$installed" ]; then
        systemctl disable --now "$unit" >/dev/null 2>&1   # started by the package just installed
    else
        systemctl stop "$unit"
        restart_unit=1
    fi
fi
pids=()
cleanup() {
    local p
    # The processes under /usr/bin/time first (it does not pass a signal on), then the others.
    for p in "${pids[@]}"; do pkill -TERM -P "$p" 2>/dev/null || true; kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    [ -n "$restart_unit" ] && systemctl start "$unit"
    cd /
    rm -rf "$work"
}
trap cleanup EXIT
trap "exit 143" INT TERM   # so that the cleanup runs when the script is stopped

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# Milliseconds of a period (1s, 100ms).
period_ms() {
    case $1 in
        *ms) echo "${1%ms}" ;;
        *s) awk -v s="${1%s}" 'BEGIN { printf "%d", s * 1000 }' ;;
        *) echo "$1 is not a period (1s, 100ms)" >&2; exit 2 ;;
    esac
}
# The process started by /usr/bin/time (pid $1).
child_of() {
    local c
    for _ in $(seq 100); do
        c=$(pgrep -P "$1" | head -n 1 || true)
        [ -n "$c" ] && { echo "$c"; return; }
        sleep 0.02
    done
    echo "no process under $1" >&2
    exit 1
}
# "wall user sys rss_kb" as /usr/bin/time wrote them (its last line: a line before it says when
# the process ended by a signal).
times_of() { tail -n 1 "$1"; }
cpu_pct() { awk -v w="$1" -v u="$2" -v s="$3" 'BEGIN { printf "%.2f", 100 * (u + s) / w }'; }

# Node-exporter, once before the runs: what one scrape holds (samples, bytes, gzip bytes).
port=$(free_port)
prometheus-node-exporter --web.listen-address="127.0.0.1:$port" 2>"$work/ne-probe.log" &
pids+=($!)
url=http://127.0.0.1:$port/metrics
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
curl -fs -o "$work/scrape.txt" "$url"
ne_samples=$(grep -vc '^#' "$work/scrape.txt")
ne_node_samples=$(grep -c '^node_' "$work/scrape.txt")
ne_bytes=$(stat -c %s "$work/scrape.txt")
ne_gzip=$(curl -fs -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "$url")
ne_version=$(prometheus-node-exporter --version 2>&1 | head -n 1)
kill -TERM "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
pids=()

csv=$out/metrics.csv
echo "run,period,tool,wall_s,user_s,sys_s,cpu_pct,peak_rss_kb,samples,bytes_per_sample,bytes_per_hour,values_per_sample,processes" > "$csv"
for run in $(seq "$runs"); do
    for period in $periods; do
        ms=$(period_ms "$period")
        [ $((60000 % ms)) -eq 0 ] || { echo "$period does not divide 60 s" >&2; exit 2; }
        n=$((seconds * 1000 / ms + 1))   # scrapes: SECONDS from the first to the last
        echo "run $run of $runs: period $period, $seconds s" >&2
        rm -rf "$work/agent"
        # The agent and node-exporter start together; the scraper runs for SECONDS; both stop.
        /usr/bin/time -f "%e %U %S %M" -o "$work/agent.time" \
            "$enos" daemon metrics --dir "$work/agent" --host perf --period "$period" \
            --energy model --model "$model" 2>"$work/agent.log" &
        agent_time=$!; pids+=("$agent_time")
        port=$(free_port)
        url=http://127.0.0.1:$port/metrics
        /usr/bin/time -f "%e %U %S %M" -o "$work/ne.time" \
            prometheus-node-exporter --web.listen-address="127.0.0.1:$port" 2>"$work/ne.log" &
        ne_time=$!; pids+=("$ne_time")
        agent=$(child_of "$agent_time"); ne=$(child_of "$ne_time")
        for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
        /usr/bin/time -f "%e %U %S %M" -o "$work/curl.time" \
            curl -fs --rate "$((60000 / ms))/m" -o /dev/null -w '%{size_download}\n' "$url?s=[1-$n]" \
            > "$work/sizes" &
        curl_time=$!; pids+=("$curl_time")
        wait "$curl_time" || { echo "the scraper failed" >&2; exit 1; }
        kill -TERM "$agent" "$ne"
        wait "$agent_time" || { cat "$work/agent.log" >&2; exit 1; }
        wait "$ne_time" || true   # node-exporter ends by the signal
        pids=()

        samples=$(wc -l < "$work/agent/system.jsonl")
        scrapes=$(grep -c . "$work/sizes")
        [ "$scrapes" -eq "$n" ] || { echo "the scraper made $scrapes scrapes of $n" >&2; exit 1; }
        bytes=$(cat "$work/agent/system.jsonl" "$work/agent/energy.jsonl" | wc -c)
        values=$(jq -s '[.[] | [paths(numbers) | select(.[0] | IN("v", "unix_ms", "interval_s") | not)] | length] | add' \
            <(tail -n 1 "$work/agent/system.jsonl") <(tail -n 1 "$work/agent/energy.jsonl"))
        processes=$(jq .processes.count "$work/agent/system.jsonl" | median 0)
        read -r wall user sys rss < <(times_of "$work/agent.time")
        per_sample=$((bytes / samples))
        echo "$run,$period,enos-agent,$wall,$user,$sys,$(cpu_pct "$wall" "$user" "$sys"),$rss,$samples,$per_sample,$((per_sample * 3600000 / ms)),$values,$processes" >> "$csv"
        read -r wall user sys rss < <(times_of "$work/ne.time")
        per_scrape=$(awk '{ s += $1 } END { printf "%d", s / NR }' "$work/sizes")
        echo "$run,$period,node-exporter,$wall,$user,$sys,$(cpu_pct "$wall" "$user" "$sys"),$rss,$scrapes,$per_scrape,$((per_scrape * 3600000 / ms)),$ne_samples," >> "$csv"
        read -r wall user sys rss < <(times_of "$work/curl.time")
        echo "$run,$period,curl-scraper,$wall,$user,$sys,$(cpu_pct "$wall" "$user" "$sys"),$rss,$scrapes,,,," >> "$csv"
    done
done

# Medians per period and tool.
m() { awk -F, -v p="$1" -v t="$2" -v c="$3" 'NR > 1 && $2 == p && $3 == t { print $c }' "$csv" | median "${4:-2}"; }
mib() { awk -v k="$1" 'BEGIN { if (k == "-") print "-"; else printf "%.1f MiB", k / 1024 }'; }
human() { awk -v b="$1" 'BEGIN { if (b == "-") print "-"; else if (b >= 1048576) printf "%.1f MiB", b / 1048576;
    else if (b >= 1024) printf "%.1f KiB", b / 1024; else printf "%d B", b }'; }
# The table of docs/performance.md, also in metrics.md.
{
    echo "| period | process | CPU, % of one core | peak RSS | values per sample | bytes per sample | bytes per hour (agent: written; node-exporter: served) |"
    echo "|---|---|---|---|---|---|---|"
    for period in $periods; do
        ms=$(period_ms "$period")
        echo "| $period | \`enos daemon metrics\` (system + model energy, JSON Lines on disk) | $(m "$period" enos-agent 7) | $(mib "$(m "$period" enos-agent 8 0)") | $(m "$period" enos-agent 12 0) | $(human "$(m "$period" enos-agent 10 0)") | $(human "$(m "$period" enos-agent 11 0)") |"
        echo "| $period | \`prometheus-node-exporter\` (default collectors), one scrape per period | $(m "$period" node-exporter 7) | $(mib "$(m "$period" node-exporter 8 0)") | $ne_samples ($ne_node_samples node_*) | $(human "$(m "$period" node-exporter 10 0)") (gzip: $(human "$ne_gzip")) | $(human "$(m "$period" node-exporter 11 0)") |"
        echo "| $period | its scraper: one \`curl --rate $((60000 / ms))/m\`, one kept-alive connection | $(m "$period" curl-scraper 7) | $(mib "$(m "$period" curl-scraper 8 0)") | | | |"
        echo "| $period | agent ÷ node-exporter (CPU, peak RSS, values, bytes) | $(ratio2 "$(m "$period" enos-agent 7)" "$(m "$period" node-exporter 7)") | $(ratio2 "$(m "$period" enos-agent 8 0)" "$(m "$period" node-exporter 8 0)") | $(ratio2 "$(m "$period" enos-agent 12 0)" "$ne_samples") | $(ratio2 "$(m "$period" enos-agent 10 0)" "$(m "$period" node-exporter 10 0)") | |"
    done
} > "$out/table.md"
{
    echo "# Metrics collection: enos's agent beside prometheus-node-exporter (medians of $runs runs of $seconds s)"
    echo
    echo "Machine: $(machine). $ne_version."
    echo
    echo "The agent, node-exporter and its scraper run at the same time in each run. CPU: user + system"
    echo "time over the process's life as a % of one core; peak memory: maximum RSS."
    echo
    cat "$out/table.md"
    echo
    echo "Processes on the machine during the runs (the agent reads each one's /proc/PID/stat every"
    echo "period; median of its processes.count): $(awk -F, 'NR > 1 && $3 == "enos-agent" { print $13 }' "$csv" | median 0)."
    echo "node-exporter's samples per scrape: $ne_samples, of which $ne_node_samples named node_* (the others: the"
    echo "exporter's own go_*, process_* and promhttp_* metrics); one scrape is $(human "$ne_bytes"), $(human "$ne_gzip") gzipped."
} > "$out/metrics.md"
cat "$out/metrics.md"
echo "raw: $csv"
