"""Strategic merge patch, with cases taken from Kubernetes' strategicpatch tests
(the MergeItem schema below mirrors their test struct) and from what
`kubectl apply` really sends for built-in types."""

import pytest
import yaml

from supernetes.controlplane.api import PatchError, registry
from supernetes.controlplane.api.patch import strategic_merge_patch
from supernetes.controlplane.api.schema import INT32, STRING, Field, ListOf, MapOf, Struct

_FIELDS = {
    "name": Field(STRING), "value": Field(STRING), "other": Field(STRING),
    "simpleMap": Field(MapOf(STRING)),
    "mergingIntList": Field(ListOf(INT32, strategy="merge")),
    "nonMergingIntList": Field(ListOf(INT32)),
}
MERGE_ITEM = Struct("test.MergeItem", "", dict(_FIELDS))
MERGE_ITEM.fields.update({
    "mergingList": Field(ListOf(MERGE_ITEM, merge_key="name", strategy="merge")),
    "nonMergingList": Field(ListOf(MERGE_ITEM)),
    "retainKeysMap": Field(Struct("test.RetainKeys", "", {
        **_FIELDS, "mergingList": Field(ListOf(MERGE_ITEM, merge_key="name",
                                               strategy="merge"))}), strategy="retainKeys"),
    "retainKeysMergingList": Field(ListOf(MERGE_ITEM, merge_key="name",
                                          strategy="merge,retainKeys")),
})

