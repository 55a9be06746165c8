#!/usr/bin/python3
"""The scale peer of `enos deploy` in docs/performance.md: Mininet (Debian's 2.3) with Linux
bridges and no controller, laid out as enos lays out a local testbed: SITES bridges of
HOSTS_PER_SITE hosts each, joined by one core bridge. Mininet's hosts are bare network
namespaces with a shell: no sshd, no file system of their own.

Prints, as `name seconds`: `up` (build and start until every host's shell answers), `exec`
(`true` in every host's shell, one after the other, Mininet's way of running a command on all
hosts) and `down` (stop and remove everything).

Usage: perf/mininet-peer.py SITES HOSTS_PER_SITE   (as root)
"""
import sys
import time

from mininet.log import setLogLevel
from mininet.net import Mininet
from mininet.nodelib import LinuxBridge
from mininet.topo import Topo


class Sites(Topo):
    def build(self, sites=1, per=1):
        core = self.addSwitch("s0")
        for s in range(1, sites + 1):
            switch = self.addSwitch(f"s{s}")
            self.addLink(switch, core)
            for h in range(1, per + 1):
                self.addLink(self.addHost(f"h{s}x{h}"), switch)


def main():
    sites, per = int(sys.argv[1]), int(sys.argv[2])
    setLogLevel("error")
    start = time.monotonic()
    net = Mininet(topo=Sites(sites=sites, per=per), switch=LinuxBridge, controller=None,
                  autoSetMacs=True, waitConnected=False)
    net.start()
    print(f"up {time.monotonic() - start:.3f}", flush=True)
    start = time.monotonic()
    for host in net.hosts:
        host.cmd("true")
    print(f"exec {time.monotonic() - start:.3f}", flush=True)
    start = time.monotonic()
    net.stop()
    print(f"down {time.monotonic() - start:.3f}", flush=True)


if __name__ == "__main__":
    main()
