"""NetworkPolicy semantics, pure: isolation, peers, ports, named ports, egress."""

from __future__ import annotations

from supernetes.agent.netpol import model, rules

NAMESPACES = {"shop": {"kubernetes.io/metadata.name": "shop", "team": "a"},
              "tools": {"kubernetes.io/metadata.name": "tools", "team": "b"}}


def pod(name, ip, ns="shop", node="node-a", ports=(), **labels):
    return model.PodInfo(ns, name, ip, node, labels, tuple(ports))


WEB = pod("web", "10.244.7.2", app="web", ports=[("http", "TCP", 8080)])
CLIENT = pod("client", "10.244.7.3", role="client")
OTHER = pod("other", "10.244.7.4", role="other")
TOOL = pod("tool", "10.244.8.2", ns="tools", node="node-b", role="client")
DB = pod("db", "10.244.8.3", ns="tools", node="node-b", app="db",
         ports=[("pg", "TCP", 5432)])
PODS = [WEB, CLIENT, OTHER, TOOL, DB]


def policy(name, spec, ns="shop"):
    return {"metadata": {"namespace": ns, "name": name}, "spec": spec}


def only(results, pod_name):
    (found,) = [r for r in results if r.pod.name == pod_name]
    return found


def test_pods_no_policy_selects_are_not_isolated():
    p = policy("web-only", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": []})
    results = model.evaluate([p], PODS, NAMESPACES, "node-a")
    assert [r.pod.name for r in results] == ["web"]
    assert only(results, "web").ingress == ()            # isolated, nothing allowed
    assert only(results, "web").egress is None           # policyTypes defaulted to Ingress


def test_only_pods_of_this_node_are_enforced_here():
    p = policy("all", {"podSelector": {}, "policyTypes": ["Ingress"]}, ns="tools")
    assert model.evaluate([p], PODS, NAMESPACES, "node-a") == []
    assert {r.pod.name for r in model.evaluate([p], PODS, NAMESPACES, "node-b")} == {"tool",
                                                                                    "db"}


def test_pod_and_namespace_selectors_pick_peers_and_policies_add_up():
    by_pod = policy("from-clients", {
        "podSelector": {"matchLabels": {"app": "web"}},
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}]}]})
    by_ns = policy("from-team-b", {
        "podSelector": {"matchLabels": {"app": "web"}},
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "b"}}}]}]})
    web = only(model.evaluate([by_pod, by_ns], PODS, NAMESPACES, "node-a"), "web")
    assert [(a.policy, a.cidrs) for a in web.ingress] == [
        ("shop/from-clients", ("10.244.7.3",)),            # role=client in shop only
        ("shop/from-team-b", ("10.244.8.2", "10.244.8.3"))]  # every pod of tools
    both = policy("clients-of-team-b", {
        "podSelector": {"matchLabels": {"app": "web"}},
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "b"}},
                               "podSelector": {"matchLabels": {"role": "client"}}}]}]})
    web = only(model.evaluate([both], PODS, NAMESPACES, "node-a"), "web")
    assert [a.cidrs for a in web.ingress] == [("10.244.8.2",)]


def test_ports_by_number_range_and_name_resolved_on_the_receiving_pod():
    p = policy("ports", {
        "podSelector": {},
        "ingress": [{"ports": [{"port": "http"}, {"port": 9000, "endPort": 9100},
                               {"port": 53, "protocol": "UDP"}]}]})
    results = model.evaluate([p], PODS, NAMESPACES, "node-a")
    (allow,) = only(results, "web").ingress
    assert allow.cidrs is None                              # from anywhere
    assert allow.ports.ranges == (("TCP", 8080, 8080), ("TCP", 9000, 9100), ("UDP", 53, 53))
    (allow,) = only(results, "client").ingress              # no port named http here
    assert allow.ports.ranges == (("TCP", 9000, 9100), ("UDP", 53, 53))
    named_only = policy("named", {"podSelector": {}, "ingress": [{"ports": [{"port": "http"}]}]})
    assert only(model.evaluate([named_only], PODS, NAMESPACES, "node-a"), "client").ingress == ()


def test_ip_blocks_keep_their_exceptions():
    p = policy("block", {"podSelector": {}, "ingress": [{"from": [
        {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.244.7.0/24"]}}]}]})
    (allow,) = only(model.evaluate([p], PODS, NAMESPACES, "node-a"), "web").ingress
    assert (allow.cidrs, allow.except_cidrs) == (("10.0.0.0/8",), ("10.244.7.0/24",))


def test_egress_named_ports_resolve_on_each_destination_pod():
    p = policy("to-db", {
        "podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"],
        "egress": [{"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels":
                                                                     {"app": "db"}}}],
                    "ports": [{"port": "pg"}]},
                   {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                    "ports": [{"port": 53, "protocol": "UDP"}]}]})
    web = only(model.evaluate([p], PODS, NAMESPACES, "node-a"), "web")
    assert web.ingress is None
    to_db, dns = web.egress
    assert to_db.by_address == (("10.244.8.3", "TCP", 5432),)
    assert (dns.cidrs, dns.ports.ranges) == (("0.0.0.0/0",), (("UDP", 53, 53),))


def test_pods_without_address_host_network_or_finished_are_left_out():
    base = {"metadata": {"name": "p", "namespace": "shop"},
            "spec": {"nodeName": "node-a", "containers": [{"name": "c", "ports": [
                {"name": "http", "containerPort": 80}]}]},
            "status": {"podIP": "10.244.7.9", "phase": "Running"}}
    info = model.pod_info(base)
    assert info.ip == "10.244.7.9" and info.named_port("http", "TCP") == 80
    for change in ({"status": {"phase": "Running"}},
                   {"status": {"podIP": "10.244.7.9", "phase": "Succeeded"}},
                   {"spec": {"hostNetwork": True},
                    "status": {"podIP": "10.244.7.9", "phase": "Running"}}):
        assert model.pod_info({**base, **change}) is None


def test_the_rendered_chain_returns_on_what_is_allowed_and_drops_the_rest():
    p = policy("from-clients", {
        "podSelector": {"matchLabels": {"app": "web"}},
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}},
                              {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
                     "ports": [{"port": "http"}]}]})
    text = rules.render(model.evaluate([p], PODS, NAMESPACES, "node-a"), "node-a")
    assert '10.244.7.2 comment "shop/web" : jump ingress-shop/web,' in text
    chain = text[text.index("chain ingress-shop/web {"):].split("}\n", 1)[0]
    assert ('ip saddr 10.244.7.3 tcp dport 8080 return comment "shop/from-clients rule 0"'
            in chain)
    assert "ip saddr 10.0.0.0/8 ip saddr != { 10.1.0.0/16 } tcp dport 8080 return" in chain
    assert chain.rstrip().endswith("drop")
    assert "ct state established,related accept" in text


def test_of_two_pods_claiming_one_address_the_newer_one_counts():
    old = model.PodInfo("shop", "web-old", "10.244.7.2", "node-a", {"app": "web"}, (),
                        "2026-01-01T00:00:00Z")
    new = model.PodInfo("shop", "web-new", "10.244.7.2", "node-a", {"app": "web"}, (),
                        "2026-01-01T00:05:00Z")
    p = policy("all", {"podSelector": {}})
    results = model.evaluate([p], [new, old], NAMESPACES, "node-a")
    assert [r.pod.name for r in results] == ["web-new"]
