"""The API machinery over real HTTPS: verbs, metadata, concurrency, subresources, lists."""

from __future__ import annotations

import copy
import time

from apiserverkit import pod


def pods(ns: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{ns}/pods" + (f"/{name}" if name else "")


def create(api, ns, body):
    response = api.post(pods(ns), body)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_fills_server_metadata_and_defaults(api, ns):
    obj = create(api, ns, pod("web"))
    meta = obj["metadata"]
    assert meta["namespace"] == ns
    assert len(meta["uid"]) == 36
    assert meta["creationTimestamp"].endswith("Z")
    assert int(meta["resourceVersion"]) > 0
    assert meta["generation"] == 1
    assert obj["spec"]["restartPolicy"] == "Always"
    assert obj["status"]["phase"] == "Pending"
    got = api.get(pods(ns, "web")).json()
    assert got["metadata"]["uid"] == meta["uid"]
    assert got["metadata"]["resourceVersion"] == meta["resourceVersion"]


def test_create_ignores_client_set_server_fields(api, ns):
    body = pod("sneaky")
    body["metadata"].update(uid="x", resourceVersion="999999", generation=7,
                            creationTimestamp="2000-01-01T00:00:00Z")
    body["status"] = {"phase": "Running"}
    obj = create(api, ns, body)
    assert obj["metadata"]["uid"] != "x"
    assert obj["metadata"]["generation"] == 1
    assert not obj["metadata"]["creationTimestamp"].startswith("2000")
    assert obj["status"]["phase"] == "Pending"


def test_generate_name_makes_unique_names(api, ns):
    body = pod("")
    del body["metadata"]["name"]
    body["metadata"]["generateName"] = "worker-"
    names = {create(api, ns, body)["metadata"]["name"] for _ in range(5)}
    assert len(names) == 5
    assert all(n.startswith("worker-") and len(n) == len("worker-") + 5 for n in names)


def test_create_without_name_is_invalid(api, ns):
    body = pod("")
    del body["metadata"]["name"]
    response = api.post(pods(ns), body)
    assert response.status_code == 422
    assert response.json()["details"]["causes"][0]["field"] == "metadata.name"


def test_duplicate_create_is_already_exists(api, ns):
    create(api, ns, pod("dup"))
    response = api.post(pods(ns), pod("dup"))
    assert response.status_code == 409
    assert response.json()["reason"] == "AlreadyExists"
    assert response.json()["message"] == 'pods "dup" already exists'


def test_create_in_missing_namespace_is_not_found(api):
    response = api.post(pods("no-such-namespace"), pod("x"))
    assert response.status_code == 404
    assert response.json()["message"] == 'namespaces "no-such-namespace" not found'


def test_update_with_stale_resource_version_conflicts(api, ns):
    obj = create(api, ns, pod("cas"))
    first = copy.deepcopy(obj)
    first["metadata"]["labels"] = {"v": "1"}
    response = api.put(pods(ns, "cas"), first)
    assert response.status_code == 200
    assert response.json()["metadata"]["resourceVersion"] != obj["metadata"]["resourceVersion"]
    stale = copy.deepcopy(obj)
    stale["metadata"]["labels"] = {"v": "2"}
    response = api.put(pods(ns, "cas"), stale)
    assert response.status_code == 409
    assert response.json()["reason"] == "Conflict"
    assert api.get(pods(ns, "cas")).json()["metadata"]["labels"] == {"v": "1"}


def test_update_without_resource_version_is_unconditional(api, ns):
    obj = create(api, ns, pod("uncond"))
    del obj["metadata"]["resourceVersion"]
    obj["metadata"]["annotations"] = {"a": "b"}
    response = api.put(pods(ns, "uncond"), obj)
    assert response.status_code == 200
    assert response.json()["metadata"]["annotations"] == {"a": "b"}


def test_noop_update_keeps_resource_version(api, ns):
    obj = create(api, ns, pod("same"))
    response = api.put(pods(ns, "same"), obj)
    assert response.status_code == 200
    assert response.json()["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]


def test_generation_bumps_on_spec_change_only(api, ns):
    obj = create(api, ns, pod("gen"))
    obj["metadata"]["labels"] = {"only": "metadata"}
    obj = api.put(pods(ns, "gen"), obj).json()
    assert obj["metadata"]["generation"] == 1
    obj["spec"]["activeDeadlineSeconds"] = 30
    obj = api.put(pods(ns, "gen"), obj).json()
    assert obj["metadata"]["generation"] == 2


def test_main_resource_ignores_status_and_status_subresource_ignores_spec(api, ns):
    obj = create(api, ns, pod("st"))
    obj["status"] = {"phase": "Running"}
    obj["metadata"]["labels"] = {"changed": "yes"}
    obj = api.put(pods(ns, "st"), obj).json()
    assert obj["status"]["phase"] == "Pending"
    assert obj["metadata"]["labels"] == {"changed": "yes"}

    obj["status"]["phase"] = "Running"
    obj["metadata"]["labels"] = {"changed": "by-status"}
    obj["spec"]["activeDeadlineSeconds"] = 5
    response = api.put(pods(ns, "st") + "/status", obj)
    assert response.status_code == 200, response.text
    after = api.get(pods(ns, "st")).json()
    assert after["status"]["phase"] == "Running"
    assert after["metadata"]["labels"] == {"changed": "yes"}
    assert "activeDeadlineSeconds" not in after["spec"]


def test_status_patch_changes_status(api, ns):
    create(api, ns, pod("sp"))
    response = api.patch(pods(ns, "sp") + "/status", {"status": {"phase": "Succeeded"}})
    assert response.status_code == 200, response.text
    assert api.get(pods(ns, "sp")).json()["status"]["phase"] == "Succeeded"


def test_merge_patch_and_json_patch(api, ns):
    create(api, ns, pod("pt"))
    response = api.patch(pods(ns, "pt"), {"metadata": {"labels": {"tier": "front"}}})
    assert response.status_code == 200, response.text
    assert response.json()["metadata"]["labels"]["tier"] == "front"
    ops = [{"op": "add", "path": "/metadata/annotations", "value": {"k": "v"}}]
    response = api.patch(pods(ns, "pt"), ops, content_type="application/json-patch+json")
    assert response.status_code == 200, response.text
    assert response.json()["metadata"]["annotations"] == {"k": "v"}


def test_patch_with_stale_resource_version_conflicts(api, ns):
    obj = create(api, ns, pod("pcas"))
    api.patch(pods(ns, "pcas"), {"metadata": {"labels": {"a": "1"}}})
    response = api.patch(pods(ns, "pcas"), {"metadata": {
        "resourceVersion": obj["metadata"]["resourceVersion"], "labels": {"a": "2"}}})
    assert response.status_code == 409


def test_dry_run_create_and_delete_write_nothing(api, ns):
    response = api.post(pods(ns), pod("dry"), params={"dryRun": "All"})
    assert response.status_code == 201
    assert api.get(pods(ns, "dry")).status_code == 404
    create(api, ns, pod("dry"))
    assert api.delete(pods(ns, "dry"), params={"dryRun": "All"}).status_code == 200
    assert api.get(pods(ns, "dry")).status_code == 200


def test_field_validation_strict_warn_ignore(api, ns):
    body = pod("fv")
    body["spec"]["bogus"] = True
    response = api.post(pods(ns), body, params={"fieldValidation": "Strict"})
    assert response.status_code == 400
    assert 'unknown field "spec.bogus"' in response.json()["message"]
    response = api.post(pods(ns), body, params={"fieldValidation": "Warn"})
    assert response.status_code == 201
    assert 'unknown field \\"spec.bogus\\"' in response.headers["Warning"] or \
        "spec.bogus" in response.headers["Warning"]
    body["metadata"]["name"] = "fv2"
    response = api.post(pods(ns), body, params={"fieldValidation": "Ignore"})
    assert response.status_code == 201
    assert "Warning" not in response.headers


def test_finalizers_hold_deletion_until_removed(api, ns):
    body = pod("fin")
    body["metadata"]["finalizers"] = ["example.com/hold"]
    create(api, ns, body)
    response = api.delete(pods(ns, "fin"))
    assert response.status_code == 200
    marked = api.get(pods(ns, "fin")).json()
    assert marked["metadata"]["deletionTimestamp"]
    response = api.patch(pods(ns, "fin"), {"metadata": {"finalizers": None}})
    assert response.status_code == 200, response.text
    assert api.get(pods(ns, "fin")).status_code == 404


def test_bound_pod_is_deleted_gracefully_unbound_at_once(api, ns):
    create(api, ns, pod("loose"))
    assert api.delete(pods(ns, "loose")).status_code == 200
    assert api.get(pods(ns, "loose")).status_code == 404

    create(api, ns, pod("bound"))
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "bound"},
               "target": {"apiVersion": "v1", "kind": "Node", "name": "node-a"}}
    response = api.post(pods(ns, "bound") + "/binding", binding)
    assert response.status_code == 201, response.text
    response = api.delete(pods(ns, "bound"), {"gracePeriodSeconds": 20})
    assert response.status_code == 200
    marked = api.get(pods(ns, "bound")).json()
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 20
    assert marked["metadata"]["deletionTimestamp"]
    # the node agent, once the containers stopped, deletes with grace 0
    assert api.delete(pods(ns, "bound"), {"gracePeriodSeconds": 0}).status_code == 200
    assert api.get(pods(ns, "bound")).status_code == 404


