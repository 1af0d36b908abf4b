"""Benchmark of the Ingress proxy: requests through it against the same requests direct.

    .venv/bin/python bench/ingress.py [--quick]

Starts a real `supernetes server` on a tmp data dir, a backend (busybox httpd,
C, serving a 1 KiB page on a loopback address), a selector-less Service and
EndpointSlice naming it, an Ingress routing a host to it, and the Superlet's
IngressController in a process of its own. ApacheBench (C, so the load generator
costs little of the two cores) then measures, in the same run:

- direct: ab -> busybox httpd (the peer: what the backend does alone);
- through the Ingress: ab -> proxy -> busybox httpd, a new client connection per
  request, and with client keep-alive (`ab -k`).

busybox httpd closes every connection after its response, so the proxy opens a
backend connection per request in every case. Printed: requests/s, p50 and p99
latency, and the ratio through / direct. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))
from apiserverkit import ApiServer, free_port
from httpkit import get

BACKEND = "127.0.0.2"


def _controller(kubeconfig: str, ports, stop) -> None:
    import logging

    from supernetes.agent.ingress import IngressConfig, IngressController
    from supernetes.controlplane.client import Client

    logging.basicConfig(level=logging.WARNING)
    with Client.from_kubeconfig(kubeconfig) as client:
        controller = IngressController(client, IngressConfig(
            bind="127.0.0.1", port=0, status_addresses=("127.0.0.1",))).start()
        ports.put(controller.port)
        stop.wait()
        controller.stop()


def ab(url: str, requests: int, concurrency: int, host: str | None = None,
       keepalive: bool = False) -> tuple[float, float, float]:
    argv = ["ab", "-q", "-n", str(requests), "-c", str(concurrency)]
    if keepalive:
        argv.append("-k")
    if host:
        argv += ["-H", f"Host: {host}"]
    out = subprocess.run(argv + [url], capture_output=True, text=True, check=True).stdout
    failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))
    if failed:
        raise RuntimeError(f"ab: {failed} failed requests\n{out}")
    rate = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))
    p50 = float(re.search(r"^\s+50%\s+(\d+)", out, re.M).group(1))
    p99 = float(re.search(r"^\s+99%\s+(\d+)", out, re.M).group(1))
    return rate, p50, p99


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    args = parser.parse_args()
    requests, concurrency = (2000, 8) if args.quick else (10000, 16)
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingress-"))
    (tmp / "www").mkdir()
    (tmp / "www" / "index.html").write_text("x" * 1024)
    server = ApiServer(tmp / "data")
    port = free_port()
    httpd = subprocess.Popen(["busybox", "httpd", "-f", "-p", f"{BACKEND}:{port}", "-h",
                              str(tmp / "www")], start_new_session=True)
    ctx = multiprocessing.get_context("spawn")
    ports, stop = ctx.Queue(), ctx.Event()
    proxy = None
    try:
        server.start()
        from supernetes.controlplane.client import Client

        with Client.from_kubeconfig(str(server.kubeconfig)) as client:
            client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                           "spec": {"clusterIP": "None", "ports": [{"name": "http",
                                                                    "port": 80}]}}, "default")
            client.create({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                           "metadata": {"name": "web-1",
                                        "labels": {"kubernetes.io/service-name": "web"}},
                           "addressType": "IPv4", "ports": [{"name": "http", "port": port}],
                           "endpoints": [{"addresses": [BACKEND]}]}, "default")
            client.create({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                           "metadata": {"name": "web"},
                           "spec": {"rules": [{"host": "web.bench", "http": {"paths": [
                               {"path": "/", "pathType": "Prefix", "backend": {"service": {
                                   "name": "web", "port": {"number": 80}}}}]}}]}}, "default")
        proxy = ctx.Process(target=_controller, args=(str(server.kubeconfig), ports, stop))
        proxy.start()
        ingress_port = ports.get(timeout=60)
        deadline = time.monotonic() + 30
        while get(ingress_port, "web.bench", "/index.html")[0] != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("the Ingress never routed web.bench")
            time.sleep(0.1)
        print(f"{requests} requests of a 1 KiB page, {concurrency} at a time\n")
        print(f"{'path':<40}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}")
        direct = ab(f"http://{BACKEND}:{port}/index.html", requests, concurrency)
        rows = [("direct to busybox httpd (peer)", direct),
                ("through the Ingress", ab(f"http://127.0.0.1:{ingress_port}/index.html",
                                           requests, concurrency, "web.bench")),
                ("through the Ingress, client keep-alive",
                 ab(f"http://127.0.0.1:{ingress_port}/index.html", requests, concurrency,
                    "web.bench", keepalive=True))]
        for label, (rate, p50, p99) in rows:
            print(f"{label:<40}{rate:>10,.0f}{p50:>9.0f}{p99:>9.0f}{rate / direct[0]:>8.2f}")
    finally:
        stop.set()
        if proxy is not None:
            proxy.join(20)
        os.killpg(httpd.pid, signal.SIGTERM)
        httpd.wait(10)
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
