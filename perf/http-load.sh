#!/usr/bin/env bash
# The HTTP load generator (`enos daemon http-load`) against nginx, wrk beside it in the same run
# (as root), on a 2-host local testbed: one client site, one server site, no WAN constraint.
# nginx serves a small static page on the server host (run with `ip netns exec` in the host's
# network namespace, its configuration, pid file and logs in a work directory); the generator and
# wrk run in the client host's network namespace.
#   1. Step, RUNS rounds with medians: open-loop rates (RATES, STEP each after a 2 s warm-up, a separate run per rate,
#      --connections 1000); for each rate the achieved rate (responses / span), latency
#      p50/p99/max, send lateness p50/p99/max, errors. The highest rate whose lateness p99 is under
#      1 ms with no error is the sustainable rate; the highest rate *kept* is one achieved within
#      1 % with no error and lateness p99 under 10 ms. The steps stop after two rates in a row not
#      kept. Beside it, `wrk -t2 -c64 -d10s` (closed loop: its most requests/s and its latency).
#      wrk2 (the open-loop peer) is not run: the table says whether it is installed.
#   2. Long run: the generator at half the sustainable rate (half the highest rate kept when no
#      rate is sustainable; or LONG_RATE) for DURATION: its CPU
#      time and peak memory (`/usr/bin/time -f "%e %U %S %M"`), and its RSS every 10 s (VmRSS of
#      /proc/PID/status) to show whether it stays flat; plus the run's latency and lateness.
# Writes OUTDIR/http-load.md (tables), OUTDIR/http-load-steps.csv, OUTDIR/http-load-long.csv
# (summary), OUTDIR/http-load-rss.csv (RSS samples), and the two tables of docs/performance.md:
# OUTDIR/table-steps.md and OUTDIR/table-long.md.
# Usage: perf/http-load.sh [DURATION] [OUTDIR]   (default 10m, OUTDIR perf-out/http-load)
# Environment: RUNS (rounds of the steps, medians; default 3), RATES (default "1000 2000 5000
# 10000 20000 30000 40000 80000"), STEP (default 10s),
# LONG_RATE (req/s of the long run), ENOS (an enos binary to use instead of a release build).
set -euo pipefail
duration=${1:-10m}
out=$(realpath -m "${2:-${PERF_OUT:-perf-out}/http-load}")
rates=${RATES:-1000 2000 5000 10000 20000 30000 40000 80000}
step=${STEP:-10s}
runs=${RUNS:-3}
cd "$(dirname "$0")/.."
. perf/lib.sh
for p in nginx wrk; do
    command -v "$p" >/dev/null || { [ "$(id -u)" -eq 0 ] && apt-get install -y -q nginx wrk >/dev/null; }
done
PATH=$PATH:/usr/sbin
require jq nginx wrk curl ip pgrep /usr/bin/time
enos_binary
mkdir -p "$out"
work=$(mktemp -d -t enos-perf.XXXXXX)   # TMPDIR: the long run's records (~200 B a request) go here
chmod 0755 "$work"                    # nginx's workers read the page
cleanup() {
    cd /
    [ -n "${gen_pid:-}" ] && kill "$gen_pid" 2>/dev/null
    [ -f "$work/nginx/nginx.pid" ] && kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null
    sleep 0.5
    "$enos" -q destroy --results "$work/results" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
trap "exit 143" INT TERM   # so that the cleanup runs when the script is stopped

cat > "$work/testbed.yaml" <<'EOF'
name: http-load
provider: local
sites:
  clients:
    roles: {client: 1}
  servers:
    roles: {server: 1}
EOF
"$enos" -q deploy --no-validate --results "$work/results" "$work/testbed.yaml" >/dev/null
env_dir=$(readlink -f "$work/results/current")
state=$env_dir/state.json
# A host's network namespace is enos-<prefix>-<host>, the prefix that of the control directory.
prefix=$(jq -r .testbed.ssh.control_dir "$state" | awk -F/ '{print $(NF - 1)}')
host_of() { jq -r --arg r "$1" "[.testbed.hosts[] | select(.role == \$r)][0].$2" "$state"; }
client_ns=enos-$prefix-$(host_of client name)
server_ns=enos-$prefix-$(host_of server name)
server_ip=$(host_of server address)
url=http://$server_ip:8080/index.html
in_client() { ip netns exec "$client_ns" "$@"; }

# nginx: one worker per core, keep-alive, no access log; a 612-byte page like Debian's default.
mkdir -p "$work/nginx/html" "$work/nginx/tmp"
head -c 612 /dev/zero | tr '\0' x > "$work/nginx/html/index.html"
cat > "$work/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $work/nginx/tmp; proxy_temp_path $work/nginx/tmp;
    fastcgi_temp_path $work/nginx/tmp; uwsgi_temp_path $work/nginx/tmp; scgi_temp_path $work/nginx/tmp;
    server {
        listen $server_ip:8080;
        root $work/nginx/html;
    }
}
EOF
ip netns exec "$server_ns" nginx -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log"
for _ in $(seq 50); do in_client curl -fs -o /dev/null "$url" 2>/dev/null && break; sleep 0.1; done
in_client curl -fs -o /dev/null "$url" || { echo "nginx does not answer at $url" >&2; exit 1; }

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
summary() { tail -n 1 "$1" | jq -e 'select(.type == "summary")'; }
ms() { awk -v n="$1" 'BEGIN { printf "%.3f", n / 1e6 }'; }

