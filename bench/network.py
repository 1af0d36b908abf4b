"""Benchmark of cluster networking on one node: Services through the proxy.

    .venv/bin/python bench/network.py [--quick] [--services 1000]      (as root)

Everything runs in network namespaces this script makes (a node with the agent's
NodeNetwork, pods wired by its PodNetworker), against a real `supernetes server`
on loopback, with the agent's service proxy in this process:

- connection rate through a Service's ClusterIP versus straight to the pod IP,
  measured in the same run: ApacheBench (`ab`, C, a new TCP connection per
  request) from a client pod to one backend pod, in pairs of back-to-back runs
  (the order flipped every pair), reporting the median rates and the median of
  the pairs' ratios. The pod runs two identical responders (two
  processes each): one on 8080 called directly, one on 8081 behind the Service,
  so the two kinds of connections never share a 4-tuple (and a conntrack entry)
  on the pod's side. Both go the same way but for the DNAT, so the ratio is the
  proxy's cost. Run with a table holding only that Service, and with
  `--services` more;
- time from an endpoint change written to the API to the rule being in the
  kernel (the API call returns -> `nft list chain` shows the new endpoint),
  p50/p99, with the small and the big table.

Targets (issue 8): VIP connection rate >= 0.9x direct, rule propagation p99 <= 1 s.
The numbers are printed, not asserted. Absolute rates depend on the machine;
compare the columns, measured in the same run on the same CPU.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))
from apiserverkit import ApiServer
from proxykit import endpoint, endpoint_slice, make_netns, remove_netns, service

from supernetes.agent.network import nft
from supernetes.agent.network.ipam import HostLocalIPAM
from supernetes.agent.network.node import NodeNetwork, NodeNetworkConfig
from supernetes.agent.network.pod import PodNetworker
from supernetes.agent.proxy import ProxyConfig, ServiceProxy, rules
from supernetes.agent.sandbox import Sandboxes
from supernetes.controlplane.client import Client

SLICE_PORTS = [{"name": "http", "port": 8081, "protocol": "TCP"}]

RESPONDER = r"""
import os, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(1024)
os.fork()                      # two processes accept on one socket (single-threaded here)
reply = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
while True:
    c, _ = s.accept()
    try:
        c.recv(4096)
        c.sendall(reply)
    except OSError:
        pass
    c.close()
"""


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def ab_rate(netns: str, url: str, requests: int, concurrency: int) -> float:
    out = subprocess.run(["nsenter", f"--net={netns}", "ab", "-q", "-n", str(requests),
                          "-c", str(concurrency), "-s", "10", url],
                         capture_output=True, text=True)
    match = re.search(r"Requests per second:\s+([\d.]+)", out.stdout)
    failed = re.search(r"Failed requests:\s+(\d+)", out.stdout)
    if not match or (failed and int(failed.group(1)) > 0):
        raise RuntimeError(f"ab {url} failed:\n{out.stdout[-800:]}{out.stderr[-800:]}")
    return float(match.group(1))


class Node:
    """A node namespace, two pods (backend, client), the API server and the proxy."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.netns = make_netns(tmp / "node.netns")
        self.network = NodeNetwork(NodeNetworkConfig(pod_cidr="10.244.7.0/24",
                                                     netns=self.netns))
        self.network.ensure()
        self.sandboxes = Sandboxes(str(tmp / "run"))
        self.networker = PodNetworker(self.network,
                                      HostLocalIPAM(str(tmp / "ipam"), "10.244.7.0/24"))
        self.pods: list[str] = []
        self.responders: list[subprocess.Popen] = []
        self.server = ApiServer(tmp / "server")
        (tmp / "server").mkdir()
        self.server.start()
        self.client = Client.from_kubeconfig(str(self.server.kubeconfig))
        self.proxy = ServiceProxy(self.client, ProxyConfig(node_name="bench", netns=self.netns,
                                                           min_sync_interval=0.05))

    def pod(self, name: str):
        uid = str(uuid.uuid4())
        sandbox = self.sandboxes.ensure(uid, hostname=name)
        self.pods.append(uid)
        return sandbox.ns_path("net"), self.networker.attach(uid, sandbox.ns_path("net")).ip

    def serve(self, netns: str, port: int) -> None:
        self.responders.append(subprocess.Popen(
            ["nsenter", f"--net={netns}", sys.executable, "-c", RESPONDER, str(port)],
            start_new_session=True))
        time.sleep(0.5)

    def close(self) -> None:
        self.proxy.stop()
        self.proxy.cleanup()
        for responder in self.responders:
            os.killpg(responder.pid, 9)
            responder.wait()
        self.client.close()
        self.server.stop()
        for uid in self.pods:
            self.networker.detach(uid)
            self.sandboxes.remove(uid)
        self.network.teardown()
        remove_netns(self.netns)


def add_services(node: Node, count: int) -> None:
    """`count` more Services with three endpoints each, as the endpoints controller writes."""
    node.client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fill"}})

    def one(i: int) -> None:
        node.client.create(service(f"s{i}", namespace="fill"), namespace="fill")
        eps = [endpoint(f"10.244.{8 + n}.{i % 250 + 2}") for n in range(3)]
        node.client.create(endpoint_slice(f"s{i}", eps, namespace="fill"), namespace="fill")

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(count)))


