"""The OpenAPI documents kubectl reads: v2 (`/openapi/v2`) and v3 (`/openapi/v3`
index, `/openapi/v3/api/v1`, `/openapi/v3/apis/apps/v1`...).

Everything is generated from the registry's schemas (`openapi_schemas.py` renders
them): definitions with `x-kubernetes-group-version-kind` for `kubectl explain`,
and one operation per verb and path with the parameters the API server accepts.
kubectl (>= 1.27) asks the v3 document whether a kind's PATCH operation takes the
`fieldValidation` query parameter before it trusts the server with
`--validate=strict`; every write operation here declares it.

Documents are built once per process and cached; callers must not mutate them.
"""

from __future__ import annotations

import functools
import hashlib
import json

from . import registry
from .openapi_schemas import Renderer
from .types.metav1 import list_of

TITLE = "Kubernetes"
VERSION = "v1.30.0"
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json", "application/apply-patch+yaml"]
MEDIA = ["application/json", "application/yaml"]

_Q = {  # query parameters: name -> (type, description)
    "pretty": ("string", "If 'true', then the output is pretty printed."),
    "dryRun": ("string", "When present, indicates that modifications should not be "
               "persisted. Valid value: All."),
    "fieldManager": ("string", "fieldManager is a name associated with the actor or entity "
                     "that is making these changes."),
    "fieldValidation": ("string", "fieldValidation instructs the server on how to handle "
                        "objects in the request containing unknown or duplicate fields: "
                        "Ignore, Warn (the default) or Strict."),
    "force": ("boolean", "Force is going to \"force\" Apply requests."),
    "labelSelector": ("string", "A selector to restrict the list of returned objects by "
                      "their labels. Defaults to everything."),
    "fieldSelector": ("string", "A selector to restrict the list of returned objects by "
                      "their fields. Defaults to everything."),
    "limit": ("integer", "limit is a maximum number of responses to return for a list call; "
              "continue with the returned continue token."),
    "continue": ("string", "The continue option should be set when retrieving more results "
                 "from the server."),
    "resourceVersion": ("string", "resourceVersion sets a constraint on what resource "
                        "versions a request may be served from."),
    "resourceVersionMatch": ("string", "resourceVersionMatch determines how resourceVersion "
                             "is applied to list calls."),
    "watch": ("boolean", "Watch for changes to the described resources and return them as a "
              "stream of add, update, and remove notifications."),
    "allowWatchBookmarks": ("boolean", "allowWatchBookmarks requests watch events with type "
                            "\"BOOKMARK\"."),
    "timeoutSeconds": ("integer", "Timeout for the list/watch call."),
    "sendInitialEvents": ("boolean", "sendInitialEvents=true may be set together with "
                          "watch=true to get the current state first."),
    "gracePeriodSeconds": ("integer", "The duration in seconds before the object should be "
                           "deleted."),
    "propagationPolicy": ("string", "Whether and how garbage collection will be performed: "
                          "Orphan, Background or Foreground."),
    "orphanDependents": ("boolean", "Deprecated: please use the PropagationPolicy."),
    "container": ("string", "The container for which to stream logs or run a command."),
    "follow": ("boolean", "Follow the log stream of the pod."),
    "previous": ("boolean", "Return previous terminated container logs."),
    "tailLines": ("integer", "The number of lines from the end of the logs to show."),
    "command": ("string", "Command is the remote command to execute."),
    "stdin": ("boolean", "Redirect the standard input stream of the pod for this call."),
    "stdout": ("boolean", "Redirect the standard output stream of the pod for this call."),
    "stderr": ("boolean", "Redirect the standard error stream of the pod for this call."),
    "tty": ("boolean", "TTY if true indicates that a tty will be allocated."),
}
_LIST_PARAMS = ["allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
                "resourceVersion", "resourceVersionMatch", "sendInitialEvents",
                "timeoutSeconds", "watch"]
