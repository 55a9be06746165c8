#!/usr/bin/env bash
# Benchmarks of docs/performance.md, peers side by side in the same run (as root):
#   1. bring-up of 3 sites x 16 hosts until every host answers over SSH:
#      `enos deploy scenarios/bench-48.yaml` beside perf/bare-testbed.sh (same namespaces, one
#      sshd per host, no per-host file system);
#      and their removal: `enos destroy` beside the bare script's `down`;
#   2. `true` on those 48 hosts: `enos exec` over its open connections beside
#      `ansible all -m command -a true -f 48` (defaults), `parallel-ssh -p 48` and `xargs -P 48 ssh`
#      (one ssh client per host over the ControlMaster connections of ssh_config), on the same hosts.
# Usage: perf/testbed.sh [RUNS]   (default 5; prints medians)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${1:-5}
cargo build --release -q -p enos-cli
enos=$(realpath "${CARGO_TARGET_DIR:-target}")/release/enos
work=$(mktemp -d /tmp/enos-perf.XXXXXX)
trap 'cd /; "$enos" destroy --results "$work/results" >/dev/null 2>&1 || true; bash "$root/perf/bare-testbed.sh" down "$work/bare" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }
elapsed() { echo "$(now) - $1" | bc; }

echo "== bring-up, 48 hosts, $runs runs"
: > "$work/bare.t"; : > "$work/enos.t"; : > "$work/bare-down.t"; : > "$work/enos-down.t"
for _ in $(seq "$runs"); do
    t=$(now); bash perf/bare-testbed.sh up 3 16 "$work/bare" >/dev/null; elapsed "$t" >> "$work/bare.t"
    t=$(now); bash perf/bare-testbed.sh down "$work/bare" >/dev/null; elapsed "$t" >> "$work/bare-down.t"
    t=$(now); "$enos" -q deploy --results "$work/results" scenarios/bench-48.yaml >/dev/null; elapsed "$t" >> "$work/enos.t"
    t=$(now); "$enos" -q destroy --results "$work/results" >/dev/null; elapsed "$t" >> "$work/enos-down.t"
done
echo "bare shell script up:   $(median < "$work/bare.t") s"
echo "enos deploy:            $(median < "$work/enos.t") s"
echo "bare shell script down: $(median < "$work/bare-down.t") s"
echo "enos destroy:           $(median < "$work/enos-down.t") s"

echo "== run true on 48 hosts, $runs runs"
"$enos" -q deploy --results "$work/results" scenarios/bench-48.yaml >/dev/null
env_dir=$(readlink -f "$work/results/current")
inv=$env_dir/inventory/hosts.ini
awk '/^[a-z]+-node-[0-9]+ /{print $1}' "$inv" | sort -u > "$work/hosts"
: > "$work/exec.t"; : > "$work/ansible.t"; : > "$work/pssh.t"; : > "$work/xargs.t"
"$enos" exec --results "$work/results" -- true >/dev/null   # connections open, as after deploy
for _ in $(seq "$runs"); do
    t=$(now); "$enos" exec --results "$work/results" -- true >/dev/null; elapsed "$t" >> "$work/exec.t"
    t=$(now); ANSIBLE_HOST_KEY_CHECKING=True ansible -i "$inv" all -m command -a true -f 48 >/dev/null; elapsed "$t" >> "$work/ansible.t"
    t=$(now); parallel-ssh -p 48 -h "$work/hosts" -x "-F $env_dir/ssh_config" true >/dev/null; elapsed "$t" >> "$work/pssh.t"
    t=$(now); xargs -P 48 -I{} ssh -F "$env_dir/ssh_config" {} true < "$work/hosts"; elapsed "$t" >> "$work/xargs.t"
done
echo "enos exec -- true:                 $(median < "$work/exec.t") s"
echo "ansible -m command -a true -f 48:  $(median < "$work/ansible.t") s"
echo "parallel-ssh -p 48 true:           $(median < "$work/pssh.t") s"
echo "xargs -P 48 ssh true:              $(median < "$work/xargs.t") s"
