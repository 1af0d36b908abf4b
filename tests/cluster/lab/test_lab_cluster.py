"""A three-node lab, end to end: nodes, cross-node pod traffic, NodePorts, a node's death.

One lab for the whole module (the `lab` fixture, host-gw). Each test removes the
pods it made; the node-kill test comes last because the killed node is gone
from then on.
"""

import json
import sys

import pytest
from labkit import wait_for, whoami_container

pytestmark = [pytest.mark.root, pytest.mark.netns, pytest.mark.e2e, pytest.mark.slow]

LISTENER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(8)
print("ready", flush=True)
for _ in range(int(sys.argv[2])):
    c, peer = s.accept(); c.sendall(peer[0].encode()); c.close()
"""


def node_objects(lab) -> dict[str, dict]:
    items = lab.client.list("v1", "Node")["items"]
    return {n["metadata"]["name"]: n for n in items}


def test_three_nodes_are_ready_each_with_its_own_pod_cidr_and_routes_to_the_others(lab):
    nodes = node_objects(lab)
    assert sorted(nodes) == sorted(lab.node_names)
    for node in nodes.values():
        ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
        assert ready == "True"
    cidrs = {name: node["spec"]["podCIDR"] for name, node in nodes.items()}
    assert len(set(cidrs.values())) == 3 and all(c.startswith("10.244.") for c in cidrs.values())
    for number, name in enumerate(lab.node_names, start=1):
        routes = lab.routes(f"node{number}")
        for other_number, other in enumerate(lab.node_names, start=1):
            if other == name:
                assert cidrs[other] not in routes
            else:
                assert f"{cidrs[other]} via {lab.address(f'node{other_number}')}" in routes


def test_pods_on_different_nodes_reach_each_other_by_pod_ip_with_their_own_source_ip(lab):
    names = [f"who-{n}" for n in range(1, 4)]
    try:
        for name, node in zip(names, lab.node_names, strict=True):
            lab.whoami_pod(name, node=node)
        pods = {name: lab.wait_running(name) for name in names}
        ips = {name: p["status"]["podIP"] for name, p in pods.items()}
        assert len({p["spec"]["nodeName"] for p in pods.values()}) == 3
        for client in names:
            for server in names:
                if client == server:
                    continue
                seen = lab.fetch(client, f"http://{ips[server]}:8080/cgi-bin/ip")
                assert seen == ips[client], f"{client} -> {server}: {seen}"
    finally:
        lab.delete_pods(names)


def test_traffic_leaving_the_cluster_is_masqueraded_to_the_node_address(lab):
    """A pod reaching the control plane machine (outside the pod network) shows up
    with its node's address, as every Kubernetes network does for non-pod traffic."""
    server = _listen_in(lab, "cp", 9099)
    try:
        lab.whoami_pod("egress", node=lab.node_names[1])
        lab.wait_running("egress")
        answer = lab.kubectl("exec", "egress", "--", "sh", "-c",
                             f"nc {lab.address('cp')} 9099 </dev/null").stdout.strip()
        assert answer == lab.address("node2")
    finally:
        server.kill()
        server.wait()
        server.stdout.close()
        lab.delete_pods(["egress"])


def _listen_in(lab, machine: str, port: int):
    import subprocess

    from supernetes.lab import lab as lab_mod
    argv, env = lab_mod.exec_argv(lab.state, machine, [sys.executable, "-c", LISTENER,
                                                        str(port), "1"])
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


