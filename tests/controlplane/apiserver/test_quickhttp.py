"""quickhttp takes only the plain GETs, and small writes that arrived whole, and
writes responses as gunicorn would."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from supernetes.controlplane.apiserver import views
from supernetes.controlplane.apiserver.quickhttp import QuickHttp

CONN = SimpleNamespace(server=("127.0.0.1", 6443), client=("127.0.0.1", 50000), sock=None)


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Connection", "upgrade"),
                              ("X-Path", environ["PATH_INFO"])])
    return [b"hello ", b"there"]


@pytest.fixture
def quick() -> QuickHttp:
    return QuickHttp(Config(), app, lambda path, query: path.startswith("/api/"),
                     lambda path, query: not path.endswith("/exec"))


def head(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def test_plain_get_becomes_an_environ(quick):
    environ = quick.environ_of(head("GET /api/v1/pods?limit=5 HTTP/1.1", "Host: a",
                                    "Authorization: Bearer x"), CONN)
    assert environ["REQUEST_METHOD"] == "GET"
    assert (environ["PATH_INFO"], environ["QUERY_STRING"]) == ("/api/v1/pods", "limit=5")
    assert environ["RAW_URI"] == "/api/v1/pods?limit=5"
    assert environ["HTTP_AUTHORIZATION"] == "Bearer x"
    assert environ["wsgi.input"].read() == b""
    assert (environ["SERVER_PORT"], environ["REMOTE_PORT"]) == ("6443", "50000")


@pytest.mark.parametrize("request_head", [
    head("POST /api/v1/pods HTTP/1.1", "Host: a"),
    head("GET /api/v1/pods HTTP/1.1", "Host: a", "Content-Length: 0"),
    head("GET /api/v1/pods HTTP/1.1", "Host: a", "Transfer-Encoding: chunked"),
    head("GET /api/v1/pods HTTP/1.1", "Host: a", "Upgrade: websocket"),
    head("GET /api/v1/pods HTTP/1.1", "Host: a", "Expect: 100-continue"),
    head("GET /api/v1/pods HTTP/1.1", "Host: a", "X_Remote_User: admin"),
    head("GET /api/v1/p%6Fds HTTP/1.1", "Host: a"),
    head("GET /api/v1/pods HTTP/2.0", "Host: a"),
    head("GET /healthz HTTP/1.1", "Host: a"),             # the app says: not quick
    head("GET /api/v1/" + "x" * 5000 + " HTTP/1.1", "Host: a"),
    head("GET /api/v1/pods HTTP/1.1", "Host: a", "no colon"),
], ids=["post", "body", "chunked", "upgrade", "expect", "underscore-header",
        "percent-escape", "http2", "not-quick", "long-line", "malformed"])
def test_anything_else_is_left_to_gunicorn(quick, request_head):
    assert quick.environ_of(request_head, CONN) is None


def test_response_is_gunicorns_shape_in_one_piece(quick):
    environ = quick.environ_of(head("GET /api/x HTTP/1.1", "Host: a"), CONN)
    data, keep = quick.respond(environ, close=False)
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    assert keep is True
    assert lines[0] == "HTTP/1.1 200 OK"
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert headers["Connection"] == "keep-alive"   # the app's hop-by-hop one dropped
    assert headers["Content-Length"] == "11"
    assert headers["X-Path"] == "/api/x"
    assert headers["Server"].startswith("gunicorn")
    assert "Date" in headers
    assert body == b"hello there"


def test_close_requested_by_client_or_worker_is_announced(quick):
    asked = quick.environ_of(head("GET /api/x HTTP/1.1", "Host: a", "Connection: close"),
                             CONN)
    assert quick.respond(asked, close=False)[1] is False
    plain = quick.environ_of(head("GET /api/x HTTP/1.1", "Host: a"), CONN)
    data, keep = quick.respond(plain, close=True)
    assert keep is False
    assert b"\r\nConnection: close\r\n" in data


def test_header_with_a_line_break_from_the_app_is_refused():
    def splitting(environ, start_response):
        start_response("200 OK", [("X-Bad", "a\r\nSet-Cookie: x")])
        return [b""]

    quick = QuickHttp(Config(), splitting, lambda path, query: True)
    environ = quick.environ_of(head("GET /api/x HTTP/1.1", "Host: a"), CONN)
    with pytest.raises(ValueError):
        quick.respond(environ, close=False)


def test_small_write_that_arrived_whole_becomes_an_environ(quick):
    data = head("POST /api/v1/namespaces/a/pods/p/binding?dryRun=All HTTP/1.1", "Host: a",
                "Content-Type: application/json", "Content-Length: 7") + b"{\"x\":1}GET /next"
    environ, end = quick.environ_with_body(data, data.index(b"\r\n\r\n") + 4, CONN)
    assert data[end:] == b"GET /next"
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["RAW_URI"] == "/api/v1/namespaces/a/pods/p/binding?dryRun=All"
    assert (environ["CONTENT_TYPE"], environ["CONTENT_LENGTH"]) == ("application/json", "7")
    assert environ["wsgi.input"].read() == b'{"x":1}'


@pytest.mark.parametrize("data", [
    head("POST /api/v1/pods HTTP/1.1", "Host: a", "Content-Length: 7") + b"{\"x\":",
    head("POST /api/v1/pods HTTP/1.1", "Host: a"),
    head("POST /api/v1/pods HTTP/1.1", "Host: a", "Transfer-Encoding: chunked") + b"0\r\n\r\n",
    head("POST /api/v1/pods HTTP/1.1", "Host: a", "Content-Length: 2", "Expect: 100-continue"),
    head("POST /api/v1/pods HTTP/1.1", "Host: a", "Content-Length: 2", "Content-Length: 2")
    + b"{}",
    head("POST /api/v1/pods HTTP/1.1", "Host: a", f"Content-Length: {70000}") + b"x" * 70000,
    head("POST /api/v1/namespaces/a/pods/p/exec HTTP/1.1", "Host: a", "Content-Length: 2")
    + b"{}",
    head("GET /api/v1/pods HTTP/1.1", "Host: a", "Content-Length: 2") + b"{}",
], ids=["incomplete", "no-length", "chunked", "expect", "two-lengths", "big", "streamed",
        "get"])
def test_writes_it_cannot_take_whole_are_left_to_gunicorn(quick, data):
    assert quick.environ_with_body(data, data.index(b"\r\n\r\n") + 4, CONN) is None


@pytest.mark.parametrize(("path", "query", "whole"), [
    ("/api/v1/namespaces/a/pods/p/binding", "", True),
    ("/api/v1/namespaces/a/events", "", True),
    ("/apis/apps/v1/namespaces/a/deployments/d/scale", "", True),
    ("/api/v1/namespaces/a/pods/p/eviction", "", True),
    ("/api/v1/namespaces/a/pods/p/exec", "command=sh", False),
    ("/api/v1/namespaces/a/pods/p/portforward", "", False),
    ("/api/v1/nodes/n/proxy/metrics", "", False),
    ("/api/v1/namespaces/a/pods", "watch=true", False),
    ("/healthz", "", False),
])
def test_the_app_says_which_writes_get_one_response(path, query, whole):
    assert views.writes_one_response(path, query) is whole
