#!/usr/bin/env bash
# The scale benchmark of docs/performance.md, peers side by side in the same run (as root), at
# 48 (3 sites x 16), 200, 400 and 1000 hosts (10 sites):
#   - enos: `enos deploy` (no WAN) until every host answers over SSH; `enos exec -- true` over
#     the open connections; the WAN applied between every pair of sites (`enos tc apply
#     --constraints`, no measurement), then changed live (`--set`); `enos destroy`; the machine
#     memory each host takes (MemAvailable before and after the deploy); the time split of the
#     bring-up (the phases `enos deploy` records in logs/deploy-phases.json);
#   - `xargs -P 64 ssh -F ssh_config HOST true` on enos's own testbed, over the connections enos
#     keeps open (one ssh client per host: the practical limit of a tool that starts ssh);
#   - perf/bare-testbed.sh: the same namespaces, bridges and one sshd per host (no per-host file
#     system), sequentially, until every host answers over SSH (a master connection each); its
#     teardown;
#   - Mininet 2.3 (perf/mininet-peer.py: Linux bridges, no controller, bare namespaces with a
#     shell, no sshd and no file system per host): up, `true` in every host's shell, down.
# Neither peer can shape the WAN here: both would need netem, which this kernel lacks.
# Usage: perf/scale.sh [RUNS] [SIZES...]   (default 3 runs, sizes 48 200 400 1000; medians)
# Writes OUTDIR/table.md (every size and peer) and OUTDIR/table-phases.md (the bring-up's
# phases), the tables of docs/performance.md.
# Environment: PERF_OUT (OUTDIR is PERF_OUT/scale, default perf-out/scale), ENOS (an enos
# binary to use instead of a release build).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${1:-3}
shift || true
sizes=${*:-48 200 400 1000}
out=$(realpath -m "${PERF_OUT:-perf-out}/scale")
. perf/lib.sh
enos_binary
mkdir -p "$out"
work=$(mktemp -d /tmp/enos-scale.XXXXXX)
trap 'cd /; "$enos" destroy --results "$work/results" >/dev/null 2>&1 || true; bash "$root/perf/bare-testbed.sh" down "$work/bare" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

available_kb() { awk '/^MemAvailable:/{print $2}' /proc/meminfo; }

layout() { # SIZE -> "SITES PER_SITE"
    case $1 in 48) echo "3 16" ;; *) echo "10 $(($1 / 10))" ;; esac
}

scenario() { # SITES PER_SITE
    echo "name: scale$(($1 * $2))"
    echo "sites:"
    for s in $(seq 1 "$1"); do echo "  site$s: {roles: {node: $2}}"; done
}

constraints() { # SITES DELAY: every pair of sites, both ways
    echo "default_delay: 0ms"
    echo "constraints:"
    for a in $(seq 1 "$1"); do
        for b in $(seq $((a + 1)) "$1"); do
            echo "  - {src: site$a, dst: site$b, delay: $2, rate: 1gbit, symmetric: true}"
        done
    done
}

for size in $sizes; do
    read -r sites per < <(layout "$size")
    scenario "$sites" "$per" > "$work/s$size.yaml"
    constraints "$sites" 10ms > "$work/c$size.yaml"
    for t in up exec xargs wan change down mem bare-up bare-down mn-up mn-exec mn-down; do
        : > "$work/$size.$t"
    done
    : > "$work/$size.phases"
    for run in $(seq "$runs"); do
        sync; echo 3 > /proc/sys/vm/drop_caches
        before=$(available_kb)
        t=$(now); "$enos" -q deploy --results "$work/results" "$work/s$size.yaml" >/dev/null
        elapsed "$t" >> "$work/$size.up"
        echo "$(( (before - $(available_kb)) / size ))" >> "$work/$size.mem"
        env_dir=$(readlink -f "$work/results/current")
        python3 - "$env_dir/logs/deploy-phases.json" >> "$work/$size.phases" <<'EOF'
import json, sys
for p in json.load(open(sys.argv[1]))["phases"]:
    print(f'{p["title"]}\t{p["seconds"]:.3f}')
