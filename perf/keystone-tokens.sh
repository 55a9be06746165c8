#!/usr/bin/env bash
# Keystone across three sites 50 ms apart (round trip), as in docs/stacks/keystone.md (as root):
# scenarios/keystone-3sites.yaml with its shared database (one MariaDB next to paris's Keystone),
# and the same with `database: galera`, in the same run. From the client on paris, against each
# site's Keystone:
#   - `openstack token issue` (the whole client, start-up included), timed on the client;
#   - one raw token request (POST /v3/auth/tokens), timed on the client;
#   - validating a token (GET /v3/auth/tokens) at the site that issued it, once per site;
#   - the SQL statements an `openstack token issue` costs (the `Questions` counter of the database that
#     site's Keystone uses: paris's MariaDB for the shared layout, the site's own with Galera).
# Prints the median of RUNS requests of each kind per site (default 5).
# Usage: perf/keystone-tokens.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release -q -p enos-cli
enos=$(realpath "${CARGO_TARGET_DIR:-target}")/release/enos
work=$(mktemp -d /tmp/enos-keystone.XXXXXX)
trap 'cd /; for r in "$work"/r-*; do [ -d "$r" ] && "$enos" -q destroy --results "$r" >/dev/null 2>&1; done; rm -rf "$work"' EXIT

# Run on the client: for each site, RUNS timed CLI tokens and raw tokens, one line each:
# `<site> cli <seconds>` and `<site> raw <seconds>`.
client_script=$(cat <<SCRIPT
set -e
for site in paris nantes rennes; do
  . /root/admin-openrc \$site
  export SITE=\$site
  for i in \$(seq $runs); do
    export ROUND=\$i
    t0=\$(date +%s.%N); openstack token issue -f value -c id >/dev/null; t1=\$(date +%s.%N)
    echo "\$site cli \$(echo "\$t1 - \$t0" | bc)"
    python3 - <<'PY'
import json, os, time, urllib.request
body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": os.environ["OS_USERNAME"], "domain": {"name": os.environ["OS_USER_DOMAIN_NAME"]},
    "password": os.environ["OS_PASSWORD"]}}},
    "scope": {"project": {"name": os.environ["OS_PROJECT_NAME"],
    "domain": {"name": os.environ["OS_PROJECT_DOMAIN_NAME"]}}}}}
req = urllib.request.Request(os.environ["OS_AUTH_URL"] + "/auth/tokens", json.dumps(body).encode(),
    {"Content-Type": "application/json"})
t = time.monotonic()
token = urllib.request.urlopen(req).headers["X-Subject-Token"]
print(os.environ["SITE"], "raw", round(time.monotonic() - t, 3))
if os.environ["ROUND"] == "1":
    check = urllib.request.Request(os.environ["OS_AUTH_URL"] + "/auth/tokens",
        headers={"X-Auth-Token": token, "X-Subject-Token": token})
    t = time.monotonic()
    urllib.request.urlopen(check).read()
    print(os.environ["SITE"], "validate", round(time.monotonic() - t, 3))
PY
  done
done
SCRIPT
)

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }

for layout in shared galera; do
    r="$work/r-$layout"
    sed "s/database: shared/database: $layout/" scenarios/keystone-3sites.yaml > "$work/$layout.yaml"
    "$enos" -q deploy --no-validate --results "$r" "$work/$layout.yaml" >/dev/null
    # bc for the timings on the client (the stack does not install it).
    "$enos" -q exec --results "$r" --roles client -- \
        'DEBIAN_FRONTEND=noninteractive apt-get install -y -q bc >/dev/null' >/dev/null
    "$enos" -q exec --results "$r" --roles client -- "$client_script" \
        | grep -E '^[a-z]+ (cli|raw|validate) ' > "$work/$layout.t" || true
    # SQL statements per raw token request, at each site, counted by the database it uses.
    : > "$work/$layout.sql"
    for site in paris nantes rennes; do
        db=paris
        [ "$layout" = galera ] && db=$site
        for _ in $(seq "$runs"); do
            before=$("$enos" -q exec --results "$r" --sites "$db" --roles keystone -- "mariadb -Nse \"SHOW GLOBAL STATUS LIKE 'Questions'\"" | awk '$1 == "Questions" {print $2}')
            "$enos" -q exec --results "$r" --roles client -- \
                ". /root/admin-openrc $site && openstack token issue -f value -c id >/dev/null" >/dev/null
            after=$("$enos" -q exec --results "$r" --sites "$db" --roles keystone -- "mariadb -Nse \"SHOW GLOBAL STATUS LIKE 'Questions'\"" | awk '$1 == "Questions" {print $2}')
            echo "$site $((after - before - 1))" >> "$work/$layout.sql"
        done
    done
    "$enos" -q destroy --results "$r" >/dev/null
done

echo "== Keystone on 3 sites, 50 ms round trip between sites, median of $runs"
printf '%-8s %-7s %10s %10s %13s %8s\n' layout site "cli (s)" "raw (s)" "validate (s)" "SQL"
for layout in shared galera; do
    for site in paris nantes rennes; do
        cli=$(awk -v s="$site" '$1 == s && $2 == "cli" {print $3}' "$work/$layout.t" | median)
        raw=$(awk -v s="$site" '$1 == s && $2 == "raw" {print $3}' "$work/$layout.t" | median)
        validate=$(awk -v s="$site" '$1 == s && $2 == "validate" {print $3}' "$work/$layout.t" | median)
        sql=$(awk -v s="$site" '$1 == s {print $2}' "$work/$layout.sql" | median)
        printf '%-8s %-7s %10s %10s %13s %8s\n' "$layout" "$site" "$cli" "$raw" "$validate" "$sql"
    done
done
