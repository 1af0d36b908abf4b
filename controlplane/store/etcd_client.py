"""HTTP client for etcd's v3 JSON gateway, with `requests`.

etcd 3.4 (Debian 12's etcd-server) serves the gRPC gateway under /v3/ (and the
deprecated /v3beta/). Its JSON is protobuf's: keys and values are base64, int64
fields are decimal strings, and fields holding their zero value are left out (a
PUT event has no "type", an empty value no "value", a fresh key no
"create_revision"). Errors come back as HTTP 4xx/5xx with a gRPC status:
{"error": ..., "code": 11, "message": "etcdserver: mvcc: required revision has been
compacted"}.

A request tries each endpoint in turn when it cannot connect; a timeout is not
retried (the write may have been applied) and surfaces as Unavailable. Watches are
streams: one JSON object per line, read as they arrive; close() shuts the socket
down so that a thread blocked reading it wakes up at once.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator

import requests
from requests.adapters import HTTPAdapter

from .base import KeyValue, StoreError, Unavailable

# gRPC status codes that mean "try again later" rather than "you asked wrongly".
_UNAVAILABLE_CODES = {4, 14}       # DEADLINE_EXCEEDED, UNAVAILABLE


class GatewayError(StoreError):
    """etcd refused a request; `code` is the gRPC status code."""

    def __init__(self, code: int, message: str):
        super().__init__(f"etcd: {message}")
        self.code = code
        self.message = message

    @property
    def compacted(self) -> bool:
        return "required revision has been compacted" in self.message

    @property
    def future(self) -> bool:
        return "required revision is a future revision" in self.message


def b64(key: str | bytes) -> str:
    if isinstance(key, str):
        key = key.encode("utf-8", "surrogateescape")
    return base64.b64encode(key).decode("ascii")


def unb64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


def range_end(prefix: str) -> str:
    """etcd's range_end for "every key starting with prefix" (base64)."""
    raw = bytearray(prefix.encode("utf-8", "surrogateescape"))
    while raw and raw[-1] == 0xFF:
        raw.pop()
    if not raw:
        return b64(b"\0")           # "\0" as range_end means: to the end of the keyspace
    raw[-1] += 1
    return b64(bytes(raw))


def kv_from(raw: dict) -> KeyValue:
    return KeyValue(unb64(raw["key"]).decode("utf-8", "surrogateescape"),
                    unb64(raw.get("value")),
                    int(raw.get("create_revision", 0)), int(raw.get("mod_revision", 0)))


class EtcdClient:
    def __init__(self, endpoints: list[str], timeout: float = 10.0):
        self.endpoints = endpoints
        self.timeout = timeout
        self._preferred = 0
        self._session = requests.Session()
        # No proxies or .netrc from the environment: etcd is reached directly, and
        # scanning os.environ on every request costs a third of its CPU time.
        self._session.trust_env = False
        adapter = HTTPAdapter(pool_connections=len(endpoints), pool_maxsize=64)
        self._session.mount("http://", adapter)

    def call(self, method: str, body: dict) -> dict:
        """POST /v3/<method> and return the decoded answer."""
        response = self._post(method, body, stream=False)
        return _decode(response)

    def watch(self, create_request: dict) -> WatchStream:
        response = self._post("watch", {"create_request": create_request}, stream=True)
        if response.status_code != 200:
            with response:
                _decode(response)      # raises
        return WatchStream(response)

    def compacted_below(self, revision: int) -> int:
        """0 when etcd still has every revision from `revision` on, else the
        revision it compacted to (the oldest it keeps)."""
        try:
            self.call("kv/range", {"key": b64("\0"), "revision": revision, "count_only": True})
        except GatewayError as exc:
            if exc.future:
                return 0
            if not exc.compacted:
                raise
        else:
            return 0
        # Only a watch says how far: one from revision 1 is created, then at once
        # canceled with the compaction revision.
        stream = self.watch({"key": b64("\0"), "start_revision": 1})
        try:
            for result in stream:
                if result.get("canceled"):
                    return int(result.get("compact_revision", 0)) or revision
        finally:
            stream.close()
        raise Unavailable("etcd watch ended without saying where history starts")

    def close(self) -> None:
        self._session.close()

    def _post(self, method: str, body: dict, *, stream: bool) -> requests.Response:
        last: Exception | None = None
        count = len(self.endpoints)
        for attempt in range(count):
            index = (self._preferred + attempt) % count
            url = f"{self.endpoints[index]}/v3/{method}"
            # A watch blocks for as long as nothing happens: no read timeout.
            timeout = (self.timeout, None) if stream else self.timeout
            try:
                response = self._session.post(url, json=body, stream=stream, timeout=timeout)
            except requests.ConnectionError as exc:
                last = exc
                continue
            except requests.RequestException as exc:
                raise Unavailable(f"etcd at {self.endpoints[index]}: {exc}") from exc
            self._preferred = index
            return response
        raise Unavailable(f"etcd unreachable at {', '.join(self.endpoints)}: {last}") from last


def _decode(response: requests.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        raise Unavailable(f"etcd answered HTTP {response.status_code}:"
                          f" {response.text[:200]!r}") from None
    if response.status_code == 200 and "error" not in data:
        return data
    code = int(data.get("code", 0))
    message = data.get("message") or data.get("error") or f"HTTP {response.status_code}"
    if code in _UNAVAILABLE_CODES or (response.status_code >= 500 and not code):
        raise Unavailable(f"etcd: {message}")
    raise GatewayError(code, message)


class WatchStream:
    """The results of one watch, as dicts, in order; ends when etcd or close() ends it."""

    def __init__(self, response: requests.Response):
        self._response = response
        self._lock = threading.Lock()
        self._closed = False
        self._results = self._read()   # one generator: its buffer must not be lost

    def __iter__(self) -> Iterator[dict]:
        return self

    def __next__(self) -> dict:
        return next(self._results)

    def _read(self) -> Iterator[dict]:
        buffer = b""
        try:
            # chunk_size=None: hand over each chunk as it arrives, never wait to fill one.
            for chunk in self._response.iter_content(chunk_size=None):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        message = json.loads(line)
                        if "error" in message:
                            error = message["error"]
                            raise Unavailable(f"etcd watch: {error.get('message', error)}")
                        yield message["result"]
        except Exception as exc:
            # close() from another thread tears the response down under the reader,
            # which then fails in whatever way urllib3 happens to be caught in.
            if self._closed:
                return
            if isinstance(exc, (requests.RequestException, OSError, ValueError)):
                raise Unavailable(f"etcd watch stream broke: {exc}") from exc
            raise

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        # Closing the response from another thread does not wake a thread blocked
        # in recv(); shutting the socket down does.
        connection = getattr(self._response.raw, "connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._response.close()
