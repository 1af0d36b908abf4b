"""HTTP/1.x for the quick requests the worker answers on its poller thread, and the
small writes it parses itself.

The worker (worker.py) serves a GET that never waits on its poller thread. For
those, gunicorn's own request and response objects are most of the work: a
Python request parser with its header policy, an environ built header by
header, a response that formats and checks each header line. This module does
the same for the one shape of request that comes here, with the C parser
gunicorn itself uses (`gunicorn_h1c`, which also builds the environ), and
writes the response as gunicorn would (status line, `Server`, `Date`,
`Connection`, the app's headers, the body).

The worker also parses small writes itself (`environ_with_body`: POST, PUT,
PATCH or DELETE with a Content-Length body of at most `MAX_BODY` that has
arrived whole, answered with one document, no stream from a node agent) and
runs them on a pool thread with `respond`: without gunicorn's Python parser a
binding costs the server about a third less CPU.

`environ_of` accepts only a plain case and says None to anything else, which
then takes gunicorn's full path on a pool thread: HTTP/1.0 or 1.1 GET, no body
and none of the headers that would need one or change the connection's
protocol, no header name with an underscore, a path with no percent-escapes,
within gunicorn's configured limits on line, field count and size. So a
malformed request gets gunicorn's own 400.
"""

from __future__ import annotations

import io
import re
import time

import gunicorn
import gunicorn_h1c
from gunicorn import util
from gunicorn.http.wsgi import FileWrapper, WSGIErrorsWrapper

HEAD_END = b"\r\n\r\n"
# Headers that send a request to gunicorn's full path: a body, an interim
# response, another protocol.
_FULL_PATH_HEADERS = (b"\ncontent-length:", b"\ntransfer-encoding:", b"\nexpect:",
                      b"\nupgrade:", b"\nhttp2-settings:")
# A header name with an underscore: gunicorn drops those (`header_map`), since in the
# environ `X_Auth` and `X-Auth` would be the same; leave that rule to gunicorn.
# Headers that keep a request with a body on gunicorn's path: a chunked body, an
# interim response, another protocol (exec and port-forward upgrade).
_STREAM_HEADERS = _FULL_PATH_HEADERS[1:]
_BODY_METHODS = (b"POST /", b"PUT /", b"PATCH /", b"DELETE /")
# The largest body the worker takes whole off its buffer (a Binding is ~300 bytes,
# an Event ~800, a Pod a few KiB).
MAX_BODY = 64 * 1024
_UNDERSCORE_NAME = re.compile(rb"\n[^:\r\n]*_[^:\r\n]*:")
_VERSIONS = {"HTTP/1.1": (1, 1), "HTTP/1.0": (1, 0)}
# Connection-level headers are the server's to send, never the app's (PEP 3333).
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate",
                         "proxy-authorization", "te", "trailers", "transfer-encoding",
                         "upgrade"})


