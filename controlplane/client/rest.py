"""REST calls on any resource, addressed by apiVersion + kind.

    client = Client.from_kubeconfig()
    pods = client.resource("v1", "Pod")
    pod = pods.get("web-0", namespace="default")
    for event in pods.watch(resource_version=pods.list()["metadata"]["resourceVersion"]):
        ...

Objects are plain dicts, as on the wire. Every non-2xx answer is raised as the
`ApiError` subclass for its Status (`NotFound`, `Conflict`, ...); an unreachable
server as `ConnectionFailed`. Namespaces: single-object calls on a namespaced
resource use `namespace=` (or the object's own `metadata.namespace`), else the
kubeconfig context's namespace; `list`, `watch` and `delete_collection` with no
namespace span all namespaces (`ALL`).

Subresources are reached with `subresource=` ("status", "scale", ...) or the
helpers below: `bind`, `evict`, `scale`, `pod_logs`, `exec` (websocket).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import orjson

from .errors import ApiError, Gone
from .kubeconfig import Overrides, load_connection
from .restmapper import ResourceInfo, RestMapper
from .transport import Response, Stream, Transport
from .watch import Watch

ALL = None

JSON = "application/json"
TABLE = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
         "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")
PATCH_TYPES = {
    "json": "application/json-patch+json",
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}


def _dump(obj) -> bytes:
    try:
        return orjson.dumps(obj)
    except TypeError:   # what only json writes: non-string keys, integers beyond 64 bits
        return json.dumps(obj, separators=(",", ":")).encode()


class Client:
    """An API server as one user: REST verbs on any resource, discovery, raw requests."""

    def __init__(self, transport: Transport, *, namespace: str = "default",
                 mapper: RestMapper | None = None):
        self.transport = transport
        self.namespace = namespace
        self.mapper = mapper or RestMapper(self.get_json)

    @classmethod
    def from_kubeconfig(cls, kubeconfig: str | None = None, overrides: Overrides | None = None,
                        **transport_options) -> Client:
        conn = load_connection(kubeconfig, overrides)
        return cls(Transport(conn, **transport_options), namespace=conn.namespace)

    @property
    def server(self) -> str:
        return self.transport.server

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- raw requests ----------------------------------------------------------------

    def request(self, method: str, path: str, *, params: Mapping | None = None,
                body=None, content_type: str = JSON, accept: str = JSON,
                timeout: float | None = None) -> Response:
        """One call; the Response when it succeeded, else the ApiError it was."""
        data = body if body is None or isinstance(body, bytes) else _dump(body)
        headers = {"Accept": accept}
        if data is not None:
            headers["Content-Type"] = content_type
        response = self.transport.request(method, path, params=params, body=data,
                                          headers=headers, timeout=timeout)
        if not response.ok:
            raise ApiError.from_response(response.status, response.content, response.url)
        return response

    def get_json(self, path: str, *, params: Mapping | None = None, accept: str = JSON):
        return self.request("GET", path, params=params, accept=accept).json()

    def stream(self, path: str, *, params: Mapping | None = None, accept: str = JSON,
               timeout: float | None = None) -> Stream:
        stream = self.transport.stream("GET", path, params=params, headers={"Accept": accept},
                                       timeout=timeout)
        if not 200 <= stream.status < 300:
            raise ApiError.from_response(stream.status, stream.read_all(), stream.url)
        return stream

    def version(self) -> dict:
        return self.get_json("/version")

    # -- typed access ----------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> ResourceClient:
        return ResourceClient(self, self.mapper.for_kind(api_version, kind))

    def resource_for(self, info: ResourceInfo) -> ResourceClient:
        return ResourceClient(self, info)

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict:
        return self.resource(api_version, kind).get(name, namespace)

    def list(self, api_version: str, kind: str, namespace: str | None = ALL, **kw) -> dict:
        return self.resource(api_version, kind).list(namespace, **kw)

    def create(self, obj: dict, namespace: str | None = None, **kw) -> dict:
        return self.resource(obj["apiVersion"], obj["kind"]).create(obj, namespace, **kw)

    def replace(self, obj: dict, namespace: str | None = None, **kw) -> dict:
        return self.resource(obj["apiVersion"], obj["kind"]).replace(obj, namespace, **kw)

    def replace_status(self, obj: dict) -> dict:
        return self.resource(obj["apiVersion"], obj["kind"]).replace(obj, subresource="status")

    def patch(self, api_version: str, kind: str, name: str, patch, namespace: str | None = None,
              **kw) -> dict:
        return self.resource(api_version, kind).patch(name, patch, namespace, **kw)

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None,
               **kw) -> dict:
        return self.resource(api_version, kind).delete(name, namespace, **kw)

    def watch(self, api_version: str, kind: str, namespace: str | None = ALL, **kw) -> Watch:
        return self.resource(api_version, kind).watch(namespace, **kw)

    # -- subresources with a shape of their own --------------------------------------

    def bind(self, name: str, namespace: str, node: str, *, uid: str | None = None) -> dict:
        """Assign a pod to a node (what a scheduler does): POST pods/NAME/binding."""
        meta = {"name": name, "namespace": namespace}
        if uid:
            meta["uid"] = uid
        binding = {"apiVersion": "v1", "kind": "Binding", "metadata": meta,
                   "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        return self.resource("v1", "Pod").create(binding, namespace, subresource="binding",
                                                  name=name)

    def evict(self, name: str, namespace: str, *, grace_period_seconds: int | None = None) -> dict:
        """Ask to delete a pod, honouring disruption budgets: POST pods/NAME/eviction."""
        eviction = {"apiVersion": "policy/v1", "kind": "Eviction",
                    "metadata": {"name": name, "namespace": namespace}}
        if grace_period_seconds is not None:
            eviction["deleteOptions"] = {"gracePeriodSeconds": grace_period_seconds}
        return self.resource("v1", "Pod").create(eviction, namespace, subresource="eviction",
                                                  name=name)

    def scale(self, api_version: str, kind: str, name: str, replicas: int,
              namespace: str | None = None, *, resource_version: str | None = None) -> dict:
        """Set replicas through the scale subresource (as `kubectl scale` does)."""
        patch: dict = {"spec": {"replicas": replicas}}
        if resource_version:
            patch["metadata"] = {"resourceVersion": resource_version}
        return self.resource(api_version, kind).patch(name, patch, namespace, patch_type="merge",
                                                      subresource="scale")

    def pod_logs(self, name: str, namespace: str, *, container: str | None = None,
                 follow: bool = False, previous: bool = False, tail_lines: int | None = None,
                 since_seconds: int | None = None, since_time: str | None = None,
                 timestamps: bool = False, limit_bytes: int | None = None) -> Stream:
        """A container's log as a stream of bytes (pods/NAME/log)."""
        info = self.mapper.for_kind("v1", "Pod")
        params = {"container": container, "follow": follow, "previous": previous,
                  "tailLines": tail_lines, "sinceSeconds": since_seconds, "sinceTime": since_time,
                  "timestamps": timestamps, "limitBytes": limit_bytes}
        return self.stream(info.path(namespace, name, "log"), params=params, accept="*/*",
                           timeout=None if follow else self.transport.timeout)

    def exec(self, name: str, namespace: str, command: list[str], *,
             container: str | None = None, stdin: bool = False, stdout: bool = True,
             stderr: bool = True, tty: bool = False):
        """Run a command in a container over the exec websocket (pods/NAME/exec)."""
        from .remotecommand import ExecSession
        info = self.mapper.for_kind("v1", "Pod")
        params = {"command": list(command), "container": container, "stdin": stdin,
                  "stdout": stdout, "stderr": stderr and not tty, "tty": tty}
        return ExecSession.open(self.transport, info.path(namespace, name, "exec"), params,
                                stdin=stdin, tty=tty)


