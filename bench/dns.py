"""Benchmark of the cluster DNS server against dnsmasq, measured in the same run.

    .venv/bin/python bench/dns.py [--quick] [--services N]

Starts a real `supernetes server` on a tmp data dir with N ClusterIP Services,
then two DNS servers on loopback, each as its own process:

- ours: `supernetes dns` (informers on the API server; forwarding to a fake
  upstream on loopback, tests/support/dnskit.FakeUpstream);
- the peer: dnsmasq (C, Debian's dnsmasq-base) answering the same names from a
  hosts file, forwarding to the same upstream, with its cache on.

and drives both with the same load generator (2 processes, each keeping 32
queries in flight over UDP, cycling through the names):

- cluster names (`svc-17.bench.svc.cluster.local A`), all N in turn, then one;
  ours answers a repeated question from the bytes it encoded the first time
  (until something in the cluster changes), dnsmasq from its hosts table;
- a forwarded name, after the first query a cache hit in both servers;
- latency of one query at a time (p50, p99).

Throughput is printed as queries/s and as the ratio ours / dnsmasq: dnsmasq is C
with a hash table, ours Python with dnslib encoding every answer, so the ratio
shows what that costs. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))
from apiserverkit import ApiServer, free_port
from dnskit import FakeUpstream, ask
from dnslib import DNSRecord

from supernetes.controlplane.client import Client

SUPERNETES = str(Path(sys.executable).parent / "supernetes")
IN_FLIGHT = 32


def _free_udp_and_tcp() -> int:
    while True:
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


def _load(port: int, names: list[str], seconds: float, results) -> None:
    """Keep IN_FLIGHT queries outstanding for `seconds`; put the answers counted."""
    queries = [DNSRecord.question(name).pack() for name in names]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", port))
    sock.settimeout(0.5)
    sent = answered = 0
    for _ in range(IN_FLIGHT):
        sock.send(queries[sent % len(queries)])
        sent += 1
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            sock.recv(4096)
            answered += 1
        except TimeoutError:                  # lost on the way: refill the window
            for _ in range(IN_FLIGHT):
                sock.send(queries[sent % len(queries)])
                sent += 1
            continue
        sock.send(queries[sent % len(queries)])
        sent += 1
    sock.close()
    results.put(answered / seconds)


def throughput(port: int, names: list[str], seconds: float, procs: int = 2) -> float:
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    workers = [ctx.Process(target=_load, args=(port, names, seconds, results))
               for _ in range(procs)]
    for worker in workers:
        worker.start()
    total = sum(results.get() for _ in workers)
    for worker in workers:
        worker.join()
    return total


def latency(port: int, names: list[str], count: int) -> tuple[float, float]:
    times = []
    for i in range(count):
        started = time.perf_counter()
        ask(port, names[i % len(names)])
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def _wait_answering(port: int, name: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ask(port, name, timeout=0.5).rr:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"port {port} never answered {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs")
    parser.add_argument("--services", type=int, default=200)
    args = parser.parse_args()
    if shutil.which("dnsmasq") is None:
        print("dnsmasq is missing: apt-get install dnsmasq-base (make install does)")
        return 1
    seconds, samples = (2.0, 300) if args.quick else (5.0, 2000)
    tmp = Path(tempfile.mkdtemp(prefix="bench-dns-"))
    server = ApiServer(tmp / "data")
    upstream = FakeUpstream({"example.org.": ["example.org. 3600 IN A 192.0.2.80"]}).start()
    processes: list[subprocess.Popen] = []
    try:
        server.start()
        names, hosts = [], []
        with Client.from_kubeconfig(str(server.kubeconfig)) as client:
            client.create({"apiVersion": "v1", "kind": "Namespace",
                           "metadata": {"name": "bench"}})
            for i in range(args.services):
                ip = f"10.100.{i // 250}.{i % 250 + 1}"
                client.create({"apiVersion": "v1", "kind": "Service",
                               "metadata": {"name": f"svc-{i}"},
                               "spec": {"clusterIP": ip, "ports": [{"port": 80}]}}, "bench")
                names.append(f"svc-{i}.bench.svc.cluster.local")
                hosts.append(f"{ip} {names[-1]}")
        (tmp / "hosts").write_text("\n".join(hosts) + "\n")
        ours, peer = _free_udp_and_tcp(), _free_udp_and_tcp()
        log = open(tmp / "dns.log", "wb")
        processes.append(subprocess.Popen(
            [SUPERNETES, "dns", "--kubeconfig", str(server.kubeconfig), "--bind",
             f"127.0.0.1:{ours}", "--resolv-conf", "", "--upstream",
             f"127.0.0.1:{upstream.port}", "--log-level", "warning"],
            stdout=log, stderr=log, start_new_session=True))
        processes.append(subprocess.Popen(
            ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
             "--no-hosts", f"--addn-hosts={tmp / 'hosts'}", "--listen-address=127.0.0.1",
             f"--port={peer}", "--bind-interfaces", f"--server=127.0.0.1#{upstream.port}",
             "--cache-size=10000", "--user=root", "--pid-file="],
            stdout=log, stderr=log, start_new_session=True))
        for port in (ours, peer):
            _wait_answering(port, names[-1])
            _wait_answering(port, "example.org")
        print(f"{args.services} Services; {IN_FLIGHT} queries in flight x 2 load processes, "
              f"{seconds:.0f} s each\n")
        print(f"{'scenario':<34}{'ours q/s':>12}{'dnsmasq q/s':>14}{'ratio':>8}")
        for label, queried in ((f"cluster names (A), {len(names)} cycled", names),
                               ("one cluster name (A)", names[:1]),
                               ("forwarded, cached", ["example.org"])):
            mine = throughput(ours, queried, seconds)
            theirs = throughput(peer, queried, seconds)
            print(f"{label:<34}{mine:>12,.0f}{theirs:>14,.0f}{mine / theirs:>8.2f}")
        print(f"\n{'latency, one at a time':<34}{'p50 ms':>12}{'p99 ms':>14}")
        for label, port in (("ours, cluster name", ours), ("dnsmasq, hosts file", peer)):
            p50, p99 = latency(port, names, samples)
            print(f"{label:<34}{p50:>12.3f}{p99:>14.3f}")
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(10)
        upstream.stop()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