class QuickHttp:
    """What the worker needs to answer quick requests, built once per worker."""

    def __init__(self, cfg, app, answers_at_once, writes_one_response=None):
        self.app = app
        self.answers_at_once = answers_at_once     # (path, query) -> bool, from the app
        # (path, query) -> bool, from the app: a request with a body gets one response
        self.writes_one_response = writes_one_response or (lambda path, query: False)
        self.max_line = cfg.limit_request_line or 4094
        self.max_fields = cfg.limit_request_fields
        self.max_field = cfg.limit_request_field_size or 8190
        self.scheme = "https" if cfg.is_ssl else "http"
        self.errors = WSGIErrorsWrapper(cfg)
        self._date_second = 0
        self._date = ""

    def environ_of(self, head: bytes, conn) -> dict | None:
        """The WSGI environ of `head` (a request head ending in a blank line), or None
        when it is not a request for the poller thread."""
        if not head.startswith(b"GET /"):
            return None
        environ = self._environ(head, conn, _FULL_PATH_HEADERS)
        if environ is None or not self.answers_at_once(environ["PATH_INFO"],
                                                       environ["QUERY_STRING"]):
            return None
        environ["wsgi.input"] = io.BytesIO()
        return environ

    def environ_with_body(self, data: bytes, head_end: int, conn) -> tuple[dict, int] | None:
        """The environ of a request with a small body that has arrived whole (`data`
        holds its head up to `head_end`, then at least its body), and the bytes it
        took; or None when it is not one for this path (no Content-Length, a body
        bigger than `MAX_BODY` or not all here, a stream from a node agent...)."""
        head = data[:head_end]
        if not head.startswith(_BODY_METHODS):
            return None
        environ = self._environ(head, conn, _STREAM_HEADERS)
        if environ is None:
            return None
        length = environ.get("CONTENT_LENGTH", "")
        # Two Content-Length headers arrive joined ("5, 5"): not digits, gunicorn decides.
        if not length.isdigit() or int(length) > MAX_BODY or \
                len(data) - head_end < int(length):
            return None
        if not self.writes_one_response(environ["PATH_INFO"], environ["QUERY_STRING"]):
            return None
        end = head_end + int(length)
        environ["wsgi.input"] = io.BytesIO(data[head_end:end])
        return environ, end

    def _environ(self, head: bytes, conn, refused: tuple[bytes, ...]) -> dict | None:
        if len(head) > self.max_field:
            return None
        line_end = head.find(b"\r\n")
        if line_end > self.max_line or head.count(b"\r\n") > self.max_fields + 1:
            return None
        lowered = head.lower()
        if any(name in lowered for name in refused) or _UNDERSCORE_NAME.search(head):
            return None
        try:
            environ = gunicorn_h1c.parse_to_wsgi_environ(
                head, server=_address(conn.server), client=_address(conn.client),
                url_scheme=self.scheme)
        except Exception:               # gunicorn's own parser gives the 400
            return None
        if environ["SERVER_PROTOCOL"] not in _VERSIONS or "%" in environ["PATH_INFO"]:
            return None
        del environ["_consumed"]
        environ.update({
            "wsgi.version": (1, 0), "wsgi.errors": self.errors,
            "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
            "wsgi.file_wrapper": FileWrapper, "wsgi.input_terminated": True,
            "SERVER_SOFTWARE": gunicorn.SERVER_SOFTWARE, "SCRIPT_NAME": "",
            "RAW_URI": head[head.index(b" ") + 1:line_end].rsplit(b" ", 1)[0].decode(
                "latin-1"),
            "gunicorn.socket": conn.sock,
        })
        return environ

    def respond(self, environ: dict, close: bool) -> tuple[bytes, bool]:
        """Run the app; the whole response, and whether the connection stays open."""
        started: list = []

        def start_response(status, headers, exc_info=None):
            started[:] = [status, headers]  # nothing is sent yet: a later call wins
            return body.append

        body: list[bytes] = []
        result = self.app(environ, start_response)
        try:
            body.extend(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        status, headers = started
        data = b"".join(body)
        version = _VERSIONS[environ["SERVER_PROTOCOL"]]
        connection = environ.get("HTTP_CONNECTION", "").lower()
        keep = not close and ("close" not in connection if version == (1, 1)
                              else "keep-alive" in connection)
        lines = [f"HTTP/{version[0]}.{version[1]} {status}\r\n"
                 f"Server: {gunicorn.SERVER}\r\nDate: {self._http_date()}\r\n"
                 f"Connection: {'keep-alive' if keep else 'close'}\r\n"]
        length = False
        for name, value in headers:
            if "\n" in value or "\r" in value or "\n" in name or "\r" in name:
                raise ValueError(f"invalid response header {name!r}")
            if name.lower() in _HOP_BY_HOP:
                continue
            length = length or name.lower() == "content-length"
            lines.append(f"{name}: {value}\r\n")
        if not length:                  # (gunicorn would chunk it: same bytes arrive)
            lines.append(f"Content-Length: {len(data)}\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1") + data, keep

    def _http_date(self) -> str:
        now = int(time.time())
        if now != self._date_second:
            self._date_second, self._date = now, util.http_date(now)
        return self._date


def _address(address) -> tuple[str, int]:
    if isinstance(address, tuple):
        return address[0], address[1]
    return str(address), 0
