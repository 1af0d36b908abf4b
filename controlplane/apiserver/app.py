"""The Flask application: `create_app(config, store)`.

The app holds one `Server` (in `app.extensions["supernetes"]`): the seam through
which every view reaches the store, the watch cache, the authenticator and the
configuration; there is no module-level state. Routes:

    /api, /apis, /version, /healthz, ... discovery.py (blueprint)
    /supernetes/v1/join                  join.py (blueprint): bootstrap token -> node token
    /supernetes/v1/nodes/{n}/servingcertificate   nodecerts.py: the agent's certificate
    /api/v1/nodes/{n}/proxy/{path}       nodeproxy.py (blueprint): to the node's agent
    /apis/metrics.k8s.io/v1beta1/...     metricsapi.py (blueprint): `kubectl top`
    /api/v1/..., /apis/{g}/{v}/...       views.resource_view, one view for every type

Authentication runs before every request except the public health and version
endpoints; authorisation needs the resource and the verb, so it runs in the view.
Every error leaves as a Kubernetes Status: ApiErrors with their code, werkzeug's
HTTP errors (unknown route, wrong method, body too large) with theirs, and any
other exception as a 500 InternalError whose traceback goes to the log only.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from ..api import registry
from . import (
    auth,
    codec,
    discovery,
    errors,
    ingressclass,
    join,
    metricsapi,
    namespaces,
    nodecerts,
    nodeproxy,
    requestio,
    serviceaddrs,
    servicelb,
    views,
)
from .config import ServerConfig
from .watchcache import Cacher

log = logging.getLogger(__name__)

PUBLIC = frozenset({"/healthz", "/livez", "/readyz", "/version"})
_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
            405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict",
            413: "RequestEntityTooLarge", 415: "UnsupportedMediaType", 422: "Invalid",
            429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}


class Server:
    """Everything a request needs besides the request itself."""

    def __init__(self, config: ServerConfig, store):
        self.config = config
        self.store = store
        self.cacher = Cacher(store, registry.all_types(), config.watch_cache_capacity)
        self.tokens = auth.StaticTokens.load_or_create(config.data_dir)
        self.authenticator = auth.Authenticator(self.tokens, store)
        address = (config.advertise_addresses[0] if config.advertise_addresses
                   else "127.0.0.1")
        self.discovery = discovery.Discovery(
            f"{address}:{config.port}",
            extra=((metricsapi.GROUP, metricsapi.VERSION, metricsapi.RESOURCES),))
        self.openapi_cache: dict[str, bytes] = {}
        # pods/log, pods/exec and nodes/proxy go to the node's agent.
        self.node_proxy = nodeproxy.NodeProxy(self)
        self.finalizer = namespaces.NamespaceFinalizer(self)
        # What a kind reserves beyond its object (writehooks.py): a Service's addresses.
        self.service_addresses = serviceaddrs.ServiceAddresses(
            store, config.service_cidr, config.node_port_range)
        self.write_hooks = {("", "Service"): self.service_addresses}
        # LoadBalancer Services get the nodes' addresses (k3s's ServiceLB).
        self.service_lb = servicelb.ServiceLB(self)
        # The scheduler and controllers, started in this process once it serves
        # (server.py, from `config.components`).
        self.components: list = []
        self._deleted_namespaces: dict[str, float] = {}

    # GETs answered from memory (discovery.py): nothing to wait for.
    _AT_ONCE = frozenset({"/healthz", "/livez", "/readyz", "/version", "/api", "/apis",
                          "/api/v1"})

    def answers_at_once(self, path: str, query: str) -> bool:
        """Whether a GET of `path` is answered without waiting on anything but the CPU:
        health and discovery, and one object read from a local store (SQLite: tens of
        microseconds; etcd is a network round trip away). The worker serves these on
        its poller thread, one after another (worker.py)."""
        if path in self._AT_ONCE:
            return True
        if path.startswith(_METRICS_PREFIX):  # asks the node agents: a network wait
            return False
        return self.store.local_reads and views.reads_one_object(path, query)

    def writes_one_response(self, path: str, query: str) -> bool:
        """Whether a request with a body to `path` gets one response built whole (a
        write, not a stream from a node agent): the worker parses those small enough
        itself and runs them on a pool thread without gunicorn's request objects."""
        if path.startswith(_METRICS_PREFIX):
            return False
        return views.writes_one_response(path, query)

    def namespace_deleted(self, name: str) -> None:
        self._deleted_namespaces[name] = time.monotonic() + 10.0

    def recently_deleted(self, name: str) -> bool:
        until = self._deleted_namespaces.get(name)
        if until is None:
            return False
        if until < time.monotonic():
            self._deleted_namespaces.pop(name, None)
            return False
        return True

    def start(self) -> None:
        self.cacher.start()
        namespaces.ensure_built_in(self)
        ingressclass.ensure_default_class(self)
        if self.config.namespace_finalizer:
            self.finalizer.start()
        self.service_addresses.repair.start()
        self.service_lb.start()

    def start_components(self, kubeconfig_path) -> None:
        for factory in self.config.components:
            component = factory(kubeconfig_path)
            self.components.append(component)
            component.start()

    def stop_components(self) -> None:
        while self.components:
            self.components.pop().stop()

    def stop(self) -> None:
        self.stop_components()
        self.service_lb.stop()
        self.service_addresses.repair.stop()
        if self.config.namespace_finalizer:
            self.finalizer.stop()
        self.cacher.stop()


