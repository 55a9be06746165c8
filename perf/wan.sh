#!/usr/bin/env bash
# WAN emulation benchmarks of docs/performance.md (as root, needs fping, iperf3, jq, bc):
#   1. fidelity: every ordered pair of scenarios/wan-three-sites.yaml, 500 probes each, then one
#      pair with 2 ms of jitter (the medians and p99 of the probes);
#   2. throughput, iperf3 TCP, the same host pair in the same run: through the userspace emulator
#      with no delay (a rate cap of 9gbit, so the pair is shaped), through the emulator with 1 ms
#      each way, through the fabric unshaped (veth, bridge, routed in the fabric, bridge, veth),
#      beside a bare veth pair between two namespaces;
#   3. CPU of the emulator while it forwards 10 000 packets/s (iperf3 UDP, 100-byte datagrams);
#   4. time of `enos tc apply` (no validation) for the 2256 directions of 48 hosts: the first
#      apply (the emulator is started in the fabric) and applying again.
# Every figure is the median of RUNS runs (default 3).
# Writes OUTDIR/table-fidelity.md, OUTDIR/table-throughput.md and OUTDIR/table-apply.md, the
# tables of docs/performance.md (the CPU and the jitter figures are printed, for its prose).
# Usage: perf/wan.sh [RUNS]
# Environment: PERF_OUT (OUTDIR is PERF_OUT/wan, default perf-out/wan), ENOS (an enos
# binary to use instead of a release build).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
out=$(realpath -m "${PERF_OUT:-perf-out}/wan")
. perf/lib.sh
enos_binary
mkdir -p "$out"
work=$(mktemp -d /tmp/enos-wan-perf.XXXXXX)
bare=bw$$
cleanup() {
    cd /
    "$enos" -q destroy --results "$work/r3" >/dev/null 2>&1 || true
    "$enos" -q destroy --results "$work/r48" >/dev/null 2>&1 || true
    ip netns del "$bare-a" 2>/dev/null || true
    ip netns del "$bare-b" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "== 1. fidelity (500 probes per ordered pair)"
"$enos" -q deploy --no-validate --results "$work/r3" scenarios/wan-three-sites.yaml
"$enos" tc validate --results "$work/r3" --probes 500 --interval 5
csv="$work/r3/current/wan/validation.csv"
echo "src,dst,asked_rtt_ms,median_ms,p99_ms"
cut -d, -f1,2,5,6,7 "$csv" | tail -n +2
cp "$csv" "$work/fidelity.csv"   # the jitter's validation below replaces it
"$enos" -q tc apply --results "$work/r3" --set 'paris->nice jitter=2ms' --no-validate >/dev/null
"$enos" -q tc validate --results "$work/r3" --probes 1000 --interval 5 >/dev/null || true
echo "with jitter 2ms on paris->nice (RTT asked 50 ms):"
grep '^paris-server-1,nice-server-1' "$csv" | cut -d, -f1,2,5,6,7

state="$work/r3/current/state.json"
prefix=$(jq -r .provider_state.prefix "$state")
ns() { ip netns exec "enos-$prefix-$1" "${@:2}"; }
server=$(jq -r '.testbed.hosts[] | select(.name == "paris-server-2") | .address' "$state")
pair='paris-server-1<->paris-server-2'

echo "== 2. throughput, iperf3 TCP 10 s, median of $runs"
ip netns add "$bare-a"; ip netns add "$bare-b"
ip -n "$bare-a" link add veth0 type veth peer name veth0 netns "$bare-b"
ip -n "$bare-a" addr add 10.251.0.1/24 dev veth0; ip -n "$bare-a" link set veth0 up
ip -n "$bare-b" addr add 10.251.0.2/24 dev veth0; ip -n "$bare-b" link set veth0 up
# Mbit/s of one 10 s iperf3 run from paris-server-1 to paris-server-2 (or between the bare pair).
tcp_host() {
    ns paris-server-2 iperf3 -s -1 -D -p 5301; sleep 0.3
    ns paris-server-1 iperf3 -c "$server" -p 5301 -t 10 -O 1 -J | jq '.end.sum_received.bits_per_second / 1e6'
}
tcp_bare() {
    ip netns exec "$bare-b" iperf3 -s -1 -D -p 5301; sleep 0.3
    ip netns exec "$bare-a" iperf3 -c 10.251.0.2 -p 5301 -t 10 -O 1 -J | jq '.end.sum_received.bits_per_second / 1e6'
}
for f in bare fabric emu0 emu1; do : > "$work/$f.t"; done
for _ in $(seq "$runs"); do
    tcp_bare >> "$work/bare.t"
    "$enos" -q tc apply --results "$work/r3" --set "$pair delay=0ms rate=10gbit" --no-validate >/dev/null
    tcp_host >> "$work/fabric.t"
    "$enos" -q tc apply --results "$work/r3" --set "$pair delay=0ms rate=9gbit" --no-validate >/dev/null
    tcp_host >> "$work/emu0.t"
    "$enos" -q tc apply --results "$work/r3" --set "$pair delay=1ms rate=10gbit" --no-validate >/dev/null
    tcp_host >> "$work/emu1.t"
done
echo "bare veth pair:                         $(median < "$work/bare.t") Mbit/s"
echo "fabric, unshaped (routed in the fabric): $(median < "$work/fabric.t") Mbit/s"
echo "userspace emulator, no delay:           $(median < "$work/emu0.t") Mbit/s"
echo "userspace emulator, 1 ms each way:      $(median < "$work/emu1.t") Mbit/s"

echo "== 3. emulator CPU at 10 000 packets/s (10 s), median of $runs"
pid=$(cat "/run/enos/$prefix/wan/emulator.pid")
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
: > "$work/cpu.t"; : > "$work/lost.t"
for _ in $(seq "$runs"); do
    ns paris-server-2 iperf3 -s -1 -D -p 5302; sleep 0.3
    before=$(ticks)
    ns paris-server-1 iperf3 -c "$server" -p 5302 -u -l 100 -b 8M -t 10 -J | jq '.end.sum.lost_percent' >> "$work/lost.t"
    after=$(ticks)
    echo "($after - $before) / $hz / 10 * 100" | bc -l >> "$work/cpu.t"
done
echo "emulator CPU: $(median < "$work/cpu.t") % of one core; datagrams lost: $(median < "$work/lost.t") %"
"$enos" -q destroy --results "$work/r3" >/dev/null

echo "== 4. enos tc apply on 48 hosts (2256 directions, no validation), median of $runs"
"$enos" -q deploy --no-validate --results "$work/r48" scenarios/bench-48.yaml >/dev/null
prefix48=$(jq -r .provider_state.prefix "$work/r48/current/state.json")
apply48() { "$enos" -q tc apply --results "$work/r48" --constraints perf/wan-48.yaml --no-validate >/dev/null; }
: > "$work/first.t"; : > "$work/again.t"
for _ in $(seq "$runs"); do
    # No emulator: the apply starts it (one TUN device in the fabric) and loads the marks.
    if [ -f "/run/enos/$prefix48/wan/emulator.pid" ]; then
        emu=$(cat "/run/enos/$prefix48/wan/emulator.pid")
        kill "$emu" 2>/dev/null || true
        while kill -0 "$emu" 2>/dev/null; do sleep 0.05; done
    fi
    t=$(now); apply48; elapsed "$t" >> "$work/first.t"
    # The same classes and rules to the running emulator, the same marks.
    t=$(now); apply48; elapsed "$t" >> "$work/again.t"
done
echo "first apply (starts the emulator): $(median < "$work/first.t") s"
echo "applying again:                    $(median < "$work/again.t") s"

# The tables of docs/performance.md.
# Fidelity: the pairs inside a site one by one; the pairs between two sites together, one row per
# pair of sites (a range where their figures differ).
python3 - "$work/fidelity.csv" > "$out/table-fidelity.md" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
def fig(values):
    v = sorted(float(x) for x in values if x != "")
    if not v:
        return "-"
    lo, hi = f"{v[0]:.2f}", f"{v[-1]:.2f}"
    return lo if lo == hi else f"{lo}–{hi}"
groups = {}
for r in rows:
    if r["src_site"] == r["dst_site"]:
        key = (r["src"], r["dst"])
    else:
        key = frozenset((r["src_site"], r["dst_site"]))
    groups.setdefault(key, []).append(r)
print("| pair | asked RTT | median | p99 |")
print("|---|---|---|---|")
# Inside sites first, then between sites, each in the order the validation lists them.
for key, g in sorted(groups.items(), key=lambda kv: not isinstance(kv[0], tuple)):
    if isinstance(key, tuple):
        label = f"{key[0]} → {key[1]}"
    else:
        a, b = g[0]["src_site"], g[0]["dst_site"]
        each = sum(1 for r in g if r["src_site"] == a)
        if each == 1 and len(g) == 2:
            label = f"{a} ↔ {b}"
        else:
            label = f"{a} → {b}, {b} → {a} ({each} pair{'s' if each > 1 else ''} each way)"
    print(f"| {label} | {fig(r['asked_rtt_ms'] for r in g)} | {fig(r['median_ms'] for r in g)} "
          f"| {fig(r['p99_ms'] for r in g)} |")
EOF
bare_mbit=$(median 4 < "$work/bare.t")
through() { # LABEL FILE
    local m
    m=$(median 4 < "$work/$2.t")
    echo "| $1 | $(thousands "$m") | $(ratio_sig2 "$m" "$bare_mbit") |"
}
{
    echo "| path | Mbit/s | ratio |"
    echo "|---|---|---|"
    echo "| bare veth pair between two namespaces | $(thousands "$bare_mbit") | 1 |"
    through "the fabric, unshaped (veth, bridge, routed in the fabric, bridge, veth)" fabric
    through "through the emulator, no delay (a 9gbit cap, so that the pair is shaped)" emu0
    through "through the emulator, 1 ms each way" emu1
} > "$out/table-throughput.md"
{
    echo "| apply | time |"
    echo "|---|---|"
    echo "| first: start the emulator with its one device in the fabric, load the marks (the emulator is stopped before each run) | $(median < "$work/first.t") s |"
    echo "| again: the same classes and rules to the running emulator, the same marks | $(median < "$work/again.t") s |"
} > "$out/table-apply.md"
for t in fidelity throughput apply; do cat "$out/table-$t.md"; echo; done
