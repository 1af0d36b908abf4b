"""A watch: one HTTP response streaming newline-delimited JSON events.

Each line is `{"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": {...}}`.
Iterating a `Watch` yields `WatchEvent`s and remembers the newest resourceVersion
seen (bookmarks included), which is where the next watch resumes. An ERROR event
carries a Status and is raised as the matching `ApiError`, so a resourceVersion
older than the server's history arrives as `Gone` (410), whichever way the server
chose to say it (an HTTP 410 or an ERROR event in a 200 stream).

`stop()` may be called from any thread; the iteration then ends quietly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .errors import ApiError, ClientError
from .transport import Stream, decode_json

ADDED, MODIFIED, DELETED, BOOKMARK, ERROR = "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"


@dataclass(frozen=True)
class WatchEvent:
    type: str
    object: dict

    @property
    def resource_version(self) -> str:
        return (self.object.get("metadata") or {}).get("resourceVersion", "")


class Watch:
    def __init__(self, stream: Stream, resource_version: str | None = None):
        self._stream = stream
        self.resource_version = resource_version or ""

    def __iter__(self) -> Iterator[WatchEvent]:
        for line in self._stream.lines():
            try:
                raw = decode_json(line)
                event = WatchEvent(raw["type"], raw.get("object") or {})
            except (ValueError, KeyError, TypeError) as exc:
                self.stop()
                raise ClientError(f"watch {self._stream.url}: malformed event {line[:120]!r}") \
                    from exc
            if event.type == ERROR:
                self.stop()
                status = dict(event.object)
                status.setdefault("kind", "Status")
                raise ApiError.from_status(status)
            if event.resource_version:
                self.resource_version = event.resource_version
            yield event

    def stop(self) -> None:
        self._stream.close()

    @property
    def stopped(self) -> bool:
        return self._stream.closed

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
