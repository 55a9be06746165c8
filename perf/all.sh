#!/usr/bin/env bash
# Regenerates every table of docs/performance.md (as root). Runs each `bash perf/SCRIPT.sh ARGS`
# line of the document's reproduce list (its first ```sh block), in that order, with those
# arguments; each script writes its tables under PERF_OUT/SCRIPT/ (table.md, table-PART.md).
# After each script that succeeds, perf/splice.py puts its tables between the document's
# <!-- perf:SCRIPT[:PART] --> … <!-- /perf:SCRIPT[:PART] --> markers; the prose around them is
# left alone (figures quoted in sentences are for a person to update from the script's output).
# A script that fails is reported and the others go on; the exit status is then 1. Each script's
# output is also kept in PERF_OUT/all/SCRIPT.log.
# Usage: perf/all.sh [--only SCRIPT[,SCRIPT…]] [--list] [--splice-only]
#   --only         only these scripts (perf/SCRIPT.sh), still in the document's order
#   --list         print what would run, run nothing
#   --splice-only  run nothing: splice the tables already under PERF_OUT into the document
# Environment: DOC (default docs/performance.md), PERF_OUT (default perf-out), and what each
# script reads (ENOS, CARGO_TARGET_DIR, …).
set -euo pipefail
cd "$(dirname "$0")/.."
doc=${DOC:-docs/performance.md}
export PERF_OUT
PERF_OUT=$(realpath -m "${PERF_OUT:-perf-out}")
only='' list='' splice_only=''
while [ $# -gt 0 ]; do
    case $1 in
        --only) only=${2:?--only needs SCRIPT[,SCRIPT…]}; shift 2 ;;
        --only=*) only=${1#--only=}; shift ;;
        --list) list=1; shift ;;
        --splice-only) splice_only=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ -f "$doc" ] || { echo "no $doc" >&2; exit 1; }

# The reproduce list: "SCRIPT ARGS…" lines, in order, from the first ```sh block of the document.
plan=$(awk '/^```sh$/ && !seen { inside = 1; seen = 1; next } inside && /^```/ { exit } inside' "$doc" |
    sed 's/[[:space:]]#.*$//' |
    awk '$1 == "bash" && $2 ~ /^perf\/[a-z0-9-]+\.sh$/ { s = $2; sub(/^perf\//, "", s); sub(/\.sh$/, "", s); $1 = ""; $2 = s; sub(/^ /, ""); print }' |
    awk '$1 != "all"')
[ -n "$plan" ] || { echo "$doc: no \`bash perf/SCRIPT.sh …\` line in its first \`\`\`sh block" >&2; exit 1; }
if [ -n "$only" ]; then
    for s in ${only//,/ }; do
        awk -v s="$s" '$1 == s { found = 1 } END { exit !found }' <<< "$plan" ||
            { echo "$s is not in $doc's reproduce list: $(awk '{print $1}' <<< "$plan" | paste -sd' ')" >&2; exit 2; }
    done
    plan=$(awk -v only=",$only," 'index(only, "," $1 ",")' <<< "$plan")
fi
while read -r script _; do
    [ -f "perf/$script.sh" ] || { echo "$doc names perf/$script.sh, which does not exist" >&2; exit 1; }
done <<< "$plan"
# The scripts whose tables the document marks.
marked() { grep -Eq "^[[:space:]]*<!-- perf:$1(:[a-z0-9-]+)? -->" "$doc"; }

if [ -n "$list" ]; then
    while read -r script args; do
        printf 'bash perf/%s.sh%s   # %s\n' "$script" "${args:+ $args}" \
            "$(marked "$script" && echo "tables spliced into $doc" || echo "no table in $doc")"
    done <<< "$plan"
    exit 0
fi
if [ -n "$splice_only" ]; then
    scripts=$(while read -r script _; do marked "$script" && echo "$script"; done <<< "$plan" | paste -sd,)
    [ -n "$scripts" ] || { echo "nothing to splice" >&2; exit 0; }
    exec python3 perf/splice.py --doc "$doc" --tables "$PERF_OUT" --only "$scripts"
fi

[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
# Refuse at once, not an hour later, when the document's markers are broken.
python3 perf/splice.py --doc "$doc" --tables "$PERF_OUT" --check --only "" >/dev/null
mkdir -p "$PERF_OUT/all"
failed=() done_=() unmarked=()
while read -r script args; do
    # shellcheck disable=SC2086 # the document's arguments, word-split as the shell would
    set -- $args
    echo "== $(date -u +%H:%M:%S) bash perf/$script.sh $*" >&2
    rm -f "$PERF_OUT/$script/table.md" "$PERF_OUT/$script"/table-*.md
    if bash "perf/$script.sh" "$@" < /dev/null 2>&1 | tee "$PERF_OUT/all/$script.log"; then
        if marked "$script"; then
            if python3 perf/splice.py --doc "$doc" --tables "$PERF_OUT" --only "$script"; then
                done_+=("$script")
            else
                failed+=("$script (its tables could not be spliced)")
            fi
        else
            unmarked+=("$script")
        fi
    else
        failed+=("$script (exit ${PIPESTATUS[0]}, see $PERF_OUT/all/$script.log)")
    fi
done <<< "$plan"
echo "== tables spliced into $doc: ${done_[*]:-none}" >&2
[ ${#unmarked[@]} -eq 0 ] ||
    echo "== ran, no table of theirs in $doc (their output: $PERF_OUT/all/): ${unmarked[*]}" >&2
if [ ${#failed[@]} -gt 0 ]; then
    printf '== failed: %s\n' "${failed[@]}" >&2
    exit 1
fi
