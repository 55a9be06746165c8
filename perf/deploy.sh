#!/usr/bin/env bash
# Deploy steps on 48 hosts, beside Ansible, in the same run (as root): a template rendered per
# host and a guarded command (perf/deploy-48.yaml and the same work in perf/deploy-48.yml).
#   - first apply: the files are removed from every host before each run;
#   - second apply: nothing to do (both tools check and skip).
# `enos deploy` is timed whole on an already deployed testbed (it also checks SSH, gathers facts
# and renders the plan); ansible-playbook runs over the same hosts, inventory and ssh_config.
# Usage: perf/deploy.sh [RUNS]   (default 5; prints medians)
# Writes OUTDIR/table.md, the table of docs/performance.md.
# Environment: PERF_OUT (OUTDIR is PERF_OUT/deploy, default perf-out/deploy), ENOS (an enos
# binary to use instead of a release build).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
out=$(realpath -m "${PERF_OUT:-perf-out}/deploy")
. perf/lib.sh
enos_binary
mkdir -p "$out"
work=$(mktemp -d /tmp/enos-perf.XXXXXX)
trap 'cd /; "$enos" destroy --results "$work/results" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

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

# The table of docs/performance.md: 3 significant digits; how many times faster enos is.
n=$(awk '/^[a-z0-9]+-[a-z]+-[0-9]+ /{print $1}' "$inv" | sort -u | wc -l)
enos_first=$(median 4 < "$work/enos-first.t") enos_second=$(median 4 < "$work/enos-second.t")
ansible_first=$(median 4 < "$work/ansible-first.t") ansible_second=$(median 4 < "$work/ansible-second.t")
{
    echo "| $n hosts, median of $runs | first apply | nothing to do |"
    echo "|---|---|---|"
    echo "| \`enos deploy\` (whole command: SSH check, facts, plan, 2 steps) | $(sig3 "$enos_first") s | $(sig3 "$enos_second") s |"
    echo "| \`ansible-playbook -f 48\` (defaults) | $(sig3 "$ansible_first") s | $(sig3 "$ansible_second") s |"
    echo "| enos is | $(ratio_sig2 "$(sig3 "$ansible_first")" "$(sig3 "$enos_first")")× faster | $(ratio_sig2 "$(sig3 "$ansible_second")" "$(sig3 "$enos_second")")× faster |"
} > "$out/table.md"
cat "$out/table.md"
