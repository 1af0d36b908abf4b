"""Liveness, readiness and startup probes, run as the kubelet runs them.

Three kinds of check, each with the kubelet's defaults (period 10 s, timeout 1 s,
success threshold 1, failure threshold 3):

  exec       a command inside the container (through the runtime's exec: it joins
             every namespace and the cgroup); exit status 0 is success
  httpGet    a GET to the pod's address from *inside the pod's network namespace*;
             any status from 200 to 399 is success
  tcpSocket  a TCP connect, from inside the pod's network namespace

"From inside" uses the same trick as the network code: a probing thread enters
the pod's network namespace (setns is per thread), so 127.0.0.1 is the pod's
loopback and no process is forked.

`ProbeTracker` turns single results into a probe's state with the thresholds:
readiness starts failed, liveness starts passed, startup starts not-yet-passed
(and, until it passes, liveness and readiness are not run). `ProbeManager` keeps
one schedule for every probe of every pod on the node (a heap and a small pool
of worker threads, not a thread per probe) and calls back when a state changes,
so the pod's worker re-syncs (restart on liveness failure, Ready on readiness).
"""

from __future__ import annotations

import heapq
import http.client
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .network import netns

LIVENESS, READINESS, STARTUP = "liveness", "readiness", "startup"
DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1,
            "successThreshold": 1, "failureThreshold": 3}

ExecFn = Callable[[str, list[str], float], int]  # (container id, command, timeout) -> status


def setting(probe: dict, name: str) -> float:
    value = probe.get(name)
    return DEFAULTS[name] if value in (None, 0) and name != "initialDelaySeconds" else (
        value or 0)


def _resolve_port(port, container: dict) -> int:
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p["containerPort"])
    raise ValueError(f"port {port!r} is not a named port of container {container['name']}")


def _http_get(host: str, port: int, path: str, scheme: str, headers: dict[str, str],
              timeout: float) -> tuple[bool, str]:
    if scheme.upper() == "HTTPS":
        import ssl

        context = ssl.create_default_context()
        context.check_hostname = False  # the kubelet does not verify probe certificates
        context.verify_mode = ssl.CERT_NONE
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path or "/", headers={"User-Agent": "kube-probe/1.33", **headers})
        status = conn.getresponse().status
    finally:
        conn.close()
    ok = 200 <= status < 400
    return ok, f"HTTP probe {'succeeded' if ok else 'failed'} with statuscode: {status}"


def _tcp_connect(host: str, port: int, timeout: float) -> tuple[bool, str]:
    with socket.create_connection((host, port), timeout=timeout):
        return True, ""


def run_probe(probe: dict, container: dict, *, pod_ip: str | None, pod_netns: str | None,
              container_id: str | None, exec_fn: ExecFn | None) -> tuple[bool, str]:
    """One probe attempt: (success, message)."""
    timeout = float(setting(probe, "timeoutSeconds"))
    try:
        if "exec" in probe:
            if exec_fn is None or container_id is None:
                return False, "container is not running"
            status = exec_fn(container_id, probe["exec"]["command"], timeout)
            return status == 0, "" if status == 0 else f"command exited with status {status}"
        if "httpGet" in probe:
            spec = probe["httpGet"]
            host = spec.get("host") or (pod_ip if pod_netns is None else "127.0.0.1")
            port = _resolve_port(spec["port"], container)
            headers = {h["name"]: h["value"] for h in spec.get("httpHeaders") or []}
            return netns.run_in(pod_netns, _http_get, host, port, spec.get("path", "/"),
                                spec.get("scheme", "HTTP"), headers, timeout)
        if "tcpSocket" in probe:
            spec = probe["tcpSocket"]
            host = spec.get("host") or (pod_ip if pod_netns is None else "127.0.0.1")
            port = _resolve_port(spec["port"], container)
            return netns.run_in(pod_netns, _tcp_connect, host, port, timeout)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return False, f"probe failed: {exc}"
    return False, "probe has no handler (exec, httpGet or tcpSocket)"


@dataclass
class ProbeTracker:
    """A probe's state under its thresholds."""

    kind: str
    probe: dict
    passing: bool = field(init=False)
    successes: int = 0
    failures: int = 0
    message: str = ""

    def __post_init__(self) -> None:
        self.passing = self.kind == LIVENESS  # readiness and startup must earn it

    def record(self, ok: bool, message: str = "") -> bool:
        """Count one result; returns True when the state flipped."""
        self.message = message
        if ok:
            self.successes, self.failures = self.successes + 1, 0
            if not self.passing and self.successes >= setting(self.probe, "successThreshold"):
                self.passing = True
                return True
        else:
            self.failures, self.successes = self.failures + 1, 0
            if self.passing and self.failures >= setting(self.probe, "failureThreshold"):
                self.passing = False
                return True
        return False


