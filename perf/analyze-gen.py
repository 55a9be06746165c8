#!/usr/bin/env python3
"""A made-up experiment directory for perf/analyze.sh: what `enos analyze` reads, at scale.

Writes DIR/state.json (a destroyed local testbed: 3 sites, 2 clients and 1 server each),
DIR/bench/<stamp>/run.json and DIR/bench/<stamp>/web.jsonl: one `http` workload of 4 points
(open-loop rates 1000 to 8000 req/s, one repetition each), every client loading one server
(the i-th client that of the site i places after its own, so both same-site and cross-site
pairs), the records as `enos bench` writes them (docs/data.md): per host and point a
`start` line, its `request` lines interleaved with the other hosts', a `summary` line. N is the
number of request records (1 % of each host's point are warm-up). Latencies are lognormal around
the pair's round trip (0.2 ms inside a site, 10 to 100 ms between sites); 3 requests in 1024
answer 503 and 1 in 1024 times out after 5 s.

Python's standard library only, deterministic (seeded). Usage: analyze-gen.py N DIR
"""
import json
import math
import os
import random
import sys

RUN = "20261201-100000"
# 2026-12-01T10:00:00Z
ORIGIN_NS = 1_796_119_200_000_000_000
SITES = ["paris", "rennes", "nice"]
# Round trips between sites, ms (the WAN of scenarios/wan-three-sites.yaml).
RTT_MS = {
    ("paris", "paris"): 0.2, ("rennes", "rennes"): 0.2, ("nice", "nice"): 0.2,
    ("paris", "rennes"): 10.0, ("paris", "nice"): 50.0, ("rennes", "nice"): 100.0,
}
RATES = [1000, 2000, 4000, 8000]
TIMEOUT_NS = 5_000_000_000


def rtt(a, b):
    return RTT_MS.get((a, b)) or RTT_MS[(b, a)]


def hosts():
    """(name, site, role, address) of every host, in testbed order."""
    out = []
    for s, site in enumerate(SITES, start=1):
        out.append((f"{site}-server-1", site, "server", f"198.18.{s}.2"))
        for c in (1, 2):
            out.append((f"{site}-client-{c}", site, "client", f"198.18.{s}.{c + 2}"))
    return out


def state(testbed):
    scenario_sites = [
        {"name": site, "roles": [{"role": "server", "count": 1}, {"role": "client", "count": 2}]}
        for site in SITES
    ]
    return {
        "version": 1,
        "name": "analyze-perf",
        "created": "2026-12-01T09:59:00Z",
        "updated": "2026-12-01T10:30:00Z",
        "scenario": {
            "name": "analyze-perf",
            "provider": {"local": {}},
            "sites": scenario_sites,
            "network": {
                "default_delay": "0ms", "default_jitter": "0ms", "default_rate": "10gbit",
                "default_loss": "0%", "groups": None, "except": [], "constraints": [],
            },
        },
        "phase": "destroyed",
        "provider": "local",
        "provider_state": None,
        "testbed": {
            "hosts": [
                {"name": n, "site": s, "role": r, "address": a, "user": "root", "port": 22}
                for n, s, r, a in testbed
            ],
            "networks": [
                {"site": site, "cidr": f"198.18.{i}.0/24", "gateway": f"198.18.{i}.1"}
                for i, site in enumerate(SITES, start=1)
            ],
            "ssh": {
                "config": "ssh_config", "identity": "ssh/id_ecdsa",
                "known_hosts": "ssh/known_hosts", "control_dir": "/run/enos/perf/ssh",
            },
        },
        "history": [],
    }


