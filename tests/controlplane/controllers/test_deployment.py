"""The Deployment controller against a real API server with hollow nodes: convergence,
rolling updates within maxSurge/maxUnavailable (checked on every watch event),
Recreate, rollback, pause, revision history, progress deadline, and status."""

from __future__ import annotations

import copy
import threading

import pytest
from hollow import wait_for

from supernetes.controlplane.client import ClientError

pytestmark = pytest.mark.slow

REVISION = "deployment.kubernetes.io/revision"


def deployment(name: str, replicas: int, image: str = "nginx:1.25", **spec) -> dict:
    labels = {"app": name}
    body = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "web", "image": image}]}}}}
    body["spec"].update(spec)
    return body


def get(client, ns, name):
    return client.get("apps/v1", "Deployment", name, ns)


def complete(client, ns, name, image=None):
    d = get(client, ns, name)
    st, want = d.get("status") or {}, d["spec"]["replicas"]
    done = (st.get("observedGeneration", 0) >= d["metadata"]["generation"] and
            st.get("updatedReplicas") == want and st.get("replicas") == want and
            st.get("availableReplicas") == want)
    if image is not None:
        done = done and d["spec"]["template"]["spec"]["containers"][0]["image"] == image
    return d if done else None


def replica_sets(client, ns, app):
    return client.list("apps/v1", "ReplicaSet", ns, label_selector=f"app={app}")["items"]


def set_image(client, ns, name, image):
    client.patch("apps/v1", "Deployment", name,
                 {"spec": {"template": {"spec": {"containers": [{"name": "web",
                                                                 "image": image}]}}}}, ns)


