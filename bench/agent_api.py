"""Benchmark of the Superlet's HTTPS API: exec round trips, log reads, stats summaries.

    .venv/bin/python bench/agent_api.py [--rounds 30] [--containers 30]   (as root)

Starts a real `supernetes server` and a node agent API over real superc
containers (`tests/support/agentkit.py`), then measures, with peers in the
same run:

- exec of `true`, round trip (websocket open -> exit status): through the
  agent's API directly, through the API server's proxy, and the peers
  `superc exec` and `runc exec` as command lines on containers of their own
  (what a kubelet-less user would type);
- a 100,000-line log read whole and with tailLines=100, against the peer of
  reading the same file straight from disk and parsing its CRI lines;
- /stats/summary with N running containers (a cgroup read per container), and
  its cost per container.

Medians (and p90) are printed with ratios against the peers; nothing is asserted.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))
from agentkit import Node, busybox_template
from apiserverkit import ApiServer

from supernetes.agent.logs import read_logs
from supernetes.controlplane.client import Client, Connection, Transport
from supernetes.controlplane.client.remotecommand import ExecSession
from supernetes.runtime.specgen import default_spec

BIN = Path(sys.executable).parent


def timed(fn, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def report(name: str, samples: list[float], peer: list[float] | None = None) -> float:
    median = statistics.median(samples)
    p90 = sorted(samples)[int(len(samples) * 0.9) - 1]
    ratio = f"  x{median / statistics.median(peer):.2f} of the peer" if peer else ""
    print(f"  {name:<44} median {median * 1000:8.2f} ms   p90 {p90 * 1000:8.2f} ms{ratio}")
    return median


def exec_once(transport, path: str) -> None:
    session = ExecSession.open(transport, path, {"command": ["true"], "stdout": True,
                                                 "stderr": True}, stdin=False, tty=False)
    assert session.run(None, io.BytesIO(), io.BytesIO()) == 0


def runc_container(tmp: Path, template: Path) -> tuple[str, str]:
    """A runc container running `sleep`, outside any agent: (runc root, id)."""
    from agentkit import _rootfs

    bundle, cid = tmp / "runc-bundle", f"bench-{uuid.uuid4().hex[:6]}"
    bundle.mkdir()
    _rootfs(template, bundle / "rootfs")
    spec = default_spec()
    spec["process"].update(args=["sleep", "3600"], terminal=False)
    spec["linux"]["cgroupsPath"] = f"sn-bench-{cid}"
    (bundle / "config.json").write_text(json.dumps(spec))
    root = str(tmp / "runc-root")
    subprocess.run(["runc", "--root", root, "run", "-d", "--bundle", str(bundle), cid],
                   check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return root, cid


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--containers", type=int, default=30)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/agent_api.py: needs root (containers)", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="sn-bench-agentapi-"))
    server = ApiServer(tmp / "server")
    server.start()
    node = runc_root = runc_id = None
    try:
        template = busybox_template(tmp / "busybox")
        node = Node(tmp / "node", server, template=template)
        ns = "bench"
        server.admin.post("/api/v1/namespaces", {"metadata": {"name": ns}})
        pod = node.create_pod(ns, "box", ["app"])
        cid = node.run(pod, "app", ["sleep", "3600"])

        print(f"exec `true`, {args.rounds} rounds")
        direct = Transport(Connection(server=node.base_url, token=node.tls.admin_token,
                                      ca_data=node.tls.client_ca.read_bytes()))
        api = Client(Transport(Connection(server=server.url, token=server.tokens["admin"],
                                          ca_data=server.ca.read_bytes())))
        superc = [str(BIN / "superc"), "--root", node.state_root, "exec", cid, "true"]
        peer = timed(lambda: subprocess.run(superc, check=True), args.rounds)
        report("peer: superc exec (CLI)", peer)
        if shutil.which("runc"):
            runc_root, runc_id = runc_container(tmp, template)
            report("peer: runc exec (CLI)", timed(lambda: subprocess.run(
                ["runc", "--root", runc_root, "exec", runc_id, "true"], check=True),
                args.rounds))
        report("agent API, websocket (direct)", timed(
            lambda: exec_once(direct, f"/exec/{ns}/box/app"), args.rounds), peer)
        report("through the API server (kubectl's path)", timed(
            lambda: exec_once(api.transport, f"/api/v1/namespaces/{ns}/pods/box/exec"),
            args.rounds), peer)

        print("logs: 100,000 lines")
        chatty = node.create_pod(ns, "chatty", ["app"])
        node.wait_exit(node.run(chatty, "app", ["sh", "-c", "seq 1 100000"]), timeout=120)
        path = f"/containerLogs/{ns}/chatty/app"
        log_path = node.view.resolve(ns, "chatty", "app").log_path
        size = sum(os.path.getsize(f"{log_path}{suffix}") for suffix in ("", ".1", ".2")
                   if os.path.exists(f"{log_path}{suffix}"))
        whole_peer = timed(lambda: b"".join(read_logs(log_path)), 5)
        report("peer: read + parse the CRI file in-process", whole_peer)
        whole = timed(lambda: node.admin_get(path).content, 5)
        median = report("agent API, whole log", whole, whole_peer)
        print(f"  {'':<44} {size / median / 2**20:8.1f} MiB/s of CRI file")
        tail_peer = timed(lambda: b"".join(read_logs(log_path, tail=100)), args.rounds)
        report("peer: tail 100 in-process", tail_peer)
        report("agent API, tailLines=100", timed(lambda: node.admin_get(
            path, params={"tailLines": 100}).content, args.rounds), tail_peer)

        print(f"stats summary, {args.containers} running containers")
        for n in range(args.containers - 1):
            extra = node.create_pod(ns, f"idle-{n}", ["app"])
            node.run(extra, "app", ["sleep", "3600"])
        summary = timed(lambda: node.admin_get("/stats/summary").json(), args.rounds)
        median = report("agent API, /stats/summary", summary)
        print(f"  {'':<44} {median / args.containers * 1000:8.2f} ms per container")
        report("agent API, /metrics", timed(lambda: node.admin_get("/metrics").text,
                                            args.rounds))
        rss = int(open(f"/proc/{os.getpid()}/statm").read().split()[1]) * os.sysconf(
            "SC_PAGE_SIZE")
        print(f"  (this process, which hosts the agent API and the bench: RSS "
              f"{rss / 2**20:.0f} MiB)")
    finally:
        if runc_id:
            subprocess.run(["runc", "--root", runc_root, "delete", "-f", runc_id],
                           capture_output=True)
            for hierarchy in os.listdir("/sys/fs/cgroup"):
                leftover = f"/sys/fs/cgroup/{hierarchy}/sn-bench-{runc_id}"
                if os.path.isdir(leftover):
                    os.rmdir(leftover)
        if node is not None:
            node.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
