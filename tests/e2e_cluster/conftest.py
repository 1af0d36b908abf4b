"""The end-to-end suite against any running cluster, reached through a kubeconfig.

    make e2e KUBECONFIG=/etc/supernetes/admin.kubeconfig
    E2E_KUBECONFIG=... .venv/bin/pytest -m e2e tests/e2e_cluster

It talks to the cluster only through the real kubectl (E2E_KUBECTL, default
/usr/bin/kubectl), the way a user does: it needs no access to the nodes, so the
same suite runs on the host of a `supernetes up` (inside its network namespace),
in a `supernetes lab`, or inside the Vagrant VMs. Pods use E2E_IMAGE (default
localhost/busybox:latest, the image `supernetes up`, the lab and the Vagrant
provisioning put on every node). Everything is made in a namespace of its own,
`e2e-<random>`, deleted (and awaited) at the end.

The kubeconfig is taken from E2E_KUBECONFIG only, never from KUBECONFIG or
~/.kube/config: a plain `make test` must not deploy onto whatever cluster the
user's shell points at. Without it every test here is skipped, saying so.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from e2eclusterkit import KUBECONFIG, KUBECTL, Kubectl, wait_for

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = None
    if not KUBECONFIG:
        reason = ("no cluster given: run `make e2e KUBECONFIG=/path/to/admin.kubeconfig` "
                  "(or set E2E_KUBECONFIG)")
    elif not os.path.exists(KUBECONFIG):
        reason = f"E2E_KUBECONFIG {KUBECONFIG} does not exist"
    elif not os.access(KUBECTL, os.X_OK):
        reason = f"needs kubectl at {KUBECTL} (set E2E_KUBECTL)"
    if reason is None:
        return
    for item in items:
        if Path(str(item.fspath)).is_relative_to(HERE):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def cluster_kubectl() -> Kubectl:
    return Kubectl(KUBECONFIG, "default")


@pytest.fixture(scope="session")
def kubectl(cluster_kubectl) -> Kubectl:
    """kubectl in a fresh namespace; the namespace and all in it are gone afterwards."""
    name = f"e2e-{secrets.token_hex(3)}"
    cluster_kubectl.run("create", "namespace", name, namespaced=False)
    yield Kubectl(KUBECONFIG, name)
    cluster_kubectl.run("delete", "namespace", name, "--wait=false", namespaced=False)
    wait_for(lambda: cluster_kubectl.run("get", "namespace", name, namespaced=False,
                                         check=False).returncode != 0,
             f"namespace {name} to be deleted")
