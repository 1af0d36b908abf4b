"""The real kubectl against the real server: what a Kubernetes user types.

The core runs against /usr/bin/kubectl and, where installed, kubectl 1.27 and
1.33 from the Cloud SDK, so both an old and a new client's discovery, table and
apply paths are exercised.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid

import pytest
import yaml
from apiserverkit import ApiServer

CANDIDATES = {"default": "/usr/bin/kubectl",
              "1.27": "/usr/lib/google-cloud-sdk/bin/kubectl.1.27",
              "1.33": "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"}
VERSIONS = [v for v, path in CANDIDATES.items() if os.access(path, os.X_OK)]

pytestmark = pytest.mark.skipif(not VERSIONS or shutil.which("kubectl") is None and
                                not os.path.exists(CANDIDATES["default"]),
                                reason="kubectl is not installed")

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports: [{containerPort: 80}]
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = ApiServer(tmp_path_factory.mktemp("kubectl") / "data")
    server.start()
    yield server
    server.stop()


class Kubectl:
    def __init__(self, binary: str, kubeconfig, tmp_path):
        self.binary = binary
        self.kubeconfig = str(kubeconfig)
        self.tmp_path = tmp_path
        # kubectl caches discovery under $HOME/.kube/cache: keep each run's apart
        self.env = {**os.environ, "HOME": str(tmp_path), "KUBECONFIG": self.kubeconfig}

    def run(self, *args, check=True, stdin: str | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run([self.binary, *args], input=stdin, capture_output=True,
                                text=True, env=self.env, timeout=60)
        if check:
            assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result


@pytest.fixture(params=VERSIONS)
def kubectl(request, server, tmp_path) -> Kubectl:
    tool = Kubectl(CANDIDATES[request.param], server.kubeconfig, tmp_path)
    tool.version = request.param
    return tool


@pytest.fixture
def namespace(kubectl) -> str:
    name = f"k-{uuid.uuid4().hex[:8]}"
    manifest = f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"
    assert kubectl.run("apply", "-f", "-", stdin=manifest).stdout.strip() == \
        f"namespace/{name} created"
    yield name
    kubectl.run("delete", "namespace", name, "--wait=false", check=False)


def test_create_namespace_and_delete_it(kubectl):
    name = f"c-{uuid.uuid4().hex[:8]}"
    assert kubectl.run("create", "namespace", name).stdout.strip() == \
        f"namespace/{name} created"
    assert name in kubectl.run("get", "namespaces", "-o", "name").stdout
    assert kubectl.run("delete", "namespace", name).stdout.strip() == \
        f'namespace "{name}" deleted'


def test_create_configmap_secret_serviceaccount(kubectl, namespace):
    """kubectl 1.33 sends these as protobuf; older ones as JSON."""
    kubectl.run("create", "configmap", "cfg", "-n", namespace, "--from-literal=greeting=hi")
    kubectl.run("create", "secret", "generic", "pw", "-n", namespace,
                "--from-literal=password=s3cret")
    kubectl.run("create", "serviceaccount", "robot", "-n", namespace)
    cm = json.loads(kubectl.run("get", "configmap", "cfg", "-n", namespace, "-o", "json").stdout)
    assert cm["data"] == {"greeting": "hi"}
    secret = json.loads(kubectl.run("get", "secret", "pw", "-n", namespace,
                                    "-o", "json").stdout)
    assert secret["data"] == {"password": "czNjcmV0"} and secret["type"] == "Opaque"
    assert kubectl.run("get", "serviceaccount", "robot", "-n", namespace,
                       "-o", "name").stdout.strip() == "serviceaccount/robot"


def test_apply_twice_updates_through_strategic_merge(kubectl, namespace, tmp_path):
    manifest = tmp_path / "deploy.yaml"
    manifest.write_text(DEPLOYMENT)
    out = kubectl.run("apply", "-n", namespace, "-f", str(manifest)).stdout
    assert out.strip() == "deployment.apps/web created"
    manifest.write_text(DEPLOYMENT.replace("replicas: 2", "replicas: 3")
                        .replace("nginx:1.25", "nginx:1.27"))
    out = kubectl.run("apply", "-n", namespace, "-f", str(manifest)).stdout
    assert out.strip() == "deployment.apps/web configured"
    obj = json.loads(kubectl.run("get", "deployment", "web", "-n", namespace,
                                 "-o", "json").stdout)
    assert obj["spec"]["replicas"] == 3
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert obj["metadata"]["generation"] == 2
    out = kubectl.run("apply", "-n", namespace, "-f", str(manifest)).stdout
    assert out.strip() == "deployment.apps/web unchanged"


def test_get_tables_yaml_json_selectors_all_namespaces(kubectl, namespace):
    kubectl.run("run", "one", "--image=busybox", "-n", namespace, "--labels=app=a")
    kubectl.run("run", "two", "--image=busybox", "-n", namespace, "--labels=app=b")
    table = kubectl.run("get", "pods", "-n", namespace).stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [line.split()[0] for line in table[1:]] == ["one", "two"]
    assert table[1].split()[1:3] == ["0/1", "Pending"]
    wide = kubectl.run("get", "pods", "-n", namespace, "-o", "wide").stdout.splitlines()
    assert "NODE" in wide[0].split()
    selected = kubectl.run("get", "pods", "-n", namespace, "-l", "app=b",
                           "-o", "name").stdout.split()
    assert selected == ["pod/two"]
    everywhere = kubectl.run("get", "pods", "-A").stdout.splitlines()
    assert everywhere[0].split()[0] == "NAMESPACE"
    assert any(line.split()[:2] == [namespace, "one"] for line in everywhere)
    as_yaml = yaml.safe_load(kubectl.run("get", "pod", "one", "-n", namespace,
                                         "-o", "yaml").stdout)
    assert as_yaml["metadata"]["labels"] == {"app": "a"}
    as_json = json.loads(kubectl.run("get", "pods", "-n", namespace, "-o", "json").stdout)
    assert as_json["kind"] == "List" and len(as_json["items"]) == 2
    none = kubectl.run("get", "pods", "-n", namespace, "-l", "app=zzz")
    assert "No resources found" in none.stderr


def test_get_watch_receives_a_change(kubectl, namespace):
    watcher = subprocess.Popen([kubectl.binary, "get", "pods", "-n", namespace, "-w",
                                "--request-timeout=30s"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=kubectl.env)
    try:
        time.sleep(1.5)
        kubectl.run("run", "watched", "--image=busybox", "-n", namespace)
        deadline = time.monotonic() + 20
        line = ""
        while time.monotonic() < deadline:
            line = watcher.stdout.readline()
            if line.startswith("watched"):
                break
        assert line.split()[:3] == ["watched", "0/1", "Pending"], line
    finally:
        watcher.terminate()
        watcher.communicate(timeout=10)


def test_describe_label_annotate_scale_delete(kubectl, namespace, tmp_path):
    kubectl.run("run", "desc", "--image=busybox", "-n", namespace)
    described = kubectl.run("describe", "pod", "desc", "-n", namespace).stdout
    assert "Name:" in described and "desc" in described
    assert "busybox" in described
    assert kubectl.run("label", "pod", "desc", "tier=web", "-n", namespace).stdout.strip() \
        == "pod/desc labeled"
    # (kubectl 1.27 prints "annotate", later ones "annotated")
    assert kubectl.run("annotate", "pod", "desc", "note=hi", "-n",
                       namespace).stdout.strip().startswith("pod/desc annotate")
    obj = json.loads(kubectl.run("get", "pod", "desc", "-n", namespace, "-o", "json").stdout)
    assert obj["metadata"]["labels"]["tier"] == "web"
    assert obj["metadata"]["annotations"]["note"] == "hi"
    manifest = tmp_path / "d.yaml"
    manifest.write_text(DEPLOYMENT)
    kubectl.run("apply", "-n", namespace, "-f", str(manifest))
    assert kubectl.run("scale", "deployment", "web", "--replicas=5", "-n",
                       namespace).stdout.strip() == "deployment.apps/web scaled"
    obj = json.loads(kubectl.run("get", "deployment", "web", "-n", namespace,
                                 "-o", "json").stdout)
    assert obj["spec"]["replicas"] == 5
    assert kubectl.run("delete", "pod", "desc", "-n", namespace).stdout.strip() == \
        'pod "desc" deleted'
    assert kubectl.run("get", "pod", "desc", "-n", namespace, check=False).returncode != 0


def test_errors_print_kubectls_one_line_messages(kubectl, namespace, tmp_path):
    missing = kubectl.run("get", "pod", "ghost", "-n", namespace, check=False)
    assert missing.returncode != 0
    assert missing.stderr.strip() == 'Error from server (NotFound): pods "ghost" not found'
    kubectl.run("run", "twice", "--image=busybox", "-n", namespace)
    again = kubectl.run("run", "twice", "--image=busybox", "-n", namespace, check=False)
    assert again.stderr.strip() == \
        'Error from server (AlreadyExists): pods "twice" already exists'
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\n"
                   "spec:\n  containers:\n  - name: c\n")
    invalid = kubectl.run("create", "-n", namespace, "-f", str(bad), check=False)
    assert invalid.returncode != 0
    assert 'The Pod "bad" is invalid: spec.containers[0].image: Required value' in \
        invalid.stderr


def test_explain_reads_the_openapi_document(kubectl):
    explained = kubectl.run("explain", "pods.spec.containers.image").stdout
    assert "image" in explained.lower()
    assert "FIELD" in explained or "DESCRIPTION" in explained


def test_version_and_api_resources(kubectl):
    version = kubectl.run("version", "-o", "json").stdout
    assert json.loads(version)["serverVersion"]["major"] == "1"
    resources = kubectl.run("api-resources", "-o", "name").stdout.split()
    for name in ("pods", "namespaces", "deployments.apps", "leases.coordination.k8s.io"):
        assert name in resources
