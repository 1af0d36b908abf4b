"""The OpenAPI v2 and v3 documents: valid, generated from the schemas, and carrying
what kubectl reads (GVK extensions, patch and list metadata, fieldValidation)."""

import pytest
from openapi_spec_validator import OpenAPIV2SpecValidator, OpenAPIV30SpecValidator

from supernetes.controlplane.api import openapi, registry

CORE = "io.k8s.api.core.v1."


def test_v2_document_is_valid_swagger():
    errors = list(OpenAPIV2SpecValidator(openapi.openapi_v2()).iter_errors())
    assert errors == []


@pytest.mark.parametrize("path", sorted(openapi.openapi_v3_index()["paths"]))
def test_v3_documents_are_valid(path):
    errors = list(OpenAPIV30SpecValidator(openapi.openapi_v3(path)).iter_errors())
    assert errors == []


def test_v3_index_lists_every_group_version_with_a_hash():
    paths = openapi.openapi_v3_index()["paths"]
    expected = {"api/v1", "apis/apps/v1", "apis/batch/v1", "apis/autoscaling/v2",
                "apis/coordination.k8s.io/v1", "apis/networking.k8s.io/v1",
                "apis/discovery.k8s.io/v1"}
    assert set(paths) == expected
    url = paths["apis/apps/v1"]["serverRelativeURL"]
    assert url == "/openapi/v3/apis/apps/v1?hash=" + openapi.openapi_v3_hash("apps/v1")
    assert openapi.openapi_v3("apps/v1") is openapi.openapi_v3("apis/apps/v1")
    assert openapi.openapi_v3("nope/v9") is None


def test_every_served_kind_has_a_definition_with_its_gvk():
    definitions = openapi.openapi_v2()["definitions"]
    by_gvk = {}
    for name, body in definitions.items():
        for gvk in body.get("x-kubernetes-group-version-kind", []):
            by_gvk[(gvk["group"], gvk["version"], gvk["kind"])] = name
    for rt in registry.all_types():
        assert by_gvk[(rt.group, rt.version, rt.kind)] == rt.schema.name
        assert (rt.group, rt.version, rt.kind + "List") in by_gvk


def test_container_list_carries_patch_and_list_metadata():
    spec = openapi.openapi_v2()["definitions"][CORE + "PodSpec"]
    containers = spec["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["x-kubernetes-list-type"] == "map"
    assert containers["x-kubernetes-list-map-keys"] == ["name"]
    assert containers["items"] == {"$ref": "#/definitions/" + CORE + "Container"}
    assert spec["required"] == ["containers"]
    volumes = spec["properties"]["volumes"]
    assert volumes["x-kubernetes-patch-strategy"] == "merge,retainKeys"
    ports = openapi.openapi_v2()["definitions"][CORE + "Container"]["properties"]["ports"]
    assert ports["x-kubernetes-list-map-keys"] == ["containerPort", "protocol"]


def test_v3_wraps_described_refs_in_all_of_and_shows_defaults():
    schemas = openapi.openapi_v3("v1")["components"]["schemas"]
    pod = schemas[CORE + "Pod"]
    assert pod["properties"]["spec"]["allOf"] == [
        {"$ref": "#/components/schemas/" + CORE + "PodSpec"}]
    assert pod["properties"]["spec"]["description"]
    assert schemas[CORE + "PodSpec"]["properties"]["restartPolicy"]["default"] == "Always"
    strategy = openapi.openapi_v3("apps/v1")["components"]["schemas"][
        "io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]
    assert strategy["x-kubernetes-patch-strategy"] == "retainKeys"


def test_patch_operations_declare_field_validation_for_kubectl():
    doc = openapi.openapi_v3("apps/v1")
    op = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert op["x-kubernetes-group-version-kind"] == {"group": "apps", "kind": "Deployment",
                                                     "version": "v1"}
    assert any(p["name"] == "fieldValidation" and p["in"] == "query"
               for p in op["parameters"])
    assert "application/strategic-merge-patch+json" in op["requestBody"]["content"]
    assert op["operationId"] == "patchAppsV1NamespacedDeployment"


def test_paths_cover_verbs_scopes_and_subresources():
    paths = openapi.openapi_v2()["paths"]
    assert set(paths["/api/v1/namespaces/{namespace}/pods"]) >= {"get", "post", "delete"}
    assert set(paths["/api/v1/namespaces/{namespace}/pods/{name}"]) >= {
        "get", "put", "patch", "delete"}
    assert "get" in paths["/api/v1/pods"]
    assert paths["/api/v1/nodes/{name}"]["get"]["operationId"] == "readCoreV1Node"
    assert set(paths["/api/v1/namespaces/{namespace}/pods/{name}/status"]) >= {
        "get", "put", "patch"}
    binding = paths["/api/v1/namespaces/{namespace}/pods/{name}/binding"]["post"]
    assert binding["x-kubernetes-group-version-kind"]["kind"] == "Binding"
    scale = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["put"]
    assert scale["x-kubernetes-group-version-kind"] == {"group": "autoscaling",
                                                        "kind": "Scale", "version": "v1"}
    assert "get" in paths["/api/v1/namespaces/{namespace}/pods/{name}/log"]
    assert set(paths["/api/v1/namespaces/{namespace}/bindings"]) == {"post", "parameters"}


def test_descriptions_reach_explain():
    container = openapi.openapi_v2()["definitions"][CORE + "Container"]
    assert container["description"].startswith("A single application container")
    assert "DNS_LABEL" in container["properties"]["name"]["description"]
    assert container["properties"]["resources"]["description"]