class ResourceClient:
    """REST verbs on one resource type."""

    def __init__(self, client: Client, info: ResourceInfo):
        self.client = client
        self.info = info

    def _namespace(self, namespace: str | None, obj: dict | None = None) -> str | None:
        if not self.info.namespaced:
            return None
        from_obj = ((obj or {}).get("metadata") or {}).get("namespace")
        return namespace or from_obj or self.client.namespace

    def _path(self, namespace, name=None, subresource=None) -> str:
        return self.info.path(namespace, name, subresource)

    def get(self, name: str, namespace: str | None = None, *, subresource: str | None = None,
            as_table: bool = False, include_object: str | None = None) -> dict:
        """One object; `as_table` asks for the server's Table (rows carry the object's
        metadata, or all of it with include_object="Object")."""
        path = self._path(self._namespace(namespace), name, subresource)
        return self.client.get_json(path, params={"includeObject": include_object},
                                    accept=TABLE if as_table else JSON)

    def list(self, namespace: str | None = ALL, *, label_selector: str | None = None,
             field_selector: str | None = None, limit: int | None = None,
             continue_token: str | None = None, resource_version: str | None = None,
             as_table: bool = False, include_object: str | None = None) -> dict:
        params = {"labelSelector": label_selector, "fieldSelector": field_selector,
                  "limit": limit, "continue": continue_token, "resourceVersion": resource_version,
                  "includeObject": include_object}
        ns = namespace if self.info.namespaced else None
        return self.client.get_json(self._path(ns), params=params,
                                    accept=TABLE if as_table else JSON)

    def list_all(self, namespace: str | None = ALL, *, page_size: int = 500, **kw) -> dict:
        """Every item, fetched a page at a time; one consistent snapshot, as client-go's pager.

        If a continue token expires mid-way (410), the list is redone in one request."""
        first = self.list(namespace, limit=page_size, **kw)
        items = list(first.get("items") or [])
        token = (first.get("metadata") or {}).get("continue")
        try:
            while token:
                page = self.list(namespace, limit=page_size, continue_token=token, **kw)
                items.extend(page.get("items") or [])
                token = (page.get("metadata") or {}).get("continue")
        except Gone:
            return self.list(namespace, **kw)
        first["items"] = items
        first.setdefault("metadata", {}).pop("continue", None)
        first["metadata"].pop("remainingItemCount", None)
        return first

    def create(self, obj: dict, namespace: str | None = None, *, subresource: str | None = None,
               name: str | None = None, dry_run: bool = False,
               field_manager: str | None = None) -> dict:
        ns = self._namespace(namespace, obj)
        path = self._path(ns, name, subresource) if subresource else self._path(ns)
        params = {"dryRun": "All" if dry_run else None, "fieldManager": field_manager}
        return self.client.request("POST", path, params=params, body=obj).json()

    def replace(self, obj: dict, namespace: str | None = None, *,
                subresource: str | None = None, dry_run: bool = False,
                field_manager: str | None = None) -> dict:
        name = obj["metadata"]["name"]
        path = self._path(self._namespace(namespace, obj), name, subresource)
        params = {"dryRun": "All" if dry_run else None, "fieldManager": field_manager}
        return self.client.request("PUT", path, params=params, body=obj).json()

    def patch(self, name: str, patch, namespace: str | None = None, *,
              patch_type: str = "strategic", subresource: str | None = None,
              dry_run: bool = False, field_manager: str | None = None,
              force: bool | None = None) -> dict:
        if patch_type not in PATCH_TYPES:
            raise ValueError(f"patch_type must be one of {', '.join(PATCH_TYPES)}")
        path = self._path(self._namespace(namespace), name, subresource)
        params = {"dryRun": "All" if dry_run else None, "fieldManager": field_manager,
                  "force": force}
        return self.client.request("PATCH", path, params=params, body=patch,
                                   content_type=PATCH_TYPES[patch_type]).json()

    def delete(self, name: str, namespace: str | None = None, *,
               grace_period_seconds: int | None = None, propagation_policy: str | None = None,
               preconditions: dict | None = None, dry_run: bool = False) -> dict:
        """Delete; returns the object (still terminating) or the server's Success Status."""
        path = self._path(self._namespace(namespace), name)
        return self.client.request("DELETE", path,
                                   body=_delete_options(grace_period_seconds, propagation_policy,
                                                        preconditions, dry_run)).json()

    def delete_collection(self, namespace: str | None = ALL, *, label_selector: str | None = None,
                          field_selector: str | None = None,
                          grace_period_seconds: int | None = None,
                          propagation_policy: str | None = None) -> dict:
        ns = namespace if self.info.namespaced else None
        params = {"labelSelector": label_selector, "fieldSelector": field_selector}
        return self.client.request("DELETE", self._path(ns), params=params,
                                   body=_delete_options(grace_period_seconds, propagation_policy,
                                                        None, False)).json()

    def watch(self, namespace: str | None = ALL, *, resource_version: str | None = None,
              label_selector: str | None = None, field_selector: str | None = None,
              name: str | None = None, allow_bookmarks: bool = True,
              timeout_seconds: int | None = None, as_table: bool = False) -> Watch:
        """A watch from `resource_version` (None: the current state as ADDED events first)."""
        if name:
            selector = f"metadata.name={name}"
            field_selector = f"{field_selector},{selector}" if field_selector else selector
        params = {"watch": "true", "resourceVersion": resource_version,
                  "labelSelector": label_selector, "fieldSelector": field_selector,
                  "allowWatchBookmarks": allow_bookmarks, "timeoutSeconds": timeout_seconds}
        ns = namespace if self.info.namespaced else None
        # A live watch may be silent for long; wait a little past the server's own timeout.
        read_timeout = timeout_seconds + 30 if timeout_seconds else None
        stream = self.client.stream(self._path(ns), params=params,
                                    accept=TABLE if as_table else JSON, timeout=read_timeout)
        return Watch(stream, resource_version)


def _delete_options(grace, propagation, preconditions, dry_run) -> dict:
    options: dict = {"kind": "DeleteOptions", "apiVersion": "v1"}
    if grace is not None:
        options["gracePeriodSeconds"] = grace
    if propagation:
        options["propagationPolicy"] = propagation
    if preconditions:
        options["preconditions"] = preconditions
    if dry_run:
        options["dryRun"] = ["All"]
    return options
