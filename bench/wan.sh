#!/usr/bin/env bash
# WAN emulation benchmarks of docs/performance.md (as root, needs fping, iperf3, hyperfine):
#   1. fidelity: every ordered pair of scenarios/wan-three-sites.yaml, 500 probes each, then one
#      pair with 2 ms of jitter;
#   2. throughput: iperf3 through the userspace emulator (an unshaped-rate pair) beside a bare
#      veth pair between two namespaces, in the same run;
#   3. CPU of the emulator while it forwards 10 000 packets/s (iperf3 UDP, 100-byte datagrams);
#   4. time of `enos tc apply` (no validation) for the 2256 directions of 48 hosts.
# Usage: bench/wan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p enos-cli
enos=$PWD/target/release/enos
work=$(mktemp -d /tmp/enos-wan-bench.XXXXXX)
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
"$enos" -q tc apply --results "$work/r3" --set 'paris->nice jitter=2ms' --no-validate
"$enos" -q tc validate --results "$work/r3" --probes 1000 --interval 5 >/dev/null || true
echo "with jitter 2ms on paris->nice (RTT asked 50 ms):"
grep '^paris-server-1,nice-server-1' "$csv" | cut -d, -f1,2,5,6,7

echo "== 2. throughput, iperf3 TCP 10 s"
ns() { ip netns exec "enos-$(jq -r .provider_state.prefix "$work/r3/current/state.json")-$1" "${@:2}"; }
ns paris-server-2 iperf3 -s -1 -D -p 5301
sleep 0.3
emu=$(ns paris-server-1 iperf3 -c "$(jq -r '.testbed.hosts[1].address' "$work/r3/current/state.json")" -p 5301 -t 10 -O 1 -J | jq '.end.sum_received.bits_per_second')
ip netns add "$bare-a"; ip netns add "$bare-b"
ip -n "$bare-a" link add veth0 type veth peer name veth0 netns "$bare-b"
ip -n "$bare-a" addr add 10.251.0.1/24 dev veth0; ip -n "$bare-a" link set veth0 up
ip -n "$bare-b" addr add 10.251.0.2/24 dev veth0; ip -n "$bare-b" link set veth0 up
ip netns exec "$bare-b" iperf3 -s -1 -D -p 5301
sleep 0.3
veth=$(ip netns exec "$bare-a" iperf3 -c 10.251.0.2 -p 5301 -t 10 -O 1 -J | jq '.end.sum_received.bits_per_second')
printf "bare veth:          %8.0f Mbit/s\n" "$(echo "$veth / 1000000" | bc -l)"
printf "userspace emulator: %8.0f Mbit/s (1 ms each way)\n" "$(echo "$emu / 1000000" | bc -l)"

echo "== 3. emulator CPU at 10 000 packets/s (10 s)"
pid=$(cat /run/enos/"$(jq -r .provider_state.prefix "$work/r3/current/state.json")"/wan/emulator.pid)
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
ns paris-server-2 iperf3 -s -1 -D -p 5302
sleep 0.3
before=$(ticks)
ns paris-server-1 iperf3 -c "$(jq -r '.testbed.hosts[1].address' "$work/r3/current/state.json")" -p 5302 -u -l 100 -b 8M -t 10 -J \
    | jq -r '"sent \(.end.sum.packets) datagrams, lost \(.end.sum.lost_percent)%"'
after=$(ticks)
hz=$(getconf CLK_TCK)
echo "emulator CPU: $(echo "($after - $before) / $hz / 10 * 100" | bc -l | xargs printf '%.1f')% of one core"
"$enos" -q destroy --results "$work/r3" >/dev/null

echo "== 4. enos tc apply on 48 hosts (2256 directions, no validation)"
"$enos" -q deploy --results "$work/r48" scenarios/bench-48.yaml
start=$(date +%s.%N)
"$enos" -q tc apply --results "$work/r48" --constraints bench/wan-48.yaml --no-validate
echo "first apply (starts the emulator, 48 TUN devices, 2256 routes): $(echo "$(date +%s.%N) - $start" | bc | xargs printf '%.2f') s"
echo "applying again (new rules to the running emulator, routes already right):"
hyperfine --runs 5 --warmup 1 \
    "$enos -q tc apply --results $work/r48 --constraints bench/wan-48.yaml --no-validate"
