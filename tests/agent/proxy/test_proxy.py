"""The service proxy for real: a node namespace, pods, `supernetes server`, packets.

Each test makes Services and EndpointSlices through the API (as the endpoints
controller would), lets the proxy program the node, and then connects from pods,
from the node and from a host outside: the backends answer with their name and
the address the connection came from, so a test sees which endpoint served it
and whether the client's address survived.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections import Counter

import pytest
from proxykit import (
    NODE_NAME,
    UPLINK_NODE,
    UPLINK_OUTSIDE,
    Backend,
    dial,
    endpoint,
    endpoint_slice,
    in_netns,
    make_netns,
    remove_netns,
    service,
)

from supernetes.agent.network import nft
from supernetes.agent.proxy import ProxyConfig, ProxyError, ServiceProxy, rules
from supernetes.controlplane.client import NotFound

pytestmark = [pytest.mark.root, pytest.mark.netns]


# -- helpers ------------------------------------------------------------------------

def create_service(client, ns: str, name: str, **kw) -> dict:
    return client.create(service(name, namespace=ns, **kw), namespace=ns)


def set_endpoints(client, ns: str, name: str, endpoints: list[dict], ports=None) -> None:
    body = endpoint_slice(name, endpoints, ports=ports, namespace=ns)
    try:
        client.replace(body, namespace=ns)
    except NotFound:
        client.create(body, namespace=ns)


def kernel_table(netns: str) -> str:
    try:
        return nft.list_table(*rules.TABLE, netns=netns)
    except nft.RuleError:
        return ""


def wait_for_table(netns: str, predicate, timeout: float = 5.0, what: str = "") -> float:
    """Seconds until the kernel's table satisfies `predicate`."""
    started = time.monotonic()
    while not predicate(kernel_table(netns)):
        if time.monotonic() - started > timeout:
            raise AssertionError(f"the kernel's table never got {what} within {timeout} s:\n"
                                 f"{kernel_table(netns)}")
        time.sleep(0.01)
    return time.monotonic() - started


def names(answers: list[str]) -> Counter:
    return Counter(a.split()[0] for a in answers)


@pytest.fixture
def backends(pods):
    """Pods with a Backend each: name -> (sandbox, network)."""
    stack = contextlib.ExitStack()
    made = {}

    def make(*pod_names: str, port: int = 8080, udp: bool = False):
        for name in pod_names:
            sandbox, network = pods(name)
            stack.callback(Backend(sandbox.ns_path("net"), name, port, udp).close)
            made[name] = (sandbox, network)
        return made

    with stack:
        yield make


def ip_of(made: dict, name: str) -> str:
    return made[name][1].ip


def ep(ns: str, made: dict, name: str, port_path: str = "web/tcp/http", port: int = 8080) -> str:
    """The name of the endpoint chain of pod `name` in this test's Service."""
    return f"ep-{ns}/{port_path}/{ip_of(made, name)}/{port}"


def netns_of(made: dict, name: str) -> str:
    return made[name][0].ns_path("net")


# -- ClusterIP ----------------------------------------------------------------------------

def test_a_cluster_ip_reaches_only_ready_endpoints_spread_over_them_keeping_the_client(
        client, ns, node, pods, backends, proxy):
    made = backends("web-0", "web-1", "web-2", "web-3")
    caller, caller_net = pods("caller")
    vip = create_service(client, ns, "web")["spec"]["clusterIP"]
    set_endpoints(client, ns, "web", [endpoint(ip_of(made, f"web-{i}")) for i in range(3)]
                  + [endpoint(ip_of(made, "web-3"), ready=False)])
    wait_for_table(node.config.netns, lambda t: f"ep-{ns}/web/tcp/http/" in t, what="web")
    answers = dial(caller.ns_path("net"), vip, 80, count=60)
    assert names(answers).keys() == {"web-0", "web-1", "web-2"}, answers
    assert {a.split()[1] for a in answers} == {caller_net.ip}     # no SNAT between pods
    # The pods route everything through the node (each holds a /32), so a backend's
    # reply on the same bridge meets conntrack and is un-DNATed without any bridge
    # netfilter: the answers above came back from the VIP with it switched off.
    sysctl = subprocess.run(["nsenter", f"--net={node.config.netns}", "cat",
                             "/proc/sys/net/bridge/bridge-nf-call-iptables"],
                            capture_output=True, text=True, check=True)
    assert sysctl.stdout.strip() == "0"


