"""Namespace deletion and the default ServiceAccount, against a real API server whose own
namespace loop is off (`--disable-namespace-finalizer`): the namespace controller does it."""

from __future__ import annotations

import uuid

import pytest
from hollow import wait_for
from test_deployment import complete, deployment

from supernetes.controlplane.client import NotFound

pytestmark = pytest.mark.slow


def exists(client, api_version, kind, name, ns=None) -> bool:
    try:
        client.get(api_version, kind, name, ns)
        return True
    except NotFound:
        return False


def test_new_namespaces_get_a_default_service_account(client, manager):
    name = f"sa-{uuid.uuid4().hex[:6]}"
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    try:
        wait_for(lambda: exists(client, "v1", "ServiceAccount", "default", name),
                 what="the default ServiceAccount")
        client.delete("v1", "ServiceAccount", "default", name)
        wait_for(lambda: exists(client, "v1", "ServiceAccount", "default", name),
                 what="the default ServiceAccount recreated")
    finally:
        client.delete("v1", "Namespace", name)


def test_deleted_namespace_takes_everything_with_it(client, kubelet):
    name = f"gone-{uuid.uuid4().hex[:6]}"
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    kubelet.add_node(f"{kubelet.prefix}0")
    client.create(deployment("web", 2), name)
    wait_for(lambda: complete(client, name, "web"), timeout=60, what="2 replicas")
    client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
                   "data": {"a": "1"}}, name)
    client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
                   "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}, name)
    # Something with a finalizer of its own keeps the namespace until it is released.
    client.create({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": "held", "finalizers": ["example.com/hold"]}}, name)

    deleted = client.delete("v1", "Namespace", name)
    assert deleted["status"]["phase"] == "Terminating"

    def conditions():
        ns = client.get("v1", "Namespace", name)
        found = {c["type"]: c for c in ns["status"].get("conditions") or ()}
        remaining = found.get("NamespaceContentRemaining", {}).get("message", "")
        return found if found.get("NamespaceFinalizersRemaining", {}).get(
            "status") == "True" and "pods" not in remaining else None
    # The pods go once the (hollow) node agent stopped them; the Secret stays.
    found = wait_for(conditions, timeout=30, what="the namespace waiting on a finalizer")
    assert found["NamespaceFinalizersRemaining"]["message"] == (
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 "
        "resource instances")
    assert found["NamespaceContentRemaining"]["message"] == (
        "Some resources are remaining: secrets. has 1 resource instances")
    assert found["NamespaceDeletionContentFailure"]["status"] == "False"
    for kind, api_version, obj in (("Deployment", "apps/v1", "web"),
                                   ("ConfigMap", "v1", "cfg"), ("Service", "v1", "svc")):
        assert not exists(client, api_version, kind, obj, name)
    assert not client.list("v1", "Pod", name)["items"]

    client.patch("v1", "Secret", "held", {"metadata": {"finalizers": None}}, name,
                 patch_type="merge")
    wait_for(lambda: not exists(client, "v1", "Namespace", name), timeout=30,
             what="the namespace gone")