def test_binding_a_bound_pod_conflicts(api, ns):
    create(api, ns, pod("b2"))
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "b2"},
               "target": {"kind": "Node", "name": "node-a"}}
    assert api.post(pods(ns, "b2") + "/binding", binding).status_code == 201
    obj = api.get(pods(ns, "b2")).json()
    assert obj["spec"]["nodeName"] == "node-a"
    assert any(c["type"] == "PodScheduled" and c["status"] == "True"
               for c in obj["status"]["conditions"])
    binding["target"]["name"] = "node-b"
    assert api.post(pods(ns, "b2") + "/binding", binding).status_code == 409


def test_binding_checks_the_uid_and_copies_its_annotations_onto_the_pod(api, ns):
    obj = create(api, ns, pod("b3"))
    binding = {"apiVersion": "v1", "kind": "Binding",
               "metadata": {"name": "b3", "uid": "not-this-pod"},
               "target": {"kind": "Node", "name": "node-a"}}
    response = api.post(pods(ns, "b3") + "/binding", binding)
    assert response.status_code == 409
    assert "Precondition failed: UID" in response.json()["message"]
    assert not api.get(pods(ns, "b3")).json()["spec"].get("nodeName")
    binding["metadata"]["uid"] = obj["metadata"]["uid"]
    binding["metadata"]["annotations"] = {"scheduler.example/decided-by": "test"}
    assert api.post(pods(ns, "b3") + "/binding", binding).status_code == 201
    bound = api.get(pods(ns, "b3")).json()
    assert bound["spec"]["nodeName"] == "node-a"
    assert bound["metadata"]["annotations"]["scheduler.example/decided-by"] == "test"