def _status_response(exc: errors.ApiError) -> Response:
    response = Response(codec.dumps(exc.status()), exc.code, content_type="application/json")
    for name, value in exc.headers.items():
        response.headers[name] = value
    return response


def authenticate(server: Server, environ: dict, method: str, path: str):
    """The user a request comes from (None for the public paths); raises 401/403."""
    if environ.get("PATH_INFO") in PUBLIC:
        return None
    user = server.authenticator.authenticate(environ.get("HTTP_AUTHORIZATION"))
    if user is None:
        raise errors.unauthorized()
    if user.role == "bootstrap" and environ.get("PATH_INFO") != join.PATH:
        raise errors.forbidden_path(user.name, method.lower(), path)
    return user


def api_error_response(exc: errors.ApiError) -> Response:
    return _status_response(exc)


def http_error_response(exc: HTTPException) -> Response:
    code = exc.code or 500
    message = exc.description or exc.name
    if code == 404:
        message = "the server could not find the requested resource"
    return _status_response(errors.ApiError(code, _REASONS.get(code, exc.name), message))


def unexpected_error_response(exc: Exception, method: str, path: str) -> Response:
    log.exception("%s %s failed", method, path)
    return _status_response(errors.internal(type(exc).__name__))


_METRICS_PREFIX = f"/apis/{metricsapi.GROUP}/"


class FastLane:
    """WSGI middleware in front of Flask: resource requests go straight to the view.

    Flask's per-request machinery (a request context and an app context, URL
    matching, the session, signals, teardown, a Response turned into WSGI) costs
    about as much CPU as the work itself of the small requests that make up most
    of a cluster's traffic: GETs of one object, creates, bindings, status
    updates. So the resource paths (`/api/{v}/...`, `/apis/{g}/{v}/...`) are
    answered here by the same `views.serve` that the Flask route calls, with the
    same authentication and the same error responses; Flask still serves
    everything else (discovery, join, OpenAPI, unknown routes) and any resource
    request this lane does not take: HEAD, other methods, unusual paths (Flask
    merges slashes and redirects), and the subresources proxied to a node agent.
    """

    METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
    PROXIED = frozenset({"log", "exec", "attach", "portforward", "proxy"})

    def __init__(self, server: Server, flask_wsgi):
        self.server = server
        self.flask_wsgi = flask_wsgi

    def route(self, environ: dict) -> tuple[str, str, str] | None:
        """(version, rest, group) of a resource path this lane serves, else None."""
        if environ.get("REQUEST_METHOD") not in self.METHODS:
            return None
        path = environ.get("PATH_INFO", "")
        parts = path.split("/", 4)
        if not path.isascii() or "//" in path or path.endswith("/") or len(parts) < 4:
            return None
        if parts[1] == "api":
            version, rest, group = parts[2], "/".join(parts[3:]), ""
        elif parts[1] == "apis" and len(parts) == 5:
            group, version, rest = parts[2], parts[3], parts[4]
        else:
            return None
        # nodes/N/proxy/stats/summary, pods/P/log...: the node proxy's (Flask) routes;
        # the metrics API is served from the agents by its own blueprint.
        if group == metricsapi.GROUP or not self.PROXIED.isdisjoint(rest.split("/")):
            return None
        return version, rest, group

    def __call__(self, environ: dict, start_response):
        route = self.route(environ)
        if route is None:
            return self.flask_wsgi(environ, start_response)
        req = requestio.Request(environ)
        try:
            user = authenticate(self.server, environ, req.method, req.path)
            response = views.serve(self.server, user, req, *route)
        except errors.ApiError as exc:
            response = api_error_response(exc)
        except HTTPException as exc:
            response = http_error_response(exc)
        except Exception as exc:
            response = unexpected_error_response(exc, req.method, req.path)
        if response.is_sequence and response.status_code not in (204, 304) and \
                response.status_code >= 200:
            # A body in memory: what werkzeug's `response(environ, start_response)`
            # would send, without its header copies and iterator wrappers.
            start_response(response.status, response.headers.to_wsgi_list())
            return response.response
        return response(environ, start_response)


def create_app(config: ServerConfig, store, *, start: bool = True) -> Flask:
    app = Flask(__name__)
    server = Server(config, store)
    app.extensions["supernetes"] = server

    @app.before_request
    def authenticate_request():
        user = authenticate(server, request.environ, request.method, request.path)
        if user is not None:
            g.user = user

    app.register_error_handler(errors.ApiError, api_error_response)
    app.register_error_handler(HTTPException, http_error_response)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        return unexpected_error_response(exc, request.method, request.path)

    app.register_blueprint(discovery.blueprint)
    app.register_blueprint(join.blueprint)
    app.register_blueprint(nodecerts.blueprint)
    app.register_blueprint(nodeproxy.blueprint)
    app.register_blueprint(metricsapi.blueprint)
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app.add_url_rule("/api/<version>/<path:rest>", "core", views.resource_view,
                     methods=methods)
    # werkzeug routes a websocket upgrade only to rules that say they take one:
    # pods/exec (and attach) arrive that way, for the node proxy.
    app.add_url_rule("/api/<version>/<path:rest>", "core-websocket", views.resource_view,
                     methods=["GET"], websocket=True)
    app.add_url_rule("/apis/<group>/<version>/<path:rest>", "groups", views.resource_view,
                     methods=methods)
    app.wsgi_app = FastLane(server, app.wsgi_app)
    if start:
        server.start()
    return app