def main():
    n, root = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(14)
    # Tables drawn from with random bits (much faster than a draw per record): the server's
    # time, lognormal (median 0.4 ms), and the sender's lateness, exponential (mean 20 us).
    service = [int(rng.lognormvariate(math.log(400_000), 0.6)) for _ in range(1 << 16)]
    lateness = [int(rng.expovariate(1 / 20_000)) for _ in range(1 << 12)]
    testbed = hosts()
    servers = {site: addr for _, site, role, addr in testbed if role == "server"}
    clients = [(name, site) for name, site, role, _ in testbed if role == "client"]
    os.makedirs(os.path.join(root, "bench", RUN), exist_ok=True)
    with open(os.path.join(root, "state.json"), "w") as f:
        json.dump(state(testbed), f, indent=1)

    per_point = [n // len(RATES) + (1 if p < n % len(RATES) else 0) for p in range(len(RATES))]
    path = os.path.join(root, "bench", RUN, "web.jsonl")
    with open(path, "w", buffering=1 << 22) as out:
        start_ns = ORIGIN_NS
        for point, rate in enumerate(RATES):
            count = per_point[point]
            head = (f'{{"v":1,"kind":"http","workload":"web","point":{point},"repeat":1,'
                    f'"params":{{"rate":"{rate}"}},')
            per_host = [count // len(clients) + (1 if i < count % len(clients) else 0)
                        for i in range(len(clients))]
            duration_s = max(per_host) / (rate / len(clients))
            targets = []
            for i, (name, site) in enumerate(clients):
                target = SITES[(SITES.index(site) + i) % len(SITES)]
                url = f"http://{servers[target]}:80/index.html"
                targets.append(int(rtt(site, target) * 1e6))
                out.write(head + json.dumps({
                    "host": name, "version": 1, "start_unix_ns": start_ns + i * 1000, "url": url,
                    "mode": "open", "steps": [{"rate": rate / len(clients), "duration_s": duration_s}],
                    "connections": 1000, "warmup_s": duration_s / 100, "duration_s": duration_s,
                    "requests": None, "timeout_s": 5.0, "http": "start"}, separators=(",", ":"))[1:] + "\n")
            # Requests, the hosts interleaved as their lines reach the stream.
            interval = [int(1e9 * len(clients) / rate)] * len(clients)
            prefix = [head + f'"host":"{name}",' for name, _ in clients]
            warm = [max(1, k // 100) for k in per_host]
            lines = []
            bits = rng.getrandbits
            for k in range(max(per_host)):
                for i in range(len(clients)):
                    if k >= per_host[i]:
                        continue
                    intended = k * interval[i]
                    r = bits(38)
                    sent = intended + lateness[r & 0xFFF]
                    u = r >> 28  # 0..1023
                    if u < 1:
                        latency, status, error, size = TIMEOUT_NS, "null", '"timeout"', 0
                    else:
                        latency = targets[i] + service[(r >> 12) & 0xFFFF]
                        status, error, size = ("503", "null", 0) if u < 4 else ("200", "null", 612)
                    lines.append(
                        f'{prefix[i]}"intended_ns":{intended},"sent_ns":{sent},"latency_ns":{latency},'
                        f'"status":{status},"error":{error},"bytes":{size},'
                        f'"warmup":{"true" if k < warm[i] else "false"},"http":"request"}}\n')
                if len(lines) >= 65536:
                    out.writelines(lines)
                    lines = []
            out.writelines(lines)
            for i, (name, _) in enumerate(clients):
                out.write(prefix[i] + f'"version":1,"count":{per_host[i]},"http":"summary"}}\n')
            start_ns += int((duration_s + 2) * 1e9)

    run = {
        "version": 1, "started": "2026-12-01T10:00:00Z", "ended": "2026-12-01T10:30:00Z",
        "status": "complete", "lost": [],
        "workloads": [{"name": "web", "points": len(RATES), "done": len(RATES),
                       "records": n + 2 * len(RATES) * len(clients), "file": "web.jsonl"}],
    }
    with open(os.path.join(root, "bench", RUN, "run.json"), "w") as f:
        json.dump(run, f, indent=1)
    print(path)


if __name__ == "__main__":
    main()