def test_the_node_itself_reaches_a_cluster_ip(client, ns, node, backends, proxy):
    made = backends("web-0")
    vip = create_service(client, ns, "web")["spec"]["clusterIP"]
    set_endpoints(client, ns, "web", [endpoint(ip_of(made, "web-0"))])
    wait_for_table(node.config.netns, lambda t: f"svc-{ns}/web/tcp/http" in t, what="web")
    assert dial(node.config.netns, vip, 80) == ["web-0 10.244.7.1"]


def test_endpoint_changes_reach_the_kernel_within_a_second(client, ns, node, pods, backends,
                                                           proxy):
    made = backends("web-0", "web-1")
    caller, _ = pods("caller")
    vip = create_service(client, ns, "web")["spec"]["clusterIP"]
    set_endpoints(client, ns, "web", [endpoint(ip_of(made, "web-0"))])
    wait_for_table(node.config.netns, lambda t: ep(ns, made, "web-0") in t, what="web-0")
    assert names(dial(caller.ns_path("net"), vip, 80, count=5)) == {"web-0": 5}

    both = [endpoint(ip_of(made, "web-0")), endpoint(ip_of(made, "web-1"))]
    set_endpoints(client, ns, "web", both)                      # scale up
    took = wait_for_table(node.config.netns, lambda t: ep(ns, made, "web-1") in t,
                          what="the new endpoint")
    assert took < 1.0
    assert names(dial(caller.ns_path("net"), vip, 80, count=40)).keys() == {"web-0", "web-1"}

    set_endpoints(client, ns, "web", [endpoint(ip_of(made, "web-1"))])   # web-0 goes
    took = wait_for_table(node.config.netns, lambda t: ep(ns, made, "web-0") not in t,
                          what="web-0 gone")
    assert took < 1.0
    assert names(dial(caller.ns_path("net"), vip, 80, count=20)) == {"web-1": 20}


def test_a_service_without_ready_endpoints_refuses_at_once(client, ns, node, pods, backends,
                                                           proxy):
    made = backends("web-0")
    caller, _ = pods("caller")
    vip = create_service(client, ns, "web")["spec"]["clusterIP"]
    set_endpoints(client, ns, "web", [endpoint(ip_of(made, "web-0"), ready=False)])
    reject = f'{vip} . tcp . 80 comment "{ns}/web:http" : goto reject-chain'
    wait_for_table(node.config.netns, lambda t: reject in t, what="the reject")
    for source in (caller.ns_path("net"), node.config.netns):
        (answer,) = dial(source, vip, 80, timeout=5)
        assert answer.startswith("error: [Errno 111] Connection refused"), answer
        assert float(answer.rsplit(" ", 1)[1].rstrip("s")) < 1.0
    # An address of the range no Service has, and a port the Service does not serve:
    for address, port in (("10.111.254.254", 80), (vip, 81)):
        (answer,) = dial(caller.ns_path("net"), address, port, timeout=5)
        assert "Connection refused" in answer, (address, port, answer)


def test_client_ip_session_affinity_sticks_across_table_rewrites(client, ns, node, pods,
                                                                 backends, proxy):
    made = backends("web-0", "web-1", "web-2")
    caller, _ = pods("caller")
    vip = create_service(client, ns, "web", sessionAffinity="ClientIP",
                         sessionAffinityConfig={"clientIP": {"timeoutSeconds": 300}}
                         )["spec"]["clusterIP"]
    set_endpoints(client, ns, "web", [endpoint(ip_of(made, n)) for n in made])
    wait_for_table(node.config.netns, lambda t: t.count(f"ep-{ns}/web/tcp/http/") >= 3,
                   what="three endpoints")
    first = names(dial(caller.ns_path("net"), vip, 80, count=20))
    assert len(first) == 1, first
    # Something else changes: the table is rewritten, the client's endpoint is kept.
    create_service(client, ns, "other")
    wait_for_table(node.config.netns, lambda t: f'"{ns}/other' in t, what="other")
    assert names(dial(caller.ns_path("net"), vip, 80, count=20)).keys() == first.keys()


