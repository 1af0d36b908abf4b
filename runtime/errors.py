"""The runtime's exception tree: every failure a caller of superc can see.

The CLI prints `str(exc)` of any `SupercError` as one line on stderr and exits 1;
the library API raises the same exceptions, so the agent can tell a missing
container from a bad config without parsing messages. Causes are kept
(`raise X(...) from exc`) for debugging; messages name the thing that is wrong.

    SupercError
    ├── ConfigError             config.json missing, unreadable, or a field is invalid
    ├── ContainerError          a lifecycle operation failed
    │   ├── ContainerNotFound   no container with that ID
    │   ├── ContainerExists     an ID that is already taken
    │   ├── InvalidStateError   an illegal move: start a running container, ...
    │   ├── CreateError         the container could not be set up (child-side failure)
    │   └── ExecError           a process could not be started in the container
    ├── SignalError             an unknown signal name or number
    ├── HookError               an OCI hook failed (createRuntime, prestart, ...)
    └── SpawnerError            the warm-path spawner is unreachable or failed

cgroup failures surface as `supernetes.runtime.cgroups.base.CgroupError`; the
lifecycle code wraps them into `ContainerError` where an operation fails because
of them.
"""


class SupercError(Exception):
    """Base of every error the runtime raises on purpose."""


class ConfigError(SupercError):
    """config.json is missing or unreadable, or a field in it is invalid."""


class ContainerError(SupercError):
    """A lifecycle operation on a container failed."""


class ContainerNotFound(ContainerError):
    """No container with this ID exists under the state root."""


class ContainerExists(ContainerError):
    """A container with this ID already exists."""


class InvalidStateError(ContainerError):
    """The operation is not allowed in the container's current status."""


class CreateError(ContainerError):
    """The container's namespaces, mounts or process could not be set up."""


class ExecError(ContainerError):
    """A process could not be started inside a running container."""


class SignalError(SupercError):
    """A signal name or number that this system does not know."""


class HookError(SupercError):
    """An OCI hook exited non-zero, timed out or could not be run."""


class SpawnerError(SupercError):
    """The warm-path spawner could not be reached or reported a failure."""