def test_a_nodeport_answers_on_every_node(lab):
    names = ["np-1", "np-2"]
    service = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "np", "namespace": "default"},
               "spec": {"type": "NodePort", "selector": {"app": "np"},
                        "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}}
    try:
        lab.whoami_pod("np-1", node=lab.node_names[0], labels={"app": "np"})
        lab.whoami_pod("np-2", node=lab.node_names[1], labels={"app": "np"})
        for name in names:
            lab.wait_running(name)
        port = lab.client.create(service)["spec"]["ports"][0]["nodePort"]
        fetch = ("import sys, urllib.request; "
                 "print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())")
        for number in (1, 2, 3):   # node3 runs no backend: it forwards to the others
            url = f"http://{lab.address(f'node{number}')}:{port}/"

            def answers(url=url) -> bool:
                out = lab.exec("cp", [sys.executable, "-c", fetch, url], check=False)
                return out.returncode == 0 and out.stdout.strip() in names
            assert wait_for(answers, 10), f"NodePort {port} on node{number} does not answer"
    finally:
        try:
            lab.client.delete("v1", "Service", "np", "default")
        except Exception:
            pass
        lab.delete_pods(names)


def test_status_kubeconfig_and_exec_from_the_command_line(lab):
    status = lab.cli("status")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0].split() == ["MACHINE", "ROLE", "ADDRESS", "STATE", "READY"]
    for name in lab.node_names:
        row = next(line for line in lines if line.startswith(name + " "))
        assert row.split()[3:] == ["running", "True"]
    kubeconfig = lab.cli("kubeconfig").stdout.strip()
    assert kubeconfig == lab.kubeconfig
    nodes = lab.kubectl("get", "nodes", "-o", "json")
    assert sorted(n["metadata"]["name"] for n in json.loads(nodes.stdout)["items"]) == \
        sorted(lab.node_names)

    inside = lab.cli("exec", "node2", "--", "sh", "-c", "hostname; ip -o -4 addr show eth0")
    assert inside.returncode == 0, inside.stderr
    hostname, address = inside.stdout.splitlines()
    assert hostname == lab.node_names[1]
    assert f"inet {lab.address('node2')}/24" in address
    on_cp = lab.cli("exec", "cp", "--", "superctl", "get", "nodes")
    assert on_cp.returncode == 0 and all(n in on_cp.stdout for n in lab.node_names)

    missing = lab.cli("node", "kill", "node9")
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    assert "no machine 'node9'" in missing.stderr


def test_a_killed_node_has_its_pods_recreated_elsewhere_and_its_routes_removed(lab):
    """Last in the module: the killed node stays dead (NotReady) afterwards."""
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "spread", "namespace": "default"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "spread"}},
                 "template": {"metadata": {"labels": {"app": "spread"}},
                              "spec": {"terminationGracePeriodSeconds": 1,
                                       "containers": [whoami_container()]}}}}
    cidrs = {name: n["spec"]["podCIDR"] for name, n in node_objects(lab).items()}
    lab.client.create(deployment)

    def running_on() -> dict[str, str]:
        pods = lab.client.list("v1", "Pod", "default", label_selector="app=spread")["items"]
        return {p["metadata"]["name"]: p["spec"].get("nodeName") for p in pods
                if (p.get("status") or {}).get("phase") == "Running"
                and not p["metadata"].get("deletionTimestamp")}

    victim = None
    try:
        assert wait_for(lambda: len(running_on()) == 3, 60), running_on()
        victim = sorted(set(running_on().values()))[-1]        # a node that runs some
        machine = victim.removeprefix(f"{lab.config.name}-")
        survivors = [m for m in ("node1", "node2", "node3") if m != machine]
        result = lab.cli("node", "kill", machine)
        assert result.returncode == 0, result.stderr
        row = next(line for line in lab.cli("status").stdout.splitlines()
                   if line.startswith(victim + " "))
        assert row.split()[3] == "stopped"

        # grace 4 s -> Unknown: the routes go; eviction 3 s later: pods elsewhere
        assert wait_for(lambda: all(cidrs[victim] not in lab.routes(m) for m in survivors),
                        30), lab.routes(survivors[0])
        others = {lab.config.hostname(m) for m in survivors}
        assert wait_for(lambda: len(running_on()) == 3
                        and set(running_on().values()) <= others, 45), running_on()
        for m in survivors:   # the survivors still route to each other
            other = next(s for s in survivors if s != m)
            assert cidrs[lab.config.hostname(other)] in lab.routes(m)
    finally:
        lab.client.delete("apps/v1", "Deployment", "spread", "default")
        # pods bound to the dead node stay Terminating, as in Kubernetes; the rest go
        assert wait_for(lambda: not [p for p in lab.client.list(
            "v1", "Pod", "default", label_selector="app=spread")["items"]
            if p["spec"].get("nodeName") != victim], 60)
