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
# Writes OUTDIR/table-up.md and OUTDIR/table-fanout.md, the tables of docs/performance.md.
# Environment: PERF_OUT (OUTDIR is PERF_OUT/testbed, default perf-out/testbed), ENOS (an enos
# binary to use instead of a release build).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${1:-5}
out=$(realpath -m "${PERF_OUT:-perf-out}/testbed")
. perf/lib.sh
enos_binary
mkdir -p "$out"
work=$(mktemp -d /tmp/enos-perf.XXXXXX)
trap 'cd /; "$enos" destroy --results "$work/results" >/dev/null 2>&1 || true; bash "$root/perf/bare-testbed.sh" down "$work/bare" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

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

# The tables of docs/performance.md.
n=$(wc -l < "$work/hosts")
bare_up=$(median < "$work/bare.t") bare_down=$(median < "$work/bare-down.t")
enos_up=$(median < "$work/enos.t") enos_down=$(median < "$work/enos-down.t")
{
    echo "| $n hosts, median of $runs | up | down |"
    echo "|---|---|---|"
    echo "| bare shell script (same namespaces and sshds, no per-host file system) | $bare_up s | $bare_down s |"
    echo "| \`enos deploy\` / \`enos destroy\` | $enos_up s ($(ratio_sig2 "$enos_up" "$bare_up")×) | $enos_down s ($(ratio_sig2 "$enos_down" "$bare_down")×) |"
} > "$out/table-up.md"
exec_s=$(median < "$work/exec.t")
# How many times faster enos is than a peer taking $1 seconds.
faster() {
    if awk -v p="$1" -v e="$exec_s" 'BEGIN { exit !(p + 0 >= e + 0) }'; then
        echo "$(ratio_sig2 "$1" "$exec_s")× faster"
    else
        echo "$(ratio_sig2 "$exec_s" "$1")× slower"
    fi
}
{
    echo "| run \`true\` on $n hosts, median of $runs | seconds | enos is |"
    echo "|---|---|---|"
    echo "| \`enos exec -- true\` (native multiplexing over the open masters, no ssh process per host) | $exec_s | — |"
    echo "| \`xargs -P $n ssh -F ssh_config HOST true\` (one ssh client per host over the \`ControlMaster\` connections of \`ssh_config\`) | $(median < "$work/xargs.t") | $(faster "$(median < "$work/xargs.t")") |"
    echo "| \`parallel-ssh -p $n -x \"-F ssh_config\" true\` (same, through parallel-ssh) | $(median < "$work/pssh.t") | $(faster "$(median < "$work/pssh.t")") |"
    echo "| \`ansible -i hosts.ini all -m command -a true -f $n\` (defaults) | $(median < "$work/ansible.t") | $(faster "$(median < "$work/ansible.t")") |"
} > "$out/table-fanout.md"
cat "$out/table-up.md"; echo; cat "$out/table-fanout.md"
