#!/usr/bin/env bash
# Reliability of repeated use (docs/reliability.md), as root: CYCLES deploy/destroy cycles of
# scenarios/quickstart.yaml on the local provider. After each `enos destroy` it checks that
# nothing of the experiment is left on the machine:
#   - by the experiment's prefix, as the integration tests do (`traces_of`): no network namespace
#     `enos-<prefix>-*`, no link or live process naming the prefix, no /run/enos/<prefix> or
#     /var/lib/enos/<prefix>, no mount under them; also no route of its address block and no
#     nftables table naming it in the root namespace;
#   - whatever the names: no process started by the cycle's enos commands is alive (each command
#     runs in a cgroup of its own, which processes cannot leave by daemonising: it must be empty
#     after the destroy), and no new entry in /tmp, /run, /dev/shm, /run/enos, /var/lib/enos,
#     nor in the TMPDIR the enos commands were given (other experiments' directories in
#     /run/enos and /var/lib/enos are not counted).
# Kept on purpose, and not counted: the results directory of each cycle (under OUTDIR/results,
# with its state marked `destroyed`), /run/enos with its allocation lock, /var/lib/enos.
# It records each command's time and the peak memory of the `enos` process (`/usr/bin/time -f
# %M`: its largest resident set, and that of the children it waited for).
# Exits non-zero at the first cycle that leaves something (left in place for inspection), or when
# peak memory grows from cycle to cycle: the median of the last 5 cycles more than 10 % above
# that of the first 5 (the last and first half when there are fewer than 10), for deploy or
# destroy.
# Writes OUTDIR/cycles.csv, OUTDIR/cycles.md (a table per cycle and a summary), and
# OUTDIR/leftovers.txt when something is left.
# Usage: perf/cycles.sh [CYCLES] [OUTDIR]   (default 20 cycles, OUTDIR perf-out/cycles)
# The deploys shape the WAN without measuring it (`--no-validate`: a measurement outside its
# tolerance on a loaded machine would fail the deploy); VALIDATE=1 measures it too.
# Environment: SCENARIO (another local scenario), ENOS (an enos binary to use instead of a
# release build), IGNORE (an extended regular expression of file paths to leave out of the new
# entries, for a machine where others create files in /tmp meanwhile).
set -euo pipefail
cycles=${1:-20}
out=$(realpath -m "${2:-${PERF_OUT:-perf-out}/cycles}")
scenario=$(realpath "${SCENARIO:-$(dirname "$0")/../scenarios/quickstart.yaml}")
cd "$(dirname "$0")/.."
. perf/lib.sh
require jq ip ps find /usr/bin/time
enos_binary
mkdir -p "$out"
results=$out/results
validate=(--no-validate)
[ "${VALIDATE:-0}" = 1 ] && validate=()
work=$(mktemp -d /tmp/enos-cycles.XXXXXX)
mkdir "$work/tmp"

# A cgroup for the enos commands (pids controller of cgroup v1, or cgroup v2).
cgroup=
for root in /sys/fs/cgroup/pids /sys/fs/cgroup/unified /sys/fs/cgroup; do
    if [ -f "$root/cgroup.procs" ] && mkdir "$root/enos-cycles-$$" 2>/dev/null; then
        cgroup=$root/enos-cycles-$$
        break
    fi
done
[ -n "$cgroup" ] || echo "warning: no cgroup to follow enos's processes; processes are checked by prefix only" >&2

