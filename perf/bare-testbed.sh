#!/usr/bin/env bash
# The peer of `enos deploy` in docs/performance.md: a bare shell script that creates the same
# namespaces, bridges and one sshd per host (no per-host file system), sequentially. Neighbours
# are written in advance on both sides (permanent entries), as enos does: past about 500 hosts,
# resolved ones overflow the kernel's neighbour table, which all namespaces share. Keys, key
# exchange and sshd's options are enos's too (P-256, no re-execution per connection): the two
# differ in what they build, not in what a connection costs.
# Usage: bare-testbed.sh up SITES HOSTS_PER_SITE DIR | down DIR
set -euo pipefail
P=bare
case "$1" in
up)
    sites=$2; per=$3; dir=$4
    mkdir -p "$dir" /run/sshd
    ssh-keygen -q -t ecdsa -b 256 -N '' -f "$dir/id" <<<y >/dev/null
    ssh-keygen -q -t ecdsa -b 256 -N '' -f "$dir/hostkey" <<<y >/dev/null
    ip netns add $P-fabric
    ip -n $P-fabric link set lo up
    ip netns exec $P-fabric sysctl -qw net.ipv4.ip_forward=1
    ip link add ${P}m type veth peer name mgmt netns $P-fabric
    ip addr add 198.19.128.1/30 dev ${P}m; ip link set ${P}m up
    ip -n $P-fabric addr add 198.19.128.2/30 dev mgmt; ip -n $P-fabric link set mgmt up
    ip route add 198.19.128.0/20 via 198.19.128.2 dev ${P}m
    : > "$dir/known_hosts"; : > "$dir/hosts"
    for s in $(seq 1 "$sites"); do
        ip -n $P-fabric link add ${P}b$s address 02:bb:00:00:$(printf %02x "$s"):01 type bridge
        ip -n $P-fabric addr add 198.19.$((128 + s)).1/24 dev ${P}b$s
        ip -n $P-fabric link set ${P}b$s up
        for h in $(seq 1 "$per"); do
            ns=$P-s$s-h$h; a=198.19.$((128 + s)).$((h + 1))
            ip netns add $ns
            mac=02:bb:00:00:$(printf %02x:%02x "$s" "$((h + 1))")
            ip -n $P-fabric link add ${P}p$s-$h type veth peer name eth0 address $mac netns $ns
            ip -n $P-fabric link set ${P}p$s-$h master ${P}b$s up
            ip -n $P-fabric neigh replace $a lladdr $mac dev ${P}b$s nud permanent
            ip -n $ns addr add $a/24 dev eth0; ip -n $ns link set eth0 up; ip -n $ns link set lo up
            ip -n $ns route add default via 198.19.$((128 + s)).1
            ip -n $ns neigh replace 198.19.$((128 + s)).1 lladdr 02:bb:00:00:$(printf %02x "$s"):01 dev eth0 nud permanent
            ip netns exec $ns /usr/sbin/sshd -r -o ListenAddress=$a -o HostKey="$dir/hostkey" \
                -o PidFile=none -o UsePAM=no -o AuthorizedKeysFile="$dir/id.pub" -o StrictModes=no \
                -o MaxStartups=512 -o MaxSessions=256
            echo "$a $(cut -d' ' -f1,2 "$dir/hostkey.pub")" >> "$dir/known_hosts"
            echo "$a" >> "$dir/hosts"
        done
    done
    # Wait until every host answers over SSH: an authenticated master connection per host, in
    # parallel, as enos opens them (no remote shell is started).
    for a in $(cat "$dir/hosts"); do
        (until ssh -o BatchMode=yes -o UserKnownHostsFile="$dir/known_hosts" -o StrictHostKeyChecking=yes \
            -o KexAlgorithms=ecdh-sha2-nistp256 -i "$dir/id" -o ControlMaster=yes \
            -o ControlPath="$dir/cm-%C" -o ControlPersist=60 -N -f root@$a 2>/dev/null; do sleep 0.01; done) &
    done
    wait
    ;;
down)
    dir=$2
    for ns in $(ip netns list | awk '{print $1}' | grep "^$P-"); do
        ip netns pids "$ns" | xargs -r kill -9
    done
    for c in "$dir"/cm-*; do [ -S "$c" ] && { ssh -o ControlPath="$c" -O exit x 2>/dev/null || true; }; done
    ip link del ${P}m 2>/dev/null || true
    for ns in $(ip netns list | awk '{print $1}' | grep "^$P-"); do ip netns del "$ns"; done
    rm -rf "$dir"
    ;;
*) echo "usage: $0 up SITES HOSTS_PER_SITE DIR | down DIR" >&2; exit 2 ;;
esac
