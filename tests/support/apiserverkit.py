"""A real API server for tests: `ApiServer` runs `supernetes server`, `Client` talks to it.

Shared by every test that needs a control plane (the API server's own suite,
and later the scheduler, controllers and agent tests): the real command
(gunicorn, TLS, the watch cache) on 127.0.0.1 with an ephemeral port and a data
dir under pytest's tmp; ready once the admin kubeconfig exists. `Etcd` runs a
real etcd member on loopback ports for the etcd backend.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from supernetes.controlplane import kubeconfig

SUPERNETES = str(Path(sys.executable).parent / "supernetes")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Etcd:
    """One etcd member on loopback ports, data under tmp."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.client = f"http://127.0.0.1:{free_port()}"
        self.peer = f"http://127.0.0.1:{free_port()}"
        self.url = "etcd://" + self.client.removeprefix("http://")
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.data_dir.parent / "etcd.log", "ab")
        self.process = subprocess.Popen(
            ["etcd", "--name", "apiserver-test", "--data-dir", str(self.data_dir),
             "--listen-client-urls", self.client, "--advertise-client-urls", self.client,
             "--listen-peer-urls", self.peer, "--initial-advertise-peer-urls", self.peer,
             "--initial-cluster", f"apiserver-test={self.peer}", "--log-level", "error"],
            stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"etcd exited with {self.process.returncode}")
            try:
                if requests.post(f"{self.client}/v3/kv/range", json={"key": "AA=="},
                                 timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("etcd did not become ready in 20 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


class ApiServer:
    """A `supernetes server` process and clients for it."""

    def __init__(self, data_dir: Path, store_url: str | None = None, extra_args=(),
                 components: bool = False):
        """`components`: run the scheduler and the controllers in the server too (as
        `supernetes server` does by default); off, the API server stands alone."""
        self.data_dir = data_dir
        self.store_url = store_url
        self.extra_args = list(extra_args)
        if not components:
            self.extra_args[:0] = ["--disable-scheduler", "--disable-controllers"]
        self.process: subprocess.Popen | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}.log"

    def start(self, timeout: float = 60) -> None:
        args = [SUPERNETES, "server", "--data-dir", str(self.data_dir), "--bind", "127.0.0.1",
                "--port", "0", "--threads", "256", "--log-level", "warning",
                *self.extra_args]
        if self.store_url:
            args += ["--store", self.store_url]
        kubeconfig_path = self.data_dir / "admin.kubeconfig"
        kubeconfig_path.unlink(missing_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=log,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        while not kubeconfig_path.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n"
                                   f"{self.log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"no kubeconfig after {timeout} s:\n"
                                   f"{self.log_path.read_text()[-3000:]}")
            time.sleep(0.05)
        self.kubeconfig = kubeconfig_path
        config = kubeconfig.load(kubeconfig_path)
        self.url = config.server
        self.ca = self.data_dir / "pki" / "ca.crt"
        self.tokens = {name: (self.data_dir / "tokens" / name).read_text().strip()
                       for name in ("admin", "viewer", "bootstrap")}
        self.admin = self.client("admin")

    def client(self, token_name: str | None = None, token: str | None = None) -> Client:
        if token_name is not None:
            token = self.tokens[token_name]
        return Client(self.url, self.ca, token)

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None


class Client:
    """A thin HTTPS client: real requests, verified against the cluster CA."""

    def __init__(self, url: str, ca: Path, token: str | None):
        self.url = url
        self.session = requests.Session()
        # No environment: REQUESTS_CA_BUNDLE would override the cluster CA, a proxy
        # variable would route loopback traffic away.
        self.session.trust_env = False
        self.session.verify = str(ca)
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, body=None, *, content_type=None, data=None,
                headers=None, params=None, stream=False, timeout=30) -> requests.Response:
        headers = dict(headers or {})
        if body is not None:
            import json
            data = json.dumps(body)
            headers.setdefault("Content-Type", content_type or "application/json")
        elif content_type:
            headers["Content-Type"] = content_type
        return self.session.request(method, self.url + path, data=data, headers=headers,
                                    params=params, stream=stream, timeout=timeout)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body=None, content_type="application/merge-patch+json", **kw):
        return self.request("PATCH", path, body, content_type=content_type, **kw)

    def delete(self, path, body=None, **kw):
        return self.request("DELETE", path, body, **kw)




def etcd_backend_available() -> bool:
    try:
        import supernetes.controlplane.store.etcd  # noqa: F401
    except ImportError:
        return False
    return shutil.which("etcd") is not None


def pod(name: str, image: str = "busybox", **labels) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {"app": "test"}},
            "spec": {"containers": [{"name": "main", "image": image}]}}
