"""The API server's worker speaks HTTP/1.1 correctly on its fast paths (worker.py,
quickhttp.py): pipelining, keep-alive and close, HTTP/1.0, split and malformed
requests, small writes parsed by the worker itself, over raw TLS sockets so that
nothing on the client side smooths it over.

On SQLite a GET of one object is served on the poller thread; on etcd it takes
gunicorn's full path: both must behave the same.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from urllib.parse import urlsplit

import pytest
from apiserverkit import pod


@pytest.fixture
def connect(apiserver):
    """Opens raw TLS connections to the server; closes them after the test."""
    url = urlsplit(apiserver.url)
    context = ssl.create_default_context(cafile=str(apiserver.ca))
    opened = []

    def open_connection():
        raw = socket.create_connection((url.hostname, url.port), timeout=10)
        conn = context.wrap_socket(raw, server_hostname=url.hostname)
        opened.append(conn)
        return conn, conn.makefile("rb")

    yield open_connection
    for conn in opened:
        conn.close()


def request(path: str, token: str | None, *, version: str = "HTTP/1.1",
            headers: tuple[str, ...] = ()) -> bytes:
    lines = [f"GET {path} {version}", "Host: apiserver", *headers]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def post(path: str, token: str, body: dict, *, headers: tuple[str, ...] = ()) -> bytes:
    data = json.dumps(body).encode()
    lines = [f"POST {path} HTTP/1.1", "Host: apiserver", f"Authorization: Bearer {token}",
             "Content-Type: application/json", f"Content-Length: {len(data)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def binding(name: str, node: str) -> dict:
    return {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node}}


def read_response(reader) -> tuple[int, dict[str, str], bytes]:
    status_line = reader.readline()
    assert status_line, "the server closed the connection instead of answering"
    status = int(status_line.split()[1])
    headers = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers["content-length"]))
    return status, headers, body


def test_pipelined_gets_are_answered_in_order(apiserver, api, ns, connect):
    assert api.post(f"/api/v1/namespaces/{ns}/pods", pod("first")).status_code == 201
    token = apiserver.tokens["admin"]
    conn, reader = connect()
    conn.sendall(request(f"/api/v1/namespaces/{ns}/pods/first", token)
                 + request("/healthz", None)
                 + request(f"/api/v1/namespaces/{ns}/pods/missing", token)
                 + request(f"/api/v1/namespaces/{ns}/pods/first", None))
    statuses = []
    bodies = []
    for _ in range(4):
        status, headers, body = read_response(reader)
        assert headers["connection"] == "keep-alive"
        statuses.append(status)
        bodies.append(body)
    assert statuses == [200, 200, 404, 401]
    assert b'"name":"first"' in bodies[0].replace(b" ", b"")
    assert bodies[1] == b"ok"
    assert b"NotFound" in bodies[2]


def test_connection_close_is_answered_then_closed(apiserver, connect):
    conn, reader = connect()
    conn.sendall(request("/healthz", None, headers=("Connection: close",)))
    status, headers, body = read_response(reader)
    assert (status, headers["connection"], body) == (200, "close", b"ok")
    assert reader.read() == b""


def test_http10_closes_unless_asked_to_keep_alive(apiserver, connect):
    conn, reader = connect()
    conn.sendall(request("/version", None, version="HTTP/1.0",
                         headers=("Connection: keep-alive",)))
    status, headers, _ = read_response(reader)
    assert (status, headers["connection"]) == (200, "keep-alive")
    conn.sendall(request("/version", None, version="HTTP/1.0"))
    status, headers, _ = read_response(reader)
    assert (status, headers["connection"]) == (200, "close")
    assert reader.read() == b""


def test_request_arriving_in_pieces_is_answered(apiserver, ns, connect):
    data = request(f"/api/v1/namespaces/{ns}", apiserver.tokens["admin"])
    conn, reader = connect()
    for piece in (data[:7], data[7:30], data[30:-1], data[-1:]):
        conn.sendall(piece)
        time.sleep(0.05)
    status, _, body = read_response(reader)
    assert status == 200
    assert ns.encode() in body


def test_malformed_request_gets_400(apiserver, connect):
    conn, reader = connect()
    conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: apiserver\r\nno colon here\r\n\r\n")
    status, _, _ = read_response(reader)
    assert status == 400



def idle_connection(connect):
    """A connection that served a request and waits, back on the worker's poller."""
    conn, reader = connect()
    conn.sendall(request("/healthz", None))
    assert read_response(reader)[0] == 200
    time.sleep(0.1)
    return conn, reader


def test_pipelined_writes_and_reads_are_answered_in_order(apiserver, api, ns, connect):
    token = apiserver.tokens["admin"]
    conn, reader = idle_connection(connect)
    conn.sendall(post(f"/api/v1/namespaces/{ns}/pods", token, pod("piped"))
                 + post(f"/api/v1/namespaces/{ns}/pods/piped/binding", token,
                        binding("piped", "node-a"))
                 + request(f"/api/v1/namespaces/{ns}/pods/piped", token)
                 + post(f"/api/v1/namespaces/{ns}/pods/piped/binding", token,
                        binding("piped", "node-b")))
    responses = [read_response(reader) for _ in range(4)]
    assert [status for status, _, _ in responses] == [201, 201, 200, 409]
    assert all(headers["connection"] == "keep-alive" for _, headers, _ in responses)
    assert json.loads(responses[2][2])["spec"]["nodeName"] == "node-a"
    assert b"already assigned" in responses[3][2]
    assert api.get(f"/api/v1/namespaces/{ns}/pods/piped").json()["spec"]["nodeName"] == \
        "node-a"


def test_write_whose_body_arrives_in_pieces_is_answered(apiserver, api, ns, connect):
    data = post(f"/api/v1/namespaces/{ns}/pods", apiserver.tokens["admin"], pod("pieces"))
    head_end = data.index(b"\r\n\r\n") + 4
    conn, reader = idle_connection(connect)
    for piece in (data[:head_end], data[head_end:head_end + 10], data[head_end + 10:]):
        conn.sendall(piece)
        time.sleep(0.05)
    status, _, body = read_response(reader)
    assert status == 201
    assert json.loads(body)["metadata"]["name"] == "pieces"
    assert api.get(f"/api/v1/namespaces/{ns}/pods/pieces").status_code == 200


def test_write_with_connection_close_is_answered_then_closed(apiserver, ns, connect):
    conn, reader = idle_connection(connect)
    conn.sendall(post(f"/api/v1/namespaces/{ns}/pods", apiserver.tokens["admin"],
                      pod("closing"), headers=("Connection: close",)))
    status, headers, _ = read_response(reader)
    assert (status, headers["connection"]) == (201, "close")
    assert reader.read() == b""


def test_write_with_a_bad_body_gets_a_status(apiserver, ns, connect):
    conn, reader = idle_connection(connect)
    data = b"{not json"
    conn.sendall(f"POST /api/v1/namespaces/{ns}/pods HTTP/1.1\r\nHost: apiserver\r\n"
                 f"Authorization: Bearer {apiserver.tokens['admin']}\r\n"
                 f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
                 .encode() + data + request("/healthz", None))
    status, headers, body = read_response(reader)
    assert status == 400
    assert json.loads(body)["kind"] == "Status"
    assert read_response(reader)[::2] == (200, b"ok")     # the connection goes on