class PodCounter:
    """Watches the pods of one app and remembers, over every event, the most pods that
    existed and the fewest that were ready (terminating pods count as neither)."""

    def __init__(self, client, ns, app):
        self.client, self.ns, self.app = client, ns, app
        self.pods: dict[str, dict] = {}
        self.max_total = 0
        self.min_ready = None
        self.events = 0
        listing = client.list("v1", "Pod", ns, label_selector=f"app={app}")
        for pod in listing["items"]:
            self.pods[pod["metadata"]["name"]] = pod
        self.watch = client.watch("v1", "Pod", ns, label_selector=f"app={app}",
                                  resource_version=listing["metadata"]["resourceVersion"])
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for event in self.watch:
                if event.type == "BOOKMARK":
                    continue
                name = event.object["metadata"]["name"]
                if event.type == "DELETED":
                    self.pods.pop(name, None)
                else:
                    self.pods[name] = event.object
                self.events += 1
                self._check()
        except ClientError:
            pass

    def _check(self):
        live = [p for p in self.pods.values() if not p["metadata"].get("deletionTimestamp")
                and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        ready = [p for p in live if any(c.get("type") == "Ready" and c.get("status") == "True"
                                        for c in (p.get("status") or {}).get("conditions")
                                        or ())]
        self.max_total = max(self.max_total, len(live))
        self.min_ready = len(ready) if self.min_ready is None else min(self.min_ready,
                                                                        len(ready))

    def stop(self):
        self.watch.stop()
        self.thread.join(5)


@pytest.fixture
def nodes(kubelet):
    for i in range(3):
        kubelet.add_node(f"{kubelet.prefix}{i}")
    return kubelet


def test_deployment_of_five_converges_with_status_and_conditions(client, nodes, ns):
    client.create(deployment("web", 5), ns)
    d = wait_for(lambda: complete(client, ns, "web"), timeout=60, what="5 available replicas")
    st = d["status"]
    assert st["readyReplicas"] == 5 and st.get("unavailableReplicas", 0) == 0
    conditions = {c["type"]: c for c in st["conditions"]}
    assert conditions["Available"]["status"] == "True"
    assert conditions["Available"]["reason"] == "MinimumReplicasAvailable"
    assert conditions["Progressing"]["reason"] == "NewReplicaSetAvailable"
    assert d["metadata"]["annotations"][REVISION] == "1"
    [rs] = replica_sets(client, ns, "web")
    pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{pod_hash}"
    assert rs["spec"]["selector"]["matchLabels"]["pod-template-hash"] == pod_hash
    assert rs["metadata"]["annotations"][REVISION] == "1"
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "5"
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    pods = client.list("v1", "Pod", ns, label_selector="app=web")["items"]
    assert len(pods) == 5
    assert all(p["metadata"]["name"].startswith(f"web-{pod_hash}-") for p in pods)
    assert len({p["spec"]["nodeName"] for p in pods}) == 3   # spread by the scheduler


@pytest.mark.parametrize("surge,unavailable,bound_total,bound_ready", [
    (1, 1, 6, 4),
    ("25%", "25%", 7, 4),       # 25% of 5: surge rounds up to 2, unavailable down to 1
    (0, 2, 5, 3),
])
def test_rolling_update_stays_within_surge_and_unavailability(client, nodes, ns, surge,
                                                               unavailable, bound_total,
                                                               bound_ready):
    strategy = {"type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}
    client.create(deployment("roll", 5, strategy=strategy), ns)
    wait_for(lambda: complete(client, ns, "roll"), timeout=60, what="the first rollout")
    counter = PodCounter(client, ns, "roll")
    try:
        set_image(client, ns, "roll", "nginx:1.26")
        wait_for(lambda: complete(client, ns, "roll", "nginx:1.26"), timeout=90,
                 what="the rolling update")
    finally:
        counter.stop()
    assert counter.events >= 10, "the watch saw the update happen"
    assert counter.max_total <= bound_total
    assert counter.min_ready >= bound_ready
    sets = {rs["metadata"]["annotations"][REVISION]: rs for rs in replica_sets(client, ns,
                                                                              "roll")}
    assert sets["1"]["spec"]["replicas"] == 0 and sets["2"]["spec"]["replicas"] == 5
    assert get(client, ns, "roll")["metadata"]["annotations"][REVISION] == "2"


def test_recreate_stops_every_old_pod_before_starting_new_ones(client, nodes, ns):
    client.create(deployment("rec", 3, strategy={"type": "Recreate"}), ns)
    wait_for(lambda: complete(client, ns, "rec"), timeout=60, what="the first rollout")
    old_hash = replica_sets(client, ns, "rec")[0]["metadata"]["labels"]["pod-template-hash"]
    seen_mixed = []
    counter = PodCounter(client, ns, "rec")
    original = counter._check

    def check():
        original()
        hashes = {p["metadata"]["labels"].get("pod-template-hash") for p in
                  counter.pods.values()}
        if old_hash in hashes and len(hashes) > 1:
            seen_mixed.append(hashes)
    counter._check = check
    try:
        set_image(client, ns, "rec", "nginx:1.26")
        wait_for(lambda: complete(client, ns, "rec", "nginx:1.26"), timeout=60,
                 what="the recreate rollout")
    finally:
        counter.stop()
    assert not seen_mixed, "old and new pods existed at the same time"
    assert counter.max_total <= 3


def test_rollback_restores_the_old_template_and_revisions(client, nodes, ns):
    client.create(deployment("undo", 2, revisionHistoryLimit=10), ns)
    wait_for(lambda: complete(client, ns, "undo"), timeout=60, what="revision 1")
    first = copy.deepcopy(get(client, ns, "undo")["spec"]["template"])
    set_image(client, ns, "undo", "nginx:1.26")
    wait_for(lambda: complete(client, ns, "undo", "nginx:1.26"), timeout=60, what="revision 2")
    # What `kubectl rollout undo` does client-side: put revision 1's template back.
    client.patch("apps/v1", "Deployment", "undo", [
        {"op": "replace", "path": "/spec/template", "value": first}], ns, patch_type="json")
    d = wait_for(lambda: complete(client, ns, "undo", "nginx:1.25"), timeout=60,
                 what="the rollback")
    assert d["metadata"]["annotations"][REVISION] == "3"
    sets = replica_sets(client, ns, "undo")
    assert len(sets) == 2                       # the old ReplicaSet came back, none was added
    by_image = {rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs for rs in sets}
    back = by_image["nginx:1.25"]["metadata"]["annotations"]
    assert back[REVISION] == "3"
    assert back["deployment.kubernetes.io/revision-history"] == "1"
    assert by_image["nginx:1.25"]["spec"]["replicas"] == 2
    assert by_image["nginx:1.26"]["spec"]["replicas"] == 0


def test_revision_history_limit_deletes_old_replica_sets(client, nodes, ns):
    client.create(deployment("hist", 1, revisionHistoryLimit=1), ns)
    for version in ("1.25", "1.26", "1.27"):
        if version != "1.25":
            set_image(client, ns, "hist", f"nginx:{version}")
        wait_for(lambda v=version: complete(client, ns, "hist", f"nginx:{v}"), timeout=60,
                 what=f"nginx:{version} rolled out")
    wait_for(lambda: len(replica_sets(client, ns, "hist")) == 2, what="one old ReplicaSet kept")
    revisions = sorted(rs["metadata"]["annotations"][REVISION]
                       for rs in replica_sets(client, ns, "hist"))
    assert revisions == ["2", "3"]


def test_scaling_and_pause(client, nodes, ns):
    client.create(deployment("pause", 2), ns)
    wait_for(lambda: complete(client, ns, "pause"), timeout=60, what="2 replicas")
    client.patch("apps/v1", "Deployment", "pause", {"spec": {"paused": True}}, ns)
    wait_for(lambda: (get(client, ns, "pause")["status"]["conditions"] and any(
        c["reason"] == "DeploymentPaused" for c in get(client, ns, "pause")["status"]
        ["conditions"])), what="Progressing=Unknown DeploymentPaused")
    set_image(client, ns, "pause", "nginx:1.26")
    client.scale("apps/v1", "Deployment", "pause", 4, ns)
    # Paused: scaled, but not rolled out.
    wait_for(lambda: get(client, ns, "pause")["status"].get("availableReplicas") == 4,
             timeout=60, what="scaled to 4 while paused")
    assert len(replica_sets(client, ns, "pause")) == 1
    client.patch("apps/v1", "Deployment", "pause", {"spec": {"paused": False}}, ns)
    wait_for(lambda: complete(client, ns, "pause", "nginx:1.26"), timeout=60,
             what="the rollout after resume")
    assert len(replica_sets(client, ns, "pause")) == 2


def test_progress_deadline_exceeded_when_pods_never_get_ready(client, nodes, ns):
    body = deployment("stuck", 2, progressDeadlineSeconds=3)
    body["spec"]["template"]["metadata"]["annotations"] = {"hollow.supernetes.io/ready":
                                                           "false"}
    client.create(body, ns)

    def timed_out():
        conditions = {c["type"]: c for c in get(client, ns, "stuck")["status"].get(
            "conditions") or ()}
        progressing = conditions.get("Progressing") or {}
        return progressing.get("reason") == "ProgressDeadlineExceeded" and \
            progressing.get("status") == "False" and conditions
    conditions = wait_for(timed_out, timeout=30, what="ProgressDeadlineExceeded")
    assert conditions["Available"]["status"] == "False"
    assert conditions["Available"]["reason"] == "MinimumReplicasUnavailable"


def test_hash_collision_bumps_collision_count(client, nodes, ns):
    from supernetes.controlplane.controllers.hashing import compute_hash

    client.create(deployment("coll", 1, paused=True), ns)
    template = get(client, ns, "coll")["spec"]["template"]
    taken = f"coll-{compute_hash(template)}"
    client.create({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": taken},
                   "spec": {"replicas": 0, "selector": {"matchLabels": {"foreign": "yes"}},
                            "template": {"metadata": {"labels": {"foreign": "yes"}},
                                         "spec": {"containers": [{"name": "x",
                                                                  "image": "busybox"}]}}}},
                  ns)
    client.patch("apps/v1", "Deployment", "coll", {"spec": {"paused": False}}, ns)
    d = wait_for(lambda: complete(client, ns, "coll"), timeout=60, what="rolled out anyway")
    assert d["status"]["collisionCount"] == 1
    [rs] = replica_sets(client, ns, "coll")
    assert rs["metadata"]["name"] == f"coll-{compute_hash(template, 1)}" != taken
    foreign = client.get("apps/v1", "ReplicaSet", taken, ns)
    assert not foreign["metadata"].get("ownerReferences")