# (description, original, patch, expected) - from Kubernetes' customStrategicMergePatch
# and createStrategicMergePatch test cases.
CASES = yaml.safe_load("""
- - unique scalars when merging lists
  - {mergingIntList: [1, 2]}
  - {mergingIntList: [2, 3]}
  - {mergingIntList: [1, 2, 3]}
- - delete map from nested map
  - {simpleMap: {key1: "1", key2: "1"}}
  - {simpleMap: {$patch: delete}}
  - {simpleMap: {}}
- - delete all items from merging list
  - {mergingList: [{name: "1"}, {name: "2"}]}
  - {mergingList: [{$patch: replace}]}
  - {mergingList: []}
- - merge empty merging lists
  - {mergingList: []}
  - {mergingList: []}
  - {mergingList: []}
- - delete all keys from map
  - {name: "1", value: "1"}
  - {$patch: replace}
  - {}
- - add key and delete all keys from map
  - {name: "1", value: "1"}
  - {other: a, $patch: replace}
  - {other: a}
- - delete all duplicate entries in a merging list
  - {mergingList: [{name: "1"}, {name: "1"}, {name: "2", value: a}, {name: "3"}, {name: "3"}]}
  - {mergingList: [{name: "1", $patch: delete}, {name: "3", $patch: delete}]}
  - {mergingList: [{name: "2", value: a}]}
- - retainKeys map can add a field when no retainKeys directive present
  - {retainKeysMap: {name: foo}}
  - {retainKeysMap: {value: bar}}
  - {retainKeysMap: {name: foo, value: bar}}
- - retainKeys map can delete a field when no retainKeys directive present
  - {retainKeysMap: {name: foo, value: a}}
  - {retainKeysMap: {value: null}}
  - {retainKeysMap: {name: foo}}
- - retainKeys map merge an empty map
  - {retainKeysMap: {name: foo, value: a}}
  - {retainKeysMap: {}}
  - {retainKeysMap: {name: foo, value: a}}
- - retainKeys directive drops the keys it does not list
  - {retainKeysMap: {name: foo, value: a, other: b}}
  - {retainKeysMap: {$retainKeys: [name, other], other: c}}
  - {retainKeysMap: {name: foo, other: c}}
- - retainKeys list can change a field when no retainKeys directive present
  - {retainKeysMergingList: [{name: bar}, {name: foo, value: a}]}
  - {retainKeysMergingList: [{name: foo, value: b}]}
  - {retainKeysMergingList: [{name: bar}, {name: foo, value: b}]}
- - retainKeys inside a merging list item
  - {retainKeysMergingList: [{name: bar}, {name: foo, value: a, other: x}]}
  - {retainKeysMergingList: [{name: foo, $retainKeys: [name, value], value: b}]}
  - {retainKeysMergingList: [{name: bar}, {name: foo, value: b}]}
- - preserve the order from the patch in a merging list
  - {mergingList: [{name: "1"}, {name: "2", value: b}, {name: "3"}]}
  - {mergingList: [{name: "3", value: c}, {name: "1", value: a}, {name: "2", other: x}]}
  - {mergingList: [{name: "3", value: c}, {name: "1", value: a}, {name: "2", value: b, other: x}]}
- - preserve the order from the patch in a merging list 2
  - {mergingList: [{name: "1"}, {name: "2", value: b}, {name: "3"}]}
  - {mergingList: [{name: "3", value: c}, {name: "1", value: a}]}
  - {mergingList: [{name: "2", value: b}, {name: "3", value: c}, {name: "1", value: a}]}
- - preserve the order from the patch in a merging int list
  - {mergingIntList: [1, 2, 3]}
  - {mergingIntList: [3, 1, 2]}
  - {mergingIntList: [3, 1, 2]}
- - preserve the order from the patch in a merging int list 2
  - {mergingIntList: [1, 2, 3]}
  - {mergingIntList: [3, 1]}
  - {mergingIntList: [2, 3, 1]}
- - setElementOrder contains item that is not present in the list to be merged
  - {mergingList: [{name: "1"}, {name: "3"}]}
  - {$setElementOrder/mergingList: [{name: "3"}, {name: "2"}, {name: "1"}],
     mergingList: [{name: "3", value: "3"}, {name: "1", value: "1"}]}
  - {mergingList: [{name: "3", value: "3"}, {name: "1", value: "1"}]}
- - setElementOrder contains item that is not present in the int list to be merged
  - {mergingIntList: [1, 3]}
  - {$setElementOrder/mergingIntList: [3, 2, 1]}
  - {mergingIntList: [3, 1]}
- - setElementOrder reorders without changing items
  - {mergingList: [{name: "1", value: a}, {name: "2", value: b}]}
  - {$setElementOrder/mergingList: [{name: "2"}, {name: "1"}]}
  - {mergingList: [{name: "2", value: b}, {name: "1", value: a}]}
- - delete from primitive list
  - {mergingIntList: [1, 2, 3]}
  - {$deleteFromPrimitiveList/mergingIntList: [2]}
  - {mergingIntList: [1, 3]}
- - delete from primitive list together with setElementOrder
  - {mergingIntList: [1, 2, 3]}
  - {$setElementOrder/mergingIntList: [3, 1], $deleteFromPrimitiveList/mergingIntList: [2]}
  - {mergingIntList: [3, 1]}
- - non merging lists are replaced
  - {nonMergingList: [{name: "1"}, {name: "2"}], nonMergingIntList: [1, 2]}
  - {nonMergingList: [{name: "3"}], nonMergingIntList: [5]}
  - {nonMergingList: [{name: "3"}], nonMergingIntList: [5]}
- - null deletes a field and its nested nulls are dropped on add
  - {name: "1", value: "2"}
  - {value: null, simpleMap: {a: b, c: null}}
  - {name: "1", simpleMap: {a: b}}
- - delete one item of a merging list
  - {mergingList: [{name: "1"}, {name: "2"}, {name: "3"}]}
  - {mergingList: [{name: "2", $patch: delete}]}
  - {mergingList: [{name: "1"}, {name: "3"}]}
- - nested merging lists merge recursively
  - {mergingList: [{name: "1", mergingList: [{name: a, value: x}]}]}
  - {mergingList: [{name: "1", mergingList: [{name: b, value: y}]}]}
  - {mergingList: [{name: "1", mergingList: [{name: b, value: y}, {name: a, value: x}]}]}
- - without an order directive new items go before the live ones, as in Kubernetes
  - {mergingList: [{name: "1"}], mergingIntList: [1]}
  - {mergingList: [{name: "2"}], mergingIntList: [2]}
  - {mergingList: [{name: "2"}, {name: "1"}], mergingIntList: [2, 1]}
""")


@pytest.mark.parametrize("description,original,patch,expected", CASES,
                         ids=[c[0] for c in CASES])
def test_kubernetes_strategic_merge_cases(description, original, patch, expected):
    assert strategic_merge_patch(MERGE_ITEM, original, patch) == expected


def test_patch_arguments_are_left_untouched():
    original = {"mergingList": [{"name": "1"}]}
    patch = {"mergingList": [{"name": "1", "value": "x"}]}
    strategic_merge_patch(MERGE_ITEM, original, patch)
    assert original == {"mergingList": [{"name": "1"}]}
    assert patch == {"mergingList": [{"name": "1", "value": "x"}]}