def test_delete_preconditions(api, ns):
    obj = create(api, ns, pod("pre"))
    response = api.delete(pods(ns, "pre"), {"preconditions": {"uid": "wrong"}})
    assert response.status_code == 409
    response = api.delete(pods(ns, "pre"), {"preconditions": {
        "uid": obj["metadata"]["uid"], "resourceVersion": obj["metadata"]["resourceVersion"]}})
    assert response.status_code == 200


def test_label_and_field_selectors(api, ns):
    create(api, ns, pod("a1", app="a", tier="web"))
    create(api, ns, pod("a2", app="a", tier="db"))
    create(api, ns, pod("b1", app="b"))

    def names(**params):
        response = api.get(pods(ns), params=params)
        assert response.status_code == 200, response.text
        return sorted(i["metadata"]["name"] for i in response.json()["items"])

    assert names(labelSelector="app=a") == ["a1", "a2"]
    assert names(labelSelector="app!=a") == ["b1"]
    assert names(labelSelector="tier in (web,db)") == ["a1", "a2"]
    assert names(labelSelector="tier notin (web)") == ["a2", "b1"]
    assert names(labelSelector="tier") == ["a1", "a2"]
    assert names(labelSelector="!tier") == ["b1"]
    assert names(fieldSelector="metadata.name=a2") == ["a2"]
    assert names(fieldSelector="status.phase=Pending,metadata.name!=a1") == ["a2", "b1"]
    response = api.get(pods(ns), params={"fieldSelector": "spec.bogus=1"})
    assert response.status_code == 400


