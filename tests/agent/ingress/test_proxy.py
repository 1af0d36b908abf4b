"""The Ingress proxy against a real API server and real HTTP backends on loopback."""

from __future__ import annotations

import http.client
import socket
import time
from collections import Counter

from httpkit import get
from netobjects import endpoint_slice, eventually, ingress, service


def _service(client, ns, name: str, backends, port_name: str = "http", port: int = 80,
             ready=None):
    """A selector-less Service whose slice names `backends` (all on one port number)."""
    client.create(service(name, ip="None", ports=((port_name, port, "TCP"),)), ns)
    if backends:
        ready = ready or [True] * len(backends)
        client.create(endpoint_slice(name, [{"ip": b.host, "ready": r}
                                            for b, r in zip(backends, ready, strict=True)],
                                     ports=((port_name, backends[0].port, "TCP"),)), ns)


def _same_port(backends_fixture, *names):
    """Backends on different addresses and one port number, as a Service's pods are."""
    first = backends_fixture(names[0])
    return [first, *(backends_fixture(name, first.port) for name in names[1:])]


def _wait_status(controller, host, path="/", status=200):
    found = eventually(lambda: (r := get(controller.port, host, path))[0] == status and r)
    assert found, f"{host}{path}: never {status}: {get(controller.port, host, path)}"
    return found


def test_two_hosts_go_to_two_services(client, controller, ns, backends):
    a, b = backends("alpha"), backends("beta")
    _service(client, ns, "alpha", [a])
    _service(client, ns, "beta", [b])
    client.create(ingress("two", [(f"a.{ns}.test", "/", "Prefix", "alpha", 80),
                                  (f"b.{ns}.test", "/", "Prefix", "beta", "http")]), ns)
    _wait_status(controller, f"a.{ns}.test")
    answered = Counter()
    for _ in range(10):
        for host in (f"a.{ns}.test", f"b.{ns}.test:80", f"B.{ns}.TEST"):
            status, headers, _body = get(controller.port, host)
            assert status == 200
            answered[(host.split(".")[0].lower(), headers["X-Backend"])] += 1
    assert answered == {("a", "alpha"): 10, ("b", "beta"): 20}


def test_requests_spread_round_robin_over_ready_endpoints(client, controller, ns, backends):
    pods = _same_port(backends, "pod-1", "pod-2", "pod-3")
    _service(client, ns, "web", pods, ready=[True, True, False])
    client.create(ingress("rr", [(f"rr.{ns}.test", "/", "Prefix", "web", 80)]), ns)
    _wait_status(controller, f"rr.{ns}.test")
    answered = Counter(get(controller.port, f"rr.{ns}.test")[1]["X-Backend"] for _ in range(20))
    assert answered == {"pod-1": 10, "pod-2": 10}       # never the pod that is not ready


def test_no_ready_endpoint_is_503_and_recovers_when_one_is(client, controller, ns, backends):
    client.create(ingress("empty", [(f"e.{ns}.test", "/", "Prefix", "web", 80)]), ns)
    status, _h, body = _wait_status(controller, f"e.{ns}.test", status=503)
    assert b"service" in body and b"web" in body and b"not found" in body
    client.create(service("web", ip="None"), ns)
    status, _h, body = _wait_status(controller, f"e.{ns}.test", status=503)
    eventually(lambda: b"no ready endpoint" in get(controller.port, f"e.{ns}.test")[2])
    assert b"no ready endpoint" in get(controller.port, f"e.{ns}.test")[2]
    pod = backends("late")
    client.create(endpoint_slice("web", [{"ip": pod.host}],
                                 ports=(("http", pod.port, "TCP"),)), ns)
    assert _wait_status(controller, f"e.{ns}.test")[1]["X-Backend"] == "late"