_WRITE_PARAMS = ["dryRun", "fieldManager", "fieldValidation"]
_DELETE_PARAMS = ["dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy"]


def _camel(group: str, version: str) -> str:
    name = group.split(".")[0] if group else "core"
    return name[:1].upper() + name[1:] + version[:1].upper() + version[1:]


class _Builder:
    """Builds one document (v2 or v3) for a set of group-versions."""

    def __init__(self, v3: bool):
        self.v3 = v3
        self.render = Renderer(v3)
        self.paths: dict[str, dict] = {}
        for kind in ("Status", "DeleteOptions", "WatchEvent"):
            rt = registry.by_kind("v1", kind)
            self.render.node(rt.schema)
            self.render.add_gvk(rt.schema, "", "v1", kind)
        self.render.definitions.setdefault(META + "Patch", {
            "description": "Patch is provided to give a concrete name and type to the "
                           "Kubernetes PATCH request body.", "type": "object"})

    def _param(self, name: str, where: str = "query") -> dict:
        if where == "path":
            kind, doc = "string", f"{name} of the object" if name != "namespace" else (
                "object name and auth scope, such as for teams and projects")
        else:
            kind, doc = _Q[name]
        body = {"name": name, "in": where, "description": doc}
        if where == "path":
            body["required"] = True
        if self.v3:
            body["schema"] = {"type": kind, "uniqueItems": True}
        else:
            body["type"] = kind
            body["uniqueItems"] = True
        return body

    def _ok(self, ref: dict | None, codes=("200",), text: bool = False) -> dict:
        responses = {}
        for code in codes:
            description = {"200": "OK", "201": "Created", "202": "Accepted"}[code]
            if ref is None:
                responses[code] = {"description": description}
                if text:
                    schema = {"type": "string"}
                    if self.v3:
                        responses[code]["content"] = {"text/plain": {"schema": schema}}
                    else:
                        responses[code]["schema"] = schema
            elif self.v3:
                responses[code] = {"description": description,
                                   "content": {m: {"schema": ref} for m in MEDIA}}
            else:
                responses[code] = {"description": description, "schema": ref}
        responses["401"] = {"description": "Unauthorized"}
        return responses

    def _operation(self, action: str, op_id: str, tag: str, gvk: tuple[str, str, str] | None,
                   params: list[str], ref: dict | None, body: dict | None = None,
                   body_types=None, codes=("200",), text: bool = False) -> dict:
        op = {"description": op_id, "operationId": op_id, "tags": [tag],
              "parameters": [self._param(p) for p in params],
              "responses": self._ok(ref, codes, text), "x-kubernetes-action": action}
        if gvk is not None:
            op["x-kubernetes-group-version-kind"] = {"group": gvk[0], "kind": gvk[2],
                                                     "version": gvk[1]}
        if body is not None:
            consumes = body_types or ["*/*"]
            if self.v3:
                op["requestBody"] = {"required": action != "delete",
                                     "content": {c: {"schema": body} for c in consumes}}
            else:
                op["parameters"].append({"name": "body", "in": "body",
                                         "required": action != "delete", "schema": body})
                op["consumes"] = consumes
        if not self.v3:
            op["produces"] = ["text/plain"] if text else MEDIA
            op["schemes"] = ["https"]
        return op

    def resource(self, rt: registry.ResourceType) -> None:
        group, version, kind = rt.group, rt.version, rt.kind
        if group:
            for meta_kind in ("DeleteOptions", "WatchEvent"):
                self.render.add_gvk(registry.by_kind("v1", meta_kind).schema, group, version,
                                    meta_kind)
        self.render.add_gvk(rt.schema, group, version, kind)
        listed = list_of(rt.schema)
        self.render.add_gvk(listed, group, version, kind + "List")
        obj = self.render.node(rt.schema)
        lst = self.render.node(listed)
        status = self.render.ref(META + "Status")
        delete_options = self.render.ref(META + "DeleteOptions")
        patch = self.render.ref(META + "Patch")
        prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
        scope = "Namespaced" if rt.namespaced else ""
        base = f"{prefix}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else \
            f"{prefix}/{rt.plural}"
        item = base + "/{name}"
        tag = f"{group.split('.')[0] if group else 'core'}_{version}"
        gv = _camel(group, version)
        gvk = (group, version, kind)
        scope_params = ["namespace"] if rt.namespaced else []

        collection: dict = {}
        if "list" in rt.verbs:
            collection["get"] = self._operation("list", f"list{gv}{scope}{kind}", tag, gvk,
                                                ["pretty", *_LIST_PARAMS], lst)
        if "create" in rt.verbs:
            collection["post"] = self._operation("post", f"create{gv}{scope}{kind}", tag, gvk,
                                                 ["pretty", *_WRITE_PARAMS], obj, obj,
                                                 codes=("200", "201", "202"))
        if "deletecollection" in rt.verbs:
            collection["delete"] = self._operation(
                "deletecollection", f"deletecollection{gv}{scope}{kind}", tag, gvk,
                ["pretty", *_DELETE_PARAMS, *_LIST_PARAMS], status, delete_options)
        self._add(base, collection, scope_params)
        if rt.namespaced and "list" in rt.verbs:
            self._add(f"{prefix}/{rt.plural}", {"get": self._operation(
                "list", f"list{gv}{kind}ForAllNamespaces", tag, gvk,
                ["pretty", *_LIST_PARAMS], lst)}, [])

        if "get" in rt.verbs:
            ops = {
                "get": self._operation("get", f"read{gv}{scope}{kind}", tag, gvk, ["pretty"],
                                       obj),
                "put": self._operation("put", f"replace{gv}{scope}{kind}", tag, gvk,
                                       ["pretty", *_WRITE_PARAMS], obj, obj,
                                       codes=("200", "201")),
                "patch": self._operation("patch", f"patch{gv}{scope}{kind}", tag, gvk,
                                         ["pretty", *_WRITE_PARAMS, "force"], obj, patch,
                                         PATCH_TYPES, codes=("200", "201")),
                "delete": self._operation("delete", f"delete{gv}{scope}{kind}", tag, gvk,
                                          ["pretty", *_DELETE_PARAMS], status, delete_options,
                                          codes=("200", "202")),
            }
            self._add(item, ops, [*scope_params, "name"])
        for sub in rt.subresources:
            self._subresource(rt, sub, item, tag, gv, scope, scope_params, obj)

    def _subresource(self, rt, sub: str, item: str, tag: str, gv: str, scope: str,
                     scope_params: list[str], obj: dict) -> None:
        kind = rt.kind
        name = sub[:1].upper() + sub[1:]
        params = [*scope_params, "name"]
        if sub in ("status", "scale"):
            if sub == "scale":
                scale = registry.by_kind("autoscaling/v1", "Scale")
                self.render.add_gvk(scale.schema, "autoscaling", "v1", "Scale")
                ref, gvk = self.render.node(scale.schema), ("autoscaling", "v1", "Scale")
            else:
                ref, gvk = obj, (rt.group, rt.version, kind)
            patch = self.render.ref(META + "Patch")
            ops = {
                "get": self._operation("get", f"read{gv}{scope}{kind}{name}", tag, gvk,
                                       ["pretty"], ref),
                "put": self._operation("put", f"replace{gv}{scope}{kind}{name}", tag, gvk,
                                       ["pretty", *_WRITE_PARAMS], ref, ref,
                                       codes=("200", "201")),
                "patch": self._operation("patch", f"patch{gv}{scope}{kind}{name}", tag, gvk,
                                         ["pretty", *_WRITE_PARAMS, "force"], ref, patch,
                                         PATCH_TYPES, codes=("200", "201")),
            }
        elif sub in ("binding", "eviction"):
            target = registry.by_kind(*(("v1", "Binding") if sub == "binding"
                                        else ("policy/v1", "Eviction")))
            gvk = (target.group, target.version, target.kind)
            self.render.add_gvk(target.schema, *gvk)
            ref = self.render.node(target.schema)
            ops = {"post": self._operation("post", f"create{gv}{scope}{kind}{name}", tag, gvk,
                                           ["pretty", *_WRITE_PARAMS], ref, ref,
                                           codes=("200", "201", "202"))}
        elif sub == "log":
            ops = {"get": self._operation("get", f"read{gv}{scope}{kind}Log", tag, None,
                                          ["pretty", "container", "follow", "previous",
                                           "tailLines"], None, text=True)}
        elif sub in ("exec", "attach", "portforward"):
            extra = ["container", "command", "stdin", "stdout", "stderr", "tty"] \
                if sub != "portforward" else []
            ops = {verb: self._operation("connect", f"connect{gv}{verb.capitalize()}"
                                         f"{scope}{kind}{name}", tag, None, extra, None,
                                         text=True)
                   for verb in ("get", "post")}
        else:
            return
        self._add(f"{item}/{sub}", ops, params)

    def _add(self, path: str, ops: dict, path_params: list[str]) -> None:
        if not ops:
            return
        entry = self.paths.setdefault(path, {})
        entry.update(ops)
        entry["parameters"] = [self._param(p, "path") for p in path_params]

    def document(self) -> dict:
        definitions = self.render.finish()
        security = {"BearerToken": {"type": "apiKey", "name": "authorization", "in": "header",
                                    "description": "Bearer Token authentication"}}
        if self.v3:
            return {"openapi": "3.0.0", "info": {"title": TITLE, "version": VERSION},
                    "paths": dict(sorted(self.paths.items())),
                    "components": {"schemas": definitions, "securitySchemes": security},
                    "security": [{"BearerToken": []}]}
        return {"swagger": "2.0", "info": {"title": TITLE, "version": VERSION},
                "paths": dict(sorted(self.paths.items())), "definitions": definitions,
                "securityDefinitions": security, "security": [{"BearerToken": []}]}


