"""Discovery, version, health and OpenAPI: what kubectl asks before anything else.

Built once from the api registry at app creation (the set of types does not
change while the server runs):

    /api, /apis                    legacy discovery (APIVersions, APIGroupList), or
                                   the aggregated form (APIGroupDiscoveryList,
                                   apidiscovery.k8s.io v2 or v2beta1) that kubectl
                                   >= 1.26 asks for in its Accept header
    /api/v1, /apis/{g}, /apis/{g}/{v}   APIResourceList / APIGroup
    /version                       the Kubernetes version we speak (kubectl warns on skew)
    /healthz, /livez, /readyz      "ok"; readyz waits for the watch cache
    /openapi/v2, /openapi/v3[/...] from `api.openapi`, generated from the type schemas
"""

from __future__ import annotations

import hashlib
import platform

from flask import Blueprint, Response, current_app, request

from ..api import openapi, openapi_proto, registry
from . import codec, errors

KUBE_MAJOR, KUBE_MINOR = "1", "30"
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

# What each subresource answers with, and which verbs it has.
_SUBRESOURCES = {
    "status": (None, ["get", "patch", "update"]),
    "scale": (("autoscaling", "v1", "Scale"), ["get", "patch", "update"]),
    "binding": (("", "v1", "Binding"), ["create"]),
    "log": (("", "v1", "Pod"), ["get"]),
    "exec": (("", "v1", "PodExecOptions"), ["create", "get"]),
    "eviction": (("policy", "v1", "Eviction"), ["create"]),
    "finalize": (None, ["update"]),
}

AGGREGATED = "apidiscovery.k8s.io"


def _sub_kind(rt, sub):
    kind, verbs = _SUBRESOURCES.get(sub, (None, ["get"]))
    return kind or (rt.group, rt.version, rt.kind), verbs


def _resource_list(group_version: str, types) -> dict:
    resources = []
    for rt in types:
        entry = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                 "kind": rt.kind, "verbs": VERBS}
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        entry["storageVersionHash"] = hashlib.sha256(
            f"{rt.group}/{rt.version}/{rt.kind}".encode()).hexdigest()[:12]
        resources.append(entry)
        for sub in rt.subresources:
            (group, version, kind), verbs = _sub_kind(rt, sub)
            sub_entry = {"name": f"{rt.plural}/{sub}", "singularName": "",
                         "namespaced": rt.namespaced, "kind": kind, "verbs": verbs}
            if group != rt.group:
                sub_entry["group"], sub_entry["version"] = group, version
            resources.append(sub_entry)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": resources}


def _aggregated_version(version: str, types) -> dict:
    resources = []
    for rt in types:
        entry = {"resource": rt.plural,
                 "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
                 "scope": "Namespaced" if rt.namespaced else "Cluster",
                 "singularResource": rt.singular, "verbs": VERBS}
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        subs = []
        for sub in rt.subresources:
            (group, sub_version, kind), verbs = _sub_kind(rt, sub)
            subs.append({"subresource": sub, "responseKind": {
                "group": group, "version": sub_version, "kind": kind}, "verbs": verbs})
        if subs:
            entry["subresources"] = subs
        resources.append(entry)
    return {"version": version, "resources": resources, "freshness": "Current"}


def _aggregated_extra(group: str, version: str, resources: list[dict]) -> dict:
    return {"version": version, "freshness": "Current", "resources": [
        {"resource": r["name"], "scope": "Namespaced" if r["namespaced"] else "Cluster",
         "responseKind": {"group": group, "version": version, "kind": r["kind"]},
         "singularResource": r["singularName"], "verbs": r["verbs"]} for r in resources]}


