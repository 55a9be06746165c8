# shellcheck shell=bash
# Helpers shared by the perf/*.sh scripts (sourced, from the repository's root).
# Every script writes its results under OUTDIR: the directory it is given, or
# ${PERF_OUT:-perf-out}/<script>.

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
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.3f\n", a - b }'; }
# The median of the numbers on standard input, with $1 decimals (default 2); "-" when none.
# shellcheck disable=SC2120 # (the decimals are optional)
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
# $1 / $2 with two decimals, "-" when either is missing or zero.
ratio2() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 == 0 || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }

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

# Markdown tables. Each script writes the tables docs/performance.md shows, exactly as shown
# there, to OUTDIR/table.md (or OUTDIR/table-PART.md when it has several); perf/splice.py puts
# them between the document's <!-- perf:SCRIPT[:PART] --> markers (perf/all.sh does both).
# $1 with 3 significant digits, but 2 decimals below 10: 0.09, 1.94, 24.2, 67.8, 128; "-" when
# missing.
sig3() {
    awk -v x="$1" 'BEGIN {
        if (x == "" || x == "-") { print "-"; exit }
        a = (x < 0) ? -x : x
        if (a < 10) printf "%.2f", x; else if (a < 100) printf "%.1f", x; else printf "%.0f", x }'
}
# $1 / $2 with 2 significant digits: 0.035, 0.59, 2.2, 89; "-" when either is missing or zero.
ratio_sig2() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a + 0 == 0 || b + 0 == 0) { print "-"; exit }
        r = a / b
        if (r >= 10) { printf "%.0f", r; exit }
        l = log(r) / log(10); f = (l < 0 && l != int(l)) ? int(l) - 1 : int(l)
        printf "%.*f", 1 - f, r }'
}
# The integer part of $1 with its digits in groups of three: 95 576, 6 000 000.
thousands() {
    awk -v x="$1" 'BEGIN {
        if (x == "" || x == "-") { print "-"; exit }
        s = sprintf("%.0f", x); sign = ""
        if (substr(s, 1, 1) == "-") { sign = "-"; s = substr(s, 2) }
        out = ""
        while (length(s) > 3) { out = " " substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
        print sign s out }'
}
