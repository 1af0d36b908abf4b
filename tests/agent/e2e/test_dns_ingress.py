"""Cluster DNS and Ingress end to end, on a real single-node cluster in a namespace.

The node has an address of its own (198.18.0.1 on its loopback: the benchmarking
range, which exists only inside this namespace); the API server advertises it, so
its DNS server listens there on port 53 and publishes kube-system/kube-dns ->
198.18.0.1:53, and the agent's service proxy DNATs 10.96.0.10 to it. Pods get
`nameserver 10.96.0.10` from the agent (it finds the kube-dns Service itself),
and the agent serves Ingress on the node's port 80.

Asserted from inside pods (`superlet exec`, busybox's own nslookup and wget):
`nslookup web` and the full name give the Service's ClusterIP, a headless
Service gives every ready pod, and the node's Ingress routes two hosts to two
Services (counting which pod answered) and says 503 when a Service has no
ready endpoint.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from nodekit import TEST_AGENT_ARGS, Cluster, wait

pytestmark = [pytest.mark.root, pytest.mark.netns, pytest.mark.e2e, pytest.mark.slow]

NODE_IP = "198.18.0.1"
HTTPD = ["sh", "-c", 'mkdir -p /www && hostname > /www/index.html && '
         "exec httpd -f -p 8080 -h /www"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, busybox_layout):
    cluster = Cluster(tmp_path_factory.mktemp("dns-ingress"),
                      agent_args=(*TEST_AGENT_ARGS, "--node-ip", NODE_IP),
                      server_args=("--advertise-address", "127.0.0.1",
                                   "--advertise-address", NODE_IP, "--dns-resolv-conf", ""))
    try:
        # the node's own address, on its loopback (this kernel has no dummy links)
        cluster.ns.run(["ip", "addr", "add", f"{NODE_IP}/32", "dev", "lo"], check=True)
        cluster.start(images=[busybox_layout])
    except BaseException:
        cluster.close()
        raise
    yield cluster
    cluster.close()


def deployment(name: str, replicas: int, app: str) -> dict:
    labels = {"app": app}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "terminationGracePeriodSeconds": 1,
                         "containers": [{"name": "web", "image": "busybox",
                                         "imagePullPolicy": "IfNotPresent",
                                         "command": HTTPD,
                                         "ports": [{"name": "http", "containerPort": 8080}],
                                         "readinessProbe": {"tcpSocket": {"port": 8080},
                                                            "periodSeconds": 1}}]}}}}


def service(name: str, app: str, headless: bool = False) -> dict:
    spec = {"selector": {"app": app},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}
    if headless:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def ready_ips(cluster, app: str) -> list[str]:
    pods = cluster.client.list("v1", "Pod", "default", label_selector=f"app={app}")["items"]
    return sorted(p["status"]["podIP"] for p in pods
                  if any(c["type"] == "Ready" and c["status"] == "True"
                         for c in (p.get("status") or {}).get("conditions") or []))


@pytest.fixture(scope="module")
def apps(cluster):
    for name in ("alpha", "beta"):
        cluster.create(deployment(name, 2, name))
        cluster.create(service(name, name))
    cluster.create(service("alpha-pods", "alpha", headless=True))
    cluster.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client"},
                    "spec": {"terminationGracePeriodSeconds": 1, "containers": [
                        {"name": "sh", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                         "command": ["sleep", "3600"]}]}})
    wait(lambda: len(ready_ips(cluster, "alpha")) == 2 and len(ready_ips(cluster, "beta")) == 2,
         90, "two ready pods behind alpha and beta")
    cluster.wait_pod("client", lambda p: p["status"].get("phase") == "Running")
    yield
    for name in ("alpha", "beta"):
        cluster.client.delete("apps/v1", "Deployment", name, "default")
    cluster.delete_pod("client", grace=0)


def nslookup(cluster, name: str) -> list[str]:
    out = cluster.superlet("exec", "client", "--", "nslookup", name, check=False)
    text = out.stdout + out.stderr
    after = text.split("Name:", 1)[1] if "Name:" in text else ""
    return sorted(re.findall(r"Address:\s*([\d.]+)\s*$", after, re.M))


def test_pods_are_told_the_cluster_dns_and_resolve_short_and_full_names(cluster, apps):
    resolv = cluster.exec("client", "cat", "/etc/resolv.conf")
    assert "nameserver 10.96.0.10" in resolv
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in resolv
    alpha_ip = cluster.client.get("v1", "Service", "alpha", "default")["spec"]["clusterIP"]
    wait(lambda: nslookup(cluster, "alpha") == [alpha_ip], 30, "nslookup alpha")
    assert nslookup(cluster, "alpha.default.svc.cluster.local") == [alpha_ip]
    assert nslookup(cluster, "kubernetes.default.svc.cluster.local") == ["10.96.0.1"]


def test_a_headless_service_resolves_to_every_ready_pod(cluster, apps):
    wait(lambda: nslookup(cluster, "alpha-pods") == ready_ips(cluster, "alpha"), 30,
         "nslookup alpha-pods to list both pods")


def test_ingress_routes_two_hosts_to_two_services_and_503_without_endpoints(cluster, apps):
    def rule(host: str, svc: str) -> dict:
        return {"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": svc, "port": {"number": 80}}}}]}}

    cluster.create({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                    "metadata": {"name": "web"},
                    "spec": {"rules": [rule("alpha.test", "alpha"), rule("beta.test", "beta"),
                                       rule("empty.test", "nothing")]}})

    def get(host: str) -> str:
        # (no -T: the timeout option makes Debian's static busybox wget crash)
        out = cluster.superlet("exec", "client", "--", "wget", "-q", "-O", "-",
                               "--header", f"Host: {host}", f"http://{NODE_IP}:80/",
                               check=False)
        return out.stdout.strip() or f"error {out.returncode}: {out.stderr.strip()}"

    wait(lambda: get("alpha.test").startswith("alpha-"), 30, "the Ingress to route alpha")
    answered = Counter(get(host).split("-")[0] for host in ("alpha.test", "beta.test")
                       for _ in range(8))
    assert answered == {"alpha": 8, "beta": 8}
    pods = Counter(get("alpha.test") for _ in range(8))
    assert len(pods) == 2 and set(pods.values()) == {4}     # round robin over both pods
    assert "503" in get("empty.test")
    def published() -> list:
        ing = cluster.client.get("networking.k8s.io/v1", "Ingress", "web", "default")
        return ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []

    wait(lambda: published() == [{"ip": NODE_IP}], 20, "the Ingress status to name the node")
