"""Ingress on a real node: a client outside reaches pods by host name, through the proxy.

The Superlet's IngressController runs with its event loop in the node's network
namespace (listening on the node's port 80, reaching pods over the bridge), its
informers on the API server; the pods run busybox httpd, each serving its own
name; the client is a host beyond the node's uplink (`outside`), asking
http://198.51.100.1/ with one Host or another.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections import Counter

import pytest
from netobjects import endpoint_slice, eventually, ingress, service
from proxykit import UPLINK_NODE

from supernetes.agent.ingress import IngressConfig, IngressController

pytestmark = [pytest.mark.root, pytest.mark.netns]

REQUESTS = r"""
import http.client, json, sys
address, host, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = []
for _ in range(count):
    try:
        c = http.client.HTTPConnection(address, 80, timeout=5)
        c.request("GET", "/", headers={"Host": host})
        r = c.getresponse()
        out.append([r.status, r.read().decode().strip()])
        c.close()
    except OSError as exc:
        out.append([0, str(exc)])
print(json.dumps(out))
"""


def requests(netns: str, host: str, count: int) -> list[tuple[int, str]]:
    result = subprocess.run(["nsenter", f"--net={netns}", sys.executable, "-c", REQUESTS,
                             UPLINK_NODE, host, str(count)],
                            capture_output=True, text=True, check=True, timeout=60)
    return [tuple(r) for r in json.loads(result.stdout)]


@pytest.fixture
def web_pods(pods, tmp_path):
    """Pods serving their own name over HTTP on port 8080: name -> pod IP."""
    stack = contextlib.ExitStack()
    made = {}

    def make(*names: str) -> dict[str, str]:
        for name in names:
            sandbox, network = pods(name)
            root = tmp_path / name
            root.mkdir()
            (root / "index.html").write_text(name + "\n")
            httpd = subprocess.Popen(["nsenter", f"--net={sandbox.ns_path('net')}",
                                      "busybox", "httpd", "-f", "-p", "8080", "-h",
                                      str(root)])
            stack.callback(httpd.wait)
            stack.callback(httpd.kill)
            made[name] = network.ip
        return made

    with stack:
        yield make


@pytest.fixture
def controller(client, node):
    c = IngressController(client, IngressConfig(netns=node.config.netns, port=80,
                                                status_addresses=(UPLINK_NODE,)))
    c.start()
    yield c
    c.stop()


def _backed_service(client, ns, name: str, ips: list[str]) -> None:
    client.create(service(name, ip="None"), ns)
    client.create(endpoint_slice(name, [{"ip": ip} for ip in ips],
                                 ports=(("http", 8080, "TCP"),)), ns)


def test_two_hosts_reach_two_services_spread_over_their_pods(
        client, ns, node, outside, web_pods, controller):
    ips = web_pods("alpha-0", "alpha-1", "beta-0", "beta-1")
    _backed_service(client, ns, "alpha", [ips["alpha-0"], ips["alpha-1"]])
    _backed_service(client, ns, "beta", [ips["beta-0"], ips["beta-1"]])
    client.create(ingress("web", [("alpha.test", "/", "Prefix", "alpha", 80),
                                  ("beta.test", "/", "Prefix", "beta", "http")]), ns)
    assert eventually(lambda: requests(outside, "alpha.test", 1)[0][0] == 200, timeout=15)
    alpha = Counter(requests(outside, "alpha.test", 10))
    beta = Counter(requests(outside, "beta.test", 10))
    assert alpha == {(200, "alpha-0"): 5, (200, "alpha-1"): 5}
    assert beta == {(200, "beta-0"): 5, (200, "beta-1"): 5}
    # a host no rule names
    assert requests(outside, "gamma.test", 1)[0][0] == 404
    # and the Ingress says where it is served
    lb = eventually(lambda: (client.get("networking.k8s.io/v1", "Ingress", "web", ns)
                             .get("status") or {}).get("loadBalancer", {}).get("ingress"))
    assert lb == [{"ip": UPLINK_NODE}]


def test_a_service_with_no_ready_endpoint_is_503(client, ns, node, outside, web_pods,
                                                  controller):
    ips = web_pods("lone-0")
    client.create(service("lone", ip="None"), ns)
    client.create(endpoint_slice("lone", [{"ip": ips["lone-0"], "ready": False}],
                                 ports=(("http", 8080, "TCP"),)), ns)
    client.create(ingress("lone", [("lone.test", "/", "Prefix", "lone", 80)]), ns)
    status, body = eventually(lambda: (r := requests(outside, "lone.test", 1)[0])[0] == 503
                              and r, timeout=15)
    assert "has no ready endpoint" in body