def test_list_across_namespaces(api, ns):
    create(api, ns, pod("everywhere"))
    items = api.get("/api/v1/pods").json()["items"]
    assert any(i["metadata"]["namespace"] == ns and i["metadata"]["name"] == "everywhere"
               for i in items)


def test_pagination_is_one_consistent_snapshot(api, ns):
    for i in range(7):
        create(api, ns, pod(f"p{i}"))
    first = api.get(pods(ns), params={"limit": 3}).json()
    assert len(first["items"]) == 3
    token = first["metadata"]["continue"]
    create(api, ns, pod("p99"))                       # after the snapshot: not in the pages
    seen = [i["metadata"]["name"] for i in first["items"]]
    while token:
        page = api.get(pods(ns), params={"limit": 3, "continue": token}).json()
        assert page["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
        seen += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"].get("continue")
    assert seen == [f"p{i}" for i in range(7)]


def test_bad_continue_token_is_bad_request(api, ns):
    response = api.get(pods(ns), params={"limit": 1, "continue": "not-a-token"})
    assert response.status_code == 400


def test_list_resource_version_semantics(api, ns):
    obj = create(api, ns, pod("rv1"))
    rv = int(obj["metadata"]["resourceVersion"])
    # "0": any version the server has at hand (possibly older than our own write)
    assert api.get(pods(ns), params={"resourceVersion": "0"}).status_code == 200
    exact = api.get(pods(ns), params={"resourceVersion": str(rv),
                                      "resourceVersionMatch": "Exact"}).json()
    assert exact["metadata"]["resourceVersion"] == str(rv)
    rv2 = int(create(api, ns, pod("rv2"))["metadata"]["resourceVersion"])
    exact = api.get(pods(ns), params={"resourceVersion": str(rv),
                                      "resourceVersionMatch": "Exact"}).json()
    assert [i["metadata"]["name"] for i in exact["items"]] == ["rv1"]
    # NotOlderThan N: at least as new as N, so it has everything written up to N
    newer = api.get(pods(ns), params={"resourceVersion": str(rv2),
                                      "resourceVersionMatch": "NotOlderThan"}).json()
    assert int(newer["metadata"]["resourceVersion"]) >= rv2
    assert [i["metadata"]["name"] for i in newer["items"]] == ["rv1", "rv2"]
    # unset: the most recent state (a consistent read)
    latest = api.get(pods(ns)).json()
    assert [i["metadata"]["name"] for i in latest["items"]] == ["rv1", "rv2"]
    future = api.get(pods(ns), params={"resourceVersion": str(rv2 + 10_000),
                                       "resourceVersionMatch": "NotOlderThan"})
    assert future.status_code == 504
    assert future.json()["reason"] == "Timeout"


def test_deletecollection_with_selector(api, ns):
    create(api, ns, pod("dc1", app="gone"))
    create(api, ns, pod("dc2", app="gone"))
    create(api, ns, pod("dc3", app="kept"))
    response = api.delete(pods(ns), params={"labelSelector": "app=gone"})
    assert response.status_code == 200
    assert sorted(i["metadata"]["name"] for i in response.json()["items"]) == ["dc1", "dc2"]
    left = [i["metadata"]["name"] for i in api.get(pods(ns)).json()["items"]]
    assert left == ["dc3"]


def test_deleted_namespace_is_emptied_then_removed(api):
    name = f"gone-{time.monotonic_ns() % 100000}"
    assert api.post("/api/v1/namespaces", {"metadata": {"name": name}}).status_code == 201
    create(api, name, pod("inside"))
    response = api.delete(f"/api/v1/namespaces/{name}")
    assert response.status_code == 200
    assert response.json()["status"]["phase"] == "Terminating"
    refused = api.post(pods(name), pod("late"))
    assert refused.status_code in (403, 404)
    deadline = time.monotonic() + 15
    while api.get(f"/api/v1/namespaces/{name}").status_code != 404:
        assert time.monotonic() < deadline, "namespace was never removed"
        time.sleep(0.1)
    assert api.get(pods(name, "inside")).status_code == 404


def test_table_output_has_kubectl_columns(api, ns):
    create(api, ns, pod("tbl"))
    response = api.get(pods(ns), headers={
        "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
    assert response.status_code == 200
    table = response.json()
    assert table["kind"] == "Table"
    columns = [c["name"] for c in table["columnDefinitions"]]
    assert columns[:5] == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert table["rows"][0]["cells"][0] == "tbl"
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    full = api.get(pods(ns), params={"includeObject": "Object"}, headers={
        "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}).json()
    assert full["rows"][0]["object"]["kind"] == "Pod"
    one = api.get(pods(ns, "tbl"), headers={
        "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}).json()
    assert one["kind"] == "Table" and len(one["rows"]) == 1


def test_yaml_bodies_are_accepted(api, ns):
    body = f"""
apiVersion: v1
kind: Pod
metadata:
  name: from-yaml
  namespace: {ns}
spec:
  containers:
  - name: c
    image: busybox
"""
    response = api.post(pods(ns), data=body, content_type="application/yaml")
    assert response.status_code == 201, response.text
    assert response.json()["metadata"]["name"] == "from-yaml"


def deployment(name: str, replicas: int = 2) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def test_scale_subresource_reads_and_writes_replicas(api, ns):
    path = f"/apis/apps/v1/namespaces/{ns}/deployments"
    assert api.post(path, deployment("sc")).status_code == 201
    scale = api.get(f"{path}/sc/scale").json()
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"]["replicas"] == 2 and scale["status"]["selector"] == "app=sc"
    stale = dict(scale, spec={"replicas": 4})
    scale["spec"]["replicas"] = 3
    response = api.put(f"{path}/sc/scale", scale)
    assert response.status_code == 200, response.text
    assert api.put(f"{path}/sc/scale", stale).status_code == 409
    response = api.patch(f"{path}/sc/scale", {"spec": {"replicas": 5}})
    assert response.status_code == 200 and response.json()["spec"]["replicas"] == 5
    obj = api.get(f"{path}/sc").json()
    assert obj["spec"]["replicas"] == 5 and obj["metadata"]["generation"] == 3
    assert api.patch(f"{path}/sc/scale", {"spec": {"replicas": -1}}).status_code == 422


def test_partial_object_metadata_view(api, ns):
    assert api.post(pods(ns), pod("meta-only")).status_code == 201
    accept = {"Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"}
    listed = api.get(pods(ns), headers=accept).json()
    assert listed["kind"] == "PartialObjectMetadataList"
    assert listed["items"][0]["metadata"]["name"] == "meta-only"
    assert "spec" not in listed["items"][0]
