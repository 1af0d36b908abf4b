"""The registry finds every served type by URL, kind and kubectl name."""

from supernetes.controlplane.api import registry


def test_lookup_by_path_and_kind():
    pods = registry.lookup("", "v1", "pods")
    assert pods.kind == "Pod" and pods.namespaced and pods.api_version == "v1"
    assert registry.by_kind("v1", "Pod") is pods
    assert registry.lookup("", "v1", "nopes") is None


def test_namespace_is_cluster_scoped():
    ns = registry.lookup("", "v1", "namespaces")
    assert not ns.namespaced and "ns" in ns.short_names


def test_resolve_accepts_kubectl_names():
    assert registry.resolve("po").kind == "Pod"
    assert registry.resolve("Pod").kind == "Pod"
    assert registry.resolve("pods").kind == "Pod"
    assert registry.resolve("namespace").kind == "Namespace"


def test_groups_lists_core_first():
    groups = registry.groups()
    assert groups[0] == ("", ["v1"])
    assert ("apps", ["v1"]) in groups and ("autoscaling", ["v2"]) in groups


def test_kind_only_types_are_not_served():
    eviction = registry.by_kind("policy/v1", "Eviction")
    assert eviction is not None and not eviction.served
    assert registry.lookup("policy", "v1", "") is None
    assert eviction not in registry.all_types()


def test_binding_is_create_only():
    bindings = registry.lookup("", "v1", "bindings")
    assert bindings.verbs == ("create",)


def test_field_selectors_of_pods():
    pods = registry.lookup("", "v1", "pods")
    pod = {"metadata": {"name": "a", "namespace": "ns"}, "spec": {"nodeName": "n1"},
           "status": {"phase": "Running"}}
    assert pods.field(pod, "metadata.name") == "a"
    assert pods.field(pod, "metadata.namespace") == "ns"
    assert pods.field(pod, "spec.nodeName") == "n1"
    assert pods.field(pod, "status.phase") == "Running"
    assert pods.field(pod, "spec.hostNetwork") == "false"
    assert pods.field(pod, "spec.image") is None
    assert "spec.nodeName" in pods.selectable_fields()


def test_default_reports_whether_the_object_is_well_typed():
    pods = registry.by_kind("v1", "Pod")
    good = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"},
            "spec": {"containers": [{"name": "a", "image": "busybox"}]}}
    assert pods.default(good) is True
    assert good["spec"]["enableServiceLinks"] is True         # the type's code ran
    bad = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": "not a list"}}
    assert pods.default(bad) is False
    assert "enableServiceLinks" not in bad["spec"]            # it did not
    # Told nothing, validate still walks the types; told well typed, it trusts that.
    assert [e.field for e in pods.validate(bad)] == ["spec.containers"]
    assert pods.validate(good, well_typed=True) == []