cleanup() {
    cd /
    # A cycle interrupted before its destroy: destroy it.
    if [ -e "$results/current/state.json" ] &&
        [ "$(jq -r .phase "$results/current/state.json")" != destroyed ]; then
        "$enos" -q destroy --results "$results" >/dev/null 2>&1 || true
    fi
    if [ -n "$cgroup" ] && ! rmdir "$cgroup" 2>/dev/null; then
        echo "kept $cgroup: processes of the run are left in it" >&2
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Runs `enos ARGS…` in the cgroup with TMPDIR in the work directory; sets $seconds and $peak_kb.
run_enos() {
    local t
    t=$(now)
    if ! (
        [ -z "$cgroup" ] || echo "$BASHPID" > "$cgroup/cgroup.procs"
        exec env TMPDIR="$work/tmp" /usr/bin/time -f %M -o "$work/rss" "$enos" -q "$@"
    ) > "$work/output" 2>&1; then
        echo "enos $* failed:" >&2
        cat "$work/output" >&2
        exit 1
    fi
    seconds=$(elapsed "$t")
    peak_kb=$(tail -n 1 "$work/rss")
}

# The entries of the places an experiment could leave files in (not the work directory itself).
files() {
    {
        for d in /tmp /run /dev/shm /run/enos /var/lib/enos /run/enos-tc; do
            [ -d "$d" ] && find "$d" -mindepth 1 -maxdepth 1 ! -path "$work"
        done
        find "$work/tmp" -mindepth 1
    } | sort
}
kept_on_purpose='^(/run/enos|/run/enos/\.alloc\.lock|/var/lib/enos)$'

# What is left of experiment PREFIX (address block CIDR), by name, as the tests look for it.
traces() {
    local prefix=$1 cidr=$2
    ip netns list | grep -F "enos-$prefix-" | sed 's/^/namespace: /' || true
    ip -o link show | grep -F "$prefix" | sed 's/^/link: /' || true
    ps -eo stat=,pid=,args= | awk -v p="$prefix" '$1 !~ /^Z/ && index($0, p) && !/ps -eo|awk -v p=/' |
        sed 's/^/process: /' || true
    for d in "/run/enos/$prefix" "/var/lib/enos/$prefix"; do
        [ -e "$d" ] && echo "directory: $d"
    done
    grep -F "/$prefix/" /proc/self/mountinfo | sed 's/^/mount: /' || true
    ip -4 route show table all | grep -F "$cidr" | sed 's/^/route: /' || true
    if command -v nft >/dev/null; then
        nft list tables 2>/dev/null | grep -F "$prefix" | sed 's/^/nftables: /' || true
    fi
}

# Processes still in the cgroup, after a short grace (a process may be exiting).
cgroup_processes() {
    [ -n "$cgroup" ] || return 0
    local pid pids
    for _ in $(seq 40); do
        # (cgroup files have no size: read them)
        pids=$(cat "$cgroup/cgroup.procs")
        [ -n "$pids" ] || return 0
        sleep 0.05
    done
    for pid in $pids; do
        echo "process (started by the cycle): $pid $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)"
    done
}

# The /20 address block of the local provider's block number N (198.18.0.0 + N * 4096).
block_cidr() {
    local a=$((198 * 16777216 + 18 * 65536 + $1 * 4096))
    echo "$((a >> 24)).$(((a >> 16) & 255)).$(((a >> 8) & 255)).$((a & 255))/20"
}

available_mb() { awk '/^MemAvailable:/{printf "%.0f", $2 / 1024}' /proc/meminfo; }

csv=$out/cycles.csv
echo "cycle,prefix,deploy_s,deploy_peak_kb,destroy_s,destroy_peak_kb,mem_available_mb,left" > "$csv"
rm -f "$out/leftovers.txt"
failures=()
for cycle in $(seq "$cycles"); do
    files > "$work/before"
    run_enos deploy "${validate[@]}" --results "$results" "$scenario"
    deploy_s=$seconds deploy_kb=$peak_kb
    env_dir=$(readlink -f "$results/current")
    prefix=$(jq -r .provider_state.prefix "$env_dir/state.json")
    cidr=$(block_cidr "$(jq -r .provider_state.block "$env_dir/state.json")")
    run_enos destroy --results "$results"
    destroy_s=$seconds destroy_kb=$peak_kb

    {
        traces "$prefix" "$cidr"
        cgroup_processes
        # (another experiment's directories, created meanwhile, are not this one's)
        files | comm -13 "$work/before" - | grep -Ev "$kept_on_purpose" |
            awk -v p="$prefix" '!/^\/(run|var\/lib)\/enos\/[a-z0-9]+$/ || $0 ~ ("/" p "$")' |
            { if [ -n "${IGNORE:-}" ]; then grep -Ev "$IGNORE"; else cat; fi; } |
            sed 's/^/file: /' || true
        phase=$(jq -r .phase "$env_dir/state.json")
        [ "$phase" = destroyed ] || echo "state: $env_dir/state.json says $phase"
    } > "$work/left"
    left=$(grep -c '' "$work/left" || true)
    echo "$cycle,$prefix,$deploy_s,$deploy_kb,$destroy_s,$destroy_kb,$(available_mb),$left" >> "$csv"
    printf 'cycle %2d  %-6s deploy %6.2f s %6.1f MB   destroy %5.2f s %6.1f MB   left %d\n' "$cycle" "$prefix" \
        "$deploy_s" "$(echo "$deploy_kb" | awk '{print $1 / 1024}')" \
        "$destroy_s" "$(echo "$destroy_kb" | awk '{print $1 / 1024}')" "$left"
    if [ "$left" -gt 0 ]; then
        { echo "cycle $cycle, experiment $env_dir (prefix $prefix), left in place:"; cat "$work/left"; } \
            | tee "$out/leftovers.txt" >&2
        failures+=("cycle $cycle left $left traces (see leftovers.txt)")
        break
    fi
done

# Peak memory growth: the median of the last K cycles against that of the first K.
done_cycles=$(($(grep -c '' "$csv") - 1))
k=$((done_cycles / 2))
[ "$k" -gt 5 ] && k=5
growth() { # COLUMN -> "first last percent" (KB, KB, %)
    local first last
    first=$(awk -F, -v c="$1" -v k="$k" 'NR > 1 && NR <= k + 1 {print $c}' "$csv" | median 0)
    last=$(tail -n "$k" "$csv" | cut -d, -f"$1" | median 0)
    echo "$first $last $(awk -v a="$first" -v b="$last" 'BEGIN {printf "%.1f", (b - a) * 100 / a}')"
}
mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
{
    echo "# $done_cycles deploy/destroy cycles of $(basename "$scenario")"
    echo
    echo "$(machine)"
    echo
    echo "| cycle | deploy (s) | deploy peak (MB) | destroy (s) | destroy peak (MB) | MemAvailable after (MB) | left |"
    echo "|---|---|---|---|---|---|---|"
    awk -F, 'NR > 1 {printf "| %d | %.2f | %.1f | %.2f | %.1f | %d | %d |\n", $1, $3, $4 / 1024, $5, $6 / 1024, $7, $8}' "$csv"
    echo
    echo "Medians: deploy $(awk -F, 'NR > 1 {print $3}' "$csv" | median 2) s," \
        "$(mb "$(awk -F, 'NR > 1 {print $4}' "$csv" | median 0)") MB; destroy $(awk -F, 'NR > 1 {print $5}' "$csv" | median 2) s," \
        "$(mb "$(awk -F, 'NR > 1 {print $6}' "$csv" | median 0)") MB."
    if [ "$k" -ge 1 ]; then
        for what in deploy:4 destroy:6; do
            read -r first last pct < <(growth "${what#*:}")
            echo "Peak memory of \`enos ${what%:*}\`, median of the first $k cycles $(mb "$first") MB, of the last $k $(mb "$last") MB ($pct %)."
            if awk -v a="$first" -v b="$last" 'BEGIN {exit !(b > a * 1.10)}'; then
                failures+=("peak memory of enos ${what%:*} grew by $pct %")
            fi
        done
    fi
    if [ "$left" -eq 0 ]; then
        echo "Nothing left after any of the $done_cycles destroys (by prefix, by cgroup, new files)."
    fi
    [ -n "$cgroup" ] || echo "Processes were checked by prefix only (no cgroup)."
    if [ ${#failures[@]} -eq 0 ]; then
        echo "Verdict: passed."
    else
        echo "Verdict: FAILED: $(printf '%s; ' "${failures[@]}" | sed 's/; $//')."
    fi
} > "$out/cycles.md"
cat "$out/cycles.md"
echo "raw: $csv"
[ ${#failures[@]} -eq 0 ]
