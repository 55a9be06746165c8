#!/usr/bin/env bash
# What one SSH master connection costs this machine, the figure behind the local provider's key
# and sshd choices (docs/performance.md): CPU (all processes, from /proc/stat) per connection of
# `ssh -M -f -N` to one sshd on loopback, for ed25519 keys with curve25519 key exchange (OpenSSH's
# own code) and P-256 keys with ecdh-sha2-nistp256 (OpenSSL's), each with sshd re-executing itself
# per connection (the default) and without (`sshd -r`). 60 connections per run.
# Usage: perf/ssh-connection.sh [RUNS]   (as root; default 3; medians)
# Writes OUTDIR/table.md, the table of docs/performance.md (OUTDIR: PERF_OUT/ssh-connection,
# default perf-out/ssh-connection).
set -euo pipefail
runs=${1:-3}
cd "$(dirname "$0")/.."
out=$(realpath -m "${PERF_OUT:-perf-out}/ssh-connection")
mkdir -p "$out"
work=$(mktemp -d /tmp/enos-ssh-perf.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f hk_ed; ssh-keygen -q -t ecdsa -b 256 -N '' -f hk_ec
ssh-keygen -q -t ed25519 -N '' -f id_ed; ssh-keygen -q -t ecdsa -b 256 -N '' -f id_ec
cat id_ed.pub id_ec.pub > authorized_keys; chmod 600 authorized_keys
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m}'; }
one_run() { # HOSTKEY IDKEY KEX SSHD_FLAG -> ms of CPU per connection
    cat > sshd_config <<CFG
ListenAddress 127.0.0.1
Port 2298
HostKey $work/$1
PidFile none
UsePAM no
PermitRootLogin prohibit-password
AuthorizedKeysFile $work/authorized_keys
StrictModes no
UseDNS no
MaxStartups 512:30:1024
CFG
    /usr/sbin/sshd -D -f "$work/sshd_config" $4 & pid=$!
    sleep 0.3
    local opts=(-F /dev/null -i "$work/$2" -o IdentitiesOnly=yes -o StrictHostKeyChecking=no
        -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o KexAlgorithms="$3" -p 2298)
    local before after
    before=$(busy)
    for i in $(seq 60); do ssh "${opts[@]}" -M -S "$work/s$i" -f -N root@127.0.0.1; done
    after=$(busy)
    for i in $(seq 60); do ssh -S "$work/s$i" -O exit x 2>/dev/null || true; done
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
    echo "($after - $before) * 1000 / $(getconf CLK_TCK) / 60" | bc -l
}
for variant in "hk_ed id_ed curve25519-sha256 -" "hk_ed id_ed curve25519-sha256 -r" \
               "hk_ec id_ec ecdh-sha2-nistp256 -" "hk_ec id_ec ecdh-sha2-nistp256 -r"; do
    read -r hk id kex flag <<<"$variant"
    [ "$flag" = - ] && flag=
    : > "$work/t"
    for _ in $(seq "$runs"); do one_run "$hk" "$id" "$kex" "$flag" >> "$work/t"; done
    printf '%-8s %-20s sshd %-3s %6s ms of CPU per connection\n' "${hk#hk_}" "$kex" "${flag:-}" "$(median < "$work/t")"
    echo "$kex ${flag:--} $(median < "$work/t")" >> "$work/medians"
done
# The table of docs/performance.md (which indents it in a list item).
ms() { awk -v k="$1" -v f="$2" '$1 == k && $2 == f { print $3 " ms" }' "$work/medians"; }
{
    echo "| keys and key exchange | sshd (re-executes) | \`sshd -r\` |"
    echo "|---|---|---|"
    echo "| ed25519, curve25519-sha256 | $(ms curve25519-sha256 -) | $(ms curve25519-sha256 -r) |"
    echo "| P-256, ecdh-sha2-nistp256 (what enos uses) | $(ms ecdh-sha2-nistp256 -) | $(ms ecdh-sha2-nistp256 -r) |"
} > "$out/table.md"
cat "$out/table.md"
