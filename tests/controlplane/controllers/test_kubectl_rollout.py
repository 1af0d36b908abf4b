"""The real kubectl's rollout verbs against the controllers: `create deployment`,
`rollout status`, `set image`, `rollout history`, `rollout undo` (client-side: it
patches an old template back), `rollout pause/resume/restart`, `describe` events, and
a stuck rollout reported as such. Runs with /usr/bin/kubectl and kubectl 1.27/1.33."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from hollow import wait_for

pytestmark = pytest.mark.slow

CANDIDATES = {"default": "/usr/bin/kubectl",
              "1.27": "/usr/lib/google-cloud-sdk/bin/kubectl.1.27",
              "1.33": "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"}
VERSIONS = [v for v, path in CANDIDATES.items() if os.access(path, os.X_OK)]


class Kubectl:
    def __init__(self, binary: str, kubeconfig, home, namespace: str):
        self.binary = binary
        self.namespace = namespace
        self.env = {**os.environ, "HOME": str(home), "KUBECONFIG": str(kubeconfig)}

    def run(self, *args, check=True, timeout=90) -> subprocess.CompletedProcess:
        result = subprocess.run([self.binary, "-n", self.namespace, *args], capture_output=True,
                                text=True, env=self.env, timeout=timeout)
        if check:
            assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result

    def json(self, *args):
        return json.loads(self.run(*args, "-o", "json").stdout)

    def create_deployment(self, *args) -> str:
        """`kubectl create deployment`; kubectl 1.33 sends that body as protobuf, which
        the API server does not read yet, so for it the same manifest goes through
        `apply` (JSON)."""
        result = self.run("create", "deployment", *args, check=False)
        if result.returncode == 0 or "protobuf" not in result.stderr:
            assert result.returncode == 0, result.stderr
            return result.stdout
        manifest = self.run("create", "deployment", *args, "--dry-run=client", "-o",
                            "yaml").stdout
        applied = subprocess.run([self.binary, "-n", self.namespace, "apply", "-f", "-"],
                                 input=manifest, capture_output=True, text=True,
                                 env=self.env, timeout=60)
        assert applied.returncode == 0, applied.stderr
        return applied.stdout


@pytest.fixture(params=VERSIONS)
def kubectl(request, server, ns, tmp_path) -> Kubectl:
    return Kubectl(CANDIDATES[request.param], server.kubeconfig, tmp_path, ns)


@pytest.fixture
def nodes(kubelet):
    for i in range(2):
        kubelet.add_node(f"{kubelet.prefix}{i}")
    return kubelet


def image(kubectl) -> str:
    return kubectl.json("get", "deployment", "web")["spec"]["template"]["spec"][
        "containers"][0]["image"]


def test_rollout_status_history_and_undo(kubectl, nodes):
    out = kubectl.create_deployment("web", "--image=nginx:1.25", "--replicas=3")
    assert "deployment.apps/web created" in out
    status = kubectl.run("rollout", "status", "deployment/web", "--timeout=90s").stdout
    assert 'deployment "web" successfully rolled out' in status
    table = kubectl.run("get", "deployment", "web", "--no-headers").stdout.split()
    assert table[1:4] == ["3/3", "3", "3"]

    kubectl.run("set", "image", "deployment/web", "nginx=nginx:1.26")
    kubectl.run("annotate", "deployment/web", "kubernetes.io/change-cause=move to 1.26")
    status = kubectl.run("rollout", "status", "deployment/web", "--timeout=90s").stdout
    assert "successfully rolled out" in status
    history = kubectl.run("rollout", "history", "deployment/web").stdout
    lines = [line.split() for line in history.splitlines() if line[:1].isdigit()]
    assert [line[0] for line in lines] == ["1", "2"]
    assert "move to 1.26" in history

    out = kubectl.run("rollout", "undo", "deployment/web").stdout
    assert "rolled back" in out
    kubectl.run("rollout", "status", "deployment/web", "--timeout=90s")
    assert image(kubectl) == "nginx:1.25"
    d = kubectl.json("get", "deployment", "web")
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    history = kubectl.run("rollout", "history", "deployment/web").stdout
    assert [line.split()[0] for line in history.splitlines() if line[:1].isdigit()] == \
        ["2", "3"]

    kubectl.run("rollout", "undo", "deployment/web", "--to-revision=2")
    kubectl.run("rollout", "status", "deployment/web", "--timeout=90s")
    assert image(kubectl) == "nginx:1.26"
    rs = kubectl.json("get", "replicasets", "-l", "app=web")["items"]
    assert len(rs) == 2


def test_pause_resume_restart_and_describe(kubectl, nodes):
    kubectl.create_deployment("web", "--image=nginx:1.25", "--replicas=2")
    kubectl.run("rollout", "status", "deployment/web", "--timeout=90s")
    kubectl.run("rollout", "pause", "deployment/web")
    kubectl.run("set", "image", "deployment/web", "nginx=nginx:1.27")
    wait_for(lambda: any(c.get("reason") == "DeploymentPaused" for c in
                         kubectl.json("get", "deployment", "web")["status"]["conditions"]),
             what="the paused condition")
    assert len(kubectl.json("get", "replicasets", "-l", "app=web")["items"]) == 1
    kubectl.run("rollout", "resume", "deployment/web")
    kubectl.run("rollout", "status", "deployment/web", "--timeout=90s")
    assert len(kubectl.json("get", "replicasets", "-l", "app=web")["items"]) == 2

    kubectl.run("rollout", "restart", "deployment/web")
    kubectl.run("rollout", "status", "deployment/web", "--timeout=90s")
    assert len(kubectl.json("get", "replicasets", "-l", "app=web")["items"]) == 3
    described = wait_for(lambda: (lambda text: text if "ScalingReplicaSet" in text else None)(
        kubectl.run("describe", "deployment", "web").stdout), what="events in describe")
    assert "Scaled up replica set web-" in described
    assert "NewReplicaSetAvailable" in described


def test_rollout_status_reports_a_stuck_rollout(kubectl, client, nodes, ns):
    client.create({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                   "spec": {"replicas": 1, "progressDeadlineSeconds": 3,
                            "selector": {"matchLabels": {"app": "web"}},
                            "template": {"metadata": {"labels": {"app": "web"}, "annotations": {
                                "hollow.supernetes.io/ready": "false"}},
                                "spec": {"containers": [{"name": "w", "image": "nginx"}]}}}},
                  ns)
    result = kubectl.run("rollout", "status", "deployment/web", "--timeout=60s", check=False)
    assert result.returncode != 0
    assert 'deployment "web" exceeded its progress deadline' in result.stderr


DAEMONSET_AND_JOB = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: "fluentd:1"}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  completions: 2
  template:
    metadata: {annotations: {"hollow.supernetes.io/exit-after": "0.2"}}
    spec:
      restartPolicy: Never
      containers: [{name: work, image: busybox}]
"""


