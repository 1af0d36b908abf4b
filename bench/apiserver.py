"""Benchmark of the API server: throughput, latency, watch delivery, memory.

    .venv/bin/python bench/apiserver.py [--store sqlite,etcd] [--quick]

Starts a real `supernetes server` (gunicorn, TLS, one worker) on a tmp data dir
and drives it from *other processes* over keep-alive HTTPS connections:

- pod create, get, list (1000 pods) with ApacheBench (`ab -k`, C, so the load
  generator costs little of the two cores it shares with the server); the peer
  measured in the same run is the server's own `/healthz`, the floor of
  gunicorn + TLS + Flask with no auth, store or JSON, so `get / healthz` shows
  what the API machinery adds;
- pod update (PUT, each a real change) from 4 Python processes;
- event delivery latency to 100 and 500 concurrent watchers (spread over 4
  processes): a writer stamps each pod with the time it sent it, every watcher
  records arrival minus stamp;
- the server worker's RSS with 10,000 pods stored (and cached).

Targets (SQLite, this 2-core machine): >= 1000 creates/s, >= 3000 gets/s, p99 <=
50 ms under that load, watch delivery p99 <= 100 ms at 500 watchers, RSS <= 150
MiB at 10,000 pods. The numbers are printed, not asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import selectors
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))
from apiserverkit import ApiServer, Etcd

POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"generateName": "bench-", "labels": {"app": "bench"}},
       "spec": {"containers": [{"name": "main", "image": "busybox:1.36",
                                "command": ["sleep", "3600"],
                                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}


# -- ApacheBench ------------------------------------------------------------------------

def worker_pids(server) -> list[str]:
    return subprocess.run(["pgrep", "-P", str(server.process.pid)], capture_output=True,
                          text=True).stdout.split()


def worker_cpu(server) -> float:
    """CPU seconds the worker has used: with other load on the machine, CPU per
    request is the figure that does not depend on what else runs."""
    total = 0
    for pid in worker_pids(server):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def ab(server, path: str, *, n: int, c: int, method: str = "GET", body: dict | None = None,
       tmp: Path) -> dict:
    args = ["ab", "-q", "-k", "-n", str(n), "-c", str(c), "-H",
            f"Authorization: Bearer {server.tokens['admin']}"]
    if body is not None:
        data = tmp / "body.json"
        data.write_text(json.dumps(body))
        args += ["-p" if method == "POST" else "-u", str(data), "-T", "application/json"]
    cpu = worker_cpu(server)
    out = subprocess.run([*args, server.url + path], capture_output=True, text=True,
                         timeout=600).stdout
    cpu = worker_cpu(server) - cpu
    rps = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))
    # ab counts responses of another length than the first as "failed": creates
    # (generated names) differ in length; only connect/receive/exception errors count.
    failures = re.search(r"\(Connect: (\d+), Receive: (\d+), Length: \d+, Exceptions: (\d+)\)",
                         out)
    failed = sum(map(int, failures.groups())) if failures else 0
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    pct = {int(m.group(1)): int(m.group(2))
           for m in re.finditer(r"^\s+(\d+)%\s+(\d+)", out, re.M)}
    return {"rps": rps, "p50": pct.get(50), "p99": pct.get(99), "failed": failed,
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "cpu_us/req": cpu / n * 1e6, "capacity/s": n / cpu if cpu else 0.0}


# -- Python load (updates) ------------------------------------------------------------------

def _connection(url: str, ca: str) -> http.client.HTTPSConnection:
    host, port = url.removeprefix("https://").rsplit(":", 1)
    context = ssl.create_default_context(cafile=ca)
    return http.client.HTTPSConnection(host, int(port), context=context, timeout=60)


def _updater(url, ca, token, ns, name, count, out):
    conn = _connection(url, ca)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn.request("GET", f"/api/v1/namespaces/{ns}/pods/{name}", headers=headers)
    obj = json.loads(conn.getresponse().read())
    obj["metadata"].pop("resourceVersion")
    latencies = []
    for i in range(count):
        obj["metadata"]["labels"]["round"] = str(i)
        body = json.dumps(obj)
        began = time.perf_counter()
        conn.request("PUT", f"/api/v1/namespaces/{ns}/pods/{name}", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - began)
        assert response.status == 200, response.status
    out.put(latencies)


def updates(server, ns: str, names: list[str], per_process: int) -> dict:
    queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_updater, args=(
        server.url, str(server.ca), server.tokens["admin"], ns, name, per_process, queue))
        for name in names]
    began = time.perf_counter()
    for p in procs:
        p.start()
    latencies = [x for _ in procs for x in queue.get(timeout=600)]
    elapsed = time.perf_counter() - began
    for p in procs:
        p.join()
    return _summary(latencies, len(latencies) / elapsed)


def _summary(latencies: list[float], rps: float | None = None) -> dict:
    latencies = sorted(latencies)
    result = {"p50": latencies[len(latencies) // 2] * 1000,
              "p99": latencies[int(len(latencies) * 0.99)] * 1000,
              "n": len(latencies)}
    if rps is not None:
        result["rps"] = rps
    return result


# -- watch delivery ---------------------------------------------------------------------------

_STAMP = re.compile(rb'"bench/sent":"([\d.]+)"')


def _open_watch(url: str, ca: str, token: str, path: str):
    """A raw TLS socket with a watch request sent and the response headers read."""
    host, port = url.removeprefix("https://").rsplit(":", 1)
    context = ssl.create_default_context(cafile=ca)
    sock = context.wrap_socket(socket.create_connection((host, int(port))),
                               server_hostname=host)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                 f"Accept: application/json\r\n\r\n".encode())
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the watch")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:100]
    return sock, rest


def _watch_process(url, ca, token, ns, count, rv, expected, ready, out):
    """`count` watches in one thread: a selector over non-blocking TLS sockets, so the
    load generator's own thread switching does not add to the measured latency."""
    path = f"/api/v1/namespaces/{ns}/pods?watch=1&resourceVersion={rv}&timeoutSeconds=300"
    selector = selectors.DefaultSelector()
    state = {}
    for _ in range(count):
        sock, rest = _open_watch(url, ca, token, path)
        sock.setblocking(False)
        state[sock] = [rest, 0]
        selector.register(sock, selectors.EVENT_READ)
    ready.set()
    latencies: list[float] = []
    open_socks = count
    deadline = time.monotonic() + 300
    while open_socks and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1.0):
            sock = key.fileobj
            try:
                data = sock.recv(262144)
                while sock.pending():
                    data += sock.recv(262144)
            except ssl.SSLWantReadError:
                continue
            arrived = time.time()
            entry = state[sock]
            if not data:
                selector.unregister(sock)
                open_socks -= 1
                continue
            *lines, entry[0] = (entry[0] + data).split(b"\n")
            for line in lines:
                match = _STAMP.search(line)
                if match and line.startswith(b'{"type":"ADDED"'):
                    latencies.append(arrived - float(match.group(1)))
                    entry[1] += 1
            if entry[1] >= expected:
                selector.unregister(sock)
                sock.close()
                open_socks -= 1
    out.put(latencies)