@functools.cache
def openapi_v2() -> dict:
    """The whole API as one Swagger 2.0 document."""
    builder = _Builder(v3=False)
    for rt in registry.all_types():
        builder.resource(rt)
    return builder.document()


def _path_of(group_version: str) -> str:
    """"v1" -> "api/v1", "apps/v1" -> "apis/apps/v1"; path forms pass through."""
    gv = group_version.strip("/")
    if gv.startswith(("api/", "apis/")):
        return gv
    return f"apis/{gv}" if "/" in gv else f"api/{gv}"


@functools.cache
def _v3_documents() -> dict[str, dict]:
    docs: dict[str, _Builder] = {}
    for rt in registry.all_types():
        path = _path_of(rt.api_version)
        docs.setdefault(path, _Builder(v3=True)).resource(rt)
    return {path: builder.document() for path, builder in docs.items()}


def openapi_v3(group_version: str) -> dict | None:
    """The OpenAPI 3.0 document of one group-version ("v1", "apps/v1", or the index's
    path form "apis/apps/v1"); None if no such group-version is served."""
    return _v3_documents().get(_path_of(group_version))


@functools.cache
def openapi_v3_hash(group_version: str) -> str:
    """A content hash of one v3 document, for the index's cache-busting URLs."""
    doc = openapi_v3(group_version)
    if doc is None:
        return ""
    return hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:64].upper()


@functools.cache
def openapi_v3_index() -> dict:
    """`/openapi/v3`: where each group-version's document lives."""
    return {"paths": {path: {"serverRelativeURL": f"/openapi/v3/{path}?hash="
                                                  f"{openapi_v3_hash(path)}"}
                      for path in sorted(_v3_documents())}}