def wait_table(node: Node, predicate, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate(nft.list_table(*rules.TABLE, netns=node.netns)):
        if time.monotonic() > deadline:
            raise RuntimeError("the proxy never wrote the expected table")
        time.sleep(0.2)


def vip_versus_direct(node: Node, client_ns: str, vip: str, pod_ip: str, rounds: int,
                      requests: int) -> dict:
    """Pairs of back-to-back runs, the order flipped every pair (ABBA): the median of
    the pairs' ratios cancels the drift of a machine shared with other work."""
    direct_url, vip_url = f"http://{pod_ip}:8080/", f"http://{vip}/"
    ab_rate(client_ns, vip_url, requests // 4, 8)                  # warm up both paths
    ab_rate(client_ns, direct_url, requests // 4, 8)
    direct, through, ratios = [], [], []
    for i in range(rounds):
        if i % 2:
            v = ab_rate(client_ns, vip_url, requests, 8)
            d = ab_rate(client_ns, direct_url, requests, 8)
        else:
            d = ab_rate(client_ns, direct_url, requests, 8)
            v = ab_rate(client_ns, vip_url, requests, 8)
        direct.append(d)
        through.append(v)
        ratios.append(v / d)
    return {"direct conn/s": statistics.median(direct), "VIP conn/s": statistics.median(through),
            "VIP/direct": statistics.median(ratios)}


def propagation(node: Node, samples: int) -> dict:
    """Seconds from an EndpointSlice write returning to the kernel showing it."""
    chain = "svc-bench/web/tcp/http"
    latencies = []
    for i in range(samples):
        extra = f"10.244.20.{i % 200 + 2}"
        body = endpoint_slice("web", [endpoint(node.backend_ip), endpoint(extra)],
                              ports=SLICE_PORTS, namespace="bench")
        body["metadata"]["name"] = "web-slice"
        node.client.replace(body, namespace="bench")
        written = time.monotonic()
        while True:
            try:
                listing = nft._nft(["list", "chain", *rules.TABLE, chain], None, node.netns)
            except nft.RuleError:
                listing = ""
            if f"/{extra}/8081" in listing:
                break
            if time.monotonic() - written > 10:
                raise RuntimeError("an endpoint change took more than 10 s")
            time.sleep(0.002)           # leave the CPU to the proxy between looks
        latencies.append(time.monotonic() - written)
        time.sleep(0.05)
    return {"p50 ms": 1000 * percentile(latencies, 0.5),
            "p99 ms": 1000 * percentile(latencies, 0.99),
            "max ms": 1000 * max(latencies),
            "last sync ms": 1000 * node.proxy.last_sync_seconds}


def print_table(title: str, rows: dict[str, dict]) -> None:
    print(f"\n{title}")
    for name, values in rows.items():
        cells = "  ".join(f"{k}={v:,.2f}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in values.items())
        print(f"  {name:<28} {cells}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and samples")
    parser.add_argument("--services", type=int, default=1000,
                        help="Services in the big table (default: %(default)s)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/network.py: needs root (it makes network namespaces)", file=sys.stderr)
        return 1
    if shutil.which("ab") is None:
        print("bench/network.py: ab (apache2-utils) is needed", file=sys.stderr)
        return 1
    rounds, requests, samples = (4, 2000, 30) if args.quick else (16, 2000, 200)
    tmp = Path(tempfile.mkdtemp(prefix="bench-network-"))
    node = Node(tmp)
    try:
        backend_ns, node.backend_ip = node.pod("backend")
        client_ns, _ = node.pod("client")
        node.serve(backend_ns, 8080)
        node.serve(backend_ns, 8081)
        node.client.create({"apiVersion": "v1", "kind": "Namespace",
                            "metadata": {"name": "bench"}})
        vip = node.client.create(service("web", namespace="bench", ports=[
            {"name": "http", "port": 80, "targetPort": 8081, "protocol": "TCP"}]),
            namespace="bench")["spec"]["clusterIP"]
        body = endpoint_slice("web", [endpoint(node.backend_ip)], ports=SLICE_PORTS,
                              namespace="bench")
        body["metadata"]["name"] = "web-slice"
        node.client.create(body, namespace="bench")
        node.proxy.start()
        wait_table(node, lambda t: f"/{node.backend_ip}/8081" in t)
        rate, change = {}, {}
        rate["1 Service"] = vip_versus_direct(node, client_ns, vip, node.backend_ip, rounds,
                                              requests)
        change["1 Service"] = propagation(node, samples)
        # Back to one endpoint (the VIP rate is measured against one backend).
        body = endpoint_slice("web", [endpoint(node.backend_ip)], ports=SLICE_PORTS,
                              namespace="bench")
        body["metadata"]["name"] = "web-slice"
        node.client.replace(body, namespace="bench")
        started = time.monotonic()
        add_services(node, args.services)
        wait_table(node, lambda t: t.count("chain svc-fill/") >= args.services)
        big = f"{args.services + 1} Services"
        fill_seconds = time.monotonic() - started
        rate[big] = vip_versus_direct(node, client_ns, vip, node.backend_ip, rounds, requests)
        change[big] = propagation(node, samples)
        print_table("Connection rate, client pod -> one backend pod (ab, new connection "
                    "each)", rate)
        print_table("Endpoint change -> rule in the kernel", change)
        print(f"\n  ({args.services} Services and their slices written and proxied in "
              f"{fill_seconds:.1f} s)")
        print("\nTargets: VIP/direct >= 0.90, p99 <= 1000 ms")
    finally:
        node.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