def watch_latency(server, ns: str, watchers: int, events: int, rate: float) -> dict:
    admin = server.admin
    rv = admin.get(f"/api/v1/namespaces/{ns}/pods").json()["metadata"]["resourceVersion"]
    procs, readies = [], []
    queue = multiprocessing.Queue()
    per = [watchers // 4 + (1 if i < watchers % 4 else 0) for i in range(4)]
    for count in per:
        ready = multiprocessing.Event()
        readies.append(ready)
        procs.append(multiprocessing.Process(target=_watch_process, args=(
            server.url, str(server.ca), server.tokens["admin"], ns, count, rv, events, ready,
            queue)))
    for p in procs:
        p.start()
    for ready in readies:
        ready.wait(120)
    time.sleep(1.0)
    for _i in range(events):
        body = json.loads(json.dumps(POD))
        body["metadata"]["annotations"] = {"bench/sent": repr(time.time())}
        response = admin.post(f"/api/v1/namespaces/{ns}/pods", body)
        assert response.status_code == 201, response.text
        time.sleep(1.0 / rate)
    latencies = [x for _ in procs for x in queue.get(timeout=300)]
    for p in procs:
        p.join(30)
    result = _summary(latencies)
    result["delivered"] = len(latencies)
    result["expected"] = watchers * events
    return result


# -- memory -----------------------------------------------------------------------------------

def worker_rss_mib(server) -> float:
    total = 0
    for pid in worker_pids(server):
        status = Path(f"/proc/{pid}/status").read_text()
        total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    return total / 1024


def fill(server, ns: str, total: int, tmp: Path) -> None:
    have = len(server.admin.get(f"/api/v1/namespaces/{ns}/pods").json()["items"])
    if total > have:
        ab(server, f"/api/v1/namespaces/{ns}/pods", n=total - have, c=8, method="POST",
           body=POD, tmp=tmp)


# -- the run ----------------------------------------------------------------------------------

def run_backend(store: str, quick: bool, tmp: Path) -> dict:
    etcd = None
    store_url = None
    if store == "etcd":
        etcd = Etcd(tmp / "etcd" / "data")
        (tmp / "etcd").mkdir()
        etcd.start()
        store_url = etcd.url
    server = ApiServer(tmp / f"server-{store}", store_url, extra_args=["--threads", "1024"])
    (tmp / f"server-{store}").mkdir()
    server.start()
    results: dict = {}
    try:
        admin = server.admin
        for ns in ("bench", "list", "watch", "fill"):
            admin.post("/api/v1/namespaces", {"metadata": {"name": ns}})
        one = admin.post("/api/v1/namespaces/bench/pods",
                         {**POD, "metadata": {"name": "target", "labels": {"app": "b"}}})
        assert one.status_code == 201, one.text
        n = 2000 if quick else 10000
        results["peer /healthz"] = ab(server, "/healthz", n=n, c=16, tmp=tmp)
        results["get pod"] = ab(server, "/api/v1/namespaces/bench/pods/target", n=n, c=16,
                                tmp=tmp)
        results["create pod"] = ab(server, "/api/v1/namespaces/bench/pods", n=n // 2, c=16,
                                   method="POST", body=POD, tmp=tmp)
        fill(server, "list", 1000, tmp)
        results["list 1000 pods"] = ab(server, "/api/v1/namespaces/list/pods", n=100 if quick
                                       else 300, c=4, tmp=tmp)
        results["list 1000 pods, limit=500"] = ab(
            server, "/api/v1/namespaces/list/pods?limit=500", n=100 if quick else 300, c=4,
            tmp=tmp)
        names = []
        for i in range(4):
            body = json.loads(json.dumps(POD))
            body["metadata"] = {"name": f"upd{i}", "labels": {"app": "u"}}
            admin.post("/api/v1/namespaces/bench/pods", body)
            names.append(f"upd{i}")
        results["update pod"] = updates(server, "bench", names, 250 if quick else 1000)
        fill(server, "fill", 10000 - 1000 - n // 2 - 100 - 5, tmp)
        total = len(admin.get("/api/v1/pods", params={"resourceVersion": "0"}).json()["items"])
        results["worker RSS MiB"] = {"pods": total, "rss": worker_rss_mib(server)}
        for watchers in (100, 500):
            results[f"watch delivery, {watchers} watchers"] = watch_latency(
                server, "watch", watchers, events=20 if quick else 50, rate=20)
        results["worker RSS MiB, +500 watch threads"] = {"rss": worker_rss_mib(server)}
    finally:
        server.stop()
        if etcd is not None:
            etcd.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="sqlite,etcd")
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    args = parser.parse_args()
    if shutil.which("ab") is None:
        print("ab (apache2-utils) is needed", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="bench-apiserver-"))
    try:
        for store in args.store.split(","):
            results = run_backend(store, args.quick, tmp)
            print(f"\n== {store} ==")
            for name, r in results.items():
                print(f"{name:34s} " + "  ".join(
                    f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in r.items()))
            peer = results["peer /healthz"]["rps"]
            print(f"{'ratio get/healthz':34s} {results['get pod']['rps'] / peer:.2f}")
            print(f"{'ratio create/healthz':34s} {results['create pod']['rps'] / peer:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
