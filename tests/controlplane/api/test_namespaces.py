"""Namespaces: the name label, the kubernetes finalizer, DNS-1123 label names."""

from supernetes.controlplane.api import registry


def test_namespace_defaults_and_prepare():
    namespaces = registry.lookup("", "v1", "namespaces")
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}
    namespaces.default(ns)
    namespaces.prepare_for_create(ns)
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["status"] == {"phase": "Active"}
    assert namespaces.validate(ns) == []


def test_namespace_name_must_be_a_dns_label():
    namespaces = registry.lookup("", "v1", "namespaces")
    ns = {"metadata": {"name": "a.b"}}
    found = [e.message() for e in namespaces.validate(ns)]
    assert found == ['metadata.name: Invalid value: "a.b": must not contain dots']


def test_namespace_may_not_have_a_namespace():
    namespaces = registry.lookup("", "v1", "namespaces")
    found = [e.message() for e in namespaces.validate({"metadata": {"name": "a",
                                                                    "namespace": "b"}})]
    assert found == ["metadata.namespace: Forbidden: not allowed on this type"]


def test_namespace_table():
    namespaces = registry.lookup("", "v1", "namespaces")
    cols, rows = namespaces.table([{"metadata": {"name": "a"}, "status": {"phase": "Active"}}])
    assert [c["name"] for c in cols] == ["Name", "Status", "Age"]
    assert rows == [["a", "Active", "<unknown>"]]