class Discovery:
    """The discovery documents, rendered once.

    `extra` adds groups served by their own views rather than by registry types
    (the resource metrics API): (group, version, APIResource entries).
    """

    def __init__(self, server_address: str, extra: tuple = ()):
        types = registry.all_types()
        by_gv: dict[tuple[str, str], list] = {}
        for rt in types:
            by_gv.setdefault((rt.group, rt.version), []).append(rt)
        self.resource_lists = {gv: codec.dumps(_resource_list(
            gv[1] if not gv[0] else f"{gv[0]}/{gv[1]}", rts)) for gv, rts in by_gv.items()}
        for group, version, resources in extra:
            self.resource_lists[(group, version)] = codec.dumps({
                "kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}", "resources": resources})
        self.api_versions = codec.dumps({
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": server_address}]})
        groups: list[tuple[str, list[str]]] = []
        for group, version in [*by_gv, *((g, v) for g, v, _ in extra)]:
            if not group:
                continue
            for known, versions in groups:
                if known == group:
                    versions.append(version)
                    break
            else:
                groups.append((group, [version]))
        self.group_docs = {}
        group_list = []
        for group, versions in groups:
            doc = {"name": group,
                   "versions": [{"groupVersion": f"{group}/{v}", "version": v}
                                for v in versions],
                   "preferredVersion": {"groupVersion": f"{group}/{versions[0]}",
                                        "version": versions[0]}}
            group_list.append(doc)
            self.group_docs[group] = codec.dumps({"kind": "APIGroup", "apiVersion": "v1",
                                                  **doc})
        self.group_list = codec.dumps({"kind": "APIGroupList", "apiVersion": "v1",
                                       "groups": group_list})
        self.aggregated = {}
        for dversion in ("v2", "v2beta1"):
            core = [{"metadata": {"creationTimestamp": None},
                     "versions": [_aggregated_version("v1", by_gv.get(("", "v1"), []))]}]
            extras = {(g, v): _aggregated_extra(g, v, r) for g, v, r in extra}
            rest = [{"metadata": {"name": group, "creationTimestamp": None},
                     "versions": [extras.get((group, v)) or
                                  _aggregated_version(v, by_gv.get((group, v), []))
                                  for v in versions]} for group, versions in groups]
            for path, items in (("/api", core), ("/apis", rest)):
                self.aggregated[(path, dversion)] = codec.dumps({
                    "kind": "APIGroupDiscoveryList",
                    "apiVersion": f"{AGGREGATED}/{dversion}", "metadata": {},
                    "items": items})


def _wants_aggregated(accept: str | None) -> str | None:
    """The aggregated discovery version the client prefers, if any (in its order)."""
    for clause in (accept or "").split(","):
        params = dict(p.strip().split("=", 1) for p in clause.split(";")[1:] if "=" in p)
        if params.get("g") == AGGREGATED and params.get("as") == "APIGroupDiscoveryList" \
                and params.get("v") in ("v2", "v2beta1"):
            return params["v"]
        if clause.split(";")[0].strip() in ("application/json", "*/*"):
            return None
    return None


def _json(data: bytes, content_type: str = "application/json") -> Response:
    return Response(data, 200, {"Content-Type": content_type})


def _discovery() -> Discovery:
    return current_app.extensions["supernetes"].discovery


blueprint = Blueprint("discovery", __name__)


def _legacy_or_aggregated(path: str, legacy: bytes) -> Response:
    dversion = _wants_aggregated(request.headers.get("Accept"))
    if dversion is None:
        return _json(legacy)
    data = _discovery().aggregated[(path, dversion)]
    response = _json(data, f"application/json;g={AGGREGATED};v={dversion};"
                           f"as=APIGroupDiscoveryList")
    response.headers["Vary"] = "Accept"
    response.headers["ETag"] = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    return response


@blueprint.get("/api")
def api_root():
    return _legacy_or_aggregated("/api", _discovery().api_versions)


@blueprint.get("/apis")
def apis_root():
    return _legacy_or_aggregated("/apis", _discovery().group_list)


@blueprint.get("/api/v1")
def core_resources():
    return _json(_discovery().resource_lists[("", "v1")])


@blueprint.get("/apis/<group>")
def group_doc(group):
    doc = _discovery().group_docs.get(group)
    if doc is None:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested "
                                               "resource")
    return _json(doc)


@blueprint.get("/apis/<group>/<version>")
def group_resources(group, version):
    doc = _discovery().resource_lists.get((group, version))
    if doc is None:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested "
                                               "resource")
    return _json(doc)


@blueprint.get("/version")
def version():
    from supernetes import __version__  # the package root: one version for everything

    return _json(codec.dumps({
        "major": KUBE_MAJOR, "minor": KUBE_MINOR,
        "gitVersion": f"v{KUBE_MAJOR}.{KUBE_MINOR}.0-supernetes.{__version__}",
        "gitCommit": "", "gitTreeState": "clean", "buildDate": "",
        "goVersion": f"python{platform.python_version()}",
        "compiler": platform.python_implementation().lower(),
        "platform": f"linux/{platform.machine()}"}))


def _plain(text: str, code: int = 200) -> Response:
    return Response(text, code, {"Content-Type": "text/plain; charset=utf-8"})


@blueprint.get("/healthz")
@blueprint.get("/livez")
def alive():
    return _plain("ok")


@blueprint.get("/readyz")
def ready():
    server = current_app.extensions["supernetes"]
    if not server.cacher.ready.is_set():
        return _plain("[-]watch-cache not ready\nreadyz check failed", 500)
    return _plain("ok")


@blueprint.get("/openapi/v2")
def openapi_v2():
    accept = request.headers.get("Accept") or "application/json"
    # kubectl asks only for gnostic's protobuf form of the v2 document.
    if any(kind in accept for kind in openapi_proto.ACCEPTED_TYPES):
        return _json(_cached("v2.pb", openapi_proto.openapi_v2_protobuf),
                     openapi_proto.MEDIA_TYPE)
    if "json" not in accept and "*/*" not in accept:
        raise errors.not_acceptable(accept)
    return _json(_cached("v2", openapi.openapi_v2))


@blueprint.get("/openapi/v3")
def openapi_v3_index():
    return _json(_cached("v3", openapi.openapi_v3_index))


@blueprint.get("/openapi/v3/<path:group_version>")
def openapi_v3(group_version):
    gv = group_version
    if gv.startswith("api/"):
        gv = gv[4:]
    elif gv.startswith("apis/"):
        gv = gv[5:]
    try:
        data = _cached("v3:" + gv, lambda: openapi.openapi_v3(gv))
    except (KeyError, ValueError) as exc:
        raise errors.ApiError(404, "NotFound", f"no OpenAPI document for {group_version}") \
            from exc
    response = _json(data)
    if request.args.get("hash"):
        response.headers["Cache-Control"] = "public, immutable"
    return response


def _cached(name: str, make) -> bytes:
    cache = current_app.extensions["supernetes"].openapi_cache
    if name not in cache:
        doc = make()
        if doc is None:
            raise KeyError(name)
        cache[name] = doc if isinstance(doc, bytes) else codec.dumps(doc)
    return cache[name]
