"""The Superlet's HTTPS API (the kubelet's :10250): logs, exec, stats, metrics, pods.

    GET /healthz                                     "ok", to anyone
    GET /pods                                        a PodList of the pods bound here
    GET /containerLogs/{ns}/{pod}/{container}        follow, tailLines, sinceSeconds,
                                                     sinceTime, timestamps, previous,
                                                     limitBytes (agent/logs.py reads)
    GET /exec/{ns}/{pod}/{container}?command=..      websocket, channel.k8s.io v4/v5
                                                     (agent/exec_stream.py)
    GET /attach/{ns}/{pod}/{container}               the same protocol, the container's
                                                     output as it comes (agent/attach.py)
    GET /stats/summary                               the Summary API (agent/stats.py)
    GET /metrics, /metrics/resource                  Prometheus text (agent/metrics.py)

Everything but /healthz needs a caller `servingcert.caller_of` accepts: the API
server's client certificate, or the node admin's token. Errors are Kubernetes
`Status` objects, so the API server can pass them on to kubectl unchanged.

The server is the standard library's threading HTTP server over TLS: one thread
per connection, which suits a handful of long streams (a log follow, an exec)
and the API server's occasional requests; it forks nothing, as the agent must
not. TLS handshakes happen in the connection's thread, not the accept loop.
`stop()` ends the open streams too: follows and exec sessions watch an event.

What the server reads of the node comes through one object, the node view
(`nodeview.RuntimeNodeView`): resolve a container, exec in it, its stats, the pods.
The agent core starts it all with `start_server(node, config)` once it has joined
(it needs the node's credential for the serving certificate), and publishes the
port in its Node's `status.daemonEndpoints`, where the API server looks.
"""

from __future__ import annotations

import json
import logging
import os
import select
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

from . import attach, exec_stream, logs, metrics, nodeview, servingcert, stats, websocket
from .servingcert import TlsMaterial, caller_of

log = logging.getLogger(__name__)

DEFAULT_PORT = 10250
TRUE = ("1", "true", "True")
# How often a log follow re-checks that its container still runs.
RUNNING_CHECK = 0.5


@dataclass
class ServerConfig:
    node_name: str
    bind: str = "0.0.0.0"
    port: int = DEFAULT_PORT


class RequestError(Exception):
    def __init__(self, code: int, reason: str, message: str):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


