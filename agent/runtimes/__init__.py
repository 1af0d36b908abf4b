"""Container runtimes behind one small interface: what the agent asks of a runtime.

    base.py     the interface (`ContainerRuntime`), `ContainerInfo`, the errors
    superc.py   superc through its warm path: the single-threaded spawner the agent
                starts before any thread; superc's monitor keeps each container's
                exit status and writes its CRI log
    ocicli.py   any OCI runtime binary (`runc`) through its command line, with a
                shim per container for what the binary cannot give us
    shim.py     that shim (containerd-shim's and conmon's job): parent of the
                container's init, writer of its CRI log and exit record

`open_runtime(config)` picks one by name: "superc" (the default), or "runc" or
the path of any runc-compatible binary.
"""

from __future__ import annotations

from .base import ContainerInfo, ContainerRuntime, ContainerRuntimeError


def open_runtime(name: str, *, root: str, socket_path: str,
                 cgroup_root: str | None = None) -> ContainerRuntime:
    """The runtime called `name`; superc's spawner is started here (before threads)."""
    if name == "superc":
        from .superc import SupercRuntime

        return SupercRuntime.launch(root=root, socket_path=socket_path,
                                    cgroup_root=cgroup_root)
    from .ocicli import OciCliRuntime

    return OciCliRuntime(name, root=root)


__all__ = ["ContainerInfo", "ContainerRuntime", "ContainerRuntimeError", "open_runtime"]
