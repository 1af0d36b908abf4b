"""Benchmark of pod-to-pod networking across nodes against a bare veth pair.

    .venv/bin/python bench/crossnode.py [--quick] [--backend host-gw|vxlan|both]  (as root)

Two measurements, each taken on two paths in the same run:

- a TCP stream (one connection, 4 MiB socket buffers, 256 KiB writes, 3 s):
  the bytes the receiver counted over the time between its first byte and
  the sender's FIN, in Gbit/s;
- request/response (TCP_RR style, TCP_NODELAY): one byte there and back on one
  connection, 20,000 times; the round trips' p50 and p99 in microseconds.

The paths:

- across nodes: a real `supernetes lab` with two nodes (host-gw, then VXLAN),
  one pod pinned to each node by nodeName; the stream goes pod eth0 -> the
  node end of its veth (routed, no bridge) -> node uplink (a macvlan on the
  lab switch's backplane) -> the other node's uplink -> its pod's veth -> pod;
- the peer, the physical limit here: two bare network namespaces joined by one
  veth pair with the MTU of the lab nodes' uplinks (one hop, as the lab's
  wire between two machines is), the kernel's defaults otherwise.

The traffic generator is one small Python program (PROGRAM below), run from the
host inside the target network namespace with `nsenter --net=...` on both
paths: in the pods' namespaces (found through a pod process's /proc/PID/ns/net)
as in the bare ones. So both sides use the identical program and the identical
interpreter, and the only difference is the path the packets take. The busybox
in the pod image has `nc`, but its small copy buffer makes it measure itself.

The machine is shared (2 cores, other work running): the peer and the cluster
are measured in alternating pairs (the order flipped every round), and the
ratios are the medians of the pairs' ratios, so load falls on both alike.

Targets (issue 8): cross-node throughput >= 0.9x the bare veth figure; the
latencies are printed for comparison. The numbers are printed, not asserted.
Everything the script makes (the lab, namespaces, veths, processes) is removed
at the end, also on an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))
from labkit import BUSYBOX, Lab, wait_for
from proxykit import make_netns, remove_netns

from supernetes.lab import lab as lab_mod
from supernetes.lab.config import LabConfig
from supernetes.lab.state import LabState

PORT = 5201

# serve PORT | stream HOST PORT SECONDS | rr HOST PORT COUNT. The first byte of a
# connection says which test it is. SO_*BUFFORCE (root) so the buffer size does not
# depend on net.core.[rw]mem_max, which differs between namespaces and hosts.
PROGRAM = r"""
import json, socket, sys, time
BUF = 4 << 20
CHUNK = 256 << 10
def sock():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_SNDBUFFORCE", 32), BUF)
    s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), BUF)
    return s
def serve(port):
    s = sock()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(8)
    print("ready", flush=True)
    buf = bytearray(CHUNK)
    while True:
        c, _ = s.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        mode = c.recv(1)
        if mode == b"S":
            total, first = 0, None
            while True:
                n = c.recv_into(buf)
                if not n:
                    break
                if first is None:
                    first = time.perf_counter()
                total += n
            c.sendall(f"{total} {time.perf_counter() - (first or 0)}\n".encode())
        elif mode == b"R":
            while True:
                data = c.recv(64)
                if not data:
                    break
                c.sendall(data)
        c.close()
def stream(host, port, seconds):
    c = sock()
    c.connect((host, port))
    c.sendall(b"S")
    chunk = bytes(CHUNK)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        c.sendall(chunk)
    c.shutdown(socket.SHUT_WR)
    total, elapsed = c.makefile().readline().split()
    print(json.dumps({"gbit": int(total) * 8 / float(elapsed) / 1e9}))
def rr(host, port, count):
    c = sock()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.connect((host, port))
    c.sendall(b"R")
    clock, samples = time.perf_counter_ns, []
    for i in range(count + 500):               # the first 500 warm up
        t = clock()
        c.send(b"x")
        c.recv(64)
        samples.append(clock() - t)
    c.close()
    print(json.dumps({"us": [n / 1000 for n in samples[500:]]}))
mode, args = sys.argv[1], sys.argv[2:]
if mode == "serve":
    serve(int(args[0]))
elif mode == "stream":
    stream(args[0], int(args[1]), float(args[2]))
else:
    rr(args[0], int(args[1]), int(args[2]))
