#!/usr/bin/env bash
# Pushing one file to every host, peers side by side in the same run (as root): a file of random
# bytes (10 MB, new content every run) to the 48 hosts of scenarios/bench-48.yaml, on a testbed
# that is up (deployed once, untimed, before the runs):
#   - `enos deploy` of the same scenario with one `copy` step added (a first apply: the hosts
#     hold the previous run's content). The whole command is timed: it also checks SSH, gathers
#     facts and renders the plan, so each run also times the same command with a 16-byte file
#     in place of the 10 MB one; the copy's own cost is the difference. Then `enos deploy` again
#     with nothing to change (the content is sent and its SHA-256 checked on every host);
#     enos's peak memory (`/usr/bin/time -f %M`) for each;
#   - `xargs -P N scp -F ssh_config FILE HOST:…` over ssh_config's ControlMaster connections,
#     opened before the runs;
#   - `parallel-scp -p N -x "-F ssh_config"` over the same connections.
# N is the number of hosts. After each run, untimed, every host's three copies are checked
# against the file's SHA-256.
# Writes OUTDIR/copy.csv (every run), OUTDIR/copy.md (medians) and OUTDIR/table.md (the table
# of docs/performance.md).
# Usage: perf/copy.sh [RUNS] [OUTDIR]   (default 5 runs, OUTDIR perf-out/copy)
# Environment: SIZE_MB (default 10, in MiB), SCENARIO (another testbed, no deploy section), ENOS (an
# enos binary to use instead of a release build).
set -euo pipefail
runs=${1:-5}
out=$(realpath -m "${2:-${PERF_OUT:-perf-out}/copy}")
scenario=$(realpath "${SCENARIO:-$(dirname "$0")/../scenarios/bench-48.yaml}")
size_mb=${SIZE_MB:-10}
cd "$(dirname "$0")/.."
. perf/lib.sh
require jq parallel-scp scp ssh xargs sha256sum /usr/bin/time
enos_binary
mkdir -p "$out"
work=$(mktemp -d /tmp/enos-perf.XXXXXX)
trap 'cd /; "$enos" -q destroy --results "$work/results" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

if grep -q '^deploy:' "$scenario"; then
    echo "$scenario has a deploy section: give a testbed alone" >&2
    exit 2
fi
# The same testbed with one copy step; the file is next to the scenario, in the work directory.
with_copy() { # STEP FILE DEST
    cat "$scenario"
    printf '\ndeploy:\n  - name: %s\n    copy: {src: %s, dest: %s, mode: "0644"}\n' "$1" "$2" "$3"
}
with_copy payload payload.bin /root/payload.bin > "$work/copy.yaml"
with_copy small small.bin /root/small.bin > "$work/small.yaml"

"$enos" -q deploy --no-validate --results "$work/results" "$scenario" >/dev/null
env_dir=$(readlink -f "$work/results/current")
config=$env_dir/ssh_config
jq -r '.testbed.hosts[].name' "$env_dir/state.json" > "$work/hosts"
n=$(wc -l < "$work/hosts")
# ssh_config's own masters (ControlMaster auto, ControlPersist), for scp and parallel-scp.
xargs -P "$n" -I{} ssh -F "$config" {} true < "$work/hosts"

deploy() { # SCENARIO LABEL RUN: a timed `enos deploy`, with enos's peak memory
    local t
    t=$(now)
    /usr/bin/time -f %M -o "$work/rss" "$enos" -q deploy --no-validate --results "$work/results" "$1" >/dev/null
    echo "$3,$2,$(elapsed "$t"),$(tail -n 1 "$work/rss")" >> "$csv"
}

csv=$out/copy.csv
echo "run,tool,seconds,peak_rss_kb" > "$csv"
for run in $(seq "$runs"); do
    echo "run $run of $runs" >&2
    head -c $((size_mb * 1048576)) /dev/urandom > "$work/payload.bin"
    head -c 16 /dev/urandom > "$work/small.bin"
    sum=$(sha256sum < "$work/payload.bin" | cut -d' ' -f1)

    deploy "$work/small.yaml" enos-16-bytes "$run"
    deploy "$work/copy.yaml" enos-first "$run"
    deploy "$work/copy.yaml" enos-again "$run"
    t=$(now)
    xargs -P "$n" -I{} scp -q -F "$config" "$work/payload.bin" {}:/root/payload-scp.bin < "$work/hosts"
    echo "$run,xargs-scp,$(elapsed "$t")," >> "$csv"
    t=$(now)
    parallel-scp -p "$n" -h "$work/hosts" -x "-F $config" "$work/payload.bin" /root/payload-pscp.bin >/dev/null
    echo "$run,parallel-scp,$(elapsed "$t")," >> "$csv"

    good=$("$enos" -q exec --results "$work/results" -- \
        sha256sum /root/payload.bin /root/payload-scp.bin /root/payload-pscp.bin | grep -c "$sum" || true)
    if [ "$good" -ne $((3 * n)) ]; then
        echo "run $run: $good of $((3 * n)) copies hold the file's content" >&2
        exit 1
    fi
done

m() { column_where "$csv" 3 2 "$1" | median 2; }
mem() { column_where "$csv" 4 2 "$1" | median 0 | awk '{ if ($1 == "-") print "-"; else printf "%.0f MB", $1 / 1024 }'; }
# The copy's own cost: the median of each run's difference between the two enos deploys.
own=$(awk -F, 'NR > 1 && $2 == "enos-first" {f[$1] = $3} NR > 1 && $2 == "enos-16-bytes" {s[$1] = $3}
    END {for (r in f) print f[r] - s[r]}' "$csv" | median 2)
first=$(m enos-first)
# The table of docs/performance.md (times against the copy's own cost), also in copy.md under
# its heading.
{
    echo "| $size_mb MB to $n hosts | seconds | time / enos's | peak memory of enos |"
    echo "|---|---|---|---|"
    echo "| \`enos deploy\` with the copy step, new content (the whole command) | $first | | $(mem enos-first) |"
    echo "| \`enos deploy\` with a 16-byte file instead (SSH check, facts, plan, one step) | $(m enos-16-bytes) | | $(mem enos-16-bytes) |"
    echo "| the copy's own cost (the difference) | $own | 1 | |"
    echo "| \`enos deploy\` again, nothing to change (hashes compared, nothing sent) | $(m enos-again) | | $(mem enos-again) |"
    echo "| \`xargs -P $n scp\` over open ControlMaster connections | $(m xargs-scp) | $(ratio2 "$(m xargs-scp)" "$own") | |"
    echo "| \`parallel-scp -p $n\` over the same connections | $(m parallel-scp) | $(ratio2 "$(m parallel-scp)" "$own") | |"
} > "$out/table.md"
{
    echo "# A $size_mb MB file pushed to $n hosts (medians of $runs)"
    echo
    echo "$(basename "$scenario"), $(machine)"
    echo
    echo "The copy's own cost is the median of the runs' differences between the two first rows."
    echo
    cat "$out/table.md"
} > "$out/copy.md"
cat "$out/copy.md"
echo "raw: $csv"