def test_backend_that_refuses_is_502_and_a_live_one_is_tried_next(client, controller, ns,
                                                                   backends):
    live = backends("live")
    with socket.socket() as closed:                 # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    client.create(service("dead", ip="None"), ns)
    client.create(endpoint_slice("dead", [{"ip": "127.0.0.1"}],
                                 ports=(("http", dead_port, "TCP"),)), ns)
    client.create(ingress("bad", [(f"bad.{ns}.test", "/", "Prefix", "dead", 80)]), ns)
    status, _h, body = _wait_status(controller, f"bad.{ns}.test", status=502)
    assert b"cannot connect" in body
    # a Service with a dead and a live endpoint: every request still succeeds
    client.create(service("mixed", ip="None"), ns)
    client.create(endpoint_slice("mixed", [{"ip": "127.0.0.1"}],
                                 ports=(("http", dead_port, "TCP"),), suffix="dead"), ns)
    client.create(endpoint_slice("mixed", [{"ip": live.host}],
                                 ports=(("http", live.port, "TCP"),), suffix="live"), ns)
    client.create(ingress("mixed", [(f"mixed.{ns}.test", "/", "Prefix", "mixed", 80)]), ns)
    _wait_status(controller, f"mixed.{ns}.test")
    assert all(get(controller.port, f"mixed.{ns}.test")[0] == 200 for _ in range(6))


def test_unknown_host_or_path_is_404_unless_a_default_backend(client, controller, ns, backends):
    api, fallback = backends("api"), backends("fallback")
    _service(client, ns, "api", [api])
    client.create(ingress("paths", [(f"p.{ns}.test", "/api", "Prefix", "api", 80)]), ns)
    _wait_status(controller, f"p.{ns}.test", "/api/v1")
    assert get(controller.port, f"p.{ns}.test", "/apix")[0] == 404
    assert get(controller.port, f"nowhere.{ns}.test", "/")[0] == 404
    _service(client, ns, "fallback", [fallback])
    client.create(ingress("default", [(f"d.{ns}.test", "/x", "Exact", "api", 80)],
                          default=("fallback", 80)), ns)
    # the oldest Ingress with a default backend serves every unmatched request
    status, headers, _b = _wait_status(controller, f"p.{ns}.test", "/apix")
    assert headers["X-Backend"] == "fallback"


def test_path_types_and_longest_match(client, controller, ns, backends):
    root, exact, prefix = backends("root"), backends("exact"), backends("prefix")
    for b in (root, exact, prefix):
        _service(client, ns, b.name, [b])
    host = f"paths.{ns}.test"
    client.create(ingress("types", [(host, "/", "Prefix", "root", 80),
                                    (host, "/app", "Exact", "exact", 80),
                                    (host, "/app/", "ImplementationSpecific", "prefix", 80)]),
                  ns)
    _wait_status(controller, host, "/")
    seen = {path: get(controller.port, host, path)[1]["X-Backend"]
            for path in ("/", "/app", "/app/", "/app/x?y=1", "/apple", "/other")}
    assert seen == {"/": "root", "/app": "exact", "/app/": "prefix", "/app/x?y=1": "prefix",
                    "/apple": "root", "/other": "root"}


def test_forwarded_headers_and_the_original_host(client, controller, ns, backends):
    pod = backends("hdr")
    _service(client, ns, "hdr", [pod])
    client.create(ingress("hdr", [(f"h.{ns}.test", "/", "Prefix", "hdr", 80)]), ns)
    _wait_status(controller, f"h.{ns}.test")
    _s, headers, _b = get(controller.port, f"h.{ns}.test", headers={"X-Forwarded-For": "192.0.2.1"})
    assert headers["X-Seen-Host"] == f"h.{ns}.test"
    assert headers["X-Seen-X-Forwarded-For"] == "192.0.2.1, 127.0.0.1"
    assert headers["X-Seen-X-Real-IP"] == "127.0.0.1"
    assert headers["X-Seen-X-Forwarded-Proto"] == "http"
    assert headers["X-Seen-X-Forwarded-Host"] == f"h.{ns}.test"
    assert headers["X-Seen-X-Forwarded-Port"] == str(controller.port)


def test_bodies_chunked_sized_and_close_delimited_pass_through(client, controller, ns, backends):
    pod = backends("body")
    _service(client, ns, "body", [pod])
    host = f"body.{ns}.test"
    client.create(ingress("body", [(host, "/", "Prefix", "body", 80)]), ns)
    _wait_status(controller, host)
    big = b"x" * 300_000
    assert get(controller.port, host, "/echo", "POST", big)[2] == big
    chunks = iter([b"ab", b"cd", b"ef"])
    assert get(controller.port, host, "/echo", "POST", chunks, chunked=True)[2] == b"abcdef"
    assert get(controller.port, host, "/chunked")[2] == b"one,two,three"
    status, headers, body = get(controller.port, host, "/close")
    assert (status, body) == (200, b"body until close")
    assert headers.get("Transfer-Encoding") == "chunked"   # re-framed for a 1.1 client
    status, headers, body = get(controller.port, host, "/", "HEAD")
    assert (status, headers["Content-Length"], body) == (200, "1234", b"")