def test_daemonset_rollout_status_and_job_wait(kubectl, nodes):
    applied = subprocess.run([kubectl.binary, "-n", kubectl.namespace, "apply", "-f", "-"],
                             input=DAEMONSET_AND_JOB, capture_output=True, text=True,
                             env=kubectl.env, timeout=60)
    assert applied.returncode == 0, applied.stderr
    status = kubectl.run("rollout", "status", "daemonset/agent", "--timeout=90s").stdout
    assert 'daemon set "agent" successfully rolled out' in status
    row = kubectl.run("get", "daemonset", "agent", "--no-headers").stdout.split()
    assert row[1:6] == ["2", "2", "2", "2", "2"]     # desired current ready up-to-date available
    kubectl.run("wait", "--for=condition=complete", "job/once", "--timeout=90s")
    row = kubectl.run("get", "job", "once", "--no-headers").stdout.split()
    assert "2/2" in row and ("Complete" in row or len(row) == 4)


def test_kubectl_delete_cascade_modes(kubectl, nodes):
    kubectl.create_deployment("web", "--image=nginx:1.25", "--replicas=2")
    kubectl.run("rollout", "status", "deployment/web", "--timeout=90s")
    kubectl.run("delete", "deployment", "web", "--cascade=orphan")
    [rs] = kubectl.json("get", "replicasets", "-l", "app=web")["items"]
    assert not rs["metadata"].get("ownerReferences")
    assert len(kubectl.json("get", "pods", "-l", "app=web")["items"]) == 2
    kubectl.run("delete", "replicaset", rs["metadata"]["name"], "--cascade=foreground",
                "--wait=true", "--timeout=60s")
    assert kubectl.json("get", "pods", "-l", "app=web")["items"] == []
