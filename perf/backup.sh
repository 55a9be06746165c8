#!/usr/bin/env bash
# Fetching every host's files home, peers side by side in the same run (as root): the 48 hosts
# of scenarios/bench-48.yaml (3 sites × 16, deployed once, untimed) each hold a file of random
# bytes (SIZE_MB, default 10 MiB, different on every host) under /var/log/enos/, written through
# the host with `enos exec`. Each run times, one after the other:
#   - `enos backup`, first (the copies of the previous run removed: every host lists its files
#     with their sizes and modification times, sends them as one tar stream through its open
#     SSH master, hosts in parallel; the copies are hashed as they are written here and recorded
#     in backup/manifest.json and SHA256SUMS);
#   - `enos backup` again, nothing changed on the hosts (listed again, nothing sent);
#     enos's peak memory (`/usr/bin/time -f %M`) for each;
#   - `scp -F ssh_config HOST:FILE`, one host after the other (a sequential loop), over
#     ssh_config's ControlMaster connections, opened before the runs;
#   - `xargs -P N scp` of the same, N the number of hosts, over the same connections;
#   - `parallel-slurp -p N -x "-F ssh_config"` (pssh's download tool: `parallel-scp` only
#     uploads) over the same connections. It runs `scp -qC`; compression is the master
#     connection's, which ssh_config leaves off, so -C changes nothing here;
# Every timed step starts after a `sync` (untimed), so that writing back the previous step's
# copies is not charged to it.
# Every tool fetches the same files (enos also fetches whatever else /var/log/enos and the metrics
# directory hold: nothing, here). After each fetch, untimed, every copy is checked against the
# SHA-256 of the host's file (and enos's with `sha256sum -c SHA256SUMS`), then the copies are
# removed (for enos: <experiment>/backup, before its first backup).
# Writes OUTDIR/backup.csv (every run), OUTDIR/backup.md (medians, ratios enos ÷ peer) and
# OUTDIR/table.md (the table of docs/performance.md).
# Usage: perf/backup.sh [OUTDIR]   (default OUTDIR perf-out/backup)
# Environment: RUNS (default 3), SIZE_MB (default 10, in MiB), SCENARIO (another testbed, no
# deploy section), ENOS (an enos binary to use instead of a release build).
set -euo pipefail
out=$(realpath -m "${1:-${PERF_OUT:-perf-out}/backup}")
runs=${RUNS:-3}
size_mb=${SIZE_MB:-10}
scenario=$(realpath "${SCENARIO:-$(dirname "$0")/../scenarios/bench-48.yaml}")
cd "$(dirname "$0")/.."
. perf/lib.sh
require jq parallel-slurp scp ssh xargs sha256sum /usr/bin/time
enos_binary
mkdir -p "$out"
work=$(mktemp -d /tmp/enos-perf.XXXXXX)
cleanup() {
    cd /
    "$enos" -q destroy --results "$work/results" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
trap "exit 143" INT TERM   # so that the cleanup runs when the script is stopped

if grep -q '^deploy:' "$scenario"; then
    echo "$scenario has a deploy section: give a testbed alone" >&2
    exit 2
fi
"$enos" -q deploy --no-validate --results "$work/results" "$scenario" >/dev/null
env_dir=$(readlink -f "$work/results/current")
config=$env_dir/ssh_config
jq -r '.testbed.hosts[].name' "$env_dir/state.json" > "$work/hosts"
n=$(wc -l < "$work/hosts")
file=/var/log/enos/perf-${size_mb}mb.bin
"$enos" -q exec --results "$work/results" -- \
    "mkdir -p /var/log/enos && head -c ${size_mb}M /dev/urandom > $file" >/dev/null
# ssh_config's own masters (ControlMaster auto, ControlPersist), for scp and parallel-slurp;
# then what each host's file should hash to: "HOST SHA256" lines.
xargs -P "$n" -I{} ssh -F "$config" {} true < "$work/hosts"
while read -r h; do
    echo "$h $(ssh -F "$config" "$h" sha256sum "$file" < /dev/null | cut -d' ' -f1)"
done < "$work/hosts" > "$work/sums"
total_bytes=$((n * size_mb * 1048576))

# Checks that DIR holds, for every host, a copy at DIR/<host><suffix> with the host's SHA-256.
check() { # LABEL DIR SUFFIX
    local h sum good=0
    while read -r h sum; do
        [ "$(sha256sum < "$2/$h$3" | cut -d' ' -f1)" = "$sum" ] && good=$((good + 1))
    done < "$work/sums"
    [ "$good" -eq "$n" ] || { echo "$1: $good of $n copies are right" >&2; exit 1; }
}
backup() { # LABEL RUN: a timed `enos backup`, with its peak memory and what it fetched
    local t
    sync
    t=$(now)
    /usr/bin/time -f %M -o "$work/rss" "$enos" -q backup --results "$work/results" >/dev/null
    local seconds
    seconds=$(elapsed "$t")
    local fetched
    fetched=$(jq '[.hosts[].fetched_bytes] | add' "$env_dir/backup/manifest.json")
    echo "$2,$1,$seconds,$(tail -n 1 "$work/rss"),$fetched" >> "$csv"
}
timed() { # LABEL RUN COMMAND...: a timed command
    local label=$1 run=$2 t
    shift 2
    sync
    t=$(now)
    "$@"
    echo "$run,$label,$(elapsed "$t"),," >> "$csv"
}
sequential_scp() {
    local h
    while read -r h; do
        scp -q -F "$config" "$h:$file" "$work/scp/$h" < /dev/null
    done < "$work/hosts"
}
parallel_scp() { xargs -P "$n" -I{} scp -q -F "$config" "{}:$file" "$work/xscp/{}" < "$work/hosts"; }
slurp() {
    parallel-slurp -p "$n" -h "$work/hosts" -x "-F $config" -L "$work/slurp" "$file" copy.bin >/dev/null
}

csv=$out/backup.csv
echo "run,tool,seconds,peak_rss_kb,fetched_bytes" > "$csv"
for run in $(seq "$runs"); do
    echo "run $run of $runs" >&2
    rm -rf "$env_dir/backup"
    backup enos-first "$run"
    (cd "$env_dir/backup" && sha256sum --quiet -c SHA256SUMS)
    check enos-first "$env_dir/backup" "$file"
    backup enos-again "$run"
    rm -rf "$env_dir/backup"

    rm -rf "$work/scp"; mkdir "$work/scp"
    timed scp-sequential "$run" sequential_scp
    check scp-sequential "$work/scp" ""
    rm -rf "$work/scp"

    rm -rf "$work/xscp"; mkdir "$work/xscp"
    timed xargs-scp "$run" parallel_scp
    check xargs-scp "$work/xscp" ""
    rm -rf "$work/xscp"

    rm -rf "$work/slurp"
    timed parallel-slurp "$run" slurp
    # parallel-slurp writes to LOCALDIR/<host>/copy.bin (LOCALDIR/<host>:<port>/ with a port).
    for d in "$work/slurp"/*:*; do [ -e "$d" ] && mv "$d" "${d%%:*}"; done
    check parallel-slurp "$work/slurp" /copy.bin
    rm -rf "$work/slurp"

done
fetched=$(column_where "$csv" 5 2 enos-first | median 0)
again=$(column_where "$csv" 5 2 enos-again | median 0)
[ "$fetched" -ge "$total_bytes" ] || { echo "enos backup fetched $fetched bytes of $total_bytes" >&2; exit 1; }
[ "$again" -eq 0 ] || { echo "enos backup fetched $again bytes the second time" >&2; exit 1; }

m() { column_where "$csv" 3 2 "$1" | median 2; }
mem() { column_where "$csv" 4 2 "$1" | median 0 | awk '{ if ($1 == "-") print "-"; else printf "%.0f MB", $1 / 1024 }'; }
rate() { awk -v s="$1" -v b="$total_bytes" 'BEGIN { if (s + 0 == 0) print "-"; else printf "%.0f", b / 1048576 / s }'; }
first=$(m enos-first)
# The table of docs/performance.md, also in backup.md.
{
    echo "| $n hosts × $size_mb MiB | seconds | MiB/s | enos's first ÷ this | peak memory of enos |"
    echo "|---|---|---|---|---|"
    echo "| \`enos backup\`, first (hosts list their files, one tar stream per host, copies hashed as written) | $first | $(rate "$first") | 1 | $(mem enos-first) |"
    echo "| \`enos backup\` again, nothing changed (sizes and times listed, nothing sent) | $(m enos-again) | | $(ratio2 "$first" "$(m enos-again)") | $(mem enos-again) |"
    echo "| \`scp\` over open ControlMaster connections, one host after the other | $(m scp-sequential) | $(rate "$(m scp-sequential)") | $(ratio2 "$first" "$(m scp-sequential)") | |"
    echo "| \`xargs -P $n scp\` over the same connections | $(m xargs-scp) | $(rate "$(m xargs-scp)") | $(ratio2 "$first" "$(m xargs-scp)") | |"
    echo "| \`parallel-slurp -p $n -x \"-F ssh_config\"\` over the same connections | $(m parallel-slurp) | $(rate "$(m parallel-slurp)") | $(ratio2 "$first" "$(m parallel-slurp)") | |"
} > "$out/table.md"
{
    echo "# Backup: $n hosts × $size_mb MiB fetched home (medians of $runs)"
    echo
    echo "$(basename "$scenario"), $(machine)"
    echo
    echo "$n × $size_mb MiB = $((total_bytes / 1048576)) MiB. enos's first backup fetched $fetched bytes (median), its second $again."
    echo
    cat "$out/table.md"
} > "$out/backup.md"
cat "$out/backup.md"
echo "raw: $csv"
