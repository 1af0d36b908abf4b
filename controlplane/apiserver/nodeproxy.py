"""The API server's proxy to node agents: pods/log, pods/exec, nodes/{name}/proxy.

    GET /api/v1/namespaces/{ns}/pods/{name}/log?container=&follow=&tailLines=&...
        -> the pod's agent: /containerLogs/{ns}/{name}/{container}?...   (streamed)
    GET /api/v1/namespaces/{ns}/pods/{name}/exec?command=&container=&stdin=&tty=&...
        with a websocket upgrade -> the agent's /exec/{ns}/{name}/{container}?...;
        the agent's 101 is passed back and the upgraded connection relayed byte for
        byte (Kubernetes' UpgradeAwareProxy), so the exec protocol lives on the agent
    GET .../pods/{name}/attach?container=&stdout=&stderr= -> the agent's /attach, the same way
    GET /api/v1/nodes/{name}/proxy/{path} -> the agent's /{path}: stats/summary,
        metrics, pods, healthz

Authorisation follows Kubernetes: `get pods/log`; `create pods/exec` (as since
1.31, whatever the method, so the viewer may read logs but not exec); `get
nodes/proxy`, refined by path as the kubelet does (`nodes/stats`, `nodes/metrics`,
which the viewer may read for `top`). The pod's node is `spec.nodeName`; the
node's agent is at its first address by type (InternalIP, ExternalIP, Hostname,
...) and `status.daemonEndpoints.kubeletEndpoint.Port`. Errors before the agent
answers are the API server's Status objects in Kubernetes' words; the agent's own
errors (also Status objects) pass through with their code, except that an agent
refusing the API server's certificate is this server's problem: a 500.

kubectl up to 1.33 (client-go's websocket executor before kubernetes#131203)
starts reading the upgraded connection before it has created its stdout,
stderr and error streams, and drops, with "Unknown stream id 1, discarding
message" on stderr, a message that comes in that instant: the first line of
output, or even the exit status. A kubelet's first output comes well after its
101 (the API server dials it, the runtime starts the process); the agent's can
come with it. So the relay sends the agent's 101 on its own, and holds the
agent's bytes until the client has said something or OUTPUT_HOLD has passed.
kubectl speaks only once its streams exist (stdin, its close, a resize), so
with `-i` or `-t` that is exact; a silent `kubectl exec` waits OUTPUT_HOLD at
most (only a command quicker than that notices). superctl pings at once.

SPDY (kubectl before 1.30) is refused with a 400 that says so: kubectl 1.30 and
newer speak websocket (`v5.channel.k8s.io`). Hijacking the connection needs the
socket gunicorn puts in the WSGI environment.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from flask import Blueprint, Response, current_app, g, request

from ..api import registry
from . import agentconn, authz, codec, errors, objects, resources

LOG_OPTIONS = ("follow", "previous", "timestamps", "tailLines", "sinceSeconds", "sinceTime",
               "limitBytes")
EXEC_OPTIONS = ("command", "stdin", "stdout", "stderr", "tty")
ADDRESS_TYPES = ("InternalIP", "ExternalIP", "Hostname", "InternalDNS", "ExternalDNS")
UPGRADE_HEADERS = ("Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
                   "Sec-WebSocket-Protocol")
DEFAULT_AGENT_PORT = 10250
# How long the agent's first output may wait for a silent exec/attach client (see above).
OUTPUT_HOLD = 0.05

blueprint = Blueprint("nodeproxy", __name__)


class _Upgraded(Response):
    """The connection now belongs to the relay: gunicorn must neither answer nor reuse it.

    gunicorn closes a connection quietly when the application raises StopIteration
    before anything was written (the trick websocket libraries use with it).
    """

    def __init__(self, relay) -> None:
        super().__init__()
        self.relay = relay

    def __call__(self, environ, start_response):
        self.relay()
        raise StopIteration


def _failure(message: str) -> errors.ApiError:
    return errors.ApiError(500, "InternalError", f"Internal error occurred: {message}",
                           {"causes": [{"message": message}]})


class NodeProxy:
    def __init__(self, server) -> None:
        self.server = server
        self.dialer = agentconn.AgentDialer(server.config.pki_dir)

    # -- entry points ------------------------------------------------------------------

    def __call__(self, ctx: resources.Ctx, req) -> Response:
        """A proxied subresource, already authorised (`subresources.dispatch`)."""
        if ctx.rt.plural == "nodes":
            return self.node(ctx.name, "", req)
        pod = resources.get(ctx)
        if ctx.sub == "log":
            return self.log(pod, req)
        if ctx.sub in ("exec", "attach"):
            return self.exec(pod, req, ctx.sub)
        raise errors.ApiError(501, "NotImplemented", f"pods/{ctx.sub} is not implemented "
                                                     f"by this server")

    def log(self, pod: dict, req) -> Response:
        container = self._container(pod, req.args.get("container"))
        options = [(k, v) for k in LOG_OPTIONS for v in req.args.getlist(k)]
        target = self._pod_target("containerLogs", pod, container, options)
        return self._forward(self._node_of(pod), target, req)

    def exec(self, pod: dict, req, kind: str = "exec") -> Response:
        """pods/exec or pods/attach: the websocket relayed to the agent's /exec or /attach."""
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            verb = "exec into" if kind == "exec" else "attach to"
            raise errors.bad_request(f"cannot {verb} a container in a completed pod; "
                                     f"current phase is {phase}")
        upgrade = (req.headers.get("Upgrade") or "").lower()
        if upgrade != "websocket":
            hint = "SPDY is not supported: use kubectl 1.30 or newer (websocket)" \
                if "spdy" in upgrade else f"{kind} needs a websocket upgrade " \
                                          "(v5.channel.k8s.io or v4.channel.k8s.io)"
            raise errors.bad_request(hint)
        client = req.environ.get("gunicorn.socket")
        if client is None:
            raise errors.ApiError(501, "NotImplemented", f"{kind} needs the API server's "
                                                         "connection (run it under gunicorn)")
        container = self._container(pod, req.args.get("container"))
        options = [(k, v) for k in EXEC_OPTIONS for v in req.args.getlist(k)]
        target = self._pod_target(kind, pod, container, options)
        node = self._node_of(pod)
        headers = {h: req.headers[h] for h in UPGRADE_HEADERS if h in req.headers}
        headers["Connection"] = "Upgrade"
        upstream, status, answer, head, rest = self._call(node, target, headers)
        if status != 101:
            return self._error_from_agent(node, upstream, status, answer, rest)

        def relay() -> None:
            try:
                # The head alone: output that came with it is `held` (OUTPUT_HOLD).
                client.sendall(head)
                agentconn.relay(client, upstream, held=rest, hold=OUTPUT_HOLD)
            finally:
                upstream.close()
        return _Upgraded(relay)

    def get_json(self, node: str, target: str, timeout: float):
        """One JSON document from the node's agent (for the metrics API)."""
        upstream, status, headers, _, rest = self._call(node, target, {
            "Connection": "close", "Accept": "application/json"})
        upstream.settimeout(timeout)
        length = headers.get("content-length")
        data = b"".join(agentconn.body(upstream, rest, int(length) if length else None, None))
        if status != 200:
            raise _failure(f"the agent of node {node} answered {status}: {data[:200]!r}")
        return codec.loads(data)

    def node(self, name: str, path: str, req) -> Response:
        target = "/" + path + (f"?{req.query_string.decode()}" if req.query_string else "")
        return self._forward(name, target, req)

    # -- the pod and its node -----------------------------------------------------------

    @staticmethod
    def _container(pod: dict, requested: str | None) -> str:
        spec = pod.get("spec") or {}
        name = pod["metadata"]["name"]
        regular = [c.get("name") for c in spec.get("containers") or ()]
        others = [c.get("name") for c in (*(spec.get("initContainers") or ()),
                                         *(spec.get("ephemeralContainers") or ()))]
        if requested:
            if requested not in regular + others:
                raise errors.bad_request(f"container {requested} is not valid for pod {name}")
            return requested
        if len(regular) == 1:
            return regular[0]
        raise errors.bad_request(f"a container name must be specified for pod {name}, choose "
                                 f"one of: [{' '.join(regular)}]")

    @staticmethod
    def _pod_target(kind: str, pod: dict, container: str, options: list) -> str:
        meta = pod["metadata"]
        path = "/".join(quote(part, safe="") for part in
                        (kind, meta["namespace"], meta["name"], container))
        return f"/{path}" + (f"?{urlencode(options)}" if options else "")

    @staticmethod
    def _node_of(pod: dict) -> str:
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            raise errors.bad_request(f"pod {pod['metadata']['name']} does not have a host "
                                     f"assigned")
        return node

    def _endpoint(self, node_name: str) -> tuple[str, int]:
        rt = registry.lookup("", "v1", "nodes")
        kv = self.server.store.get(objects.key(rt, None, node_name))
        if kv is None:
            raise errors.not_found(rt, node_name)
        status = codec.loads(kv.value).get("status") or {}
        addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or ()
                     if a.get("address")}
        host = next((addresses[t] for t in ADDRESS_TYPES if t in addresses), None)
        if host is None:
            raise _failure(f"node {node_name} has no address to reach its agent at")
        endpoint = (status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}
        return host, int(endpoint.get("Port") or DEFAULT_AGENT_PORT)

    # -- talking to the agent ------------------------------------------------------------

    def _call(self, node: str, target: str, headers: dict):
        """Send one GET to the node's agent: (socket, status, headers, raw head, body read)."""
        host, port = self._endpoint(node)
        try:
            upstream = self.dialer.open(node, host, port)
        except agentconn.AgentError as exc:
            raise _failure(f"error dialing the agent of node {node}: {exc}") from exc
        try:
            agentconn.send_request(upstream, "GET", target, f"{host}:{port}",
                                   {"User-Agent": "supernetes-apiserver", **headers})
            status, answer, head, rest = agentconn.read_head(upstream)
        except (OSError, agentconn.AgentError) as exc:
            upstream.close()
            raise _failure(f"the agent of node {node} failed: {exc}") from exc
        return upstream, status, answer, head, rest

    def _forward(self, node: str, target: str, req) -> Response:
        upstream, status, headers, _, rest = self._call(node, target, {"Connection": "close",
                                                                       "Accept": "*/*"})
        if status >= 300:
            return self._error_from_agent(node, upstream, status, headers, rest)
        length = headers.get("content-length")
        stream = agentconn.body(upstream, rest, int(length) if length else None,
                                req.environ.get("gunicorn.socket"))
        return Response(stream, status, content_type=headers.get("content-type", "text/plain"),
                        direct_passthrough=True)

    @staticmethod
    def _error_from_agent(node: str, upstream, status: int, headers: dict, rest: bytes):
        try:
            length = headers.get("content-length")
            data = b"".join(agentconn.body(upstream, rest, int(length) if length else None,
                                           None))
        except (OSError, ValueError):
            data = b""
        if status in (401, 403):
            raise _failure(f"the agent of node {node} refused the API server's credentials "
                           f"({status})")
        return Response(data, status, content_type=headers.get("content-type", "text/plain"))


def _node_subresource(path: str) -> str:
    """The kubelet's finer resource for a proxied path (its authorizer's mapping)."""
    first = path.split("/", 1)[0]
    return first if first in ("stats", "metrics") else "proxy"


@blueprint.route("/api/v1/nodes/<name>/proxy/<path:rest>", methods=["GET"])
def node_proxy_view(name: str, rest: str):
    server = current_app.extensions["supernetes"]
    rt = registry.lookup("", "v1", "nodes")
    authz.authorize(server, g.user, "get", rt, None, name, _node_subresource(rest))
    return server.node_proxy.node(name, rest, request)
