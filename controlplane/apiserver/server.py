"""Serving: `run(config)` starts the API server under gunicorn, over HTTPS.

Why gunicorn with the gthread worker, one worker process:
- one process, because the watch cache is in memory: two workers would hold
  two caches and two store watches, and a client's list and watch could land
  on caches at different revisions;
- threads, because a watch is a long-lived response that parks its thread
  (the watch cache's thread writes the events, see fanout.py). gthread hands
  each request to a pool thread while idle keep-alive connections wait in the
  worker's poller, holding no thread, so open watches (one thread each) never
  starve other requests as long as the pool is larger than the number of
  watchers (`--threads`, default 1024; a parked thread costs a small stack and
  no CPU). The blocking store calls (sqlite3, requests to etcd) release the
  GIL, and nothing needs monkey patching, as gevent would;
- gunicorn is a production server with TLS, keep-alive, graceful restarts, and
  a C HTTP parser (gunicorn-h1c).

Later issues start the scheduler and the controllers in this same worker
process: they are `Server.components` (app.py), started after the watch cache
and stopped before it.

The master process binds the socket and forks the worker before any thread
exists; the worker opens the store and builds the app (`preload_app` off), so
no thread ever crosses a fork. Once the worker is ready the admin and viewer
kubeconfigs are written (atomically): their existence means "ready to serve".
On SIGTERM the watch cache is stopped first, so open watches end and the
worker can exit within the graceful timeout.
"""

from __future__ import annotations

import gc
import ipaddress
import logging
import threading

from gunicorn.app.base import BaseApplication

from .. import kubeconfig
from ..store import open_store
from . import kubernetes_service, pki
from .app import create_app
from .config import ServeError, ServerConfig
from .worker import Worker

log = logging.getLogger(__name__)

# Watch threads mostly sleep; a small stack keeps 1000 of them cheap.
THREAD_STACK = 512 * 1024


def _host_for_url(host: str) -> str:
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]"
    except ValueError:
        pass
    return host


def server_url(config: ServerConfig, port: int) -> str:
    """The URL clients should use: the first advertised address, else loopback."""
    if config.advertise_addresses:
        host = config.advertise_addresses[0]
    elif config.bind in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    else:
        host = config.bind
    return f"https://{_host_for_url(host)}:{port}"


def write_kubeconfigs(config: ServerConfig, server, port: int) -> None:
    ca = (config.pki_dir / "ca.crt").read_bytes()
    url = server_url(config, port)
    kubeconfig.write(config.viewer_kubeconfig,
                     kubeconfig.KubeConfig(url, ca, server.tokens.viewer, "viewer"))
    # Last: the admin kubeconfig appearing is the "ready" signal.
    kubeconfig.write(config.admin_kubeconfig,
                     kubeconfig.KubeConfig(url, ca, server.tokens.admin, "admin"))


def _post_worker_init(config: ServerConfig):
    def hook(worker) -> None:
        server = worker.wsgi.extensions["supernetes"]
        port = worker.sockets[0].getsockname()[1]
        kubernetes_service.ensure(server, port)
        write_kubeconfigs(config, server, port)
        # What the worker built to start (modules, the schemas, the app, the watch
        # cache's first fill) lives as long as it does: out of the cyclic garbage
        # collector's sight, the full collections that a busy server's allocations
        # trigger scan only what came later.
        gc.freeze()
        log.info("serving on %s; admin kubeconfig: %s", server_url(config, port),
                 config.admin_kubeconfig)
        server.start_components(config.admin_kubeconfig)
    return hook


def _worker_exit(server, worker) -> None:
    app_server = getattr(worker.wsgi, "extensions", {}).get("supernetes")
    if app_server is not None:
        app_server.stop()
        app_server.store.close()


class _Gunicorn(BaseApplication):
    def __init__(self, config: ServerConfig, tls: pki.Pki):
        self.config = config
        self.tls = tls
        super().__init__()

    def load_config(self) -> None:
        c = self.config
        settings = {
            "bind": [f"{_host_for_url(c.bind)}:{c.port}"],
            "workers": 1,
            "worker_class": f"{Worker.__module__}.Worker",
            "threads": c.threads,
            "worker_connections": c.threads + 1024,
            "keepalive": 60,
            "timeout": 60,
            "graceful_timeout": 10,
            "certfile": str(self.tls.cert),
            "keyfile": str(self.tls.key),
            "preload_app": False,
            "accesslog": "-" if c.access_log else None,
            "loglevel": c.log_level,
            "proc_name": "supernetes-server",
            # gunicorn's control socket lives at one global path: off, so that
            # several servers (tests, the lab) can share a machine.
            "control_socket_disable": True,
            # HTTP/1.1 only: a watch owns its connection, which is how it notices
            # that its client went away (see watch.py).
            "http_protocols": "h1",
            "post_worker_init": _post_worker_init(c),
            "worker_exit": _worker_exit,
        }
        for name, value in settings.items():
            if name in self.cfg.settings:       # older gunicorns lack the newest settings
                self.cfg.set(name, value)

    def load(self):
        threading.stack_size(THREAD_STACK)
        logging.basicConfig(level=self.config.log_level.upper(),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return create_app(self.config, open_store(self.config.store))


def _check_store_url(url: str) -> None:
    # Only parsed here: opening the store would start its threads in the master
    # process, which then forks the worker (and no thread may cross a fork).
    scheme, _, rest = url.partition("://")
    if scheme not in ("sqlite", "etcd") or not rest.split("?", 1)[0]:
        raise ServeError(f"bad store URL {url!r}: expected sqlite:///path or etcd://host:port")


def prepare(config: ServerConfig) -> pki.Pki:
    """Everything before serving: the data dir, certificates; no stale readiness."""
    _check_store_url(config.store)
    try:
        config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ServeError(f"cannot use data dir {config.data_dir}: {exc.strerror}") from exc
    config.admin_kubeconfig.unlink(missing_ok=True)
    # Pods reach the server at the `kubernetes` Service's address: the first of the CIDR.
    service_ip = str(next(ipaddress.ip_network(config.service_cidr).hosts()))
    return pki.ensure_pki(config.pki_dir, (*config.advertise_addresses, service_ip), config.bind)


def run(config: ServerConfig) -> None:
    """Serve until SIGTERM/SIGINT. Blocks."""
    tls = prepare(config)
    _Gunicorn(config, tls).run()