@dataclass
class ContainerProbes:
    """The probes of one running container instance."""

    pod_uid: str
    container: dict
    container_id: str
    started_at: float
    trackers: dict[str, ProbeTracker]

    def state(self, kind: str) -> bool:
        tracker = self.trackers.get(kind)
        if kind == STARTUP:
            return tracker.passing if tracker else True
        if tracker is None:
            return True
        return tracker.passing


class ProbeManager:
    """Schedules every probe on the node; `on_change(pod_uid)` when a state flips."""

    def __init__(self, on_change: Callable[[str], None], exec_fn: ExecFn | None,
                 workers: int = 4, clock: Callable[[], float] = time.monotonic):
        self.on_change = on_change
        self.exec_fn = exec_fn
        self.clock = clock
        self.lock = threading.Lock()
        self.wakeup = threading.Condition(self.lock)
        self.containers: dict[tuple[str, str], ContainerProbes] = {}
        self.network: dict[str, tuple[str | None, str | None]] = {}
        self.heap: list[tuple[float, int, tuple[str, str], str, str]] = []
        self.seq = 0
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe")
        self.stopped = False
        self.thread = threading.Thread(target=self._loop, name="probe-scheduler", daemon=True)
        self.thread.start()

    def add(self, pod_uid: str, container: dict, container_id: str, pod_ip: str | None,
            pod_netns: str | None) -> None:
        """Start probing a container instance (replacing an older instance's probes)."""
        key = (pod_uid, container["name"])
        trackers = {kind: ProbeTracker(kind, container[f"{kind}Probe"])
                    for kind in (STARTUP, LIVENESS, READINESS) if container.get(f"{kind}Probe")}
        with self.lock:
            current = self.containers.get(key)
            if current and current.container_id == container_id:
                return
            self.network[pod_uid] = (pod_ip, pod_netns)
            self.containers[key] = ContainerProbes(pod_uid, container, container_id,
                                                   self.clock(), trackers)
            for kind, tracker in trackers.items():
                self._schedule(key, kind, container_id,
                               self.clock() + setting(tracker.probe, "initialDelaySeconds"))
            self.wakeup.notify()

    def remove_pod(self, pod_uid: str) -> None:
        with self.lock:
            for key in [k for k in self.containers if k[0] == pod_uid]:
                del self.containers[key]
            self.network.pop(pod_uid, None)

    def remove(self, pod_uid: str, name: str) -> None:
        with self.lock:
            self.containers.pop((pod_uid, name), None)

    def states(self, pod_uid: str) -> dict[str, dict[str, bool]]:
        """kind -> container name -> passing, for the pod's status."""
        with self.lock:
            result: dict[str, dict[str, bool]] = {LIVENESS: {}, READINESS: {}, STARTUP: {}}
            for (uid, name), probes in self.containers.items():
                if uid != pod_uid:
                    continue
                started = probes.state(STARTUP)
                result[STARTUP][name] = started
                result[READINESS][name] = started and probes.state(READINESS)
                result[LIVENESS][name] = probes.state(LIVENESS)
            return result

    def liveness_failed(self, pod_uid: str) -> frozenset[str]:
        states = self.states(pod_uid)
        return frozenset(n for n, ok in states[LIVENESS].items() if not ok)

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
            self.wakeup.notify()
        self.thread.join()
        self.pool.shutdown(wait=True, cancel_futures=True)

    # --- scheduling ----------------------------------------------------------

    def _schedule(self, key, kind: str, container_id: str, when: float) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (when, self.seq, key, kind, container_id))

    def _loop(self) -> None:
        with self.lock:
            while not self.stopped:
                if not self.heap:
                    self.wakeup.wait()
                    continue
                when, _, key, kind, container_id = self.heap[0]
                delay = when - self.clock()
                if delay > 0:
                    self.wakeup.wait(timeout=delay)
                    continue
                heapq.heappop(self.heap)
                probes = self.containers.get(key)
                if probes is None or probes.container_id != container_id:
                    continue  # the container went away or was replaced
                if kind != STARTUP and not probes.state(STARTUP):
                    self._schedule(key, kind, container_id,
                                   when + setting(probes.trackers[kind].probe, "periodSeconds"))
                    continue
                pod_ip, pod_netns = self.network.get(key[0], (None, None))
                self.pool.submit(self._probe, key, kind, probes, pod_ip, pod_netns, when)

    def _probe(self, key, kind: str, probes: ContainerProbes, pod_ip, pod_netns,
               when: float) -> None:
        tracker = probes.trackers[kind]
        ok, message = run_probe(tracker.probe, probes.container, pod_ip=pod_ip,
                                pod_netns=pod_netns, container_id=probes.container_id,
                                exec_fn=self.exec_fn)
        with self.lock:
            if self.containers.get(key) is not probes:
                return
            flipped = tracker.record(ok, message)
            if not (kind == STARTUP and tracker.passing):  # startup stops once passed
                self._schedule(key, kind, probes.container_id,
                               max(self.clock(), when + setting(tracker.probe, "periodSeconds")))
            self.wakeup.notify()
        if flipped:
            self.on_change(key[0])
