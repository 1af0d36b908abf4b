"""API objects for the proxy and network-policy tests: Services, EndpointSlices, pods."""

from __future__ import annotations

SERVICE_NAME = "kubernetes.io/service-name"
NODE_NAME = "node-a"
# The node's uplink to a host outside: TEST-NET-2, only ever inside test namespaces.
UPLINK_NODE, UPLINK_OUTSIDE = "198.51.100.1", "198.51.100.2"


def service(name: str, cluster_ip: str = "", kind: str = "ClusterIP", ports=None,
            namespace: str = "default", **spec) -> dict:
    body = {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"type": kind, "ports": ports or [
                {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}], **spec}}
    if cluster_ip:
        body["spec"]["clusterIP"] = cluster_ip
    return body


def endpoint(ip: str, node: str = "node-a", ready: bool | None = True,
             serving: bool | None = None, terminating: bool | None = None) -> dict:
    conditions = {k: v for k, v in (("ready", ready), ("serving", serving),
                                    ("terminating", terminating)) if v is not None}
    return {"addresses": [ip], "nodeName": node, "conditions": conditions}


def endpoint_slice(service_name: str, endpoints: list[dict], ports=None,
                   name: str | None = None, namespace: str = "default") -> dict:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name or f"{service_name}-slice", "namespace": namespace,
                         "labels": {SERVICE_NAME: service_name}},
            "addressType": "IPv4",
            "ports": ports or [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": endpoints}


# -- namespaces ---------------------------------------------------------------------------

def make_netns(path) -> str:
    """A network namespace held by a bind mount at `path` (a file under the test's tmp).

    Not `ip netns add`: /run/netns is shared by every test session on the machine,
    and another session's leak check would take a new name there for its own
    leak and delete it mid-test."""
    import subprocess
    path = str(path)
    open(path, "w").close()
    subprocess.run(["unshare", f"--net={path}", "true"], check=True)
    subprocess.run(["nsenter", f"--net={path}", "ip", "link", "set", "lo", "up"], check=True)
    return path


def remove_netns(path) -> None:
    import os

    from supernetes.runtime import linux
    linux.umount2(str(path), linux.MNT_DETACH)
    os.unlink(path)


def in_netns(path: str, *command: str) -> str:
    import subprocess
    return subprocess.run(["nsenter", f"--net={path}", *command], check=True,
                          capture_output=True, text=True).stdout


# -- peers that say who answered ------------------------------------------------------

BACKEND = r"""
import socket, sys
name, port, udp = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "udp"
s = socket.socket(type=socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
if not udp:
    s.listen(64)
print("ready", flush=True)
while True:
    if udp:
        data, peer = s.recvfrom(512)
        s.sendto(f"{name} {peer[0]}".encode(), peer)
    else:
        c, peer = s.accept()
        c.sendall(f"{name} {peer[0]}".encode())
        c.close()
"""

DIAL = r"""
import json, socket, sys, time
address, port, count, timeout, udp = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                                      float(sys.argv[4]), sys.argv[5] == "udp")
source_port = int(sys.argv[6])
answers = []
for _ in range(count):
    started = time.monotonic()
    try:
        if udp:
            s = socket.socket(type=socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", source_port))
            s.settimeout(timeout)
            s.sendto(b"hi", (address, port))
            answers.append(s.recv(512).decode())
        else:
            s = socket.create_connection((address, port), timeout=timeout)
            answers.append(s.recv(512).decode())
        s.close()
    except OSError as exc:
        answers.append(f"error: {exc} after {time.monotonic() - started:.2f}s")
print(json.dumps(answers))
"""


class Backend:
    """A process in a pod's namespace that answers each connection (or datagram)
    with `<name> <the caller's address>`."""

    def __init__(self, netns: str, name: str, port: int = 8080, udp: bool = False):
        import subprocess
        import sys
        self.proc = subprocess.Popen(
            ["nsenter", f"--net={netns}", sys.executable, "-c", BACKEND, name, str(port),
             "udp" if udp else "tcp"], stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            self.close()
            raise RuntimeError(f"backend {name} in {netns} did not start")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


def dial(netns: str | None, address: str, port: int, count: int = 1, timeout: float = 2.0,
         udp: bool = False, source_port: int = 0) -> list[str]:
    """Connect `count` times from `netns` (None: here); each answer, or 'error: ...'."""
    import json
    import subprocess
    import sys
    prefix = ["nsenter", f"--net={netns}"] if netns else []
    out = subprocess.run([*prefix, sys.executable, "-c", DIAL, address, str(port), str(count),
                          str(timeout), "udp" if udp else "tcp", str(source_port)],
                         capture_output=True, text=True, timeout=count * (timeout + 1) + 10)
    return json.loads(out.stdout)


def register_pod(client, namespace: str, name: str, ip: str, labels: dict,
                 ports=(), node: str = NODE_NAME) -> dict:
    """The API's side of a test pod: a Pod bound to `node`, Running at `ip`
    (what the node's agent would report for the sandbox the test made)."""
    container = {"name": "c", "image": "busybox",
                 "ports": [{"name": n, "containerPort": p, "protocol": "TCP"}
                           for n, p in ports]}
    client.create({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": name, "labels": labels},
                   "spec": {"nodeName": node, "containers": [container]}}, namespace=namespace)
    return client.resource("v1", "Pod").patch(
        name, {"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}}, namespace,
        patch_type="merge", subresource="status")