"""


def run_in(netns: str, *args: str, timeout: float = 120) -> dict:
    done = subprocess.run(["nsenter", f"--net={netns}", sys.executable, "-c", PROGRAM, *args],
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} in {netns} failed: {done.stderr.strip()[-800:]}")
    return json.loads(done.stdout)


class Path2:
    """Two ends of one path: a server in `server_ns` on `server_ip`, a client in `client_ns`."""

    def __init__(self, name: str, client_ns: str, server_ns: str, server_ip: str):
        self.name, self.client_ns, self.server_ns, self.server_ip = (
            name, client_ns, server_ns, server_ip)
        self.server: subprocess.Popen | None = None

    def start(self) -> None:
        self.server = subprocess.Popen(
            ["nsenter", f"--net={self.server_ns}", sys.executable, "-c", PROGRAM, "serve",
             str(PORT)], stdout=subprocess.PIPE, text=True, start_new_session=True)
        if self.server.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the {self.name} server did not start")

    def stop(self) -> None:
        if self.server is not None:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait()
            self.server.stdout.close()
            self.server = None

    def stream(self, seconds: float) -> float:
        return run_in(self.client_ns, "stream", self.server_ip, str(PORT), str(seconds))["gbit"]

    def rr(self, count: int) -> list[float]:
        return run_in(self.client_ns, "rr", self.server_ip, str(PORT), str(count))["us"]


@contextlib.contextmanager
def signals_held():
    """Ctrl-C or SIGTERM during a teardown waits until the teardown is done, then
    interrupts: an interrupted `lab down` leaves machines running that nothing
    knows of any more. (A handler, not SIG_IGN or a blocked mask: those the
    teardown's child processes would inherit.)"""
    caught: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, lambda signum, frame: caught.append(signum))
                for signum in held}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if caught:
        raise KeyboardInterrupt


# --- the peer: two namespaces, one veth pair ------------------------------------------------

class BareVeth:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.made: list[str] = []
        self.path = Path2("bare veth", "", "", "10.99.0.2")

    def setup(self) -> None:
        tmp, suffix = self.tmp, uuid.uuid4().hex[:6]
        self.a = self._netns(tmp / f"xb-a-{suffix}")
        self.b = self._netns(tmp / f"xb-b-{suffix}")
        # Made inside namespace a, so the host never holds either end, even briefly.
        self._ip(self.a, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
                 "netns", self.b)
        for ns, address in ((self.a, "10.99.0.1/30"), (self.b, "10.99.0.2/30")):
            self._ip(ns, "addr", "add", address, "dev", "eth0")
            self._ip(ns, "link", "set", "eth0", "up")
        self.path.client_ns, self.path.server_ns = self.a, self.b

    def _netns(self, path: Path) -> str:
        try:
            return make_netns(path)
        finally:
            if path.exists():
                self.made.append(str(path))

    def set_mtu(self, mtu: int) -> None:
        for ns in (self.a, self.b):
            self._ip(ns, "link", "set", "eth0", "mtu", str(mtu))

    @staticmethod
    def _ip(ns: str, *args: str) -> None:
        subprocess.run(["nsenter", f"--net={ns}", "ip", *args], check=True)

    def close(self) -> None:
        self.path.stop()
        for ns in self.made:              # the veth goes with its namespaces
            remove_netns(ns)


# --- the cluster: a two-node lab, one pod on each node ---------------------------------------

class Cluster:
    def __init__(self, tmp: Path, backend: str):
        self.lab: Lab | None = None
        self.path: Path2 | None = None
        name = "xb" + uuid.uuid4().hex[:6]
        tmp.mkdir()
        # The lab's defaults (not the tests' fast periods): an idle lab costs little CPU.
        config = LabConfig(name=name, nodes=2, backend=backend, data_dir=str(tmp / "lab"),
                           netns_dir=str(tmp / "netns"), timeout=180)
        try:
            self.lab = Lab(lab_mod.up(config, progress=lambda line: None))
        except BaseException:
            with signals_held():
                if LabState.exists(config.data_dir):
                    lab_mod.down(config.data_dir)
            raise

    def pods(self) -> None:
        nodes = self.lab.node_names
        for index, node in enumerate(nodes[:2]):
            self.lab.client.create({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": f"xb{index}", "namespace": "default"},
                "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0,
                         "containers": [{"name": "idle", "image": BUSYBOX,
                                         "imagePullPolicy": "IfNotPresent",
                                         "command": ["sleep", "3600"]}]}})
        ends = [self._pod_netns(f"xb{index}") for index in range(2)]
        self.mtu = self._mtu(ends[0][0], "eth0")
        node1 = self.lab.netns("node1")
        shown = subprocess.run(["nsenter", f"--net={node1}", "ip", "-o", "addr", "show", "to",
                                self.lab.address("node1")], capture_output=True, text=True)
        self.uplink_mtu = self._mtu(node1, shown.stdout.split()[1])
        self.path = Path2(f"{self.lab.config.backend} cross-node", ends[0][0], ends[1][0],
                          ends[1][1])

    def _pod_netns(self, name: str) -> tuple[str, str]:
        """The pod's network namespace as the host sees it, and the pod's IP."""
        pod = self.lab.wait_running(name, timeout=120)
        ip, uid = pod["status"]["podIP"], pod["metadata"]["uid"]
        pids: list[int] = []

        def found() -> bool:
            for directory in self.lab.pod_cgroups([uid]):
                for dirpath, _, files in os.walk(directory):
                    if "cgroup.procs" in files:
                        with open(os.path.join(dirpath, "cgroup.procs")) as f:
                            pids.extend(int(line) for line in f if line.strip())
            return bool(pids)

        if not wait_for(found, 30):
            raise RuntimeError(f"no process of pod {name} in its cgroups")
        for pid in pids:
            netns = f"/proc/{pid}/ns/net"
            shown = subprocess.run(["nsenter", f"--net={netns}", "ip", "-o", "-4", "addr"],
                                   capture_output=True, text=True).stdout
            if f" {ip}/" in shown:
                return netns, ip
        raise RuntimeError(f"no process of pod {name} is in the namespace holding {ip}")

    @staticmethod
    def _mtu(netns: str, device: str) -> int:
        # From netlink, not /sys/class/net: sysfs shows the namespace of whoever
        # mounted it (the host's), whatever namespace the reader has entered.
        shown = subprocess.run(["nsenter", f"--net={netns}", "ip", "-o", "link", "show", "dev",
                                device], capture_output=True, text=True, check=True).stdout
        words = shown.split()
        return int(words[words.index("mtu") + 1])

    def close(self) -> None:
        if self.path is not None:
            self.path.stop()
        if self.lab is not None:
            self.lab.close()