def status_object(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def _flag(params: dict, name: str) -> bool:
    return (params.get(name) or [""])[-1] in TRUE


def _integer(params: dict, name: str) -> int | None:
    value = (params.get(name) or [None])[-1]
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError:
        raise RequestError(400, "BadRequest", f"{name}: {value!r} is not an integer") from None
    if number < 0 and name != "tailLines":
        raise RequestError(400, "BadRequest", f"{name}: must be greater than or equal to 0")
    return number


def start_server(node, config) -> AgentServer:
    """The agent core's entry: serve `node` (a NodeAgent) as `config` (an AgentConfig) says.

    Needs from `node`: `client` (its joined API client), `node_ip`, `runtime`,
    `pods()`, and optionally `metrics` (the Registry its loops observe into).
    """
    tls = servingcert.ensure_serving_tls(node.client, config.node_name,
                                         os.path.join(config.root_dir, "pki"),
                                         addresses=[node.node_ip], hostnames=[config.node_name])

    def pods() -> list[dict]:
        # The API starts before the pod informer exists (its port goes into the Node).
        return node.pods() if getattr(node, "pod_informer", None) is not None else []

    registry = getattr(node, "metrics", None) or metrics.Registry()
    view = nodeview.RuntimeNodeView(node.runtime, config.logs_dir, pods, registry)
    server = AgentServer(ServerConfig(config.node_name, config.server_bind, config.server_port),
                         view, tls, stats.StatsProvider(view, config.node_name, config.root_dir),
                         registry)
    server.start()
    return server


class AgentServer:
    def __init__(self, config: ServerConfig, view, tls: TlsMaterial, stats_provider=None,
                 registry: metrics.Registry | None = None) -> None:
        self.config = config
        self.view = view
        self.tls = tls
        self.stats = stats_provider
        self.registry = registry or getattr(view, "metrics", None) or metrics.Registry()
        self.stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1] if self._httpd else self.config.port

    def start(self) -> None:
        self._httpd = _HTTPServer((self.config.bind, self.config.port), self)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="agent-api",
                                        kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()
        log.info("agent API serving on https://%s:%d", self.config.bind, self.port)

    def stop(self) -> None:
        if self._httpd is None:
            return
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()
        self._thread.join(5)
        self._httpd = None


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, agent: AgentServer) -> None:
        self.agent = agent
        self.context = agent.tls.server_context()
        self.connections: set[socket.socket] = set()
        self.lock = threading.Lock()
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, _Handler)

    def get_request(self):
        sock, address = self.socket.accept()
        # The handshake happens on the first read, in the connection's own thread.
        tls = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        with self.lock:
            self.connections.add(tls)
        return tls, address

    def shutdown_request(self, request) -> None:
        with self.lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self.lock:
            for conn in list(self.connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def handle_error(self, request, client_address) -> None:
        log.debug("agent API connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "superlet"
    timeout = 120                     # idle keep-alive connections and stuck handshakes
    server: _HTTPServer

    def log_message(self, fmt, *args) -> None:
        log.debug("%s %s", self.address_string(), fmt % args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    # -- routing -------------------------------------------------------------------------

    def _dispatch(self) -> None:
        agent = self.server.agent
        path, _, query = self.path.partition("?")
        params = parse_qs(query, keep_blank_values=True)
        parts = [unquote(p) for p in path.strip("/").split("/")]
        try:
            if path == "/healthz":
                return self._send(200, b"ok", "text/plain")
            who = caller_of(self.connection.getpeercert(), self.headers.get("Authorization"),
                            agent.tls)
            if who is None:
                raise RequestError(401, "Unauthorized", "Unauthorized")
            if self.command != "GET" and parts[0] not in ("exec", "attach"):
                raise RequestError(405, "MethodNotAllowed", f"{self.command} is not allowed")
            if parts[0] == "containerLogs" and len(parts) == 4:
                return self._logs(agent, *parts[1:], params)
            if parts[0] == "exec" and len(parts) == 4:
                return self._exec(agent, *parts[1:], params)
            if parts[0] == "attach" and len(parts) == 4:
                return self._attach(agent, *parts[1:], params)
            if path == "/pods":
                return self._json(200, {"kind": "PodList", "apiVersion": "v1",
                                        "metadata": {}, "items": agent.view.pods()})
            if path == "/stats/summary" and agent.stats is not None:
                return self._json(200, agent.stats.summary(
                    only_cpu_and_memory=_flag(params, "only_cpu_and_memory")))
            if path in ("/metrics", "/metrics/resource"):
                text = metrics.render(agent.registry, agent.stats.summary()
                                      if agent.stats is not None else None)
                return self._send(200, text.encode(), metrics.CONTENT_TYPE)
            raise RequestError(404, "NotFound", f"the agent does not serve {path}")
        except RequestError as exc:
            self._status(exc.code, exc.reason, exc.message)
        except nodeview.ViewError as exc:
            self._status(exc.code, "NotFound" if exc.code == 404 else "BadRequest", str(exc))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            log.exception("agent API: %s %s failed", self.command, path)
            self._status(500, "InternalError", "the agent failed to serve the request; see "
                                               "its log")

    # -- responses -----------------------------------------------------------------------

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, obj) -> None:
        self._send(code, json.dumps(obj, separators=(",", ":")).encode(), "application/json")

    def _status(self, code: int, reason: str, message: str) -> None:
        try:
            self._json(code, status_object(code, reason, message))
        except OSError:
            self.close_connection = True

    # -- logs ----------------------------------------------------------------------------

    def _logs(self, agent: AgentServer, namespace: str, pod: str, container: str,
              params: dict) -> None:
        previous = _flag(params, "previous")
        ref = agent.view.resolve(namespace, pod, container, previous)
        since = None
        if (seconds := _integer(params, "sinceSeconds")) is not None:
            since = time.time() - seconds
        elif (stamp := (params.get("sinceTime") or [""])[-1]):
            try:
                since = logs.parse_time(stamp)
            except ValueError:
                raise RequestError(400, "BadRequest", f"sinceTime: {stamp!r} is not an RFC "
                                                      f"3339 time") from None
        tail = _integer(params, "tailLines")
        follow = _flag(params, "follow") and not previous
        chunks = logs.read_logs(ref.log_path, tail=tail if tail is None or tail >= 0 else None,
                                since=since, timestamps=_flag(params, "timestamps"),
                                limit_bytes=_integer(params, "limitBytes"), follow=follow,
                                still_running=self._still_running(agent, ref))
        # The body ends where the connection does (no length, no chunks): the API server
        # relays it byte for byte, and a follow has no length to give anyway.
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for chunk in chunks:
                self.wfile.write(chunk)
        finally:
            chunks.close()

    def _still_running(self, agent: AgentServer, ref: nodeview.ContainerRef):
        """For a follow: the container runs, the client listens, the server is not stopping."""
        checked = [0.0, ref.running]

        def still_running() -> bool:
            if agent.stopping.is_set() or self._client_gone():
                return False
            if time.monotonic() - checked[0] > RUNNING_CHECK:
                checked[:] = [time.monotonic(), agent.view.is_running(ref)]
            return checked[1]
        return still_running

    def _client_gone(self) -> bool:
        # A log request has no body: anything readable on the socket is its close.
        try:
            return bool(select.select([self.connection], [], [], 0)[0])
        except (OSError, ValueError):
            return True

    # -- exec ----------------------------------------------------------------------------

    def _websocket(self) -> tuple[str, str]:
        """(subprotocol, key) of a channel.k8s.io websocket request; a 400 otherwise."""
        upgrade = (self.headers.get("Upgrade") or "").lower()
        if upgrade != "websocket":
            hint = " (SPDY is not served: use kubectl 1.30 or newer, which speaks " \
                   "websocket)" if "spdy" in upgrade else ""
            raise RequestError(400, "BadRequest", f"this needs a websocket upgrade{hint}")
        protocol = exec_stream.negotiate(self.headers.get("Sec-WebSocket-Protocol"))
        key = self.headers.get("Sec-WebSocket-Key")
        if protocol is None or not key:
            raise RequestError(400, "BadRequest", "exec and attach speak the websocket "
                                                  "subprotocols "
                                                  f"{', '.join(exec_stream.PROTOCOLS)}")
        return protocol, key

    def _running(self, agent: AgentServer, namespace: str, pod: str, container: str):
        ref = agent.view.resolve(namespace, pod, container)
        if not agent.view.is_running(ref):
            raise RequestError(400, "BadRequest", f'container "{container}" in pod "{pod}" '
                                                  f"is not running")
        return ref

    def _exec(self, agent: AgentServer, namespace: str, pod: str, container: str,
              params: dict) -> None:
        protocol, key = self._websocket()
        try:
            request = exec_stream.parse_request(params)
        except exec_stream.ExecRequestError as exc:
            raise RequestError(400, "BadRequest", str(exc)) from None
        ref = self._running(agent, namespace, pod, container)
        self.close_connection = True
        self.wfile.write(websocket.accept(key, protocol))
        session = exec_stream.ExecSession(self.connection, protocol, request, agent.stopping)
        session.run(lambda stdio, tty: agent.view.exec(ref, request.command, stdio, tty))

    def _attach(self, agent: AgentServer, namespace: str, pod: str, container: str,
                params: dict) -> None:
        protocol, key = self._websocket()
        if _flag(params, "stdin") or _flag(params, "tty"):
            raise RequestError(400, "BadRequest", f'container "{container}" in pod "{pod}" '
                                                  f"has no stdin or terminal to attach to "
                                                  f"(its output can be attached to)")
        ref = self._running(agent, namespace, pod, container)
        self.close_connection = True
        self.wfile.write(websocket.accept(key, protocol))
        session = attach.AttachSession(self.connection, _flag(params, "stdout"),
                                       _flag(params, "stderr"), agent.stopping)
        session.run(ref.log_path, lambda: agent.view.is_running(ref))
