"""Nodes, events, leases, ingresses and network policies."""

from supernetes.controlplane.api import registry
from supernetes.controlplane.api.types.events import new_event

NODES = registry.lookup("", "v1", "nodes")


def messages(errs):
    return [e.message() for e in errs]


def node(conditions=None, unschedulable=False, labels=None):
    return {"metadata": {"name": "n1", "labels": labels or {}},
            "spec": {"unschedulable": unschedulable},
            "status": {"capacity": {"cpu": "2", "memory": "4Gi"},
                       "conditions": conditions or [],
                       "nodeInfo": {"kubeletVersion": "v1.30.0"},
                       "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}}


def test_node_allocatable_defaults_to_capacity():
    n = node()
    NODES.default(n)
    assert n["status"]["allocatable"] == {"cpu": "2", "memory": "4Gi"}
    assert NODES.validate(n) == []


def test_node_status_column_like_kubectl():
    ready = [{"type": "Ready", "status": "True"}]
    rows = NODES.table([node(ready), node([{"type": "Ready", "status": "False"}]), node(),
                        node(ready, unschedulable=True)])[1]
    assert [r[1] for r in rows] == ["Ready", "NotReady", "Unknown",
                                    "Ready,SchedulingDisabled"]


def test_node_roles_and_wide_columns():
    n = node(labels={"node-role.kubernetes.io/control-plane": "",
                     "node-role.kubernetes.io/worker": "", "kubernetes.io/role": "edge"})
    cols, rows = NODES.table([n])
    assert [c["name"] for c in cols[:5]] == ["Name", "Status", "Roles", "Age", "Version"]
    assert rows[0][2] == "control-plane,edge,worker"
    assert rows[0][4:6] == ["v1.30.0", "10.0.0.1"]
    assert NODES.table([node()])[1][0][2] == "<none>"


def test_node_taints_and_pod_cidr():
    n = node()
    n["spec"]["taints"] = [{"key": "a", "effect": "Sometimes"}, {"effect": "NoSchedule"}]
    found = messages(NODES.validate(n))
    assert ('spec.taints[0].effect: Unsupported value: "Sometimes": supported values: '
            '"NoSchedule", "PreferNoSchedule", "NoExecute"') in found
    assert "spec.taints[1].key: Required value" in found
    old = node()
    old["spec"]["podCIDR"] = "10.244.1.0/24"
    new = node()
    new["spec"]["podCIDR"] = "10.244.2.0/24"
    assert messages(NODES.validate(new, old)) == [
        'spec.podCIDR: Forbidden: node updates may not change podCIDR except from "" to valid']


def test_events_for_describe():
    events = registry.lookup("", "v1", "events")
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web", "namespace": "default", "uid": "u1"}}
    event = new_event(pod, "Pulled", "Image pulled", component="superlet", host="n1")
    event["metadata"]["name"] = "web.1"
    assert events.validate(event) == []
    assert events.field(event, "involvedObject.uid") == "u1"
    assert events.field(event, "source") == "superlet"
    row = events.table([event])[1][0]
    assert row[1:5] == ["Normal", "Pulled", "pod/web", "Image pulled"]
    assert row[6] == "superlet, n1" and row[8] == 1
    event["type"] = "Bad"
    assert 'type: Unsupported value: "Bad": supported values: "Normal", "Warning"' in \
        messages(events.validate(event))


def test_lease():
    leases = registry.lookup("coordination.k8s.io", "v1", "leases")
    lease = {"metadata": {"name": "n1", "namespace": "kube-node-lease"},
             "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 0}}
    assert messages(leases.validate(lease)) == [
        "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]
    assert leases.table([lease])[1][0][:2] == ["n1", "n1"]
    assert not leases.has_status


def test_network_policy_defaults_and_rules():
    policies = registry.lookup("networking.k8s.io", "v1", "networkpolicies")
    np = {"metadata": {"name": "p", "namespace": "default"},
          "spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53}], "to": [
              {"ipBlock": {"cidr": "10.0.0.0/33"}, "podSelector": {}}, {}]}]}}
    policies.default(np)
    assert np["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert np["spec"]["egress"][0]["ports"][0]["protocol"] == "TCP"
    found = messages(policies.validate(np))
    assert any(m.startswith('spec.egress[0].to[0].ipBlock.cidr: Invalid value: "10.0.0.0/33"')
               for m in found)
    assert ("spec.egress[0].to[0]: Forbidden: may not specify both ipBlock and another peer"
            in found)
    assert "spec.egress[0].to[1]: Required value: must specify a peer" in found


def test_ingress_rules_and_table():
    ingresses = registry.lookup("networking.k8s.io", "v1", "ingresses")
    ing = {"metadata": {"name": "i", "namespace": "default"},
           "spec": {"rules": [{"host": "a.example.com", "http": {"paths": [
               {"path": "api", "pathType": "Prefix",
                "backend": {"service": {"name": "web", "port": {}}}}]}}]}}
    found = messages(ingresses.validate(ing))
    assert ('spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path'
            in found)
    assert ("spec.rules[0].http.paths[0].backend.service.port: Required value: port name or "
            "number is required") in found
    assert ingresses.table([ing])[1][0][:5] == ["i", "<none>", "a.example.com", "", "80"]
