"""Container lifecycle hooks: postStart after a start, preStop before a stop.

A hook handler has the shape of a probe handler (`exec`, `httpGet`, `tcpSocket`)
plus `sleep`, so it runs through the probes' code: `exec` inside the container
(all its namespaces and its cgroup, through the runtime), `httpGet` from inside
the pod's network namespace. Unlike a probe, a hook's time limit is the pod's
termination grace period, and its result is only "did it work".
"""

from __future__ import annotations

import time

from .probes import run_probe
from .runtimes.base import ContainerRuntimeError


def run(handler: dict, container: dict, *, runtime, container_id: str,
        pod_ip: str | None, pod_netns: str | None, timeout: float) -> tuple[bool, str]:
    """Run one hook handler; (it succeeded, a message saying why not)."""
    if "sleep" in handler:
        time.sleep(min(float((handler["sleep"] or {}).get("seconds", 0)), timeout))
        return True, ""

    def exec_fn(cid: str, command: list[str], limit: float) -> int:
        try:
            return runtime.exec(cid, command, timeout=limit)
        except ContainerRuntimeError as exc:
            raise OSError(str(exc)) from exc

    probe = {**handler, "timeoutSeconds": max(int(timeout), 1)}
    ok, message = run_probe(probe, container, pod_ip=pod_ip, pod_netns=pod_netns,
                            container_id=container_id, exec_fn=exec_fn)
    return ok, message or ("" if ok else "hook failed")
