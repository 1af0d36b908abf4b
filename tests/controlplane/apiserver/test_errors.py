"""Bad input gets a clean 4xx Status, never a 5xx or a traceback."""

from __future__ import annotations

import json

from apiserverkit import pod
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def status_of(response, code: int, reason: str | None = None) -> dict:
    assert response.status_code == code, response.text
    body = response.json()
    assert body["kind"] == "Status" and body["code"] == code
    if reason:
        assert body["reason"] == reason
    return body


def test_malformed_json_and_yaml_are_bad_requests(api, ns):
    path = f"/api/v1/namespaces/{ns}/pods"
    status_of(api.post(path, data="{not json", content_type="application/json"), 400,
              "BadRequest")
    status_of(api.post(path, data="a: [b", content_type="application/yaml"), 400,
              "BadRequest")
    status_of(api.post(path, data="[1, 2]", content_type="application/json"), 400)
    status_of(api.post(path, data=b"\xff\xfe", content_type="application/json"), 400)
    status_of(api.post(path, data="", content_type="application/json"), 400)


def test_yaml_alias_bomb_is_refused(api, ns):
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
        f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
        for i in range(9))
    status_of(api.post(f"/api/v1/namespaces/{ns}/pods", data=bomb,
                       content_type="application/yaml"), 400)


def test_deep_nesting_is_refused(api, ns):
    deep = '{"a":' * 5000 + "1" + "}" * 5000
    status_of(api.post(f"/api/v1/namespaces/{ns}/pods", data=deep,
                       content_type="application/json"), 400)


def test_wrong_kind_or_version_for_the_url(api, ns):
    body = pod("x")
    body["kind"] = "Service"
    assert "kind" in status_of(api.post(f"/api/v1/namespaces/{ns}/pods", body), 400)["message"]
    body = pod("x")
    body["apiVersion"] = "apps/v1"
    status_of(api.post(f"/api/v1/namespaces/{ns}/pods", body), 400)


def test_name_and_namespace_mismatch(api, ns):
    assert api.post(f"/api/v1/namespaces/{ns}/pods", pod("real")).status_code == 201
    obj = api.get(f"/api/v1/namespaces/{ns}/pods/real").json()
    status_of(api.put(f"/api/v1/namespaces/{ns}/pods/other", obj), 400)
    body = pod("y")
    body["metadata"]["namespace"] = "elsewhere"
    status_of(api.post(f"/api/v1/namespaces/{ns}/pods", body), 400)


def test_a_generate_name_that_is_not_a_string_is_invalid_not_a_500(api, ns):
    body = pod("x")
    del body["metadata"]["name"]
    body["metadata"]["generateName"] = True
    status = status_of(api.post(f"/api/v1/namespaces/{ns}/pods", body), 422)
    assert "metadata.generateName" in status["message"]


def test_huge_body_is_request_entity_too_large(api, ns):
    body = pod("big")
    body["metadata"]["annotations"] = {"blob": "x" * (4 * 1024 * 1024)}
    status_of(api.post(f"/api/v1/namespaces/{ns}/pods", body), 413)


def test_unknown_paths_methods_and_media_types(api, ns):
    status_of(api.get("/api/v1/nosuchthings"), 404, "NotFound")
    status_of(api.get("/apis/nosuch.group/v1/things"), 404)
    status_of(api.get("/nonsense"), 404)
    status_of(api.request("POST", f"/api/v1/namespaces/{ns}/pods/x"), 405,
              "MethodNotAllowed")
    assert api.post(f"/api/v1/namespaces/{ns}/pods", {
        "metadata": {"name": "keep"}, "spec": {"containers": [
            {"name": "c", "image": "busybox"}]}}).status_code == 201
    status_of(api.delete(f"/api/v1/namespaces/{ns}/pods/keep/status"), 405)
    assert api.get(f"/api/v1/namespaces/{ns}/pods/keep").status_code == 200
    status_of(api.post(f"/api/v1/namespaces/{ns}/pods", data="x",
                       content_type="application/x-protobuf"), 415, "UnsupportedMediaType")
    status_of(api.get(f"/api/v1/namespaces/{ns}/pods",
                      headers={"Accept": "application/vnd.kubernetes.protobuf"}), 406)


def test_bad_query_parameters(api, ns):
    path = f"/api/v1/namespaces/{ns}/pods"
    status_of(api.get(path, params={"limit": "many"}), 400)
    status_of(api.get(path, params={"resourceVersion": "abc"}), 400)
    status_of(api.get(path, params={"labelSelector": "a in (b"}), 400)
    status_of(api.post(path, pod("q"), params={"fieldValidation": "Loud"}), 400)
    status_of(api.post(path, pod("q"), params={"dryRun": "Some"}), 400)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["metadata", "spec", "status", "name", "containers",
                                       "image", "labels", "kind", "apiVersion", "x",
                                       "resourceVersion", "finalizers", "replicas",
                                       "generateName", "target", "annotations"])
                      | st.text(max_size=8), children, max_size=4),
    max_leaves=20)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values, method=st.sampled_from(["POST", "PUT", "PATCH"]),
       target=st.sampled_from(["/api/v1/namespaces/default/pods",
                               "/api/v1/namespaces/default/pods/fuzz",
                               "/api/v1/namespaces/default/pods/fuzz/status",
                               "/apis/apps/v1/namespaces/default/deployments/fuzz/scale",
                               "/api/v1/nodes", "/api/v1/namespaces/default/configmaps"]),
       content_type=st.sampled_from(["application/json", "application/merge-patch+json",
                                     "application/json-patch+json",
                                     "application/strategic-merge-patch+json",
                                     "application/yaml"]))
def test_fuzzed_requests_never_get_a_5xx(api, body, method, target, content_type):
    response = api.request(method, target, data=json.dumps(body), content_type=content_type)
    assert response.status_code < 500, (method, target, body, response.text)
    if response.status_code >= 400:
        assert response.json()["kind"] == "Status"


def test_protobuf_bodies_bad_or_unsupported(api, ns):
    path = f"/api/v1/namespaces/{ns}/configmaps"
    proto = "application/vnd.kubernetes.protobuf"
    status_of(api.post(path, data=b"not protobuf", content_type=proto), 400)
    status_of(api.post(path, data=b"k8s\x00\x0a\xff", content_type=proto), 400)
    # a well-formed envelope of a kind whose protobuf form is not decoded here
    type_meta = b"\x0a\x07apps/v1\x12\x0aDeployment"
    envelope = b"k8s\x00\x0a" + bytes([len(type_meta)]) + type_meta + b"\x12\x00"
    body = status_of(api.post(f"/apis/apps/v1/namespaces/{ns}/deployments", data=envelope,
                              content_type=proto), 415)
    assert "Deployment" in body["message"]
