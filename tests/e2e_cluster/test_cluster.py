"""A running cluster, end to end, as its user sees it through kubectl.

One Deployment of busybox `httpd` pods (each page names its pod), spread with a
topology spread constraint over every node that takes pods (the control plane's
NoSchedule taint is tolerated, so a k3s-style server node counts too), and one
ClusterIP Service in front of it. The tests run in file order and build on each
other: nodes, placement, pod-to-pod, Service IP, DNS, then scale and delete.
"""

from __future__ import annotations

import pytest
from e2eclusterkit import IMAGE, TIMEOUT, Kubectl, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

APP = "e2e-web"
CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane"
PER_NODE = 2
HTTPD = ('mkdir -p /www && echo "$(hostname)" > /www/index.html && '
         "exec httpd -f -p 8080 -h /www")


def deployment(replicas: int) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": APP, "labels": {"app": APP}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": APP}},
            "template": {
                "metadata": {"labels": {"app": APP}},
                "spec": {
                    "terminationGracePeriodSeconds": 2,
                    "tolerations": [{"key": CONTROL_PLANE_TAINT, "operator": "Exists",
                                     "effect": "NoSchedule"}],
                    "topologySpreadConstraints": [{
                        "maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "DoNotSchedule",
                        "labelSelector": {"matchLabels": {"app": APP}}}],
                    "containers": [{
                        "name": "httpd", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                        "command": ["sh", "-c", HTTPD],
                        "ports": [{"name": "http", "containerPort": 8080}],
                        "readinessProbe": {"httpGet": {"path": "/", "port": 8080},
                                           "periodSeconds": 1},
                    }],
                },
            },
        },
    }


SERVICE = {
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": APP},
    "spec": {"selector": {"app": APP}, "ports": [{"port": 80, "targetPort": "http"}]},
}


def fetch_command(url: str) -> str:
    # Not `wget -T`: Debian 12's busybox-static wget segfaults with it (exit 139).
    return f"timeout 10 wget -q -O - {url}"


def fetch(kubectl: Kubectl, pod: str, url: str) -> str:
    return kubectl.exec(pod, "sh", "-c", fetch_command(url)).strip()


def ready(node: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in node.get("status", {}).get("conditions", []))


def takes_our_pods(node: dict) -> bool:
    spec = node.get("spec") or {}
    blocking = [t for t in spec.get("taints") or []
                if t.get("effect") in ("NoSchedule", "NoExecute")
                and t.get("key") != CONTROL_PLANE_TAINT]
    return ready(node) and not spec.get("unschedulable") and not blocking


def running_ready(pod: dict) -> bool:
    status = pod.get("status") or {}
    return (status.get("phase") == "Running" and bool(status.get("podIP"))
            and not pod["metadata"].get("deletionTimestamp")
            and all(c.get("ready") for c in status.get("containerStatuses") or [{}]))


@pytest.fixture(scope="module")
def nodes(cluster_kubectl: Kubectl) -> list[dict]:
    return cluster_kubectl.json("get", "nodes", namespaced=False)["items"]


@pytest.fixture(scope="module")
def workers(nodes) -> list[str]:
    names = sorted(n["metadata"]["name"] for n in nodes if takes_our_pods(n))
    assert names, "no node takes pods (all NotReady, cordoned or tainted)"
    return names


@pytest.fixture(scope="module")
def web(kubectl: Kubectl, workers) -> list[dict]:
    """The Deployment's pods, PER_NODE on every node that takes pods, all Running."""
    want = PER_NODE * len(workers)
    kubectl.apply(deployment(want))
    kubectl.apply(SERVICE)
    return wait_for(lambda: (lambda p: p if len(p) == want else None)(
        [p for p in kubectl.pods(f"app={APP}") if running_ready(p)]),
        f"{want} Running and ready {APP} pods")


def test_every_node_is_ready(nodes):
    assert nodes, "the cluster has no node"
    assert {n["metadata"]["name"]: ready(n) for n in nodes} == \
        {n["metadata"]["name"]: True for n in nodes}


def test_the_deployment_runs_on_every_node_that_takes_pods(web, workers):
    placed = sorted(p["spec"]["nodeName"] for p in web)
    assert placed == sorted(workers * PER_NODE)
    assert len({p["status"]["podIP"] for p in web}) == len(web)


def test_pods_reach_each_other_by_pod_ip_across_nodes(kubectl, web):
    one_per_node = {p["spec"]["nodeName"]: p for p in web}.values()
    for source in one_per_node:
        for target in web:
            page = fetch(kubectl, source["metadata"]["name"],
                         f"http://{target['status']['podIP']}:8080/")
            assert page == target["metadata"]["name"], \
                f"{source['metadata']['name']} -> {target['metadata']['name']}"


def _endpoint_ips(kubectl: Kubectl) -> set[str]:
    endpoints = kubectl.json("get", "endpoints", APP)
    return {a["ip"] for s in endpoints.get("subsets") or [] for a in s.get("addresses") or []}


def test_the_service_cluster_ip_spreads_over_every_backend(kubectl, web):
    want = {p["status"]["podIP"] for p in web}
    wait_for(lambda: _endpoint_ips(kubectl) == want, "the Service's endpoints")
    cluster_ip = kubectl.json("get", "service", APP)["spec"]["clusterIP"]
    client = web[0]["metadata"]["name"]
    script = (f"for i in $(seq 40); do {fetch_command(f'http://{cluster_ip}/')} || echo FAIL; "
              "done")
    answers = kubectl.exec(client, "sh", "-c", script, timeout=TIMEOUT).split()
    assert "FAIL" not in answers
    assert set(answers) <= {p["metadata"]["name"] for p in web}
    assert len(set(answers)) >= 2, f"40 requests all went to {set(answers)}"


def test_the_service_dns_names_resolve_and_answer_from_a_pod(kubectl, cluster_kubectl, web):
    if cluster_kubectl.run("get", "service", "kube-dns", "-n", "kube-system",
                           namespaced=False, check=False).returncode != 0:
        pytest.skip("this cluster serves no DNS (no kube-system/kube-dns Service; "
                    "`supernetes up` binds its server to loopback and serves none)")
    client = web[0]["metadata"]["name"]
    names = {p["metadata"]["name"] for p in web}
    for name in (APP, f"{APP}.{kubectl.namespace}",
                 f"{APP}.{kubectl.namespace}.svc.cluster.local"):
        assert fetch(kubectl, client, f"http://{name}/") in names, name


def test_scale_down_then_delete_leaves_nothing(kubectl, web):
    kubectl.run("scale", "deployment", APP, "--replicas", "1")
    wait_for(lambda: len(kubectl.pods(f"app={APP}")) == 1, "the deployment at one pod")
    wait_for(lambda: len(_endpoint_ips(kubectl)) == 1, "the Service at one endpoint")
    kubectl.run("delete", "deployment", APP, "--wait=false")
    kubectl.run("delete", "service", APP, "--wait=false")
    wait_for(lambda: not kubectl.pods(f"app={APP}"), "every pod to be gone")
    left = kubectl.run("get", "deployments,replicasets,pods,services,endpoints",
                       "-o", "name").stdout.split()
    assert left == []