# 1. Stepped open-loop rates and wrk, RUNS rounds (each round every rate, then wrk); the table
# holds the medians of the rounds, every run is in http-load-steps-runs.csv.
runs_csv=$out/http-load-steps-runs.csv
steps_csv=$out/http-load-steps.csv
header="tool,target_rps,achieved_rps,latency_p50_ms,latency_p99_ms,latency_max_ms,lateness_p50_ms,lateness_p99_ms,lateness_max_ms,errors"
echo "run,$header" > "$runs_csv"
# wrk prints latencies with units (us, ms, s): in ms.
wrk_ms() { awk -v k="$1" '$1 == k { v = $2; u = v; gsub(/[0-9.]/, "", u); sub(/[a-z]+$/, "", v);
    f = (u == "us") ? 0.001 : (u == "s") ? 1000 : 1; printf "%.3f", v * f }' "$work/wrk.txt"; }
tried=""
for run in $(seq 1 "$runs"); do
    misses=0
    for rate in ${tried:-$rates}; do
        echo "round $run: generator at $rate req/s" >&2
        in_client "$enos" daemon http-load --url "$url" --rate "$rate" --duration "$step" --warmup 2s \
            --connections 1000 --timeout 5s --out "$work/step.jsonl"
        s=$(summary "$work/step.jsonl")
        achieved=$(jq -r '.responses / (.span_ns / 1e9) | floor' <<< "$s")
        errors=$(jq -r .errors <<< "$s")
        late99=$(jq -r .lateness_ns.p99 <<< "$s")
        echo "$run,http-load,$rate,$achieved,$(ms "$(jq -r .latency_ns.p50 <<< "$s")"),$(ms "$(jq -r .latency_ns.p99 <<< "$s")"),$(ms "$(jq -r .latency_ns.max <<< "$s")"),$(ms "$(jq -r .lateness_ns.p50 <<< "$s")"),$(ms "$late99"),$(ms "$(jq -r .lateness_ns.max <<< "$s")"),$errors" >> "$runs_csv"
        rm -f "$work/step.jsonl"
        # The first round stops after two rates in a row not kept (below); later rounds try the
        # rates it tried.
        if [ -z "$tried" ]; then
            first="${first:-} $rate"
            if [ "$errors" -eq 0 ] && [ "$late99" -lt 10000000 ] && [ $((achieved * 100)) -ge $((rate * 99)) ]; then
                misses=0
            else
                misses=$((misses + 1))
                [ "$misses" -ge 2 ] && break
            fi
        fi
    done
    tried=${tried:-$first}
    echo "round $run: wrk -t2 -c64 -d10s" >&2
    in_client wrk -t2 -c64 -d10s --latency "$url" > "$work/wrk.txt"
    wrk_rps=$(awk '/^Requests\/sec:/ {printf "%d", $2}' "$work/wrk.txt")
    wrk_max=$(awk '$1 == "Latency" && NF >= 4 { v = $4; u = v; gsub(/[0-9.]/, "", u); sub(/[a-z]+$/, "", v);
        f = (u == "us") ? 0.001 : (u == "s") ? 1000 : 1; printf "%.3f", v * f; exit }' "$work/wrk.txt")
    wrk_errors=$(awk '/Non-2xx|Socket errors/ {n++} END {print n + 0}' "$work/wrk.txt")
    echo "$run,wrk-closed-64,,$wrk_rps,$(wrk_ms 50%),$(wrk_ms 99%),$wrk_max,,,,$wrk_errors" >> "$runs_csv"
