#!/usr/bin/env bash
# Deploy steps on 48 hosts, beside Ansible, in the same run (as root): a template rendered per
# host and a guarded command (perf/deploy-48.yaml and the same work in perf/deploy-48.yml).
#   - first apply: the files are removed from every host before each run;
#   - second apply: nothing to do (both tools check and skip).
# `enos deploy` is timed whole on an already deployed testbed (it also checks SSH, gathers facts
# and renders the plan); ansible-playbook runs over the same hosts, inventory and ssh_config.
# Usage: perf/deploy.sh [RUNS]   (default 5; prints medians)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release -q -p enos-cli
enos=$(realpath "${CARGO_TARGET_DIR:-target}")/release/enos
work=$(mktemp -d /tmp/enos-perf.XXXXXX)
trap 'cd /; "$enos" destroy --results "$work/results" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }
elapsed() { echo "$(now) - $1" | bc; }

cd perf
"$enos" -q deploy --results "$work/results" deploy-48.yaml >/dev/null
env_dir=$(readlink -f "$work/results/current")
inv=$env_dir/inventory/hosts.ini
reset() { "$enos" -q exec --results "$work/results" -- rm -rf /etc/bench >/dev/null; }
play() { ANSIBLE_HOST_KEY_CHECKING=True ansible-playbook -i "$inv" -f 48 deploy-48.yml >/dev/null; }
for f in enos-first ansible-first enos-second ansible-second; do : > "$work/$f.t"; done
for _ in $(seq "$runs"); do
    reset
    t=$(now); "$enos" -q deploy --results "$work/results" deploy-48.yaml >/dev/null; elapsed "$t" >> "$work/enos-first.t"
    t=$(now); "$enos" -q deploy --results "$work/results" deploy-48.yaml >/dev/null; elapsed "$t" >> "$work/enos-second.t"
    reset
    t=$(now); play; elapsed "$t" >> "$work/ansible-first.t"
    t=$(now); play; elapsed "$t" >> "$work/ansible-second.t"
done
echo "== template + guarded command on 48 hosts, median of $runs"
echo "enos deploy, first apply:       $(median < "$work/enos-first.t") s"
echo "ansible-playbook, first apply:  $(median < "$work/ansible-first.t") s"
echo "enos deploy, nothing to do:     $(median < "$work/enos-second.t") s"
echo "ansible-playbook, nothing to do: $(median < "$work/ansible-second.t") s"
