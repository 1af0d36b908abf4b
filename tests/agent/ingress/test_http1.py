"""Message heads and framing (RFC 9112), without a network."""

from __future__ import annotations

import asyncio

import pytest

from supernetes.agent.ingress import http1


def test_parse_head_and_header_lookup():
    head = http1.parse_head(b"\r\nGET /a?b HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, "
                            b"Upgrade\r\nUpgrade: websocket")
    assert (head.first, head.second, head.third) == ("GET", "/a?b", "HTTP/1.1")
    assert head.get("HOST") == "x"
    assert head.tokens("connection") == {"keep-alive", "upgrade"}
    assert http1.parse_head(head.encode()[:-4]).headers == head.headers


@pytest.mark.parametrize("bad", [b"GET", b"GET / HTTP/1.1\r\nno colon",
                                 b"GET / HTTP/1.1\r\n Folded: x", b""])
def test_malformed_heads(bad):
    with pytest.raises(http1.BadMessage):
        http1.parse_head(bad)


def test_hop_by_hop_fields_are_dropped_with_those_connection_names():
    headers = [("Connection", "close, X-Private"), ("X-Private", "1"), ("Keep-Alive", "5"),
               ("Transfer-Encoding", "chunked"), ("Upgrade", "h2c"), ("Accept", "*/*")]
    assert http1.end_to_end(headers) == [("Accept", "*/*")]
    assert http1.end_to_end(headers, keep=("upgrade",)) == [("Upgrade", "h2c"),
                                                            ("Accept", "*/*")]


@pytest.mark.parametrize("text, request_, method, expected", [
    (b"POST / HTTP/1.1\r\nContent-Length: 5", True, "POST", ("length", 5)),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked", True, "POST", ("chunked", 0)),
    (b"GET / HTTP/1.1", True, "GET", ("none", 0)),
    (b"HTTP/1.1 200 OK", False, "GET", ("close", 0)),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 9", False, "HEAD", ("none", 0)),
    (b"HTTP/1.1 204 No Content", False, "GET", ("none", 0)),
    (b"HTTP/1.1 304 Not Modified", False, "GET", ("none", 0)),
])
def test_framing(text, request_, method, expected):
    assert http1.framing(http1.parse_head(text), request=request_, method=method) == expected


def test_bad_content_length():
    with pytest.raises(http1.BadMessage):
        http1.framing(http1.parse_head(b"POST / HTTP/1.1\r\nContent-Length: -1"), request=True)


class _Sink:
    def __init__(self):
        self.data = b""

    def write(self, data):
        self.data += data

    async def drain(self):
        pass


def _copy(raw: bytes, kind: str, length: int = 0, **kw) -> bytes:
    async def run():
        reader = asyncio.StreamReader()
        reader.feed_data(raw)
        reader.feed_eof()
        sink = _Sink()
        await http1.copy_body(reader, sink, kind, length, **kw)
        return sink.data
    return asyncio.run(run())


def test_chunked_bodies_pass_through_or_decode():
    body = b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n"
    assert _copy(body, "chunked") == body
    assert _copy(body, "chunked", dechunk=True) == b"abcde"
    assert _copy(b"hello world", "close", rechunk=True) == b"b\r\nhello world\r\n0\r\n\r\n"
    assert _copy(b"hello world", "length", 5) == b"hello"
    with pytest.raises(http1.BadMessage):
        _copy(b"abc", "length", 5)
    with pytest.raises(http1.BadMessage):
        _copy(b"zz\r\nabc", "chunked")


@pytest.mark.parametrize("head, reusable", [
    (b"HTTP/1.1 200 OK", True),
    (b"HTTP/1.1 200 OK\r\nConnection: close", False),
    (b"HTTP/1.0 200 OK", False),                       # busybox httpd: closes after each
    (b"HTTP/1.0 200 OK\r\nConnection: keep-alive", True),
])
def test_backend_connection_reuse_follows_the_response_version(head, reusable):
    from supernetes.agent.ingress.proxy import _reusable
    assert _reusable(http1.parse_head(head)) is reusable


def test_smuggling_shapes_are_refused_or_normalised():
    with pytest.raises(http1.BadMessage):
        http1.parse_head(b"GET / HTTP/1.1\r\nX-A: 1\nX-B: 2")         # a lone LF
    with pytest.raises(http1.BadMessage):
        http1.framing(http1.parse_head(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n"
                                       b"Content-Length: 6"), request=True)
    both = http1.parse_head(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n"
                            b"Transfer-Encoding: chunked")
    assert http1.framing(both, request=True) == ("chunked", 0)
    assert http1.end_to_end(both.headers, chunked=True) == []
