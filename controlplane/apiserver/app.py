"""The Flask application: `create_app(config, store)`.

The app holds one `Server` (in `app.extensions["supernetes"]`): the seam through
which every view reaches the store, the watch cache, the authenticator and the
configuration; there is no module-level state. Routes:

    /api, /apis, /version, /healthz, ... discovery.py (blueprint)
    /supernetes/v1/join                  join.py (blueprint): bootstrap token -> node token
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
    join,
    namespaces,
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
        self.discovery = discovery.Discovery(f"{address}:{config.port}")
        self.openapi_cache: dict[str, bytes] = {}
        # log and exec are proxied to the node agent: a later issue plugs the proxy in.
        self.node_proxy = None
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
        return self.store.local_reads and views.reads_one_object(path, query)

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


def create_app(config: ServerConfig, store, *, start: bool = True) -> Flask:
    app = Flask(__name__)
    server = Server(config, store)
    app.extensions["supernetes"] = server

    @app.before_request
    def authenticate():
        environ = request.environ
        if environ.get("PATH_INFO") in PUBLIC:
            return None
        user = server.authenticator.authenticate(environ.get("HTTP_AUTHORIZATION"))
        if user is None:
            raise errors.unauthorized()
        if user.role == "bootstrap" and environ.get("PATH_INFO") != join.PATH:
            raise errors.forbidden_path(user.name, request.method.lower(), request.path)
        g.user = user
        return None

    @app.errorhandler(errors.ApiError)
    def api_error(exc: errors.ApiError):
        return _status_response(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        message = exc.description or exc.name
        if code == 404:
            message = "the server could not find the requested resource"
        return _status_response(errors.ApiError(code, _REASONS.get(code, exc.name), message))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("%s %s failed", request.method, request.path)
        return _status_response(errors.internal(type(exc).__name__))

    app.register_blueprint(discovery.blueprint)
    app.register_blueprint(join.blueprint)
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app.add_url_rule("/api/<version>/<path:rest>", "core", views.resource_view,
                     methods=methods)
    app.add_url_rule("/apis/<group>/<version>/<path:rest>", "groups", views.resource_view,
                     methods=methods)
    if start:
        server.start()
    return app