done
# Medians of the rounds, per tool and target rate, in the order first run.
echo "$header" > "$steps_csv"
tail -n +2 "$runs_csv" | cut -d, -f2- | awk -F, '
    { key = $1 "," $2; if (!(key in n)) order[++keys] = key; n[key]++
      for (i = 3; i <= NF; i++) v[key, i, n[key]] = $i; nf = NF }
    function median(key, i,   m, j, k, t, a) {
        m = n[key]; if (v[key, i, 1] == "") return ""
        for (j = 1; j <= m; j++) a[j] = v[key, i, j] + 0
        for (j = 1; j <= m; j++) for (k = j + 1; k <= m; k++) if (a[k] < a[j]) { t = a[j]; a[j] = a[k]; a[k] = t }
        return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2 }
    END { for (o = 1; o <= keys; o++) { key = order[o]; line = key
          for (i = 3; i <= nf; i++) line = line "," median(key, i); print line } }' >> "$steps_csv"
# The highest sustainable and kept rates, from the medians.
sustained=0; kept=0
while IFS=, read -r tool rate achieved _ _ _ _ late99 _ errors; do
    [ "$tool" = http-load ] || continue
    late_ns=$(awk -v m="$late99" 'BEGIN { printf "%d", m * 1e6 }')
    [ "$late_ns" -lt 1000000 ] && [ "$errors" = 0 ] && sustained=$rate
    if [ "$errors" = 0 ] && [ "$late_ns" -lt 10000000 ] && [ $((${achieved%.*} * 100)) -ge $((rate * 99)) ]; then
        kept=$rate
    fi
done < <(tail -n +2 "$steps_csv")
if command -v wrk2 >/dev/null; then
    wrk2_note="wrk2 installed but not run by this script"
else
    wrk2_note="wrk2 (the open-loop peer) is not installed: Debian packages only wrk"
fi
cp "$work/wrk.txt" "$out/wrk.txt"

# 2. The long run at a fixed rate.
# Half the sustainable rate; when no rate kept lateness p99 under 1 ms, half the highest rate kept.
base=$sustained; [ "$base" -gt 0 ] || base=$kept
long_rate=${LONG_RATE:-$((base / 2))}
[ "$long_rate" -gt 0 ] || { echo "no rate was kept" >&2; exit 1; }
echo "generator at $long_rate req/s for $duration" >&2
rss_csv=$out/http-load-rss.csv
echo "seconds,rss_kb,cpu_s" > "$rss_csv"   # cpu_s: utime + stime so far, /proc/PID/stat
ip netns exec "$client_ns" /usr/bin/time -f "%e %U %S %M" -o "$work/time" \
    "$enos" daemon http-load --url "$url" --rate "$long_rate" --duration "$duration" \
    --connections 1000 --timeout 5s --out "$work/long.jsonl" &
gen_pid=$!
t0=$(now); pid=
for _ in $(seq 100); do pid=$(pgrep -P "$gen_pid" -x enos || true); [ -n "$pid" ] && break; sleep 0.05; done
while kill -0 "$gen_pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$pid/stat" 2>/dev/null || true)
    [ -n "$rss" ] && echo "$(awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%d", a - b + 0.5 }'),$rss,$cpu" >> "$rss_csv"
    for _ in $(seq 100); do kill -0 "$gen_pid" 2>/dev/null || break; sleep 0.1; done
done
wait "$gen_pid"; gen_pid=
read -r wall user sys peak < "$work/time"
s=$(summary "$work/long.jsonl")
records_mb=$(du -m "$work/long.jsonl" | cut -f1)
rm -f "$work/long.jsonl"
long_csv=$out/http-load-long.csv
echo "target_rps,duration,achieved_rps,requests,errors,latency_p50_ms,latency_p99_ms,latency_max_ms,lateness_p99_ms,lateness_max_ms,wall_s,user_s,sys_s,cpu_pct_of_one_core,peak_rss_kb,records_mb" > "$long_csv"
echo "$long_rate,$duration,$(jq -r '.responses / (.span_ns / 1e9) | floor' <<< "$s"),$(jq -r .count <<< "$s"),$(jq -r .errors <<< "$s"),$(ms "$(jq -r .latency_ns.p50 <<< "$s")"),$(ms "$(jq -r .latency_ns.p99 <<< "$s")"),$(ms "$(jq -r .latency_ns.max <<< "$s")"),$(ms "$(jq -r .lateness_ns.p99 <<< "$s")"),$(ms "$(jq -r .lateness_ns.max <<< "$s")"),$wall,$user,$sys,$(awk -v u="$user" -v s="$sys" -v w="$wall" 'BEGIN { printf "%.1f", 100 * (u + s) / w }'),$peak,$records_mb" >> "$long_csv"

