"""ServicePorts -> the proxy's nftables table: kube-proxy's layout, readable names.

These read the rendered text; tests/agent/proxy/test_proxy.py proves in a
network namespace that the kernel takes it and that packets go where it says.
"""

from __future__ import annotations

import random
import re

from proxykit import endpoint, endpoint_slice, service

from supernetes.agent.proxy import model, rules

CONFIG = rules.RuleConfig(cluster_cidr="10.244.0.0/16", service_cidr="10.96.0.0/12",
                          node_name="node-a")


def blocks(text: str) -> dict[str, list[str]]:
    """'chain NAME' / 'map NAME' / 'set NAME' -> the lines inside its braces."""
    found, current = {}, None
    for line in text.splitlines():
        match = re.match(r"^(chain|map|set) (\S+) \{$", line)
        if match:
            current = f"{match.group(1)} {match.group(2)}"
            found[current] = []
        elif line == "}":
            current = None
        elif current:
            found[current].append(line.strip())
    return found


WEB, REJECT, TO_EXT = "default/web:http", "goto reject-chain", "goto ext-default/web/tcp/http"


def el(key: str, owner: str, verdict: str) -> str:
    """A map element as rendered: commented with the Service port it is for."""
    return f'{key} comment "{owner}" : {verdict},'


def render(*services_and_slices) -> dict[str, list[str]]:
    ports = []
    for svc, slices in services_and_slices:
        ports += model.service_ports(svc, slices)
    return blocks(rules.render(ports, CONFIG))


def web(*endpoints, **spec):
    return (service("web", "10.96.0.20", **spec),
            [endpoint_slice("web", list(endpoints))])


def test_a_cluster_ip_is_dnated_to_one_of_its_ready_endpoints_picked_at_random():
    t = render(web(endpoint("10.244.1.5"), endpoint("10.244.2.5", "node-b"),
                   endpoint("10.244.3.5", ready=False)))
    assert el("10.96.0.20 . tcp . 80", WEB, "goto svc-default/web/tcp/http") in t["map service-ips"]
    svc = t["chain svc-default/web/tcp/http"]
    assert svc[-1] == ("numgen random mod 2 vmap { "
                       "0 : goto ep-default/web/tcp/http/10.244.1.5/8080, "
                       "1 : goto ep-default/web/tcp/http/10.244.2.5/8080 }")
    assert any(line.startswith("ip daddr 10.96.0.20 tcp dport 80 ip saddr != 10.244.0.0/16 "
                               "jump mark-for-masquerade") for line in svc)
    ep = t["chain ep-default/web/tcp/http/10.244.1.5/8080"]
    assert ep[0].startswith("ip saddr 10.244.1.5 jump mark-for-masquerade")     # hairpin
    assert ep[-1] == "meta l4proto tcp dnat to 10.244.1.5:8080"
    assert "chain ep-default/web/tcp/http/10.244.3.5/8080" not in t             # not ready
    assert '10.96.0.20 comment "default/web",' in t["set cluster-ips"]


def test_one_endpoint_is_a_plain_goto():
    t = render(web(endpoint("10.244.1.5")))
    assert t["chain svc-default/web/tcp/http"][-1] == \
        "goto ep-default/web/tcp/http/10.244.1.5/8080"


def test_a_service_without_ready_endpoints_is_rejected_in_the_filter_chains():
    t = render(web(endpoint("10.244.3.5", ready=False), kind="NodePort",
                   ports=[{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080}]))
    assert "chain svc-default/web/tcp/http" not in t
    assert el("10.96.0.20 . tcp . 80", WEB, REJECT) in t["map no-endpoint-services"]
    assert el("tcp . 30080", WEB, REJECT) in t["map no-endpoint-nodeports"]
    assert t["map service-ips"] == ["type ipv4_addr . inet_proto . inet_service : verdict"]
    assert t["chain reject-chain"][-1] == "reject"
    assert "ct state new jump service-endpoints-check" in t["chain filter-forward"]


def test_node_port_traffic_is_masqueraded_then_load_balanced_like_the_cluster_ip():
    t = render(web(endpoint("10.244.1.5"), kind="NodePort",
                   ports=[{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080}]))
    assert el("tcp . 30080", WEB, TO_EXT) in t["map service-nodeports"]
    ext = t["chain ext-default/web/tcp/http"]
    assert ext[1].startswith("jump mark-for-masquerade")
    assert ext[2:] == ["goto svc-default/web/tcp/http"]
    assert ("fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap "
            "@service-nodeports") in t["chain services"]


