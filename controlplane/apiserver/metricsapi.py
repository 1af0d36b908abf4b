"""The resource metrics API, metrics.k8s.io/v1beta1: what `kubectl top` and autoscalers read.

In Kubernetes, metrics-server serves it as an aggregated API, scraping every
kubelet's resource metrics every 15 s. Here the API server answers it itself:
each request asks the node agents concerned for their summaries
(`/stats/summary?only_cpu_and_memory=true`, through the node proxy's mutual
TLS), in parallel, and shapes what they say:

    GET /apis/metrics.k8s.io/v1beta1/nodes[/{name}]                 NodeMetrics(List)
    GET /apis/metrics.k8s.io/v1beta1/pods                           PodMetricsList
    GET /apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods[/{name}]  PodMetrics(List)

`labelSelector` filters as on nodes and pods. CPU is the agent's rate in
nanocores (`"2500000n"`), memory the working set in Ki, as metrics-server
reports them; `window` is the span the agent's rate covers (its sampling
interval). A node whose agent does not answer is left out of lists (and a 404
for a single object), as metrics-server leaves out nodes it has no data for.
Reading it is `get`/`list` on `nodes.metrics.k8s.io` / `pods.metrics.k8s.io`:
the admin and the viewer may.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, g, request

from ..api import registry
from ..api.errors import SelectorError
from ..api.selectors import parse_label_selector
from . import authz, codec, errors, objects

log = logging.getLogger(__name__)

GROUP, VERSION = "metrics.k8s.io", "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"
PREFIX = f"/apis/{API_VERSION}"
WINDOW = "10s"
SUMMARY_TIMEOUT = 5.0
NANO = 10**9

blueprint = Blueprint("metricsapi", __name__)


@dataclass(frozen=True)
class _Resource:
    """Enough of a resource type for `authz.authorize`."""

    group: str
    plural: str


NODES, PODS = _Resource(GROUP, "nodes"), _Resource(GROUP, "pods")

# What discovery publishes for the group (see discovery.Discovery's `extra`).
RESOURCES = [
    {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics",
     "verbs": ["get", "list"]},
    {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics",
     "verbs": ["get", "list"]},
]


def _stored(rt_plural: str, namespace: str | None = None) -> list[dict]:
    server = current_app.extensions["supernetes"]
    rt = registry.lookup("", "v1", rt_plural)
    kvs, _ = server.store.list(objects.list_prefix(rt, namespace))
    return [codec.loads(kv.value) for kv in kvs]


def _selector():
    try:
        return parse_label_selector(request.args.get("labelSelector"))
    except SelectorError as exc:
        raise errors.bad_request(str(exc)) from None


def _summaries(node_names: set[str]) -> dict[str, dict]:
    """The agents' summaries, fetched in parallel; nodes that did not answer are missing."""
    proxy = current_app.extensions["supernetes"].node_proxy

    def fetch(name: str):
        try:
            return name, proxy.get_json(name, "/stats/summary?only_cpu_and_memory=true",
                                        SUMMARY_TIMEOUT)
        except Exception as exc:     # one silent agent must not fail the whole answer
            log.info("metrics: no summary from node %s: %s", name, exc)
            return name, None

    if not node_names:
        return {}
    with ThreadPoolExecutor(max_workers=min(16, len(node_names))) as pool:
        return {name: summary for name, summary in pool.map(fetch, sorted(node_names))
                if summary is not None}


def _cpu(stats: dict | None) -> str:
    return f"{int((stats or {}).get('usageNanoCores') or 0)}n"


def _memory(stats: dict | None) -> str:
    return f"{int((stats or {}).get('workingSetBytes') or 0) // 1024}Ki"


def _meta(obj: dict) -> dict:
    meta = obj["metadata"]
    out = {"name": meta["name"], "creationTimestamp": objects.now()}
    if meta.get("namespace"):
        out["namespace"] = meta["namespace"]
    if meta.get("labels"):
        out["labels"] = meta["labels"]
    return out


def _stamp(stats: dict | None) -> str:
    return (stats or {}).get("time") or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _json(obj: dict) -> Response:
    return Response(codec.dumps(obj), 200, content_type="application/json")


def _list(kind: str, items: list[dict]) -> Response:
    return _json({"kind": f"{kind}List", "apiVersion": API_VERSION, "metadata": {},
                  "items": items})


# -- nodes --------------------------------------------------------------------------------

def node_metrics(node: dict, summary: dict) -> dict:
    usage = summary.get("node") or {}
    return {"kind": "NodeMetrics", "apiVersion": API_VERSION, "metadata": _meta(node),
            "timestamp": _stamp(usage.get("cpu")), "window": WINDOW,
            "usage": {"cpu": _cpu(usage.get("cpu")), "memory": _memory(usage.get("memory"))}}


@blueprint.get(f"{PREFIX}/nodes")
@blueprint.get(f"{PREFIX}/nodes/<name>")
def nodes(name: str | None = None):
    server = current_app.extensions["supernetes"]
    authz.authorize(server, g.user, "get" if name else "list", NODES, None, name, None)
    selector = _selector()
    found = [n for n in _stored("nodes") if (name is None or n["metadata"]["name"] == name)
             and selector.matches(n["metadata"].get("labels"))]
    summaries = _summaries({n["metadata"]["name"] for n in found})
    items = [node_metrics(n, summaries[n["metadata"]["name"]]) for n in found
             if n["metadata"]["name"] in summaries]
    if name is None:
        return _list("NodeMetrics", items)
    if not items:
        raise errors.ApiError(404, "NotFound", f'nodemetrics.metrics.k8s.io "{name}" not found',
                              {"name": name, "group": GROUP, "kind": "nodes"})
    return _json(items[0])


# -- pods ---------------------------------------------------------------------------------

def pod_metrics(pod: dict, entry: dict) -> dict:
    containers = [{"name": c.get("name"), "usage": {"cpu": _cpu(c.get("cpu")),
                                                    "memory": _memory(c.get("memory"))}}
                  for c in entry.get("containers") or []]
    return {"kind": "PodMetrics", "apiVersion": API_VERSION, "metadata": _meta(pod),
            "timestamp": _stamp(entry.get("cpu")), "window": WINDOW,
            "containers": containers}


@blueprint.get(f"{PREFIX}/pods")
@blueprint.get(f"{PREFIX}/namespaces/<namespace>/pods")
@blueprint.get(f"{PREFIX}/namespaces/<namespace>/pods/<name>")
def pods(namespace: str | None = None, name: str | None = None):
    server = current_app.extensions["supernetes"]
    authz.authorize(server, g.user, "get" if name else "list", PODS, namespace, name, None)
    selector = _selector()
    found = [p for p in _stored("pods", namespace)
             if (name is None or p["metadata"]["name"] == name)
             and selector.matches(p["metadata"].get("labels"))
             and (p.get("spec") or {}).get("nodeName")]
    summaries = _summaries({p["spec"]["nodeName"] for p in found})
    entries = {}
    for summary in summaries.values():
        for entry in summary.get("pods") or []:
            ref = entry.get("podRef") or {}
            entries[ref.get("uid")] = entry
    items = [pod_metrics(p, entries[p["metadata"]["uid"]]) for p in found
             if p["metadata"].get("uid") in entries]
    if name is None:
        return _list("PodMetrics", items)
    if not items:
        raise errors.ApiError(404, "NotFound", f'podmetrics.metrics.k8s.io "{namespace}/'
                                               f'{name}" not found',
                              {"name": name, "group": GROUP, "kind": "pods"})
    return _json(items[0])
