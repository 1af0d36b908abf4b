"""NetworkPolicies enforced for real: pods in a node namespace, policies through the API.

Each test makes pod sandboxes with backends that answer with their name, and
the Pod objects the node's agent would have reported for them (labels, named
ports, IP); then it writes policies and checks, connection by connection, that
what should pass passes and what should not is dropped - and nothing else is.
"""

from __future__ import annotations

import contextlib
import time
import uuid

import pytest
from proxykit import (
    UPLINK_NODE,
    UPLINK_OUTSIDE,
    Backend,
    dial,
    endpoint,
    endpoint_slice,
    in_netns,
    register_pod,
    service,
)

from supernetes.agent.netpol import rules
from supernetes.agent.network import nft
from supernetes.agent.proxy import ProxyConfig, ServiceProxy

pytestmark = [pytest.mark.root, pytest.mark.netns]

BLOCKED_AFTER = 1.0     # seconds a dropped connection is given before it counts as blocked


def table(netns: str) -> str:
    try:
        return nft.list_table(*rules.TABLE, netns=netns)
    except nft.RuleError:
        return ""


def wait_for(netns: str, predicate, what: str, timeout: float = 20.0) -> None:
    # Generous: a loaded CI machine can take seconds to sync the informers. How fast
    # rules follow a change is measured in bench/network.py, not asserted here.
    deadline = time.monotonic() + timeout
    while not predicate(table(netns)):
        assert time.monotonic() < deadline, f"never got {what}:\n{table(netns)}"
        time.sleep(0.01)


def reaches(source_netns: str, ip: str, port: int = 8080) -> bool:
    (answer,) = dial(source_netns, ip, port, timeout=BLOCKED_AFTER)
    if answer.startswith("error: timed out"):
        return False
    assert not answer.startswith("error"), answer      # blocked means dropped, not refused
    return True


@pytest.fixture
def workload(client, pods):
    """Make a pod: sandbox, backends on its ports, and its Pod object in the API."""
    stack = contextlib.ExitStack()

    def make(ns: str, name: str, labels: dict, ports=(("http", 8080),), extra_ports=()):
        sandbox, network = pods(f"{ns}-{name}")
        netns = sandbox.ns_path("net")
        for _, port in (*ports, *extra_ports):
            stack.callback(Backend(netns, name, port).close)
        register_pod(client, ns, name, network.ip, labels, ports)
        # The Pod goes with its sandbox: a stale Pod of an earlier test holding the same
        # IP would make the policy model pick one of the two claimants (by age).
        stack.callback(client.delete, "v1", "Pod", name, ns, grace_period_seconds=0)
        return netns, network.ip

    with stack:
        yield make


def create_policy(client, ns: str, name: str, spec: dict) -> dict:
    return client.create({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                          "metadata": {"name": name}, "spec": spec}, namespace=ns)


def other_namespace(client, labels: dict) -> str:
    name = f"t-{uuid.uuid4().hex[:10]}"
    client.create({"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": name, "labels": labels}})
    return name


def test_without_policies_every_pod_reaches_every_other_and_no_rules_exist(
        client, ns, node, workload, enforcer):
    web_ns, web_ip = workload(ns, "web", {"app": "web"})
    client_ns, client_ip = workload(ns, "client", {"role": "client"})
    assert reaches(client_ns, web_ip) and reaches(web_ns, client_ip)
    assert ("ip", "supernetes-netpol") not in nft.owned_tables(node.config.netns)


def test_an_ingress_policy_admits_its_peers_on_its_ports_and_drops_the_rest(
        client, ns, node, workload, enforcer):
    web_ns, web_ip = workload(ns, "web", {"app": "web"}, extra_ports=[("", 9090)])
    client_ns, client_ip = workload(ns, "client", {"role": "client"})
    other_ns, other_ip = workload(ns, "other", {"role": "other"})
    create_policy(client, ns, "web-from-clients", {
        "podSelector": {"matchLabels": {"app": "web"}},
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}],
                     "ports": [{"port": "http"}]}]})
    wait_for(node.config.netns, lambda t: f"ip saddr {client_ip} tcp dport 8080 return" in t,
             "the client admitted")
    assert reaches(client_ns, web_ip, 8080)                 # the peer, on the named port
    assert not reaches(client_ns, web_ip, 9090)             # another port of web
    assert not reaches(other_ns, web_ip, 8080)              # not a peer
    # Nothing else changed: pods no policy selects, and web's own connections out.
    assert reaches(other_ns, client_ip) and reaches(web_ns, other_ip)