@pytest.mark.parametrize("patch,message", [
    ({"mergingList": [{"value": "x"}]}, "does not contain declared merge key: name"),
    ({"simpleMap": {"$patch": "explode"}}, "unknown patch type: explode"),
    ({"retainKeysMap": {"$retainKeys": ["name"], "value": "x"}},
     "invalid patch format of retainKeys"),
    ({"mergingList": [{"name": "1", "$patch": "merge"}]},
     "merging lists cannot yet be specified"),
])
def test_bad_patches_raise_patch_error(patch, message):
    with pytest.raises(PatchError, match=message):
        strategic_merge_patch(MERGE_ITEM, {"mergingList": [{"name": "1"}],
                                           "retainKeysMap": {}, "simpleMap": {}}, patch)


DEPLOYMENT = yaml.safe_load("""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}"}
  finalizers: [a]
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports: [{containerPort: 80, protocol: TCP}]
        env: [{name: A, value: "1"}, {name: B, value: "2"}]
        volumeMounts: [{name: data, mountPath: /data}]
      - name: sidecar
        image: busybox
      volumes:
      - name: data
        emptyDir: {}
""")


def apply(patch):
    deployments = registry.lookup("apps", "v1", "deployments")
    return strategic_merge_patch(deployments, DEPLOYMENT, patch)


def test_kubectl_apply_changes_one_container_image():
    result = apply({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
        "containers": [{"name": "web", "image": "nginx:1.26"}]}}}})
    containers = result["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["web", "sidecar"]
    assert containers[0]["image"] == "nginx:1.26"
    assert containers[0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert containers[1] == {"name": "sidecar", "image": "busybox"}


def test_env_merges_by_name_and_null_removes():
    result = apply({"spec": {"template": {"spec": {"containers": [
        {"name": "web", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}]}}}})
    env = result["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"},
                   {"name": "C", "value": "4"}]


def test_delete_container_by_merge_key():
    result = apply({"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "$patch": "delete"}]}}}})
    assert [c["name"] for c in result["spec"]["template"]["spec"]["containers"]] == ["web"]


def test_ports_merge_by_container_port():
    result = apply({"spec": {"template": {"spec": {"containers": [
        {"name": "web", "$setElementOrder/ports": [{"containerPort": 80},
                                                   {"containerPort": 443}],
         "ports": [{"containerPort": 443, "protocol": "TCP"}]}]}}}})
    ports = result["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert [p["containerPort"] for p in ports] == [80, 443]


def test_switch_to_recreate_drops_rolling_update_with_retain_keys():
    result = apply({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}})
    assert result["spec"]["strategy"] == {"type": "Recreate"}


def test_volume_source_change_with_retain_keys():
    result = apply({"spec": {"template": {"spec": {"volumes": [
        {"name": "data", "$retainKeys": ["hostPath", "name"], "hostPath": {"path": "/x"}}]}}}})
    assert result["spec"]["template"]["spec"]["volumes"] == [
        {"name": "data", "hostPath": {"path": "/x"}}]


def test_labels_and_annotations_merge_and_null_deletes():
    result = apply({"metadata": {"annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": None, "x": "y"},
        "$setElementOrder/finalizers": ["a", "b"], "finalizers": ["b"]}})
    assert result["metadata"]["annotations"] == {"x": "y"}
    assert result["metadata"]["finalizers"] == ["a", "b"]


def test_selector_match_labels_merge_as_a_map():
    result = apply({"spec": {"selector": {"matchLabels": {"tier": "fe"}}}})
    assert result["spec"]["selector"]["matchLabels"] == {"app": "web", "tier": "fe"}


def test_pod_conditions_merge_by_type():
    pods = registry.lookup("", "v1", "pods")
    pod = {"status": {"conditions": [{"type": "Ready", "status": "False"},
                                     {"type": "PodScheduled", "status": "True"}]}}
    result = strategic_merge_patch(pods, pod, {"status": {"conditions": [
        {"type": "Ready", "status": "True"}]}})
    assert result["status"]["conditions"] == [{"type": "Ready", "status": "True"},
                                              {"type": "PodScheduled", "status": "True"}]


def test_tolerations_are_replaced_as_in_kubernetes():
    pods = registry.lookup("", "v1", "pods")
    pod = {"spec": {"tolerations": [{"key": "a", "operator": "Exists"}]}}
    result = strategic_merge_patch(pods, pod, {"spec": {"tolerations": [
        {"key": "b", "operator": "Exists"}]}})
    assert result["spec"]["tolerations"] == [{"key": "b", "operator": "Exists"}]


def test_directives_never_reach_a_new_field():
    result = strategic_merge_patch(MERGE_ITEM, {}, {"mergingList": [
        {"name": "1"}, {"name": "2", "$patch": "delete"}], "retainKeysMap": {
        "$retainKeys": ["name"], "name": "x"}})
    assert result == {"mergingList": [{"name": "1"}], "retainKeysMap": {"name": "x"}}