{
    echo "# HTTP load generator against nginx, 2-host local testbed"
    echo
    echo "Machine: $(machine). Client, server and generator share these cores."
    echo
    echo "## Stepped open-loop rates ($step each, 2 s warm-up), and wrk: medians of $runs rounds"
    echo
    echo "| tool | target req/s | achieved req/s | latency p50 ms | latency p99 ms | latency max ms | lateness p50 ms | lateness p99 ms | lateness max ms | errors |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    tail -n +2 "$steps_csv" | awk -F, '{ printf "|"; for (i = 1; i <= NF; i++) printf " %s |", ($i == "" ? "-" : $i); print "" }'
    echo
    echo "Highest rate with send lateness p99 under 1 ms and no error: **$( [ "$sustained" -gt 0 ] && echo "$sustained req/s" || echo none of those tried)**."
    echo "Highest rate kept (achieved within 1 %, no error, lateness p99 under 10 ms): **$kept req/s**. $wrk2_note."
    echo
    echo "## Long run at $long_rate req/s for $duration"
    echo
    echo "| achieved req/s | requests | errors | latency p50 / p99 / max ms | lateness p99 / max ms | CPU user + sys s (% of one core) | peak RSS KiB | records MiB |"
    echo "|---|---|---|---|---|---|---|---|"
    tail -n 1 "$long_csv" | awk -F, '{ printf "| %s | %s | %s | %s / %s / %s | %s / %s | %s + %s (%s %%) | %s | %s |\n", $3, $4, $5, $6, $7, $8, $9, $10, $12, $13, $14, $15, $16 }'
    echo
    echo "RSS (KiB) every 10 s: $(tail -n +2 "$rss_csv" | cut -d, -f2 | paste -sd' ')"
    echo
    echo "CPU time so far (s, /proc/PID/stat) at the same samples: $(tail -n +2 "$rss_csv" | cut -d, -f3 | paste -sd' ')"
} > "$out/http-load.md"
# The tables of docs/performance.md. Milliseconds: 3 decimals below 1, then 3 significant
# digits (the maxima 1 decimal); counts in groups of three digits.
ms3() {
    if awk -v x="$1" 'BEGIN { exit !(x != "" && x >= 1000) }'; then thousands "$1"; return; fi
    awk -v x="$1" 'BEGIN { if (x == "") print "-"; else if (x < 1) printf "%.3f", x;
        else if (x < 10) printf "%.2f", x; else if (x < 100) printf "%.1f", x; else printf "%.0f", x }'
}
ms_max() { awk -v x="$1" 'BEGIN { if (x < 1) printf "%.3f", x; else printf "%.1f", x }'; }
{
    echo "| tool, target | achieved req/s | latency p50 / p99 ms | send lateness p50 / p99 ms | errors |"
    echo "|---|---|---|---|---|"
    while IFS=, read -r tool rate achieved p50 p99 _ late50 late99 _ errors; do
        case $tool in
            http-load)
                echo "| http-load, $(thousands "$rate") req/s | $(thousands "$achieved") | $(ms3 "$p50") / $(ms3 "$p99") | $(ms3 "$late50") / $(ms3 "$late99") | $(thousands "$errors") |" ;;
            wrk-closed-64)
                echo "| \`wrk -t2 -c64 -d10s\` (closed loop) | $(thousands "$achieved") | $(ms3 "$p50") / $(ms3 "$p99") | — | $(thousands "$errors") |" ;;
        esac
    done < <(tail -n +2 "$steps_csv")
} > "$out/table-steps.md"
IFS=, read -r _ _ achieved requests errors p50 p99 max late99 latemax _ user sys pct peak records_mb < <(tail -n 1 "$long_csv")
{
    echo "| achieved req/s | requests | errors | latency p50 / p99 / max ms | lateness p99 / max ms | CPU user + sys | peak RSS | records written |"
    echo "|---|---|---|---|---|---|---|---|"
    echo "| $(thousands "$achieved") | $(thousands "$requests") | $(thousands "$errors") | $(ms3 "$p50") / $(ms3 "$p99") / $(ms_max "$max") | $(ms3 "$late99") / $(ms_max "$latemax") | $(awk -v u="$user" -v s="$sys" -v p="$pct" 'BEGIN { printf "%.1f s + %.1f s = %.1f %% of one core", u, s, p }') | $(awk -v k="$peak" 'BEGIN { printf "%.1f MiB", k / 1024 }') | $records_mb MiB |"
} > "$out/table-long.md"
cat "$out/http-load.md"
echo; cat "$out/table-steps.md"; echo; cat "$out/table-long.md"
