"""A whole single-node cluster for the agent's tests, inside a network namespace of its own.

`NetNS` is a network namespace bound to a file under the test's tmp dir (not in
/run/netns, where a concurrent session's leak check would see it, and delete it,
as one of its own). `Cluster` runs, inside it, the real `supernetes server`
(with its scheduler and controllers) and the real `superlet run`, exactly as
`supernetes up --netns` does; the machine's own network is never touched.

The test process itself stays in the host's namespace, so `Forwarder` relays a
loopback port of the host into the namespace's API server (each relayed
connection is opened by a thread that entered the namespace): the test's
`Client`, kubectl and superctl all talk to the cluster through it. Packets to pods
are sent from inside the namespace (`Cluster.http_get`), as the node would.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import yaml

from supernetes.agent.network import netns as netns_mod
from supernetes.controlplane.client import Client, NotFound
from supernetes.runtime import linux

BIN = Path(sys.executable).parent
SERVER_PORT = 6443
# Short periods keep the suite quick: the runtime relisted every 0.2 s, every pod
# re-synced every 2 s (configMap volumes refresh then), crash-loop back-off from 1 s
# doubling up to 4 s.
TEST_AGENT_ARGS = ("--relist-period", "0.2", "--sync-frequency", "2", "--crash-backoff", "1",
                   "4", "--node-status-period", "2")


class NetNS:
    def __init__(self, path: Path):
        self.path = str(path)
        Path(self.path).touch()
        subprocess.run(["unshare", f"--net={self.path}", "true"], check=True)
        self.run(["ip", "link", "set", "lo", "up"], check=True)

    def popen(self, argv: list[str], **kwargs) -> subprocess.Popen:
        return subprocess.Popen(["nsenter", f"--net={self.path}", *argv], **kwargs)

    def run(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        return subprocess.run(["nsenter", f"--net={self.path}", *argv], **kwargs)

    def call(self, fn, *args, **kwargs):
        return netns_mod.run_in(self.path, fn, *args, **kwargs)

    def close(self) -> None:
        try:
            linux.umount2(self.path, linux.MNT_DETACH)
        except OSError:
            pass
        Path(self.path).unlink(missing_ok=True)


class Forwarder:
    """127.0.0.1:<port> in the host -> 127.0.0.1:<target> inside a network namespace."""

    def __init__(self, ns: NetNS, target: int):
        self.ns = ns
        self.target = target
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self._stop = False
        self._threads: list[threading.Thread] = []
        self._spawn(self._accept)

    def _spawn(self, fn, *args) -> None:
        thread = threading.Thread(target=fn, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = self.ns.call(socket.create_connection, ("127.0.0.1", self.target), 5)
            except OSError:
                client.close()
                continue
            self._spawn(self._pump, client, upstream)

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1.0)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (b if sock is a else a).sendall(data)
        except OSError:
            pass
        finally:
            a.close()
            b.close()

    def close(self) -> None:
        self._stop = True
        self.listener.close()


class Cluster:
    """`supernetes server` + `superlet run` in a namespace; the agent's options are the test's."""

    def __init__(self, tmp: Path, runtime: str = "superc", node: str | None = None,
                 agent_args: tuple[str, ...] = (), server_args: tuple[str, ...] = ()):
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        self.runtime = runtime
        # unique: agents sharing the test's cgroup each keep their own cgroup parent
        self.node = node or f"node-{uuid.uuid4().hex[:6]}"
        self.agent_args = list(agent_args)
        self.server_args = list(server_args)
        self.data = tmp / "server"
        self.root_dir = tmp / "superlet"
        self.run_dir = tmp / "run"
        self.ns = NetNS(tmp / "netns")
        self.server: subprocess.Popen | None = None
        self.agent: subprocess.Popen | None = None
        self.forwarder: Forwarder | None = None
        self.client: Client | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def start(self, images: list[str] = ()) -> Cluster:
        log = open(self.tmp / "server.log", "ab")
        self.server = self.ns.popen([str(BIN / "supernetes"), "server", "--data-dir",
                                     str(self.data), "--bind", "127.0.0.1", "--port",
                                     str(SERVER_PORT), "--threads", "128",
                                     "--node-monitor-grace-period", "60",
                                     *self.server_args],
                                    stdout=log, stderr=log)
        log.close()
        admin = self.data / "admin.kubeconfig"
        _wait(admin.exists, 30, "the API server", self.tmp / "server.log")
        self.forwarder = Forwarder(self.ns, SERVER_PORT)
        config = yaml.safe_load(admin.read_text())
        config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{self.forwarder.port}"
        self.kubeconfig = self.tmp / "admin.kubeconfig"
        self.kubeconfig.write_text(yaml.safe_dump(config))
        self.client = Client.from_kubeconfig(str(self.kubeconfig))
        for layout in images:
            subprocess.run([str(BIN / "superlet"), "image", "--root",
                            str(self.root_dir / "images"), "import", layout],
                           check=True, capture_output=True)
        self.start_agent(token=(self.data / "tokens" / "bootstrap").read_text().strip())
        _wait(self.node_ready, 60, "the node to become Ready", self.tmp / "agent.log")
        return self

    def start_agent(self, token: str | None = None) -> None:
        argv = [str(BIN / "superlet"), "run", "--server", f"https://127.0.0.1:{SERVER_PORT}",
                "--node-name", self.node, "--root-dir", str(self.root_dir),
                "--run-dir", str(self.run_dir), "--runtime", self.runtime, "--port", "0",
                *self.agent_args]
        if token:
            argv += ["--token", token]
        log = open(self.tmp / "agent.log", "ab")
        self.agent = self.ns.popen(argv, stdout=log, stderr=log)
        log.close()

    def stop_agent(self, sig: int = signal.SIGTERM) -> None:
        if self.agent is None:
            return
        self.agent.send_signal(sig)
        self.agent.wait(timeout=30)
        self.agent = None

    def close(self) -> None:
        try:
            if self.client is not None:
                self.client.close()
            self.stop_agent()
            # inside the namespace: the reset removes the node's bridge, routes and rules
            self.ns.run([str(BIN / "superlet"), "reset", "--all", "--force", "--root-dir",
                         str(self.root_dir), "--run-dir", str(self.run_dir),
                         "--runtime", self.runtime])
            if self.server is not None:
                self.server.terminate()
                self.server.wait(timeout=30)
        finally:
            if self.forwarder is not None:
                self.forwarder.close()
            self.ns.close()

    # --- looking -------------------------------------------------------------------------

    def node_ready(self) -> bool:
        try:
            node = self.client.get("v1", "Node", self.node)
        except NotFound:
            return False
        return any(c["type"] == "Ready" and c["status"] == "True"
                   for c in (node.get("status") or {}).get("conditions") or [])

    def pod(self, name: str, namespace: str = "default") -> dict | None:
        try:
            return self.client.get("v1", "Pod", name, namespace)
        except NotFound:
            return None

    def wait_pod(self, name: str, predicate, timeout: float = 60, namespace: str = "default",
                 what: str = "the condition") -> dict:
        last: dict = {}

        def check() -> bool:
            nonlocal last
            last = self.pod(name, namespace) or {}
            return bool(last) and predicate(last)

        try:
            _wait(check, timeout, f"pod {name}: {what}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nlast status: {last.get('status')}\n"
                                 f"agent log:\n{self.agent_log_tail()}") from None
        return last

    def agent_log_tail(self, lines: int = 25) -> str:
        log = self.tmp / "agent.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def create(self, obj: dict) -> dict:
        return self.client.create(obj)

    def delete_pod(self, name: str, namespace: str = "default", timeout: float = 60,
                   grace: int | None = None) -> None:
        """Delete and wait until the agent has removed it and the API has let it go."""
        try:
            self.client.delete("v1", "Pod", name, namespace, grace_period_seconds=grace)
        except NotFound:
            return
        _wait(lambda: self.pod(name, namespace) is None, timeout, f"pod {name} to go away")

    def superlet(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "superlet"), *args[:1], "--root-dir",
                               str(self.root_dir), "--run-dir", str(self.run_dir), *args[1:]],
                              capture_output=True, text=True, check=check)

    def exec(self, pod: str, *command: str, container: str | None = None) -> str:
        args = ["exec", pod] + (["-c", container] if container else []) + ["--", *command]
        return self.superlet(*args).stdout

    def http_get(self, ip: str, port: int = 8080, path: str = "/", timeout: float = 5) -> str:
        """GET from the node (inside the cluster's namespace), as the node reaches pods."""
        import http.client

        def get() -> str:
            conn = http.client.HTTPConnection(ip, port, timeout=timeout)
            try:
                conn.request("GET", path)
                return conn.getresponse().read().decode()
            finally:
                conn.close()

        return self.ns.call(get)

    def local_leftovers(self) -> dict[str, list[str]]:
        """What the node still holds of any pod: the delete test expects nothing."""
        found: dict[str, list[str]] = {}
        for name, path in (("pod dirs", self.root_dir / "pods"), ("sandboxes",
                           self.run_dir / "pods"), ("logs", self.root_dir / "logs")):
            entries = sorted(os.listdir(path)) if path.exists() else []
            if entries:
                found[name] = entries
        ipam = self.root_dir / "ipam"
        addresses = [e for d in (ipam.iterdir() if ipam.exists() else [])
                     for e in os.listdir(d) if e[0].isdigit()]
        if addresses:
            found["addresses"] = addresses
        links = [ln for ln in self.ns.run(["ip", "-o", "link"]).stdout.splitlines()
                 if "veth" in ln]
        if links:
            found["veths"] = links
        with open("/proc/self/mountinfo") as f:
            mounts = [ln.split()[4] for ln in f
                      if ln.split()[4].startswith(str(self.tmp) + "/") and "netns" not in ln]
        if mounts:
            found["mounts"] = mounts
        containers = self.superlet("ps", "--runtime", self.runtime).stdout.splitlines()[1:]
        if containers:
            found["containers"] = containers
        return found


def _wait(check, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    tail = ""
    if log is not None and log.exists():
        tail = "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-30:])
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{tail}")


def wait(check, timeout: float, what: str) -> None:
    _wait(check, timeout, what)


def pod(name: str, containers: list[dict], **spec) -> dict:
    """A Pod manifest with the test defaults: busybox from the node, quick termination."""
    for container in [*containers, *spec.get("initContainers", [])]:
        container.setdefault("image", "busybox")
        container.setdefault("imagePullPolicy", "IfNotPresent")
    spec.setdefault("terminationGracePeriodSeconds", 1)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": containers, **spec}}


def container_status(p: dict, name: str) -> dict:
    for status in (p.get("status") or {}).get("containerStatuses") or []:
        if status["name"] == name:
            return status
    return {}


def ready(p: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in (p.get("status") or {}).get("conditions") or [])


def running(p: dict) -> bool:
    return (p.get("status") or {}).get("phase") == "Running"


def start_cluster(tmp: Path, busybox_layout: str, runtime: str,
                  agent_args: tuple[str, ...] = TEST_AGENT_ARGS) -> Cluster:
    cluster = Cluster(tmp, runtime=runtime, agent_args=agent_args)
    try:
        cluster.start(images=[busybox_layout])
    except BaseException:
        cluster.close()
        raise
    return cluster
