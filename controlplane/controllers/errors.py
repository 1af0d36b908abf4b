"""The controllers' errors.

    ControllerError
    +-- ConfigError   a controller-manager configuration that cannot work (an unknown
    |                 controller name, a malformed CIDR, a negative period); one line,
    |                 naming the option
    +-- SyncError     one sync could not finish all it had to do (3 of 5 pod creations
                      failed); the worker requeues the key with back-off, the cause is
                      chained (`raise SyncError(...) from exc`)

Client errors (`supernetes.controlplane.client.ApiError` and friends) also escape a
sync as they are: a `Conflict` means "the cache was stale, try again", anything else
is logged and retried with back-off. Nothing a sync raises ever stops a worker.
"""


class ControllerError(Exception):
    """Base of every controller error."""


class ConfigError(ControllerError):
    """The controller-manager configuration is invalid."""


class SyncError(ControllerError):
    """A sync left work undone; its key is retried with back-off."""
