"""A node agent's API for tests, over real containers: no agent core needed.

`Node` stands where the agent core would: it runs busybox containers through
the agent's superc runtime (a real spawner, real namespaces and cgroups), labelled with
the annotations `agent/ocispec.py` writes, their output written as CRI logs by
superc's monitor where the agent core puts them, and serves them with the real agent API
(`agent/server.py`): a serving certificate signed by a real API server through
the node's own credential, a Node object pointing at it.

    node = Node(tmp, apiserver, "node-a")          # joins, starts the API server
    ref = node.run("ns", "web", "app", ["sh", "-c", "echo hi; sleep 60"])
    node.admin_get("/containerLogs/ns/web/app")    # as the node admin (token)
    node.close()                                   # containers, spawner, server gone

`Node(..., runtime="runc")` runs the containers with runc through the agent's
OCI-CLI runtime instead (its shims write the CRI logs).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import requests

from supernetes.agent import logs, metrics, nodeview, server, servingcert, stats
from supernetes.agent.ocispec import ANNOTATION
from supernetes.agent.runtimes.base import EXITED, ContainerRuntimeError
from supernetes.agent.runtimes.ocicli import OciCliRuntime
from supernetes.agent.runtimes.superc import SupercRuntime
from supernetes.controlplane.client import Client, Connection, Transport
from supernetes.runtime.specgen import default_spec

BUSYBOX = "/bin/busybox"


def busybox_template(root: Path) -> Path:
    """A directory with /bin/busybox and a symlink per applet, to hard-link rootfses from."""
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    shutil.copy2(BUSYBOX, bin_dir / "busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        if applet != "busybox" and "/" not in applet:
            os.symlink("busybox", bin_dir / applet)
    return root


def _rootfs(template: Path, rootfs: Path) -> None:
    (rootfs / "bin").mkdir(parents=True)
    for name in ("proc", "dev", "sys", "tmp", "etc"):
        (rootfs / name).mkdir()
    for entry in os.scandir(template / "bin"):
        dest = rootfs / "bin" / entry.name
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), dest)
        else:
            os.link(entry.path, dest)
    (rootfs / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")


class Node:
    def __init__(self, tmp: Path, apiserver, name: str | None = None, *,
                 template: Path | None = None, runtime: str = "superc"):
        self.tmp = Path(tmp)
        self.apiserver = apiserver
        self.name = name or f"node-{uuid.uuid4().hex[:8]}"
        self.template = template or busybox_template(self.tmp / "busybox")
        self.logs_root = str(self.tmp / "logs")
        self.state_root = str(self.tmp / "state")
        self.bundles = self.tmp / "bundles"
        self.pods: list[dict] = []
        self.cgroup_parent = f"sn-agentapi-{uuid.uuid4().hex[:8]}"
        if runtime == "superc":
            self.runtime = SupercRuntime.launch(root=self.state_root,
                                                socket_path=str(self.tmp / "spawner.sock"))
        else:
            self.runtime = OciCliRuntime(runtime, root=self.state_root)
        try:
            self.client = self._join()
            self.tls = servingcert.ensure_serving_tls(self.client, self.name,
                                                      self.tmp / "pki",
                                                      addresses=["127.0.0.1"])
            self.registry = metrics.Registry()
            self.view = nodeview.RuntimeNodeView(self.runtime, self.logs_root,
                                                 pods=lambda: self.pods,
                                                 metrics=self.registry)
            self.stats = stats.StatsProvider(self.view, self.name, str(self.tmp))
            self.server = server.AgentServer(server.ServerConfig(self.name, "127.0.0.1", 0),
                                             self.view, self.tls, self.stats, self.registry)
            self.server.start()
            self.register()
        except BaseException:
            self.runtime.close()
            raise

    # -- the cluster side ------------------------------------------------------------------

    def _join(self) -> Client:
        admin = self.apiserver.admin
        reply = admin.session.post(admin.url + "/supernetes/v1/join",
                                   json={"nodeName": self.name},
                                   headers={"Authorization":
                                            f"Bearer {self.apiserver.tokens['bootstrap']}"},
                                   timeout=30)
        assert reply.status_code == 201, reply.text
        credential = reply.json()
        conn = Connection(server=self.apiserver.url, token=credential["token"],
                          ca_data=self.apiserver.ca.read_bytes())
        return Client(Transport(conn))

    def register(self) -> None:
        """A Node object pointing at our API, as the agent core registers one."""
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.name}}
        created = self.client.create(node)
        created["status"] = {
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                          {"type": "Hostname", "address": self.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.server.port}},
            "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
            "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}
        self.client.replace_status(created)

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.server.port}"

    def session(self, token: str | None = None, cert=None) -> requests.Session:
        s = requests.Session()
        s.trust_env = False
        s.verify = str(self.tls.client_ca)
        if token:
            s.headers["Authorization"] = f"Bearer {token}"
        if cert:
            s.cert = cert
        return s

    def admin_get(self, path: str, **kw) -> requests.Response:
        return self.session(self.tls.admin_token).get(self.base_url + path, timeout=30, **kw)

    # -- containers ------------------------------------------------------------------------

    def add_pod(self, namespace: str, pod: str, containers: list[str], uid: str | None = None,
                **status) -> dict:
        obj = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": pod, "namespace": namespace,
                            "uid": uid or str(uuid.uuid4())},
               "spec": {"nodeName": self.name,
                        "containers": [{"name": c, "image": "busybox"} for c in containers]},
               "status": status}
        self.pods.append(obj)
        return obj

    def create_pod(self, namespace: str, pod: str, containers: list[str]) -> dict:
        """A Pod object in the API server, bound to this node, that this node runs."""
        body = {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod, "namespace": namespace},
                "spec": {"nodeName": self.name,
                         "containers": [{"name": c, "image": "busybox"} for c in containers]}}
        reply = self.apiserver.admin.post(f"/api/v1/namespaces/{namespace}/pods", body)
        assert reply.status_code == 201, reply.text
        created = reply.json()
        self.pods.append(created)
        return created

    def run(self, pod: dict, container: str, args: list[str], attempt: int = 0,
            tty: bool = False) -> str:
        """Create and start one container instance of `pod`; its runtime id."""
        meta = pod["metadata"]
        cid = f"{meta['name']}-{container}-{attempt}-{uuid.uuid4().hex[:6]}"
        bundle = self.bundles / cid
        bundle.mkdir(parents=True)
        _rootfs(self.template, bundle / "rootfs")
        spec = default_spec()
        spec["process"].update(args=list(args), terminal=tty)
        spec["hostname"] = meta["name"]
        # Relative: below the caller's own cgroup (runc resolves it the same way).
        spec["linux"]["cgroupsPath"] = f"{self.cgroup_parent}/{cid}"
        spec["annotations"] = {
            f"{ANNOTATION}.pod.uid": meta["uid"], f"{ANNOTATION}.pod.name": meta["name"],
            f"{ANNOTATION}.pod.namespace": meta["namespace"],
            f"{ANNOTATION}.container.name": container,
            f"{ANNOTATION}.container.attempt": str(attempt),
            f"{ANNOTATION}.container.init": "false"}
        (bundle / "config.json").write_text(json.dumps(spec))
        log_path = logs.container_log_path(self.logs_root, meta["namespace"], meta["name"],
                                           meta["uid"], container, attempt)
        self.runtime.create(cid, str(bundle), log_path=log_path, log_max_size=2**20,
                            log_max_files=2)
        self.runtime.start(cid)
        return cid

    def wait_exit(self, cid: str, timeout: float = 30) -> dict:
        """The exit record, once the container has exited (and its log is complete)."""
        info = self.wait_for(lambda: (i := self.runtime.info(cid)).status == EXITED and i,
                             timeout)
        return {"exitCode": info.exit_code}

    def wait_for(self, predicate, timeout: float = 20.0, interval: float = 0.05):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")

    # -- teardown --------------------------------------------------------------------------

    def _remove_cgroup_parent(self) -> None:
        """runc leaves the (empty) parent directories in every hierarchy it touched, and
        puts the controller-less cgroup2 one at that hierarchy's root, not below ours."""
        with open("/proc/self/cgroup") as f:
            own = {line.split(":")[1]: line.rstrip("\n").split(":", 2)[2] for line in f}
        candidates = [os.path.join("/sys/fs/cgroup/unified", self.cgroup_parent)]
        for entry in os.scandir("/sys/fs/cgroup"):
            for controllers, path in own.items():
                names = {n.removeprefix("name=") for n in controllers.split(",")}
                if entry.name in names or (not controllers and entry.name == "unified"):
                    candidates.append(os.path.join(entry.path, path.lstrip("/"),
                                                   self.cgroup_parent))
        for parent in candidates:
            if os.path.isdir(parent):
                for sub in os.scandir(parent):
                    if sub.is_dir():
                        os.rmdir(sub.path)
                os.rmdir(parent)

    def close(self) -> None:
        self.server.stop()
        for info in self.runtime.list():
            try:
                self.runtime.delete(info.id, force=True)
            except ContainerRuntimeError:
                pass
        self.runtime.close()
        self._remove_cgroup_parent()
        try:
            self.client.delete("v1", "Node", self.name)
        finally:
            self.client.close()