def test_a_pod_reaching_itself_through_its_service_is_masqueraded(client, ns, node, backends,
                                                                  proxy):
    made = backends("web-0")
    vip = create_service(client, ns, "web")["spec"]["clusterIP"]
    set_endpoints(client, ns, "web", [endpoint(ip_of(made, "web-0"))])
    wait_for_table(node.config.netns, lambda t: f"svc-{ns}/web/tcp/http" in t, what="web")
    assert dial(netns_of(made, "web-0"), vip, 80, count=3) == ["web-0 10.244.7.1"] * 3


def test_udp_flows_move_off_an_endpoint_that_was_removed(client, ns, node, pods, backends,
                                                         proxy):
    made = backends("dns-0", "dns-1", port=5353, udp=True)
    caller, _ = pods("caller")
    ports = [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 5353}]
    slice_ports = [{"name": "dns", "port": 5353, "protocol": "UDP"}]
    vip = create_service(client, ns, "dns", ports=ports)["spec"]["clusterIP"]
    set_endpoints(client, ns, "dns", [endpoint(ip_of(made, "dns-0"))], ports=slice_ports)
    dns_0 = ep(ns, made, "dns-0", "dns/udp/dns", 5353)
    wait_for_table(node.config.netns, lambda t: dns_0 in t, what="dns-0")
    # One client port, as a resolver's long-lived socket: one conntrack entry.
    first = dial(caller.ns_path("net"), vip, 53, udp=True, source_port=40000)
    assert names(first) == {"dns-0": 1}, first
    set_endpoints(client, ns, "dns", [endpoint(ip_of(made, "dns-1"))], ports=slice_ports)
    wait_for_table(node.config.netns, lambda t: dns_0 not in t, what="dns-0 gone")
    deadline = time.monotonic() + 2
    while True:     # the conntrack cleanup follows the table write
        answer = dial(caller.ns_path("net"), vip, 53, udp=True, source_port=40000)
        if names(answer) == {"dns-1": 1} or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert names(answer) == {"dns-1": 1}, answer


# -- NodePort and external traffic ----------------------------------------------------------

def test_a_node_port_is_served_on_the_node_address_to_a_host_outside(client, ns, node, pods,
                                                                     backends, outside,
                                                                     proxy):
    made = backends("web-0")
    caller, _ = pods("caller")
    svc = create_service(client, ns, "web", kind="NodePort")
    node_port = svc["spec"]["ports"][0]["nodePort"]
    set_endpoints(client, ns, "web", [endpoint(ip_of(made, "web-0"))])
    wait_for_table(node.config.netns, lambda t: f"ext-{ns}/web/tcp/http" in t, what="web")
    # From outside: masqueraded (externalTrafficPolicy Cluster), so the reply comes back.
    assert dial(outside, UPLINK_NODE, node_port) == ["web-0 10.244.7.1"]
    # From a pod, to the node's address: it is the node's port there too.
    assert dial(caller.ns_path("net"), UPLINK_NODE, node_port)[0].startswith("web-0 ")
    # A node port nobody serves is refused, not silently dropped.
    set_endpoints(client, ns, "web", [])
    reject = f'tcp . {node_port} comment "{ns}/web:http" : goto reject-chain'
    wait_for_table(node.config.netns, lambda t: reject in t, what="the reject")
    assert "Connection refused" in dial(outside, UPLINK_NODE, node_port, timeout=5)[0]


def test_local_traffic_policy_keeps_the_outside_clients_address(client, ns, node, backends,
                                                                outside, proxy):
    made = backends("web-0")
    svc = create_service(client, ns, "web", kind="NodePort", externalTrafficPolicy="Local")
    node_port = svc["spec"]["ports"][0]["nodePort"]
    set_endpoints(client, ns, "web", [endpoint(ip_of(made, "web-0"), node=NODE_NAME)])
    wait_for_table(node.config.netns, lambda t: f"ext-{ns}/web/tcp/http" in t, what="web")
    assert dial(outside, UPLINK_NODE, node_port) == [f"web-0 {UPLINK_OUTSIDE}"]


def test_external_and_load_balancer_addresses_serve_the_service_port(client, ns, node, backends,
                                                                     outside, proxy):
    made = backends("web-0")
    create_service(client, ns, "web", kind="LoadBalancer")
    set_endpoints(client, ns, "web", [endpoint(ip_of(made, "web-0"))])
    client.resource("v1", "Service").patch(
        "web", {"status": {"loadBalancer": {"ingress": [{"ip": UPLINK_NODE}]}}}, ns,
        patch_type="merge", subresource="status")
    lb = f'{UPLINK_NODE} . tcp . 80 comment "{ns}/web:http"'
    # The LB address may be programmed before the endpoint (it then rejects): wait for both.
    backend = ip_of(made, "web-0")
    wait_for_table(node.config.netns, lambda t: lb in t and backend in t, what="LB IP")
    assert dial(outside, UPLINK_NODE, 80) == ["web-0 10.244.7.1"]


