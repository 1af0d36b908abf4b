"""SuperAPIServer: a Kubernetes-compatible REST API over the store.

The real `kubectl` and the official Python `kubernetes` client work against it.
How a request flows, and where each part lives:

    gunicorn (gthread, TLS)  server.py    `run(config)`: certificates, tokens, serving
      Flask app             app.py        `create_app(config, store)`: routes, errors,
                                          authentication; one `Server` seam holds the
                                          store, the watch cache and the config
        discovery.py                      /api, /apis, aggregated discovery, /version,
                                          health, OpenAPI
        join.py                           bootstrap token -> node credential
        views.py                          every resource path -> a verb, authorised
                                          by authz.py (admin, viewer, NodeRestriction)
          resources.py                    create/get/update/patch/delete: the metadata
                                          machinery, optimistic concurrency, finalizers
          patching.py, subresources.py    PATCH flavours; scale, binding, finalize, ...
          lists.py, watch.py              list/watch/deletecollection, served from
          watchcache.py, fanout.py        the watch cache: one store watch for all,
                                          its thread writing events to the watchers
        codec.py, tables.py, errors.py    bodies, Table views, Status errors

Exceptions: every client-visible failure is an `errors.ApiError` (drawn in
errors.py), which the app turns into a Kubernetes `Status`.
"""

from .app import create_app
from .config import ServeError, ServerConfig


def run(config: ServerConfig) -> None:
    """Serve the API until told to stop (see server.py)."""
    from .server import run as _run

    _run(config)


__all__ = ["ServeError", "ServerConfig", "create_app", "run"]
