"""superctl fixtures: a real API server, and superctl / kubectl run as the user runs them.

`sctl(...)` runs the installed `superctl` as a subprocess (output and exit status are
what is tested) with the server's admin kubeconfig, in the test's namespace;
`kctl(...)` runs the real kubectl the same way, for comparisons.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from apiserverkit import ApiServer

from supernetes.controlplane.client import Client

SUPERCTL = str(Path(sys.executable).parent / "superctl")
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = ApiServer(tmp_path_factory.mktemp("ctl-apiserver") / "data")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server):
    with Client.from_kubeconfig(str(server.kubeconfig)) as c:
        yield c


@pytest.fixture
def ns(client):
    name = f"t-{uuid.uuid4().hex[:10]}"
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    client.delete("v1", "Namespace", name)


def _runner(binary, server, ns, home):
    def run(*args, input=None, env=None, namespaced=True, timeout=60):
        full_env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home),
                    "KUBECONFIG": str(server.kubeconfig), **(env or {})}
        cmd = [binary, *args] + (["-n", ns] if namespaced and ns else [])
        return subprocess.run(cmd, input=input, capture_output=True, text=True, env=full_env,
                              timeout=timeout)
    return run


@pytest.fixture
def sctl(server, ns, tmp_path):
    return _runner(SUPERCTL, server, ns, tmp_path)


@pytest.fixture
def kctl(server, ns, tmp_path):
    return _runner(KUBECTL, server, ns, tmp_path)
