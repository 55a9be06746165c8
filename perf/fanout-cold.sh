#!/usr/bin/env bash
# Fan-out with no SSH connection open yet, peers side by side in the same run (as root): `true`
# on every host of scenarios/bench-48.yaml (3 sites x 16 hosts), each tool opening a new,
# authenticated connection per host:
#   - `enos exec -- true` after its masters were closed as `enos destroy` closes them (every
#     control socket asked to exit, the control directory removed): enos starts one master per
#     host, then runs `true` over them. The script checks that no master was left before, and
#     that the run opened one per host;
#   - `parallel-ssh -p N -x "-F ssh_config" -O ControlMaster=no -O ControlPath=none true`;
#   - `xargs -P N ssh -F ssh_config -o ControlMaster=no -o ControlPath=none HOST true`;
#   - for reference, `enos exec -- true` again right after, over the masters it just opened.
# N is the number of hosts. The same ssh_config, keys and known_hosts for all.
# Writes OUTDIR/fanout-cold.csv (every run), OUTDIR/fanout-cold.md (medians) and
# OUTDIR/table.md (the table of docs/performance.md).
# Usage: perf/fanout-cold.sh [RUNS] [OUTDIR]   (default 5 runs, OUTDIR perf-out/fanout-cold)
# Environment: SCENARIO (another testbed, no deploy section), ENOS (an enos binary to use
# instead of a release build).
set -euo pipefail
runs=${1:-5}
out=$(realpath -m "${2:-${PERF_OUT:-perf-out}/fanout-cold}")
scenario=$(realpath "${SCENARIO:-$(dirname "$0")/../scenarios/bench-48.yaml}")
cd "$(dirname "$0")/.."
. perf/lib.sh
require jq parallel-ssh ssh xargs
enos_binary
mkdir -p "$out"
work=$(mktemp -d /tmp/enos-perf.XXXXXX)
trap 'cd /; "$enos" -q destroy --results "$work/results" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

"$enos" -q deploy --no-validate --results "$work/results" "$scenario" >/dev/null
env_dir=$(readlink -f "$work/results/current")
config=$env_dir/ssh_config
control=$(jq -r .testbed.ssh.control_dir "$env_dir/state.json")
jq -r '.testbed.hosts[].name' "$env_dir/state.json" > "$work/hosts"
n=$(wc -l < "$work/hosts")

# The live ssh masters of the experiment: enos's (`ssh … -S <control dir>/… -M`), and any ssh
# left running with ssh_config (a master of its own ControlPath keeps its client's arguments).
masters() {
    ps -eo args= | awk -v d="$control/" -v c="$config" \
        '$1 == "ssh" && ((index($0, d) && / -M /) || index($0, c)) {n++} END {print n + 0}'
}
close_masters() {
    local socket
    if [ -d "$control" ]; then
        while IFS= read -r socket; do
            ssh -F /dev/null -o ControlPath="$socket" -O exit x >/dev/null 2>&1 || true
        done < <(find "$control" -maxdepth 2 -type s)
    fi
    for _ in $(seq 100); do [ "$(masters)" -eq 0 ] && break; sleep 0.05; done
    [ "$(masters)" -eq 0 ] || { echo "ssh masters still running after -O exit" >&2; exit 1; }
    rm -rf "$control"
}

csv=$out/fanout-cold.csv
echo "run,tool,seconds" > "$csv"
for run in $(seq "$runs"); do
    echo "run $run of $runs" >&2
    close_masters
    t=$(now); "$enos" -q exec --results "$work/results" -- true >/dev/null
    echo "$run,enos-cold,$(elapsed "$t")" >> "$csv"
    opened=$(masters)
    [ "$opened" -eq "$n" ] || { echo "enos exec opened $opened masters for $n hosts" >&2; exit 1; }
    t=$(now); "$enos" -q exec --results "$work/results" -- true >/dev/null
    echo "$run,enos-warm,$(elapsed "$t")" >> "$csv"

    close_masters
    t=$(now)
    parallel-ssh -p "$n" -h "$work/hosts" -x "-F $config" -O ControlMaster=no -O ControlPath=none true >/dev/null
    echo "$run,parallel-ssh,$(elapsed "$t")" >> "$csv"
    t=$(now)
    xargs -P "$n" -I{} ssh -F "$config" -o ControlMaster=no -o ControlPath=none {} true < "$work/hosts"
    echo "$run,xargs-ssh,$(elapsed "$t")" >> "$csv"
    [ "$(masters)" -eq 0 ] || { echo "a peer left a master behind" >&2; exit 1; }
done

m() { column_where "$csv" 3 2 "$1" | median 3; }
cold=$(m enos-cold)
# The table of docs/performance.md, also in fanout-cold.md under its heading.
{
    echo "| tool | seconds | time / enos's |"
    echo "|---|---|---|"
    echo "| \`enos exec -- true\`, masters closed first (opens one per host, then runs) | $cold | 1 |"
    echo "| \`parallel-ssh -p $n\`, new connections | $(m parallel-ssh) | $(ratio "$(m parallel-ssh)" "$cold") |"
    echo "| \`xargs -P $n ssh\`, new connections | $(m xargs-ssh) | $(ratio "$(m xargs-ssh)" "$cold") |"
    echo "| for reference: \`enos exec -- true\` again, over the masters it opened | $(m enos-warm) | $(ratio "$(m enos-warm)" "$cold") |"
} > "$out/table.md"
{
    echo "# \`true\` on $n hosts, no connection open yet (medians of $runs)"
    echo
    echo "$(basename "$scenario"), $(machine)"
    echo
    echo "New connections: \`-O ControlMaster=no -O ControlPath=none\` for parallel-ssh, \`-o ControlMaster=no -o ControlPath=none\` for ssh."
    echo
    cat "$out/table.md"
} > "$out/fanout-cold.md"
cat "$out/fanout-cold.md"
echo "raw: $csv"