# --- measuring ---------------------------------------------------------------------------------

def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def compare(peer: Path2, cluster: Path2, rounds: int, seconds: float, count: int) -> dict:
    """Alternating pairs (ABBA), each pair a stream and an RR run on both paths."""
    peer.stream(0.5)                            # warm up both paths
    cluster.stream(0.5)
    result = {p.name: {"gbit": [], "rr": [], "p50": []} for p in (peer, cluster)}
    ratios, latency_ratios = [], []
    for i in range(rounds):
        order = (peer, cluster) if i % 2 == 0 else (cluster, peer)
        for p in order:
            result[p.name]["gbit"].append(p.stream(seconds))
        for p in order:
            samples = p.rr(count)
            result[p.name]["rr"] += samples
            result[p.name]["p50"].append(percentile(samples, 0.5))
        ratios.append(result[cluster.name]["gbit"][-1] / result[peer.name]["gbit"][-1])
        latency_ratios.append(result[cluster.name]["p50"][-1] / result[peer.name]["p50"][-1])
    rows = {}
    for p in (peer, cluster):
        r = result[p.name]
        rows[p.name] = {"Gbit/s": statistics.median(r["gbit"]),
                        "min": min(r["gbit"]), "max": max(r["gbit"]),
                        "RR p50 us": percentile(r["rr"], 0.5),
                        "RR p99 us": percentile(r["rr"], 0.99)}
    rows[cluster.name + " / bare"] = {"throughput": statistics.median(ratios),
                                      "min": min(ratios), "max": max(ratios),
                                      "RR p50": statistics.median(latency_ratios)}
    return rows


def print_table(title: str, rows: dict[str, dict]) -> None:
    print(f"\n{title}", flush=True)
    for name, values in rows.items():
        cells = "  ".join(f"{k}={v:,.2f}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in values.items())
        print(f"  {name:<28} {cells}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer rounds, 1 s streams, 5,000 round trips")
    parser.add_argument("--backend", choices=["host-gw", "vxlan", "both"], default="both",
                        help="the lab's cross-node backend (default: %(default)s)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/crossnode.py: needs root (it builds a lab and namespaces)", file=sys.stderr)
        return 1
    rounds, seconds, count = (2, 1.0, 5000) if args.quick else (6, 3.0, 20000)
    backends = ["host-gw", "vxlan"] if args.backend == "both" else [args.backend]
    tmp = Path(tempfile.mkdtemp(prefix="bench-crossnode-"))
    peer = BareVeth(tmp)
    # SIGTERM as Ctrl-C, so a killed run still tears everything down.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        peer.setup()
        peer.path.start()
        for backend in backends:
            cluster = None
            try:
                cluster = Cluster(tmp / backend, backend)
                cluster.pods()
                cluster.path.start()
                # The peer's wire as the lab's: a veth with the nodes' uplink MTU.
                peer.set_mtu(cluster.uplink_mtu)
                rows = compare(peer.path, cluster.path, rounds, seconds, count)
            finally:
                if cluster is not None:
                    with signals_held():
                        cluster.close()
            print_table(f"Pod to pod across nodes, {backend} (pod MTU {cluster.mtu}), versus "
                        f"a bare veth pair (MTU {cluster.uplink_mtu}, the nodes' uplinks'): "
                        f"{rounds} rounds, {seconds:g} s streams, {count:,} round trips each",
                        rows)
        print("\nTarget: cross-node / bare throughput >= 0.90 (RR p50: lower is better)")
    finally:
        with signals_held():
            peer.close()
            left = [str(tmp / b / "lab") for b in backends if LabState.exists(str(tmp / b / "lab"))]
            if left:      # a lab that would not go down: keep its state for `lab down`
                print(f"bench/crossnode.py: a lab is left, remove it with `supernetes lab down "
                      f"--data-dir {left[0]}`", file=sys.stderr)
            else:
                shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("bench/crossnode.py: interrupted (everything it made is removed)", file=sys.stderr)
        sys.exit(130)
