#!/usr/bin/env bash
# Whole `enos deploy` of the example service scenarios on the local provider (as root), beside
# the same packages installed by hand, in the same run:
#   - enos deploy, first: a fresh testbed, the WAN shaped (not measured: --no-validate), then the
#     deploy section;
#   - enos deploy, second: right after, nothing to do;
#   - the peer: on a fresh testbed of the same scenario (deployed without its deploy section),
#     plain `apt-get install` of the packages the stacks install, on every host at once. Every
#     testbed has its own package cache, so both download the same packages through the proxy.
# Scenarios: scenarios/etcd-3sites.yaml, scenarios/keystone-3sites.yaml (shared database) and the
# same with `database: galera`. Prints medians of RUNS runs (default 3).
# Usage: perf/services.sh [RUNS] [SCENARIO…]   (SCENARIO: etcd, keystone-shared, keystone-galera)
# Writes OUTDIR/table-SCENARIO.md per scenario, the tables of docs/performance.md.
# Environment: PERF_OUT (OUTDIR is PERF_OUT/services, default perf-out/services), ENOS (an enos
# binary to use instead of a release build).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift || true
wanted=${*:-etcd keystone-shared keystone-galera}
out=$(realpath -m "${PERF_OUT:-perf-out}/services")
. perf/lib.sh
enos_binary
mkdir -p "$out"
work=$(mktemp -d /tmp/enos-services.XXXXXX)
trap 'cd /; for r in "$work"/r-*; do [ -d "$r" ] && "$enos" -q destroy --results "$r" >/dev/null 2>&1; done; rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m}'; }

# What each host of a scenario installs (the stacks' `packages` steps), as a shell `case`.
etcd_packages='case $(hostname) in
  *-etcd-*) p="etcd-server etcd-client";; *-client-*) p="etcd-client";; esac'
keystone_packages() { # $1: shared or galera
    local db='paris-keystone-1'
    [ "$1" = galera ] && db='*-keystone-1'
    echo "case \$(hostname) in
  $db) p=\"mariadb-server mariadb-client rsync keystone python3-pymysql uwsgi-core uwsgi-plugin-python3\";;
  *-keystone-1) p=\"keystone python3-pymysql mariadb-client uwsgi-core uwsgi-plugin-python3\";;
  *-client-*) p=\"python3-openstackclient\";; esac"
}

bench() { # $1: label, $2: scenario text, $3: the packages' case, $4: scenario file, $5: what
    # it is, $6: what its deploy does (for the table)
    local label=$1 scenario=$2 packages=$3
    printf '%s\n' "$scenario" > "$work/$label.yaml"
    sed '/^deploy:/,$d' "$work/$label.yaml" > "$work/$label-testbed.yaml"
    for f in first second testbed apt; do : > "$work/$label.$f"; done
    for _ in $(seq "$runs"); do
        t=$(now); "$enos" -q deploy --no-validate --results "$work/r-$label" "$work/$label.yaml" >/dev/null; elapsed "$t" >> "$work/$label.first"
        t=$(now); "$enos" -q deploy --no-validate --results "$work/r-$label" "$work/$label.yaml" >/dev/null; elapsed "$t" >> "$work/$label.second"
        "$enos" -q destroy --results "$work/r-$label" >/dev/null
        t=$(now); "$enos" -q deploy --no-validate --results "$work/r-$label-peer" "$work/$label-testbed.yaml" >/dev/null; elapsed "$t" >> "$work/$label.testbed"
        t=$(now)
        "$enos" -q exec --results "$work/r-$label-peer" -- \
            "$packages; export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q \$p >/dev/null" >/dev/null
        elapsed "$t" >> "$work/$label.apt"
        "$enos" -q destroy --results "$work/r-$label-peer" >/dev/null
    done
    local first second testbed apt
    first=$(median < "$work/$label.first") second=$(median < "$work/$label.second")
    testbed=$(median < "$work/$label.testbed") apt=$(median < "$work/$label.apt")
    printf '%-16s first %6s s   second %5s s   | peer: testbed and WAN %5s s + apt-get install %6s s\n' \
        "$label" "$first" "$second" "$testbed" "$apt"
    # The table of docs/performance.md.
    {
        echo "| \`$4\` ($5), median of $runs | seconds |"
        echo "|---|---|"
        echo "| \`enos deploy\`, first (testbed, WAN, packages, $6) | $first |"
        echo "| peer: the testbed and WAN alone, then \`apt-get install\` of the same packages | $testbed + $apt = $(awk -v a="$testbed" -v b="$apt" 'BEGIN { printf "%.1f", a + b }') |"
        echo "| \`enos deploy\`, second (nothing to do: 0 changed) | $second |"
    } > "$out/table-$label.md"
    cat "$out/table-$label.md"
}

echo "== services on the local provider, median of $runs"
for s in $wanted; do
    case $s in
    etcd) bench etcd "$(cat scenarios/etcd-3sites.yaml)" "$etcd_packages" \
        scenarios/etcd-3sites.yaml "etcd on 3 sites, a client" \
        "the cluster healthy, a write read back across sites" ;;
    keystone-shared) bench keystone-shared "$(cat scenarios/keystone-3sites.yaml)" "$(keystone_packages shared)" \
        scenarios/keystone-3sites.yaml "Keystone on 3 sites, one shared database" \
        "the database, Keystone on every site" ;;
    keystone-galera)
        bench keystone-galera "$(sed 's/database: shared/database: galera/' scenarios/keystone-3sites.yaml)" \
            "$(keystone_packages galera)" \
            "scenarios/keystone-3sites.yaml\` with \`database: galera" "Keystone on 3 sites, a Galera cluster" \
            "the Galera cluster, Keystone on every site" ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
    esac
done