def test_headless_services_get_no_rules(client, ns, node, backends, proxy):
    made = backends("web-0")
    create_service(client, ns, "headless", cluster_ip="None")
    set_endpoints(client, ns, "headless", [endpoint(ip_of(made, "web-0"))])
    create_service(client, ns, "marker")                       # a change after it
    wait_for_table(node.config.netns, lambda t: f'"{ns}/marker' in t, what="marker")
    assert f"{ns}/headless" not in kernel_table(node.config.netns)


# -- what the proxy owns -------------------------------------------------------------------------

def test_a_restarted_proxy_leaves_nothing_stale_and_removes_rules_it_does_not_own(
        client, ns, node, backends, proxy_config):
    made = backends("web-0")
    netns = node.config.netns
    first = ServiceProxy(client, proxy_config)
    first.start()
    try:
        create_service(client, ns, "gone")
        create_service(client, ns, "kept")
        set_endpoints(client, ns, "gone", [endpoint(ip_of(made, "web-0"))])
        wait_for_table(netns, lambda t: f"svc-{ns}/gone/" in t and f'"{ns}/kept' in t,
                       what="both services")
    finally:
        first.stop()
    # While no proxy runs: a Service goes, and someone adds rules in our tables.
    client.delete("v1", "Service", "gone", ns)
    script = ("add chain ip supernetes-proxy intruder\n"
              "add rule ip supernetes-proxy services ip daddr 10.96.99.99 drop\n"
              "add table ip supernetes-proxy-old\n")
    subprocess.run(["nsenter", f"--net={netns}", "nft", "-f", "-"], input=script, text=True,
                   check=True)
    second = ServiceProxy(client, proxy_config)
    second.start()
    try:
        table = kernel_table(netns)
        assert f"{ns}/gone" not in table
        assert f'"{ns}/kept' in table
        assert "intruder" not in table and "10.96.99.99" not in table
        assert ("ip", "supernetes-proxy-old") not in nft.owned_tables(netns)
        assert ("ip", "supernetes-node") in nft.owned_tables(netns)   # not ours: untouched
    finally:
        second.stop()
        second.cleanup()
    assert ("ip", "supernetes-proxy") not in nft.owned_tables(netns)
    routes = in_netns(netns, "ip", "route")
    assert "10.96.0.0/12 dev super0" not in routes
    assert "unreachable 10.96.0.0/12" in routes


def test_explain_shows_the_table_with_readable_names(client, ns, node, backends, proxy):
    made = backends("web-0")
    create_service(client, ns, "web")
    set_endpoints(client, ns, "web", [endpoint(ip_of(made, "web-0"))])
    wait_for_table(node.config.netns, lambda t: f"svc-{ns}/web/tcp/http" in t, what="web")
    wanted = f"chain ep-{ns}/web/tcp/http/{ip_of(made, 'web-0')}/8080 {{"
    deadline = time.monotonic() + 5       # explain() shows the last script once it is applied
    while wanted not in proxy.explain() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert wanted in proxy.explain()
    assert "table ip supernetes-proxy {" in proxy.explain()
    cli = subprocess.run([sys.executable, "-m", "supernetes.agent.proxy", "explain", "--kernel",
                          "--netns", node.config.netns], capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    assert f"chain svc-{ns}/web/tcp/http {{" in cli.stdout


def test_the_command_line_says_what_is_wrong_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "supernetes.agent.proxy", "explain",
                             "--kubeconfig", str(tmp_path / "missing")],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("proxy: ")


def test_a_proxy_on_a_node_without_its_bridge_says_so_and_leaves_nothing_running(
        client, tmp_path):
    bare = make_netns(tmp_path / "bare.netns")
    try:
        proxy = ServiceProxy(client, ProxyConfig(node_name=NODE_NAME, netns=bare))
        with pytest.raises(ProxyError, match="no bridge super0"):
            proxy.start()
        assert proxy.factory._informers and all(i.stopped for i in
                                                proxy.factory._informers.values())
        assert nft.owned_tables(bare) == set()
    finally:
        remove_netns(bare)