EOF
        t=$(now); "$enos" -q exec --results "$work/results" -- true >/dev/null
        elapsed "$t" >> "$work/$size.exec"
        awk '/^[a-z0-9]+-node-[0-9]+ /{print $1}' "$env_dir/inventory/hosts.ini" | sort -u > "$work/hosts"
        # ssh_config's own masters (ControlPath cm-%C) are opened by a first, untimed round.
        xargs -P 64 -I{} ssh -F "$env_dir/ssh_config" {} true < "$work/hosts"
        t=$(now); xargs -P 64 -I{} ssh -F "$env_dir/ssh_config" {} true < "$work/hosts"
        elapsed "$t" >> "$work/$size.xargs"
        t=$(now); "$enos" -q tc apply --results "$work/results" --no-validate --constraints "$work/c$size.yaml" >/dev/null
        elapsed "$t" >> "$work/$size.wan"
        t=$(now); "$enos" -q tc apply --results "$work/results" --no-validate --set 'site1<->site2 delay=50ms' >/dev/null
        elapsed "$t" >> "$work/$size.change"
        t=$(now); "$enos" -q destroy --results "$work/results" >/dev/null
        elapsed "$t" >> "$work/$size.down"

        t=$(now); bash perf/bare-testbed.sh up "$sites" "$per" "$work/bare" >/dev/null
        elapsed "$t" >> "$work/$size.bare-up"
        t=$(now); bash perf/bare-testbed.sh down "$work/bare" >/dev/null
        elapsed "$t" >> "$work/$size.bare-down"

        /usr/bin/python3 perf/mininet-peer.py "$sites" "$per" > "$work/mn.out"
        awk '$1=="up"{print $2}' "$work/mn.out" >> "$work/$size.mn-up"
        awk '$1=="exec"{print $2}' "$work/mn.out" >> "$work/$size.mn-exec"
        awk '$1=="down"{print $2}' "$work/mn.out" >> "$work/$size.mn-down"
    done
    echo "== $size hosts ($sites sites x $per), medians of $runs runs"
    printf '%-28s %8s %8s %8s\n' "" enos bare Mininet
    printf '%-28s %8s %8s %8s\n' "bring-up (s)" "$(median < "$work/$size.up")" "$(median < "$work/$size.bare-up")" "$(median < "$work/$size.mn-up")"
    printf '%-28s %8s %8s %8s\n' "true on every host (s)" "$(median < "$work/$size.exec")" - "$(median < "$work/$size.mn-exec")"
    printf '%-28s %8s\n' "  xargs -P 64 ssh, same hosts" "$(median < "$work/$size.xargs")"
    printf '%-28s %8s %8s %8s\n' "WAN apply, all site pairs (s)" "$(median < "$work/$size.wan")" - -
    printf '%-28s %8s %8s %8s\n' "WAN change, live (s)" "$(median < "$work/$size.change")" - -
    printf '%-28s %8s %8s %8s\n' "teardown (s)" "$(median < "$work/$size.down")" "$(median < "$work/$size.bare-down")" "$(median < "$work/$size.mn-down")"
    printf '%-28s %8s\n' "machine memory per host (MB)" "$(median < "$work/$size.mem" | awk '{printf "%.1f", $1 / 1024}')"
    echo "bring-up split (enos, medians):"
    cut -f1 "$work/$size.phases" | awk '!seen[$0]++' | while read -r phase; do
        printf '  %-24s %6s s\n' "$phase" "$(awk -F'\t' -v p="$phase" '$1==p{print $2}' "$work/$size.phases" | median)"
    done
done

# The tables of docs/performance.md: a column per size, 3 significant digits.
cell() { sig3 "$(median 4 < "$work/$1.$2")"; }
row() { # LABEL MEASURE [bold]
    local size line="| $1 |" v
    for size in $sizes; do
        v=$(cell "$size" "$2")
        [ "${3:-}" = bold ] && v="**$v**"
        line="$line $v |"
    done
    echo "$line"
}
header() { # TITLE
    local size line="| $1 |" rule="|---|"
    for size in $sizes; do line="$line $size |"; rule="$rule---|"; done
    echo "$line"; echo "$rule"
}
{
    header "seconds (medians of $runs)"
    row "**bring-up**, until every host answers over SSH: \`enos deploy\`" up bold
    row "bare script (same namespaces and sshds, no file system per host)" bare-up
    row "Mininet, bare namespaces (no sshd, no file system)" mn-up
    row "**\`true\` on every host**: \`enos exec -- true\` (open connections)" exec bold
    row "\`xargs -P 64 ssh -F ssh_config HOST true\` (same hosts, open connections)" xargs
    row "Mininet \`host.cmd(\"true\")\` on every host (a shell, no SSH)" mn-exec
    row "**WAN apply**, every pair of sites shaped: \`enos tc apply --constraints\`, no measurement" wan
    row "**WAN change** live: \`enos tc apply --set 'site1<->site2 delay=50ms'\`" change
    row "**teardown**: \`enos destroy\`" down bold
    row "bare script's \`down\`" bare-down
    row "Mininet \`net.stop()\`" mn-down
    line="| machine memory per host, enos (MemAvailable before and after the deploy) |"
    for size in $sizes; do
        line="$line $(median 0 < "$work/$size.mem" | awk '{printf "%.1f MB", $1 / 1024}') |"
    done
    echo "$line"
} > "$out/table.md"
# The phases enos records, named as the document explains them; any other phase by its title.
phase_label() {
    case $1 in
        "making SSH keys") echo "making SSH keys (in the \`enos\` process)" ;;
        "namespaces and links") echo "namespaces and links (two \`ip -batch\`)" ;;
        "host file systems") echo "host file systems (each host's upper layer)" ;;
        "starting hosts") echo "starting hosts (\`enos local-host\`: namespaces, mounts, \`exec sshd\`)" ;;
        "waiting for sshd") echo "waiting for sshd to listen (\`/proc/<pid>/net/tcp\`, no connection)" ;;
        connect) echo "connect: the first SSH handshake, one master per host" ;;
        *) echo "$1" ;;
    esac
}
{
    header phase
    for size in $sizes; do cut -f1 "$work/$size.phases"; done | awk '!seen[$0]++' | while read -r phase; do
        line="| $(phase_label "$phase") |"
        for size in $sizes; do
            line="$line $(sig3 "$(awk -F'\t' -v p="$phase" '$1==p{print $2}' "$work/$size.phases" | median 4)") |"
        done
        echo "$line"
    done
} > "$out/table-phases.md"
cat "$out/table.md"; echo; cat "$out/table-phases.md"
