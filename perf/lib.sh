# Helpers shared by perf/fanout-cold.sh, perf/copy.sh and perf/cycles.sh (sourced, from the
# repository's root).

# The enos binary: $ENOS when set, otherwise a release build (under CARGO_TARGET_DIR when set).
enos_binary() {
    if [ -n "${ENOS:-}" ]; then
        enos=$(realpath "$ENOS")
    else
        cargo build --release -q -p enos-cli
        enos=$(realpath "${CARGO_TARGET_DIR:-target}")/release/enos
    fi
    [ -x "$enos" ] || { echo "no enos binary at $enos" >&2; exit 1; }
}

now() { date +%s.%N; }
# Seconds since $1 (a `now`), to the millisecond.
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.3f", a - b }'; }
# The median of the numbers on standard input, with $1 decimals (default 2); "-" when none.
median() {
    sort -g | awk -v d="${1:-2}" '{a[NR]=$1} END {
        if (NR == 0) { print "-"; exit }
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "%.*f", d, m }'
}
# The values of column $2 of CSV file $1 on the rows whose column $3 is $4.
column_where() { awk -F, -v c="$2" -v k="$3" -v v="$4" 'NR > 1 && $k == v {print $c}' "$1"; }
# $1 / $2 with one decimal, "-" when either is missing or zero.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 == 0 || b + 0 == 0) print "-"; else printf "%.1f", a / b }'; }

# Refuses to run without what a script needs: root and the programs named.
require() {
    [ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
    local p missing=()
    for p in "$@"; do command -v "$p" >/dev/null || missing+=("$p"); done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "missing: ${missing[*]} (Debian: apt-get install -y pssh time jq)" >&2
        exit 1
    fi
}

# The machine this ran on, for the head of a results file.
machine() {
    echo "$(uname -sr), $(nproc) CPU, $(awk '/^MemTotal:/{printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