def test_keep_alive_carries_many_requests_and_reuses_backend_connections(client, controller, ns,
                                                                         backends):
    pod = backends("ka")
    _service(client, ns, "ka", [pod])
    host = f"ka.{ns}.test"
    client.create(ingress("ka", [(host, "/", "Prefix", "ka", 80)]), ns)
    _wait_status(controller, host)
    opened = controller.proxy.pool.opened
    conn = http.client.HTTPConnection("127.0.0.1", controller.port, timeout=5)
    for i in range(20):
        conn.request("GET", f"/n{i}", headers={"Host": host})
        response = conn.getresponse()
        assert response.read() == f"ka /n{i}".encode()
    conn.close()
    assert controller.proxy.pool.opened - opened <= 2


def test_http10_client_gets_a_dechunked_body_and_a_close(client, controller, ns, backends):
    pod = backends("old")
    _service(client, ns, "old", [pod])
    host = f"old.{ns}.test"
    client.create(ingress("old", [(host, "/", "Prefix", "old", 80)]), ns)
    _wait_status(controller, host)
    with socket.create_connection(("127.0.0.1", controller.port), timeout=5) as sock:
        sock.sendall(f"GET /chunked HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"chunked" not in head.lower()
    assert body == b"one,two,three"


def test_websocket_upgrade_becomes_a_tunnel(client, controller, ns, backends):
    pod = backends("ws")
    _service(client, ns, "ws", [pod])
    host = f"ws.{ns}.test"
    client.create(ingress("ws", [(host, "/", "Prefix", "ws", 80)]), ns)
    _wait_status(controller, host)
    with socket.create_connection(("127.0.0.1", controller.port), timeout=5) as sock:
        sock.sendall(f"GET /ws HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\n"
                     f"Upgrade: websocket\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101")
        for word in (b"hello", b"tunnel"):
            sock.sendall(word)
            assert sock.recv(100) == word.upper()


def test_slow_backend_is_504(client, controller, ns, backends):
    pod = backends("slow")
    _service(client, ns, "slow", [pod])
    host = f"slow.{ns}.test"
    client.create(ingress("slow", [(host, "/", "Prefix", "slow", 80)]), ns)
    _wait_status(controller, host)
    started = time.monotonic()
    status, _h, body = get(controller.port, host, "/?s=4")
    assert status == 504 and b"no response" in body
    assert time.monotonic() - started < 3.5       # the controller's response_timeout is 2 s


def test_ingress_of_another_class_is_ignored(client, controller, ns, backends):
    pod = backends("cls")
    _service(client, ns, "cls", [pod])
    client.create(ingress("other", [(f"other.{ns}.test", "/", "Prefix", "cls", 80)],
                          class_name="nginx"), ns)
    client.create(ingress("ours", [(f"ours.{ns}.test", "/", "Prefix", "cls", 80)],
                          class_name="supernetes"), ns)
    _wait_status(controller, f"ours.{ns}.test")
    assert get(controller.port, f"other.{ns}.test")[0] == 404


def test_status_names_the_serving_addresses(client, controller, ns, backends):
    client.create(ingress("st", [(f"st.{ns}.test", "/", "Prefix", "nothing", 80)]), ns)
    lb = eventually(lambda: (client.get("networking.k8s.io/v1", "Ingress", "st", ns)
                             .get("status") or {}).get("loadBalancer", {}).get("ingress"))
    assert lb == [{"ip": "192.0.2.10", "ports": [{"port": controller.port, "protocol": "TCP"}]}]


def test_a_bad_request_is_400(controller):
    with socket.create_connection(("127.0.0.1", controller.port), timeout=5) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 400")
    with socket.create_connection(("127.0.0.1", controller.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")         # no Host
        assert sock.recv(100).startswith(b"HTTP/1.1 400")