def test_namespace_selectors_and_ip_blocks_admit_what_they_name(client, ns, node, workload,
                                                                 outside, enforcer):
    team_b = other_namespace(client, {"team": "b"})
    try:
        web_ns, web_ip = workload(ns, "web", {"app": "web"})
        tool_ns, tool_ip = workload(team_b, "tool", {"role": "anything"})
        local_ns, _ = workload(ns, "local", {"role": "anything"})
        in_netns(outside, "ip", "route", "add", "10.244.0.0/16", "via", UPLINK_NODE)
        create_policy(client, ns, "web-from-team-b", {
            "podSelector": {"matchLabels": {"app": "web"}},
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "b"}}},
                                  {"ipBlock": {"cidr": "198.51.100.0/24",
                                               "except": [f"{UPLINK_OUTSIDE}/32"]}}]}]})
        wait_for(node.config.netns, lambda t: f"ip saddr {tool_ip} return" in t, "tool admitted")
        assert reaches(tool_ns, web_ip)                     # a pod of a selected namespace
        assert not reaches(local_ns, web_ip)                # web's own namespace is not
        assert not reaches(outside, web_ip)                 # inside the block, but excepted
        client.resource("networking.k8s.io/v1", "NetworkPolicy").patch(
            "web-from-team-b", {"spec": {"ingress": [{"from": [
                {"ipBlock": {"cidr": "198.51.100.0/24"}}]}]}}, ns, patch_type="merge")
        wait_for(node.config.netns, lambda t: "198.51.100.0/24 return" in t, "the new block")
        assert reaches(outside, web_ip)
    finally:
        client.delete("v1", "Namespace", team_b)


def test_an_egress_policy_limits_where_a_pod_may_connect(client, ns, node, workload,
                                                         enforcer):
    web_ns, web_ip = workload(ns, "web", {"app": "web"})
    db_ns, db_ip = workload(ns, "db", {"app": "db"}, ports=[("pg", 5432)])
    client_ns, client_ip = workload(ns, "client", {"role": "client"})
    create_policy(client, ns, "web-to-db", {
        "podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"],
        "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "db"}}}],
                    "ports": [{"port": "pg"}]}]})
    wait_for(node.config.netns, lambda t: f"ip daddr . meta l4proto . th dport {{ {db_ip} . tcp"
             in t, "db allowed")
    assert reaches(web_ns, db_ip, 5432)                     # named port of the destination
    assert not reaches(web_ns, client_ip)
    assert reaches(client_ns, web_ip)                       # ingress to web is not isolated


def test_a_policy_sees_the_real_client_behind_a_service_address(client, ns, node, workload,
                                                                enforcer):
    web_ns, web_ip = workload(ns, "web", {"app": "web"})
    client_ns, client_ip = workload(ns, "client", {"role": "client"})
    other_ns, _ = workload(ns, "other", {"role": "other"})
    proxy = ServiceProxy(client, ProxyConfig(node_name="node-a", netns=node.config.netns,
                                             min_sync_interval=0.05))
    proxy.start()
    try:
        vip = client.create(service("web", namespace=ns), namespace=ns)["spec"]["clusterIP"]
        client.create(endpoint_slice("web", [endpoint(web_ip)], namespace=ns), namespace=ns)
        create_policy(client, ns, "web-from-clients", {
            "podSelector": {"matchLabels": {"app": "web"}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}]}]})
        wait_for(node.config.netns, lambda t: f"ip saddr {client_ip} return" in t,
                 "the client admitted")
        deadline = time.monotonic() + 5     # until the proxy has the Service
        while dial(client_ns, vip, 80, timeout=BLOCKED_AFTER)[0].startswith("error"):
            assert time.monotonic() < deadline, "the Service never answered"
        assert not reaches(other_ns, vip, 80)
    finally:
        proxy.stop()
        proxy.cleanup()


def test_deleting_the_policy_lets_everything_through_again(client, ns, node, workload,
                                                           enforcer):
    _, web_ip = workload(ns, "web", {"app": "web"})
    other_ns, _ = workload(ns, "other", {"role": "other"})
    create_policy(client, ns, "deny-all", {"podSelector": {}})
    wait_for(node.config.netns, lambda t: f"chain ingress-{ns}/web" in t, "web isolated")
    assert not reaches(other_ns, web_ip)
    client.delete("networking.k8s.io/v1", "NetworkPolicy", "deny-all", ns)
    wait_for(node.config.netns, lambda t: f"ingress-{ns}/web" not in t, "the rules gone")
    assert reaches(other_ns, web_ip)