def test_local_traffic_policy_keeps_the_client_and_uses_only_this_nodes_endpoints():
    spec = {"kind": "NodePort", "externalTrafficPolicy": "Local",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080}]}
    t = render(web(endpoint("10.244.1.5", "node-a"), endpoint("10.244.2.5", "node-b"), **spec))
    ext = t["chain ext-default/web/tcp/http"]
    assert "jump mark-for-masquerade" not in ext                # external clients keep theirs
    assert ext[1].startswith("ip saddr 10.244.0.0/16 goto svc-default/web/tcp/http")
    assert ext[-1] == "goto ep-default/web/tcp/http/10.244.1.5/8080"
    t = render(web(endpoint("10.244.2.5", "node-b"), **spec))
    assert t["chain ext-default/web/tcp/http"][-1].startswith("drop")


def test_external_and_load_balancer_addresses_lead_to_the_external_chain():
    svc, slices = web(endpoint("10.244.1.5"), kind="LoadBalancer",
                      ports=[{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080}],
                      externalIPs=["198.51.100.9"])
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}
    t = render((svc, slices))
    elements = t["map service-ips"]
    assert el("198.51.100.9 . tcp . 80", WEB, TO_EXT) in elements
    assert el("192.0.2.10 . tcp . 80", WEB, TO_EXT) in elements


def test_two_services_claiming_one_external_address_and_port_keep_the_first():
    a = (service("a", "10.96.0.21", externalIPs=["198.51.100.9"]),
         [endpoint_slice("a", [endpoint("10.244.1.5")])])
    b = (service("b", "10.96.0.22", externalIPs=["198.51.100.9"]),
         [endpoint_slice("b", [endpoint("10.244.1.6")])])
    elements = render(a, b)["map service-ips"]
    assert [e for e in elements if e.startswith("198.51.100.9")] == [
        el("198.51.100.9 . tcp . 80", "default/a:http", "goto ext-default/a/tcp/http")]


def test_client_ip_affinity_uses_one_timed_set_per_endpoint():
    spec = {"sessionAffinity": "ClientIP",
            "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}}
    name = "affinity-60s-default/web/tcp/http/10.244.1.5/8080"
    t = render(web(endpoint("10.244.1.5"), endpoint("10.244.2.5"), **spec))
    assert t[f"set {name}"] == ["type ipv4_addr", "flags dynamic,timeout", "timeout 60s"]
    assert rules.is_affinity_set(name) and not rules.is_affinity_set("cluster-ips")
    svc = t["chain svc-default/web/tcp/http"]
    assert f"ip saddr @{name} goto ep-default/web/tcp/http/10.244.1.5/8080" in svc
    assert svc[-1].startswith("numgen random mod 2")              # sticky ones first
    ep = t["chain ep-default/web/tcp/http/10.244.1.5/8080"]
    assert f"update @{name} {{ ip saddr }}" in ep


def test_the_table_hooks_in_before_everything_and_rejects_unknown_service_addresses():
    t = render()
    assert t["chain nat-prerouting"][0] == "type nat hook prerouting priority dstnat; policy " \
                                           "accept;"
    assert t["chain filter-forward"][0].startswith("type filter hook forward priority -110")
    check = t["chain cluster-ips-check"]
    assert check[0].startswith("ip daddr @cluster-ips reject")
    assert check[1].startswith("ip daddr 10.96.0.0/12 reject")
    assert t["chain masquerading"] == ["meta mark & 0x4000 == 0 return",
                                       "meta mark set meta mark ^ 0x4000",
                                       "masquerade fully-random"]


def test_the_rendering_does_not_depend_on_the_order_things_arrived_in():
    pairs = [(service(f"s{i}", f"10.96.1.{i}"),
              [endpoint_slice(f"s{i}", [endpoint(f"10.244.1.{j}") for j in range(3)])])
             for i in range(1, 20)]
    ports = [p for svc, slices in pairs for p in model.service_ports(svc, slices)]
    first = rules.render(ports, CONFIG)
    random.shuffle(ports)
    assert rules.render(ports, CONFIG) == first
