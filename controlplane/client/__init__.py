"""The client every Supernetes component uses to talk to an API server.

The agent, the scheduler, the controllers and superctl reach the API server only
through this package (never the store), so each can run as its own process
against a remote server as well as inside `supernetes server`.

    kubeconfig   find, merge and resolve kubeconfig files as kubectl does
    transport    the one HTTP seam: pooled keep-alive connections, TLS, retries
    restmapper   apiVersion + kind (or a typed name) -> the URL that serves it
    rest         Client / ResourceClient: get, list, create, replace, patch, delete,
                 deletecollection, watch, subresources (status, scale, binding,
                 eviction, log, exec)
    watch        a streaming watch as WatchEvents; ERROR events raised as ApiError
    cache        the thread-safe indexed store behind an informer
    informer     list+watch into the cache, event handlers, relist on 410, resync
    workqueue    dedup, one worker per key, rate-limited retries, add_after
    ratelimit    backoff and client-go's rate limiters
    leaderelection   a coordination.k8s.io Lease elects one active process
    websocket, remotecommand   the exec protocol (channel.k8s.io v4/v5)

Errors: see `errors` (ClientError at the root; ApiError carries the server's Status).
"""

from .cache import Indexer, object_key, split_key
from .errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    ClientError,
    ConfigError,
    Conflict,
    ConnectionFailed,
    Forbidden,
    Gone,
    Invalid,
    MethodNotAllowed,
    NotFound,
    StreamError,
    TooManyRequests,
    Unauthorized,
    UnknownResource,
)
from .informer import Informer, InformerFactory
from .kubeconfig import Connection, Kubeconfig, Overrides, load_connection
from .leaderelection import LeaderElector
from .rest import ALL, TABLE, Client, ResourceClient
from .restmapper import ResourceInfo, RestMapper
from .transport import RetryPolicy, Transport
from .watch import WatchEvent
from .workqueue import WorkQueue

__all__ = [
    "ALL", "TABLE", "AlreadyExists", "ApiError", "BadRequest", "Client", "ClientError",
    "ConfigError", "Conflict", "Connection", "ConnectionFailed", "Forbidden", "Gone",
    "Indexer", "Informer", "InformerFactory", "Invalid", "Kubeconfig", "LeaderElector",
    "MethodNotAllowed", "NotFound", "Overrides", "ResourceClient", "ResourceInfo", "RestMapper",
    "RetryPolicy", "StreamError", "TooManyRequests", "Transport", "Unauthorized",
    "UnknownResource", "WatchEvent", "WorkQueue", "load_connection", "object_key", "split_key",
]
