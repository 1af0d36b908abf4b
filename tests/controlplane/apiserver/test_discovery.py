"""Discovery, version, health and OpenAPI, as kubectl reads them."""

from __future__ import annotations

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"


def test_legacy_discovery(api):
    assert api.get("/api").json()["versions"] == ["v1"]
    resources = {r["name"]: r for r in api.get("/api/v1").json()["resources"]}
    assert resources["pods"]["namespaced"] and resources["pods"]["kind"] == "Pod"
    assert "po" in resources["pods"]["shortNames"]
    assert set(resources["pods/status"]["verbs"]) == {"get", "patch", "update"}
    assert not resources["nodes"]["namespaced"]
    groups = {g["name"]: g for g in api.get("/apis").json()["groups"]}
    assert groups["apps"]["preferredVersion"]["groupVersion"] == "apps/v1"
    apps = {r["name"]: r for r in api.get("/apis/apps/v1").json()["resources"]}
    assert apps["deployments/scale"]["kind"] == "Scale"
    assert apps["deployments/scale"]["group"] == "autoscaling"
    assert api.get("/apis/apps").json()["kind"] == "APIGroup"
    assert api.get("/apis/nosuch").status_code == 404


def test_aggregated_discovery_in_both_versions(api):
    for accept, version in ((AGGREGATED_V2, "v2"), (AGGREGATED_V2BETA1, "v2beta1")):
        response = api.get("/apis", headers={"Accept": accept + ",application/json"})
        assert response.headers["Content-Type"] == accept
        body = response.json()
        assert body["apiVersion"] == f"apidiscovery.k8s.io/{version}"
        groups = {item["metadata"]["name"]: item for item in body["items"]}
        deployments = next(r for r in groups["apps"]["versions"][0]["resources"]
                           if r["resource"] == "deployments")
        assert deployments["scope"] == "Namespaced"
        assert {s["subresource"] for s in deployments["subresources"]} >= {"scale", "status"}
        core = api.get("/api", headers={"Accept": accept}).json()
        pods = next(r for r in core["items"][0]["versions"][0]["resources"]
                    if r["resource"] == "pods")
        assert pods["responseKind"] == {"group": "", "version": "v1", "kind": "Pod"}
    plain = api.get("/api", headers={"Accept": "application/json"})
    assert plain.json()["kind"] == "APIVersions"


def test_version_and_health(apiserver):
    anonymous = apiserver.client(token=None)
    version = anonymous.get("/version").json()
    assert version["major"] == "1" and version["gitVersion"].startswith("v1.")
    for path in ("/healthz", "/livez", "/readyz"):
        response = anonymous.get(path)
        assert response.status_code == 200 and response.text == "ok"


def test_openapi_documents(api):
    v2 = api.get("/openapi/v2", headers={"Accept": "application/json"}).json()
    assert v2["swagger"] == "2.0"
    assert "io.k8s.api.core.v1.Pod" in v2["definitions"]
    proto = api.get("/openapi/v2", headers={
        "Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    assert proto.status_code == 200 and proto.content[:1] != b"{"
    index = api.get("/openapi/v3").json()["paths"]
    url = index["apis/apps/v1"]["serverRelativeURL"]
    doc = api.get(url).json()
    assert doc["openapi"].startswith("3.")
    assert "immutable" in api.get(url).headers.get("Cache-Control", "")
    assert api.get("/openapi/v3/apis/nosuch/v1").status_code == 404
